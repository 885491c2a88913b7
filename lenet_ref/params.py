"""Parameters of a network described by ``lenet_ref.spec`` layers, shared by both networks.

Both the NumPy and the PyTorch LeNet-5 draw their initial weights here, from one NumPy
generator, so the two start from the same point for the same seed, and both check a
state dict here, so a bad one is refused with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .spec import INITS, Conv, Dense, Layer, Pool


def param_shapes(layers: list[Layer]) -> dict[str, tuple[int, ...]]:
    """``{"C1.weight": (6, 1, 5, 5), ...}``: every trainable array, in layer order."""
    return {
        f"{layer.name}.{key}": shape
        for layer in layers
        for key, shape in layer.param_shapes().items()
    }


def init_params(
    layers: list[Layer], seed: int = 0, dtype=np.float64, rule: str = "paper", gain: float = 1.0
) -> dict[str, np.ndarray]:
    """Initial weights drawn uniformly in [-limit, limit]; biases start at 0. ``gain``
    multiplies every limit (1: the rule's own); the draws are the same, so a gain scales
    the rule's weights exactly.

    rule ``"paper"``: Appendix A, limit = 2.4 / F_i, F_i the fan-in of the unit the weight
    feeds (a subsampling coefficient has fan-in 4, the window it scales). It keeps the
    weighted sums of a *squashing* unit in its linear range.
    rule ``"fan-in-sqrt"``: limit = 2.4 / sqrt(F_i), the rule that meets Appendix A's stated
    aim ("the initial standard deviation of the weighted sums in the same range for each
    unit", within the sigmoid's operating region: sqrt(1.92) = 1.39 for inputs of variance
    1, whatever F_i) where the literal 2.4 / F_i shrinks it by sqrt(1.92 / F_i) per layer.
    A named option, not the default: the paper prints 2.4 / F_i.
    rule ``"lecun"``: limit = sqrt(3 / F_i), standard deviation F_i^(-1/2), the rule of
    LeCun, Bottou, Orr and Mueller's *Efficient BackProp* (1998, Sec. 4.6) for this very
    sigmoid on normalised inputs: the weighted sums start with the inputs' variance, where
    fan-in-sqrt starts them 1.92 times wider (Keras calls it ``lecun_uniform``).
    SDLM needs one of these two (``lenet_ref.optim.SDLM``).
    rule ``"he"``: limit = sqrt(6 / F_i) (He et al. 2015), for ReLU units, which do not
    squash: under the paper's rule a ReLU network's signal shrinks layer after layer.
    rule ``"glorot"``: limit = sqrt(6 / (F_i + F_o)) (Glorot and Bengio 2010), the default
    of the frameworks that the tutorial presets were written for.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for layer in layers:
        shapes = layer.param_shapes()
        if isinstance(layer, (Conv, Dense)):
            fan_in = layer.fan_in()
            if isinstance(layer, Conv) and layer.table is not None:
                # packed weights: one kernel per connection, in table order
                fan_in = np.concatenate(
                    [np.full(len(inputs), f) for inputs, f in zip(layer.table, fan_in, strict=True)]
                )
            fan_out = (
                layer.out_maps * layer.kernel**2 if isinstance(layer, Conv) else layer.out_features
            )
            limit = gain * _limit(rule, fan_in, fan_out)
            limit = limit.reshape((-1,) + (1,) * (len(shapes["weight"]) - 1))
            params[f"{layer.name}.weight"] = rng.uniform(-1, 1, shapes["weight"]) * limit
            params[f"{layer.name}.bias"] = np.zeros(shapes["bias"])
        elif isinstance(layer, Pool) and shapes:
            fan_in = layer.size**2  # the window a coefficient scales
            own = rule if rule in ("fan-in-sqrt", "lecun") else "paper"
            limit = gain * _limit(own, fan_in, fan_in)
            params[f"{layer.name}.coef"] = rng.uniform(-1, 1, shapes["coef"]) * limit
            params[f"{layer.name}.bias"] = np.zeros(shapes["bias"])
    return {k: v.astype(dtype) for k, v in params.items()}


def _limit(rule: str, fan_in: np.ndarray, fan_out: int) -> np.ndarray:
    if rule == "paper":
        return 2.4 / fan_in
    if rule == "fan-in-sqrt":
        return 2.4 / np.sqrt(fan_in)
    if rule == "lecun":
        return np.sqrt(3 / fan_in)
    if rule == "he":
        return np.sqrt(6 / fan_in)
    if rule == "glorot":
        return np.sqrt(6 / (fan_in + fan_out))
    raise ValueError(f"rule must be one of {', '.join(map(repr, INITS))}; got {rule!r}")


def check_state_dict(state: Mapping, expected: dict[str, tuple[int, ...]]) -> None:
    """Raise ValueError, listing every problem, unless ``state`` has exactly the expected
    keys and shapes. ``state`` may hold NumPy arrays or tensors."""
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    for key, shape in expected.items():
        if key in state and tuple(state[key].shape) != tuple(shape):
            problems.append(f"{key} has shape {tuple(state[key].shape)}, expected {tuple(shape)}")
    if problems:
        raise ValueError(
            "state dict does not fit this network (were both built with the same options?): "
            + "; ".join(problems)
        )


def table_index(layer: Conv) -> tuple[np.ndarray, np.ndarray]:
    """(out_maps, in_maps) index arrays of a table convolution's connections, in the order
    its packed weight stores them: ``dense[rows, cols] = packed`` gives the (F, C, K, K)
    kernel with zeros where the table has no connection."""
    rows = [f for f, inputs in enumerate(layer.table) for _ in inputs]
    cols = [c for inputs in layer.table for c in inputs]
    return np.array(rows), np.array(cols)


def to_numpy(value) -> np.ndarray:
    """A NumPy array from an array or a tensor (on any device), without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
