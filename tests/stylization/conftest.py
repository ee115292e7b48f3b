"""Fixtures shared by the stylization tests: a 3-style model and a photo."""

import numpy as np
import pytest

from tests.conftest import styled_model


@pytest.fixture(scope="module")
def model():
    return styled_model(3, 1, ("starry", "wave", "scream"))


@pytest.fixture(scope="module")
def photo():
    return (np.random.default_rng(0).random((36, 52, 3)) * 255).astype(np.uint8)


def halves(h, w, split):
    """Two masks `[h, w, 2]` float32: columns left of `split`, and the rest."""
    m = np.zeros((h, w, 2), np.float32)
    m[:, :split, 0] = 1
    m[:, split:, 1] = 1
    return m


def run_regions(model, image, weights, rows, *, tiled, tile_size=16, jit_compile=False,
                statistics="per_style"):
    """The raw per-pixel pastiche `[H, W, 3]` of `runner.run` (full coverage: no photo)."""
    from magenta_style.stylization import masks
    from magenta_style.stylization import runner
    from magenta_style.stylization.options import RenderOptions

    options = RenderOptions(tile_size=tile_size, tile_threshold=0 if tiled else 10 ** 12,
                            jit_compile=jit_compile, region_statistics=statistics).check()
    weights = np.asarray(weights, np.float32)
    full = masks.Regions(weights, np.ones(weights.shape[:2], np.float32))
    return runner.run(model, image, rows, options, full)[0]
