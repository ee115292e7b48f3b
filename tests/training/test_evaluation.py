"""Style grids and held-out losses per style."""

import json
import os

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import transformer as transformer_lib
from magenta_style.storage import model_format
from magenta_style.training import evaluation
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
    grid = evaluation.style_grid(model, photos, style_images=style_images, cell_size=16)
    step = 16 + 2
    assert grid.shape == (3 * step, 4 * step, 3) and grid.dtype == np.float32
    assert 0.0 <= grid.min() and grid.max() <= 1.0
    np.testing.assert_allclose(grid[step:step + 16, :16], evaluation._square(photos[0], 16))
    np.testing.assert_allclose(grid[:16, step:step + 16], 0.2)  # Style a's image.
    np.testing.assert_allclose(grid[:16, 2 * step:2 * step + 16], 0.5)  # No image: grey.
    np.testing.assert_allclose(grid[:16, 3 * step:3 * step + 16], 0.2)  # 51 / 255.
    # Column c of row 1 is the photo under style c alone.
    expected = np.asarray(model([evaluation._square(photos[0], 16)[None],
                                 np.eye(3, dtype="float32")[2:3]]))[0]
    np.testing.assert_allclose(grid[step:step + 16, 3 * step:3 * step + 16], expected,
                               atol=1e-5)


def test_stylize_all_in_chunks_of_one_shape_gives_every_style_once(model):
    photo = th.smooth_images(1, 20, seed=5)[0]
    got = evaluation.stylize_all(model, photo, batch=2)  # Chunks [a, b], [c, a].
    assert got.shape == (3, 20, 20, 3) and got.dtype == np.float32
    for s in range(3):
        alone = np.asarray(model([photo[None], np.eye(3, dtype="float32")[s:s + 1]]))[0]
        np.testing.assert_allclose(got[s], alone, atol=1e-5)


@pytest.mark.needs_weights
def test_evaluate_writes_losses_per_style_and_grid(model, tmp_path, vgg16_file):
    model_dir = str(tmp_path / "model")
    model_format.save_model(model, model_dir)
    photos = str(tmp_path / "photos")
    th.write_images(photos, th.smooth_images(3, 36, seed=1))
    styles = th.style_files(str(tmp_path / "styles"), n=3, names=["a", "b", "c"])
    cfg = evaluation.EvalConfig(checkpoint=model_dir, eval_images=photos, style_images=styles,
                                style_image_size=40, vgg_weights=vgg16_file, image_size=32,
                                output_dir=str(tmp_path / "eval"))
    result = evaluation.evaluate(cfg)
    assert list(result["per_style"]) == ["a", "b", "c"]
    assert result["num_photos"] == 3
    for parts in result["per_style"].values():
        assert np.isfinite(parts["total_loss"]) and parts["total_style_loss"] > 0
    mean = np.mean([p["total_loss"] for p in result["per_style"].values()])
    np.testing.assert_allclose(result["mean"]["total_loss"], mean, rtol=1e-5)
    assert os.path.isfile(result["grid"])
    with open(tmp_path / "eval" / "losses.json") as f:
        assert json.load(f)["per_style"]["b"] == result["per_style"]["b"]

    bad = evaluation.EvalConfig(checkpoint=model_dir, eval_images=str(tmp_path / "none/*.jpg"),
                                style_images=styles, vgg_weights=vgg16_file)
    with pytest.raises(UserError, match="matched no image files"):
        evaluation.evaluate(bad)
    two = th.style_files(str(tmp_path / "two"), n=2)
    wrong = evaluation.EvalConfig(checkpoint=model_dir, eval_images=photos, style_images=two,
                                  style_image_size=40, vgg_weights=vgg16_file)
    with pytest.raises(UserError, match="3 styles"):
        evaluation.evaluate(wrong)
