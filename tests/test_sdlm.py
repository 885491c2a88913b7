"""The paper's optimiser, stochastic diagonal Levenberg-Marquardt (Appendix C): the
curvature estimate against exact second derivatives on tiny cases, the update rule, the
schedule, and NumPy against PyTorch step for step."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.numpy import LeNet5, rbf_loss
from lenet_ref.numpy.curvature import curvature, curvature_factors, rbf_loss_gauss_newton
from lenet_ref.optim import SDLM, SDLM_LR, SDLM_MU
from lenet_ref.testing import rel_error
from lenet_ref.train import TrainConfig, lr_at, train

torch = pytest.importorskip("torch")
from lenet_ref.torch import LeNet5 as TorchLeNet5  # noqa: E402
from lenet_ref.torch.sdlm import SDLM as TorchSDLM  # noqa: E402
from lenet_ref.torch.sdlm import curvature as torch_curvature  # noqa: E402

OPTIONS = [
    {},  # the paper's network
    {"pool": "avg"},
    {"activation": "relu", "pool": "max", "c3": "full", "head": "softmax"},
]


def test_schedule_is_the_papers_own_with_the_default_rate():
    # Sec. III.B: 0.0005 for two passes, 0.0002 for three, 0.0001 for three,
    # 0.00005 for four, 0.00001 after
    paper = [5e-4] * 2 + [2e-4] * 3 + [1e-4] * 3 + [5e-5] * 4 + [1e-5] * 8
    np.testing.assert_allclose([lr_at(e, SDLM_LR) for e in range(1, 21)], paper, rtol=1e-12)
    assert SDLM_MU == 0.02


@pytest.mark.parametrize("options", OPTIONS, ids=["paper", "avg", "modern"])
def test_curvature_is_positive_and_the_same_in_numpy_and_torch(options, digits):
    x, y = digits
    x, y = x[:16], y[:16]
    h = curvature(LeNet5(seed=1, **options), x, y)
    twin = TorchLeNet5(seed=1, dtype=torch.float64, device="cpu", **options)
    h_torch = torch_curvature(twin, x, y)
    assert set(h) == set(h_torch) == set(twin.state_dict())
    for k, v in h.items():
        assert v.shape == twin.state_dict()[k].shape, k
        assert np.all(v >= 0), f"{k}: a negative curvature {v.min()}"
        assert rel_error(v, h_torch[k].numpy()) < 1e-10, k
    assert h["C1.weight"].max() > 0 and h["C1.bias"].max() > 0



def test_curvature_factors_are_c5s_own_and_follow_its_weights(digits):
    """What the book reads C5's saturation from: each factor computed here from C5's
    weights and S4's outputs directly (C5 is a dense layer on S4's 400 outputs), and the
    median curvature the same as ``curvature``'s."""
    x, y = digits
    net = LeNet5(seed=0, init="lecun")
    for scale in (1.0, 10.0):
        net.params["C5.weight"] = LeNet5(seed=0, init="lecun").params["C5.weight"] * scale
        got = curvature_factors(net, x, y, "C5")
        s4 = x
        for layer in net.layers[:4]:
            s4 = net.layer_forward(layer, s4)[0]
        s4 = s4.reshape(len(x), -1)
        a = s4 @ net.params["C5.weight"].reshape(120, -1).T + net.params["C5.bias"]
        slope = 1 - np.tanh(spec.S * a) ** 2  # f'(a) / f'(0) of the scaled tanh
        want = {"weight_rms": np.sqrt(np.mean(net.params["C5.weight"] ** 2)), "sum_sd": a.std(),
                "saturated": np.mean(slope < 0.1), "slope2": np.mean(slope**2),
                "input2": np.mean(s4**2),
                "median_h": np.median(curvature(net, x, y)["C5.weight"])}  # fmt: skip
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (scale, key)
        assert got["d2_out"] > 0
        if scale == 1.0:
            start = got
    # ten times the weights: ten times the spread, the units saturate, the inputs unchanged
    assert got["sum_sd"] == pytest.approx(10 * start["sum_sd"], rel=0.05)
    assert got["saturated"] > 0.5 > 0.01 > start["saturated"]
    assert got["slope2"] < start["slope2"] / 3 and got["median_h"] < start["median_h"] / 3
    for layer in ("S4", "output", "nothing"):
        with pytest.raises(ValueError, match="weighted layer with a squashing activation.*'C5'"):
            curvature_factors(net, x, y, layer)

