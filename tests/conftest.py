"""Shared fixtures: paths into ../shared, tiny images, marker skips."""

import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("MAGENTA_STYLE_SHARED", os.path.join(REPO, "..", "shared"))
VGG16_FILE = os.path.join(SHARED, "weights", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
ANDROID_DIR = os.path.join(SHARED, "models", "android_multistyle26")


def pytest_collection_modifyitems(config, items):
    no_weights = pytest.mark.skip(
        reason=f"VGG-16 weights not found at {VGG16_FILE} (../shared is absent)")
    no_shared = pytest.mark.skip(reason=f"shared data folder {SHARED} is absent")
    for item in items:
        if "needs_weights" in item.keywords and not os.path.isfile(VGG16_FILE):
            item.add_marker(no_weights)
        if "needs_shared" in item.keywords and not os.path.isdir(SHARED):
            item.add_marker(no_shared)
        if shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def shares_a_module_fixture(item):
    """Whether `item` uses a fixture built once per module (a studio server,
    an exported model).

    `.ci/run` spreads tests over two processes (pytest-xdist, `--dist
    loadgroup`): such a module's tests are kept on one of them, so its
    fixture is built once; every other test goes wherever a process is free.
    """
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record; absent: no grouping
    if info is None:
        return False
    return any(fixture_def.scope in ("module", "package", "class")
               for defs in info.name2fixturedefs.values() for fixture_def in defs)


def tiny_arbitrary_model(seed=0):
    """A random arbitrary-style model: MobileNet-v2 predictor, alpha 0.25 transformer.

    Every weight ~ N(0, 0.05), so style vectors and pastiches vary with the
    inputs (fresh norm projections would map every painting alike).
    """
    from magenta_style.model import arbitrary_transformer
    from magenta_style.model import style_predictor

    rng = np.random.default_rng(seed)
    predictor = style_predictor.build_style_predictor()
    transformer = arbitrary_transformer.build_arbitrary_transformer(0.25)
    for var in predictor.weights + transformer.weights:
        var.assign(rng.normal(0, 0.05, var.shape).astype("float32"))
    return arbitrary_transformer.ArbitraryStyleModel(predictor, transformer, name="tiny")


def styled_model(num_styles, seed, style_names=None, **arch):
    """A tiny transformer (alpha 0.25) whose CIN tables hold random styles.

    Fresh CIN tables are all ones/zeros, so every style would look alike;
    random gamma ~ N(1, 0.5) and beta ~ N(0, 0.5) make styles differ.
    """
    from magenta_style.model import transformer

    model = transformer.build_transformer(num_styles, alpha=0.25, **arch)
    rng = np.random.default_rng(seed)
    for layer in transformer.style_tables(model):
        layer.gamma.assign(rng.normal(1, 0.5, layer.gamma.shape).astype("float32"))
        layer.beta.assign(rng.normal(0, 0.5, layer.beta.shape).astype("float32"))
    if style_names is not None:
        model.style_names = tuple(style_names)
    return model


@pytest.fixture(scope="session")
def vgg16_file():
    return VGG16_FILE


@pytest.fixture(scope="session")
def shared_dir():
    return SHARED


@pytest.fixture
def rng():
    return np.random.default_rng(0)
