"""data.style_images: painting batches for arbitrary-style training."""

import numpy as np
import pytest
from PIL import Image

from magenta_style.data import style_images
from magenta_style.errors import UserError
from tests import train_helpers as th


@pytest.fixture
def paintings(tmp_path):
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(50, 70), (64, 40), (45, 45)]):
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(arr).save(tmp_path / f"p{i}.png")
    return str(tmp_path)


def test_a_batch_is_a_function_of_seed_and_step(paintings):
    kw = dict(image_size=32, size_range=(32, 100))
    a = style_images.StyleImageSampler(paintings, 4, seed=1, **kw)
    b = style_images.StyleImageSampler(paintings, 4, seed=1, **kw)
    x, which = a.batch(5)
    y, which_b = b.batch(5)
    np.testing.assert_array_equal(x, y)  # A resumed run draws the same batch.
    np.testing.assert_array_equal(which, which_b)
    assert not np.array_equal(a.batch(6)[0][:, :32, :32], x[:, :32, :32])
    assert a.names == ["p0", "p1", "p2"]


def test_random_sizes_are_multiples_of_32_in_range(paintings):
    sampler = style_images.StyleImageSampler(paintings, 2, image_size=32, size_range=(40, 130))
    sides = set()
    for step in range(40):
        x, _ = sampler.batch(step)
        assert x.dtype == np.float32 and x.shape[1] == x.shape[2]
        assert 0.0 <= x.min() and x.max() <= 1.0
        sides.add(x.shape[1])
    assert sides == {64, 96, 128}


def test_centre_crop_without_augmentation(paintings):
    sampler = style_images.StyleImageSampler(paintings, 3, image_size=32, augment=False,
                                             random_size=False)
    x, which = sampler.batch(0)
    for crop, i in zip(x, which):
        # Shorter side to 34 (Magenta's image_size + 2), then the centre 32 x 32.
        img = Image.open(sampler.files[i]).convert("RGB")
        h, w = img.height, img.width
        nh, nw = (34, round(w * 34 / h)) if h <= w else (round(h * 34 / w), 34)
        ref = np.asarray(img.resize((nw, nh), Image.BILINEAR), np.float32) / 255
        top, left = (nh - 32) // 2, (nw - 32) // 2
        np.testing.assert_allclose(crop, ref[top:top + 32, left:left + 32], atol=1e-6)


def test_augmentation_changes_colours_but_keeps_the_range(tmp_path):
    th.style_files(str(tmp_path), n=1)
    sampler = style_images.StyleImageSampler(str(tmp_path), 8, image_size=32,
                                             random_size=False)
    x, _ = sampler.batch(0)
    assert x.shape == (8, 32, 32, 3)
    means = x.mean(axis=(1, 2, 3))
    assert means.max() - means.min() > 0.05  # Brightness differs between draws.


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch_size >= 1"),
    (dict(size_range=(40, 60)), "multiple of 32"),
])
def test_bad_settings_get_one_line(paintings, kwargs, message):
    args = dict(source=paintings, batch_size=2, image_size=32)
    args.update(kwargs)
    with pytest.raises(UserError, match=message):
        style_images.StyleImageSampler(**args)


def test_no_paintings_is_one_line(tmp_path):
    with pytest.raises(UserError, match="No image files"):
        style_images.StyleImageSampler(str(tmp_path / "none*.jpg"), 2)
