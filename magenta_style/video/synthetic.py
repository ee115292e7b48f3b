"""Short clips made from a photo, with known motion and a sine-tone sound.

Tests, the flicker benchmark and the docs need video whose motion is known
exactly: a camera pan over a photo moves every pixel by the same whole
number of pixels per frame, so consecutive outputs can be aligned without
estimating flow; a zoom gives motion that differs at every pixel (the
"real-ish" case, aligned by estimated flow).
"""

import fractions

import numpy as np
from PIL import Image

from magenta_style.video import io as video_io


def pan_frames(photo, size, num_frames, shift):
    """A horizontal pan: window `size` `(H, W)` moving right `shift` px per frame.

    Args:
        photo: uint8 `[PH, PW, 3]`, at least `W + shift * (num_frames - 1)`
            wide and `H` high (a larger photo is scaled down to fit its height).
        size: `(H, W)` of the frames.
        num_frames: int >= 1.
        shift: int >= 0, pixels per frame.

    Returns:
        uint8 `[num_frames, H, W, 3]`; frame `t + 1` equals frame `t` moved
        left by `shift` pixels (new content enters at the right).
    """
    h, w = size
    photo = _fit(photo, h, w + shift * (num_frames - 1))
    top = (photo.shape[0] - h) // 2
    return np.stack([photo[top:top + h, t * shift:t * shift + w]
                     for t in range(num_frames)])


def zoom_frames(photo, size, num_frames, factor=1.02):
    """A zoom in towards the photo's centre: each frame is `factor` x the last.

    Returns uint8 `[num_frames, H, W, 3]` (bicubic resampling).
    """
    h, w = size
    photo = _fit(photo, h, w)
    ph, pw = photo.shape[:2]
    image = Image.fromarray(photo)
    frames = []
    for t in range(num_frames):
        scale = factor ** t
        ch, cw = ph / scale, pw / scale
        box = ((pw - cw) / 2, (ph - ch) / 2, (pw + cw) / 2, (ph + ch) / 2)
        frames.append(np.asarray(image.resize((w, h), Image.BICUBIC, box=box)))
    return np.stack(frames)


def _fit(photo, min_h, min_w):
    """`photo` scaled (down or up) so it covers `min_h` x `min_w`, keeping its aspect."""
    photo = np.asarray(photo, np.uint8)
    ph, pw = photo.shape[:2]
    scale = max(min_h / ph, min_w / pw)
    if abs(scale - 1) > 1e-6:
        size = (max(min_w, round(pw * scale)), max(min_h, round(ph * scale)))
        photo = np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS))
    return photo


def sine_tone(seconds, sample_rate=48000, frequency=440.0):
    """float32 `[2, N]` stereo sine tone at 0.2 amplitude."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    tone = (0.2 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.stack([tone, tone])


def write_clip(path, frames, rate=24, audio=True, sample_rate=48000, times=None):
    """Writes `frames` (uint8 `[T, H, W, 3]`) to `path`, with a sine tone as sound.

    The container and codecs follow the extension (`io.CONTAINERS`); the
    tone (when `audio`) lasts as long as the video and is AAC in mp4/mov,
    Opus in WebM. `times`: optional increasing start time of each frame in
    seconds (a variable frame rate, to the millisecond); default `t / rate`.
    """
    av = video_io.load_av()
    rate = fractions.Fraction(rate)
    frames = np.asarray(frames, np.uint8)
    time_base = 1 / rate if times is None else fractions.Fraction(1, 1000)
    stamps = (range(len(frames)) if times is None
              else [round(t / time_base) for t in times])
    duration = (len(frames) / rate if times is None
                else float(times[-1]) + 1 / float(rate))
    muxer, vcodec, acodec, _ = video_io.container_for(path)
    with av.open(str(path), mode="w", format=muxer) as out:
        video = out.add_stream(vcodec, rate=rate)
        video.height, video.width = frames.shape[1:3]
        video.pix_fmt = "pal8" if vcodec == "gif" else "yuv420p"
        video.codec_context.time_base = time_base
        astream = None
        if audio and acodec is not None:
            astream = out.add_stream(acodec, rate=sample_rate)
            astream.layout = "stereo"
        for stamp, frame in zip(stamps, frames):
            vf = (video_io.gif_frame(av, frame) if vcodec == "gif"
                  else av.VideoFrame.from_ndarray(frame, format="rgb24"))
            vf.pts, vf.time_base = stamp, time_base
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        if astream is not None:
            tone = sine_tone(duration, sample_rate)
            chunk = 1024
            for start in range(0, tone.shape[1], chunk):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tone[:, start:start + chunk]), format="fltp",
                    layout="stereo")
                af.sample_rate = sample_rate
                af.pts = None
                out.mux(astream.encode(af))
            out.mux(astream.encode(None))
    return path
