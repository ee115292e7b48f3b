r"""Draws training loss curves from metrics.jsonl files as a PNG.

    bin/plot_metrics --metrics=/tmp/run/metrics.jsonl --output=/tmp/run/loss_curve.png
    bin/plot_metrics --metrics='runs/*/metrics.jsonl.gz' --smoothing=5 \
        --keys=losses/total_style_loss,styles/starry_night/total_loss
"""

from magenta_style.scripts import flagutil
from magenta_style.training import curves

flagutil.define_flags(curves.CurvesConfig)


def main(argv):
    del argv
    print(curves.plot_metrics(flagutil.config_from_flags(curves.CurvesConfig)))


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
