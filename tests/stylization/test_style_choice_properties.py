"""Property tests of `parse_which_styles`: any input gives a valid spec or one UserError line."""

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from magenta_style.errors import UserError
from magenta_style.stylization import style_choice

NAMES = ("starry", "wave", "scream", "udnie", "candy")
N = len(NAMES)
# derandomize: the same examples every run (a test must not depend on luck).
SETTINGS = settings(derandomize=True, max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

keys = st.one_of(st.integers(-3, 8), st.sampled_from(NAMES), st.text(max_size=6),
                 st.floats(allow_nan=True), st.booleans(), st.none())
weights = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**400),
                    st.text(max_size=4), st.none())
python_values = st.one_of(
    keys, st.lists(keys, max_size=6), st.tuples(keys, keys),
    st.dictionaries(keys, weights, max_size=6),
    st.lists(st.floats(), min_size=0, max_size=7).map(lambda v: np.array(v, np.float64)),
    st.lists(st.integers(-2, 300), min_size=N, max_size=N).map(np.array),
    st.lists(st.lists(st.floats(-1, 2), min_size=N, max_size=N), max_size=3).map(np.array),
)
# Strings built from the syntax's own characters find more corners than random text.
syntax_text = st.lists(st.sampled_from(list("0123456789{}[]<>:,.-+e '\"nainf") + list(NAMES)),
                       max_size=30).map("".join)


def check(value):
    """Parses `value`; asserts what every caller relies on."""
    try:
        spec = style_choice.parse_which_styles(value, N, NAMES)
    except UserError as e:
        assert "\n" not in str(e) and "Received" in str(e)
        return None
    assert spec.rows.dtype == np.float32 and spec.rows.shape == (spec.num_outputs, N)
    assert spec.num_outputs >= 1
    assert np.all(np.isfinite(spec.rows)) and np.all(spec.rows >= 0)
    assert np.all(spec.rows <= style_choice.MAX_WEIGHT)
    assert np.all(spec.rows.sum(axis=1) > 0)
    # One file per output: names must differ, and be short enough for any file system.
    assert len(set(spec.suffixes)) == spec.num_outputs
    assert all(0 < len(s) < 200 and "/" not in s for s in spec.suffixes)
    return spec


@SETTINGS
@given(python_values)
def test_python_values_give_a_spec_or_one_line(value):
    check(value)


@SETTINGS
@given(st.one_of(st.text(max_size=40), syntax_text))
def test_strings_give_a_spec_or_one_line(text):
    check(text)


@SETTINGS
@given(st.dictionaries(st.integers(0, N - 1),
                       st.floats(1e-6, style_choice.MAX_WEIGHT), min_size=1, max_size=N))
def test_a_mixture_written_as_text_means_what_it_says(mix):
    spec = check(str(mix))
    expected = np.zeros(N, np.float32)
    for i, w in mix.items():
        expected[i] = w
    np.testing.assert_array_equal(spec.rows[0], expected)
    assert spec.mixed


@SETTINGS
@given(st.dictionaries(st.integers(0, N - 1), st.floats(0, 10), min_size=1, max_size=N),
       st.dictionaries(st.integers(0, N - 1), st.floats(0, 10), min_size=1, max_size=N))
def test_different_mixtures_get_different_file_names(a, b):
    rows = []
    for mix in (a, b):
        row = np.zeros(N, np.float32)
        for i, w in mix.items():
            row[i] = w
        rows.append(row)
    same_row = np.array_equal(rows[0], rows[1])
    # Zero weights are not named (a vector drops them), so compare without them.
    names = [style_choice.mixture_suffix({i: w for i, w in m.items() if np.float32(w) != 0})
             for m in (a, b)]
    assert (names[0] == names[1]) == same_row


@pytest.mark.parametrize("depth", [10, 100_000])
def test_deeply_nested_text_is_one_line(depth):
    with pytest.raises(UserError):
        style_choice.parse_which_styles("[" * depth + "]" * depth, N, NAMES)
