"""TensorBoard event files: scalars and images, without the `tensorboard` package.

`tf.summary.scalar` / `tf.summary.image` live in the tensorboard package,
which TensorFlow no longer pulls in. The core `tf.summary.write` with the
plugin names TensorBoard reads ("scalars", "images") writes the same event
records, so logging works with TensorFlow alone; TensorBoard itself is only
needed to view them. Training (TensorFlow backend) and optimisation write
through this one writer.
"""

import numpy as np


def _metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin))


class TensorBoardWriter:
    """Writes scalars and images to an event file in `logdir` (created)."""

    def __init__(self, logdir):
        import tensorflow as tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(logdir)

    def scalars(self, step, values):
        """`values`: {tag: number}; flushed at once."""
        tf = self._tf
        with self._writer.as_default():
            for tag, value in values.items():
                tf.summary.write(tag, tf.constant(float(value), tf.float32), step=int(step),
                                 metadata=_metadata("scalars"))
        self._writer.flush()

    def image(self, step, tag, image):
        """`image`: `[H, W, 3]` float in [0, 1] (clipped) or uint8."""
        tf = self._tf
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.round(np.clip(image.astype("float32"), 0.0, 1.0) * 255).astype("uint8")
        png = tf.io.encode_png(tf.constant(image))
        # The images plugin's layout: [width, height, encoded image, ...].
        tensor = tf.stack([tf.as_string(image.shape[1]), tf.as_string(image.shape[0]), png])
        with self._writer.as_default():
            tf.summary.write(tag, tensor, step=int(step), metadata=_metadata("images"))
        self._writer.flush()

    def close(self):
        self._writer.close()
