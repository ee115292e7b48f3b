"""`OptimizeConfig`: every setting of the optimisation method, its defaults and checks.

Defaults are jcjohnson's neural-style's (see `gatys`); layer names may be
written as neural-style's (`relu4_2`) or Keras's (`block4_conv2`).
"""

import dataclasses
import re
from typing import NamedTuple
from typing import Optional

import numpy as np

from magenta_style.errors import UserError
from magenta_style.losses import vgg

DEFAULT_CONTENT_LAYERS = {"relu4_2": 1.0}
DEFAULT_STYLE_LAYERS = {f"relu{b}_1": 1.0 for b in range(1, 6)}
# ImageNet mean pixel, RGB in [0, 1]: neural-style's noise is centred on it.
def _default(value, text):
    factory = (lambda: dict(value)) if isinstance(value, dict) else None
    if factory:
        return dataclasses.field(default_factory=factory, metadata={"help": text})
    return dataclasses.field(default=value, metadata={"help": text})


@dataclasses.dataclass(frozen=True)
class OptimizeConfig:
    """Every knob of `optimize`, with its default and where it comes from.

    Weights are in neural-style's units (see the module docstring).
    """

    image_size: int = _default(
        512, "Longer side of the output in pixels (neural-style -image_size 512).")
    content_weight: float = _default(5.0, "Content weight (neural-style default 5).")
    style_weight: float = _default(100.0, "Style weight (neural-style default 100).")
    tv_weight: float = _default(
        1e-3, "Total variation weight (neural-style default 1e-3); 0 disables.")
    content_layers: dict = _default(
        DEFAULT_CONTENT_LAYERS,
        "Content layers and their weights, a dict or comma-separated names "
        "(relu4_2, conv4_2, block4_conv2 or vgg_19/conv4/conv4_2). Default: "
        "relu4_2 (Gatys et al., neural-style).")
    style_layers: dict = _default(
        DEFAULT_STYLE_LAYERS,
        "Style layers and their weights, a dict or comma-separated names. "
        "Default relu1_1..relu5_1, weight 1 each (neural-style).")
    style_layer_weight_factor: float = _default(
        1.0, "Exponential style-layer weighting: layer n+1 gets factor x the weight of "
        "layer n (in the order given), rescaled to the same sum. 1 = off.")
    arch: str = _default(
        "vgg19", "Loss network, vgg19 (Gatys et al., neural-style) or vgg16.")
    pooling: str = _default(
        "max", "max (neural-style default) or avg (Gatys et al. suggest avg).")
    weights: str = _default(
        "imagenet", "VGG weights: imagenet (Keras's download/cache, or "
        "$MAGENTA_STYLE_VGG_WEIGHTS for vgg16) or a path to a Keras .h5 file.")
    style_blend_weights: Optional[tuple] = _default(
        None, "One weight per style image (normalised to sum 1); default equal "
        "(neural-style -style_blend_weights).")
    style_scales: Optional[tuple] = _default(
        None, "Per style image: its longer side = scale x the output's longer side "
        "(neural-style -style_scale, default 1). One value applies to all.")
    init: str = _default(
        "random", "Start image: random (neural-style default), content, or image "
        "(init_image).")
    init_image: Optional[str] = _default(None, "Start image path for init=image.")
    init_noise_std: float = _default(
        0.001, "Std of the Gaussian noise around the ImageNet mean colour for "
        "init=random, in 0..255 pixel units (neural-style: 0.001).")
    seed: int = _default(0, "Seed of the noise initialisation.")
    optimizer: str = _default("lbfgs", "lbfgs (neural-style default) or adam.")
    learning_rate: float = _default(
        10.0, "Adam step size in 0..255 pixel units (neural-style -learning_rate 10).")
    lbfgs_learning_rate: float = _default(
        1.0, "L-BFGS fixed step (torch.optim.LBFGS and Torch7 optim.lbfgs default 1).")
    lbfgs_history: int = _default(
        100, "L-BFGS curvature pairs kept (torch/optim default 100; memory "
        "2 x history x image size).")
    iterations: int = _default(
        1000, "Maximum iterations at the final scale (neural-style -num_iterations).")
    coarse_iterations: Optional[int] = _default(
        None, "Maximum iterations at each coarser scale; default: iterations.")
    convergence_window: int = _default(
        50, "Convergence stop: stop when the best loss improved by less than "
        "convergence_tolerance (relative) over this many iterations (ours; the classic "
        "tools run a fixed count).")
    convergence_tolerance: float = _default(
        1e-3, "Relative improvement of the best loss per convergence_window below "
        "which the optimisation stops; 0 disables the stop.")
    num_scales: int = _default(
        1, "Coarse-to-fine: optimise at num_scales sizes, each scale_factor x the "
        "previous, upsampling the result in between. 1 = off.")
    scale_factor: float = _default(2.0, "Size ratio between consecutive scales.")
    preserve_colors: bool = _default(
        False, "Keep the photo's colours (luminance-only transfer; neural-style "
        "-original_colors).")
    jit_compile: bool = _default(
        True, "Compile loss, gradient and update into one XLA call per iteration.")
    progress: bool = _default(True, "Show a tqdm progress bar with the loss parts.")
    save_every: int = _default(
        0, "Write the current image every K iterations into save_dir (0 = never; "
        "neural-style -save_iter).")
    save_dir: Optional[str] = _default(None, "Folder for intermediate images.")
    log_dir: Optional[str] = _default(None, "TensorBoard log folder (scalars, images).")


