"""Style thumbnails: each style applied to one small generated picture.

A model file holds no style images (only each style's gamma/beta), so a
style's thumbnail is its pastiche of a fixed picture. The picture is drawn
here from numbers (a landscape: sky, sun, hills, a lake, a house) so the
package ships no photo and every run gets the same thumbnails.
"""

import importlib

import numpy as np


def sample_picture(width=128, height=96):
    """A deterministic landscape with flat areas, edges and gradients.

    Returns:
        `[height, width, 3]` float32 RGB in [0, 1].
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / (width - 1), y / (height - 1)
    img = np.empty((height, width, 3), np.float32)
    # Sky: deep blue at the top to a warm haze at the horizon.
    t = np.clip(v / 0.55, 0, 1)[..., None]
    img[:] = (1 - t) * np.array([0.18, 0.36, 0.75]) + t * np.array([0.98, 0.82, 0.62])
    # Sun with a soft glow.
    d = np.hypot(u - 0.72, (v - 0.30) * height / width)
    glow = np.exp(-(d / 0.12) ** 2)[..., None]
    img = img * (1 - 0.6 * glow) + 0.6 * glow * np.array([1.0, 0.93, 0.55])
    img[d < 0.06] = (1.0, 0.95, 0.7)
    # Two ranges of hills.
    far = 0.52 + 0.06 * np.sin(u * 7.0 + 1.0) + 0.03 * np.sin(u * 17.0)
    near = 0.66 + 0.08 * np.sin(u * 4.0 + 2.5)
    img[v > far] = (0.35, 0.45, 0.55)
    shade = (0.75 + 0.25 * np.sin(u * 40 + v * 25))[..., None]
    hills = np.array([0.22, 0.52, 0.20]) * shade
    img = np.where((v > near)[..., None], hills, img)
    # A lake in the foreground mirroring the sky.
    lake = (v > 0.8) & (np.abs(u - 0.35) < 0.3 - (v - 0.8))
    ripple = (0.85 + 0.15 * np.sin(y * 2.2))[..., None]
    img = np.where(lake[..., None], np.array([0.30, 0.50, 0.80]) * ripple, img)
    # A red house with a dark roof and a lit window.
    house = (np.abs(u - 0.78) < 0.07) & (v > 0.62) & (v < 0.78)
    roof = (v <= 0.62) & (v > 0.52) & (np.abs(u - 0.78) < 0.09 - (0.62 - v) * 0.9)
    window = (np.abs(u - 0.78) < 0.02) & (v > 0.66) & (v < 0.71)
    img[house] = (0.75, 0.15, 0.12)
    img[roof] = (0.20, 0.12, 0.10)
    img[window] = (1.0, 0.85, 0.3)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def render_thumbnails(model, size=128):
    """Every style of `model` applied to `sample_picture`.

    Args:
        model: a loaded transformer.
        size: longer side of the thumbnails (height is 3/4 of it).

    Returns:
        `(picture, thumbnails)`: the picture as uint8 `[h, w, 3]` and a list of
        num_styles uint8 `[h, w, 3]` pastiches, in style order.
    """
    from magenta_style.storage import image_io

    stylize_lib = importlib.import_module("magenta_style.stylization.api")

    picture = sample_picture(size, max(8, size * 3 // 4))
    n = model.transformer_config.num_styles
    thumbs = stylize_lib.stylize(picture, model=model, which_styles=list(range(n)))
    return image_io.to_uint8(picture), list(thumbs)
