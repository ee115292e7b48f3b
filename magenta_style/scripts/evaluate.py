"""Held-out losses per style and a style grid PNG (Magenta's image_stylization_evaluate).

    bin/evaluate --checkpoint=/tmp/run/model --eval_images=photos/ \
        --style_images='styles/*.jpg' --output_dir=/tmp/eval
"""

from magenta_style.scripts import flagutil
from magenta_style.training import evaluation

# Required inputs are checked by evaluate() (absl validators are process-wide).
flagutil.define_flags(evaluation.EvalConfig)


def main(argv):
    del argv  # Unused.
    config = flagutil.config_from_flags(evaluation.EvalConfig)
    result = evaluation.evaluate(config)
    width = max(len(name) for name in result["per_style"])
    print(f"{'style':<{width}}  total_loss  content  style   ({result['num_photos']} photos)")
    for name, parts in result["per_style"].items():
        print(f"{name:<{width}}  {parts['total_loss']:10.4g}  {parts['total_content_loss']:7.4g}"
              f"  {parts['total_style_loss']:7.4g}")
    if result["grid"]:
        print(f"Style grid: {result['grid']}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
