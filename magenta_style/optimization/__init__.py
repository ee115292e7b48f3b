"""The optimisation method of Gatys et al.

- `config`: `OptimizeConfig`, its defaults (neural-style's) and checks.
- `gatys`: `optimize` and its multi-scale loop.
- `problem`: `optimize`'s arguments checked and loaded, and the loss targets.
- `scale_step`: the compiled loss, gradient and update for one output size.
- `step_cache`: the compiled steps and loss networks kept across calls.
- `lbfgs`: the L-BFGS update it runs; `adam`: Keras's Adam with its interface.
"""
