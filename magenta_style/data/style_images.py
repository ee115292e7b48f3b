"""Style image batches for arbitrary-style training (Magenta's `arbitrary_style_image_inputs`).

NumPy and Pillow only (no TensorFlow), so the JAX training path can use it.
Every batch is a pure function of (seed, step): a resumed run draws the
paintings, crops and colour changes the uninterrupted run would have drawn,
as `training.loop.labels_for_step` does for the multi-style network.

Per painting, with `augment=True` (Magenta's `--augment_style_images`):
a random brightness shift in [-0.8, 0.8], saturation factor in [0.5, 1.5],
hue shift in [-0.2, 0.2] of the colour circle, random left-right and
up-down flips, an aspect-preserving resize of the shorter side to a random
size in [S + 2, S + 200), and a random S x S crop (S = `image_size`).
Without it: shorter side to S + 2 and a centre crop (Magenta's
`--center_crop`). With `random_size` (Magenta's `--random_style_image_size`)
the whole batch is then resized to a random side in [128, 300).
"""

import os

import numpy as np
from PIL import Image

from magenta_style.data import photo_files
from magenta_style.errors import UserError

# Magenta's `min_rand_image_size`, `max_rand_image_size`.
RANDOM_SIZE_RANGE = (128, 300)
# Random batch sides are multiples of this: a jitted step compiles once per
# input shape, and 172 sides would mean 172 compilations (Magenta's TF1 graph
# had dynamic shapes). Multiples of 32 give 6 shapes over Magenta's range.
RANDOM_SIZE_STEP = 32


def _brightness_saturation_hue(arr, rng):
    """`[H, W, 3]` uint8 -> float32 in [0, 1], Magenta's three random colour changes.

    In Magenta's order (`tf.image.random_brightness`, `random_saturation`,
    `random_hue`); saturation and hue go through Pillow's 8-bit HSV, which
    rounds to 1/255 (TensorFlow works in float).
    """
    x = np.clip(arr.astype(np.float32) / 255.0 + rng.uniform(-0.8, 0.8), 0.0, 1.0)
    hsv = np.asarray(Image.fromarray(np.round(x * 255).astype(np.uint8)).convert("HSV"),
                     np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.5, 1.5), 0, 255)
    hsv[..., 0] = np.mod(hsv[..., 0] + rng.uniform(-0.2, 0.2) * 256.0, 256.0)
    rgb = Image.fromarray((np.round(hsv).astype(np.int32) % 256).astype(np.uint8),
                          "HSV").convert("RGB")
    return np.asarray(rgb, np.float32) / 255.0


def _resize_short(img, side):
    h, w = img.height, img.width
    nh, nw = photo_files.resized_shape(h, w, side)
    return img if (nh, nw) == (h, w) else img.resize((nw, nh), Image.BILINEAR)


def style_crop(img, image_size, augment, rng):
    """One painting (PIL RGB) -> `[image_size, image_size, 3]` float32 in [0, 1].

    See the module doc for what `augment` does; `rng` is a NumPy Generator.
    """
    if not augment:
        img = _resize_short(img, image_size + 2)
        top, left = photo_files.crop_offsets(img.height, img.width, image_size)
        crop = img.crop((left, top, left + image_size, top + image_size))
        return np.asarray(crop, np.float32) / 255.0
    # Resized before the colour changes (Magenta resizes after them): they are
    # per pixel, so the order only moves the clipping, and resizing first
    # keeps the colour work to the crop's size.
    img = _resize_short(img, int(rng.integers(image_size + 2, image_size + 200)))
    top, left = photo_files.crop_offsets(img.height, img.width, image_size, True, rng)
    crop = np.asarray(img.crop((left, top, left + image_size, top + image_size)), np.uint8)
    out = _brightness_saturation_hue(crop, rng)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.5:
        out = out[::-1]
    return np.ascontiguousarray(out)


class StyleImageSampler:
    """Random batches of (augmented) paintings, a pure function of (seed, step).

    Args:
        source: a folder, glob or list of style image files (`photo_files.list_image_files`).
        batch_size: paintings per batch (one per content photo).
        image_size: side S of the square crops (Magenta: 256).
        augment: Magenta's random colour changes, flips and random crops;
            False: centre crops.
        random_size: resize every batch to a random side in `size_range`
            (a multiple of `RANDOM_SIZE_STEP`); False: batches are S x S.
        size_range: (min, max) of the random side, max exclusive.
        seed: int.

    Raises:
        UserError: no image files, an unreadable one, bad sizes.
    """

    def __init__(self, source, batch_size, image_size=256, augment=True, random_size=True,
                 size_range=RANDOM_SIZE_RANGE, seed=0):
        if int(batch_size) < 1 or int(image_size) < 8:
            raise UserError("Style batches need batch_size >= 1 and image_size >= 8. "
                            f"Received: batch_size={batch_size}, image_size={image_size}")
        low, high = (int(v) for v in size_range)
        sides = list(range(-(-low // RANDOM_SIZE_STEP) * RANDOM_SIZE_STEP, high,
                           RANDOM_SIZE_STEP))
        if random_size and not sides:
            raise UserError(f"The random style size range must hold a multiple of "
                            f"{RANDOM_SIZE_STEP}. Received: size_range={tuple(size_range)}")
        self.files = photo_files.list_image_files(source)
        self.names = [_stem(f) for f in self.files]
        self.batch_size = int(batch_size)
        self.image_size = int(image_size)
        self.augment = bool(augment)
        self.sides = sides if random_size else [self.image_size]
        self.seed = int(seed)
        # Decoded once, the shorter side capped at the largest size a crop is
        # taken from: 36 paintings are a few MB, and decoding a 4000 px JPEG
        # per example would cost more than the step on an accelerator.
        cap = self.image_size + 200
        self.images = []
        for path in self.files:
            try:
                with Image.open(path) as img:
                    img.draft("RGB", (cap, cap))
                    rgb = photo_files.to_rgb8(img)
            except OSError as e:
                raise UserError(f"Cannot read style image {path}: {e}") from None
            if min(rgb.size) > cap:
                rgb = _resize_short(rgb, cap)
            self.images.append(rgb)

    def batch(self, step):
        """(`[B, s, s, 3]` float32 in [0, 1], `[B]` int32 indices into `files`) of a step."""
        rng = np.random.default_rng([self.seed, int(step), 7])
        which = rng.integers(0, len(self.images), size=self.batch_size).astype("int32")
        crops = np.stack([style_crop(self.images[i], self.image_size, self.augment, rng)
                          for i in which])
        side = int(self.sides[rng.integers(0, len(self.sides))])
        if side != self.image_size:
            crops = np.stack([_resize_float(c, side) for c in crops])
        return crops, which


def _resize_float(arr, side):
    """`[H, W, 3]` float32 in [0, 1] -> `[side, side, 3]`, bilinear per channel in float."""
    channels = []
    for c in range(3):
        plane = Image.fromarray(np.ascontiguousarray(arr[..., c]), "F")
        channels.append(np.asarray(plane.resize((side, side), Image.BILINEAR)))
    return np.clip(np.stack(channels, -1), 0.0, 1.0).astype(np.float32)


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]