def _exact_diagonal(f, x, step=1e-4):
    """d2f/dx_i^2 by central second differences, float64."""
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = step
        out[i] = (f(x + e) - 2 * f(x) + f(x - e)) / step**2
    return out


def test_rbf_gauss_newton_is_the_exact_diagonal_less_the_rbf_curvature():
    """Eq. (9) in F6's output x: the exact second derivatives (finite differences) are
    the Gauss-Newton estimate minus 2 sum_i q_i, the term Gauss-Newton leaves out."""
    rng = np.random.default_rng(0)
    centers = spec.rbf_prototypes()[:, :6]  # a tiny case: 6 inputs, close to the codes
    y = np.array([3, 7])
    x = centers[y] + 0.6 * rng.standard_normal((2, 6))
    gn = rbf_loss_gauss_newton(x, centers)
    for n in range(2):
        def loss(v, n=n):
            return rbf_loss(((v[None, None, :] - centers[None]) ** 2).sum(-1), y[n : n + 1])[0]

        exact = _exact_diagonal(loss, x[n])
        penalties = ((x[n] - centers) ** 2).sum(-1)
        q = np.exp(-penalties) / (np.exp(-spec.RBF_LOSS_J) + np.exp(-penalties).sum())
        assert q.sum() > 0.05, "the case must exercise the competitive term"
        np.testing.assert_allclose(gn[n] - 2 * q.sum(), exact, rtol=1e-5, atol=1e-6)
    assert np.all(gn >= 2)


def test_f6_curvature_is_the_gauss_newton_diagonal(digits):
    """An F6 weight w_ij moves F6's output x_i alone, so its Gauss-Newton second
    derivative is exactly (dx_i/dw_ij)^2 G_ii, G the loss's Gauss-Newton term at x:
    checked with dx_i/dw_ij by finite differences on one pattern."""
    x, y = digits
    net = LeNet5(seed=2)
    h = curvature(net, x[:1], y[:1])

    def f6_output(params):
        net.params = params
        out = x[:1]
        for layer in net.layers[:-1]:
            out, _ = net.layer_forward(layer, out)
        return out[0]

    start = {k: v.copy() for k, v in net.params.items()}
    g = rbf_loss_gauss_newton(f6_output(start)[None], net.prototypes)[0]
    for name, index in [("F6.weight", (3, 7)), ("F6.weight", (80, 119)), ("F6.bias", (5,))]:
        plus, minus = dict(start), dict(start)
        plus[name], minus[name] = start[name].copy(), start[name].copy()
        plus[name][index] += 1e-6
        minus[name][index] -= 1e-6
        dx = (f6_output(plus) - f6_output(minus)) / 2e-6
        i = index[0]
        expected = dx[i] ** 2 * g[i]
        assert abs(h[name][index] - expected) <= 1e-6 * expected, (name, index, expected)


def test_a_minibatch_step_is_the_sum_of_the_online_steps_from_the_same_weights(digits):
    x, y = digits
    net = LeNet5(seed=3)
    opt = SDLM(net.params)
    opt.set_curvature(curvature(net, x[:8], y[:8]))
    start = net.state_dict()
    online = {k: np.zeros_like(v) for k, v in start.items()}
    for p in range(4):  # each online step from the same starting weights
        net.params = {k: v.copy() for k, v in start.items()}
        opt.params = net.params
        _, grads = net.loss_and_grads(x[p : p + 1], y[p : p + 1])
        opt.step(grads, lr=1e-3)
        for k in online:
            online[k] += net.params[k] - start[k]
    net.params = {k: v.copy() for k, v in start.items()}
    opt.params = net.params
    _, grads = net.loss_and_grads(x[:4], y[:4])  # the gradient of the batch's mean loss
    opt.step(grads, lr=1e-3, batch_size=4)
    for k in online:
        np.testing.assert_allclose(net.params[k] - start[k], online[k], rtol=1e-9, atol=1e-15)


