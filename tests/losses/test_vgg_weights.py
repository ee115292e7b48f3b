"""vgg.resolve_weights_file offline: folders of weight files, one variable per architecture.

(The lookup's other tests are in test_vgg.py; these need no real weights:
the lookup only finds files, `build_loss_network` reads them.)
"""

import keras
import pytest

from magenta_style.errors import UserError
from magenta_style.losses import vgg

VGG16 = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19 = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No variables set, an empty Keras cache, no network."""
    for name in (vgg.WEIGHTS_ENV, "MAGENTA_STYLE_VGG16_WEIGHTS", "MAGENTA_STYLE_VGG19_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    return monkeypatch


def test_a_folder_in_the_variable_serves_both_architectures(offline, tmp_path):
    (tmp_path / VGG16).touch()
    (tmp_path / VGG19).touch()
    offline.setenv(vgg.WEIGHTS_ENV, str(tmp_path))
    assert vgg.resolve_weights_file("imagenet", "vgg16") == str(tmp_path / VGG16)
    assert vgg.resolve_weights_file("imagenet", "vgg19") == str(tmp_path / VGG19)


def test_a_folder_without_the_file_names_the_file_and_where_to_put_it(offline, tmp_path):
    (tmp_path / VGG16).touch()
    offline.setenv(vgg.WEIGHTS_ENV, str(tmp_path))
    with pytest.raises(UserError) as e:
        vgg.resolve_weights_file("imagenet", "vgg19")
    message = str(e.value)
    assert VGG19 in message and str(tmp_path / VGG19) in message and "\n" not in message


def test_one_variable_per_architecture(offline, tmp_path):
    (tmp_path / "a.h5").touch()
    offline.setenv("MAGENTA_STYLE_VGG19_WEIGHTS", str(tmp_path / "a.h5"))
    assert vgg.resolve_weights_file("imagenet", "vgg19") == str(tmp_path / "a.h5")
    offline.setenv("MAGENTA_STYLE_VGG19_WEIGHTS", str(tmp_path / "missing.h5"))
    with pytest.raises(UserError, match="MAGENTA_STYLE_VGG19_WEIGHTS=.*missing.h5"):
        vgg.resolve_weights_file("imagenet", "vgg19")


def test_a_vgg16_file_in_the_old_variable_is_not_used_for_vgg19(offline, tmp_path):
    (tmp_path / VGG16).touch()
    offline.setenv(vgg.WEIGHTS_ENV, str(tmp_path / VGG16))
    assert vgg.resolve_weights_file("imagenet", "vgg16") == str(tmp_path / VGG16)
    with pytest.raises(UserError) as e:  # offline and not cached: say how to provide it
        vgg.resolve_weights_file("imagenet", "vgg19")
    message = str(e.value)
    assert VGG19 in message and "MAGENTA_STYLE_VGG19_WEIGHTS" in message
    assert str(tmp_path / "keras_home" / "models" / VGG19) in message


def test_an_explicit_folder_path_works_like_the_variable(offline, tmp_path):
    (tmp_path / VGG19).touch()
    assert vgg.resolve_weights_file(str(tmp_path), "vgg19") == str(tmp_path / VGG19)
    with pytest.raises(UserError, match=f"no {VGG16}.*put that file there"):
        vgg.resolve_weights_file(str(tmp_path), "vgg16")
