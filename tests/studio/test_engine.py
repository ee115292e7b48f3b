"""engine.Studio without HTTP: the pixel limit and the decode slots."""

import dataclasses
import io
import threading
import time
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from magenta_style.studio import engine
from magenta_style.studio import uploads
from magenta_style.studio.config import StudioConfig


def test_the_pixel_limit_is_the_flag_when_memory_allows_it():
    plenty = engine.image_memory(50_000_000) / engine.MEMORY_FRACTION * 1.01
    assert engine.pixel_limit(50, available=plenty) == (50_000_000, None)
    with mock.patch.object(uploads, "available_memory", return_value=None):
        assert engine.pixel_limit(50) == (50_000_000, None)


@pytest.mark.parametrize("free_gb", [0.5, 1.0, 3.0, 4.0, 10.0, 22.0])
def test_the_pixel_limit_is_the_most_pixels_free_memory_holds(free_gb):
    # Both sides of the tile threshold (4 MP, where renders get cheaper per
    # pixel): the limit's images fit in the budget and one pixel more does not.
    limit, memory = engine.pixel_limit(50, available=free_gb * 1e9)
    budget = engine.MEMORY_FRACTION * free_gb * 1e9
    assert memory == free_gb * 1e9 and limit < 50_000_000
    assert engine.image_memory(limit) <= budget < engine.image_memory(limit + 2)


def test_a_memory_bound_limit_says_so():
    limit, memory = engine.pixel_limit(50, available=4e9)
    error = uploads.bomb_error("'a.png'", limit, size=(8000, 8000), memory=memory)
    assert f"limit of {limit:,} pixels" in str(error)
    assert "4.0 GB of free memory" in str(error) and "--max_megapixels" not in str(error)
    assert engine.pixel_limit(50, available=0)[0] == 1


@pytest.fixture(scope="module")
def studio():
    with mock.patch.object(uploads, "available_memory", return_value=None):
        return engine.Studio(dataclasses.replace(StudioConfig(), max_megapixels=1))


def test_the_limit_reaches_the_page_and_uploads(studio):
    with mock.patch.object(uploads, "available_memory", return_value=4e9):
        small = engine.Studio(studio.config, model=studio.model)
    assert small.max_pixels == engine.pixel_limit(1, available=4e9)[0]
    assert studio.info()["max_megapixels"] == 1.0


def test_at_most_decode_slots_uploads_are_decoded_at_once(studio):
    # Each decode holds a whole image in float32: four uploads of 49 MP at once
    # took the process from 3.7 to 8.8 GB. Count decodes running together.
    active, peak, lock, release = [0], [0], threading.Lock(), threading.Event()

    def slow_decode(data, max_pixels, name, memory=None):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        release.wait(30)
        with lock:
            active[0] -= 1
        return np.zeros((8, 8, 3), np.float32)

    with mock.patch.object(uploads, "decode_image", slow_decode):
        threads = [threading.Thread(target=studio.add_photo, args=(b"x", f"{i}.png"))
                   for i in range(3 * engine.DECODE_SLOTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while active[0] < engine.DECODE_SLOTS and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # time for any further decode to start, were it allowed
        seen = active[0]
        release.set()
        for t in threads:
            t.join(30)
    assert seen == peak[0] == engine.DECODE_SLOTS


def test_a_photo_keeps_its_full_size_and_a_small_working_copy(studio):
    buf = io.BytesIO()
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(buf, format="PNG")
    photo = studio.add_photo(buf.getvalue(), "grey.png")
    assert (photo.width, photo.height) == (400, 300)
    assert max(photo.working.shape[:2]) == studio.config.working_size
