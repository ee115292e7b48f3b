"""Photos in, pastiches out.

- `api`: `stylize` and the model cache.
- `runner`: the one compiled runner of a model (stylize, grids, export).
- `batch_files`: `stylize_files` (many photos, named outputs) and contact sheets.
- `grid`: the grid layout of contact sheets and training's style grids.
- `style_choice`: parsing `which_styles` into style-weight vectors.
- `tiling`: images too large for one pass.
- `block_walk`: the network block by block with given normalisation
  statistics (tiling; video's statistics shared over time).
- `color`: colour preservation and strength.
"""
