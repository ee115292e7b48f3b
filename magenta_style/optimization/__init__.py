"""The optimisation method of Gatys et al.

- `config`: `OptimizeConfig`, its defaults (neural-style's) and checks.
- `gatys`: `optimize` and its multi-scale loop.
- `lbfgs`: the L-BFGS (and Adam) updates it runs.
"""
