"""stylize(): inputs, outputs, styles, mixtures, colours, caching, contact sheets."""

import numpy as np
import pytest
from PIL import Image

from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.storage import magenta_checkpoint
from magenta_style.storage import model_cache
from magenta_style.storage import model_format
from magenta_style.stylization.api import stylize


def reference(model, photo, weights):
    """The network run directly, in numpy uint8."""
    x = photo.astype(np.float32)[None] / 255.0
    y = np.asarray(model([x, np.asarray(weights, np.float32)[None]]))[0]
    return image_io.to_uint8(y)


def assert_close_uint8(a, b, tol=1):
    assert a.dtype == np.uint8 and a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= tol


def test_one_style_matches_the_network(model, photo):
    out = stylize(photo, model, 1)
    assert out.shape == photo.shape
    assert_close_uint8(out, reference(model, photo, [0, 1, 0]))


def test_mixture_uses_weights_as_given(model, photo):
    out = stylize(photo, model, {0: 0.5, 2: 0.5})
    assert_close_uint8(out, reference(model, photo, [0.5, 0, 0.5]))
    raw = stylize(photo, model, "{0:1.0,2:1.0}")
    normalized = stylize(photo, model, "{0:1.0,2:1.0}", normalize_weights=True)
    assert_close_uint8(raw, reference(model, photo, [1, 0, 1]))
    assert_close_uint8(normalized, out)


def test_list_of_styles_returns_one_image_per_style_in_order(model, photo):
    outs = stylize(photo, model, "[2,0]")
    assert isinstance(outs, list) and len(outs) == 2
    assert_close_uint8(outs[0], stylize(photo, model, "scream"))
    assert_close_uint8(outs[1], stylize(photo, model, 0))
    assert len(stylize(photo, model, [1])) == 1  # a list stays a list


@pytest.mark.parametrize("kind", ["float", "pil", "path", "gray", "rgba"])
def test_image_forms(model, photo, tmp_path, kind):
    if kind == "float":
        image = photo.astype(np.float32) / 255.0
    elif kind == "pil":
        image = Image.fromarray(photo)
    elif kind == "path":
        image = image_io.save_image(photo, tmp_path / "p.png")
    elif kind == "gray":
        image = photo[..., 0]
    else:
        image = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], -1)
    out = stylize(image, model, 0)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    if kind != "gray":
        assert_close_uint8(out, reference(model, photo, [1, 0, 0]))


def test_list_input_returns_a_list_and_saves_with_magenta_names(model, photo, tmp_path):
    outs = stylize([photo, photo[:20, :30]], model, "[0,1]", output_dir=tmp_path)
    assert len(outs) == 2 and len(outs[0]) == 2
    assert outs[1][0].shape == (20, 30, 3)
    single = stylize(photo, model, {0: 0.5, 1: 0.5}, output_dir=tmp_path, output_basename="cat")
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["cat_0_500_1_500.png", "stylized0_0.png", "stylized0_1.png",
                     "stylized1_0.png", "stylized1_1.png"]
    with Image.open(tmp_path / "cat_0_500_1_500.png") as img:
        assert img.format == "PNG"
        np.testing.assert_array_equal(np.asarray(img), single)


def test_preserve_colors_keeps_the_photos_chrominance(model, photo):
    out = stylize(photo, model, 0, preserve_colors=True).astype(np.float32) / 255
    plain = stylize(photo, model, 0).astype(np.float32) / 255
    src = photo.astype(np.float32) / 255
    yiq_out, yiq_src, yiq_plain = (color.rgb_to_yiq(a) for a in (out, src, plain))
    # Luminance from the pastiche, chrominance from the photo (up to clipping
    # and uint8 rounding).
    assert np.median(np.abs(yiq_out[..., 1:] - yiq_src[..., 1:])) < 0.01
    assert np.median(np.abs(yiq_out[..., 0] - yiq_plain[..., 0])) < 0.01


def test_strength_blends_towards_the_photo(model, photo):
    assert_close_uint8(stylize(photo, model, 0, strength=0.0), photo)
    full = stylize(photo, model, 0).astype(np.float32)
    half = stylize(photo, model, 0, strength=0.5).astype(np.float32)
    np.testing.assert_allclose(half, 0.5 * full + 0.5 * photo, atol=1.01)
    # Slider values often arrive as numpy scalars.
    assert_close_uint8(stylize(photo, model, 0, strength=np.float32(0.5)), half.astype(np.uint8))
    with pytest.raises(UserError, match="strength"):
        stylize(photo, model, 0, strength=1.5)


def test_max_size_bounds_the_longer_side(model, photo):
    assert stylize(photo, model, 0, max_size=26).shape == (18, 26, 3)


@pytest.mark.parametrize("hw", [(1, 1), (3, 7), (15, 4)])
def test_images_smaller_than_the_receptive_field(model, hw):
    image = np.full(hw + (3,), 128, np.uint8)
    assert stylize(image, model, 0).shape == hw + (3,)


def test_large_images_go_through_tiling_and_agree(model, photo):
    untiled = stylize(photo, model, 2)
    tiled = stylize(photo, model, 2, tile_threshold=100, tile_size=16)
    assert_close_uint8(tiled, untiled)


def test_bad_inputs_give_user_errors(model, photo, tmp_path):
    with pytest.raises(UserError, match="out of range"):
        stylize(photo, model, 3)
    with pytest.raises(UserError, match="num_styles"):
        stylize(photo, model, 0, num_styles=5)
    with pytest.raises(UserError, match="not found"):
        stylize(tmp_path / "missing.jpg", model, 0)
    with pytest.raises(UserError, match="No model named"):
        stylize(photo, "no-such-model", 0)


def test_models_load_once_per_path(model, tmp_path):
    model_format.save_model(model, tmp_path / "m")
    model_cache.clear()
    first = model_format.load_model(str(tmp_path / "m"), cached=True)
    assert model_format.load_model(tmp_path / "m", cached=True) is first
    assert first.style_names == ("starry", "wave", "scream")
    assert model_format.load_model(model, cached=True) is model


def test_default_model_is_the_shipped_varied(photo):
    default = model_format.load_model(None, cached=True)
    assert default.transformer_config.num_styles == 36
    assert model_format.load_model("varied", cached=True) is default
    out = stylize(photo, None, "the_scream")
    assert out.shape == photo.shape and out.std() > 1


def test_magenta_tf1_checkpoints_load_and_check_num_styles(model, photo, tmp_path):
    prefix = str(tmp_path / "ckpt" / "model.ckpt")
    magenta_checkpoint.save_magenta_checkpoint(model, prefix)
    assert_close_uint8(stylize(photo, prefix, 1, num_styles=3), stylize(photo, model, 1))
    with pytest.raises(UserError, match="num_styles=5"):
        stylize(photo, prefix, 0, num_styles=5)


def test_package_level_call_works_after_the_module_was_imported(model, photo):
    import magenta_style

    # This test module imported magenta_style.stylization.api first; the package
    # attribute must still be the function.
    assert_close_uint8(magenta_style.stylize(photo, model, 2), stylize(photo, model, 2))


@pytest.mark.parametrize("max_size", ["abc", -1, 2.5, float("nan"), True, [64]])
def test_a_bad_max_size_is_one_line(model, photo, max_size):
    with pytest.raises(UserError, match="max_size must be a positive integer"):
        stylize(photo, model, 0, max_size=max_size)


def test_an_output_dir_that_is_a_file_is_one_line(model, photo, tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        stylize(photo, model, 0, output_dir=str(tmp_path / "a_file"))
