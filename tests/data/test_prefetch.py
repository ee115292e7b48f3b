"""`data.prefetch.Prefetch`: a background thread running an iterator ahead."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from magenta_style.data import prefetch


def test_items_arrive_in_order_transformed():
    items = list(prefetch.Prefetch(range(7), depth=2, transform=lambda x: x * 10))
    assert items == [0, 10, 20, 30, 40, 50, 60]


def test_it_runs_ahead_of_the_consumer_up_to_depth():
    pulled = []
    third_pulled = threading.Event()

    def source():
        for i in range(10):
            pulled.append(i)
            if i == 2:
                third_pulled.set()
            yield i

    feed = prefetch.Prefetch(source(), depth=2)
    # Nothing consumed yet: two items wait in the queue, the thread holds a third.
    assert third_pulled.wait(timeout=30)
    assert next(feed) == 0
    feed.close()
    assert len(pulled) <= 4


def test_an_error_arrives_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("photo 3 is broken")

    feed = prefetch.Prefetch(source(), depth=1)
    assert next(feed) == 1 and next(feed) == 2
    with pytest.raises(ValueError, match="photo 3 is broken"):
        next(feed)
    with pytest.raises(StopIteration):
        next(feed)


def test_close_stops_the_thread_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    feed = prefetch.Prefetch(endless(), depth=1)
    assert next(feed) == 0
    feed.close()
    # close() has waited: the thread is gone and the source closed (the
    # loader's worker pool shuts down with it).
    assert not feed._thread.is_alive()
    assert closed.is_set()
    with pytest.raises(StopIteration):
        next(feed)


def test_depth_below_one_is_refused():
    with pytest.raises(ValueError, match="Received: depth=0"):
        prefetch.Prefetch([], depth=0)


def test_the_context_manager_closes():
    with prefetch.Prefetch(iter(int, 1), depth=1) as feed:  # An endless source.
        assert next(feed) == 0
    assert not feed._thread.is_alive()


EXIT_SCRIPT = textwrap.dedent("""
    import sys, time
    from magenta_style.data import prefetch
    marker = sys.argv[1]
    started = __import__("threading").Event()

    def slow(item):
        started.set()
        time.sleep(0.5)  # Stands in for jax.device_put: the thread is busy.
        open(marker, "a").write("done\\n")
        return item

    feed = prefetch.Prefetch(range(100), depth=1, transform=slow)
    if sys.argv[2] == "drop":
        started.wait()
        del feed  # Signals the thread, does not wait.
    else:
        started.wait()  # Exit with the thread mid-item, never closed.
""")


@pytest.mark.parametrize("how", ["drop", "keep"])
def test_interpreter_exit_waits_for_a_busy_thread(tmp_path, how):
    # A daemon thread still busy when Python finalises is killed mid-call;
    # inside native code (jax.device_put) that aborts the whole process.
    # The exit hook lets the item in hand finish and the thread return.
    marker = tmp_path / "marker"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(marker), how],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=repo))
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text().splitlines() == ["done"]
