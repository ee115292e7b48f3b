"""`train`: multi-style training, fine-tuning and appending, on both Keras backends.

Every example in a batch draws its own style (Magenta's queues did the same):
labels come from `labels_for_step(seed, step, ...)`, a pure function of the
step, so a resumed run draws what the killed run would have drawn.

What is trained is set up by `modes` (the three modes, Magenta's
objective); `MultiStyleTask` hands it to `runner.run_training`, the run
every trainer shares (train dir, resume, steps, checkpoints, stops, model,
grids).
"""

import dataclasses

import numpy as np

from magenta_style.training import modes
from magenta_style.training import provenance as provenance_lib
from magenta_style.training import runner


def labels_for_step(seed, step, batch_size, num_styles, offset=0):
    """The style label of every example of a step: `[batch_size]` int32.

    A pure function of (seed, step) so a resumed or a distributed run draws
    the same labels as an uninterrupted single-process one.
    """
    rng = np.random.default_rng([int(seed), int(step)])
    return (rng.integers(0, num_styles, size=batch_size) + offset).astype("int32")


class MultiStyleTask(runner.SavesPasticheNetwork):
    """`runner.Task` of `train`: a multi-style transformer under Magenta's objective.

    Args:
        cfg: a `config.TrainConfig`.
        content: optional in-memory photos (see `train`).
        style_set: optional loaded style set (see `train`).
    """

    trained_by = "magenta_style.training"
    curve_keys = None  # Magenta's losses.

    def __init__(self, cfg, content=None, style_set=None):
        self.cfg = cfg
        self.content = content
        self.styles = style_set
        self.parts = None

    def check_config(self):
        modes.check_config(self.cfg)

    def prepare(self, engine):
        if self.styles is None:
            self.styles = modes.load_styles(self.cfg, engine.is_chief)

    def build(self, engine):
        self.parts = modes.build_parts(self.cfg, engine, self.styles)
        setup = self.parts.setup
        setup.model.style_names = tuple(setup.style_names)
        return runner.Built(
            model=setup.model, optimizer=self.parts.optimizer,
            objective=self.parts.objective(),
            nets=[self.parts.loss_net, self.parts.content_net],
            architecture=setup.model.transformer_config.to_dict(),
            names=list(setup.style_names), constants=self.parts.constants(),
            gradient_masks=self.parts.gradient_masks(), grid_styles=self.styles)

    def batch(self, step):
        cfg = self.cfg
        # Labels index setup.style_names: the new styles start at the offset.
        labels = labels_for_step(cfg.seed, step, cfg.batch_size, len(self.styles.names),
                                 self.parts.setup.label_offset)
        return labels, labels

    def provenance(self, built):
        cfg = self.cfg
        mode = ("scratch" if cfg.init_from == "scratch"
                else "append" if cfg.append else "finetune")
        return {"mode": mode, "resize_side": cfg.resize_side}


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
        cfg.style_images, cfg.style_dataset_file = None, provenance_lib.IN_MEMORY
    return runner.run_training(cfg, MultiStyleTask(cfg, content, style_set))
