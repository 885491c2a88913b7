"""The book's figures draw lenet_ref's numbers: each test would fail on a wrong drawing."""

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lenet_ref import spec  # noqa: E402
from lenet_ref import figures as F  # noqa: E402
from lenet_ref.numpy import LeNet5, conv_forward, conv_forward_naive  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def windows(ax):
    return [p for p in ax.patches if p.get_gid() == "window"]


# --- Fig. 2: the network ------------------------------------------------------------------
def test_shape_walk_is_the_layers_shape_walk():
    planes = F.shape_walk()
    assert [p.label for p in planes] == [
        "32x32", "6@28x28", "6@14x14", "16@10x10", "16@5x5", "120", "84", "10"
    ]  # fmt: skip
    shape = (1, spec.INPUT_SIZE, spec.INPUT_SIZE)
    for layer, plane in zip(spec.lenet5_layers(), planes[1:], strict=True):
        shape = layer.out_shape(shape)
        assert (plane.maps, plane.height, plane.width) == (*shape, 1, 1)[:3]
    # another network, another walk: a 28x28 tutorial network without padding
    keras = spec.PRESETS["keras-relu"]
    assert F.shape_walk(list(keras.layers), keras.input_size)[1].label == "6@24x24"


def test_network_figure_labels_and_scales_every_plane():
    planes = F.shape_walk()
    fig = F.network_figure()
    written = texts(fig)
    for plane in planes:
        assert f"{plane.name}\n{plane.label}" in written
    for plane in planes[1:]:
        assert plane.link.replace(" ", "\n", 1) in written
    # the front plane of each stack is drawn to scale: heights in the ratio of the maps'
    heights = {}
    for patch in fig.axes[0].patches:
        if hasattr(patch, "get_height") and patch.get_zorder() == 10:
            heights.setdefault(round(patch.get_x(), 6), patch.get_height())
    maps = [h for h in sorted(heights.items())][:5]  # INPUT, C1, S2, C3, S4
    ratios = [h / maps[0][1] for _, h in maps]
    assert np.allclose(ratios, [p.height / spec.INPUT_SIZE for p in planes[:5]])


# --- receptive fields -------------------------------------------------------------------
def test_receptive_fields_are_5_6_14_16_32():
    fields = F.receptive_fields()
    assert [(f.name, f.size) for f in fields] == [
        ("C1", 5), ("S2", 6), ("C3", 14), ("S4", 16), ("C5", 32)
    ]  # fmt: skip
    c3 = fields[2]
    assert (c3.centres, c3.first) == (20, 6)  # Sec. II-B: a 20x20 area in the centre


def test_receptive_fields_are_the_pixels_that_move_a_unit():
    """Measured on the network: the input pixels whose change moves the middle unit of map
    0 of each layer are exactly its receptive field."""
    net = LeNet5(seed=0)
    side = spec.INPUT_SIZE
    x = np.zeros((side * side + 1, 1, side, side))
    x[np.arange(1, side * side + 1), 0, *np.divmod(np.arange(side * side), side)] = 1.0
    outputs = F.layer_outputs(net, x)
    for field in F.receptive_fields():
        out = outputs[field.name]
        mid = (out.shape[2] - 1) // 2
        moved = np.abs(out[1:, 0, mid, mid] - out[0, 0, mid, mid]).reshape(side, side) > 0
        rows, cols = np.nonzero(moved)
        assert (rows.min(), rows.max() + 1 - rows.min()) == (field.start, field.size), field.name
        assert (cols.min(), cols.max() + 1 - cols.min()) == (field.start, field.size), field.name


def test_receptive_field_figure_draws_each_field():
    fig = F.receptive_field_figure(np.zeros((32, 32)))
    drawn = {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}
    assert drawn == {f.name: f.size for f in F.receptive_fields()}


# --- chapter 1: cross-correlation, padding, stride ----------------------------------------
def test_cross_correlation_figure_shows_the_reference_output():
    fig = F.cross_correlation_figure(positions=((0, 0), (1, 2)))
    expected, _ = conv_forward_naive(F.convolution.EXAMPLE_X[None, None],
                                     F.convolution.EXAMPLE_W[None, None], np.zeros(1))  # fmt: skip
    out_axes = fig.axes[2]
    shown = np.array([float(t.get_text()) for t in out_axes.texts]).reshape(3, 3)
    assert np.array_equal(shown, expected[0, 0])
    assert expected[0, 0, 0, 0] == 8  # the chapter's hand computation
    (window,) = windows(fig.axes[3])  # second row: the window at (1, 2)
    assert (window.get_x() + 0.5, window.get_y() + 0.5, window.get_width()) == (2, 1, 2)


