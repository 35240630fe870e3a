"""Straightforward `train_step`s in the style of the keras.io / TensorFlow tutorials.

`benchmarks/speed.py` times keras_gen's families against these on the *same* networks (built by
keras_gen's builders and passed in): one GradientTape per network, the generator run again
for its own update (GANs), WGAN-GP's critic steps looped inside one `train_step` on the same
batch, float32 mean losses, no XLA. Written for comparison only; keras_gen does not use them.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from reference_dcgan import ReferenceDCGAN  # noqa: F401  (re-exported for speed.py)


class ReferenceVAE(keras.Model):
    """keras.io's VAE: sample z, sum BCE over pixels, analytic KL, one tape. `beta` weighs the
    KL term (beta-VAE); with `num_classes`, batches are `(images, labels)` and the one-hot
    label is a second input of encoder and decoder (conditional VAE)."""

    def __init__(self, encoder, decoder, beta=1.0, num_classes=None):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.beta, self.num_classes = beta, num_classes
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.total_loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def train_step(self, data):
        if self.num_classes:
            data, labels = data
            one_hot = ops.one_hot(labels, self.num_classes)
            encode = lambda x: self.encoder([x, one_hot])  # noqa: E731
            decode = lambda z: self.decoder([z, one_hot])  # noqa: E731
        else:
            encode, decode = self.encoder, self.decoder
        with tf.GradientTape() as tape:
            z_mean, z_log_var = encode(data)
            epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            z = z_mean + ops.exp(0.5 * z_log_var) * epsilon
            reconstruction = ops.sigmoid(decode(z))
            reconstruction_loss = ops.mean(ops.sum(
                keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            total_loss = reconstruction_loss + self.beta * ops.mean(ops.sum(kl_loss, axis=1))
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


class ReferenceHingeGAN(ReferenceConditionalGAN):
    """A tutorial-style SAGAN/BigGAN step: the hinge loss, D on real and generated images in
    one call, then G with a second generator pass; labels (one-hot) go to both networks when
    `num_classes` is set. No EMA and no orthogonal regularisation: what a user writes first.
    Construction, optimizers and trackers as `ReferenceConditionalGAN`."""

    def _inputs(self, first, one_hot):
        return first if one_hot is None else [first, one_hot]

    def train_step(self, data):
        if self.num_classes:
            real_images, labels = data
            one_hot = ops.one_hot(labels, self.num_classes)
        else:
            real_images, one_hot = data, None
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(z, one_hot), training=True)
            both = ops.concatenate([real_images, fake], axis=0)
            both_labels = None if one_hot is None else ops.concatenate([one_hot, one_hot], axis=0)
            scores = self.discriminator(self._inputs(both, both_labels), training=True)
            d_loss = (ops.mean(ops.relu(1.0 - scores[:batch_size]))
                      + ops.mean(ops.relu(1.0 + scores[batch_size:])))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(z, one_hot), training=True)
            g_loss = -ops.mean(self.discriminator(self._inputs(fake, one_hot), training=True))
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


def at_growth(network, growth):
    """A progressive network (`[x, p]` in; keras_gen.networks.progan) as a plain one-input model
    fixed at growth `p`, for the single-input references above."""
    x = keras.Input(tuple(network.inputs[0].shape[1:]))
    column = ops.ones_like(ops.reshape(x, (-1, math.prod(x.shape[1:])))[:, :1]) * growth
    return keras.Model(x, network([x, column]))


def without_mixing(generator, num_ws):
    """StyleGAN's training generator (`[z, z_mix, crossover]` in) as a plain z -> images model
    that never mixes styles, for the single-input references above."""
    z = keras.Input(tuple(generator.inputs[0].shape[1:]))
    return keras.Model(z, generator([z, z, ops.ones_like(z[:, :1]) * float(num_ws)]))


class ReferenceSparseAutoEncoder(ReferenceAutoEncoder):
    """The tutorial autoencoder with the sparsity penalty added in `call` through `add_loss`:
    `beta * KL(rho || mean activation of each code unit)`."""

    def __init__(self, encoder, decoder, rho=0.05, beta=1.0):
        super().__init__(encoder, decoder)
        self.rho, self.beta = rho, beta

    def call(self, x):
        codes = self.encoder(x)
        rho_hat = ops.clip(ops.mean(codes, axis=0), 1e-6, 1.0 - 1e-6)
        kl = (self.rho * ops.log(self.rho / rho_hat)
              + (1.0 - self.rho) * ops.log((1.0 - self.rho) / (1.0 - rho_hat)))
        self.add_loss(self.beta * ops.sum(kl))
        return ops.sigmoid(self.decoder(codes))


class ReferenceDBVAE(keras.Model):
    """The MIT 6.S191 DB-VAE lab's loss in one tape: sigmoid cross-entropy of the classifier
    logit, plus (for positives only) the VAE loss with a mean-absolute reconstruction error
    and a weighted KL term."""

    def __init__(self, encoder, decoder, kl_weight=0.0005):
        super().__init__()
        self.encoder, self.decoder, self.kl_weight = encoder, decoder, kl_weight
        self.seed_generator = keras.random.SeedGenerator(1337)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_logit, mu, logsigma = self.encoder(x)
            y_logit = y_logit[:, 0]
            z = mu + tf.exp(0.5 * logsigma) * keras.random.normal(tf.shape(mu), seed=self.seed_generator)
            x_recon = tf.sigmoid(self.decoder(z))
            latent_loss = 0.5 * tf.reduce_sum(tf.exp(logsigma) + tf.square(mu) - 1.0 - logsigma, axis=1)
            reconstruction_loss = tf.reduce_mean(tf.abs(x - x_recon), axis=(1, 2, 3))
            vae_loss = self.kl_weight * latent_loss + reconstruction_loss
            classification_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=y_logit)
            loss = tf.reduce_mean(classification_loss + tf.cast(tf.equal(y, 1.0), tf.float32) * vae_loss)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"total_loss": loss}


class ReferencePix2Pix(keras.Model):
    """The TensorFlow pix2pix tutorial's step: two tapes, BCE on PatchGAN logits, L1 * 100."""

    def __init__(self, generator, discriminator, lambda_l1=100.0):
        super().__init__()
        self.generator, self.discriminator, self.lambda_l1 = generator, discriminator, lambda_l1

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.loss_object = keras.losses.BinaryCrossentropy(from_logits=True)

    def train_step(self, data):
        input_image, target = data
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = self.generator(input_image, training=True)
            disc_real_output = self.discriminator([input_image, target], training=True)
            disc_generated_output = self.discriminator([input_image, gen_output], training=True)
            gan_loss = self.loss_object(tf.ones_like(disc_generated_output), disc_generated_output)
            gen_total_loss = gan_loss + self.lambda_l1 * tf.reduce_mean(tf.abs(target - gen_output))
            disc_loss = (self.loss_object(tf.ones_like(disc_real_output), disc_real_output)
                         + self.loss_object(tf.zeros_like(disc_generated_output), disc_generated_output))
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(gen_tape.gradient(gen_total_loss, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(disc_tape.gradient(disc_loss, d_vars), d_vars))
        return {"gen_total_loss": gen_total_loss, "disc_loss": disc_loss}


class ReferenceCycleGAN(keras.Model):
    """The TensorFlow CycleGAN tutorial's step: one persistent tape, four optimizers, BCE
    adversarial losses, cycle and identity L1 terms, no image history pool."""

    def __init__(self, generator_g, generator_f, discriminator_x, discriminator_y, lambda_cycle=10.0):
        super().__init__()
        self.generator_g, self.generator_f = generator_g, generator_f
        self.discriminator_x, self.discriminator_y = discriminator_x, discriminator_y
        self.lambda_cycle = lambda_cycle

    def compile(self, optimizer_factory, **kwargs):
        super().compile(**kwargs)
        self.optimizers_for = {name: optimizer_factory()
                               for name in ("generator_g", "generator_f", "discriminator_x", "discriminator_y")}
        self.loss_obj = keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(self, real, generated):
        return 0.5 * (self.loss_obj(tf.ones_like(real), real) + self.loss_obj(tf.zeros_like(generated), generated))

    def generator_loss(self, generated):
        return self.loss_obj(tf.ones_like(generated), generated)

    def train_step(self, data):
        real_x, real_y = data
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.generator_g(real_x, training=True)
            cycled_x = self.generator_f(fake_y, training=True)
            fake_x = self.generator_f(real_y, training=True)
            cycled_y = self.generator_g(fake_x, training=True)
            same_x = self.generator_f(real_x, training=True)
            same_y = self.generator_g(real_y, training=True)
            disc_real_x = self.discriminator_x(real_x, training=True)
            disc_real_y = self.discriminator_y(real_y, training=True)
            disc_fake_x = self.discriminator_x(fake_x, training=True)
            disc_fake_y = self.discriminator_y(fake_y, training=True)
            cycle = self.lambda_cycle * (tf.reduce_mean(tf.abs(real_x - cycled_x))
                                         + tf.reduce_mean(tf.abs(real_y - cycled_y)))
            identity_x = self.lambda_cycle * 0.5 * tf.reduce_mean(tf.abs(real_x - same_x))
            identity_y = self.lambda_cycle * 0.5 * tf.reduce_mean(tf.abs(real_y - same_y))
            losses = {
                "generator_g": self.generator_loss(disc_fake_y) + cycle + identity_y,
                "generator_f": self.generator_loss(disc_fake_x) + cycle + identity_x,
                "discriminator_x": self.discriminator_loss(disc_real_x, disc_fake_x),
                "discriminator_y": self.discriminator_loss(disc_real_y, disc_fake_y),
            }
        for name, loss in losses.items():
            variables = getattr(self, name).trainable_variables
            self.optimizers_for[name].apply_gradients(zip(tape.gradient(loss, variables), variables))
        del tape
        return losses


class ReferencePixelCNN(keras.Model):
    """keras.io's PixelCNN way: the network is a plain model compiled with a per-pixel
    cross-entropy and fitted on `(scaled images, integer levels)`."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def call(self, x):
        return self.network(x)


class ReferenceDiffusion(keras.Model):
    """keras.io's DDIM example step: continuous cosine-schedule times, noise prediction with a
    mean-squared error, one tape, then a Python loop assigning each EMA weight."""

    def __init__(self, network, ema_network, ema=0.999, timesteps=1000):
        super().__init__()
        self.network, self.ema_network = network, ema_network
        self.ema, self.timesteps = ema, timesteps
        self.seed_generator = keras.random.SeedGenerator(1337)

    def diffusion_schedule(self, diffusion_times):
        start_angle, end_angle = tf.acos(0.95), tf.acos(0.02)
        angles = start_angle + diffusion_times * (end_angle - start_angle)
        return tf.sin(angles), tf.cos(angles)  # noise rates, signal rates

    def train_step(self, images):
        batch = tf.shape(images)[0]
        noises = keras.random.normal(tf.shape(images), seed=self.seed_generator)
        diffusion_times = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        noise_rates, signal_rates = self.diffusion_schedule(diffusion_times)
        noisy_images = signal_rates * images + noise_rates * noises
        t = tf.reshape(diffusion_times, (-1,)) * self.timesteps
        with tf.GradientTape() as tape:
            pred_noises = self.network([noisy_images, t], training=True)
            noise_loss = tf.reduce_mean(tf.square(noises - pred_noises))
        grads = tape.gradient(noise_loss, self.network.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.network.trainable_weights))
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            ema_weight.assign(self.ema * ema_weight + (1 - self.ema) * weight)
        return {"n_loss": noise_loss}
