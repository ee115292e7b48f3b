"""Video in, stylized video out: `stylize_video`, and `FrameStylizer` for live frames.

`stylize_video(input, output, which_styles)` reads the file with PyAV
(`video.io`), sends frames through the network in batches, smooths them over
time (`video.temporal`, chosen by `temporal=`), and writes the output with
the input's frame rate, size, frame count and sound, to a temp file renamed
into place at the end. `FrameStylizer` is the same per-frame pipeline for a
stream of frames held in memory (a webcam, the benchmark).
"""

import concurrent.futures
import dataclasses
import logging
import os
import typing

import numpy as np

from magenta_style import checks
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.stylization import masks as masks_lib
from magenta_style.stylization import render
from magenta_style.stylization import runner as runner_lib
from magenta_style.stylization import tasks
from magenta_style.stylization.options import RenderOptions
from magenta_style.video import budget
from magenta_style.video import temporal as temporal_lib

# The smallest frame the network takes (reflection padding of 4 needs 5).
_MIN_SIDE = 5


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    """Options of `stylize_video` and `bin/stylize_video` (flags are made from these)."""

    input_video: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Video file to stylize (mp4, mov, webm, mkv, gif, ...)."})
    output_video: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Output file; its extension picks the format: .mp4/.mov/.mkv (H.264), "
                ".webm (VP9), .gif. Replaced if it exists."})
    checkpoint: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model: a shipped name (default varied), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    which_styles: str = dataclasses.field(default="0", metadata={
        "help": "One style or one mixture: '3', 'starry_night', '{0:0.5,3:0.5}'."})
    style_image: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Any painting as the style (Ghiasi et al.'s arbitrary style; implies "
                "--checkpoint=arbitrary-v1)."})
    style_masks: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Styles in regions of every frame: one still mask per entry of "
                "--which_styles (as bin/stylize), or one label image with --mask_palette."})
    mask_palette: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Colours of the regions in a --style_masks label image: '#87ceeb,#808080'."})
    region_statistics: str = dataclasses.field(default="per_style", metadata={
        "help": "With --style_masks: per_style or shared (as bin/stylize)."})
    normalize_weights: bool = dataclasses.field(default=False, metadata={
        "help": "Rescale mixture weights to sum to 1 (Magenta uses them as given)."})
    temporal: str = dataclasses.field(default="flow", metadata={
        "help": "Temporal consistency: none (each frame alone), ema (instance-norm "
                "statistics averaged over time), flow (blend with the previous output "
                "warped by optical flow; the default: measured best trade-off), ema+flow "
                "(both). See docs/video.md."})
    momentum: float = dataclasses.field(default=0.9, metadata={
        "help": "ema: weight of the past in the running statistics, in [0, 1)."})
    flow_weight: float = dataclasses.field(default=0.6, metadata={
        "help": "flow: share of the warped previous output where it is visible, in [0, 1)."})
    batch_size: int = dataclasses.field(default=8, metadata={
        "help": "Most frames per network call; fewer when half the memory available "
                "holds fewer (at the measured bytes per pixel, docs/video.md)."})
    preserve_colors: bool = dataclasses.field(default=False, metadata={
        "help": "Keep the video's colours; take only luminance from the pastiche."})
    strength: float = dataclasses.field(default=1.0, metadata={
        "help": "Blend of pastiche and frame in [0, 1]; 1 = full style."})
    jit_compile: bool = dataclasses.field(default=False, metadata={
        "help": "Compile the network with XLA (once per frame size)."})
    progress: bool = dataclasses.field(default=True, metadata={
        "help": "Show a progress bar with frames/s."})


_CFG = VideoConfig


