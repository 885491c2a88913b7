"""lenet_ref.testing, the gradient checks the notebooks call: a check that cannot fail is
a defect, so each one is shown failing on a wrong gradient as well as passing on a right one."""

import numpy as np
import pytest

from lenet_ref.numpy import conv_backward, conv_forward, fc_backward, fc_forward
from lenet_ref.testing import check_gradient, numerical_gradient, rel_error


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0
    assert rel_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 4.2)
    assert rel_error(0.0, 1e-12) < 1e-3  # the floor: two near-zeros are not a large error


def test_numerical_gradient_of_a_known_function_and_x_is_restored():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    dout = np.array([1.0, 2.0, 3.0])
    grad = numerical_gradient(lambda v: v**2, x, dout)  # d/dx sum(x^2 * dout) = 2 x dout
    np.testing.assert_allclose(grad, 2 * before * dout, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def fc_case():
    r = np.random.default_rng(0)
    x, w, b = r.standard_normal((3, 4)), r.standard_normal((2, 4)), r.standard_normal(2)
    out, cache = fc_forward(x, w, b)
    dout = r.standard_normal(out.shape)
    return {"x": x, "w": w, "b": b}, dout, fc_backward(dout, cache)


def test_check_gradient_passes_on_a_right_gradient():
    inputs, dout, (dx, dw, db) = fc_case()
    assert check_gradient("fc_backward", fc_forward, inputs, "w", dw, dout) < 1e-7


def test_check_gradient_raises_on_a_wrong_gradient_naming_function_argument_and_index():
    inputs, dout, (dx, dw, db) = fc_case()
    wrong = dw.copy()
    wrong[1, 2] += 1e-3
    with pytest.raises(
        AssertionError, match=r"fc_backward: gradient of w is wrong at index \(1, 2\)"
    ):
        check_gradient("fc_backward", fc_forward, inputs, "w", wrong, dout)
    with pytest.raises(
        AssertionError, match=r"fc_backward: gradient of b is wrong .*analytic .*numerical"
    ):
        check_gradient("fc_backward", fc_forward, inputs, "b", -db, dout)
    with pytest.raises(AssertionError, match=r"fc_backward: the gradient of x has shape \(4, 3\)"):
        check_gradient("fc_backward", fc_forward, inputs, "x", dx.T, dout)
    with pytest.raises(AssertionError, match="gradient of x is wrong"):  # NaN must fail too
        check_gradient("fc_backward", fc_forward, inputs, "x", np.full_like(dx, np.nan), dout)


def test_check_gradient_with_samples_finds_an_error_it_samples():
    r = np.random.default_rng(1)
    x, w, b = r.standard_normal((2, 2, 6, 6)), r.standard_normal((3, 2, 3, 3)), r.standard_normal(3)
    out, cache = conv_forward(x, w, b)
    dout = r.standard_normal(out.shape)
    dx, _, _ = conv_backward(dout, cache)
    inputs = {"x": x, "w": w, "b": b}
    check_gradient("conv_backward", conv_forward, inputs, "x", dx, dout, samples=10)
    with pytest.raises(AssertionError, match="conv_backward: gradient of x is wrong"):
        check_gradient("conv_backward", conv_forward, inputs, "x", 2 * dx, dout, samples=10)


def test_check_gradient_refuses_float32():
    inputs, dout, (dx, dw, db) = fc_case()
    inputs["x"] = inputs["x"].astype(np.float32)
    with pytest.raises(ValueError, match="float64"):
        check_gradient("fc_backward", fc_forward, inputs, "x", dx, dout)


def test_testing_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lenet_ref.testing, lenet_ref.numpy; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
