"""absl-flag entry points. Each module parses flags and calls one library function.

`bin/<name>` and the console script `magenta_style_<name>` both call
`magenta_style.scripts.<name>.run()`.

Importing this package also keeps TensorFlow's start-up chatter off the
terminal (see `quiet_tensorflow_start`), so that a script's own one-line
error is what the user sees; `--verbose` (or MAGENTA_STYLE_VERBOSE=1) keeps it.
"""

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

VERBOSE_ENV = "MAGENTA_STYLE_VERBOSE"

# TensorFlow's start-up lines on a machine without CUDA (TF 2.21): oneDNN,
# "Could not find cuda drivers", the CPU-instructions note, "failed call to
# cuInit" (at error level), cuDNN/cuFFT/cuBLAS factory registration. They
# are written by absl's C++ logging before `absl::InitializeLog()`, which
# ignores TF_CPP_MIN_LOG_LEVEL (tried: 3 still prints them; so do
# ABSL_MIN_LOG_LEVEL, CUDA_VISIBLE_DEVICES="" and TF_ENABLE_ONEDNN_OPTS=0,
# which also changes numerics), so the only thing that works is to hold
# the process's stderr while TensorFlow loads and probes its devices.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*"
    r"|[IW]\d{4} .*"  # info and warning lines in absl's format
    r"|E\d{4} \S+ +\d+ (cuda_\w+|cudart_stub|gpu_\w+)\.cc:\d+\] .*"  # CUDA probing
    r")$")


def is_noise(line):
    """True for one of TensorFlow's start-up log lines (see `_NOISE`)."""
    return bool(_NOISE.match(line.rstrip("\r\n")))


def verbose_requested(argv=None, environ=None):
    """True when `--verbose` is on the command line or MAGENTA_STYLE_VERBOSE is set."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    return any(a in ("--verbose", "--verbose=true", "--verbose=1", "--verbose=True")
               for a in argv[1:])


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's import (and device probing) with stderr held in a file.

    Lines that are not start-up noise are written back to stderr afterwards;
    when the import fails, everything is.
    """

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        sys.stderr.flush()
        saved = os.dup(2)
        failed = True
        with tempfile.TemporaryFile(mode="w+b") as held:
            os.dup2(held.fileno(), 2)
            try:
                self._loader.exec_module(module)
                # CUDA is probed (cuInit) on first use: do it while held.
                module.config.list_physical_devices()
                # Its Python logger too: "INFO:tensorflow:Assets written to ..."
                # on every export.
                module.get_logger().setLevel("ERROR")
                failed = False
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                text = held.read().decode("utf-8", "replace")
                kept = [line for line in text.splitlines(keepends=True)
                        if failed or not is_noise(line)]
                if kept:
                    sys.stderr.write("".join(kept))
                    sys.stderr.flush()


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as usual, but loads it through `_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; and let the real finders answer
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_start(argv=None, environ=None):
    """Hides TensorFlow's start-up log lines unless verbose output was asked for.

    Must run before TensorFlow is imported (this package's import does it).
    Sets TF_CPP_MIN_LOG_LEVEL=2 (no info/warning lines once TensorFlow's
    logging is set up) unless the user set it, and holds stderr while
    TensorFlow is imported and probes CUDA; other lines written meanwhile
    come back.

    Returns:
        True when quieting is in effect.
    """
    environ = os.environ if environ is None else environ
    if verbose_requested(argv, environ) or "tensorflow" in sys.modules:
        return False
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    return True


quiet_tensorflow_start()
