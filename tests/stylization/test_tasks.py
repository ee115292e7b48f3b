"""The task classes, `resolve`, and the path of a photo through `stylize`."""

import sys

import numpy as np
import pytest

import magenta_style
from magenta_style.errors import UserError
from magenta_style.stylization import tasks
from magenta_style.stylization.options import RenderOptions
from tests.conftest import tiny_arbitrary_model


def test_from_preset_gives_the_task_of_the_models_kind():
    multi = magenta_style.MultiStyleTransfer.from_preset("android-26")
    assert isinstance(multi, tasks.MultiStyleTransfer) and multi.num_styles == 26
    assert multi.network is magenta_style.MultiStyleTransfer.from_preset("android-26").network
    painter = magenta_style.ArbitraryStyleTransfer.from_preset("arbitrary-v1")
    assert painter.style_dim == 100
    with pytest.raises(UserError, match="MultiStyleTransfer.from_preset"):
        magenta_style.ArbitraryStyleTransfer.from_preset("android-26")
    assert "varied" in tasks.MultiStyleTransfer.presets()
    assert tasks.ArbitraryStyleTransfer.presets() == ["arbitrary-v1"]


def test_task_stylize_is_stylize(model, photo):
    task = tasks.as_task(model)
    got = task.stylize(photo, {0: 0.3, 2: 0.7}, strength=0.6, preserve_colors=True)
    want = magenta_style.stylize(photo, model, {0: 0.3, 2: 0.7},
                                 options=RenderOptions(strength=0.6, preserve_colors=True))
    np.testing.assert_array_equal(got, want)  # the same computation


def test_resolve_says_what_renders(model):
    c = tasks.resolve(model, "[0, 2]")
    assert c.suffixes == ("0", "2") and c.several and not c.mixed and not c.vectors
    np.testing.assert_array_equal(c.rows, np.eye(3, dtype=np.float32)[[0, 2]])
    mix = tasks.resolve(model, {1: 0.5, 2: 0.5}, masks=None)
    assert mix.mixed and mix.num_outputs == 1 and mix.num_regions is None
    regions = tasks.resolve(model, [0, {1: 0.5, 2: 0.5}], masks=["a.png", "b.png"])
    assert regions.num_regions == 2 and regions.suffixes == ("regions_0-1_500_2_500",)
    painter = tiny_arbitrary_model()
    v = np.linspace(-1, 1, 100, dtype=np.float32)
    vectors = tasks.resolve(painter, style_vector=np.stack([v, -v]))
    assert vectors.vectors and vectors.several and vectors.suffixes == ("vector0", "vector1")


@pytest.mark.parametrize("kwargs, words", [
    ({"mask_palette": "#ffffff"}, "mask_palette colours the regions"),
    ({"style_blend_weights": [1, 2]}, "needs style images"),
    ({"style_image": np.zeros((32, 32, 3))}, "is a multi-style model"),
])
def test_requests_that_cannot_render_are_one_line(model, kwargs, words):
    with pytest.raises(UserError, match=words):
        tasks.resolve(model, 0, **kwargs)


def test_an_unknown_render_option_is_a_type_error(model, photo):
    with pytest.raises(TypeError, match="tile_sise"):
        magenta_style.stylize(photo, model, 0, tile_sise=64)


def test_a_photo_through_stylize_visits_each_stage_once_or_twice(model, photo):
    """Followed call by call, a uniform style enters each module a few times."""
    magenta_style.stylize(photo, model, 1)  # compile first: trace only the call
    visits, stack = {}, []

    def profile(frame, event, arg):
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if event == "call":
            if module.startswith("magenta_style") and (not stack or stack[-1] != module):
                visits[module] = visits.get(module, 0) + 1
            stack.append(module)
        elif stack:
            stack.pop()

    sys.setprofile(profile)
    try:
        magenta_style.stylize(photo, model, 1)
    finally:
        sys.setprofile(None)
    for stage in ("stylization.api", "stylization.tasks", "stylization.runner",
                  "stylization.render"):
        assert 1 <= visits.get(f"magenta_style.{stage}", 0) <= 2, visits
    assert visits.get("magenta_style.storage.image_io", 0) <= 3, visits
    assert "magenta_style.stylization.regions" not in visits, visits
