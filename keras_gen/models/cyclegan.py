"""CycleGAN (Zhu et al., 2017): unpaired translation between domains X and Y.

Generators G: X -> Y and F: Y -> X (ResNet blocks, instance norm) and PatchGAN discriminators
D_X, D_Y, trained with the least-squares adversarial loss, the cycle-consistency loss and the
identity loss, from one `compute_losses` pass that the shared core's training step turns into
two updates (one optimizer for both generators, then one for both discriminators):

    L_G = LS_gen(D_Y(G(x))) + LS_gen(D_X(F(y)))
          + lambda_cycle * (|F(G(x)) - x|_1 + |G(F(y)) - y|_1)
          + lambda_identity * lambda_cycle * (|G(y) - y|_1 + |F(x) - x|_1)
    L_D = 0.5 * (LS_disc(D_Y(y), D_Y(pool_Y(G(x)))) + LS_disc(D_X(x), D_X(pool_X(F(y)))))

In training the discriminators see fakes through a history pool of earlier generated images
(50 by default); evaluation scores the current fakes. Batches are `(x, y)` in [-1, 1]; translations and exports use [0, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.augment import diff_augment, parse_policy
from keras_gen.models.pix2pix import to_model_range, to_unit_range
from keras_gen.networks.patchgan import patchgan_discriminator
from keras_gen.networks.resnet import resnet_generator
from keras_gen.training import GenerativeModel, Update, register_family
from keras_gen.training.arguments import image_shape_of, size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import PresetSpec, Recipe


@keras.saving.register_keras_serializable(package="keras_gen")
class ImageHistoryPool(keras.layers.Layer):
    """A buffer of up to `size` earlier generated images (Shrivastava et al., 2017).

    `query(images)`: while the pool fills, images are stored and returned as they are; once it
    is full, each image is, with probability 1/2, swapped for a random stored one (which it
    replaces) and otherwise returned as is. So discriminators see a mix of new and old fakes.

    Examples:
        >>> pool = ImageHistoryPool(size=4, image_shape=(2, 2, 1))
        >>> tuple(pool.query(tf.zeros((3, 2, 2, 1))).shape)
        (3, 2, 2, 1)
    """

    def __init__(self, size=50, image_shape=(28, 28, 1), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.image_shape = image_shape_of(image_shape)
        self.seed = seed
        # Under tf.distribute each replica keeps a pool of its own fakes (sync on read, saved
        # from the first replica), as each replica's discriminator sees its own half-batch.
        self.images = keras.Variable("zeros", shape=(max(self.size, 1), *self.image_shape),
                                     dtype="float32", trainable=False, name="images",
                                     synchronization="on_read", aggregation="only_first_replica")
        self.count = keras.Variable("zeros", shape=(), dtype="int32", trainable=False, name="count",
                                    synchronization="on_read", aggregation="only_first_replica")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def query(self, images):
        images = tf.cast(images, tf.float32)
        if self.size == 0:
            return images
        batch = tf.shape(images)[0]
        count = tf.convert_to_tensor(self.count)
        full = count >= self.size

        def fill():
            room = tf.minimum(batch, self.size - count)
            positions = tf.range(room) + count
            self.images.assign(tf.tensor_scatter_nd_update(
                self.images, positions[:, None], images[:room]))
            self.count.assign(count + room)
            return images

        def swap():
            coins = keras.random.uniform((batch,), seed=self.seed_generator) < 0.5
            slots = tf.cast(keras.random.uniform((batch,), seed=self.seed_generator)
                            * float(self.size), tf.int32)
            slots = tf.minimum(slots, self.size - 1)
            old = tf.gather(self.images, slots)
            mask = tf.reshape(coins, [-1] + [1] * len(self.image_shape))
            out = tf.where(mask, old, images)
            chosen = tf.boolean_mask(slots, coins)
            self.images.assign(tf.tensor_scatter_nd_update(
                self.images, chosen[:, None], tf.boolean_mask(images, coins)))
            return out

        return tf.cond(full, swap, fill)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, image_shape=list(self.image_shape), seed=self.seed)
        return config


@register_family("cyclegan")
class CycleGAN(GenerativeModel):
    """Two ResNet generators and two PatchGAN discriminators for unpaired translation.

    `augment` is a DiffAugment policy (`keras_gen.augment`) for every image either
    discriminator sees in training (real, generated and pooled).

    Examples:
        >>> model = CycleGAN(image_shape=(28, 28, 1), base_filters=8, num_blocks=1)
        >>> model.compile(optimizer=model.default_optimizer())   # then model.fit(x_images, y_images)
        >>> model.loss_names[:3]
        ('g_loss', 'd_loss', 'g_adversarial')
    """

    benchmark_config = dict(base_filters=32, num_blocks=4)
    benchmark_reference = "cyclegan"
    preset = PresetSpec(
        "cyclegan_digits_mnist",
        "CycleGAN (two ResNet generators of 16 base filters and 4 blocks, two PatchGANs, "
        "cycle and identity losses, image pool) between scikit-learn's digits and MNIST "
        "digits, unpaired.",
        "test_cycle_loss")
    recipe = Recipe(epochs=1000, minutes=3, model_args={"base_filters": 16, "num_blocks": 4})

    optimizer_names = ("generators", "discriminators")
    optimizer_spec = OptimizerSpec(2e-4, beta_1=0.5)  # the paper's
    loss_names = ("g_loss", "d_loss", "g_adversarial", "cycle_loss", "identity_loss")
    value_range = (-1.0, 1.0)
    batch_layout = "unpaired"
    preview = "translate"
    default_signature = "translate_x_to_y"
    smoke_config = dict(base_filters=4, num_blocks=1, discriminator_layers=2, pool_size=4)

    def __init__(self, image_shape=(256, 256, 3), lambda_cycle=10.0, lambda_identity=0.5,
                 pool_size=50, base_filters=64, num_blocks=6, discriminator_layers=3, augment="",
                 **kwargs):
        super().__init__(**kwargs)
        self.augment = ",".join(parse_policy(augment))
        if self.augment:
            self.seed_generator = keras.random.SeedGenerator()
        self.image_shape = image_shape_of(image_shape)
        self.lambda_cycle = float(lambda_cycle)
        self.lambda_identity = float(lambda_identity)
        self.pool_size = size("pool_size", pool_size, least=0)
        self.base_filters = size("base_filters", base_filters)
        self.num_blocks = size("num_blocks", num_blocks, least=0)
        self.discriminator_layers = size("discriminator_layers", discriminator_layers)
        with self.network_policy():
            make_g = lambda name: resnet_generator(  # noqa: E731
                self.image_shape, base_filters=self.base_filters, num_blocks=self.num_blocks, name=name)
            make_d = lambda name: patchgan_discriminator(  # noqa: E731
                self.image_shape, base_filters=self.base_filters, num_layers=self.discriminator_layers,
                norm="instance", name=name)
            self.generator_g, self.generator_f = make_g("generator_x_to_y"), make_g("generator_y_to_x")
            self.discriminator_x, self.discriminator_y = make_d("discriminator_x"), make_d("discriminator_y")
        self.pool_x = ImageHistoryPool(self.pool_size, self.image_shape, name="pool_x")
        self.pool_y = ImageHistoryPool(self.pool_size, self.image_shape, name="pool_y")
        self.built = True

    def variables_for(self, slot):
        if slot == "generators":
            return self.generator_g.trainable_variables + self.generator_f.trainable_variables
        return self.discriminator_x.trainable_variables + self.discriminator_y.trainable_variables

    def updates(self):
        return (Update("generators", "g_loss"), Update("discriminators", "d_loss"))

    def compute_losses(self, data, training=False):
        real_x, real_y = ops.cast(data[0], "float32"), ops.cast(data[1], "float32")
        g, f = self.generator_g, self.generator_f
        fake_y = ops.cast(g(real_x, training=training), "float32")
        fake_x = ops.cast(f(real_y, training=training), "float32")
        cycled_x = ops.cast(f(fake_y, training=training), "float32")
        cycled_y = ops.cast(g(fake_x, training=training), "float32")
        def judge(discriminator, images):  # D sees augmented images in training, when asked
            if training and self.augment:
                images = diff_augment(images, self.augment, seed=self.seed_generator)
            return discriminator(images, training=training)

        adversarial = (L.generator_loss("least_squares", judge(self.discriminator_y, fake_y))
                       + L.generator_loss("least_squares", judge(self.discriminator_x, fake_x)))
        cycle = L.mean_absolute_error(real_x, cycled_x) + L.mean_absolute_error(real_y, cycled_y)
        g_loss = adversarial + self.lambda_cycle * cycle
        identity = ops.zeros_like(cycle)
        if self.lambda_identity:
            same_y = ops.cast(g(real_y, training=training), "float32")
            same_x = ops.cast(f(real_x, training=training), "float32")
            identity = L.mean_absolute_error(real_y, same_y) + L.mean_absolute_error(real_x, same_x)
            g_loss = g_loss + self.lambda_identity * self.lambda_cycle * identity
        pooled_y, pooled_x = tf.stop_gradient(fake_y), tf.stop_gradient(fake_x)
        if training:
            pooled_y, pooled_x = self.pool_y.query(pooled_y), self.pool_x.query(pooled_x)
        d_loss = 0.5 * (
            L.discriminator_loss("least_squares", judge(self.discriminator_y, real_y),
                                 judge(self.discriminator_y, pooled_y))
            + L.discriminator_loss("least_squares", judge(self.discriminator_x, real_x),
                                   judge(self.discriminator_x, pooled_x)))
        return {"g_loss": g_loss, "d_loss": d_loss, "g_adversarial": adversarial,
                "cycle_loss": cycle, "identity_loss": identity}

    def translate_x_to_y(self, images):
        """X images in [0, 1] -> Y images in [0, 1]."""
        return to_unit_range(self.generator_g(to_model_range(images), training=False))

    def translate_y_to_x(self, images):
        """Y images in [0, 1] -> X images in [0, 1]."""
        return to_unit_range(self.generator_f(to_model_range(images), training=False))

    def translate(self, images):
        return self.translate_x_to_y(images)

    def cycle_error(self, x_images, y_images):
        """Per-image mean absolute cycle error in [0, 1] units: (|F(G(x)) - x| , |G(F(y)) - y|)."""
        x_back = self.translate_y_to_x(self.translate_x_to_y(x_images))
        y_back = self.translate_x_to_y(self.translate_y_to_x(y_images))
        return L.mean_absolute_error(x_images, x_back), L.mean_absolute_error(y_images, y_back)

    def call(self, images, training=False):
        return self.translate_x_to_y(images)

    def serving_endpoints(self):
        spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        return {
            "translate_x_to_y": (lambda images: {"images": self.translate_x_to_y(images)}, [spec]),
            "translate_y_to_x": (lambda images: {"images": self.translate_y_to_x(images)}, [spec]),
        }

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), lambda_cycle=self.lambda_cycle,
                      lambda_identity=self.lambda_identity, pool_size=self.pool_size,
                      base_filters=self.base_filters, num_blocks=self.num_blocks,
                      discriminator_layers=self.discriminator_layers, augment=self.augment)
        return config