class FrameStylizer:
    """Stylizes consecutive frames of one video with temporal smoothing.

    Args:
        model: anything `stylize` takes as a model (a task, a loaded model, a
            name or path; None: `varied`, or `arbitrary-v1` with paintings).
        which_styles: one style or one mixture of a multi-style model.
        style_image, style_blend_weights, style_vector: instead, one painting,
            one blend of paintings, or one style vector (as `stylize`).
        masks, mask_palette: a still mask per entry of `which_styles` (or per
            painting), as `stylize`: every frame gets the styles in regions
            (resized to the frame). Smoothed by `temporal="flow"`; "ema"
            needs one style for the whole frame.
        temporal: one of `temporal.TEMPORAL_MODES`.
        momentum, flow_weight, normalize_weights, num_styles: as in `VideoConfig`.
        options: `RenderOptions` (`preserve_colors`, `strength`, `jit_compile`
            are read); keywords named like its fields override it.

    Call it on uint8 `[B, H, W, 3]` batches of consecutive frames; it returns
    uint8 `[B, H, W, 3]`. `reset()` before frames of another video (a change
    of frame size resets by itself); `set_styles` / `set_conditioning` change
    the style and `set_options` the options mid-stream. A live source (a
    webcam) calls it one frame at a time. With a painting, `strength` moves
    its style vector towards the first frame's own (Magenta's identity
    interpolation, once per stream so the style does not flicker).
    """

    def __init__(self, model=None, which_styles=0, *, style_image=None,
                 style_blend_weights=None, style_vector=None, masks=None, mask_palette=None,
                 temporal=_CFG.temporal,
                 momentum=_CFG.momentum, flow_weight=_CFG.flow_weight,
                 normalize_weights=_CFG.normalize_weights, num_styles=None, options=None,
                 **render_options):
        self.options = (options or RenderOptions()).replace(**render_options)
        use_ema, use_flow = temporal_lib.parse_temporal(temporal)
        self.task = tasks.as_task(model, num_styles,
                                  paintings=style_image is not None or style_vector is not None)
        self.set_conditioning(self.task.resolve(
            which_styles, style_image=style_image, style_blend_weights=style_blend_weights,
            style_vector=style_vector, masks=masks, mask_palette=mask_palette,
            normalize_weights=normalize_weights))
        if use_ema and masks is not None:
            raise UserError("temporal=ema averages one style's statistics over time; with "
                            "style masks use temporal=flow (or none).")
        network = self.task.network
        self._ema = (temporal_lib.EmaNetwork(network, momentum, self.options.jit_compile)
                     if use_ema else None)
        self._run = runner_lib.runner(network, self.options.jit_compile)
        self._flow = temporal_lib.FlowBlender(flow_weight) if use_flow else None
        self._pool = None
        self._size = None

    @property
    def model(self):
        """The network the frames go through."""
        return self.task.network

    def set_conditioning(self, conditioning):
        """Changes the style (a `Conditioning` of this task with one output) from the next frame.

        The temporal state is kept, so a live stream (the studio's webcam
        with its sliders) changes style without a jump in its statistics.
        """
        if conditioning.num_outputs != 1:
            raise UserError("a video gets one style or one mixture (or one painting), not a "
                            f"list of styles. Received: {len(conditioning.suffixes)} outputs")
        self.conditioning = conditioning
        self.suffix = conditioning.suffixes[0]
        self._rows = None  # made from the next frame (strength may need it)
        self._regions = None  # the masks at the frame size, made from the next frame

    def set_styles(self, which_styles, normalize_weights=False):
        """`set_conditioning` of one style or one mixture of a multi-style model."""
        spec = self.task.resolve(which_styles, normalize_weights=normalize_weights)
        if spec.num_outputs != 1:
            raise UserError("a video gets one style or one mixture, not a list of styles. "
                            f"Received: which_styles={which_styles!r}")
        self.set_conditioning(spec)

    def set_options(self, options):
        """New `RenderOptions` from the next frame on (the temporal state is kept)."""
        if options.strength != self.options.strength:
            self._rows = None
        self.options = options.check()

    def reset(self):
        """Starts a new video (forgets running statistics and the previous frame)."""
        self._size = None
        self._rows = None
        self._regions = None
        if self._ema is not None:
            self._ema.reset()
        if self._flow is not None:
            self._flow.reset()

    def __call__(self, frames):
        frames = np.asarray(frames, np.uint8)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise UserError(f"frames must be uint8 [B, H, W, 3]. Received shape {frames.shape}")
        if min(frames.shape[1:3]) < _MIN_SIDE:
            raise UserError(f"video frames must be at least {_MIN_SIDE}x{_MIN_SIDE} pixels. "
                            f"Received: {frames.shape[2]}x{frames.shape[1]}")
        if self._size not in (None, frames.shape[1:3]):
            self.reset()  # a new frame size is a new stream
        self._size = frames.shape[1:3]
        photos = frames.astype(np.float32) / 255.0
        if self._rows is None:
            self._rows = self.task.rows_for_photo(self.conditioning, photos[0],
                                                  self.options.strength)
        rows, pixel_strength = self._rows
        if self.conditioning.masks is not None and self._regions is None:
            self._regions = masks_lib.Regions.from_masks(masks_lib.load_masks(
                self.conditioning.masks, len(rows), frames.shape[1:3],
                palette=self.conditioning.mask_palette,
                styles=self.conditioning.region_names))
        motions = None
        if self._flow is not None:
            # The flow reads only input frames: estimate it while the network runs.
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "magenta_style_flow")
            motions = self._pool.submit(self._flow.motion, frames)
        if self._regions is not None:
            pastiches = np.stack([runner_lib.run(self.task.network, photo, rows, self.options,
                                                 self._regions)[0] for photo in photos])
        else:
            rows = np.repeat(np.asarray(rows, np.float32)[:1], len(frames), axis=0)
            if self._ema is not None:
                pastiches = self._ema(photos, rows)
            else:
                pastiches = np.asarray(self._run(photos, rows))
        if motions is not None:
            pastiches = self._flow.blend(pastiches, motions.result())
        out = np.empty_like(frames)
        for i, (photo, pastiche) in enumerate(zip(photos, pastiches)):
            out[i] = render.finish(pastiche, photo, self.options.preserve_colors, pixel_strength)
        return out


