"""Held-out losses per style (and the grid `bin/evaluate` saves)."""

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
