"""Which arithmetic a render's convolutions use: float32, bfloat16, or `auto`'s choice.

`RenderOptions.precision` (`bin/stylize --precision`) reaches the one runner
(`runner.run`), which asks `resolve` for a concrete precision and runs the
compiled forward of it (`runner.runner(model, jit_compile, precision)`):

- `float32`: the Keras model as it is, exactly as before precisions existed.
- `bfloat16`: `block_step.forward`: convolutions in bfloat16 with float32
  accumulation; instance-norm statistics, the conditional gamma/beta, the
  residual adds and the sigmoid in float32. Fast where the CPU has native
  bfloat16 products (`NATIVE_FLAGS`); elsewhere TensorFlow emulates them,
  which runs but is not faster: forcing it there prints one line saying so
  and naming float32 as the fallback (`note_forced`).
- `auto`: every precision is run once on the request's own photo (a centre
  crop of at most `MEASURE_SIZE` px) and conditioning rows, timed, and
  compared with float32 (`fidelity`); the fastest one within the limits
  (`MEAN_LIMIT`, `P999_LIMIT`) and at least `MIN_GAIN` times faster than
  float32 wins, else float32 (`choose`). The choice is cached in memory and
  in a small JSON file (`cache_path`) under a key of the CPU's model and
  flags, the backend and versions, and the model's weights (`cache_key`), so
  the measurement runs once per machine and model.

Tiled images and styles in regions walk the network themselves in float32.
"""

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import threading
import time
import weakref

import numpy as np

from magenta_style.storage import atomic

# CPU flags (Linux /proc/cpuinfo names) of native bfloat16 products: x86
# AVX-512 BF16 and AMX-BF16, Arm's BF16 extension.
NATIVE_FLAGS = {"bfloat16": ("avx512_bf16", "amx_bf16", "bf16")}
# Fidelity limits against float32, in levels of 255 of the uint8 output.
MEAN_LIMIT = 1.5
P999_LIMIT = 12.0
# A reduced precision must beat float32 by this factor to be chosen: timing
# noise on a shared machine must not trade exactness for nothing.
MIN_GAIN = 1.15
MEASURE_SIZE = 256
MEASURE_ROWS = 2
MEASURE_REPEATS = 5
CACHE_ENV = "MAGENTA_STYLE_CACHE_DIR"
CACHE_FILE = "precision.json"
CACHE_FORMAT = "magenta_style.precision/1"
CANDIDATES = ("float32", "bfloat16")

_LOCK = threading.Lock()
_CHOICES = {}
_NOTED = set()
_KEYS = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=None)
def cpu_features(path="/proc/cpuinfo"):
    """`(model name, frozenset of flags)` of this machine's CPU, as Linux reports it.

    The flags are `/proc/cpuinfo`'s `flags` (x86) or `Features` (Arm) line;
    elsewhere (no such file) the flags are empty, so no reduced precision
    counts as native there. Where the file names no model (Arm), `lscpu`'s
    "Model name", else `platform.processor()`.
    """
    model, flags = None, frozenset()
    try:
        with open(path, errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "cpu model") and model is None:
                    model = value.strip()
                elif key in ("flags", "features") and not flags:
                    flags = frozenset(value.split())
    except OSError:
        pass
    if not model:
        import platform
        import subprocess

        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
            model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                          if line.startswith("Model name:")), None)
        except (OSError, subprocess.SubprocessError):
            model = None
        model = model or platform.processor() or platform.machine() or "unknown CPU"
    return model, flags


def is_native(precision, flags=None):
    """Whether this CPU (or `flags`) computes `precision` natively (float32 always)."""
    if precision == "float32":
        return True
    flags = cpu_features()[1] if flags is None else flags
    return any(flag in flags for flag in NATIVE_FLAGS[precision])


def note_forced(precision, say=None):
    """One line, once per process, when a forced `precision` is not native here.

    The precision still runs (emulated: same numbers, usually slower than
    float32); the line names float32 as the fallback. `say` defaults to
    printing on stderr.
    """
    if is_native(precision) or precision in _NOTED:
        return
    _NOTED.add(precision)
    model = cpu_features()[0]
    (say or (lambda line: print(line, file=sys.stderr)))(
        f"precision={precision}: this CPU ({model}) has no native {precision} arithmetic "
        f"(none of {', '.join(NATIVE_FLAGS[precision])}); running it emulated, usually "
        "slower than float32, the fallback (--precision=float32, or auto to measure).")


def fidelity(reference, output):
    """How far `output` is from `reference` once both are uint8 images.

    Args:
        reference, output: float arrays of one shape, values in [0, 1].

    Returns:
        `{"mean_abs": float, "p999": float}`: mean and 99.9th percentile of
        the absolute difference, in levels of 255.
    """
    def levels(x):
        return np.round(np.clip(np.asarray(x, np.float32), 0.0, 1.0) * 255.0)

    diff = np.abs(levels(output) - levels(reference))
    return {"mean_abs": float(diff.mean()), "p999": float(np.percentile(diff, 99.9))}


def passes(result):
    """Whether a `fidelity` result is within `MEAN_LIMIT` and `P999_LIMIT`."""
    return result["mean_abs"] <= MEAN_LIMIT and result["p999"] <= P999_LIMIT


