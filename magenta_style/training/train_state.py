"""Training checkpoints and the run description kept in a `train_dir`.

A checkpoint is one `.npz` file, `ckpt-<step>.npz`, holding every transformer
variable (by Keras path), every optimizer variable (Adam's moments, its
iteration counter, the loss scale under mixed precision) and a JSON header
(`step`, the run fingerprint). NumPy arrays rather than `tf.train.Checkpoint`
so that the same file resumes under the TensorFlow and the JAX backends: a run
started on a GPU machine without TensorFlow continues on a CPU with it.

Files are written to a temporary name in `train_dir` and renamed into place,
so killing the process at any moment leaves either the previous checkpoint or
the new one, never half of one. The label stream and the content order are
functions of (seed, step), so the step is all the "RNG state" a resume needs.

This module imports neither TensorFlow nor JAX.
"""

import glob
import json
import os
import re

import numpy as np

from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import json_file
from magenta_style.storage import npz_file
from magenta_style.storage import weights_file

CONFIG_FILE = "config.json"
_CKPT = re.compile(r"^ckpt-(\d+)\.npz$")
_META = "__meta__"


def _atomic_write_bytes(path, write_fn, suffix=""):
    """`atomic.write_file` for writers that take an open binary file."""

    def write(tmp):
        with open(tmp, "wb") as f:
            write_fn(f)

    atomic.write_file(path, write, suffix=suffix)


def write_json(path, obj):
    """Writes `obj` as indented JSON to `path` atomically."""
    data = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    _atomic_write_bytes(path, lambda f: f.write(data), suffix=".json")


def checkpoints(train_dir):
    """[(step, path)] of the complete checkpoints in `train_dir`, by step."""
    found = []
    for path in glob.glob(os.path.join(glob.escape(train_dir), "ckpt-*.npz")):
        m = _CKPT.match(os.path.basename(path))
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(train_dir):
    """Path of the newest checkpoint in `train_dir`, or None."""
    found = checkpoints(train_dir)
    return found[-1][1] if found else None


def _model_key(variable):
    return "model/" + variable.path


def _optimizer_key(index, variable):
    # Drop the optimizer's own name ("adam_1/..." in a process that built two);
    # the index keeps keys unique.
    return f"optimizer/{index:05d}/{variable.path.split('/', 1)[-1]}"


def save_checkpoint(train_dir, step, model, optimizer, meta=None, keep=3):
    """Writes `ckpt-<step>.npz` atomically and keeps the newest `keep`.

    Args:
        train_dir: existing folder.
        step: int, training steps done.
        model: the transformer (all its variables are saved, frozen too).
        optimizer: a built Keras optimizer, or None for a checkpoint of the
            weights alone (a run resumed from it starts a fresh optimizer:
            how a train dir is seeded from a shipped model, see
            `seed_from_model`).
        meta: JSON-able dict stored with the arrays (e.g. the fingerprint).
        keep: how many checkpoints to keep (>= 1).

    Returns:
        The checkpoint path.
    """
    arrays = {_model_key(v): np.asarray(v) for v in model.variables}
    for i, v in enumerate(optimizer.variables if optimizer is not None else ()):
        arrays[_optimizer_key(i, v)] = np.asarray(v)
    header = dict(meta or {}, step=int(step))
    arrays[_META] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path = os.path.join(train_dir, f"ckpt-{int(step)}.npz")
    _atomic_write_bytes(path, lambda f: np.savez(f, **arrays), suffix=".npz")
    for _, old in checkpoints(train_dir)[:-max(1, keep)]:
        try:
            os.remove(old)
        except FileNotFoundError:  # Another worker pruned it first.
            pass
    return path


class DamagedCheckpoint(UserError):
    """A checkpoint file that cannot be read (truncated, corrupt)."""


