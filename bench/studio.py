"""Studio speed: one slider update (HTTP render request) per working size.

Not a test. Run by hand on an idle machine:

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/studio.py [--model=android-26]

Prints, for each working size, the median and 90th-percentile time of one
POST /api/render (what a slider move costs: upload excluded, PNG encoding and
HTTP included), next to the bare `stylize` call on the same photo, the
webcam frame round trip alone and smoothed over time (a stream: optical flow
and blending, issue 19), and a render with two painted regions (issue 20)
with "shared" and "per_style" statistics beside the plain render, all in
the same run (compare ratios: the machine is shared). Also prints the load
average, since other work on a shared 2-core machine changes every
wall-clock number, and the CPU time one update uses (this process, all
threads), which other work does not change: on an idle machine with C cores
an update takes at least CPU time / C.
"""

import argparse
import dataclasses
import http.client
import io
import json
import os
import time
import urllib.parse

import numpy as np
from PIL import Image

from magenta_style.studio import server
from magenta_style.studio import thumbnails
from magenta_style.studio.config import StudioConfig
from magenta_style.stylization.api import stylize


def post(url, path, body, content_type):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    conn.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    assert response.status == 200, data[:200]
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--sizes", default="192,256,320,384,512")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    photo = (thumbnails.sample_picture(1200, 900) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG", quality=92)
    photo_bytes = buf.getvalue()
    frame = io.BytesIO()
    Image.fromarray(photo).resize((320, 240)).save(frame, format="JPEG", quality=90)

    config = dataclasses.replace(StudioConfig(checkpoint=args.model), port=0,
                                 thumbnail_size=64)
    studio, background = server.run_in_thread(config)
    n = studio.num_styles
    rng = np.random.default_rng(0)
    print(f"model {config.checkpoint or 'android-26'}, {n} styles; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'working size':>12} {'render median':>14} {'p90':>6} {'stylize median':>15} "
          f"{'CPU time per update':>20}")
    for size in sizes:
        studio.config = dataclasses.replace(studio.config, working_size=size)
        info = json.loads(post(background.url, "/api/photo?name=p.jpg", photo_bytes,
                               "image/jpeg"))
        times, bare, cpu = [], [], []
        for r in range(args.repeats + 1):
            w = np.zeros(n)
            w[rng.choice(n, 3, replace=False)] = rng.random(3) + 0.1
            body = json.dumps({"photo": info["id"], "weights": w.tolist(), "normalize": True})
            t, c = time.perf_counter(), time.process_time()
            post(background.url, "/api/render", body, "application/json")
            if r:  # the first call of a size may trace
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            t = time.perf_counter()
            stylize(studio.photo(info["id"]).working, studio.model, w, normalize_weights=True)
            if r:
                bare.append(time.perf_counter() - t)
        shape = studio.photo(info["id"]).working.shape
        print(f"{shape[1]:>5}x{shape[0]:<6} {1000 * np.median(times):>11.0f} ms "
              f"{1000 * np.percentile(times, 90):>4.0f} {1000 * np.median(bare):>12.0f} ms "
              f"{1000 * np.median(cpu):>17.0f} ms")
    weights = ",".join(["1"] + ["0"] * (n - 1))
    size = config.webcam_size
    # A pan: consecutive frames shifted by 4 pixels, so the flow has work to do.
    frames = []
    for r in range(args.repeats + 1):
        f = io.BytesIO()
        Image.fromarray(photo[:, 4 * r:4 * r + 1000]).resize((320, 240)).save(
            f, format="JPEG", quality=90)
        frames.append(f.getvalue())
    medians = {}
    # Interleaved, so load changes hit both alike.
    times = {"alone": [], "smoothed": []}
    for r, data in enumerate(frames):
        for kind, extra in (("alone", ""), ("smoothed", f"&stream=bench{'&reset=1' * (r == 0)}")):
            t = time.perf_counter()
            post(background.url, f"/api/frame?weights={weights}{extra}", data, "image/jpeg")
            if r:
                times[kind].append(time.perf_counter() - t)
    for kind, ts in times.items():
        medians[kind] = np.median(ts)
        print(f"webcam frame {size}x{size * 3 // 4}, {kind:>8}: median "
              f"{1000 * medians[kind]:.0f} ms -> at most {1 / medians[kind]:.1f} fps")
    print(f"smoothed / alone time: {medians['smoothed'] / medians['alone']:.2f}")

    studio.config = dataclasses.replace(studio.config, working_size=256)
    info = json.loads(post(background.url, "/api/photo?name=p.jpg", photo_bytes, "image/jpeg"))
    h, w = info["working_height"], info["working_width"]
    masks = np.zeros((2 * h, w), np.uint8)
    masks[:h, : w // 2] = 255
    masks[h:, w // 2:] = 255
    png = io.BytesIO()
    Image.fromarray(masks).save(png, format="PNG")
    post(background.url, f"/api/masks?photo={info['id']}", png.getvalue(), "image/png")
    rows = [np.eye(n)[3].tolist(), np.eye(n)[7].tolist()]
    bodies = {"plain": {"weights": rows[0]},
              "regions shared": {"weights": rows[0], "regions": rows},
              "regions per_style": {"weights": rows[0], "regions": rows,
                                    "region_statistics": "per_style"}}
    times = {k: [] for k in bodies}
    for r in range(args.repeats + 1):
        for kind, body in bodies.items():
            t = time.perf_counter()
            post(background.url, "/api/render", json.dumps({"photo": info["id"], **body}),
                 "application/json")
            if r:
                times[kind].append(time.perf_counter() - t)
    plain = np.median(times["plain"])
    for kind, ts in times.items():
        print(f"render {w}x{h}, {kind:>17}: median {1000 * np.median(ts):.0f} ms "
              f"({np.median(ts) / plain:.2f} x plain)")
    background.stop()


if __name__ == "__main__":
    main()
