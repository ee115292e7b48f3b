"""Style prediction networks: any painting -> a style vector (Ghiasi et al. 2017).

A trunk (a convolutional image classifier cut in the middle), the global
mean of its feature map, and a 1x1 convolution (a dense layer here) to
`style_dim` (100) numbers. The arbitrary transformer's conditional style
norms map that vector to gamma/beta (`conditioning.StyleVectorProjection`).

Two trunks, as in Magenta's `arbitrary_image_stylization`:

- `"mobilenet_v2"`: TF-slim MobileNetV2 (width 1.0) up to `layer_19`
  (`MobilenetV2/Conv_1`, 1280 channels), the predictor Magenta distilled
  for its mobile release. Batch norm is folded into every convolution (the
  released weights come that way), padding is TF `SAME`, activations ReLU6.
  Layer names are the TF scopes with `/` -> `_`: `Conv`,
  `expanded_conv_3_depthwise`, `Conv_1`, ...
- `"inception_v3"`: the paper's predictor, Inception-v3 up to `Mixed_6e`
  (`keras.applications.InceptionV3`'s `mixed7`, 768 channels), with
  ImageNet weights read from a local file. Magenta builds it with its own
  arg scope, whose activation is ReLU6 (Keras's InceptionV3 has ReLU); we
  follow Magenta.

Neither trunk scales its input: Magenta feeds the style image in [0, 1]
(not ImageNet's [-1, 1]), and so do we.
"""

import os

import keras

from magenta_style import config as config_lib
from magenta_style.errors import UserError
from magenta_style.model import provenance as provenance_lib

KINDS = ("mobilenet_v2", "inception_v3")

# Environment variable naming Keras's InceptionV3 no-top ImageNet weights
# file (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`).
INCEPTION_WEIGHTS_ENV = "MAGENTA_STYLE_INCEPTION_WEIGHTS"
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_END_POINT = "mixed7"  # Keras's name for TF-slim's Mixed_6e

# TF-slim mobilenet_v2.V2_DEF after the first conv: (expansion t, output
# channels, stride) of expanded_conv, expanded_conv_1, ..., expanded_conv_16.
MOBILENET_V2_BLOCKS = (
    (1, 16, 1),
    (6, 24, 2), (6, 24, 1),
    (6, 32, 2), (6, 32, 1), (6, 32, 1),
    (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1),
    (6, 96, 1), (6, 96, 1), (6, 96, 1),
    (6, 160, 2), (6, 160, 1), (6, 160, 1),
    (6, 320, 1),
)
MOBILENET_V2_STEM = 32
MOBILENET_V2_TOP = 1280


def block_scope(index):
    """TF-slim's scope of MobileNetV2 block `index`: `expanded_conv`, `expanded_conv_1`, ..."""
    return "expanded_conv" if index == 0 else f"expanded_conv_{index}"


def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def _mobilenet_v2_trunk(image):
    """`[B, H, W, 3]` -> `[B, ceil(H/32), ceil(W/32), 1280]`, the TF-slim layout."""
    x = keras.layers.Conv2D(MOBILENET_V2_STEM, 3, strides=2, padding="same", name="Conv")(image)
    x = _relu6("Conv_relu6")(x)
    channels = MOBILENET_V2_STEM
    for index, (t, out, stride) in enumerate(MOBILENET_V2_BLOCKS):
        scope = block_scope(index)
        h = x
        if t != 1:
            h = keras.layers.Conv2D(channels * t, 1, name=f"{scope}_expand")(h)
            h = _relu6(f"{scope}_expand_relu6")(h)
        h = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same",
                                         name=f"{scope}_depthwise")(h)
        h = _relu6(f"{scope}_depthwise_relu6")(h)
        h = keras.layers.Conv2D(out, 1, name=f"{scope}_project")(h)
        if stride == 1 and channels == out:
            h = keras.layers.Add(name=f"{scope}_add")([x, h])
        x, channels = h, out
    x = keras.layers.Conv2D(MOBILENET_V2_TOP, 1, name="Conv_1")(x)
    return _relu6("Conv_1_relu6")(x)


