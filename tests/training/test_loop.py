"""Training: from scratch, resume, fine-tune, append, bad input (TensorFlow backend)."""

import json
import os
import signal

import keras
import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.losses import objective
from magenta_style.model import transformer as transformer_lib
from magenta_style.storage import model_format
from magenta_style.training import config as train_config
from magenta_style.training import loop
from magenta_style.training import modes
from magenta_style.training import run_dir
from magenta_style.training import train_state
from tests import train_helpers as th


@pytest.fixture(scope="module")
def vgg16_file():
    """None: a randomly initialised VGG-16. These tests check the loop's
    bookkeeping (resume, modes, labels, errors), which any fixed VGG shows,
    so they also run on a clean checkout without ../shared."""
    return None


@pytest.fixture(scope="module")
def content():
    return th.smooth_images(6, th.SIZE, seed=0)


@pytest.fixture(scope="module")
def styles_glob(tmp_path_factory):
    return th.style_files(str(tmp_path_factory.mktemp("styles")), n=2)


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory, styles_glob, content, vgg16_file):
    """An uninterrupted 4-step run from scratch, shared by several tests."""
    train_dir = tmp_path_factory.mktemp("scratch")
    cfg = th.tiny_config(train_dir, styles_glob, vgg16_file, train_steps=4)
    model = loop.train(cfg, content=content)
    return cfg, model


def _metrics(train_dir):
    with open(os.path.join(train_dir, train_config.METRICS_FILE)) as f:
        return [json.loads(line) for line in f]


def test_labels_mix_styles_within_a_batch_and_repeat_by_step():
    a = loop.labels_for_step(0, 7, 64, 5)
    np.testing.assert_array_equal(a, loop.labels_for_step(0, 7, 64, 5))
    assert len(set(a.tolist())) == 5  # Every example draws its own style.
    assert not np.array_equal(a, loop.labels_for_step(0, 8, 64, 5))
    b = loop.labels_for_step(0, 7, 64, 5, offset=3)
    np.testing.assert_array_equal(b, a + 3)


def test_each_example_is_scored_against_its_own_style(vgg16_file):
    """A mixed batch gives each example the loss it gets alone with its style."""
    cfg = train_config.TrainConfig(vgg_weights=vgg16_file)
    loss_net, content_net = modes.loss_networks(cfg)
    model = transformer_lib.build_transformer(3, alpha=0.25)
    images = th.smooth_images(2, 24, seed=3)
    rng = np.random.default_rng(0)
    grams = {k: rng.uniform(0, 500, size=(3, c, c)).astype("float32")
             for k, c in zip(cfg.style_weights, (64, 128, 256, 512))}
    coeffs = np.asarray([1.0, 2.0, 0.5], "float32")
    labels = np.asarray([2, 0], "int32")
    _, parts = objective.compute_losses(model, loss_net, content_net, images, labels, 3, 0,
                                       grams, coeffs, cfg.loss_config())
    for i, label in enumerate(labels):
        _, alone = objective.compute_losses(
            model, loss_net, content_net, images[i:i + 1], labels[i:i + 1], 3, int(label),
            {k: v[label:label + 1] for k, v in grams.items()}, coeffs[label:label + 1],
            cfg.loss_config())
        for k in ("total_loss", "weighted_style_loss/vgg_16/conv2",
                  "content_loss/vgg_16/conv3"):
            np.testing.assert_allclose(np.asarray(parts[k])[i], np.asarray(alone[k])[0],
                                       rtol=2e-4)


@pytest.mark.needs_weights
def test_scratch_training_with_imagenet_vgg_lowers_the_loss(tmp_path, styles_glob, content):
    from tests.conftest import VGG16_FILE

    loop.train(th.tiny_config(tmp_path, styles_glob, VGG16_FILE, train_steps=4), content=content)
    records = _metrics(str(tmp_path))
    assert records[-1]["losses/total_loss"] < records[0]["losses/total_loss"]


def test_scratch_training_writes_everything(scratch_run):
    cfg, model = scratch_run
    records = _metrics(cfg.train_dir)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    with Image.open(os.path.join(cfg.train_dir, train_config.CURVE_FILE)) as curve:
        assert curve.format == "PNG"  # The loss curve of the run.
    assert any(k.startswith("styles/style0/") for r in records for k in r)
    loaded = model_format.load_model(os.path.join(cfg.train_dir, "model"))
    assert loaded.style_names == ("style0", "style1")  # From the file names.
    assert loaded.provenance["steps"] == 4
    assert loaded.provenance["mode"] == "scratch"
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with open(os.path.join(cfg.train_dir, "config.json")) as f:
        resolved = json.load(f)
    assert resolved["learning_rate"] == 1e-3 and resolved["architecture"]["alpha"] == 0.25
    assert os.listdir(os.path.join(cfg.train_dir, "grids"))
    assert os.listdir(os.path.join(cfg.train_dir, "logs"))  # TensorBoard events.


