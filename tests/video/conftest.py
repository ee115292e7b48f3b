"""Short clips the video tests make: a pan and a zoom over a real photo, with sound."""

import os

import numpy as np
import pytest

from tests.conftest import SHARED

PHOTO = os.path.join(SHARED, "images", "content", "chicago.jpg")
SIZE = (64, 96)  # H, W: small, not a multiple of 16 in width's blocks
FRAMES = 10
RATE = 24
SHIFT = 3  # px per frame; not a multiple of 4, so the network is not shift-equivariant


@pytest.fixture(scope="module")
def shared_photo():
    if not os.path.isfile(PHOTO):
        pytest.skip(f"shared photo {PHOTO} is absent (../shared)")
    from magenta_style.storage import image_io

    return image_io.to_uint8(image_io.load_image(PHOTO, max_size=256))


@pytest.fixture(scope="module")
def pan_clip(shared_photo, tmp_path_factory):
    from magenta_style.video import synthetic

    path = tmp_path_factory.mktemp("clips") / "pan.mp4"
    synthetic.write_clip(path, synthetic.pan_frames(shared_photo, SIZE, FRAMES, SHIFT), RATE)
    return path


@pytest.fixture(scope="module")
def zoom_clip(shared_photo, tmp_path_factory):
    from magenta_style.video import synthetic

    path = tmp_path_factory.mktemp("clips") / "zoom.mov"
    synthetic.write_clip(path, synthetic.zoom_frames(shared_photo, SIZE, FRAMES, 1.03), RATE)
    return path


def gradient_frames(num_frames=6, size=(24, 40)):
    """uint8 `[T, H, W, 3]`: a smooth colour gradient drifting right (no ../shared)."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    frames = []
    for t in range(num_frames):
        frames.append(np.stack([(x + 2 * t) * 5 % 256, y * 9 % 256,
                                np.full_like(x, 40 + 10 * t)], -1))
    return np.asarray(frames, np.uint8)
