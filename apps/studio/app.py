"""The studio: a small web app to sample, traverse, interpolate and translate with exported models.

It serves every SavedModel folder of an export root (`exported/<name>/<version>/`) in process,
or the same models through TF Serving when given its URL, and offers what each model can do:
a sample grid (any model with `decode`/`generate` or `sample`), latent sliders and
interpolation (models with a latent code), a class picker (conditional models) and image
upload (`translate`, `translate_x_to_y`, `translate_y_to_x`, `denoise`, `reconstruct`, and the
autoregressive models' `inpaint`, which keeps the top half and draws the rest).

    python -m apps.studio --exported exported --port 8765
    python -m apps.studio --exported exported --serving-url http://localhost:8501

Uploads stay in memory: the request class hands Werkzeug's form parser a `BytesIO` instead of
its temporary files, and the size limit is enforced before and after parsing.

Example:
>>> app = create_app("exported")
>>> app.test_client().get("/api/models").status_code
200
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import urllib.request

import flask
import numpy as np
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from keras_gen.plots import image_grid, style_mixing_tiles, to_uint8

log = logging.getLogger(__name__)

# Signatures that take `images` and give back `images`, in the order the page offers them.
IMAGE_TO_IMAGE_SIGNATURES = ("translate", "translate_x_to_y", "translate_y_to_x", "denoise", "reconstruct",
                             "inpaint")
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
UPLOAD_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
MAX_UPLOAD_PIXELS = 4096 * 4096  # a small compressed file can still decode to a huge bitmap
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_GRID_IMAGES = 64
MAX_INTERPOLATION_STEPS = 16
MAX_SEED = 2**31 - 1
MAX_NETWORK_PASSES = MAX_GRID_IMAGES * 20  # count x diffusion steps: the CPU cost of one request
MAX_PIXEL_BY_PIXEL_IMAGES = 16  # PixelCNN: one network pass per pixel, h x w in sequence
MAX_JSON_BYTES = 64 * 1024
MAX_TRUNCATION = 10.0  # beyond about 4 a truncation changes nothing
# What a `truncation` input means when the export's metadata does not say: BigGAN's threshold
# on z (0 = none). StyleGAN's metadata says {"space": "w", "none": 1.0, "min": 0.0, "max": 1.0}.
Z_TRUNCATION = {"space": "z", "none": 0.0, "min": 0.0, "max": MAX_TRUNCATION}
MAX_STYLE_MIX_SIDE = 6
LOCAL_HOSTNAMES = ("localhost",)


class StudioError(Exception):
    """A request the studio refuses: answered as `{"error": message}` with `status`."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message, self.status = message, status


class InMemoryRequest(flask.Request):
    """A request whose uploaded files are parsed into memory, never into temporary files."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def latent_for_seed(seed, latent_dim):
    """The latent code the studio shows for `seed`: `default_rng(seed).standard_normal(latent_dim)`."""
    return np.random.default_rng(int(seed)).standard_normal(int(latent_dim)).astype(np.float32)


def png_bytes(images, cols=None):
    """A PNG of `(n, h, w, c)` images in [0, 1] tiled in a grid (exact pixels, 1-pixel gaps)."""
    from PIL import Image

    grid = to_uint8(image_grid(images, cols))
    if grid.shape[-1] == 1:
        grid = grid[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return buffer.getvalue()


def image_from_upload(data, image_shape):
    """`(h, w, c)` float32 in [0, 1] from an uploaded file's bytes, resized to `image_shape`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_UPLOAD_PIXELS:
            raise StudioError(f"image too large: {image.width}x{image.height} pixels "
                              f"(at most {MAX_UPLOAD_PIXELS} pixels)")
        image.load()
    except StudioError:
        raise
    except Image.DecompressionBombError:
        raise StudioError(f"image too large: at most {MAX_UPLOAD_PIXELS} pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise StudioError("not an image: the file could not be read as PNG, JPEG, GIF, BMP or WEBP")
    if kind not in UPLOAD_FORMATS:
        raise StudioError(f"not an image the studio accepts: {kind}; use {', '.join(UPLOAD_FORMATS)}")
    height, width, channels = image_shape
    image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, np.float32) / 255.0
    return pixels.reshape(height, width, channels)


def read_models_config(path):
    """Model names listed in a TF Serving `models.config` file."""
    with open(path) as handle:
        return re.findall(r'name\s*:\s*"([^"]+)"', handle.read())


