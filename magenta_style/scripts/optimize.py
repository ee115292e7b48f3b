"""Optimisation-based style transfer (Gatys et al.; neural-style's knobs).

    bin/optimize --content_image=photo.jpg --style_images=starry.jpg --output=out.png
    bin/optimize --preset=neural_style --content_image=photo.jpg --style_images=starry.jpg \
        --output=out.png
    bin/optimize --content_image=photo.jpg --style_images=a.jpg,b.jpg \
        --style_blend_weights=0.75,0.25 --style_scales=1,0.5 --output=out.png \
        --image_size=512 --style_layers=relu1_1,relu2_1,relu3_1 --num_scales=2

Every option of `magenta_style.optimization.config.OptimizeConfig` is a flag; only the
flags given on the command line override the preset's values (`--preset`,
default `default`: the dataclass's defaults).
"""

import dataclasses
import glob
import os

from absl import flags

from magenta_style.errors import UserError
from magenta_style.optimization.config import OptimizeConfig
from magenta_style.optimization.gatys import optimize
from magenta_style.scripts import flagutil
from magenta_style.storage import atomic
from magenta_style.storage import image_io

flagutil.define_flags(OptimizeConfig)
if "content_image" not in flags.FLAGS:
    flags.DEFINE_string("content_image", None, "The photo.")
if "style_images" not in flags.FLAGS:
    flags.DEFINE_list("style_images", None, "Comma-separated style images (globs allowed).")
if "output" not in flags.FLAGS:
    flags.DEFINE_string("output", None, "Output image path (.png, .jpg, ...).")
if "preset" not in flags.FLAGS:
    flags.DEFINE_string(
        "preset", "default", "Defaults to start from: default (Magenta's objective from the "
        "photo, L-BFGS to convergence) or neural_style (jcjohnson's neural-style's settings "
        "and units). Flags given override it.")
FLAGS = flags.FLAGS
# Given as names ("relu1_1,relu2_1") or a dict literal; optimize() parses them.
_RAW = ("content_layers", "style_layers")


def _style_paths(value):
    items = value.split(",") if isinstance(value, str) else list(value or [])
    paths = []
    for item in (i.strip() for i in items if i.strip()):
        paths += sorted(glob.glob(item)) if any(c in item for c in "*?[") else [item]
    return paths


def check_output(path):
    """Refuses an output path that cannot be written, before any work.

    Raises:
        UserError: an unknown image extension, a folder at `path`, a file
            where a parent folder should be, or a parent folder not writable.
    """
    image_io.check_extension(path)
    if os.path.isdir(path):
        raise UserError(f"--output names a folder; give an image file path. Received: {path}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UserError(f"--output cannot be written: {parent} is a file, not a folder. "
                        f"Received: {path}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--output cannot be written: no permission to write in {parent}. "
                        f"Received: {path}")


def main(argv):
    if len(argv) > 1:
        raise UserError(f"Unexpected arguments {argv[1:]}; every option is a --flag=value "
                        f"(see --help).")
    for name in ("content_image", "style_images", "output"):
        if not FLAGS[name].value:
            raise UserError(f"--{name} is required.")
    check_output(FLAGS.output)
    styles = _style_paths(FLAGS.style_images)
    if not styles:
        raise UserError(f"--style_images matched no file. Received: {FLAGS.style_images!r}")
    atomic.check_not_inputs([FLAGS.output], [FLAGS.content_image, *styles], "--output")
    # Flags not given keep OptimizeConfig's defaults, even when another script
    # in this process defined a flag of the same name with its own default.
    defaults = OptimizeConfig.from_preset(FLAGS.preset)
    overrides = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(OptimizeConfig)
                 if not FLAGS[f.name].present}
    overrides.update({n: FLAGS[n].value for n in _RAW if FLAGS[n].present})
    config = flagutil.config_from_flags(OptimizeConfig, **overrides)
    result = optimize(FLAGS.content_image, styles, config)
    try:
        image_io.save_image(result.image, FLAGS.output)
    except OSError as e:  # e.g. the folder went away or filled up while optimising
        raise UserError(f"Cannot write --output {FLAGS.output}: {e.strerror or e}.") from None
    last = result.history[-1] if result.history else {}
    print(f"Wrote {FLAGS.output} after {len(result.history)} iterations "
          f"(loss {last.get('total_loss', float('nan')):.5g}, {last.get('stop', 'no iterations')})")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
