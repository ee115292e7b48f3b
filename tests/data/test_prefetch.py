"""`data.prefetch.Prefetch`: a background thread running an iterator ahead."""

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
    assert closed.wait(timeout=30)  # The loader's worker pool shuts down with it.
    feed._thread.join(timeout=30)
    assert not feed._thread.is_alive()
    with pytest.raises(StopIteration):
        next(feed)


def test_depth_below_one_is_refused():
    with pytest.raises(ValueError, match="Received: depth=0"):
        prefetch.Prefetch([], depth=0)
