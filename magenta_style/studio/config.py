"""Options of the style studio (the single source of their defaults)."""

import dataclasses
import typing


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
