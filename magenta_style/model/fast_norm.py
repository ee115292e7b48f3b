"""Instance normalisation at inference in one fused TensorFlow kernel.

Through TensorFlow's graph executor (no XLA fusion) `ops.moments` followed by
the scale and shift is five kernels and five passes over the map; on the
first 512x512x32 map of the android-26 network that was 11 ms of a 100 ms
call. For one image, instance norm is batch norm over that image, and
TensorFlow's `FusedBatchNormV3` in training mode computes the statistics and
applies them in one kernel (6% of the whole call at 512 px; docs/stylize.md,
Speed). Same values to float rounding (1.7e-5 on the network's output).

Only the TensorFlow backend, inference, one example per call (a runtime
branch: the runner's graph has a dynamic batch) and a scale/shift per
channel; everything else returns None and the caller takes the `keras.ops`
path. Follows `fast_conv.cpu_forms()` (`MAGENTA_STYLE_FAST_CONV`), the switch
of the other CPU-tuned forms.
"""

import keras

from magenta_style.model import fast_conv


def instance_norm(x, gamma, beta, epsilon, fallback):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, fused where possible.

    Args:
        x: `[B, H, W, C]` float tensor.
        gamma, beta: `[B, C]` float tensors.
        epsilon: float > 0.
        fallback: `() -> tensor`, the same value by `keras.ops`, used for
            batches of more than one image.

    Returns:
        `[B, H, W, C]` like `x`, or None when the fused kernel does not apply
        (another backend, the CPU forms switched off); then call the
        `keras.ops` form yourself.
    """
    if keras.backend.backend() != "tensorflow" or not fast_conv.cpu_forms():
        return None
    import tensorflow as tf

    def fused():
        empty = tf.zeros([0], tf.float32)
        # The raw op: tf.nn.fused_batch_norm raises epsilon to cuDNN's minimum.
        y = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=tf.cast(gamma[0], tf.float32), offset=tf.cast(beta[0], tf.float32),
            mean=empty, variance=empty, epsilon=epsilon, exponential_avg_factor=1.0,
            data_format="NHWC", is_training=True)[0]
        return tf.cast(y, x.dtype)

    return tf.cond(tf.equal(tf.shape(x)[0], 1), fused, fallback)
