"""Writes docs/images/arbitrary_contact_sheet.jpg: photos x paintings with arbitrary-v1.

    python tools/make_arbitrary_sheet.py [--shared ../shared]

The README's "Any painting as a style" image. One row per photo, one column
per painting (the paintings on top), each pastiche one forward pass of the
shipped `arbitrary-v1` at the cell size (`magenta_style.contact_sheet`).
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)  # this checkout's package

import magenta_style  # noqa: E402
from magenta_style.storage import image_io  # noqa: E402

PHOTOS = ("chicago.jpg", "golden_gate_sq.jpg", "eiffel_tower.jpg")
PAINTINGS = ("starry_night_crop.jpg", "udnie.jpg", "the_scream.jpg", "mosaic.jpg",
             "woman_with_hat_matisse.jpg", "composition_vii.jpg")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    parser.add_argument("--cell_size", type=int, default=192)
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "images",
                                                      "arbitrary_contact_sheet.jpg"))
    args = parser.parse_args()
    photos = [os.path.join(args.shared, "images", "content", p) for p in PHOTOS]
    paintings = [os.path.join(args.shared, "images", "styles", p) for p in PAINTINGS]
    sheet = magenta_style.contact_sheet(photos, style_images=paintings,
                                        cell_size=args.cell_size)
    image_io.save_image(sheet, args.out, quality=88)
    print(f"wrote {args.out} {sheet.shape}")


if __name__ == "__main__":
    main()