def stylize_video(input_video, output_video, which_styles=0, model=None, *, style_image=None,
                  style_blend_weights=None, style_vector=None, masks=None, mask_palette=None,
                  config=None, options=None, **overrides):
    """Stylizes a video file, keeping its frame rate, size, frame count and sound.

    Args:
        input_video: path of a video FFmpeg can read (mp4, mov, webm, mkv, gif, ...).
        output_video: output path; the extension picks container and codecs
            (`video.io.CONTAINERS`: H.264 in .mp4/.mov/.mkv, VP9 in .webm,
            GIF). Written to a temp file beside it, then renamed (an existing
            file is replaced only when the new one is complete); checked
            before any work (not a folder, not the input, writable), and
            temp videos of killed runs there are removed.
        which_styles: one style index or name, or one mixture
            (`{0: 0.5, 3: 0.5}`, `"0:0.5,3:0.5"`).
        model: as `stylize` (None: `varied`, or `arbitrary-v1` with a painting).
        style_image, style_blend_weights, style_vector: any painting (or a
            blend, or a style vector) as the style, as `stylize`.
        masks, mask_palette: styles in regions of every frame, from still
            masks (as `stylize`; default `config.style_masks`).
        config: a `VideoConfig` for the other settings (default its defaults);
            its render fields make the `RenderOptions` unless `options` is given.
        options: `RenderOptions` (`preserve_colors`, `strength`, `jit_compile`).
        **overrides: any `VideoConfig` field (`temporal="ema"`, `momentum`,
            `flow_weight`, `batch_size`, `strength`, `preserve_colors`,
            `jit_compile`, `normalize_weights`, `num_styles`, `progress`).

    Frames go through the network `batch_size` at a time, fewer when memory
    holds fewer (`video.budget`; frames too large for it are refused before
    any work); a frame size
    that changes mid-stream is resampled to the first, with a warning; each
    frame keeps its time stamp, so a variable frame rate stays in sync with
    the sound.

    Returns:
        `video.io.VideoInfo` of the written file.

    Raises:
        UserError: unreadable input (or no video stream), unsupported output
            extension or missing encoder, a bad output path, frames too large
            for the memory available, bad style or options.
        TypeError: a keyword that is not a `VideoConfig` field.
    """
    config = dataclasses.replace(config or VideoConfig(), **overrides)
    render_fields = {f.name for f in dataclasses.fields(RenderOptions)}
    if options is None:
        options = RenderOptions.from_config(config)
    else:
        options = options.replace(**{k: v for k, v in overrides.items() if k in render_fields})
    style_image = config.style_image if style_image is None else style_image
    masks = config.style_masks if masks is None else masks
    mask_palette = config.mask_palette if mask_palette is None else mask_palette
    batch_size = checks.number("batch_size", config.batch_size, 1, integer=True)
    from magenta_style.video import io as video_io

    if input_video is None or output_video is None:
        raise UserError("give both --input_video and --output_video.")
    output_video = os.fspath(output_video)
    # Before any work: a bad extension, a folder, a path under a file, an
    # unwritable folder, the input itself.
    video_io.container_for(output_video)
    atomic.check_output_file(output_video, "output video", inputs=(input_video,))
    # A killed run (SIGKILL, power loss) leaves its hidden temp video here.
    atomic.remove_stale(os.path.dirname(os.path.abspath(output_video)))
    with video_io.VideoReader(input_video) as reader:  # a bad input fails before the model loads
        info = reader.info
        plan = budget.plan_frames(info.width, info.height, batch_size)
        stylizer = FrameStylizer(
            model, which_styles, style_image=style_image,
            style_blend_weights=style_blend_weights, style_vector=style_vector, masks=masks,
            mask_palette=mask_palette, temporal=config.temporal, momentum=config.momentum,
            flow_weight=config.flow_weight, normalize_weights=config.normalize_weights,
            num_styles=config.num_styles, options=options)
        atomic.write_file(
            output_video,
            lambda tmp: _transcode(reader, stylizer, plan.batch_size, tmp, output_video,
                                   config.progress),
            suffix=os.path.splitext(output_video)[1].lower())
    return video_io.read_info(output_video)


