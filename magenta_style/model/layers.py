"""Keras layers of the pastiche generator, written with `keras.ops` only.

They run unchanged under the TensorFlow and the JAX backends. Every layer is
registered for serialisation under the package name `magenta_style`.
"""

import keras
from keras import ops

from magenta_style.model import fast_conv
from magenta_style.model import fast_norm

_PACKAGE = "magenta_style"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PaddedConv2D(keras.layers.Conv2D):
    """Magenta's `conv2d` (and `upsampling`) helper: optional nearest x2
    upsampling, REFLECT padding of `kernel_size // 2`, VALID convolution.

    A `keras.layers.Conv2D` with the same weights (`kernel` `[K, K, C, O]`,
    optional `bias`) and the same arguments plus `upsample` (1 or 2); only
    `padding` is fixed (mirror padding is what Magenta uses). The arithmetic
    goes through `fast_conv`: the upsampled 3x3 case is computed without
    building the upsampled map, convolutions to few channels (the final RGB
    layer) in their blocked form, and, with `winograd_in_training`, wide 3x3
    ones in training calls by Winograd's F(2x2, 3x3). All give the plain ops'
    numbers to float rounding at a fraction of the CPU time.

    `winograd_in_training=True`: set it only where the training step is
    XLA-compiled (`jit_compile`, `jax.jit`), where its gradients are
    reproducible (see `fast_conv.conv2d_valid`). Inference calls use the
    direct convolution: on the current 2-core machines (Xeon, AVX-512/AMX)
    it is faster than Winograd through TensorFlow's graph executor at every
    size and level with it under XLA (docs/stylize.md, Speed).

    Input `[B, H, W, C]`; output `[B, (upsample*H + 2p - K) // s + 1, ..., O]`
    with p = K // 2, i.e. `[B, upsample*H/s, upsample*W/s, O]` for odd K.
    """

    def __init__(self, filters, kernel_size, strides=1, upsample=1,
                 winograd_in_training=False, **kwargs):
        if kwargs.pop("padding", "valid") != "valid":
            raise ValueError("PaddedConv2D always mirror-pads; do not pass `padding`.")
        super().__init__(filters, kernel_size, strides=strides, padding="valid", **kwargs)
        if self.kernel_size[0] != self.kernel_size[1] or self.kernel_size[0] % 2 == 0:
            raise ValueError(
                "kernel_size is expected to be square and odd (reflection padding "
                f"of k//2). Received: kernel_size={kernel_size}"
            )
        if upsample not in (1, 2):
            raise ValueError(f"upsample must be 1 or 2. Received: upsample={upsample}")
        if self.dilation_rate != (1, 1) or self.groups != 1 or self.strides[0] != self.strides[1]:
            raise ValueError(
                "PaddedConv2D supports equal strides, no dilation and no groups. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}, "
                f"groups={self.groups}"
            )
        self.upsample = int(upsample)
        self.winograd_in_training = bool(winograd_in_training)

    def call(self, inputs, training=None):
        k, stride = self.kernel_size[0], self.strides[0]
        kernel = ops.cast(self.kernel, inputs.dtype)
        if self.upsample == 2 and k == 3 and stride == 1:
            y = fast_conv.upsample2x_conv3x3(inputs, kernel)
        else:
            x = inputs
            if self.upsample > 1:
                x = ops.repeat(ops.repeat(x, self.upsample, axis=1), self.upsample, axis=2)
            p = k // 2
            if p:
                x = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
            y = fast_conv.conv2d_valid(x, kernel, stride, inference=not training,
                                       winograd=bool(training) and self.winograd_in_training)
        if self.use_bias:
            y = y + ops.cast(self.bias, y.dtype)
        if self.activation is not None:
            y = self.activation(y)
        return y

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        k, s, p = self.kernel_size[0], self.strides[0], self.kernel_size[0] // 2

        def out(n):
            return None if n is None else (self.upsample * n + 2 * p - k) // s + 1

        return (b, out(h), out(w), self.filters)

    def get_config(self):
        config = super().get_config()
        config.pop("padding", None)
        return {**config, "upsample": self.upsample,
                "winograd_in_training": self.winograd_in_training}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PadToMultiple(keras.layers.Layer):
    """Reflection-pads bottom and right so H and W become multiples of `multiple`.

    Magenta's network silently returns an image rounded up to a multiple of 4
    (two stride-2 convolutions, then x2 upsampling twice). We pad by
    reflection instead and crop back with `CropLike`, so any H x W comes out
    at its own size.
    """

    def __init__(self, multiple=4, **kwargs):
        super().__init__(**kwargs)
        if int(multiple) != multiple or multiple < 1:
            raise ValueError(
                f"multiple must be a positive integer. Received: multiple={multiple}"
            )
        self.multiple = int(multiple)

    def call(self, inputs):
        shape = ops.shape(inputs)
        m = self.multiple
        pad_h = (m - shape[1] % m) % m
        pad_w = (m - shape[2] % m) % m
        return ops.pad(
            inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="reflect"
        )

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        m = self.multiple

        def up(n):
            return None if n is None else -(-n // m) * m

        return (b, up(h), up(w), c)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CropLike(keras.layers.Layer):
    """Crops `x` (top-left anchored) to the height and width of `reference`.

    Called on `[x, reference]`, both `[B, H, W, C]`-shaped with x at least as
    large as reference; returns x's first rows and columns.
    """

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shape):
        x_shape, ref_shape = input_shape
        return (x_shape[0], ref_shape[1], ref_shape[2], x_shape[3])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class InstanceNormalization(keras.layers.Layer):
    """Instance normalisation with a scale and shift given per example.

    Called on `[x, gamma, beta]`:
      x: `[B, H, W, C]` float.
      gamma, beta: `[B, C]` float, this example's scale and shift (or
        `[B, H, W, C]`, one per pixel; see `normalize`). Where they
        come from is not this layer's business (Magenta's `normalizer_fn`
        split): a style table (`conditioning.StyleTable`, the multi-style
        network) or a style-prediction network (arbitrary style).

    Output: `[B, H, W, C]`, `(x - mean) / sqrt(var + epsilon) * gamma + beta`
    with mean and variance taken over H and W of each example and channel.
    No weights.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0. Received: epsilon={epsilon}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        x_shape, gamma_shape, beta_shape = input_shape
        channels = x_shape[-1]
        for name, shape in (("gamma", gamma_shape), ("beta", beta_shape)):
            if shape[-1] is not None and channels is not None and shape[-1] != channels:
                raise ValueError(
                    f"{name} must hold one value per channel ({channels}). "
                    f"Received: {name} shape={shape}")

    def call(self, inputs, training=None):
        x, gamma, beta = inputs

        def by_ops():
            mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
            return self.normalize(x, gamma, beta, mean, variance, centred=bool(training))

        if not training and len(gamma.shape) == 2 and len(beta.shape) == 2:
            fused = fast_norm.instance_norm(x, gamma, beta, self.epsilon, by_ops)
            if fused is not None:
                return fused
        return by_ops()

    def normalize(self, x, gamma, beta, mean, variance, centred=False):
        """Applies `gamma`/`beta` with given statistics.

        Split out of `call` so that tiled inference can reuse statistics
        measured on the whole image (`mean`, `variance`: `[B, 1, 1, C]`).
        `gamma`, `beta` are `[B, C]` (one style per example) or
        `[B, H, W, C]`, x's own size (a style per pixel: masked regions,
        `stylization.regions`); the statistics stay per example either way.
        `centred`: compute `(x - mean) * scale + beta` (training calls do);
        otherwise the folded form below.
        """
        gamma = ops.cast(gamma, x.dtype)
        beta = ops.cast(beta, x.dtype)
        if len(gamma.shape) == 2:
            gamma = gamma[:, None, None, :]
        if len(beta.shape) == 2:
            beta = beta[:, None, None, :]
        # One multiply and one add per pixel: the statistics and gamma/beta
        # are folded into a per-channel scale and shift first, instead of
        # four full-size passes (subtract, two multiplies, add) that the
        # TensorFlow graph runs as separate kernels without XLA. Same value
        # to float rounding (conv outputs have |mean| of the order of their
        # standard deviation, so `x * scale - mean * scale` cancels little).
        # Training keeps the centred form: the folded form's gradient with
        # respect to the scale is sum(dy * x) - mean * sum(dy), a difference
        # of large terms whose rounding Adam amplifies on near-zero gradients
        # (a two-worker run then left a one-process run by 6e-5 in 3 steps;
        # tests/training/test_distributed.py).
        scale = gamma * ops.rsqrt(variance + self.epsilon)
        if centred:
            return (x - mean) * scale + beta
        return x * scale + (beta - mean * scale)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
