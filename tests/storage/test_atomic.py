"""Atomic writes: a failing writer leaves the old output and no temp files."""

import os

import pytest

from magenta_style.storage import atomic


def test_write_file_replaces_and_keeps_old_on_failure(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    atomic.write_file(path, lambda tmp: open(tmp, "w").write("one"), suffix=".txt")
    assert path.read_text() == "one" and oct(path.stat().st_mode)[-3:] == "644"

    def broken(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_file(path, broken)
    assert path.read_text() == "one"
    assert os.listdir(path.parent) == ["out.txt"]


def test_write_dir_swaps_whole_folders(tmp_path):
    target = tmp_path / "model"
    atomic.write_dir(target, lambda d: open(os.path.join(d, "a"), "w").write("1"))
    atomic.write_dir(target, lambda d: open(os.path.join(d, "b"), "w").write("2"))
    assert sorted(os.listdir(target)) == ["b"]  # no mix of old and new
    with pytest.raises(RuntimeError):
        atomic.write_dir(target, lambda d: (_ for _ in ()).throw(RuntimeError("x")))
    assert sorted(os.listdir(target)) == ["b"]
    assert sorted(os.listdir(tmp_path)) == ["model"]
