"""Running the studio: uvicorn on a socket we bind ourselves.

Binding the socket here (not inside uvicorn) lets `--port=0` pick a free port
and still print the real address before serving, and lets tests and
notebooks run the studio in a background thread.
"""

import dataclasses
import socket
import sys
import threading
import time

from magenta_style.studio.config import StudioConfig


def _bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        from magenta_style.errors import UserError

        raise UserError(
            f"Cannot listen on {host}:{port} ({e.strerror}); choose another --port "
            "(0 picks a free one).") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def build(config=None, model=None):
    """`(studio, app)`: the model loaded, thumbnails rendered, routes made."""
    from magenta_style.studio import app as app_lib
    from magenta_style.studio import engine

    studio = engine.Studio(config or StudioConfig(), model=model)
    studio.thumbnails()  # rendered now, so the first page load is quick
    return studio, app_lib.create_app(studio)


def serve(config=None, model=None):
    """Loads the model and serves the studio until Ctrl+C.

    Prints the page's address once it can be opened.

    Raises:
        UserError: the model cannot be loaded, or the port is taken.
    """
    import uvicorn

    from magenta_style.studio import limits

    config = config or StudioConfig()
    limits.limit_malloc_arenas()  # before uvicorn's handler threads start
    sock = _bind(config.host, config.port)  # first: a taken port fails at once
    print("Loading the model and rendering style thumbnails ...", flush=True)
    studio, app = build(config, model)
    print(f"Style studio ({studio.info()['checkpoint']}, {studio.num_styles} styles): "
          f"open {_url(sock)} in a browser. Ctrl+C stops it.", flush=True)
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"Warning: listening on {config.host}, so other computers can use the "
              "studio.", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down cleanly, then re-raises Ctrl+C: no traceback for it.
        pass
    print("Style studio stopped.", flush=True)


class BackgroundServer:
    """A studio served from a daemon thread; `url`, then `stop()`."""

    def __init__(self, app, host="127.0.0.1", port=0):
        import uvicorn

        self._sock = _bind(host, port)
        self.url = _url(self._sock)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The studio server did not start.")
            time.sleep(0.01)

    def stop(self):
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def run_in_thread(config=None, model=None):
    """Starts a studio in a background thread (for tests and notebooks).

    Args:
        config: a `StudioConfig` (default: 127.0.0.1 and a free port).
        model: optional loaded model (else `config.checkpoint` is loaded).

    Returns:
        `(studio, server)`: the `engine.Studio` and a `BackgroundServer` with
        `.url` and `.stop()`.
    """
    config = config or dataclasses.replace(StudioConfig(), port=0)
    studio, app = build(config, model)
    return studio, BackgroundServer(app, config.host, config.port)
