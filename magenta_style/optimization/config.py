"""`OptimizeConfig`: every setting of the optimisation method, its defaults and checks.

Two sets of defaults (presets):

- `default` (the dataclass's own): time to a good result. Magenta's
  objective (VGG-16 with average pooling, content `vgg_16/conv3`, style
  `vgg_16/conv1..conv4`, the library's loss units) with twice Magenta's
  style weight (2e-3 per layer), started from the photo, L-BFGS with the
  pixels kept in [0, 1] until the loss stops improving. Measured against a 200-step
  Adam run (docs/optimize.md).
- `neural_style`: jcjohnson's neural-style's settings and units (VGG-19,
  max pooling, relu4_2 / relu1_1..relu5_1, weights 5 / 100 / 1e-3, noise
  start, 1000 L-BFGS iterations), exactly this library's defaults before
  the `default` preset, so its users' settings keep their meaning.

Layer names may be written as neural-style's (`relu4_2`), Keras's
(`block4_conv2`) or Magenta's (`vgg_16/conv3`).
"""

import dataclasses
import re
from typing import NamedTuple
from typing import Optional

import numpy as np

from magenta_style import checks
from magenta_style.errors import UserError
from magenta_style.losses import vgg
from magenta_style.storage import atomic

# Magenta's loss layers (its `--content_weights` / `--style_weights` keys).
DEFAULT_CONTENT_LAYERS = {"vgg_16/conv3": 1.0}
DEFAULT_STYLE_LAYERS = {f"vgg_16/conv{b}": 1.0 for b in range(1, 5)}
# Gatys et al.'s and neural-style's.
NEURAL_STYLE_CONTENT_LAYERS = {"relu4_2": 1.0}
NEURAL_STYLE_STYLE_LAYERS = {f"relu{b}_1": 1.0 for b in range(1, 6)}


# The `default` preset's stopping rule (tuned against Adam: docs/optimize.md).
ITERATIONS = 300
CONVERGENCE_WINDOW = 10
CONVERGENCE_TOLERANCE = 5e-2

def _default(value, text):
    factory = (lambda: dict(value)) if isinstance(value, dict) else None
    if factory:
        return dataclasses.field(default_factory=factory, metadata={"help": text})
    return dataclasses.field(default=value, metadata={"help": text})


