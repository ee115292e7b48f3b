"""Options of the style studio (the single source of their defaults)."""

import dataclasses
import math
import numbers
import re
import typing

from magenta_style.errors import UserError
from magenta_style.stylization import options as render_options

# A host name or address as the Host header carries it (no scheme, path or
# space): letters, digits, '-', '.', ':' and an IPv6 literal's brackets.
_HOST_NAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-:]+)$")


def host_names(text):
    """The names of an `--allowed_hosts` value ('a.example,b.local'), lower-cased.

    Raises:
        UserError: a name that cannot be a Host header (a scheme, a path, a
            space, a wildcard).
    """
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    for name in names:
        if not _HOST_NAME.match(name):
            raise UserError(f"--allowed_hosts takes host names or addresses separated by "
                            f"commas (studio.example,192.168.1.5). Received: {name!r}")
    return names


@dataclasses.dataclass(frozen=True)
class StudioConfig:
    """What `bin/studio` serves and its limits."""

    # Not the package default (varied, alpha 1): every slider move re-renders,
    # and android-26 takes about a quarter of varied's time at 512-1024 px
    # (91 against 348 ms at 512x512; README, speed table).
    checkpoint: typing.Optional[str] = dataclasses.field(default="android-26", metadata={
        "help": "Model: a shipped name (default android-26), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    host: str = dataclasses.field(default="127.0.0.1", metadata={
        "help": "Address to bind. The default serves this computer only; "
                "0.0.0.0 shows the studio to your whole network."})
    port: int = dataclasses.field(default=8000, metadata={
        "help": "TCP port (0 = any free port)."})
    # One slider move re-renders the photo at this size. `python -m bench studio` on the
    # 2-core CPU, android-26, 4:3 photo, one update over HTTP: 256 px uses
    # 52 ms of CPU and took 35 ms median idle, 102 ms with the CPU shared ~7
    # ways; 320 px took 69 and 308 ms (docs/studio.md, Speed).
    working_size: int = dataclasses.field(default=256, metadata={
        "help": "Longer side, in pixels, of the photo re-rendered as sliders move "
                "(the download is always full resolution)."})
    webcam_size: int = dataclasses.field(default=192, metadata={
        "help": "Longer side, in pixels, of the webcam frames stylized."})
    max_upload_mb: float = dataclasses.field(default=30.0, metadata={
        "help": "Largest upload accepted, in megabytes."})
    # Pillow's own bomb guard is set far higher (image_io accepts 300 MP for
    # the command line); a browser upload has no reason to be that big.
    max_megapixels: float = dataclasses.field(default=50.0, metadata={
        "help": "Largest image accepted, in megapixels; bigger ones are refused "
                "before decoding (decompression bombs). Lowered at start to what "
                "half the free memory can decode and stylize."})
    max_photos: int = dataclasses.field(default=8, metadata={
        "help": "Uploaded photos kept in memory; the oldest is forgotten first."})
    thumbnail_size: int = dataclasses.field(default=128, metadata={
        "help": "Longer side, in pixels, of the style thumbnails."})
    painting_model: str = dataclasses.field(default="arbitrary-v1", metadata={
        "help": "Arbitrary-style model for paintings dropped on the page (each "
                "becomes a style: its style vector); '' turns dropped paintings off."})
    jit_compile: bool = dataclasses.field(default=False, metadata={
        "help": "Compile the network with XLA (faster per frame, but every new "
                "photo size compiles for seconds first)."})
    # 30 MB (the default --max_upload_mb) in 60 s is 4 Mbit/s, slower than any
    # home network; a client dripping bytes holds an upload slot for at most
    # this long.
    body_timeout_s: float = dataclasses.field(default=60.0, metadata={
        "help": "Seconds a request body (an upload, a frame, a render request) may take "
                "to arrive; a slower one is refused (408) and frees its upload slot."})
    allowed_hosts: str = dataclasses.field(default="", metadata={
        "help": "More names the studio answers to, comma-separated (besides this "
                "machine's addresses, its host name and localhost): requests with "
                "another Host header are refused, so web pages cannot reach the studio "
                "by DNS rebinding."})

    def __post_init__(self):
        # Every path to a studio (flags, tests, notebooks) builds this, so a
        # bad value is one line here, before the model loads.
        def number(name, low, integer=False, strict=True):
            value = getattr(self, name)
            bad = (isinstance(value, bool) or not isinstance(value, numbers.Real)
                   or not math.isfinite(value) or (integer and not float(value).is_integer())
                   or (value <= low if strict else value < low))
            if bad:
                kind = "a whole number" if integer else "a number"
                bound = f"above {low}" if strict else f"at least {low}"
                raise UserError(f"--{name} must be {kind} {bound}. Received: {value!r}")

        for name in ("working_size", "webcam_size", "thumbnail_size"):
            # The network's smallest input side: a smaller working, webcam or
            # thumbnail size is refused, not padded.
            number(name, render_options.MIN_SIZE, integer=True, strict=False)
        number("max_photos", 1, integer=True, strict=False)
        for name in ("max_upload_mb", "max_megapixels", "body_timeout_s"):
            number(name, 0)
        if self.num_styles is not None:
            number("num_styles", 1, integer=True, strict=False)
        if isinstance(self.port, bool) or not isinstance(self.port, int) \
                or not 0 <= self.port <= 65535:
            raise UserError(f"--port must be in 0..65535 (0 = any free port). "
                            f"Received: {self.port!r}")
        if not isinstance(self.host, str) or not _HOST_NAME.match(self.host.strip("[]") or "-"):
            raise UserError(f"--host must be an address to listen on (127.0.0.1, 0.0.0.0, "
                            f"::1, a name of this machine). Received: {self.host!r}")
        host_names(self.allowed_hosts)
