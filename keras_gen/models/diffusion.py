"""A small denoising diffusion model: DDPM training and DDPM / DDIM sampling.

Forward process (closed form): `x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`, with
`abar_t = prod_{s <= t} (1 - beta_s)` from a linear or cosine schedule. A U-Net predicts eps
from `(x_t, t)`; the loss is the mean squared error to the true noise (Ho et al., 2020).

Sampling:
- DDPM ancestral: `x_{t-1}` = the posterior mean of q(x_{t-1} | x_t, x_0) at the predicted x_0
  (`(x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)` when x_0 is not clipped) plus
  `sigma_t z`, `sigma_t^2 = beta_t (1 - abar_{t-1}) / (1 - abar_t)`;
- DDIM (Song et al., 2021) on a subsequence of `steps` timesteps, `eta` from 0 (deterministic)
  to 1 (which on every timestep is exactly the DDPM step above). Both clip the predicted x_0
to [-1, 1], as sampling code usually does.

An EMA copy of the network (used for sampling and export) is updated after every step, with
the usual warm-up of its decay.
Data in [-1, 1]; samples and exports in [0, 1].
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.networks.unet import diffusion_unet
from keras_gen.training import (
    GenerativeModel,
    first_element,
    register_family,
    start_average,
    update_moving_average,
    warmed_up_decay,
)
from keras_gen.training.arguments import image_shape_of, size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import PresetSpec, Recipe

SCHEDULES = ("linear", "cosine")


def beta_schedule(kind, timesteps):
    """`timesteps` betas: linear 1e-4 .. 0.02 (Ho et al.) or cosine (Nichol & Dhariwal)."""
    if kind == "linear":
        scale = 1000.0 / timesteps
        return np.clip(np.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=np.float64), 0.0, 0.999)
    if kind == "cosine":
        steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
        abar = np.cos((steps + 0.008) / 1.008 * math.pi / 2) ** 2
        return np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")


@register_family("diffusion")
class DiffusionModel(GenerativeModel):
    """DDPM with a small U-Net, DDPM and DDIM samplers, and EMA weights.

    Examples:
        >>> model = DiffusionModel(image_shape=(8, 8, 1), timesteps=20, base_filters=8)
        >>> model.compile(optimizer=model.default_optimizer())   # then model.fit(images in [-1, 1])
        >>> model.sample(2, steps=5).shape
        (2, 8, 8, 1)
    """

    benchmark_config = dict(base_filters=32)
    benchmark_reference = "diffusion"
    preset = PresetSpec(
        "diffusion_mnist",
        "A small DDPM (U-Net, 32 base filters, 1,000 steps, linear schedule, EMA) for "
        "28x28 digits, sampled with DDIM in 50 steps.",
        "fid", samples=500)
    recipe = Recipe(epochs=1000, minutes=4, model_args={"base_filters": 32})
    optimizer_spec = OptimizerSpec(2e-4)

    value_range = (-1.0, 1.0)
    default_signature = "sample"
    smoke_config = dict(base_filters=8, timesteps=10)

    def __init__(self, image_shape=(28, 28, 1), timesteps=1000, schedule="linear", base_filters=32,
                 ema_decay=0.999, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = image_shape_of(image_shape)
        self.timesteps = size("timesteps", timesteps)
        self.schedule = schedule
        self.base_filters = size("base_filters", base_filters)
        self.ema_decay = float(ema_decay)
        betas = beta_schedule(schedule, self.timesteps)
        abar = np.cumprod(1.0 - betas)
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        self.betas = tf.constant(betas, tf.float32)
        self.alphas_cumprod = tf.constant(abar, tf.float32)
        self.alphas_cumprod_prev = tf.constant(abar_prev, tf.float32)
        self.posterior_variance = tf.constant(betas * (1.0 - abar_prev) / (1.0 - abar), tf.float32)
        self.seed_generator = keras.random.SeedGenerator(None)
        with self.network_policy():
            self.network = diffusion_unet(self.image_shape, base_filters=self.base_filters)
            self.ema_network = diffusion_unet(self.image_shape, base_filters=self.base_filters,
                                              name="ema_diffusion_unet")
        start_average(self.ema_network, self.network)
        self.ema_network.trainable = False  # moved by averaging, never by gradients
        self.built = True

    def variables_for(self, slot):
        return self.network.trainable_variables

    # ------------------------------------------------------------------ forward process
    def _gather(self, table, t):
        return tf.reshape(tf.gather(table, tf.cast(t, tf.int32)), (-1, 1, 1, 1))

    def q_sample(self, x0, t, noise):
        """`x_t` from `x_0` in closed form."""
        abar = self._gather(self.alphas_cumprod, t)
        return tf.sqrt(abar) * tf.cast(x0, tf.float32) + tf.sqrt(1.0 - abar) * noise

    def compute_losses(self, data, training=False):
        x0 = tf.cast(first_element(data), tf.float32)
        batch = tf.shape(x0)[0]
        t = tf.cast(keras.random.randint((batch,), 0, self.timesteps, seed=self.seed_generator), tf.int32)
        noise = keras.random.normal(tf.shape(x0), seed=self.seed_generator)
        predicted = self.network([self.q_sample(x0, t, noise), tf.cast(t, tf.float32)], training=training)
        return {"loss": L.mean_squared_error(noise, predicted)}

    def ema_rate(self):
        """The EMA decay after the warm-up (`keras_gen.training.warmed_up_decay`)."""
        return warmed_up_decay(self.ema_decay, self.get_optimizer().iterations)

    def after_update(self, slot):
        update_moving_average(self.ema_network, self.network, self.ema_rate())

    # ------------------------------------------------------------------ reverse process
    def predict_noise(self, x_t, t, use_ema=True):
        network = self.ema_network if use_ema else self.network
        t = tf.fill((tf.shape(x_t)[0],), tf.cast(t, tf.float32))
        return tf.cast(network([x_t, t], training=False), tf.float32)

    def predict_x0(self, x_t, t, noise_prediction, clip=True):
        """The x_0 implied by a noise prediction (clipped to the data range [-1, 1])."""
        abar = tf.gather(self.alphas_cumprod, t)
        x0 = (x_t - tf.sqrt(1.0 - abar) * noise_prediction) / tf.sqrt(abar)
        return tf.clip_by_value(x0, -1.0, 1.0) if clip else x0

    def ddpm_step(self, x_t, t, noise_prediction, z, clip=True):
        """One ancestral step `x_t -> x_{t-1}`: the posterior mean given the predicted x_0 and
        the posterior variance `beta_t (1 - abar_{t-1}) / (1 - abar_t)` (no noise at t = 0)."""
        beta = tf.gather(self.betas, t)
        abar = tf.gather(self.alphas_cumprod, t)
        abar_prev = tf.gather(self.alphas_cumprod_prev, t)
        x0 = self.predict_x0(x_t, t, noise_prediction, clip)
        mean = (tf.sqrt(abar_prev) * beta / (1.0 - abar)) * x0 \
            + (tf.sqrt(1.0 - beta) * (1.0 - abar_prev) / (1.0 - abar)) * x_t
        sigma = tf.sqrt(tf.gather(self.posterior_variance, t))
        return mean + tf.where(t > 0, sigma, 0.0) * z

    def ddim_step(self, x_t, t, t_prev, noise_prediction, z, eta=0.0, clip=True):
        """One DDIM step `x_t -> x_{t_prev}` (`t_prev = -1` for the last, giving x_0)."""
        abar = tf.gather(self.alphas_cumprod, t)
        abar_prev = tf.where(t_prev >= 0, tf.gather(self.alphas_cumprod, tf.maximum(t_prev, 0)), 1.0)
        x0 = self.predict_x0(x_t, t, noise_prediction, clip)
        noise_prediction = (x_t - tf.sqrt(abar) * x0) / tf.sqrt(1.0 - abar)  # consistent with x0
        sigma = eta * tf.sqrt((1.0 - abar_prev) / (1.0 - abar)) * tf.sqrt(1.0 - abar / abar_prev)
        direction = tf.sqrt(tf.maximum(1.0 - abar_prev - sigma**2, 0.0)) * noise_prediction
        return tf.sqrt(abar_prev) * x0 + direction + sigma * z

    def ddim_timesteps(self, steps):
        """`steps` timesteps from T - 1 down to 0, evenly spaced."""
        steps = tf.clip_by_value(tf.cast(steps, tf.int32), 1, self.timesteps)
        grid = tf.linspace(0.0, float(self.timesteps - 1), steps)
        return tf.reverse(tf.cast(tf.round(grid), tf.int32), [0])

    @tf.function(reduce_retracing=True)
    def sample_from_seeds(self, seeds, steps=50, method="ddim", eta=0.0):
        """Images in [0, 1], one per integer seed; `method` "ddpm" uses all T steps."""
        return self.reverse_process(seeds, steps, method, eta)

    def reverse_process(self, seeds, steps=50, method="ddim", eta=0.0):
        """The sampling loop from seeded noise (graph-friendly; `sample_from_seeds` is its
        compiled form, and the exported `sample` signature traces it)."""
        seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)
        base = tf.reduce_sum(seeds) * 1000003 + tf.cast(tf.shape(seeds)[0], tf.int64)
        shape = tf.concat([tf.shape(seeds)[:1], self.image_shape], 0)
        x = tf.map_fn(lambda s: tf.random.stateless_normal(self.image_shape, tf.stack([s, 1])),
                      seeds, fn_output_signature=tf.float32)
        if method == "ddpm":
            timesteps = tf.range(self.timesteps - 1, -1, -1)
        else:
            timesteps = self.ddim_timesteps(steps)
        count = tf.shape(timesteps)[0]

        def body(i, x):
            t = timesteps[i]
            t_prev = tf.where(i + 1 < count, timesteps[tf.minimum(i + 1, count - 1)], -1)
            z = tf.random.stateless_normal(shape, tf.stack([base, tf.cast(i, tf.int64)]))
            prediction = self.predict_noise(x, t)
            if method == "ddpm":
                return i + 1, self.ddpm_step(x, t, prediction, z)
            return i + 1, self.ddim_step(x, t, t_prev, prediction, z, eta)

        _, x = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), x))
        return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)

    def sample(self, num_images, seed=0, steps=50, method="ddim", eta=0.0):
        """`num_images` images in [0, 1] (NumPy) from seeds `seed, seed + 1, ...`."""
        seeds = np.arange(seed, seed + int(num_images), dtype=np.int32)
        return ops.convert_to_numpy(
            self.sample_from_seeds(seeds, steps=steps, method=method, eta=float(eta)))

    def serving_endpoints(self):
        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        # One step count per row (TF Serving batches every input); the rows must agree.
        steps_spec = tf.TensorSpec((None,), tf.int32, name="steps")

        def sample(seeds, steps):
            tf.debugging.assert_equal(steps, steps[0], message="every row must ask for the same steps")
            return {"images": self.reverse_process(seeds, steps[0])}

        return {"sample": (sample, [seeds_spec, steps_spec])}

    def input_ranges(self):
        return {**super().input_ranges(), "steps": (1, self.timesteps)}

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), timesteps=self.timesteps,
                      schedule=self.schedule, base_filters=self.base_filters, ema_decay=self.ema_decay)
        return config
