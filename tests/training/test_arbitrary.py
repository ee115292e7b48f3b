"""train_arbitrary: Magenta's arbitrary-style training, tiny shapes, both backends."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from magenta_style.errors import UserError
from tests import train_helpers as th

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.needs_weights


def tiny_config(train_dir, style_glob, vgg_file, **overrides):
    from magenta_style.training import config as train_config

    kwargs = dict(train_dir=str(train_dir), style_images=style_glob, vgg_weights=vgg_file,
                  predictor="mobilenet_v2", batch_size=2, image_size=th.SIZE,
                  style_image_size=th.SIZE, augment_style_images=False,
                  random_style_image_size=False, train_steps=4, log_every=1,
                  save_every=100, jit_compile=False,
                  # Magenta's 1e-5 moves too little in 4 steps to see.
                  learning_rate=1e-3,
                  content_weights={"vgg_16/conv2": 1.0},
                  style_weights={"vgg_16/conv1": 0.5e-3, "vgg_16/conv2": 0.5e-3})
    kwargs.update(overrides)
    return train_config.ArbitraryTrainConfig(**kwargs)


def _losses(train_dir):
    with open(os.path.join(train_dir, "metrics.jsonl")) as f:
        return [(r["step"], r["losses/total_loss"]) for r in map(json.loads, f)]


@pytest.fixture(scope="module")
def one_style(tmp_path_factory):
    return th.style_files(str(tmp_path_factory.mktemp("styles")), n=1)


@pytest.mark.slow
def test_fixed_batch_loss_decreases_and_trunk_stays(tmp_path, one_style, vgg16_file):
    from magenta_style.model import style_predictor
    from magenta_style.training import arbitrary
    from magenta_style.training import runner

    photos = th.smooth_images(2, th.SIZE, seed=3)  # = one batch: the same every step.
    runner.set_seed(0)  # What train_arbitrary starts from (seed 0).
    reference = style_predictor.build_style_predictor("mobilenet_v2")
    model = arbitrary.train_arbitrary(tiny_config(tmp_path / "run", one_style, vgg16_file),
                                      content=photos)
    losses = [v for _, v in _losses(tmp_path / "run")]
    assert len(losses) == 4 and np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    # Magenta's mobile recipe: the MobileNet trunk is frozen, the bottleneck
    # (painting features -> style vector) trains. Both builds start from seed 0.
    before = {layer.name: layer.get_weights() for layer in reference.layers}
    for layer in model.predictor.layers:
        if not layer.weights:
            continue
        moved = any(not np.array_equal(a, b)
                    for a, b in zip(layer.get_weights(), before[layer.name]))
        assert moved == (layer.name == arbitrary.BOTTLENECK_LAYER), layer.name
    # The model directory loads as an arbitrary-style model.
    from magenta_style.storage import model_format

    loaded = model_format.load_model(str(tmp_path / "run" / "model"))
    assert loaded.provenance["steps"] == 4
    x = photos[:1]
    v = np.asarray(loaded.predictor(photos[:1]))
    np.testing.assert_allclose(np.asarray(loaded.transformer([x, v])),
                               np.asarray(model.transformer([x, v])), atol=1e-6)


@pytest.mark.slow
def test_resume_continues_where_the_run_stopped(tmp_path, vgg16_file):
    from magenta_style.training import arbitrary

    styles = th.style_files(str(tmp_path / "styles"), n=3)
    photos = th.smooth_images(6, th.SIZE, seed=4)
    # Paintings drawn, cropped and recoloured at random: the resumed run must
    # draw what the uninterrupted one drew.
    kw = dict(augment_style_images=True, random_style_image_size=True,
              min_style_image_size=32, max_style_image_size=70, save_every=2)
    straight = arbitrary.train_arbitrary(
        tiny_config(tmp_path / "a", styles, vgg16_file, **kw), content=photos)
    arbitrary.train_arbitrary(tiny_config(tmp_path / "b", styles, vgg16_file,
                                          **dict(kw, train_steps=2)), content=photos)
    resumed = arbitrary.train_arbitrary(
        tiny_config(tmp_path / "b", styles, vgg16_file, **kw), content=photos)
    assert [s for s, _ in _losses(tmp_path / "b")] == [1, 2, 3, 4]
    assert resumed.provenance["steps"] == 4
    np.testing.assert_allclose([v for _, v in _losses(tmp_path / "b")],
                               [v for _, v in _losses(tmp_path / "a")], rtol=1e-4)
    for a, b in zip(straight.transformer.weights, resumed.transformer.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, err_msg=a.path)


@pytest.mark.slow
def test_inception_predictor_trains_with_batch_norm_statistics(tmp_path, one_style,
                                                               vgg16_file):
    # The paper's predictor: Inception-v3 to Mixed_6e trains (Magenta's
    # is_training=True), its batch norms updating their moving statistics.
    from magenta_style.training import arbitrary

    cfg = tiny_config(tmp_path / "run", one_style, vgg16_file, predictor="inception_v3",
                      predictor_weights="none", style_image_size=80, alpha=0.25,
                      train_steps=2)
    model = arbitrary.train_arbitrary(cfg, content=th.smooth_images(2, th.SIZE, seed=3))
    means = [np.asarray(v) for v in model.predictor.non_trainable_variables
             if "moving_mean" in v.path]
    assert means and max(float(np.abs(m).max()) for m in means) > 0  # Built as zeros.
    assert all(np.isfinite(v) for _, v in _losses(tmp_path / "run"))


def test_train_dir_of_another_run_is_refused(tmp_path, one_style, vgg16_file):
    from magenta_style.training import arbitrary
    from magenta_style.training import train_state

    os.makedirs(tmp_path / "run")
    train_state.write_json(str(tmp_path / "run" / "config.json"),
                           {"architecture": {"other": 1}, "style_names": ["style0"],
                            "init_from": "scratch", "append": False})
    with pytest.raises(UserError, match="holds a different training run"):
        arbitrary.train_arbitrary(tiny_config(tmp_path / "run", one_style, vgg16_file),
                                  content=th.smooth_images(2, th.SIZE, seed=3))


@pytest.mark.parametrize("overrides, message", [
    (dict(predictor="resnet"), "--predictor must be one of"),
    (dict(style_images=None), "--style_images is required"),
    (dict(predictor="inception_v3", style_image_size=64), "at least 75 px"),
    (dict(strategy="mirrored"), "one device"),
    (dict(learning_rate=0.0), "--learning_rate must be > 0"),
])
def test_bad_settings_get_one_line(tmp_path, one_style, vgg16_file, overrides, message):
    from magenta_style.training import arbitrary

    with pytest.raises(UserError, match=message):
        arbitrary.check_config(tiny_config(tmp_path, one_style, vgg16_file, **overrides))


def test_init_from_must_match_the_predictor(tmp_path, one_style, vgg16_file):
    from magenta_style.training import arbitrary

    cfg = tiny_config(tmp_path, one_style, vgg16_file, predictor="inception_v3",
                      init_from="arbitrary-v1")
    with pytest.raises(UserError, match="has a mobilenet_v2 predictor"):
        arbitrary.build_networks(cfg)
    predictor, transformer = arbitrary.build_networks(
        tiny_config(tmp_path, one_style, vgg16_file, init_from="arbitrary-v1"))
    assert transformer.arbitrary_config.alpha == 0.25
    assert [v.path for v in predictor.trainable_variables] == [
        "bottleneck_conv/kernel", "bottleneck_conv/bias"]


JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    from magenta_style.training import arbitrary
    from tests import train_helpers as th
    from tests.training.test_arbitrary import tiny_config
    train_dir, vgg = sys.argv[1:3]
    import numpy as np
    from magenta_style.data import photo_files
    styles = th.style_files(train_dir + "_styles", n=2)
    # Photo files (one photo twice, so the shuffled order cannot matter): the
    # JAX feed hands the step uint8 batches, which it scales itself.
    photos = train_dir + "_photos"
    paths = th.write_images(photos, th.smooth_images(1, th.SIZE + 2, seed=3), ext="png")
    th.write_images(photos, th.smooth_images(1, th.SIZE + 2, seed=3), prefix="copy", ext="png")
    cfg = tiny_config(train_dir, styles, vgg, train_steps=2, jit_compile=True,
                      content_images=photos)
    arbitrary.train_arbitrary(cfg)
    model = arbitrary.train_arbitrary(tiny_config(train_dir, styles, vgg, train_steps=3,
                                                  jit_compile=True, content_images=photos))
    # The same photos as float32 in memory give the same first step.
    same = np.stack([photo_files.load_and_preprocess(
        paths[0], image_size=th.SIZE, resize_side=th.SIZE + 2)] * 2)
    arbitrary.train_arbitrary(tiny_config(train_dir + "_mem", styles, vgg, train_steps=1,
                                          jit_compile=True), content=same)
    print("RESULT", json.dumps({"tf": "tensorflow" in sys.modules,
                                "steps": model.provenance["steps"]}))
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="jax is not installed; the JAX training path cannot run")
def test_jax_backend_trains_and_resumes_without_tensorflow(tmp_path, vgg16_file):
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
    train_dir = str(tmp_path / "run")
    proc = subprocess.run([sys.executable, "-c", JAX_SCRIPT, train_dir, vgg16_file],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert result == {"tf": False, "steps": 3}
    assert [s for s, _ in _losses(train_dir)] == [1, 2, 3]
    assert all(np.isfinite(v) for _, v in _losses(train_dir))
    np.testing.assert_allclose(_losses(train_dir)[0][1], _losses(train_dir + "_mem")[0][1],
                               rtol=1e-5)


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path, one_style, vgg16_file,
                                                                capsys):
    from magenta_style.training import arbitrary
    from magenta_style.training import train_state

    photos = th.smooth_images(4, th.SIZE, seed=5)
    arbitrary.train_arbitrary(tiny_config(tmp_path, one_style, vgg16_file, train_steps=2,
                                          save_every=1), content=photos)
    newest = train_state.checkpoints(str(tmp_path))[-1][1]
    with open(newest, "r+b") as f:
        f.truncate(100)  # cut short, as by a full disk
    capsys.readouterr()
    resumed = arbitrary.train_arbitrary(
        tiny_config(tmp_path, one_style, vgg16_file, train_steps=3), content=photos)
    err = capsys.readouterr().err
    assert "Trying the previous checkpoint." in err and "Resuming from ckpt-1" in err
    assert resumed.provenance["steps"] == 3
