"""How close a distilled student's pastiches are to its teacher's, on held-out photos.

For every photo of `--content_dir` (never trained on) under every style,
both networks' pastiches at `--image_size`; per style the mean absolute
difference (in 8-bit levels, 0-255) and the PSNR of the student against the
teacher. Writes `student_gap.json` (per style and the summary) and
`student_gap.jpg` (per photo, a row of the teacher's pastiches for
`--sheet_styles` above a row of the student's) into `--out_dir`.

    python bench/student_gap.py --student=checkpoints/varied-small --teacher=varied \
        --content_dir=../shared/images/content --out_dir=/tmp/student_gap
"""

import argparse
import glob
import json
import os

import numpy as np

from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.stylization import grid


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--student", required=True)
    p.add_argument("--teacher", default="varied")
    p.add_argument("--content_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--max_photos", type=int, default=0)
    p.add_argument("--sheet_photos", type=int, default=3)
    p.add_argument("--sheet_styles", default="starry_night_crop,the_scream,candy,mosaic,udnie,"
                   "composition_vii,black_zigzag,feathers")
    p.add_argument("--cell_size", type=int, default=160)
    args = p.parse_args()

    student = model_format.load_model(args.student)
    teacher = model_format.load_model(args.teacher)
    names = list(teacher.style_names)
    if list(student.style_names) != names:
        raise SystemExit(f"error: {args.student} and {args.teacher} have different styles.")
    photos = sorted(glob.glob(os.path.join(args.content_dir, "*")))[: args.max_photos or None]
    errors, squared, sheet = [], [], []
    for i, path in enumerate(photos):
        photo = image_io.load_image(path, max_size=args.image_size)
        theirs = grid.stylize_all(teacher, photo)
        ours = grid.stylize_all(student, photo)
        diff = (ours - theirs) * 255.0
        errors.append(np.abs(diff).mean(axis=(1, 2, 3)))  # [styles]
        squared.append((diff ** 2).mean(axis=(1, 2, 3)))
        if i < args.sheet_photos:
            sheet.append((photo, theirs, ours))
        print(f"photo {i + 1}/{len(photos)}: {os.path.basename(path)}: mean |diff| "
              f"{errors[-1].mean():.2f} levels", flush=True)
    errors, squared = np.stack(errors), np.stack(squared)  # [photos, styles]
    psnr = 10 * np.log10(255.0 ** 2 / np.maximum(squared.mean(axis=0), 1e-12))
    rows = [dict(style=n, mean_abs_levels=float(errors[:, j].mean()), psnr_db=float(psnr[j]))
            for j, n in enumerate(names)]
    order = np.argsort(errors.mean(axis=0))
    summary = {
        "student": args.student, "teacher": args.teacher, "photos": len(photos),
        "image_size": args.image_size,
        "student_provenance_steps": student.provenance.get("steps"),
        "mean_abs_levels": float(errors.mean()),
        "median_style_mean_abs_levels": float(np.median(errors.mean(axis=0))),
        "median_psnr_db": float(np.median(psnr)),
        "closest_styles": [names[j] for j in order[:3]],
        "farthest_styles": [names[j] for j in order[::-1][:3]],
        "rows": rows,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "student_gap.json"), "w") as f:
        json.dump(summary, f, indent=1)

    # Two rows per photo: the teacher's pastiches above the student's.
    chosen = [names.index(n) for n in args.sheet_styles.split(",") if n in names]
    cells = []
    for photo, theirs, ours in sheet:
        for label, images in ((photo, theirs), (None, ours)):
            first = None if label is None else grid.square_crop(label, args.cell_size)
            cells.append([first] + [grid.square_crop(images[j], args.cell_size)
                                    for j in chosen])
    if cells:
        labels = ["teacher / student"] + [names[j][:18] for j in chosen]
        image_io.save_image(grid.assemble(cells, args.cell_size, gap=4, labels=labels),
                            os.path.join(args.out_dir, "student_gap.jpg"))
    print(f"mean |student - teacher| {summary['mean_abs_levels']:.2f} levels of 255 "
          f"(median style {summary['median_style_mean_abs_levels']:.2f}); median PSNR "
          f"{summary['median_psnr_db']:.1f} dB; farthest: {', '.join(summary['farthest_styles'])}")


if __name__ == "__main__":
    main()
