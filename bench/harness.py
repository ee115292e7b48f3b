"""The one timing harness every benchmark area uses.

`Bench.time(name, fn)` calls `fn` a few times untimed (the first call of a
size traces or compiles; users feel that once, so its time is recorded
separately as `first_s`), then `repeats` times timed, and keeps the wall and
CPU time of each call. A result is the median with its spread (min, max,
and (max - min) / median), because the machines these run on are shared:
one number without its spread hides how loaded the run was.

`Bench.write_json(path)` writes every result together with the machine it
ran on (CPU model, cores, AVX-512 / AMX flags, load average before and
after, library versions), so two JSON files can be compared only when their
`machine` blocks agree.
"""

import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import time

from magenta_style.stylization import precision

# CPU flags that change which kernels TensorFlow / oneDNN pick, hence speed.
_FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni",
                      "amx_tile", "amx_bf16", "amx_int8")


def summarize(times):
    """Median, min, max and relative spread of a list of seconds."""
    if not times:
        raise ValueError("no timed calls")
    median = statistics.median(times)
    lo, hi = min(times), max(times)
    return {"median_s": median, "min_s": lo, "max_s": hi, "n": len(times),
            # Relative, so 1024 px and 64 px runs read on the same scale.
            "spread": (hi - lo) / median if median > 0 else 0.0}


def _cpu_info():
    model, flags = precision.cpu_features()
    return model, sorted(f for f in _FLAGS_OF_INTEREST if f in flags)


def _versions():
    versions = {"python": platform.python_version()}
    # Installed versions from package metadata: importing jax or tensorflow
    # just to ask would cost seconds (and memory) in every run.
    for name in ("numpy", "tensorflow", "keras", "jax", "magenta_style"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info():
    """What a timing depends on besides the code: CPU, cores, load, versions."""
    model, flags = _cpu_info()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_flags": flags,
        "load_average": list(os.getloadavg()),
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "platform": platform.platform(),
        "commit": _git_commit(),
        "versions": _versions(),
    }


class Bench:
    """Collects timed results of one `python -m bench` run.

    Args:
        quick: the CI pass: areas pick tiny sizes and few repeats.
        repeats: timed calls per measurement (default 1 quick, 5 full).
        warmup: untimed calls before them (the first one is `first_s`).
        log: where progress lines go (`print`; tests pass a list's append).
    """

    def __init__(self, quick=False, repeats=None, warmup=1, log=print):
        self.quick = quick
        self.repeats = repeats or (1 if quick else 5)
        self.warmup = warmup
        self.log = log
        self.results = []
        self.skipped = []
        self.area = None
        self._started = datetime.datetime.now(datetime.timezone.utc)
        self._load_before = list(os.getloadavg())

    def time(self, name, fn, repeats=None, warmup=None, clock=time.perf_counter,
             **params):
        """Times `fn()` and records it under the current area.

        Args:
            name: what is measured, e.g. "android-26 512px graph".
            fn: a no-argument callable; its return value is ignored (it
                must finish its work, e.g. convert a tensor to NumPy).
            repeats, warmup: override the run's defaults.
            clock: the wall clock (tests pass a fake one).
            **params: recorded with the result (size, model, mode ...).

        Returns:
            The result dict (also kept for the JSON).
        """
        repeats = repeats or self.repeats
        warmup = self.warmup if warmup is None else warmup
        first = None
        for i in range(warmup):
            t = clock()
            fn()
            if i == 0:
                first = clock() - t
        walls, cpus = [], []
        for _ in range(repeats):
            t, c = clock(), time.process_time()
            fn()
            walls.append(clock() - t)
            cpus.append(time.process_time() - c)
        result = {"area": self.area, "name": name, "params": params, "first_s": first,
                  **summarize(walls), "times_s": walls,
                  # CPU seconds per call: other users' load changes it far
                  # less than wall time, so it compares runs on a busy box.
                  "cpu_median_s": statistics.median(cpus)}
        self.results.append(result)
        first_text = "" if first is None else f", first {1000 * first:.0f} ms"
        self.log(f"  {name:<44} {1000 * result['median_s']:9.1f} ms  "
                 f"(min {1000 * result['min_s']:.1f}, max {1000 * result['max_s']:.1f}, "
                 f"n={result['n']}{first_text})")
        return result

    def record(self, name, value, unit, **params):
        """Records a number that is not a timing (flicker, images/s, MB)."""
        result = {"area": self.area, "name": name, "params": params, "value": value,
                  "unit": unit}
        self.results.append(result)
        self.log(f"  {name:<44} {value:9.4g} {unit}")
        return result

    def skip(self, reason):
        """Notes that the current area could not run here, and why."""
        self.skipped.append({"area": self.area, "reason": reason})
        self.log(f"  skipped: {reason}")

    def to_dict(self):
        return {
            "started": self._started.isoformat(timespec="seconds"),
            "quick": self.quick,
            "repeats": self.repeats,
            "machine": {**machine_info(), "load_average_before": self._load_before},
            "results": self.results,
            "skipped": self.skipped,
        }

    def write_json(self, path):
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1)
            f.write("\n")
