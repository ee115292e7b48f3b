"""Trains a multi-style network from scratch (Magenta's image_stylization_train).

    bin/train_from_scratch --style_images='styles/*.jpg' --train_dir=/tmp/run \
        --content_images=tfds:coco/2017

Rerunning the same command resumes from the last checkpoint in --train_dir.
The trained model is written to <train_dir>/model.
"""

from magenta_style.scripts import flagutil
from magenta_style.training import config as train_config
from magenta_style.training import loop

# Required inputs are checked by train() (absl validators are process-wide).
flagutil.define_flags(train_config.TrainConfig, exclude=("init_from", "append"))


def main(argv):
    del argv  # Unused.
    config = flagutil.config_from_flags(train_config.TrainConfig, init_from="scratch",
                                        append=False)
    model = loop.train(config)  # Ctrl-C: checkpoint saved, exit 130 (flagutil.run).
    print(f"Trained {len(model.style_names)} styles for {model.provenance['steps']} steps; "
          f"model written to {config.model_dir or config.train_dir + '/model'}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
