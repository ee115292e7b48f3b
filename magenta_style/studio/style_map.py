"""The space of styles of a multi-style model: embeddings, PCA, distances.

In a conditional-instance-norm network a style IS its normalisation
parameters: everything else is shared. So a style's embedding is its gamma and
beta from every CIN layer, concatenated, and the paper's / announcement's
"distance between styles" is the L2 distance between two such vectors (the
announcement reports < 25 between two similar Monet water lilies, ~70 within the
series, ~1300 to an abstract black-and-white painting).

Used by the style studio's map and by `bin/style_distances`. Pure numpy once
the embeddings are read. Paintings (any style image) have their own embedding,
the 100-d style vector of an arbitrary-style model (`painting_distances`); the
two spaces are different networks' and are reported side by side, not mixed.
"""

import dataclasses
import json

import numpy as np

FORMATS = ("table", "json")


@dataclasses.dataclass(frozen=True)
class StyleDistancesConfig:
    """What `bin/style_distances` prints."""

    checkpoint: str = dataclasses.field(default=None, metadata={
        "help": "Shipped model name, model directory or Magenta TF1 checkpoint "
                "(default: the shipped varied)."})
    num_styles: int = dataclasses.field(default=None, metadata={
        "help": "Number of styles, checked against a Magenta checkpoint (optional)."})
    format: str = dataclasses.field(default="table", metadata={
        "help": "Output format: 'table' (aligned text) or 'json'."})
    style_images: str = dataclasses.field(default=None, metadata={
        "help": "Paintings (files, globs, folders, comma-separated): also the distances "
                "between their style vectors under --painting_model. Alone (no "
                "--checkpoint), only those."})
    painting_model: str = dataclasses.field(default="arbitrary-v1", metadata={
        "help": "Arbitrary-style model whose style predictor embeds --style_images."})


def style_embeddings(model):
    """Each style's concatenated CIN parameters.

    Args:
        model: a transformer (`build_transformer` / `model_format.load_model`).

    Returns:
        `[num_styles, D]` float32, row i = `[gamma_1[i], beta_1[i], gamma_2[i],
        beta_2[i], ...]` over the CIN layers in network order, where D is twice
        the total channel count of those layers.
    """
    from magenta_style.model import transformer

    parts = []
    for layer in transformer.style_tables(model):
        parts.append(np.asarray(layer.gamma, np.float32))
        parts.append(np.asarray(layer.beta, np.float32))
    if not parts:
        raise ValueError("The model has no style tables (conditioning.StyleTable layers).")
    return np.concatenate(parts, axis=1)


