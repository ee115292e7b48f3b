"""video: `stylize_video` file to file, per `--temporal` method.

A pan across a real photo (so optical flow has work to do), written as
H.264 with PyAV and stylized by `magenta_style.stylize_video` with each
temporal method. The time includes decoding, the network, the method and
encoding: what a user's clip costs. Reported per clip and per frame.
Flicker itself is measured by the video tests and docs/video.md.

    python -m bench video --models=android-26,varied
"""

import os
import tempfile
from functools import partial

import numpy as np

from bench import inputs

METHODS = ("none", "ema", "flow", "ema+flow")


def write_pan(path, width, height, frames, shift=4):
    """A clip that pans `shift` px per frame across the benchmark photo."""
    import av

    photo = inputs.photo(2 * max(width, height) + shift * frames)
    photo = (photo * 255).astype(np.uint8)
    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            crop = np.ascontiguousarray(photo[:height, shift * i:shift * i + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def run(bench, opts):
    try:
        import av  # noqa: F401
    except ImportError:
        bench.skip("PyAV is not installed (pip install magenta_style[video])")
        return
    import magenta_style

    if bench.quick:
        (height, width), frames, methods = (48, 64), 6, ("none", "flow")
    else:
        (height, width), frames, methods = (360, 640), 48, METHODS
    if opts.sizes:  # --sizes gives the frame height; keep 16:9
        height = opts.sizes[0]
        width = (height * 16 // 9) // 2 * 2
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "pan.mp4")
        write_pan(clip, width, height, frames)
        for name in opts.models or ("android-26",):
            model = magenta_style.load_model(name)
            for method in methods:
                out = os.path.join(tmp, f"out-{method.replace('+', '_')}.mp4")
                result = bench.time(
                    f"{name} {width}x{height} x{frames} {method}",
                    partial(magenta_style.stylize_video, clip, out, 0, model,
                                      temporal=method, progress=False),
                    model=name, width=width, height=height, frames=frames, temporal=method)
                bench.record(f"{name} {width}x{height} {method} per frame",
                             1000 * result["median_s"] / frames, "ms", model=name,
                             temporal=method)
