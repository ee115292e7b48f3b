"""Training the multi-style network: from scratch, fine-tuning, appending.

One module, three modes (nanoGPT's `init_from`), no copied scripts:

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

Every example in a batch draws its own style (Magenta's queues did the same):
labels come from `labels_for_step(seed, step, ...)`, a pure function of the
step, so a resumed run draws what the killed run would have drawn.

The step itself is backend-specific (`training_tf`: `tf.function` with XLA
and `tf.distribute`; `training_jax`: `jax.jit` over Keras's stateless API)
but both compute `compute_losses` below with `keras.ops`. Checkpoints
(`train_state`) are NumPy files that either backend resumes.
"""

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Optional

import keras
import numpy as np
from keras import ops

from magenta_style import config as config_lib
from magenta_style.data import style_grams as style_set_lib
from magenta_style.errors import UserError
from magenta_style.losses import loss_terms
from magenta_style.losses import vgg as vgg_lib
from magenta_style.model import transformer as transformer_lib
from magenta_style.training import train_state

STYLE_SET_FILE = "style_set.npz"
MODEL_SUBDIR = "model"
GRID_SUBDIR = "grids"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "loss_curve.png"
# Settings that define what is being trained; a train_dir holding a run with
# other values is refused (resuming would silently mix two models).
_FINGERPRINT_KEYS = ("architecture", "style_names", "init_from", "append")


def _help(text):
    return dataclasses.field(metadata={"help": text})


@dataclasses.dataclass
class TrainConfig:
    """Everything `train` needs. Defaults are Magenta's where it had one."""

    train_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for checkpoints, config.json, TensorBoard logs, grids and the "
                "final model (<train_dir>/model). Rerunning resumes from it."})
    style_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Glob of style images; style names are the file names."})
    style_dataset_file: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "A style set written by create_style_dataset (instead of "
                "--style_images)."})
    style_image_size: int = dataclasses.field(
        default=style_set_lib.StyleSetConfig.style_image_size,
        metadata=style_set_lib.StyleSetConfig.__dataclass_fields__["style_image_size"].metadata)
    content_images: str = dataclasses.field(default="tfds:coco/2017", metadata={
        "help": "Content photos: a folder, glob, TFRecord pattern or 'tfds:coco/2017'."})
    vgg_weights: str = dataclasses.field(default="imagenet", metadata={
        "help": "VGG-16 weights: 'imagenet' (Keras cache / $MAGENTA_STYLE_VGG_WEIGHTS) "
                "or an h5 path."})
    init_from: str = dataclasses.field(default="scratch", metadata={
        "help": "'scratch', or a model to fine-tune (model directory, shipped name or "
                "Magenta checkpoint)."})
    append: bool = dataclasses.field(default=False, metadata={
        "help": "Fine-tuning: keep the checkpoint's styles bit-identical and add the "
                "new ones (Magenta replaces them)."})
    alpha: Optional[float] = dataclasses.field(default=None, metadata={
        "help": "Width multiplier. None: 1.0 from scratch (Magenta), the checkpoint's "
                "when fine-tuning."})
    learning_rate: float = dataclasses.field(default=1e-3, metadata={
        "help": "Adam learning rate."})
    batch_size: int = dataclasses.field(default=16, metadata={
        "help": "Global batch size (split across replicas)."})
    image_size: int = dataclasses.field(default=256, metadata={
        "help": "Side of the square content crops."})
    train_steps: int = dataclasses.field(default=40000, metadata={
        "help": "Total steps; a resumed run stops here too."})
    content_weights: dict = dataclasses.field(
        default_factory=lambda: dict(config_lib.LossConfig().content_weights),
        metadata={"help": "Content loss weight per VGG layer."})
    style_weights: dict = dataclasses.field(
        default_factory=lambda: dict(config_lib.LossConfig().style_weights),
        metadata={"help": "Style loss weight per VGG layer."})
    total_variation_weight: float = dataclasses.field(
        default=config_lib.LossConfig().total_variation_weight,
        metadata={"help": "Total variation weight (Magenta: none)."})
    style_coefficients: Optional[list] = dataclasses.field(default=None, metadata={
        "help": "Per-style multipliers of the style loss, one per style (default 1)."})
    clip_gradient_norm: float = dataclasses.field(default=0.0, metadata={
        "help": "Clip each gradient to this norm (Magenta's per-variable clipping); "
                "0 = off."})
    save_every: int = dataclasses.field(default=500, metadata={
        "help": "Steps between checkpoints."})
    keep_checkpoints: int = dataclasses.field(default=3, metadata={
        "help": "Checkpoints kept in train_dir."})
    log_every: int = dataclasses.field(default=50, metadata={
        "help": "Steps between TensorBoard / metrics.jsonl entries."})
    grid_every: int = dataclasses.field(default=1000, metadata={
        "help": "Steps between style grids (TensorBoard + PNG); 0 = only at the end."})
    grid_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Photos for the style grid (glob); default: the first content batch."})
    strategy: str = dataclasses.field(default="default", metadata={
        "help": "tf.distribute strategy: default, mirrored or multi_worker (TF_CONFIG)."})
    mixed_precision: bool = dataclasses.field(default=False, metadata={
        "help": "mixed_float16 compute (accelerators); CIN statistics and losses stay "
                "float32."})
    jit_compile: bool = dataclasses.field(default=True, metadata={
        "help": "Compile the step with XLA (TensorFlow) / jax.jit (JAX)."})
    random_crop: bool = dataclasses.field(default=False, metadata={
        "help": "Random instead of centre crops of the content photos."})
    random_flip: bool = dataclasses.field(default=False, metadata={
        "help": "Random horizontal flips of the content photos."})
    seed: int = dataclasses.field(default=0, metadata={
        "help": "Seed of the weights, the style labels and the content order."})
    model_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Where the trained model is written (default <train_dir>/model)."})

    def loss_config(self):
        return config_lib.LossConfig(
            content_weights=dict(self.content_weights),
            style_weights=dict(self.style_weights),
            total_variation_weight=float(self.total_variation_weight))


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