def _read(path):
    """(header dict, {key: array}) of a checkpoint file.

    Raises:
        DamagedCheckpoint: the file is not a readable checkpoint (a copy cut
            short, a full disk outside our atomic writes, flipped bytes).
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json_file.loads(bytes(f[_META]), f"the header of {path}")
            stored = {k: f[k] for k in f.files if k != _META}
    except npz_file.READ_ERRORS as e:
        raise DamagedCheckpoint(f"Broken training checkpoint {path} ({type(e).__name__}: "
                                f"{str(e).splitlines()[0] if str(e) else 'unreadable'}). "
                                "Delete it to resume from the previous one.") from None
    step = meta.get("step") if isinstance(meta, dict) else None
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise DamagedCheckpoint(f"Broken training checkpoint {path}: its header has no "
                                "step. Delete it to resume from the previous one.")
    return meta, stored


def read_meta(path):
    """The JSON header of a checkpoint file.

    Raises:
        DamagedCheckpoint: an unreadable file.
    """
    return _read(path)[0]


def restore_checkpoint(path, model, optimizer):
    """Loads a checkpoint into `model` and the built `optimizer`.

    A checkpoint holding no optimizer variables (`save_checkpoint(...,
    optimizer=None)`) loads the weights and leaves `optimizer` as built:
    the run continues with a fresh optimizer state.

    The optimizer's learning rate stays as built (the run's
    `--learning_rate`), not the checkpoint's: rerunning with a lower one is
    how a run that diverged, or one that should anneal, continues.

    Returns:
        The checkpoint's header dict (with `step`, `fresh_optimizer`: True
        where the optimizer was left as built, and `learning_rate_was`: the
        checkpoint's learning rate where it differs from the optimizer's).

    Raises:
        DamagedCheckpoint: the file cannot be read (nothing was assigned).
        UserError: the file does not hold this model's or this optimizer's
            variables (another architecture, style count or mode).
    """
    meta, stored = _read(path)  # all of it, before assigning anything
    pairs = [(_model_key(v), v) for v in model.variables]
    fresh = not any(k.startswith("optimizer/") for k in stored)
    rates = {}
    if not fresh:
        pairs += [(_optimizer_key(i, v), v) for i, v in enumerate(optimizer.variables)]
        rates = {key: np.array(v) for key, v in pairs if key.endswith("/learning_rate")}
    try:
        weights_file.assign(pairs, stored)
    except ValueError as e:
        raise UserError(
            f"Checkpoint {path} holds a different model or optimizer than this "
            f"run builds ({e}). Use a new --train_dir "
            "or the settings it was trained with."
        ) from None
    header = dict(meta, fresh_optimizer=fresh)
    variables = dict(pairs)
    for key, rate in rates.items():
        if not np.array_equal(stored[key], rate):
            header["learning_rate_was"] = float(stored[key])
        variables[key].assign(rate)
    return header


def restore_latest(train_dir, model, optimizer, log=None):
    """Restores the newest readable checkpoint of `train_dir`.

    A damaged newest checkpoint (say, `ckpt-N.npz` cut short by a full disk
    or a bad copy) is reported through `log` and the one before it is used:
    the run loses the steps between them instead of stopping.

    Args:
        log: callable taking one line (default: ignore).

    Returns:
        `(path, header)` as `restore_checkpoint` gives it, or `(None, None)`
        when `train_dir` holds no checkpoint.

    Raises:
        UserError: every checkpoint is damaged (their messages), or one does
            not fit this run.
    """
    found = checkpoints(train_dir)
    damaged = []
    for _, path in reversed(found):
        try:
            meta = restore_checkpoint(path, model, optimizer)
        except DamagedCheckpoint as e:
            damaged.append(path)
            if log is not None:
                log(f"{e} Trying the previous checkpoint.")
            continue
        if damaged and log is not None:
            log(f"Resuming from {os.path.basename(path)}: the newer "
                f"{', '.join(os.path.basename(d) for d in damaged)} could not be read.")
        if "learning_rate_was" in meta and log is not None:
            log(f"Resuming with learning rate {float(np.asarray(optimizer.learning_rate)):g} "
                f"(the checkpoint ran at {meta['learning_rate_was']:g}).")
        return path, meta
    if damaged:
        raise UserError(f"Every checkpoint in {train_dir} is damaged "
                        f"({', '.join(os.path.basename(d) for d in damaged)}). Delete them "
                        "to start again, or use a new --train_dir.")
    return None, None


def seed_from_model(train_dir, model, step, fingerprint, record=None):
    """Starts `train_dir` from a trained model, to continue training it.

    Writes `ckpt-<step>.npz` with the model's weights and no optimizer state
    and a `config.json` holding `fingerprint` (what `training.train` checks a
    train dir against: architecture, style names, init_from, append), so
    that `train` with the same styles resumes at `step + 1` with a fresh
    Adam. How the accelerator runs continue a committed model when the
    optimizer state of the last run is not at hand
    (`tools/accel_prepare.py --resume_model`).

    Args:
        train_dir: folder to create; must hold no checkpoint yet.
        model: the trained transformer.
        step: int, the steps the model has had.
        fingerprint: dict, see above.
        record: optional dict of further `config.json` fields (the seed's
            history); not part of the fingerprint, so not in the checkpoint.

    Returns:
        The checkpoint path.

    Raises:
        UserError: `train_dir` already holds checkpoints.
    """
    os.makedirs(train_dir, exist_ok=True)
    if latest_checkpoint(train_dir):
        raise UserError(f"{train_dir} already holds checkpoints; seed an empty folder.")
    write_json(os.path.join(train_dir, CONFIG_FILE), dict(fingerprint, **(record or {})))
    return save_checkpoint(train_dir, step, model, None, meta=dict(fingerprint))
