"""Video files in and out through PyAV, frames streamed, the sound kept.

PyAV's wheels carry their own FFmpeg (H.264, VP9, GIF, AAC, Opus included),
so reading and writing video needs no system package. Frames come out and go
in as uint8 `[H, W, 3]` RGB arrays in batches, so memory does not grow with
the length of the video; the audio track is copied packet by packet when the
output container can hold its codec (remux, bit-exact) and re-encoded (AAC,
or Opus for WebM) otherwise. GIF holds no sound: its audio is dropped with a
warning.

Every output frame keeps its input frame's time stamp (`VideoReader.frame_pts`
into `VideoWriter.write_frames`), so a variable-frame-rate input stays
variable and in sync with its sound, as FFmpeg's passthrough does; frames
written without stamps get the nominal rate.
"""

import contextlib
import dataclasses
import fractions
import logging
import os

import numpy as np

from magenta_style.errors import UserError

# Output container by extension: (FFmpeg muxer, video encoder, audio encoder,
# audio codecs the container takes as they are).
CONTAINERS = {
    ".mp4": ("mp4", "libx264", "aac", {"aac", "mp3", "alac", "ac3", "opus", "flac"}),
    ".m4v": ("mp4", "libx264", "aac", {"aac", "mp3", "alac", "ac3"}),
    ".mov": ("mov", "libx264", "aac", {"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le"}),
    ".mkv": ("matroska", "libx264", "aac", None),  # None: any codec
    ".webm": ("webm", "libvpx-vp9", "libopus", {"opus", "vorbis"}),
    ".gif": ("gif", "gif", None, set()),
}
# H.264 quality (x264's CRF: 0 lossless, 23 its default; 18 looks lossless).
_CRF = "18"


def load_av():
    try:
        import av
    except ImportError:
        raise UserError("video needs PyAV: pip install 'magenta_style[video]' "
                        "(or pip install av)") from None
    av.logging.set_level(av.logging.ERROR)  # FFmpeg's warnings are not ours
    # FFmpeg's error lines reach us inside PyAV's exceptions ("last error
    # log: ..."), which become our one-line errors; printed as well (Python
    # logging's last resort), they would stand next to that line.
    libav = logging.getLogger("libav")
    if not libav.handlers:
        libav.addHandler(logging.NullHandler())
    libav.propagate = False
    return av


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    width, height: frame size in pixels. rate: frames per second (a
    `fractions.Fraction`, e.g. 30000/1001). frames: the number of frames the
    container declares (0 when it does not know). audio_codec: the first
    audio track's codec name, or None without sound. duration: seconds, or
    None when unknown.
    """
    width: int
    height: int
    rate: fractions.Fraction
    frames: int
    audio_codec: object
    duration: object


def _reading_error(path, error):
    return UserError(f"cannot read video {os.fspath(path)!r}: {error}. "
                     "Give a video file FFmpeg can decode (mp4, mov, webm, mkv, gif, ...).")


class VideoReader:
    """An open video file: its `info`, then its frames in batches.

    Use as a context manager. `packets()` yields the file's video frames and
    audio packets in file order (what a writer needs to interleave sound
    without buffering the whole track); after each frame, `frame_pts` is its
    presentation time in units of `time_base` (None if the file has none).
    """

    def __init__(self, path):
        av = load_av()
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise UserError(f"video file {self.path!r} does not exist (or is not a file).")
        try:
            self._container = av.open(self.path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
            raise _reading_error(self.path, e) from None
        streams = self._container.streams
        # An audio file's cover art is a one-picture "video" stream.
        cover = av.stream.Disposition.attached_pic
        videos = [s for s in streams.video if not s.disposition & cover]
        if not videos:
            kinds = [s.type for s in streams]
            self._container.close()
            raise UserError(f"{self.path!r} holds no video stream (its streams: "
                            f"{', '.join(kinds) or 'none'}); give a video file.")
        self.video_stream = videos[0]
        self.time_base = self.video_stream.time_base
        self.frame_pts = None
        self.video_stream.thread_type = "AUTO"  # FFmpeg's frame threads
        self.audio_stream = streams.audio[0] if streams.audio else None
        v = self.video_stream
        rate = v.average_rate or v.guessed_rate or v.base_rate
        if not rate:
            rate = fractions.Fraction(25)
        duration = (float(self._container.duration) / 1e6
                    if self._container.duration else None)
        self.info = VideoInfo(
            width=v.codec_context.width, height=v.codec_context.height,
            rate=fractions.Fraction(rate), frames=int(v.frames or 0),
            audio_codec=(self.audio_stream.codec_context.name
                         if self.audio_stream is not None else None),
            duration=duration)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._container.close()

    def packets(self):
        """Yields `("frame", uint8 [H, W, 3])` and `("audio", packet)` in file order."""
        av = load_av()
        streams = [self.video_stream] + ([self.audio_stream] if self.audio_stream else [])
        try:
            for packet in self._container.demux(streams):
                if packet.stream is self.video_stream:
                    for frame in packet.decode():
                        self.frame_pts = frame.pts
                        yield "frame", frame.to_ndarray(format="rgb24")
                elif packet.dts is not None:  # None: the demuxer's end marker
                    yield "audio", packet
        except av.FFmpegError as e:
            raise _reading_error(self.path, e) from None

    def frames(self):
        """Yields the video's frames, uint8 `[H, W, 3]` RGB."""
        for kind, item in self.packets():
            if kind == "frame":
                yield item


