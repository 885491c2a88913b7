"""Chapter 1's and chapter 3's pictures: the sliding window of one cross-correlation,
padding and stride, and one C3 unit reading the S2 maps of Table I."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import spec

# Chapter 1's 4x4 example: an input and a 2x2 kernel small enough to check by hand.
EXAMPLE_X = np.array([[1, 2, 0, 3], [4, 1, 2, 1], [0, 3, 1, 0], [2, 1, 4, 2]], dtype=float)
EXAMPLE_W = np.array([[1, 0], [2, -1]], dtype=float)


def output_size(size: int, kernel: int, pad: int = 0, stride: int = 1) -> int:
    """Positions of a ``kernel``-wide window on ``size`` inputs padded with ``pad`` zeros
    each side, moved ``stride`` at a time: floor((size + 2 pad - kernel) / stride) + 1."""
    if kernel > size + 2 * pad:
        raise ValueError(f"a {kernel}-wide kernel does not fit {size} inputs padded by {pad}")
    return (size + 2 * pad - kernel) // stride + 1


def window_starts(size: int, kernel: int, pad: int = 0, stride: int = 1) -> list[int]:
    """Where each window starts, counted in the padded input: 0, stride, 2 stride, ... as
    long as the window still fits."""
    return list(range(0, size + 2 * pad - kernel + 1, stride))


def cross_correlate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One (H, W) map with one (K, K) kernel, no flip, no padding: (H - K + 1, W - K + 1)."""
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, w.shape), w)


