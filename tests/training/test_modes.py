"""Training settings: what `train` refuses before doing any work."""

import pytest

from magenta_style.errors import UserError
from magenta_style.training import modes
from magenta_style.training.config import TrainConfig


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf")])
def test_a_non_positive_alpha_is_one_line(tmp_path, alpha):
    cfg = TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", alpha=alpha)
    with pytest.raises(UserError, match="--alpha") as e:
        modes.check_config(cfg)
    assert "\n" not in str(e.value)


def test_a_positive_alpha_passes(tmp_path):
    modes.check_config(TrainConfig(train_dir=str(tmp_path), style_images="*.jpg", alpha=0.25))
