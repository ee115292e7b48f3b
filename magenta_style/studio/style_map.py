"""The space of styles of a multi-style model: embeddings, PCA, distances.

In a conditional-instance-norm network a style IS its normalisation
parameters: everything else is shared. So a style's embedding is its gamma and
beta from every CIN layer, concatenated, and the paper's / announcement's
"distance between styles" is the L2 distance between two such vectors (the
announcement reports < 25 between two similar Monet water lilies, ~70 within the
series, ~1300 to an abstract black-and-white painting).

Used by the style studio's map and by `bin/style_distances`. Pure numpy once
the embeddings are read.
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
                "(default: the shipped android-26)."})
    num_styles: int = dataclasses.field(default=None, metadata={
        "help": "Number of styles, checked against a Magenta checkpoint (optional)."})
    format: str = dataclasses.field(default="table", metadata={
        "help": "Output format: 'table' (aligned text) or 'json'."})


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

    model = model_format.load_model(config.checkpoint, num_styles=config.num_styles)
    data = style_map(model)
    if config.format == "json":
        return json.dumps({k: data[k] for k in ("names", "distances", "dimension")})
    return format_table(np.asarray(data["distances"]), data["names"])
