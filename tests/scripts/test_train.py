"""bin/train_from_scratch, bin/finetune, bin/evaluate end to end (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest

from tests import train_helpers as th

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.needs_weights
TINY = ["--alpha=0.25", "--batch_size=2", f"--image_size={th.SIZE}", "--style_image_size=40",
        "--nojit_compile", "--log_every=1", "--grid_every=0",
        "--content_weights={'vgg_16/conv2': 1.0}",
        "--style_weights={'vgg_16/conv1': 1e-4, 'vgg_16/conv2': 1e-4}"]


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    return subprocess.run([sys.executable, os.path.join(REPO, "bin", script), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def _error_line(proc):
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    photos = root / "photos"
    th.write_images(str(photos), th.smooth_images(4, 40, seed=2), ext="jpg")
    return {"photos": str(photos), "styles": th.style_files(str(root / "styles"), n=2),
            "new": th.style_files(str(root / "new"), n=1, seed=9, names=["added"])}


@pytest.mark.slow
def test_train_then_append_then_evaluate(tmp_path, data, vgg16_file):
    train_dir = tmp_path / "run"
    proc = _run("train_from_scratch", f"--train_dir={train_dir}", f"--vgg_weights={vgg16_file}",
                f"--style_images={data['styles']}", f"--content_images={data['photos']}",
                "--train_steps=2", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(train_dir / "model" / "config.json") as f:
        assert json.load(f)["style_names"] == ["style0", "style1"]

    proc = _run("finetune", f"--checkpoint={train_dir / 'model'}", "--append",
                f"--train_dir={tmp_path / 'ft'}", f"--vgg_weights={vgg16_file}",
                f"--style_images={data['new']}", f"--content_images={data['photos']}",
                "--train_steps=1", *TINY[1:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "style0, style1, added" in proc.stdout

    proc = _run("evaluate", f"--checkpoint={train_dir / 'model'}",
                f"--eval_images={data['photos']}", f"--style_images={data['styles']}",
                f"--vgg_weights={vgg16_file}", "--image_size=32", "--style_image_size=40",
                f"--output_dir={tmp_path / 'eval'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "style0" in proc.stdout
    assert os.path.isfile(tmp_path / "eval" / "style_grid.png")


def test_style_glob_matching_nothing_is_one_line(tmp_path, data, vgg16_file):
    proc = _run("train_from_scratch", f"--train_dir={tmp_path}", f"--vgg_weights={vgg16_file}",
                f"--style_images={tmp_path}/missing/*.jpg", f"--content_images={data['photos']}",
                *TINY)
    assert "missing" in _error_line(proc)


def test_finetune_of_a_missing_model_is_one_line(tmp_path, data, vgg16_file):
    proc = _run("finetune", f"--checkpoint={tmp_path}/no_such_model", f"--train_dir={tmp_path}",
                f"--vgg_weights={vgg16_file}", f"--style_images={data['styles']}",
                f"--content_images={data['photos']}", *TINY)
    assert "no_such_model" in _error_line(proc)
