"""Flags generated from config dataclasses (magenta_style/scripts/flagutil.py)."""

import dataclasses
import os
import subprocess
import sys

import pytest
from absl import flags

from magenta_style.errors import UserError
from magenta_style.scripts import flagutil


@dataclasses.dataclass(frozen=True)
class First:
    fu_shared: bool = dataclasses.field(default=True, metadata={"help": "shared"})
    fu_weights: dict = dataclasses.field(default_factory=lambda: {"a": 1.0})
    fu_count: int = 3


@dataclasses.dataclass(frozen=True)
class Second:
    fu_shared: bool = False  # same flag name, another default
    fu_sizes: tuple = (1, 2)


@pytest.fixture
def fresh_flags():
    flags.FLAGS.unparse_flags()
    yield flags.FLAGS
    flags.FLAGS.unparse_flags()


def test_defaults_come_from_each_dataclass_even_for_shared_flags(fresh_flags):
    flagutil.define_flags(First)
    flagutil.define_flags(Second)  # reuses --fu_shared, defined once
    fresh_flags(["prog"])
    assert flagutil.config_from_flags(First) == First()
    assert flagutil.config_from_flags(Second) == Second()


def test_set_flags_are_parsed_into_the_config(fresh_flags):
    flagutil.define_flags(First)
    flagutil.define_flags(Second)
    fresh_flags(["prog", "--fu_shared", "--fu_weights={'b': 2.5}", "--fu_count=7",
                 "--fu_sizes=[3, 4]"])
    assert flagutil.config_from_flags(First) == First(True, {"b": 2.5}, 7)
    assert flagutil.config_from_flags(Second) == Second(True, (3, 4))


def test_bad_literal_is_one_line_naming_the_flag():
    with pytest.raises(UserError, match=r"--fu_weights must be a Python literal.*Received"):
        flagutil.parse_literal("{a: }", "fu_weights")


@pytest.mark.parametrize("raised, code, line", [
    ("UserError('--x must be positive. Received: -1')", 2,
     "error: --x must be positive. Received: -1"),
    ("KeyboardInterrupt()", 130, "Interrupted."),
    ("flagutil.flags.Error('Unexpected arguments: [1]')", 2,
     "error: Unexpected arguments: [1] (flags are written --name=value; see --help)"),
    ("os.kill(os.getpid(), signal.SIGTERM) or time.sleep(30)", 143, "Terminated."),
])
def test_run_ends_scripts_with_one_line_and_the_exit_code(raised, code, line):
    """What every bin/ script does on bad input (2) and on Ctrl-C or `timeout -s INT` (130)."""
    program = ("import os, signal, time\n"
               "from magenta_style.errors import UserError\n"
               "from magenta_style.scripts import flagutil\n"
               "def main(argv):\n"
               f"    raise {raised}\n"
               "flagutil.run(main)\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          cwd=repo, timeout=60)
    assert proc.returncode == code
    assert proc.stderr.strip().splitlines()[-1] == line and "Traceback" not in proc.stderr


def test_sigterm_during_a_write_leaves_no_temp_file(tmp_path):
    """SIGTERM in the middle of an atomic write: the temp file goes, as on Ctrl-C."""
    program = ("import os, signal, time\n"
               "from magenta_style.scripts import flagutil\n"
               "from magenta_style.storage import atomic\n"
               "def write(tmp):\n"
               "    open(tmp, 'w').write('half')\n"
               "    os.kill(os.getpid(), signal.SIGTERM)\n"
               "    time.sleep(30)\n"
               "def main(argv):\n"
               f"    atomic.write_file({str(tmp_path / 'out.png')!r}, write, suffix='.png')\n"
               "flagutil.run(main)\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          cwd=repo, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert os.listdir(tmp_path) == []