def test_sdlm_refuses_to_step_without_a_curvature(digits):
    x, y = digits
    net = LeNet5()
    _, grads = net.loss_and_grads(x[:2], y[:2])
    with pytest.raises(RuntimeError, match="curvature first"):
        SDLM(net.params).step(grads, lr=1e-3)
    twin = TorchLeNet5(device="cpu")
    twin.loss(twin(torch.as_tensor(x[:2], dtype=torch.float32)), torch.as_tensor(y[:2])).backward()
    with pytest.raises(RuntimeError, match="curvature first"):
        TorchSDLM(twin.parameters()).step()


def test_keep_max_steps_with_the_largest_curvature_so_far(digits):
    """curvature_keep="max": each parameter steps with the largest h_kk set so far, in
    NumPy and in PyTorch alike; "latest" (the paper) with the one just set."""
    x, y = digits
    net = LeNet5(seed=1)
    _, grads = net.loss_and_grads(x[:2], y[:2])
    first = {k: np.full_like(v, 0.5) for k, v in net.params.items()}
    second = {k: np.where(np.arange(v.size).reshape(v.shape) % 2, 0.0, 2.0).astype(v.dtype)
              for k, v in net.params.items()}  # fmt: skip
    kept = {k: np.maximum(first[k], second[k]) for k in first}  # 2 or 0.5, alternately
    moved = {}
    for keep, expected in (("latest", second), ("max", kept)):
        start = {k: v.copy() for k, v in net.params.items()}
        opt = SDLM(start, keep=keep)
        opt.set_curvature(first)
        opt.set_curvature(second)
        opt.step(grads, lr=1e-3)
        for k, g in grads.items():
            step = 1e-3 / (SDLM_MU + expected[k]) * g
            np.testing.assert_allclose(net.params[k] - start[k], step, rtol=1e-5, atol=1e-12)
        twin = TorchLeNet5(seed=1, dtype=torch.float64, device="cpu")
        twin.load_state_dict(net.params)
        named = dict(twin.named_parameters())
        twin_opt = TorchSDLM(twin.parameters(), lr=1e-3, keep=keep)
        for h in (first, second):
            twin_opt.set_curvature({named[k]: torch.as_tensor(v) for k, v in h.items()})
        for k, g in grads.items():
            named[k].grad = torch.as_tensor(g, dtype=torch.float64)
        twin_opt.step()
        for k in grads:
            np.testing.assert_allclose(named[k].detach().numpy(), start[k], rtol=1e-6, atol=1e-12)
        moved[keep] = start
    assert not np.allclose(moved["latest"]["C5.weight"], moved["max"]["C5.weight"])
    with pytest.raises(ValueError, match="keep must be one of"):
        SDLM(net.params, keep="min")
    with pytest.raises(ValueError, match="keep must be one of"):
        TorchSDLM(twin.parameters(), keep="mean")


@pytest.mark.parametrize(
    "batch_size, steps, epochs, keep",
    [(32, 8, 1, "latest"), (1, 12, 1, "latest"), (16, 4, 3, "max")],
    ids=["minibatch", "online", "keep-max"],
)
def test_numpy_and_torch_take_the_same_sdlm_steps(batch_size, steps, epochs, keep, mnist):
    """Same seed, batches, curvature patterns and update: the float32 weights agree
    after the curvature estimate and a few steps, in the mini-batch and the online form,
    and over passes that keep the largest curvature."""
    run = {"epochs": epochs, "limit": steps * batch_size, "test_limit": 100,
           "optimizer": "sdlm", "batch_size": batch_size, "curvature_patterns": 64,
           "curvature_keep": keep, "progress": False, "verbose": False, "out": None}  # fmt: skip
    numpy_net, numpy_metrics = train(TrainConfig(impl="numpy", **run), data=mnist)
    torch_net, torch_metrics = train(TrainConfig(impl="torch", device="cpu", **run), data=mnist)
    assert numpy_metrics["run"]["optimizer"] == "sdlm"
    start = LeNet5(seed=0).params
    assert rel_error(numpy_net.params["F6.weight"], start["F6.weight"]) > 1e-3, "no step"
    for k, v in numpy_net.params.items():
        other = torch_net.state_dict()[k].numpy()
        assert np.linalg.norm(v - other) < 1e-3 * np.linalg.norm(v), k
    for numpy_row, torch_row in zip(numpy_metrics["epochs"], torch_metrics["epochs"], strict=True):
        losses = numpy_row["train_loss"], torch_row["train_loss"]
        assert abs(losses[0] - losses[1]) < 1e-4 * abs(losses[0])
        for name, summary in numpy_row["curvature"].items():
            other = torch_row["curvature"][name]["median"]
            assert summary["median"] == pytest.approx(other, rel=1e-3), name


