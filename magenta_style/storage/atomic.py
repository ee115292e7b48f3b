"""Atomic file and folder writes: readers see the old or the new, never half.

Everything the library writes for users (images, models, style sets,
checkpoints, exports) goes through here: a temp file or folder beside the
target, then a rename, so a crash or Ctrl-C never leaves a half-written
output behind.
"""

import json
import os
import re
import shutil
import tempfile
import time

from magenta_style.errors import UserError
from magenta_style.storage import json_file

# Our temp files and folders: `.tmp-XXXXXXXX[.ext]` beside the target (and
# `.old-XXXXXXXX` while a folder is swapped). `remove_stale` matches these.
TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(r"^\.(tmp|old)-[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")  # mkstemp's 8 characters
# A temp file this old is a leftover (a killed run), not another process's
# write in progress: writing one image or model takes seconds.
STALE_AFTER_S = 600


def remove_stale(directory, max_age_s=STALE_AFTER_S):
    """Deletes our own leftover temp files and folders in `directory` (not recursive).

    Only names this module makes (`.tmp-XXXXXXXX[.ext]`, `.old-XXXXXXXX`)
    untouched for `max_age_s` seconds are removed; a killed run (SIGKILL,
    power loss) leaves them, since a clean exit or Ctrl-C/SIGTERM removes
    its own.

    Returns:
        The number of entries removed.
    """
    try:
        names = os.listdir(directory)
    except OSError:  # absent, or not a folder: nothing of ours there
        return 0
    removed, now = 0, time.time()
    for name in names:
        path = os.path.join(directory, name)
        try:
            if not _TEMP_NAME.match(name) or now - os.lstat(path).st_mtime < max_age_s:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed += 1
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _check_writable(path, what, target_is_dir):
    probe = path if target_is_dir else os.path.dirname(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        where = "is a file" if probe == path else f"is under {probe}, which is a file"
        raise UserError(f"The {what} {path} {where}; pass a "
                        f"{'folder' if target_is_dir else 'file'} path.")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == path else f" (its folder {probe} is not)"
        raise UserError(f"The {what} {path} is not writable{where}; pass a path you can "
                        "write to.")


def check_output_dir(directory, what="output folder"):
    """Checks, before any work, that `directory` is or can become a writable folder.

    Creates nothing (a run whose every input fails leaves no folder behind).

    Raises:
        UserError: `directory` or a parent is a file, or the nearest existing
            folder is not writable.
    """
    _check_writable(os.path.abspath(os.fspath(directory)), what, True)


def check_not_inputs(outputs, inputs, what="output file"):
    """Refuses an output that is one of `inputs` (the same file by any name).

    As rsync refuses to copy a file onto itself: writing a command's output
    over what it reads loses the input. Cheap for many files (one stat each).

    Args:
        outputs: paths the command will write.
        inputs: paths it reads (None entries are skipped).
        what: how the message names an output ("output video").

    Raises:
        UserError: naming the first output that is an input.
    """
    by_id, by_path = {}, {}
    for source in inputs:
        if source is None:
            continue
        by_path.setdefault(os.path.realpath(source), source)
        try:
            st = os.stat(source)
        except OSError:
            continue
        by_id.setdefault((st.st_dev, st.st_ino), source)
    for path in outputs:
        try:
            st = os.stat(path)
            source = by_id.get((st.st_dev, st.st_ino))
        except OSError:
            source = None
        source = source or by_path.get(os.path.realpath(path))
        if source is not None:
            raise UserError(f"The {what} {os.path.abspath(os.fspath(path))} is the input "
                            f"{os.fspath(source)}; pass another output path (the input is "
                            "never overwritten).")


def check_output_file(path, what="output file", inputs=()):
    """`check_output_dir` for the folder of file `path`; `path` must not be a folder.

    Args:
        path: the file a command will write.
        what: how the message names it ("output video").
        inputs: paths the same command reads; writing over one of them
            is refused (`check_not_inputs`).

    Raises:
        UserError: a parent is a file, the folder is not writable, `path`
            is an existing folder, or `path` is one of `inputs`.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise UserError(f"The {what} {path} is a folder; pass a file path.")
    check_not_inputs([path], inputs, what)
    _check_writable(path, what, False)


def write_file(path, write, suffix=""):
    """Calls `write(temp_path)` beside `path`, fsyncs, then renames it in.

    Args:
        path: final file path; its folder is created if missing.
        write: callable taking the temp file's path (which has `suffix`, so
            writers that pick a format by extension work).
        suffix: extension for the temp file.

    Returns:
        `path`.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are shared.
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


