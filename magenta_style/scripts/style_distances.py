r"""Prints the L2 distances between a model's style embeddings.

A style's embedding is its conditional-instance-norm gamma and beta from every
layer, concatenated (see magenta_style.studio.style_map).

    bin/style_distances --checkpoint=android-26 [--format=table|json]
    bin/style_distances --style_images=../shared/images/styles   # paintings' style vectors
    bin/style_distances --checkpoint=varied --style_images=a.jpg,b.jpg   # both, side by side
"""

from magenta_style.scripts import flagutil
from magenta_style.studio import style_map

flagutil.define_flags(style_map.StyleDistancesConfig)


def main(argv):
    del argv
    print(style_map.distances_report(
        flagutil.config_from_flags(style_map.StyleDistancesConfig)))


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
