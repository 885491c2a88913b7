"""Training and test error over the passes, as the paper's Fig. 5 draws them, from the
``metrics.json`` files that ``python -m lenet_ref train --train-error`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import spec

REQUIRED = ("config", "run", "epochs", "test_error", "command", "commit")


def load_runs(folder) -> list[dict]:
    """Every ``<folder>/<run>/metrics.json``, sorted by run name, as ``{"name", "path",
    "metrics"}``; an empty list when there is none. A file without the fields that the page
    prints (``REQUIRED``, and a test error per epoch) is an error that names it."""
    runs = []
    for path in sorted(Path(folder).glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        missing = [k for k in REQUIRED if k not in metrics]
        epochs = metrics.get("epochs") or []
        if missing or not epochs or any("test_error" not in row for row in epochs):
            raise ValueError(f"{path}: not a complete metrics file (missing {missing or 'epochs'})")
        if metrics["test_error"] != epochs[-1]["test_error"]:
            raise ValueError(f"{path}: test_error is not the last epoch's")
        runs.append({"name": path.parent.name, "path": path, "metrics": metrics})
    return runs


def run_summary(run: dict) -> dict:
    """What the page prints about one run: how it was made and where it ended. ``label``
    names its group in the figure and the text: the optimiser, then what the run changed
    from the defaults: the initial weights' rule (``--init``, and ``--init-gain``: "init
    lecun x 0.75", folder part ``lecun-gain0.75``), SDLM's ``--curvature-keep max``,
    distorted training images (``--distort``), NumPy instead of PyTorch. ``folder`` is the
    name its folder must have,
    ``<optimizer>[-<init>[-gain<g>]][-max-curvature][-distort][-numpy]-seed<k>``."""
    m = run["metrics"]
    last = m["epochs"][-1]
    config = m["config"]
    optimizer, init = m["run"].get("optimizer"), m["run"].get("init")
    gain = m["run"].get("init_gain")
    start = init if gain is None else f"{init or 'default'}-gain{gain:g}"  # --init-gain
    impl = config.get("impl")
    keep_max = config.get("curvature_keep") == "max"
    distort = bool(config.get("distort"))
    said = init if gain is None else f"{init or 'default'} x {gain:g}"
    details = [(f"init {said}", start), ("max curvature", keep_max), ("distortions", distort),
               ("NumPy", impl == "numpy")]  # fmt: skip
    parts = [(start, start), ("max-curvature", keep_max), ("distort", distort),
             ("numpy", impl == "numpy")]  # fmt: skip
    details = [text for text, chosen in details if chosen]
    folder = [optimizer] + [part for part, chosen in parts if chosen]
    return {
        "name": run["name"],
        "optimizer": optimizer,
        "init": init,
        "init_gain": gain,
        "label": f"{optimizer} ({', '.join(details)})" if details else optimizer,
        "folder": "-".join(folder) + f"-seed{config.get('seed')}",
        "impl": impl,
        "curvature_keep": config.get("curvature_keep", "latest"),
        "distort": distort,
        "seed": config.get("seed"),
        "epochs": len(m["epochs"]),
        "train_images": config.get("limit") or 60_000,
        "test_images": config.get("test_limit") or 10_000,
        "test_error": last["test_error"],
        "train_error": last.get("train_error"),
        "device": m.get("device"),
        "command": m["command"],
        "commit": m["commit"],
    }


def error_curves_figure(runs: list[dict], labels: list[str] | None = None):
    """Test error (solid) and training error (dashed, where measured) after each pass, in
    per cent, one colour per optimiser; several seeds of one optimiser are drawn one line
    each, with the band between the lowest and the highest. The paper's 0.95 % dotted, and
    its 0.8 % with distortions dash-dotted where a run trained on distorted images.
    The colours go by ``run_summary``'s label (optimiser, initial weights and the rest);
    ``labels`` draws only those groups, in that order (an unknown one is an error)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run_summary(run)["label"], []).append(run)
    if labels is not None:
        unknown = [label for label in labels if label not in groups]
        if unknown:
            raise ValueError(f"no run labelled {unknown}; the runs' labels: {list(groups)}")
        groups = {label: groups[label] for label in labels}
        runs = [run for members in groups.values() for run in members]
    colours = ["#2980b9", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085"]
    top = 2 * 100 * spec.PAPER_TEST_ERROR
    for (label, members), colour in zip(groups.items(), colours * 3):
        for key, style in (("test_error", "-"), ("train_error", "--")):
            curves = [
                [(row["epoch"], 100 * row[key]) for row in r["metrics"]["epochs"] if key in row]
                for r in members
            ]
            curves = [c for c in curves if c]
            if not curves:
                continue
            which = "test" if key == "test_error" else "training"
            for n, curve in enumerate(curves):
                epochs, errors = zip(*curve)
                name = f"{label}, {which} ({len(curves)} seed{'s' * (len(curves) > 1)})"
                ax.plot(epochs, errors, style, color=colour, linewidth=1.2, marker=".",
                        label=name if n == 0 else None, gid=f"{label}-{key}")  # fmt: skip
                top = max(top, min(max(errors[1:] or errors), 5.0))
            common = min(len(c) for c in curves)
            if len(curves) > 1 and common > 0:
                stack = np.array([[e for _, e in c[:common]] for c in curves])
                x = [e for e, _ in curves[0][:common]]
                ax.fill_between(x, stack.min(axis=0), stack.max(axis=0), color=colour, alpha=0.15)
    ax.axhline(100 * spec.PAPER_TEST_ERROR, color="gray", linestyle=":",
               label=f"paper, test ({100 * spec.PAPER_TEST_ERROR:.2f} %)")  # fmt: skip
    if any(run_summary(run)["distort"] for run in runs):
        distorted = 100 * spec.PAPER_DISTORTED_TEST_ERROR
        ax.axhline(distorted, color="gray", linestyle="-.", gid="paper-distorted",
                   label=f"paper, test with distortions ({distorted:.2f} %)")  # fmt: skip
    ax.set_ylim(0, top * 1.1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # passes are whole
    ax.set_xlabel("training set iterations (passes over the training images)")
    ax.set_ylabel("error (%)")
    ax.legend(fontsize=8)
    ax.set_title("Training and test error after each pass (cf. the paper's Fig. 5)")
    fig.tight_layout()
    return fig


def runs_text(runs: list[dict]) -> str:
    """The sentence the book prints about the committed runs: for each optimiser, its seeds,
    its passes, and the final test error as mean +- sample sd with the lowest and highest."""
    if not runs:
        return ("No full run is committed in book/data/runs yet, so there is no curve to "
                "draw and no measured error to quote.")  # fmt: skip
    groups: dict[str, list[dict]] = {}
    for run in runs:
        summary = run_summary(run)
        groups.setdefault(summary["label"], []).append(summary)
    parts = []
    for label, members in groups.items():
        errors = np.array([100 * m["test_error"] for m in members])
        passes = "/".join(str(p) for p in sorted({m["epochs"] for m in members}))
        seeds = f"{len(members)} seed{'s' * (len(members) > 1)}"
        if len(errors) > 1:
            error = (f"{errors.mean():.2f} ± {errors.std(ddof=1):.2f} % "
                     f"(mean ± sd; {errors.min():.2f} to {errors.max():.2f} %)")  # fmt: skip
        else:
            error = f"{errors[0]:.2f} %"
        parts.append(f"{label}, {seeds}, {passes} passes: final test error {error}")
    plural = "s" * (len(runs) > 1)
    return f"{len(runs)} run{plural} committed ({'; '.join(parts)})."


def implementation_twins(runs: list[dict]) -> list[tuple[dict, dict]]:
    """``(numpy_run, torch_run)`` pairs: runs made alike in the two implementations (the
    NumPy run's ``run_summary`` folder without its ``-numpy``, and as many passes), which
    take the same steps on the same batches (tests/test_sdlm.py) and part only by float32
    rounding."""
    summaries = [run_summary(run) for run in runs]
    torch_runs = {(s["folder"], s["epochs"]): run
                  for run, s in zip(runs, summaries) if s["impl"] == "torch"}  # fmt: skip
    pairs = []
    for run, s in zip(runs, summaries):
        twin = (s["folder"].replace("-numpy-seed", "-seed"), s["epochs"])
        if s["impl"] == "numpy" and twin in torch_runs:
            pairs.append((run, torch_runs[twin]))
    return pairs


CURVATURE_TENSORS = ("C1.weight", "C3.weight", "C5.weight", "F6.weight")


def curvature_passes(run: dict) -> dict[str, list[tuple[int, float, float]]]:
    """The curvature an SDLM run recorded before each pass (``lenet_ref.optim.
    curvature_summary``): for every parameter tensor, ``(pass, median h_kk, fraction of
    its parameters below mu)``; empty for a run without the record (another optimiser, or
    an SDLM run made before it was kept)."""
    table: dict[str, list[tuple[int, float, float]]] = {}
    for row in run["metrics"]["epochs"]:
        for name, summary in (row.get("curvature") or {}).items():
            table.setdefault(name, []).append((row["epoch"], summary["median"], summary["below_mu"]))
    return table



def checkpoint_factors(folder, x: np.ndarray, y: np.ndarray, layer: str = "C5") -> list[dict]:
    """For every run in ``folder`` that kept its weights (``<run>/metrics.json`` and
    ``<run>/checkpoint.npz``, the weights after its last pass): ``run_summary``'s fields and
    what the curvature of ``layer``'s weights is made of on the patterns x, y
    (``lenet_ref.numpy.curvature.curvature_factors``). A run's folder must be named
    ``<run_summary folder>-pass<passes>``; a checkpoint that is not the run's (other options,
    another test error) is an error that names it."""
    from ..checkpoint import load_checkpoint
    from ..numpy import LeNet5
    from ..numpy.curvature import curvature_factors

    rows = []
    for run in load_runs(folder):
        summary = run_summary(run)
        want = f"{summary['folder']}-pass{summary['epochs']}"
        if run["name"] != want:
            raise ValueError(f"{run['path']}: its folder must be named {want!r}")
        options, state, meta = load_checkpoint(run["path"].parent / "checkpoint.npz")
        if meta.get("test_error") != summary["test_error"]:
            raise ValueError(f"{run['path'].parent}: the checkpoint is not this run's")
        net = LeNet5(**options)
        net.load_state_dict(state)
        rows.append({**summary, **curvature_factors(net, x, y, layer)})
    return rows

def curvature_figure(run: dict, tensors=CURVATURE_TENSORS):
    """For one SDLM run: the median curvature h_kk of each layer's weights before each pass
    (log scale) against mu, and the fraction of the weights whose h_kk is below mu, where
    the step is eta / mu whatever the curvature."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    table = curvature_passes(run)
    mu = run["metrics"]["config"].get("mu")
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4))
    for name in tensors:
        if name not in table:
            continue
        passes, medians, below = zip(*table[name])
        left.plot(passes, medians, marker=".", label=name, gid=f"{name}-median")
        right.plot(passes, [100 * b for b in below], marker=".", label=name, gid=f"{name}-below")
    if mu is not None:
        left.axhline(mu, color="gray", linestyle=":", label=f"mu = {mu:g}")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_yscale("log")
    left.set_xlabel("pass")
    left.set_ylabel("median h_kk before the pass")
    right.set_xlabel("pass")
    right.set_ylabel("weights with h_kk < mu (%)")
    right.set_ylim(-2, 102)
    left.legend(fontsize=7)
    fig.suptitle(f"{run['name']}: the curvature SDLM's steps used", fontsize=10)
    fig.tight_layout()
    return fig
