"""Export a transformer for serving: a TF2 SavedModel and, optionally, TFLite.

SavedModel signatures (all images `[B, H, W, 3]`, any B and any H, W >= 5):

| signature         | inputs                                          | `stylized_image`  |
| ----------------- | ----------------------------------------------- | ----------------- |
| `serving_default` | `image` float32 in [0, 1], `style_weights` f32  | float32 in [0, 1] |
| `serving_uint8`   | `image` uint8 in [0, 255], `style_weights` f32  | uint8             |
| `stylize_index`   | `image` float32 in [0, 1], `style_index` int32  | float32 in [0, 1] |
| `stylize_regions` | `image`, `region_weights` `[B, H, W, K]`, `region_styles` `[K, N]` | float32 |

`style_weights` is `[N]` (the same mixture for every image) or `[B, N]`;
weights are used as given (Magenta's `weighted_instance_norm`).
`style_index` is a scalar or `[B]`. `stylize_regions` gives every pixel its
own mix of K style-weight rows (`stylization.regions`: styles in regions;
`region_weights` should sum to 1 per pixel; `region_styles = eye(N)` makes
them per-pixel style weights), each pixel normalised with its styles' own
whole-image statistics (one extra pass per row). The style names and the signatures are
written to `assets.extra/model_config.json` beside the SavedModel.

The TFLite model follows Magenta's `image_stylization_convert_tflite`: a
fixed `[1, 384, 384, 3]` float32 image in [0, 1] and `style_weights` `[N]`,
optionally with dynamic-range weight quantisation (`stylize_quantized.tflite`),
and with `int8` a calibrated integer model (`stylize_int8.tflite`, `export_int8`).

An arbitrary-style model (`arbitrary-v1`) exports instead (`ARBITRARY_SIGNATURE_DOC`):

- `serving_default`: `image` float32 `[B, H, W, 3]` in [0, 1] and
  `style_vector` float32 `[100]` or `[B, 100]` -> `stylized_image`;
- `stylize_style_image`: `image` and `style_image` float32 `[1 or B, h, w, 3]`
  in [0, 1] -> `stylized_image` and `style_vector`;
- `predict_style_vector`: `style_image` -> `style_vector` `[B, 100]`.

`style_image` is the painting as `magenta_style.stylization.arbitrary.
preprocess_style_image` prepares it (256 x 256 centre crop; the vector
depends on that). TFLite: Magenta's mobile pair, `arbitrary_predict.tflite`
(`[1, 256, 256, 3]` -> style vector `[1, 1, 1, 100]`) and
`arbitrary_transform.tflite` (`[1, S, S, 3]` image and `[1, 1, 1, 100]`),
the shapes of Magenta's released `.tflite` files, so apps written for those
take them.
"""

import dataclasses
import json
import numbers
import os
import typing

import numpy as np

from magenta_style import checks
from magenta_style import export_int8
from magenta_style import onnx_export
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.stylization import runner as runner_lib

# The network needs 16 pixels (it pads and downsamples by 4; see stylization.api).
MIN_TFLITE_SIZE = 16

SIGNATURE_DOC = {
    "serving_default": "image float32 [B,H,W,3] in [0,1], style_weights float32 [N] or [B,N] "
                       "-> stylized_image float32 [B,H,W,3] in [0,1]",
    "serving_uint8": "image uint8 [B,H,W,3], style_weights float32 [N] or [B,N] "
                     "-> stylized_image uint8 [B,H,W,3]",
    "stylize_index": "image float32 [B,H,W,3] in [0,1], style_index int32 scalar or [B] "
                     "-> stylized_image float32 [B,H,W,3] in [0,1]",
    "stylize_regions": "image float32 [B,H,W,3] in [0,1], region_weights float32 [B,H,W,K] "
                       "(per-pixel shares of K rows, summing to 1), region_styles float32 "
                       "[K,N] -> stylized_image float32 [B,H,W,3] in [0,1]",
}