def test_cli_trains_with_sdlm_at_the_papers_rate(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "lenet_ref", "train", "--optimizer", "sdlm", "--device", "cpu",
         "--epochs", "1", "--limit", "256", "--test-limit", "100", "--curvature-patterns", "32",
         "--mu", "0.05", "--out", str(tmp_path), "--no-progress"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["run"]["optimizer"] == "sdlm" and metrics["run"]["lr"] == SDLM_LR
    assert metrics["config"]["mu"] == 0.05 and metrics["config"]["curvature_patterns"] == 32
    assert metrics["command"].startswith("python -m lenet_ref train --optimizer sdlm")
    assert metrics["commit"] is None or len(metrics["commit"]) >= 40


def test_each_sdlm_pass_records_the_curvature_its_steps_used(mnist):
    """Before every SDLM pass the metrics record, per parameter tensor, the median h_kk of
    the fresh estimate and the fraction of parameters below mu (where mu, not the
    curvature, sets the step). Under the paper's printed init every weight's curvature is
    ~1e-5, far below mu = 0.02; under fan-in-sqrt almost none is."""
    (x_train, y_train), test = mnist
    data = ((x_train[:64], y_train[:64]), test)
    rows = {}
    for init in ("paper", "fan-in-sqrt"):
        config = TrainConfig(optimizer="sdlm", init=init, epochs=2, batch_size=16,
                             curvature_patterns=32, test_limit=50, progress=False,
                             verbose=False, out=None)  # fmt: skip
        net, metrics = train(config, data=data)
        rows[init] = metrics["epochs"]
        for row in metrics["epochs"]:
            assert set(row["curvature"]) == set(dict(net.named_parameters())), row["curvature"]
            for summary in row["curvature"].values():
                assert summary["median"] >= 0 and 0 <= summary["below_mu"] <= 1
    first = {init: r[0]["curvature"] for init, r in rows.items()}
    for name in ("C1.weight", "C3.weight", "C5.weight", "F6.weight"):
        assert first["paper"][name]["below_mu"] == 1.0, (name, first["paper"][name])
        assert first["fan-in-sqrt"][name]["below_mu"] < 0.05, (name, first["fan-in-sqrt"][name])
        assert first["fan-in-sqrt"][name]["median"] > 100 * first["paper"][name]["median"]
    sgd = train(TrainConfig(epochs=1, limit=64, test_limit=50, progress=False, verbose=False,
                            out=None), data=data)[1]  # fmt: skip
    assert "curvature" not in sgd["epochs"][0]
    assert "curvature_estimate" not in rows["fan-in-sqrt"][1]  # "latest": the same thing


def test_keep_max_records_the_curvature_used_and_the_passs_own_estimate(mnist):
    """With curvature_keep="max" a pass records the curvature its steps used (never
    below the previous pass's, tensor by tensor) and, apart, the estimate made before it."""
    (x_train, y_train), test = mnist
    config = TrainConfig(optimizer="sdlm", init="lecun", curvature_keep="max", epochs=3,
                         batch_size=1, limit=300, curvature_patterns=64, test_limit=50,
                         progress=False, verbose=False, out=None)  # fmt: skip
    rows = train(config, data=((x_train[:300], y_train[:300]), test))[1]["epochs"]
    assert rows[0]["curvature_estimate"] == rows[0]["curvature"]  # nothing kept yet
    fell = 0
    for before, row in zip(rows, rows[1:]):
        for name, used in row["curvature"].items():
            assert used["median"] >= before["curvature"][name]["median"], name
            assert used["median"] >= row["curvature_estimate"][name]["median"], name
            fell += row["curvature_estimate"][name]["median"] < before["curvature"][name]["median"]
    assert fell, "no estimate fell below the kept one: the test shows nothing"
    with pytest.raises(ValueError, match="option of sdlm"):
        train(TrainConfig(optimizer="sgd", curvature_keep="max", out=None), data=None)
