"""What the three training modes build: model, styles, loss networks, optimizer.

- `init_from="scratch"`: a new transformer for the style set; everything
  trains (Magenta's `image_stylization_train`).
- `init_from=<model>` (a model directory, shipped name or Magenta TF1
  checkpoint): the shared convolutions are restored and frozen, and only the
  conditional-instance-norm gamma/beta train, starting at ones/zeros for the
  new style set, which REPLACES the old one (Magenta's
  `image_stylization_finetune`).
- `init_from=<model>, append=True`: as above, but the model keeps the old
  styles bit-identical and gains the new ones as extra CIN rows. Only those
  rows train: their gradients are masked, so Adam's moments for the old rows
  stay exactly zero and the old rows never move.

`build_parts` gathers what one step is made of, Magenta's objective
(`magenta_objective`) included; `loop.train` and the benchmarks
(`python -m bench train`) build their step from it.
"""

import contextlib
import dataclasses
import math
import os

import keras
import numpy as np

from magenta_style import checks
from magenta_style import config as config_lib
from magenta_style.data import style_grams as style_set_lib
from magenta_style.errors import UserError
from magenta_style.losses import objective
from magenta_style.losses import vgg as vgg_lib
from magenta_style.model import transformer as transformer_lib
from magenta_style.storage import model_config
from magenta_style.training import base_model
from magenta_style.training import config as train_config

# The half types of `--mixed_precision` (Keras's "mixed_<dtype>" policies).
MIXED_PRECISION_DTYPES = ("float16", "bfloat16")


@dataclasses.dataclass
class Setup:
    """What the modes differ in, resolved once by `build_model`.

    Attributes:
        model: the transformer, `num_styles = label_offset + len(new_names)`.
        style_names: names of all its styles.
        label_offset: first CIN row being trained (0 unless appending).
        row_masks: {variable path: `[num_styles, 1]` float32 0/1} for CIN
            variables whose old rows must not move (append), else {}.
    """

    model: object
    style_names: list
    label_offset: int
    row_masks: dict


def in_memory_content(cfg, content):
    """Photos given as an array, checked: `[N, S, S, 3]` float32 in [0, 1].

    Raises:
        UserError: another shape (quotes it).
    """
    arr = np.asarray(content, "float32")
    if arr.ndim != 4 or arr.shape[1:] != (cfg.image_size, cfg.image_size, 3):
        raise UserError(
            f"In-memory content must be [N, {cfg.image_size}, {cfg.image_size}, 3]. "
            f"Received: shape {arr.shape}")
    return arr


def check_config(cfg):
    """Refuses settings `train` cannot run with (one-line `UserError`)."""
    if not cfg.train_dir:
        raise UserError("--train_dir is required (checkpoints and the model go there).")
    if bool(cfg.style_images) == bool(cfg.style_dataset_file):
        raise UserError(
            "Pass exactly one of --style_images (a glob) and --style_dataset_file. "
            f"Received: style_images={cfg.style_images!r}, "
            f"style_dataset_file={cfg.style_dataset_file!r}")
    for name in ("batch_size", "image_size", "train_steps", "save_every",
                 "log_every", "keep_checkpoints"):
        if int(getattr(cfg, name)) < 1:
            raise UserError(f"--{name} must be >= 1. Received: {getattr(cfg, name)}")
    if cfg.image_size < 16:
        raise UserError(f"--image_size must be >= 16. Received: {cfg.image_size}")
    if cfg.append and cfg.init_from == "scratch":
        raise UserError("--append needs a model to append to: pass --init_from / "
                        "--checkpoint.")
    if cfg.strategy not in ("default", "mirrored", "multi_worker"):
        raise UserError("--strategy must be default, mirrored or multi_worker. "
                        f"Received: {cfg.strategy!r}")
    if not cfg.learning_rate > 0:
        raise UserError(f"--learning_rate must be > 0. Received: {cfg.learning_rate}")
    if cfg.mixed_precision_dtype not in MIXED_PRECISION_DTYPES:
        raise UserError("--mixed_precision_dtype must be float16 or bfloat16. "
                        f"Received: {cfg.mixed_precision_dtype!r}")
    if cfg.alpha is not None and not (math.isfinite(cfg.alpha) and cfg.alpha > 0):
        raise UserError(f"--alpha (the width multiplier) must be > 0, such as 0.25 or 1. "
                        f"Received: {cfg.alpha}")
    check_numbers(cfg)


