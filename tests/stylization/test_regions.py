"""Styles in regions: per-pixel gamma/beta from masks (stylization.regions)."""

import logging

import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.stylization import api
from magenta_style.stylization import masks as masks_lib
from magenta_style.stylization import runner
from magenta_style.stylization import style_choice
from tests.conftest import styled_model
from tests.stylization.conftest import halves
from tests.stylization.conftest import run_regions

STATISTICS = ("per_style", "shared")


@pytest.fixture(scope="module")
def wide():
    """A photo wide enough for regions beyond the network's reach from a seam."""
    return np.random.default_rng(3).random((24, 200, 3), dtype=np.float32)


def single(model, image, row):
    return np.asarray(runner.runner(model)(image[None], np.asarray(row, np.float32)[None]))[0]


@pytest.mark.parametrize("statistics", STATISTICS)
@pytest.mark.parametrize("tiled", [False, True])
def test_a_mask_of_all_ones_is_the_single_style_pastiche(model, statistics, tiled):
    image = np.random.default_rng(0).random((37, 50, 3), dtype=np.float32)
    row = np.array([[0.3, 0.0, 0.7]], np.float32)
    out = run_regions(model, image, np.ones((37, 50, 1), np.float32), row,
                                  tiled=tiled, tile_size=16, jit_compile=False,
                                  statistics=statistics)
    # Float rounding only (measured: <= 2.3e-6 tiled, <= 2e-7 untiled).
    np.testing.assert_allclose(out, single(model, image, row[0]), atol=2e-5)


def test_stylize_with_a_full_mask_equals_stylize_without(model, photo):
    plain = api.stylize(photo, model, 2, strength=0.8, preserve_colors=True)
    masked = api.stylize(photo, model, [2], masks=[np.ones(photo.shape[:2], bool)],
                         strength=0.8, preserve_colors=True)
    assert masked.shape == plain.shape and masked.dtype == np.uint8
    assert np.abs(masked.astype(int) - plain).max() <= 1


def test_per_style_regions_equal_their_single_style_pastiches_away_from_the_seam(model, wide):
    rows = np.eye(3, dtype=np.float32)[[0, 2]]
    out = run_regions(model, wide, halves(24, 200, 100), rows, tiled=False,
                                  tile_size=16, jit_compile=False)
    left, right = single(model, wide, rows[0]), single(model, wide, rows[1])
    # The network reaches ~50 px (9x9 and 3x3 layers at 1/4 resolution);
    # beyond that each side is its single-style pastiche to float rounding.
    np.testing.assert_allclose(out[:, :40], left[:, :40], atol=1e-5)
    np.testing.assert_allclose(out[:, 160:], right[:, 160:], atol=1e-5)
    # At the seam the styles meet: far from both pastiches.
    seam = out[:, 95:105]
    assert np.abs(seam - left[:, 95:105]).mean() > 0.01
    assert np.abs(seam - right[:, 95:105]).mean() > 0.01


def test_shared_statistics_change_regions_even_far_from_the_seam(model, wide):
    # What "shared" (the mixed map's own statistics) means: each region is
    # normalised together with the others, so it differs everywhere.
    rows = np.eye(3, dtype=np.float32)[[0, 2]]
    out = run_regions(model, wide, halves(24, 200, 100), rows, tiled=False,
                                  tile_size=16, jit_compile=False, statistics="shared")
    left = single(model, wide, rows[0])
    assert np.abs(out[:, :40] - left[:, :40]).mean() > 100 * 1e-5