def labels_for_step(seed, step, batch_size, num_styles, offset=0):
    """The style label of every example of a step: `[batch_size]` int32.

    A pure function of (seed, step) so a resumed or a distributed run draws
    the same labels as an uninterrupted single-process one.
    """
    rng = np.random.default_rng([int(seed), int(step)])
    return (rng.integers(0, num_styles, size=batch_size) + offset).astype("int32")


def compute_losses(model_fn, pastiche_net_fn, content_net_fn, images, labels,
                   num_styles, label_offset, gram_table, coefficients,
                   loss_config):
    """Per-example losses of a batch where each example has its own style.

    Args:
        model_fn: `([images, style_weights], training=True) -> pastiches`
            (the transformer, or its stateless call under JAX).
        pastiche_net_fn, content_net_fn: `[B, H, W, 3] -> {layer: features}`
            (VGG with every loss layer, resp. only the content layers).
        images: `[B, H, W, 3]` float in [0, 1].
        labels: `[B]` int, rows of the transformer's CIN tables.
        num_styles: rows of the CIN tables.
        label_offset: `labels - label_offset` indexes `gram_table`.
        gram_table: {layer: `[num_new, C, C]` float32}.
        coefficients: `[num_new]` float32 style coefficients.
        loss_config: `config.LossConfig`.

    Returns:
        (scalar mean loss, {part name: `[B]` float32}) with Magenta's part
        names plus `total_loss`.
    """
    images = ops.convert_to_tensor(images)
    labels = ops.convert_to_tensor(labels)
    weights = ops.one_hot(labels, num_styles)
    # training=True: the transformer keeps the direct (deterministic)
    # convolutions for the layers it runs by Winograd at inference.
    pastiche = model_fn([images, weights], training=True)

    def f32(feats):  # Losses in float32 under mixed precision.
        return {k: ops.cast(v, "float32") for k, v in feats.items()}

    pastiche_features = f32(pastiche_net_fn(pastiche))
    content = f32(content_net_fn(images))
    rows = labels - label_offset
    grams = {k: ops.take(v, rows, axis=0) for k, v in gram_table.items()}
    coeffs = ops.take(coefficients, rows, axis=0)
    c_total, parts = loss_terms.content_loss(
        content, pastiche_features, loss_config.content_weights, reduce_batch=False)
    s_total, s_parts = loss_terms.style_loss(
        grams, pastiche_features, loss_config.style_weights, sample_weights=coeffs,
        reduce_batch=False)
    parts.update(s_parts)
    per_example = c_total + s_total
    if loss_config.total_variation_weight:
        tv, tv_parts = loss_terms.total_variation_loss(
            ops.cast(pastiche, "float32"), loss_config.total_variation_weight)
        ones = ops.ones_like(per_example)
        parts.update({k: v * ones for k, v in tv_parts.items()})
        per_example = per_example + tv
    parts["total_content_loss"] = c_total
    parts["total_style_loss"] = s_total
    parts["total_loss"] = per_example
    return ops.mean(per_example), parts


