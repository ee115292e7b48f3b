"""A Beam run killed with SIGKILL half-way, then rerun: exactly the 40 outputs, none truncated."""

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from magenta_style.stylization.api import StylizeConfig
from tests.beam.conftest import MODEL
from tests.beam.conftest import outputs
from tests.beam.conftest import write_photos

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_killed_run_then_rerun_gives_exactly_every_output(tmp_path):
    from magenta_style.beam import stylize_collection

    folder = tmp_path / "in"
    write_photos(folder, 40, seed=1)
    out = tmp_path / "out"
    args = [sys.executable, os.path.join(REPO, "bin", "stylize"), f"--input_image={folder}",
            f"--output_dir={out}", f"--checkpoint={MODEL}",
            "--beam_pipeline_options=runner=DirectRunner,direct_num_workers=2,"
            "direct_running_mode=multi_processing"]
    # Its own process group: SIGKILL takes the driver and its worker
    # processes down at once, as a lost machine would.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and any(n.endswith(".png") for n in outputs(out)):
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = outputs(out) if out.is_dir() else []
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert 0 < len(done) < 40, done

    summary = stylize_collection(
        StylizeConfig(checkpoint=MODEL, output_dir=str(out), input_image=str(folder)), "",
        log=lambda line: None)
    assert summary.skipped == len(done) and summary.written == 40 - len(done)
    names = [n for n in outputs(out) if n != "failures.jsonl"]
    assert names == [f"p{i:02d}_0.png" for i in range(40)]
    for name in names:
        with Image.open(out / name) as img:
            img.load()  # a truncated PNG raises here