def _transcode(reader, stylizer, batch_size, path, output_video, progress):
    """Writes `reader`'s video stylized to `path` (a temp file of `output_video`).

    Every frame keeps its time stamp (a variable frame rate stays in sync
    with the sound); a frame whose size differs from the stream's first is
    resampled to it, with one warning, as FFmpeg's scaler does.
    """
    from tqdm import tqdm

    from magenta_style.video import io as video_io

    info = reader.info
    with video_io.open_writer(path, info.width, info.height, info.rate, reader.audio_stream,
                              time_base=reader.time_base, name=output_video) as writer, \
            tqdm(total=info.frames or None, unit="frame", disable=not progress,
                 desc=os.path.basename(output_video)) as bar:
        pending, stamps, resized = [], [], 0

        def flush():
            writer.write_frames(stylizer(np.stack(pending)), stamps)
            bar.update(len(pending))
            pending.clear()
            stamps.clear()

        for kind, item in reader.packets():
            if kind == "audio":
                writer.write_audio(item)
                continue
            if item.shape[:2] != (info.height, info.width):
                if not resized:
                    logging.warning(
                        "%s: frame %d is %dx%d, not %dx%d as the stream began; frames of "
                        "another size are resampled to %dx%d.", reader.path,
                        writer.frames_written + len(pending), item.shape[1], item.shape[0],
                        info.width, info.height, info.width, info.height)
                resized += 1
                item = video_io.resample(item, info.width, info.height)
            pending.append(item)
            stamps.append(reader.frame_pts)
            if len(pending) == batch_size:
                flush()
        if pending:
            flush()
        if writer.frames_written == 0:
            raise UserError(f"{reader.path!r} holds no decodable frame.")
