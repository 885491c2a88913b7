"""Submissions made from the course's own notebooks, to test the grading: the solution,
the untouched student notebook and known wrong answers. (Cheats are graded where they can be
caught, by the class grader's sandbox: tests/test_grade_class_verdicts.py.)

A mistake is a small edit of one solution cell (``old`` -> ``new``), with the test cells
it must lose (``fails``). The test suite applies each one and checks, through the same
``check`` calls as the notebooks, that those cells fail; it also grades notebooks with
several mistakes through the real ``nbgrader autograde``. The class-grading benchmark
draws its wrong answers from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = {
    "ch1_convolution": "convolution",
    "ch2_pooling": "pooling",
    "ch3_s2_to_c3": "s2_to_c3",
    "ch4_counting": "counting",
    "ch5_lenet5": "lenet5",
}


@dataclass(frozen=True)
class Mistake:
    name: str
    cell: str  # grade_id of the solution cell
    old: str
    new: str
    fails: tuple[str, ...]  # grade_ids of the test cells that must lose their points


def solution_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"


def exercise_path(assignment: str) -> Path:
    return ROOT / "exercises" / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"


def with_mistakes(assignment: str, mistakes) -> nbformat.NotebookNode:
    """The solution notebook with each mistake's edit made."""
    nb = nbformat.read(solution_path(assignment), as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for m in mistakes:
        cell = cells[m.cell]
        if m.old not in cell.source:
            raise ValueError(f"mistake {m.name!r}: {m.old!r} is not in cell {m.cell!r}")
        cell.source = cell.source.replace(m.old, m.new)
    return nb


def _t(*names):
    return tuple(f"test_{n}" for n in names)


MISTAKES: dict[str, list[Mistake]] = {
    "ch1_convolution": [
        Mistake("output size one too small", "conv_output_size",
                "return (H + 2 * pad - K) // stride + 1", "return (H + 2 * pad - K) // stride",
                _t("conv_output_size_lenet", "conv_output_size_padding", "conv_output_size_stride")),
        Mistake("stride ignored", "conv_output_size",
                "return (H + 2 * pad - K) // stride + 1", "return H + 2 * pad - K + 1",
                _t("conv_output_size_stride")),
        Mistake("padding ignored", "conv_output_size",
                "return (H + 2 * pad - K) // stride + 1", "return (H - K) // stride + 1",
                _t("conv_output_size_padding")),
        Mistake("kernel flipped (true convolution)", "correlate2d",
                "* kernel)", "* kernel[::-1, ::-1])",
                _t("correlate2d_example", "correlate2d_random")),
        Mistake("bias left out", "conv_forward",
                "axes=([1, 2, 3], [1, 2, 3])) + b", "axes=([1, 2, 3], [1, 2, 3]))",
                _t("conv_forward_one_map", "conv_forward_maps_and_batch")),
        Mistake("kernels flipped", "conv_forward",
                "window, w, axes", "window, w[:, :, ::-1, ::-1], axes",
                _t("conv_forward_one_map", "conv_forward_maps_and_batch")),
        Mistake("db of the first image only", "conv_backward",
                "db = dout.sum(axis=(0, 2, 3))", "db = dout[0].sum(axis=(1, 2))",
                _t("conv_backward_gradient_check", "conv_backward_db")),
        Mistake("dw not summed over the batch", "conv_backward",
                "dw += np.tensordot(g, x[:, :, i : i + K, j : j + L], axes=([0], [0]))",
                "dw += np.tensordot(g[:1], x[:1, :, i : i + K, j : j + L], axes=([0], [0]))",
                _t("conv_backward_gradient_check", "conv_backward_dw")),
        Mistake("dx missing the kernel", "conv_backward",
                "dx[:, :, i : i + K, j : j + L] += np.tensordot(g, w, axes=([1], [0]))",
                "dx[:, :, i : i + K, j : j + L] += g.sum(axis=1)[:, None, None, None]",
                _t("conv_backward_gradient_check", "conv_backward_dx")),
    ],
    "ch2_pooling": [
        Mistake("average instead of max", "maxpool_forward", ".max(axis=(3, 5))", ".mean(axis=(3, 5))",
                _t("maxpool_forward_example", "maxpool_forward_random")),
        Mistake("ties to the last maximum", "maxpool_backward",
                "first = window.reshape(N, C, size * size).argmax(axis=2)",
                "first = size * size - 1 - window.reshape(N, C, size * size)[:, :, ::-1].argmax(axis=2)",
                _t("maxpool_backward_ties")),
        Mistake("gradient spread over the window", "maxpool_backward",
                "dx[n, c, i * size + r, j * size + s] = dout[:, :, i, j]",
                "dx[:, :, i * size : (i + 1) * size, j * size : (j + 1) * size] = "
                "dout[:, :, i, j][:, :, None, None] / size**2",
                _t("maxpool_backward_example", "maxpool_backward_ties", "maxpool_backward_random")),
        Mistake("sum instead of average", "avgpool_forward", ".mean(axis=(3, 5))", ".sum(axis=(3, 5))",
                _t("avgpool_forward_example", "avgpool_forward_random")),
        Mistake("window mean in subsampling", "subsample_forward",
                "coef[:, None, None] * sums + bias", "coef[:, None, None] * sums / size**2 + bias",
                _t("subsample_forward_example", "subsample_forward_random")),
        Mistake("dcoef from dout only", "subsample_backward",
                "dcoef = (dout * sums).sum(axis=(0, 2, 3))", "dcoef = dout.sum(axis=(0, 2, 3))",
                _t("subsample_backward_gradient_check", "subsample_backward_dcoef")),
        Mistake("dx without the coefficient", "subsample_backward",
                "np.repeat(dout * coef[:, None, None], size", "np.repeat(dout, size",
                _t("subsample_backward_gradient_check", "subsample_backward_dx")),
    ],
    "ch3_s2_to_c3": [
        Mistake("mask transposed", "c3_mask", "    return mask\n", "    return mask.T\n",
                _t("c3_mask_table_1", "c3_mask_other_tables")),
        Mistake("maps numbered from 1", "c3_mask", "mask[f, list(inputs)] = True",
                "mask[f, [(c + 1) % in_maps for c in inputs]] = True",
                _t("c3_mask_table_1", "c3_mask_other_tables")),
        Mistake("table ignored in the loops", "c3_forward_loops", "for c in inputs)",
                "for c in range(x.shape[0]))",
                _t("c3_forward_loops_table_1", "c3_forward_loops_random",
                   "c3_forward_masked_agrees_with_loops")),
        Mistake("mask not applied", "c3_forward_masked", "w * mask[:, :, None, None]", "w",
                _t("c3_forward_masked_table_1", "c3_forward_masked_random",
                   "c3_forward_masked_agrees_with_loops")),
        Mistake("biases not counted", "c3_parameter_count", " * kernel_size**2 + len(table)",
                " * kernel_size**2", _t("c3_parameter_count_table_1", "c3_parameter_count_other_tables")),
        Mistake("table ignored in the count", "c3_parameter_count",
                "sum(len(inputs) for inputs in table)", "len(table) * 6",
                _t("c3_parameter_count_table_1", "c3_parameter_count_other_tables")),
    ],
    "ch4_counting": [
        Mistake("bias connections left out", "conv_counts",
                "return parameters, units_per_map * parameters",
                "return parameters, units_per_map * links * kernel**2",
                _t("conv_counts_C1", "conv_counts_C3_and_C5", "conv_counts_variants",
                   "lenet5_totals_paper", "lenet5_totals_variants")),
        Mistake("padding ignored", "conv_counts", "(H + 2 * pad - kernel + 1) * (W + 2 * pad - kernel + 1)",
                "(H - kernel + 1) * (W - kernel + 1)", _t("conv_counts_variants")),
        Mistake("a bias connection in max and average pooling", "pool_counts",
                "return 0, units * size**2", "return 0, units * (size**2 + 1)",
                _t("pool_counts_kinds", "lenet5_totals_variants")),
        Mistake("fully connected without biases", "dense_counts",
                "n = out_features * (in_features + 1)", "n = out_features * in_features",
                _t("dense_counts_F6", "lenet5_totals_paper", "lenet5_totals_variants")),
        Mistake("RBF centres counted as parameters", "dense_counts",
                "return 0, in_features * classes", "return in_features * classes, in_features * classes",
                _t("rbf_counts_output", "lenet5_totals_paper", "lenet5_totals_variants")),
    ],
    "ch5_lenet5": [
        Mistake("no squashing after F6", "lenet5_forward",
                "    h = keep(fc_forward(h, params[\"F6.weight\"], params[\"F6.bias\"]))\n"
                "    h = keep(scaled_tanh_forward(h))\n",
                "    h = keep(fc_forward(h, params[\"F6.weight\"], params[\"F6.bias\"]))\n",
                # the backward pass then meets one cache fewer than it unwinds
                _t("lenet5_forward_penalties", "lenet5_forward_random", "lenet5_backward_gradients",
                   "lenet5_backward_random", "lenet5_backward_c3_packed", "train_mnist")),
        Mistake("the exp(-j) term left out", "rbf_loss",
                "z = np.concatenate([np.full((N, 1), -j), -penalties], axis=1)", "z = -penalties",
                _t("rbf_loss_example", "rbf_loss_loss", "rbf_loss_gradient")),
        Mistake("loss summed over the batch", "rbf_loss", "return float(loss), dpenalties / N",
                "return float(loss) * N, dpenalties",  # and so a step N times too long: divergence
                _t("rbf_loss_example", "rbf_loss_loss", "rbf_loss_gradient", "train_mnist")),
        Mistake("C3 gradient unpacked in mask order", "lenet5_backward",
                "grads[\"C3.weight\"] = dw[C3_ROWS, C3_COLS]",
                "grads[\"C3.weight\"] = dw[np.nonzero(C3_MASK)]",
                _t("lenet5_backward_gradients", "lenet5_backward_random", "lenet5_backward_c3_packed")),
        Mistake("a step up the gradient", "sgd_step", "value - lr * grads[name]",
                "value + lr * grads[name]", _t("sgd_step_one_step", "train_mnist")),
    ],
}  # fmt: skip

# One notebook per assignment for the real-nbgrader test: mistakes whose failing cells do not
# overlap, so that every other cell must keep its points.
GRADED_MISTAKES = {
    "ch1_convolution": ("stride ignored", "bias left out", "db of the first image only"),
    "ch2_pooling": ("ties to the last maximum", "dcoef from dout only"),
    "ch3_s2_to_c3": ("mask transposed", "biases not counted"),
    "ch4_counting": ("a bias connection in max and average pooling",),
    "ch5_lenet5": ("a step up the gradient",),
}


def graded_mistakes(assignment: str) -> list[Mistake]:
    names = GRADED_MISTAKES[assignment]
    return [m for m in MISTAKES[assignment] if m.name in names]