@pytest.mark.parametrize("pad", [0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_output_size_counts_the_window_positions(pad, stride):
    for size in range(1, 10):
        for kernel in range(1, size + 2 * pad + 1):
            starts = F.window_starts(size, kernel, pad, stride)
            fits = [s for s in range(size + 2 * pad) if s + kernel <= size + 2 * pad]
            assert starts == fits[::stride]
            assert len(starts) == F.output_size(size, kernel, pad, stride)
            if stride == 1:
                out, _ = conv_forward_naive(np.ones((1, 1, size, size)),
                                            np.ones((1, 1, kernel, kernel)), np.zeros(1), pad=pad)  # fmt: skip
                assert out.shape[-1] == F.output_size(size, kernel, pad)


def test_padding_stride_figure_draws_one_window_per_output():
    cases = ((5, 3, 0, 1), (5, 3, 1, 2), (7, 3, 2, 3))
    fig = F.padding_stride_figure(cases)
    for ax, (H, K, P, S) in zip(fig.axes, cases, strict=True):
        assert len(windows(ax)) == F.output_size(H, K, P, S)
        assert ax.get_images()[0].get_array().shape == (H + 2 * P, H + 2 * P)


# --- chapter 3: one C3 unit ----------------------------------------------------------------
def test_c3_unit_reads_the_maps_of_table_i():
    rng = np.random.default_rng(0)
    s2 = rng.standard_normal((6, 14, 14))
    dense = rng.standard_normal((16, 6, 5, 5))
    bias = rng.standard_normal(16)
    mask = spec.connection_mask(spec.C3_TABLE, 6)
    reference, _ = conv_forward(s2[None], dense, bias, mask=mask)
    for f, inputs in enumerate(spec.C3_TABLE):
        partial, total = F.convolution.c3_partial_maps(s2, dense[f], f, bias[f])
        assert tuple(partial) == inputs
        assert np.allclose(total, reference[0, f])
    fig = F.c3_unit_figure(s2, dense[12], f=12)
    read = [c for c, ax in enumerate(fig.axes[:6]) if windows(ax)]
    assert tuple(read) == spec.C3_TABLE[12]


# --- chapter 5: feature maps ------------------------------------------------------------
def test_feature_maps_are_the_forward_pass():
    net = LeNet5(seed=1)
    x = np.random.default_rng(0).standard_normal((2, 1, 32, 32))
    outputs = F.layer_outputs(net, x)
    assert list(outputs) == ["input"] + [layer.name for layer in net.layers]
    assert np.array_equal(outputs["output"], net.forward(x))
    fig = F.feature_maps_figure(outputs)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 1 + 6 + 6 + 16 + 16 + 2  # input, every map, C5 and F6
    bars = [p.get_height() for p in fig.axes[-1].patches]
    assert np.allclose(bars, outputs["output"][0])


# --- Fig. 5: runs ------------------------------------------------------------------------
def fake_run(folder, name, optimizer, seed, errors, init=None, impl="torch", **config):
    metrics = {
        "config": {"impl": impl, "seed": seed, "limit": None, "test_limit": None, **config},
        "run": {"optimizer": optimizer, **({"init": init} if init else {})},
        "device": "cpu",
        "epochs": [{"epoch": k + 1, "test_error": e, "train_error": e / 2}
                   for k, e in enumerate(errors)],  # fmt: skip
        "test_error": errors[-1],
        "command": f"python -m lenet_ref train --seed {seed}",
        "commit": "abc",
    }
    (folder / name).mkdir()
    (folder / name / "metrics.json").write_text(json.dumps(metrics))


def test_error_curves_draw_the_metrics_files(tmp_path):
    assert F.load_runs(tmp_path) == []
    F.error_curves_figure([])  # no run: the figure still draws (the paper's line only)
    fake_run(tmp_path, "sgd-seed0", "sgd", 0, [0.05, 0.02, 0.012])
    fake_run(tmp_path, "sgd-seed1", "sgd", 1, [0.04, 0.03, 0.011])
    runs = F.load_runs(tmp_path)
    assert [F.run_summary(r)["seed"] for r in runs] == [0, 1]
    assert F.run_summary(runs[1])["test_error"] == 0.011
    fig = F.error_curves_figure(runs)
    test_lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == "sgd-test_error"]
    assert [list(ln.get_ydata()) for ln in test_lines] == [
        pytest.approx([5.0, 2.0, 1.2]), pytest.approx([4.0, 3.0, 1.1])
    ]  # fmt: skip
    fake_run(tmp_path, "sgd-lecun-seed0", "sgd", 0, [0.03, 0.02, 0.015], init="lecun")
    fig = F.error_curves_figure(F.load_runs(tmp_path))
    gids = [ln.get_gid() for ln in fig.axes[0].lines]
    assert gids.count("sgd-test_error") == 2 and gids.count("sgd (init lecun)-test_error") == 1
    assert "paper-distorted" not in gids  # the paper's 0.8 % only beside distorted runs
    fake_run(tmp_path, "sgd-distort-seed0", "sgd", 0, [0.03, 0.01, 0.008], distort=True)
    fig = F.error_curves_figure(F.load_runs(tmp_path))
    lines = {ln.get_gid(): list(ln.get_ydata()) for ln in fig.axes[0].lines}
    assert lines["sgd (distortions)-test_error"] == pytest.approx([3.0, 1.0, 0.8])
    assert lines["paper-distorted"] == pytest.approx([0.8, 0.8])
    fig = F.error_curves_figure(F.load_runs(tmp_path), labels=["sgd"])  # one group only
    gids = {ln.get_gid() for ln in fig.axes[0].lines}
    assert {"sgd-test_error", "sgd-train_error"} <= gids and "paper-distorted" not in gids
    assert not any(gid.startswith("sgd (") for gid in gids if gid)
    with pytest.raises(ValueError, match="sdlm"):
        F.error_curves_figure(F.load_runs(tmp_path), labels=["sdlm"])


def test_incomplete_metrics_file_is_refused(tmp_path):
    fake_run(tmp_path, "bad", "sgd", 0, [0.05])
    path = tmp_path / "bad" / "metrics.json"
    metrics = json.loads(path.read_text())
    del metrics["commit"]
    path.write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="bad"):
        F.load_runs(tmp_path)


