"""Fine-tunes a trained network on new styles (Magenta's image_stylization_finetune).

    bin/finetune --checkpoint=models/varied --style_images='new/*.jpg' --train_dir=/tmp/ft
    bin/finetune --checkpoint=models/varied --style_images='new/*.jpg' --train_dir=/tmp/ft \
        --append

Only the conditional-instance-norm gamma/beta train; the convolutions stay
frozen. Without --append the new styles replace the old ones (Magenta); with
it the old styles are kept bit-identical and the new ones are added.
"""

from absl import flags

from magenta_style.errors import UserError
from magenta_style.scripts import flagutil
from magenta_style.training import config as train_config
from magenta_style.training import loop

# Required inputs are checked in main/train() (absl validators are process-wide).
flagutil.define_flags(train_config.TrainConfig, exclude=("init_from",))
if "checkpoint" not in flags.FLAGS:
    flags.DEFINE_string("checkpoint", None, "Model to fine-tune: a model directory, a "
                        "shipped model name, or a Magenta checkpoint.")
FLAGS = flags.FLAGS


def main(argv):
    del argv  # Unused.
    if not FLAGS.checkpoint:
        raise UserError("--checkpoint is required: the model to fine-tune (a model "
                        "directory, a shipped model name or a Magenta checkpoint).")
    config = flagutil.config_from_flags(train_config.TrainConfig, init_from=FLAGS.checkpoint)
    model = loop.train(config)  # Ctrl-C: checkpoint saved, exit 130 (flagutil.run).
    print(f"Model with {len(model.style_names)} styles ({', '.join(model.style_names)}) "
          f"written to {config.model_dir or config.train_dir + '/model'}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