def read_info(path):
    """The `VideoInfo` of the video file at `path` (raises `UserError` if unreadable)."""
    with VideoReader(path) as reader:
        return reader.info


def read_frames(path, max_frames=None):
    """All (or the first `max_frames`) frames of a video: uint8 `[T, H, W, 3]`.

    For tests and benchmarks on short clips; `stylize_video` streams instead.
    """
    frames = []
    with VideoReader(path) as reader:
        for frame in reader.frames():
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)


def resample(frame, width, height):
    """uint8 `[H, W, 3]` `frame` resized to `height` x `width` (bicubic, as FFmpeg's scaler)."""
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize((int(width), int(height)), Image.BICUBIC))


def container_for(path):
    """`CONTAINERS` entry of an output path, or a `UserError` naming the supported ones."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in CONTAINERS:
        raise UserError(f"cannot write video {os.fspath(path)!r}: unknown extension "
                        f"{ext or '(none)'!r}. Use one of {sorted(CONTAINERS)}.")
    return CONTAINERS[ext]


def _encoder(av, name, path):
    try:
        return av.codec.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        raise UserError(
            f"cannot write {os.fspath(path)!r}: this FFmpeg (PyAV {av.__version__}) has no "
            f"{name!r} encoder. Install PyAV's own wheel (pip install --force-reinstall av) "
            "or pick another extension (.mp4, .webm, .mov, .gif).") from None


def gif_frame(av, frame):
    """An RGB frame as a 256-colour palette frame (PIL's median cut, per frame)."""
    from PIL import Image

    paletted = Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    rgb = np.zeros((256, 3), np.uint8)
    pal = np.asarray(paletted.getpalette()[:768], np.uint8).reshape(-1, 3)
    rgb[:len(pal)] = pal
    # PyAV takes the palette as (A, R, G, B) columns, opaque.
    argb = np.concatenate([np.full((256, 1), 255, np.uint8), rgb], axis=1)
    return av.VideoFrame.from_ndarray((np.asarray(paletted, np.uint8), argb), format="pal8")


class VideoWriter:
    """Writes frames (and optionally the source's audio) to a video file.

    `path` is written as it is (callers wanting atomicity pass a temp path;
    `name` is how messages call the file). Frame stamps given to
    `write_frames` are in `time_base` (default `1 / rate`, one per frame).
    The container comes from the extension (`CONTAINERS`): H.264 (CRF 18) in
    mp4/mov/mkv, VP9 in webm, 256-colour GIF. Odd frame sizes, which 4:2:0
    chroma cannot hold, are encoded 4:4:4 in H.264 so the size is kept.
    """

    def __init__(self, path, width, height, rate, audio_stream=None, time_base=None,
                 name=None):
        av = load_av()
        self._av = av
        self.path = os.fspath(path)
        self.name = os.fspath(name) if name is not None else self.path
        muxer, vcodec, acodec, remuxable = container_for(self.path)
        _encoder(av, vcodec, self.path)
        try:
            self._container = av.open(self.path, mode="w", format=muxer)
        except (av.FFmpegError, OSError) as e:
            raise UserError(f"cannot write video {self.path!r}: {e}") from None
        self._gif = vcodec == "gif"
        self._rate = fractions.Fraction(rate).limit_denominator(1_000_000)
        self._time_base = (fractions.Fraction(time_base) if time_base else 1 / self._rate)
        # Ticks of one nominal frame: the stamp of a frame given none.
        self._frame_ticks = max(1, round(1 / (self._rate * self._time_base)))
        self._next_pts, self._last_pts = 0, None
        stream = self._container.add_stream(vcodec, rate=self._rate)
        stream.codec_context.time_base = self._time_base
        stream.width, stream.height = int(width), int(height)
        if self._gif:
            stream.pix_fmt = "pal8"
        elif vcodec == "libx264":
            odd = width % 2 or height % 2
            stream.pix_fmt = "yuv444p" if odd else "yuv420p"
            stream.options = {"crf": _CRF, "preset": "medium"}
        else:  # VP9: constant quality
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "30", "b": "0", "row-mt": "1", "deadline": "good",
                              "cpu-used": "4"}
        self._video = stream
        self._count = 0
        self._audio = None
        self._remux = False
        if audio_stream is not None:
            name = audio_stream.codec_context.name
            if acodec is None:
                logging.warning("%s: GIF holds no sound; the %s audio track is dropped.",
                                self.name, name)
            elif remuxable is None or name in remuxable:
                self._audio = self._container.add_stream_from_template(audio_stream)
                self._remux = True
            else:
                _encoder(av, acodec, self.path)
                sample_rate = audio_stream.codec_context.sample_rate or 48000
                if acodec == "libopus":
                    sample_rate = 48000  # Opus's own rate
                self._audio = self._container.add_stream(acodec, rate=sample_rate)
                layout = audio_stream.codec_context.layout
                if layout is not None and layout.nb_channels <= 2:
                    self._audio.layout = layout.name

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(flush=exc_type is None)

    @property
    def frames_written(self):
        return self._count

    def write_frames(self, frames, pts=None):
        """Encodes uint8 `[B, H, W, 3]` (or one `[H, W, 3]`) RGB frames, in order.

        Args:
            pts: optional presentation stamps of the frames, in `time_base`
                (None, or None entries: one nominal frame after the last).
                Stamps that do not increase are moved one tick past the last.
        """
        frames = np.asarray(frames, np.uint8)
        if frames.ndim == 3:
            frames = frames[None]
        for i, frame in enumerate(frames):
            vf = (gif_frame(self._av, frame) if self._gif
                  else self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                        format="rgb24"))
            stamp = self._next_pts if pts is None or pts[i] is None else int(pts[i])
            if self._last_pts is not None and stamp <= self._last_pts:
                stamp = self._last_pts + 1
            self._last_pts, self._next_pts = stamp, stamp + self._frame_ticks
            vf.pts = stamp
            vf.time_base = self._time_base
            self._count += 1
            self._container.mux(self._video.encode(vf))

    def write_audio(self, packet):
        """Copies (or re-encodes) one audio packet of the source's audio stream."""
        if self._audio is None:
            return
        if self._remux:
            packet.stream = self._audio
            self._container.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder numbers its own samples
            self._container.mux(self._audio.encode(frame))

    def close(self, flush=True):
        """Flushes the encoders (unless `flush` is False) and closes the file."""
        try:
            if flush:
                self._container.mux(self._video.encode(None))
                if self._audio is not None and not self._remux:
                    self._container.mux(self._audio.encode(None))
        finally:
            self._container.close()


@contextlib.contextmanager
def open_writer(path, width, height, rate, audio_stream=None, time_base=None, name=None):
    """`VideoWriter` as a context manager (flushes only when no error occurred)."""
    writer = VideoWriter(path, width, height, rate, audio_stream, time_base, name)
    with writer:
        yield writer
