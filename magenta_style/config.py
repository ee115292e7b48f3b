"""Defaults shared by several parts of the library, defined once.

Each dataclass is the single source of its defaults: builders, scripts and
flags read them from here (scripts generate their absl flags from these
fields), so a default is never retyped.
"""

import dataclasses

# Magenta's endpoint names for VGG-16 (`vgg_16/convN` is the post-ReLU output
# of the last convolution of block N).
MAGENTA_CONTENT_WEIGHTS = {"vgg_16/conv3": 1.0}
MAGENTA_STYLE_WEIGHTS = {
    "vgg_16/conv1": 1e-4,
    "vgg_16/conv2": 1e-4,
    "vgg_16/conv3": 1e-4,
    "vgg_16/conv4": 1e-4,
}


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a pastiche generator (Magenta's at alpha=1).

    `contract_widths`, `expand_widths` are the channel counts before the width
    multiplier `alpha` is applied (Magenta: `int(alpha * 32)` etc.).
    """

    num_styles: int = 1
    alpha: float = 1.0
    contract_widths: tuple = (32, 64, 128)
    num_residual_blocks: int = 5
    expand_widths: tuple = (64, 32)
    # Magenta: 9x9 first/last, 3x3 elsewhere; must be odd (reflection pad k//2).
    kernel_sizes: tuple = (9, 3, 3)
    epsilon: float = 1e-5

    def to_dict(self):
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"Unknown transformer config keys {sorted(unknown)}; "
                f"valid keys are {sorted(names)}. Received: {d}"
            )
        return cls(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        )


@dataclasses.dataclass(frozen=True)
class ArbitraryTransformerConfig:
    """Architecture of an arbitrary-style transformer (Ghiasi et al., Magenta's `nza_model`).

    Widths are before the width multiplier `alpha` (`int(alpha * 32)`, ...);
    Magenta's released mobile network is alpha 0.25 (8, 16, 32; expand 16,
    8). `style_dim` is the length of the style vector the conditional style
    norms read (the predictor's bottleneck, 100 in Magenta).
    """

    alpha: float = 1.0
    contract_widths: tuple = (32, 64, 128)
    num_residual_blocks: int = 5
    expand_widths: tuple = (64, 32)
    kernel_sizes: tuple = (9, 3, 3)
    epsilon: float = 1e-5
    style_dim: int = 100

    to_dict = TransformerConfig.to_dict
    from_dict = classmethod(TransformerConfig.from_dict.__func__)


@dataclasses.dataclass(frozen=True)
class StylePredictorConfig:
    """Style prediction network: a trunk (`kind`) + global mean + 1x1 conv to `style_dim`.

    kind: "mobilenet_v2" (Magenta's distilled mobile predictor) or
    "inception_v3" (the paper's, up to Mixed_6e).
    """

    kind: str = "mobilenet_v2"
    style_dim: int = 100

    to_dict = TransformerConfig.to_dict
    from_dict = classmethod(TransformerConfig.from_dict.__func__)


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Loss weights. Magenta's defaults; no total variation (Magenta has none).

    Layer names are Magenta endpoints (`vgg_16/conv3`) or Keras layer names
    (`block3_conv3`); see `magenta_style.losses.vgg`.
    """

    content_weights: dict = dataclasses.field(
        default_factory=lambda: dict(MAGENTA_CONTENT_WEIGHTS)
    )
    style_weights: dict = dataclasses.field(
        default_factory=lambda: dict(MAGENTA_STYLE_WEIGHTS)
    )
    total_variation_weight: float = 0.0
