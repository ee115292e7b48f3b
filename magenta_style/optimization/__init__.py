"""The optimisation method of Gatys et al.

- `gatys`: `optimize`, its config and the multi-scale loop.
- `lbfgs`: the L-BFGS (and Adam) updates it runs.
"""
