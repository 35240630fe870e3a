"""The studio web app: its JSON API through Flask's test client, and the page in headless Chromium."""

import base64
import contextlib
import io
import os
import shutil
import tempfile
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from apps.studio import create_app, latent_for_seed
from keras_gen.export import export
from keras_gen.models import VAE, ConditionalGAN, DenoisingAutoEncoder, Pix2Pix

CHROMIUM = "/usr/bin/chromium"
# This machine's closed network refuses Chromium's background connections; these keep it quiet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS_DIR = "/tmp/studio_shots"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    export(VAE(latent_dim=3, filters=(4, 8), dense_units=16), str(root / "vae"))
    export(ConditionalGAN(latent_dim=4, num_classes=10, units=(8,)), str(root / "cgan"))
    export(Pix2Pix(image_shape=(32, 32, 1), base_filters=4), str(root / "pix2pix"))
    export(DenoisingAutoEncoder(units=(16,), latent_dim=8), str(root / "denoising_ae"))
    return root


@pytest.fixture(scope="module")
def app(exported):
    return create_app(str(exported))


@pytest.fixture
def client(app):
    return app.test_client()


def decoded(response):
    """The PNG of an image answer as a uint8 array."""
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["image"]
    assert url.startswith("data:image/png;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(data)))


def png_file(size=(40, 30), seed=0, mode="RGB"):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client, model, data, filename="digit.png", **form):
    return client.post(f"/api/{model}/translate", data={"image": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def tree(root):
    return sorted(os.path.relpath(os.path.join(folder, name), root)
                  for folder, dirs, files in os.walk(root) for name in dirs + files)


# ---------------------------------------------------------------------- the JSON API
def test_models_are_listed_with_their_capabilities(client):
    listing = client.get("/api/models").get_json()
    models = {m["name"]: m for m in listing["models"]}
    assert sorted(models) == ["cgan", "denoising_ae", "pix2pix", "vae"]
    assert listing["max_upload_bytes"] == 2 * 1024 * 1024

    vae = models["vae"]
    assert (vae["family"], vae["image_shape"], vae["latent_dim"]) == ("VAE", [28, 28, 1], 3)
    assert vae["capabilities"] == {"sample": "decode", "traverse": "decode", "interpolate": "decode",
                                   "conditional": False, "truncation": False, "style_mix": False,
                                   "upload": ["reconstruct"]}
    cgan = models["cgan"]
    assert cgan["num_classes"] == 10
    assert cgan["capabilities"] == {"sample": "generate", "traverse": "generate", "interpolate": "generate",
                                    "conditional": True, "truncation": False, "style_mix": False,
                                    "upload": []}
    pix2pix = models["pix2pix"]
    assert pix2pix["image_shape"] == [32, 32, 1]
    assert pix2pix["capabilities"] == {"sample": None, "traverse": None, "interpolate": None,
                                       "conditional": False, "truncation": False,
                                       "style_mix": False, "upload": ["translate"]}
    assert models["denoising_ae"]["capabilities"]["upload"] == ["denoise", "reconstruct"]


def test_sample_grid_size_and_its_first_tile_is_the_seeds_latent(client):
    grid = decoded(client.post("/api/vae/sample", json={"seed": 5, "count": 6}))
    assert grid.shape == (2 * 28 + 1, 3 * 28 + 2)  # 2 rows x 3 columns, 1-pixel gaps

    latent = client.get("/api/vae/latent?seed=5").get_json()["z"]
    np.testing.assert_allclose(latent, np.random.default_rng(5).standard_normal(3), rtol=1e-6)
    np.testing.assert_allclose(latent, latent_for_seed(5, 3))
    single = decoded(client.post("/api/vae/decode", json={"z": latent}))
    np.testing.assert_array_equal(single, grid[:28, :28])
    assert not np.array_equal(grid[:28, :28], grid[:28, 29:57])  # seeds 5 and 6 differ


def test_decode_depends_on_z_and_only_on_z(client):
    first = decoded(client.post("/api/vae/decode", json={"z": [0.0, 0.0, 0.0]}))
    again = decoded(client.post("/api/vae/decode", json={"z": [0.0, 0.0, 0.0]}))
    moved = decoded(client.post("/api/vae/decode", json={"z": [2.5, 0.0, 0.0]}))
    assert first.shape == (28, 28)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, moved)

    wrong = client.post("/api/vae/decode", json={"z": [0.0, 1.0]})
    assert wrong.status_code == 400 and "3 numbers" in wrong.get_json()["error"]
    for z in (["1", "2", "3"], [True, False, True]):  # were taken as numbers
        refused = client.post("/api/vae/decode", json={"z": z})
        assert refused.status_code == 400 and "3 numbers" in refused.get_json()["error"], z


def test_interpolation_strip_runs_from_seed_a_to_seed_b(client):
    strip = decoded(client.post("/api/vae/interpolate", json={"seed_a": 1, "seed_b": 2, "steps": 5}))
    assert strip.shape == (28, 5 * 28 + 4)
    for seed, tile in ((1, strip[:, :28]), (2, strip[:, -28:])):
        end = decoded(client.post("/api/vae/decode", json={"z": latent_for_seed(seed, 3).tolist()}))
        np.testing.assert_allclose(tile, end, atol=1)  # float32 interpolation at t=0 and t=1

    too_many = client.post("/api/vae/interpolate", json={"seed_a": 1, "seed_b": 2, "steps": 99})
    assert too_many.status_code == 400 and "steps" in too_many.get_json()["error"]


def test_conditional_labels_are_checked_against_the_class_range(client):
    for label in (10, -1):
        response = client.post("/api/cgan/sample", json={"seed": 0, "count": 4, "label": label})
        assert response.status_code == 400
        assert "0 to 9" in response.get_json()["error"]
    three = decoded(client.post("/api/cgan/sample", json={"seed": 0, "count": 4, "label": 3}))
    seven = decoded(client.post("/api/cgan/sample", json={"seed": 0, "count": 4, "label": 7}))
    assert three.shape == (57, 57) and not np.array_equal(three, seven)
    assert client.post("/api/cgan/decode", json={"z": [0, 0, 0, 0], "label": 12}).status_code == 400
    unconditional = client.post("/api/vae/sample", json={"seed": 0, "count": 2, "label": 1})
    assert unconditional.status_code == 400 and "not conditional" in unconditional.get_json()["error"]


def test_missing_capability_and_unknown_model(client):
    response = client.post("/api/pix2pix/sample", json={"seed": 0})
    assert response.status_code == 400 and "cannot sample" in response.get_json()["error"]
    response = upload(client, "cgan", png_file())
    assert response.status_code == 400 and "cannot take an uploaded image" in response.get_json()["error"]
    for response in (client.post("/api/nope/sample", json={}), client.get("/api/nope/latent?seed=1")):
        assert response.status_code == 404 and "unknown model 'nope'" in response.get_json()["error"]


def test_uploads_are_translated_in_memory(client, exported, tmp_path, monkeypatch):
    import werkzeug.formparser

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("an upload went to a temporary file")

    for module, name in ((tempfile, "SpooledTemporaryFile"), (tempfile, "TemporaryFile"),
                         (tempfile, "NamedTemporaryFile"), (werkzeug.formparser, "SpooledTemporaryFile")):
        monkeypatch.setattr(module, name, no_temporary_files)
    monkeypatch.chdir(tmp_path)
    before = tree(exported)

    result = decoded(upload(client, "pix2pix", png_file()))
    assert result.shape == (32, 32)
    other = decoded(upload(client, "pix2pix", png_file(seed=1)))
    assert not np.array_equal(result, other)
    # over Werkzeug's 500 KiB in-memory threshold for form files, under the studio's limit
    large = png_file(size=(512, 512), seed=2)
    assert 500 * 1024 < len(large) < 2 * 1024 * 1024
    assert decoded(upload(client, "pix2pix", large)).shape == (32, 32)
    response = upload(client, "denoising_ae", png_file(mode="L"), signature="denoise")
    assert decoded(response).shape == (28, 28)
    assert response.get_json()["signature"] == "denoise"
    wrong = upload(client, "denoising_ae", png_file(), signature="translate")
    assert wrong.status_code == 400 and "denoise, reconstruct" in wrong.get_json()["error"]

    assert tree(exported) == before
    assert os.listdir(tmp_path) == []


def test_upload_errors(client):
    limit = 2 * 1024 * 1024
    for size in (limit + 1, limit + 1024 * 1024):  # caught after parsing / before reading the body
        response = upload(client, "pix2pix", b"\0" * size, filename="big.png")
        assert response.status_code == 413
        assert "2.0 MiB" in response.get_json()["error"]
    for data, filename in ((b"hello", "hello.png"), (b"hello", "notes.txt"), (png_file()[:40], "cut.png")):
        response = upload(client, "pix2pix", data, filename=filename)
        assert response.status_code == 400
        assert "not an image" in response.get_json()["error"]
    response = client.post("/api/pix2pix/translate", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "no file" in response.get_json()["error"]


def test_serving_url_mode_gives_the_in_process_answers(client, exported, tmp_path):
    from fake_tf_serving import FakeTFServing

    paths = {name: str(exported / name) for name in ("vae", "pix2pix")}
    with FakeTFServing(paths) as server:
        # names from the given list, facts from the server's signature shapes (no local export)
        served = create_app(str(tmp_path), serving_url=server.rest_url, model_names=["vae", "pix2pix"])
        listing = {m["name"]: m for m in served.test_client().get("/api/models").get_json()["models"]}
        assert listing["vae"]["latent_dim"] == 3 and listing["pix2pix"]["image_shape"] == [32, 32, 1]
        assert listing["pix2pix"]["capabilities"]["upload"] == ["translate"]
        remote = decoded(served.test_client().post("/api/vae/decode", json={"z": [0.5, -1.0, 2.0]}))
        local = decoded(client.post("/api/vae/decode", json={"z": [0.5, -1.0, 2.0]}))
        np.testing.assert_array_equal(remote, local)
        data = png_file(seed=4)
        np.testing.assert_array_equal(decoded(upload(served.test_client(), "pix2pix", data)),
                                      decoded(upload(client, "pix2pix", data)))


# ---------------------------------------------------------------------- the page in a browser
@contextlib.contextmanager
def serving(app):
    """`app` served on a free local port while the block runs; yields its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def studio_url(app):
    with serving(app) as url:
        yield url


@contextlib.contextmanager
def page_of(app, height=900):
    """A headless Chromium page on `app`'s studio, loaded (skips where Chromium is missing)."""
    sync_playwright = chromium_or_skip()
    with serving(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.set_default_timeout(60_000)
            page.goto(url)
            yield page
        finally:
            browser.close()


def chromium_or_skip():
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} is missing"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is missing"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {problem} (install Debian's chromium and playwright)")
        pytest.skip(problem)
    return sync_playwright


def changes_image(page, image_id, action):
    """Do `action()` on the page and wait until image `image_id` shows something new."""
    before = page.get_attribute(f"#{image_id}", "src")
    action()
    page.wait_for_function(f"src => document.getElementById('{image_id}').src !== src", arg=before)


def screenshot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    os.makedirs(SHOTS_DIR, exist_ok=True)
    shutil.copy(path, os.path.join(SHOTS_DIR, name))


def test_page_in_headless_chromium(studio_url, tmp_path):
    sync_playwright = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(studio_url)

            options = page.locator("#model-select option")
            options.nth(3).wait_for(state="attached")
            assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == [
                "cgan", "denoising_ae", "pix2pix", "vae"]
            page.wait_for_function("document.getElementById('sample-image').src.startsWith('data:image/png')")
            assert page.locator("#label-select").is_visible()  # cgan comes first: a class picker
            screenshot(page, tmp_path, "studio_cgan.png")
            grid = page.get_attribute("#sample-image", "src")
            page.select_option("#label-select", "7")
            page.wait_for_function("src => document.getElementById('sample-image').src !== src", arg=grid)

            page.select_option("#model-select", "vae")
            page.wait_for_function("document.getElementById('traverse-image').src.startsWith('data:image/png')")
            assert "VAE" in page.inner_text("#model-info")
            assert page.locator("#sliders input[type=range]").count() == 3
            assert not page.locator("#label-select").is_visible()
            before = page.get_attribute("#traverse-image", "src")
            page.locator("#slider-0").fill("2.5")
            page.wait_for_function("src => document.getElementById('traverse-image').src !== src", arg=before)
            assert page.inner_text("#slider-value-0") == "2.50"
            page.wait_for_function("document.getElementById('interp-image').src.startsWith('data:image/png')")
            screenshot(page, tmp_path, "studio_vae.png")

            page.select_option("#model-select", "pix2pix")
            assert page.locator("#upload-panel").is_visible()
            assert not page.locator("#sample-panel").is_visible()
            assert not page.locator("#traverse-panel").is_visible()
            page.set_input_files("#upload-input", files=[
                {"name": "digit.png", "mimeType": "image/png", "buffer": png_file(size=(64, 64))}])
            page.locator("#translate-image").wait_for(state="visible")
            assert page.get_attribute("#translate-image", "src").startswith("data:image/png")
            assert page.locator("#error").is_hidden()
            screenshot(page, tmp_path, "studio_pix2pix.png")

            page.set_input_files("#upload-input", files=[
                {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
            page.locator("#error").wait_for(state="visible")
            assert "not an image" in page.inner_text("#error")
            screenshot(page, tmp_path, "studio_upload_error.png")
            assert page_errors == []
        finally:
            browser.close()


# ---------------------------------------------------------------------- hostile requests
def test_writes_from_other_origins_and_hosts_are_refused(client):
    body = {"seed": 0, "count": 1}
    page = client.post("/api/vae/sample", json=body, headers={"Origin": "http://localhost"})
    assert page.status_code == 200  # the studio's own page
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}):
        response = client.post("/api/vae/sample", json=body, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"] == "cross-origin requests are refused"
    rebound = client.get("/api/models", headers={"Host": "attacker.example:8765"})
    assert rebound.status_code == 403 and "is not allowed" in rebound.get_json()["error"]
    assert client.get("/api/models", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    # a form-encoded POST, which a foreign page can send without a preflight, is not JSON
    form = client.post("/api/vae/sample", data={"seed": "0"})
    assert form.status_code == 415 and "application/json" in form.get_json()["error"]


def test_bad_json_is_a_400_naming_the_problem(client):
    cases = [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"seed": true}', "seed must be an integer, got true"),
        (b'{"seed": 1.5}', "seed must be an integer, got 1.5"),
        (b'{"count": "many"}', "count must be an integer"),
        (b'{"count": 1000}', "count must be between 1 and 64"),
        (b'{"label": [3]}', None),
        (b"[" * 60000 + b"]" * 60, "nests too deeply"),  # was a 500 (RecursionError)
    ]
    for data, message in cases:
        response = client.post("/api/cgan/sample", data=data, content_type="application/json")
        assert response.status_code == 400, (data, response.get_json())
        if message:
            assert message in response.get_json()["error"], (data, response.get_json())
    huge = b'{"pad": "' + b"x" * (70 * 1024) + b'"}'
    response = client.post("/api/vae/sample", data=huge, content_type="application/json")
    assert response.status_code == 413 and "JSON body too large" in response.get_json()["error"]


def test_model_list_reveals_no_absolute_path(client, exported):
    listing = client.get("/api/models").get_json()
    assert str(exported) not in str(listing) and listing["source"] == os.path.basename(str(exported))


def test_a_request_cannot_ask_for_minutes_of_work(tmp_path):
    from keras_gen.models import DiffusionModel

    export(DiffusionModel(image_shape=(8, 8, 1), timesteps=200, base_filters=8), str(tmp_path / "ddpm"))
    client = create_app(str(tmp_path)).test_client()
    response = client.post("/api/ddpm/sample", json={"count": 64, "steps": 200})
    assert response.status_code == 400 and "count x steps must be at most" in response.get_json()["error"]
    assert client.post("/api/ddpm/sample", json={"count": 2, "steps": 3}).status_code == 200
    from keras_gen.models import PixelCNN

    export(PixelCNN(image_shape=(4, 4, 1), filters=4, num_blocks=1), str(tmp_path / "pixelcnn"))
    client = create_app(str(tmp_path)).test_client()
    response = client.post("/api/pixelcnn/sample", json={"count": 64})
    assert response.status_code == 400 and "pixel by pixel" in response.get_json()["error"]
    assert client.post("/api/pixelcnn/sample", json={"count": 4}).status_code == 200


def test_autoregressive_models_inpaint_an_upload(tmp_path):
    """PixelCNN and PixelRNN offer `inpaint`: the answer keeps the upload's top half; the page
    shows their samples and, after an upload, the inpainted image."""
    from keras_gen.models import PixelCNN, PixelRNN

    export(PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=1), str(tmp_path / "pixelcnn"))
    export(PixelRNN(image_shape=(8, 8, 1), units=4, num_layers=1), str(tmp_path / "pixelrnn"))
    app = create_app(str(tmp_path))
    client = app.test_client()
    models = {m["name"]: m for m in client.get("/api/models").get_json()["models"]}
    for name in ("pixelcnn", "pixelrnn"):
        assert models[name]["capabilities"]["upload"] == ["inpaint"]
        response = upload(client, name, png_file(size=(8, 8), mode="L"), signature="inpaint")
        result = decoded(response)
        given = np.asarray(Image.open(io.BytesIO(base64.b64decode(
            response.get_json()["input"].split(",", 1)[1]))))
        assert result.shape == given.shape == (8, 8)
        np.testing.assert_allclose(result[:4].astype(int), given[:4].astype(int), atol=1)
        assert np.abs(result[4:].astype(int) - given[4:].astype(int)).max() > 1  # drawn anew

    with page_of(app) as page:
        for name in ("pixelcnn", "pixelrnn"):
            page.select_option("#model-select", name)
            page.wait_for_function("document.getElementById('sample-image').src.startsWith('data:image/png')")
            assert page.locator("#sample-panel").is_visible() and page.locator("#upload-panel").is_visible()
            assert page.locator("#upload-signature option").evaluate_all("os => os.map(o => o.value)") == ["inpaint"]
            page.set_input_files("#upload-input", files=[
                {"name": f"{name}.png", "mimeType": "image/png", "buffer": png_file(size=(8, 8), mode="L")}])
            page.wait_for_function(
                "document.getElementById('translate-image').src.startsWith('data:image/png')")
            page.locator("#translate-image").wait_for(state="visible")
            assert page.locator("#error").is_hidden()
            shown = Image.open(io.BytesIO(base64.b64decode(
                page.get_attribute("#translate-image", "src").split(",", 1)[1])))
            assert shown.size == (8, 8)
            screenshot(page, tmp_path, f"studio_{name}_inpaint.png")


def test_model_names_that_need_url_encoding_work(tmp_path):
    from urllib.parse import quote

    export(VAE(latent_dim=2, filters=(4, 8), dense_units=8), str(tmp_path / "my vae+1"))
    client = create_app(str(tmp_path)).test_client()
    names = [m["name"] for m in client.get("/api/models").get_json()["models"]]
    assert names == ["my vae+1"]
    response = client.post(f"/api/{quote('my vae+1', safe='')}/sample", json={"count": 1})
    assert response.status_code == 200
    script = open(os.path.join(os.path.dirname(__file__), "..", "apps", "studio", "static",
                               "studio.js")).read()
    assert "/api/${model.name}" not in script  # the page encodes names too


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=4),
    max_leaves=12)
fields = st.sampled_from(["seed", "count", "label", "steps", "z", "seed_a", "seed_b", "method"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(["sample", "decode", "interpolate", "latent"]),
       model=st.sampled_from(["vae", "cgan", "pix2pix"]),
       body=st.dictionaries(fields, json_values, max_size=5) | json_values)
def test_any_json_body_gets_an_answer_or_a_clear_400(client, endpoint, model, body):
    """Property: whatever JSON arrives, the API answers 200 with an image (or seed/z), or a 4xx
    whose message is short and shows no TensorFlow internals; never a 500."""
    response = client.post(f"/api/{model}/{endpoint}", json=body)
    assert response.status_code in (200, 400, 413, 415), (body, response.status_code)
    payload = response.get_json()
    if response.status_code != 200:
        error = payload["error"]
        assert len(error) < 400 and "Traceback" not in error and "node " not in error, error


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), extension=st.sampled_from([".png", ".jpg", ".gif", ".txt"]),
       signature=st.none() | st.text(max_size=12), label=st.none() | st.text(max_size=6))
def test_any_upload_gets_an_answer_or_a_clear_400(client, data, extension, signature, label):
    form = {k: v for k, v in (("signature", signature), ("label", label)) if v is not None}
    response = upload(client, "denoising_ae", data, filename="x" + extension, **form)
    assert response.status_code in (200, 400, 413), response.status_code
    if response.status_code != 200:
        assert "Traceback" not in response.get_json()["error"]


def test_colour_models_show_rgb_in_the_right_order_and_range(tmp_path):
    """A colour generator's grid and a colour translator's answer are RGB PNGs whose pixels are
    the model's own outputs (no alpha, no channel swap, [0, 1] -> 0..255)."""
    from keras_gen.models import DCGAN

    from apps.studio.app import image_from_upload

    generator = DCGAN(image_shape=(16, 16, 3), latent_dim=4, base_filters=4)
    export(generator, str(tmp_path / "dcgan_rgb"))
    export(Pix2Pix(image_shape=(16, 16, 3), base_filters=4), str(tmp_path / "pix2pix_rgb"))
    client = create_app(str(tmp_path)).test_client()
    grid = decoded(client.post("/api/dcgan_rgb/sample", json={"seed": 3, "count": 2}))
    assert grid.shape == (16, 2 * 16 + 1, 3)
    expected = np.asarray(generator.generate_from(latent_for_seed(3, 4)[np.newaxis]))[0]
    np.testing.assert_allclose(grid[:, :16] / 255.0, expected, atol=1.5 / 255)
    assert np.abs(expected[..., 0] - expected[..., 2]).max() > 1e-3  # channels differ: a swap shows

    red = np.zeros((20, 20, 4), np.uint8)
    red[..., 0], red[..., 3] = 255, 255  # opaque red, with an alpha channel
    buffer = io.BytesIO()
    Image.fromarray(red, "RGBA").save(buffer, format="PNG")
    pixels = image_from_upload(buffer.getvalue(), (16, 16, 3))
    assert pixels.shape == (16, 16, 3)
    np.testing.assert_allclose(pixels[..., 0], 1.0)
    np.testing.assert_allclose(pixels[..., 1:], 0.0)
    assert decoded(upload(client, "pix2pix_rgb", buffer.getvalue())).shape == (16, 16, 3)


def test_truncation_slider_of_a_biggan(tmp_path):
    """A BigGAN export gets the truncation capability: the API draws its grid through the
    exported `sample(seeds, labels, truncation)`, checks the value, and the page's slider
    re-samples with it."""
    from keras_gen.latent import normal_from_seeds, truncate_normal
    from keras_gen.models import BigGAN

    model = BigGAN(num_classes=3, image_shape=(16, 16, 3), latent_dim=9, base_filters=4,
                   embedding_dim=4)
    export(model, str(tmp_path / "biggan"))
    app = create_app(str(tmp_path))
    client = app.test_client()
    listing = client.get("/api/models").get_json()["models"][0]
    assert listing["capabilities"]["truncation"] == {"space": "z", "none": 0.0, "min": 0.0, "max": 10.0}
    assert listing["capabilities"]["conditional"]
    grid = decoded(client.post("/api/biggan/sample", json={"seed": 2, "count": 1, "label": 1,
                                                            "truncation": 0.5}))
    z = truncate_normal(normal_from_seeds([2], 9), 0.5)
    expected = np.round(np.asarray(model.generate_from(z, np.array([1]))[0]) * 255)
    assert np.abs(grid.astype(float) - expected).max() <= 1
    plain = decoded(client.post("/api/biggan/sample", json={"seed": 2, "count": 1, "label": 1}))
    untruncated = np.round(np.asarray(model.sample_from_seeds(np.array([2]), np.array([1]))[0]) * 255)
    assert np.abs(plain.astype(float) - untruncated).max() <= 1
    for bad in (-1, 11, "x", True):
        response = client.post("/api/biggan/sample", json={"truncation": bad})
        assert response.status_code == 400 and "truncation" in response.get_json()["error"]

    with page_of(app) as page:
        page.wait_for_function("document.getElementById('sample-image').src.startsWith('data:image/png')")
        assert page.locator("#truncation-control").is_visible()
        changes_image(page, "sample-image", lambda: page.locator("#sample-truncation").fill("0.5"))
        assert page.inner_text("#truncation-value") == "0.50"
        assert page.locator("#error").is_hidden()
        screenshot(page, tmp_path, "studio_biggan_truncation.png")


def test_style_mixing_grid_and_w_truncation_of_a_stylegan(tmp_path):
    """A StyleGAN export gets a style-mixing panel (rows: coarse styles, columns: fine ones)
    and a truncation slider in its own terms (psi in w space: 1 is off, 0 the mean image)."""
    from keras_gen.models import StyleGAN

    model = StyleGAN(image_shape=(16, 16, 3), latent_dim=8, base_filters=4, max_filters=8,
                     mapping_layers=2)
    model.w_avg.assign(np.linspace(-1, 1, 8).astype("float32"))
    export(model, str(tmp_path / "stylegan"))
    app = create_app(str(tmp_path))
    client = app.test_client()
    caps = client.get("/api/models").get_json()["models"][0]["capabilities"]
    assert caps["style_mix"] == {"num_ws": 6}
    assert caps["truncation"] == {"space": "w", "none": 1.0, "min": 0.0, "max": 1.0}

    grid = decoded(client.post("/api/stylegan/style_mix", json={"seed_a": 3, "seed_b": 7, "rows": 2,
                                                                 "cols": 3, "crossover": 2}))
    assert grid.shape == (3 * 16 + 2, 4 * 16 + 3, 3)  # (1 + rows) x (1 + cols) tiles, 1-pixel gaps

    def tile(row, col):
        return grid[row * 17:row * 17 + 16, col * 17:col * 17 + 16].astype(float)

    def expected(a, b, crossover):
        return np.round(np.asarray(model.style_mix_from_seeds([a], [b], [crossover])[0]) * 255)

    assert np.abs(tile(0, 0) - 255).max() == 0  # the white corner
    assert np.abs(tile(0, 2) - expected(8, 8, 6)).max() <= 1  # column seed 8 alone
    assert np.abs(tile(2, 0) - expected(4, 4, 6)).max() <= 1  # row seed 4 alone
    assert np.abs(tile(2, 3) - expected(4, 9, 2)).max() <= 1  # coarse from 4, fine from 9
    for bad in ({"crossover": 0}, {"crossover": 6}, {"rows": 7}, {"seed_a": -1}):
        response = client.post("/api/stylegan/style_mix", json=bad)
        assert response.status_code == 400, bad

    mean = decoded(client.post("/api/stylegan/sample", json={"seed": 0, "count": 2, "truncation": 0.0}))
    assert np.array_equal(mean[:, :16], mean[:, 17:])  # psi 0: every seed gives the mean image
    plain = decoded(client.post("/api/stylegan/sample", json={"seed": 0, "count": 1}))
    assert np.abs(plain.astype(float) - np.round(np.asarray(model.sample_from_seeds(np.array([0]))[0]) * 255)).max() <= 1
    assert client.post("/api/stylegan/sample", json={"truncation": 1.5}).status_code == 400

    with page_of(app, height=1100) as page:
        page.wait_for_function("document.getElementById('style-image').src.startsWith('data:image/png')")
        assert page.locator("#style-panel").is_visible()
        assert page.inner_text("#truncation-value") == "off"
        assert page.get_attribute("#sample-truncation", "max") == "1"
        assert page.inner_text("#style-crossover-value") == "3 of 6 layers from the row"
        changes_image(page, "style-image", lambda: page.locator("#style-crossover").fill("1"))
        assert page.inner_text("#style-crossover-value") == "1 of 6 layers from the row"
        assert page.locator("#error").is_hidden()
        screenshot(page, tmp_path, "studio_stylegan_style_mix.png")


def test_with_no_arguments_the_studio_serves_the_shipped_presets(tmp_path, monkeypatch):
    """`python -m apps.studio` alone exports the shipped presets into the cache once and serves
    them; the page works for one family of each kind with nothing of the user's exported."""
    import flask

    from apps.studio.__main__ import main
    from keras_gen import presets

    monkeypatch.setenv("KERAS_GEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no ./exported here
    started = []
    monkeypatch.setattr(flask.Flask, "run", lambda app, **kwargs: started.append(app))
    names = ["cgan_mnist", "vae_mnist", "pix2pix_edges_mnist", "stylegan_faces"]
    main(["--models", ",".join(names)])
    app = started[0]
    assert sorted(app.extensions["studio_models"]) == sorted(names)
    root = presets.presets_cache()
    assert root == str(tmp_path / "cache" / "presets")
    assert sorted(os.listdir(root)) == sorted(names + ["models.config"])
    stamp = os.stat(os.path.join(root, "vae_mnist", "1", "saved_model.pb")).st_mtime_ns
    main(["--models", "vae_mnist"])  # a second start reuses the export
    assert os.stat(os.path.join(root, "vae_mnist", "1", "saved_model.pb")).st_mtime_ns == stamp

    with page_of(app, height=1100) as page:
        page_errors = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        options = page.locator("#model-select option")
        options.nth(3).wait_for(state="attached")
        assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == sorted(names)
        page.wait_for_function("document.getElementById('sample-image').src.startsWith('data:image/png')")
        assert page.locator("#label-select").is_visible()  # cgan_mnist comes first
        screenshot(page, tmp_path, "studio_presets_cgan.png")
        changes_image(page, "sample-image", lambda: page.select_option("#label-select", "3"))

        page.select_option("#model-select", "vae_mnist")
        page.wait_for_function("document.getElementById('traverse-image').src.startsWith('data:image/png')")
        assert page.locator("#sliders input[type=range]").count() == 8  # the first 8 of 16
        changes_image(page, "traverse-image", lambda: page.locator("#slider-0").fill("2.0"))

        page.select_option("#model-select", "pix2pix_edges_mnist")
        page.set_input_files("#upload-input", files=[
            {"name": "edges.png", "mimeType": "image/png", "buffer": png_file(size=(28, 28), mode="L")}])
        page.locator("#translate-image").wait_for(state="visible")
        assert page.get_attribute("#translate-image", "src").startswith("data:image/png")

        page.select_option("#model-select", "stylegan_faces")
        page.wait_for_function("document.getElementById('style-image').src.startsWith('data:image/png')")
        assert page.locator("#style-panel").is_visible()
        assert page.get_attribute("#sample-truncation", "max") == "1"
        changes_image(page, "style-image", lambda: page.locator("#style-crossover").fill("1"))
        assert page.locator("#error").is_hidden() and page_errors == []
        screenshot(page, tmp_path, "studio_presets_stylegan.png")
