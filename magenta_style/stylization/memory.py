"""Memory a render takes, by the pixel, and the memory free to take it.

One rule for every bounded renderer (the studio's uploads and downloads,
`stylize_video`'s frames): a render of P pixels in one piece peaks at
`UNTILED_BYTES_PER_PIXEL * P` bytes, in tiles at that for the first
`tile_threshold` pixels and `TILED_BYTES_PER_PIXEL` for the rest
(`render_memory`); what may be spent is `MEMORY_FRACTION` of
`available_memory()`.
"""

import os

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


def available_memory():
    """Bytes of memory this process may still take, or None if unknown.

    The smaller of the kernel's `MemAvailable` (free memory plus what can be
    reclaimed without swapping) and, inside a container, what its cgroup
    limit leaves. Read when a renderer starts; a machine that is busy then
    gets a lower limit.
    """
    candidates = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    for limit_file, usage_file in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes")):  # cgroup v1
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        # "max" (v2) or a huge number (v1) means no limit.
        if limit.isdigit() and int(limit) < 1 << 60:
            candidates.append(max(0, int(limit) - usage))
        break
    return min(candidates) if candidates else None
