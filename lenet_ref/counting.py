"""Trainable parameters and connections, layer by layer (Sec. II.B of the paper).

A *connection* is one input feeding one unit (the bias counts as an input of value 1).
Weight sharing is why connections and trainable parameters differ: C1 has 122,304
connections but only 156 trainable parameters, because all 784 units of a feature map
share one 5x5 kernel and one bias.

*Multiply-adds* count the arithmetic of one image's forward pass, and they are not the
connections: one per weighted input of a convolution or dense unit (the bias connection is
an addition only), one per subsampling unit (its coefficient; the window sum is additions),
one per component of an RBF unit's squared distance, none for parameter-free pooling. So every
layer with biases or subsampling has fewer multiply-adds than connections (the paper's
network: 340,908 connections, 328,096 multiply-adds); ``format_table`` prints both.

The counts walk the same layer list (``lenet_ref.spec.network``) that both networks are
built from, so they count what the code builds, for any options or preset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import spec


@dataclass(frozen=True)
class LayerCount:
    name: str
    kind: str
    out_shape: tuple[int, ...]
    parameters: int
    connections: int
    multiply_adds: int


def count_layers(layers: list[spec.Layer], input_shape=(1, spec.INPUT_SIZE, spec.INPUT_SIZE)):
    """One LayerCount per layer of ``layers`` fed with ``input_shape`` (C, H, W)."""
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        out_shape = layer.out_shape(shape)
        units = int(np.prod(out_shape))
        parameters = sum(int(np.prod(s)) for s in layer.param_shapes().values())
        if isinstance(layer, spec.Conv):
            # each unit of map f sees fan_in[f] inputs and a bias; all of a map's units share them
            connections = out_shape[1] * out_shape[2] * int((layer.fan_in() + 1).sum())
            multiply_adds = out_shape[1] * out_shape[2] * int(layer.fan_in().sum())
            kind = "convolution" + (" (Table I)" if layer.table else "")
        elif isinstance(layer, spec.Pool):
            per_unit = layer.size**2 + (1 if layer.kind == "subsample" else 0)
            connections = units * per_unit
            multiply_adds = units if layer.kind == "subsample" else 0
            kind = {"subsample": "subsampling", "avg": "average pooling", "max": "max pooling"}[
                layer.kind
            ]
        elif isinstance(layer, spec.Dense):
            connections = units * (layer.in_features + 1)
            multiply_adds = units * layer.in_features
            kind = "fully connected"
        else:
            connections = multiply_adds = units * layer.in_features  # no bias: Eq. (7)
            kind = "RBF (fixed codes)"
        rows.append(LayerCount(layer.name, kind, out_shape, parameters, connections, multiply_adds))
        shape = out_shape
    return rows


def layer_counts(preset: str | None = None, **options) -> list[LayerCount]:
    """Counts of LeNet-5 built with ``options`` (see ``spec.lenet5_layers``) or of a named
    preset; the defaults give the paper's: 60,000 trainable parameters and 340,908
    connections."""
    _, net = spec.network(preset, **options)
    return count_layers(list(net.layers), (1, net.input_size, net.input_size))


def totals(rows: list[LayerCount]) -> tuple[int, int]:
    """(trainable parameters, connections) of the whole network."""
    return sum(r.parameters for r in rows), sum(r.connections for r in rows)


def total_multiply_adds(rows: list[LayerCount]) -> int:
    return sum(r.multiply_adds for r in rows)


def format_table(rows: list[LayerCount]) -> str:
    """A plain-text table, one line per layer and a total."""
    cols = f"{'parameters':>11} {'connections':>12} {'multiply-adds':>14}"
    lines = [f"{'layer':<7} {'kind':<22} {'output':<12} {cols}"]
    for r in rows:
        shape = "x".join(map(str, r.out_shape))
        numbers = f"{r.parameters:>11,} {r.connections:>12,} {r.multiply_adds:>14,}"
        lines.append(f"{r.name:<7} {r.kind:<22} {shape:<12} {numbers}")
    params, conns = totals(rows)
    numbers = f"{params:>11,} {conns:>12,} {total_multiply_adds(rows):>14,}"
    lines.append(f"{'total':<7} {'':<22} {'':<12} {numbers}")
    return "\n".join(lines)
