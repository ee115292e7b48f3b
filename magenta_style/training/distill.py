"""`distill`: trains a narrower multi-style network to reproduce a trained one.

How `varied-small` was started (issue 16: "trained or distilled from varied"):
the student, Magenta's network at a smaller `alpha` with the teacher's
styles and style names, sees content photos, each under one of the
teacher's styles (drawn from the seed and the step, `loop.labels_for_step`),
and learns to give the teacher's pastiche of it. The loss is the mean
absolute difference of the two pastiches over pixels and channels (values
in [0, 1]). No VGG-16 and no Gram matrices: a step is one teacher forward
pass and one student update, which is what lets a CPU train the small
network (BUILD.md, "`varied-small`").

The student starts from the teacher's weights cut to its width
(`narrow_weights`) unless told otherwise: for each group of channels, the
channels whose style scales (|gamma|, mean over the styles) are largest,
with every convolution and style table sliced to them. That network is not
the teacher, but it starts much closer to it than random weights do
(BUILD.md has the curves).

The run itself is `runner.run_training` given a `DistillTask`, as for the
other trainers: the backend's `engine.Engine` step, `train_state`
checkpoints (rerun to resume), `run_dir`'s config check, metrics and loss
curve.
"""

import dataclasses
import math

import keras
import numpy as np

from magenta_style.errors import UserError
from magenta_style.model import transformer as transformer_lib
from magenta_style.training import base_model
from magenta_style.training import loop
from magenta_style.training import modes
from magenta_style.training import runner

# `--init_from` values that are not a model to load.
INIT_NARROWED = "narrowed"
INIT_RANDOM = "random"


def check_config(cfg):
    """Refuses settings `distill` cannot run with (one-line `UserError`)."""
    if not cfg.train_dir:
        raise UserError("--train_dir is required (checkpoints and the model go there).")
    for name in ("batch_size", "train_steps", "save_every", "log_every", "keep_checkpoints"):
        if int(getattr(cfg, name)) < 1:
            raise UserError(f"--{name} must be >= 1. Received: {getattr(cfg, name)}")
    if cfg.image_size < 16:
        raise UserError(f"--image_size must be >= 16. Received: {cfg.image_size}")
    if not cfg.learning_rate > 0:
        raise UserError(f"--learning_rate must be > 0. Received: {cfg.learning_rate}")
    if cfg.strategy != "default":
        raise UserError("Distillation runs on one device: --strategy=default. "
                        f"Received: {cfg.strategy!r}")
    if cfg.alpha is not None and not cfg.alpha > 0:
        raise UserError(f"--alpha must be > 0. Received: {cfg.alpha}")
    modes.check_numbers(cfg)


def _channel_scores(table):
    """`[channels]`: a style table's |gamma|, mean over its styles."""
    return np.abs(np.asarray(table.gamma)).mean(axis=0)


def _strongest(scores, count):
    """The `count` indices of the largest `scores`, in channel order."""
    return np.sort(np.argsort(-scores, kind="stable")[:count])


def narrow_weights(teacher, student):
    """Sets `student`'s weights to `teacher`'s, cut to the student's widths.

    Args:
        teacher: a `PasticheNetwork`.
        student: a `PasticheNetwork` with the teacher's number of styles,
            residual blocks, expand blocks and kernel sizes, and no wider
            layers.

    Channels are kept per group that must agree: each contract and expand
    convolution's output; each residual block's inner channels; and the
    residual stream (the last contract convolution and every residual
    block's second convolution write to it), scored by the sum of its
    writers' |gamma|. A convolution keeps the rows of the channels its input
    kept and the columns of its own.

    Raises:
        UserError: architectures that do not match as above (quotes them).
    """
    t_cfg, s_cfg = teacher.transformer_config, student.transformer_config
    same = ("num_styles", "num_residual_blocks", "kernel_sizes")
    if (any(getattr(t_cfg, k) != getattr(s_cfg, k) for k in same)
            or len(t_cfg.expand_widths) != len(s_cfg.expand_widths)):
        raise UserError(
            "The student must have the teacher's styles, blocks and kernel sizes. "
            f"Received: teacher {t_cfg.to_dict()}, student {s_cfg.to_dict()}")
    tb, sb = teacher.blocks, student.blocks

    def width(block):
        return int(block.conv.kernel.shape[-1])

    def pairs():
        yield from zip(tb.contract, sb.contract)
        for t_pair, s_pair in zip(tb.residual, sb.residual):
            yield from zip(t_pair, s_pair)
        yield from zip(tb.expand, sb.expand)
        yield tb.output, sb.output

    for t_block, s_block in pairs():
        if width(s_block) > width(t_block):
            raise UserError(
                f"The student's {s_block.name} is wider than the teacher's "
                f"({width(s_block)} > {width(t_block)} channels); distil to a smaller alpha. "
                f"Received: teacher alpha {t_cfg.alpha}, student alpha {s_cfg.alpha}")
    stream_writers = [tb.contract[-1]] + [pair[1] for pair in tb.residual]
    stream = _strongest(sum(_channel_scores(b.table) for b in stream_writers),
                        width(sb.contract[-1]))
    writer_names = {b.name for b in stream_writers}
    kept = {}  # block name -> output channels kept
    for t_block, s_block in pairs():
        if t_block.name in writer_names:
            kept[t_block.name] = stream
        elif t_block.name == tb.output.name:
            kept[t_block.name] = np.arange(width(t_block))
        else:
            kept[t_block.name] = _strongest(_channel_scores(t_block.table), width(s_block))
    # In `pairs()` order every convolution reads the output of the one before
    # it (RGB for the first); a residual block's first convolution and the
    # first expand convolution come after a stream writer, so they read the
    # stream.
    rows = np.arange(3)
    for t_block, s_block in pairs():
        cols = kept[t_block.name]
        kernel = np.asarray(t_block.conv.kernel)[:, :, rows][:, :, :, cols]
        s_block.conv.kernel.assign(kernel)
        s_block.table.gamma.assign(np.asarray(t_block.table.gamma)[:, cols])
        s_block.table.beta.assign(np.asarray(t_block.table.beta)[:, cols])
        rows = cols


