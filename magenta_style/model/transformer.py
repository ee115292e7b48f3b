"""The pastiche generator of Dumoulin, Shlens & Kudlur (Magenta's `model.py`).

Layer names map Magenta's variable scopes (Keras forbids `/` in names):

| Magenta scope                              | Keras layer(s)                     |
| ------------------------------------------ | ---------------------------------- |
| `transformer/contract/conv1`               | `contract_conv1`, `_norm`          |
| `transformer/residual/residual3/conv2`     | `residual3_conv2`, `_norm`         |
| `transformer/expand/conv3/conv`            | `expand_conv3`, `_norm`            |

(`_norm` is the style table holding `InstanceNorm/{gamma,beta}`; the
weightless `_in` layer after it normalises.)

`magenta_style.storage.model_format` holds the translation in both directions.

The network is a `PasticheNetwork`: a functional Keras model that carries its
`TransformerConfig`, its style names and its provenance through `get_config`,
so a `.keras` file, a model directory and a freshly built model all know
their styles.
"""

import dataclasses

import keras

from magenta_style import config as config_lib
from magenta_style.model import conditioning
from magenta_style.model import layers
from magenta_style.model import provenance as provenance_lib

# Two stride-2 convolutions then two x2 upsamplings: sizes must divide by 4.
SIZE_MULTIPLE = 4


def scaled_width(channels, alpha):
    """A layer's channel count at width multiplier `alpha` (int >= 1).

    Magenta's `int(alpha * 32)`, never below one channel; the arbitrary-style
    transformer scales its widths the same way.
    """
    return max(1, int(alpha * channels))


def _conv_block(x, condition, normalizer, epsilon, filters, kernel_size, strides, name,
                activation="relu", upsample=1):
    """[Nearest x2,] reflection pad k//2, VALID conv, a normalised block or a biased one.

    With `normalizer` (Magenta's `normalizer_fn`): no bias (the norm's beta is
    the bias, as in Magenta), the source layer `{name}_norm` maps `condition`
    to `[gamma, beta]`, and `{name}_in` normalises with them. Without: the
    convolution has a bias (a batch norm folded in) and nothing normalises.
    """
    x = layers.PaddedConv2D(
        filters,
        kernel_size,
        strides=strides,
        upsample=upsample,
        use_bias=normalizer is None,
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01),
        name=name,
    )(x)
    if normalizer is not None:
        gamma, beta = normalizer(filters, f"{name}_norm")(condition)
        x = layers.InstanceNormalization(epsilon, name=f"{name}_in")([x, gamma, beta])
    if activation is not None:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def pastiche_graph(cfg, condition, normalizer, normalize_contract=True):
    """The network body both transformers share: `(inputs, output)` of a functional model.

    Magenta's `model.transform` and `nza_model.transform` are one network
    whose instance norms take gamma/beta from a pluggable source
    (`normalizer_fn`): a style table of trained styles, or a projection of a
    style vector.

    Args:
        cfg: a `TransformerConfig` or `ArbitraryTransformerConfig` (alpha,
            widths, kernel sizes, residual blocks and epsilon are read).
        condition: the `keras.Input` the sources read (`style_weights`
            `[B, num_styles]` or `style_vector` `[B, style_dim]`).
        normalizer: `normalizer(channels, name)` -> a layer mapping
            `condition` to `[gamma, beta]`, each `[B, channels]`.
        normalize_contract: False for the arbitrary transformer, whose three
            contracting convolutions carry a folded batch norm instead.

    Returns:
        `([image, condition], output)`: `image` `[B, H, W, 3]` float32 in
        [0, 1], output the same shape in (0, 1).
    """
    big_k, stride_k, small_k = cfg.kernel_sizes
    image = keras.Input(shape=(None, None, 3), name="image")
    x = layers.PadToMultiple(SIZE_MULTIPLE, name="pad_to_multiple")(image)

    def block(x, filters, kernel_size, name, strides=1, norm=normalizer, **kwargs):
        return _conv_block(x, condition, norm, cfg.epsilon, filters, kernel_size, strides,
                           name, **kwargs)

    # Contract: 9x9/1, 3x3/2, 3x3/2.
    for i, (width, k, s) in enumerate(
            zip(cfg.contract_widths, (big_k, stride_k, stride_k), (1, 2, 2)), 1):
        x = block(x, scaled_width(width, cfg.alpha), k, f"contract_conv{i}", strides=s,
                  norm=normalizer if normalize_contract else None)
    # Residual blocks: conv-norm-ReLU, conv-norm, add.
    channels = scaled_width(cfg.contract_widths[-1], cfg.alpha)
    for r in range(1, cfg.num_residual_blocks + 1):
        h = block(x, channels, small_k, f"residual{r}_conv1")
        h = block(h, channels, small_k, f"residual{r}_conv2", activation=None)
        x = keras.layers.Add(name=f"residual{r}_add")([x, h])
    # Expand: nearest x2 then conv, twice; then a 9x9 conv to RGB + sigmoid
    # (Magenta's third `upsampling` has stride 1: no upsampling).
    for i, width in enumerate(cfg.expand_widths, 1):
        x = block(x, scaled_width(width, cfg.alpha), small_k, f"expand_conv{i}", upsample=2)
    x = block(x, 3, big_k, "expand_conv3", activation="sigmoid")
    output = layers.CropLike(name="crop_to_input")([x, image])
    return [image, condition], output


