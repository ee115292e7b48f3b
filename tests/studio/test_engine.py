"""engine.Studio without HTTP: the limit and decode slots, streams, regions, paintings."""

import dataclasses
import io
import threading
import time
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.studio import engine
from magenta_style.studio import limits
from magenta_style.studio import options as options_lib
from magenta_style.studio import streams
from magenta_style.studio import uploads
from magenta_style.studio.config import StudioConfig
from magenta_style.stylization import memory as memory_lib
from magenta_style.stylization.api import stylize  # (= magenta_style.stylize)


@pytest.fixture(scope="module")
def studio():
    with mock.patch.object(memory_lib, "available_memory", return_value=None):
        return engine.Studio(dataclasses.replace(StudioConfig(), max_megapixels=1))


def test_the_limit_reaches_the_page_and_uploads(studio):
    with mock.patch.object(memory_lib, "available_memory", return_value=4e9):
        small = engine.Studio(studio.config, model=studio.model)
    assert small.max_pixels == limits.pixel_limit(1, available=4e9)[0]
    assert studio.info()["max_megapixels"] == 1.0


def test_at_most_decode_slots_uploads_are_decoded_at_once(studio):
    # Each decode holds a whole image in float32: four uploads of 49 MP at once
    # took the process from 3.7 to 8.8 GB. Count decodes running together.
    active, peak, lock, release = [0], [0], threading.Lock(), threading.Event()

    def slow_decode(data, max_pixels, name, memory=None):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        release.wait(30)
        with lock:
            active[0] -= 1
        return np.zeros((8, 8, 3), np.float32)

    with mock.patch.object(uploads, "decode_image", slow_decode):
        threads = [threading.Thread(target=studio.add_photo, args=(b"x", f"{i}.png"))
                   for i in range(3 * limits.DECODE_SLOTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while active[0] < limits.DECODE_SLOTS and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # time for any further decode to start, were it allowed
        seen = active[0]
        release.set()
        for t in threads:
            t.join(30)
    assert seen == peak[0] == limits.DECODE_SLOTS


def test_a_photo_keeps_its_full_size_and_a_small_working_copy(studio):
    buf = io.BytesIO()
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(buf, format="PNG")
    photo = studio.add_photo(buf.getvalue(), "grey.png")
    assert (photo.width, photo.height) == (400, 300)
    assert max(photo.working.shape[:2]) == studio.config.working_size


# -- webcam streams with temporal smoothing (issue 19) ------------------------

def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pan_frames():
    """Three frames of a pan over the studio's landscape (uint8 [48, 64, 3])."""
    from magenta_style.studio import thumbnails

    picture = image_io.to_uint8(thumbnails.sample_picture(80, 48))
    return [picture[:, 2 * t:2 * t + 64] for t in range(3)]


def _options(studio, weights, **kwargs):
    return options_lib.PageRequest(weights=np.asarray(weights, np.float64), **kwargs)


def test_a_webcam_stream_is_one_frame_stylizer_following_the_sliders(studio, pan_frames):
    from magenta_style.stylization.options import RenderOptions
    from magenta_style.video import api as video_api

    n = studio.num_styles
    first, second = np.eye(n)[0], 0.5 * (np.eye(n)[0] + np.eye(n)[3])
    got = [studio.render_frame(_png(pan_frames[0]), _options(studio, first), stream="s1"),
           studio.render_frame(_png(pan_frames[1]), _options(studio, second), stream="s1"),
           studio.render_frame(_png(pan_frames[2]), _options(studio, second, strength=0.7),
                               stream="s1")]
    # The same frames through one FrameStylizer whose style changes mid-stream.
    reference = video_api.FrameStylizer(studio.model, first, temporal="flow")
    expected = [reference(pan_frames[0][None])[0]]
    reference.set_styles(second)
    expected.append(reference(pan_frames[1][None])[0])
    reference.set_options(RenderOptions(strength=0.7))
    expected.append(reference(pan_frames[2][None])[0])
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    # The first frame of a stream is the frame stylized alone; later ones
    # carry the previous output (the new mixture did not reset the stream).
    alone = studio.render_frame(_png(pan_frames[1]), _options(studio, second))
    np.testing.assert_array_equal(got[0], studio.render_frame(
        _png(pan_frames[0]), _options(studio, first)))
    assert np.abs(got[1].astype(int) - alone).mean() > 0.5


def test_streams_are_apart_and_reset_starts_afresh(studio, pan_frames):
    n = studio.num_styles
    options = _options(studio, np.eye(n)[2])
    studio.render_frame(_png(pan_frames[0]), options, stream="a")
    other = studio.render_frame(_png(pan_frames[1]), options, stream="b")
    alone = studio.render_frame(_png(pan_frames[1]), options)
    np.testing.assert_array_equal(other, alone)  # b's first frame: a's is not used
    again = studio.render_frame(_png(pan_frames[1]), options, stream="a", reset=True)
    np.testing.assert_array_equal(again, alone)
    for i in range(streams.MAX_STREAMS + 2):
        studio.render_frame(_png(pan_frames[0]), options, stream=f"many{i}")
    assert len(studio.streams) == streams.MAX_STREAMS


@pytest.mark.parametrize("stream", ["", "a b", "../x", "x" * 65])
def test_a_bad_stream_id_is_one_line(studio, pan_frames, stream):
    options = _options(studio, np.eye(studio.num_styles)[0])
    with pytest.raises(UserError, match="stream must be 1 to 64"):
        studio.render_frame(_png(pan_frames[0]), options, stream=stream)


# -- painted regions (issue 20) ---------------------------------------------

def _stacked_png(masks):
    """`[h, w, K]` float masks -> the page's PNG (K gray masks stacked vertically)."""
    planes = np.concatenate(list(masks.transpose(2, 0, 1)), axis=0)
    return _png(image_io.to_uint8(planes))


@pytest.fixture(scope="module")
def region_photo(studio):
    from magenta_style.studio import thumbnails

    pixels = image_io.to_uint8(thumbnails.sample_picture(96, 72))
    photo = studio.add_photo(_png(pixels), "land.png")
    h, w = photo.working.shape[:2]
    masks = np.zeros((h, w, 2), np.float32)
    masks[:, : w // 2, 0] = 1.0
    masks[: h // 2, w // 2:, 1] = 0.6  # soft: the photo shows through 40%
    masks = image_io.to_uint8(masks) / np.float32(255)  # what a PNG carries
    return photo, pixels, masks


def test_painted_regions_render_what_stylize_gives(studio, region_photo):
    photo, pixels, masks = region_photo
    answer = studio.set_masks(photo.id, _stacked_png(masks))
    assert answer == {"regions": 2,
                      "coverage": [round(float(c), 4) for c in masks.mean((0, 1))]}
    rows = np.stack([np.eye(studio.num_styles)[1],
                     0.5 * (np.eye(studio.num_styles)[4] + np.eye(studio.num_styles)[6])])
    options = _options(studio, np.eye(studio.num_styles)[0], regions=rows, normalize=True)
    got = studio.render(photo.id, options)
    expected = stylize(photo.working, studio.model, rows, masks=list(masks.transpose(2, 0, 1)),
                       region_statistics="shared", normalize_weights=True)
    np.testing.assert_array_equal(got, expected)
    # Where no region is painted the photo itself shows.
    h, w = masks.shape[:2]
    np.testing.assert_array_equal(got[h // 2 + 2:, w // 2 + 2:],
                                  image_io.to_uint8(photo.working)[h // 2 + 2:, w // 2 + 2:])

    full, name = studio.render_full(photo.id, dataclasses.replace(
        options, region_statistics="per_style"))
    big = image_io.resize(masks, (pixels.shape[1], pixels.shape[0]))
    expected = stylize(pixels, studio.model, rows, masks=list(big.transpose(2, 0, 1)),
                       region_statistics="per_style", normalize_weights=True)
    assert full.shape == pixels.shape
    np.testing.assert_array_equal(full, expected)
    assert name.startswith("land_regions_")


def test_region_requests_that_do_not_match_the_masks_are_one_line(studio, region_photo):
    photo, _, masks = region_photo
    studio.set_masks(photo.id, _stacked_png(masks))
    three = np.eye(studio.num_styles)[:3]
    with pytest.raises(UserError, match="names 3 regions but the photo has 2 masks"):
        studio.render(photo.id, _options(studio, three[0], regions=three))
    h, w = masks.shape[:2]
    with pytest.raises(uploads.UploadError, match=f"it must be {w} wide and {h} high"):
        studio.set_masks(photo.id, _png(np.zeros((h + 1, w), np.uint8)))
    with pytest.raises(uploads.UploadError, match="must be a PNG"):
        buf = io.BytesIO()
        Image.fromarray(np.zeros((h, w), np.uint8)).save(buf, format="JPEG")
        studio.set_masks(photo.id, buf.getvalue())
    with pytest.raises(uploads.UploadError, match="1 to 6 regions"):
        studio.set_masks(photo.id, _png(np.zeros((7 * h, w), np.uint8)))
    with pytest.raises(UserError, match="cover no pixel"):
        studio.set_masks(photo.id, _png(np.zeros((h, w), np.uint8)))
        studio.render(photo.id, _options(studio, three[0], regions=three[:1]))


# -- dropped paintings as styles (issue 15) -----------------------------------

@pytest.fixture(scope="module")
def paintings(studio):
    """Two 'paintings' (generated pictures, one tinted) dropped on the studio."""
    from magenta_style.studio import thumbnails

    first = image_io.to_uint8(thumbnails.sample_picture(120, 90))
    second = first[::-1, :, ::-1].copy()  # upside down, channels swapped
    return [(studio.add_painting(_png(a), f"p{i}.png"), a) for i, a in enumerate((first, second))]


def test_a_dropped_painting_is_its_style_vector(studio, paintings):
    import magenta_style

    for painting, pixels in paintings:
        np.testing.assert_allclose(painting.vector, magenta_style.style_vector(pixels),
                                   rtol=0, atol=1e-6)
        assert painting.vector.shape == (100,)
        assert Image.open(io.BytesIO(painting.thumbnail)).size == (128, 128)


def test_painting_sliders_render_stylize_with_the_mixed_vector(studio, paintings):
    from magenta_style.studio import thumbnails

    photo = studio.add_photo(_png(image_io.to_uint8(thumbnails.sample_picture(96, 72))), "x.png")
    (a, _), (b, _) = paintings
    options = _options(studio, np.eye(studio.num_styles)[0], strength=0.8,
                       paintings={a.id: 3.0, b.id: 1.0})
    got = studio.render(photo.id, options)
    vector = 0.75 * a.vector + 0.25 * b.vector
    expected = stylize(photo.working, "arbitrary-v1", style_vector=vector, strength=0.8)
    # The studio mixes in float64 and this line in float32: two float paths,
    # so a pixel may round to the next level of 255 on another CPU.
    np.testing.assert_allclose(got.astype(int), expected.astype(int), atol=1)
    alone = studio.render(photo.id, _options(studio, np.eye(studio.num_styles)[0],
                                             paintings={a.id: 1.0}))
    assert np.abs(alone.astype(int) - got).mean() > 1  # the mixture matters
    full, name = studio.render_full(photo.id, options)
    assert full.shape == (72, 96, 3) and name == "x_p0_750_p1_250.png"
    # The map: the paintings' own PCA and distances beside the trained styles.
    data = studio.style_map()
    assert len(data["names"]) == studio.num_styles
    assert data["paintings"]["ids"][-2:] == [a.id, b.id]
    d = data["paintings"]["distances"]
    assert d[-1][-2] == pytest.approx(np.linalg.norm(a.vector - b.vector), rel=1e-5)


def test_an_unknown_painting_is_404(studio):
    options = _options(studio, np.eye(studio.num_styles)[0], paintings={"nope": 1.0})
    with pytest.raises(engine.UnknownPhoto, match="Unknown painting 'nope'"):
        studio.painting_vector(options.paintings)


def test_a_webcam_stream_under_paintings_is_smoothed_like_trained_styles(studio, paintings,
                                                                        pan_frames):
    from magenta_style.video import api as video_api

    (a, _), (b, _) = paintings
    mix = {a.id: 1.0, b.id: 3.0}
    options = _options(studio, np.eye(studio.num_styles)[0], paintings=mix)
    got = [studio.render_frame(_png(f), options, stream="painted") for f in pan_frames]
    vector = studio.painting_vector(mix)
    reference = video_api.FrameStylizer(studio.painting_model(), style_vector=vector,
                                        temporal="flow")
    expected = [reference(f[None])[0] for f in pan_frames]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)  # the same computation
    alone = studio.render_frame(_png(pan_frames[2]), options)
    assert np.abs(got[2].astype(int) - alone).mean() > 0.5  # the flow blend acts
