"""Colour preservation (YIQ luminance transfer) and strength blending."""

import numpy as np
import pytest

from magenta_style import color


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    return (rng.random((16, 20, 3), dtype=np.float32),
            rng.random((16, 20, 3), dtype=np.float32))


def test_yiq_matches_the_ntsc_definition_and_inverts():
    rgb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]], np.float32)
    yiq = color.rgb_to_yiq(rgb)
    np.testing.assert_allclose(yiq[:, 0], [0.299, 0.587, 1.0], atol=1e-6)
    np.testing.assert_allclose(yiq[2, 1:], [0, 0], atol=1e-5)  # white has no chroma
    np.testing.assert_allclose(color.yiq_to_rgb(yiq), rgb, atol=1e-5)


def test_preserve_colors_takes_luminance_from_pastiche_and_chroma_from_photo():
    # Mid-range values so that nothing clips and the transfer is exact.
    rng = np.random.default_rng(1)
    pastiche = 0.3 + 0.4 * rng.random((8, 8, 3), dtype=np.float32)
    photo = 0.3 + 0.4 * rng.random((8, 8, 3), dtype=np.float32)
    out = color.preserve_colors(pastiche, photo)
    out_yiq = color.rgb_to_yiq(out)
    np.testing.assert_allclose(out_yiq[..., 0], color.rgb_to_yiq(pastiche)[..., 0], atol=1e-5)
    np.testing.assert_allclose(out_yiq[..., 1:], color.rgb_to_yiq(photo)[..., 1:], atol=1e-5)


def test_preserve_colors_stays_in_range_and_is_identity_on_itself(pair):
    pastiche, photo = pair
    out = color.preserve_colors(pastiche, photo)
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(color.preserve_colors(photo, photo), photo, atol=1e-5)
    gray = np.repeat(photo[..., :1], 3, -1)
    # A grey photo gives a grey result (no chroma to keep).
    out = color.preserve_colors(pastiche, gray)
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-5)


def test_preserve_colors_works_on_batches(pair):
    pastiche, photo = pair
    batch = color.preserve_colors(np.stack([pastiche, photo]), np.stack([photo, photo]))
    np.testing.assert_allclose(batch[0], color.preserve_colors(pastiche, photo), atol=1e-6)


def test_preserve_colors_rejects_mismatched_shapes(pair):
    with pytest.raises(ValueError, match="same shape"):
        color.preserve_colors(pair[0], pair[1][:8])


def test_blend_endpoints_and_midpoint(pair):
    pastiche, photo = pair
    np.testing.assert_allclose(color.blend(pastiche, photo, 1.0), pastiche)
    np.testing.assert_allclose(color.blend(pastiche, photo, 0.0), photo)
    np.testing.assert_allclose(color.blend(pastiche, photo, 0.25),
                               0.25 * pastiche + 0.75 * photo, atol=1e-6)


@pytest.mark.parametrize("strength", [-0.1, 1.1, float("nan")])
def test_blend_rejects_strength_outside_0_1(pair, strength):
    with pytest.raises(ValueError, match="strength"):
        color.blend(pair[0], pair[1], strength)
