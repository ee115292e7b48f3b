"""The Beam pipeline end to end: outputs equal `stylize`'s, dead letters, skips, inputs."""

import json
import os

import numpy as np
import pytest
from PIL import Image

import magenta_style
from magenta_style.stylization.api import StylizeConfig
from tests.beam.conftest import MODEL
from tests.beam.conftest import outputs
from tests.beam.conftest import write_photos

TWO_WORKERS = "runner=DirectRunner,direct_num_workers=2,direct_running_mode=multi_processing"


def run(config, beam_options="", lines=None):
    from magenta_style.beam import stylize_collection

    return stylize_collection(config, beam_options,
                              log=(lines.append if lines is not None else lambda line: None))


def assert_close_to_stylize(out_dir, photo, base, suffixes, which, **render):
    expected = magenta_style.stylize(photo, MODEL, which, **render)
    expected = expected if isinstance(expected, list) else [expected]
    for suffix, want in zip(suffixes, expected):
        got = np.asarray(Image.open(os.path.join(out_dir, f"{base}_{suffix}.png")), np.int16)
        assert got.shape == want.shape
        # The same computation in another process: equal within one level.
        assert np.abs(got - want.astype(np.int16)).max() <= 1, (base, suffix)


def read_failures(out_dir):
    with open(os.path.join(out_dir, "failures.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_in_process_styles_options_list_and_dead_letter(tmp_path, photo_dir):
    out = tmp_path / "out"
    listing = tmp_path / "photos.txt"
    # A photo list: relative paths are relative to the list; a missing one fails.
    listing.write_text("# two photos\nin/p00.png\n\nin/p03.png\nin/missing.png\n")
    config = StylizeConfig(checkpoint=MODEL, output_dir=str(out), which_styles="[0,3]",
                           preserve_colors=True, strength=0.6,
                           input_image=f"{photo_dir}/p0[1-2].png,{listing},"
                                       f"{photo_dir}/zz_broken.jpg")
    lines = []
    summary = run(config, "", lines)
    assert (summary.written, summary.failed, summary.skipped) == (4, 2, 0)
    assert summary.outputs == 8 and summary.model_loads == 1
    assert "wrote 8 file(s) for 4 photo(s)" in lines[-1] and "photos/s" in lines[-1]
    names = [f"p0{i}_{s}.png" for i in (0, 1, 2, 3) for s in (0, 3)]
    assert outputs(out) == sorted(names + ["failures.jsonl"])
    for i in (0, 1, 2, 3):
        assert_close_to_stylize(out, str(photo_dir / f"p0{i}.png"), f"p0{i}", ("0", "3"),
                                [0, 3], preserve_colors=True, strength=0.6)
    failures = read_failures(out)
    assert [os.path.basename(f["path"]) for f in failures] == ["missing.png", "zz_broken.jpg"]
    assert all(f["reason"] and "\n" not in f["reason"] for f in failures)


def test_tfrecord_of_encoded_images(tmp_path, photo_dir):
    import tensorflow as tf

    path = tmp_path / "photos.tfrecord"
    png = [(photo_dir / f"p0{i}.png").read_bytes() for i in range(3)]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in (0, 1):  # tf.train.Examples as tfds and our training data write them
            feature = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(
                           value=[png[i]])),
                       "image/filename": tf.train.Feature(bytes_list=tf.train.BytesList(
                           value=[f"photo{i}.png".encode()]))}
            writer.write(tf.train.Example(features=tf.train.Features(
                feature=feature)).SerializeToString())
        writer.write(png[2])  # a bare encoded image
        writer.write(b"\x00garbage, not an image")
    out = tmp_path / "out"
    summary = run(StylizeConfig(checkpoint=MODEL, output_dir=str(out), input_image=str(path)))
    assert (summary.written, summary.failed) == (3, 1)
    made = outputs(out)
    assert "photo0_0.png" in made and "photo1_0.png" in made and len(made) == 4
    bare = [n for n in made if n.startswith("photos-")]
    assert len(bare) == 1
    assert_close_to_stylize(out, str(photo_dir / "p01.png"), "photo1", ("0",), 0)
    assert_close_to_stylize(out, str(photo_dir / "p02.png"), bare[0][:-len("_0.png")],
                            ("0",), 0)
    assert read_failures(out)[0]["path"].startswith("record:photos-")


