"""The LeNets side by side: counts, and test error and time after the same training.

``python -m lenet_ref compare`` prints one row per preset (``spec.PRESETS``), the paper's
network first: trainable parameters, connections, multiply-adds per image, test error
after the same training budget (epochs and images), and seconds per epoch.
"""

from __future__ import annotations

from . import spec
from .counting import layer_counts, total_multiply_adds, totals
from .train import TrainConfig, train


def compare(presets=None, data=None, **budget) -> list[dict]:
    """Train each preset with the same ``budget`` (TrainConfig fields: impl, epochs,
    limit, test_limit, device, seed...) and return one row per preset."""
    rows = []
    for name in presets or spec.PRESETS:
        counts = layer_counts(preset=name)
        parameters, connections = totals(counts)
        config = TrainConfig(preset=name, out=None, progress=False, verbose=False, **budget)
        _, metrics = train(config, data=data)
        epochs = metrics["epochs"]
        rows.append({
            "preset": name,
            "parameters": parameters,
            "connections": connections,
            "multiply_adds": total_multiply_adds(counts),
            "optimizer": f"{metrics['run']['optimizer']} {metrics['run']['lr']:g}",
            "test_error": metrics["test_error"],
            "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
            "device": metrics["device"],
        })  # fmt: skip
    return rows


def format_comparison(rows: list[dict]) -> str:
    head = (f"{'preset':<17} {'parameters':>10} {'connections':>12} {'multiply-adds':>14} "
            f"{'optimizer':<12} {'test error':>10} {'s/epoch':>8}")  # fmt: skip
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['preset']:<17} {r['parameters']:>10,} {r['connections']:>12,} {r['multiply_adds']:>14,} "
            f"{r['optimizer']:<12} {100 * r['test_error']:>9.2f}% {r['seconds_per_epoch']:>8.1f}"
        )  # fmt: skip
    return "\n".join(lines)
