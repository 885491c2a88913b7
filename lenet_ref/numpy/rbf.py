"""The paper's output layer: Euclidean radial basis function units, Eq. (7).

    y[n, k] = sum_d (x[n, d] - centers[k, d])^2

Each output is a penalty, the squared distance from F6's output to the code of class k
(``spec.rbf_prototypes``: stylised 7x12 bitmaps of the digits, entries +-1): the smaller,
the more likely the class. In LeNet-5 the centres are fixed, but the backward pass
returns their gradient too, so that the layer can be checked and, if wished, trained.
"""

from __future__ import annotations

from ._checks import check_dout, float_array, require_shape


def rbf_forward(x, centers):
    """RBF forward pass, Eq. (7).

    Inputs:
    - x: (N, D) inputs (F6's outputs, D = 84).
    - centers: (K, D) one centre per class.

    Returns (out, cache): out (N, K) penalties; cache = (diff,), diff (N, K, D) = x - centre.
    """
    fn = "rbf_forward"
    x = float_array(fn, "x", x, 2, "(N, D)")
    centers = float_array(fn, "centers", centers, 2, "(K, D)")
    D = x.shape[1]
    require_shape(fn, "centers", centers, centers.shape[1] == D, f"(K, D) with D = {D} matching x")
    # The difference, not |x|^2 - 2 x.c + |c|^2: no cancellation, and (N, K, D) is small
    # (K = 10, D = 84).
    diff = x[:, None, :] - centers[None, :, :]  # (N, K, D)
    out = (diff * diff).sum(axis=2)  # (N, K)
    return out, (diff,)


def rbf_backward(dout, cache):
    """Returns (dx, dcenters) of shapes (N, D), (K, D)."""
    (diff,) = cache
    dout = check_dout("rbf_backward", dout, diff.shape[:2])
    g = 2 * dout[:, :, None] * diff  # d out[n, k] / d x[n, d] = 2 diff[n, k, d]
    return g.sum(axis=1), -g.sum(axis=0)
