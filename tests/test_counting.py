"""Sec. II.B's counts, and agreement with the parameters the networks really have."""

import pytest

from lenet_ref import spec
from lenet_ref.counting import format_table, layer_counts, totals
from lenet_ref.numpy import LeNet5

VARIANTS = [
    {},
    {"c3": "full"},
    {"head": "softmax"},
    {"pool": "max"},
    {"pool": "avg", "activation": "sigmoid"},
    spec.MODERN_OPTIONS,
]


def test_paper_counts_layer_by_layer():
    rows = layer_counts()
    assert {r.name: (r.parameters, r.connections) for r in rows} == spec.PAPER_COUNTS
    assert totals(rows) == (60_000, 340_908)


def test_variant_counts_follow_from_the_layers():
    full = {r.name: r for r in layer_counts(c3="full")}
    assert (full["C3"].parameters, full["C3"].connections) == (2_416, 241_600)
    soft = {r.name: r for r in layer_counts(head="softmax")}
    assert (soft["output"].parameters, soft["output"].connections) == (850, 850)
    pooled = {r.name: r for r in layer_counts(pool="max")}
    assert (pooled["S2"].parameters, pooled["S2"].connections) == (0, 4 * 6 * 14 * 14)


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(o.values()) or "paper")
def test_counts_equal_the_numpy_networks_parameters(options):
    assert totals(layer_counts(**options))[0] == LeNet5(**options).num_parameters()


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(o.values()) or "paper")
def test_counts_equal_the_torch_networks_parameters(options):
    pytest.importorskip("torch")
    from lenet_ref.torch import LeNet5 as TorchLeNet5

    net = TorchLeNet5(device="cpu", **options)
    assert totals(layer_counts(**options))[0] == sum(p.numel() for p in net.parameters())


def test_table_prints_the_totals():
    text = format_table(layer_counts())
    assert "60,000" in text and "340,908" in text and "C3" in text


def test_the_derived_paper_counts_make_the_stated_totals():
    """spec.PAPER_STATED names what Sec. II-B states; the numbers it does not state are
    derived, and with them the layers add up to the totals that Sec. II-A states."""
    from lenet_ref import counting

    assert set(spec.PAPER_STATED) == set(spec.PAPER_COUNTS)
    params = sum(p for p, _ in spec.PAPER_COUNTS.values())
    conns = sum(c for _, c in spec.PAPER_COUNTS.values())
    assert (params, conns) == (spec.PAPER_PARAMETERS, spec.PAPER_CONNECTIONS)
    assert spec.PAPER_STATED["output"] == ()  # 840 and 0 are inferred from the totals
    macs = counting.total_multiply_adds(counting.layer_counts())
    assert f"{macs:,} multiply-adds" in counting.__doc__
