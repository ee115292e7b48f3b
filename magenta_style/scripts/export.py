"""Export a model as a TF2 SavedModel for serving (and optionally TFLite, ONNX).

    bin/export --checkpoint=android-26 --export_dir=/tmp/stylize_savedmodel
    bin/export --checkpoint=model.ckpt --num_styles=32 --export_dir=out --tflite --quantize
    bin/export --checkpoint=arbitrary-v1 --export_dir=out --tflite
    bin/export --export_dir=out --tflite --int8 --calibration_images=photos/
    bin/export --checkpoint=android-26 --export_dir=out --onnx   # also out/stylize.onnx

Signatures: `serving_default` (float image in [0, 1], style_weights [N] or
[B, N]), `serving_uint8` (uint8 image), `stylize_index` (style index); for
arbitrary-v1 `serving_default` (image, style_vector), `stylize_style_image`
(image, style image) and `predict_style_vector`, and with --tflite Magenta's
predictor/transformer pair. See docs/stylize.md.
"""

from absl import flags

from magenta_style.export import ExportConfig
from magenta_style.export import export_from_config
from magenta_style.scripts import flagutil

flagutil.define_flags(ExportConfig)  # export_dir is checked by the library
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise flags.Error(f"Unexpected arguments: {argv[1:]}")
    config = flagutil.config_from_flags(ExportConfig)
    path = export_from_config(config)
    print(f"wrote {path}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
