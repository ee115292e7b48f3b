"""Loss curves: reading metrics files and drawing them (magenta_style.training.curves)."""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.training import curves

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write(path, records, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return str(path)


def _records(steps, start=1e6, rate=0.01):
    return [{"step": s, "losses/total_loss": start * np.exp(-rate * s),
             "losses/total_style_loss": 0.5 * start * np.exp(-rate * s), "speed/steps_per_sec": 3.0}
            for s in steps]


def test_read_metrics_joins_runs_by_step_later_files_win(tmp_path):
    first = _write(tmp_path / "run1.jsonl", _records([10, 20, 30]))
    second = _records([30, 40])
    second[0]["losses/total_loss"] = 123.0  # Step 30 logged again by the resumed run.
    second_path = _write(tmp_path / "run2.jsonl.gz", second, gz=True)
    records = curves.read_metrics(f"{first},{second_path}")
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert records[2]["losses/total_loss"] == 123.0
    assert [r["step"] for r in curves.read_metrics(str(tmp_path / "run*"))] == [10, 20, 30, 40]


def _curve_rows(image, colour):
    """Mean row of the pixels drawn in `colour`, per column (NaN where none)."""
    pixels = np.asarray(image).astype(int)
    hit = np.all(np.abs(pixels - np.asarray(colour)) < 8, axis=-1)
    hit[pixels.shape[0] - 60:] = False  # The legend's swatches.
    rows = np.arange(pixels.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        return (hit * rows).sum(0) / hit.sum(0)


def test_plot_draws_each_series_where_its_values_are(tmp_path):
    records = _records(range(0, 501, 10))
    out = curves.plot_curves(records, str(tmp_path / "c.png"), width=600, height=300,
                             keys=("losses/total_loss", "losses/total_style_loss"))
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (600, 300)
    total = _curve_rows(image, curves.COLOURS[0])
    style = _curve_rows(image, curves.COLOURS[1])
    columns = np.nonzero(np.isfinite(total) & np.isfinite(style))[0]
    assert len(columns) > 400  # Drawn across the plot.
    # Falling losses: the line ends lower in the image (larger row) than it starts.
    assert total[columns[-1]] > total[columns[0]] + 100
    # On a log axis, half the loss is the same distance below everywhere.
    gaps = style[columns] - total[columns]
    assert np.all(gaps > 5) and np.ptp(gaps[5:-5]) < 4


def test_bad_input_is_one_clear_error(tmp_path):
    good = _write(tmp_path / "m.jsonl", _records([1, 2]))
    with pytest.raises(UserError, match="No scalar 'losses/nope'.*losses/total_loss"):
        curves.plot_curves(curves.read_metrics(good), str(tmp_path / "x.png"),
                           keys=("losses/nope",))
    with pytest.raises(UserError, match="hold no records"):
        curves.plot_curves([], str(tmp_path / "x.png"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"step": 1}\nnot json\n')
    with pytest.raises(UserError, match="bad.jsonl:2 is not a training metrics record"):
        curves.read_metrics(str(bad))
    with pytest.raises(UserError, match="No metrics file"):
        curves.read_metrics(str(tmp_path / "missing.jsonl"))
    assert not os.path.exists(tmp_path / "x.png")


def test_bin_plot_metrics(tmp_path):
    metrics = _write(tmp_path / "metrics.jsonl", _records(range(0, 200, 20)))
    out = tmp_path / "curve.png"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "plot_metrics"), f"--metrics={metrics}",
         f"--output={out}", "--keys=losses/total_loss", "--smoothing=3"],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Image.open(out).size == (900, 450)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "plot_metrics"),
         f"--metrics={tmp_path}/none.jsonl", f"--output={out}"],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
