"""The studio's webcam streams: one `FrameStylizer` per camera session.

A stream's frames are smoothed over time (`temporal="flow"`, docs/video.md),
so each camera session keeps its own stylizer, holding its previous frame
and output. At most `MAX_STREAMS` are kept; a new one forgets the least
recently used.
"""

import collections
import re

from magenta_style.errors import UserError

# Webcam streams with temporal smoothing kept at once (each holds its last
# frame and output); a new one forgets the least recently used.
MAX_STREAMS = 4
# What the page sends as a stream id (it makes one per camera session).
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_stream_id(stream):
    """Raises `UserError` unless `stream` is a `STREAM_ID` string."""
    if not isinstance(stream, str) or not STREAM_ID.fullmatch(stream):
        raise UserError("stream must be 1 to 64 letters, digits, '-' or '_'. "
                        f"Received: {str(stream)[:80]!r}")


class Streams:
    """The `FrameStylizer`s of the camera sessions, least recently used first.

    Not thread-safe: the studio calls it under its render lock.

    Args:
        model: the multi-style model the stylizers run.
        jit_compile: passed to each `FrameStylizer`.
        max_streams: how many to keep.
    """

    def __init__(self, model, jit_compile, max_streams=MAX_STREAMS):
        self.model = model
        self.jit_compile = jit_compile
        self.max_streams = max_streams
        self._stylizers = collections.OrderedDict()  # stream id -> FrameStylizer

    def __len__(self):
        return len(self._stylizers)

    def ids(self):
        """The stream ids that have a stylizer now (a set of str)."""
        return {stream for stream, _ in self._stylizers}

    def get(self, stream, model=None, **style):
        """The `FrameStylizer` of stream id `stream` for `model` (made on its first frame).

        Args:
            stream: the stream id.
            model: the model its frames go through (default the studio's);
                a stream that switches between the trained styles and dropped
                paintings keeps one stylizer for each.
            **style: the first style (`style_vector=...` for paintings).
        """
        from magenta_style.video import api as video_api

        check_stream_id(stream)
        model = self.model if model is None else model
        key = (stream, id(model))
        stylizer = self._stylizers.pop(key, None)
        if stylizer is None:
            stylizer = video_api.FrameStylizer(model, temporal="flow",
                                               jit_compile=self.jit_compile, **style)
        self._stylizers[key] = stylizer  # the most recently used last
        while len(self._stylizers) > self.max_streams:
            self._stylizers.popitem(last=False)
        return stylizer
