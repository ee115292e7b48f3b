"""Image loading and saving: every kind of file a user may hand us."""

import os

import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)


def test_rgb_png_round_trip(tmp_path, rgb):
    path = image_io.save_image(rgb, tmp_path / "a.png")
    out = image_io.load_image(path)
    assert out.dtype == np.float32 and out.shape == (24, 40, 3)
    np.testing.assert_allclose(out, rgb / 255.0, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    yy, xx = np.mgrid[0:24, 0:40]
    rgb = np.stack([xx * 6, yy * 10, 255 - xx * 6], -1).astype(np.uint8)  # smooth
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=100)
    out = image_io.load_image(path)
    assert out.shape == (40, 24, 3)
    expected = np.rot90(rgb, k=-1) / 255.0  # 90 degrees clockwise
    assert np.abs(out - expected).mean() < 0.02  # JPEG noise only


def test_grayscale_becomes_three_equal_channels(tmp_path, rgb):
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.png")
    out = image_io.load_image(tmp_path / "g.png")
    assert out.shape == (24, 40, 3)
    np.testing.assert_allclose(out[..., 0], rgb[..., 0] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255          # red...
    rgba[:4, ..., 3] = 255      # opaque top half
    rgba[4:, ..., 3] = 0        # transparent bottom half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    out = image_io.load_image(tmp_path / "t.png")
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[7, 7], [1, 1, 1])
    half = rgba.copy()
    half[..., 3] = 128
    np.testing.assert_allclose(image_io.load_image(half)[0, 0],
                               [1, 127 / 255, 127 / 255], atol=1e-6)


def test_palette_images_with_and_without_transparency(tmp_path, rgb):
    pal = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png")
    out = image_io.load_image(tmp_path / "p.png")
    np.testing.assert_allclose(out, np.asarray(pal.convert("RGB")) / 255.0, atol=1e-6)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    out = image_io.load_image(tmp_path / "pt.png")
    index0 = np.asarray(pal) == 0
    assert index0.any()
    np.testing.assert_allclose(out[index0], 1.0)


def test_cmyk_jpeg(tmp_path, rgb):
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    out = image_io.load_image(tmp_path / "c.jpg")
    assert out.shape == (24, 40, 3)
    assert np.abs(out - rgb / 255.0).mean() < 0.05


@pytest.mark.parametrize("top", [65535, 200])
def test_16_bit_grayscale_png_keeps_its_scale(tmp_path, top):
    # A dark 16-bit image (max 200 of 65535) must stay dark, not be read as 8-bit.
    values = np.linspace(0, top, 24 * 40).reshape(24, 40).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    out = image_io.load_image(tmp_path / "d.png")
    np.testing.assert_allclose(out[..., 1], values / 65535.0, atol=1e-6)


def test_16_bit_arrays_and_float_arrays(rgb):
    as16 = rgb.astype(np.uint16) * 257
    np.testing.assert_allclose(image_io.load_image(as16), rgb / 255.0, atol=1e-6)
    np.testing.assert_allclose(image_io.load_image(rgb / 255.0), rgb / 255.0, atol=1e-6)


@pytest.mark.parametrize("bad, words", [
    (np.zeros((4, 4, 2)), "must be"), (np.full((4, 4, 3), 2.0), r"\[0, 1\]"),
    (np.full((4, 4, 3), np.nan), "NaN"), (np.zeros((4, 4, 3), bool), "dtype"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
])
def test_bad_arrays(bad, words):
    with pytest.raises(UserError, match=words):
        image_io.load_image(bad)


def test_truncated_file_is_a_user_error(tmp_path, rgb):
    path = tmp_path / "cut.jpg"
    Image.fromarray(rgb).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.jpg") as info:
        image_io.load_image(path)
    assert "\n" not in str(info.value)


def test_one_bit_and_gray_alpha_images(tmp_path):
    bits = (np.arange(64).reshape(8, 8) % 2 * 255).astype(np.uint8)
    Image.fromarray(bits).convert("1").save(tmp_path / "b.png")
    np.testing.assert_array_equal(image_io.load_image(tmp_path / "b.png")[0, :3, 0], [0, 1, 0])
    la = Image.fromarray(np.full((4, 4), 50, np.uint8)).convert("LA")
    la.putalpha(0)
    la.save(tmp_path / "la.png")
    np.testing.assert_allclose(image_io.load_image(tmp_path / "la.png"), 1.0)


def test_non_image_and_missing_files(tmp_path):
    (tmp_path / "notes.png").write_text("hello, not a picture")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(UserError, match="empty.jpg"):
        image_io.load_image(tmp_path / "empty.jpg")
    with pytest.raises(UserError, match="notes.png"):
        image_io.load_image(tmp_path / "notes.png")
    with pytest.raises(UserError, match="not found"):
        image_io.load_image(tmp_path / "missing.png")
    with pytest.raises(UserError, match="not found"):
        image_io.load_image(tmp_path)  # a folder


def test_max_size_scales_down_never_up(rgb):
    assert image_io.load_image(rgb, max_size=20).shape == (12, 20, 3)
    assert image_io.load_image(rgb, max_size=400).shape == (24, 40, 3)


@pytest.mark.parametrize("ext, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".jpeg", "JPEG"),
                                      (".webp", "WEBP"), (".bmp", "BMP")])