def resolve_inception_weights(weights):
    """A local path of Keras's InceptionV3 no-top weights, or None for `weights=None`.

    `weights`: None (random init), a file path, or "imagenet" (the file named
    by `$MAGENTA_STYLE_INCEPTION_WEIGHTS`, else Keras's cache
    `~/.keras/models/`). Nothing is downloaded.

    Raises:
        UserError: the file is missing; the message says how to provide it.
    """
    if weights is None:
        return None
    if weights != "imagenet":
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise UserError(f"Inception-v3 weights file not found: {path}. Pass the path of "
                            f"{INCEPTION_WEIGHTS_FILE} (Keras's ImageNet no-top weights).")
        return path
    env = os.environ.get(INCEPTION_WEIGHTS_ENV)
    if env:
        if not os.path.isfile(env):
            raise UserError(f"{INCEPTION_WEIGHTS_ENV}={env} does not name a file. "
                            f"Point it at {INCEPTION_WEIGHTS_FILE}.")
        return env
    cache = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")),
                         "models", INCEPTION_WEIGHTS_FILE)
    if os.path.isfile(cache):
        return cache
    raise UserError(f"Inception-v3 ImageNet weights are not in Keras's cache ({cache}). "
                    f"Download {INCEPTION_WEIGHTS_FILE} and set "
                    f"{INCEPTION_WEIGHTS_ENV}=/path/to/it or pass weights=<path>.")


def _inception_v3_trunk(image, weights_path):
    """`[B, H, W, 3]` (H, W >= 75) -> Mixed_6e `[B, h, w, 768]`, ReLU6 as in Magenta."""
    base = keras.applications.InceptionV3(include_top=False, weights=weights_path,
                                          input_tensor=image)
    for layer in base.layers:
        if isinstance(layer, keras.layers.Activation):
            layer.activation = keras.activations.relu6
    return base.get_layer(INCEPTION_END_POINT).output


@keras.saving.register_keras_serializable(package="magenta_style")
class StylePredictor(provenance_lib.WithProvenance, keras.Model):
    """Style image -> style vector.

    Input `style_image` `[B, H, W, 3]` float32 RGB in [0, 1], not normalised
    (Magenta feeds 256x256 centre crops; any H, W >= 32 works for
    MobileNetV2, >= 75 for Inception-v3). Output `[B, style_dim]` float32,
    unbounded.

    Attributes:
        predictor_config: the `config.StylePredictorConfig`.
        provenance: dict, where the weights come from.
    """

    def __init__(self, architecture=None, imagenet_weights=None, provenance=None,
                 name="style_predictor", **kwargs):
        if architecture is None:
            cfg = config_lib.StylePredictorConfig()
        elif isinstance(architecture, config_lib.StylePredictorConfig):
            cfg = architecture
        else:
            cfg = config_lib.StylePredictorConfig.from_dict(dict(architecture))
        if cfg.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}. Received: kind={cfg.kind!r}")
        if int(cfg.style_dim) != cfg.style_dim or cfg.style_dim < 1:
            raise ValueError(
                f"style_dim must be a positive integer. Received: style_dim={cfg.style_dim}")
        image = keras.Input(shape=(None, None, 3), name="style_image")
        if cfg.kind == "mobilenet_v2":
            if imagenet_weights is not None:
                raise ValueError("The mobilenet_v2 trunk has no ImageNet weights here (Magenta's "
                                 f"predictor is distilled). Received: weights={imagenet_weights!r}")
            features = _mobilenet_v2_trunk(image)
        else:
            features = _inception_v3_trunk(image, resolve_inception_weights(imagenet_weights))
        pooled = keras.layers.GlobalAveragePooling2D(name="bottleneck")(features)
        vector = keras.layers.Dense(cfg.style_dim, name="bottleneck_conv")(pooled)
        super().__init__(inputs=image, outputs=vector, name=name, **kwargs)
        self._predictor_config = cfg
        self.provenance = provenance

    @property
    def predictor_config(self):
        return self._predictor_config

    @property
    def style_dim(self):
        return self._predictor_config.style_dim

    def get_config(self):
        # The trunk's ImageNet weights are not config: a saved model holds them.
        return {"architecture": self._predictor_config.to_dict(),
                "provenance": self._provenance, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_style_predictor(kind="mobilenet_v2", *, style_dim=None, weights=None,
                          provenance=None, name="style_predictor"):
    """Builds a style prediction network.

    Args:
        kind: "mobilenet_v2" (Magenta's mobile predictor; no pretrained
            trunk) or "inception_v3" (the paper's, up to Mixed_6e).
        style_dim: length of the style vector (default 100).
        weights: Inception-v3 only: None (random init), "imagenet" (the file
            named by `$MAGENTA_STYLE_INCEPTION_WEIGHTS` or in Keras's cache;
            never downloaded) or the path of Keras's
            `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`.
        provenance: optional JSON-able dict.
        name: model name.

    Returns:
        A `StylePredictor`: `[B, H, W, 3]` in [0, 1] -> `[B, style_dim]`.

    Raises:
        ValueError: unknown kind, bad style_dim, weights for mobilenet_v2.
        UserError: an Inception-v3 weights file that is not there.
    """
    cfg = config_lib.StylePredictorConfig(
        kind=kind, style_dim=config_lib.StylePredictorConfig.style_dim
        if style_dim is None else style_dim)
    return StylePredictor(cfg, imagenet_weights=weights, provenance=provenance, name=name)

