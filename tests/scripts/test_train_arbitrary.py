"""bin/train_arbitrary end to end (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest

from tests import train_helpers as th

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.needs_weights
TINY = ["--predictor=mobilenet_v2", "--batch_size=2", f"--image_size={th.SIZE}",
        f"--style_image_size={th.SIZE}", "--norandom_style_image_size", "--nojit_compile",
        "--log_every=1", "--content_weights={'vgg_16/conv2': 1.0}",
        "--style_weights={'vgg_16/conv1': 0.5e-3, 'vgg_16/conv2': 0.5e-3}"]


def _run(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    return subprocess.run([sys.executable, os.path.join(REPO, "bin", "train_arbitrary"),
                           *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_trains_and_writes_a_model(tmp_path, vgg16_file):
    photos = tmp_path / "photos"
    th.write_images(str(photos), th.smooth_images(4, 40, seed=2), ext="jpg")
    styles = th.style_files(str(tmp_path / "styles"), n=2)
    proc = _run(f"--train_dir={tmp_path / 'run'}", f"--vgg_weights={vgg16_file}",
                f"--style_images={styles}", f"--content_images={photos}",
                "--train_steps=2", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "for 2 steps" in proc.stdout
    with open(tmp_path / "run" / "model" / "config.json") as f:
        meta = json.load(f)
    assert meta["format"] == "magenta_style.arbitrary/1"
    assert meta["provenance"]["steps"] == 2


def test_bad_input_is_one_line(tmp_path, vgg16_file):
    proc = _run(f"--train_dir={tmp_path / 'run'}", f"--vgg_weights={vgg16_file}",
                f"--style_images={tmp_path / 'missing'}/*.jpg", *TINY)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "No image files found" in lines[0]
