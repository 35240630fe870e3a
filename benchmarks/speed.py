"""How fast does each family train and generate, and how close to the machine's limit?

In one run on one machine:
- the machine's peak float32 matmul GFLOP/s (a 2048x2048 matmul in a tf.function);
- the tf.data pipeline alone (mnist_5k, batch 64): images/s, to show it never starves a model;
- for each family, training images/s through `model.fit` (keras_gen defaults: no XLA on CPU),
  and with `jit_compile=True`; FLOPs per training step counted from the step's graph by
  TensorFlow's profiler, so achieved GFLOP/s and the share of the matmul peak;
- beside it, where one is written (benchmarks/reference_models.py), a keras.io-style reference
  on the same networks, measured alternately with keras_gen's model; the ratio is keras_gen /
  reference. WGAN-GP images/s count critic updates x batch for both (keras.io's version loops
  its 5 critic steps over one batch);
- inference images/s at batch 256: keras_gen's `sample` / `reconstruct` / `translate` beside
  the keras.io way (an eager call of the generator or decoder; keras.io's Python loops for
  DDIM and, on 8 images, for PixelCNN's one `predict` per pixel).

    python benchmarks/speed.py                    # every family
    python benchmarks/speed.py --families vae,dcgan --steps 20

Writes benchmarks/results/speed.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import data  # noqa: E402
from keras_gen.data import paired  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from reference_models import (  # noqa: E402
    ReferenceAutoEncoder,
    ReferenceConditionalGAN,
    ReferenceCycleGAN,
    ReferenceDBVAE,
    ReferenceDCGAN,
    ReferenceDiffusion,
    ReferenceHingeGAN,
    ReferencePix2Pix,
    ReferencePixelCNN,
    ReferenceSparseAutoEncoder,
    ReferenceVAE,
    ReferenceWGANGP,
    at_growth,
    without_mixing,
)
from reporting import write_results  # noqa: E402

BATCH = 64
def family_args(name):
    """The constructor arguments family `name` is timed with (28x28 digits, at the sizes the
    docs use): its declared `benchmark_config`."""
    config = FAMILIES[name].declared("benchmark_config")
    if config is None:
        raise ValueError(f"family {name!r} declares no benchmark_config")
    return dict(config)


#: Every registered family that declares its benchmark arguments: what the scripts time.
FAMILY_ARGS = {name: family_args(name) for name in FAMILIES
               if FAMILIES[name].declared("benchmark_config") is not None}
CRITIC_STEPS = 5


def training_data(name, family, batch_size=BATCH):
    """An endless, cached batch pipeline of what `name` trains on."""
    x, y = data.load_arrays("mnist_5k", "train")
    low, high = family.value_range
    x = x * (high - low) + low
    if family.batch_layout == "debiasing":
        ds = tf.data.Dataset.from_tensor_slices((x, (y == 7).astype("float32")))
    elif family.batch_layout == "labelled":
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32")))
    elif family.batch_layout in ("paired", "unpaired"):
        edges = paired.sobel_edges(x[:, :, :, :] * 0.5 + 0.5) * 2.0 - 1.0
        ds = tf.data.Dataset.from_tensor_slices((edges.astype("float32"), x))
    else:
        ds = tf.data.Dataset.from_tensor_slices(x)
    # mnist_5k is stored by class: shuffle once, so batches mix classes (DB-VAE needs 7s in them)
    ds = ds.shuffle(len(x), seed=0, reshuffle_each_iteration=False)
    # the autotuner off, as in keras_gen.data: with it, each fit's end waits for its next wake-up
    return data.without_autotuner(ds.cache().repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def _adam(lr=2e-4, b1=0.5, b2=0.999):
    return keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2)


def _identity(x):
    return x, x


def _vae_reference(model):
    ref = ReferenceVAE(model.encoder, model.decoder, beta=model.beta,
                       num_classes=getattr(model, "num_classes", None))
    ref.compile(optimizer=_adam(1e-3, 0.9))
    return ref, None


def _autoencoder_reference(model):
    if hasattr(model, "rho"):  # the sparse autoencoder's KL penalty
        ref = ReferenceSparseAutoEncoder(model.encoder, model.decoder, rho=model.rho, beta=model.beta)
    else:
        ref = ReferenceAutoEncoder(model.encoder, model.decoder)
    ref.compile(optimizer=_adam(1e-3, 0.9), loss="mse")
    mapping = _identity
    if getattr(model, "noise", None):  # the tutorial adds the noise to its inputs beforehand
        stddev = model.stddev
        mapping = lambda x: (tf.clip_by_value(x + stddev * tf.random.normal(tf.shape(x)), 0.0, 1.0), x)  # noqa: E731
    return ref, mapping


def _dbvae_reference(model):
    ref = ReferenceDBVAE(model.encoder, model.decoder)
    ref.compile(optimizer=_adam(1e-3, 0.9))
    return ref, None


def _dcgan_reference(model):
    ref = ReferenceDCGAN(model.generator, model.discriminator, model.latent_dim)
    ref.compile(d_optimizer=_adam(), g_optimizer=_adam())
    return ref, None


def _cgan_reference(model):
    ref = ReferenceConditionalGAN(model.generator, model.discriminator, model.latent_dim,
                                  model.num_classes)
    ref.compile(d_optimizer=_adam(), g_optimizer=_adam())
    return ref, None


def _wgan_gp_reference(model):
    ref = ReferenceWGANGP(model.generator, model.discriminator, model.latent_dim, d_steps=CRITIC_STEPS)
    ref.compile(d_optimizer=_adam(1e-4, 0.5, 0.9), g_optimizer=_adam(1e-4, 0.5, 0.9))
    return ref, None


def _progan_reference(model):  # keras.io's WGAN-GP step on the fully grown networks
    full = float(model.levels - 1)
    ref = ReferenceWGANGP(at_growth(model.generator, full), at_growth(model.discriminator, full),
                          model.latent_dim, d_steps=1)
    ref.compile(d_optimizer=_adam(1e-3, 0.0, 0.99), g_optimizer=_adam(1e-3, 0.0, 0.99))
    return ref, None


def _stylegan_reference(model):  # keras.io's DCGAN step (logistic loss) without mixing or R1
    ref = ReferenceDCGAN(without_mixing(model.generator, model.num_ws), model.discriminator,
                         model.latent_dim)
    ref.compile(d_optimizer=_adam(2e-3, 0.0, 0.99), g_optimizer=_adam(2e-3, 0.0, 0.99))
    return ref, None


def _hinge_gan_reference(model):
    ref = ReferenceHingeGAN(model.generator, model.discriminator, model.latent_dim,
                            model.num_classes if model.conditional else None)
    ref.compile(d_optimizer=_adam(4e-4, 0.0, 0.9), g_optimizer=_adam(1e-4, 0.0, 0.9))
    return ref, None


def _pix2pix_reference(model):
    ref = ReferencePix2Pix(model.generator, model.discriminator, lambda_l1=model.lambda_l1)
    ref.compile(g_optimizer=_adam(), d_optimizer=_adam())
    return ref, None


def _cyclegan_reference(model):
    ref = ReferenceCycleGAN(model.generator_g, model.generator_f, model.discriminator_x,
                            model.discriminator_y, lambda_cycle=model.lambda_cycle)
    ref.compile(optimizer_factory=_adam)
    return ref, None


def _pixelcnn_reference(model):  # the same keras.io-style fit of the network (PixelRNN too)
    ref = ReferencePixelCNN(model.network)
    ref.compile(optimizer=_adam(1e-3, 0.9),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    top = model.levels - 1
    return ref, lambda x: (x * 2.0 - 1.0, tf.cast(tf.round(x * top), tf.int32))


def _diffusion_reference(model):
    ref = ReferenceDiffusion(model.network, model.ema_network, timesteps=model.timesteps)
    ref.compile(optimizer=_adam(1e-3, 0.9))
    return ref, None


#: The keras.io-style references, by the name a family declares as `benchmark_reference`.
REFERENCES = {"vae": _vae_reference, "autoencoder": _autoencoder_reference,
              "dbvae": _dbvae_reference, "dcgan": _dcgan_reference, "cgan": _cgan_reference,
              "wgan_gp": _wgan_gp_reference, "progan": _progan_reference,
              "stylegan": _stylegan_reference, "hinge_gan": _hinge_gan_reference,
              "pix2pix": _pix2pix_reference, "cyclegan": _cyclegan_reference,
              "pixelcnn": _pixelcnn_reference, "diffusion": _diffusion_reference}


def reference_for(name, model):
    """`(compiled keras.io-style model on model's networks, a mapping of the data it trains
    on)`, or None for a family that declares no `benchmark_reference`.

    The data is `training_data`'s pipeline, mapped where the tutorial fits a plain model on
    `(inputs, targets)`: `(x, x)` for autoencoders, `(noisy x, x)` for the denoising one,
    `(scaled x, levels)` for PixelCNN.
    """
    kind = FAMILIES[name].declared("benchmark_reference")
    if kind is None:
        return None
    if kind not in REFERENCES:
        raise ValueError(f"family {name!r} declares benchmark_reference={kind!r}; known: "
                         f"{sorted(REFERENCES)}")
    return REFERENCES[kind](model)


def compiled_family(name, **compile_kwargs):
    """Family `name` at the README size on 28x28 digits, compiled with its default optimizer."""
    model = FAMILIES[name](image_shape=(28, 28, 1), **family_args(name))
    model.compile(optimizer=model.default_optimizer(), **compile_kwargs)
    return model


def fit_rate(model, dataset, steps, fit_kwargs=None):
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, **(fit_kwargs or {}))
    return steps / (time.perf_counter() - start)


def train_step_flops(model, dataset):
    """Float operations of one `train_step` on one batch, from the traced graph."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    batch = next(iter(dataset))
    specs = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), batch)
    graph = tf.function(model.train_step).get_concrete_function(specs).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(model_analyzer.profile(graph, options=options).total_float_ops)


