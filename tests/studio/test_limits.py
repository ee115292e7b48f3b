"""The studio's upload pixel limit: the flag, or what free memory holds."""

from unittest import mock

import pytest

from magenta_style.studio import limits
from magenta_style.studio import uploads
from magenta_style.stylization import memory as memory_lib


def test_the_pixel_limit_is_the_flag_when_memory_allows_it():
    plenty = limits.image_memory(50_000_000) / memory_lib.MEMORY_FRACTION * 1.01
    assert limits.pixel_limit(50, available=plenty) == (50_000_000, None)
    with mock.patch.object(memory_lib, "available_memory", return_value=None):
        assert limits.pixel_limit(50) == (50_000_000, None)


@pytest.mark.parametrize("free_gb", [0.5, 1.0, 3.0, 4.0, 10.0, 22.0])
def test_the_pixel_limit_is_the_most_pixels_free_memory_holds(free_gb):
    # Both sides of the tile threshold (4 MP, where renders get cheaper per
    # pixel): the limit's images fit in the budget and one pixel more does not.
    limit, memory = limits.pixel_limit(50, available=free_gb * 1e9)
    budget = memory_lib.MEMORY_FRACTION * free_gb * 1e9
    assert memory == free_gb * 1e9 and limit < 50_000_000
    assert limits.image_memory(limit) <= budget < limits.image_memory(limit + 2)


def test_a_memory_bound_limit_says_so():
    limit, memory = limits.pixel_limit(50, available=4e9)
    error = uploads.bomb_error("'a.png'", limit, size=(8000, 8000), memory=memory)
    assert f"limit of {limit:,} pixels" in str(error)
    assert "4.0 GB of free memory" in str(error) and "--max_megapixels" not in str(error)
    assert limits.pixel_limit(50, available=0)[0] == 1
