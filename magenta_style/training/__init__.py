"""Training, fine-tuning and evaluating a multi-style network.

- `loop`: `TrainConfig`, the three modes' set-up and `train`'s loop.
- `engine`: the `Engine` protocol the loop is written against;
  `engine_tf`, `engine_jax` implement it, one per Keras backend.
- `train_state`: checkpoints and the run description in a train dir.
- `evaluation`: held-out losses and style grids.
- `curves`: loss curves as PNG from `metrics.jsonl`.
"""
