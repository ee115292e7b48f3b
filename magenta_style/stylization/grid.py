"""Grids of pastiches: every style of a model on a few photos, as one image.

One layout (`assemble`) behind both grids the project draws:

- `style_grid`: what training writes every few thousand steps and
  `bin/evaluate` saves (Magenta's style grid): a first row of style images,
  then one row per photo, square cells with white gaps, float32. It runs
  through the model's runner, so it works under every Keras backend.
- `stylization.api.contact_sheet`: the same rows for any photos through
  `stylize` (colour preservation, strength), with the style names on top,
  uint8.
"""

import numpy as np

from magenta_style.stylization import runner as runner_lib

GAP = 2  # White gap after every cell of a style grid, in pixels.


def square_crop(image, size):
    """Centre square crop resized to `size` x `size`: `[size, size, 3]` float32 in [0, 1]."""
    from magenta_style.storage import image_io

    image = image_io.array_to_float(image)  # Style sets hold uint8 images.
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top:top + side, left:left + side]
    if side == size:
        return crop
    return np.clip(image_io.resize(crop, (size, size)), 0.0, 1.0)


def fit_cell(image, size):
    """`image` (`[h, w, 3]` float in [0, 1], h, w <= size) centred on a white cell."""
    cell = np.ones((size, size, 3), np.float32)
    h, w = image.shape[:2]
    top, left = (size - h) // 2, (size - w) // 2
    cell[top:top + h, left:left + w] = image[:size, :size]
    return cell


def label_band(texts, size, height=24):
    """A white `[height, len(texts) * size, 3]` float32 band, one centred label per cell."""
    from PIL import Image
    from PIL import ImageDraw

    band = Image.new("RGB", (size * len(texts), height), "white")
    draw = ImageDraw.Draw(band)
    for i, text in enumerate(texts):
        width = draw.textlength(text)
        draw.text((i * size + max(0, (size - width) / 2), height / 4), text, fill="black")
    return np.asarray(band, np.float32) / 255.0


def assemble(rows, cell_size, gap=0, labels=None):
    """The grid layout: rows of `[cell_size, cell_size, 3]` cells on white.

    Args:
        rows: list of rows, each a list of cells (float in [0, 1]) or None
            (left white); rows may differ in length.
        cell_size: side of every cell.
        gap: white pixels after every cell, across and down.
        labels: optional texts, one per column, drawn in a band on top.

    Returns:
        `[len(rows) * (cell_size + gap) (+ 24 with labels), columns * (cell_size + gap), 3]`
        float32 in [0, 1].
    """
    step = cell_size + gap
    columns = max(len(r) for r in rows)
    grid = np.ones([len(rows) * step, columns * step, 3], np.float32)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell is not None:
                grid[r * step:r * step + cell_size, c * step:c * step + cell_size] = cell
    if labels is not None:
        grid = np.concatenate([label_band(list(labels), step), grid], axis=0)
    return grid


def stylize_all(model, photo, batch=8):
    """`photo` `[H, W, 3]` in [0, 1] under every style: `[N, H, W, 3]` float32.

    Runs through the model's compiled runner (`stylization.runner`), in
    chunks of one shape (the last chunk repeats styles), so a backend that
    compiles per shape compiles once per photo size.
    """
    n = model.transformer_config.num_styles
    size = min(batch, n)
    eye = np.eye(n, dtype="float32")
    images = np.repeat(np.asarray(photo, "float32")[None], size, axis=0)
    run = runner_lib.runner(model)
    out = []
    for s in range(0, n, size):
        rows = np.arange(s, s + size) % n
        pastiches = run(images, eye[rows])
        out.append(np.asarray(pastiches, "float32")[:min(size, n - s)])
    return np.concatenate(out, axis=0)


def style_grid(model, photos, style_images=None, cell_size=128):
    """Every style applied to a few photos, as one image (Magenta's style grid).

    Layout: the first row shows the style images (a grey cell where none is
    known); each further row starts with a photo followed by its pastiche
    under every style, in style order.

    Args:
        model: a transformer (`build_transformer` / `load_model`).
        photos: list of `[H, W, 3]` float in [0, 1] (centre-cropped square).
        style_images: optional list of num_styles `[H, W, 3]` arrays (uint8,
            or float in [0, 1]) or None.
        cell_size: side of each cell in pixels.

    Returns:
        `[(len(photos) + 1) * (cell + 2), (num_styles + 1) * (cell + 2), 3]`
        float32 in [0, 1] (white gaps between cells).
    """
    n = model.transformer_config.num_styles
    grey = np.full((cell_size, cell_size, 3), 0.5, np.float32)
    style_images = list(style_images or [None] * n)[:n]
    header = [None] + [grey if image is None else square_crop(image, cell_size)
                       for image in style_images]
    rows = [header]
    for photo in photos:
        photo = square_crop(photo, cell_size)
        rows.append([photo] + [np.clip(p, 0.0, 1.0) for p in stylize_all(model, photo)])
    return assemble(rows, cell_size, gap=GAP)
