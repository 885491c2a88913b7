"""The optimisers of the course, in NumPy, each step for step its PyTorch twin.

``SGD`` is ``torch.optim.SGD(momentum=m)``: v = m v + g; p -= lr v.
``Adam`` is ``torch.optim.Adam`` (Kingma and Ba 2015, with bias correction).
``SDLM`` is the paper's stochastic diagonal Levenberg-Marquardt method (Appendix C), the
twin of ``lenet_ref.torch.sdlm.SDLM``.
The tests hold them to PyTorch's on the same gradients.
"""

from __future__ import annotations

import numpy as np

# Sec. III.B of the paper: "mu was set to 0.02", and the second derivatives "were
# re-estimated on 500 samples before each pass"; its eta starts at 0.0005 (the schedule
# of lenet_ref.train.lr_at with lr = 0.0005 gives its five values).
SDLM_MU = 0.02
SDLM_PATTERNS = 500
SDLM_LR = 0.0005
# Which curvature a pass steps with: "latest", the paper's, the estimate made before the pass;
# "max", a course option, the largest estimate of each parameter so far (see SDLM).
CURVATURE_KEEPS = ("latest", "max")


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


class SDLM:
    """Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, Appendix C).

    Every parameter w_k has its own step size eta / (mu + h_kk), where h_kk estimates
    the second derivative of the pattern-wise loss E^p in w_k (``curvature``: the
    diagonal Gauss-Newton estimate of ``lenet_ref.numpy.curvature``, re-estimated on
    ``SDLM_PATTERNS`` patterns before each pass). mu keeps the step finite where the
    curvature is nearly zero.

    Online (a batch of one pattern, the paper's form): w_k -= eta / (mu + h_kk) dE^p/dw_k.
    Mini-batch (B patterns): ``grads`` is the gradient of the batch's MEAN loss, and the
    step is scaled by B: w_k -= eta B / (mu + h_kk) mean_p dE^p/dw_k
    = eta / (mu + h_kk) sum_p dE^p/dw_k, the sum of the B online steps the paper would
    take from the same weights. eta keeps its meaning (the paper's schedule applies as
    it is) and a pass moves the weights as far as an online pass, in B times fewer steps.

    ``keep``: which estimate the steps use. "latest" (the paper) is the one just set.
    "max" (a course option, not the paper's) keeps for every parameter the largest
    estimate set so far, so that no parameter's step size ever grows between passes: when
    a unit saturates, the Gauss-Newton estimate of its weights' curvature carries its
    f'(a)^2 and falls towards zero, and "latest" then gives those weights the largest
    step, eta / mu (chapter 5 of the book measures it). AMSGrad (Reddi et al. 2018) keeps
    the maximum of Adam's second moments for the same reason.
    """

    def __init__(self, params: dict[str, np.ndarray], mu: float = SDLM_MU, keep: str = "latest"):
        check_keep(keep)
        self.params, self.mu, self.keep = params, mu, keep
        self.curvature: dict[str, np.ndarray] | None = None

    def set_curvature(self, curvature: dict[str, np.ndarray]) -> None:
        """h_kk of every parameter, keyed and shaped like ``params`` (all >= 0): the steps
        use it ("latest") or its elementwise maximum with what they used before ("max")."""
        if self.keep == "max" and self.curvature is not None:
            curvature = {k: np.maximum(self.curvature[k], h) for k, h in curvature.items()}
        self.curvature = curvature

    def step(self, grads: dict[str, np.ndarray], lr: float, batch_size: int = 1) -> None:
        if self.curvature is None:
            raise RuntimeError("SDLM.step: estimate the curvature first (set_curvature)")
        for k, g in grads.items():
            scale = (lr * batch_size) / (self.mu + self.curvature[k])
            self.params[k] -= (scale * g).astype(self.params[k].dtype)


def check_keep(keep: str) -> None:
    if keep not in CURVATURE_KEEPS:
        raise ValueError(f"SDLM: keep must be one of {CURVATURE_KEEPS} (which curvature the "
                         f"steps use); got {keep!r}")  # fmt: skip


def curvature_summary(curvature: dict, mu: float = SDLM_MU) -> dict[str, dict[str, float]]:
    """What a pass's curvature estimate says, per parameter tensor: the median h_kk and the
    fraction of its parameters whose h_kk is below mu, where mu, not the curvature, sets
    the step (eta / (mu + h) ~ eta / mu). Training records it before every SDLM pass.
    ``curvature``: name -> array or tensor, as ``set_curvature`` takes it."""
    summary = {}
    for name, h in curvature.items():
        h = np.asarray(h.detach().cpu() if hasattr(h, "detach") else h, dtype=np.float64)
        summary[name] = {"median": float(np.median(h)), "below_mu": float(np.mean(h < mu))}
    return summary


OPTIMIZERS = ("sgd", "adam", "sdlm")