@dataclasses.dataclass(frozen=True)
class OptimizeConfig:
    """Every knob of `optimize`, with its default and where it comes from.

    Weights are in the units `loss_units` names. The field defaults are
    the `default` preset; `from_preset("neural_style")` gives neural-style's.
    """

    image_size: int = _default(
        512, "Longer side of the output in pixels (neural-style -image_size 512).")
    content_weight: float = _default(
        1.0, "Content weight (Magenta's 1; neural_style preset: 5).")
    style_weight: float = _default(
        2e-3, "Style weight, times each style layer's weight (twice Magenta's 1e-3 per "
        "layer, in its units; neural_style preset: 100).")
    tv_weight: float = _default(
        0.0, "Total variation weight; 0 disables (neural_style preset: 1e-3).")
    content_layers: dict = _default(
        DEFAULT_CONTENT_LAYERS,
        "Content layers and their weights, a dict or comma-separated names "
        "(vgg_16/conv3, relu4_2, conv4_2, block4_conv2 or vgg_19/conv4/conv4_2). "
        "Default: Magenta's vgg_16/conv3 (neural_style preset: relu4_2).")
    style_layers: dict = _default(
        DEFAULT_STYLE_LAYERS,
        "Style layers and their weights, a dict or comma-separated names. Default: "
        "Magenta's vgg_16/conv1..conv4, 1 each (neural_style preset: relu1_1..relu5_1).")
    style_layer_weight_factor: float = _default(
        1.0, "Exponential style-layer weighting: layer n+1 gets factor x the weight of "
        "layer n (in the order given), rescaled to the same sum. 1 = off.")
    arch: str = _default(
        "vgg16", "Loss network, vgg16 (Magenta's) or vgg19 (Gatys et al., neural_style "
        "preset).")
    pooling: str = _default(
        "avg", "avg (Magenta's; Gatys et al. suggest it) or max (neural_style preset).")
    weights: str = _default(
        "imagenet", "VGG weights: imagenet (Keras's download/cache; offline "
        "$MAGENTA_STYLE_VGG16_WEIGHTS / _VGG19_ name the file, or "
        "$MAGENTA_STYLE_VGG_WEIGHTS a folder holding it) or a path to a Keras .h5 file.")
    style_blend_weights: Optional[tuple] = _default(
        None, "One weight per style image (normalised to sum 1); default equal "
        "(neural-style -style_blend_weights).")
    style_scales: Optional[tuple] = _default(
        None, "Per style image: its longer side = scale x the output's longer side "
        "(neural-style -style_scale, default 1). One value applies to all.")
    init: str = _default(
        "content", "Start image: content (the photo), random (noise; neural_style "
        "preset), or image (init_image).")
    init_image: Optional[str] = _default(None, "Start image path for init=image.")
    init_noise_std: float = _default(
        0.001, "Std of the Gaussian noise around the ImageNet mean colour for "
        "init=random, in 0..255 pixel units (neural-style: 0.001).")
    seed: int = _default(0, "Seed of the noise initialisation.")
    loss_units: str = _default(
        "magenta", "neural_style (Grams / C*H*W, TV summed over 0..255 pixels) or "
        "magenta (the library's losses: Grams / H*W, TV a mean over [0, 1] pixels).")
    optimizer: str = _default("lbfgs", "lbfgs (neural-style default) or adam.")
    learning_rate: float = _default(
        10.0, "Adam step size in 0..255 pixel units (neural-style -learning_rate 10).")
    lbfgs_learning_rate: float = _default(
        1.0, "L-BFGS fixed step (torch.optim.LBFGS and Torch7 optim.lbfgs default 1).")
    bounded: bool = _default(
        True, "Keep every pixel in [0, 1] while optimising (L-BFGS with projected bounds, "
        "Adam clipped after each step), so the losses are those of the image returned; "
        "neural_style preset: off (it clips only the result).")
    lbfgs_backtracking: bool = _default(
        True, "Halve an L-BFGS step that does not lower the loss enough (Armijo's test) "
        "instead of taking it: free while the fixed step works, and it keeps an "
        "overshooting step from sending the loss up; neural_style preset: off.")
    lbfgs_history: int = _default(
        100, "L-BFGS curvature pairs kept (torch/optim default 100; memory "
        "2 x history x image size).")
    iterations: int = _default(
        ITERATIONS, "Maximum iterations at the final scale (neural_style preset: 1000, "
        "its -num_iterations).")
    coarse_iterations: Optional[int] = _default(
        None, "Maximum iterations at each coarser scale; default: iterations.")
    convergence_window: int = _default(
        CONVERGENCE_WINDOW, "Convergence stop: stop when the best loss improved by less than "
        "convergence_tolerance (relative) over this many iterations (ours; the classic "
        "tools run a fixed count).")
    convergence_tolerance: float = _default(
        CONVERGENCE_TOLERANCE, "Relative improvement of the best loss per convergence_window below "
        "which the optimisation stops; 0 disables the stop.")
    num_scales: int = _default(
        1, "Coarse-to-fine: optimise at num_scales sizes, each scale_factor x the "
        "previous, upsampling the result in between. 1 = off.")
    scale_factor: float = _default(2.0, "Size ratio between consecutive scales.")
    preserve_colors: bool = _default(
        False, "Keep the photo's colours: after optimising, the result's luminance is "
        "combined with the photo's chrominance (YIQ; neural-style -original_colors). "
        "The optimisation itself still sees colour.")
    jit_compile: bool = _default(
        True, "Compile loss, gradient and update into one XLA call per iteration.")
    progress: bool = _default(True, "Show a tqdm progress bar with the loss parts.")
    save_every: int = _default(
        0, "Write the current image every K iterations into save_dir (0 = never; "
        "neural-style -save_iter).")
    save_dir: Optional[str] = _default(None, "Folder for intermediate images.")
    log_dir: Optional[str] = _default(None, "TensorBoard log folder (scalars, images).")


    @classmethod
    def from_preset(cls, preset="default", **overrides):
        """The config of a preset (see the module docstring), then `overrides`.

        Raises:
            UserError: an unknown preset, naming the known ones.
        """
        if preset not in PRESETS:
            raise UserError(f"Unknown preset {preset!r}; use one of "
                            f"{', '.join(PRESETS)}. Received: preset={preset!r}")
        return cls(**{**PRESETS[preset], **overrides})


