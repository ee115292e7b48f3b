"""The run every trainer shares: stops, reruns and provenance alike for all three."""

import os
import signal

import numpy as np
import pytest

from magenta_style.storage import model_format
from magenta_style.training import config as train_config
from magenta_style.training import provenance
from magenta_style.training import run_dir
from magenta_style.training import train_state
from tests import train_helpers as th

TRAINERS = ("train", "train_arbitrary", "distill")
# What each trainer records besides `provenance.CORE_KEYS` (the keys its
# models have carried from the start).
EXTRAS = {"train": {"mode", "resize_side"},
          "train_arbitrary": {"style_images"},
          "distill": {"mode", "teacher", "teacher_provenance", "resize_side"}}


def _trainer(name, root):
    """`(config(**overrides), run(config))` for a 2-step tiny run of `name`."""
    content = th.smooth_images(4, th.SIZE, seed=1)
    train_dir = str(root / "run")
    common = dict(train_dir=train_dir, batch_size=2, image_size=th.SIZE, train_steps=2,
                  log_every=1, save_every=100, jit_compile=False)
    if name == "train":
        from magenta_style.training import loop

        styles = th.style_files(str(root / "styles"), n=2)

        def config(**overrides):
            return th.tiny_config(train_dir, styles, None, train_steps=2, **overrides)

        return config, lambda cfg: loop.train(cfg, content=content)
    if name == "train_arbitrary":
        from magenta_style.training import arbitrary

        styles = th.style_files(str(root / "styles"), n=2)

        def config(**overrides):
            return train_config.ArbitraryTrainConfig(**{
                **common, "style_images": styles, "vgg_weights": None,
                "predictor": "mobilenet_v2", "style_image_size": th.SIZE,
                "augment_style_images": False, "random_style_image_size": False,
                "content_weights": {"vgg_16/conv1": 1.0},
                "style_weights": {"vgg_16/conv1": 0.5e-3}, **overrides})

        return config, lambda cfg: arbitrary.train_arbitrary(cfg, content=content)
    from magenta_style.training import distill

    teacher = th.saved_teacher(root / "teacher")

    def config(**overrides):
        return train_config.DistillConfig(**{**common, "teacher": teacher, "alpha": 0.5,
                                             **overrides})

    return config, lambda cfg: distill.distill(cfg, content=content)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per trainer: stopped by SIGINT at step 1, rerun to the end, rerun once more
    with another `model_dir`; what each left behind."""
    log_scalars = run_dir.log_scalars

    def interrupt_after_step_1(cfg, writer, step, scalars):
        log_scalars(cfg, writer, step, scalars)
        if step == 1:  # Ctrl-C (or `timeout -s INT`) as step 1 ends.
            os.kill(os.getpid(), signal.SIGINT)

    out = {}
    for name in TRAINERS:
        root = tmp_path_factory.mktemp(name)
        config, run = _trainer(name, root)
        record = {}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(run_dir, "log_scalars", interrupt_after_step_1)
            try:
                run(config())
                record["interrupted"] = False
            except KeyboardInterrupt:
                record["interrupted"] = True
        train_dir = config().train_dir
        record["checkpoint"] = os.path.basename(train_state.latest_checkpoint(train_dir))
        record["partial"] = model_format.load_model(os.path.join(train_dir, "model"))
        record["final"] = run(config())
        other = str(root / "other_model")
        record["again"] = run(config(model_dir=other))
        record["rewritten"] = (model_format.load_model(other) if os.path.isdir(other)
                               else None)
        out[name] = record
    return out


@pytest.mark.parametrize("name", TRAINERS)
def test_every_trainer_stops_on_a_signal_and_reruns_alike(runs, name):
    record = runs[name]
    # Stopped: a checkpoint and the model so far, saying how far it got.
    assert record["interrupted"]
    assert record["checkpoint"] == "ckpt-1.npz"
    assert record["partial"].provenance["steps"] == 1
    assert record["partial"].provenance["train_steps"] == 2
    assert record["final"].provenance["steps"] == 2
    # A rerun of a finished run trains no step but still writes the model
    # (here to a new --model_dir), as `train` always has.
    assert record["again"].provenance["steps"] == 2
    assert record["rewritten"] is not None, f"{name} wrote no model on a finished rerun"
    assert record["rewritten"].provenance["steps"] == 2


def test_every_trainer_records_the_same_provenance_keys(runs):
    for name in TRAINERS:
        for key in ("partial", "final"):
            recorded = runs[name][key].provenance
            assert set(recorded) == set(provenance.CORE_KEYS) | EXTRAS[name], (name, key)
        assert runs[name]["final"].provenance["trained_by"].startswith("magenta_style.training")
        assert runs[name]["final"].provenance["content_images"] == provenance.IN_MEMORY


def test_build_provenance_records_the_core_keys_extras_and_seed():
    cfg = train_config.TrainConfig(train_dir="/tmp/x", train_steps=10, batch_size=4)
    out = provenance.build_provenance(cfg, "magenta_style.training", 3,
                                      {"total_loss": np.float32(2.5)},
                                      extras={"mode": "scratch"},
                                      seeded_from={"steps": 2, "provenance": {}})
    assert list(out)[:2] == ["trained_by", "mode"]
    assert set(out) == set(provenance.CORE_KEYS) | {"mode", run_dir.SEEDED_FROM}
    assert out["steps"] == 3 and out["train_steps"] == 10
    assert out["content_images"] == cfg.content_images
    assert out["final_losses"] == {"total_loss": 2.5}
    assert type(out["final_losses"]["total_loss"]) is float  # JSON-able.
    plain = provenance.build_provenance(cfg, "t", 1, {}, in_memory_content=True)
    assert run_dir.SEEDED_FROM not in plain and plain["content_images"] == provenance.IN_MEMORY