def peak_matmul_gflops(n=2048, repeats=10):
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda a, b: tf.matmul(a, b))
    matmul(a, b).numpy()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = max(best, 2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def pipeline_rate(batches=400):
    dataset = data.load("mnist_5k", "train", batch_size=BATCH).repeat()
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * BATCH / (time.perf_counter() - start)


def keras_io_pixelcnn_sampling(network, n, levels, seed=0):
    """keras.io's PixelCNN sampling: a Python loop over pixels, one `predict` per pixel."""
    rng = np.random.default_rng(seed)
    height, width, _ = network.input_shape[1:]
    pixels = np.zeros((n, height, width, 1), "float32")
    for row in range(height):
        for col in range(width):
            logits = network.predict(pixels * 2.0 - 1.0, verbose=0)[:, row, col, 0]
            probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
            probs /= probs.sum(axis=-1, keepdims=True)
            choice = np.array([rng.choice(levels, p=p) for p in probs])
            pixels[:, row, col, 0] = choice / (levels - 1)
    return pixels


def keras_io_ddim_sampling(model, n, steps=50, seed=0):
    """keras.io's DDIM `reverse_diffusion`: a Python loop of eager EMA-network calls."""
    alphas_cumprod = keras.ops.convert_to_numpy(model.alphas_cumprod)
    times = np.linspace(model.timesteps - 1, 0, steps).round().astype("int32")
    x = tf.random.stateless_normal((n, *model.image_shape), seed=(seed, 0))
    for i, t in enumerate(times):
        abar = float(alphas_cumprod[t])
        noise = model.ema_network([x, tf.fill((n,), float(t))], training=False)
        x0 = tf.clip_by_value((x - (1 - abar) ** 0.5 * noise) / abar ** 0.5, -1.0, 1.0)
        next_abar = float(alphas_cumprod[times[i + 1]]) if i + 1 < steps else 1.0
        x = next_abar ** 0.5 * x0 + (1 - next_abar) ** 0.5 * noise
    return x * 0.5 + 0.5


def sampling_rates(name, model, reference, n=256, repeats=3):
    """(keras_gen images/s, keras.io-way images/s) of generating, reconstructing or
    translating n images (fewer for PixelCNN, whose keras.io way is one predict per pixel)."""
    rng = np.random.default_rng(0)
    x, _ = data.load_arrays("mnist_5k", "test")
    latent_dim = getattr(model, "latent_dim", None)
    z = rng.standard_normal((n, latent_dim)).astype("float32") if latent_dim else None
    if name in ("vae", "beta_vae"):
        ours = lambda: model.sample(n, seed=0)  # noqa: E731
        theirs = lambda: ops_sigmoid(model.decoder(z, training=False))  # noqa: E731
    elif name == "cvae":
        one_hot = np.eye(model.num_classes, dtype="float32")[np.arange(n) % model.num_classes]
        ours = lambda: model.sample(n, seed=0)  # noqa: E731
        theirs = lambda: ops_sigmoid(model.decoder([z, one_hot], training=False))  # noqa: E731
    elif name in ("gan", "dcgan", "wgan_gp"):
        ours = lambda: model.sample(n, seed=0)  # noqa: E731
        theirs = lambda: model.generator(z, training=False)  # noqa: E731
    elif name == "cgan":
        one_hot = np.eye(model.num_classes, dtype="float32")[np.arange(n) % model.num_classes]
        ours = lambda: model.sample(n, seed=0)  # noqa: E731
        theirs = lambda: model.generator([z, one_hot], training=False)  # noqa: E731
    elif name in ("autoencoder", "stacked_ae", "sparse_ae", "denoising_ae"):
        ours = lambda: model.reconstruct(x[:n])  # noqa: E731
        theirs = lambda: reference.predict(x[:n], verbose=0)  # noqa: E731
    elif name in ("pix2pix", "cyclegan"):
        edges = (paired.sobel_edges(x[:n]) * 2.0 - 1.0).astype("float32")
        generator = model.generator if name == "pix2pix" else model.generator_g
        ours = lambda: model.translate(edges)  # noqa: E731
        # the tutorials' generate_images: pix2pix calls the generator with training=True
        theirs = lambda: generator(edges, training=name == "pix2pix")  # noqa: E731
    elif name in ("pixelcnn", "pixelrnn"):
        n, repeats = 8, 1
        ours = lambda: model.sample(n, seed=0)  # noqa: E731
        theirs = lambda: keras_io_pixelcnn_sampling(model.network, n, model.levels)  # noqa: E731
    elif name == "diffusion":
        ours = lambda: model.sample(n, seed=0)  # noqa: E731  (DDIM, 50 steps)
        theirs = lambda: keras_io_ddim_sampling(model, n, steps=50)  # noqa: E731
    else:
        return None
    rates = {"keras_gen": 0.0, "reference": 0.0}
    for _ in range(repeats + 1):  # the first round traces
        for key, fn in (("keras_gen", ours), ("reference", theirs)):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(fn())
            rates[key] = max(rates[key], n / (time.perf_counter() - start))
    return rates


def ops_sigmoid(x):
    return keras.ops.sigmoid(x)


def alternating_train_rates(name, steps, repeats, with_xla=False):
    """Train `name` at the README size and its keras.io-style reference, alternately.

    Returns `(model, dataset, reference, ours, theirs, xla)`: `ours` and `theirs` are the
    steps/s of each of the `repeats` timed fits (`theirs` is empty where no reference is
    written; a WGAN-GP reference fit runs `steps / CRITIC_STEPS` of its 5-critic steps).
    With `with_xla`, a second copy compiled with `jit_compile=True` takes its turn in each
    round too, and `xla` holds its steps/s (else it is empty).
    """
    family = FAMILIES[name]
    keras.utils.set_random_seed(0)
    model = compiled_family(name)
    dataset = training_data(name, family)
    fit_rate(model, dataset, 3)  # trace and warm up
    reference, mapping = reference_for(name, model) or (None, None)
    reference_data = dataset.map(mapping) if mapping else dataset
    if reference is not None:
        fit_rate(reference, reference_data, 3)
    xla_model = None
    if with_xla:
        xla_model = compiled_family(name, jit_compile=True)
        fit_rate(xla_model, dataset, 3)
    ours, theirs, xla = [], [], []
    for _ in range(repeats):  # alternate, so all see the same machine state
        ours.append(fit_rate(model, dataset, steps))
        if reference is not None:
            theirs.append(fit_rate(reference, reference_data, max(1, steps // (CRITIC_STEPS if name == "wgan_gp" else 1))))
        if xla_model is not None:
            xla.append(fit_rate(xla_model, dataset, steps))
    return model, dataset, reference, ours, theirs, xla


def measure_family(name, steps, repeats, peak):
    model, dataset, reference, ours, theirs, _ = alternating_train_rates(name, steps, repeats)
    record = {"train_images_per_s": round(max(ours) * BATCH, 1)}
    flops = train_step_flops(model, dataset)
    record["flops_per_step"] = flops
    record["achieved_gflops"] = round(flops * max(ours) / 1e9, 2)
    record["share_of_matmul_peak"] = round(flops * max(ours) / 1e9 / peak, 4)
    if reference is not None:
        critic_factor = CRITIC_STEPS if name == "wgan_gp" else 1
        record["reference_train_images_per_s"] = round(max(theirs) * BATCH * critic_factor, 1)
        record["speedup_vs_reference"] = round(record["train_images_per_s"]
                                               / record["reference_train_images_per_s"], 3)
    xla = compiled_family(name, jit_compile=True)
    fit_rate(xla, dataset, 3)
    record["xla_train_images_per_s"] = round(max(fit_rate(xla, dataset, steps) for _ in range(repeats)) * BATCH, 1)
    record["xla_speedup"] = round(record["xla_train_images_per_s"] / record["train_images_per_s"], 3)
    sampling = sampling_rates(name, model, reference)
    if sampling:
        record["sampling_images_per_s"] = round(sampling["keras_gen"], 1)
        record["reference_sampling_images_per_s"] = round(sampling["reference"], 1)
        record["sampling_speedup_vs_reference"] = round(sampling["keras_gen"] / sampling["reference"], 3)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILY_ARGS))
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed fit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    peak = peak_matmul_gflops()
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"},
               "peak_matmul_gflops": round(peak, 1),
               "pipeline_images_per_s": round(pipeline_rate(), 1), "families": {}}
    print("peak", results["peak_matmul_gflops"], "pipeline", results["pipeline_images_per_s"], flush=True)
    for name in args.families.split(","):
        results["families"][name] = measure_family(name, args.steps, args.repeats, peak)
        print(name, results["families"][name], flush=True)
    rows = [("machine peak matmul GFLOP/s (float32, 2048x2048)", results["peak_matmul_gflops"]),
            ("tf.data pipeline alone, images/s (mnist_5k, batch 64)", results["pipeline_images_per_s"])]
    for name, r in results["families"].items():
        cell = (f"{r['train_images_per_s']} img/s, {r['achieved_gflops']} GFLOP/s "
                f"({100 * r['share_of_matmul_peak']:.1f}% of peak); XLA x{r['xla_speedup']}")
        if "speedup_vs_reference" in r:
            cell += f"; vs keras.io-style x{r['speedup_vs_reference']}"
        if "sampling_speedup_vs_reference" in r:
            cell += f"; sampling {r['sampling_images_per_s']} img/s, x{r['sampling_speedup_vs_reference']}"
        rows.append((f"{name} training", cell))
    write_results(args.out, "speed", results, rows,
                  command="python benchmarks/speed.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