def test_saved_file_format_follows_extension(tmp_path, rgb, ext, fmt):
    path = image_io.save_image(rgb, tmp_path / f"out{ext}")
    with Image.open(path) as img:
        assert img.format == fmt
    assert os.listdir(tmp_path) == [f"out{ext}"]  # no temp file left


def test_save_rejects_unknown_extension_and_leaves_nothing(tmp_path, rgb):
    with pytest.raises(UserError, match="extension"):
        image_io.save_image(rgb, tmp_path / "out.xyz")
    assert os.listdir(tmp_path) == []


def test_to_uint8_rounds_and_clips():
    out = image_io.to_uint8(np.array([-0.1, 0.0, 0.6 / 255, 0.4 / 255, 0.999, 1.2]))
    np.testing.assert_array_equal(out, [0, 0, 1, 0, 255, 255])


def _png_bomb(path, width, height, body=True):
    """A valid grayscale PNG of zeros (a few KB per 100 MP), or one cut after its header."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        if body:
            packer, row = zlib.compressobj(9), b"\x00" * (width + 1)
            data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
            f.write(chunk(b"IDAT", data))
            f.write(chunk(b"IEND", b""))
        else:  # an IDAT that the file cuts short
            f.write(struct.pack(">I", 1 << 20) + b"IDAT" + zlib.compress(b"\x00" * 64))
    return path


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(image_io, "MAX_PIXELS", 50_000_000)
    # Header only: decoding would say "truncated"; the size alone refuses it.
    path = _png_bomb(tmp_path / "bomb.png", 20000, 10000, body=False)
    with pytest.raises(UserError) as info:
        image_io.load_image(path)
    message = str(info.value)
    assert "\n" not in message
    assert "is 200.0 megapixels" in message
    assert "limit of 50.0 megapixels" in message and "MAGENTA_STYLE_MAX_PIXELS=" in message


def test_a_valid_bomb_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    path = _png_bomb(tmp_path / "zeros.png", 3000, 2000)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(image_io, "MAX_PIXELS", 5_999_999)
    with pytest.raises(UserError, match=r"is 6.0 megapixels \(3000x2000\)"):
        image_io.load_image(path)
    monkeypatch.setattr(image_io, "MAX_PIXELS", None)
    monkeypatch.setenv(image_io.MAX_PIXELS_ENV, "6000000")
    assert image_io.load_image(path).shape == (2000, 3000, 3)
    monkeypatch.setenv(image_io.MAX_PIXELS_ENV, "lots")
    with pytest.raises(UserError, match="MAGENTA_STYLE_MAX_PIXELS must be"):
        image_io.load_image(path)


def test_the_default_limit_follows_the_available_memory(monkeypatch):
    monkeypatch.delenv(image_io.MAX_PIXELS_ENV, raising=False)
    monkeypatch.setattr(image_io, "available_memory", lambda: 24 << 30)
    limit = image_io.default_max_pixels()
    assert limit == (24 << 30) // image_io.BYTES_PER_PIXEL
    # A 20000 x 20000 photo (400 MP) is over the limit with 24 GB free; a
    # 24 MP photo is not.
    assert 24_000_000 < limit < 400_000_000
    # Scaled down on load, it is only decoded: a larger photo fits.
    assert image_io.default_max_pixels(scaled=True) > 400_000_000
    # The scaled limit follows what is free, not the machine's total.
    monkeypatch.setattr(image_io, "_physical_memory", lambda: 64 << 40)
    monkeypatch.setattr(image_io, "available_memory", lambda: 1 << 30)
    assert image_io.default_max_pixels(scaled=True) == (1 << 30) // 40
    # Where the free memory cannot be read: a share of the machine's.
    monkeypatch.setattr(image_io, "available_memory", lambda: None)
    assert image_io.default_max_pixels() > 400_000_000


def test_max_size_uses_the_decoding_limit(tmp_path, monkeypatch):
    monkeypatch.delenv(image_io.MAX_PIXELS_ENV, raising=False)
    path = _png_bomb(tmp_path / "zeros.png", 3000, 2000)
    monkeypatch.setattr(image_io, "available_memory",
                        lambda: 5_000_000 * image_io.BYTES_PER_PIXEL)
    with pytest.raises(UserError, match="bytes each to stylize"):
        image_io.load_image(path)
    assert image_io.load_image(path, max_size=300).shape == (200, 300, 3)