# Inside every folder `write_dir` makes: the names it wrote. A folder is
# replaced only when it holds this file and nothing beyond those names (or
# it is empty, or the caller recognises an earlier output's layout): git's
# rule, never delete what we did not write.
MARKER_FILE = ".magenta_style-output.json"


def _written_names(directory):
    """The names `MARKER_FILE` in `directory` lists, or None (no readable marker)."""
    try:
        names = json_file.read(os.path.join(directory, MARKER_FILE), "Marker").get("files")
    except (OSError, UserError, AttributeError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return set(names)


def is_ours(directory, earlier=None):
    """Whether replacing folder `directory` loses nothing a user wrote.

    True for an empty folder, a folder `write_dir` wrote that holds only
    the names it wrote (its `MARKER_FILE`), or one `earlier(directory)`
    recognises as an output written before the marker existed.
    """
    try:
        names = set(os.listdir(directory))
    except OSError:
        return False
    if not names:
        return True
    written = _written_names(directory)
    if written is not None:
        return names - {MARKER_FILE} <= written
    return bool(earlier is not None and earlier(directory))


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_replaceable(directory, what="output folder", *, overwrite=False, inputs=(),
                      earlier=None):
    """Checks, before any work, that `write_dir(directory, ...)` may write there.

    Args:
        directory: the folder a command will write whole.
        what: how the message names it ("export folder (--export_dir)").
        overwrite: replace an existing folder even when it is not ours
            (`--overwrite`); inputs are protected all the same.
        inputs: paths the command reads or writes elsewhere (existing or
            not); the folder must neither be one nor hold one (replacing it
            would delete it).
        earlier: optional callable(folder) -> bool recognising this kind of
            output as written before `MARKER_FILE` existed (its layout).

    Raises:
        UserError: as `check_output_dir`; the folder is or holds an input;
            it exists, is not empty and is not ours (`is_ours`).
    """
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError(f"The {what} {directory} is a file; pass a folder path.")
    for source in inputs:
        if source is not None and _inside(source, directory):
            raise UserError(f"The {what} {directory} is or holds the input "
                            f"{os.fspath(source)}; pass another folder (writing it would "
                            "delete the input).")
    check_output_dir(directory, what)
    if os.path.isdir(directory) and not overwrite and not is_ours(directory, earlier):
        raise UserError(f"The {what} {directory} already holds files magenta_style did not "
                        "write; pass a new or empty folder, or --overwrite to replace it "
                        "and everything in it.")


def write_dir(directory, write, *, overwrite=False, earlier=None, what="output folder"):
    """Calls `write(temp_dir)` beside `directory`, then swaps it in whole.

    An existing `directory` is replaced (moved aside, then deleted), so a
    reader never sees a mix of old and new files, but only where
    `check_replaceable` allows it (`overwrite`, `earlier`, `what` are its):
    a folder holding a user's files is refused before `write` runs. The
    folder written holds `MARKER_FILE`, listing what it wrote.
    """
    directory = os.path.abspath(os.fspath(directory))
    check_replaceable(directory, what, overwrite=overwrite, earlier=earlier)
    parent = os.path.dirname(directory)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent)
    except OSError as e:  # a place access() allowed but the file system refuses (/proc)
        raise UserError(f"The {what} {directory} cannot be written: "
                        f"{e.strerror or e}.") from None
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a model folder is shared.
    try:
        write(tmp)
        names = sorted(n for n in os.listdir(tmp) if n != MARKER_FILE)
        with open(os.path.join(tmp, MARKER_FILE), "w", encoding="utf-8") as f:
            json.dump({"written_by": "magenta_style", "files": names}, f)
            f.write("\n")
        if os.path.isdir(directory):
            # Again at the swap: the folder may have gained files meanwhile.
            check_replaceable(directory, what, overwrite=overwrite, earlier=earlier)
            old = tempfile.mkdtemp(prefix=".old-", dir=parent)
            os.rename(directory, os.path.join(old, "x"))
            try:
                os.rename(tmp, directory)
            except BaseException:  # put the old folder back
                os.rename(os.path.join(old, "x"), directory)
                os.rmdir(old)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, directory)
    except OSError as e:  # full disk, a file system that refuses renames
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"The {what} {directory} could not be written: "
                        f"{e.strerror or e}. Nothing was changed there.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