def check_numbers(cfg):
    """Range and finiteness of the numeric settings every trainer shares (`checks`)."""
    for name in ("batch_size", "train_steps", "save_every", "log_every", "keep_checkpoints"):
        checks.number(f"--{name}", getattr(cfg, name), 1, integer=True)
    checks.number("--image_size", cfg.image_size, 16, checks.MAX_SIDE, integer=True)
    if getattr(cfg, "resize_side", None) is not None:
        checks.number("--resize_side", cfg.resize_side, 1, checks.MAX_SIDE, integer=True)
    checks.number("--learning_rate", cfg.learning_rate, 0, 1e3, low_open=True)
    if getattr(cfg, "alpha", None) is not None:
        checks.number("--alpha", cfg.alpha, 0, model_config.MAX_ALPHA, low_open=True)
    for name in ("clip_gradient_norm", "total_variation_weight"):
        if hasattr(cfg, name):
            checks.number(f"--{name}", getattr(cfg, name), 0, checks.MAX_WEIGHT)
    for name in ("content_weights", "style_weights"):
        if hasattr(cfg, name):
            checks.weights(f"--{name}", getattr(cfg, name))
    if getattr(cfg, "style_image_size", None):
        checks.number("--style_image_size", cfg.style_image_size, 16, checks.MAX_SIDE,
                      integer=True)


def load_styles(cfg, is_chief=True):
    """The style set (names, Grams, images) for `cfg`, measured once per train_dir."""
    if cfg.style_dataset_file:
        path = cfg.style_dataset_file
        if path.endswith(".tfrecord") and os.path.isfile(path + ".npz"):
            path += ".npz"  # create_style_dataset writes our .npz beside Magenta's file.
        styles = style_set_lib.load_style_set(path)
    else:
        path = os.path.join(cfg.train_dir, train_config.STYLE_SET_FILE)
        measure = dict(layers=tuple(cfg.style_weights), progress=is_chief)
        styles = None
        if os.path.isfile(path):
            stored = style_set_lib.load_style_set(path)
            change = _style_images_change(stored, cfg)
            if change and not cfg.remeasure_styles:
                raise UserError(
                    f"--train_dir {cfg.train_dir} measured other style images ({change}). "
                    "Pass the style images it was started with, a new --train_dir, or "
                    "--remeasure_styles to measure these instead.")
            styles = None if change else stored
        if styles is None and is_chief:
            style_set_lib.create_style_set(cfg.style_images, path, cfg.vgg_weights,
                                           cfg.style_image_size, **measure)
            styles = style_set_lib.load_style_set(path)
        elif styles is None:  # Other workers measure the same styles themselves, unsaved.
            styles = style_set_lib.compute_style_set(cfg.style_images, cfg.vgg_weights,
                                                     cfg.style_image_size, **measure)
    pooling = (getattr(styles, "meta", None) or {}).get("pooling", "avg")
    if pooling != "avg":
        raise UserError(f"The style set was measured with {pooling} pooling; training "
                        "uses VGG-16 with avg pooling. Recreate it with pooling='avg'.")
    return styles


def _style_images_change(stored, cfg):
    """How `cfg.style_images` differ from the style set stored in the train_dir, or None.

    Compares the style names (file stems, in label order) and each image as
    it is measured (resized uint8, exactly what the stored Grams came from),
    so a replaced file under the same name counts too.
    """
    files = style_set_lib.list_image_files(cfg.style_images)
    names = style_set_lib.style_names(files)
    if list(names) != list(stored.names):
        extra = [n for n in names if n not in stored.names]
        gone = [n for n in stored.names if n not in names]
        if extra or gone:
            return ", ".join(p for p in (
                f"new: {_names(extra)}" if extra else "",
                f"missing: {_names(gone)}" if gone else "") if p)
        return "the same names in another order"
    size = stored.meta.get("style_image_size", cfg.style_image_size)
    if "style_image_size" in stored.meta and (size or None) != (cfg.style_image_size or None):
        return (f"measured at --style_image_size={size or 0}, now "
                f"--style_image_size={cfg.style_image_size or 0}")
    for path, image in zip(files, stored.images):
        now = style_set_lib.load_style_image(path, size)
        if now.shape != image.shape or not np.array_equal(now, image):
            return f"{os.path.basename(path)} changed"
    return None


