"""The arbitrary-style transformer of Ghiasi et al. 2017 (Magenta's `nza_model`).

The multi-style network's body, with two changes Magenta made for arbitrary
styles:

- the three contracting convolutions are not style-conditioned: Magenta
  trains them with batch norm, and its released network has the norm folded
  into their weights and biases, so here they are convolutions with a bias
  followed by ReLU;
- the 13 other convolutions (residual and expand) are followed by the
  conditional style norm: the same `layers.InstanceNormalization` as the
  multi-style network, with gamma/beta from a
  `conditioning.StyleVectorProjection` of the style vector instead of a
  style table.

Layer names follow Magenta's scopes as in `model.transformer`:

| Magenta scope                                             | Keras layer         |
| --------------------------------------------------------- | ------------------- |
| `transformer/contract/conv1`                              | `contract_conv1`    |
| `transformer/residual/residual3/conv2`                    | `residual3_conv2`   |
| `style_params/transformer/residual/residual3/conv2/...`   | `residual3_conv2_norm` |
| `transformer/expand/conv3/conv`                           | `expand_conv3`      |

`tools/convert_arbitrary.py` holds the weight translation.
"""

import keras

from magenta_style import config as config_lib
from magenta_style.model import conditioning
from magenta_style.model import provenance as provenance_lib
from magenta_style.model import transformer as transformer_lib

SIZE_MULTIPLE = transformer_lib.SIZE_MULTIPLE


def _graph(cfg):
    """(inputs, output): the shared body, normalised from the style vector after the contract."""
    style_vector = keras.Input(shape=(cfg.style_dim,), name="style_vector")
    return transformer_lib.pastiche_graph(
        cfg, style_vector,
        lambda channels, name: conditioning.StyleVectorProjection(cfg.style_dim, channels,
                                                                  name=name),
        normalize_contract=False)


def _validate(cfg):
    if not cfg.alpha > 0:
        raise ValueError(f"alpha must be > 0. Received: alpha={cfg.alpha}")
    if int(cfg.style_dim) != cfg.style_dim or cfg.style_dim < 1:
        raise ValueError(
            f"style_dim must be a positive integer. Received: style_dim={cfg.style_dim}")
    # The rest is the multi-style network's (same widths, kernels, blocks).
    transformer_lib.validate_config(config_lib.TransformerConfig(
        num_styles=1, alpha=cfg.alpha, contract_widths=cfg.contract_widths,
        num_residual_blocks=cfg.num_residual_blocks, expand_widths=cfg.expand_widths,
        kernel_sizes=cfg.kernel_sizes, epsilon=cfg.epsilon))


