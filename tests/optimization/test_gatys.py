"""optimize(): loss units, falling loss and convergence stop, knobs, bad input."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.losses import vgg
from magenta_style.optimization.config import OptimizeConfig
from magenta_style.optimization.config import exponential_layer_weights
from magenta_style.optimization.gatys import optimize
from magenta_style.storage.image_io import resize


@pytest.fixture
def photo(rng):
    # A smooth gradient with an edge: VGG features that are not all zero.
    y, x = np.mgrid[0:40, 0:48] / 48.0
    img = np.stack([x, y, 0.5 * (x > 0.5)], axis=-1)
    return np.clip(img + 0.05 * rng.random(img.shape), 0, 1).astype(np.float32)


@pytest.fixture
def painting(rng):
    return rng.random((36, 36, 3)).astype(np.float32)


def test_exponential_layer_weights_keep_sum_and_ratio():
    got = exponential_layer_weights({"a": 1.0, "b": 1.0, "c": 1.0}, 2.0)
    np.testing.assert_allclose(list(got.values()), np.array([1, 2, 4]) * 3 / 7)
    assert exponential_layer_weights({"a": 2.0, "b": 1.0}, 1.0) == {"a": 2.0, "b": 1.0}


def test_neural_style_preset_is_the_old_defaults():
    cfg = OptimizeConfig.from_preset("neural_style")
    assert (cfg.content_weight, cfg.style_weight, cfg.tv_weight) == (5.0, 100.0, 1e-3)
    assert cfg.content_layers == {"relu4_2": 1.0}
    assert list(cfg.style_layers) == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert (cfg.arch, cfg.pooling, cfg.optimizer) == ("vgg19", "max", "lbfgs")
    assert (cfg.init, cfg.init_noise_std, cfg.loss_units) == ("random", 0.001, "neural_style")
    assert (cfg.iterations, cfg.convergence_window, cfg.convergence_tolerance) == (
        1000, 50, 1e-3)
    assert (cfg.lbfgs_learning_rate, cfg.lbfgs_history, cfg.num_scales) == (1.0, 100, 1)
    # Every other field is the dataclass default, and overrides win.
    assert OptimizeConfig.from_preset("neural_style", iterations=5).iterations == 5


def test_defaults_are_magentas_objective_from_the_photo():
    cfg = OptimizeConfig()
    assert cfg == OptimizeConfig.from_preset("default")
    assert (cfg.content_weight, cfg.style_weight, cfg.tv_weight) == (1.0, 2e-3, 0.0)
    assert cfg.bounded and cfg.lbfgs_backtracking
    assert cfg.content_layers == {"vgg_16/conv3": 1.0}
    assert list(cfg.style_layers) == [f"vgg_16/conv{b}" for b in range(1, 5)]
    assert (cfg.arch, cfg.pooling, cfg.loss_units, cfg.init) == (
        "vgg16", "avg", "magenta", "content")
    assert cfg.convergence_tolerance > 0


def test_default_magenta_layers_name_the_same_blocks_in_vgg19():
    from magenta_style.optimization.config import keras_layer

    cfg = OptimizeConfig()
    assert [keras_layer(n, "vgg19", "style") for n in cfg.style_layers] == [
        "block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4"]
    assert [keras_layer(n, "vgg16", "style") for n in cfg.style_layers] == [
        "block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"]


def test_unknown_preset_and_preset_with_config_are_user_errors(photo, painting):
    with pytest.raises(UserError, match="Unknown preset 'fast'"):
        optimize(photo, painting, preset="fast")
    with pytest.raises(UserError, match="config or preset, not both"):
        optimize(photo, painting, OptimizeConfig(), preset="neural_style")


@pytest.mark.parametrize("options, message", [
    (dict(style_layers="relu1_1,relu9_9"), "relu9_9.*Valid names: relu1_1"),
    (dict(content_layers={"relu4_2": -1.0}), "non-negative"),
    (dict(style_weight=-3.0), "style_weight must be a non-negative"),
    (dict(style_blend_weights=(0.75, 0.25, 0.0)), "3 values but there are 2 style"),
    (dict(style_scales=(1.0,) * 3), "style_scales has 3 values"),
    (dict(style_scales=(1.0, 0.0)), "style_scales must be positive"),
    (dict(optimizer="sgd"), "optimizer must be one of lbfgs, adam"),
    (dict(init="image"), "init_image"),
    (dict(iterationz=3), "Unknown option"),
])
def test_bad_options_raise_one_line_user_errors(photo, painting, options, message):
    with pytest.raises(UserError, match=message) as err:
        optimize(photo, [painting, painting], weights=None, **options)
    assert "\n" not in str(err.value)


def test_missing_style_image(photo, tmp_path):
    with pytest.raises(UserError, match="not found"):
        optimize(photo, [str(tmp_path / "nope.jpg")], weights=None)


def neural_style_loss(content, style, cfg, vgg16_file):
    """numpy loss of jcjohnson/neural-style at x = content (content loss 0)."""
    names = {"relu1_1": "block1_conv1", "relu2_1": "block2_conv1"}
    net = vgg.build_loss_network("vgg16", "max", vgg16_file, endpoints=list(names.values()))
    fc = {k: v.numpy()[0] for k, v in net(content[None]).items()}
    fs = {k: v.numpy()[0] for k, v in net(style[None]).items()}
    total = 0.0
    for layer in names.values():
        grams = []
        for f in (fc[layer], fs[layer]):
            flat = f.reshape(-1, f.shape[-1]).astype(np.float64)
            grams.append(flat.T @ flat / flat.size)  # neural-style: / C*H*W
        total += cfg["style_weight"] * np.mean((grams[0] - grams[1]) ** 2)
    px = content.astype(np.float64) * 255
    h, w = px.shape[:2]
    dy, dx = np.diff(px, axis=0), np.diff(px, axis=1)
    # 0.5 * sum of squared differences (neural-style), edge rows rescaled.
    tv = 0.5 * (np.sum(dy ** 2) * h / (h - 1) + np.sum(dx ** 2) * w / (w - 1))
    return total, cfg["tv_weight"] * tv


@pytest.mark.needs_weights
def test_losses_are_in_neural_style_units(photo, painting, vgg16_file):
    cfg = dict(style_weight=7.0, tv_weight=0.01, content_layers=["relu2_1"],
               style_layers=["relu1_1", "relu2_1"])
    result = optimize(photo, painting, preset="neural_style", arch="vgg16",
                      weights=vgg16_file, image_size=48, init="content", iterations=1,
                      progress=False, jit_compile=False, **cfg)
    # The style image is resized so its longer side is the output's (scale 1).
    style, tv = neural_style_loss(photo, resize(painting, (48, 48)), cfg, vgg16_file)
    first = result.history[0]
    assert first["total_content_loss"] == pytest.approx(0.0, abs=1e-6)
    assert first["total_style_loss"] == pytest.approx(style, rel=1e-3)
    assert first["total_variation_loss"] == pytest.approx(tv, rel=1e-3)


@pytest.mark.needs_weights
@pytest.mark.needs_shared
def test_lbfgs_loss_falls_and_convergence_stop_triggers(vgg16_file, shared_dir):
    content = os.path.join(shared_dir, "images", "content", "chicago.jpg")
    style = os.path.join(shared_dir, "images", "styles", "starry_night_crop.jpg")
    # Compiled (the default), on layers up to relu2_1 to stay fast.
    result = optimize(content, style, arch="vgg16", weights=vgg16_file, image_size=48,
                      style_layers="relu1_1,relu2_1", content_layers="relu2_1",
                      init="content", iterations=150, convergence_window=5,
                      convergence_tolerance=0.02, progress=False)
    losses = [h["total_loss"] for h in result.history]
    assert losses[-1] < 0.3 * losses[0]
    assert result.history[-1]["stop"] == "converged"
    assert len(losses) < 150
    assert result.image.dtype == np.float32 and max(result.image.shape) == 48
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0


def test_vgg19_adam_coarse_to_fine_outputs_and_logs(photo, painting, tmp_path):
    seen = []
    result = optimize(
        photo, [painting, painting[::-1]], arch="vgg19", weights=None, pooling="avg",
        style_blend_weights=(3, 1), style_scales=(1.0, 0.5), optimizer="adam",
        init="random", image_size=40, num_scales=2, iterations=3, coarse_iterations=2,
        preserve_colors=True, save_every=2, save_dir=str(tmp_path / "iters"),
        log_dir=str(tmp_path / "logs"), progress=False, jit_compile=False,
        callback=lambda it, img, parts: seen.append((it, img.shape)))
    assert [(h["scale"], h["height"], h["width"]) for h in result.history] == (
        [(0, 16, 20)] * 2 + [(1, 33, 40)] * 3)
    assert [it for it, _ in seen] == list(range(5))
    assert result.image.shape == (33, 40, 3)
    assert sorted(os.listdir(tmp_path / "iters")) == [
        "iter_00002_16x20.png", "iter_00004_33x40.png"]
    events = glob.glob(str(tmp_path / "logs" / "events.out.tfevents.*"))
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(events[0])
            for v in e.summary.value}
    assert {"total_loss", "total_style_loss", "pastiche"} <= tags
    # Preserved colours: the photo's chrominance (I, Q of YIQ) at output size.
    yiq = color.rgb_to_yiq(result.image)
    ref = color.rgb_to_yiq(resize(photo, (40, 33)))
    inside = (result.image > 0.01).all(-1) & (result.image < 0.99).all(-1)
    np.testing.assert_allclose(yiq[inside][:, 1:], ref[inside][:, 1:], atol=2e-3)


def test_zero_blend_weight_equals_single_style(photo, painting, rng):
    other = rng.random((30, 30, 3)).astype(np.float32)
    common = dict(arch="vgg16", weights=None, style_layers="relu1_1,relu2_1",
                  content_layers="relu2_1", image_size=32, init="content",
                  iterations=3, progress=False, jit_compile=False)
    import keras
    keras.utils.set_random_seed(1)
    single = optimize(photo, painting, **common)
    keras.utils.set_random_seed(1)
    blended = optimize(photo, [painting, other], style_blend_weights=(2.0, 0.0), **common)
    np.testing.assert_allclose(blended.image, single.image, atol=1e-5)


def test_build_step_runs_single_iterations(photo, painting):
    from magenta_style.optimization.gatys import build_step

    step = build_step(photo, painting, arch="vgg16", weights=None, image_size=32,
                      style_layers="relu1_1", content_layers="relu1_1", init="content",
                      jit_compile=False)
    before = step.image()
    losses = [float(step()["total_loss"]) for _ in range(3)]
    assert before.shape == (27, 32, 3) and np.isfinite(losses).all()
    assert not np.allclose(step.image(), before)


def magenta_losses(image, content, style, cfg):
    """numpy loss of Magenta's objective (`loss_terms`' units): Grams / H*W, means."""
    layers = sorted(set(cfg.content_layers) | set(cfg.style_layers))
    net = vgg.build_loss_network("vgg16", "avg", None, endpoints=layers)
    f, fc, fs = ({k: v.numpy()[0].astype(np.float64) for k, v in net(x[None]).items()}
                 for x in (image, content, style))

    def gram(a):
        flat = a.reshape(-1, a.shape[-1])
        return flat.T @ flat / flat.shape[0]

    c = sum(cfg.content_weight * w * np.mean((f[n] - fc[n]) ** 2)
            for n, w in cfg.content_layers.items())
    s = sum(cfg.style_weight * w * np.mean((gram(f[n]) - gram(fs[n])) ** 2)
            for n, w in cfg.style_layers.items())
    return c, s


def test_default_losses_are_magentas_and_start_from_the_photo(photo, painting):
    result = optimize(photo, painting, weights=None, image_size=48, iterations=1,
                      progress=False, jit_compile=False)
    content, style = magenta_losses(photo, photo, resize(painting, (48, 48)), OptimizeConfig())
    first = result.history[0]
    assert content == 0.0 and first["total_content_loss"] == pytest.approx(0.0, abs=1e-6)
    assert first["total_style_loss"] == pytest.approx(style, rel=1e-3)
    assert first["total_variation_loss"] == 0.0


def test_default_stops_by_itself_and_lowers_both_style_and_total(photo, painting):
    cfg = OptimizeConfig()
    result = optimize(photo, painting, weights=None, image_size=32, progress=False,
                      jit_compile=False)
    history = result.history
    assert history[-1]["stop"] in ("converged", "lbfgs converged")
    assert len(history) < cfg.iterations
    assert history[-1]["total_loss"] < 0.1 * history[0]["total_loss"]
    # Judged again from the returned (clipped) image, in numpy.
    content, style = magenta_losses(result.image, resize(photo, (32, 27)),
                                    resize(painting, (32, 32)), cfg)
    assert style < 0.1 * history[0]["total_style_loss"]
    assert content + style < 0.1 * history[0]["total_loss"]


def test_default_keeps_pixels_in_range_while_optimising(photo, painting):
    def pixel_ranges(**options):
        seen = []
        optimize(photo, painting, weights=None, image_size=32, iterations=12,
                 convergence_tolerance=0.0, progress=False, jit_compile=False,
                 callback=lambda it, img, parts: seen.append((img.min(), img.max())),
                 **options)
        return np.array(seen)

    bounded = pixel_ranges()
    assert bounded.min() >= 0.0 and bounded.max() <= 1.0
    # The same run unbounded leaves [0, 1]: the bounds are what kept it in.
    unbounded = pixel_ranges(bounded=False)
    assert unbounded.min() < 0.0 or unbounded.max() > 1.0
    assert not OptimizeConfig.from_preset("neural_style").bounded


def test_a_second_call_reuses_the_compiled_step_and_matches_a_fresh_one(
        photo, painting, rng, monkeypatch):
    # TensorFlow never frees an XLA executable: compiling one step per call
    # leaked ~1,400 memory maps a call (a process aborted after 48 calls).
    from magenta_style.optimization import step_cache

    monkeypatch.setattr(step_cache, "STEPS", type(step_cache.STEPS)())
    other = rng.random((30, 30, 3)).astype(np.float32)
    common = dict(arch="vgg16", weights=None, style_layers="relu1_1,relu2_1",
                  content_layers="relu2_1", image_size=32, iterations=4,
                  convergence_tolerance=0.0, progress=False, jit_compile=True)
    # weights=None builds a new network per call; pin one so the step can match.
    net = step_cache.loss_network("vgg16", "avg", None, ["block1_conv1", "block2_conv1"], True)
    monkeypatch.setattr(step_cache, "loss_network", lambda *args: net)
    optimize(photo, painting, **common)
    (step,) = step_cache.STEPS.values()
    second = optimize(photo[::-1], other, **common).image
    assert list(step_cache.STEPS.values()) == [step]
    assert step._compiled_step.experimental_get_tracing_count() == 1
    step_cache.STEPS.clear()
    fresh = optimize(photo[::-1], other, **common).image
    assert step_cache.STEPS and next(iter(step_cache.STEPS.values())) is not step
    np.testing.assert_array_equal(second, fresh)
    # Another size is another step; the least recently used go beyond three.
    for size in (24, 28, 36):
        optimize(photo, painting, **{**common, "image_size": size})
    assert len(step_cache.STEPS) == step_cache.MAX_STEPS and step not in step_cache.STEPS.values()
