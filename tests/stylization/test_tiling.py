"""Tiled inference equals the untiled network (whole-image statistics)."""

import numpy as np
import pytest

from magenta_style.storage import model_format
from magenta_style.stylization import tiling
from tests.conftest import styled_model


@pytest.fixture(scope="module")
def small():
    return styled_model(4, 3)


def untiled(model, image, weights):
    return np.asarray(model([image[None], np.asarray(weights, np.float32)[None]]))[0]


@pytest.mark.parametrize("hw, tile", [((64, 96), 16), ((37, 50), 16), ((45, 29), 1024)])
def test_tiled_equals_untiled(small, hw, tile):
    image = np.random.default_rng(0).random(hw + (3,), dtype=np.float32)
    weights = [0.3, 0.0, 0.7, 0.0]
    out = tiling.stylize_tiled(small, image, weights, tile_size=tile)
    ref = untiled(small, image, weights)
    diff = np.abs(out - ref)
    assert out.shape == ref.shape
    # Float rounding only (measured: max ~2e-6, mean ~2e-7).
    assert diff.max() < 1e-4 and diff.mean() < 1e-5


def test_shipped_model_tiled_on_a_photo_like_image():
    model = model_format.load_model("android-26")
    rng = np.random.default_rng(1)
    # Smooth gradients plus noise, like a photo (not i.i.d. noise).
    yy, xx = np.mgrid[0:120, 0:168] / 100.0
    image = np.stack([np.sin(3 * xx), np.cos(2 * yy), xx * yy], -1) * 0.4 + 0.5
    image = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)
    weights = np.eye(26, dtype=np.float32)[7]
    out = tiling.stylize_tiled(model, image, weights, tile_size=48)
    diff = np.abs(out - untiled(model, image, weights))
    # Measured (tests/stylization/test_tiling.py, android-26, 120x168, 48-px tiles):
    # max ~5e-6, mean ~6e-7.
    assert diff.max() < 1e-4 and diff.mean() < 1e-5


def test_per_tile_statistics_would_show_seams(small):
    # Why whole-image statistics matter: stylizing halves separately (each
    # with its own instance-norm statistics) differs far more than tiling.
    rng = np.random.default_rng(2)
    image = np.concatenate([rng.random((48, 32, 3)) * 0.3,
                            0.7 + rng.random((48, 32, 3)) * 0.3], axis=1).astype(np.float32)
    weights = [1.0, 0, 0, 0]
    ref = untiled(small, image, weights)
    naive = np.concatenate([untiled(small, image[:, :32], weights),
                            untiled(small, image[:, 32:], weights)], axis=1)
    tiled = tiling.stylize_tiled(small, image, weights, tile_size=16)
    assert np.abs(naive - ref).mean() > 100 * np.abs(tiled - ref).mean()


@pytest.mark.parametrize("stride, upsample", [(1, 1), (2, 1), (1, 2)])
def test_input_window_matches_padding_the_whole_map(stride, upsample):
    x = np.random.default_rng(4).random((11, 13, 2)).astype(np.float32)
    k, pad = 3, 1
    full = np.repeat(np.repeat(x, upsample, 0), upsample, 1)
    full = np.pad(full, [(pad, pad), (pad, pad), (0, 0)], mode="reflect")
    out_h = (full.shape[0] - k) // stride + 1
    out_w = (full.shape[1] - k) // stride + 1
    for rows in [(0, 4), (3, out_h), (0, out_h)]:
        for cols in [(0, 5), (2, out_w)]:
            window = tiling._input_window(x, rows, cols, k, stride, pad, upsample)
            expected = full[rows[0] * stride:(rows[1] - 1) * stride + k,
                            cols[0] * stride:(cols[1] - 1) * stride + k]
            np.testing.assert_array_equal(window, expected)