def build_transformer(num_styles, alpha=1.0, *, contract_widths=None,
                      num_residual_blocks=None, expand_widths=None,
                      kernel_sizes=None, epsilon=None, name="transformer"):
    """Builds the multi-style pastiche generator.

    Args:
        num_styles: int >= 1, rows of every conditional-instance-norm table.
        alpha: float > 0, width multiplier (Magenta's `--alpha`).
        contract_widths: 3 ints, widths of the contracting convolutions
            before `alpha` (default Magenta's (32, 64, 128)). The residual
            blocks use the last one.
        num_residual_blocks: int >= 0 (default 5).
        expand_widths: 2 ints, widths of the two upsampling convolutions
            before `alpha` (default (64, 32)). The last convolution has 3.
        kernel_sizes: 3 odd ints: first/last, strided, residual+upsampling
            kernel sizes (default (9, 3, 3)).
        epsilon: variance epsilon of the instance norm (default 1e-5).
        name: model name.

    Returns:
        A `PasticheNetwork` (a functional `keras.Model`) with inputs
        `image` `[B, H, W, 3]` float32 in [0, 1] (any H, W >= 5) and
        `style_weights` `[B, num_styles]` float32, and output
        `[B, H, W, 3]` float32 in [0, 1] (sigmoid). It carries its
        `TransformerConfig` (`transformer_config`), `style_names`
        (`style_0`, ... until named) and `provenance`.

    Raises:
        ValueError: for a non-positive `num_styles` or `alpha`, an even kernel
            size, or widths of the wrong length (the message quotes the value).
    """
    defaults = config_lib.TransformerConfig()
    cfg = config_lib.TransformerConfig(
        num_styles=num_styles,
        alpha=alpha,
        contract_widths=tuple(contract_widths or defaults.contract_widths),
        num_residual_blocks=(defaults.num_residual_blocks
                             if num_residual_blocks is None
                             else num_residual_blocks),
        expand_widths=tuple(expand_widths or defaults.expand_widths),
        kernel_sizes=tuple(kernel_sizes or defaults.kernel_sizes),
        epsilon=defaults.epsilon if epsilon is None else epsilon,
    )
    return build_transformer_from_config(cfg, name=name)


@dataclasses.dataclass(frozen=True)
class ConvBlock:
    """One `[nearest x2,] padded conv -> instance norm -> activation` of the network.

    `table(style_weights)` gives the norm's `[gamma, beta]`; `activation` is
    None where the block has none (the second convolution of a residual
    block), `upsample` 2 for the expand blocks.
    """
    name: str
    conv: object
    table: object
    norm: object
    activation: object
    upsample: int


@dataclasses.dataclass(frozen=True)
class Blocks:
    """The network's blocks in order: what code that walks it (tiling) reads.

    contract: 3 `ConvBlock`; residual: (conv1, conv2) pairs, each added to
    its input; expand: the upsampling blocks; output: the last block (RGB,
    sigmoid).
    """
    contract: tuple
    residual: tuple
    expand: tuple
    output: ConvBlock


def default_style_names(num_styles):
    """`("style_0", ..., f"style_{num_styles - 1}")`: names of styles nobody named."""
    return tuple(f"style_{i}" for i in range(int(num_styles)))


