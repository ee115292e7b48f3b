"""style_map: embeddings, PCA and distances against numpy references."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.storage import model_format
from magenta_style.studio import style_map
from tests.conftest import styled_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def model():
    return styled_model(4, 3, ("monet", "lilies", "scream", "kandinsky"),
                        num_residual_blocks=1)


def test_embeddings_concatenate_gamma_and_beta_of_every_cin_layer(model):
    emb = style_map.style_embeddings(model)
    norms = transformer.style_tables(model)
    channels = [layer.gamma.shape[1] for layer in norms]
    assert emb.shape == (4, 2 * sum(channels)) and emb.dtype == np.float32
    for i in range(4):
        expected = np.concatenate(
            [np.concatenate([np.asarray(layer.gamma)[i], np.asarray(layer.beta)[i]])
             for layer in norms])
        np.testing.assert_array_equal(emb[i], expected)


def test_distance_is_the_change_in_cin_parameters(model):
    # Style 1 made a copy of style 0 except for one beta entry (+3).
    clone = transformer.build_transformer(4, alpha=0.25, num_residual_blocks=1)
    clone.set_weights(model.get_weights())
    for k, layer in enumerate(transformer.style_tables(clone)):
        gamma, beta = np.asarray(layer.gamma).copy(), np.asarray(layer.beta).copy()
        gamma[1], beta[1] = gamma[0], beta[0]
        if k == 2:
            beta[1, 0] += 3.0
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    d = style_map.pairwise_distances(style_map.style_embeddings(clone))
    assert d[0, 1] == pytest.approx(3.0, rel=1e-6)
    assert d[0, 2] == pytest.approx(d[1, 2], abs=3.0)  # triangle inequality


def test_pairwise_distances_match_a_loop(rng):
    e = rng.normal(size=(6, 50)) * 100
    e[3] = e[2] + 1e-3 * rng.normal(size=50)  # a near pair among large norms
    d = style_map.pairwise_distances(e)
    ref = np.array([[np.linalg.norm(a - b) for b in e] for a in e])
    np.testing.assert_allclose(d, ref, rtol=1e-10, atol=1e-12)
    assert np.array_equal(d, d.T) and np.all(np.diag(d) == 0)


def test_pca_matches_the_covariance_eigenvectors(rng):
    e = rng.normal(size=(10, 7)) * np.array([9, 5, 3, 1, 1, 0.5, 0.1])
    coords, explained = style_map.pca(e, 2)
    centred = e - e.mean(0)
    evals, evecs = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    for k in range(2):
        ref = centred @ evecs[:, k]
        # Same axis up to sign; our sign makes the largest loading positive.
        sign = np.sign(evecs[np.argmax(np.abs(evecs[:, k])), k])
        np.testing.assert_allclose(coords[:, k], sign * ref, atol=1e-9)
    np.testing.assert_allclose(explained, evals[:2] / evals.sum(), rtol=1e-9)


def test_pca_with_all_components_keeps_distances(rng):
    e = rng.normal(size=(5, 12))
    coords, explained = style_map.pca(e, 5)
    np.testing.assert_allclose(style_map.pairwise_distances(coords),
                               style_map.pairwise_distances(e), atol=1e-9)
    assert explained.sum() == pytest.approx(1.0)


def test_pca_of_degenerate_sets():
    coords, explained = style_map.pca(np.ones((3, 4)), 2)
    assert np.all(coords == 0) and np.all(explained == 0)
    coords, _ = style_map.pca(np.array([[0.0, 0.0], [2.0, 0.0]]), 2)
    np.testing.assert_allclose(coords, [[-1, 0], [1, 0]], atol=1e-12)
    coords, _ = style_map.pca(np.zeros((1, 5)), 2)  # one style
    assert coords.shape == (1, 2)


def test_style_map_is_json_ready(model):
    data = style_map.style_map(model)
    text = json.dumps(data)
    back = json.loads(text)
    assert back["names"] == list(model.style_names)
    assert len(back["coords"]) == 4 and len(back["coords"][0]) == 2
    ref = style_map.pairwise_distances(style_map.style_embeddings(model))
    np.testing.assert_allclose(back["distances"], ref, atol=1e-3)


def test_format_table_names_the_nearest_and_farthest_pairs():
    d = np.array([[0, 25.0, 1300], [25.0, 0, 70], [1300, 70, 0]])
    text = style_map.format_table(d, ["lilies_1", "lilies_2", "abstract"])
    assert "1300.0" in text and "25.0" in text
    assert "nearest pair:  lilies_1 - lilies_2  25.0" in text
    assert "farthest pair: lilies_1 - abstract  1300.0" in text


def test_distances_report_rejects_unknown_format():
    with pytest.raises(UserError, match="--format must be one of"):
        style_map.distances_report(style_map.StyleDistancesConfig(format="xml"))


def test_bin_style_distances_prints_json(model, tmp_path, capsys):
    from magenta_style.scripts import style_distances

    model_dir = tmp_path / "tiny"
    model_format.save_model(model, model_dir)
    argv = ["style_distances", f"--checkpoint={model_dir}", "--format=json"]
    flags.FLAGS.unparse_flags()
    try:
        style_distances.main(flags.FLAGS(argv))
    finally:
        flags.FLAGS.unparse_flags()
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ref = style_map.pairwise_distances(style_map.style_embeddings(model))
    np.testing.assert_allclose(data["distances"], ref, atol=1e-3)
    assert data["names"] == list(model.style_names)


def test_bin_style_distances_bad_format_is_one_line():
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "style_distances"), "--format=xml"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: --format must be one of table, json. Received: 'xml'")


@pytest.mark.needs_shared
def test_paintings_distances_are_their_style_vectors_distances(shared_dir):
    import magenta_style

    styles = os.path.join(shared_dir, "images", "styles")
    paths = [os.path.join(styles, n) for n in ("udnie.jpg", "mosaic.jpg", "starry_night_crop.jpg")]
    paths = [p for p in paths if os.path.exists(p)]
    report = json.loads(style_map.distances_report(style_map.StyleDistancesConfig(
        style_images=",".join(paths), format="json")))
    assert set(report) == {"paintings"}
    p = report["paintings"]
    vectors = np.stack([magenta_style.style_vector(path) for path in paths])
    np.testing.assert_allclose(p["distances"], style_map.pairwise_distances(vectors), atol=1e-3)
    assert p["dimension"] == 100 and p["names"][0] == "udnie"
    text = style_map.distances_report(style_map.StyleDistancesConfig(
        checkpoint="android-26", style_images=",".join(paths)))
    assert "paintings: L2 distances of their 100-d style vectors" in text
    assert text.count("nearest pair:") == 2


def test_an_arbitrary_model_as_checkpoint_is_one_line():
    with pytest.raises(UserError, match="no trained styles to compare"):
        style_map.distances_report(style_map.StyleDistancesConfig(checkpoint="arbitrary-v1"))
