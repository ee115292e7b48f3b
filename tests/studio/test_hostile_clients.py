"""The studio against slow, vanishing and rebinding clients, and bad flags (issue 32)."""

import contextlib
import dataclasses
import http.client
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from unittest import mock

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the studio extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the studio extra (uvicorn) is not installed")

from magenta_style.errors import UserError  # noqa: E402
from magenta_style.studio import app as app_lib  # noqa: E402
from magenta_style.studio import engine  # noqa: E402
from magenta_style.studio import server  # noqa: E402
from magenta_style.studio.config import StudioConfig  # noqa: E402
from magenta_style.stylization import memory  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BODY_TIMEOUT_S = 2.0
CONFIG = dataclasses.replace(StudioConfig(), port=0, max_upload_mb=0.5,
                             body_timeout_s=BODY_TIMEOUT_S, painting_model="")


@pytest.fixture(scope="module")
def model():
    with mock.patch.object(memory, "available_memory", return_value=None):
        return engine.Studio(CONFIG).model


@contextlib.contextmanager
def serving(model, **changes):
    """A studio with `changes` to CONFIG, served on a free port (no thumbnails)."""
    config = dataclasses.replace(CONFIG, **changes)
    with mock.patch.object(memory, "available_memory", return_value=None):
        studio = engine.Studio(config, model=model)
    background = server.BackgroundServer(app_lib.create_app(studio), config.host, 0)
    try:
        yield background
    finally:
        background.stop()


def port_of(background):
    return int(background.url.rstrip("/").rsplit(":", 1)[1])


def request(address, port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def png_bytes():
    buf = io.BytesIO()
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def slow_upload(port, declared=10_000):
    """A socket that has sent an upload's headers and first byte, and no more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"POST /api/photo?name=slow.png HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 f"Content-Type: image/png\r\nContent-Length: {declared}\r\n\r\n".encode()
                 + b"\x89")
    return sock


def test_clients_dripping_uploads_hold_no_slot(model):
    # More slow clients than upload slots, each sending a byte every 0.2 s
    # (a timeout between reads would never fire): a normal upload still
    # goes through, and the slow ones get 408.
    with serving(model) as background:
        port = port_of(background)
        slow = [slow_upload(port) for _ in range(app_lib.UPLOAD_SLOTS + 2)]
        stop = threading.Event()

        def drip():
            while not stop.wait(0.2):
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"\0")

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            time.sleep(0.5)  # the slow uploads have taken every slot
            status, body = request("127.0.0.1", port, "POST", "/api/photo?name=ok.png",
                                   png_bytes(), {"Content-Type": "image/png"},
                                   timeout=10 * BODY_TIMEOUT_S)
            assert status == 200, body
            answers = []
            for sock in slow:
                sock.settimeout(10 * BODY_TIMEOUT_S)
                answers.append(sock.recv(65536).split(b"\r\n", 1)[0])
        finally:
            stop.set()
            dripper.join()
            for sock in slow:
                sock.close()
    assert all(b" 408 " in a for a in answers), answers


def test_a_client_leaving_mid_upload_is_one_log_line(model, caplog):
    with serving(model) as background, caplog.at_level(logging.WARNING):
        sock = slow_upload(port_of(background))
        time.sleep(0.3)
        sock.close()
        deadline = time.monotonic() + 20
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # any further record (a traceback) would come now
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    record = caplog.records[0]
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert "went away" in record.getMessage()


def test_any_address_serves_only_this_machines_names(model):
    # Bound to every interface, a page at evil.example resolving to this
    # machine (DNS rebinding) is refused; the address a request reached, the
    # loopback names, the host name and --allowed_hosts are served.
    with serving(model, host="0.0.0.0", allowed_hosts="studio.example,10.1.2.3") as background:
        port = port_of(background)

        def status(host, address="127.0.0.1"):
            return request(address, port, "GET", "/api/info", headers={"Host": host})

        code, body = status("evil.example")
        assert code == 400 and "DNS rebinding" in json.loads(body)["error"]
        assert status(f"evil.example:{port}")[0] == 400
        assert status("127.0.0.1.evil.example")[0] == 400
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "studio.example",
                     f"STUDIO.example:{port}", "10.1.2.3", socket.gethostname()):
            assert status(host)[0] == 200, host
        # 127.0.0.2 is this machine too, but no name of it: the address the
        # connection reached is what counts.
        assert status(f"127.0.0.2:{port}", address="127.0.0.2")[0] == 200
        assert status(f"127.0.0.2:{port}")[0] == 400


def test_a_loopback_studio_serves_listed_names_too(model):
    with serving(model, allowed_hosts="my-studio.lan") as background:
        port = port_of(background)
        assert request("127.0.0.1", port, "GET", "/api/info",
                       headers={"Host": "my-studio.lan"})[0] == 200
        assert request("127.0.0.1", port, "GET", "/api/info",
                       headers={"Host": "evil.example"})[0] == 400


@pytest.mark.parametrize("changes, flag", [
    ({"max_megapixels": float("nan")}, "max_megapixels"),
    ({"max_megapixels": float("inf")}, "max_megapixels"),
    ({"max_megapixels": 0.0}, "max_megapixels"),
    ({"working_size": 0}, "working_size"),
    ({"working_size": -256}, "working_size"),
    ({"webcam_size": 8}, "webcam_size"),
    ({"thumbnail_size": 0}, "thumbnail_size"),
    ({"max_upload_mb": 0.0}, "max_upload_mb"),
    ({"max_upload_mb": -5.0}, "max_upload_mb"),
    ({"max_photos": 0}, "max_photos"),
    ({"max_photos": -1}, "max_photos"),
    ({"body_timeout_s": 0.0}, "body_timeout_s"),
    ({"num_styles": 0}, "num_styles"),
    ({"port": 70000}, "port"),
    ({"allowed_hosts": "https://studio.example/"}, "allowed_hosts"),
    ({"allowed_hosts": "a b"}, "allowed_hosts"),
])
def test_every_flag_is_checked_before_the_model_loads(changes, flag):
    with pytest.raises(UserError, match=f"--{flag} ") as raised:
        dataclasses.replace(StudioConfig(), **changes)
    assert "\n" not in str(raised.value)


def test_bin_studio_refuses_a_bad_flag_in_one_line():
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "studio"), "--max_megapixels=nan"],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --max_megapixels must be a number above 0. Received: nan"]
