"""A straightforward DCGAN `train_step` in the style of the keras.io / TensorFlow tutorials.

It is the reference that `benchmarks/gan_mnist.py` times keras_gen's DCGAN against, on the
same networks: the discriminator is trained on a concatenated real + fake batch with
noisy labels, then the generator is run a *second* time on fresh noise to train it. Written
for comparison only; keras_gen's models do not use it.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


class ReferenceDCGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(z)  # first generator pass
        combined = ops.concatenate([generated, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))  # second pass
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def keras_io_face_networks(image_shape=(64, 64, 3), latent_dim=128):
    """The networks of keras.io's "DCGAN to generate face images", sized from the image shape:
    three stride-2 transposed convolutions up from `side / 8` (LeakyReLU, no batch norm) and a
    5x5 sigmoid convolution; a three-conv LeakyReLU discriminator with dropout 0.2 before its
    logit (the example's sigmoid is in the loss here, `from_logits=True`)."""
    from keras import layers

    h, w, c = image_shape
    z = keras.Input((latent_dim,))
    x = layers.Reshape((h // 8, w // 8, 128))(layers.Dense(h // 8 * w // 8 * 128)(z))
    for filters in (128, 256, 512):
        x = layers.LeakyReLU(0.2)(layers.Conv2DTranspose(filters, 4, strides=2, padding="same")(x))
    generator = keras.Model(z, layers.Conv2D(c, 5, padding="same", activation="sigmoid")(x),
                            name="keras_io_generator")
    images = keras.Input(image_shape)
    x = images
    for filters in (64, 128, 128):
        x = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 4, strides=2, padding="same")(x))
    logit = layers.Dense(1)(layers.Dropout(0.2)(layers.Flatten()(x)))
    return generator, keras.Model(images, logit, name="keras_io_discriminator")