def choose(measured):
    """`auto`'s pick from `{precision: {"seconds": s, "mean_abs": .., "p999": ..}}`.

    float32 (which must be there) unless another precision passes the
    fidelity limits and is at least `MIN_GAIN` times faster; then the
    fastest such. A precision that fails the limits is never picked.
    """
    best, best_s = "float32", measured["float32"]["seconds"]
    limit = best_s / MIN_GAIN
    for precision, m in measured.items():
        if precision != "float32" and passes(m) and m["seconds"] <= limit \
                and m["seconds"] < best_s:
            best, best_s = precision, m["seconds"]
    return best


def measure(compiled, photo, rows, candidates=CANDIDATES, repeats=MEASURE_REPEATS):
    """Times each precision and compares its output with float32's.

    Args:
        compiled: `compiled(precision) -> fn(images, rows) -> pastiches`
            (`runner.runner` of the model at that precision).
        photo: `[H, W, 3]` float32 in [0, 1]; a centre crop of at most
            `MEASURE_SIZE` px is used (mirrored up to 64 px if smaller).
        rows: `[K, D]` float32 conditioning rows; the first `MEASURE_ROWS`.
        candidates: precisions to measure, float32 first.

    Returns:
        `{precision: {"seconds": fastest call's s, "mean_abs": levels,
        "p999": levels}}`.
    """
    photo = np.asarray(photo, np.float32)
    h, w = photo.shape[:2]
    top, left = max(0, (h - MEASURE_SIZE) // 2), max(0, (w - MEASURE_SIZE) // 2)
    crop = photo[top:top + MEASURE_SIZE, left:left + MEASURE_SIZE]
    grow = [(0, max(0, 64 - crop.shape[0])), (0, max(0, 64 - crop.shape[1])), (0, 0)]
    crop = np.pad(crop, grow, mode="symmetric")
    rows = np.asarray(rows, np.float32)[:MEASURE_ROWS]
    batch = np.broadcast_to(crop[None], (len(rows),) + crop.shape)
    fns = {precision: compiled(precision) for precision in candidates}
    # The first call traces / compiles: untimed. Then rounds that alternate
    # the precisions, and each one's fastest call: load from other processes
    # only ever adds time, and alternating spreads it over all of them.
    outs = {precision: np.asarray(fn(batch, rows)) for precision, fn in fns.items()}
    times = {precision: [] for precision in candidates}
    for _ in range(repeats):
        for precision, fn in fns.items():
            start = time.perf_counter()
            np.asarray(fn(batch, rows))
            times[precision].append(time.perf_counter() - start)
    reference = outs[candidates[0]]
    measured = {precision: {"seconds": min(times[precision]),
                            **fidelity(reference, outs[precision])}
                for precision in candidates}
    return measured


def model_fingerprint(model):
    """sha256 (hex) of a model's weights: names, shapes and values."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight.numpy() if hasattr(weight, "numpy")
                                                else weight, np.float32))
        digest.update(f"{weight.path}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def cache_key(model):
    """The `auto` cache's key: CPU model and flags, backend, versions, weights."""
    import keras

    cpu, flags = cpu_features()
    versions = []
    for name in ("tensorflow", "keras", "jax"):
        try:
            versions.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    parts = [cpu, " ".join(sorted(flags)), keras.backend.backend(), *versions,
             model_fingerprint(model)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_path():
    """`$MAGENTA_STYLE_CACHE_DIR/precision.json`, else the user's cache dir's
    `magenta_style/precision.json` (`$XDG_CACHE_HOME` or `~/.cache`)."""
    directory = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "magenta_style")
    return os.path.join(directory, CACHE_FILE)


def read_cache(path):
    """`(entries, ours)`: the cached `{key: entry}` of `path`, and whether the file
    is ours to rewrite (absent, or a cache file of this format). A file that is
    unreadable or not ours gives no entries; entries of the wrong shape are dropped."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}, True
    except (OSError, ValueError, UnicodeDecodeError):
        return {}, False
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT \
            or not isinstance(data.get("entries"), dict):
        return {}, False
    entries = {k: v for k, v in data["entries"].items()
               if isinstance(v, dict) and v.get("precision") in CANDIDATES}
    return entries, True


def _store(path, key, entry):
    entries, ours = read_cache(path)
    if not ours:
        return  # never replace a file this project did not write
    entries[key] = entry

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump({"format": CACHE_FORMAT, "entries": entries}, f, indent=1)
            f.write("\n")

    try:
        atomic.write_file(path, write, suffix=".json")
    except OSError:
        pass  # a read-only cache dir: the choice is kept in memory only


def resolve(requested, model, compiled, photo, rows):
    """The concrete precision ("float32" or "bfloat16") for `requested`.

    Args:
        requested: one of `options.PRECISIONS`.
        model: the network (its weights key the `auto` cache).
        compiled, photo, rows: as `measure` (used by `auto` on a cache miss).

    Returns:
        "float32" or "bfloat16". A forced bfloat16 on a CPU without native
        bfloat16 is honoured, with `note_forced`'s line.
    """
    if requested != "auto":
        note_forced(requested)
        return requested
    with _LOCK:
        key = _KEYS.get(model)
        if key is None:  # hashing the weights once per loaded model
            key = _KEYS[model] = cache_key(model)
        if key in _CHOICES:
            return _CHOICES[key]
        path = cache_path()
        entry = read_cache(path)[0].get(key)
        if entry is None:
            measured = measure(compiled, photo, rows)
            cpu, flags = cpu_features()
            entry = {"precision": choose(measured), "measured": measured, "cpu": cpu,
                     "native": sorted(f for f in flags
                                      if any(f in v for v in NATIVE_FLAGS.values()))}
            _store(path, key, entry)
        _CHOICES[key] = entry["precision"]
        return entry["precision"]