def _grid(ax, values, highlight=None, colour="#c0392b", fmt="{:g}", shade=None):
    """Draw a small array as a grid of numbers; outline the ``highlight`` (row, col, h, w)."""
    from matplotlib.patches import Rectangle

    values = np.asarray(values)
    ax.imshow(np.zeros_like(values) if shade is None else shade, cmap="Greys", vmin=0, vmax=3)
    for (r, c), v in np.ndenumerate(values):
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=11)
    ax.set_xticks(np.arange(values.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(values.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#888888", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if highlight is not None:
        r, c, h, w = highlight
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, linewidth=3,
                               edgecolor=colour, gid="window"))  # fmt: skip


def cross_correlation_figure(x=EXAMPLE_X, w=EXAMPLE_W, positions=((0, 0), (1, 2))):
    """One row per output position (i, j): the window of ``x`` that it reads, the kernel,
    the sum of products, and the output map with that unit outlined."""
    import matplotlib.pyplot as plt

    out = cross_correlate(x, w)
    K = w.shape[0]
    fig, axes = plt.subplots(len(positions), 3, figsize=(8.5, 2.9 * len(positions)),
                             gridspec_kw={"width_ratios": [x.shape[1], K, out.shape[1]]})  # fmt: skip
    axes = np.atleast_2d(axes)
    for row, (i, j) in zip(axes, positions, strict=True):
        _grid(row[0], x, (i, j, K, K))
        _grid(row[1], w)
        _grid(row[2], out, (i, j, 1, 1))
        terms = " + ".join(
            f"{x[i + k, j + l]:g}·{w[k, l]:g}" if w[k, l] >= 0 else f"{x[i + k, j + l]:g}·({w[k, l]:g})"
            for k in range(K) for l in range(K)
        )  # fmt: skip
        row[0].set_title(f"input x, window at ({i}, {j})", fontsize=10)
        row[1].set_title("kernel w", fontsize=10)
        row[2].set_title(f"out[{i}, {j}] = {out[i, j]:g}", fontsize=10)
        row[1].set_xlabel(f"{terms} = {out[i, j]:g}", fontsize=9, labelpad=8)
    fig.tight_layout()
    return fig


def padding_stride_figure(cases=((5, 3, 0, 1), (5, 3, 1, 1), (5, 3, 1, 2))):
    """For each (H, K, P, S): an H x H input with P zeros of padding around it (grey), the
    windows of the first row of outputs (stride S), and the output size of the formula."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    colours = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d"]
    fig, axes = plt.subplots(1, len(cases), figsize=(3.6 * len(cases), 4.0))
    for ax, (H, K, P, S) in zip(np.atleast_1d(axes), cases, strict=True):
        side = H + 2 * P
        shade = np.ones((side, side))
        shade[P : P + H, P : P + H] = 0  # the real input; padding shaded
        _grid(ax, np.where(shade > 0, 0, 1), shade=shade, fmt="")
        for r in range(side):
            for c in range(side):
                ax.text(c, r, "0" if shade[r, c] else "x", ha="center", va="center",
                        fontsize=9, color="#666666" if shade[r, c] else "black")  # fmt: skip
        for n, start in enumerate(window_starts(H, K, P, S)):
            lift = 0.07 + 0.08 * n  # stagger the outlines so that overlapping windows stay visible
            ax.add_patch(Rectangle((start - 0.5 + lift, -0.5 + lift), K - 2 * lift, K - 2 * lift,
                                   fill=False, linewidth=2.2, gid="window",
                                   edgecolor=colours[n % len(colours)]))  # fmt: skip
        n_out = output_size(H, K, P, S)
        ax.set_title(f"H = {H}, K = {K}, P = {P}, S = {S}", fontsize=10)
        ax.set_xlabel(f"⌊({H} + 2·{P} − {K}) / {S}⌋ + 1 = {n_out}\n"
                      f"output {n_out}x{n_out}", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def c3_partial_maps(s2: np.ndarray, kernels: np.ndarray, f: int, bias: float = 0.0):
    """C3 map ``f`` before its squashing, built as chapter 3 builds it: ``{c: x_c * w_c}``,
    one 10x10 cross-correlation for each S2 map c that Table I lists for f, and their sum
    plus the bias. s2: (6, 14, 14); kernels: (6, 5, 5), the kernel of f for each S2 map."""
    partial = {c: cross_correlate(s2[c], kernels[c]) for c in spec.C3_TABLE[f]}
    return partial, sum(partial.values()) + bias


def c3_unit_figure(s2: np.ndarray, kernels: np.ndarray, f: int = 6, i: int = 2, j: int = 3,
                   bias: float = 0.0):  # fmt: skip
    """Top: the six S2 maps; those that C3 map ``f`` reads (Table I) with the 5x5 window of
    its unit (i, j), the others faded. Bottom: one partial map per S2 map read, and their
    sum plus the bias, C3 map f, with the unit (i, j) outlined in each."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    partial, total = c3_partial_maps(s2, kernels, f, bias)
    K = kernels.shape[-1]
    n_in = s2.shape[0]
    fig, axes = plt.subplots(2, n_in + 1, figsize=(12, 4.4))
    lim_in, lim_out = np.abs(s2).max(), max(np.abs(p).max() for p in partial.values())
    for c in range(n_in):
        ax = axes[0, c]
        read = c in partial
        ax.imshow(s2[c], cmap="RdBu_r", vmin=-lim_in, vmax=lim_in, alpha=1.0 if read else 0.25)
        ax.set_title(f"S2 map {c}" + ("" if read else "\nnot read"), fontsize=9,
                     color="black" if read else "gray")  # fmt: skip
        if read:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), K, K, fill=False, linewidth=2,
                                   edgecolor="#e67e22", gid="window"))  # fmt: skip
    axes[0, n_in].axis("off")
    axes[0, n_in].text(0.0, 0.5, f"C3 map {f} reads\nS2 maps {spec.C3_TABLE[f]}\n(Table I):\n"
                       f"one 5x5 kernel each", fontsize=9, va="center")  # fmt: skip
    for k in range(n_in + 1):
        axes[1, k].axis("off")
    for k, (c, p) in enumerate(partial.items()):
        ax = axes[1, k]
        ax.axis("on")
        ax.imshow(p, cmap="RdBu_r", vmin=-lim_out, vmax=lim_out)
        ax.set_title(("" if k == 0 else "+ ") + f"S2 map {c} ⋆ kernel", fontsize=9)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, linewidth=2,
                               edgecolor="#e67e22"))  # fmt: skip
    ax = axes[1, n_in]
    ax.axis("on")
    lim = np.abs(total).max()
    ax.imshow(total, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"+ bias = C3 map {f}", fontsize=9)
    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, linewidth=2,
                           edgecolor="#e67e22"))  # fmt: skip
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"One unit of C3 map {f}, at ({i}, {j}): a 5x5 window in each S2 map it reads, "
                 "one product sum each, added", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig
