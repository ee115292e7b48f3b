"""Fixtures shared by the stylization tests: a 3-style model and a photo."""

import numpy as np
import pytest

from tests.conftest import styled_model


@pytest.fixture(scope="module")
def model():
    return styled_model(3, 1, ("starry", "wave", "scream"))


@pytest.fixture(scope="module")
def photo():
    return (np.random.default_rng(0).random((36, 52, 3)) * 255).astype(np.uint8)
