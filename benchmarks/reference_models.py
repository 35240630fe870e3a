"""Straightforward `train_step`s in the style of the keras.io / TensorFlow tutorials.

`benchmarks/speed.py` times keras_gen's families against these on the *same* networks (built by
keras_gen's builders and passed in): one GradientTape per network, the generator run again
for its own update (GANs), WGAN-GP's critic steps looped inside one `train_step` on the same
batch, float32 mean losses, no XLA. Written for comparison only; keras_gen does not use them.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from reference_dcgan import ReferenceDCGAN  # noqa: F401  (re-exported for speed.py)


class ReferenceVAE(keras.Model):
    """keras.io's VAE: sample z, sum BCE over pixels, analytic KL, one tape."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.total_loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(data)
            epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            z = z_mean + ops.exp(0.5 * z_log_var) * epsilon
            reconstruction = ops.sigmoid(self.decoder(z))
            reconstruction_loss = ops.mean(ops.sum(
                keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            total_loss = reconstruction_loss + ops.mean(ops.sum(kl_loss, axis=1))
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        return {"loss": self.total_loss_tracker.result()}

    def call(self, data):
        return ops.sigmoid(self.decoder(self.encoder(data)[0]))


class ReferenceAutoEncoder(keras.Model):
    """The TensorFlow autoencoder tutorial: `Model(encoder, decoder)` with MSE, `fit(x, x)`."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def call(self, x):
        return ops.sigmoid(self.decoder(self.encoder(x)))


class ReferenceConditionalGAN(keras.Model):
    """keras.io's conditional GAN: one-hot labels joined to z and to D's input, the generator
    run once for D's update and again for its own."""

    def __init__(self, generator, discriminator, latent_dim, num_classes):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, data):
        real_images, labels = data
        one_hot = ops.one_hot(labels, self.num_classes)
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator([z, one_hot])
        combined = [ops.concatenate([generated, real_images], axis=0),
                    ops.concatenate([one_hot, one_hot], axis=0)]  # D joins them as channels
        targets = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(targets, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator([z, one_hot])
            g_loss = self.loss_fn(ops.zeros((batch_size, 1)), self.discriminator([fake, one_hot]))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


class ReferenceWGANGP(keras.Model):
    """keras.io's WGAN-GP: `d_steps` critic updates on the same real batch (fresh noise and a
    fresh generator pass each), then one generator update with another generator pass."""

    def __init__(self, generator, discriminator, latent_dim, d_steps=5, gp_weight=10.0):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.d_steps, self.gp_weight = latent_dim, d_steps, gp_weight
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)
        interpolated = real_images + alpha * (fake_images - real_images)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        for _ in range(self.d_steps):
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake_images = self.generator(z, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                d_loss = d_cost + self.gp_weight * self.gradient_penalty(batch_size, real_images, fake_images)
            grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            generated = self.generator(z, training=True)
            g_loss = -tf.reduce_mean(self.discriminator(generated, training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}
