"""Training checkpoints: atomic npz files restored all-or-nothing."""

import keras
import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.training import train_state


def _model_and_optimizer(alpha, seed, learning_rate=1e-3):
    model = transformer.build_transformer(2, alpha=alpha)
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(0, 0.1, v.shape).astype("float32"))
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def test_restore_round_trip(tmp_path):
    model, optimizer = _model_and_optimizer(0.125, seed=1)
    path = train_state.save_checkpoint(str(tmp_path), 7, model, optimizer, meta={"x": 1})
    other, other_optimizer = _model_and_optimizer(0.125, seed=2)
    meta = train_state.restore_checkpoint(path, other, other_optimizer)
    assert meta == {"x": 1, "step": 7, "fresh_optimizer": False}
    for a, b in zip(other_optimizer.variables, optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(other.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_resumed_run_keeps_its_own_learning_rate(tmp_path):
    # "Lower --learning_rate and rerun" must lower it: the checkpoint's rate
    # (stored with Adam's state) does not override the run's.
    model, optimizer = _model_and_optimizer(0.125, seed=1, learning_rate=1e-3)
    for v in optimizer.variables:
        if not v.path.endswith("learning_rate"):
            v.assign(np.full(v.shape, 3, v.dtype))
    path = train_state.save_checkpoint(str(tmp_path), 7, model, optimizer)
    other, lower = _model_and_optimizer(0.125, seed=2, learning_rate=1e-4)
    lines = []
    _, meta = train_state.restore_latest(str(tmp_path), other, lower, lines.append)
    assert float(np.asarray(lower.learning_rate)) == pytest.approx(1e-4)
    assert meta["learning_rate_was"] == pytest.approx(1e-3)
    assert lines == ["Resuming with learning rate 0.0001 (the checkpoint ran at 0.001)."]
    for v in lower.variables:  # Adam's state and step counter are restored.
        if not v.path.endswith("learning_rate"):
            np.testing.assert_array_equal(np.asarray(v), 3)
    same, same_rate = _model_and_optimizer(0.125, seed=2, learning_rate=1e-3)
    assert "learning_rate_was" not in train_state.restore_checkpoint(path, same, same_rate)


def test_checkpoint_of_another_architecture_is_one_line_and_changes_nothing(tmp_path):
    model, optimizer = _model_and_optimizer(0.125, seed=1)
    path = train_state.save_checkpoint(str(tmp_path), 3, model, optimizer)
    wider, wider_optimizer = _model_and_optimizer(0.25, seed=2)
    before = [np.asarray(v).copy() for v in wider.weights]
    with pytest.raises(UserError, match="holds a different model.*contract_conv1/kernel: shape"
                       ) as e:
        train_state.restore_checkpoint(path, wider, wider_optimizer)
    assert "\n" not in str(e.value)
    for v, old in zip(wider.weights, before):
        np.testing.assert_array_equal(np.asarray(v), old)


def test_a_weights_only_checkpoint_leaves_the_optimizer_fresh(tmp_path):
    model, optimizer = _model_and_optimizer(0.125, seed=1)
    for v in optimizer.variables:  # A used optimizer: moments and counter set.
        v.assign(np.ones(v.shape, v.dtype))
    path = train_state.seed_from_model(str(tmp_path), model, 12, {"architecture": "a"})
    other, fresh = _model_and_optimizer(0.125, seed=2)
    meta = train_state.restore_checkpoint(path, other, fresh)
    assert meta["step"] == 12 and meta["fresh_optimizer"] is True
    for a, b in zip(other.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    _, built = _model_and_optimizer(0.125, seed=3)
    for a, b in zip(fresh.variables, built.variables):  # As built: nothing restored.
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(UserError, match="already holds checkpoints"):
        train_state.seed_from_model(str(tmp_path), model, 12, {})



@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    model, optimizer = _model_and_optimizer(0.125, seed=1)
    train_state.save_checkpoint(str(tmp_path), 10, model, optimizer)
    newer, newer_optimizer = _model_and_optimizer(0.125, seed=5)
    newest = train_state.save_checkpoint(str(tmp_path), 20, newer, newer_optimizer)
    data = open(newest, "rb").read()
    cut = {"truncate": data[: len(data) // 2], "empty": b"",
           "garbage": data[:100] + b"\x00" * (len(data) - 100)}[damage]
    open(newest, "wb").write(cut)
    other, other_optimizer = _model_and_optimizer(0.125, seed=2)
    lines = []
    path, meta = train_state.restore_latest(str(tmp_path), other, other_optimizer, lines.append)
    assert path.endswith("ckpt-10.npz") and meta["step"] == 10
    for a, b in zip(other.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "ckpt-20.npz" in lines[0] and "Resuming from ckpt-10.npz" in lines[1]


def test_all_checkpoints_damaged_is_one_line(tmp_path):
    (tmp_path / "ckpt-5.npz").write_bytes(b"PK\x03\x04 cut")
    model, optimizer = _model_and_optimizer(0.125, seed=1)
    with pytest.raises(UserError, match="Every checkpoint .* is damaged") as e:
        train_state.restore_latest(str(tmp_path), model, optimizer)
    assert "\n" not in str(e.value)
    assert train_state.restore_latest(str(tmp_path / "none"), model, optimizer) == (None, None)