@keras.saving.register_keras_serializable(package="magenta_style")
class PasticheNetwork(provenance_lib.WithProvenance, keras.Model):
    """The multi-style pastiche generator with its architecture, style names and provenance.

    Inputs `image` `[B, H, W, 3]` float32 in [0, 1] (any H, W >= 5) and
    `style_weights` `[B, num_styles]` float32; output `[B, H, W, 3]` float32
    in [0, 1]. Build it with `build_transformer` / `build_transformer_from_config`.

    Attributes:
        transformer_config: the `config.TransformerConfig`.
        style_names: tuple of `num_styles` str (default `style_0`, ...).
        provenance: dict, where the weights come from (JSON-able).
    """

    def __init__(self, architecture, style_names=None, provenance=None, name="transformer",
                 **kwargs):
        cfg = (architecture if isinstance(architecture, config_lib.TransformerConfig)
               else config_lib.TransformerConfig.from_dict(dict(architecture)))
        validate_config(cfg)
        inputs, output = _graph(cfg)
        super().__init__(inputs=inputs, outputs=output, name=name, **kwargs)
        self._transformer_config = cfg
        self.style_names = style_names
        self.provenance = provenance

    @property
    def transformer_config(self):
        return self._transformer_config

    @property
    def style_names(self):
        return self._style_names

    @style_names.setter
    def style_names(self, names):
        n = self._transformer_config.num_styles
        names = default_style_names(n) if names is None else tuple(str(s) for s in names)
        if len(names) != n:
            raise ValueError(f"style_names must hold {n} names, one per style. "
                             f"Received: {list(names)}")
        self._style_names = names

    @property
    def blocks(self):
        """The `Blocks` of this network (its layers, grouped; no new weights)."""
        cfg = self._transformer_config
        return group_blocks(self, cfg.num_residual_blocks, len(cfg.expand_widths))

    def get_config(self):
        return {"architecture": self._transformer_config.to_dict(),
                "style_names": list(self._style_names),
                "provenance": self._provenance, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def group_blocks(model, num_residual_blocks, num_expand):
    """A network's layers grouped into `Blocks`, by Magenta's layer names.

    Works for every network built on `_conv_block`'s names (`PasticheNetwork`,
    `ArbitraryTransformer`); a block without a norm (the arbitrary
    transformer's contract, batch norm folded into a bias) has `norm` and
    `table` None.
    """
    by_name = {layer.name: layer for layer in model.layers}

    def block(name, upsample=1):
        activation = by_name.get(f"{name}_relu") or by_name.get(f"{name}_sigmoid")
        return ConvBlock(name, by_name[name], by_name.get(f"{name}_norm"),
                         by_name.get(f"{name}_in"), activation, upsample)

    return Blocks(
        contract=tuple(block(f"contract_conv{i}") for i in (1, 2, 3)),
        residual=tuple((block(f"residual{r}_conv1"), block(f"residual{r}_conv2"))
                       for r in range(1, num_residual_blocks + 1)),
        expand=tuple(block(f"expand_conv{i}", upsample=2) for i in range(1, num_expand + 1)),
        output=block(f"expand_conv{num_expand + 1}"))


def validate_config(cfg):
    """Checks a `config.TransformerConfig` before a network is built from it.

    The arbitrary-style transformer checks its shared fields (widths,
    kernels, blocks) with it too.

    Raises:
        ValueError: a count that is not a positive integer, a width or kernel
            list of the wrong length, an even kernel size, or `alpha <= 0`.
    """
    if int(cfg.num_styles) != cfg.num_styles or cfg.num_styles < 1:
        raise ValueError(
            f"num_styles must be a positive integer. Received: num_styles={cfg.num_styles}"
        )
    if not cfg.alpha > 0:
        raise ValueError(f"alpha must be > 0. Received: alpha={cfg.alpha}")
    if len(cfg.contract_widths) != 3:
        raise ValueError(
            "contract_widths must hold 3 widths. "
            f"Received: contract_widths={cfg.contract_widths}"
        )
    if len(cfg.expand_widths) != 2:
        raise ValueError(
            f"expand_widths must hold 2 widths. Received: expand_widths={cfg.expand_widths}"
        )
    if len(cfg.kernel_sizes) != 3:
        raise ValueError(
            f"kernel_sizes must hold 3 sizes. Received: kernel_sizes={cfg.kernel_sizes}"
        )
    for k in cfg.kernel_sizes:
        if int(k) != k or k < 1 or k % 2 == 0:
            raise ValueError(
                "kernel_size is expected to be odd (reflection padding of k//2). "
                f"Received: kernel_sizes={cfg.kernel_sizes}"
            )
    if cfg.num_residual_blocks < 0:
        raise ValueError(
            "num_residual_blocks must be >= 0. "
            f"Received: num_residual_blocks={cfg.num_residual_blocks}"
        )


def build_transformer_from_config(cfg, name="transformer", style_names=None,
                                  provenance=None):
    """Same as `build_transformer`, from a `config.TransformerConfig`."""
    return PasticheNetwork(cfg, style_names=style_names, provenance=provenance, name=name)


def _graph(cfg):
    """(inputs, output) of the multi-style network `cfg` describes."""
    style_weights = keras.Input(shape=(cfg.num_styles,), name="style_weights")
    return pastiche_graph(
        cfg, style_weights,
        lambda channels, name: conditioning.StyleTable(cfg.num_styles, channels, name=name))


def style_tables(model):
    """The model's `conditioning.StyleTable` layers (the styles), in network order."""
    return [layer for layer in model.layers if isinstance(layer, conditioning.StyleTable)]


def instance_norms(model):
    """The model's `layers.InstanceNormalization` layers, in network order."""
    return [layer for layer in model.layers
            if isinstance(layer, layers.InstanceNormalization)]


def conv_layers(model):
    """The model's `Conv2D` layers (the shared, style-independent weights)."""
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D)]


def set_winograd_in_training(model, enabled):
    """Lets training calls of `model` use Winograd's 3x3 convolution.

    For XLA-compiled training steps only (where its gradients are
    reproducible; see `fast_conv.conv2d_valid`). Inference never uses it
    (see `layers.PaddedConv2D`).
    """
    for layer in conv_layers(model):
        if isinstance(layer, layers.PaddedConv2D):
            layer.winograd_in_training = bool(enabled)

