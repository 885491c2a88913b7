"""The network as the paper's Fig. 2 draws it, and the receptive fields of its layers."""

from __future__ import annotations

from dataclasses import dataclass

from .. import spec


@dataclass(frozen=True)
class Plane:
    """One column of Fig. 2: a layer's output, ``maps`` maps of ``height`` x ``width``
    (1 x 1 for C5, F6 and the output), and ``link``, the operation that made it."""

    name: str
    maps: int
    height: int
    width: int
    link: str

    @property
    def label(self) -> str:
        """The caption Fig. 2 writes above the column: "6@28x28", or "120" for a vector."""
        if self.height == self.width == 1:
            return f"{self.maps}"
        if self.maps == 1:
            return f"{self.height}x{self.width}"
        return f"{self.maps}@{self.height}x{self.width}"


def _link(layer: spec.Layer) -> str:
    if isinstance(layer, spec.Conv):
        table = " (Table I)" if layer.table is not None else ""
        return f"{layer.kernel}x{layer.kernel} convolutions{table}"
    if isinstance(layer, spec.Pool):
        kind = {"subsample": "subsampling", "avg": "average pooling", "max": "max pooling"}
        return f"{layer.size}x{layer.size} {kind[layer.kind]}"
    if isinstance(layer, spec.Dense):
        return "full connection"
    return "Gaussian connections"  # Fig. 2's name for the RBF units of Eq. (7)


def shape_walk(layers: list[spec.Layer] | None = None, input_size: int = spec.INPUT_SIZE):
    """The input and every layer's output, as ``Plane``s, walking ``layer.out_shape``
    (the paper's network by default): 1@32x32, 6@28x28, 6@14x14, 16@10x10, 16@5x5, 120,
    84, 10."""
    layers = spec.lenet5_layers() if layers is None else layers
    shape: tuple[int, ...] = (1, input_size, input_size)
    planes = [Plane("INPUT", 1, input_size, input_size, "")]
    for layer in layers:
        shape = layer.out_shape(shape)
        maps, height, width = (*shape, 1, 1)[:3]  # (C, H, W) or (units,) as (units, 1, 1)
        name = "OUTPUT" if layer.name == "output" else layer.name
        planes.append(Plane(name, maps, height, width, _link(layer)))
    return planes


def network_figure(layers: list[spec.Layer] | None = None, input_size: int = spec.INPUT_SIZE):
    """LeNet-5 drawn as in Fig. 2 of the paper: each layer's maps as a stack of planes,
    drawn to scale, with its name and size above and the operation between columns."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle

    planes = shape_walk(layers, input_size)
    fig, ax = plt.subplots(figsize=(11, 3.9))
    scale = 1.9 / input_size  # data units per pixel of a map
    step = 0.07  # offset between stacked planes
    x, right_edges, left_edges = 0.0, [], []
    for plane in planes:
        shown = min(plane.maps, 8)  # Fig. 2 draws a few planes for a stack, not all
        if plane.height > 1:
            side_h, side_w = plane.height * scale, plane.width * scale
        else:  # a vector: one tall column, its height growing with the number of units
            side_h, side_w, shown = 0.35 + 1.6 * min(plane.maps, 120) / 120, 0.16, 1
        left_edges.append(x)
        for k in range(shown):
            ax.add_patch(Rectangle(
                (x + k * step, -side_h / 2 - k * step), side_w, side_h,
                facecolor="#dde8f4" if plane.height > 1 else "#f6e3cf",
                edgecolor="#35506b", linewidth=0.8, zorder=10 - k,
            ))  # fmt: skip
        if plane.height == 1:  # the units of a vector, as in Fig. 2's thin columns
            cells = min(plane.maps, 12)
            for c in range(1, cells):
                y = -side_h / 2 + c * side_h / cells
                ax.plot([x, x + side_w], [y, y], color="#35506b", linewidth=0.4, zorder=11)
        top = side_h / 2 + 0.12
        ax.text(x + side_w / 2, max(top, 1.15), f"{plane.name}\n{plane.label}",
                ha="center", va="bottom", fontsize=9)  # fmt: skip
        x += side_w + (shown - 1) * step
        right_edges.append(x)
        x += 0.95
    for k, plane in enumerate(planes[1:], start=1):
        start, end = right_edges[k - 1] + 0.06, left_edges[k] - 0.06
        ax.add_patch(FancyArrowPatch((start, -1.25), (end, -1.25), arrowstyle="-|>",
                                     mutation_scale=9, color="#555555"))  # fmt: skip
        ax.text((start + end) / 2, -1.35, plane.link.replace(" ", "\n", 1),
                ha="center", va="top", fontsize=7)  # fmt: skip
    ax.set_xlim(-0.2, x - 0.7)
    ax.set_ylim(-2.0, 1.9)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Field:
    """The receptive field of one unit of ``name``: ``size`` x ``size`` input pixels; units
    next to each other in a map are ``jump`` pixels apart in the input; the middle unit's
    field starts at input pixel ``start``; the map is ``out`` units wide."""

    name: str
    size: int
    jump: int
    start: int
    out: int

    @property
    def centres(self) -> int:
        """The side of the input area that the centres of the map's receptive fields tile
        (``out`` units, ``jump`` pixels apart): 20 for C3 (Sec. II-B)."""
        return self.out * self.jump

    @property
    def first(self) -> int:
        """Where that area starts: the first unit's field, less half a jump each side."""
        return self.start - (self.out - 1) // 2 * self.jump + (self.size - self.jump) // 2


