"""Loss curves from training's `metrics.jsonl` as a PNG (Pillow only).

Under TensorFlow, TensorBoard draws the curves; under JAX (the accelerator
path) training has no TensorBoard, and the runs of at most 10 minutes each
bring back their own `metrics.jsonl`. `read_metrics` joins such files (plain
or gzipped) by step, and `plot_curves` draws chosen scalars against the step
on a log scale, so the curve of a whole run is one image. Pillow is already
a dependency; a plotting library would be a large one for a line chart.
"""

import dataclasses
import glob
import gzip
import math
import os
import zlib

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from magenta_style import checks
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import json_file

DEFAULT_KEYS = ("losses/total_loss", "losses/total_content_loss", "losses/total_style_loss")
# Distinguishable on white, also in greyscale print (Okabe-Ito).
COLOURS = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0),
            (86, 180, 233), (0, 0, 0)]


@dataclasses.dataclass
class CurvesConfig:
    """What `bin/plot_metrics` draws (defaults live here; flags come from it)."""
    metrics: str = dataclasses.field(default="", metadata={
        "help": "metrics.jsonl files (or .jsonl.gz), comma-separated paths or globs, "
                "e.g. the files of successive accelerator runs. Later files win on "
                "repeated steps."})
    output: str = dataclasses.field(default="loss_curve.png", metadata={
        "help": "PNG to write."})
    keys: str = dataclasses.field(default=",".join(DEFAULT_KEYS), metadata={
        "help": "Scalars to draw, comma-separated (names as in metrics.jsonl, e.g. "
                "styles/<name>/total_loss)."})
    smoothing: int = dataclasses.field(default=1, metadata={
        "help": "Moving average over this many logged points (1: none)."})
    linear: bool = dataclasses.field(default=False, metadata={
        "help": "Linear y axis instead of logarithmic."})
    width: int = dataclasses.field(default=900, metadata={"help": "Image width in pixels."})
    height: int = dataclasses.field(default=450, metadata={"help": "Image height in pixels."})


def _expand(spec):
    paths = []
    for part in [p.strip() for p in str(spec).split(",") if p.strip()]:
        matches = sorted(glob.glob(part)) if glob.has_magic(part) else [part]
        if not matches or not all(os.path.isfile(m) for m in matches):
            raise UserError(f"No metrics file at {part!r}; pass metrics.jsonl files "
                            "(or .jsonl.gz) written by training.")
        paths += matches
    if not paths:
        raise UserError("No metrics files given; pass --metrics=<train_dir>/metrics.jsonl.")
    return paths


def read_metrics(spec):
    """Records of one or more metrics files, one per step, sorted by step.

    Args:
        spec: a path, glob, comma-separated list of them, or a list of paths.

    Returns:
        A list of dicts (`step` plus float scalars), ascending by step.

    Raises:
        UserError: a missing file, or a line that is not a training record.
    """
    paths = spec if isinstance(spec, (list, tuple)) else _expand(spec)
    by_step = {}
    for path in paths:
        for step, record in _records(path):
            by_step[step] = record
    return [by_step[s] for s in sorted(by_step)]