def test_committed_runs_are_complete():
    """The runs the book draws (book/data/runs): the paper's Fig. 5 needs full runs (20
    passes over all 60,000 images, the 10,000 test images, the training error measured)
    of at least five seeds of one optimiser, each with the command and the commit that made
    it, and its last epoch's test error is the one the page prints."""
    from pathlib import Path

    runs = F.load_runs(Path(__file__).resolve().parents[1] / "book" / "data" / "runs")
    summaries = [F.run_summary(run) for run in runs]
    seeds: dict[str, set] = {}
    for run, summary in zip(runs, summaries, strict=True):
        assert run["name"] == summary["folder"], run["path"]
        if summary["init"]:
            assert f"--init {summary['init']}" in summary["command"], run["path"]
        if summary["init_gain"] is not None:
            assert f"--init-gain {summary['init_gain']:g}" in summary["command"], run["path"]
        if summary["curvature_keep"] != "latest":
            assert f"--curvature-keep {summary['curvature_keep']}" in summary["command"]
        assert ("--distort" in summary["command"]) == summary["distort"], run["path"]
        assert f"--impl {summary['impl']}" in summary["command"], run["path"]
        assert (summary["epochs"], summary["train_images"], summary["test_images"]) == (
            20, 60_000, 10_000
        ), run["path"]  # fmt: skip
        assert all("train_error" in row for row in run["metrics"]["epochs"]), run["path"]
        assert summary["test_error"] == run["metrics"]["epochs"][-1]["test_error"]
        assert summary["command"].startswith("python -m lenet_ref train") and summary["commit"]
        assert f"--seed {summary['seed']}" in summary["command"]
        seeds.setdefault(summary["label"], set()).add(summary["seed"])
    assert max(map(len, seeds.values()), default=0) >= 5, f"seeds per optimiser: {seeds}"
    # ch5's section on SDLM reads the curvature of C5 before every pass of such a run
    recorded = [run for run in runs if F.curvature_passes(run)]
    assert recorded, "no committed SDLM run kept its curvature record (ch5 reads one)"
    for run in recorded:
        passes = [p for p, _, _ in F.curvature_passes(run)["C5.weight"]]
        assert passes == list(range(1, 21)), run["path"]
    # and its section on --curvature-keep max reads such a run beside the paper's rule's
    # run of the same seed, with both the curvature used and the pass's own estimate
    kept = [(run, s) for run, s in zip(runs, summaries) if s["curvature_keep"] == "max"]
    assert kept, "no committed run of --curvature-keep max (ch5 reads one)"
    for run, summary in kept:
        assert all("curvature_estimate" in row for row in run["metrics"]["epochs"]), run["path"]
        same = ("optimizer", "init", "seed", "impl")
        assert any(s["curvature_keep"] == "latest" and all(s[k] == summary[k] for k in same)
                   for s in summaries), f"{run['path']}: no run of the paper's rule on its seed"  # fmt: skip
    # and says the option narrows the gap to SGD without closing it (so the preset keeps SGD)
    sgd, paper_rule, kept_max = "sgd", "sdlm (init lecun)", "sdlm (init lecun, max curvature)"
    mean = {label: np.mean([s["test_error"] for s in summaries if s["label"] == label])
            for label in (sgd, paper_rule, kept_max)}  # fmt: skip
    assert mean[sgd] < mean[kept_max] < mean[paper_rule], mean
    # its section on the two implementations reads a NumPy run beside its PyTorch twin under
    # each curvature rule, and the paper's 0.8 % is set beside five distorted runs
    twins = F.implementation_twins(runs)
    rules = {F.run_summary(torch_run)["curvature_keep"] for _, torch_run in twins}
    assert rules >= {"latest", "max"}, f"NumPy twins only under the curvature rules {rules}"
    for numpy_run, torch_run in twins:  # ch5: where no step can grow, a full run agrees
        if F.run_summary(torch_run)["curvature_keep"] == "max":
            gap = abs(numpy_run["metrics"]["test_error"] - torch_run["metrics"]["test_error"])
            assert gap <= 0.001, f"{numpy_run['path']}: {100 * gap:.2f} points from its twin"
    assert len([s for s in summaries if s["distort"]]) >= 5, "fewer than 5 distorted runs"




