"""A train dir: the run it holds (fingerprint), its metrics, curve and style grids.

`check_train_dir` refuses a folder that holds another run (other
architecture, styles or mode); `seed_train_dir` starts one from a trained
model. The metrics (`metrics.jsonl`), the loss curve PNG and the style grid
PNGs (also to TensorBoard, where there is a writer) are written here.
"""

import dataclasses
import json
import os
import sys

import keras

from magenta_style.errors import UserError
from magenta_style.storage import json_file
from magenta_style.training import config as train_config
from magenta_style.training import train_state

# What defines the run a train dir holds: resuming with other values is
# refused, since it would mix two models (`teacher`: distillation only).
_FINGERPRINT_KEYS = ("architecture", "style_names", "init_from", "append", "teacher")
# config.json key of a seeded train dir: the seed model's steps and provenance,
# kept across reruns and passed on to the trained model's provenance.
SEEDED_FROM = "seeded_from"


def resolved_config(cfg, architecture, style_names):
    """The JSON written to `<train_dir>/config.json`: `cfg`'s fields, the
    trained network's `architecture` dict, the `style_names` its labels
    index, and the Keras backend (`append` False for trainers without it)."""
    out = dict(dataclasses.asdict(cfg), append=getattr(cfg, "append", False))
    out.update(architecture=architecture, style_names=list(style_names),
               backend=keras.backend.backend())
    return out


def check_train_dir(cfg, resolved, is_chief=True):
    """Refuses a train_dir that holds another run; writes config.json.

    A `SEEDED_FROM` record already there (`seed_train_dir`) is copied into
    `resolved` (in place) and so kept in the config.json written.
    """
    path = os.path.join(cfg.train_dir, train_state.CONFIG_FILE)
    if os.path.isfile(path):
        try:
            previous = json_file.read(path, "Training run config")
            if not isinstance(previous, dict):
                raise UserError(f"{path} is not a JSON object")
        except (OSError, UserError) as e:
            raise UserError(f"Broken {path}: {e}. Delete it or use a new --train_dir.") \
                from None
        diff = [k for k in _FINGERPRINT_KEYS if previous.get(k) != resolved.get(k)]
        if diff:
            k = diff[0]
            raise UserError(
                f"--train_dir {cfg.train_dir} holds a different training run "
                f"({k}: {_short(previous.get(k))} there, {_short(resolved.get(k))} now). "
                "Use a new --train_dir, or the settings it was started with.")
        if SEEDED_FROM in previous:
            resolved[SEEDED_FROM] = previous[SEEDED_FROM]
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
    the last run's optimizer state is gone (BUILD.md, accelerator runs). The
    seed's step count and provenance stay in config.json (`SEEDED_FROM`) and
    reach the provenance of the model the run writes, so a model continued
    from a distilled one still says so.

    Returns:
        The checkpoint written (`ckpt-<steps>.npz`, weights only).

    Raises:
        UserError: the model has no step count, or `train_dir` holds
            checkpoints.
    """
    steps = model.provenance.get("steps")
    if not isinstance(steps, int) or steps < 1:
        raise UserError("The model does not say how many steps it was trained for "
                        f"(provenance 'steps'). Received: {steps!r}")
    fingerprint = {"architecture": model.transformer_config.to_dict(),
                   "style_names": list(model.style_names), "init_from": "scratch",
                   "append": False}
    seed = {"steps": steps, "provenance": dict(model.provenance)}
    return train_state.seed_from_model(train_dir, model, steps, fingerprint,
                                       record={SEEDED_FROM: seed})


def _short(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fingerprint(resolved):
    return {k: resolved.get(k) for k in _FINGERPRINT_KEYS}


# --------------------------------------------------------------------------
# The loop.


def log_scalars(cfg, writer, step, scalars):
    record = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
    with open(os.path.join(cfg.train_dir, train_config.METRICS_FILE), "a") as f:
        f.write(json.dumps(record) + "\n")
    if writer is not None:
        writer.scalars(step, scalars)


def write_curve(cfg, keys=None):
    """`<train_dir>/loss_curve.png` from `metrics.jsonl`, at the end of every run.

    `keys`: the scalars drawn (default `curves.DEFAULT_KEYS`, the losses of
    Magenta's objective).

    Once per run (not per log step): with many styles the file grows by MBs
    per thousand steps. A curve is a convenience, so a file it cannot read
    (edited by hand, say) only prints why.
    """
    from magenta_style.training import curves

    path = os.path.join(cfg.train_dir, train_config.METRICS_FILE)
    if os.path.isfile(path):
        try:
            curves.plot_curves(curves.read_metrics([path]),
                               os.path.join(cfg.train_dir, train_config.CURVE_FILE),
                               keys=keys or curves.DEFAULT_KEYS)
        except UserError as e:
            print(f"No loss curve drawn: {e}", file=sys.stderr)


def write_grid(cfg, model, styles, photos, step, writer):
    from magenta_style.storage import image_io
    from magenta_style.stylization import grid as grid_lib

    grid = grid_lib.style_grid(model, photos, style_images=_style_thumbs(model, styles))
    path = os.path.join(cfg.train_dir, train_config.GRID_SUBDIR, f"grid_{step:07d}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_io.save_image(grid, path)
    if writer is not None:
        writer.image(step, "style_grid", grid)
    return path


def _style_thumbs(model, styles):
    """Style images for the grid header, None for styles without one (old rows)."""
    new = list(getattr(styles, "images", None) or [None] * len(styles.names))
    return [None] * (len(model.style_names) - len(new)) + new
