"""Styles in regions with arbitrary-style vectors: one painting (or vector) per mask."""

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.stylization import api
from magenta_style.stylization import masks as masks_lib
from tests.conftest import tiny_arbitrary_model
from tests.stylization.conftest import halves
from tests.stylization.conftest import run_regions

STATISTICS = ("per_style", "shared")


@pytest.fixture(scope="module")
def tiny():
    """A tiny random arbitrary-style model (alpha 0.25 transformer)."""
    return tiny_arbitrary_model(0)


@pytest.fixture(scope="module")
def vectors(tiny):
    return np.random.default_rng(1).normal(0, 1, (2, tiny.style_dim)).astype(np.float32)


@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paintings")
    yy, xx = np.mgrid[0:64, 0:64]
    stripes = np.stack([np.sin(xx / 3.0), np.cos(yy / 5.0), np.sin((xx + yy) / 7.0)], -1)
    blobs = np.repeat(np.repeat(np.random.default_rng(2).random((8, 8, 3)), 8, 0), 8, 1)
    paths = []
    for name, arr in (("stripes", stripes * 0.5 + 0.5), ("blobs", blobs)):
        path = folder / f"{name}.png"
        image_io.save_image(image_io.to_uint8(arr), path)
        paths.append(str(path))
    return paths


def single(tiny, image, vector):
    return np.asarray(tiny.transformer([image[None], vector[None]]))[0]


@pytest.mark.parametrize("statistics", STATISTICS)
def test_a_mask_of_all_ones_is_the_single_style_pastiche(tiny, vectors, statistics):
    image = np.random.default_rng(3).random((37, 50, 3), dtype=np.float32)
    out = run_regions(tiny.transformer, image, np.ones((37, 50, 1), np.float32),
                                  vectors[:1], tiled=False, tile_size=16, jit_compile=False,
                                  statistics=statistics)
    np.testing.assert_allclose(out, single(tiny, image, vectors[0]), atol=2e-5)


def test_stylize_with_a_full_mask_equals_stylize_without(tiny, paintings):
    photo = (np.random.default_rng(4).random((36, 52, 3)) * 255).astype(np.uint8)
    plain = api.stylize(photo, tiny, style_image=paintings[1], strength=0.7)
    masked = api.stylize(photo, tiny, style_image=[paintings[1]], strength=0.7,
                         masks=[np.ones(photo.shape[:2], bool)])
    assert masked.shape == plain.shape and masked.dtype == np.uint8
    assert np.abs(masked.astype(int) - plain).max() <= 1


def test_regions_equal_each_paintings_pastiche_away_from_the_seam(tiny, vectors):
    wide = np.random.default_rng(5).random((24, 200, 3), dtype=np.float32)
    out = run_regions(tiny.transformer, wide, halves(24, 200, 100), vectors,
                                  tiled=False, tile_size=16, jit_compile=False)
    left, right = single(tiny, wide, vectors[0]), single(tiny, wide, vectors[1])
    # Same reach as the multi-style network (~50 px): beyond it, float rounding.
    np.testing.assert_allclose(out[:, :40], left[:, :40], atol=1e-5)
    np.testing.assert_allclose(out[:, 160:], right[:, 160:], atol=1e-5)
    seam = out[:, 95:105]
    assert np.abs(seam - left[:, 95:105]).mean() > 0.01
    assert np.abs(seam - right[:, 95:105]).mean() > 0.01


@pytest.mark.parametrize("statistics", STATISTICS)
def test_tiled_equals_untiled(tiny, vectors, statistics):
    image = np.random.default_rng(6).random((45, 61, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:45, 0:61]
    soft = np.clip((xx - 20) / 20.0, 0, 1)[..., None]
    masks = masks_lib.Regions.from_masks(
        np.concatenate([1 - soft, soft * (yy[..., None] > 10)], -1)).weights
    kwargs = dict(tile_size=16, jit_compile=False, statistics=statistics)
    tiled = run_regions(tiny.transformer, image, masks, vectors, tiled=True,
                                    **kwargs)
    whole = run_regions(tiny.transformer, image, masks, vectors, tiled=False,
                                    **kwargs)
    assert np.abs(tiled - whole).max() < 1e-4


def test_stylize_with_style_vectors_and_masks_names_the_regions(tiny, vectors, tmp_path):
    photo = (np.random.default_rng(7).random((30, 40, 3)) * 255).astype(np.uint8)
    left = np.zeros((30, 40), np.float32)
    left[:, :20] = 1
    out = api.stylize(photo, tiny, style_vector=vectors, masks=[left, 1 - left],
                      output_dir=tmp_path, tile_threshold=100, tile_size=16)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert [p.name for p in tmp_path.iterdir()] == ["stylized_regions_vector0-vector1.png"]
    below = api.stylize(photo, tiny, style_vector=vectors, masks=[left, 1 - left])
    assert np.abs(below.astype(int) - out).max() <= 1


def test_bad_masks_with_style_images_are_one_line(tiny, vectors, paintings):
    photo = np.zeros((20, 24, 3), np.uint8)
    with pytest.raises(UserError, match="^Got 1 style masks for 2 style images; give one") as e:
        api.stylize(photo, tiny, style_vector=vectors, masks=[np.ones((20, 24))])
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="drop style_blend_weights"):
        api.stylize(photo, tiny, style_image=paintings, style_blend_weights=[1, 1],
                    masks=[np.ones((20, 24))] * 2)
