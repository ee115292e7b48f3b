"""Scripts start quietly: TensorFlow's start-up log lines are held back, others are not."""

import logging
import os
import subprocess
import sys
import types

import numpy as np

from magenta_style import scripts
from magenta_style.storage import image_io

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# As TensorFlow 2.21 prints them on a machine without CUDA.
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795708667.583722    6428 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1795708667.584462    6428 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1795708669.595628    6428 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]


def test_a_successful_run_prints_only_its_own_line(tmp_path):
    image_io.save_image(np.full((20, 28, 3), 128, np.uint8), tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", scripts.VERBOSE_ENV)}
    args = [sys.executable, os.path.join(REPO, "bin", "stylize"),
            f"--input_image={tmp_path / 'a.png'}", f"--output_dir={tmp_path / 'out'}"]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"wrote 1 file(s) to {tmp_path / 'out'}"]


def test_noise_is_recognised_and_real_errors_are_not():
    assert all(scripts.is_noise(line) for line in NOISE)
    for line in ("error: Image not found: a.png", "Traceback (most recent call last):",
                 "E0000 00:00:1795708669.595628    6428 op_kernel.cc:1] Out of memory",
                 "F0000 00:00:1795708669.595628    6428 cuda_platform.cc:9] fatal"):
        assert not scripts.is_noise(line)


def test_verbose_is_read_from_the_command_line_or_the_environment():
    assert scripts.verbose_requested(["bin/stylize", "--verbose"], {})
    assert scripts.verbose_requested(["bin/stylize"], {scripts.VERBOSE_ENV: "1"})
    assert not scripts.verbose_requested(["bin/stylize", "--noverbose"], {})
    assert not scripts.verbose_requested(["--verbose"], {})  # argv[0] is the program


def test_held_lines_that_are_not_noise_come_back(capfd):
    class FakeLoader:
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            os.write(2, ("\n".join(NOISE) + "\nsomething the user must see\n").encode())
            module.config = types.SimpleNamespace(list_physical_devices=lambda: [])
            module.get_logger = lambda: logging.getLogger("fake_tensorflow")

    scripts._QuietLoader(FakeLoader()).exec_module(types.SimpleNamespace())
    assert capfd.readouterr().err == "something the user must see\n"
