"""Numeric inputs are checked for range and finiteness; overflow is an error, not an image."""

import os

import numpy as np
import pytest

from magenta_style import checks
from magenta_style.errors import UserError
from tests import train_helpers as th
from tests.conftest import tiny_arbitrary_model


@pytest.mark.parametrize("value, ok", [(1.0, True), (0, True), (float("nan"), False),
                                       (float("inf"), False), (True, False), ("1", False),
                                       (-1e-9, False), (1e38, False)])
def test_number_takes_only_finite_numbers_in_range(value, ok):
    if ok:
        assert checks.number("--w", value, 0, checks.MAX_WEIGHT) == value
    else:
        with pytest.raises(UserError, match=r"--w must be a number in \[0, 1e\+12\]"):
            checks.number("--w", value, 0, checks.MAX_WEIGHT)


@pytest.mark.parametrize("changes, words", [
    (dict(content_weights={"vgg_16/conv2": 1e38}), "--content_weights"),
    (dict(style_weights={"vgg_16/conv1": float("nan")}), "--style_weights"),
    (dict(learning_rate=float("inf")), "--learning_rate"),
    (dict(total_variation_weight=1e38), "--total_variation_weight"),
    (dict(alpha=1e6), "--alpha"),
    (dict(image_size=10 ** 9), "--image_size"),
    (dict(style_image_size=-5), "--style_image_size"),
])
def test_training_settings_out_of_range_are_one_line(tmp_path, changes, words):
    from magenta_style.training import modes

    cfg = th.tiny_config(tmp_path, "x/*.png", "absent.h5", **changes)
    with pytest.raises(UserError, match=words):
        modes.check_config(cfg)


def test_optimize_weights_that_overflow_the_loss_are_refused():
    from magenta_style.optimization import config as opt_config

    cfg = opt_config.OptimizeConfig(style_weight=1e38)
    with pytest.raises(UserError, match="style_weight must be a number in"):
        opt_config.validate(cfg)


def test_blends_and_vectors_that_overflow_are_errors_not_images():
    from magenta_style.stylization import arbitrary
    from magenta_style.stylization.api import stylize

    with pytest.raises(UserError, match="style_blend_weights must be"):
        arbitrary.check_blend_weights([1e308, 1e308], 2)
    photo = np.random.default_rng(0).random((16, 16, 3)).astype("float32")
    with pytest.raises(UserError, match="style vector holds values beyond"):
        stylize(photo, tiny_arbitrary_model(), style_vector=np.full(100, 1e30, np.float32))


def test_a_changed_style_image_size_on_resume_is_refused(tmp_path):
    from magenta_style.data import style_grams
    from magenta_style.training import modes

    glob = th.style_files(str(tmp_path / "styles"), n=1)
    files = style_grams.list_image_files(glob)
    stored = style_grams.StyleSet(style_grams.style_names(files), {},
                                  [style_grams.load_style_image(f, 40) for f in files],
                                  {"style_image_size": 40})
    cfg = th.tiny_config(tmp_path, glob, "absent.h5")
    assert modes._style_images_change(stored, cfg) is None  # style_image_size=40 there
    cfg = th.tiny_config(tmp_path, glob, "absent.h5", style_image_size=32)
    assert "--style_image_size=40, now --style_image_size=32" in \
        modes._style_images_change(stored, cfg)


def test_a_tiny_style_image_at_native_size_is_one_line(tmp_path):
    from magenta_style.data import style_grams
    from magenta_style.storage import image_io

    image_io.save_image(np.zeros((6, 9, 3), np.uint8), tmp_path / "tiny.png")
    with pytest.raises(UserError, match=r"tiny.png is 9x6 pixels.*--style_image_size=256"):
        style_grams.compute_style_set(str(tmp_path / "tiny.png"), style_image_size=0)


def test_a_huge_contact_sheet_cell_is_one_line():
    from magenta_style.stylization import batch_files

    with pytest.raises(UserError, match="contact_sheet_size must be an integer of 16 to"):
        batch_files.check_cell_size(100_000)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_export_location_the_file_system_refuses_is_one_line():
    from magenta_style.storage import atomic

    with pytest.raises(UserError, match="cannot be written") as e:
        atomic.write_dir("/proc/magenta_style_export", lambda d: None, what="export folder")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("changes", [dict(image_size=float("nan")), dict(max_images=0),
                                     dict(grid_photos=-1), dict(style_image_size=10 ** 9)])
def test_evaluate_settings_out_of_range_are_one_line_before_any_work(tmp_path, changes,
                                                                     monkeypatch):
    from magenta_style.storage import model_format
    from magenta_style.training import evaluation

    monkeypatch.setattr(model_format, "load_model", lambda *a, **k: pytest.fail("loaded"))
    config = evaluation.EvalConfig(checkpoint="varied", eval_images=str(tmp_path), **changes)
    with pytest.raises(UserError, match="must be an integer"):
        evaluation.evaluate(config)
