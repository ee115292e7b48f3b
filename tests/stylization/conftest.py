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


def halves(h, w, split):
    """Two masks `[h, w, 2]` float32: columns left of `split`, and the rest."""
    m = np.zeros((h, w, 2), np.float32)
    m[:, :split, 0] = 1
    m[:, split:, 1] = 1
    return m
