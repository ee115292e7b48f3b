"""The style studio: a local web page that mixes a model's styles live.

`bin/studio` starts it. The parts, each usable alone:

- `config.StudioConfig`: every option and its default (flags are made from it);
- `uploads`: validation of uploaded bytes into an image (type, size,
  decompression bombs);
- `limits`: the largest upload the free memory allows;
- `options`: the page's render options (`PageRequest`) and their parsing;
- `streams`: the webcam streams' frame stylizers (temporal smoothing);
- `engine.Studio`: the model, the photos, and every render, with no HTTP;
- `app.create_app`: the Starlette app (routes, static page);
- `server.serve`, `server.run_in_thread`: uvicorn on a local socket.

The HTTP side needs the `studio` extra (`pip install magenta_style[studio]`).
"""

from magenta_style.studio.config import StudioConfig

__all__ = ["StudioConfig"]