def served_input_shapes(url, name, timeout=10.0):
    """`{signature: {input: [dims]}}` from TF Serving's REST metadata (-1 for a free dimension)."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/v1/models/{name}/metadata", timeout=timeout) as response:
        defs = json.loads(response.read())["metadata"]["signature_def"]["signature_def"]
    return {sig: {key: [int(d.get("size", -1)) for d in tensor.get("tensor_shape", {}).get("dim", [])]
                  for key, tensor in sdef.get("inputs", {}).items()}
            for sig, sdef in defs.items()}


class StudioModel:
    """One model as the studio sees it: a client, its facts, and what the page may do with it.

    `signature_inputs` is `{signature: [input names]}`; `metadata` holds at least what is known
    of `image_shape`, `latent_dim` and `num_classes`.
    """

    def __init__(self, name, client, signature_inputs, metadata):
        self.name, self.client = name, client
        self.signature_inputs = {sig: sorted(names) for sig, names in signature_inputs.items()}
        self.family = metadata.get("model", "unknown")
        self.latent_dim = metadata.get("latent_dim")
        self.num_classes = metadata.get("num_classes")
        self.image_shape = tuple(metadata["image_shape"]) if metadata.get("image_shape") else None
        self.timesteps = (metadata.get("config") or {}).get("timesteps")
        self.latent_signature = next((sig for sig in ("decode", "generate")
                                      if "z" in self.signature_inputs.get(sig, ())), None)
        self.seed_signature = "sample" if "seeds" in self.signature_inputs.get("sample", ()) else None
        # the truncation trick (SAGAN, BigGAN in z; StyleGAN in w): the grid is then drawn by
        # `sample`, so that a seed keeps its image as the slider moves
        self.truncatable = "truncation" in self.signature_inputs.get("sample", ())
        self.truncation = ({**Z_TRUNCATION, **(metadata.get("truncation") or {})}
                           if self.truncatable else None)
        # StyleGAN: coarse styles from one seed, fine ones from another
        self.num_ws = metadata.get("num_ws")
        self.style_mixing = bool(self.num_ws) and {"seeds_a", "seeds_b", "crossover"} <= set(
            self.signature_inputs.get("style_mix", ()))
        # a sampler from seeds alone with no step count draws one pixel per network pass
        self.pixel_by_pixel = bool(self.seed_signature and not self.latent_signature
                                   and "steps" not in self.signature_inputs.get("sample", ()))
        self.upload_signatures = [sig for sig in IMAGE_TO_IMAGE_SIGNATURES
                                  if "images" in self.signature_inputs.get(sig, ())]
        if self.latent_signature and self.latent_dim is None:
            raise ValueError(f"model {name!r} has {self.latent_signature}(z) but no known latent_dim")
        if self.image_shape is None and self.can_sample:
            self.image_shape = tuple(int(d) for d in self.sample(0, 1).shape[1:])

    @classmethod
    def local(cls, name, path):
        """A model folder loaded in process with `keras_gen.serving.LocalClient`."""
        from keras_gen.serving import LocalClient

        client = LocalClient(path)
        inputs = {sig: list(client.input_specs(sig)) for sig in client.signature_names()}
        return cls(name, client, inputs, client.metadata)

    @classmethod
    def served(cls, name, url, exported_dir):
        """A model behind TF Serving; facts from the local export's metadata, else from the server."""
        from keras_gen.serving import Client, read_metadata

        client = Client(url, name)
        inputs = {sig: list(defs["inputs"]) for sig, defs in client.signature_defs().items()}
        metadata = {}
        local_path = os.path.join(exported_dir, name)
        if os.path.isdir(local_path):
            try:
                metadata = read_metadata(local_path)
            except FileNotFoundError:
                pass
        if url.startswith(("http://", "https://")) and not {"image_shape", "latent_dim"} <= set(metadata):
            metadata = {**_facts_from_shapes(served_input_shapes(url, name)), **metadata}
        return cls(name, client, inputs, metadata)

    # ------------------------------------------------------------------ capabilities
    @property
    def conditional(self):
        signature = self.latent_signature or self.seed_signature
        return bool(signature) and "labels" in self.signature_inputs[signature]

    @property
    def can_sample(self):
        return bool(self.latent_signature or self.seed_signature)

    def describe(self):
        """What `/api/models` says about this model."""
        return {
            "name": self.name, "family": self.family,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "latent_dim": self.latent_dim, "num_classes": self.num_classes,
            "signatures": sorted(self.signature_inputs),
            "capabilities": {
                "sample": self.latent_signature or self.seed_signature,
                "traverse": self.latent_signature,
                "interpolate": self.latent_signature,
                "conditional": self.conditional,
                "truncation": self.truncation or False,
                "style_mix": {"num_ws": self.num_ws} if self.style_mixing else False,
                "upload": self.upload_signatures,
            },
        }

    # ------------------------------------------------------------------ calls
    def require(self, capability, available):
        if not available:
            raise StudioError(f"model {self.name!r} ({self.family}) cannot {capability}")

    def _labels(self, label, count, signature):
        if "labels" not in self.signature_inputs[signature]:
            if label is not None:
                raise StudioError(f"model {self.name!r} is not conditional; it takes no label")
            return {}
        if label is None:
            labels = np.arange(count) % (self.num_classes or 1)
        else:
            labels = np.full(count, label)
        return {"labels": labels.astype(np.int32)}

    def check_label(self, label):
        """`label` as an int, or a `StudioError` naming the valid range."""
        if label is None or label == "":
            return None
        label = _strict_int(label, "label")
        if self.num_classes is not None and not 0 <= label < self.num_classes:
            raise StudioError(f"label {label} is out of range: this model has classes 0 to {self.num_classes - 1}")
        if label < 0:
            raise StudioError(f"label must be >= 0, got {label}")
        return label

    def _images(self, signature, **inputs):
        try:
            outputs = self.client.signatures[signature](**inputs)
        except Exception as error:
            # the signature's own input checks say what is wrong in their first line; the rest
            # of a TensorFlow error (graph internals) stays in the log
            log.warning("studio: %s of %r failed: %s", signature, self.name, error)
            first = next((line.strip() for line in str(error).splitlines()
                          if "must" in line or "refused" in line), None)
            if first:
                raise StudioError(f"{signature} refused the input: {first[:300]}") from error
            raise StudioError(f"{signature} failed (details in the studio's log)", status=500) from error
        return np.asarray(outputs["images"], np.float32)

    def latent(self, seed):
        self.require("traverse a latent space", self.latent_signature)
        return latent_for_seed(seed, self.latent_dim)

    def sample(self, seed, count, label=None, steps=None, truncation=None):
        """`count` images for seeds `seed, seed + 1, ...` (one latent code per seed);
        `truncation` (models whose `sample` takes one; None = none) as `self.truncation` says."""
        self.require("sample", self.can_sample)
        if truncation is not None and not self.truncatable:
            raise StudioError(f"model {self.name!r} ({self.family}) takes no truncation")
        seeds = np.arange(seed, seed + count, dtype=np.int64)
        if self.truncatable:
            value = self.truncation["none"] if truncation is None else truncation
            return self._images("sample", seeds=seeds.astype(np.int32),
                                truncation=np.full(count, value, np.float32),
                                **self._labels(label, count, "sample"))
        if self.latent_signature:
            z = np.stack([latent_for_seed(s, self.latent_dim) for s in seeds])
            return self._images(self.latent_signature, z=z, **self._labels(label, count, self.latent_signature))
        inputs = {"seeds": seeds.astype(np.int32), **self._labels(label, count, "sample")}
        if "steps" in self.signature_inputs["sample"]:
            inputs["steps"] = np.full(count, steps or min(20, self.timesteps or 20), np.int32)
        return self._images("sample", **inputs)

    def style_mix(self, seeds_a, seeds_b, crossover):
        """StyleGAN's style-mixing grid (`keras_gen.plots.style_mixing_tiles`): the column
        seeds along the top, the row seeds down the left, each cell with its row's coarse
        styles (layers below `crossover`) and its column's fine ones."""
        self.require("mix styles", self.style_mixing)

        def mix(a, b, cut):
            return self._images("style_mix", seeds_a=a, seeds_b=b, crossover=cut)

        return style_mixing_tiles(mix, list(seeds_a), list(seeds_b), crossover, self.num_ws)

    def decode(self, z, label=None):
        self.require("decode a latent code", self.latent_signature)
        z = np.asarray(z, np.float32).reshape(1, -1)
        return self._images(self.latent_signature, z=z, **self._labels(label, 1, self.latent_signature))

    def interpolate(self, seed_a, seed_b, steps, label=None, method="linear"):
        from keras_gen.latent import interpolation_codes

        self.require("interpolate", self.latent_signature)
        codes = interpolation_codes(latent_for_seed(seed_a, self.latent_dim),
                                    latent_for_seed(seed_b, self.latent_dim), steps, method)
        label = 0 if label is None and self.conditional else label
        return self._images(self.latent_signature, z=codes, **self._labels(label, steps, self.latent_signature))

    def translate(self, image, signature, label=None):
        """The model's answer to one `(h, w, c)` image through an image-to-image signature."""
        self.require("take an uploaded image", self.upload_signatures)
        if signature not in self.upload_signatures:
            raise StudioError(f"signature {signature!r} takes no uploads here; "
                              f"use one of {', '.join(self.upload_signatures)}")
        label = 0 if label is None and "labels" in self.signature_inputs[signature] else label
        extra = {}
        if "known_rows" in self.signature_inputs[signature]:  # inpaint: keep the top half
            extra["known_rows"] = np.array([image.shape[0] // 2], np.int32)
        if "seeds" in self.signature_inputs[signature]:
            extra["seeds"] = np.zeros(1, np.int32)
        return self._images(signature, images=image[np.newaxis], **extra,
                            **self._labels(label, 1, signature))


def _facts_from_shapes(shapes):
    """`image_shape` and `latent_dim` read off served input shapes (`{sig: {input: dims}}`)."""
    facts = {}
    for inputs in shapes.values():
        if len(inputs.get("images", ())) == 4 and min(inputs["images"][1:]) > 0:
            facts.setdefault("image_shape", inputs["images"][1:])
        if len(inputs.get("z", ())) == 2 and inputs["z"][1] > 0:
            facts.setdefault("latent_dim", inputs["z"][1])
    return facts


def _model_folders(exported_dir):
    """Model folders with version folders, and bare SavedModel folders."""
    from keras_gen.export import model_folders

    bare = [name for name in os.listdir(exported_dir) if not name.startswith(".")
            and os.path.exists(os.path.join(exported_dir, name, "saved_model.pb"))]
    return sorted(set(model_folders(exported_dir)) | set(bare))


def load_models(exported_dir, serving_url=None, model_names=None):
    """`{name: StudioModel}` for the export root, or for TF Serving at `serving_url`.

    With a URL the names come from `model_names`, else from `<exported_dir>/models.config`.
    A model that fails to load is logged and left out.
    """
    if serving_url:
        config = os.path.join(exported_dir, "models.config")
        if model_names is None and os.path.exists(config):
            model_names = read_models_config(config)
        if not model_names:
            raise ValueError(f"with a serving URL, name the models (--models a,b) or provide {config}")
        load = lambda name: StudioModel.served(name, serving_url, exported_dir)  # noqa: E731
    else:
        if model_names is None:
            model_names = _model_folders(exported_dir) if os.path.isdir(exported_dir) else []
        load = lambda name: StudioModel.local(name, os.path.join(exported_dir, name))  # noqa: E731
    models = {}
    for name in model_names:
        try:
            models[name] = load(name)
        except Exception as error:
            log.warning("studio: skipping model %r: %s", name, error)
    return models


# ---------------------------------------------------------------------- request parsing
def _strict_int(value, key):
    """An int from a JSON integer or a string of digits (query and form fields); booleans,
    fractions and anything else are a `StudioError` naming `key`."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise StudioError(f"{key} must be an integer, got {json.dumps(value)[:40]}")
    if isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
            raise StudioError(f"{key} must be an integer, got {value[:40]!r}")
        value = int(value)
    return value


def _int_field(values, key, default, low, high):
    value = values.get(key, default)
    if value is None or value == "":
        value = default
    value = _strict_int(value, key)
    if not low <= value <= high:
        raise StudioError(f"{key} must be between {low} and {high}, got {value}")
    return value


def _float_field(values, key, default, low, high):
    value = values.get(key, default)
    if value is None or value == "":
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise StudioError(f"{key} must be a number, got {value!r}")
    try:
        value = float(value)
    except ValueError:
        raise StudioError(f"{key} must be a number, got {value!r}") from None
    if not low <= value <= high:  # NaN fails both
        raise StudioError(f"{key} must be between {low} and {high}, got {value}")
    return value


def _json_body():
    """The request's JSON object: a body of another type, malformed or over `MAX_JSON_BYTES`
    is refused (a form-encoded POST is what a foreign web page can send without asking)."""
    request = flask.request
    if not request.is_json:
        raise StudioError("send a JSON object with Content-Type: application/json", 415)
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise StudioError(f"JSON body too large: the limit is {MAX_JSON_BYTES} bytes", 413)
    data = request.get_data(cache=True)
    if len(data) > MAX_JSON_BYTES:
        raise StudioError(f"JSON body too large: the limit is {MAX_JSON_BYTES} bytes", 413)
    if not data.strip():
        return {}
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise StudioError("the request body is not valid JSON")
    except RecursionError:  # 64 KiB of "[" nests deeper than the parser's stack
        raise StudioError("the request body nests too deeply")
    if not isinstance(body, dict):
        raise StudioError("the request body must be a JSON object")
    return body


def _same_origin(origin, host):
    """Whether an `Origin` header names the host (and port) the request was sent to."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _local_or_literal(host, allowed_hosts):
    """Whether a Host header is safe from DNS rebinding: an IP address, `localhost`, or one of
    `allowed_hosts` (a name that resolves to this machine only for its owner)."""
    import ipaddress

    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name in LOCAL_HOSTNAMES or name in allowed_hosts


def _image_response(images, cols=None, **extra):
    """The images as one PNG: raw with `?format=png`, else JSON with a data URL and its size."""
    data = png_bytes(images, cols)
    if flask.request.args.get("format") == "png":
        return flask.Response(data, mimetype="image/png")
    from PIL import Image

    width, height = Image.open(io.BytesIO(data)).size
    url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return flask.jsonify(image=url, width=width, height=height, count=len(images), **extra)


def _format_bytes(count):
    return f"{count / 2**20:.1f} MiB ({count} bytes)" if count >= 2**20 else f"{count / 1024:.0f} KiB ({count} bytes)"


def create_app(exported_dir="exported", serving_url=None, max_upload_bytes=2 * 1024 * 1024,
               model_names=None, allowed_hosts=()):
    """The studio's Flask app over the models of `exported_dir` (or TF Serving at `serving_url`).

    `max_upload_bytes` caps an uploaded image; `model_names` picks models (needed with a
    serving URL when `exported_dir` has no `models.config`). Requests must name an IP address,
    `localhost` or one of `allowed_hosts` as their host, and writes from another origin are
    refused: any web page the user visits could otherwise drive the studio.
    """
    app = flask.Flask("apps.studio", root_path=os.path.dirname(os.path.abspath(__file__)))
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_bytes) + MULTIPART_OVERHEAD_BYTES
    app.json.sort_keys = False
    models = load_models(exported_dir, serving_url, model_names)
    app.extensions["studio_models"] = models
    too_large = f"upload too large: the limit is {_format_bytes(int(max_upload_bytes))}"

    def model_named(name):
        if name not in models:
            raise StudioError(f"unknown model {name!r}; the studio has {', '.join(models) or 'none'}", 404)
        return models[name]

    allowed = {name.lower() for name in allowed_hosts}

    @app.before_request
    def refuse_foreign_requests():
        request = flask.request
        if not _local_or_literal(request.host, allowed):
            raise StudioError(f"host {request.host[:60]!r} is not allowed (start the studio with "
                              f"--allowed-host to add a name)", 403)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            fetch_site = request.headers.get("Sec-Fetch-Site")
            if (origin is not None and not _same_origin(origin, request.host)) or \
                    fetch_site in ("cross-site", "same-site"):
                raise StudioError("cross-origin requests are refused", 403)

    @app.errorhandler(StudioError)
    def studio_error(error):
        return flask.jsonify(error=error.message), error.status

    @app.errorhandler(RequestEntityTooLarge)
    def request_too_large(error):
        return flask.jsonify(error=too_large), 413

    @app.errorhandler(HTTPException)
    def http_error(error):
        return flask.jsonify(error=error.description), error.code

    @app.get("/")
    def index():
        return flask.render_template("index.html")

    @app.get("/api/models")
    def list_models():
        return flask.jsonify(models=[model.describe() for model in models.values()],
                             max_upload_bytes=int(max_upload_bytes),
                             upload_extensions=list(UPLOAD_EXTENSIONS),
                             source=serving_url or os.path.basename(os.path.abspath(exported_dir)))

    @app.route("/api/<name>/latent", methods=["GET", "POST"])
    def latent(name):
        model = model_named(name)
        values = flask.request.args.to_dict() if flask.request.method == "GET" else _json_body()
        seed = _int_field(values, "seed", 0, 0, MAX_SEED)
        return flask.jsonify(seed=seed, z=model.latent(seed).tolist())

    @app.post("/api/<name>/sample")
    def sample(name):
        model = model_named(name)
        body = _json_body()
        seed = _int_field(body, "seed", 0, 0, MAX_SEED - MAX_GRID_IMAGES)
        count = _int_field(body, "count", 16, 1, MAX_GRID_IMAGES)
        steps = _int_field(body, "steps", min(20, model.timesteps or 20), 1, model.timesteps or 1000)
        if model.timesteps and count * steps > MAX_NETWORK_PASSES:
            raise StudioError(f"count x steps must be at most {MAX_NETWORK_PASSES} network passes "
                              f"per request, got {count} x {steps}")
        if model.pixel_by_pixel and count > MAX_PIXEL_BY_PIXEL_IMAGES:
            raise StudioError(f"count must be at most {MAX_PIXEL_BY_PIXEL_IMAGES} for a model that "
                              f"samples pixel by pixel, got {count}")
        truncation = None
        if model.truncation:
            limits = model.truncation
            truncation = _float_field(body, "truncation", limits["none"], limits["min"], limits["max"])
        elif body.get("truncation") not in (None, "", 0, 0.0):
            raise StudioError(f"model {model.name!r} ({model.family}) takes no truncation")
        images = model.sample(seed, count, model.check_label(body.get("label")), steps, truncation)
        return _image_response(images, seed=seed)

    @app.post("/api/<name>/style_mix")
    def style_mix(name):
        model = model_named(name)
        model.require("mix styles", model.style_mixing)
        body = _json_body()
        rows = _int_field(body, "rows", 3, 1, MAX_STYLE_MIX_SIDE)
        cols = _int_field(body, "cols", 3, 1, MAX_STYLE_MIX_SIDE)
        seed_a = _int_field(body, "seed_a", 0, 0, MAX_SEED - MAX_STYLE_MIX_SIDE)
        seed_b = _int_field(body, "seed_b", 100, 0, MAX_SEED - MAX_STYLE_MIX_SIDE)
        crossover = _int_field(body, "crossover", model.num_ws // 2, 1, model.num_ws - 1)
        images = model.style_mix(range(seed_a, seed_a + rows), range(seed_b, seed_b + cols), crossover)
        return _image_response(images, cols=cols + 1, crossover=crossover)

    @app.post("/api/<name>/decode")
    def decode(name):
        model = model_named(name)
        body = _json_body()
        model.require("decode a latent code", model.latent_signature)
        z = body.get("z")
        numbers = isinstance(z, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in z)
        if not numbers or len(z) != model.latent_dim:
            raise StudioError(f"z must be a list of {model.latent_dim} numbers")
        z = np.asarray(z, np.float64)
        if not np.all(np.isfinite(z)):
            raise StudioError("z must hold finite numbers")
        return _image_response(model.decode(z, model.check_label(body.get("label"))))

    @app.post("/api/<name>/interpolate")
    def interpolate(name):
        model = model_named(name)
        body = _json_body()
        seed_a = _int_field(body, "seed_a", 0, 0, MAX_SEED)
        seed_b = _int_field(body, "seed_b", 1, 0, MAX_SEED)
        steps = _int_field(body, "steps", 8, 2, MAX_INTERPOLATION_STEPS)
        method = body.get("method", "linear")
        if method not in ("linear", "slerp"):
            raise StudioError(f"method must be 'linear' or 'slerp', got {method!r}")
        images = model.interpolate(seed_a, seed_b, steps, model.check_label(body.get("label")), method)
        return _image_response(images, cols=steps)

    @app.post("/api/<name>/translate")
    def translate(name):
        model = model_named(name)
        model.require("take an uploaded image", model.upload_signatures)
        upload = flask.request.files.get("image") or flask.request.files.get("file")
        if upload is None or not upload.filename:
            raise StudioError("no file: send the image as multipart field 'image'")
        extension = os.path.splitext(upload.filename)[1].lower()
        if extension not in UPLOAD_EXTENSIONS:
            raise StudioError(f"not an image: {upload.filename!r} is not one of {', '.join(UPLOAD_EXTENSIONS)}")
        if upload.mimetype and not upload.mimetype.startswith("image/") and upload.mimetype != "application/octet-stream":
            raise StudioError(f"not an image: content type {upload.mimetype}")
        data = upload.stream.read(int(max_upload_bytes) + 1)
        if len(data) > max_upload_bytes:
            raise StudioError(too_large, 413)
        image = image_from_upload(data, model.image_shape)
        signature = flask.request.form.get("signature") or model.upload_signatures[0]
        result = model.translate(image, signature, model.check_label(flask.request.form.get("label")))
        data_url = "data:image/png;base64," + base64.b64encode(png_bytes(image[np.newaxis])).decode("ascii")
        return _image_response(result, signature=signature, input=data_url)

    return app
