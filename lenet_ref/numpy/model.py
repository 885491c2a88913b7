"""LeNet-5 in NumPy: a parameter dict and the layer function pairs, composed.

The model holds its parameters and nothing else between calls; ``forward`` returns the
caches that ``backward`` needs. The layers come from ``lenet_ref.spec.lenet5_layers``,
so the options (activation, pool, c3, head) change the list, not this code.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import spec
from ..params import check_state_dict, init_params, param_shapes, table_index, to_numpy
from ._checks import check_labels
from .activations import activation_backward, activation_forward
from .conv import conv_backward, conv_forward
from .dense import fc_backward, fc_forward
from .losses import rbf_loss, softmax_cross_entropy
from .pool import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
    subsample_backward,
    subsample_forward,
)
from .rbf import rbf_backward, rbf_forward

_POOL_FORWARD = {"avg": avgpool_forward, "max": maxpool_forward}
_POOL_BACKWARD = {"avg": avgpool_backward, "max": maxpool_backward}


class LeNet5:
    """LeNet-5 of LeCun et al. (1998); every default is the paper's.

    Args:
        seed: seeds the initial weights (Appendix A); the PyTorch LeNet5 with the same
            seed and options starts from the same weights.
        activation, pool, c3, head: see ``lenet_ref.spec.lenet5_layers`` (None: the paper's).
        preset: instead of options, a named network of ``lenet_ref.spec.PRESETS``
            (``"keras-relu"``, ``"deeplearning-net"``...), some of them on 28x28 inputs.
        init: the initial weights' rule, one of ``lenet_ref.spec.INITS`` (None: the paper's
            2.4 / F_i, He's for ReLU; ``lenet_ref.params.init_params`` says what each draws).
        init_gain: scales the rule's limits (None: 1, the rule's own).
        dtype: float64 (exact, for checks) or float32 (twice as fast, for training).

    ``params`` maps names such as ``"C1.weight"`` to arrays, the same names and shapes as
    the PyTorch network's ``state_dict()``.
    """

    def __init__(
        self,
        seed: int = 0,
        activation: str | None = None,
        pool: str | None = None,
        c3: str | None = None,
        head: str | None = None,
        preset: str | None = None,
        init: str | None = None,
        init_gain: float | None = None,
        dtype=np.float64,
    ):
        self.options, net = spec.network(
            preset, activation=activation, pool=pool, c3=c3, head=head, init=init,
            init_gain=init_gain,
        )  # fmt: skip
        self.layers = list(net.layers)
        self.input_size = net.input_size
        self.rbf = isinstance(self.layers[-1], spec.RBF)
        self.dtype = np.dtype(dtype)
        self.params = init_params(self.layers, seed, self.dtype, rule=net.init, gain=net.init_gain)
        self.prototypes = spec.rbf_prototypes().astype(self.dtype)  # fixed, Fig. 3

    # --- parameters --------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: Mapping) -> None:
        """Load arrays (or CPU/GPU tensors) with exactly this network's names and shapes."""
        check_state_dict(state, param_shapes(self.layers))
        self.params = {k: to_numpy(v).astype(self.dtype) for k, v in state.items()}

    def num_parameters(self) -> int:
        return sum(v.size for v in self.params.values())

    # --- forward and backward ------------------------------------------------------------
    def forward(self, x: np.ndarray, return_caches: bool = False):
        """x: (N, 1, S, S), S = 32 (28 for some presets) -> (N, 10): RBF penalties (Eq. 7;
        smaller is better) with the ``rbf`` head, logits with ``softmax``. With ``return_caches``, also the caches."""
        size = self.input_size
        if not (isinstance(x, np.ndarray) and x.ndim == 4 and x.shape[1:] == (1, size, size)):
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(
                f"LeNet5.forward: x must have shape (N, 1, {size}, {size}); got {shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"LeNet5.forward: x must be a float array; got {x.dtype} "
                "(raw MNIST images go through lenet_ref.data.to_lenet_input first)"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        caches = []
        for layer in self.layers:
            x, cache = self.layer_forward(layer, x)
            caches.append(cache)
        return (x, caches) if return_caches else x

    def predict(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class labels (N,): the smallest penalty, or the largest logit."""
        pick = np.argmin if self.rbf else np.argmax
        return np.concatenate(
            [
                pick(self.forward(x[i : i + batch_size]), axis=1)
                for i in range(0, len(x), batch_size)
            ]
        )

    def loss(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The head's loss and its gradient: Eq. (9) for rbf, cross-entropy for softmax."""
        if self.rbf:
            return rbf_loss(scores, y)
        return softmax_cross_entropy(scores, y)

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss over the batch and its gradient for every parameter, keyed like params."""
        check_labels("LeNet5.loss_and_grads", y, len(x), spec.NUM_CLASSES)
        scores, caches = self.forward(x, return_caches=True)
        loss, dout = self.loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        for layer, cache in zip(reversed(self.layers), reversed(caches), strict=True):
            dout = self.layer_backward(layer, dout, cache, grads)
        return loss, grads

    def layer_forward(self, layer: spec.Layer, x: np.ndarray):
        """One layer of ``self.layers`` (its weighted sum or pooling, then its activation)
        on x: returns (out, cache). ``forward`` is this, layer after layer."""
        p = {
            k.split(".", 1)[1]: v for k, v in self.params.items() if k.startswith(layer.name + ".")
        }
        if isinstance(layer, spec.Conv):
            w = p["weight"]
            if layer.table is not None:
                w = self._dense_kernel(layer, w)
            out, cache = conv_forward(x, w, p["bias"], mask=layer.mask(), pad=layer.pad)
        elif isinstance(layer, spec.Pool):
            if layer.kind == "subsample":
                out, cache = subsample_forward(x, p["coef"], p["bias"], size=layer.size)
            else:
                out, cache = _POOL_FORWARD[layer.kind](x, size=layer.size)
        elif isinstance(layer, spec.Dense):
            out, cache = fc_forward(x, p["weight"], p["bias"])
        else:  # spec.RBF
            out, cache = rbf_forward(x, self.prototypes)  # x: (N, 84) from F6
        act_cache = None
        if getattr(layer, "activation", None):
            out, act_cache = activation_forward(out, layer.activation)
        return out, (cache, act_cache)

    def layer_backward(self, layer: spec.Layer, dout: np.ndarray, caches, grads) -> np.ndarray:
        """The backward pass of one layer: returns dx and puts the layer's parameter
        gradients into ``grads``."""
        cache, act_cache = caches
        if act_cache is not None:
            dout = activation_backward(dout, act_cache)
        name = layer.name
        if isinstance(layer, spec.Conv):
            dx, dw, grads[f"{name}.bias"] = conv_backward(dout, cache)
            if layer.table is not None:
                dw = dw[table_index(layer)]  # the gradient of the packed kernels
            grads[f"{name}.weight"] = dw
        elif isinstance(layer, spec.Pool):
            if layer.kind == "subsample":
                dx, grads[f"{name}.coef"], grads[f"{name}.bias"] = subsample_backward(dout, cache)
            else:
                dx = _POOL_BACKWARD[layer.kind](dout, cache)
        elif isinstance(layer, spec.Dense):
            dx, grads[f"{name}.weight"], grads[f"{name}.bias"] = fc_backward(dout, cache)
        else:
            dx, _ = rbf_backward(dout, cache)  # the centres are fixed
        return dx

    @staticmethod
    def _dense_kernel(layer: spec.Conv, packed: np.ndarray) -> np.ndarray:
        """(n_connections, K, K) packed kernels -> (F, C, K, K), zero where unconnected."""
        dense = np.zeros((layer.out_maps, layer.in_maps) + packed.shape[1:], dtype=packed.dtype)
        dense[table_index(layer)] = packed
        return dense
