"""Measures style images once and writes a style set (Magenta's tool).

    bin/create_style_dataset --style_files='styles/*.jpg' --output_file=styles.npz

Training reads the file with `magenta_style.data.style_grams.load_style_set`.
"""

import dataclasses

from magenta_style.data import style_grams
from magenta_style.errors import UserError
from magenta_style.scripts import flagutil

# Required flags are checked in main(), not with absl's required-flag
# validators: those stay registered process-wide and would break every other
# script parsed in the same process (tests).
flagutil.define_flags(style_grams.StyleSetConfig)


def main(argv):
    del argv  # Unused.
    config = flagutil.config_from_flags(style_grams.StyleSetConfig)
    for name in ("style_files", "output_file"):
        if not getattr(config, name):
            raise UserError(f"--{name} is required. Example: bin/create_style_dataset "
                            "--style_files='styles/*.jpg' --output_file=styles.npz")
    result = style_grams.create_style_set(**dataclasses.asdict(config))
    size = config.style_image_size or "native"
    print(f"Wrote {result.num_styles} styles measured at {size} px "
          f"({', '.join(result.names)}) to {config.output_file}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
