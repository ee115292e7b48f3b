"""Memory a render takes, by the pixel, and the memory free to take it.

One rule for every bounded renderer (the studio's uploads and downloads,
`stylize_video`'s frames): a render of P pixels in one piece peaks at
`UNTILED_BYTES_PER_PIXEL * P` bytes, in tiles at that for the first
`tile_threshold` pixels and `TILED_BYTES_PER_PIXEL` for the rest
(`render_memory`); what may be spent is `MEMORY_FRACTION` of
`available_memory()`.
"""

from magenta_style.storage.image_io import available_memory  # noqa: F401 -- the one reader, used as memory.available_memory

# Peak memory per pixel, measured with /proc/self/status VmHWM on android-26
# (/tmp script: JPEG bytes -> uploads.decode_image -> stylize): stylizing at
# full size took 491 and 528 bytes per pixel in one piece (2.0 and 4.0 MP),
# and 290, 238, 206 in tiles (7.8, 16, 31 MP: above the tile threshold).
UNTILED_BYTES_PER_PIXEL = 530
TILED_BYTES_PER_PIXEL = 240  # for the pixels past the tile threshold
# Of the memory free when a renderer starts, what its images may take: the
# rest is left to the model, the page and the other programs.
MEMORY_FRACTION = 0.5


def render_memory(pixels, tile_threshold):
    """Peak bytes of stylizing one image of `pixels` pixels.

    In one piece up to `tile_threshold` pixels (`RenderOptions`), in tiles
    above it: piecewise linear and increasing in `pixels`.
    """
    return (UNTILED_BYTES_PER_PIXEL * min(pixels, tile_threshold)
            + TILED_BYTES_PER_PIXEL * max(0, pixels - tile_threshold))
