"""Any painting as a style: style vectors, blends, strength, names, bad input."""

import os

import numpy as np
import pytest
from PIL import Image

import magenta_style
from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.stylization import arbitrary
from tests.conftest import SHARED

STYLES = os.path.join(SHARED, "images", "styles")


@pytest.fixture(scope="module")
def shipped():
    return model_format.load_model("arbitrary-v1")


@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    """Two synthetic 'paintings' that differ (stripes and blobs), as files."""
    folder = tmp_path_factory.mktemp("paintings")
    yy, xx = np.mgrid[0:90, 0:120]
    stripes = np.stack([np.sin(xx / 3.0), np.cos(yy / 5.0), np.sin((xx + yy) / 7.0)], -1)
    rng = np.random.default_rng(0)
    blobs = np.repeat(np.repeat(rng.random((9, 12, 3)), 10, 0), 10, 1)
    paths = []
    for name, arr in (("stripes", stripes * 0.5 + 0.5), ("blobs", blobs)):
        path = folder / f"{name}.png"
        image_io.save_image(image_io.to_uint8(arr), path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def photo():
    yy, xx = np.mgrid[0:40, 0:56] / 40.0
    return image_io.to_uint8(np.stack([xx / 1.4, yy, 0.5 + 0.3 * np.sin(6 * xx)], -1))


def test_preprocessing_is_magentas_centre_crop_and_lanczos():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 451, 3), dtype=np.uint8)
    got = arbitrary.preprocess_style_image(image)
    # Centre square: side 300, left (451 - 300) // 2 = 75.
    want = Image.fromarray(image[:, 75:375]).resize((256, 256), Image.LANCZOS)
    np.testing.assert_array_equal(got, np.asarray(want, np.float32) / 255.0)
    assert got.dtype == np.float32


@pytest.mark.needs_shared
def test_style_vector_of_a_painting_file_matches_the_reference():
    reference = np.load(os.path.join(SHARED, "models", "arbitrary_v1", "reference.npz"))
    for i, name in enumerate(reference["style_names"]):
        path = os.path.join(STYLES, f"{name}.jpg")
        np.testing.assert_allclose(arbitrary.preprocess_style_image(path),
                                   reference["style_image"][i], atol=1 / 255 + 1e-6)
        v = magenta_style.style_vector(path)
        assert v.shape == (100,) and v.dtype == np.float32
        np.testing.assert_allclose(v, reference["style_vector_float"][i], atol=1e-3)


def test_style_image_implies_the_arbitrary_model_and_names_the_painting(
        paintings, photo, shipped, tmp_path):
    out = magenta_style.stylize(photo, style_image=paintings[0], output_dir=tmp_path)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert os.listdir(tmp_path) == ["stylized_stripes.png"]
    direct = magenta_style.stylize(photo, shipped,
                                   style_vector=magenta_style.style_vector(paintings[0]))
    np.testing.assert_array_equal(out, direct)
    # The style matters: another painting gives another pastiche.
    other = magenta_style.stylize(photo, style_image=paintings[1])
    assert np.abs(out.astype(int) - other).mean() > 5