def _names(names, most=3):
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _coefficients(cfg, num_new):
    if cfg.style_coefficients is None:
        return np.ones([num_new], "float32")
    coeffs = np.asarray(cfg.style_coefficients, dtype="float32").reshape(-1)
    if coeffs.shape[0] != num_new:
        raise UserError(
            f"--style_coefficients needs one value per style ({num_new}). "
            f"Received: {cfg.style_coefficients}")
    return coeffs


@contextlib.contextmanager
def _dtype_policy(cfg):
    if not cfg.mixed_precision:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{cfg.mixed_precision_dtype}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_norms(model):
    # Instance-norm statistics over 65k positions lose too much in float16
    # or bfloat16; the layer autocasts its half-precision input to float32. The style tables
    # give it float32 gamma/beta, as the unsplit layer computed them.
    for layer in transformer_lib.instance_norms(model) + transformer_lib.style_tables(model):
        layer.dtype_policy = "float32"


def build_model(cfg, new_names):
    """Builds the transformer for the mode `cfg` selects (see module doc).

    Its random initial weights come from Keras's global seed, which the
    trainer sets (`runner.set_seed`) just before.

    Returns:
        A `Setup`. Under fine-tuning the convolutions are frozen
        (`trainable=False`), so `model.trainable_variables` are the CIN
        tables only.
    """
    if cfg.init_from == "scratch":
        model = transformer_lib.build_transformer(
            len(new_names), 1.0 if cfg.alpha is None else cfg.alpha)
        return Setup(model, list(new_names), 0, {})
    base = base_model.load_base_model(cfg.init_from)
    arch = base.transformer_config
    if cfg.alpha is not None and not math.isclose(cfg.alpha, arch.alpha):
        raise UserError(
            f"The model to fine-tune ({cfg.init_from}) has alpha={arch.alpha}, but "
            f"--alpha={cfg.alpha}. Omit --alpha to use the model's.")
    old = list(base.style_names)
    offset = len(old) if cfg.append else 0
    model = transformer_lib.build_transformer_from_config(
        dataclasses.replace(arch, num_styles=offset + len(new_names)))
    for layer in transformer_lib.conv_layers(model):
        layer.set_weights(base.get_layer(layer.name).get_weights())
        layer.trainable = False
    masks = {}
    if cfg.append:
        mask = np.zeros([offset + len(new_names), 1], "float32")
        mask[offset:] = 1.0
        for layer in transformer_lib.style_tables(model):
            old_layer = base.get_layer(layer.name)
            for var, old_var in ((layer.gamma, old_layer.gamma),
                                 (layer.beta, old_layer.beta)):
                value = np.asarray(var).copy()
                value[:offset] = np.asarray(old_var)
                var.assign(value)
                masks[var.path] = mask
    names = old + list(new_names) if cfg.append else list(new_names)
    if len(set(names)) != len(names):
        # Duplicate names would make a model whose styles cannot be told apart.
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise UserError(f"Style names must be unique; {dupes} appear twice. Rename "
                        "the new style files.")
    return Setup(model, names, offset, masks)


def make_optimizer(learning_rate, clip_gradient_norm=0.0, scale_loss=False):
    """Adam (Magenta's), with optional per-variable norm clipping.

    Args:
        learning_rate: float, Adam's step size.
        clip_gradient_norm: float; > 0 clips each variable's gradient to this norm.
        scale_loss: bool; True for float16 compute (see `needs_loss_scale`).
    """
    kwargs = {}
    if clip_gradient_norm:
        kwargs["clipnorm"] = float(clip_gradient_norm)
    optimizer = keras.optimizers.Adam(learning_rate, **kwargs)
    if scale_loss:
        # bfloat16 has float32's exponent range and needs no loss scale.
        # Magenta's losses are ~1e5-1e7, so float16 gradients overflow even
        # unscaled: the dynamic scale has to go BELOW 1 (about 2**-8 at first).
        # Keras's default start (2**15) would skip ~23 steps halving down to
        # it; from 1.0 about 8 steps are skipped, then the scale tracks itself.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1.0)
    return optimizer


