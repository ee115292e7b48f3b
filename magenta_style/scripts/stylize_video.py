"""Stylize a video file, keeping its frame rate, size, frame count and sound.

    bin/stylize_video --input_video=clip.mp4 --output_video=out.mp4 --which_styles=3
    bin/stylize_video --input_video=clip.mov --output_video=out.webm \\
        --which_styles="{0:0.5,3:0.5}" --temporal=ema+flow

The output's extension picks its format (.mp4/.mov/.mkv H.264, .webm VP9,
.gif). `--temporal` chooses how frames are kept consistent over time
(docs/video.md). An unreadable input or a missing codec is one error line
and exit status 2; the output appears only when complete.
"""

from absl import flags

from magenta_style.scripts import flagutil
from magenta_style.video.api import VideoConfig
from magenta_style.video.api import stylize_video

flagutil.define_flags(VideoConfig)
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise flags.Error(f"Unexpected arguments: {argv[1:]}")
    config = flagutil.config_from_flags(VideoConfig)
    info = stylize_video(config.input_video, config.output_video, config.which_styles,
                         config.checkpoint, config=config)
    print(f"Wrote {config.output_video}: {info.frames or 'all'} frames, "
          f"{info.width}x{info.height} at {float(info.rate):.3f} frames/s, "
          f"sound: {info.audio_codec or 'none'}")


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
