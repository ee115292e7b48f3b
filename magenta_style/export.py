"""Export a transformer for serving: a TF2 SavedModel and, optionally, TFLite.

SavedModel signatures (all images `[B, H, W, 3]`, any B and any H, W >= 5):

| signature         | inputs                                          | `stylized_image`  |
| ----------------- | ----------------------------------------------- | ----------------- |
| `serving_default` | `image` float32 in [0, 1], `style_weights` f32  | float32 in [0, 1] |
| `serving_uint8`   | `image` uint8 in [0, 255], `style_weights` f32  | uint8             |
| `stylize_index`   | `image` float32 in [0, 1], `style_index` int32  | float32 in [0, 1] |

`style_weights` is `[N]` (the same mixture for every image) or `[B, N]`;
weights are used as given (Magenta's `weighted_instance_norm`).
`style_index` is a scalar or `[B]`. The style names and the signatures are
written to `assets.extra/model_config.json` beside the SavedModel.

The TFLite model follows Magenta's `image_stylization_convert_tflite`: a
fixed `[1, 384, 384, 3]` float32 image in [0, 1] and `style_weights` `[N]`,
optionally with dynamic-range weight quantisation (`stylize_quantized.tflite`).
"""

import dataclasses
import json
import os
import typing

import numpy as np

from magenta_style import onnx_export
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.stylization import runner as runner_lib

SIGNATURE_DOC = {
    "serving_default": "image float32 [B,H,W,3] in [0,1], style_weights float32 [N] or [B,N] "
                       "-> stylized_image float32 [B,H,W,3] in [0,1]",
    "serving_uint8": "image uint8 [B,H,W,3], style_weights float32 [N] or [B,N] "
                     "-> stylized_image uint8 [B,H,W,3]",
    "stylize_index": "image float32 [B,H,W,3] in [0,1], style_index int32 scalar or [B] "
                     "-> stylized_image float32 [B,H,W,3] in [0,1]",
}


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """Options of `bin/export` (flags are made from these)."""

    checkpoint: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model: a shipped name (default android-26), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    export_dir: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder to write the SavedModel to (replaced atomically)."})
    tflite: bool = dataclasses.field(default=False, metadata={
        "help": "Also write a TensorFlow Lite model (fixed square input)."})
    quantize: bool = dataclasses.field(default=False, metadata={
        "help": "Quantise the TFLite model's weights (dynamic range, ~4x smaller)."})
    tflite_image_size: int = dataclasses.field(default=384, metadata={
        "help": "Side of the TFLite model's fixed square input (Magenta: 384)."})
    onnx: bool = dataclasses.field(default=False, metadata={
        "help": "Also write an ONNX model (stylize.onnx: any size, style_weights as an "
                "input; needs the onnx package). See magenta_style/onnx_export.py."})


def tflite_filename(quantize):
    """Magenta's names: `stylize.tflite` or `stylize_quantized.tflite`."""
    return "stylize_quantized.tflite" if quantize else "stylize.tflite"


def _serving_module(model):
    """A `tf.Module` holding the model and the three signature functions."""
    import tensorflow as tf

    n = model.transformer_config.num_styles

    network = runner_lib.runner(model)

    def run(image, weights):
        batch = tf.shape(image)[0]
        weights = tf.broadcast_to(tf.reshape(weights, [-1, n]), [batch, n])
        return network(image, weights)

    module = tf.Module()
    module.model = model
    names = list(model.style_names)
    module.style_names = tf.Variable(names, trainable=False, name="style_names")

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="image"),
        tf.TensorSpec(None, tf.float32, name="style_weights")])
    def serve(image, style_weights):
        return {"stylized_image": run(image, style_weights)}

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.uint8, name="image"),
        tf.TensorSpec(None, tf.float32, name="style_weights")])
    def serve_uint8(image, style_weights):
        out = run(tf.cast(image, tf.float32) / 255.0, style_weights)
        return {"stylized_image": tf.cast(tf.round(out * 255.0), tf.uint8)}

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="image"),
        tf.TensorSpec(None, tf.int32, name="style_index")])
    def serve_index(image, style_index):
        batch = tf.shape(image)[0]
        index = tf.broadcast_to(tf.reshape(style_index, [-1]), [batch])
        tf.debugging.assert_less(index, n, message="style_index out of range")
        tf.debugging.assert_non_negative(index, message="style_index out of range")
        return {"stylized_image": run(image, tf.one_hot(index, n))}

    module.serve = serve
    module.serve_uint8 = serve_uint8
    module.serve_index = serve_index
    return module