# --------------------------------------------------------------------------
# Set-up shared by the backends.


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


def _check_config(cfg):
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


def load_styles(cfg, is_chief=True):
    """The style set (names, Grams, images) for `cfg`, measured once per train_dir."""
    if cfg.style_dataset_file:
        path = cfg.style_dataset_file
        if path.endswith(".tfrecord") and os.path.isfile(path + ".npz"):
            path += ".npz"  # create_style_dataset writes our .npz beside Magenta's file.
        styles = style_set_lib.load_style_set(path)
    else:
        path = os.path.join(cfg.train_dir, STYLE_SET_FILE)
        measure = dict(layers=tuple(cfg.style_weights), progress=is_chief)
        if os.path.isfile(path):
            styles = style_set_lib.load_style_set(path)
        elif is_chief:
            style_set_lib.create_style_set(cfg.style_images, path, cfg.vgg_weights,
                                           cfg.style_image_size, **measure)
            styles = style_set_lib.load_style_set(path)
        else:  # Other workers measure the same styles for themselves, unsaved.
            styles = style_set_lib.compute_style_set(cfg.style_images, cfg.vgg_weights,
                                                     cfg.style_image_size, **measure)
    pooling = (getattr(styles, "meta", None) or {}).get("pooling", "avg")
    if pooling != "avg":
        raise UserError(f"The style set was measured with {pooling} pooling; training "
                        "uses VGG-16 with avg pooling. Recreate it with pooling='avg'.")
    return styles


def _match_grams(grams, layer_names):
    """{weight layer name: Grams} where keys may name layers differently."""
    by_layer = {vgg_lib.resolve_layer(k): v for k, v in grams.items()}
    out = {}
    for name in layer_names:
        target = vgg_lib.resolve_layer(name)
        if target not in by_layer:
            raise UserError(
                f"The style set has no Gram matrices for {name!r} (it has "
                f"{sorted(grams)}). Recreate it, or drop {name} from --style_weights.")
        out[name] = np.asarray(by_layer[target], dtype="float32")
    return out


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
def _dtype_policy(mixed):
    if not mixed:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_norms(model):
    # Instance-norm statistics over 65k positions lose too much in float16;
    # the layer autocasts its float16 input to float32.
    for layer in transformer_lib.norm_layers(model):
        layer.dtype_policy = "float32"


def _load_base(init_from):
    from magenta_style.storage import model_format

    try:
        return model_format.load_any(init_from)
    except UserError:
        raise
    except Exception as e:  # Anything else that is not a model we can read.
        raise UserError(
            f"Cannot load the model to fine-tune from {init_from!r}: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def _set_seed(seed):
    """`keras.utils.set_random_seed` without importing TensorFlow under JAX."""
    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    import random

    # set_random_seed would import TensorFlow (to seed it) where installed,
    # which costs seconds and is what the JAX path must not need.
    try:
        from keras.src.backend.common import global_state
        from keras.src.utils import rng_utils

        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    except (ImportError, AttributeError):  # Keras moved it: fall back.
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)


