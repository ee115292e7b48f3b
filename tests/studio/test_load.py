"""A bounded load test: 20 clients send mixed requests to a real `bin/studio`
on 127.0.0.1 for 30 s. The server must answer every one with its expected
status (never 5xx, never a dropped connection), still be up after, and its
peak memory (VmHWM, the kernel's high-water mark of its resident set) must
stay under the bound the studio's own limits give.
"""

import http.client
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the studio extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the studio extra (uvicorn) is not installed")
if not os.path.exists("/proc/self/status"):
    pytest.skip("needs Linux's /proc to read the server's memory", allow_module_level=True)

from magenta_style.studio import app  # noqa: E402
from magenta_style.studio import limits  # noqa: E402
from magenta_style.studio import thumbnails  # noqa: E402
from tests.studio.test_server import png_bomb  # noqa: E402

pytestmark = pytest.mark.slow

CLIENTS = 20
SECONDS = 30
MAX_UPLOAD_MB = 4
MAX_MEGAPIXELS = 2
MAX_PHOTOS = 8
# What the bound allows beyond the images and bodies the studio's limits
# admit: uvicorn's connections, Python objects, TensorFlow's graphs for the
# new image sizes and its allocator's caches.
SLACK_BYTES = 500e6
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def memory_bound():
    """Bytes the server may grow by, from the studio's limits (see studio.limits)."""
    bodies = (app.UPLOAD_SLOTS + MAX_PHOTOS) * MAX_UPLOAD_MB * 1e6
    return limits.image_memory(int(MAX_MEGAPIXELS * 1e6)) + bodies + SLACK_BYTES


def status_bytes(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture(scope="module")
def studio_process():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "bin", "studio"), "--port=0",
         "--working_size=128", "--webcam_size=96", "--thumbnail_size=32",
         f"--max_upload_mb={MAX_UPLOAD_MB}", f"--max_megapixels={MAX_MEGAPIXELS}",
         f"--max_photos={MAX_PHOTOS}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    url, seen, deadline = None, [], time.monotonic() + 300
    while url is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"bin/studio did not start: {''.join(seen)}") from None
        seen.append(line)
        if " open http://" in line:
            url = line.split(" open ", 1)[1].split()[0]
    try:
        yield proc, url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def jpeg(width, height, quality=90):
    pixels = (thumbnails.sample_picture(width, height) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def make_requests(n_styles):
    """Named request makers: `(method, path, body, headers, expected statuses)`."""
    photo = jpeg(1600, 1200)  # 1.92 MP, just under the 2 MP limit
    frame = jpeg(320, 240)
    bomb = png_bomb(3000)  # 9 MP declared
    junk = np.random.default_rng(0).bytes(200_000)
    too_large = b"\xff\xd8" + bytes(int(MAX_UPLOAD_MB * 1e6) + 1000)
    weights = [0.0] * n_styles
    weights[3], weights[7] = 0.5, 0.5
    query = "weights=" + ",".join(map(str, weights))
    png, json_type = {"Content-Type": "image/png"}, {"Content-Type": "application/json"}
    jpg = {"Content-Type": "image/jpeg"}
    # A photo id some client uploaded (ids expire after MAX_PHOTOS uploads: 404).
    photos = ["none-yet"]

    def render(rng):
        body = json.dumps({"photo": photos[-1], "weights": weights, "strength": 0.7})
        return "POST", "/api/render", body, json_type, {200, 404}

    return photos, {
        "upload": lambda rng: ("POST", "/api/photo?name=p.jpg", photo, jpg, {200}),
        "bomb": lambda rng: ("POST", "/api/photo?name=b.png", bomb, png, {413}),
        "junk": lambda rng: ("POST", "/api/photo", junk, png, {415}),
        "too_large": lambda rng: ("POST", "/api/photo", too_large, jpg, {413}),
        "render": render,
        "download": lambda rng: ("GET", f"/api/download?photo={photos[-1]}&{query}", None,
                                 {}, {200, 404}),
        "frame": lambda rng: ("POST", f"/api/frame?{query}", frame, jpg, {200}),
        "thumbnail": lambda rng: ("GET", f"/api/thumbnail/{rng.integers(n_styles)}", None,
                                  {}, {200}),
        "info": lambda rng: ("GET", "/api/info", None, {}, {200}),
        "style_map": lambda rng: ("GET", "/api/style_map", None, {}, {200}),
        "cross_site": lambda rng: ("POST", "/api/photo", photo, {
            "Origin": "https://evil.example", "Content-Type": "text/plain"}, {403}),
        "wrong_type": lambda rng: ("POST", "/api/render", "{}", {
            "Content-Type": "text/plain"}, {415}),
        "deep_json": lambda rng: ("POST", "/api/render", "[" * 100_000, json_type, {400}),
        "huge_render": lambda rng: ("POST", "/api/render", "[" + "0," * 1_100_000 + "0]",
                                    json_type, {413}),
    }


def client(url, index, kinds, photos, stop, results):
    rng = np.random.default_rng(index)
    u = urllib.parse.urlsplit(url)
    names = sorted(kinds)
    while not stop.is_set():
        name = names[rng.integers(len(names))]
        method, path, body, headers, expected = kinds[name](rng)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as e:
            status, data = f"{type(e).__name__}: {e}", b""
        finally:
            conn.close()
        if name == "upload" and status == 200:
            photos.append(json.loads(data)["id"])
        results.append((name, status, status in expected, data[:200]))


def test_twenty_clients_for_thirty_seconds_keep_the_server_up_and_bounded(studio_process):
    proc, url = studio_process
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", "/api/info")
    n_styles = json.loads(conn.getresponse().read())["num_styles"]
    conn.close()
    start_rss = status_bytes(proc.pid, "VmRSS")

    photos, kinds = make_requests(n_styles)
    stop, results, samples = threading.Event(), [], []
    threads = [threading.Thread(target=client, args=(url, i, kinds, photos, stop, results))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and proc.poll() is None:
        samples.append(status_bytes(proc.pid, "VmRSS"))
        time.sleep(0.25)
    stop.set()
    for t in threads:
        t.join(600)  # each finishes the request it is in

    assert proc.poll() is None, "the studio died under load"
    peak = status_bytes(proc.pid, "VmHWM")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", "/api/info")
    assert conn.getresponse().status == 200
    conn.close()

    wrong = [r for r in results if not r[2]]
    counts = {name: sum(r[0] == name for r in results) for name in kinds}
    print(f"\n{len(results)} requests by {CLIENTS} clients in {SECONDS} s: {counts}; "
          f"RSS {start_rss / 1e6:.0f} MB at start, peak {peak / 1e6:.0f} MB "
          f"(+{(peak - start_rss) / 1e6:.0f} MB; bound +{memory_bound() / 1e6:.0f} MB)")
    assert not wrong, f"unexpected answers: {wrong[:5]}"
    assert counts["upload"] > 0 and counts["render"] > 0  # the mix really ran
    assert peak - start_rss <= memory_bound()