def test_run_summary_names_an_init_gain():
    run = {"name": "x", "metrics": {
        "run": {"optimizer": "sdlm", "init": "lecun", "init_gain": 0.75},
        "config": {"impl": "torch", "seed": 2, "curvature_keep": "max"},
        "epochs": [{"epoch": 1, "test_error": 0.01}], "test_error": 0.01,
        "command": "python -m lenet_ref train", "commit": "abc"}}  # fmt: skip
    summary = F.run_summary(run)
    assert summary["label"] == "sdlm (init lecun x 0.75, max curvature)", summary["label"]
    assert summary["folder"] == "sdlm-lecun-gain0.75-max-curvature-seed2"
    assert (summary["init"], summary["init_gain"]) == ("lecun", 0.75)


def test_committed_init_gain_run_backs_what_ch5_says():
    """ch5 sets an SDLM run from --init lecun --init-gain 0.75 beside the paper's rule's
    run from --init lecun on the same seed, and says: the curvature of the layers below C5
    falls after the first pass too, the second pass goes further wrong than from --init
    lecun, and worse than its own first pass."""
    from pathlib import Path

    runs = F.load_runs(Path(__file__).resolve().parents[1] / "book" / "data" / "runs")
    summaries = {run["name"]: F.run_summary(run) for run in runs}
    between = [r for r in runs if summaries[r["name"]]["init_gain"] == 0.75
               and summaries[r["name"]]["optimizer"] == "sdlm"]  # fmt: skip
    assert between, "ch5 reads an SDLM run made with --init lecun --init-gain 0.75"
    run = between[0]
    assert summaries[run["name"]]["curvature_keep"] == "latest"
    pair = [r for r in runs if summaries[r["name"]]["label"] == "sdlm (init lecun)"
            and summaries[r["name"]]["seed"] == summaries[run["name"]]["seed"]]  # fmt: skip
    assert pair, "and the paper's rule's run from --init lecun on the same seed"
    mine, theirs = ([row["test_error"] for row in r["metrics"]["epochs"]] for r in (run, pair[0]))
    assert mine[1] > mine[0] and mine[1] > theirs[1], (mine[:2], theirs[:2])
    record = F.curvature_passes(run)
    for tensor in ("C1.weight", "C3.weight", "C5.weight"):
        below = {p: b for p, _, b in record[tensor]}
        assert below[2] > below[1] + 0.2, (tensor, below[1], below[2])