@pytest.mark.parametrize("statistics", STATISTICS)
def test_tiled_equals_untiled(model, statistics):
    image = np.random.default_rng(1).random((45, 61, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:45, 0:61]
    soft = np.clip((xx - 20) / 20.0, 0, 1)[..., None]  # a soft seam
    masks = masks_lib.Regions.from_masks(
        np.concatenate([1 - soft, soft * (yy[..., None] > 10)], -1)).weights
    rows = np.array([[1, 0, 0], [0, 0.5, 0.5]], np.float32)
    kwargs = dict(tile_size=16, jit_compile=False, statistics=statistics)
    tiled = run_regions(model, image, masks, rows, tiled=True, **kwargs)
    whole = run_regions(model, image, masks, rows, tiled=False, **kwargs)
    # Float rounding only (measured: max ~3e-6).
    assert np.abs(tiled - whole).max() < 1e-4


def test_stylize_above_the_tile_threshold_matches_below(model, photo):
    masks = [np.tri(*photo.shape[:2], dtype=np.float32), np.ones(photo.shape[:2], np.uint8) * 255]
    kwargs = dict(masks=masks, which_styles=[0, {1: 0.5, 2: 0.5}])
    below = api.stylize(photo, model, **kwargs)
    above = api.stylize(photo, model, tile_threshold=100, tile_size=16, **kwargs)
    assert np.abs(below.astype(int) - above).max() <= 1


def test_the_photo_shows_through_where_masks_sum_below_one(model, photo):
    h, w = photo.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[:, : w // 2] = 1.0
    mask[:, w // 2: w // 2 + 8] = 0.5
    out = api.stylize(photo, model, [1], masks=[mask]).astype(int)
    styled = api.stylize(photo, model, 1).astype(int)
    np.testing.assert_array_equal(out[:, w // 2 + 8:], photo[:, w // 2 + 8:])
    # Half coverage: half the pastiche, half the photo (to uint8 rounding).
    half = (styled[:, w // 2: w // 2 + 8] + photo[:, w // 2: w // 2 + 8].astype(int)) / 2
    assert np.abs(out[:, w // 2: w // 2 + 8] - half).max() <= 1.01
    assert np.abs(out[:, :4] - styled[:, :4]).max() <= 1


def test_coverage_and_shares():
    masks = np.zeros((2, 3, 2), np.float32)
    masks[0, 0] = [1.0, 1.0]   # overlap: half each, full coverage
    masks[0, 1] = [0.25, 0.0]  # a soft edge: all style 0, a quarter shown
    masks[1, 2] = [0.0, 1.0]
    r = masks_lib.Regions.from_masks(masks)
    np.testing.assert_allclose(r.weights[0, 0], [0.5, 0.5])
    np.testing.assert_allclose(r.weights[0, 1], [1.0, 0.0])
    np.testing.assert_allclose(r.coverage, [[1, 0.25, 0], [0, 0, 1]])
    # Uncovered pixels: the regions' area shares (1.25 vs 2).
    np.testing.assert_allclose(r.weights[1, 0], [1.25 / 3.25, 2 / 3.25], rtol=1e-6)
    np.testing.assert_allclose(r.weights.sum(-1), 1, rtol=1e-6)


def test_parse_region_styles_takes_a_style_or_mixture_per_region():
    names = ("starry", "wave", "scream")
    spec = style_choice.parse_region_styles([{0: 0.5, 2: 0.5}, "wave"], 3, names)
    np.testing.assert_allclose(spec.rows, [[0.5, 0, 0.5], [0, 1, 0]])
    assert spec.suffixes == ("regions_0_500_2_500-1",) and len(spec.rows) == 2
    for text in ("0,2", "[0, 2]", "starry,scream", "['starry', 2]"):
        np.testing.assert_allclose(style_choice.parse_region_styles(text, 3, names).rows,
                                   np.eye(3)[[0, 2]], err_msg=text)
    one = style_choice.parse_region_styles("{0:1,1:1}", 3, names, normalize=True)
    assert len(one.rows) == 1
    with pytest.raises(UserError, match="one style or one mixture"):
        style_choice.parse_region_styles([[0, 1], 2], 3, names)
    with pytest.raises(UserError, match="out of range"):
        style_choice.parse_region_styles([0, 7], 3, names)


@pytest.mark.parametrize("masks, match", [
    ([np.full((4, 5), -0.5, np.float32)], "style mask 0 has negative values"),
    ([np.full((4, 5), 2.0, np.float32)], "values above 1"),
    ([np.full((4, 5), np.nan, np.float32)], "NaN"),
    ([np.ones((4, 5, 3), np.float32)], "must be a 2-D array"),
    ([np.ones((4, 5)), np.ones((4, 5))], "Got 2 style masks for 1 entries"),
    ([np.zeros((4, 5))], "cover no pixel"),
    (["/nonexistent/sky.png"], "Style mask not found: /nonexistent/sky.png"),
])
def test_bad_masks_are_one_clear_line(masks, match):
    with pytest.raises(UserError, match=match) as info:
        masks_lib.load_masks(masks, 1, (4, 5))
    assert "\n" not in str(info.value)


def test_stylize_rejects_a_mask_count_mismatch(model, photo):
    with pytest.raises(UserError, match="Got 1 style masks for 2 entries of which_styles"):
        api.stylize(photo, model, [0, 1], masks=[np.ones(photo.shape[:2])])
    with pytest.raises(UserError, match="region_statistics must be one of per_style, shared"):
        api.stylize(photo, model, [0], masks=[np.ones(photo.shape[:2])],
                    region_statistics="masked")


def test_a_mask_of_another_size_is_resized_saying_so(caplog, tmp_path):
    path = tmp_path / "sky.png"
    Image.fromarray(np.full((10, 20), 255, np.uint8)).save(path)
    with caplog.at_level(logging.WARNING, logger="magenta_style.stylization"):
        masks = masks_lib.load_masks([str(path)], 1, (40, 30))
    assert masks.shape == (40, 30, 1)
    np.testing.assert_allclose(masks, 1.0, atol=1e-6)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "sky.png" in message and "20x10" in message and "30x40" in message
    assert "stretched" in message
    # Drawn on the full photo and then scaled by max_size: no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="magenta_style.stylization"):
        masks_lib.load_masks([str(path)], 1, (10, 20), output_size=(5, 10))
    assert not caplog.records


def test_mask_files_gray_alpha_and_a_palette_label_image(tmp_path, caplog):
    gray = np.tile(np.linspace(0, 255, 8).astype(np.uint8), (4, 1))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    rgba = np.zeros((4, 8, 4), np.uint8)
    rgba[..., 3] = gray  # painted on a transparent layer: alpha is the mask
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    masks = masks_lib.load_masks(f"{tmp_path / 'gray.png'},{tmp_path / 'alpha.png'}", 2, (4, 8))
    np.testing.assert_allclose(masks[..., 0], gray / 255.0, atol=1e-6)
    np.testing.assert_allclose(masks[..., 1], gray / 255.0, atol=1e-6)

    labels = np.zeros((4, 8, 3), np.uint8)
    labels[:, :3] = (135, 206, 235)   # sky
    labels[:, 3:6] = (128, 128, 128)  # city
    labels[:, 6:] = (130, 200, 240)   # near sky (as JPEG would leave it)
    labels[0, 7] = (255, 0, 0)        # no region: the photo
    image_io.save_image(labels, tmp_path / "labels.png")
    masks = masks_lib.load_masks(str(tmp_path / "labels.png"), 2, (4, 8),
                               palette="#87ceeb,#808080")
    expected = np.zeros((4, 8, 2), np.float32)
    expected[:, :3, 0] = expected[:, 6:, 0] = 1
    expected[:, 3:6, 1] = 1
    expected[0, 7] = 0
    np.testing.assert_array_equal(masks, expected)
    with caplog.at_level(logging.WARNING, logger="magenta_style.stylization"):
        masks_lib.load_masks(str(tmp_path / "labels.png"), 2, (8, 16), palette="#87ceeb,#808080")
    assert [r.getMessage() for r in caplog.records] == [
        "The label image is 8x4, the photo 16x8: resized it to the photo."]
    with pytest.raises(UserError, match="Got 3 palette colours for 2 entries"):
        masks_lib.load_masks(str(tmp_path / "labels.png"), 2, (4, 8),
                           palette=["#000000", "#ffffff", (1, 2, 3)])
    with pytest.raises(UserError, match="Bad palette colour 'sky'"):
        masks_lib.parse_palette("sky,#808080")


def test_forward_under_xla_matches_the_graph(wide):
    model = styled_model(2, 5)
    masks = halves(24, 200, 77)[None]
    rows = np.eye(2, dtype=np.float32)
    graph = runner.region_runner(model)(wide[None], masks, rows)
    xla = runner.region_runner(model, jit_compile=True)(wide[None], masks, rows)
    np.testing.assert_allclose(np.asarray(xla), np.asarray(graph), atol=1e-5)
