"""Folder outputs (exports, models) never replace a folder holding a user's files."""

import json
import os
import subprocess
import sys

import pytest

from magenta_style import export
from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.storage import atomic
from magenta_style.storage import model_format
from magenta_style.training import runner
from tests import train_helpers as th

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def tiny():
    return transformer.build_transformer(2, alpha=0.25, num_residual_blocks=1)


def _users_folder(path):
    path.mkdir()
    (path / "thesis.txt").write_text("years of work")
    return path


def test_export_refuses_a_folder_holding_a_users_file_before_any_work(tmp_path, tiny,
                                                                      monkeypatch):
    monkeypatch.setattr(export, "_serving_module", lambda m: pytest.fail("exported anyway"))
    users = _users_folder(tmp_path / "home")
    with pytest.raises(UserError, match="did not write.*--overwrite"):
        export.export_saved_model(tiny, str(users))
    assert (users / "thesis.txt").read_text() == "years of work"


def test_export_into_the_model_it_reads_is_refused_even_with_overwrite(tmp_path, tiny,
                                                                       monkeypatch):
    monkeypatch.setattr(export, "_serving_module", lambda m: pytest.fail("exported anyway"))
    model_dir = tmp_path / "m"
    model_format.save_model(tiny, model_dir)
    for target in (model_dir, tmp_path):
        with pytest.raises(UserError, match="is or holds the input"):
            export.export_saved_model(str(model_dir), str(target), overwrite=True)
    assert model_format.load_model(str(model_dir)).transformer_config.num_styles == 2


def test_outputs_written_before_the_marker_are_still_replaced(tmp_path, tiny):
    # A model folder of an earlier version: our config.json and weights, no marker.
    old_model = tmp_path / "model"
    model_format.save_model(tiny, old_model)
    os.remove(old_model / atomic.MARKER_FILE)
    model_format.save_model(tiny, old_model)
    assert os.path.isfile(old_model / atomic.MARKER_FILE)
    # ... but not one to which a user's file was added.
    os.remove(old_model / atomic.MARKER_FILE)
    (old_model / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="did not write"):
        model_format.save_model(tiny, old_model)
    # A SavedModel export of an earlier version.
    old_export = tmp_path / "export"
    (old_export / "assets.extra").mkdir(parents=True)
    (old_export / "assets.extra" / "model_config.json").write_text(json.dumps({}))
    (old_export / "saved_model.pb").write_bytes(b"x")
    (old_export / "variables").mkdir()
    atomic.check_replaceable(old_export, earlier=export.is_export_output)
    (old_export / "mine.txt").write_text("x")
    with pytest.raises(UserError, match="did not write"):
        atomic.check_replaceable(old_export, earlier=export.is_export_output)


def test_training_refuses_a_model_dir_holding_a_users_files_before_any_work(tmp_path):
    users = _users_folder(tmp_path / "home")
    cfg = th.tiny_config(users / "run", "x/*.png", "absent.h5", model_dir=str(users))
    with pytest.raises(UserError, match="is or holds the input"):  # --model_dir=. case
        runner.check_outputs(cfg)
    cfg = th.tiny_config(tmp_path / "run", "x/*.png", "absent.h5", model_dir=str(users))
    with pytest.raises(UserError, match="did not write.*--overwrite"):
        runner.check_outputs(cfg)
    runner.check_outputs(th.tiny_config(tmp_path / "run", "x/*.png", "absent.h5"))
    assert os.listdir(users) == ["thesis.txt"]


@pytest.mark.slow
def test_export_script_on_a_users_folder_is_one_line_and_keeps_the_file(tmp_path):
    users = _users_folder(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "export"), "--checkpoint=android-26",
         f"--export_dir={users}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(os.listdir(users)) == ["thesis.txt"]
