"""The studio's HTTP routes (Starlette); all work is done by `engine.Studio`.

| method, path                     | body / query                      | answer          |
| -------------------------------- | --------------------------------- | --------------- |
| GET /                            |                                   | the page        |
| GET /static/<file>               |                                   | page assets     |
| GET /api/info                    |                                   | model, limits   |
| GET /api/thumbnail/<i>, /source  |                                   | PNG             |
| GET /api/style_map               |                                   | PCA, distances  |
| POST /api/photo?name=<file name> | the image file's bytes            | photo id, sizes |
| GET /api/photo/<id>              |                                   | working copy    |
| POST /api/render                 | JSON: photo, weights, normalize,  | PNG (preview)   |
|                                  | preserve_colors, strength         |                 |
| GET /api/download                | query: the same fields, weights   | PNG, full size  |
|                                  | comma-separated                   |                 |
| POST /api/frame?<same query>     | a webcam frame (JPEG/PNG bytes)   | JPEG            |
|   [&stream=<id>[&reset=1]]       | (stream: smoothed over time)      |                 |
| POST /api/painting?name=<file>   | a painting (image bytes): a style | painting id     |
| GET /api/painting/<id>           |                                   | its thumbnail   |
| POST /api/masks?photo=<id>       | PNG: painted region masks,        | regions, cover  |
|                                  | stacked vertically                |                 |

Renders and downloads with painted regions add `regions` (one weight list
per mask; in the download's query "w,w,...;w,w,...") and
`region_statistics` ("shared" for renders by default, "per_style" for the
download as the page sends it). Renders, downloads and frames with dropped
paintings add `paintings` (`{id: weight}`; in a query "id:w,id:w").

Errors are JSON `{"error": "<one line>"}` with a 4xx status; the page shows
the line. Uploads are the raw file bytes (no multipart parsing), read in
chunks and refused as soon as they pass the size limit; a body that has
not arrived within `--body_timeout_s` gets 408 (a client dripping bytes
would otherwise hold an upload slot for ever), and a client that goes away
mid-body is one log line.

Every request is first checked by `guard` (outermost): a Host header that
is not this machine's (`hosts`: DNS rebinding) gets 400, a browser request
sent by another web page (its `Origin` or `Sec-Fetch-Site` says so) gets
403, and every answer carries headers that stop browsers from sniffing
types, framing the page or loading anything from elsewhere. Each POST
needs its Content-Type (415 otherwise): application/json for renders, an
image type (or application/octet-stream) for uploads and frames. None of
these is one a cross-site page may send without the browser first asking
the server (a CORS preflight, which the studio does not grant), so a page
elsewhere cannot make the browser post to it.
"""

import asyncio
import json
import logging
import os
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.studio import engine
from magenta_style.studio import hosts
from magenta_style.studio import options as options_lib
from magenta_style.studio import uploads

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# No caching: a restarted studio may serve another model under the same URLs.
NO_STORE = {"Cache-Control": "no-store"}
# On every answer. The page uses only its own script and style files, images
# from the API or blob: URLs (results made in the page), data: for its empty
# icon, and the camera's stream; no other site may frame it
# (frame-ancestors, and X-Frame-Options for browsers without CSP 2) or embed
# its answers (Cross-Origin-Resource-Policy).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' blob:; "
    "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# Content-Types a POST may carry. Bodies are read for what they are (images
# by their bytes), but a type outside the three a cross-site page may send
# freely makes the browser ask first, and the studio never says yes.
JSON_TYPES = ("application/json",)
IMAGE_TYPES = ("image/*", "application/octet-stream")
MASK_TYPES = ("image/png",)
# Render requests are a few hundred bytes (26 weights); 1 MB leaves room for
# models with thousands of styles.
MAX_RENDER_BYTES = 1_000_000
# Uploads and webcam frames whose bodies are read at once (each up to
# --max_upload_mb); later ones wait unread, so memory stays bounded.
UPLOAD_SLOTS = 4

_log = logging.getLogger(__name__)


def _same_origin_problem(scope, headers):
    """Why a request comes from another web page (a header), else None.

    Browsers send `Sec-Fetch-Site` with every request (`same-origin` from
    the studio's own page, `none` when the user types the address) and
    `Origin` with every POST; other programs (curl, scripts) send neither
    and are not web pages, so they pass.
    """
    site = headers.get("sec-fetch-site")
    reading = scope["method"] in ("GET", "HEAD")
    # Opening the page itself is allowed from anywhere (a typed address has
    # `none`, a link elsewhere `cross-site`): it changes nothing, cannot be
    # framed, and its own requests are then same-origin.
    opening_page = reading and scope["path"] == "/" and (
        headers.get("sec-fetch-mode") == "navigate")
    if site is not None and site != "same-origin" and not (
            opening_page or (site == "none" and reading)):
        return f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is not None:
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        if origin.lower() != own:
            return f"Origin: {origin}"
    return None


