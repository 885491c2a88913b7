"""The tutorial LeNets: each preset counted, built by both networks alike, and trained."""

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.counting import layer_counts, totals
from lenet_ref.numpy import LeNet5
from lenet_ref.testing import rel_error
from lenet_ref.train import TrainConfig, train

torch = pytest.importorskip("torch")
from lenet_ref.torch import LeNet5 as TorchLeNet5  # noqa: E402

PRESETS = list(spec.PRESETS)

# Test error after one epoch on the first 10,000 training images, on the first 1,000 test
# images (torch, CPU, seed 0). Measured with `python -m lenet_ref compare --limit 10000
# --test-limit 1000`; the bounds leave room for another machine's arithmetic, and a
# preset that does not learn stays near 90 %.
SHORT_RUN_MAX_ERROR = {
    "paper": 0.12,
    "modern": 0.08,
    "deeplearning-net": 0.08,
    "keras-relu": 0.10,
    "tf-sigmoid-same": 0.25,
    "d2l-sigmoid-max": 0.25,
}


def test_presets_are_the_tutorials_networks():
    counts = {name: totals(layer_counts(preset=name))[0] for name in PRESETS}
    assert counts["paper"] == 60_000
    assert counts["deeplearning-net"] == 431_080  # 520 + 25,050 + 400,500 + 5,010
    assert counts["keras-relu"] == counts["d2l-sigmoid-max"] == 44_426  # 16*4*4 = 256 -> 120
    assert counts["tf-sigmoid-same"] == counts["modern"] == 61_706  # 'same' C1 keeps 28x28
    assert spec.PRESETS["keras-relu"].optimizer == "adam"
    walk = [r.out_shape for r in layer_counts(preset="d2l-sigmoid-max")]
    assert walk[:4] == [(6, 24, 24), (6, 12, 12), (16, 8, 8), (16, 4, 4)]


@pytest.mark.parametrize("name", PRESETS)
def test_counts_equal_both_networks_parameters(name):
    counted = totals(layer_counts(preset=name))[0]
    assert LeNet5(preset=name).num_parameters() == counted
    assert sum(p.numel() for p in TorchLeNet5(preset=name, device="cpu").parameters()) == counted


@pytest.mark.parametrize("name", PRESETS)
def test_numpy_and_torch_agree_on_the_same_weights(name, mnist):
    from lenet_ref.data import to_lenet_input

    net = LeNet5(preset=name, seed=2)
    x = to_lenet_input(mnist[1][0][:8], net.input_size).astype(np.float64)
    y = mnist[1][1][:8]
    twin = TorchLeNet5(preset=name, seed=5, dtype=torch.float64, device="cpu")
    twin.load_state_dict(net.params)
    scores = twin(torch.as_tensor(x))
    twin.loss(scores, torch.as_tensor(y)).backward()
    loss, grads = net.loss_and_grads(x, y)
    assert rel_error(net.forward(x), scores.detach().numpy()) < 1e-10
    for k, p in twin.named_parameters():
        assert rel_error(grads[k], p.grad.numpy()) < 1e-8, f"{name}: gradient of {k}"


def test_a_preset_fixes_every_layer():
    with pytest.raises(ValueError, match="either a preset or options"):
        LeNet5(preset="keras-relu", pool="avg")
    with pytest.raises(ValueError, match="preset must be one of"):
        LeNet5(preset="lenet-1")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 28, 28\)"):
        LeNet5(preset="keras-relu").forward(np.zeros((1, 1, 32, 32)))


def test_adam_takes_torchs_steps(mnist):
    run = {"preset": "keras-relu", "epochs": 1, "limit": 20 * 32, "test_limit": 10,
           "progress": False, "verbose": False, "out": None}  # fmt: skip
    numpy_net, _ = train(TrainConfig(impl="numpy", **run), data=mnist)
    torch_net, _ = train(TrainConfig(impl="torch", device="cpu", **run), data=mnist)
    start = LeNet5(preset="keras-relu").params
    assert rel_error(numpy_net.params["F6.weight"], start["F6.weight"]) > 1e-2
    for k, v in numpy_net.params.items():
        other = torch_net.state_dict()[k].numpy()
        assert np.linalg.norm(v - other) < 1e-3 * np.linalg.norm(v), k


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_learns_on_real_mnist(name, mnist):
    config = TrainConfig(impl="torch", device="cpu", preset=name, epochs=1, limit=10_000,
                         test_limit=1_000, progress=False, verbose=False, out=None)  # fmt: skip
    _, metrics = train(config, data=mnist)
    assert metrics["test_error"] < SHORT_RUN_MAX_ERROR[name], metrics["epochs"]


