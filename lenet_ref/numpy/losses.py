"""Losses: softmax cross-entropy (the modern head) and the paper's MAP criterion, Eq. (9).

Both return (loss, dscores): the mean loss over the batch, a Python float, and its
gradient with respect to their first argument.
"""

from __future__ import annotations

import numpy as np

from .. import spec
from ._checks import check_labels, float_array


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the maximum so that exp never overflows."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(scores, y):
    """Mean cross-entropy of softmax(scores) against the labels.

    Inputs:
    - scores: (N, K) logits.
    - y: (N,) integer labels in [0, K).

    Returns (loss, dscores): loss = -mean_n log softmax(scores[n])[y[n]]; dscores (N, K).
    """
    fn = "softmax_cross_entropy"
    scores = float_array(fn, "scores", scores, 2, "(N, K)")
    N, K = scores.shape
    y = check_labels(fn, y, N, K)
    log_probs = _log_softmax(scores)
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)  # softmax - one_hot(y), over N
    dscores[rows, y] -= 1
    return float(loss), dscores / N


def rbf_loss(penalties, y, j=spec.RBF_LOSS_J):
    """The MAP criterion of Eq. (9), mean over the batch.

        E = mean_p [ penalties[p, y_p] + log(exp(-j) + sum_i exp(-penalties[p, i])) ]

    The first term pulls the penalty of the correct class down; the second pushes the
    penalties of the other classes up, and its exp(-j) term, a "rubbish class" with
    penalty j, "prevents the penalties of classes that are already very large from being
    pushed further up" (Sec. II.C).
    As j -> infinity the exp(-j) term vanishes and E is the cross-entropy of the logits
    -penalties: softmax_cross_entropy(-penalties, y).

    Inputs:
    - penalties: (N, K) outputs of the RBF layer (Eq. 7).
    - y: (N,) integer labels in [0, K).
    - j: the positive constant of Eq. (9).

    Returns (loss, dpenalties), dpenalties (N, K).
    """
    fn = "rbf_loss"
    penalties = float_array(fn, "penalties", penalties, 2, "(N, K)")
    N, K = penalties.shape
    y = check_labels(fn, y, N, K)
    # The K + 1 exponents -j, -y_0, ..., -y_{K-1}, in one log-sum-exp.
    z = np.concatenate([np.full((N, 1), -j, dtype=penalties.dtype), -penalties], axis=1)
    log_probs = _log_softmax(z)  # (N, K + 1)
    rows = np.arange(N)
    # E_p = penalties[p, y_p] + logsumexp(z_p) = -log_probs[p, 1 + y_p]
    loss = -log_probs[rows, 1 + y].mean()
    # dE_p / dpenalties[p, i] = [i == y_p] - softmax(z_p)[1 + i]
    dpenalties = -np.exp(log_probs[:, 1:])
    dpenalties[rows, y] += 1
    return float(loss), dpenalties / N
