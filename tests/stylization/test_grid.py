"""Grids of pastiches: the training/evaluation style grid and the shared layout."""

import numpy as np
import pytest

from magenta_style.model import transformer as transformer_lib
from magenta_style.stylization import grid as grid_lib
from tests import train_helpers as th


@pytest.fixture(scope="module")
def model():
    m = transformer_lib.build_transformer(3, alpha=0.25)
    m.style_names = ("a", "b", "c")
    return m


def test_style_grid_layout(model):
    photos = list(th.smooth_images(2, 20, seed=4))
    style_images = [np.full((30, 40, 3), 0.2, "float32"), None,
                    np.full((16, 16, 3), 51, "uint8")]  # Style sets hold uint8.
    grid = grid_lib.style_grid(model, photos, style_images=style_images, cell_size=16)
    step = 16 + 2
    assert grid.shape == (3 * step, 4 * step, 3) and grid.dtype == np.float32
    assert 0.0 <= grid.min() and grid.max() <= 1.0
    np.testing.assert_allclose(grid[step:step + 16, :16], grid_lib.square_crop(photos[0], 16))
    np.testing.assert_allclose(grid[:16, step:step + 16], 0.2)  # Style a's image.
    np.testing.assert_allclose(grid[:16, 2 * step:2 * step + 16], 0.5)  # No image: grey.
    np.testing.assert_allclose(grid[:16, 3 * step:3 * step + 16], 0.2)  # 51 / 255.
    # Column c of row 1 is the photo under style c alone.
    expected = np.asarray(model([grid_lib.square_crop(photos[0], 16)[None],
                                 np.eye(3, dtype="float32")[2:3]]))[0]
    np.testing.assert_allclose(grid[step:step + 16, 3 * step:3 * step + 16], expected,
                               atol=1e-5)


def test_stylize_all_in_chunks_of_one_shape_gives_every_style_once(model):
    photo = th.smooth_images(1, 20, seed=5)[0]
    got = grid_lib.stylize_all(model, photo, batch=2)  # Chunks [a, b], [c, a].
    assert got.shape == (3, 20, 20, 3) and got.dtype == np.float32
    for s in range(3):
        alone = np.asarray(model([photo[None], np.eye(3, dtype="float32")[s:s + 1]]))[0]
        np.testing.assert_allclose(got[s], alone, atol=1e-5)


def test_assemble_places_cells_leaves_none_white_and_labels_columns():
    red = np.zeros((4, 4, 3), np.float32)
    red[..., 0] = 1.0
    grid = grid_lib.assemble([[None, red], [red]], 4, gap=1, labels=["x", "y"])
    assert grid.shape == (24 + 2 * 5, 2 * 5, 3)
    body = grid[24:]
    np.testing.assert_array_equal(body[:4, :4], 1.0)  # None: white.
    np.testing.assert_array_equal(body[:4, 5:9], red)
    np.testing.assert_array_equal(body[5:9, 0:4], red)
    np.testing.assert_array_equal(body[5:9, 5:9], 1.0)  # Short row: white.
    np.testing.assert_array_equal(body[4], 1.0)  # The gap.
    assert grid[:24].min() < 0.5  # Some label ink.
