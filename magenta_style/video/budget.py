"""How many video frames go through the network at once, from the memory free.

The rule is the images' (`stylization.memory`): a frame of P pixels in one
piece peaks at `UNTILED_BYTES_PER_PIXEL * P` bytes, a batch of B frames at
B times that, and what may be spent is `MEMORY_FRACTION` of the memory
available when the video starts. So a batch is as many frames as fit (at
most the asked `batch_size`), and a frame that does not fit alone is
refused before any work, in one line.

Measured on `varied` (the default model), VmHWM above the process with the
model loaded, `stylize_video` file to file: 483 bytes per pixel for 1080p
frames one at a time with `temporal=flow`, 315 in batches of 4, 299 for one
4K frame; all within the rule. Frames are not tiled to save memory: a 4K
frame in tiles of 1024 (`stylization.tiling`) peaked higher (4.04 GB) than
in one piece (3.27 GB), and a 4.2 MP frame in tiles higher (4.12 GB) than
two of them in one batch (3.41 GB); tiling's fixed cost (a tile's
convolutions) outweighs its savings at video sizes (docs/video.md).
"""

import dataclasses

from magenta_style.errors import UserError
from magenta_style.stylization import memory

_UNKNOWN = object()


@dataclasses.dataclass(frozen=True)
class FramePlan:
    """How frames of one size are stylized.

    batch_size: frames per network call.
    memory: the bytes the rule expects one batch to take at its peak.
    available: the bytes available when planned, or None if unknown.
    """
    batch_size: int
    memory: int
    available: object


def _gb(num_bytes):
    return f"{num_bytes / 1e9:.1f} GB"


def plan_frames(width, height, batch_size, available=_UNKNOWN):
    """The batch size for frames of `width` x `height`.

    Args:
        width, height: frame size in pixels.
        batch_size: the most frames per network call (`VideoConfig.batch_size`).
        available: free bytes (default: `memory.available_memory()` now;
            None: unknown, so `batch_size` as asked).

    Returns:
        A `FramePlan`.

    Raises:
        UserError: one frame needs more than `MEMORY_FRACTION` of the
            available memory.
    """
    available = memory.available_memory() if available is _UNKNOWN else available
    pixels = int(width) * int(height)
    # max: a container that does not declare its frame size (0x0).
    per_frame = max(1, memory.UNTILED_BYTES_PER_PIXEL * pixels)
    if available is None:
        return FramePlan(batch_size, batch_size * per_frame, None)
    fits = min(batch_size, int(memory.MEMORY_FRACTION * available // per_frame))
    if fits < 1:
        raise UserError(
            f"Frames of {width}x{height} ({pixels / 1e6:.1f} MP) need about "
            f"{_gb(per_frame)} each to stylize, more than "
            f"{memory.MEMORY_FRACTION:.0%} of the {_gb(available)} of memory available "
            "now. Free memory, or scale the video down first (for example "
            "ffmpeg -i in.mp4 -vf scale=-2:1080 out.mp4).")
    return FramePlan(fits, fits * per_frame, available)