def _tflite_bytes(model, image_size, quantize):
    """Magenta-style TFLite flatbuffer: `[1, S, S, 3]` image, `[N]` weights."""
    import tensorflow as tf

    n = model.transformer_config.num_styles

    @tf.function(input_signature=[
        tf.TensorSpec([1, image_size, image_size, 3], tf.float32, name="image"),
        tf.TensorSpec([n], tf.float32, name="style_weights")])
    def stylize(image, style_weights):
        return model([image, style_weights[None]], training=False)

    # The converter freezes only variables it finds on the trackable object;
    # Keras 3 wraps them, so hand it the underlying tf.Variables (without
    # this the .tflite keeps uninitialised READ_VARIABLE ops and gives NaN).
    holder = tf.Module()
    holder.tf_variables = [v.value for v in model.variables]
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [stylize.get_concrete_function()], holder)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def export_saved_model(model, export_dir, *, tflite=False, quantize=False,
                       tflite_image_size=384, num_styles=None, onnx=False):
    """Writes a SavedModel (and optionally a TFLite model) for serving.

    Args:
        model: a loaded transformer or anything `stylize.get_model` accepts
            (shipped name, model directory, Magenta checkpoint, None).
        export_dir: output folder; written to a temporary folder beside it
            and renamed into place, so it is never half-written.
        tflite: also write `stylize.tflite` (or `stylize_quantized.tflite`)
            into `export_dir`.
        quantize: dynamic-range weight quantisation of the TFLite model.
        tflite_image_size: side of the TFLite model's fixed square input.
        num_styles: optional int, checked against the model.
        onnx: also write `stylize.onnx` (`onnx_export.onnx_model`) into
            `export_dir`.

    Returns:
        `export_dir`. Load with `tf.saved_model.load(export_dir)` and call
        `.signatures["serving_default"](image=..., style_weights=...)`.
    """
    import tensorflow as tf

    # `from magenta_style import stylize` may give the function (lazy export).
    from magenta_style.stylization.api import get_model

    if not export_dir:
        raise UserError("No export folder given; pass --export_dir=FOLDER.")
    model = get_model(model, num_styles)
    module = _serving_module(model)
    meta = {
        "num_styles": model.transformer_config.num_styles,
        "style_names": list(model.style_names),
        "architecture": model.transformer_config.to_dict(),
        "signatures": SIGNATURE_DOC,
        "provenance": dict(model.provenance),
    }
    flatbuffer = _tflite_bytes(model, tflite_image_size, quantize) if tflite else None
    if tflite:
        meta["tflite"] = {"file": tflite_filename(quantize), "image_size": tflite_image_size,
                          "quantized": bool(quantize)}
    onnx_bytes = onnx_export.onnx_model(model).SerializeToString() if onnx else None
    if onnx:
        meta["onnx"] = {"file": onnx_export.FILENAME, "inputs": onnx_export.SIGNATURE_DOC}

    def write(tmp):
        tf.saved_model.save(module, tmp, signatures={
            "serving_default": module.serve.get_concrete_function(),
            "serving_uint8": module.serve_uint8.get_concrete_function(),
            "stylize_index": module.serve_index.get_concrete_function(),
        })
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        with open(os.path.join(extra, "model_config.json"), "w") as f:
            json.dump(meta, f, indent=2, default=_json_default)
            f.write("\n")
        if flatbuffer is not None:
            with open(os.path.join(tmp, tflite_filename(quantize)), "wb") as f:
                f.write(flatbuffer)
        if onnx_bytes is not None:
            with open(os.path.join(tmp, onnx_export.FILENAME), "wb") as f:
                f.write(onnx_bytes)

    atomic.write_dir(export_dir, write)
    return export_dir


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def export_from_config(config):
    """`export_saved_model` from an `ExportConfig` (the script's one call)."""
    return export_saved_model(config.checkpoint, config.export_dir, tflite=config.tflite,
                              quantize=config.quantize,
                              tflite_image_size=config.tflite_image_size,
                              num_styles=config.num_styles, onnx=config.onnx)