ARBITRARY_SIGNATURE_DOC = {
    "serving_default": "image float32 [B,H,W,3] in [0,1], style_vector float32 [D] or [B,D] "
                       "-> stylized_image float32 [B,H,W,3] in [0,1]",
    "stylize_style_image": "image float32 [B,H,W,3] in [0,1], style_image float32 [1 or B,"
                           "256,256,3] in [0,1] (centre crop) -> stylized_image, style_vector",
    "predict_style_vector": "style_image float32 [B,256,256,3] in [0,1] (centre crop) "
                            "-> style_vector float32 [B,D]",
}
ARBITRARY_TFLITE_FILES = ("arbitrary_predict.tflite", "arbitrary_transform.tflite")


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """Options of `bin/export` (flags are made from these)."""

    checkpoint: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model: a shipped name (default varied), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    export_dir: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder to write the SavedModel to (new, empty, or an earlier export; "
                "replaced atomically)."})
    tflite: bool = dataclasses.field(default=False, metadata={
        "help": "Also write a TensorFlow Lite model (fixed square input)."})
    quantize: bool = dataclasses.field(default=False, metadata={
        "help": "Quantise the TFLite model's weights (dynamic range, ~4x smaller)."})
    int8: bool = dataclasses.field(default=False, metadata={
        "help": "With --tflite: also write stylize_int8.tflite, int8 convolutions "
                "calibrated on --calibration_images over every style (instance norm "
                "stays float); see magenta_style/export_int8.py."})
    calibration_images: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Photos (folder, glob, comma-separated) that calibrate --int8's ranges."})
    tflite_image_size: int = dataclasses.field(default=384, metadata={
        "help": "Side of the TFLite model's fixed square input (Magenta: 384)."})
    onnx: bool = dataclasses.field(default=False, metadata={
        "help": "Also write an ONNX model (stylize.onnx: any size, style_weights as an "
                "input; needs the onnx package). See magenta_style/onnx_export.py."})
    overwrite: bool = dataclasses.field(default=False, metadata={
        "help": "Replace an existing output folder even when it holds files magenta_style "
                "did not write (default: refuse)."})


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

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="image"),
        tf.TensorSpec([None, None, None, None], tf.float32, name="region_weights"),
        tf.TensorSpec([None, n], tf.float32, name="region_styles")])
    def serve_regions(image, region_weights, region_styles):
        return {"stylized_image": runner_lib.region_runner(model)(image, region_weights,
                                                                  region_styles)}

    module.serve = serve
    module.serve_regions = serve_regions
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

    return _convert(stylize.get_concrete_function(), [model], quantize)


def _arbitrary_serving_module(model):
    """A `tf.Module` with the arbitrary-style signatures (see the module docstring)."""
    import tensorflow as tf

    d = model.style_dim
    network = runner_lib.runner(model.transformer)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def predict(style_image):
        return model.predictor(style_image, training=False)

    def run(image, vectors):
        batch = tf.shape(image)[0]
        vectors = tf.broadcast_to(tf.reshape(vectors, [-1, d]), [batch, d])
        return network(image, vectors)

    module = tf.Module()
    module.predictor, module.transformer = model.predictor, model.transformer

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="image"),
        tf.TensorSpec(None, tf.float32, name="style_vector")])
    def serve(image, style_vector):
        return {"stylized_image": run(image, style_vector)}

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="image"),
        tf.TensorSpec([None, None, None, 3], tf.float32, name="style_image")])
    def serve_style_image(image, style_image):
        vectors = predict(style_image)
        return {"stylized_image": run(image, vectors), "style_vector": vectors}

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.float32, name="style_image")])
    def serve_predict(style_image):
        return {"style_vector": predict(style_image)}

    module.serve, module.serve_style_image = serve, serve_style_image
    module.serve_predict = serve_predict
    return module


