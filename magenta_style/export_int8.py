"""A calibrated int8 TensorFlow Lite model of a multi-style network (`bin/export --tflite --int8`).

LiteRT's post-training integer quantisation, as its guide recommends:
per-channel int8 weights and int8 activations whose ranges are calibrated
on a representative data set, here photos (`calibration_images`) over
every style of the model (photo i with style i mod N, so each style's
gamma/beta shape the ranges). Selective quantisation (LiteRT's
quantisation debugger, `denylisted_ops`) keeps the conditional instance
norm float: its statistics, the gamma/beta mixed from the style table, the
residual adds and the final sigmoid (`FLOAT_OPS`); the convolutions and
the padding and reshapes around them run in int8.

The graph is `block_step.walk` with `block_step.step` (plain `keras.ops`
moments; the fused TensorFlow kernel the runner uses has no TFLite form),
at Magenta's fixed TFLite shapes: `[1, S, S, 3]` float32 image in [0, 1]
and `style_weights` `[N]`, output `[1, S, S, 3]` float32 in [0, 1].

Measured here on `varied` at 512 px (docs/stylize.md, Reduced precision):
the output stays several levels of 255 from float32's, beyond the limits
`stylize --precision` holds to, so this file is for phones (Magenta's
Android demo), not a precision of `stylize`.
"""

import numpy as np

from magenta_style.errors import UserError
from magenta_style.storage import image_io

FILENAME = "stylize_int8.tflite"
# TFLite ops of the conditional instance norm and what follows it.
FLOAT_OPS = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "MUL", "SUB", "ADD", "LOGISTIC",
             "FULLY_CONNECTED", "BATCH_MATMUL", "SQUARE")
# At most this many calibration photos are read (LiteRT's guide: ~100-500
# samples suffice); with fewer photos than styles, photos repeat.
MAX_CALIBRATION_PHOTOS = 100


def calibration_photos(source, image_size, limit=MAX_CALIBRATION_PHOTOS):
    """`[K, S, S, 3]` float32 in [0, 1]: photos of `source` (folder, glob, comma-separated
    files; `batch_files.expand_inputs`), centre square crops resized to S.

    Raises:
        UserError: no `source`, or no readable image in it.
    """
    from magenta_style.stylization import batch_files
    from magenta_style.stylization import grid

    if not source:
        raise UserError("--int8 calibrates on photos: pass --calibration_images=FOLDER "
                        "(a few hundred photos like the ones users will stylize).")
    files = batch_files.expand_inputs(source)
    step = max(1, len(files) // limit)
    photos = []
    for path in files[::step][:limit]:
        try:
            photos.append(grid.square_crop(image_io.load_image(path), image_size))
        except UserError:
            continue  # an unreadable file among photos: skipped
    if not photos:
        raise UserError(f"No readable image in --calibration_images={source}.")
    return np.stack(photos)


def representative_data(photos, num_styles):
    """LiteRT's representative data set: `{"image": [1,S,S,3], "style_weights": [N]}`
    for max(photos, styles) samples, photo i with style i mod N (one-hot)."""
    def samples():
        for i in range(max(len(photos), num_styles)):
            weights = np.zeros(num_styles, np.float32)
            weights[i % num_styles] = 1.0
            yield {"image": photos[i % len(photos)][None], "style_weights": weights}
    return samples


def int8_tflite_bytes(model, image_size, photos):
    """The int8 flatbuffer of `model` (a `PasticheNetwork`) at `image_size`.

    Args:
        model: a multi-style network.
        image_size: side S of the fixed square input, a multiple of 4 or not.
        photos: `[K, S, S, 3]` float32 calibration photos (`calibration_photos`).

    Returns:
        bytes: a TFLite model, inputs `image` `[1, S, S, 3]` and
        `style_weights` `[N]` float32, output `[1, S, S, 3]` float32.
    """
    import tensorflow as tf

    from magenta_style.stylization import block_step

    n = model.transformer_config.num_styles
    pad = model.get_layer("pad_to_multiple")

    @tf.function(input_signature=[
        tf.TensorSpec([1, image_size, image_size, 3], tf.float32, name="image"),
        tf.TensorSpec([n], tf.float32, name="style_weights")])
    def stylize(image, style_weights):
        source = block_step.Rows(style_weights[None])
        out = block_step.walk(model.blocks, pad(image),
                              lambda block, x: block_step.step(block, x, source))
        return out[:, :image_size, :image_size, :]

    holder = tf.Module()  # the converter freezes the variables it finds here
    holder.tf_variables = [v.value for v in model.variables]
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [stylize.get_concrete_function()], holder)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    data = representative_data(photos, n)
    converter.representative_dataset = data
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=data,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(
            denylisted_ops=list(FLOAT_OPS)))
    return debugger.get_nondebug_quantized_model()
