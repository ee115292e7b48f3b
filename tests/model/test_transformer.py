"""The pastiche generator: architecture, parameter counts, sizes, styles."""

import keras
import numpy as np
import pytest

from magenta_style.model import transformer
from tests.conftest import styled_model


@pytest.fixture(scope="module")
def small():
    return styled_model(3, 1)


def count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_parameter_counts_at_alpha_1():
    model = transformer.build_transformer(2)
    convs = [w for layer in transformer.conv_layers(model) for w in layer.weights]
    # 9*9*3*32 + 3*3*32*64 + 3*3*64*128 + 10*3*3*128*128 + 3*3*128*64
    # + 3*3*64*32 + 9*9*32*3, no biases.
    assert count(convs) == 1_674_432
    norms = transformer.style_tables(model)
    assert len(norms) == 16
    # 32+64+128+10*128+64+32+3 = 1603 channels, gamma and beta, per style.
    assert count(w for n in norms for w in n.weights) == 2 * 2 * 1603
    assert count(model.weights) == 1_674_432 + 2 * 3206


def test_layer_names_map_magenta_scopes():
    names = {layer.name for layer in transformer.build_transformer(1, 0.25).layers}
    for expected in ["contract_conv1", "contract_conv3_norm", "residual1_conv1",
                     "residual5_conv2_norm", "expand_conv1", "expand_conv3_norm"]:
        assert expected in names


@pytest.mark.parametrize("hw", [(32, 32), (37, 50), (5, 9), (64, 21)])
def test_any_size_comes_out_at_its_own_size(small, hw):
    x = np.random.default_rng(0).random((2, *hw, 3), dtype=np.float32)
    y = np.asarray(small([x, np.eye(3, dtype="float32")[[0, 2]]]))
    assert y.shape == (2, *hw, 3)
    assert y.min() >= 0.0 and y.max() <= 1.0


def test_size_padding_does_not_change_the_valid_region(small):
    # A multiple-of-4 image is processed as Magenta would (no padding).
    x = np.random.default_rng(2).random((1, 32, 32, 3), dtype=np.float32)
    w = np.eye(3, dtype="float32")[[1]]
    y = np.asarray(small([x, w]))
    assert y.shape == (1, 32, 32, 3)


def test_one_hot_selects_a_style_and_mixture_is_linear_in_cin(small):
    x = np.random.default_rng(3).random((1, 24, 24, 3), dtype=np.float32)
    outs = [np.asarray(small([x, np.eye(3, dtype="float32")[[i]]])) for i in range(3)]
    assert np.abs(outs[0] - outs[1]).max() > 1e-3  # styles differ
    mix = np.asarray(small([x, np.array([[0.5, 0.5, 0]], "float32")]))
    assert not np.allclose(mix, outs[0]) and not np.allclose(mix, outs[1])
    # A batch with different styles per example equals per-example calls.
    batch = np.asarray(small([np.repeat(x, 3, 0), np.eye(3, dtype="float32")]))
    np.testing.assert_allclose(batch, np.concatenate(outs), atol=1e-5)


def test_custom_widths():
    model = transformer.build_transformer(
        26, contract_widths=(32, 32, 32), num_residual_blocks=6, expand_widths=(8, 4))
    assert model.get_layer("expand_conv2").filters == 4
    assert "residual6_conv2" in {layer.name for layer in model.layers}
    assert model.transformer_config.num_residual_blocks == 6


@pytest.mark.parametrize("kwargs,match", [
    (dict(kernel_sizes=(9, 4, 3)), "kernel_size is expected to be odd"),
    (dict(contract_widths=(32, 64)), "contract_widths"),
    (dict(alpha=0), "alpha"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    args = {"num_styles": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        transformer.build_transformer(**args)


def test_wrong_number_of_style_weights_is_a_clear_error(small):
    # Keras's own input check names the input and both shapes in one line.
    with pytest.raises(ValueError, match=r"style_weights.*expected shape=\(None, 3\)"):
        small([np.zeros((1, 16, 16, 3), "float32"), np.zeros((1, 4), "float32")])


def test_keras_file_round_trip(small, tmp_path):
    path = str(tmp_path / "t.keras")
    small.style_names = ["a", "b", "c"]
    small.provenance = {"steps": 7}
    small.save(path)
    restored = keras.saving.load_model(path)
    # The model object carries its config, names and provenance itself.
    assert type(restored) is transformer.PasticheNetwork
    assert restored.transformer_config == small.transformer_config
    assert restored.style_names == ("a", "b", "c") and restored.provenance == {"steps": 7}
    x = np.random.default_rng(4).random((1, 20, 28, 3), dtype=np.float32)
    w = np.array([[0.2, 0.3, 0.5]], "float32")
    np.testing.assert_allclose(np.asarray(restored([x, w])), np.asarray(small([x, w])),
                               atol=1e-6)


def test_set_winograd_in_training_flags_every_padded_conv():
    model = transformer.build_transformer(2, alpha=0.25)
    convs = transformer.conv_layers(model)
    assert convs and not any(layer.winograd_in_training for layer in convs)
    transformer.set_winograd_in_training(model, True)
    assert all(layer.winograd_in_training for layer in convs)
    transformer.set_winograd_in_training(model, False)
    assert not any(layer.winograd_in_training for layer in convs)


def test_style_names_default_and_must_match_the_style_count():
    fresh = transformer.build_transformer(2, alpha=0.125)
    assert fresh.style_names == ("style_0", "style_1") and fresh.provenance == {}
    with pytest.raises(ValueError, match=r"must hold 2 names.*Received: \['only'\]"):
        fresh.style_names = ["only"]


def test_blocks_group_the_layers_in_network_order():
    model = transformer.build_transformer(2, alpha=0.125, num_residual_blocks=3)
    blocks = model.blocks
    assert [b.name for b in blocks.contract] == ["contract_conv1", "contract_conv2",
                                                 "contract_conv3"]
    assert len(blocks.residual) == 3
    first, second = blocks.residual[0]
    assert first.activation is not None and second.activation is None  # conv-CIN-ReLU, conv-CIN
    assert [b.upsample for b in blocks.expand] == [2, 2]
    assert blocks.output.name == "expand_conv3" and blocks.output.activation.name.endswith(
        "sigmoid")
    # Each block's table, norm and conv are the model's own layers.
    for b in blocks.contract + blocks.expand + (blocks.output,):
        assert model.get_layer(b.name) is b.conv
        assert b.table.gamma.shape == (2, b.conv.filters)
        gamma, beta = b.table(np.eye(2, dtype="float32"))
        assert gamma.shape == (2, b.conv.filters)