def build_model(cfg, new_names):
    """Builds the transformer for the mode `cfg` selects (see module doc).

    Returns:
        A `Setup`. Under fine-tuning the convolutions are frozen
        (`trainable=False`), so `model.trainable_variables` are the CIN
        tables only.
    """
    _set_seed(cfg.seed)
    if cfg.init_from == "scratch":
        model = transformer_lib.build_transformer(
            len(new_names), 1.0 if cfg.alpha is None else cfg.alpha)
        return Setup(model, list(new_names), 0, {})
    base = _load_base(cfg.init_from)
    arch = base.transformer_config
    if cfg.alpha is not None and not math.isclose(cfg.alpha, arch.alpha):
        raise UserError(
            f"The model to fine-tune ({cfg.init_from}) has alpha={arch.alpha}, but "
            f"--alpha={cfg.alpha}. Omit --alpha to use the model's.")
    old = list(getattr(base, "style_names", None)
               or [f"style_{i}" for i in range(arch.num_styles)])
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
        for layer in transformer_lib.norm_layers(model):
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


def make_optimizer(cfg):
    """Adam (Magenta's), with optional per-variable norm clipping."""
    kwargs = {}
    if cfg.clip_gradient_norm:
        kwargs["clipnorm"] = float(cfg.clip_gradient_norm)
    optimizer = keras.optimizers.Adam(cfg.learning_rate, **kwargs)
    if cfg.mixed_precision:
        # Magenta's losses are ~1e5-1e7, so float16 gradients overflow even
        # unscaled: the dynamic scale has to go BELOW 1 (about 2**-8 at first).
        # Keras's default start (2**15) would skip ~23 steps halving down to
        # it; from 1.0 about 8 steps are skipped, then the scale tracks itself.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1.0)
    return optimizer


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


def resolved_config(cfg, setup):
    """The JSON written to `<train_dir>/config.json`."""
    out = dataclasses.asdict(cfg)
    out.update(
        architecture=setup.model.transformer_config.to_dict(),
        style_names=list(setup.style_names),
        backend=keras.backend.backend(),
    )
    return out


def check_train_dir(cfg, resolved, is_chief=True):
    """Refuses a train_dir that holds another run; writes config.json."""
    path = os.path.join(cfg.train_dir, train_state.CONFIG_FILE)
    if os.path.isfile(path):
        try:
            with open(path) as f:
                previous = json.load(f)
        except (OSError, ValueError) as e:
            raise UserError(f"Broken {path}: {e}. Delete it or use a new --train_dir.") \
                from None
        diff = [k for k in _FINGERPRINT_KEYS if previous.get(k) != resolved.get(k)]
        if diff:
            k = diff[0]
            raise UserError(
                f"--train_dir {cfg.train_dir} holds a different training run "
                f"({k}: {_short(previous.get(k))} there, {_short(resolved.get(k))} now). "
                "Use a new --train_dir, or the settings it was started with.")
    elif train_state.latest_checkpoint(cfg.train_dir):
        raise UserError(f"--train_dir {cfg.train_dir} holds checkpoints but no "
                        f"{train_state.CONFIG_FILE}; use a new --train_dir.")
    if is_chief:
        train_state.write_json(path, resolved)


def seed_train_dir(train_dir, model):
    """Makes `train_dir` continue training `model` (a `load_model` result).

    `train` with the model's style images (same names, same order), scratch
    mode and `train_dir` then resumes at `model.provenance["steps"] + 1`
    with a fresh Adam state: how a committed model is trained further when
    the last run's optimizer state is gone (BUILD.md, accelerator runs).

    Returns:
        The checkpoint written (`ckpt-<steps>.npz`, weights only).

    Raises:
        UserError: the model has no step count, or `train_dir` holds
            checkpoints.
    """
    steps = (getattr(model, "provenance", None) or {}).get("steps")
    if not isinstance(steps, int) or steps < 1:
        raise UserError("The model does not say how many steps it was trained for "
                        f"(provenance 'steps'). Received: {steps!r}")
    fingerprint = {"architecture": model.transformer_config.to_dict(),
                   "style_names": list(model.style_names), "init_from": "scratch",
                   "append": False}
    return train_state.seed_from_model(train_dir, model, steps, fingerprint)


