"""Studio speed: one slider update (HTTP render request) per working size.

Not a test. Run by hand on an idle machine:

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/studio.py [--model=android-26]

Prints, for each working size, the median and 90th-percentile time of one
POST /api/render (what a slider move costs: upload excluded, PNG encoding and
HTTP included), next to the bare `stylize` call on the same photo, and the
webcam frame round trip. Also prints the load average, since other work on a
shared 2-core machine changes every wall-clock number, and the CPU time one
update uses (this process, all threads), which other work does not change:
on an idle machine with C cores an update takes at least CPU time / C.
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
    times = []
    for r in range(args.repeats + 1):
        t = time.perf_counter()
        post(background.url, f"/api/frame?weights={weights}", frame.getvalue(), "image/jpeg")
        if r:
            times.append(time.perf_counter() - t)
    size = config.webcam_size
    print(f"webcam frame {size}x{size * 3 // 4}: median {1000 * np.median(times):.0f} ms "
          f"-> at most {1 / np.median(times):.1f} fps")
    background.stop()


if __name__ == "__main__":
    main()