def _convert(fn, models, quantize):
    """A TFLite flatbuffer of the concrete function `fn` over the Keras `models`' variables."""
    import tensorflow as tf

    # The converter freezes only variables it finds on the trackable object;
    # Keras 3 wraps them, so hand it the underlying tf.Variables (without
    # this the .tflite keeps uninitialised READ_VARIABLE ops and gives NaN).
    holder = tf.Module()
    holder.tf_variables = [v.value for m in models for v in m.variables]
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], holder)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _arbitrary_tflite_bytes(model, image_size, quantize):
    """Magenta's mobile pair: (predictor, transformer) flatbuffers (see the module docstring)."""
    import tensorflow as tf

    from magenta_style.stylization import arbitrary

    d, s = model.style_dim, arbitrary.STYLE_IMAGE_SIZE

    @tf.function(input_signature=[tf.TensorSpec([1, s, s, 3], tf.float32, name="style_image")])
    def predict(style_image):
        return tf.reshape(model.predictor(style_image, training=False), [1, 1, 1, d])

    @tf.function(input_signature=[
        tf.TensorSpec([1, image_size, image_size, 3], tf.float32, name="content_image"),
        tf.TensorSpec([1, 1, 1, d], tf.float32, name="style_vector")])
    def transform(content_image, style_vector):
        return model.transformer([content_image, tf.reshape(style_vector, [1, d])],
                                 training=False)

    return (_convert(predict.get_concrete_function(), [model.predictor], quantize),
            _convert(transform.get_concrete_function(), [model.transformer], quantize))


def _export_arbitrary(model, export_dir, tflite, quantize, tflite_image_size, overwrite):
    """`export_saved_model` for an `ArbitraryStyleModel`."""

    module = _arbitrary_serving_module(model)
    meta = {
        "model": model.name,
        "style_dim": model.style_dim,
        "predictor": model.predictor.predictor_config.to_dict(),
        "architecture": model.transformer.arbitrary_config.to_dict(),
        "signatures": ARBITRARY_SIGNATURE_DOC,
        "provenance": dict(model.provenance),
    }
    flatbuffers = (_arbitrary_tflite_bytes(model, tflite_image_size, quantize)
                   if tflite else None)
    if tflite:
        meta["tflite"] = {"files": list(ARBITRARY_TFLITE_FILES),
                          "image_size": tflite_image_size, "quantized": bool(quantize)}

    signatures = {
        "serving_default": module.serve.get_concrete_function(),
        "stylize_style_image": module.serve_style_image.get_concrete_function(),
        "predict_style_vector": module.serve_predict.get_concrete_function(),
    }
    return _write_export(export_dir, module, signatures, meta,
                         dict(zip(ARBITRARY_TFLITE_FILES, flatbuffers or ())), overwrite)


