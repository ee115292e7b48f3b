"""`train_arbitrary`: trains a style predictor and its transformer (Ghiasi et al. 2017).

Magenta's `arbitrary_image_stylization_train` (Inception-v3 predictor) and
`_train_mobile` (MobileNet-v2 predictor, trunk frozen, alpha 0.25), on the
same run as the multi-style training (`runner.run_training`, given an
`ArbitraryTask`): the backend's `engine.Engine` step, content batches and
summary writer, `train_state` checkpoints, `run_dir`'s config check, metrics
and curve; the objective is `losses.objective.compute_arbitrary_losses` (the
project's VGG-16 loss terms).

Each step pairs every content photo with a painting drawn by
`data.style_images.StyleImageSampler` (a pure function of the seed and the
step, so a resumed run draws what the killed one would have). The predictor
maps the painting to a style vector, the transformer renders the photo with
it, and the loss compares the pastiche with the photo (content) and with the
painting's Gram matrices (style), plus total variation.

Departures from Magenta, each for a stated reason:
- The contract convolutions train without batch norm: the transformer is
  the one `model.arbitrary_transformer` builds, whose contract layers carry
  the folded norm as a bias (Magenta's released graph has exactly that).
- Random painting sizes are multiples of 32 (`style_images.RANDOM_SIZE_STEP`):
  a compiled step is compiled once per shape.
- Checkpoints are by step count (`--save_every`), not every 15 s.
"""

import dataclasses
import os

import keras

from magenta_style.data import style_images as style_images_lib
from magenta_style.errors import UserError
from magenta_style.losses import objective
from magenta_style.model import arbitrary_transformer
from magenta_style.model import style_predictor
from magenta_style.training import base_model
from magenta_style.training import modes
from magenta_style.training import runner

# Magenta's transformer width per predictor: the paper's network (1.0) and
# the mobile release (0.25).
DEFAULT_ALPHA = {"inception_v3": 1.0, "mobilenet_v2": 0.25}
# The predictor layer that maps the pooled trunk features to the style
# vector; it trains even when the trunk is frozen (Magenta's mobile recipe).
BOTTLENECK_LAYER = "bottleneck_conv"


def check_config(cfg):
    """Refuses settings `train_arbitrary` cannot run with (one-line `UserError`)."""
    if not cfg.train_dir:
        raise UserError("--train_dir is required (checkpoints and the model go there).")
    if not cfg.style_images:
        raise UserError("--style_images is required: a folder, glob or list of paintings.")
    if cfg.predictor not in style_predictor.KINDS:
        raise UserError(f"--predictor must be one of {', '.join(style_predictor.KINDS)}. "
                        f"Received: {cfg.predictor!r}")
    for name in ("batch_size", "train_steps", "save_every", "log_every", "keep_checkpoints"):
        if int(getattr(cfg, name)) < 1:
            raise UserError(f"--{name} must be >= 1. Received: {getattr(cfg, name)}")
    if cfg.image_size < 16 or cfg.style_image_size < 16:
        raise UserError("--image_size and --style_image_size must be >= 16. Received: "
                        f"{cfg.image_size}, {cfg.style_image_size}")
    if cfg.predictor == "inception_v3" and min(
            cfg.style_image_size, cfg.min_style_image_size
            if cfg.random_style_image_size else cfg.style_image_size) < 75:
        raise UserError("Inception-v3 needs paintings of at least 75 px. Received: "
                        f"style_image_size={cfg.style_image_size}, "
                        f"min_style_image_size={cfg.min_style_image_size}")
    if not cfg.learning_rate > 0:
        raise UserError(f"--learning_rate must be > 0. Received: {cfg.learning_rate}")
    if cfg.strategy != "default":
        raise UserError("Arbitrary-style training runs on one device: --strategy=default. "
                        f"Received: {cfg.strategy!r}")
    modes.check_numbers(cfg)


def _predictor_weights(cfg):
    value = cfg.predictor_weights
    if cfg.predictor != "inception_v3" or value is None or str(value).lower() == "none":
        return None
    return value


def build_networks(cfg):
    """(predictor, transformer) to train: new (scratch) or loaded (`init_from`).

    The predictor's trunk is frozen (`trainable=False`, batch norm in
    inference mode) when `freeze_predictor_trunk` says so, default Magenta's
    choice per trunk; its bottleneck layer always trains. New weights come
    from Keras's global seed (`runner.set_seed`, which the run sets first).

    Raises:
        UserError: a model to continue that is not an arbitrary-style model or
            does not match `--predictor` / `--alpha`.
    """
    if cfg.init_from == "scratch":
        predictor = style_predictor.build_style_predictor(
            cfg.predictor, weights=_predictor_weights(cfg))
        alpha = DEFAULT_ALPHA[cfg.predictor] if cfg.alpha is None else cfg.alpha
        transformer = arbitrary_transformer.build_arbitrary_transformer(alpha)
    else:
        base = base_model.load_base_model(cfg.init_from, multi_style=False)
        if not isinstance(base, arbitrary_transformer.ArbitraryStyleModel):
            raise UserError(f"--init_from={cfg.init_from} is not an arbitrary-style model "
                            "(a predictor and its transformer), such as arbitrary-v1.")
        kind = base.predictor.predictor_config.kind
        if kind != cfg.predictor:
            raise UserError(f"--init_from={cfg.init_from} has a {kind} predictor, but "
                            f"--predictor={cfg.predictor}. Pass --predictor={kind}.")
        arch_alpha = base.transformer.arbitrary_config.alpha
        if cfg.alpha is not None and cfg.alpha != arch_alpha:
            raise UserError(f"--init_from={cfg.init_from} has alpha={arch_alpha}, but "
                            f"--alpha={cfg.alpha}. Omit --alpha to use the model's.")
        predictor, transformer = base.predictor, base.transformer
    freeze = (cfg.predictor == "mobilenet_v2" if cfg.freeze_predictor_trunk is None
              else cfg.freeze_predictor_trunk)
    if freeze:
        for layer in predictor.layers:
            if layer.name != BOTTLENECK_LAYER:
                layer.trainable = False
    return predictor, transformer