def pairwise_distances(embeddings):
    """L2 distances between all pairs of rows.

    Args:
        embeddings: `[N, D]` float.

    Returns:
        `[N, N]` float64, symmetric, zero diagonal, `d[i, j] = ||e_i - e_j||_2`.
    """
    e = np.asarray(embeddings, np.float64)
    # Differences, not the |a|^2 + |b|^2 - 2ab expansion: that one loses the
    # small distances (under 25 between similar styles) against norms in the
    # thousands to cancellation.
    diff = e[:, None, :] - e[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def pca(embeddings, num_components=2):
    """Principal-component projection by SVD of the centred rows.

    Args:
        embeddings: `[N, D]` float, N >= 1.
        num_components: int >= 1, the output dimension.

    Returns:
        `(coords, explained)`: `coords` `[N, num_components]` float64, the
        centred rows projected on the leading principal axes (columns beyond
        the rank are zero); `explained` `[num_components]`, the fraction of the
        total variance along each axis (zeros when all rows are equal). Each
        axis' sign is fixed so its largest-magnitude loading is positive, which
        makes the map deterministic.
    """
    e = np.asarray(embeddings, np.float64)
    if e.ndim != 2 or e.shape[0] < 1:
        raise ValueError(f"embeddings must be [N, D] with N >= 1. Received: shape={e.shape}")
    if num_components < 1:
        raise ValueError(f"num_components must be >= 1. Received: {num_components}")
    centred = e - e.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(num_components, vt.shape[0])
    axes = vt[:k]
    signs = np.sign(axes[np.arange(k), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    coords = np.zeros((e.shape[0], num_components))
    coords[:, :k] = centred @ axes.T
    total = float(np.sum(s**2))
    explained = np.zeros(num_components)
    if total > 0:
        explained[:k] = s[:k] ** 2 / total
    return coords, explained


def style_map(model):
    """Everything the studio's style map shows, JSON-ready.

    Returns:
        dict with `names` (N str), `coords` (N pairs, PCA of the embeddings),
        `explained` (2 variance fractions), `distances` (N x N floats), and
        `dimension` (D, the embedding length).
    """
    emb = style_embeddings(model)
    coords, explained = pca(emb, 2)
    names = list(model.style_names)
    return {
        "names": names,
        "coords": coords.round(4).tolist(),
        "explained": explained.round(4).tolist(),
        "distances": pairwise_distances(emb).round(3).tolist(),
        "dimension": int(emb.shape[1]),
    }


def format_table(distances, names):
    """The distance matrix as aligned text: a header row, one row per style.

    Args:
        distances: `[N, N]` float.
        names: N style names.
    """
    d = np.asarray(distances)
    labels = [str(i) for i in range(len(names))]
    width = max(7, *(len(f"{v:.1f}") + 1 for v in d.ravel()))
    name_w = max(len(n) for n in names) + len(labels[-1]) + 1
    lines = [" " * (name_w + 1) + "".join(f"{lab:>{width}}" for lab in labels)]
    for i, name in enumerate(names):
        row = "".join(f"{v:>{width}.1f}" for v in d[i])
        lines.append(f"{labels[i] + ' ' + name:<{name_w}} {row}")
    off = d[~np.eye(len(d), dtype=bool)]
    if off.size:
        i, j = np.unravel_index(np.argmin(d + np.diag([np.inf] * len(d))), d.shape)
        k, m = np.unravel_index(np.argmax(d), d.shape)
        lines.append("")
        lines.append(f"nearest pair:  {names[i]} - {names[j]}  {d[i, j]:.1f}")
        lines.append(f"farthest pair: {names[k]} - {names[m]}  {d[k, m]:.1f}")
        lines.append(f"median distance: {np.median(off):.1f}")
    return "\n".join(lines)


def distances_report(config=None):
    """The text `bin/style_distances` prints for a `StyleDistancesConfig`.

    Raises:
        UserError: unknown format, or a model that cannot be loaded.
    """
    from magenta_style.errors import UserError

    config = config or StyleDistancesConfig()
    if config.format not in FORMATS:
        raise UserError(
            f"--format must be one of {', '.join(FORMATS)}. Received: {config.format!r}")
    from magenta_style.storage import model_format  # TensorFlow: only once the flags are good

    sections = {}
    if config.checkpoint is not None or config.style_images is None:
        model = model_format.load_model(config.checkpoint, num_styles=config.num_styles)
        if model_format.is_arbitrary(model):
            raise UserError(f"{model.name} has no trained styles to compare; pass paintings "
                            "with --style_images (and --painting_model) instead.")
        data = style_map(model)
        sections["styles"] = {k: data[k] for k in ("names", "distances", "dimension")}
    if config.style_images is not None:
        sections["paintings"] = painting_distances(config.style_images, config.painting_model)
    if config.format == "json":
        if set(sections) == {"styles"}:
            return json.dumps(sections["styles"])
        return json.dumps(sections)
    texts = []
    if "styles" in sections:
        texts.append(format_table(np.asarray(sections["styles"]["distances"]),
                                  sections["styles"]["names"]))
    if "paintings" in sections:
        p = sections["paintings"]
        texts.append(f"paintings: L2 distances of their {p['dimension']}-d style vectors "
                     f"({p['model']}; a space of its own, not comparable with trained "
                     "styles' gamma/beta)\n"
                     + format_table(np.asarray(p["distances"]), p["names"]))
    return "\n\n".join(texts)


def painting_distances(style_images, painting_model="arbitrary-v1"):
    """Distances between paintings' style vectors (Ghiasi et al.'s embedding).

    Args:
        style_images: paths: a list, or a string of files, globs, folders
            separated by commas.
        painting_model: an arbitrary-style model (name or directory).

    Returns:
        dict with `names` (file stems), `distances` (`[N, N]` floats), `dimension`
        (the vectors' length, 100 for arbitrary-v1) and `model`.

    Raises:
        UserError: no readable painting, a multi-style `painting_model`.
    """
    import os

    from magenta_style.stylization import api
    from magenta_style.stylization import batch_files

    paths = (list(style_images) if isinstance(style_images, (list, tuple))
             else batch_files.expand_inputs(style_images))
    vectors = api.style_vectors(paths, model=painting_model)
    return {
        "names": [os.path.splitext(os.path.basename(str(p)))[0] for p in paths],
        "distances": pairwise_distances(vectors).round(3).tolist(),
        "dimension": int(vectors.shape[1]),
        "model": str(painting_model),
    }
