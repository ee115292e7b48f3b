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
import os
import typing

import numpy as np

from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.stylization import api as stylize_api
from magenta_style.stylization import runner as runner_lib
from magenta_style.stylization import style_choice
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
        "help": "Frames per network call."})
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
        model: a loaded model (or anything `stylization.api.get_model` takes).
        which_styles: one style or one mixture (`style_choice.parse_which_styles`).
        temporal: one of `temporal.TEMPORAL_MODES`.
        momentum, flow_weight, preserve_colors, strength, jit_compile,
        normalize_weights, num_styles: as in `VideoConfig`.

    Call it on uint8 `[B, H, W, 3]` batches of consecutive frames; it returns
    uint8 `[B, H, W, 3]`. `reset()` before frames of another video (a change
    of frame size resets by itself); `set_styles` changes the style mid-stream.
    A live source (a webcam) calls it one frame at a time.
    """

    def __init__(self, model=None, which_styles=0, *, temporal=_CFG.temporal,
                 momentum=_CFG.momentum, flow_weight=_CFG.flow_weight,
                 preserve_colors=_CFG.preserve_colors, strength=_CFG.strength,
                 jit_compile=_CFG.jit_compile, normalize_weights=_CFG.normalize_weights,
                 num_styles=None):
        stylize_api.check_options(strength, 0)
        use_ema, use_flow = temporal_lib.parse_temporal(temporal)
        self.model = stylize_api.get_model(model, num_styles)
        self.set_styles(which_styles, normalize_weights)
        self._ema = (temporal_lib.EmaNetwork(self.model, momentum, jit_compile)
                     if use_ema else None)
        self._run = runner_lib.runner(self.model, jit_compile)
        self._flow = temporal_lib.FlowBlender(flow_weight) if use_flow else None
        self._pool = None
        self._size = None
        self.preserve_colors, self.strength = preserve_colors, float(strength)

    def set_styles(self, which_styles, normalize_weights=False):
        """Changes the style (one style or one mixture) from the next frame on.

        The temporal state is kept, so a live stream (the studio's webcam
        with its sliders) changes style without a jump in its statistics.
        """
        spec = style_choice.parse_which_styles(
            which_styles, self.model.transformer_config.num_styles, self.model.style_names,
            normalize_weights)
        if spec.num_outputs != 1:
            raise UserError("a video gets one style or one mixture, not a list of styles. "
                            f"Received: which_styles={which_styles!r}")
        self.weights = spec.weights[:1]
        self.suffix = spec.suffixes[0]

    def reset(self):
        """Starts a new video (forgets running statistics and the previous frame)."""
        self._size = None
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
        weights = np.repeat(self.weights, len(frames), axis=0)
        motions = None
        if self._flow is not None:
            # The flow reads only input frames: estimate it while the network runs.
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "magenta_style_flow")
            motions = self._pool.submit(self._flow.motion, frames)
        if self._ema is not None:
            pastiches = self._ema(photos, weights)
        else:
            pastiches = np.asarray(self._run(photos, weights))
        if motions is not None:
            pastiches = self._flow.blend(pastiches, motions.result())
        out = np.empty_like(frames)
        for i, (photo, pastiche) in enumerate(zip(photos, pastiches)):
            out[i] = stylize_api.finish(pastiche, photo, self.preserve_colors, self.strength)
        return out


def stylize_video(input_video, output_video, which_styles=0, model=None, *,
                  temporal=_CFG.temporal, momentum=_CFG.momentum,
                  flow_weight=_CFG.flow_weight, batch_size=_CFG.batch_size,
                  preserve_colors=_CFG.preserve_colors, strength=_CFG.strength,
                  jit_compile=_CFG.jit_compile, normalize_weights=_CFG.normalize_weights,
                  num_styles=None, progress=_CFG.progress):
    """Stylizes a video file, keeping its frame rate, size, frame count and sound.

    Args:
        input_video: path of a video FFmpeg can read (mp4, mov, webm, mkv, gif, ...).
        output_video: output path; the extension picks container and codecs
            (`video.io.CONTAINERS`: H.264 in .mp4/.mov/.mkv, VP9 in .webm,
            GIF). Written to a temp file beside it, then renamed (an existing
            file is replaced only when the new one is complete).
        which_styles: one style index or name, or one mixture
            (`{0: 0.5, 3: 0.5}`, `"0:0.5,3:0.5"`).
        model: a loaded model, None (android-26), a shipped name, a model
            directory or a Magenta checkpoint.
        temporal: `"none"`, `"ema"`, `"flow"` or `"ema+flow"`
            (`video.temporal`; docs/video.md has the measured trade-offs).
        momentum: float in [0, 1), EMA weight of the past (ema).
        flow_weight: float in [0, 1), the warped previous output's share (flow).
        batch_size: int >= 1, frames per network call.
        preserve_colors, strength: as in `stylize`.
        jit_compile: compile with XLA.
        normalize_weights: rescale mixture weights to sum to 1.
        num_styles: optional int, checked against the model.
        progress: show a tqdm bar (frames/s).

    Returns:
        `video.io.VideoInfo` of the written file.

    Raises:
        UserError: unreadable input, unsupported output extension or missing
            encoder, bad style or options.
    """
    from magenta_style.video import io as video_io

    if int(batch_size) != batch_size or batch_size < 1:
        raise UserError(f"batch_size must be a positive integer. Received: {batch_size!r}")
    if input_video is None or output_video is None:
        raise UserError("give both --input_video and --output_video.")
    output_video = os.fspath(output_video)
    video_io.container_for(output_video)  # a bad extension fails before any work
    stylizer = FrameStylizer(
        model, which_styles, temporal=temporal, momentum=momentum, flow_weight=flow_weight,
        preserve_colors=preserve_colors, strength=strength, jit_compile=jit_compile,
        normalize_weights=normalize_weights, num_styles=num_styles)
    with video_io.VideoReader(input_video) as reader:
        info = reader.info

        def write(tmp):
            from tqdm import tqdm

            with video_io.open_writer(tmp, info.width, info.height, info.rate,
                                      reader.audio_stream) as writer, \
                    tqdm(total=info.frames or None, unit="frame", disable=not progress,
                         desc=os.path.basename(output_video)) as bar:
                pending = []

                def flush():
                    writer.write_frames(stylizer(np.stack(pending)))
                    bar.update(len(pending))
                    pending.clear()

                for kind, item in reader.packets():
                    if kind == "audio":
                        writer.write_audio(item)
                        continue
                    pending.append(item)
                    if len(pending) == batch_size:
                        flush()
                if pending:
                    flush()
                if writer.frames_written == 0:
                    raise UserError(f"{os.fspath(input_video)!r} holds no decodable frame.")

        atomic.write_file(output_video, write,
                          suffix=os.path.splitext(output_video)[1].lower())
    return video_io.read_info(output_video)

