"""The arbitrary-style transformer: architecture, sizes, conditioning, serialisation."""

import keras
import numpy as np
import pytest

from magenta_style.model import arbitrary_transformer
from magenta_style.model import layers
from magenta_style.stylization import tiling


def randomized(seed=0, **arch):
    """A small transformer whose projections and biases are random (fresh ones are near-trivial)."""
    model = arbitrary_transformer.build_arbitrary_transformer(0.25, **arch)
    rng = np.random.default_rng(seed)
    for var in model.weights:
        if "bias" in var.path or "kernel" in var.path and "_norm" in var.path:
            var.assign(rng.normal(0, 0.1, var.shape).astype("float32"))
        elif "kernel" in var.path:  # seeded too: Keras's initializer is not
            var.assign(rng.normal(0, 0.01, var.shape).astype("float32"))
    for proj in arbitrary_transformer.style_projections(model):
        proj.gamma_bias.assign(np.ones(proj.channels, "float32"))
    return model


@pytest.fixture(scope="module")
def small():
    return randomized()


def count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_parameter_counts_of_magentas_mobile_release():
    model = arbitrary_transformer.build_arbitrary_transformer(0.25)
    convs = [layer for layer in model.layers if isinstance(layer, layers.PaddedConv2D)]
    # 9*9*3*8 + 3*3*8*16 + 3*3*16*32 + 10*3*3*32*32 + 3*3*32*16 + 3*3*16*8 + 9*9*8*3
    assert count(c.kernel for c in convs) == 107_568
    # Only the 3 contract convs have biases (8 + 16 + 32).
    assert count(c.bias for c in convs if c.use_bias) == 56
    projections = arbitrary_transformer.style_projections(model)
    assert len(projections) == 13
    # 26 dense maps of the 100-d vector: 2 * (100 * C + C) per layer, 347 channels.
    assert count(w for p in projections for w in p.weights) == 70_094
    assert count(model.weights) == 177_718


@pytest.mark.parametrize("hw", [(32, 32), (37, 50), (5, 9)])
def test_any_size_comes_out_at_its_own_size(small, hw):
    x = np.random.default_rng(0).random((2, *hw, 3), dtype=np.float32)
    v = np.random.default_rng(1).normal(size=(2, 100)).astype("float32")
    y = np.asarray(small([x, v]))
    assert y.shape == (2, *hw, 3)
    assert y.min() >= 0.0 and y.max() <= 1.0


def test_the_style_vector_changes_the_output_per_example(small):
    x = np.random.default_rng(2).random((1, 24, 24, 3), dtype=np.float32)
    v = np.random.default_rng(3).normal(size=(2, 100)).astype("float32")
    both = np.asarray(small([np.repeat(x, 2, 0), v]))
    alone = np.asarray(small([x, v[1:]]))
    assert np.abs(both[0] - both[1]).max() > 1e-2
    # To float rounding: alone, a batch of one, runs the fused instance norm
    # (model/fast_norm.py), the batch of two the keras.ops form; both fold the
    # statistics into a scale and shift, whose rounding grows with |mean| /
    # std of this random network's features (1.4e-4 seen).
    np.testing.assert_allclose(both[1], alone[0], atol=5e-4)


def test_round_trips_through_keras_serialisation(small, tmp_path):
    path = str(tmp_path / "m.keras")
    small.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, arbitrary_transformer.ArbitraryTransformer)
    assert loaded.arbitrary_config == small.arbitrary_config
    x = np.random.default_rng(4).random((1, 20, 28, 3), dtype=np.float32)
    v = np.random.default_rng(5).normal(size=(1, 100)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded([x, v])), np.asarray(small([x, v])), atol=1e-6)


def test_tiled_equals_untiled_with_whole_image_statistics(small):
    image = np.random.default_rng(6).random((52, 70, 3), dtype=np.float32)
    v = np.random.default_rng(7).normal(size=100).astype("float32")
    out = tiling.stylize_tiled(small, image, v, tile_size=16)
    ref = np.asarray(small([image[None], v[None]]))[0]
    # Float rounding only (the contract convs' biases included): far below one
    # level of 255, whatever the CPU's convolution algorithm.
    # (Measured with these seeded weights: max 1.1e-4, mean 1.1e-5, as before the
    # block_step rewrite.)
    assert np.abs(out - ref).max() < 5e-4 and np.abs(out - ref).mean() < 5e-5


@pytest.mark.parametrize("bad, match", [
    (dict(alpha=0), "alpha must be > 0"),
    (dict(style_dim=0), "style_dim must be a positive integer"),
    (dict(kernel_sizes=(9, 4, 3)), "odd"),
])
def test_bad_architecture_is_refused_quoting_the_value(bad, match):
    with pytest.raises(ValueError, match=match):
        arbitrary_transformer.build_arbitrary_transformer(**bad)


def test_style_model_refuses_predictors_of_another_style_dim():
    from magenta_style.model import style_predictor

    predictor = style_predictor.build_style_predictor(style_dim=10)
    transformer = arbitrary_transformer.build_arbitrary_transformer(0.25, style_dim=12)
    with pytest.raises(ValueError, match="style_dim"):
        arbitrary_transformer.ArbitraryStyleModel(predictor, transformer)
