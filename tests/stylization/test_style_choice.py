"""which_styles parsing: Magenta's list/dict syntax, names, errors."""

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.stylization.style_choice import mixture_suffix
from magenta_style.stylization.style_choice import parse_which_styles

NAMES = ("starry", "wave", "scream", "udnie")


def test_magenta_list_gives_one_one_hot_row_per_style():
    spec = parse_which_styles("[0,3,1]", 4)
    np.testing.assert_array_equal(spec.rows, np.eye(4, dtype=np.float32)[[0, 3, 1]])
    assert spec.suffixes == ("0", "3", "1")
    assert not spec.mixed


@pytest.mark.parametrize("text", ["{0:0.5,3:0.5}", "0:0.5,3:0.5", "<0:0.5,3:0.5>",
                                  "{3: 0.5, 0: 0.5}", " 0 : 0.5 , 3 : 0.5 ",
                                  "{starry: 0.5, udnie: 0.5}", "starry:0.5,udnie:0.5",
                                  "{'starry': 0.5, 3: 0.5}"])
def test_mixture_forms_are_one_row_with_magenta_naming(text):
    spec = parse_which_styles(text, 4, NAMES)
    np.testing.assert_allclose(spec.rows, [[0.5, 0, 0, 0.5]])
    assert spec.suffixes == ("0_500_3_500",)
    assert spec.mixed


@pytest.mark.parametrize("value, index", [(2, 2), ("2", 2), ("scream", 2), ("[2]", 2),
                                          (["wave"], 1), ("wave,udnie", None)])
def test_single_styles_and_names(value, index):
    spec = parse_which_styles(value, 4, NAMES)
    if index is None:
        assert spec.suffixes == ("1", "3")
    else:
        assert spec.suffixes == (str(index),)
        np.testing.assert_array_equal(spec.rows[0], np.eye(4)[index])


def test_weights_are_used_as_given_unless_normalized():
    raw = parse_which_styles({0: 1.0, 2: 1.0}, 3)
    np.testing.assert_allclose(raw.rows, [[1, 0, 1]])
    assert raw.suffixes == ("0_1000_2_1000",)
    norm = parse_which_styles({0: 1.0, 2: 3.0}, 3, normalize=True)
    np.testing.assert_allclose(norm.rows, [[0.25, 0, 0.75]])
    assert norm.suffixes == ("0_250_2_750",)


def test_weight_vectors_as_the_studio_sends_them():
    spec = parse_which_styles(np.array([0.2, 0.0, 0.8], np.float32), 3)
    np.testing.assert_allclose(spec.rows, [[0.2, 0, 0.8]])
    many = parse_which_styles(np.array([[1, 0, 0], [0, 0.5, 0.5]], np.float32), 3)
    assert many.rows.shape == (2, 3) and many.num_outputs == 2


def test_mixture_suffix_rounds_to_thousandths():
    assert mixture_suffix({3: 0.5, 0: 0.5}) == "0_500_3_500"
    assert mixture_suffix({1: 0.05}) == "1_050"


@pytest.mark.parametrize("bad, words", [
    ("[4]", "out of range"), ("{-1: 1.0}", "out of range"), ("{0: -0.5}", "negative"),
    ("{0: nan}", "not finite"), ("{0: 0.0, 1: 0}", "all weights are zero"),
    ("{3: 5e-97}", "all weights are zero in float32"),
    ("[]", "empty"), ("{}", "empty"), ("", "no style"), ("monet", "unknown style name"),
    ("{0: 'x'}", "not a number"), ("0:0.5,0:0.5", "twice"), ("[1.5]", "not a style index"),
    (np.array([1.0, 0.0], np.float32), "needs 4 entries"),
    (np.array([np.nan, 1, 0, 0], np.float32), "not finite"),
])
def test_bad_specs_raise_one_line_user_errors(bad, words):
    with pytest.raises(UserError, match=words) as info:
        parse_which_styles(bad, 4, NAMES)
    assert "\n" not in str(info.value)
    assert "Received" in str(info.value)


@pytest.mark.parametrize("bad, words", [
    ("{0: 1e300}", "above 1000"), ({0: 1e39}, "above 1000"), ("[0,0]", "listed twice"),
    ([2, "scream"], "listed twice"), ("{0:0.5,0:0.5}", "given twice"),
    ("{'wave': 1, 'wave': 2}", "given twice"), ("{0:0.5,'starry':0.5}", "twice"),
    (np.array([[0, 1, 0, 0], [0, 1, 0, 0]], np.float32), "given twice"),
])
def test_overflowing_weights_and_repeated_styles_are_refused(bad, words):
    with pytest.raises(UserError, match=words):
        parse_which_styles(bad, 4, NAMES)


def test_the_largest_weight_is_accepted():
    spec = parse_which_styles({0: 1000}, 4)
    assert spec.rows[0, 0] == 1000 and spec.suffixes == ("0_1000000",)


def test_different_mixtures_never_share_a_file_name():
    assert mixture_suffix({0: 0.5004}) != mixture_suffix({0: 0.5})
    assert mixture_suffix({0: 0.5004}) == "0_0p5004"
    assert mixture_suffix({0: 1e-6, 1: 0.3}) == "0_0p000001_1_300"
    assert mixture_suffix({0: 0.1, 2: 0.7}) == "0_100_2_700"  # float32-exact thousandths
    # Float32 is what the network sees: weights equal in float32 are one mixture.
    assert mixture_suffix({0: 0.1}) == mixture_suffix({0: float(np.float32(0.1))})


def test_integer_weight_vectors_are_weights_not_indices():
    one_hot = np.eye(4, dtype=np.int64)[2]
    spec = parse_which_styles(one_hot, 4)
    np.testing.assert_array_equal(spec.rows, [[0, 0, 1, 0]])
    assert spec.num_outputs == 1
    rows = parse_which_styles(np.eye(4, dtype=np.uint8)[[1, 3]], 4)
    assert rows.suffixes == ("1_1000", "3_1000")
    with pytest.raises(UserError, match="weight vector needs 4 entries"):
        parse_which_styles(np.array([0, 3]), 4)