# Every field a preset sets; fields it leaves out keep the dataclass default.
PRESETS = {
    "default": {},
    # This library's defaults before the `default` preset: neural-style's
    # settings and units, plus the (rarely reached) convergence stop it had.
    "neural_style": dict(
        content_weight=5.0, style_weight=100.0, tv_weight=1e-3,
        content_layers=NEURAL_STYLE_CONTENT_LAYERS, style_layers=NEURAL_STYLE_STYLE_LAYERS,
        arch="vgg19", pooling="max", init="random", loss_units="neural_style",
        iterations=1000, convergence_window=50, convergence_tolerance=1e-3,
        bounded=False, lbfgs_backtracking=False),
}


class OptimizeResult(NamedTuple):
    """`image`: `[H, W, 3]` float32 RGB in [0, 1]. `history`: one dict per
    iteration (`iteration`, `scale`, `height`, `width`, `total_loss`,
    `total_content_loss`, `total_style_loss`, `total_variation_loss` and every
    per-layer part, in `loss_units`); the last dict of each scale also
    holds `stop` (why that scale ended)."""

    image: np.ndarray
    history: list


_LAYER_ALIAS = re.compile(r"(?:relu|conv)(\d)_(\d)")


def keras_layer(name, arch, kind):
    """A user layer name (relu4_2, conv4_2, block4_conv2, vgg_19/...) -> Keras name."""
    m = _LAYER_ALIAS.fullmatch(name)
    candidate = f"block{m.group(1)}_conv{m.group(2)}" if m else name
    # The default layers are Magenta's VGG-16 names; with arch=vgg19 they
    # name the same block's last convolution (vgg_16/conv3 -> block3_conv4),
    # so `--arch=vgg19` works without restating the layers.
    other = {"vgg16": "vgg_19/", "vgg19": "vgg_16/"}[arch] if arch in ("vgg16", "vgg19") else None
    if other and candidate.startswith(other):
        candidate = ("vgg_16/" if arch == "vgg16" else "vgg_19/") + candidate[len(other):]
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
        checks.number(f"{kind}_layers[{name!r}]", w, 0, checks.MAX_WEIGHT)
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
    bad = [v for v in values if not np.isfinite(v) or v < 0 or (positive and v == 0)
           or v > checks.MAX_WEIGHT]
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
        # Larger weights overflow the float32 loss into a NaN image.
        checks.number(name, v, 0, checks.MAX_WEIGHT)
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
               "optimizer": ("lbfgs", "adam"), "init": ("random", "content", "image"),
               "loss_units": ("neural_style", "magenta")}
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}. "
                            f"Received: {name}={getattr(cfg, name)!r}")
    if cfg.init == "image" and cfg.init_image is None:
        raise UserError("init=image needs init_image=<path>. Received: init_image=None")
    if cfg.save_every and not cfg.save_dir:
        raise UserError(f"save_every={cfg.save_every} needs save_dir=<folder>.")
    for name in ("save_dir", "log_dir"):  # before any work
        if getattr(cfg, name, None):
            atomic.check_output_dir(getattr(cfg, name), f"{name} folder")


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
