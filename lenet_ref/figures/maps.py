"""One digit's feature maps through every layer of a (trained) network."""

from __future__ import annotations

import numpy as np


def layer_outputs(net, x: np.ndarray) -> dict[str, np.ndarray]:
    """``{"input": x, "C1": ..., ..., "output": ...}``: every layer's output for the batch
    ``x`` (N, 1, 32, 32), one ``net.layer_forward`` after the other, as ``net.forward``
    computes them. ``net``: a ``lenet_ref.numpy.LeNet5``."""
    outputs = {"input": x}
    for layer in net.layers:
        x, _ = net.layer_forward(layer, x)
        outputs[layer.name] = x
    return outputs


def feature_maps_figure(outputs: dict[str, np.ndarray], title: str = "", per_row: int = 8):
    """The first image of ``outputs`` (from ``layer_outputs``): the input, then every map of
    every convolution and pooling layer (red > 0 > blue, one symmetric scale per layer), the
    vectors of C5 and F6 as small images (F6 as 12 x 7, the shape of the RBF codes), and the
    output layer as bars (penalties: the smallest is the answer)."""
    import matplotlib.pyplot as plt

    names = [n for n in outputs if n != "input"]
    map_layers = [n for n in names if outputs[n].ndim == 4 and outputs[n].shape[2] > 1]
    vectors = [n for n in names if n not in map_layers and n != "output"]
    rows = [(n, k) for n in map_layers for k in range(0, outputs[n].shape[1], per_row)]
    fig = plt.figure(figsize=(10.5, 1.05 * len(rows) + 2.4))
    grid = fig.add_gridspec(len(rows) + 2, per_row + 1)
    image = fig.add_subplot(grid[0:2, 0])
    image.imshow(outputs["input"][0, 0], cmap="gray_r")
    image.set_title("input", fontsize=9)
    for r, (name, first) in enumerate(rows):
        maps = outputs[name][0]
        lim = np.abs(maps).max() or 1.0
        for k in range(first, min(first + per_row, len(maps))):
            ax = fig.add_subplot(grid[r, 1 + k - first])
            ax.imshow(maps[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
            if k == first:
                ax.set_ylabel(f"{name}\n{maps.shape[1]}x{maps.shape[2]}", rotation=0,
                              labelpad=22, fontsize=9, va="center")  # fmt: skip
    shapes = {120: (8, 15), 84: (12, 7)}  # F6's 84 = 7 x 12, as the codes of Fig. 3
    for k, name in enumerate(vectors):
        v = outputs[name][0].ravel()
        ax = fig.add_subplot(grid[len(rows) :, 2 * k : 2 * k + 2])
        lim = np.abs(v).max() or 1.0
        ax.imshow(v.reshape(shapes.get(v.size, (1, v.size))), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"{name}: {v.size} units", fontsize=9)
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if "output" in outputs:
        ax = fig.add_subplot(grid[len(rows) :, 2 * len(vectors) + 1 :])
        scores = outputs["output"][0]
        best = int(np.argmin(scores))
        bars = ax.bar(range(len(scores)), scores, color="#9fb7d4")
        bars[best].set_color("#c0392b")
        ax.set_xticks(range(len(scores)))
        ax.set_title(f"output: penalty per class (smallest: {best})", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
