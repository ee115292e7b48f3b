"""Styles in regions: how far each region is from its single-style pastiche, and the docs' pictures.

Measures, on real photos and the shipped android-26 model, the mean absolute
difference (RGB in [0, 1]) between a two-region pastiche (left half style A,
right half style B, a hard seam at the middle) and the single-style pastiche
of each pixel's own style, in bands of distance from the seam, for both
ways of normalising (`--region_statistics`):

- per_style: each pixel normalised with its style's own whole-image
  statistics (the default);
- shared: with the statistics of the mixed map itself.

It also times the masked paths against the ordinary one in the same run
(ratios; the machine is shared), and writes the pictures of docs/stylize.md
("Styles in regions"): one photo with two and with three regions, and maps
of the difference from the single-style pastiches.

    python bench/regions.py --content_dir=../shared/images/content \
        --out_dir=docs/images --size=384

With `--paintings=a.jpg,b.jpg,...` it measures the same table for
arbitrary-v1, one painting per half (the paintings taken in pairs).
"""

import argparse
import os
import sys
import time

import numpy as np

# Run from a checkout: this repository's package, not an installed one.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from magenta_style.storage import image_io
from magenta_style.stylization import api
from magenta_style.stylization import grid
from magenta_style.stylization import regions

PHOTOS = ("chicago", "golden_gate", "newyork", "sailboat", "eiffel_tower", "flowers")
PAIRS = ((19, 13), (3, 14), (7, 20), (1, 8))
BANDS = ((0, 8), (8, 16), (16, 32), (32, 64), (64, 10_000))
MODES = regions.STATISTICS
# The docs' picture: chicago's sky, its buildings, and the park and lake.
SKY, CITY, GROUND = 19, {10: 0.5, 13: 0.5}, 14
OVERLAY = np.array([[0.3, 0.5, 1.0], [1.0, 0.6, 0.1], [0.2, 0.8, 0.3]], np.float32)


def _rows(model, styles):
    """Style rows: parsed from a list of styles, or given (`[K, 100]` style vectors)."""
    if isinstance(styles, np.ndarray):
        return styles
    return regions.parse_region_styles(styles, model.transformer_config.num_styles).weights


def run(model, photo, masks, styles, statistics):
    """The masked pastiche, float `[H, W, 3]` (stylize's own path, before uint8)."""
    region = regions.Regions.from_masks(masks)
    out = api.stylize_array(model, photo, _rows(model, styles), region_weights=region.weights,
                            region_statistics=statistics)
    return region.show_photo(out, photo)[0]


def singles(model, photo, styles):
    """`[K, H, W, 3]`: each region's style (or mixture) over the whole photo."""
    return api.stylize_array(model, photo, _rows(model, styles))


