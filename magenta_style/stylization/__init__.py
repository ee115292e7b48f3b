"""Photos in, pastiches out.

A photo through `stylize`: `api.stylize` -> `tasks.as_task` (the model, from
`model_format.load_model`'s cache) -> `task.resolve` (a `conditioning.
Conditioning`) -> `render.stylize_images` -> `runner.run` -> `render.finish`.

- `api`: `stylize`, `style_vector(s)`, `StylizeConfig`.
- `tasks`: `MultiStyleTransfer`, `ArbitraryStyleTransfer`: a model and how a
  request becomes conditioning rows.
- `conditioning`: `Conditioning`, the rows of a request, their names and masks.
- `style_choice`: `which_styles` -> conditioning (also per region).
- `arbitrary`: paintings -> style vectors -> conditioning.
- `masks`: mask files, arrays and label images -> `Regions`.
- `options`: `RenderOptions`, the options of every renderer.
- `render`: the per-photo loop (run, finish, save).
- `runner`: the compiled forwards (whole image, regions) and tiling dispatch.
- `precision`: float32 / bfloat16 / auto (CPU features, fidelity limits, the
  measured and cached choice).
- `block_step`: the network block by block with a gamma/beta source.
- `regions`: the network with a style per pixel.
- `tiling`: images too large for one pass.
- `batch_files`: `stylize_files` (many photos, named outputs) and contact sheets.
- `grid`: the grid layout of contact sheets and training's style grids.
"""
