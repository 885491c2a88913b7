"""Importing the NumPy half never imports torch (STYLE.md, principle 9)."""

import subprocess
import sys


def test_numpy_half_does_not_import_torch():
    code = (
        "import sys, lenet_ref.numpy, lenet_ref.data, lenet_ref.counting, lenet_ref.distort, "
        "lenet_ref.testing, lenet_ref.train, lenet_ref.checkpoint\n"
        "from lenet_ref.numpy import LeNet5\n"
        "LeNet5().forward(__import__('numpy').zeros((1, 1, 32, 32)))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_bench_starts():
    """Each bench script imports and parses its options; a script named like a package it
    imports (bench/grade_class.py once shadowed grade_class) fails here, not months later."""
    from pathlib import Path

    benches = sorted((Path(__file__).parents[1] / "bench").glob("*.py"))
    assert benches, "no bench scripts found"
    for bench in benches:
        done = subprocess.run([sys.executable, str(bench), "--help"], capture_output=True, text=True)
        assert done.returncode == 0, f"{bench.name} --help failed:\n{done.stderr[-2000:]}"
        assert "usage:" in done.stdout, f"{bench.name} --help printed no usage"