def export_saved_model(model, export_dir, *, tflite=False, quantize=False,
                       tflite_image_size=384, num_styles=None, onnx=False, int8=False,
                       calibration_images=None, overwrite=False):
    """Writes a SavedModel (and optionally a TFLite model) for serving.

    Args:
        model: a loaded transformer or anything `model_format.load_model` accepts
            (shipped name, model directory, Magenta checkpoint, None); an
            arbitrary-style model (`arbitrary-v1`) gets its own signatures
            and two TFLite files (module docstring).
        export_dir: output folder; written to a temporary folder beside it
            and renamed into place, so it is never half-written. An existing
            one is replaced only if it is empty or an earlier export
            (`is_export_output`), unless `overwrite`.
        tflite: also write `stylize.tflite` (or `stylize_quantized.tflite`)
            into `export_dir`.
        quantize: dynamic-range weight quantisation of the TFLite model.
        tflite_image_size: side of the TFLite model's fixed square input.
        num_styles: optional int, checked against the model.
        onnx: also write `stylize.onnx` (`onnx_export.onnx_model`) into
            `export_dir`.
        int8: with `tflite`, also write `stylize_int8.tflite`
            (`export_int8`), calibrated on `calibration_images` (a folder,
            glob or list of photos).
        overwrite: replace `export_dir` even when it holds other files.

    Returns:
        `export_dir`. Load with `tf.saved_model.load(export_dir)` and call
        `.signatures["serving_default"](image=..., style_weights=...)`.
    """

    from magenta_style.storage import model_format

    if not export_dir:
        raise UserError("No export folder given; pass --export_dir=FOLDER.")
    path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else ""
    inputs = [p for p in (path, path + ".index") if path and os.path.exists(p)]
    # Before the slow part: the folder, and that replacing it deletes no input.
    atomic.check_replaceable(export_dir, "export folder", overwrite=overwrite,
                             inputs=inputs, earlier=is_export_output)
    if isinstance(tflite_image_size, bool) or not isinstance(tflite_image_size, numbers.Integral) \
            or not MIN_TFLITE_SIZE <= tflite_image_size <= checks.MAX_SIDE:
        raise UserError(f"tflite_image_size must be an integer of at least {MIN_TFLITE_SIZE} "
                        f"(and at most {checks.MAX_SIDE}) pixels. Received: {tflite_image_size!r}")

    if int8 and not tflite:
        raise UserError("--int8 writes an int8 TFLite model: add --tflite.")
    model = model_format.load_model(model, num_styles, cached=True)
    if model_format.is_arbitrary(model):
        if int8:
            raise UserError(f"--int8 exports multi-style models only; drop it for {model.name}.")
        if onnx:
            raise UserError(f"--onnx exports multi-style models only; {model.name} (an "
                            "arbitrary-style model) exports as a SavedModel and TFLite. Drop "
                            "--onnx.")
        return _export_arbitrary(model, export_dir, tflite, quantize, tflite_image_size,
                                 overwrite)
    photos = (export_int8.calibration_photos(calibration_images, tflite_image_size)
              if int8 else None)  # before the slow part: a bad folder is one line
    module = _serving_module(model)
    meta = {
        "num_styles": model.transformer_config.num_styles,
        "style_names": list(model.style_names),
        "architecture": model.transformer_config.to_dict(),
        "signatures": SIGNATURE_DOC,
        "provenance": dict(model.provenance),
    }
    flatbuffer = _tflite_bytes(model, tflite_image_size, quantize) if tflite else None
    files = {}
    if tflite:
        meta["tflite"] = {"file": tflite_filename(quantize), "image_size": tflite_image_size,
                          "quantized": bool(quantize)}
    if int8:
        files[export_int8.FILENAME] = export_int8.int8_tflite_bytes(
            model, tflite_image_size, photos)
        meta["tflite_int8"] = {"file": export_int8.FILENAME, "image_size": tflite_image_size,
                               "calibration_photos": len(photos)}
    onnx_bytes = onnx_export.onnx_model(model).SerializeToString() if onnx else None
    if onnx:
        meta["onnx"] = {"file": onnx_export.FILENAME, "inputs": onnx_export.SIGNATURE_DOC}

    signatures = {
        "serving_default": module.serve.get_concrete_function(),
        "serving_uint8": module.serve_uint8.get_concrete_function(),
        "stylize_index": module.serve_index.get_concrete_function(),
        "stylize_regions": module.serve_regions.get_concrete_function(),
    }
    if flatbuffer is not None:
        files[tflite_filename(quantize)] = flatbuffer
    if onnx_bytes is not None:
        files[onnx_export.FILENAME] = onnx_bytes
    return _write_export(export_dir, module, signatures, meta, files, overwrite)


# A SavedModel export's names; `is_export_output` recognises exports written
# before `atomic.MARKER_FILE` by them.
_EXPORT_FILES = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets",
                           "assets.extra", tflite_filename(False), tflite_filename(True),
                           onnx_export.FILENAME, *ARBITRARY_TFLITE_FILES})


def is_export_output(directory):
    """Whether `directory` holds an export of ours and nothing else (any age)."""
    try:
        names = set(os.listdir(directory))
    except OSError:
        return False
    return ("saved_model.pb" in names and names <= _EXPORT_FILES
            and os.path.isfile(os.path.join(directory, "assets.extra", "model_config.json")))


def _write_export(export_dir, module, signatures, meta, files, overwrite):
    """Writes the SavedModel, `assets.extra/model_config.json` and `files` in one atomic step.

    `files`: {file name in the export folder: bytes} (TFLite, ONNX).
    """
    import tensorflow as tf

    def write(tmp):
        tf.saved_model.save(module, tmp, signatures=signatures)
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        with open(os.path.join(extra, "model_config.json"), "w") as f:
            json.dump(meta, f, indent=2, default=_json_default)
            f.write("\n")
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)

    atomic.write_dir(export_dir, write, overwrite=overwrite, earlier=is_export_output,
                     what="export folder")
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
                              num_styles=config.num_styles, onnx=config.onnx,
                              int8=config.int8, calibration_images=config.calibration_images,
                              overwrite=config.overwrite)
