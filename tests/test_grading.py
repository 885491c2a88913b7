"""lenet_ref.grading's guards, in-process: what counts as borrowing the reference, what
counts as patching, and what an honest answer may do."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import lenet_ref.grading.expect as expect
from lenet_ref.grading import AnswerRaised, BorrowedAnswer, PatchedError, behaviours, check
from lenet_ref.grading.guard import call


def correlate2d(image, kernel):
    K, L = kernel.shape
    H, W = image.shape
    out = np.zeros((H - K + 1, W - L + 1))
    for i in range(H - K + 1):
        for j in range(W - L + 1):
            out[i, j] = np.sum(image[i : i + K, j : j + L] * kernel)
    return out


def test_an_honest_answer_passes():
    check("correlate2d", "example", correlate2d)


@pytest.mark.parametrize("how", ["import", "alias", "importlib", "model"])
def test_calling_the_reference_in_any_spelling_is_caught(how):
    def borrowed(image, kernel):
        if how == "import":
            from lenet_ref.numpy import conv_forward
        elif how == "alias":
            conv_forward = sys.modules["lenet_ref.numpy.conv"].__dict__["conv_forward"]
        elif how == "importlib":
            import importlib

            conv_forward = importlib.import_module("lenet_ref.numpy").conv_forward_naive
        else:
            from lenet_ref.numpy import LeNet5

            LeNet5(seed=0)  # building the model reaches into the reference too
            from lenet_ref.numpy import conv_forward
        return conv_forward(image[None, None], kernel[None, None], np.zeros(1))[0][0, 0]

    with pytest.raises(BorrowedAnswer, match="no points: correlate2d called lenet_ref"):
        check("correlate2d", "example", borrowed)


def test_handing_in_the_reference_itself_is_caught():
    import functools

    from lenet_ref.numpy import conv_forward, maxpool_forward

    with pytest.raises(BorrowedAnswer, match="conv_forward"):
        check("conv_forward", "one_map", conv_forward)
    with pytest.raises(BorrowedAnswer, match="maxpool_forward"):
        check("maxpool_forward", "example", functools.partial(maxpool_forward))


def test_calling_pytorch_is_caught():
    def borrowed(image, kernel):
        import torch

        t = torch.from_numpy
        return torch.nn.functional.conv2d(t(image)[None, None], t(kernel)[None, None])[0, 0].numpy()

    with pytest.raises(BorrowedAnswer, match="torch"):
        check("correlate2d", "example", borrowed)


def test_switching_the_watch_off_is_caught():
    def sneaky(image, kernel):
        sys.setprofile(None)
        return correlate2d(image, kernel)

    with pytest.raises(BorrowedAnswer, match="switched off"):
        call(sneaky, np.ones((3, 3)), np.ones((2, 2)))


def test_changing_an_input_in_place_is_reported():
    def in_place(image, kernel):
        image -= 1
        return correlate2d(image + 1, kernel)

    with pytest.raises(AssertionError, match="changed its argument 1"):
        call(in_place, np.ones((3, 3)), np.ones((2, 2)))


def test_a_clever_array_subclass_is_refused():
    class Always(np.ndarray):
        def __eq__(self, other):
            return True

    with pytest.raises(AssertionError, match="expected NumPy arrays"):
        call(lambda image, kernel: np.zeros((2, 2)).view(Always), np.ones((3, 3)), np.ones((2, 2)))


def test_an_unwritten_answer_says_so():
    def stub(image, kernel):
        raise NotImplementedError()

    with pytest.raises(AnswerRaised, match="not written yet"):
        check("correlate2d", "example", stub)


def test_a_crashing_answer_says_with_what_it_was_called():
    def crash(image, kernel):
        return image @ kernel

    with pytest.raises(AnswerRaised, match=r"correlate2d\(array\(4, 4\), array\(2, 2\)\) raised ValueError"):
        check("correlate2d", "example", crash)


@pytest.mark.parametrize("target", [(np, "allclose"), (np, "abs"), (expect, "close")])
def test_patching_numpy_or_the_checks_is_caught(monkeypatch, target):
    monkeypatch.setattr(*target, lambda *args, **kwargs: None)
    with pytest.raises(PatchedError, match=f"replaced .*{target[1]}"):
        check("correlate2d", "example", correlate2d)


def test_changing_a_reference_constant_is_caught(monkeypatch):
    from lenet_ref import spec

    # a transposed-table answer would match a transposed table
    monkeypatch.setattr(spec, "C3_TABLE", tuple(reversed(spec.C3_TABLE)))
    with pytest.raises(PatchedError, match="C3_TABLE"):
        check("c3_mask", "table_1", lambda table, in_maps: np.zeros((16, 6), bool))


def test_messages_name_the_known_mistake():
    with pytest.raises(AssertionError, match="true convolution"):
        check("correlate2d", "example", lambda image, kernel: correlate2d(image, kernel[::-1, ::-1]))


def test_every_behaviour_has_a_docstring_and_every_notebook_cell_a_behaviour():
    import re

    from lenet_ref.grading import samples

    known = behaviours()
    assert all(b.doc for b in known.values())
    used = set()
    for assignment in samples.ASSIGNMENTS:
        text = samples.solution_path(assignment).read_text()
        used |= set(re.findall(r'check\(\\"(\w+)\\", \\"(\w+)\\"', text))
    assert used == set(known), set(known) ^ used
