"""Property tests of `load_image`: any file or array gives a valid image or one UserError line."""

import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io

# derandomize: the same examples every run (a test must not depend on luck).
SETTINGS = settings(derandomize=True, max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
           "webp": "WEBP"}


def _valid_bytes(fmt, mode, width, height, seed):
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (height, width, 4), np.uint8), "RGBA")
    img = img.convert(mode) if fmt != "JPEG" or mode in ("L", "RGB", "CMYK") else \
        img.convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


@st.composite
def damaged_files(draw):
    """A real image file (any format and mode), cut short and with bytes changed."""
    ext = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "P", "1", "LA", "CMYK", "I;16"]))
    if (FORMATS[ext], mode) in {("GIF", "I;16"), ("WEBP", "CMYK"), ("WEBP", "I;16"),
                                ("BMP", "LA"), ("BMP", "CMYK"), ("BMP", "I;16"),
                                ("GIF", "CMYK"), ("JPEG", "I;16"), ("PNG", "CMYK"),
                                ("GIF", "LA"), ("WEBP", "LA"), ("JPEG", "LA")}:
        mode = "RGB"
    data = bytearray(_valid_bytes(FORMATS[ext], mode, draw(st.integers(1, 40)),
                                  draw(st.integers(1, 40)), draw(st.integers(0, 99))))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return ext, bytes(data[:cut] if draw(st.booleans()) else data)


def _check_loaded(arr):
    assert arr.dtype == np.float32 and arr.ndim == 3 and arr.shape[-1] == 3
    assert arr.shape[0] >= 1 and arr.shape[1] >= 1
    assert np.all(np.isfinite(arr)) and arr.min() >= 0 and arr.max() <= 1


def _load_file(ext, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"photo.{ext}")
        with open(path, "wb") as f:
            f.write(data)
        # Nothing else on stderr either: a warning is a line the user did not ask for.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                arr = image_io.load_image(path, max_size=32)
            except UserError as e:
                assert "\n" not in str(e) and "photo." in str(e)
                return
        _check_loaded(arr)


@SETTINGS
@given(damaged_files())
def test_damaged_files_load_or_give_one_line(file):
    _load_file(*file)


@SETTINGS
@given(st.sampled_from(sorted(FORMATS)), st.binary(max_size=2000))
def test_random_bytes_give_one_line(ext, data):
    _load_file(ext, data)


arrays = st.one_of(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(0, 3))
    .flatmap(lambda s: st.sampled_from(["uint8", "uint16", "float32", "float64", "int32",
                                        "bool", "float16", "complex64"])
             .map(lambda d: (s, d))),
)


@SETTINGS
@given(arrays, st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 99))
def test_arrays_load_or_give_one_line(shape_dtype, scale, seed):
    (h, w, c, ndim), dtype = shape_dtype
    shape = (h, w, c, 2)[: ndim + 1] if ndim else (h,)
    values = np.random.default_rng(seed).random(shape) * scale if np.isfinite(scale) else \
        np.full(shape, scale)
    with np.errstate(all="ignore"):
        array = values.astype(dtype)
    try:
        arr = image_io.load_image(array)
    except UserError as e:
        assert "\n" not in str(e)
        return
    _check_loaded(arr)


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_every_format_round_trips_through_the_strategy(ext):
    # The strategy's undamaged files load (so damage, not the writer, makes errors).
    arr = image_io.load_image(Image.open(io.BytesIO(_valid_bytes(FORMATS[ext], "RGB", 9, 7, 0))))
    assert arr.shape == (7, 9, 3)