class OptimizeResult(NamedTuple):
    """`image`: `[H, W, 3]` float32 RGB in [0, 1]. `history`: one dict per
    iteration (`iteration`, `scale`, `height`, `width`, `total_loss`,
    `total_content_loss`, `total_style_loss`, `total_variation_loss` and every
    per-layer part, in neural-style units); the last dict of each scale also
    holds `stop` (why that scale ended)."""

    image: np.ndarray
    history: list


_LAYER_ALIAS = re.compile(r"(?:relu|conv)(\d)_(\d)")


def keras_layer(name, arch, kind):
    """A user layer name (relu4_2, conv4_2, block4_conv2, vgg_19/...) -> Keras name."""
    m = _LAYER_ALIAS.fullmatch(name)
    candidate = f"block{m.group(1)}_conv{m.group(2)}" if m else name
    try:
        return vgg.resolve_layer(candidate, arch)
    except UserError:
        valid = [n.replace("block", "relu").replace("_conv", "_")
                 for n in vgg.keras_layer_names(arch) if "conv" in n]
        raise UserError(
            f"Unknown {arch} layer {name!r} in {kind}_layers. Valid names: "
            f"{', '.join(valid)} (or conv4_2, block4_conv2, "
            f"{'vgg_16' if arch == 'vgg16' else 'vgg_19'}/conv4/conv4_2). "
            f"Received: {name!r}") from None


def layer_weights(value, kind):
    """dict, list of names, or a string (dict literal / comma list) -> dict."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            import ast
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise UserError(
                    f"{kind}_layers must be a dict like {{'relu4_2': 1.0}} or comma-"
                    f"separated names. Received: {value!r}") from None
        else:
            value = [n.strip() for n in text.split(",") if n.strip()]
    if isinstance(value, (list, tuple)):
        value = {n: 1.0 for n in value}
    if not isinstance(value, dict) or not value:
        raise UserError(f"{kind}_layers must name at least one layer. Received: {value!r}")
    out = {}
    for name, w in value.items():
        if not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            raise UserError(
                f"{kind}_layers weights must be non-negative numbers. "
                f"Received: {name!r}: {w!r}")
        out[str(name)] = float(w)
    return out


def per_style(value, n, name, default, positive=False):
    """None / scalar / sequence -> list of n floats, validated."""
    if value is None:
        return [default] * n
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if np.isscalar(value):
        value = [value] * n
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numbers. Received: {value!r}") from None
    if len(values) != n:
        raise UserError(
            f"{name} has {len(values)} values but there are {n} style images; give "
            f"one per style image. Received: {name}={value!r}")
    bad = [v for v in values if not np.isfinite(v) or v < 0 or (positive and v == 0)]
    if bad:
        kind = "positive" if positive else "non-negative"
        raise UserError(f"{name} must be {kind}. Received: {name}={value!r}")
    return values


def validate(cfg):
    """Refuses settings `optimize` cannot run with (one-line `UserError`)."""
    for name in ("content_weight", "style_weight", "tv_weight", "style_layer_weight_factor",
                 "learning_rate", "lbfgs_learning_rate", "convergence_tolerance",
                 "init_noise_std"):
        v = getattr(cfg, name)
        if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise UserError(f"{name} must be a non-negative number. Received: {name}={v!r}")
    for name, low in (("image_size", 16), ("iterations", 0), ("lbfgs_history", 1),
                      ("convergence_window", 1), ("num_scales", 1), ("save_every", 0)):
        v = getattr(cfg, name)
        if not isinstance(v, int) or v < low:
            raise UserError(f"{name} must be an integer >= {low}. Received: {name}={v!r}")
    if cfg.coarse_iterations is not None and cfg.coarse_iterations < 0:
        raise UserError(f"coarse_iterations must be >= 0. Received: {cfg.coarse_iterations}")
    if cfg.scale_factor <= 1.0 and cfg.num_scales > 1:
        raise UserError(f"scale_factor must be > 1. Received: scale_factor={cfg.scale_factor}")
    choices = {"arch": ("vgg16", "vgg19"), "pooling": ("max", "avg"),
               "optimizer": ("lbfgs", "adam"), "init": ("random", "content", "image")}
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}. "
                            f"Received: {name}={getattr(cfg, name)!r}")
    if cfg.init == "image" and cfg.init_image is None:
        raise UserError("init=image needs init_image=<path>. Received: init_image=None")
    if cfg.save_every and not cfg.save_dir:
        raise UserError(f"save_every={cfg.save_every} needs save_dir=<folder>.")


def exponential_layer_weights(weights, factor):
    """Layer n+1 gets `factor` x layer n's weight, rescaled to the same sum.

    Args:
        weights: {layer: weight}, in network order (dicts keep insertion order).
        factor: float > 0; 1 returns the weights unchanged.

    Returns:
        {layer: weight} with `sum` equal to the input's.
    """
    if factor == 1.0 or not weights:
        return dict(weights)
    scaled = {n: w * factor ** i for i, (n, w) in enumerate(weights.items())}
    total, new_total = sum(weights.values()), sum(scaled.values())
    return {n: w * total / new_total if new_total else 0.0 for n, w in scaled.items()}
