"""losses.objective.compute_arbitrary_losses against a numpy reference of Magenta's formulas."""

import numpy as np

from magenta_style import config
from magenta_style.losses import objective


def _features(x):
    """A stand-in loss network: two 'layers' of a [B, H, W, 3] batch."""
    x = np.asarray(x)
    return {"a": x * 2.0, "b": x[:, ::2, ::2] ** 2}


def _np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def test_each_example_is_measured_against_its_own_painting(rng):
    photos = rng.uniform(size=(2, 8, 8, 3)).astype("float32")
    # Paintings of another size than the photos (Magenta's random style sizes).
    paintings = rng.uniform(size=(2, 12, 12, 3)).astype("float32")
    pastiches = rng.uniform(size=(2, 8, 8, 3)).astype("float32")
    seen = {}

    def model_fn(inputs, training=False):
        seen["inputs"], seen["training"] = inputs, training
        return pastiches

    cfg = config.LossConfig(content_weights={"a": 2.0}, style_weights={"a": 0.5, "b": 3.0},
                            total_variation_weight=0.1)
    loss, parts = objective.compute_arbitrary_losses(
        model_fn, _features, lambda x: {"a": _features(x)["a"]}, photos, paintings, cfg)

    assert seen["training"] is True
    np.testing.assert_array_equal(np.asarray(seen["inputs"][1]), paintings)
    p, c, s = _features(pastiches), _features(photos), _features(paintings)
    content = 2.0 * np.mean((p["a"] - c["a"]) ** 2, axis=(1, 2, 3))
    style = sum(w * np.mean((_np_gram(p[k]) - _np_gram(s[k])) ** 2, axis=(1, 2))
                for k, w in cfg.style_weights.items())
    dy = np.sum((pastiches[:, 1:] - pastiches[:, :-1]) ** 2) / 2 / (7 * 8 * 3)
    dx = np.sum((pastiches[:, :, 1:] - pastiches[:, :, :-1]) ** 2) / 2 / (8 * 7 * 3)
    tv = 0.1 * (dx + dy) / 2
    np.testing.assert_allclose(np.asarray(parts["total_content_loss"]), content, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(parts["total_style_loss"]), style, rtol=1e-4)
    np.testing.assert_allclose(float(loss), np.mean(content + style + tv), rtol=1e-4)
    assert np.asarray(parts["total_loss"]).shape == (2,)