@pytest.mark.slow
def test_two_worker_processes_40_photos_then_a_rerun_skips_all(tmp_path):
    # The acceptance run: local runner, 2 worker processes.
    folder = tmp_path / "in"
    photos = write_photos(folder, 40)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (folder / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    config = StylizeConfig(checkpoint=MODEL, output_dir=str(out), input_image=str(folder))
    summary = run(config, TWO_WORKERS)
    assert (summary.written, summary.failed, summary.skipped) == (40, 2, 0)
    # Loaded once per worker process, not per photo.
    assert 1 <= summary.model_loads <= 2
    assert outputs(out) == sorted([f"p{i:02d}_0.png" for i in range(40)] + ["failures.jsonl"])
    for path in photos:
        base = os.path.splitext(os.path.basename(path))[0]
        assert_close_to_stylize(out, path, base, ("0",), 0)
    failures = read_failures(out)
    assert sorted(os.path.basename(f["path"]) for f in failures) == ["broken.png", "empty.jpg"]

    before = {n: os.stat(out / n).st_mtime_ns for n in outputs(out) if n.endswith(".png")}
    again = run(config, TWO_WORKERS)
    assert (again.written, again.outputs, again.skipped, again.failed) == (0, 0, 40, 2)
    after = {n: os.stat(out / n).st_mtime_ns for n in outputs(out) if n.endswith(".png")}
    assert after == before


def test_the_bucket_code_path_through_beam_filesystems(tmp_path, photo_dir, monkeypatch):
    # Beam has no file:// scheme; treating local paths as remote sends them
    # down the code a bucket (gs://, s3://) takes: FileSystems.match lists,
    # FileSystems.open reads, the output is encoded and uploaded whole.
    from magenta_style.beam import sources

    monkeypatch.setattr(sources, "is_local", lambda path: False)
    out = tmp_path / "out"
    out.mkdir()
    config = StylizeConfig(checkpoint=MODEL, output_dir=str(out),
                           input_image=f"{photo_dir}/p0[0-1].png,{photo_dir}/zz_broken.jpg")
    summary = run(config)
    assert (summary.written, summary.failed) == (2, 1)
    assert_close_to_stylize(out, str(photo_dir / "p00.png"), "p00", ("0",), 0)
    assert_close_to_stylize(out, str(photo_dir / "p01.png"), "p01", ("0",), 0)
    assert read_failures(out)[0]["path"].endswith("zz_broken.jpg")


def test_stylize_images_transform_with_masks_per_photo(tmp_path, photo_dir):
    # The PTransform in a pipeline of one's own: each element brings its own
    # masks for the request's regions (style 0 on one side, style 3 on the other).
    import apache_beam as beam

    from magenta_style.beam import StylizeImages
    from magenta_style.beam import options
    from magenta_style.stylization import tasks
    from magenta_style.stylization.options import RenderOptions

    photo = str(photo_dir / "p00.png")  # 32 x 48
    left = np.zeros((32, 48), np.float32)
    left[:, :24] = 1
    request = tasks.resolve(MODEL, [0, 3], masks=[left, 1 - left])
    out = tmp_path / "out"
    pipeline_options, runner = options.parse("")
    with beam.Pipeline(runner=runner, options=pipeline_options) as p:
        _ = (p | beam.Create([("a", photo, [left, 1 - left]), ("b", photo, [1 - left, left])])
             | StylizeImages(MODEL, request, RenderOptions(), str(out)))
    assert outputs(out) == ["a_regions_0-3.png", "b_regions_0-3.png"]
    for name, masks in (("a", [left, 1 - left]), ("b", [1 - left, left])):
        want = magenta_style.stylize(photo, MODEL, [0, 3], masks=masks)
        got = np.asarray(Image.open(out / f"{name}_regions_0-3.png"), np.int16)
        assert np.abs(got - want.astype(np.int16)).max() <= 1, name