def test_init_fan_in_sqrt_is_a_named_option_that_keeps_the_signal():
    """``init="fan-in-sqrt"`` draws within 2.4 / sqrt(F_i) (C1: F_i = 25, a subsampling
    coefficient: 4), joins the options that rebuild the network, and keeps the weighted
    sums' spread where the paper's printed 2.4 / F_i shrinks it layer after layer."""
    import numpy as np
    import pytest

    from lenet_ref import spec
    from lenet_ref.data import load_mnist, to_lenet_input
    from lenet_ref.figures import layer_outputs
    from lenet_ref.numpy import LeNet5

    sqrt_net, paper_net = LeNet5(seed=0, init="fan-in-sqrt"), LeNet5(seed=0)
    w = sqrt_net.params["C1.weight"]
    assert 0.4 < np.abs(w).max() <= 2.4 / 5 and np.abs(paper_net.params["C1.weight"]).max() <= 2.4 / 25
    assert 0.9 < np.abs(sqrt_net.params["S2.coef"]).max() <= 1.2
    assert sqrt_net.options["init"] == "fan-in-sqrt" and "init" not in paper_net.options
    assert LeNet5(seed=0, **sqrt_net.options).params["C1.weight"].tolist() == w.tolist()
    with pytest.raises(ValueError, match="init must be one of"):
        spec.network(init="xavier")
    x = to_lenet_input(load_mnist()[0][0][:64])
    f6 = {name: layer_outputs(net, x)["F6"].std()
          for name, net in (("sqrt", sqrt_net), ("paper", paper_net))}  # fmt: skip
    assert f6["sqrt"] > 0.3 > 0.05 > f6["paper"], f6


def test_init_lecun_draws_within_sqrt_3_over_fan_in():
    """``init="lecun"`` (Efficient BackProp, Sec. 4.6): uniform within sqrt(3 / F_i), so the
    weights' standard deviation is F_i^(-1/2): C1 (F_i = 25) within 0.346, C5 (F_i = 400)
    within 0.0866, a subsampling coefficient (F_i = 4) within 0.866; and it starts F6 wider
    than the paper's printed rule and narrower than fan-in-sqrt."""
    import numpy as np

    from lenet_ref.data import load_mnist, to_lenet_input
    from lenet_ref.figures import layer_outputs
    from lenet_ref.numpy import LeNet5

    net = LeNet5(seed=0, init="lecun")
    for name, fan_in in (("C1.weight", 25), ("C5.weight", 400), ("F6.weight", 120), ("S2.coef", 4)):
        w = net.params[name]
        limit = np.sqrt(3 / fan_in)
        assert 0.9 * limit < np.abs(w).max() <= limit, name
        if w.size > 100:  # the standard deviation the rule is named for
            assert abs(w.std() * np.sqrt(fan_in) - 1) < 0.1, name
    assert net.options["init"] == "lecun"
    x = to_lenet_input(load_mnist()[0][0][:64])
    f6 = {init: layer_outputs(LeNet5(seed=0, init=init), x)["F6"].std()
          for init in ("paper", "lecun", "fan-in-sqrt")}  # fmt: skip
    assert f6["paper"] < 0.05 < 0.3 < f6["lecun"] < f6["fan-in-sqrt"], f6


def test_init_gain_scales_the_rules_limits_in_both_networks(tmp_path):
    """``init_gain`` (``--init-gain``) multiplies every limit of the rule, weights and
    subsampling coefficients alike, from the same draws; it joins the options that rebuild
    the network (so a checkpoint or a metrics file says it), both networks start alike, and
    a gain that is not a positive number is refused."""
    from lenet_ref.checkpoint import load_checkpoint

    rule, half = LeNet5(seed=3, init="lecun"), LeNet5(seed=3, init="lecun", init_gain=0.5)
    for name, w in rule.params.items():
        assert np.array_equal(half.params[name], 0.5 * w), name
    assert half.options["init_gain"] == 0.5 and "init_gain" not in rule.options
    twin = TorchLeNet5(seed=3, dtype=torch.float64, device="cpu", **half.options)
    for name, w in twin.state_dict().items():
        assert np.array_equal(w.numpy(), half.params[name]), name
    for bad in (0, -1.0, float("nan"), float("inf"), "0.5", True):
        with pytest.raises(ValueError, match="init_gain must be a positive number"):
            LeNet5(init="lecun", init_gain=bad)
    _, metrics = train(TrainConfig(impl="numpy", init="lecun", init_gain=0.75, epochs=1,
                                   limit=64, test_limit=64, progress=False, verbose=False,
                                   out=str(tmp_path)))  # fmt: skip
    assert metrics["run"]["init_gain"] == 0.75
    options, state, _ = load_checkpoint(tmp_path / "checkpoint.npz")
    assert options["init_gain"] == 0.75 and LeNet5(**options).options == options
