"""The verdict is the trusted grader's: attacks from inside the kernel get nothing.

One real ``grade-class`` run over exercise 1 (convolution, 14 points): honest controls
(the solution, the untouched notebook, answers whose ``cache`` is an object or a
namedtuple) and submissions that try, from the kernel they control, to get points they
did not earn: rebinding ``check``, an IPython AST transformer that silences every cell,
replacing the checks' client, calling ``check`` outside its cell, patching numpy, an
``int`` whose ``==`` is always true, calling the reference or PyTorch (in a thread too),
and a ``json.py`` handed in beside the notebook (which the trusted launcher must never
import). Each must score what its honest part earns, no more; the controls keep theirs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import grade_class_course as toy
import pytest
from test_grade_class import grade_class_command

import simulate
from grade_class import jail
from grade_class.course import load_course

REPO = Path(__file__).resolve().parents[1]
A, NB = "ch1_convolution", "convolution.ipynb"
SIZE_CELLS = 3  # the points of conv_output_size's three test cells
CORRELATE_CELLS = 3
FULL = 14

OBJECT_CACHE = '''class Cache:
    def __init__(self, x, w, b):
        self.x, self.w, self.b = x, w, b

def conv_forward(x, w, b):
    N, C, H, W = x.shape
    F, _, K, L = w.shape
    out = np.zeros((N, F, H - K + 1, W - L + 1))
    for i in range(H - K + 1):
        for j in range(W - L + 1):
            out[:, :, i, j] = np.tensordot(x[:, :, i:i + K, j:j + L], w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, Cache(x, w, b)'''
OBJECT_BACKWARD = '''def conv_backward(dout, cache):
    x, w = cache.x, cache.w
    K, L = w.shape[2:]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]
            dw += np.tensordot(g, x[:, :, i:i + K, j:j + L], axes=([0], [0]))
            dx[:, :, i:i + K, j:j + L] += np.tensordot(g, w, axes=([1], [0]))
    return dx, dw, db'''
NAMEDTUPLE_CACHE = OBJECT_CACHE.replace(
    "class Cache:\n    def __init__(self, x, w, b):\n        self.x, self.w, self.b = x, w, b",
    "from collections import namedtuple\nCache = namedtuple('Cache', 'x w b')")
ALWAYS_EQUAL = '''class Always(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

def conv_output_size(H, K, pad=0, stride=1):
    return Always(0)'''
BORROW_IN_THREAD = '''import threading

def correlate2d(image, kernel):
    box = {}
    def work():
        from lenet_ref.numpy import conv_forward
        box["out"] = conv_forward(image[None, None], kernel[None, None], np.zeros(1))[0][0, 0]
    t = threading.Thread(target=work)
    t.start(); t.join()
    return box["out"]'''
TORCH = '''def correlate2d(image, kernel):
    import torch
    import torch.nn.functional as F
    return F.conv2d(torch.tensor(image)[None, None], torch.tensor(kernel)[None, None])[0, 0].numpy()'''
SILENCE = '''import ast
class Silence(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        return ast.fix_missing_locations(ast.Module(
            body=[ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])],
            type_ignores=[]))
get_ipython().ast_transformers.append(Silence())'''
REBIND = "def check(*args, **kwargs):\n    print('✓ passed')"
FAKE_CLIENT = ("import lenet_ref.grading.remote as remote\n"
               "remote.check_remote = lambda *args, **kwargs: print('✓ passed')")
OUTSIDE = ('from lenet_ref.grading import check as real_check\n'
           'real_check("conv_output_size", "lenet", lambda H, K, pad=0, stride=1: H - K + 1)')
PATCH = "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True"
JSON_PY = "import os\nopen({marker!r}, 'w').write(str(os.getuid()))\nfrom json import *\n"


def cells_by_id(nb) -> dict:
    return {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}


def with_answers(nb, **answers):
    nb = json.loads(json.dumps(nb))
    for grade_id, source in answers.items():
        cells_by_id(nb)[grade_id]["source"] = source
    return nb


def with_cell_after_setup(nb, source):
    nb = json.loads(json.dumps(nb))
    setup = next(i for i, c in enumerate(nb["cells"])
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")  # fmt: skip
    nb["cells"].insert(setup + 1, {"cell_type": "code", "metadata": {}, "source": source,
                                   "outputs": [], "execution_count": None})  # fmt: skip
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("verdicts")
    course = load_course(REPO)
    (source,) = course.source_notebooks(A)
    release = json.loads((course.release_dir / A / NB).read_text())
    right = simulate.right_answer(release, json.loads(source.read_text()))
    marker = base / "json-py-ran"
    subs = base / "submitted"
    students = {
        "right": right,
        "untouched": release,
        "object-cache": with_answers(right, conv_forward=OBJECT_CACHE, conv_backward=OBJECT_BACKWARD),
        "namedtuple-cache": with_answers(right, conv_forward=NAMEDTUPLE_CACHE, conv_backward=OBJECT_BACKWARD),
        "rebinds-check": with_cell_after_setup(release, REBIND),
        "silences-cells": with_cell_after_setup(release, SILENCE),
        "fakes-client": with_cell_after_setup(release, FAKE_CLIENT),
        "checks-outside": with_cell_after_setup(release, OUTSIDE),
        "patches-numpy": with_cell_after_setup(release, PATCH),
        "always-equal": with_answers(right, conv_output_size=ALWAYS_EQUAL),
        "borrows-in-thread": with_answers(right, correlate2d=BORROW_IN_THREAD),
        "calls-torch": with_answers(right, correlate2d=TORCH),
        "json-py": right,
    }
    for student, nb in students.items():
        toy.submit(subs, student, A, nb, name=NB)
    (subs / "json-py" / A / "json.py").write_text(JSON_PY.format(marker=str(marker)))
    command, env = grade_class_command(subs, REPO, base / "out", "--assignment", A)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, cwd=base)
    assert done.returncode == 0, done.stderr[-3000:]
    records = {r["student"]: r for r in json.loads((base / "out" / "report.json").read_text())}
    return base / "out", records, marker


EXPECTED = {  # student -> its score: what its honest part earns
    "right": FULL, "untouched": 0, "object-cache": FULL, "namedtuple-cache": FULL,
    "rebinds-check": 0, "silences-cells": 0, "fakes-client": 0, "checks-outside": 0,
    "patches-numpy": 0, "always-equal": FULL - SIZE_CELLS,
    "borrows-in-thread": FULL - CORRELATE_CELLS, "calls-torch": FULL - CORRELATE_CELLS,
    "json-py": FULL,
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_scores_what_its_honest_part_earns(graded, student):
    _, records, _ = graded
    assert records[student]["score"] == EXPECTED[student], records[student]


@pytest.mark.slow
def test_a_file_handed_in_beside_the_notebook_never_runs_outside_the_sandbox(graded):
    _, _, marker = graded
    if marker.exists():  # written from inside: only by the sandboxed kernel, as its uid
        assert jail.isolation() != "namespaces" or int(marker.read_text()) >= jail.SANDBOX_UID_BASE


@pytest.mark.slow
def test_the_kernel_is_told_the_verdict_and_hidden_ones_keep_their_secrets(graded):
    out, _, _ = graded
    nb = json.loads((out / "autograded" / "always-equal" / A / NB).read_text())
    cells = cells_by_id(nb)
    text = {gid: json.dumps(c.get("outputs", [])) for gid, c in cells.items()}
    assert "conv_output_size" in text["test_conv_output_size_lenet"]
    assert re.search(r"expected \d", text["test_conv_output_size_lenet"])  # visible: its values
    assert not re.search(r"expected \d", text["test_conv_output_size_padding"])  # hidden: not
    assert "\\u2713 correlate2d: example" in text["test_correlate2d_example"]
    feedback = (out / "feedback" / "always-equal" / A / "convolution.html").read_text()
    assert "a hidden test: its output is not shown" in feedback
    assert '"padding"' not in feedback and "&quot;padding&quot;" not in feedback


@pytest.mark.slow
def test_checks_outside_their_cell_are_refused(graded):
    out, _, _ = graded
    nb = json.loads((out / "autograded" / "checks-outside" / A / NB).read_text())
    outputs = json.dumps(nb["cells"])
    assert "outside its test cell" in outputs


@pytest.mark.slow
def test_without_a_zygote_kernels_start_fresh_in_the_sandbox_and_json_py_stays_inert(tmp_path):
    """Kernels exec'd under unshare (no warm zygote) see the same packages; the launcher
    (run as root, in the student's folder) never imports a file handed in beside the notebook."""
    from grade_class.grade import GradeOptions, grade_class

    course = toy.make_course(tmp_path / "course")
    toy.submit(tmp_path / "subs", "right", "toy", toy.right(course))
    toy.submit(tmp_path / "subs", "wrong", "toy", toy.wrong(course))
    marker = tmp_path / "json-py-ran"
    (tmp_path / "subs" / "right" / "toy" / "json.py").write_text(JSON_PY.format(marker=str(marker)))
    result = grade_class(GradeOptions(submissions=tmp_path / "subs", course=course,
                                      out=tmp_path / "out", preload=(), progress=False))  # fmt: skip
    scores = {r["student"]: (r["score"], r["issues"]) for r in result["records"]}
    assert scores == {"right": (sum(toy.POINTS.values()), []), "wrong": (0.0, [])}, scores
    assert not marker.exists() or int(marker.read_text()) >= jail.SANDBOX_UID_BASE