def guard(app, host_names=frozenset(hosts.LOOPBACK)):
    """ASGI middleware: security headers on every answer, 400 for another Host,
    403 for other sites.

    The first of the app's middleware (only Starlette's last-resort error
    handler is outside it), so Starlette's own answers (404, 405) get the
    headers too; an unexpected exception becomes a one-line 500 with them
    (its traceback goes to the log) rather than Starlette's plain text. A
    client gone before its body arrived is one log line.

    Args:
        host_names: `hosts.own_names(...)`: the Host names answered besides
            the address each connection reached.
    """

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name for name, _ in SECURITY_HEADERS}
                message = {**message, "headers": [
                    *(h for h in message.get("headers", []) if h[0].lower() not in names),
                    *SECURITY_HEADERS]}
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        problem = hosts.host_problem(scope, headers, host_names)
        if problem is not None:
            response = JSONResponse({"error": (
                f"Refused a request for another host ({problem}): the studio answers "
                "only to this machine's addresses and names (a web page elsewhere could "
                "otherwise reach it by DNS rebinding). If that name is yours, restart "
                "the studio with --allowed_hosts naming it.")}, 400)
            return await response(scope, receive, send_with_headers)
        problem = _same_origin_problem(scope, headers)
        if problem is not None:
            response = JSONResponse({"error": (
                f"Refused a request from another web page ({problem}): the studio "
                "answers only its own page. Open the studio's address in the browser "
                "instead.")}, 403)
            return await response(scope, receive, send_with_headers)
        try:
            await app(scope, receive, send_with_headers)
        except ClientDisconnect:
            # A cancelled upload (a closed tab, a newer webcam frame): nobody
            # is left to answer, and nothing went wrong on our side.
            _log.warning("%s %s: the client went away before its request body arrived.",
                         scope["method"], scope["path"])
        except Exception as e:  # noqa: BLE001 - the last line of defence
            _log.exception("Studio request %s %s failed", scope["method"], scope["path"])
            if started:
                raise
            response = JSONResponse({"error": (
                f"The studio failed on this request ({type(e).__name__}: {e}); "
                "see its terminal for details.")}, 500)
            await response(scope, receive, send_with_headers)

    return guarded


def _require_content_type(request, accepted):
    """Raises `UploadError` (415) unless the POST's Content-Type is accepted."""
    given = request.headers.get("content-type", "")
    kind = given.split(";")[0].strip().lower()
    if not any(kind == a or (a.endswith("/*") and kind.startswith(a[:-1])
                             and len(kind) > len(a) - 1) for a in accepted):
        raise uploads.UploadError(
            f"POST {request.url.path} needs Content-Type {' or '.join(accepted)}. "
            f"Received: {given or 'none'!r}", status=415)


