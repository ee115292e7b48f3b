"""Training, fine-tuning and evaluating style networks.

The trainers, each a task given to the one run (`runner.run_training`):
- `loop`: `train` (multi-style: from scratch, fine-tune, append).
- `arbitrary`: `train_arbitrary` (a style predictor and its transformer).
- `distill`: `distill` (a narrower network learning a trained one).
- `config`: their configs, `TrainConfig`, `ArbitraryTrainConfig`,
  `DistillConfig`.

What the run is made of:
- `runner`: `run_training`, the `Task` protocol, seeding and resuming.
- `step_loop`: the step loop, its stop signal and loss sums.
- `provenance`: the provenance every trained model records.
- `modes`: the multi-style modes' set-up and Magenta's objective.
- `base_model`: loading the model a run starts from or learns from.
- `engine`: the `Engine` protocol the run is written against;
  `engine_tf`, `engine_jax` implement it, one per Keras backend.
- `train_state`: checkpoints and the run description in a train dir.
- `run_dir`: the train dir's config check, metrics, curve and grids.
- `evaluation`: held-out losses and style grids.
- `curves`: loss curves as PNG from `metrics.jsonl`.
"""
