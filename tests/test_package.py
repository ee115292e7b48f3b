"""Packaging: a cheap import, and a wheel that carries the shipped models."""

import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_is_cheap_and_offline():
    # Importing the package must not load TensorFlow, touch the network or
    # read weights; the public names resolve lazily.
    code = ("import sys, socket\n"
            "def no_net(*a, **k): raise RuntimeError('network used at import')\n"
            "socket.socket.connect = no_net\n"
            "import magenta_style\n"
            "assert 'tensorflow' not in sys.modules\n"
            "assert callable(magenta_style.build_transformer)\n"
            "print(magenta_style.__version__)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_unknown_attribute():
    import magenta_style

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        magenta_style.nope  # noqa: B018


@pytest.mark.slow
def test_wheel_contains_library_scripts_and_checkpoints(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path), REPO],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    names = zipfile.ZipFile(tmp_path / wheel).namelist()
    # Every module of every subpackage, and nothing else (a stale build/
    # folder would add modules that no longer exist).
    package = os.path.join(REPO, "magenta_style")
    sources = {os.path.relpath(os.path.join(root, f), REPO).replace(os.sep, "/")
               for root, _, files in os.walk(package) for f in files if f.endswith(".py")}
    packaged = {n for n in names if n.endswith(".py") and not n.startswith(
        "magenta_style/checkpoints/")}
    assert sources == packaged, (sorted(sources - packaged), sorted(packaged - sources))
    shipped = [os.path.join(d, f) for d in os.listdir(os.path.join(REPO, "checkpoints"))
               if os.path.isdir(os.path.join(REPO, "checkpoints", d))
               for f in os.listdir(os.path.join(REPO, "checkpoints", d))]
    assert {"android-26/config.json", "varied/model.weights.h5", "varied/NOTICE",
            "varied-small/model.weights.h5", "varied-small/NOTICE",
            "arbitrary-v1/predictor.weights.h5", "arbitrary-v1/NOTICE"} <= set(shipped)
    for expected in ["magenta_style/checkpoints/" + f for f in shipped] + [
            "magenta_style/studio/static/index.html"]:
        assert expected in names, f"{expected} missing from {wheel}"
    entry_points = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(tmp_path / wheel).read(entry_points[0]).decode()
    assert "magenta_style_stylize = magenta_style.scripts.stylize:run" in text


def test_every_public_name_resolves_and_functions_are_not_modules():
    import types

    import magenta_style

    for name in magenta_style.__all__:
        value = getattr(magenta_style, name)
        assert not isinstance(value, types.ModuleType), name
    # Importing the modules behind the functions must not shadow them.
    import magenta_style.optimization.gatys  # noqa: F401
    import magenta_style.stylization.api  # noqa: F401

    assert callable(magenta_style.stylize) and callable(magenta_style.optimize)
    assert not isinstance(magenta_style.stylize, types.ModuleType)
