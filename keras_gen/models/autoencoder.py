"""Autoencoders: plain (dense or conv, under- or overcomplete), stacked, sparse and denoising.

All share one model, `AutoEncoder`: an encoder `h = f(x)`, a decoder giving pixel logits, and
the reconstruction loss `-log p(x | g(h))` (Bernoulli, nats per image) or the summed squared
error. Variants change one hook each:

- `SparseAutoEncoder` adds `beta * sum_j KL(rho || rho_hat_j)` on the sigmoid code
  (`code_penalty`);
- `DenoisingAutoEncoder` corrupts inputs inside `train_step` (`corrupt`) and compares the
  reconstruction of the corrupted image with the clean one;
- `StackedAutoEncoder` is a deep dense autoencoder whose layer pairs can also be trained one at a
  time (`pretrain_layerwise`) before end-to-end training.

Uses: `encode` (features), `anomaly_score` (per-image reconstruction error), `interpolate`
(in code space), `denoise`.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.data import images_only
from keras_gen.networks import (
    conv_decoder,
    conv_encoder,
    dense_decoder_from_layers,
    dense_encoder_from_layers,
    mirrored_dense_layers,
)
from keras_gen.training import GenerativeModel, first_element, global_batch_mean, register_family
from keras_gen.training.arguments import image_shape_of, size, sizes
from keras_gen.training.recipe import PresetSpec, Recipe

ARCHITECTURES = ("dense", "conv")
RECONSTRUCTIONS = ("bce", "mse")


@register_family("autoencoder")
class AutoEncoder(GenerativeModel):
    """Deterministic autoencoder with a dense or convolutional encoder/decoder.

    Args:
        image_shape: `(height, width, channels)`, values in [0, 1].
        latent_dim: code size; below the pixel count it is undercomplete, above overcomplete.
        architecture: `"dense"` (hidden sizes `units`) or `"conv"` (stride-2 `units` filters).
        code_activation: activation of the code (`None`, `"relu"`, `"sigmoid"`).
        reconstruction: `"bce"` (Bernoulli negative log-likelihood, nats per image) or `"mse"`
            (summed squared error per image).

    Reported: `loss`, `reconstruction_loss`, and `mse` (mean squared error per pixel).

    Examples:
        >>> import numpy as np
        >>> ae = AutoEncoder(image_shape=(28, 28, 1), latent_dim=8, units=(32,))
        >>> ae.compile(optimizer="adam")
        >>> history = ae.fit(np.random.rand(16, 28, 28, 1).astype("float32"), epochs=1, verbose=0)
        >>> tuple(ae.encode(np.zeros((2, 28, 28, 1), "float32")).shape)
        (2, 8)
    """

    deterministic_training = True
    xla_faster_on_cpu = True  # benchmarks/results/speed_spread.md
    benchmark_config = dict(latent_dim=32, units=(256,))
    benchmark_reference = "autoencoder"
    preset = PresetSpec(
        "autoencoder_mnist",
        "A dense undercomplete autoencoder (784 -> 256 -> 32) for 28x28 digits.",
        "test_mse")
    recipe = Recipe(epochs=30, model_args={"units": (256,), "latent_dim": 32})

    loss_names = ("loss", "reconstruction_loss", "mse")
    preview = "reconstruct"
    default_signature = "reconstruct"
    smoke_config = dict(latent_dim=4, units=(8,))

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=32,
        architecture="dense",
        units=(256,),
        code_activation=None,
        reconstruction="bce",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got {reconstruction!r}")
        self.image_shape = image_shape_of(image_shape)
        self.latent_dim = size("latent_dim", latent_dim)
        self.architecture = architecture
        self.units = sizes("units", units)
        self.code_activation = code_activation
        self.reconstruction = reconstruction
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        with self.network_policy():
            self.encoder, self.decoder = self.build_networks()
        self.build()

    def build_networks(self):
        """Return `(encoder, decoder)`: images -> code, code -> pixel logits (float32)."""
        if self.architecture == "conv":
            encoder = conv_encoder(self.image_shape, self.latent_dim, filters=self.units,
                                   gaussian=False, code_activation=self.code_activation)
            decoder = conv_decoder(self.image_shape, self.latent_dim, filters=self.units[::-1])
            return encoder, decoder
        encoder_layers, decoder_layers = mirrored_dense_layers(
            self.image_shape, self.units, self.latent_dim, code_activation=self.code_activation
        )
        return (
            dense_encoder_from_layers(self.image_shape, encoder_layers),
            dense_decoder_from_layers(self.image_shape, self.latent_dim, decoder_layers),
        )

    def build(self, input_shape=None):
        self.encoder.build((None, *self.image_shape))
        self.decoder.build((None, self.latent_dim))
        self.built = True

    # ------------------------------------------------------------------ hooks for variants
    def corrupt(self, images):
        """The training input made from clean images (identity here; denoising overrides)."""
        return images

    def code_penalty(self, codes):
        """Extra named scalar losses on a batch of codes, added to the loss (none here)."""
        return {}

    def code_statistics(self, codes):
        """Named figures about a batch of codes, reported but not minimised (none here)."""
        return {}

    # ------------------------------------------------------------------ the model
    def encode(self, images, training=False):
        """Codes `(batch, latent_dim)` of images: the features."""
        return self.encoder(images, training=training)

    def decode(self, codes, training=False):
        """Images in [0, 1] from codes."""
        return ops.sigmoid(ops.cast(self.decoder(codes, training=training), "float32"))

    def reconstruct(self, images):
        return self.decode(self.encode(images))

    def call(self, images, training=False):
        return self.decode(self.encode(images, training=training), training=training)

    def denoise(self, images):
        """Reconstruct (possibly noisy) images; meaningful for a denoising autoencoder."""
        return self.reconstruct(images)

    def anomaly_score(self, images):
        """Per-image reconstruction error (mean squared error per pixel): high = unusual."""
        return L.mean_squared_error(images, self.reconstruct(images))

    def interpolate(self, first, second, steps=8):
        """Decode `steps` codes on the line between the codes of two images (inclusive)."""
        codes = self.encode(ops.stack([ops.convert_to_tensor(first, "float32"),
                                       ops.convert_to_tensor(second, "float32")]))
        alphas = ops.reshape(ops.linspace(0.0, 1.0, steps), (steps, 1))
        return self.decode((1.0 - alphas) * codes[0:1] + alphas * codes[1:2])

    def compute_losses(self, data, training=False):
        clean = first_element(data)
        inputs = self.corrupt(clean) if training else clean
        codes = self.encoder(inputs, training=training)
        logits = ops.cast(self.decoder(codes, training=training), "float32")
        if self.reconstruction == "bce":
            reconstruction = L.bernoulli_reconstruction_loss(clean, logits)
        else:
            reconstruction = L.squared_error(clean, ops.sigmoid(logits))
        penalties = self.code_penalty(codes)
        total = reconstruction
        for value in penalties.values():
            total = total + value
        return {
            "loss": total,
            "reconstruction_loss": reconstruction,
            "mse": L.mean_squared_error(clean, ops.sigmoid(logits)),
            **penalties,
            **self.code_statistics(codes),
        }

    # ------------------------------------------------------------------ export
    def serving_endpoints(self):
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        code_spec = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        return {
            "reconstruct": (lambda images: {"images": self.reconstruct(images)}, [images_spec]),
            "encode": (lambda images: {"code": self.encode(images)}, [images_spec]),
            "decode": (lambda z: {"images": self.decode(z)}, [code_spec]),
            "anomaly_score": (lambda images: {"scores": self.anomaly_score(images)}, [images_spec]),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            latent_dim=self.latent_dim,
            architecture=self.architecture,
            units=list(self.units),
            code_activation=self.code_activation,
            reconstruction=self.reconstruction,
            seed=self.seed,
        )
        return config


@register_family("sparse_ae")
class SparseAutoEncoder(AutoEncoder):
    """Autoencoder with a sigmoid code and the KL sparsity penalty on mean activations.

    `loss = reconstruction_loss + beta * sum_j KL(rho || rho_hat_j)`, rho_hat_j the mean
    activation of code unit j over the batch. Also reports `sparsity_loss` and
    `mean_activation` (mean over units of rho_hat_j).

    Examples:
        >>> sae = SparseAutoEncoder(latent_dim=64, rho=0.05, beta=3.0)
        >>> sae.code_activation
        'sigmoid'
    """

    deterministic_training = True
    xla_faster_on_cpu = True  # benchmarks/results/speed_spread.md
    benchmark_config = dict(latent_dim=128, units=(256,))
    benchmark_reference = "autoencoder"
    preset = PresetSpec(
        "sparse_ae_mnist",
        "A dense overcomplete sparse autoencoder (128 sigmoid codes, KL sparsity penalty "
        "towards a mean activation of 0.05, beta 3) for 28x28 digits.",
        "test_mse")
    recipe = Recipe(epochs=30, model_args={"units": (256,), "latent_dim": 128})

    loss_names = ("loss", "reconstruction_loss", "mse", "sparsity_loss", "mean_activation")

    smoke_config = dict(latent_dim=8, units=(8,))

    def __init__(self, latent_dim=128, rho=0.05, beta=3.0, **kwargs):
        kwargs["code_activation"] = "sigmoid"
        if not 0.0 < float(rho) < 1.0:
            raise ValueError(f"rho must be in (0, 1), got {rho!r}")
        self.rho = float(rho)
        self.beta = float(beta)
        super().__init__(latent_dim=latent_dim, **kwargs)

    def code_penalty(self, codes):
        # rho_hat over the global batch, so data-parallel steps equal one-device steps
        mean_activation = global_batch_mean(codes)
        return {"sparsity_loss": self.beta * L.sparsity_kl_divergence(self.rho, mean_activation)}

    def code_statistics(self, codes):
        return {"mean_activation": ops.mean(ops.cast(codes, "float32"))}

    def get_config(self):
        config = super().get_config()
        config.pop("code_activation")
        config.update(rho=self.rho, beta=self.beta)
        return config


NOISE_TYPES = ("gaussian", "masking")


@register_family("denoising_ae")
class DenoisingAutoEncoder(AutoEncoder):
    """Autoencoder trained to undo corruption applied inside `train_step` only.

    `noise="gaussian"` adds N(0, stddev^2) noise (clipped to [0, 1]); `noise="masking"` sets a
    random fraction `drop_rate` of the input values to 0. The loss compares the reconstruction
    of the corrupted input with the clean input; `encode`, evaluation and export see inputs
    as given.

    Examples:
        >>> dae = DenoisingAutoEncoder(noise="masking", drop_rate=0.5)
        >>> dae.noise, dae.drop_rate
        ('masking', 0.5)
    """

    benchmark_config = dict(latent_dim=64, units=(256,))
    benchmark_reference = "autoencoder"
    preset = PresetSpec(
        "denoising_ae_mnist",
        "A dense denoising autoencoder (Gaussian noise, stddev 0.3) for 28x28 digits.",
        "test_mse")
    recipe = Recipe(epochs=20, model_args={"units": (256,), "latent_dim": 64, "noise": "gaussian",
                                                "stddev": 0.3})

    def __init__(self, noise="gaussian", stddev=0.3, drop_rate=0.3, **kwargs):
        if noise not in NOISE_TYPES:
            raise ValueError(f"noise must be one of {NOISE_TYPES}, got {noise!r}")
        if not 0.0 <= float(drop_rate) < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
        self.noise = noise
        self.stddev = float(stddev)
        self.drop_rate = float(drop_rate)
        super().__init__(**kwargs)

    def corrupt(self, images):
        images = ops.cast(images, "float32")
        if self.noise == "gaussian":
            noise = keras.random.normal(ops.shape(images), stddev=self.stddev, seed=self.seed_generator)
            return ops.clip(images + noise, 0.0, 1.0)
        keep = keras.random.uniform(ops.shape(images), seed=self.seed_generator) >= self.drop_rate
        return images * ops.cast(keep, "float32")

    def serving_endpoints(self):
        endpoints = super().serving_endpoints()
        endpoints["denoise"] = endpoints["reconstruct"]
        return endpoints

    def get_config(self):
        config = super().get_config()
        config.update(noise=self.noise, stddev=self.stddev, drop_rate=self.drop_rate)
        return config


@register_family("stacked_ae")
class StackedAutoEncoder(AutoEncoder):
    """Deep dense autoencoder of any depth, with optional greedy layer-wise pretraining.

    `units` lists the hidden sizes from the image inwards, then `latent_dim`. `fit` trains the
    whole stack end to end; `pretrain_layerwise(dataset, epochs_per_layer)` first trains each
    encoder/decoder layer pair as a shallow autoencoder on the codes of the (fixed) layers
    below it, as in Bengio et al. (2007).

    Examples:
        >>> sae = StackedAutoEncoder(units=(64, 32), latent_dim=8)
        >>> [layer.units for layer in sae.encoder_layers]
        [64, 32, 8]
    """

    deterministic_training = True
    xla_faster_on_cpu = True  # benchmarks/results/speed_spread.md
    benchmark_config = dict(units=(256, 128), latent_dim=32)
    benchmark_reference = "autoencoder"
    preset = PresetSpec(
        "stacked_ae_mnist",
        "A stacked autoencoder (784 -> 256 -> 128 -> 32), greedy layer-wise pretraining "
        "then fine-tuning, for 28x28 digits.",
        "test_mse")
    recipe = Recipe(epochs=20, model_args={"units": (256, 128), "latent_dim": 32},
                    run_args={"pretrain_epochs": 2})

    layerwise_pretraining = True
    smoke_config = dict(latent_dim=4, units=(8, 6))

    def __init__(self, units=(256, 128), latent_dim=32, **kwargs):
        kwargs["architecture"] = "dense"
        super().__init__(units=units, latent_dim=latent_dim, **kwargs)

    @property
    def encoder_layers(self):
        """Dense layers of the encoder, from the image inwards."""
        return [layer for layer in self.encoder.layers if isinstance(layer, keras.layers.Dense)]

    @property
    def decoder_layers(self):
        """`decoder_layers[i]` maps the code of encoder layer i back to the input of layer i."""
        dense = [layer for layer in self.decoder.layers if isinstance(layer, keras.layers.Dense)]
        return dense[::-1]

    def pretrain_layerwise(self, dataset, epochs_per_layer=1, steps_per_epoch=None, verbose=0,
                           optimizer="adam"):
        """Train each layer pair as a shallow autoencoder, from the input inwards.

        Layer pair i reconstructs the output of encoder layers `0..i-1` (kept fixed): the
        first pair with a Bernoulli loss on pixels, deeper pairs with mean squared error.
        Returns one `History` per layer.
        """
        images = images_only(dataset)
        histories = []
        base_optimizer = keras.optimizers.get(optimizer)
        encoder_layers, decoder_layers = self.encoder_layers, self.decoder_layers
        for depth, (encode_layer, decode_layer) in enumerate(zip(encoder_layers, decoder_layers)):
            below = encoder_layers[:depth]

            def features(batch, below=below):
                h = ops.reshape(ops.cast(batch, "float32"), (ops.shape(batch)[0], -1))
                for layer in below:
                    h = layer(h, training=False)
                return ops.cast(h, "float32")

            width = int(decode_layer.units)
            inputs = keras.Input((width,))
            shallow = keras.Model(inputs, decode_layer(encode_layer(inputs)), name=f"pretrain_{depth}")
            loss = (keras.losses.BinaryCrossentropy(from_logits=True) if depth == 0
                    else keras.losses.MeanSquaredError())
            shallow.compile(optimizer=type(base_optimizer).from_config(base_optimizer.get_config()),
                            loss=loss)
            pairs = images.map(lambda batch: (features(batch), features(batch)))
            histories.append(shallow.fit(pairs, epochs=epochs_per_layer,
                                         steps_per_epoch=steps_per_epoch, verbose=verbose))
        return histories

    def get_config(self):
        config = super().get_config()
        config.pop("architecture")
        return config
