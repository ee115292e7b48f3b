"""Stylize photos with a trained multi-style network (Magenta's `image_stylization_transform`)
or with any painting (the arbitrary-style model, Ghiasi et al.).

    bin/stylize --input_image=photo.jpg --output_dir=out --which_styles="[0,5,14]"
    bin/stylize --input_image=photos/ --output_dir=out --which_styles="{0:0.5,3:0.5}"
    bin/stylize --input_image="a.jpg,b/*.png" --output_dir=out --contact_sheet
    bin/stylize --input_image=chicago.jpg --output_dir=out --style_image=starry_night.jpg
    bin/stylize --input_image=chicago.jpg --output_dir=out \
        --style_images=starry_night.jpg,udnie.jpg --style_blend_weights=0.7,0.3

Writes `{basename}_{index}.png` per style, or `{basename}_0_500_3_500.png` for a
mixture; with paintings `{basename}_{painting}.png` (`chicago_starry_night.png`),
or `chicago_starry_night_700_udnie_300.png` for a blend. Unreadable inputs are
reported and skipped; the exit status is 1 when any input failed. Existing
outputs are kept unless --overwrite.

With --beam_pipeline_options (tensorflow-datasets' flag and syntax) the same
batch runs as an Apache Beam pipeline (`pip install magenta_style[beam]`;
docs/scale.md): local worker processes, or Flink, Spark, Dataflow.

    bin/stylize --input_image="photos/*.jpg" --output_dir=out \
        --beam_pipeline_options="direct_num_workers=2,direct_running_mode=multi_processing"
"""

import sys

from absl import flags

from magenta_style.errors import UserError
from magenta_style.scripts import flagutil
from magenta_style.stylization.api import StylizeConfig
from magenta_style.stylization.batch_files import stylize_files

# Not marked required: absl would then check them in every script of the
# process (tests import several); stylize_files says what is missing.
flagutil.define_flags(StylizeConfig)
if "beam_pipeline_options" not in flags.FLAGS:
    flags.DEFINE_string(
        "beam_pipeline_options", None,
        "Run on Apache Beam (the beam extra): comma-separated name=value pipeline options, "
        "e.g. 'runner=DirectRunner,direct_num_workers=2,direct_running_mode=multi_processing'"
        " or 'runner=DataflowRunner,project=...'; '' = local, one worker. Inputs may then "
        "also be photo lists (.txt) and TFRecords of encoded images; failed photos are "
        "listed in OUTPUT_DIR/failures.jsonl.")
FLAGS = flags.FLAGS


def stylize_on_beam(config, pipeline_options):
    try:
        from magenta_style.beam import stylize_collection
    except ImportError as e:
        if "apache_beam" not in str(e):
            raise
        raise UserError("--beam_pipeline_options needs Apache Beam: "
                        "pip install 'magenta_style[beam]'.") from None
    return stylize_collection(config, pipeline_options).failed


def main(argv):
    if len(argv) > 1:
        raise flags.Error(f"Unexpected arguments: {argv[1:]}")
    config = flagutil.config_from_flags(StylizeConfig)
    if FLAGS.beam_pipeline_options is not None:
        failures = stylize_on_beam(config, FLAGS.beam_pipeline_options)
    else:
        failures = stylize_files(config)
    if failures:
        sys.exit(1)


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
