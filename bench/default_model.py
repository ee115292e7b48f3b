"""Which shipped model should `stylize` use by default: held-out numbers.

android-26 (Google's 26 styles) ships without its style images, so its
pastiches cannot be scored against their own paintings. What can be compared
on the same footing, with the project's losses (Magenta's VGG-16 layers and
weights, `magenta_style.losses.loss_terms`) on photos neither model was
trained on:

- **painting match**: for every painting of a style set (the 36 of
  `../shared/images/styles/`), the style loss of the candidate's pastiche
  for that painting against android-26's *closest* style: the one of its 26
  whose pastiches have the lowest median style loss to that painting, chosen
  on the same photos (which favours android-26);
- **content kept**: the content loss of each pastiche against its photo,
  median over photos and styles (lower keeps more of the photo).

Writes `default_model.json` (per painting and the summary) and
`default_model.jpg` (photo | candidate | android-26's closest | painting, for
`--sheet_styles`) into `--out_dir`.

    python bench/default_model.py --candidate=checkpoints/varied \
        --style_set=/tmp/styles36.npz --content_dir=../shared/images/content \
        --vgg_weights=../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 \
        --out_dir=/tmp/default_model

The style set comes from `bin/create_style_dataset --style_image_size=256`.
"""

import argparse
import glob
import json
import os

import numpy as np

from magenta_style import config
from magenta_style.data import style_grams as style_set_lib
from magenta_style.losses import loss_terms
from magenta_style.losses import vgg
from magenta_style.storage import image_io
from magenta_style.storage import model_format

CONTENT = config.MAGENTA_CONTENT_WEIGHTS
STYLE = config.MAGENTA_STYLE_WEIGHTS


def pastiches(model, photo):
    """Every style of `model` on one photo: [S, H, W, 3] float32 in [0, 1]."""
    n = len(model.style_names)
    return np.asarray(model([np.repeat(photo[None], n, axis=0), np.eye(n, dtype=np.float32)]))


def score(net, images, photo_feats, grams_by_painting):
    """Content loss [S] of `images` vs the photo's features (batch 1), and
    style loss [P, S] to each painting."""
    feats = net(images)
    photo_feats = {k: np.repeat(np.asarray(v), images.shape[0], axis=0)
                   for k, v in photo_feats.items()}
    content, _ = loss_terms.content_loss(photo_feats, feats, CONTENT, reduce_batch=False)
    style = []
    for grams in grams_by_painting:
        tiled = {k: np.repeat(v, images.shape[0], axis=0) for k, v in grams.items()}
        s, _ = loss_terms.style_loss(tiled, feats, STYLE, reduce_batch=False)
        style.append(np.asarray(s))
    return np.asarray(content), np.stack(style)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidate", default="varied", help="model trained on --style_set")
    p.add_argument("--baseline", default="android-26")
    p.add_argument("--style_set", required=True, help=".npz from bin/create_style_dataset")
    p.add_argument("--content_dir", required=True)
    p.add_argument("--vgg_weights", default="imagenet")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--max_photos", type=int, default=0)
    p.add_argument("--sheet_styles", default="starry_night_crop,the_scream,candy,mosaic,udnie,"
                   "composition_vii", help="paintings shown in the sheet")
    args = p.parse_args()

    candidate = model_format.load_model(args.candidate)
    baseline = model_format.load_model(args.baseline)
    styles = style_set_lib.load_style_set(args.style_set)
    names = list(candidate.style_names)
    all_grams = styles.grams_for(list(STYLE))
    grams_by_painting = [{k: v[styles.names.index(n)][None] for k, v in all_grams.items()}
                         for n in names]
    photos = sorted(glob.glob(os.path.join(args.content_dir, "*")))[: args.max_photos or None]
    net = vgg.build_loss_network("vgg16", "avg", args.vgg_weights,
                                 endpoints=sorted(set(CONTENT) | set(STYLE)))

    cand_content, cand_style, base_content, base_style, images = [], [], [], [], []
    for i, path in enumerate(photos):
        photo = image_io.load_image(path, max_size=args.image_size)
        ours, theirs = pastiches(candidate, photo), pastiches(baseline, photo)
        photo_feats = net(photo[None])  # once for both models
        c, s = score(net, ours, photo_feats, grams_by_painting)
        cand_content.append(c)
        cand_style.append(np.diag(s))  # each painting against its own style
        c, s = score(net, theirs, photo_feats, grams_by_painting)
        base_content.append(c)
        base_style.append(s)  # [P, 26]
        images.append((photo, ours, theirs))
        print(f"photo {i + 1}/{len(photos)}: {os.path.basename(path)}", flush=True)
    cand_style = np.stack(cand_style)  # [photos, P]
    base_style = np.stack(base_style)  # [photos, P, 26]
    cand_content = np.stack(cand_content)  # [photos, P]
    base_content = np.stack(base_content)  # [photos, 26]

    closest = np.argmin(np.median(base_style, axis=0), axis=1)  # [P]
    rows = []
    for j, name in enumerate(names):
        k = int(closest[j])
        rows.append(dict(
            painting=name, closest_baseline_style=k,
            style_candidate=float(np.median(cand_style[:, j])),
            style_baseline=float(np.median(base_style[:, j, k])),
            content_candidate=float(np.median(cand_content[:, j])),
            content_baseline=float(np.median(base_content[:, k]))))
        r = rows[-1]
        r["style_ratio"] = r["style_candidate"] / r["style_baseline"]
        print(json.dumps(r))
    ratios = np.array([r["style_ratio"] for r in rows])
    summary = {
        "candidate": args.candidate, "baseline": args.baseline, "photos": len(photos),
        "image_size": args.image_size,
        "paintings_matched_better": int(np.sum(ratios < 1)),
        "paintings": len(rows),
        "median_style_ratio": float(np.median(ratios)),
        "worst_style_ratio": float(np.max(ratios)),
        "median_content_candidate": float(np.median(cand_content)),
        "median_content_baseline": float(np.median(base_content)),
        "rows": rows,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "default_model.json"), "w") as f:
        json.dump(summary, f, indent=1)

    # The sheet: the first photo, one row per chosen painting.
    photo, ours, theirs = images[0]
    h, w = photo.shape[:2]
    sheet = []
    for name in [n for n in args.sheet_styles.split(",") if n in names]:
        j = names.index(name)
        painting = image_io.resize(
            image_io.array_to_float(styles.images[styles.names.index(name)]), (w, h))
        sheet.append(np.concatenate([photo, ours[j], theirs[closest[j]], painting], axis=1))
    if sheet:
        image_io.save_image(np.concatenate(sheet, axis=0),
                            os.path.join(args.out_dir, "default_model.jpg"))
    print(f"{summary['paintings_matched_better']} of {len(rows)} paintings matched better "
          f"(median style ratio {summary['median_style_ratio']:.2f}, worst "
          f"{summary['worst_style_ratio']:.2f}); median content loss "
          f"{summary['median_content_candidate']:.0f} vs {summary['median_content_baseline']:.0f}")


if __name__ == "__main__":
    main()