def _short(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fingerprint(resolved):
    return {k: resolved.get(k) for k in _FINGERPRINT_KEYS}


# --------------------------------------------------------------------------
# The loop.


class _StopOnSignal:
    """Turns SIGINT/SIGTERM into a request to stop after the current step.

    A signal arriving mid-step would otherwise leave the step number and the
    weights one step apart in the checkpoint written on the way out. A second
    signal gets the previous handler (Ctrl-C twice stops at once).
    """

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handler(self, signum, frame):
        del frame  # Unused.
        self.signum = signum
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        return False


class _Curves:
    """Running per-part, per-style sums between two log steps."""

    def __init__(self, style_names):
        self.names = list(style_names)
        self.reset()

    def reset(self):
        self.sums = {}
        self.counts = np.zeros(len(self.names))
        self.steps = 0
        self.images = 0
        self.t0 = time.perf_counter()

    def add(self, parts, labels):
        n = len(self.names)
        self.counts += np.bincount(labels, minlength=n)
        for k, v in parts.items():
            s = self.sums.setdefault(k, [0.0, np.zeros(n)])
            s[0] += float(np.mean(v))
            s[1] += np.bincount(labels, weights=v, minlength=n)
        self.steps += 1
        self.images += len(labels)

    def scalars(self):
        out = {}
        for k, (total, per_style) in self.sums.items():
            out[f"losses/{k}"] = total / max(1, self.steps)
            for i in np.nonzero(self.counts)[0]:
                out[f"styles/{self.names[i]}/{k}"] = per_style[i] / self.counts[i]
        dt = max(1e-9, time.perf_counter() - self.t0)
        out["speed/steps_per_sec"] = self.steps / dt
        out["speed/images_per_sec"] = self.images / dt
        return out


def _grid_photos(cfg, first_batch):
    from magenta_style.storage import image_io

    if cfg.grid_images:
        import glob as glob_lib

        files = sorted(glob_lib.glob(cfg.grid_images))[:4]
        if not files:
            raise UserError(f"--grid_images matched no files. Received: {cfg.grid_images!r}")
        return [image_io.load_image(f, max_size=cfg.image_size) for f in files]
    return [np.asarray(x, "float32") for x in first_batch[:3]]


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

    def compile(self, engine):
        """Builds `engine.step` from the variables' current values."""
        engine.compile(self.setup.model, self.loss_net, self.content_net, self.optimizer,
                       self.loss_config, self.gram_table, self.coefficients, self.setup)


def build_parts(cfg, engine, styles):
    """The transformer, loss networks, optimizer and style targets for `cfg`.

    Shared by `train` and the benchmarks (bench/train.py, bench/train_jax.py)
    so they time exactly the step training runs. Call `Parts.compile(engine)`
    after restoring a checkpoint into the variables.
    """
    loss_config = cfg.loss_config()
    gram_table = _match_grams(styles.grams, loss_config.style_weights)
    coefficients = _coefficients(cfg, len(styles.names))
    with engine.scope(), _dtype_policy(cfg.mixed_precision):
        setup = build_model(cfg, list(styles.names))
        # Winograd's gradients round reproducibly only under XLA.
        transformer_lib.set_winograd_in_training(setup.model, cfg.jit_compile)
        if cfg.mixed_precision:
            _float32_norms(setup.model)
        loss_net, content_net = loss_networks(cfg)
        optimizer = make_optimizer(cfg)
        optimizer.build(setup.model.trainable_variables)
    return Parts(setup, loss_net, content_net, optimizer, loss_config, gram_table,
                 coefficients)


def _engine_for_backend(cfg, content):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from magenta_style.training import engine_tf

        return engine_tf.Engine(cfg, content)
    if backend == "jax":
        from magenta_style.training import engine_jax

        return engine_jax.Engine(cfg, content)
    raise UserError(f"Training supports the tensorflow and jax Keras backends. "
                    f"Received: KERAS_BACKEND={backend}")


def train(config, content=None, style_set=None):
    """Trains (or fine-tunes, or extends) a multi-style transformer.

    Args:
        config: a `TrainConfig`.
        content: optional in-memory content instead of
            `config.content_images`: a float32 array `[N, H, W, 3]` in [0, 1]
            with H = W = `config.image_size`, cycled in order.
        style_set: optional loaded style set (`style_set.load_style_set`)
            instead of `config.style_images` / `style_dataset_file`.

    Returns:
        The trained `keras.Model` (with `style_names` and `provenance`), also
        written to `config.model_dir` (default `<train_dir>/model`). A run
        stopped by SIGINT/SIGTERM saves a checkpoint, writes the model so far
        there (`provenance["steps"]` < `train_steps`) and raises
        `KeyboardInterrupt`.

    Raises:
        UserError: bad settings or input, a train_dir holding another run, a
            model to fine-tune that does not fit (one-line messages).
    """
    cfg = dataclasses.replace(config)
    if style_set is not None:
        cfg.style_images, cfg.style_dataset_file = None, "<in memory>"
    _check_config(cfg)
    os.makedirs(cfg.train_dir, exist_ok=True)
    engine = _engine_for_backend(cfg, content)
    styles = style_set if style_set is not None else load_styles(cfg, engine.is_chief)
    new_names = list(styles.names)
    built = build_parts(cfg, engine, styles)
    setup, optimizer = built.setup, built.optimizer
    resolved = resolved_config(cfg, setup)
    check_train_dir(cfg, resolved, engine.is_chief)

    start = 0
    latest = train_state.latest_checkpoint(cfg.train_dir)
    if latest:
        with engine.scope():
            meta = train_state.restore_checkpoint(latest, setup.model, optimizer)
        start = int(meta["step"])
        if meta["fresh_optimizer"] and engine.is_chief:
            print(f"Resuming at step {start} from weights alone ({latest}): the "
                  "optimizer starts afresh.", file=sys.stderr)
    model = setup.model
    model.style_names = tuple(setup.style_names)

    built.compile(engine)
    batches = engine.batches(start)
    first = None
    curves = _Curves(setup.style_names)
    last = {}
    writer = engine.summary_writer() if engine.is_chief else None
    meta = _fingerprint(resolved)

    def save(step):
        engine.sync()
        if engine.is_chief:
            train_state.save_checkpoint(cfg.train_dir, step, model, optimizer,
                                        meta, keep=cfg.keep_checkpoints)

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.train_steps, initial=start, unit="step", dynamic_ncols=True,
               disable=not engine.is_chief, desc=os.path.basename(cfg.train_dir.rstrip("/")))
    done = start  # Last step whose update is in the variables.
    pending = None  # (step, labels, device results) not yet read back.

    def record(step, labels, result):
        loss, parts = float(result[0]), {k: np.asarray(v) for k, v in result[1].items()}
        if not np.isfinite(loss):
            raise UserError(
                f"The loss became {loss} at step {step}. Lower --learning_rate or "
                "set --clip_gradient_norm; rerunning resumes from the last "
                "checkpoint.")
        curves.add(parts, labels)  # Labels index setup.style_names.
        bar.update(1)

    with _StopOnSignal() as stop:
        try:
            for step in range(start + 1, cfg.train_steps + 1):
                labels = labels_for_step(cfg.seed, step, cfg.batch_size, len(new_names),
                                         setup.label_offset)
                images = next(batches)
                if first is None:
                    first = engine.local_images(images)
                result = engine.step(images, labels)
                done = step
                # The previous step's losses are read back only now, while
                # this step runs: under JAX the accelerator then never waits
                # for the host's bookkeeping and the next batch (H200, batch
                # 16: 37.5 steps/s, against 20.5 reading every step back at
                # once; BUILD.md). Steps that log, save, draw or stop read
                # their own.
                if pending is not None:
                    record(*pending)
                pending = (step, labels, result)
                log = step % cfg.log_every == 0 or step == cfg.train_steps
                save_now = step % cfg.save_every == 0 and step != cfg.train_steps
                grid = (cfg.grid_every and step % cfg.grid_every == 0 and engine.is_chief
                        and step != cfg.train_steps)
                if log or save_now or grid or stop.signum is not None:
                    record(*pending)
                    pending = None
                if log:
                    scalars = curves.scalars()
                    last = {k[len("losses/"):]: v for k, v in scalars.items()
                            if k.startswith("losses/")}
                    bar.set_postfix(loss=f"{scalars['losses/total_loss']:.4g}",
                                    steps_s=f"{scalars['speed/steps_per_sec']:.3g}")
                    if engine.is_chief:
                        _log_scalars(cfg, writer, step, scalars)
                    curves.reset()
                if stop.signum is not None:
                    break
                if save_now:
                    save(step)
                if grid:
                    engine.sync()
                    _write_grid(cfg, model, styles, _grid_photos(cfg, first), step, writer)
        finally:
            bar.close()
    if done > start or not latest:
        save(done)
    if engine.is_chief and done > start:
        _write_curve(cfg)
    stopped = stop.signum is not None
    engine.sync()
    model.provenance = {
        "trained_by": "magenta_style.training",
        "mode": ("scratch" if cfg.init_from == "scratch"
                 else "append" if cfg.append else "finetune"),
        "init_from": cfg.init_from,
        "steps": int(done),
        "train_steps": int(cfg.train_steps),
        "batch_size": cfg.batch_size,
        "image_size": cfg.image_size,
        "content_images": cfg.content_images if content is None else "<in memory>",
        "final_losses": {k: float(v) for k, v in last.items()},
        "backend": keras.backend.backend(),
    }
    if engine.is_chief and (done > start or not stopped):
        from magenta_style.storage import model_format

        # Written on an early stop too: runs cut short by a time limit
        # (accelerator leases) leave a usable model, its provenance saying
        # how many of train_steps it has had.
        model_format.save_model(model, cfg.model_dir or os.path.join(cfg.train_dir, MODEL_SUBDIR),
                            style_names=list(setup.style_names),
                            provenance=model.provenance)
    if stopped:
        # Ctrl-C, `timeout`, SIGTERM: no final grid; rerunning the command
        # continues from the checkpoint.
        if writer is not None:
            writer.close()
        print(f"Stopped at step {done}; checkpoint and model saved in {cfg.train_dir}. "
              "Rerun the same command to continue.", file=sys.stderr)
        raise KeyboardInterrupt
    if engine.is_chief and (first is not None or cfg.grid_images):
        _write_grid(cfg, model, styles, _grid_photos(cfg, first), done, writer)
    if writer is not None:
        writer.close()
    return model


