"""Video: stylize a video file with temporal consistency (`api.stylize_video`).

`io` reads and writes video files through PyAV (frames streamed, audio kept),
`temporal` holds the two ways of making frames agree over time (shared
instance-norm statistics, flow-guided blending), `flicker` measures how much
they disagree, and `api` ties them together.
"""