def test_resume_after_kill_matches_an_uninterrupted_run(scratch_run, tmp_path, styles_glob,
                                                        content, vgg16_file, monkeypatch):
    full_cfg, full_model = scratch_run
    draw = loop.labels_for_step

    def interrupt_at_step_2(seed, step, *args):
        if step == 2:  # Ctrl-C (or `timeout -s INT`) in the middle of step 2.
            os.kill(os.getpid(), signal.SIGINT)
        return draw(seed, step, *args)

    monkeypatch.setattr(loop, "labels_for_step", interrupt_at_step_2)
    cfg = th.tiny_config(tmp_path, styles_glob, vgg16_file, train_steps=4)
    with pytest.raises(KeyboardInterrupt):
        loop.train(cfg, content=content)
    monkeypatch.setattr(loop, "labels_for_step", draw)
    # Stopped early: the model so far is written, saying how far it got.
    partial = model_format.load_model(os.path.join(tmp_path, "model"))
    assert partial.provenance["steps"] == 2 and partial.provenance["train_steps"] == 4
    # A kill in the middle of a save leaves only a temp file behind.
    with open(os.path.join(tmp_path, ".tmp-garbage.npz"), "wb") as f:
        f.write(b"partial")
    path = train_state.latest_checkpoint(str(tmp_path))
    assert path.endswith("ckpt-2.npz")
    resumed = loop.train(th.tiny_config(tmp_path, styles_glob, vgg16_file, train_steps=4),
                             content=content)
    steps = [r["step"] for r in _metrics(str(tmp_path))]
    assert steps == [1, 2, 3, 4]  # Continued at step 3, not from 1.
    # Same labels, same photos, same Adam moments: same weights.
    for a, b in zip(resumed.weights, full_model.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    with np.load(train_state.latest_checkpoint(str(tmp_path))) as f:
        iterations = [f[k] for k in f.files if k.endswith("/iteration")]
    assert int(iterations[0]) == 4


def test_losses_read_back_a_step_late_still_count_every_step(scratch_run, tmp_path,
                                                            styles_glob, content, vgg16_file):
    """The loop reads step N's losses while step N + 1 runs; none is lost or doubled."""
    full_cfg, _ = scratch_run
    per_step = {r["step"]: r for r in _metrics(full_cfg.train_dir)}  # log_every=1
    cfg = th.tiny_config(tmp_path, styles_glob, vgg16_file, train_steps=4, log_every=3)
    loop.train(cfg, content=content)
    records = _metrics(str(tmp_path))
    assert [r["step"] for r in records] == [3, 4]
    for record, steps in zip(records, ([1, 2, 3], [4])):
        for key in ("losses/total_loss", "losses/content_loss/vgg_16/conv2"):
            expected = np.mean([per_step[s][key] for s in steps])
            np.testing.assert_allclose(record[key], expected, rtol=1e-5)
        # Per style: the mean over the window's examples of that style.
        counts = [np.sum(loop.labels_for_step(cfg.seed, s, cfg.batch_size, 2) == 1)
                  for s in steps]
        key = "styles/style1/total_loss"
        expected = sum(per_step[s][key] * c for s, c in zip(steps, counts) if c) / sum(counts)
        np.testing.assert_allclose(record[key], expected, rtol=1e-5)


def test_a_diverging_loss_names_its_step(tmp_path, styles_glob, content, vgg16_file):
    """The late read-back reports the first non-finite step, as reading every step does."""
    # The photo first used at step 3 (batch 2, photos in order) is 1e30
    # everywhere: its VGG features square past float32's range, so that
    # step's loss is not finite whatever the weights. (A huge learning rate
    # is not enough: the sigmoid saturates and the loss stays ~1e7. A NaN
    # pixel is not either: ReLU maps NaN to 0.)
    poisoned = np.array(content, copy=True)
    poisoned[4] = 1e30
    for log_every in (1, 100):
        cfg = th.tiny_config(tmp_path / f"log{log_every}", styles_glob, vgg16_file,
                             train_steps=6, log_every=log_every)
        with pytest.raises(UserError, match=r"The loss became (nan|inf) at step 3\.") as e:
            loop.train(cfg, content=poisoned)
        _one_line(e)


def test_a_shipped_model_continues_training_from_its_step(scratch_run, tmp_path, styles_glob,
                                                          content, vgg16_file):
    cfg, _ = scratch_run
    shipped = model_format.load_model(os.path.join(cfg.train_dir, "model"))  # 4 steps.
    run_dir.seed_train_dir(str(tmp_path), shipped)
    more = loop.train(th.tiny_config(tmp_path, styles_glob, vgg16_file, train_steps=6),
                          content=content)
    assert [r["step"] for r in _metrics(str(tmp_path))] == [5, 6]
    assert more.provenance["steps"] == 6
    # The model written says what it continued, also after a rerun rewrote config.json.
    again = loop.train(th.tiny_config(tmp_path, styles_glob, vgg16_file, train_steps=7),
                       content=content)
    seeded = model_format.load_model(os.path.join(str(tmp_path), "model")).provenance
    assert seeded["steps"] == again.provenance["steps"] == 7
    assert seeded["seeded_from"] == {"steps": 4, "provenance": shipped.provenance}
    moved = [not np.array_equal(np.asarray(a), np.asarray(b))
             for a, b in zip(more.trainable_weights, shipped.trainable_weights)]
    assert all(moved)  # Every weight trained on: the convolutions too.
    with pytest.raises(UserError, match="already holds checkpoints"):
        run_dir.seed_train_dir(str(tmp_path), shipped)


@pytest.mark.slow
def test_xla_resume_repeats_the_uninterrupted_run_bit_for_bit(tmp_path, styles_glob, content,
                                                              vgg16_file, monkeypatch):
    # Under jit_compile the loss network's wide convolutions run by Winograd
    # (and the transformer's, at alpha 1); their rounding must be the same in
    # every compilation, or a resumed run drifts from the uninterrupted one.
    def config(train_dir):
        return th.tiny_config(train_dir, styles_glob, vgg16_file, train_steps=3,
                              jit_compile=True)

    full = loop.train(config(tmp_path / "full"), content=content)
    draw = loop.labels_for_step

    def interrupt_at_step_2(seed, step, *args):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return draw(seed, step, *args)

    monkeypatch.setattr(loop, "labels_for_step", interrupt_at_step_2)
    with pytest.raises(KeyboardInterrupt):
        loop.train(config(tmp_path / "resumed"), content=content)
    monkeypatch.setattr(loop, "labels_for_step", draw)
    resumed = loop.train(config(tmp_path / "resumed"), content=content)
    assert [r["step"] for r in _metrics(str(tmp_path / "resumed"))] == [1, 2, 3]
    for a, b in zip(resumed.weights, full.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_finetune_trains_only_instance_norm_and_replaces_styles(scratch_run, tmp_path,
                                                                 content, vgg16_file):
    base_cfg, base = scratch_run
    new_glob = th.style_files(str(tmp_path / "new"), n=1, seed=5, names=["newstyle"])
    cfg = th.tiny_config(tmp_path / "ft", new_glob, vgg16_file, train_steps=2,
                         init_from=os.path.join(base_cfg.train_dir, "model"), alpha=None)
    model = loop.train(cfg, content=content)
    assert model.style_names == ("newstyle",)
    for layer in transformer_lib.conv_layers(model):
        np.testing.assert_array_equal(layer.get_weights()[0],
                                      base.get_layer(layer.name).get_weights()[0])
    gammas = [np.asarray(n.gamma) for n in transformer_lib.style_tables(model)]
    assert all(g.shape[0] == 1 for g in gammas)
    assert any(not np.allclose(g, 1.0) for g in gammas)  # Trained from ones.


def test_append_keeps_old_styles_bit_identical(scratch_run, tmp_path, content, vgg16_file):
    base_cfg, base = scratch_run
    new_glob = th.style_files(str(tmp_path / "new"), n=1, seed=6, names=["extra"])
    cfg = th.tiny_config(tmp_path / "ap", new_glob, vgg16_file, train_steps=2, append=True,
                         init_from=os.path.join(base_cfg.train_dir, "model"))
    model = loop.train(cfg, content=content)
    assert model.style_names == ("style0", "style1", "extra")
    loaded = model_format.load_model(os.path.join(cfg.train_dir, "model"))
    for layer in transformer_lib.style_tables(loaded):
        old = base.get_layer(layer.name)
        for new_var, old_var in ((layer.gamma, old.gamma), (layer.beta, old.beta)):
            new_value, old_value = np.asarray(new_var), np.asarray(old_var)
            assert new_value.shape[0] == 3
            assert new_value[:2].tobytes() == old_value.tobytes()  # Bit-identical.
    moved = [np.abs(np.asarray(n.beta)[2]).max() for n in transformer_lib.style_tables(loaded)]
    assert max(moved) > 0  # The new style did train.
    for layer in transformer_lib.conv_layers(loaded):
        np.testing.assert_array_equal(layer.get_weights()[0],
                                      base.get_layer(layer.name).get_weights()[0])


# ---------------------------------------------------------------- bad input


def _one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_style_glob_matching_nothing(tmp_path, content, vgg16_file):
    cfg = th.tiny_config(tmp_path, str(tmp_path / "nope" / "*.jpg"), vgg16_file)
    with pytest.raises(UserError) as e:
        loop.train(cfg, content=content)
    assert "nope" in _one_line(e)


def test_finetune_checkpoint_of_another_architecture(scratch_run, tmp_path, styles_glob,
                                                     content, vgg16_file):
    base_cfg, _ = scratch_run
    cfg = th.tiny_config(tmp_path, styles_glob, vgg16_file, alpha=0.5,
                         init_from=os.path.join(base_cfg.train_dir, "model"))
    with pytest.raises(UserError) as e:
        loop.train(cfg, content=content)
    assert "alpha=0.25" in _one_line(e)
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    cfg = th.tiny_config(tmp_path / "b", styles_glob, vgg16_file, init_from=str(not_a_model))
    with pytest.raises(UserError) as e:
        loop.train(cfg, content=content)
    _one_line(e)


def test_train_dir_holding_a_different_model(scratch_run, content, vgg16_file, styles_glob):
    base_cfg, _ = scratch_run
    cfg = th.tiny_config(base_cfg.train_dir, styles_glob, vgg16_file, alpha=0.5)
    with pytest.raises(UserError) as e:
        loop.train(cfg, content=content)
    assert "different training run" in _one_line(e)


def test_unreadable_photos(tmp_path, styles_glob, vgg16_file):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        (photos / f"broken{i}.jpg").write_bytes(b"not a jpeg at all")
    cfg = th.tiny_config(tmp_path / "run", styles_glob, vgg16_file, content_images=str(photos))
    with pytest.raises(UserError) as e:
        loop.train(cfg)
    assert "broken" in _one_line(e) or "photos" in _one_line(e)


def test_bad_settings_are_one_line_errors(tmp_path, styles_glob, vgg16_file):
    for overrides in ({"train_dir": ""}, {"strategy": "tpu"}, {"append": True},
                      {"style_coefficients": [1.0, 2.0, 3.0]}):
        overrides.setdefault("train_dir", str(tmp_path / "x"))
        cfg = th.tiny_config(**overrides, style_glob=styles_glob, vgg_file=vgg16_file)
        with pytest.raises(UserError) as e:
            loop.train(cfg, content=th.smooth_images(2, th.SIZE, 0))
        _one_line(e)


def test_the_run_ends_with_the_total_of_skipped_photos(tmp_path, styles_glob, vgg16_file,
                                                       capsys):
    photos = tmp_path / "photos"
    th.write_images(str(photos), th.smooth_images(3, 40, seed=3))
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    cfg = th.tiny_config(tmp_path / "run", styles_glob, vgg16_file, content_images=str(photos),
                         train_steps=4)
    loop.train(cfg)
    lines = [line for line in capsys.readouterr().err.splitlines() if "Skipped" in line]
    assert len(lines) == 1, lines
    assert "unreadable content photo(s)" in lines[0] and "broken.jpg" in lines[0]
    assert "1 distinct file(s)" in lines[0]


def test_tfds_data_dir_and_download_reach_tensorflow_datasets(tmp_path, styles_glob, vgg16_file,
                                                               monkeypatch):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tfds: content is read by the TensorFlow engine")
    from magenta_style.data import tf_pipeline

    seen = {}

    def fake_tfds(name, **kwargs):
        seen.update(kwargs, name=name)
        raise UserError("stop here")

    monkeypatch.setattr(tf_pipeline, "tfds_dataset", fake_tfds)
    cfg = th.tiny_config(tmp_path / "run", styles_glob, vgg16_file,
                         content_images="tfds:coco/2017", tfds_data_dir=str(tmp_path / "tfds"),
                         download=True)
    with pytest.raises(UserError, match="stop here"):
        loop.train(cfg)
    assert seen["name"] == "coco/2017" and seen["download"] is True
    assert seen["data_dir"] == str(tmp_path / "tfds")