def test_committed_states_back_what_ch5_says_of_c5(mnist):
    """book/data/states: the weights that ch5's "What saturates C5" reads, each run's own
    (folder, command and test error checked by ``checkpoint_factors``), and the sentences it
    glues around them: C5 saturates under SGD too (from the paper's printed init, and from
    --init lecun), the paper's rule saturates it almost wholly in pass 2, the max option
    far less, and what SDLM's pass 1 does to each factor."""
    from pathlib import Path

    from lenet_ref.data import to_lenet_input
    from lenet_ref.numpy import LeNet5
    from lenet_ref.numpy.curvature import curvature_factors

    (x, y), _ = mnist
    x, y = to_lenet_input(x[:500]), y[:500]
    folder = Path(__file__).resolve().parents[1] / "book" / "data" / "states"
    rows = {(r["label"], r["epochs"]): r for r in F.checkpoint_factors(folder, x, y)}
    for r in rows.values():
        assert f"--epochs {r['epochs']}" in r["command"] or r["epochs"] == 20, r["name"]
        assert r["seed"] == 0 and r["command"].startswith("python -m lenet_ref train")
    sgd, sgd_lecun = rows[("sgd", 1)], rows[("sgd (init lecun)", 20)]
    sgd20 = rows[("sgd", 20)]
    sdlm1, sdlm2 = rows[("sdlm (init lecun)", 1)], rows[("sdlm (init lecun)", 2)]
    kept2 = rows[("sdlm (init lecun, max curvature)", 2)]
    printed = curvature_factors(LeNet5(seed=0), x, y)
    start = curvature_factors(LeNet5(seed=0, init="lecun"), x, y)
    # "deep in the linear range" at the printed init; saturated under SGD after training
    assert printed["sum_sd"] < 0.05 and printed["saturated"] == 0
    for r in (sgd, sgd20, sgd_lecun):
        assert r["saturated"] > 0.25, r["name"]
    # "how much depends on where training starts": more from lecun, the start SDLM needs
    assert sgd_lecun["saturated"] > sgd20["saturated"]
    for r in (sgd20, sgd_lecun):  # "of the order of mu = 0.02"
        assert 0.002 < r["median_h"] < 0.2, r["name"]
    # SDLM's first pass: weights and spread grow, slope and F6's part fall, inputs grow
    assert sdlm1["weight_rms"] > start["weight_rms"] and sdlm1["sum_sd"] > start["sum_sd"]
    assert sdlm1["saturated"] > start["saturated"]
    assert sdlm1["slope2"] < start["slope2"] and sdlm1["d2_out"] < start["d2_out"]
    assert sdlm1["input2"] > start["input2"]
    # "mostly through saturation": the slope falls more than F6's part
    assert sdlm1["slope2"] / start["slope2"] < sdlm1["d2_out"] / start["d2_out"]
    # the paper's rule's second pass: larger weights, nearly all saturated; max: nearer SGD
    assert sdlm2["weight_rms"] > 2 * sdlm1["weight_rms"] and sdlm2["saturated"] > 0.9
    assert kept2["weight_rms"] < sdlm2["weight_rms"] / 2 and kept2["saturated"] < 0.9
    gap = {r["name"]: abs(r["weight_rms"] - sgd20["weight_rms"]) for r in (kept2, sdlm2)}
    assert gap[kept2["name"]] < gap[sdlm2["name"]], gap

