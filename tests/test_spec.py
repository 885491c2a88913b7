"""The spec is Table I and Sec. II.B of the paper, transcribed; these tests re-read it."""

import numpy as np
import pytest

from lenet_ref import spec


def test_c3_table_is_table_one():
    # Table I, read column by column: X marks the S2 maps each C3 map takes
    expected = {0: (0, 1, 2), 1: (1, 2, 3), 2: (2, 3, 4), 3: (3, 4, 5), 4: (4, 5, 0), 5: (5, 0, 1),
                6: (0, 1, 2, 3), 7: (1, 2, 3, 4), 8: (2, 3, 4, 5), 9: (3, 4, 5, 0), 10: (4, 5, 0, 1),
                11: (5, 0, 1, 2), 12: (0, 1, 3, 4), 13: (1, 2, 4, 5), 14: (0, 2, 3, 5),
                15: (0, 1, 2, 3, 4, 5)}  # fmt: skip
    assert len(spec.C3_TABLE) == 16
    for k, maps in expected.items():
        assert set(spec.C3_TABLE[k]) == set(maps), f"C3 map {k}"
    assert sum(map(len, spec.C3_TABLE)) == 60  # 6*3 + 9*4 + 1*6 connections


def test_connection_mask_is_the_table_not_its_transpose():
    mask = spec.connection_mask(spec.C3_TABLE, 6)
    assert mask.shape == (16, 6)
    assert mask[14].tolist() == [True, False, True, True, False, True]
    assert mask.sum(axis=1).tolist() == [3] * 6 + [4] * 9 + [6]


def test_constants():
    assert spec.A == 1.7159 and spec.S == pytest.approx(2 / 3)
    # Appendix A: f(1) ~ 1 and f(-1) ~ -1, the reason for these constants
    assert spec.A * np.tanh(spec.S) == pytest.approx(1.0, abs=1e-4)


def test_rbf_codes_are_distinct_7x12_bitmaps():
    codes = spec.rbf_prototypes()
    assert codes.shape == (10, 84) and set(np.unique(codes)) == {-1.0, 1.0}
    hamming = (codes[:, None] != codes[None]).sum(-1)
    assert hamming[~np.eye(10, dtype=bool)].min() >= 5, "two digits' codes are nearly the same"


def test_shape_walk():
    shape = (1, 32, 32)
    walk = []
    for layer in spec.lenet5_layers():
        shape = layer.out_shape(shape)
        walk.append(shape)
    assert walk == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="pool must be one of"):
        spec.lenet5_layers(pool="median")
