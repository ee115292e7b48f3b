"""`Prefetch`: runs an iterator ahead of its consumer on a background thread.

The JAX training engine reads content batches through it so that the
thread dispatching training steps does no input work: assembling a batch
and copying it to the accelerator happen on this thread while the previous
step runs (BUILD.md, "The input feed"). Importing this module must not
import TensorFlow or JAX.
"""

import queue
import threading

_DONE = object()


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
    first. `close()` (also on garbage collection) stops the thread; a
    thread blocked inside `source` finishes its item first.
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
        self._thread.start()

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
        """Stops the background thread; later `next` calls raise StopIteration."""
        self._finished = True
        self._stop.set()

    def __del__(self):
        if hasattr(self, "_stop"):  # Not when __init__ refused its arguments.
            self.close()