def test_runs_text_states_mean_spread_and_range(tmp_path):
    fake_run(tmp_path, "sgd-seed0", "sgd", 0, [0.05, 0.010])
    fake_run(tmp_path, "sgd-seed1", "sgd", 1, [0.04, 0.012])
    fake_run(tmp_path, "sdlm-seed0", "sdlm", 0, [0.03, 0.009])
    fake_run(tmp_path, "sdlm-lecun-seed0", "sdlm", 0, [0.03, 0.02], init="lecun")
    runs = F.load_runs(tmp_path)
    text = F.runs_text(runs)
    assert "sgd, 2 seeds, 2 passes: final test error 1.10 ± 0.14 % (mean ± sd; 1.00 to 1.20 %)" in text
    assert "sdlm, 1 seed, 2 passes: final test error 0.90 %" in text
    assert "sdlm (init lecun), 1 seed, 2 passes: final test error 2.00 %" in text  # apart
    fake_run(tmp_path, "sdlm-lecun-numpy-seed0", "sdlm", 0, [0.03, 0.021], "lecun", "numpy")
    runs = F.load_runs(tmp_path)
    text = F.runs_text(runs)
    assert "sdlm (init lecun), 1 seed, 2 passes: final test error 2.00 %" in text  # NumPy apart
    assert "sdlm (init lecun, NumPy), 1 seed, 2 passes: final test error 2.10 %" in text
    fake_run(tmp_path, "sdlm-lecun-max-curvature-seed0", "sdlm", 0, [0.03, 0.012], "lecun",
             curvature_keep="max")  # fmt: skip
    runs = F.load_runs(tmp_path)
    text = F.runs_text(runs)
    assert "sdlm (init lecun, max curvature), 1 seed, 2 passes: final test error 1.20 %" in text
    assert "sdlm (init lecun), 1 seed, 2 passes: final test error 2.00 %" in text  # apart
    assert text.startswith("6 runs committed")
    fake_run(tmp_path, "sgd-distort-seed0", "sgd", 0, [0.03, 0.008], distort=True)
    runs = F.load_runs(tmp_path)
    text = F.runs_text(runs)
    assert "sgd (distortions), 1 seed, 2 passes: final test error 0.80 %" in text
    assert "sgd, 2 seeds, 2 passes: final test error 1.10 ± 0.14 %" in text  # apart
    assert [F.run_summary(r)["folder"] for r in runs] == [r["name"] for r in runs]
    twins = F.implementation_twins(runs)  # the NumPy run and its PyTorch twin, nothing else
    names = [(numpy_run["name"], torch_run["name"]) for numpy_run, torch_run in twins]
    assert names == [("sdlm-lecun-numpy-seed0", "sdlm-lecun-seed0")]
    fake_run(tmp_path, "sdlm-lecun-max-curvature-numpy-seed0", "sdlm", 0, [0.03, 0.012],
             "lecun", "numpy", curvature_keep="max")  # same seed, other curvature: other twin
    fake_run(tmp_path, "sdlm-lecun-numpy-seed1", "sdlm", 1, [0.03, 0.02], "lecun", "numpy")
    twins = F.implementation_twins(F.load_runs(tmp_path))  # seed 1 has no PyTorch twin
    names = [(numpy_run["name"], torch_run["name"]) for numpy_run, torch_run in twins]
    assert names == [("sdlm-lecun-max-curvature-numpy-seed0", "sdlm-lecun-max-curvature-seed0"),
                     ("sdlm-lecun-numpy-seed0", "sdlm-lecun-seed0")]  # fmt: skip
    assert "No full run" in F.runs_text([])


def test_curvature_figure_draws_what_each_sdlm_pass_recorded(tmp_path):
    fake_run(tmp_path, "sdlm-lecun-seed0", "sdlm", 0, [0.03, 0.04], init="lecun")
    path = tmp_path / "sdlm-lecun-seed0" / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["config"]["mu"] = 0.02
    for row, (median, below) in zip(metrics["epochs"], [(0.7, 0.0), (0.018, 0.55)], strict=True):
        row["curvature"] = {"C5.weight": {"median": median, "below_mu": below},
                            "C5.bias": {"median": 1.0, "below_mu": 0.0}}  # fmt: skip
    path.write_text(json.dumps(metrics))
    (run,) = F.load_runs(tmp_path)
    assert F.curvature_passes(run)["C5.weight"] == [(1, 0.7, 0.0), (2, 0.018, 0.55)]
    fig = F.curvature_figure(run)
    lines = {ln.get_gid(): list(ln.get_ydata()) for ax in fig.axes for ln in ax.lines}
    assert lines["C5.weight-median"] == pytest.approx([0.7, 0.018])
    assert lines["C5.weight-below"] == pytest.approx([0.0, 55.0])
    assert "C1.weight-median" not in lines  # not recorded, not drawn
    fake_run(tmp_path, "sgd-seed0", "sgd", 0, [0.05, 0.01])
    assert F.curvature_passes(F.load_runs(tmp_path)[-1]) == {}


def test_importing_the_figures_imports_neither_matplotlib_nor_torch():
    import subprocess
    import sys

    code = ("import sys, lenet_ref.figures\n"
            "assert 'matplotlib' not in sys.modules and 'torch' not in sys.modules")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
