"""Photos in, pastiches out.

- `api`: `stylize`, `stylize_files`, the model cache and the compiled runner,
  contact sheets.
- `style_choice`: parsing `which_styles` into style-weight vectors.
- `tiling`: images too large for one pass.
- `color`: colour preservation and strength.
"""
