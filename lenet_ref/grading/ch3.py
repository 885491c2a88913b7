"""Chapter 3, from S2 to C3: the connection mask of a table, C3 as a sum of per-map
convolutions, C3 as one masked convolution, and its parameter count."""

from __future__ import annotations

import numpy as np

from .. import spec
from ..numpy import conv_forward
from . import behaviour, expect
from .guard import call
from .oracles import fresh_rng, torch_conv


def random_table(rng, out_maps: int, in_maps: int) -> tuple[tuple[int, ...], ...]:
    """A connection table where every output map reads between 1 and in_maps input maps."""
    return tuple(
        tuple(sorted(rng.choice(in_maps, size=rng.integers(1, in_maps + 1), replace=False).tolist()))
        for _ in range(out_maps)
    )  # fmt: skip


def _mask(table, in_maps):
    return spec.connection_mask(table, in_maps)


# --- c3_mask(table, in_maps) -> (F, C) bool ----------------------------------------------


def _check_mask(answer, table, in_maps):
    got = call(answer, table, in_maps, name="c3_mask")
    expected = _mask(table, in_maps)
    if isinstance(got, np.ndarray) and got.shape == expected.T.shape != expected.shape:
        raise AssertionError(
            f"c3_mask returned shape {got.shape}: that is the table transposed. Row f of the "
            f"mask is output map f, so the shape is (number of output maps, in_maps) = {expected.shape}"
        )
    expect.equal(f"c3_mask of a table of {len(table)} output maps over {in_maps} input maps",
                 None if not isinstance(got, np.ndarray) else got.astype(bool) if got.dtype != bool
                 else got, expected, mistakes={"maps numbered from 1 instead of 0":
                 np.roll(expected, 1, axis=1)})  # fmt: skip


@behaviour("c3_mask", "table_1")
def _(answer):
    """Table I of the paper: a (16, 6) mask with 60 connections."""
    _check_mask(answer, spec.C3_TABLE, 6)


@behaviour("c3_mask", "other_tables")
def _(answer):
    """Random tables of other sizes."""
    rng = fresh_rng(hidden=True)
    for out_maps, in_maps in [(4, 3), (7, 5), (10, 8)]:
        _check_mask(answer, random_table(rng, out_maps, in_maps), in_maps)


# --- c3_forward_loops(x, w, b, table) and c3_forward_masked(x, w, b, mask) ---------------


def _c3_reference(x, w, b, table):
    """One image x (C, H, W) -> (F, H', W')."""
    return conv_forward(x[None], w, b, mask=_mask(table, x.shape[0]))[0][0]


def _loops(answer, x, w, b, table, torch_too=False):
    got = call(answer, x, w, b, table, name="c3_forward_loops")
    what = f"c3_forward_loops for x {x.shape}, w {w.shape}"
    transposed = [tuple(f for f, ins in enumerate(table) if c in ins) for c in range(x.shape[0])]
    mistakes = {"every output map reading every input map (the table ignored)":
                conv_forward(x[None], w, b)[0][0]}
    if len(transposed) == len(table):
        mistakes["the table read by columns instead of rows"] = _c3_reference(x, w, b, transposed)
    expect.close(what, got, _c3_reference(x, w, b, table), mistakes=mistakes)
    if torch_too:
        out = torch_conv(x[None], w, b, mask=_mask(table, x.shape[0]))[0][0]
        expect.close(what + ", compared with PyTorch", got, out)


def _random_c3(rng, shape_x, F, K):
    C = shape_x[-3]
    return (rng.standard_normal(shape_x), rng.standard_normal((F, C, K, K)),
            rng.standard_normal(F))  # fmt: skip


@behaviour("c3_forward_loops", "table_1")
def _(answer):
    """One 14x14 image of 6 maps through Table I (the sizes of S2 -> C3)."""
    x, w, b = _random_c3(fresh_rng(hidden=False), (6, 14, 14), 16, 5)
    _loops(answer, x, w, b, spec.C3_TABLE)


@behaviour("c3_forward_loops", "random")
def _(answer):
    """Random tables, map counts and kernel sizes, against lenet_ref and PyTorch."""
    rng = fresh_rng(hidden=True)
    for (C, H, W), F, K in [((3, 6, 6), 4, 3), ((5, 7, 8), 6, 5), ((6, 5, 5), 16, 5)]:
        x, w, b = _random_c3(rng, (C, H, W), F, K)
        _loops(answer, x, w, b, random_table(rng, F, C), torch_too=True)


def _masked(answer, x, w, b, table):
    mask = _mask(table, x.shape[1])
    got = call(answer, x, w, b, mask, name="c3_forward_masked")
    expect.close(f"c3_forward_masked for x {x.shape}, w {w.shape}", got,
                 conv_forward(x, w, b, mask=mask)[0], mistakes={
                     "the mask not applied": conv_forward(x, w, b)[0]})  # fmt: skip


@behaviour("c3_forward_masked", "table_1")
def _(answer):
    """A batch of 2 through Table I."""
    x, w, b = _random_c3(fresh_rng(hidden=False), (2, 6, 14, 14), 16, 5)
    _masked(answer, x, w, b, spec.C3_TABLE)


@behaviour("c3_forward_masked", "random")
def _(answer):
    """Random batches and tables, against lenet_ref."""
    rng = fresh_rng(hidden=True)
    for (N, C, H, W), F, K in [((3, 3, 6, 6), 4, 3), ((2, 5, 7, 8), 6, 5)]:
        x, w, b = _random_c3(rng, (N, C, H, W), F, K)
        _masked(answer, x, w, b, random_table(rng, F, C))


@behaviour("c3_forward_masked", "agrees_with_loops")
def _(masked, loops):
    """The masked convolution and the sum of per-map convolutions give the same maps."""
    rng = fresh_rng(hidden=True)
    x, w, b = _random_c3(rng, (1, 6, 9, 9), 16, 5)
    table = random_table(rng, 16, 6)
    a = call(masked, x, w, b, _mask(table, 6), name="c3_forward_masked")
    expect.close("c3_forward_masked compared with your c3_forward_loops", a,
                 call(loops, x[0], w, b, table, name="c3_forward_loops")[None])  # fmt: skip


# --- c3_parameter_count(table, kernel_size=5) -> int -------------------------------------


def _count(answer, table, in_maps, K):
    got = call(answer, table, kernel_size=K, name="c3_parameter_count")
    links = sum(len(t) for t in table)
    expect.equal(f"c3_parameter_count for {len(table)} maps, {links} connections, {K}x{K} kernels",
                 got, links * K * K + len(table), mistakes={
                     "the biases left out": links * K * K,
                     "every map connected to every input map (the table ignored)":
                         len(table) * in_maps * K * K + len(table),
                     "one bias per kernel instead of one per map": links * (K * K + 1),
                 })  # fmt: skip


@behaviour("c3_parameter_count", "table_1")
def _(answer):
    """Table I with 5x5 kernels: 1,516."""
    _count(answer, spec.C3_TABLE, 6, 5)


@behaviour("c3_parameter_count", "other_tables")
def _(answer):
    """Full connection (2,416) and random tables and kernel sizes."""
    rng = fresh_rng(hidden=True)
    _count(answer, tuple(tuple(range(6)) for _ in range(16)), 6, 5)
    for F, C, K in [(4, 3, 3), (10, 8, 5)]:
        _count(answer, random_table(rng, F, C), C, K)
