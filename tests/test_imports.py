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
