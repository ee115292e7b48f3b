"""How a video's frames go through the network in the memory free.

The rule is the images' (`stylization.memory`): one frame of P pixels in one
piece peaks at `UNTILED_BYTES_PER_PIXEL * P` bytes, and a batch of B frames
at B times that; what may be spent is `MEMORY_FRACTION` of the memory
available when the video starts. So the batch is as many frames as fit (at
most the asked `batch_size`); a frame too large for one piece, or above the
`tile_threshold`, is stylized alone in tiles of `tile_size` (whose first
`tile_size**2` pixels cost the untiled rate, the rest the tiled one); a
frame too large even for that is refused before any work, in one line.
"""

import dataclasses

from magenta_style.errors import UserError
from magenta_style.stylization import memory

_UNKNOWN = object()


@dataclasses.dataclass(frozen=True)
class FramePlan:
    """How frames of one size are stylized.

    options: the `RenderOptions` to render with (`tile_threshold` lowered
        below the frame's pixels when the frame must be tiled).
    batch_size: frames per network call (1 when tiled).
    tiled: whether each frame is stylized in tiles.
    memory: the bytes the plan expects a batch to take at its peak.
    available: the bytes available when planned, or None if unknown.
    """
    options: object
    batch_size: int
    tiled: bool
    memory: int
    available: object


def _gb(num_bytes):
    return f"{num_bytes / 1e9:.1f} GB"


def plan_frames(width, height, options, batch_size, available=_UNKNOWN):
    """The batch size and tiling for frames of `width` x `height`.

    Args:
        width, height: frame size in pixels.
        options: `RenderOptions` (`tile_size`, `tile_threshold` are read).
        batch_size: the most frames per network call (`VideoConfig.batch_size`).
        available: free bytes (default: `memory.available_memory()` now;
            None: unknown, so only the tile threshold applies).

    Returns:
        A `FramePlan`.

    Raises:
        UserError: a frame needs more than `MEMORY_FRACTION` of the
            available memory even in tiles.
    """
    available = memory.available_memory() if available is _UNKNOWN else available
    budget = None if available is None else memory.MEMORY_FRACTION * available
    pixels = int(width) * int(height)
    per_frame = memory.UNTILED_BYTES_PER_PIXEL * pixels
    if pixels <= options.tile_threshold:
        fits = batch_size if budget is None else min(batch_size, int(budget // per_frame))
        if fits >= 1:
            return FramePlan(options, fits, False, fits * per_frame, available)
    threshold = min(options.tile_threshold, options.tile_size ** 2)
    need = memory.render_memory(pixels, threshold)
    if budget is not None and need > budget:
        raise UserError(
            f"Frames of {width}x{height} ({pixels / 1e6:.1f} MP) need about {_gb(need)} to "
            f"stylize even in tiles, more than {memory.MEMORY_FRACTION:.0%} of the "
            f"{_gb(available)} of memory available now. Free memory, or scale the video "
            "down first (for example ffmpeg -i in.mp4 -vf scale=-2:1080 out.mp4).")
    if pixels > options.tile_threshold:
        tiled_options = options
    else:
        tiled_options = options.replace(tile_threshold=pixels - 1)
    return FramePlan(tiled_options, 1, True, need, available)
