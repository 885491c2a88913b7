"""grade-class stopped in the middle (killed, as by a crash) and started again gives the
same grades as a run that was never stopped, and does not grade again what was done."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time

import grade_class_course as toy
import pytest
from test_grade_class import grade_class_command, sandboxed_processes

import simulate


def _class(course, folder):
    notebooks = toy.toy_notebooks(course)
    release, right = notebooks["toy"]
    for k in range(5):
        toy.submit(folder, f"s{k}", "toy", right if k % 3 else release)
        toy.submit(folder, f"s{k}", "toy2", notebooks["toy2"][1] if k % 2 else notebooks["toy2"][0])
    name, content = simulate.hostile("os-exit", release, right, notebooks["toy2"][1], "toy")
    toy.submit(folder, "s5", "toy", raw=content, name=name)


def _grades(out):
    with open(out / "grades.csv") as f:
        return sorted((r["assignment"], r["student_id"], r["score"]) for r in csv.DictReader(f))


def _records(out):
    records = json.loads((out / "report.json").read_text())
    return sorted((r["assignment"], r["student"], r["score"], [i["kind"] for i in r["issues"]])
                  for r in records)  # fmt: skip


@pytest.mark.slow
def test_a_run_killed_midway_goes_on_where_it_was(tmp_path):
    course = toy.make_course(tmp_path / "course")
    submissions = tmp_path / "submitted"
    _class(course, submissions)
    total = len(list(submissions.glob("*/*")))

    command, env = grade_class_command(submissions, course, tmp_path / "whole", "--jobs", "2")
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)

    out = tmp_path / "stopped"
    command, env = grade_class_command(submissions, course, out, "--jobs", "2")
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 600
    while len(list(out.glob("state/*/*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # a crash: no clean-up of any kind
    run.wait()
    done_before = {p: p.stat().st_mtime_ns for p in out.glob("state/*/*.json")}
    assert 4 <= len(done_before) < total, "kill the run in the middle"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _grades(out) == _grades(tmp_path / "whole")
    assert _records(out) == _records(tmp_path / "whole")
    for path, mtime in done_before.items():  # what was graded was not graded again
        assert path.stat().st_mtime_ns == mtime, path
    time.sleep(1)
    assert not sandboxed_processes(out), "kernels outlived the run"
