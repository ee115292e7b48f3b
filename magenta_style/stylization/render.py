"""Conditioning in, finished pastiches out: the loop every renderer shares.

`stylize_images` is `stylize`'s body: for each photo, read it (and its
masks), let the task turn the conditioning into rows for that photo, run
the network (`runner.run`), finish (colours, strength, uint8) and save.
`stylize_files`, contact sheets and the studio call `render_photo` for one
photo they loaded themselves.
"""

import os

import numpy as np

from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.stylization import runner


def finish(pastiche, photo, preserve_colors, strength):
    """Colour preservation, then strength blending, then uint8.

    Args:
        pastiche, photo: `[H, W, 3]` float32 in [0, 1].
        preserve_colors: keep the photo's colours (luminance transfer).
        strength: float in [0, 1]: the pastiche's share of the pixels.

    Returns:
        `[H, W, 3]` uint8.
    """
    if preserve_colors:
        pastiche = color.preserve_colors(pastiche, photo)
    if strength != 1.0:
        pastiche = color.blend(pastiche, photo, strength)
    return image_io.to_uint8(pastiche)


def render_photo(conditioning, photo, options, regions=None):
    """Every output of `conditioning` for one loaded photo.

    Args:
        conditioning: a `Conditioning` with its `task`.
        photo: `[H, W, 3]` float32 in [0, 1].
        options: a checked `RenderOptions`.
        regions: the photo's `masks.Regions` when `conditioning.masks` is set.

    Returns:
        A list of `[H, W, 3]` uint8, one per output (`conditioning.suffixes`).
    """
    task = conditioning.task
    rows, pixel_strength = task.rows_for_photo(conditioning, photo, options.strength)
    pastiches = runner.run(task.network, photo, rows, options, regions)
    for pastiche in pastiches:
        # Weights or vectors within their bounds can still overflow float32
        # inside the network; NaN would save as a black image.
        if not np.all(np.isfinite(pastiche)):
            raise UserError("The style weights or vectors overflow the network (its output "
                            "is not finite); use smaller values.")
    return [finish(p, photo, options.preserve_colors, pixel_strength) for p in pastiches]


def as_list(image):
    """`(list of images, was_list)`: a list, tuple or `[B, H, W, C]` array is several."""
    if isinstance(image, (list, tuple)):
        return list(image), True
    if isinstance(image, np.ndarray) and image.ndim == 4:
        return list(image), True
    return [image], False


def stylize_images(conditioning, image, options, output_dir=None, output_basename="stylized",
                   output_format="png"):
    """`stylize`'s body, once the model and the conditioning are resolved.

    Args:
        conditioning: a `Conditioning` with its `task`.
        image: one image or a list (anything `image_io.load_image` reads).
        options: a checked `RenderOptions`.
        output_dir, output_basename, output_format: as `stylize`.

    Returns:
        As `stylize`: uint8 `[H, W, 3]` arrays, in lists where asked.
    """
    if output_dir is not None:
        atomic.check_output_dir(output_dir)  # a file there: one line, before any work
    images, was_list = as_list(image)
    results = []
    for i, item in enumerate(images):
        photo, regions = conditioning.load_photo(item, options.max_size)
        outs = render_photo(conditioning, photo, options, regions)
        if output_dir is not None:
            base = output_basename
            if was_list:  # the file's name, else a numbered name
                base = (os.path.splitext(os.path.basename(os.fspath(item)))[0]
                        if isinstance(item, (str, os.PathLike)) else f"{output_basename}{i}")
            for out, suffix in zip(outs, conditioning.suffixes):
                image_io.save_image(
                    out, os.path.join(output_dir, f"{base}_{suffix}.{output_format}"))
        results.append(outs if conditioning.several else outs[0])
    return results if was_list else results[0]
