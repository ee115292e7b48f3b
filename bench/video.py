"""Flicker and speed of each `--temporal` method (run by hand; not a test).

    .venv/bin/python bench/video.py                       # ~5 min on 2 loaded cores
    .venv/bin/python bench/video.py --size=360,640 --frames=48 --styles=0,5,14 \
        --strip=docs/images/video_strip.jpg --memory

Makes two clips from a photo of ../shared/images/content (a pan of `--shift`
px per frame, and a 2 %-per-frame zoom), encodes them as H.264 and decodes
them again (so the frames carry real compression noise), stylizes them with
the shipped android-26 model through `video.api.FrameStylizer` for every
method, and prints per method and style:

- pan flicker: `flicker.pan_flicker`, aligned by the known shift, and its
  whole-frame colour part (`flicker.pan_global_flicker`);
- zoom flicker: `flicker.flow_flicker`, aligned by Farneback flow of the
  input (not DIS, which the flow method itself uses);
- change: mean |output - per-frame output|, how far the method moves away
  from the per-frame pastiche (a method that blurred everything would also
  flicker less; this shows it);
- ms/frame of the network plus the method (frames in memory, batches of
  `--batch_size`, after one warm-up run that compiles), the median over
  `--rounds` rounds in which the methods take turns, so machine load hits
  all alike. Compare ratios within one run; the machine is shared.

With `--memory` it also runs `stylize_video` file to file in fresh processes
on a short and a 4x longer clip and prints their peak memory (streaming: it
should not grow with the length).
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

MODES = ("none", "ema", "flow", "ema+flow")


def _clips(args, out_dir):
    from magenta_style.storage import image_io
    from magenta_style.video import io as video_io
    from magenta_style.video import synthetic

    photo = image_io.to_uint8(image_io.load_image(args.photo))
    size = tuple(args.size)
    pan = synthetic.pan_frames(photo, size, args.frames, args.shift)
    zoom = synthetic.zoom_frames(photo, size, args.frames, 1.02)
    clips = {}
    for name, frames in (("pan", pan), ("zoom", zoom)):
        path = os.path.join(out_dir, f"{name}.mp4")
        synthetic.write_clip(path, frames, rate=24)
        clips[name] = video_io.read_frames(path)
    return clips


def _run(stylizer, frames, batch):
    stylizer.reset()
    return np.concatenate([stylizer(frames[i:i + batch]) for i in range(0, len(frames), batch)])


def measure(args):
    from magenta_style.stylization import api as stylize_api
    from magenta_style.video import api
    from magenta_style.video import flicker

    os.makedirs(args.out_dir, exist_ok=True)
    clips = _clips(args, args.out_dir)
    model = stylize_api.get_model(args.checkpoint)
    results = []
    outputs = {}
    for style in args.styles:
        stylizers = {mode: api.FrameStylizer(model, style, temporal=mode) for mode in args.modes}
        for stylizer in stylizers.values():
            _run(stylizer, clips["pan"][:args.batch_size], args.batch_size)  # compile
        times = {mode: [] for mode in args.modes}
        for _ in range(args.rounds):
            for mode, stylizer in stylizers.items():
                start = time.perf_counter()
                out = _run(stylizer, clips["pan"], args.batch_size)
                times[mode].append((time.perf_counter() - start) / len(out))
                outputs[(style, mode, "pan")] = out
        for mode, stylizer in stylizers.items():
            outputs[(style, mode, "zoom")] = _run(stylizer, clips["zoom"], args.batch_size)
        for mode in args.modes:
            pan, zoom = outputs[(style, mode, "pan")], outputs[(style, mode, "zoom")]
            ref = outputs[(style, "none", "pan")] if "none" in args.modes else pan
            results.append({
                "style": style, "mode": mode,
                "pan_flicker": flicker.pan_flicker(pan, args.shift),
                "pan_global": flicker.pan_global_flicker(pan, args.shift),
                "zoom_flicker": flicker.flow_flicker(clips["zoom"], zoom)[0],
                "change": float(np.abs(pan.astype(np.float32) - ref).mean()),
                "ms_per_frame": 1000 * float(np.median(times[mode])),
            })
    floors = {"pan_input": flicker.pan_flicker(clips["pan"], args.shift),
              "zoom_input": flicker.flow_flicker(clips["zoom"], clips["zoom"])[0]}
    return results, floors, clips, outputs


def report(results, floors):
    by_mode = {}
    for r in results:
        by_mode.setdefault(r["mode"], []).append(r)
    base = by_mode.get("none")
    print(f"inputs' own flicker: pan {floors['pan_input']:.2f}, zoom {floors['zoom_input']:.2f} "
          "(grey levels)")
    print("| method | pan flicker | x per-frame | pan, whole-frame part | zoom flicker | "
          "x per-frame | change | ms/frame | x per-frame time | frames/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, rows in by_mode.items():
        mean = {k: float(np.mean([r[k] for r in rows]))
                for k in ("pan_flicker", "pan_global", "zoom_flicker", "change",
                          "ms_per_frame")}
        ref = ({k: float(np.mean([r[k] for r in base])) for k in mean} if base else mean)
        print(f"| {mode} | {mean['pan_flicker']:.2f} | "
              f"{mean['pan_flicker'] / ref['pan_flicker']:.2f} | {mean['pan_global']:.2f} | "
              f"{mean['zoom_flicker']:.2f} | "
              f"{mean['zoom_flicker'] / ref['zoom_flicker']:.2f} | {mean['change']:.2f} | "
              f"{mean['ms_per_frame']:.1f} | {mean['ms_per_frame'] / ref['ms_per_frame']:.2f} | "
              f"{1000 / mean['ms_per_frame']:.1f} |")


def save_strip(clips, outputs, style, path, step, shift, columns=5):
    """Rows: input, per-frame, flow (the default), then each one's flicker map.

    Every `step`-th frame of the pan. A flicker map is |out[t] - out[t-1]
    moved by the pan| (x4, grey): what `pan_flicker` averages; black = steady.
    """
    from magenta_style.storage import image_io
    from magenta_style.stylization import grid

    frames = clips["pan"]
    picks = list(range(max(1, step), len(frames), step))[:columns]
    modes = [m for m in ("none", "flow") if (style, m, "pan") in outputs]
    rows = [[frames[i] for i in picks]]
    rows += [[outputs[(style, m, "pan")][i] for i in picks] for m in modes]
    for m in modes:
        out = outputs[(style, m, "pan")].astype(np.float32)
        maps = []
        for i in picks:
            diff = np.zeros_like(out[i])
            diff[:, :-shift] = np.abs(out[i][:, :-shift] - out[i - 1][:, shift:])
            maps.append(np.clip(diff.mean(-1, keepdims=True) * 4, 0, 255).repeat(3, -1))
        rows.append(maps)
    h, w = frames.shape[1:3]
    side = max(h, w)
    cells = [[grid.fit_cell(np.asarray(f, np.float32) / 255.0, side) for f in row]
             for row in rows]
    image = grid.assemble(cells, side, gap=4)
    # Cells are square; keep only the frame band of each row.
    top = (side - h) // 2
    keep = np.concatenate([np.arange(r * (side + 4) + top, r * (side + 4) + top + h + 4)
                           for r in range(len(rows))])
    image_io.save_image(image_io.to_uint8(image[keep[keep < image.shape[0]]]), path, quality=85)
    print(f"wrote {path}: rows input / {' / '.join(modes)} / their flicker maps, "
          f"frames {picks}")


def memory(args):
    """Peak RSS of stylize_video in a fresh process on a short and a 4x longer clip."""
    from magenta_style.storage import image_io
    from magenta_style.video import synthetic

    photo = image_io.to_uint8(image_io.load_image(args.photo))
    peaks = {}
    for frames in (args.frames, 4 * args.frames):
        src = os.path.join(args.out_dir, f"long{frames}.mp4")
        synthetic.write_clip(src, synthetic.zoom_frames(photo, tuple(args.size), frames, 1.005))
        code = ("import resource, magenta_style as m; "
                f"m.stylize_video({src!r}, {src[:-4] + '_out.mp4'!r}, 5, progress=False); "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                             check=True)
        peaks[frames] = int(out.stdout.split()[-1]) / 1024
        print(f"stylize_video file to file, {frames} frames: peak RSS {peaks[frames]:.0f} MB, "
              f"{time.perf_counter() - start:.1f} s with start-up")
    return peaks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", default=os.path.join(REPO, "..", "shared", "images",
                                                        "content", "chicago.jpg"))
    parser.add_argument("--size", type=lambda s: [int(v) for v in s.split(",")],
                        default=[240, 320], help="H,W")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--shift", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--styles", type=lambda s: [int(v) for v in s.split(",")],
                        default=[0, 5, 14])
    parser.add_argument("--modes", type=lambda s: s.split(","), default=list(MODES))
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--out_dir", default="/tmp/magenta_style_video_bench")
    parser.add_argument("--strip", default=None, help="write a film strip image here")
    parser.add_argument("--json", default=None)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    results, floors, clips, outputs = measure(args)
    report(results, floors)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "floors": floors}, f, indent=1)
    if args.strip:
        save_strip(clips, outputs, args.styles[0], args.strip, max(1, args.frames // 5),
                   args.shift)
    if args.memory:
        memory(args)


if __name__ == "__main__":
    main()
