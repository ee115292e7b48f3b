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


@pytest.fixture(scope="session")
def vgg16_file():
    return VGG16_FILE


@pytest.fixture(scope="session")
def shared_dir():
    return SHARED


@pytest.fixture
def rng():
    return np.random.default_rng(0)
