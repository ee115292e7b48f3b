"""The optimisation method of Gatys et al.

- `config`: `OptimizeConfig`, its defaults (neural-style's) and checks.
- `gatys`: `optimize` and its multi-scale loop.
- `lbfgs`: the L-BFGS update it runs (Adam is Keras's, `gatys.KerasAdam`).
"""