def seam_distances(model, photos, pairs=PAIRS):
    """`{mode: {band: [mean |diff| per photo and pair]}}` and the styles' own gap."""
    found = {mode: {band: [] for band in BANDS} for mode in MODES}
    gaps = []
    for photo in photos:
        h, w = photo.shape[:2]
        masks = np.zeros((h, w, 2), np.float32)
        masks[:, : w // 2, 0] = 1
        masks[:, w // 2:, 1] = 1
        distance = np.abs(np.arange(w) + 0.5 - w / 2)  # columns from the seam
        for pair in pairs:
            pair = pair if isinstance(pair, np.ndarray) else list(pair)
            ref = singles(model, photo, pair)
            reference = np.where(masks[..., :1] > 0, ref[0], ref[1])
            gaps.append(np.abs(ref[0] - ref[1]).mean())
            for mode in MODES:
                diff = np.abs(run(model, photo, masks, pair, mode) - reference).mean((0, 2))
                for lo, hi in BANDS:
                    cols = (distance >= lo) & (distance < hi)
                    if cols.any():
                        found[mode][(lo, hi)].append(diff[cols].mean())
    return found, float(np.mean(gaps))


def timing(model, photo, repeats):
    """Fastest of `repeats` rounds, seconds: one style, two regions per_style, shared.

    The fastest, not the median: on a shared machine the others measure the load.
    """
    h, w = photo.shape[:2]
    masks = np.zeros((h, w, 2), np.float32)
    masks[:, : w // 2, 0] = 1
    masks[:, w // 2:, 1] = 1
    cases = {"single style (ordinary path)": lambda: api.stylize_array(
                 model, photo, np.eye(26, dtype=np.float32)[[3]])}
    for mode in MODES:
        cases[f"two regions, {mode}"] = (
            lambda mode=mode: run(model, photo, masks, [3, 14], mode))
    times = {name: [] for name in cases}
    for _ in range(repeats + 1):  # the first round traces
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.min(t[1:])) for name, t in times.items()}


def sky_mask(photo, soft=9):
    """Chicago's sky: per column, rows from the top until the first non-sky pixel.

    Sky is bright and not warmer than it is blue (clouds included); the
    skyline is median-filtered across columns, then the mask is blurred
    `soft` pixels for a soft edge.
    """
    h, w = photo.shape[:2]
    luminance = photo @ np.array([0.299, 0.587, 0.114], np.float32)
    skyish = (luminance > 0.55) & (photo[..., 2] >= photo[..., 0] - 0.02)
    first = np.where(skyish.all(0), h, np.argmin(skyish, axis=0))
    padded = np.pad(first, 7, mode="edge")
    skyline = np.array([np.median(padded[i:i + 15]) for i in range(w)])
    mask = (np.arange(h)[:, None] < skyline[None]).astype(np.float32)
    return _blur(mask, soft)


def _blur(mask, size):
    """Box blur of `[H, W]`, `size` pixels (odd), edges replicated."""
    k = size // 2
    out = np.pad(mask, k, mode="edge")
    out = np.cumsum(np.cumsum(np.pad(out, ((1, 0), (1, 0))), 0), 1)
    return ((out[size:, size:] - out[:-size, size:] - out[size:, :-size] + out[:-size, :-size])
            / size ** 2).astype(np.float32)


def overlay(photo, masks):
    colours = masks @ OVERLAY[: masks.shape[-1]]
    return 0.45 * photo + 0.55 * np.clip(colours, 0, 1)


def heat(diff, scale=3.0):
    """`|difference|` (mean over RGB) as a dark-to-yellow map, x `scale`."""
    d = np.clip(diff.mean(-1) * scale, 0, 1)[..., None]
    return np.concatenate([np.clip(2 * d, 0, 1), d, 0.2 * (1 - d)], -1)


def pictures(model, content_dir, out_dir, size):
    photo = image_io.load_image(os.path.join(content_dir, "chicago.jpg"), max_size=size)
    h = photo.shape[0]
    sky = sky_mask(photo)
    ground = np.zeros_like(sky)
    ground[int(0.84 * h):] = 1
    ground = _blur(ground, 9) * (1 - sky)
    two = np.stack([sky, 1 - sky], -1)
    three = np.stack([sky, np.clip(1 - sky - ground, 0, 1), ground], -1)
    rows, labels = [], None
    for masks, styles in ((two, [SKY, CITY]), (three, [SKY, CITY, GROUND])):
        ref = singles(model, photo, styles)
        reference = np.take_along_axis(ref, masks.argmax(-1)[None, ..., None], 0)[0]
        per_style = run(model, photo, masks, styles, "per_style")
        shared = run(model, photo, masks, styles, "shared")
        rows.append([overlay(photo, masks), per_style, shared,
                     heat(per_style - reference), heat(shared - reference)])
    labels = ["regions", "per_style (default)", "shared", "|per_style - single| x3",
              "|shared - single| x3"]
    gap = 4
    white = np.ones((photo.shape[0], gap, 3), np.float32)
    lines = [np.concatenate([part for cell in row for part in (cell, white)], 1) for row in rows]
    band = grid.label_band(labels, photo.shape[1] + gap)
    sheet = np.concatenate([band] + [part for line in lines
                                     for part in (line, np.ones((gap,) + line.shape[1:]))], 0)
    path = os.path.join(out_dir, "regions_chicago.jpg")
    image_io.save_image(sheet, path)
    # The masks as files, for the docs' bin/stylize example.
    for name, m in (("sky", two[..., 0]), ("city", two[..., 1])):
        image_io.save_image(np.repeat(m[..., None], 3, -1),
                            os.path.join(out_dir, f"regions_mask_{name}.png"))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content_dir", default="../shared/images/content")
    parser.add_argument("--out_dir", default="docs/images")
    parser.add_argument("--size", type=int, default=384, help="longer side of the photos")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds")
    parser.add_argument("--paintings", default="",
                        help="instead: arbitrary-v1 with these paintings (comma-separated "
                             "paths, taken in pairs), the seam table only")
    args = parser.parse_args()
    if args.paintings:
        return painting_table(args)
    model = api.get_model("android-26")
    os.makedirs(args.out_dir, exist_ok=True)
    print("wrote", pictures(model, args.content_dir, args.out_dir, args.size))
    photos = [image_io.load_image(os.path.join(args.content_dir, f"{p}.jpg"), max_size=args.size)
              for p in PHOTOS]
    found, gap = seam_distances(model, photos)
    print(f"\n{len(photos)} photos x {len(PAIRS)} style pairs {PAIRS}, longer side {args.size}; "
          f"mean |A - B| between the two single-style pastiches: {gap:.4f}\n")
    print("| distance from the seam (px) | " + " | ".join(MODES) + " |")
    print("| --- |" + " ---: |" * len(MODES))
    print_table(found)
    times = timing(model, photos[0], args.repeats)
    base = times["single style (ordinary path)"]
    print(f"\ntime on {photos[0].shape[1]}x{photos[0].shape[0]}, fastest of {args.repeats}:")
    for name, t in times.items():
        print(f"  {name}: {t * 1000:.0f} ms ({t / base:.2f}x)")


def print_table(found):
    for band in BANDS:
        name = f"{band[0]}-{band[1]}" if band[1] < 10_000 else f">= {band[0]}"
        print(f"| {name} | " + " | ".join(
            f"{np.mean(found[m][band]):.4f} (max {np.max(found[m][band]):.4f})"
            for m in MODES) + " |")


def painting_table(args):
    """The seam table for arbitrary-v1, one painting per half (pairs of `--paintings`)."""
    model = api.get_model("arbitrary-v1")
    paths = [p.strip() for p in args.paintings.split(",") if p.strip()]
    vectors = api.style_vectors(paths, model)
    pairs = [vectors[i:i + 2] for i in range(0, len(paths) - 1, 2)]
    photos = [image_io.load_image(os.path.join(args.content_dir, f"{p}.jpg"), max_size=args.size)
              for p in PHOTOS]
    found, gap = seam_distances(model.transformer, photos, pairs)
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    print(f"\narbitrary-v1, {len(photos)} photos x {len(pairs)} painting pairs {names}, "
          f"longer side {args.size}; mean |A - B| between the two pastiches: {gap:.4f}\n")
    print("| distance from the seam (px) | " + " | ".join(MODES) + " |")
    print("| --- |" + " ---: |" * len(MODES))
    print_table(found)


if __name__ == "__main__":
    main()
