"""The page's render options: parsing JSON and query parameters, one-line errors."""

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.studio import options as options_lib


@pytest.mark.parametrize("params, message", [
    ({"regions": [[1, 0]]}, "region 0's weights must hold one number per style"),
    ({"regions": "x"}, "region 0's weights must be a list of numbers"),
    ({"regions": [[0] * 26] * 7}, "regions must be a list of 1 to 6"),
    ({"region_statistics": "mean"}, "region_statistics must be one of"),
])
def test_bad_region_options_are_one_line(params, message):
    with pytest.raises(UserError, match=message):
        options_lib.parse_options({"weights": [1] + [0] * 25, **params}, 26)


def test_region_rows_parse_from_a_query():
    options = options_lib.parse_options(
        {"weights": "1,0,0", "regions": "1,0,0;0,0.5,0.5", "region_statistics": "per_style"}, 3)
    np.testing.assert_array_equal(options.regions, [[1, 0, 0], [0, 0.5, 0.5]])
    assert options.region_statistics == "per_style"


@pytest.mark.parametrize("raw, message", [
    ({"x": -1}, "must be >= 0 with at least one above 0"),
    ({"x": 0}, "at least one above 0"),
    ("x", "must be 'id:weight"),
    ({"x": "a"}, "must be numbers"),
])
def test_bad_painting_weights_are_one_line(raw, message):
    with pytest.raises(UserError, match=message):
        options_lib.parse_options({"weights": [1, 0], "paintings": raw}, 2)
