"""The compiled steps and loss networks `optimize` keeps across calls.

Keys name everything a step was compiled for (size, layers, weights,
optimiser settings; see `problem.Problem.scale`); a step is taken out while
in use (`take`) and given back after (`give_back`).
"""

import collections
import os
import threading

from magenta_style.losses import vgg

# Compiled steps and loss networks kept across `optimize` calls. TensorFlow
# never frees an XLA executable, so compiling a new step per call cost both
# time (about 14 s of a 64-px call, on the 2-core CPU) and memory maps
# (about 1,400 per call: a process aborted with "LLVM ERROR: Unable to
# allocate section memory" after 48 calls). A step is taken out of the cache
# while in use, so concurrent calls never share one.
_LOCK = threading.Lock()
STEPS = collections.OrderedDict()  # key -> scale_step.ScaleStep, least recently used first
MAX_STEPS = 3  # each holds its L-BFGS history: 2 x 100 image copies
NETS = collections.OrderedDict()
MAX_NETS = 2


def clear():
    """Drops the kept steps and loss networks (their memory; the compiled code
    stays, see above)."""
    with _LOCK:
        STEPS.clear()
        NETS.clear()


def take(key):
    """The kept step of `key`, taken out of the cache (None if none is kept)."""
    with _LOCK:
        return STEPS.pop(key, None)


def give_back(key, scale):
    """Keeps step `scale` under `key` for the next call, the most recently
    used last; the least recently used go beyond `MAX_STEPS`."""
    with _LOCK:
        STEPS[key] = scale
        STEPS.move_to_end(key)
        while len(STEPS) > MAX_STEPS:
            STEPS.popitem(last=False)


def loss_network(arch, pooling, weights, endpoints, xla):
    """`vgg.build_loss_network`, the same object for the same arguments (and
    weights file), so cached steps that captured it stay usable."""
    key = None
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        stamp = (os.path.getmtime(path), os.path.getsize(path)) if os.path.isfile(path) else None
        key = (arch, pooling, path, stamp, tuple(endpoints), xla)
        with _LOCK:
            if key in NETS:
                NETS.move_to_end(key)
                return NETS[key]
    net = vgg.build_loss_network(arch, pooling, weights, endpoints=endpoints, xla=xla)
    if key is not None:
        with _LOCK:
            NETS[key] = net
            while len(NETS) > MAX_NETS:
                NETS.popitem(last=False)
    return net
