"""bin/create_style_dataset: flags -> style set file; bad input -> one line."""

import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from magenta_style.data import style_grams
from tests.data.test_style_grams import make_styles

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "bin", "create_style_dataset")


@pytest.mark.needs_weights
def test_writes_a_style_set(tmp_path, rng, vgg16_file):
    from magenta_style.scripts import create_style_dataset

    make_styles(str(tmp_path / "img"), rng)
    out = str(tmp_path / "out" / "styles.npz")
    values = {"style_files": str(tmp_path / "img" / "*"), "output_file": out,
              "style_image_size": 32, "vgg_weights": vgg16_file,
              "layers": "['vgg_16/conv1']", "arch": "vgg16", "pooling": "avg"}
    # Parse each flag as the command line would, without running the
    # validators other script modules in this process may have registered.
    flags.FLAGS.unparse_flags()
    try:
        for name, value in values.items():
            flags.FLAGS[name].parse(str(value))
        flags.FLAGS.mark_as_parsed()
        create_style_dataset.main([])
    finally:
        flags.FLAGS.unparse_flags()
    loaded = style_grams.load_style_set(out)
    assert loaded.names == ["a_dots", "b_waves", "c_gray"]
    assert list(loaded.grams) == ["vgg_16/conv1"]
    assert loaded.grams["vgg_16/conv1"].shape == (3, 64, 64)
    assert np.all(np.isfinite(loaded.grams["vgg_16/conv1"]))
    assert os.listdir(tmp_path / "out") == ["styles.npz"]  # no temp files left


def test_glob_matching_nothing_is_one_line(tmp_path):
    pattern = str(tmp_path / "missing" / "*.jpg")
    out = str(tmp_path / "s.npz")
    result = subprocess.run([sys.executable, BIN, f"--style_files={pattern}",
                             f"--output_file={out}"], capture_output=True, text=True)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and pattern in lines[0]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(out)


def test_missing_required_flag_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, BIN, f"--output_file={tmp_path / 's.npz'}"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --style_files is required")