def receptive_fields(layers: list[spec.Layer] | None = None, input_size: int = spec.INPUT_SIZE):
    """The receptive field of every convolution and pooling layer: C1 5, S2 6, C3 14, S4 16,
    C5 32 pixels for the paper's network. A convolution widens the field by
    (kernel - 1) x jump; a pooling widens it by (size - 1) x jump and multiplies the jump by
    its size. The dense layers after C5 see the whole input."""
    layers = spec.lenet5_layers() if layers is None else layers
    size, jump, offset = 1, 1, 0  # offset: the input pixel where unit 0's field starts
    shape: tuple[int, ...] = (1, input_size, input_size)
    fields = []
    for layer in layers:
        if not isinstance(layer, (spec.Conv, spec.Pool)):
            break
        shape = layer.out_shape(shape)
        if isinstance(layer, spec.Conv):
            offset -= layer.pad * jump
            size += (layer.kernel - 1) * jump
        else:
            size += (layer.size - 1) * jump
            jump *= layer.size
        out = shape[1]
        fields.append(Field(layer.name, size, jump, offset + (out - 1) // 2 * jump, out))
    return fields


def receptive_field_figure(image=None, layers=None, input_size: int = spec.INPUT_SIZE):
    """Left: the receptive field of the middle unit of each layer, nested on the input.
    Right: ``image`` (a 32x32 input, optional) with the area that the centres of C3's
    receptive fields tile (the paper's 20x20) and the field of C3's corner unit."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fields = receptive_fields(layers, input_size)
    colours = ["#c0392b", "#e67e22", "#27ae60", "#2980b9", "#8e44ad", "#555555"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.8))
    border = (input_size - spec.MNIST_SIZE) // 2
    for ax in (left, right):
        ax.set_xlim(-0.5, input_size - 0.5)
        ax.set_ylim(input_size - 0.5, -0.5)
        ax.set_xticks([0, border, input_size - border - 1, input_size - 1])
        ax.set_yticks([0, border, input_size - border - 1, input_size - 1])
    if image is not None:
        right.imshow(image, cmap="gray_r")
    for ax in (left, right):  # the 28x28 MNIST field inside the 32x32 input
        ax.add_patch(Rectangle((border - 0.5, border - 0.5), spec.MNIST_SIZE, spec.MNIST_SIZE,
                               fill=False, linestyle=":", edgecolor="gray"))  # fmt: skip
    left.imshow(
        [[(i + j) % 2 for j in range(input_size)] for i in range(input_size)],
        cmap="Greys", vmin=0, vmax=12,
    )  # a faint checkerboard: one square per input pixel
    for k, field in enumerate(fields):
        s = field.start - 0.5
        left.add_patch(Rectangle((s, s), field.size, field.size, fill=False, linewidth=2,
                                 edgecolor=colours[k % len(colours)], gid=field.name,
                                 label=f"{field.name} {field.size}x{field.size}"))  # fmt: skip
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=len(fields), fontsize=8,
                handlelength=1.2, columnspacing=1.0)  # fmt: skip
    left.set_title("receptive field of the middle unit of each layer")
    deepest_conv = [f for f in fields if f.name.startswith("C") and f.out > 1][-1]
    a, n = deepest_conv.first - 0.5, deepest_conv.centres
    right.add_patch(Rectangle((a, a), n, n, fill=False, linewidth=2, edgecolor="#27ae60"))
    corner = deepest_conv.start - (deepest_conv.out - 1) // 2 * deepest_conv.jump
    right.add_patch(Rectangle((corner - 0.5, corner - 0.5), deepest_conv.size,
                              deepest_conv.size, fill=False, linewidth=1.5,
                              linestyle="--", edgecolor="#c0392b"))  # fmt: skip
    centre = corner + (deepest_conv.size - 1) / 2
    right.plot([centre], [centre], "o", color="#c0392b")
    right.set_title(
        f"centres of {deepest_conv.name}'s fields tile {n}x{n} (green);\n"
        f"{deepest_conv.name}'s corner unit sees {deepest_conv.size}x{deepest_conv.size} (red)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
