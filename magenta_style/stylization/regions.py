"""The network with a style per pixel: different styles in different regions.

A style of the multi-style network is nothing but the instance norms'
gamma/beta, so it can vary across the image: with per-pixel shares `n_r`
of K conditioning rows (`masks.Regions.weights`), every normalised layer
uses `gamma(x, y) = sum_r n_r(x, y) gamma_r` (`block_step.Pixels`). The
rows are style weights, or style vectors of an arbitrary-style transformer.

The instance-norm statistics stay whole-image, in one of two ways
(`STATISTICS`): "per_style" (default) normalises each pixel with its own
row's whole-image statistics, those of that row's single-style pass, mixed
like gamma and beta, so a region beyond the network's reach from a seam IS
its single-style pastiche (K more passes); "shared" normalises with the
mixed map's own statistics (one pass, but every region then changes
everywhere, since the other regions' styles shape those statistics).
docs/stylize.md, "Styles in regions", measures both.

`forward` is the whole-image pass (keras ops; the runner compiles it) and
`forward_tiled` the same through `tiling` for images above the tile
threshold; both walk the blocks with `block_step`.
"""

import numpy as np
from keras import ops

from magenta_style.stylization import block_step
from magenta_style.stylization import options as options_lib
from magenta_style.stylization import tiling

# How regions are normalised (see the module docstring); the first is the default.
STATISTICS = options_lib.REGION_STATISTICS


def forward(model, images, weights, rows, statistics="per_style"):
    """The network with a style per pixel, on whole images (keras ops).

    Args:
        model: a `PasticheNetwork`, or an `ArbitraryTransformer` (then each
            row is a style vector; its contract blocks have no norm and
            run as they are).
        images: `[B, H, W, 3]` float32 in [0, 1].
        weights: `[B, H, W, K]` float32 per-pixel shares of K rows (used as
            given: `Regions.weights` sum to 1; raw per-pixel style weights
            are `rows = eye(num_styles)`).
        rows: `[K, num_styles]` float32 (`[K, style_dim]` style vectors for
            an `ArbitraryTransformer`).
        statistics: "per_style" or "shared" (module docstring).

    Returns:
        `[B, H, W, 3]` float32 in [0, 1]. With `weights` all ones and one row
        `w`, the network's output for `w` (to float rounding).
    """
    if statistics not in STATISTICS:
        raise ValueError(f"statistics must be one of {STATISTICS}. "
                         f"Received: statistics={statistics!r}")
    blocks = model.blocks
    pad = model.get_layer("pad_to_multiple")
    images = pad(ops.cast(images, "float32"))
    per_row = None
    if statistics == "per_style":
        # The K single-row passes as one batch, row-major: example k*B + b
        # is image b under row k. Their statistics, [K, B, C] per block.
        num_rows, batch = ops.shape(rows)[0], ops.shape(images)[0]
        record = block_step.Recorded(block_step.Rows(ops.repeat(rows, batch, axis=0)))
        block_step.walk(blocks, ops.tile(images, (num_rows, 1, 1, 1)),
                        lambda block, x: block_step.step(block, x, record))
        per_row = {name: [ops.reshape(t, (num_rows, batch, -1)) for t in pair]
                   for name, pair in record.statistics.items()}
    source = block_step.Pixels(blocks, pad(ops.cast(weights, "float32")), rows, per_row)
    out = block_step.walk(blocks, images, lambda block, x: block_step.step(block, x, source))
    return out[:, :ops.shape(weights)[1], :ops.shape(weights)[2], :]


def forward_tiled(model, image, weights, rows, statistics="per_style", tile_size=1024):
    """`forward` of one image through `tiling` (bounded memory, whole-image statistics).

    Args:
        image: `[H, W, 3]` float32 in [0, 1].
        weights: `[H, W, K]` float32 (`Regions.weights`).
        rows: `[K, D]` float32.
        statistics, tile_size: as `forward` and `tiling.stylize_tiled`.

    Returns:
        `[H, W, 3]` float32 in [0, 1].
    """
    options_lib.check_region_statistics(statistics)
    rows = np.asarray(rows, np.float32)
    per_row = None
    if statistics == "per_style":
        records = []
        for row in rows:  # one tiled single-row pass each, keeping its statistics
            record = block_step.Recorded(block_step.Rows(ops.convert_to_tensor(row[None])))
            tiling.stylize_tiled(model, image, source=record, tile_size=tile_size)
            records.append(record.statistics)
        per_row = {name: [ops.stack([ops.reshape(r[name][i], (1, -1)) for r in records])
                          for i in (0, 1)]
                   for name in records[0]}
    shares = tiling.pad_to_multiple(np.asarray(weights, np.float32))[None]
    source = block_step.Pixels(model.blocks, ops.convert_to_tensor(shares),
                               ops.convert_to_tensor(rows), per_row)
    return tiling.stylize_tiled(model, image, source=source, tile_size=tile_size)
