"""The fast convolution paths equal the plain ops, values and gradients."""

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import UserError
from magenta_style.model import fast_conv


def _reference_conv(x, kernel, stride=1):
    """VALID cross-correlation in float64 numpy (the definition)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    k = kernel.shape[0]
    b, h, w, _ = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((b, out_h, out_w, kernel.shape[-1]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i:i + stride * (out_h - 1) + 1:stride,
                      j:j + stride * (out_w - 1) + 1:stride, :]
            y += patch @ kernel[i, j]
    return y


def _reference_upsample_conv(x, kernel):
    up = np.repeat(np.repeat(np.asarray(x), 2, axis=1), 2, axis=2)
    up = np.pad(up, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    return _reference_conv(up, kernel)


# (height, width, in, out, kernel): the blocked path (few outputs), Winograd
# (128x128 channel pairs and up, odd sizes too) and the plain fallback.
CASES = [
    (20, 27, 5, 3, 9),    # output-blocked, width not a multiple of the block
    (13, 10, 5, 3, 9),    # output-blocked, odd output height, narrower than a block
    (9, 9, 5, 3, 9),      # output-blocked, a single output pixel
    (9, 11, 3, 2, 3),     # output-blocked 3x3
    (17, 22, 3, 16, 9),   # plain: the RGB input layer
    (10, 12, 128, 128, 3),  # Winograd, even output
    (9, 14, 128, 136, 3),   # Winograd, odd output height
    (8, 8, 64, 128, 3),     # plain: 64x128 pairs gain nothing by Winograd
    (7, 7, 8, 16, 3),     # plain ops.conv
    (7, 7, 3, 16, 3),     # plain: a 3x3 kernel on RGB gains nothing blocked
]


@pytest.mark.parametrize("inference", [True, False])
@pytest.mark.parametrize("height,width,cin,cout,k", CASES)
def test_conv2d_valid_matches_definition(rng, height, width, cin, cout, k, inference):
    x = rng.standard_normal((2, height, width, cin)).astype(np.float32)
    kernel = (rng.standard_normal((k, k, cin, cout)) / np.sqrt(k * k * cin)).astype(np.float32)
    want = _reference_conv(x, kernel)
    eager = np.asarray(fast_conv.conv2d_valid(tf.constant(x), tf.constant(kernel), 1, inference))
    assert eager.shape == want.shape
    np.testing.assert_allclose(eager, want, atol=2e-5)
    # Also with unknown H, W (the graph `stylize` traces) and under XLA.
    spec = tf.TensorSpec([None, None, None, cin])
    graph = tf.function(lambda x, k: fast_conv.conv2d_valid(x, k, 1, inference),
                        input_signature=[spec, tf.TensorSpec(kernel.shape)])
    np.testing.assert_allclose(graph(x, kernel).numpy(), want, atol=2e-5)
    xla = tf.function(lambda x, k: fast_conv.conv2d_valid(x, k, 1, inference), jit_compile=True)
    np.testing.assert_allclose(xla(x, kernel).numpy(), want, atol=2e-5)


def test_strided_conv_uses_strides(rng):
    x = rng.standard_normal((1, 11, 12, 6)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 6, 5)).astype(np.float32)
    got = np.asarray(fast_conv.conv2d_valid(tf.constant(x), tf.constant(kernel), 2))
    np.testing.assert_allclose(got, _reference_conv(x, kernel, 2), atol=2e-5)


@pytest.mark.parametrize("height,width,cin,cout", [(5, 7, 6, 4), (1, 2, 3, 8), (8, 8, 32, 3)])
def test_upsample2x_conv3x3_matches_upsample_then_conv(rng, height, width, cin, cout):
    x = rng.standard_normal((2, height, width, cin)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, cin, cout)).astype(np.float32) / 5
    got = np.asarray(fast_conv.upsample2x_conv3x3(tf.constant(x), tf.constant(kernel)))
    assert got.shape == (2, 2 * height, 2 * width, cout)
    if height > 1:  # numpy cannot mirror-pad a single row; the op can.
        np.testing.assert_allclose(got, _reference_upsample_conv(x, kernel), atol=2e-5)


@pytest.mark.parametrize("path,inference", [("output_blocked", True), ("output_blocked", False),
                                            ("winograd", True), ("upsample", False)])
def test_gradients_match_plain_ops(rng, path, inference):
    cin, cout, k = {"output_blocked": (6, 3, 9),
                    "winograd": (128, 128, 3), "upsample": (5, 7, 3)}[path]
    x = tf.constant(rng.standard_normal((1, 12, 14, cin)).astype(np.float32))
    kernel = tf.constant(rng.standard_normal((k, k, cin, cout)).astype(np.float32) / k)

    def plain(x, kernel):
        if path == "upsample":
            x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
            x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        return tf.nn.conv2d(x, kernel, 1, "VALID")

    def fast(x, kernel):
        if path == "upsample":
            return fast_conv.upsample2x_conv3x3(x, kernel)
        return fast_conv.conv2d_valid(x, kernel, 1, inference)

    grads = []
    for fn in (plain, fast):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = fn(x, kernel)
            loss = tf.reduce_sum(y * y)
        grads.append(tape.gradient(loss, [x, kernel]))
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4,
                                   atol=1e-4 * float(tf.reduce_max(tf.abs(want))))


def test_winograd_gradients_reproducible_under_xla(rng):
    # XLA-compiled training uses Winograd because its rounding is the same in
    # every compilation and call, so a resumed run repeats the uninterrupted
    # one bit for bit (TensorFlow's graph executor does not promise that).
    x = tf.constant(rng.standard_normal((2, 12, 14, 128)).astype(np.float32))
    kernel = tf.constant(rng.standard_normal((3, 3, 128, 128)).astype(np.float32) / 30)

    def compiled():
        @tf.function(jit_compile=True)
        def step(x, kernel):
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = fast_conv.conv2d_valid(x, kernel, 1, winograd=True)
                loss = tf.reduce_sum(y * y)
            return [y, *tape.gradient(loss, [x, kernel])]
        return step

    first, second = compiled(), compiled()
    runs = [first(x, kernel), first(x, kernel), second(x, kernel)]
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(runs[0], runs[2]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_cpu_forms_are_on_for_the_cpu_and_can_be_switched(monkeypatch):
    monkeypatch.delenv(fast_conv.ENV_VAR, raising=False)
    assert fast_conv.cpu_forms()  # These tests run on a CPU.
    monkeypatch.setenv(fast_conv.ENV_VAR, "0")
    assert not fast_conv.cpu_forms()
    monkeypatch.setenv(fast_conv.ENV_VAR, "sometimes")
    with pytest.raises(UserError, match="Received: 'sometimes'"):
        fast_conv.cpu_forms()


@pytest.mark.parametrize("k, cin, cout", [(9, 32, 3), (9, 3, 32), (3, 128, 128)])
def test_without_cpu_forms_the_plain_convolution_runs(rng, monkeypatch, k, cin, cout):
    """What GPUs get (`auto` there): TensorFlow's own convolution, bit for bit."""
    monkeypatch.setenv(fast_conv.ENV_VAR, "0")
    x = rng.standard_normal((1, k + 9, k + 6, cin)).astype("float32")
    kernel = rng.standard_normal((k, k, cin, cout)).astype("float32")
    plain = tf.nn.conv2d(x, kernel, 1, "VALID").numpy()
    for inference in (False, True):
        got = fast_conv.conv2d_valid(tf.constant(x), tf.constant(kernel), 1, inference)
        np.testing.assert_array_equal(np.asarray(got), plain)


def test_without_cpu_forms_upsampling_is_upsample_pad_conv(rng, monkeypatch):
    monkeypatch.setenv(fast_conv.ENV_VAR, "0")
    x = rng.standard_normal((2, 5, 7, 4)).astype("float32")
    kernel = rng.standard_normal((3, 3, 4, 6)).astype("float32")
    up = np.pad(x.repeat(2, 1).repeat(2, 2), [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    want = tf.nn.conv2d(up, kernel, 1, "VALID").numpy()
    got = np.asarray(fast_conv.upsample2x_conv3x3(tf.constant(x), tf.constant(kernel)))
    np.testing.assert_array_equal(got, want)
