"""`build_provenance`: the record every trained model carries of how it was made.

All trainers (`loop.train`, `arbitrary.train_arbitrary`, `distill.distill`)
record the `CORE_KEYS` through this one function, plus what only they have
(their task's extras: mode, teacher, paintings...). The dict is stored in the
model file (`storage.model_format`, `storage.arbitrary_format`) and read back
as `model.provenance`.
"""

import keras

from magenta_style.training import run_dir

# What every trained model's provenance holds, whichever trainer wrote it.
CORE_KEYS = ("trained_by", "init_from", "steps", "train_steps", "batch_size", "image_size",
             "content_images", "final_losses", "backend")
# `content_images` of a run given its photos as an array.
IN_MEMORY = "<in memory>"


def build_provenance(cfg, trained_by, steps, final_losses, in_memory_content=False,
                     extras=None, seeded_from=None):
    """The provenance dict of a model trained for `steps` steps of `cfg`.

    Args:
        cfg: the trainer's config (`init_from`, `train_steps`, `batch_size`,
            `image_size`, `content_images`).
        trained_by: the trainer's module, e.g. "magenta_style.training".
        steps: int, the steps the model has had (< `cfg.train_steps` when a
            signal stopped the run).
        final_losses: {loss name: float}, the last logged losses.
        in_memory_content: True when the photos came as an array, not
            `cfg.content_images`.
        extras: what only this trainer records ({key: JSON value}); they
            come right after `trained_by`.
        seeded_from: the train dir's `run_dir.SEEDED_FROM` record (a run
            continued from a shipped model), or None.

    Returns:
        {key: JSON value}: `CORE_KEYS`, the extras and, when given,
        `run_dir.SEEDED_FROM`.
    """
    out = {"trained_by": trained_by, **(extras or {})}
    out.update({
        "init_from": cfg.init_from,
        "steps": int(steps),
        "train_steps": int(cfg.train_steps),
        "batch_size": cfg.batch_size,
        "image_size": cfg.image_size,
        "content_images": IN_MEMORY if in_memory_content else cfg.content_images,
        "final_losses": {k: float(v) for k, v in final_losses.items()},
        "backend": keras.backend.backend(),
    })
    if seeded_from is not None:
        out[run_dir.SEEDED_FROM] = seeded_from
    return out
