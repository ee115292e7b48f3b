"""Training settings: what `train` refuses before doing any work."""

import dataclasses

import pytest

from magenta_style.errors import UserError
from magenta_style.training import modes
from magenta_style.training.config import TrainConfig


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf")])
def test_a_non_positive_alpha_is_one_line(tmp_path, alpha):
    cfg = TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", alpha=alpha)
    with pytest.raises(UserError, match="--alpha") as e:
        modes.check_config(cfg)
    assert "\n" not in str(e.value)


def test_a_positive_alpha_passes(tmp_path):
    modes.check_config(TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", alpha=0.25))


def test_an_unknown_half_type_is_one_line(tmp_path):
    cfg = TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", mixed_precision=True,
                      mixed_precision_dtype="float8")
    with pytest.raises(UserError, match="Received: 'float8'") as e:
        modes.check_config(cfg)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("dtype, loss_scaled", [("float16", True), ("bfloat16", False)])
def test_only_float16_scales_the_loss(tmp_path, dtype, loss_scaled):
    import keras

    cfg = TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", mixed_precision=True,
                      mixed_precision_dtype=dtype)
    optimizer = modes.make_optimizer(cfg.learning_rate, cfg.clip_gradient_norm,
                                     scale_loss=modes.needs_loss_scale(cfg))
    # float16's 5-bit exponent overflows on Magenta's ~1e6 losses; bfloat16 has float32's.
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) is loss_scaled


def _stored_run(tmp_path, names):
    """A train_dir whose style set was measured from `names` (random Grams)."""
    import numpy as np

    from magenta_style.data import style_grams
    from magenta_style.storage import image_io
    from magenta_style.training import config as train_config

    styles = tmp_path / "styles"
    styles.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        image_io.save_image(rng.integers(0, 256, (20, 24, 3), np.uint8), styles / f"{name}.png")
    files = sorted(str(p) for p in styles.iterdir())
    images = [style_grams.load_style_image(f, 16) for f in files]
    grams = {"vgg_16/conv1": rng.random((len(files), 64, 64)).astype("float32")}
    meta = {"format": style_grams.FORMAT, "version": style_grams.VERSION, "pooling": "avg",
            "style_image_size": 16, "files": files}
    train_dir = tmp_path / "run"
    train_dir.mkdir()
    style_grams.save_style_set(
        style_grams.StyleSet(style_grams.style_names(files), grams, images, meta),
        train_dir / train_config.STYLE_SET_FILE)
    return train_dir, styles


def test_resuming_with_the_same_style_images_reuses_the_stored_set(tmp_path):
    train_dir, styles = _stored_run(tmp_path, ["a", "b"])
    cfg = TrainConfig(train_dir=str(train_dir), style_images=str(styles / "*.png"),
                      style_image_size=16, vgg_weights="/nonexistent.h5")  # not measured
    assert modes.load_styles(cfg).names == ["a", "b"]


@pytest.mark.parametrize("change, words", [
    ("add", "new: c"), ("remove", "missing: b"), ("replace", "b.png changed")])
def test_resuming_with_other_style_images_is_refused(tmp_path, change, words):
    import numpy as np

    from magenta_style.storage import image_io

    train_dir, styles = _stored_run(tmp_path, ["a", "b"])
    if change == "add":
        image_io.save_image(np.zeros((20, 24, 3), np.uint8), styles / "c.png")
    elif change == "remove":
        (styles / "b.png").unlink()
    else:
        image_io.save_image(np.full((20, 24, 3), 7, np.uint8), styles / "b.png")
    cfg = TrainConfig(train_dir=str(train_dir), style_images=str(styles / "*.png"),
                      style_image_size=16)
    with pytest.raises(UserError, match=f"measured other style images .*{words}.*"
                                        "--remeasure_styles") as e:
        modes.load_styles(cfg)
    assert "\n" not in str(e.value)


def test_remeasure_styles_measures_the_new_images(tmp_path):
    import numpy as np

    from magenta_style.storage import image_io

    train_dir, styles = _stored_run(tmp_path, ["a", "b"])
    image_io.save_image(np.full((20, 24, 3), 7, np.uint8), styles / "b.png")
    cfg = TrainConfig(train_dir=str(train_dir), style_images=str(styles / "*.png"),
                      style_image_size=16, vgg_weights=None, remeasure_styles=True,
                      style_weights={"vgg_16/conv1": 1.0})
    measured = modes.load_styles(cfg)
    assert measured.names == ["a", "b"]
    np.testing.assert_array_equal(measured.images[1], np.full_like(measured.images[1], 7))
    assert modes.load_styles(dataclasses.replace(cfg, remeasure_styles=False)).names == ["a", "b"]
