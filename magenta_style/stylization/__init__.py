"""Photos in, pastiches out.

- `api`: `stylize`, the model cache and the compiled runner.
- `batch_files`: `stylize_files` (many photos, named outputs) and contact sheets.
- `grid`: the grid layout of contact sheets and training's style grids.
- `style_choice`: parsing `which_styles` into style-weight vectors.
- `tiling`: images too large for one pass.
- `color`: colour preservation and strength.
"""
