"""Inputs every area shares: real photos, paintings and VGG-16 from ../shared.

Benchmarks time real photos because some paths (flow, tiling, JPEG decode)
depend on content. When `../shared` is missing (a bare checkout) the areas
that need only an image fall back to a smooth synthetic picture; the areas
that need VGG-16 weights skip, saying why, rather than download 58 MB.
"""

import glob
import os

import numpy as np

SHARED = os.environ.get("MAGENTA_STYLE_SHARED", "../shared")
PHOTO = "chicago.jpg"


def shared(*parts):
    return os.path.join(SHARED, *parts)


def vgg_weights():
    """Path of VGG-16's Keras weight file, or None when not on this machine."""
    env = os.environ.get("MAGENTA_STYLE_VGG16_WEIGHTS") or os.environ.get(
        "MAGENTA_STYLE_VGG_WEIGHTS")
    candidates = [env] if env else []
    candidates.append(shared("weights", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


def photo(size, name=PHOTO):
    """A float32 `[H, W, 3]` photo in [0, 1], longer side `size` (square if synthetic)."""
    from PIL import Image

    path = shared("images", "content", name)
    if os.path.isfile(path):
        img = Image.open(path).convert("RGB")
        scale = size / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.LANCZOS)
        return np.asarray(img, np.float32) / 255.0
    # Smooth gradients with some texture: stands in for a photo when ../shared is absent.
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    return np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x * y)], -1).astype(np.float32)


def square_photo(size, name=PHOTO):
    """`photo` centre-cropped and resized to exactly `size` x `size`."""
    from PIL import Image

    img = photo(2 * size, name)
    h, w = img.shape[:2]
    s = min(h, w)
    crop = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    pil = Image.fromarray((crop * 255).astype(np.uint8)).resize((size, size), Image.LANCZOS)
    return np.asarray(pil, np.float32) / 255.0


def style_paths(count):
    """Up to `count` painting paths from ../shared/images/styles (sorted, stable)."""
    return sorted(glob.glob(shared("images", "styles", "*.jpg")))[:count]


def train_photos():
    """The training-photo folder, or None."""
    path = shared("images", "train")
    return path if os.path.isdir(path) else None
