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

Errors are JSON `{"error": "<one line>"}` with a 4xx status; the page shows
the line. Uploads are the raw file bytes (no multipart parsing), read in
chunks and refused as soon as they pass the size limit.
"""

import json
import os
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.studio import engine
from magenta_style.studio import uploads

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# No caching: a restarted studio may serve another model under the same URLs.
NO_STORE = {"Cache-Control": "no-store"}


async def _read_body(request, max_bytes):
    """The request body, refusing it as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise uploads.too_large(int(declared), max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise uploads.too_large(size, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _image_response(image, fmt, started, headers=None):
    elapsed = f"{1000 * (time.perf_counter() - started):.0f}"
    return Response(engine.encode(image, fmt), media_type=f"image/{fmt.lower()}",
                    headers={**NO_STORE, "X-Render-Ms": elapsed, **(headers or {})})


def create_app(studio):
    """The Starlette app serving `studio` (an `engine.Studio`)."""
    max_bytes = int(studio.config.max_upload_mb * 1e6)

    async def index(request):
        return FileResponse(os.path.join(STATIC_DIR, "index.html"), headers=NO_STORE)

    async def info(request):
        return JSONResponse(studio.info())

    async def thumbnail(request):
        picture, thumbs = await run_in_threadpool(studio.thumbnails)
        key = request.path_params["key"]
        if key == "source":
            data = picture
        elif key.isdigit() and int(key) < len(thumbs):
            data = thumbs[int(key)]
        else:
            return JSONResponse({"error": f"No style {key!r} in this model."}, 404)
        return Response(data, media_type="image/png", headers=NO_STORE)

    async def style_map(request):
        return JSONResponse(await run_in_threadpool(studio.style_map))

    async def upload(request):
        data = await _read_body(request, max_bytes)
        name = os.path.basename(request.query_params.get("name", "photo")) or "photo"
        photo = await run_in_threadpool(studio.add_photo, data, name)
        return JSONResponse(photo.info())

    async def photo(request):
        working = studio.photo(request.path_params["photo_id"]).working
        return Response(engine.encode(image_io.to_uint8(working)), media_type="image/png")

    async def render(request):
        started = time.perf_counter()
        try:
            params = json.loads(await _read_body(request, 1_000_000))
        except (ValueError, UnicodeDecodeError):
            raise UserError("The render request is not JSON.") from None
        if not isinstance(params, dict):
            raise UserError("The render request must be a JSON object.")
        options = engine.parse_options(params, studio.num_styles)
        image = await run_in_threadpool(studio.render, str(params.get("photo")), options)
        return _image_response(image, "PNG", started)

    async def download(request):
        started = time.perf_counter()
        params = request.query_params
        options = engine.parse_options(params, studio.num_styles)
        image, filename = await run_in_threadpool(
            studio.render_full, params.get("photo", ""), options)
        return _image_response(image, "PNG", started, {
            "Content-Disposition": f'attachment; filename="{filename}"'})

    async def frame(request):
        started = time.perf_counter()
        options = engine.parse_options(request.query_params, studio.num_styles)
        data = await _read_body(request, max_bytes)
        image = await run_in_threadpool(studio.render_frame, data, options)
        return _image_response(image, "JPEG", started)

    async def user_error(request, exc):
        status = getattr(exc, "status", 400)
        return JSONResponse({"error": str(exc)}, status_code=status)

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
        # StaticFiles resolves each path and refuses any outside STATIC_DIR
        # (`..`, encoded or not, and symlinks leading out).
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    host = studio.config.host
    # Refuse requests whose Host is not this machine when bound locally: a web
    # page elsewhere could otherwise reach the studio by DNS rebinding.
    allowed = (["*"] if host in ("0.0.0.0", "::", "")
               else ["127.0.0.1", "localhost", "[::1]", host])
    return Starlette(routes=routes, exception_handlers={UserError: user_error},
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)])