def training_model(predictor, transformer):
    """`[photo [B, H, W, 3], painting [B, h, w, 3]]` -> pastiche `[B, H, W, 3]`.

    One `keras.Model` around the two networks (sharing their variables), so
    that a checkpoint and the step see one set of variables.
    """
    photo = keras.Input(shape=(None, None, 3), name="image")
    painting = keras.Input(shape=(None, None, 3), name="style_image")
    vector = predictor(painting)
    pastiche = transformer([photo, vector])
    return keras.Model([photo, painting], pastiche, name="arbitrary_training")


def arbitrary_objective(loss_config):
    """`engine.Engine.compile`'s objective for arbitrary-style training.

    `objective_fn(model_fn, net_fns, constants, images, paintings)`: photos
    `[B, H, W, 3]` and paintings `[B, h, w, 3]` float32 in [0, 1], `net_fns`
    the (pastiche, content) VGG-16 networks; no constants.
    """
    def objective_fn(model_fn, net_fns, constants, images, paintings):
        del constants  # Unused: the targets are the paintings themselves.
        return objective.compute_arbitrary_losses(
            model_fn, net_fns[0], net_fns[1], images, paintings, loss_config)

    return objective_fn


class ArbitraryTask:
    """`runner.Task` of `train_arbitrary`: a style predictor and its transformer.

    Args:
        cfg: a `config.ArbitraryTrainConfig`.
        content: optional in-memory photos (see `train_arbitrary`).
    """

    trained_by = "magenta_style.training.arbitrary"
    curve_keys = None  # Content, style and total losses, as Magenta's.

    def __init__(self, cfg, content=None):
        self.cfg = cfg
        self.content = content
        self.sampler = None
        self.networks = None

    def check_config(self):
        check_config(self.cfg)

    def prepare(self, engine):
        cfg = self.cfg
        self.sampler = style_images_lib.StyleImageSampler(
            cfg.style_images, cfg.batch_size, cfg.style_image_size,
            augment=cfg.augment_style_images, random_size=cfg.random_style_image_size,
            size_range=(cfg.min_style_image_size, cfg.max_style_image_size), seed=cfg.seed)

    def build(self, engine):
        cfg = self.cfg
        with engine.scope():
            predictor, transformer = build_networks(cfg)
            model = training_model(predictor, transformer)
            loss_net, content_net = modes.loss_networks(cfg)
            optimizer = modes.make_optimizer(cfg.learning_rate, cfg.clip_gradient_norm)
            optimizer.build(model.trainable_variables)
        self.networks = predictor, transformer
        return runner.Built(
            model=model, optimizer=optimizer,
            objective=arbitrary_objective(cfg.loss_config()), nets=[loss_net, content_net],
            architecture={"predictor": predictor.predictor_config.to_dict(),
                          "transformer": transformer.arbitrary_config.to_dict()},
            names=list(self.sampler.names))

    def batch(self, step):
        # Per-painting curves: the sampler's indices play the multi-style labels.
        paintings, which = self.sampler.batch(step)
        return which, paintings

    def provenance(self, built):
        return {"style_images": self.cfg.style_images}

    def result(self, built, provenance):
        predictor, transformer = self.networks
        return arbitrary_transformer.ArbitraryStyleModel(
            predictor, transformer, name=os.path.basename(self.cfg.train_dir.rstrip("/")),
            provenance=provenance)

    def save(self, result, model_dir, overwrite):
        from magenta_style.storage import arbitrary_format

        arbitrary_format.save_arbitrary_model(result, model_dir, provenance=result.provenance,
                                              overwrite=overwrite)


def train_arbitrary(config, content=None):
    """Trains (or continues training) an arbitrary-style model.

    Args:
        config: a `config.ArbitraryTrainConfig`.
        content: optional in-memory photos instead of `config.content_images`:
            float32 `[N, S, S, 3]` in [0, 1] with S = `config.image_size`,
            cycled in order.

    Returns:
        The trained `arbitrary_transformer.ArbitraryStyleModel`, also written
        to `config.model_dir` (default `<train_dir>/model`) in the format
        `stylize(style_image=...)` loads. A run stopped by SIGINT/SIGTERM
        saves a checkpoint and the model so far, then raises
        `KeyboardInterrupt`; rerunning continues from the checkpoint.

    Raises:
        UserError: bad settings or input, a train_dir holding another run
            (one-line messages).
    """
    cfg = dataclasses.replace(config)
    return runner.run_training(cfg, ArbitraryTask(cfg, content))
