"""Colour preservation and strength blending of pastiches (numpy).

A top-level module, not part of `stylization`: both the feed-forward
stylization and the optimisation of Gatys et al. finish a pastiche with it,
and neither may import the other (a sideways dependency between siblings).
It needs numpy alone, so any part of the package can use it.

Colour preservation follows Gatys et al., "Preserving Color in Neural
Artistic Style Transfer" (2016), luminance-only transfer: the pastiche's
luminance (Y of YIQ) with the photo's chrominance (I, Q).
"""

import numpy as np

# NTSC RGB -> YIQ.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]], dtype=np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def rgb_to_yiq(rgb):
    """`[..., 3]` RGB float -> `[..., 3]` YIQ float (Y in [0, 1])."""
    return np.asarray(rgb, np.float32) @ _RGB_TO_YIQ.T


def yiq_to_rgb(yiq):
    """Inverse of `rgb_to_yiq` (not clipped)."""
    return np.asarray(yiq, np.float32) @ _YIQ_TO_RGB.T


def preserve_colors(pastiche, photo):
    """The pastiche's luminance with the photo's colours.

    Args:
        pastiche, photo: `[..., H, W, 3]` float RGB in [0, 1], same shape.

    Returns:
        `[..., H, W, 3]` float32 RGB in [0, 1].
    """
    pastiche = np.asarray(pastiche, np.float32)
    photo = np.asarray(photo, np.float32)
    if pastiche.shape != photo.shape:
        raise ValueError(
            "pastiche and photo must have the same shape. "
            f"Received: {pastiche.shape} and {photo.shape}"
        )
    yiq = rgb_to_yiq(photo)
    yiq[..., 0] = rgb_to_yiq(pastiche)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)


def blend(pastiche, photo, strength):
    """`strength * pastiche + (1 - strength) * photo`, strength in [0, 1]."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]. Received: strength={strength}")
    return (strength * np.asarray(pastiche, np.float32)
            + (1.0 - strength) * np.asarray(photo, np.float32))
