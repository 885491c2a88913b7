"""Chapter 4, counting: trainable parameters and connections of each kind of layer, and
the totals of LeNet-5 and of its simplified variants, against ``lenet_ref.counting``."""

from __future__ import annotations

import itertools

from .. import spec
from ..counting import count_layers, layer_counts, totals
from . import behaviour, expect
from .guard import call
from .oracles import fresh_rng


def _reference(layer, in_shape) -> tuple[int, int]:
    row = count_layers([layer], in_shape)[0]
    return row.parameters, row.connections


def _pair(what, got, expected, mistakes):
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError(f"{what} should return a pair (parameters, connections); got {got!r}")
    expect.equal(what + ": parameters", got[0], expected[0], mistakes=mistakes.get("parameters"))
    expect.equal(what + ": connections", got[1], expected[1], mistakes=mistakes.get("connections"))


# --- conv_counts(in_shape, out_maps, kernel, table=None, pad=0) ---------------------------


def _conv(answer, in_shape, out_maps, kernel, table=None, pad=0):
    C, H, W = in_shape
    layer = spec.Conv("C", C, out_maps, kernel, pad, table)
    params, conns = _reference(layer, in_shape)
    links = C * out_maps if table is None else sum(len(t) for t in table)
    units = (H + 2 * pad - kernel + 1) * (W + 2 * pad - kernel + 1)
    got = call(answer, in_shape, out_maps, kernel, table=table, pad=pad, name="conv_counts")
    _pair(f"conv_counts({in_shape}, {out_maps}, {kernel}, table={'Table I' if table == spec.C3_TABLE else table}, pad={pad})",
          got, (params, conns), {
              "parameters": {"the biases left out": links * kernel**2,
                             "one weight per connection (weights not shared)": conns},
              "connections": {"the bias connections left out": units * links * kernel**2,
                              "the parameters (each shared weight counted once)": params,
                              "the input size used instead of the output size":
                                  H * W * (links * kernel**2 + out_maps)},
          })  # fmt: skip


@behaviour("conv_counts", "C1")
def _(answer):
    """C1: 6 maps of 5x5 on a 32x32 input: 156 parameters, 122,304 connections."""
    _conv(answer, (1, 32, 32), 6, 5)


@behaviour("conv_counts", "C3_and_C5")
def _(answer):
    """C3 with Table I (1,516 / 151,600) and C5 (48,120 / 48,120)."""
    _conv(answer, (6, 14, 14), 16, 5, table=spec.C3_TABLE)
    _conv(answer, (16, 5, 5), 120, 5)


@behaviour("conv_counts", "variants")
def _(answer):
    """Full C3, 28x28 inputs with padding 2, and random layers."""
    rng = fresh_rng(hidden=True)
    _conv(answer, (6, 14, 14), 16, 5)
    _conv(answer, (1, 28, 28), 6, 5, pad=2)
    for _ in range(3):
        C, F, K = (int(v) for v in rng.integers(1, 9, size=3))
        _conv(answer, (C, K + int(rng.integers(0, 10)), K + int(rng.integers(0, 10))), F, K,
              pad=int(rng.integers(0, 3)))  # fmt: skip


# --- pool_counts(in_shape, size=2, kind="subsample") ----------------------------------------


def _pool(answer, in_shape, size=2, kind="subsample"):
    C, H, W = in_shape
    expected = _reference(spec.Pool("S", C, kind, size), in_shape)
    units = C * (H // size) * (W // size)
    got = call(answer, in_shape, size=size, kind=kind, name="pool_counts")
    _pair(f"pool_counts({in_shape}, size={size}, kind={kind!r})", got, expected, {
        "parameters": {"one coefficient per map but no bias": C, "no parameter at all": 0},
        "connections": {"the bias connection left out": units * size**2,
                        "a bias connection counted for a pooling with no bias": units * (size**2 + 1)},
    })  # fmt: skip


@behaviour("pool_counts", "S2_and_S4")
def _(answer):
    """S2 (12 / 5,880) and S4 (32 / 2,000)."""
    _pool(answer, (6, 28, 28))
    _pool(answer, (16, 10, 10))


@behaviour("pool_counts", "kinds")
def _(answer):
    """Average and max pooling (no parameter, no bias connection), other window sizes."""
    for kind, (shape, size) in itertools.product(("subsample", "avg", "max"),
                                                  [((6, 28, 28), 2), ((3, 9, 12), 3)]):  # fmt: skip
        _pool(answer, shape, size, kind)


# --- dense_counts(in_features, out_features) and rbf_counts(in_features, classes=10) -----


@behaviour("dense_counts", "F6")
def _(answer):
    """F6: 84 units on 120 inputs: 10,164 / 10,164; and other sizes."""
    for n_in, n_out in [(120, 84), (84, 10), (7, 3)]:
        got = call(answer, n_in, n_out, name="dense_counts")
        _pair(f"dense_counts({n_in}, {n_out})", got, _reference(spec.Dense("F", n_in, n_out), (n_in,)),
              {"parameters": {"the biases left out": n_in * n_out}})  # fmt: skip


@behaviour("rbf_counts", "output")
def _(answer):
    """The RBF output: no trainable parameter (fixed codes), 84 x 10 = 840 connections."""
    for n_in, classes in [(84, 10), (20, 4)]:
        got = call(answer, n_in, classes=classes, name="rbf_counts")
        _pair(f"rbf_counts({n_in}, classes={classes})", got, _reference(spec.RBF("R", n_in, classes), (n_in,)),
              {"parameters": {"the fixed codes counted as trainable": n_in * classes}})  # fmt: skip


# --- lenet5_totals(c3="table", pool="subsample", head="rbf") -> (parameters, connections) --


def _totals(answer, **options):
    expected = totals(layer_counts(**options))
    got = call(answer, name="lenet5_totals", **options)
    _pair(f"lenet5_totals({', '.join(f'{k}={v!r}' for k, v in options.items())})", got, expected, {})


@behaviour("lenet5_totals", "paper")
def _(answer):
    """The paper's network: 60,000 parameters, 340,908 connections."""
    _totals(answer)


@behaviour("lenet5_totals", "variants")
def _(answer):
    """Every combination of full/table C3, subsampling/average/max pooling, RBF/softmax head;
    the parameters also against the trainable tensors of the PyTorch network."""
    from ..torch import LeNet5 as TorchLeNet5

    for c3, pool, head in itertools.product(spec.C3_CONNECTIONS, spec.POOLINGS, spec.HEADS):
        _totals(answer, c3=c3, pool=pool, head=head)
        got = call(answer, c3=c3, pool=pool, head=head, name="lenet5_totals")
        expect.equal(f"lenet5_totals(c3={c3!r}, pool={pool!r}, head={head!r}): parameters, "
                     "compared with the PyTorch network's", got[0],
                     TorchLeNet5(c3=c3, pool=pool, head=head, device="cpu").num_parameters())  # fmt: skip