def test_a_list_gives_one_output_per_painting_and_weights_blend_the_vectors(
        paintings, photo, tmp_path):
    outs = magenta_style.stylize(photo, style_image=paintings, output_dir=tmp_path)
    assert isinstance(outs, list) and len(outs) == 2
    blend = magenta_style.stylize(photo, style_image=paintings, style_blend_weights=[7, 3],
                                  output_dir=tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["stylized_blobs.png", "stylized_stripes.png",
                                            "stylized_stripes_700_blobs_300.png"]
    vectors = magenta_style.style_vectors(paintings)
    mixed = magenta_style.stylize(photo, style_vector=0.7 * vectors[0] + 0.3 * vectors[1])
    assert np.abs(blend.astype(int) - mixed).max() <= 1
    alone = magenta_style.stylize(photo, style_image=paintings[0])
    assert np.abs(outs[0].astype(int) - alone).max() <= 1  # batched: float rounding only


def test_strength_interpolates_with_the_photos_own_style_vector(paintings, photo):
    v = magenta_style.style_vector(paintings[0])
    own = magenta_style.style_vector(image_io.load_image(photo))
    half = magenta_style.stylize(photo, style_image=paintings[0], strength=0.5)
    want = magenta_style.stylize(photo, style_vector=0.5 * v + 0.5 * own)
    assert np.abs(half.astype(int) - want).max() <= 1
    # Not the pixel blend of the multi-style models.
    full = magenta_style.stylize(photo, style_image=paintings[0])
    pixel = image_io.to_uint8(color.blend(image_io.array_to_float(full),
                                          image_io.array_to_float(photo), 0.5))
    assert np.abs(half.astype(int) - pixel).mean() > 2


def test_preserve_colors_max_size_tiling_and_batches(paintings, photo, shipped):
    v = magenta_style.style_vector(paintings[1])
    full = magenta_style.stylize(photo, style_vector=v)
    kept = magenta_style.stylize(photo, style_vector=v, preserve_colors=True)
    want = color.preserve_colors(image_io.array_to_float(full), image_io.array_to_float(photo))
    assert np.abs(kept.astype(int) - image_io.to_uint8(want)).max() <= 1
    small = magenta_style.stylize(photo, style_vector=v, max_size=28)
    assert small.shape == (20, 28, 3)
    tiled = magenta_style.stylize(photo, style_vector=v, tile_threshold=100, tile_size=16)
    assert np.abs(tiled.astype(int) - full).max() <= 1
    both = magenta_style.stylize([photo, photo[:32]], style_vector=v)
    assert [b.shape for b in both] == [photo.shape, (32, 56, 3)]
    assert np.abs(both[0].astype(int) - full).max() <= 1


@pytest.mark.parametrize("kwargs, words", [
    (dict(style_image="/nope.jpg"), "Image not found: /nope.jpg"),
    (dict(style_image=np.zeros((1, 1, 3), np.uint8)), "1x1 pixels: too small"),
    (dict(style_vector=np.zeros(99)), "100 numbers (from style_vector()). Received: shape=(99,)"),
    (dict(style_image=["a.png", "b.png"], style_blend_weights=[1.0, -0.5]), ">= 0"),
    (dict(style_image=["a.png", "b.png"], style_blend_weights=[0, 0]), "positive sum"),
    (dict(style_image=["a.png", "b.png"], style_blend_weights=[1.0]), "one weight per image"),
    (dict(model="android-26", style_image="a.png"), "android-26 is a multi-style model"),
    (dict(model="arbitrary-v1"), "takes any painting as its style"),
    (dict(model="arbitrary-v1", which_styles=3), "no trained styles"),
    (dict(style_blend_weights=[1]), "needs style images"),
])
def test_bad_input_is_one_user_error_line(kwargs, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a.png", "b.png"):
        image_io.save_image(np.full((32, 32, 3), 90, np.uint8), tmp_path / name)
    with pytest.raises(UserError) as info:
        magenta_style.stylize(np.zeros((20, 20, 3), np.uint8), **kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_contact_sheet_of_photos_by_paintings(paintings, photo):
    sheet = magenta_style.contact_sheet([photo, photo], style_images=paintings, cell_size=32)
    # A label band, a row of paintings, then one row per photo; photo + 2 columns.
    assert sheet.shape == (24 + 3 * 32, 3 * 32, 3) and sheet.dtype == np.uint8
    assert np.all(sheet[24:56, :32] == 255)  # no painting above the photo column


def test_contact_sheet_of_the_arbitrary_model_needs_paintings(photo, shipped):
    with pytest.raises(UserError, match="give the contact sheet style_images"):
        magenta_style.contact_sheet(photo, shipped)
