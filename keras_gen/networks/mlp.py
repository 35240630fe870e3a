"""Dense (multi-layer perceptron) encoder and decoder builders.

Encoders flatten images; decoders reshape back and output float32 logits of image shape.
`mirrored_dense_layers` returns the layers of a stacked autoencoder in pairs, so a model can
train them one pair at a time (greedy layer-wise pretraining) and also as one network.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_gen.networks.conditioning import vector_input
from keras_gen.networks.normalization import SpectralNormalization, synchronized_batch_norm


def _image_size(image_shape):
    return int(math.prod(int(d) for d in image_shape))


def mirrored_dense_layers(image_shape, units, latent_dim, *, code_activation=None, name="stack"):
    """Encoder and decoder `Dense` layers of a stacked autoencoder, pair by pair.

    `encoder_layers[i]` maps h_{i-1} -> h_i (h_{-1} the flattened image, the last one the code)
    and `decoder_layers[i]` maps h_i back to h_{i-1} (`decoder_layers[0]` gives float32 pixel
    logits). Hidden layers use ReLU.

    Examples:
        >>> enc, dec = mirrored_dense_layers((28, 28, 1), (64,), 8)
        >>> [layer.units for layer in enc], [layer.units for layer in dec]
        ([64, 8], [784, 64])
    """
    sizes = [_image_size(image_shape), *[int(u) for u in units], int(latent_dim)]
    encoder_layers, decoder_layers = [], []
    for i in range(1, len(sizes)):
        is_code = i == len(sizes) - 1
        encoder_layers.append(
            layers.Dense(
                sizes[i],
                activation=code_activation if is_code else "relu",
                dtype="float32" if is_code else None,
                name=f"{name}_encode_{i - 1}",
            )
        )
        decoder_layers.append(
            layers.Dense(
                sizes[i - 1],
                activation=None if i == 1 else "relu",
                dtype="float32" if i == 1 else None,
                name=f"{name}_decode_{i - 1}",
            )
        )
    return encoder_layers, decoder_layers


def dense_encoder_from_layers(image_shape, encoder_layers, name="encoder"):
    """A functional model: image -> flatten -> each layer in order -> code."""
    images = keras.Input(tuple(image_shape), name="images")
    x = layers.Flatten(name="flatten")(images)
    for layer in encoder_layers:
        x = layer(x)
    return keras.Model(images, x, name=name)


def dense_decoder_from_layers(image_shape, latent_dim, decoder_layers, name="decoder"):
    """A functional model: code -> decoder layers from the deepest to the first -> image logits."""
    z = keras.Input((int(latent_dim),), name="z")
    x = z
    for layer in reversed(decoder_layers):
        x = layer(x)
    outputs = layers.Reshape(tuple(image_shape), name="to_image", dtype="float32")(x)
    return keras.Model(z, outputs, name=name)


def dense_encoder(image_shape, latent_dim, *, units=(256,), code_activation=None, name="encoder"):
    """Dense encoder `images -> code` with ReLU hidden layers.

    Examples:
        >>> tuple(dense_encoder((28, 28, 1), 32).output.shape)
        (None, 32)
    """
    encoder_layers, _ = mirrored_dense_layers(
        image_shape, units, latent_dim, code_activation=code_activation, name=name
    )
    return dense_encoder_from_layers(image_shape, encoder_layers, name=name)


def dense_decoder(image_shape, latent_dim, *, units=(256,), name="decoder"):
    """Dense decoder `code -> image logits` (float32), mirroring `dense_encoder`.

    Examples:
        >>> tuple(dense_decoder((28, 28, 1), 32).output.shape)
        (None, 28, 28, 1)
    """
    _, decoder_layers = mirrored_dense_layers(image_shape, units, latent_dim, name=name)
    return dense_decoder_from_layers(image_shape, latent_dim, decoder_layers, name=name)


def _maybe_spectral(layer, spectral_norm):
    return SpectralNormalization(layer) if spectral_norm else layer


def mlp_generator(latent_dim, image_shape, *, units=(256, 512), condition_dim=0, name="generator"):
    """GAN generator: `z` (and a condition vector) -> dense ReLU layers -> tanh image (float32).

    Examples:
        >>> tuple(mlp_generator(8, (28, 28, 1)).output.shape)
        (None, 28, 28, 1)
    """
    inputs, x = vector_input(latent_dim, condition_dim)
    for i, width in enumerate(units):
        x = layers.Dense(width, name=f"dense_{i}")(x)
        x = synchronized_batch_norm(f"norm_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
    x = layers.Dense(_image_size(image_shape), activation="tanh", dtype="float32", name="pixels")(x)
    images = layers.Reshape(tuple(image_shape), dtype="float32", name="to_image")(x)
    return keras.Model(inputs, images, name=name)


def mlp_discriminator(image_shape, *, units=(512, 256), condition_dim=0, spectral_norm=False,
                      dropout=0.3, name="discriminator"):
    """GAN discriminator: image (and a condition vector) -> dense LeakyReLU layers -> one logit.

    Examples:
        >>> tuple(mlp_discriminator((28, 28, 1)).output.shape)
        (None, 1)
    """
    images = keras.Input(tuple(image_shape), name="images")
    inputs, x = images, layers.Flatten(name="flatten")(images)
    if condition_dim:
        condition = keras.Input((int(condition_dim),), name="condition")
        inputs = [images, condition]
        x = layers.Concatenate(name="join_condition")([x, condition])
    for i, width in enumerate(units):
        x = _maybe_spectral(layers.Dense(width, name=f"dense_{i}"), spectral_norm)(x)
        x = layers.LeakyReLU(0.2, name=f"leaky_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = _maybe_spectral(layers.Dense(1, dtype="float32", name="logit"), spectral_norm)(x)
    return keras.Model(inputs, logits, name=name)
