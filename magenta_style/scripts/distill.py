"""Distils a multi-style model into a narrower one (how varied-small is made).

    bin/distill --train_dir=/tmp/small --teacher=varied --alpha=0.5 \
        --content_images=../shared/images/train/ --image_size=128 --resize_side=258

The student learns the teacher's pastiche of each photo under each of its
styles (no VGG-16 needed), starting from the teacher's weights cut to
--alpha. Rerunning the same command resumes from the last checkpoint in
--train_dir; the model is written to <train_dir>/model (docs/training.md).
"""

from magenta_style.scripts import flagutil
from magenta_style.training import config as train_config
from magenta_style.training import distill

# Required inputs are checked by distill() (absl validators are process-wide).
flagutil.define_flags(train_config.DistillConfig)


def main(argv):
    del argv  # Unused.
    config = flagutil.config_from_flags(train_config.DistillConfig)
    model = distill.distill(config)  # Ctrl-C: checkpoint saved, exit 130.
    print(f"Distilled {config.teacher} into a {len(model.style_names)}-style network at "
          f"alpha {model.transformer_config.alpha} for {model.provenance['steps']} steps; "
          f"model written to {config.model_dir or config.train_dir + '/model'}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