async def _read_body(request, max_bytes, timeout_s):
    """The request body, refusing it as soon as it passes `max_bytes`, or
    when it has not all arrived `timeout_s` seconds after reading began (408)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise uploads.too_large(int(declared), max_bytes)
    chunks = []

    async def read():
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise uploads.too_large(size, max_bytes)
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), timeout_s)
    except asyncio.TimeoutError:
        received = sum(len(c) for c in chunks)
        raise uploads.UploadError(
            f"The request body did not arrive within {timeout_s:g} s ({received} bytes "
            "received); the studio stopped waiting so that other uploads can go on. "
            "On a slow network, restart the studio with a larger --body_timeout_s.",
            status=408) from None
    return b"".join(chunks)


def _image_response(image, fmt, started, headers=None):
    elapsed = f"{1000 * (time.perf_counter() - started):.0f}"
    return Response(engine.encode(image, fmt), media_type=f"image/{fmt.lower()}",
                    headers={**NO_STORE, "X-Render-Ms": elapsed, **(headers or {})})


def create_app(studio):
    """The Starlette app serving `studio` (an `engine.Studio`)."""
    max_bytes = int(studio.config.max_upload_mb * 1e6)
    timeout_s = studio.config.body_timeout_s
    upload_slots = asyncio.Semaphore(UPLOAD_SLOTS)

    async def index(request):
        return FileResponse(os.path.join(STATIC_DIR, "index.html"), headers=NO_STORE)

    async def info(request):
        return JSONResponse(studio.info())

    async def thumbnail(request):
        picture, thumbs = await run_in_threadpool(studio.thumbnails)
        key = request.path_params["key"]
        # Looked up as text: int() refuses "²" (which str.isdigit takes) and
        # numbers of over 4300 digits, and reads "٣" as 3.
        index = {str(i): i for i in range(len(thumbs))}.get(key)
        if key == "source":
            data = picture
        elif index is not None:
            data = thumbs[index]
        else:
            return JSONResponse({"error": f"No style {key!r} in this model."}, 404)
        return Response(data, media_type="image/png", headers=NO_STORE)

    async def style_map(request):
        return JSONResponse(await run_in_threadpool(studio.style_map))

    async def receive_image(request, default_name, add):
        """An uploaded image (`?name=`), decoded by `add(data, name)` in an upload slot."""
        _require_content_type(request, IMAGE_TYPES)
        name = os.path.basename(request.query_params.get("name", default_name)) or default_name
        async with upload_slots:
            data = await _read_body(request, max_bytes, timeout_s)
            item = await run_in_threadpool(add, data, name)
        return JSONResponse(item.info())

    async def upload(request):
        return await receive_image(request, "photo", studio.add_photo)

    async def photo(request):
        working = studio.photo(request.path_params["photo_id"]).working
        return Response(engine.encode(image_io.to_uint8(working)), media_type="image/png")

    async def render(request):
        started = time.perf_counter()
        _require_content_type(request, JSON_TYPES)
        body = await _read_body(request, MAX_RENDER_BYTES, timeout_s)  # 413 when too large
        try:
            params = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise UserError("The render request is not JSON.") from None
        except RecursionError:
            raise UserError("The render request is nested too deeply to be a render "
                            "request (a JSON object of weights).") from None
        if not isinstance(params, dict):
            raise UserError("The render request must be a JSON object.")
        options = options_lib.parse_options(params, studio.num_styles)
        image = await run_in_threadpool(studio.render, str(params.get("photo")), options)
        return _image_response(image, "PNG", started)

    async def download(request):
        started = time.perf_counter()
        params = request.query_params
        options = options_lib.parse_options(params, studio.num_styles)
        image, filename = await run_in_threadpool(
            studio.render_full, params.get("photo", ""), options)
        return _image_response(image, "PNG", started, {
            "Content-Disposition": f'attachment; filename="{filename}"'})

    async def frame(request):
        started = time.perf_counter()
        _require_content_type(request, IMAGE_TYPES)
        options = options_lib.parse_options(request.query_params, studio.num_styles)
        stream = request.query_params.get("stream") or None
        reset = options_lib.as_bool(request.query_params.get("reset", False))
        async with upload_slots:
            data = await _read_body(request, max_bytes, timeout_s)
            image = await run_in_threadpool(studio.render_frame, data, options, stream, reset)
        return _image_response(image, "JPEG", started)

    async def add_painting(request):
        return await receive_image(request, "painting", studio.add_painting)

    async def painting_thumbnail(request):
        painting = studio.painting(request.path_params["painting_id"])
        return Response(painting.thumbnail, media_type="image/png", headers=NO_STORE)

    async def masks(request):
        _require_content_type(request, MASK_TYPES)
        photo_id = request.query_params.get("photo", "")
        studio.photo(photo_id)  # 404 before reading the body
        async with upload_slots:
            data = await _read_body(request, max_bytes, timeout_s)
            answer = await run_in_threadpool(studio.set_masks, photo_id, data)
        return JSONResponse(answer)

    async def user_error(request, exc):
        status = getattr(exc, "status", 400)
        return JSONResponse({"error": str(exc)}, status_code=status)

    async def http_error(request, exc):
        # Starlette's own 404 and 405, as one line of JSON like ours.
        return JSONResponse({"error": f"{exc.detail}: {request.method} {request.url.path}"},
                            status_code=exc.status_code, headers=exc.headers)

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/thumbnail/{key}", thumbnail),
        Route("/api/style_map", style_map),
        Route("/api/photo", upload, methods=["POST"]),
        Route("/api/photo/{photo_id}", photo),
        Route("/api/render", render, methods=["POST"]),
        Route("/api/download", download),
        Route("/api/frame", frame, methods=["POST"]),
        Route("/api/masks", masks, methods=["POST"]),
        Route("/api/painting", add_painting, methods=["POST"]),
        Route("/api/painting/{painting_id}", painting_thumbnail),
        # StaticFiles resolves each path and refuses any outside STATIC_DIR
        # (`..`, encoded or not, and symlinks leading out).
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    names = hosts.own_names(studio.config.host, studio.config.allowed_hosts)
    return Starlette(routes=routes,
                     exception_handlers={UserError: user_error, HTTPException: http_error},
                     middleware=[Middleware(guard, host_names=names)])
