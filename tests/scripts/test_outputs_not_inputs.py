"""No command writes its output over one of its inputs; each refuses before any work."""

import json
import os

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from tests.conftest import styled_model
from tests.scripts.test_optimize import run_main as run_optimize


def _never(*args, **kwargs):
    raise AssertionError("the work started before the output path was checked")


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for name in ("p.png", "p_0.png"):
        paths.append(str(tmp_path / name))
        image_io.save_image(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8), paths[-1])
    return paths


def _bytes(paths):
    return [open(p, "rb").read() for p in paths]


def test_stylize_overwrite_never_writes_over_an_input_photo(photos, tmp_path, monkeypatch):
    from magenta_style.stylization import batch_files
    from magenta_style.stylization.api import StylizeConfig

    before = _bytes(photos)
    monkeypatch.setattr(batch_files.render, "render_photo", _never)
    # p.png's pastiche under style 0 is p_0.png: the second input.
    config = StylizeConfig(checkpoint=styled_model(2, 0), input_image=",".join(photos),
                           output_dir=str(tmp_path), overwrite=True)
    with pytest.raises(UserError, match="p_0.png is the input"):
        batch_files.stylize_files(config, progress=False, log=lambda line: None)
    # The contact sheet, and a photo given by another name (a link).
    os.symlink(photos[0], tmp_path / "contact_sheet.png")
    config = StylizeConfig(checkpoint=styled_model(2, 0), input_image=photos[0],
                           output_dir=str(tmp_path), overwrite=True, contact_sheet=True,
                           contact_sheet_size=16, output_format="jpg")
    with pytest.raises(UserError, match="contact_sheet.png is the input"):
        batch_files.stylize_files(config, progress=False, log=lambda line: None)
    assert _bytes(photos) == before


def test_optimize_output_equal_to_the_photo_or_a_painting_is_refused(photos, monkeypatch):
    from magenta_style.scripts import optimize as script

    monkeypatch.setattr(script, "optimize", _never)
    for output in photos:
        with pytest.raises(UserError, match="is the input"):
            run_optimize([f"--content_image={photos[0]}", f"--style_images={photos[1]}",
                          f"--output={output}"])


def test_create_style_dataset_output_equal_to_a_style_image_is_refused(photos, monkeypatch):
    from magenta_style.data import style_grams

    monkeypatch.setattr(style_grams, "compute_style_set", _never)
    before = _bytes(photos)
    with pytest.raises(UserError, match="is the input"):
        style_grams.create_style_set(",".join(photos), photos[1])
    assert _bytes(photos) == before


def test_plot_metrics_output_equal_to_a_metrics_file_is_refused(tmp_path):
    from magenta_style.training import curves

    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps({"step": 1, "losses/total_loss": 1.0}) + "\n")
    with pytest.raises(UserError, match="is the input"):
        curves.plot_metrics(curves.CurvesConfig(metrics=str(metrics), output=str(metrics)))
    assert metrics.read_text().startswith("{")


def test_evaluate_output_over_an_eval_photo_is_refused(tmp_path, monkeypatch):
    from magenta_style.storage import model_format
    from magenta_style.training import evaluation

    monkeypatch.setattr(model_format, "load_model", _never)
    image_io.save_image(np.zeros((8, 8, 3), np.uint8), tmp_path / "style_grid.png")
    config = evaluation.EvalConfig(checkpoint="varied", eval_images=str(tmp_path),
                                   style_images="x/*.png", output_dir=str(tmp_path))
    with pytest.raises(UserError, match="style_grid.png is the input"):
        evaluation.evaluate(config)


def test_optimize_and_training_output_folders_are_checked_before_any_work(tmp_path):
    from magenta_style.optimization import config as opt_config
    from magenta_style.training import runner
    from tests import train_helpers as th

    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match="save_dir folder .*is a file"):
        opt_config.validate(opt_config.OptimizeConfig(save_dir=str(tmp_path / "a_file"),
                                                      save_every=1))
    with pytest.raises(UserError, match="train folder .*is a file"):
        runner.check_outputs(th.tiny_config(tmp_path / "a_file", "x/*.png", "absent.h5"))


def test_create_style_dataset_replaces_only_an_earlier_style_set(photos, tmp_path,
                                                                 monkeypatch):
    from magenta_style.data import style_grams

    styles = style_grams.StyleSet(["p"], {"vgg_16/conv1": np.ones((1, 2, 2), np.float32)},
                                  [np.zeros((16, 16, 3), np.uint8)],
                                  {"format": style_grams.FORMAT})
    monkeypatch.setattr(style_grams, "compute_style_set", lambda *a, **k: styles)
    users = tmp_path / "notes.npz"
    users.write_bytes(b"the user's own file")
    with pytest.raises(UserError, match="is not a style set magenta_style wrote"):
        style_grams.create_style_set(photos[0], str(users))
    assert users.read_bytes() == b"the user's own file"
    ours = str(tmp_path / "styles.npz")
    style_grams.create_style_set(photos[0], ours)
    style_grams.create_style_set(photos[0], ours)  # an earlier style set: replaced
    style_grams.create_style_set(photos[0], str(users), overwrite=True)
    assert style_grams.load_style_set(str(users)).names == ["p"]
