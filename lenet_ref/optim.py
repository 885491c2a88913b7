"""The two optimisers of the course, in NumPy, each step for step PyTorch's formula.

``SGD`` is ``torch.optim.SGD(momentum=m)``: v = m v + g; p -= lr v.
``Adam`` is ``torch.optim.Adam`` (Kingma and Ba 2015, with bias correction).
The tests hold them to PyTorch's on the same gradients.
"""

from __future__ import annotations

import numpy as np


class SGD:
    def __init__(self, params: dict[str, np.ndarray], momentum: float = 0.9):
        self.params, self.momentum = params, momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        for k, g in grads.items():
            v = self.velocity[k]
            v *= self.momentum
            v += g
            self.params[k] -= lr * v


class Adam:
    def __init__(self, params: dict[str, np.ndarray], betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.betas, self.eps, self.t = params, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        b1, b2 = self.betas
        self.t += 1
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            self.params[k] -= (lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(
                self.params[k].dtype
            )


OPTIMIZERS = ("sgd", "adam")
