"""studio: what one slider move costs in the live style studio.

Starts the studio's server in a thread and times one POST /api/render
(a mix of three styles; HTTP, the network and PNG encoding included) per
working size, then one webcam frame (/api/frame). Needs the `studio` extra.

    python -m bench studio --sizes=192,256,384
"""

import dataclasses
import http.client
import io
import json
import urllib.parse

import numpy as np

from bench import inputs


def _post(url, path, body, content_type):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status} {data[:200]!r}")
        return data
    finally:
        conn.close()


def _jpeg(array, quality=90):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((array * 255).astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def run(bench, opts):
    try:
        from magenta_style.studio import server
        from magenta_style.studio.config import StudioConfig
    except ImportError as e:
        bench.skip(f"studio extra not installed ({e})")
        return

    config = dataclasses.replace(StudioConfig(checkpoint=(opts.models or [None])[0]), port=0,
                                 thumbnail_size=32 if bench.quick else 64)
    studio, background = server.run_in_thread(config)
    try:
        n = studio.num_styles
        photo_bytes = _jpeg(inputs.photo(1200), quality=92)
        rng = np.random.default_rng(0)
        for size in opts.sizes or ((64,) if bench.quick else (192, 256, 384, 512)):
            studio.config = dataclasses.replace(studio.config, working_size=size)
            info = json.loads(_post(background.url, "/api/photo?name=p.jpg", photo_bytes,
                                    "image/jpeg"))

            def render(info=info):
                w = np.zeros(n)
                w[rng.choice(n, 3, replace=False)] = rng.random(3) + 0.1
                body = json.dumps({"photo": info["id"], "weights": w.tolist(),
                                   "normalize": True})
                _post(background.url, "/api/render", body, "application/json")

            bench.time(f"render, working size {size}", render, size=size)
        frame = _jpeg(inputs.photo(320)[:240])
        weights = ",".join(["1"] + ["0"] * (n - 1))
        bench.time("webcam frame 320x240",
                   lambda: _post(background.url, f"/api/frame?weights={weights}", frame,
                                 "image/jpeg"))
    finally:
        background.stop()
