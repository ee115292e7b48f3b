"""Shared pieces of the Beam tests: skip without Apache Beam, small photo folders."""

import os

import numpy as np
import pytest

from magenta_style.storage import image_io

pytest.importorskip(
    "apache_beam", reason="Apache Beam is not installed (pip install 'magenta_style[beam]')")

MODEL = "android-26"  # the smallest shipped model (720 KB)
# Mixed sizes (H, W), 32 to 96 px, so batches hold photos of different shapes.
SIZES = ((32, 48), (64, 40), (96, 96), (48, 80), (40, 32), (72, 56), (56, 96), (80, 64))


def write_photos(folder, count, seed=0):
    """`count` smooth random photos `p00.png`... of mixed sizes in `folder`; their paths."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        h, w = SIZES[i % len(SIZES)]
        y, x = np.mgrid[0:h, 0:w] / max(h, w)
        phase = rng.uniform(0, 6, 3)
        image = 0.5 + 0.4 * np.sin(6 * x[..., None] + 4 * y[..., None] + phase)
        image = image + rng.normal(0, 0.03, image.shape)
        path = os.path.join(folder, f"p{i:02d}.png")
        image_io.save_image(np.clip(image, 0, 1).astype(np.float32), path)
        paths.append(path)
    return paths


def outputs(folder):
    """The visible files of `folder` (our temp files start with a dot), sorted."""
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


@pytest.fixture
def photo_dir(tmp_path):
    folder = tmp_path / "in"
    write_photos(folder, 6)
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder
