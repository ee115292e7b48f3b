"""How many pixels a studio upload may have, from the memory free.

The studio keeps memory bounded by decoding at most `DECODE_SLOTS` uploads
at once and rendering one full-size download at a time; `pixel_limit`
turns the measured bytes per pixel of those into the largest upload that
fits in `memory.MEMORY_FRACTION` of the free memory (or the configured limit, if
smaller).
"""

import ctypes
import ctypes.util
import importlib

from magenta_style.stylization import memory

# At most this many uploads are decoded at once (each decode holds the whole
# image in float32); further requests wait for a slot.
DECODE_SLOTS = 2
# Peak memory per pixel, measured with /proc/self/status VmHWM on android-26
# (/tmp script: JPEG bytes -> uploads.decode_image -> stylize): decoding to
# float32 RGB took 36 bytes per pixel (16 MP). Stylizing: `memory`'s
# UNTILED_BYTES_PER_PIXEL and TILED_BYTES_PER_PIXEL.
DECODE_BYTES_PER_PIXEL = 36

# glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8
# The server's handler threads share this many arenas. glibc's default (8
# per core) lets each thread keep the freed buffers of its decodes in an
# arena of its own: 20 threads decoding 2 MP photos kept +753 MB at peak
# where 2 arenas kept +291 MB, at the same stylize time (/tmp script,
# 20 threads x 20 s of JPEG decodes behind 2 decode slots).
MALLOC_ARENAS = 2

# By its full name: `from magenta_style import stylize` can give the function
# (the package's lazy export) where the module's `StylizeConfig` is needed.
stylize_lib = importlib.import_module("magenta_style.stylization.api")


def image_memory(pixels):
    """Bytes the studio's images may take at once, for uploads of `pixels`.

    `DECODE_SLOTS` decodes and one full-size render (itself a decode, which
    holds one of the slots) at the measured peaks above; below
    `StylizeConfig.tile_threshold` the render runs in one piece, above it in
    tiles.
    """
    threshold = stylize_lib.StylizeConfig.tile_threshold
    return DECODE_SLOTS * DECODE_BYTES_PER_PIXEL * pixels + memory.render_memory(
        pixels, threshold)


def pixel_limit(max_megapixels, available=None):
    """The most pixels an upload may have: `--max_megapixels`, or less if
    memory is short.

    Args:
        max_megapixels: the configured limit.
        available: free bytes (default: `memory.available_memory()` now).

    Returns:
        `(max_pixels, memory)`: `memory` is the free bytes when they set the
        limit (`image_memory(max_pixels)` fits in `memory.MEMORY_FRACTION` of
        them), else None.
    """
    configured = int(max_megapixels * 1e6)
    available = memory.available_memory() if available is None else available
    budget = None if available is None else memory.MEMORY_FRACTION * available
    if budget is None or image_memory(configured) <= budget:
        return configured, None
    # image_memory is piecewise linear and increasing: solve on each piece.
    threshold = stylize_lib.StylizeConfig.tile_threshold
    slope = DECODE_SLOTS * DECODE_BYTES_PER_PIXEL + memory.UNTILED_BYTES_PER_PIXEL
    if budget <= image_memory(threshold):
        pixels = budget / slope
    else:
        pixels = threshold + (budget - image_memory(threshold)) / (
            DECODE_SLOTS * DECODE_BYTES_PER_PIXEL + memory.TILED_BYTES_PER_PIXEL)
    return max(int(pixels), 1), available


def limit_malloc_arenas(arenas=MALLOC_ARENAS):
    """Caps glibc's malloc arenas for this process, so the memory a request's
    thread freed is reused by the next request instead of kept per thread.

    Call before the server's threads start. Elsewhere than glibc (macOS,
    musl) it does nothing.

    Returns:
        Whether the limit was set.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):  # not glibc: no mallopt
        return False
