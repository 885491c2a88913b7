"""``python -m lenet_ref``: train either network, count, fetch the data, grade a class.

The train flags are generated from ``TrainConfig``, one flag per field, so the command
line and the library cannot drift apart. The logic lives in the library.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing

from . import spec


def _add_config_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        help_text = f.metadata.get("help", "") + f" (default: {f.default})"
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text
            )
            continue
        convert = next(
            (t for t in (int, float, str) if t in typing.get_args(kind) or t is kind), str
        )
        parser.add_argument(
            flag, type=convert, default=f.default, choices=f.metadata.get("choices"), help=help_text
        )


def build_parser() -> argparse.ArgumentParser:
    from .train import TrainConfig

    parser = argparse.ArgumentParser(
        prog="python -m lenet_ref", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train LeNet-5 on MNIST (NumPy or PyTorch)")
    _add_config_flags(train, TrainConfig)
    count = sub.add_parser("count", help="trainable parameters and connections, layer by layer")
    count.add_argument("--preset", default=None, choices=tuple(spec.PRESETS))
    count.add_argument("--activation", default=None, choices=spec.ACTIVATIONS)
    count.add_argument("--pool", default=None, choices=spec.POOLINGS)
    count.add_argument("--c3", default=None, choices=spec.C3_CONNECTIONS)
    count.add_argument("--head", default=None, choices=spec.HEADS)
    compare = sub.add_parser(
        "compare", help="every preset: counts, and test error after the same training"
    )
    compare.add_argument("--impl", default="torch", choices=("numpy", "torch"))
    compare.add_argument(
        "--device", default="cpu", help="torch only (default: cpu, for comparable times)"
    )
    compare.add_argument("--epochs", type=int, default=1)
    compare.add_argument(
        "--limit", type=int, default=None, help="training images (default: all 60,000)"
    )
    compare.add_argument("--test-limit", type=int, default=None)
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--presets", nargs="+", default=None, choices=tuple(spec.PRESETS))
    data = sub.add_parser("data", help="fetch MNIST, verify it and cache it")
    data.add_argument(
        "--cache-dir", default=None, help="default: $LENET_DATA_DIR or ~/.cache/lenet_ref"
    )
    _add_grade_class(sub)
    return parser


def _add_grade_class(sub) -> None:
    """``grade-class``, the class grader's own command (``grade_class.cli``), as an alias."""
    try:
        from grade_class import cli
    except ImportError:  # the grader is its own package (grader/ in the course's repository)
        return
    cli.add_arguments(sub.add_parser("grade-class", help=cli.DESCRIPTION))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, FloatingPointError, RuntimeError, FileNotFoundError) as e:
        # the library's errors say what is wrong and what to do: show them without a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    if args.command == "count":
        from .counting import format_table, layer_counts

        options = {k: getattr(args, k) for k in ("preset", "activation", "pool", "c3", "head")}
        print(format_table(layer_counts(**options)))
    elif args.command == "compare":
        from .compare import compare, format_comparison

        budget = {
            k: getattr(args, k) for k in ("impl", "device", "epochs", "limit", "test_limit", "seed")
        }
        print(format_comparison(compare(args.presets, **budget)))
    elif args.command == "grade-class":
        from grade_class.cli import run as grade_class

        return grade_class(args)
    elif args.command == "data":
        from .data import fetch_mnist

        print(fetch_mnist(args.cache_dir))
    else:
        from .train import TrainConfig, train

        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
        _, metrics = train(config)
        where = f"; metrics and checkpoint in {config.out}" if config.out else ""
        print(f"{config.impl} on {metrics['device']}: test error {100 * metrics['test_error']:.2f} %"
              f" after {config.epochs} epochs{where}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
