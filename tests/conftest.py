"""Shared fixtures: the real MNIST (loaded once per session from the verified cache)."""

import numpy as np
import pytest

from lenet_ref import spec

PAPER = spec.PAPER_OPTIONS
MODERN = spec.MODERN_OPTIONS


@pytest.fixture(scope="session")
def mnist():
    from lenet_ref.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def digits(mnist):
    """64 real test digits in the paper's input format, and their labels."""
    from lenet_ref.data import to_lenet_input

    (_, _), (x_test, y_test) = mnist
    return to_lenet_input(x_test[:64]).astype(np.float64), y_test[:64]
