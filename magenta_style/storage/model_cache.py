"""The loaded-model cache behind `model_format.load_model(..., cached=True)`.

Stylizing loads a model by name or path on every call; reading and building
it costs seconds, so inference keeps one loaded copy per model file set.
The key is the real path plus the modification times of the files that
make the model (`model_format.model_files`), so a model trained or
replaced on disk is read again. Trainers never use the cache: they change
the weights they load.
"""

import os
import threading

_CACHE = {}
_LOCK = threading.Lock()


def fingerprint(path, files):
    """`(real path, mtimes of the files of `files` that exist)`."""
    stamps = tuple(os.path.getmtime(f) for f in files if os.path.exists(f))
    return os.path.realpath(path), stamps


def get(key, load):
    """The model cached under `key`, or `load()` stored under it."""
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _CACHE[key] = load()
        return model


def clear():
    """Forgets every cached model (they reload on next use)."""
    with _LOCK:
        _CACHE.clear()