@keras.saving.register_keras_serializable(package="magenta_style")
class ArbitraryTransformer(provenance_lib.WithProvenance, keras.Model):
    """The arbitrary-style transformer with its architecture and provenance.

    Inputs `image` `[B, H, W, 3]` float32 in [0, 1] (any H, W >= 5; padded
    to a multiple of 4 inside and cropped back) and `style_vector`
    `[B, style_dim]` float32 (a style predictor's output, unbounded); output
    `[B, H, W, 3]` float32 in (0, 1) (sigmoid).

    Attributes:
        arbitrary_config: the `config.ArbitraryTransformerConfig`.
        provenance: dict, where the weights come from (JSON-able).
        blocks: the `transformer.Blocks` tiling walks (contract blocks have
            `table` and `norm` None: they are not normalised).
    """

    def __init__(self, architecture=None, provenance=None, name="arbitrary_transformer",
                 **kwargs):
        if architecture is None:
            cfg = config_lib.ArbitraryTransformerConfig()
        elif isinstance(architecture, config_lib.ArbitraryTransformerConfig):
            cfg = architecture
        else:
            cfg = config_lib.ArbitraryTransformerConfig.from_dict(dict(architecture))
        _validate(cfg)
        inputs, output = _graph(cfg)
        super().__init__(inputs=inputs, outputs=output, name=name, **kwargs)
        self._arbitrary_config = cfg
        self.provenance = provenance

    @property
    def arbitrary_config(self):
        return self._arbitrary_config

    @property
    def style_dim(self):
        return self._arbitrary_config.style_dim

    @property
    def blocks(self):
        """The `transformer.Blocks` of this network (no new weights)."""
        cfg = self._arbitrary_config
        return transformer_lib.group_blocks(self, cfg.num_residual_blocks,
                                            len(cfg.expand_widths))

    def get_config(self):
        return {"architecture": self._arbitrary_config.to_dict(),
                "provenance": self._provenance, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_arbitrary_transformer(alpha=None, *, contract_widths=None, num_residual_blocks=None,
                                expand_widths=None, kernel_sizes=None, epsilon=None,
                                style_dim=None, provenance=None,
                                name="arbitrary_transformer"):
    """Builds the arbitrary-style transformer (Magenta's `nza_model.transform`).

    Args:
        alpha: float > 0, width multiplier (default 1.0, Magenta's training
            default; its released mobile network uses 0.25).
        contract_widths: 3 ints before `alpha` (default (32, 64, 128)).
        num_residual_blocks: int >= 0 (default 5).
        expand_widths: 2 ints before `alpha` (default (64, 32)).
        kernel_sizes: 3 odd ints: first/last, strided, residual+upsampling
            (default (9, 3, 3)).
        epsilon: variance epsilon of the style norm (default 1e-5).
        style_dim: length of the style vector (default 100).
        provenance: optional JSON-able dict.
        name: model name.

    Returns:
        An `ArbitraryTransformer`: `[image [B, H, W, 3] in [0, 1],
        style_vector [B, style_dim]]` -> `[B, H, W, 3]` in (0, 1).

    Raises:
        ValueError: non-positive alpha or style_dim, even kernel sizes, widths
            of the wrong length (the message quotes the value).
    """
    given = {"alpha": alpha, "contract_widths": contract_widths,
             "num_residual_blocks": num_residual_blocks, "expand_widths": expand_widths,
             "kernel_sizes": kernel_sizes, "epsilon": epsilon, "style_dim": style_dim}
    cfg = config_lib.ArbitraryTransformerConfig(**{
        k: tuple(v) if isinstance(v, (list, tuple)) else v
        for k, v in given.items() if v is not None})
    return ArbitraryTransformer(cfg, provenance=provenance, name=name)


def style_projections(model):
    """The model's `conditioning.StyleVectorProjection` layers, in network order."""
    return [layer for layer in model.layers
            if isinstance(layer, conditioning.StyleVectorProjection)]


class ArbitraryStyleModel:
    """A style predictor and the arbitrary transformer that reads its vectors.

    What `load_model("arbitrary-v1")` returns: `predictor` (a
    `style_predictor.StylePredictor`, painting -> `[B, style_dim]`) and
    `transformer` (an `ArbitraryTransformer`, photo + vector -> pastiche).
    Preprocessing (Magenta's 256 px centre crop of the painting) is
    `stylization.arbitrary`'s.

    Attributes:
        predictor, transformer: the two Keras models.
        name: str, e.g. "arbitrary-v1".
        provenance: dict, where the weights come from (JSON-able).
        style_dim: int, the style vector's length.
    """

    def __init__(self, predictor, transformer, name="arbitrary", provenance=None):
        if predictor.style_dim != transformer.style_dim:
            raise ValueError(
                "The predictor and the transformer must agree on style_dim. Received: "
                f"{predictor.style_dim} and {transformer.style_dim}")
        self.predictor = predictor
        self.transformer = transformer
        self.name = str(name)
        self.provenance = dict(provenance or {})

    @property
    def style_dim(self):
        return self.transformer.style_dim

    def __repr__(self):
        return (f"ArbitraryStyleModel(name={self.name!r}, "
                f"predictor={self.predictor.predictor_config.kind!r}, "
                f"alpha={self.transformer.arbitrary_config.alpha})")
