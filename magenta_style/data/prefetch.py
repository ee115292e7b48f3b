"""`Prefetch`: runs an iterator ahead of its consumer on a background thread.

The JAX training engine reads content batches through it so that the
thread dispatching training steps does no input work: assembling a batch
and copying it to the accelerator happen on this thread while the previous
step runs (BUILD.md, "The input feed"). Importing this module must not
import TensorFlow or JAX.
"""

import atexit
import queue
import threading

_DONE = object()
# How long `close()` waits for the thread to leave `source`/`transform`.
_JOIN_SECONDS = 30.0
# Running threads and their stop events, stopped at interpreter exit
# (`_stop_all`); a thread removes itself when it ends.
_RUNNING = {}
_RUNNING_LOCK = threading.Lock()


class _Failure:
    """An exception raised by the source, carried to the consumer."""

    def __init__(self, error):
        self.error = error


def _put(items, item, stop):
    """Queues `item` once there is room; False if `stop` was set first."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _produce(source, transform, items, stop):
    """The thread's body: `transform(item)` for every item, until `stop` is set.

    Holds no reference to the `Prefetch` object, so dropping the consumer's
    last reference closes the thread (`Prefetch.__del__`).
    """
    try:
        _feed(source, transform, items, stop)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(threading.current_thread(), None)


def _feed(source, transform, items, stop):
    try:
        for item in source:
            if not _put(items, transform(item), stop):
                return
        result = _DONE
    except BaseException as error:  # Re-raised in the consumer's thread.
        result = _Failure(error)
    finally:
        # A generator source (the loader) shuts its worker pool down now,
        # not whenever it is collected.
        getattr(source, "close", lambda: None)()
    _put(items, result, stop)


class Prefetch:
    """Iterates `transform(x)` for each `x` of `source`, `depth` items ahead.

    Args:
        source: an iterable (such as `NumpyContentLoader`), iterated on the
            background thread only.
        depth: items kept ready (>= 1). Each holds memory (a batch on the
            device, say), so 2 covers one slow item without hoarding.
        transform: applied on the background thread (such as
            `jax.device_put`); identity by default.

    An exception from `source` or `transform` is raised by the `next` call
    that would have returned that item; the items before it are delivered
    first. `close()` stops the thread and waits for it (a thread inside
    `source` or `transform` finishes that item first, up to 30 s); it is
    also a context manager. Garbage collection stops the thread without
    waiting, and interpreter exit stops and waits for every thread: a daemon
    thread still inside native code (`jax.device_put`) when Python
    finalises is killed there, and the process aborts ("FATAL: exception
    not rethrown").
    """

    def __init__(self, source, depth=2, transform=None):
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1. Received: depth={depth!r}")
        self._items = queue.Queue(maxsize=int(depth))
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=_produce, name="magenta_style-prefetch", daemon=True,
            args=(iter(source), transform or (lambda x: x), self._items, self._stop))
        with _RUNNING_LOCK:
            _RUNNING[self._thread] = self._stop
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        item = self._items.get()
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.error
        return item

    def close(self):
        """Stops the background thread and waits for it to end (at most 30 s);
        later `next` calls raise StopIteration."""
        self._finished = True
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(_JOIN_SECONDS)

    def __del__(self):
        # Only signals: a finaliser may run on any thread, mid-anything, so
        # it must not block on a join.
        if hasattr(self, "_stop"):  # Not when __init__ refused its arguments.
            self._finished = True
            self._stop.set()


@atexit.register
def _stop_all():
    """Stops and waits for the threads still running when the interpreter
    exits, closed or not (a dropped `Prefetch` only signals its thread).

    atexit handlers run before Python stops daemon threads, so each thread
    gets to leave native code and return.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING.items())
    for _, stop in running:
        stop.set()
    for thread, _ in running:
        thread.join(_JOIN_SECONDS)