def _records(path):
    """`(step, record)` of each line of one metrics file.

    A last line cut short (no newline: a run killed while appending) is
    skipped; any other line that is not a record is one `UserError` line.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:
        raise UserError(f"Metrics file {path} is damaged or cut short "
                        f"({type(e).__name__}); it cannot be read.") from None
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json_file.loads(line, f"{path}:{number}")
            step = record["step"]
            if isinstance(step, bool) or not isinstance(step, int) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    for k, v in record.items()):
                raise TypeError("not numbers")
        except (UserError, KeyError, TypeError):
            if number == len(lines):  # the unfinished last line of a killed run
                continue
            raise UserError(f"{path}:{number} is not a training metrics record "
                            "(a JSON object of numbers with a 'step').") from None
        out.append((step, record))
    return out


def _smooth(values, window):
    if window <= 1 or len(values) < 2:
        return values
    kernel = np.ones(min(window, len(values))) / min(window, len(values))
    return np.convolve(np.pad(values, (len(kernel) - 1, 0), mode="edge"), kernel, "valid")


def _ticks(lo, hi, log):
    if log:
        first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        # 1-2-5 steps when the curves span few decades, else decades only.
        mantissas = (1, 2, 5) if last - first <= 3 else (1,)
        return [m * 10.0 ** e for e in range(first, last + 1) for m in mantissas]
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-12)))
    while (hi - lo) / step > 8:
        step *= 2
    return list(np.arange(math.floor(lo / step) * step, hi + step, step))


def plot_curves(records, output, keys=DEFAULT_KEYS, smoothing=1, log=True, width=900,
                height=450, title=None):
    """Draws `keys` of `records` against the step and writes a PNG atomically.

    Args:
        records: from `read_metrics`.
        output: path of the PNG.
        keys: scalar names; each must appear in at least one record.
        smoothing: moving-average window in logged points.
        log: logarithmic y axis (losses span decades); non-positive values
            are left out on it.
        width, height: pixels (at least 300 x 200).
        title: text above the plot (default: the step range).

    Returns:
        `output`.

    Raises:
        UserError: no records, or a key that no record has (the message lists
            the keys there are).
    """
    if not records:
        raise UserError("The metrics files hold no records; has the run logged a step yet?")
    if width < 300 or height < 200:
        raise UserError(f"The plot needs at least 300 x 200 pixels. Received: {width} x {height}")
    checks.number("width", width, 300, 20_000, integer=True)
    checks.number("height", height, 200, 20_000, integer=True)
    checks.number("smoothing", smoothing, 1, 1_000_000, integer=True)
    available = sorted({k for r in records for k in r if k != "step"})
    series = []
    for key in keys:
        if key not in available:
            shown = [k for k in available if not k.startswith("styles/")]
            raise UserError(f"No scalar {key!r} in the metrics; they have: "
                            f"{', '.join(shown)} (and styles/<name>/... per style).")
        points = [(r["step"], float(r[key])) for r in records
                  if key in r and math.isfinite(float(r[key])) and (not log or r[key] > 0)]
        if points:
            steps, values = map(np.asarray, zip(*points))
            series.append((key, steps, _smooth(values, smoothing)))
    if not series:
        raise UserError(f"None of {list(keys)} has a value that can be drawn"
                        f"{' on a log scale (all are <= 0)' if log else ''}.")

    x_lo = min(s[1].min() for s in series)
    x_hi = max(max(s[1].max() for s in series), x_lo + 1)
    y_lo = min(s[2].min() for s in series)
    y_hi = max(s[2].max() for s in series)
    if log:
        # Quarter decades, so the curves never touch the frame.
        y_lo = 10 ** (math.floor(4 * math.log10(y_lo)) / 4)
        y_hi = 10 ** (math.ceil(4 * math.log10(y_hi)) / 4)
        if y_hi <= y_lo:
            y_hi = y_lo * 10
    elif y_hi <= y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1

    font = ImageFont.load_default()
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 70, width - 20, 30, height - 40 - 14 * len(series)

    def fx(x):
        return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

    def fy(y):
        if log:
            t = (math.log10(y) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo))
        else:
            t = (y - y_lo) / (y_hi - y_lo)
        return bottom - t * (bottom - top)

    for tick in _ticks(y_lo, y_hi, log):
        if y_lo <= tick <= y_hi:
            y = fy(tick)
            draw.line([(left, y), (right, y)], fill=(225, 225, 225))
            draw.text((4, y - 6), f"{tick:.3g}", fill="black", font=font)
    for tick in _ticks(x_lo, x_hi, False):
        if x_lo <= tick <= x_hi:
            x = fx(tick)
            draw.line([(x, top), (x, bottom)], fill=(235, 235, 235))
            draw.text((x - 12, bottom + 4), f"{int(tick)}", fill="black", font=font)
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text((right - 24, bottom + 4 + 12), "step", fill="black", font=font)
    for i, (key, steps, values) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        xy = [(fx(s), fy(v)) for s, v in zip(steps, values)]
        if len(xy) == 1:
            draw.ellipse([xy[0][0] - 2, xy[0][1] - 2, xy[0][0] + 2, xy[0][1] + 2], fill=colour)
        else:
            draw.line(xy, fill=colour, width=2)
        y = bottom + 22 + 14 * i
        draw.line([(left, y + 6), (left + 24, y + 6)], fill=colour, width=3)
        draw.text((left + 30, y), key, fill="black", font=font)
    title = title or (f"steps {int(x_lo)}-{int(x_hi)}"
                      f"{', smoothed over %d points' % smoothing if smoothing > 1 else ''}"
                      f"{', log scale' if log else ''}")
    draw.text((left, 8), title, fill="black", font=font)
    return atomic.write_file(output, lambda tmp: image.save(tmp, format="PNG"), suffix=".png")


def plot_metrics(config):
    """`bin/plot_metrics`: reads `config.metrics`, writes `config.output`."""
    paths = _expand(config.metrics)
    atomic.check_output_file(config.output, "output (--output)", inputs=paths)
    records = read_metrics(paths)
    keys = tuple(k.strip() for k in str(config.keys).split(",") if k.strip())
    return plot_curves(records, config.output, keys=keys,
                       smoothing=config.smoothing, log=not config.linear,
                       width=config.width, height=config.height)
