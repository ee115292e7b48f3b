"""Atomic file and folder writes: readers see the old or the new, never half.

Everything the library writes for users (images, models, style sets,
checkpoints, exports) goes through here: a temp file or folder beside the
target, then a rename, so a crash or Ctrl-C never leaves a half-written
output behind.
"""

import os
import shutil
import tempfile


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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
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


def write_dir(directory, write):
    """Calls `write(temp_dir)` beside `directory`, then swaps it in whole.

    An existing `directory` is replaced (moved aside, then deleted), so a
    reader never sees a mix of old and new files.
    """
    directory = os.path.abspath(os.fspath(directory))
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a model folder is shared.
    try:
        write(tmp)
        if os.path.isdir(directory):
            old = tempfile.mkdtemp(prefix=".old-", dir=parent)
            os.rename(directory, os.path.join(old, "x"))
            os.rename(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
