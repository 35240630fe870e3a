"""PixelRNN (van den Oord et al., 2016): the PixelCNN's likelihood, sampling and exports
(`AutoregressiveImageModel`) on a stack of two-dimensional LSTMs
(`keras_gen.networks.pixelrnn`): `variant="row"` (Row LSTM) or `"diagonal"` (Diagonal BiLSTM).

The LSTMs run sequentially over rows (Row LSTM, `h` steps) or over the diagonals of the image
(Diagonal BiLSTM, `h + w - 1` steps per direction), so a training step costs more than a
PixelCNN's of the same width; in exchange a Diagonal BiLSTM layer sees every earlier pixel
(the first layer's `7 x 7` reach aside: the first pixels of a row miss the far end of the
row above), where a PixelCNN's context grows by one row per block.
"""

from __future__ import annotations

from keras_gen.models.pixelcnn import AutoregressiveImageModel
from keras_gen.networks.incremental import CachedPixelNetwork
from keras_gen.networks.pixelrnn import VARIANTS, pixelrnn_network
from keras_gen.training import register_family
from keras_gen.training.recipe import PresetSpec, Recipe


@register_family("pixelrnn")
class PixelRNN(AutoregressiveImageModel):
    """PixelRNN on images in [0, 1] quantised to `levels` values: a `7 x 7` masked
    convolution, `num_layers` Row LSTM or Diagonal BiLSTM layers of `units` with residual
    connections, and a 256-way softmax per value (or, `likelihood="logistic_mixture"`,
    PixelCNN++'s mixture); exact bits/dim, `sample`, `inpaint`, and the PixelCNN's exported
    signatures. Sampling runs the whole network per pixel.

    Examples:
        >>> import numpy as np
        >>> model = PixelRNN(image_shape=(6, 6, 1), variant="diagonal", units=4, num_layers=1)
        >>> model.compile(optimizer="adam")
        >>> x = np.random.rand(4, 6, 6, 1).astype("float32")
        >>> sorted(model.fit(x, epochs=1, verbose=0).history)
        ['bits_per_dim', 'loss']
    """

    deterministic_training = True
    benchmark_config = dict(variant="diagonal", units=32, num_layers=2)
    benchmark_reference = "pixelcnn"
    preset = PresetSpec(
        "pixelrnn_mnist",
        "A Row LSTM PixelRNN (32 units, 2 layers) of binarised 28x28 digits.",
        "test_bits_per_dim", samples=100)
    recipe = Recipe(epochs=1000, minutes=3, batch_size=16,
                    model_args={"variant": "row", "units": 32, "num_layers": 2, "levels": 2})

    smoke_config = dict(units=4, num_layers=1)

    def __init__(self, image_shape=(28, 28, 1), variant="row", units=32, num_layers=4, levels=256,
                 **kwargs):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant, self.units, self.num_layers = variant, int(units), int(num_layers)
        super().__init__(image_shape=image_shape, levels=levels, **kwargs)

    def build_network(self):
        return pixelrnn_network(self.image_shape, variant=self.variant, units=self.units,
                                num_layers=self.num_layers, head=self.head)

    def build_cached_network(self):
        """Both variants sample with cached activations and LSTM states
        (`keras_gen.networks.incremental`): the same draws as the whole network per pixel."""
        return CachedPixelNetwork(self.network, self.image_shape)

    def get_config(self):
        config = super().get_config()
        config.update(variant=self.variant, units=self.units, num_layers=self.num_layers)
        return config
