"""grade-class on a Dask cluster (``--scheduler``): a real ``dask scheduler`` and two
``dask worker`` processes on this machine grade the toy class; the grades equal those of
the local pool, and a worker killed mid-run loses nothing (its task runs elsewhere)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grade_class_course as toy
import pytest
from test_grade_class import grade_class_command

pytest.importorskip("distributed")
BIN = Path(sys.executable).parent
STUDENTS = 10


def start(args, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen([str(BIN / "dask"), *args], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return toy.make_course(tmp_path_factory.mktemp("toy") / "course")


def a_class(course, folder: Path) -> Path:
    for k in range(STUDENTS):
        nb = toy.right(course) if k % 3 else toy.wrong(course)
        toy.submit(folder, f"s{k:02d}", "toy", nb)
    return folder


def scores(out: Path) -> dict:
    return {r["student"]: r["score"] for r in json.loads((out / "report.json").read_text())}


@pytest.mark.slow
def test_a_dask_cluster_grades_as_the_local_pool_and_survives_a_dead_worker(course, tmp_path):
    subs = a_class(course, tmp_path / "submitted")
    command, env = grade_class_command(subs, course, tmp_path / "local")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    file = tmp_path / "scheduler.json"
    procs = [start(["scheduler", "--scheduler-file", str(file), "--no-dashboard", "--port", "0"],
                   tmp_path / "scheduler.log")]  # fmt: skip
    try:
        for _ in range(300):
            if file.exists() and json.loads(file.read_text() or "{}").get("address"):
                break
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        workers = [start(["worker", "--scheduler-file", str(file), "--nthreads", "1", "--no-nanny",
                          "--no-dashboard"], tmp_path / f"worker{k}.log") for k in range(2)]  # fmt: skip
        procs += workers
        out = tmp_path / "dask"
        command, env = grade_class_command(subs, course, out, "--scheduler", address)
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 600
        while not list((out / "state").rglob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        stop(workers[0])  # mid-run: some records written, others not yet
        killed_after = len(list((out / "state").rglob("*.json")))
        stdout, stderr = run.communicate(timeout=900)
        assert run.returncode == 0, stderr[-3000:]
    finally:
        for proc in procs:
            stop(proc)
    assert killed_after < STUDENTS, "the worker was killed after the run: nothing was tested"
    assert scores(out) == scores(tmp_path / "local")
    assert len(scores(out)) == STUDENTS


def test_canvas_and_moodle_csvs_hold_every_student_and_assignment(tmp_path):
    import csv

    from grade_class.exports import export_lms

    grades = tmp_path / "grades.csv"
    grades.write_text(
        "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
        "late_submission_penalty,score,max_score\n"
        "toy,,,ann,,,,5.0,0.0,5.0,5.0\ntoy,,,bob,,,,0.0,0.0,0.0,5.0\ntoy2,,,ann,,,,3.0,0.0,3.0,5.0\n"
    )
    canvas, moodle = export_lms(grades, tmp_path)
    rows = list(csv.reader(canvas.open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "toy", "toy2"]
    assert rows[1][0] == "Points Possible" and rows[1][5:] == ["5.0", "5.0"]
    assert rows[2] == ["ann", "", "", "ann", "", "5.0", "3.0"]
    assert rows[3] == ["bob", "", "", "bob", "", "0.0", "0"]
    assert list(csv.reader(moodle.open())) == [["Username", "toy", "toy2"], ["ann", "5.0", "3.0"],
                                                ["bob", "0.0", "0"]]  # fmt: skip


def test_a_grading_worker_that_dies_fails_the_task_so_dask_runs_it_again(tmp_path):
    """A Dask worker being killed takes its grading worker down first, sometimes an instant
    before itself: that must not come back as the submission's result (a 0 recorded for a
    right answer), but as a failed task, which Dask retries on another worker."""
    from grade_class.dask_pool import GradingWorkerDied, grade_on_worker
    from grade_class.protocol import Job

    settings = tmp_path / "settings.json"
    settings.write_text("{}")  # no worker can start from it: it dies at once
    job = Job(id=1, student="s00", assignment="toy", folder=str(tmp_path), dir=str(tmp_path / "job"),
              files={})  # fmt: skip
    with pytest.raises(GradingWorkerDied, match="died under this submission"):
        grade_on_worker(job, str(settings), timeout=60)
