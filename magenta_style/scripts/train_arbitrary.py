"""Trains an arbitrary-style model: any painting as a style (Magenta's arbitrary training).

    bin/train_arbitrary --train_dir=/tmp/arb --style_images=../shared/images/styles/ \
        --content_images=../shared/images/train/ --predictor=inception_v3 \
        --predictor_weights=/path/to/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5

    bin/train_arbitrary --train_dir=/tmp/arb_mobile --predictor=mobilenet_v2 \
        --init_from=arbitrary-v1 --style_images=../shared/images/styles/ \
        --content_images=../shared/images/train/

Rerunning the same command resumes from the last checkpoint in --train_dir.
The model is written to <train_dir>/model; `stylize(style_image=...,
model=<train_dir>/model)` uses it. Under KERAS_BACKEND=jax it needs no
TensorFlow (docs/training.md).
"""

from magenta_style.scripts import flagutil
from magenta_style.training import arbitrary
from magenta_style.training import config as train_config

# Required inputs are checked by train_arbitrary() (absl validators are process-wide).
flagutil.define_flags(train_config.ArbitraryTrainConfig)


def main(argv):
    del argv  # Unused.
    config = flagutil.config_from_flags(train_config.ArbitraryTrainConfig)
    model = arbitrary.train_arbitrary(config)  # Ctrl-C: checkpoint saved, exit 130.
    print(f"Trained an arbitrary-style model ({config.predictor} predictor) for "
          f"{model.provenance['steps']} steps; model written to "
          f"{config.model_dir or config.train_dir + '/model'}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