def needs_loss_scale(cfg):
    """True when `cfg` trains in float16, whose gradients need a loss scale."""
    return bool(cfg.mixed_precision) and cfg.mixed_precision_dtype == "float16"


def loss_networks(cfg):
    """(pastiche network, content network): VGG-16 cut where each is needed.

    The pastiche network outputs every style and content layer (one forward
    and backward pass through VGG per pastiche). The content network shares
    its layers but stops at the content layers, so the photos' forward pass
    (no gradient needed) skips block 4.
    """
    layers = list(dict.fromkeys(list(cfg.style_weights) + list(cfg.content_weights)))
    full = vgg_lib.build_loss_network(weights=cfg.vgg_weights, endpoints=layers,
                                      xla=cfg.jit_compile)
    content_net = keras.Model(full.inputs,
                              {k: full.output[k] for k in cfg.content_weights},
                              name="vgg_content")
    content_net.trainable = False
    return full, content_net


def magenta_objective(num_styles, label_offset, loss_config):
    """Magenta's objective as `engine.Engine.compile` takes it.

    Args:
        num_styles: int, the transformer's styles (rows of its CIN tables).
        label_offset: int, the first style row being trained (labels index
            the style set's rows from there).
        loss_config: a `config_lib.LossConfig`.

    Returns:
        `objective_fn(model_fn, net_fns, constants, images, labels)`, where
        `net_fns` are (pastiche network, content network), `constants` is
        {"grams": {layer: `[styles, C, C]` float32}, "coefficients":
        `[styles]` float32} and `labels` `[B]` int32;
        `losses.objective.compute_losses` gives its result.
    """
    def objective_fn(model_fn, net_fns, constants, images, labels):
        return objective.compute_losses(
            model_fn, net_fns[0], net_fns[1], images, labels, num_styles, label_offset,
            constants["grams"], constants["coefficients"], loss_config)

    return objective_fn


@dataclasses.dataclass
class Parts:
    """What one training step is built from (see `build_parts`)."""
    setup: Setup
    loss_net: keras.Model
    content_net: keras.Model
    optimizer: keras.optimizers.Optimizer
    loss_config: config_lib.LossConfig
    gram_table: dict
    coefficients: np.ndarray

    def objective(self):
        """Magenta's objective for this model (`magenta_objective`)."""
        return magenta_objective(self.setup.model.transformer_config.num_styles,
                                 self.setup.label_offset, self.loss_config)

    def constants(self):
        """The style targets the objective reads: {"grams", "coefficients"}."""
        return {"grams": self.gram_table, "coefficients": self.coefficients}

    def gradient_masks(self):
        """Per trainable variable, its `Setup.row_masks` entry or None."""
        return [self.setup.row_masks.get(v.path)
                for v in self.setup.model.trainable_variables]

    def compile(self, engine):
        """Builds `engine.step` from the variables' current values."""
        engine.compile(self.setup.model, self.optimizer, self.objective(),
                       [self.loss_net, self.content_net], self.constants(),
                       self.gradient_masks())


def build_parts(cfg, engine, styles):
    """The transformer, loss networks, optimizer and style targets for `cfg`.

    Shared by `train` and the benchmarks (`python -m bench train`)
    so they time exactly the step training runs. Call `Parts.compile(engine)`
    after restoring a checkpoint into the variables.
    """
    loss_config = cfg.loss_config()
    gram_table = style_set_lib.match_grams(styles.grams, loss_config.style_weights)
    coefficients = _coefficients(cfg, len(styles.names))
    with engine.scope(), _dtype_policy(cfg):
        setup = build_model(cfg, list(styles.names))
        # Winograd's gradients round reproducibly only under XLA.
        transformer_lib.set_winograd_in_training(setup.model, cfg.jit_compile)
        if cfg.mixed_precision:
            _float32_norms(setup.model)
        loss_net, content_net = loss_networks(cfg)
        optimizer = make_optimizer(cfg.learning_rate, cfg.clip_gradient_norm,
                                   scale_loss=needs_loss_scale(cfg))
        optimizer.build(setup.model.trainable_variables)
    return Parts(setup, loss_net, content_net, optimizer, loss_config, gram_table,
                 coefficients)


