"""The two LeNet5s: same weights give the same scores and gradients; the shape walk;
the loss at initialisation; and learning (a small batch of real digits is overfitted)."""

import math

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.numpy import LeNet5
from lenet_ref.testing import rel_error

torch = pytest.importorskip("torch")
from lenet_ref.torch import LeNet5 as TorchLeNet5  # noqa: E402

OPTION_SETS = {
    "paper": spec.PAPER_OPTIONS,
    "modern": spec.MODERN_OPTIONS,
    "tanh-avg-full-rbf": {"activation": "tanh", "pool": "avg", "c3": "full", "head": "rbf"},
    "sigmoid-subsample-table-softmax": {
        "activation": "sigmoid",
        "pool": "subsample",
        "c3": "table",
        "head": "softmax",
    },
}


def twins(options, seed=3):
    net = LeNet5(seed=seed, **options)
    twin = TorchLeNet5(seed=seed + 100, dtype=torch.float64, device="cpu", **options)
    twin.load_state_dict(
        {k: torch.as_tensor(v) for k, v in net.params.items()}
    )  # the dict comprehension
    return net, twin


@pytest.mark.parametrize("name", OPTION_SETS)
def test_same_weights_same_scores_and_gradients(name, digits):
    x, y = digits
    x, y = x[:16], y[:16]
    net, twin = twins(OPTION_SETS[name])
    loss, grads = net.loss_and_grads(x, y)

    scores = twin(torch.as_tensor(x))
    torch_loss = twin.loss(scores, torch.as_tensor(y))
    torch_loss.backward()
    assert rel_error(net.forward(x), scores.detach().numpy()) < 1e-10, "scores differ"
    assert abs(loss - torch_loss.item()) < 1e-10 * max(1.0, abs(loss))
    torch_grads = {k: p.grad.numpy() for k, p in twin.named_parameters()}
    assert grads.keys() == torch_grads.keys()
    for k in grads:
        assert grads[k].shape == torch_grads[k].shape, k
        assert rel_error(grads[k], torch_grads[k]) < 1e-8, f"gradient of {k} differs from PyTorch's"


@pytest.mark.parametrize("name", OPTION_SETS)
def test_same_seed_same_initial_weights(name):
    net = LeNet5(seed=7, **OPTION_SETS[name])
    twin = TorchLeNet5(seed=7, dtype=torch.float64, device="cpu", **OPTION_SETS[name])
    state = twin.state_dict()
    assert state.keys() == net.params.keys()
    for k, v in net.params.items():
        np.testing.assert_array_equal(state[k].numpy(), v, err_msg=k)
    assert any(np.abs(v).max() > 0 for v in net.params.values())
    assert not np.array_equal(
        LeNet5(seed=8).params["C1.weight"], LeNet5(seed=7).params["C1.weight"]
    )


def test_paper_parameter_names_and_shapes():
    shapes = {k: v.shape for k, v in LeNet5().params.items()}
    assert shapes == {
        "C1.weight": (6, 1, 5, 5), "C1.bias": (6,), "S2.coef": (6,), "S2.bias": (6,),
        "C3.weight": (60, 5, 5), "C3.bias": (16,), "S4.coef": (16,), "S4.bias": (16,),
        "C5.weight": (120, 16, 5, 5), "C5.bias": (120,), "F6.weight": (84, 120), "F6.bias": (84,),
    }  # fmt: skip


def test_c3_maps_read_only_the_s2_maps_of_table_one(digits):
    """Table I: C3 map 0 reads S2 maps 0, 1, 2; map 1 reads 1, 2, 3. Changing S2 map 3
    must leave C3 map 0 alone and change map 1."""
    x, _ = digits
    net = LeNet5(seed=1)
    out = x[:4]
    for layer in net.layers[:2]:
        out, _ = net.layer_forward(layer, out)
    changed = out.copy()
    changed[:, 3] += 1.0
    c3 = net.layers[2]
    before, _ = net.layer_forward(c3, out)
    after, _ = net.layer_forward(c3, changed)
    for k, inputs in enumerate(spec.C3_TABLE):
        moved = not np.allclose(before[:, k], after[:, k])
        assert moved == (3 in inputs), f"C3 map {k} reads S2 maps {inputs}"


