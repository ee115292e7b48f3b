"""uploads: free memory and the decompression-bomb message."""

import os

import pytest

from magenta_style.studio import uploads
from magenta_style.stylization import memory as memory_lib


def test_available_memory_is_a_plausible_byte_count():
    free = memory_lib.available_memory()
    if free is None:
        pytest.skip("this system reports no free memory (no /proc/meminfo or sysconf)")
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < free <= total


@pytest.mark.parametrize("count, limit", [
    (50_013_184, 50_000_000), (50_000_001, 50_000_000), (20_007_729, 20_000_000)])
def test_bomb_numbers_never_read_alike(count, limit):
    text = str(uploads.bomb_error("'x.png'", limit, declared=count))
    assert f"declares {count:,} pixels" in text and f"limit of {limit:,} pixels" in text
    assert "--max_megapixels" in text


def test_a_bomb_of_unknown_size_says_so():
    text = str(uploads.bomb_error("'x.png'", 1000))
    assert "declares more pixels than Pillow will open" in text