def load_teacher(name_or_dir):
    """The multi-style model to distil, frozen (one-line `UserError` if unreadable)."""
    teacher = base_model.load_base_model(name_or_dir, purpose="Distillation")
    teacher.trainable = False
    return teacher


def build_student(cfg, teacher):
    """The student `PasticheNetwork` for `cfg.init_from` (see module doc).

    `narrowed` or `random`: the teacher's architecture at `cfg.alpha`; any
    other value names a model to continue (a committed `varied-small`, say),
    which must have the teacher's styles. Random weights come from Keras's
    global seed (`runner.set_seed`, which the run sets first).
    """
    names = list(teacher.style_names)
    if cfg.init_from in (INIT_NARROWED, INIT_RANDOM):
        alpha = 0.5 if cfg.alpha is None else cfg.alpha
        arch = dataclasses.replace(teacher.transformer_config, alpha=alpha)
        student = transformer_lib.build_transformer_from_config(
            arch, name="student", style_names=names)
        if cfg.init_from == INIT_NARROWED:
            narrow_weights(teacher, student)
        return student
    student = base_model.load_base_model(cfg.init_from, purpose="Distillation")
    if list(student.style_names) != names:
        raise UserError(f"--init_from={cfg.init_from} has other styles than the teacher "
                        f"{cfg.teacher}. Received: {list(student.style_names)[:3]}...")
    alpha = student.transformer_config.alpha
    if cfg.alpha is not None and not math.isclose(cfg.alpha, alpha):
        raise UserError(f"--init_from={cfg.init_from} has alpha={alpha}, but "
                        f"--alpha={cfg.alpha}. Omit --alpha to use the model's.")
    return student


def distill_objective(model_fn, net_fns, constants, images, style_weights):
    """`(mean loss, {"total_loss": [B]})`: student against teacher, per photo.

    `engine.Engine.compile`'s objective: `net_fns` is (teacher,), no
    `constants`; `images` `[B, S, S, 3]` float32 in [0, 1], `style_weights`
    `[B, styles]` float32 (one-hot); the loss of a photo is the mean of
    |student - teacher| over its pixels and channels, in [0, 1].
    """
    del constants  # Unused: the teacher gives the targets.
    inputs = [images, style_weights]
    target = keras.ops.stop_gradient(net_fns[0](inputs))
    pastiche = model_fn(inputs, training=True)
    per_photo = keras.ops.mean(keras.ops.abs(
        keras.ops.cast(pastiche, "float32") - keras.ops.cast(target, "float32")),
        axis=(1, 2, 3))
    return keras.ops.mean(per_photo), {"total_loss": per_photo}


class DistillTask(runner.SavesPasticheNetwork):
    """`runner.Task` of `distill`: a student learning a teacher's pastiches.

    Args:
        cfg: a `config.DistillConfig`.
        content: optional in-memory photos (see `distill`).
    """

    trained_by = "magenta_style.training.distill"
    curve_keys = ("losses/total_loss",)  # The one loss there is.

    def __init__(self, cfg, content=None):
        self.cfg = cfg
        self.content = content
        self.teacher = None
        self.eye = None

    def check_config(self):
        check_config(self.cfg)

    def prepare(self, engine):
        with engine.scope():
            self.teacher = load_teacher(self.cfg.teacher)

    def build(self, engine):
        cfg = self.cfg
        with engine.scope():
            student = build_student(cfg, self.teacher)
            optimizer = modes.make_optimizer(cfg.learning_rate, cfg.clip_gradient_norm)
            optimizer.build(student.trainable_variables)
        names = list(student.style_names)
        self.eye = np.eye(len(names), dtype="float32")
        return runner.Built(
            model=student, optimizer=optimizer, objective=distill_objective,
            nets=[self.teacher], architecture=student.transformer_config.to_dict(),
            names=names)

    def batch(self, step):
        cfg = self.cfg
        labels = loop.labels_for_step(cfg.seed, step, cfg.batch_size, len(self.eye))
        return labels, self.eye[labels]

    def provenance(self, built):
        return {"mode": "distill", "teacher": self.cfg.teacher,
                "teacher_provenance": self.teacher.provenance,
                "resize_side": self.cfg.resize_side}


def distill(config, content=None):
    """Distils `config.teacher` into a narrower network (or continues doing so).

    Args:
        config: a `config.DistillConfig`.
        content: optional in-memory photos instead of `config.content_images`:
            float32 `[N, S, S, 3]` in [0, 1] with S = `config.image_size`,
            cycled in order.

    Returns:
        The student `PasticheNetwork` (the teacher's styles and names), also
        written to `config.model_dir` (default `<train_dir>/model`) in the
        format `stylize` loads, its provenance naming the teacher. A run
        stopped by SIGINT/SIGTERM saves a checkpoint and the model so far,
        then raises `KeyboardInterrupt`; rerunning continues from it.

    Raises:
        UserError: bad settings or input, a train_dir holding another run
            (one-line messages).
    """
    cfg = dataclasses.replace(config)
    return runner.run_training(cfg, DistillTask(cfg, content))