def test_shape_walk_through_the_network(digits):
    x, _ = digits
    net = LeNet5()
    out, shapes = x[:2], []
    for layer in net.layers:
        out, _ = net.layer_forward(layer, out)
        shapes.append(out.shape[1:])
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]
    np.testing.assert_array_equal(out, net.forward(x[:2]))  # forward is these steps, in order


def test_initial_softmax_loss_is_ln_10(digits):
    x, y = digits
    loss, _ = LeNet5(seed=0, head="softmax").loss_and_grads(x, y)
    assert abs(loss - math.log(10)) < 0.05, loss


def test_initial_rbf_penalties(digits):
    """At initialisation F6 is near 0, so each penalty is near ||0 - code||^2 = 84, and the
    competitive term of Eq. (9) is negligible: the loss is the mean penalty of the right
    class minus j."""
    x, y = digits
    net = LeNet5(seed=0)
    penalties = net.forward(x)
    assert np.all(np.abs(penalties - 84) < 20)
    loss, _ = net.loss_and_grads(x, y)
    assert loss == pytest.approx(penalties[np.arange(len(y)), y].mean() - spec.RBF_LOSS_J, abs=1e-6)


@pytest.mark.parametrize(
    "options", [spec.PAPER_OPTIONS, spec.MODERN_OPTIONS], ids=["paper", "modern"]
)
def test_overfits_a_small_batch_of_real_digits(options, digits):
    x, y = digits
    x, y = x[:32], y[:32]
    net = LeNet5(seed=0, **options)
    lr = 0.002 if options["head"] == "rbf" else 0.05
    velocity = {k: np.zeros_like(v) for k, v in net.params.items()}
    first, _ = net.loss_and_grads(x, y)
    for _ in range(150):
        loss, grads = net.loss_and_grads(x, y)
        for k, g in grads.items():
            velocity[k] = 0.9 * velocity[k] + g
            net.params[k] -= lr * velocity[k]
    assert np.mean(net.predict(x) == y) == 1.0
    assert loss < 0.1 * first


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 32, 32\)"):
        LeNet5().forward(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 32, 32\)"):
        TorchLeNet5(device="cpu")(torch.zeros(2, 1, 28, 28))


def test_raw_uint8_images_are_a_clear_error():
    raw = np.zeros((2, 1, 32, 32), dtype=np.uint8)
    with pytest.raises(ValueError, match="to_lenet_input"):
        LeNet5().forward(raw)
    with pytest.raises(ValueError, match="to_lenet_input"):
        TorchLeNet5(device="cpu")(torch.as_tensor(raw))


def test_wrong_state_dict_is_refused_with_the_reason():
    paper = LeNet5().state_dict()
    with pytest.raises(
        ValueError, match=r"C3.weight has shape \(60, 5, 5\), expected \(16, 6, 5, 5\)"
    ):
        LeNet5(c3="full").load_state_dict(paper)
    with pytest.raises(ValueError, match="missing keys"):
        TorchLeNet5(device="cpu", head="softmax").load_state_dict(paper)


def test_asking_for_cuda_without_a_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        TorchLeNet5(device="cuda")
    assert TorchLeNet5(device="auto").device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_gives_the_cpu_scores(digits):
    x, _ = digits
    cpu = TorchLeNet5(seed=0, dtype=torch.float64, device="cpu")
    gpu = TorchLeNet5(seed=0, dtype=torch.float64, device="cuda")
    assert gpu.device.type == "cuda"
    a = cpu(torch.as_tensor(x)).detach().numpy()
    b = gpu(torch.as_tensor(x, device="cuda")).detach().cpu().numpy()
    assert rel_error(a, b) < 1e-9
    np.testing.assert_array_equal(cpu.predict(x), gpu.predict(x))
