"""Atomic writes: a failing writer leaves the old output and no temp files."""

import os

import pytest

from magenta_style.errors import UserError
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
    mine = sorted(["b", atomic.MARKER_FILE])
    assert sorted(os.listdir(target)) == mine  # no mix of old and new
    with pytest.raises(RuntimeError):
        atomic.write_dir(target, lambda d: (_ for _ in ()).throw(RuntimeError("x")))
    assert sorted(os.listdir(target)) == mine
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_write_dir_never_replaces_a_folder_holding_a_users_files(tmp_path):
    calls = []
    users = tmp_path / "home"
    users.mkdir()
    (users / "thesis.txt").write_text("years of work")
    with pytest.raises(atomic.UserError, match="did not write.*--overwrite") as e:
        atomic.write_dir(users, calls.append)
    assert "\n" not in str(e.value) and calls == []
    assert (users / "thesis.txt").read_text() == "years of work"
    # A folder we wrote, to which the user then added a file, is theirs too.
    ours = tmp_path / "export"
    atomic.write_dir(ours, lambda d: open(os.path.join(d, "a"), "w").write("1"))
    (ours / "notes.txt").write_text("mine")
    with pytest.raises(atomic.UserError, match="did not write"):
        atomic.write_dir(ours, calls.append)
    assert (ours / "notes.txt").read_text() == "mine" and calls == []
    # Empty folders, --overwrite, and layouts the caller recognises are replaced.
    (tmp_path / "empty").mkdir()
    atomic.write_dir(tmp_path / "empty", lambda d: None)
    atomic.write_dir(users, lambda d: None, overwrite=True)
    assert os.listdir(users) == [atomic.MARKER_FILE]
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text("{}")
    atomic.write_dir(old, lambda d: None, earlier=lambda d: os.listdir(d) == ["config.json"])
    assert os.listdir(old) == [atomic.MARKER_FILE]


def test_a_folder_output_that_is_or_holds_an_input_is_refused(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    for folder in (model, tmp_path):
        with pytest.raises(atomic.UserError, match="is or holds the input"):
            atomic.check_replaceable(folder, inputs=[model], overwrite=True)
    atomic.check_replaceable(tmp_path / "other", inputs=[model])


def test_output_checks_refuse_files_and_create_nothing(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(atomic.UserError, match="is a file"):
        atomic.check_output_dir(tmp_path / "f")
    with pytest.raises(atomic.UserError, match="under .*f, which is a file"):
        atomic.check_output_dir(tmp_path / "f" / "a" / "b")
    with pytest.raises(atomic.UserError, match="is a folder"):
        atomic.check_output_file(tmp_path)
    with pytest.raises(atomic.UserError, match="which is a file"):
        atomic.check_output_file(tmp_path / "f" / "out.png")
    atomic.check_output_dir(tmp_path / "new" / "deeper")
    atomic.check_output_file(tmp_path / "new" / "out.png")
    assert sorted(os.listdir(tmp_path)) == ["f"]


def test_write_dir_over_a_file_is_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "export").write_text("x")
    calls = []
    with pytest.raises(atomic.UserError, match="is a file"):
        atomic.write_dir(tmp_path / "export", calls.append)
    assert calls == [] and sorted(os.listdir(tmp_path)) == ["export"]


def test_remove_stale_takes_only_our_old_temp_names(tmp_path):
    import time

    old = time.time() - 2 * atomic.STALE_AFTER_S
    names = [".tmp-abcd1234.png", ".tmp-abcd1234", ".old-zz_99x00", ".tmp-short.png",
             "tmp-abcd1234.png", ".tmp-abcd1234.png.bak", "photo.png"]
    for name in names:
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".tmp-dir12345").mkdir()
    os.utime(tmp_path / ".tmp-dir12345", (old, old))
    (tmp_path / ".tmp-new12345.png").write_text("in progress")
    assert atomic.remove_stale(tmp_path) == 4
    assert sorted(os.listdir(tmp_path)) == sorted(
        [".tmp-short.png", "tmp-abcd1234.png", ".tmp-abcd1234.png.bak", "photo.png",
         ".tmp-new12345.png"])
    assert atomic.remove_stale(tmp_path / "absent") == 0


def test_an_output_that_is_an_input_by_any_name_is_refused(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"the user's video")
    (tmp_path / "link.mp4").symlink_to(source)
    for output in (source, tmp_path / "link.mp4", tmp_path / "sub" / ".." / "in.mp4"):
        with pytest.raises(UserError, match="is the input"):
            atomic.check_output_file(output, "output video", inputs=(source,))
    atomic.check_output_file(tmp_path / "out.mp4", "output video", inputs=(source, None))
    assert source.read_bytes() == b"the user's video"