def _log_scalars(cfg, writer, step, scalars):
    record = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
    with open(os.path.join(cfg.train_dir, METRICS_FILE), "a") as f:
        f.write(json.dumps(record) + "\n")
    if writer is not None:
        writer.scalars(step, scalars)


def _write_curve(cfg):
    """`<train_dir>/loss_curve.png` from `metrics.jsonl`, at the end of every run.

    Once per run (not per log step): with many styles the file grows by MBs
    per thousand steps. A curve is a convenience, so a file it cannot read
    (edited by hand, say) only prints why.
    """
    from magenta_style.training import curves

    path = os.path.join(cfg.train_dir, METRICS_FILE)
    if os.path.isfile(path):
        try:
            curves.plot_curves(curves.read_metrics([path]),
                               os.path.join(cfg.train_dir, CURVE_FILE))
        except UserError as e:
            print(f"No loss curve drawn: {e}", file=sys.stderr)


def _write_grid(cfg, model, styles, photos, step, writer):
    from magenta_style.storage import image_io
    from magenta_style.training import evaluation

    grid = evaluation.style_grid(model, photos, style_images=_style_thumbs(model, styles))
    path = os.path.join(cfg.train_dir, GRID_SUBDIR, f"grid_{step:07d}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_io.save_image(grid, path)
    if writer is not None:
        writer.image(step, "style_grid", grid)
    return path


def _style_thumbs(model, styles):
    """Style images for the grid header, None for styles without one (old rows)."""
    new = list(getattr(styles, "images", None) or [None] * len(styles.names))
    return [None] * (len(model.style_names) - len(new)) + new
