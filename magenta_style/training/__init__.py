"""Training, fine-tuning and evaluating a multi-style network.

- `loop`: `TrainConfig`, the three modes' set-up and `train`'s loop.
- `engine_tf`, `engine_jax`: one compiled training step per Keras backend.
- `train_state`: checkpoints and the run description in a train dir.
- `evaluation`: held-out losses and style grids.
- `curves`: loss curves as PNG from `metrics.jsonl`.
"""
