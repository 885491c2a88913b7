"""grade-class on a toy course: every hostile and broken kind of submission, once.

One run of ``python -m lenet_ref grade-class`` grades a class made of a right and a wrong
answer, every kind in ``grade_class.simulate.HOSTILE`` and a probe of the sandbox.
The tests then read what it wrote: none of the submissions hung the run, stopped the
others or got points it should not; each is in the report with its reason; the feedback
shows no hidden test. The checks that need no kernel (scan, checks, zips, state, report)
are tested on their own at the end.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import grade_class_course as toy
import pytest

import simulate
from grade_class import jail
from grade_class.checks import inspect_submission
from grade_class.collect import DEFAULT_REGEXP, collect, find_submissions
from grade_class.report import format_report, histogram
from grade_class.scan import scan_source
from grade_class.state import State

FULL = sum(toy.POINTS.values())
# kind -> (the most points it may get, the issue kind the report must give)
EXPECTED = {
    "right": (FULL, None),
    "wrong": (0, None),
    "loop": (0, "timeout"),
    "os-exit": (0, "kernel-died"),
    "sys-exit": (0, "exit-called"),
    "memory": (0, "memory"),
    "memory-forks": (0, "memory"),
    "flood": (FULL, "huge-output"),  # right answers after the flood: its points are earned
    "deleted-tests": (FULL, "deleted-test-cells"),  # right answers; nbgrader puts the test back
    "edited-tests": (0, "edited-test-cells"),
    "stripped": (0, "stripped-metadata"),
    "invalid-json": (0, "invalid-notebook"),
    "renamed": (FULL, "renamed-notebook"),
    "empty": (0, "invalid-notebook"),
    "other-assignment": (0, "other-assignment"),
    "patches-numpy": (0, "suspicious"),
    "imports-reference": (FULL, "suspicious"),  # the toy's tests cannot tell; lenet_ref's can
    "probe": (FULL, "suspicious"),
}
assert set(EXPECTED) == set(simulate.HOSTILE) | {"right", "wrong", "probe"}


def sandboxed_processes(out) -> list[str]:
    """Processes of a sandbox uid that belong to the run writing to ``out``."""
    ps = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 1) for line in ps.splitlines() if line.strip()]
    return [r[1] for r in rows if len(r) == 2 and int(r[0]) >= jail.SANDBOX_UID_BASE and str(out) in r[1]]


def grade_class_command(submissions, course, out, *extra):
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    command = [os.path.join(os.path.dirname(sys.executable), "grade-class"), str(submissions),
               "--course", str(course), "--out", str(out), "--no-progress", *extra]  # fmt: skip
    return command, env


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return toy.make_course(tmp_path_factory.mktemp("toy") / "course")


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """One grade-class run over the whole hostile class; returns (out, records, stdout)."""
    base = tmp_path_factory.mktemp("hostile")
    submissions, out = base / "submitted", base / "out"
    notebooks = toy.toy_notebooks(course)
    release, right = notebooks["toy"]
    for kind in simulate.HOSTILE:
        name, content = simulate.hostile(kind, release, right, notebooks["toy2"][1], "toy")
        toy.submit(submissions, kind, "toy", raw=content, name=name)
    toy.submit(submissions, "right", "toy", right)
    toy.submit(submissions, "wrong", "toy", release)
    toy.submit(submissions, "probe", "toy", toy.probe(course, submissions, out, base / "marker"))
    toy.submit(submissions, "right", "toy2", notebooks["toy2"][1])
    command, env = grade_class_command(submissions, course, out, "--memory", "2", "--timeout", "60")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    records = {(r["student"], r["assignment"]): r for r in json.loads((out / "report.json").read_text())}
    return out, records, done.stdout


def test_every_submission_is_graded_and_reported(graded):
    out, records, stdout = graded
    assert {s for s, a in records if a == "toy"} == set(EXPECTED)
    assert records[("right", "toy2")]["score"] == FULL
    for student, (_, kind) in EXPECTED.items():
        if kind is not None:
            assert f"toy  {student}  (" in stdout, f"{student} is not in the printed report"


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_no_points_it_should_not_get_and_its_reason(graded, student):
    _, records, _ = graded
    record = records[(student, "toy")]
    most, kind = EXPECTED[student]
    kinds = {issue["kind"] for issue in record["issues"]}
    assert record["score"] <= most, f"{student} got {record['score']} points: {record['issues']}"
    if kind is None:
        assert record["score"] == most and not kinds, record
    else:
        assert kind in kinds, f"{student}: expected {kind}, the report says {record['issues']}"
    if student in ("right", "flood", "deleted-tests", "renamed"):
        assert record["score"] == FULL


def test_grades_csv_and_gradebook_agree_with_the_report(graded):
    out, records, _ = graded
    with open(out / "grades.csv") as f:
        rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}
    for key, record in records.items():
        assert rows[key] == pytest.approx(record["score"]), key


def test_feedback_has_no_hidden_tests(graded):
    out, _, _ = graded
    hidden = toy.ASSIGNMENTS["toy"][4]  # the hidden test's source
    pages = list((out / "feedback").glob("*/toy/toy.html"))
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text()
        assert "add(-1, 1)" not in text and hidden not in text and "HIDDEN TESTS" not in text


def test_huge_output_is_cut_in_what_is_kept(graded):
    out, _, _ = graded
    assert (out / "autograded" / "flood" / "toy" / "toy.ipynb").stat().st_size < 5_000_000
    assert (out / "feedback" / "flood" / "toy" / "toy.html").stat().st_size < 5_000_000


@pytest.mark.skipif(jail.isolation() != "namespaces", reason="the full sandbox needs root and unshare")
def test_the_kernel_sees_nothing_it_should_not(graded):
    out, _, _ = graded
    seen = toy.probe_results(out)
    assert int(seen["uid"]) >= jail.SANDBOX_UID_BASE
    for secret in ("source", "submissions", "gradebook", "git"):
        assert seen[secret] in ("FileNotFoundError", "PermissionError"), (secret, seen[secret])
    assert seen["net"] in ("OSError", "TimeoutError", "ConnectionRefusedError"), seen["net"]
    assert seen["write"] in ("FileNotFoundError", "PermissionError"), seen["write"]
    assert int(seen["procs"]) <= 3  # its own PID namespace: the jail, the kernel
    assert not sandboxed_processes(out), "a daemon outlived its kernel"


def test_bad_input_is_a_clear_error(course, tmp_path):
    command, env = grade_class_command(tmp_path / "nowhere", course, tmp_path / "out")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: no submissions at")
    command, env = grade_class_command(tmp_path, tmp_path, tmp_path / "out")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "no nbgrader_config.py" in done.stderr


# ---- the parts that need no kernel ------------------------------------------------------


def test_the_command_and_its_aliases_are_one_command():
    """``grade-class`` (grader/, its own package), ``python -m grade_class`` and the course's
    ``python -m lenet_ref grade-class`` parse the same options."""
    bindir = os.path.dirname(sys.executable)
    helps = [subprocess.run(command + ["--help"], capture_output=True, text=True, check=True).stdout
             for command in ([os.path.join(bindir, "grade-class")],
                             [sys.executable, "-m", "grade_class"],
                             [sys.executable, "-m", "lenet_ref", "grade-class"])]  # fmt: skip
    options = [sorted(set(re.findall(r"--[a-z-]+", h))) for h in helps]
    assert options[0] == options[1] == options[2], options
    assert {"--scheduler", "--course", "--timeout", "--memory"} <= set(options[0])


def test_a_course_must_name_its_package(tmp_path, course):
    config = (course / "nbgrader_config.py").read_text()
    assert "c.GradeClass.course_package" in config
    shutil.copytree(course, tmp_path / "course")
    (tmp_path / "course" / "nbgrader_config.py").write_text(
        config.replace("c.GradeClass.course_package", "# c.GradeClass.course_package")
    )
    (tmp_path / "subs" / "alice" / "toy").mkdir(parents=True)
    command, env = grade_class_command(tmp_path / "subs", tmp_path / "course", tmp_path / "out")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "c.GradeClass.course_package" in done.stderr, done.stderr


@pytest.mark.parametrize("source, finding", [
    ("from lenet_ref.numpy import conv_forward", "uses lenet_ref"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "assigns to an attribute of numpy"),
    ("import sys\nsys.settrace(None)", "trace or profile hook"),
    ("sys.modules['lenet_ref'] = None", "sys.modules"),
    ("m = __import__('lenet_' + 'ref')", "imports by name"),
    ("import builtins\nbuiltins.len = None", "touches the builtins"),
    ("get_ipython().showtraceback = print", "get_ipython"),
    ("!cat /etc/passwd", "shell command"),
])  # fmt: skip
def test_scan_names_what_a_solution_should_not_need(source, finding):
    found = scan_source(source, "lenet_ref")
    assert any(finding in why for why in found), found


@pytest.mark.parametrize("source", [
    "import numpy as np\nout = np.zeros((2, 3))\nif np.allclose(out, 0):\n    pass",
    "# lenet_ref would do this for you\nx = a + b",
    "assert np.pi == np.pi",
])  # fmt: skip
def test_scan_leaves_ordinary_code_alone(source):
    assert scan_source(source, "lenet_ref") == []


def test_checks_before_running(course, tmp_path):
    from grade_class.course import build_reference, load_course

    specs = build_reference(load_course(course), ["toy", "toy2"], tmp_path / "ref")
    notebooks = toy.toy_notebooks(course)
    release, right = notebooks["toy"]
    edited = json.loads(json.dumps(right))
    edited["cells"][2]["source"] = "pass"
    other = json.loads(json.dumps(notebooks["toy2"][1]))
    other["cells"].insert(0, right["cells"][0])  # notebooks share a few cell ids ("setup")
    cases = {"fine": ("toy.ipynb", right), "edited": ("toy.ipynb", edited),
             "renamed": ("mine.ipynb", right), "other": ("toy.ipynb", other)}  # fmt: skip
    for student, (name, nb) in cases.items():
        toy.submit(tmp_path / "subs", student, "toy", nb, name=name)
    seen = {s: inspect_submission(f, a, specs) for s, a, f in find_submissions(tmp_path / "subs", ["toy"])}
    assert seen["fine"].issues == [] and seen["fine"].gradable == {"toy"}
    assert [i.kind for i in seen["edited"].issues] == ["edited-test-cells"]
    assert [i.kind for i in seen["renamed"].issues] == ["renamed-notebook"]
    assert seen["renamed"].files["toy.ipynb"].name == "mine.ipynb"
    assert [i.kind for i in seen["other"].issues] == ["other-assignment"]
    assert seen["other"].gradable == set()


def test_zip_of_the_nbgrader_layout_is_extracted_safely(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("submitted/alice/toy/toy.ipynb", "{}")
        z.writestr("submitted/bob/toy/toy.ipynb", "{}")
        z.writestr("submitted/../../evil/toy/toy.ipynb", "{}")
    root = collect(archive, ["toy"], tmp_path / "out", tmp_path / "s", tmp_path / "r", None, "")
    assert [(s, a) for s, a, _ in find_submissions(root, ["toy"])] == [("alice", "toy"), ("bob", "toy")]
    assert not (tmp_path / "evil").exists()


def test_lms_zip_goes_through_nbgrader_zip_collect(course, tmp_path):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("toy_alice_attempt_2024-01-30-15-00-00_toy.ipynb", json.dumps(toy.released(course, "toy")))
    dest = tmp_path / "submitted"
    root = collect(archive, ["toy"], dest, tmp_path / "scratch", course / "release", "toy",
                   DEFAULT_REGEXP)  # fmt: skip
    assert (root / "alice" / "toy" / "toy.ipynb").is_file()
    with pytest.raises(ValueError, match="--assignment"):
        collect(archive, ["toy"], dest, tmp_path / "scratch2", course / "release", None, "")


def test_state_is_written_atomically_and_checked(tmp_path):
    state = State(tmp_path)
    record = {"student": "alice", "assignment": "toy", "digest": "d", "source": "s", "score": 1}
    state.save(record)
    assert state.is_done("toy", "alice", "d", "s")
    assert not state.is_done("toy", "alice", "changed", "s")
    (tmp_path / "toy" / "alice.json").write_text('{"cut sh')  # a file cut by a crash
    assert state.load("toy", "alice") is None and not state.is_done("toy", "alice", "d", "s")
    assert not list((tmp_path / "toy").glob(".*.tmp"))


def test_report_distribution_and_histogram():
    records = [{"student": f"s{k}", "assignment": "a", "score": k, "max_score": 10, "issues": []}
               for k in range(11)]  # fmt: skip
    records[3]["issues"] = [{"kind": "timeout", "detail": "cell 2", "notebook": "nb"}]
    text = format_report(records, ["a"], ["header"])
    assert "11 submissions, out of 10 points; mean 50.0 %, median 50.0 %, min 0.0 %, max 100.0 %" in text
    assert "1 submissions need a look:" in text and "timeout: nb: cell 2" in text
    counts = [int(re.search(r"[)\]]\s+(\d+)", row).group(1)) for row in histogram([10.0 * k for k in range(11)])]
    assert counts == [1] * 9 + [2]


def test_reduced_sandbox_still_stops_what_would_hurt(course, tmp_path):
    """Without namespaces (not root): limits and the watch alone still end each of these."""
    from grade_class.grade import GradeOptions, grade_class

    notebooks = toy.toy_notebooks(course)
    release, right = notebooks["toy"]
    toy.submit(tmp_path / "subs", "right", "toy", right)
    for kind in ("loop", "os-exit", "memory-forks"):
        name, content = simulate.hostile(kind, release, right, notebooks["toy2"][1], "toy")
        toy.submit(tmp_path / "subs", kind, "toy", raw=content, name=name)
    result = grade_class(GradeOptions(submissions=tmp_path / "subs", course=course, out=tmp_path / "out",
                                      memory_gb=2, timeout=60, progress=False, isolation="limits"))  # fmt: skip
    records = {r["student"]: r for r in result["records"]}
    assert "reduced" in result["report"]
    assert records["right"]["score"] == FULL and not records["right"]["issues"]
    for kind in ("loop", "os-exit", "memory-forks"):
        assert records[kind]["score"] == 0
        assert simulate.HOSTILE[kind][1] in {i["kind"] for i in records[kind]["issues"]}, records[kind]


def test_prompt_kernel_client_is_ready_and_loses_no_output():
    """The worker's kernel client (``grade_class.capped.PromptKernelClient``) returns from
    ``wait_for_ready`` on the kernel's idle after its kernel_info instead of 0.2 s of IOPub
    silence; a cell run right after still gets all of its output, and nothing the kernel
    published while starting is taken for the cell's."""
    import asyncio

    from jupyter_client import AsyncKernelManager

    from grade_class.capped import PromptKernelClient

    async def run() -> list[dict]:
        km = AsyncKernelManager(kernel_name="python3", transport="ipc")
        km.client_class = "grade_class.capped.PromptKernelClient"
        await km.start_kernel()
        kc = km.client()
        try:
            assert isinstance(kc, PromptKernelClient)
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            msg_id = kc.execute("import sys; print(6 * 7); print('e', file=sys.stderr); 1 + 1")
            seen = []
            while True:
                msg = await kc.get_iopub_msg(timeout=30)
                seen.append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            return seen, msg_id
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    seen, msg_id = asyncio.run(run())
    assert all(m["parent_header"].get("msg_id") == msg_id for m in seen), [
        (m["msg_type"], m["parent_header"].get("msg_type")) for m in seen
    ]
    streams = {m["content"]["name"]: m["content"]["text"] for m in seen if m["msg_type"] == "stream"}
    assert streams == {"stdout": "42\n", "stderr": "e\n"}
    results = [m["content"]["data"]["text/plain"] for m in seen if m["msg_type"] == "execute_result"]
    assert results == ["2"]


def _job_settings(tmp_path, template):
    from grade_class.protocol import Settings

    return Settings(
        course_root=str(tmp_path), source_dir=str(tmp_path), template_db=str(template),
        work_dir=str(tmp_path), cell_timeout=60, timeout=600.0, memory_bytes=2**30,
        cpu_seconds=600, file_bytes=2**26, tmp_bytes=2**26, max_output_bytes=2**20, nproc=64,
        isolation="limits", uid_base=60000, ro_paths=[], handouts={"toy": str(tmp_path)},
        course_package="lenet_ref", package_dir=str(tmp_path), checks={},
        worker_memory_bytes=2**31, preload=[],
    )  # fmt: skip


def test_a_job_starts_from_an_empty_folder_whatever_an_earlier_attempt_left(tmp_path, monkeypatch):
    """A Dask worker killed mid-job leaves the job's folder on the shared disk, and Dask
    runs the job again elsewhere: ``prepare`` must build it anew, not fail on what exists
    (it once raised FileExistsError, and a right answer was recorded as a grader error)."""
    from grade_class import worker
    from grade_class.protocol import Job

    monkeypatch.setattr(worker.cgroup, "create", lambda *args: None)  # no control groups here
    monkeypatch.setenv("LENET_JAIL_SPEC", "")  # prepare sets it; restored after the test
    notebook = tmp_path / "toy.ipynb"
    notebook.write_text('{"fresh": true}')
    template = tmp_path / "template.db"
    template.write_bytes(b"gradebook")
    job = Job(id=2, student="s02", assignment="toy", folder=str(tmp_path),
              dir=str(tmp_path / "job-2"), files={"toy.ipynb": str(notebook)})  # fmt: skip
    settings = _job_settings(tmp_path, template)
    submitted = tmp_path / "job-2" / "course" / "submitted" / worker.SCRATCH_STUDENT / "toy"
    status = tmp_path / "job-2" / "jail" / "status.json"
    for attempt in ("killed", "retried"):
        spec = worker.prepare(job, settings, slot=0)
        assert json.loads((submitted / "toy.ipynb").read_text()) == {"fresh": True}, attempt
        assert not status.exists(), attempt  # the killed attempt's jail status is gone
        assert os.environ["LENET_JAIL_SPEC"] == os.path.join(job.dir, "jail", "spec.json")
        assert spec.rw_paths == [os.path.join(job.dir, "kernel", "run")]
        (submitted / "toy.ipynb").write_text('{"half-graded": true}')  # what the attempt left
        status.write_text("{}")
    gradebook = worker.scratch_gradebook(job)
    if gradebook.startswith("/dev/shm"):
        os.remove(gradebook)


def test_a_job_stopped_by_the_clock_at_its_memory_limit_is_reported_as_memory(tmp_path, monkeypatch,
                                                                               request):
    """A kernel at its memory limit can thrash until --timeout kills its worker, which then
    cannot say why (CI once reported the hostile memory hog as a timeout, under load). The
    trusted side finds the job's control group from the job alone, reads whether it hit its
    limit, and removes it; the report says memory. A retried job starts from fresh counts,
    on any slot, and the same job number in another grading run has a group of its own."""
    from types import SimpleNamespace

    from grade_class import cgroup, worker
    from grade_class.merge import failure_issue
    from grade_class.protocol import Job, Result

    for name in ("LENET_JAIL_SPEC", "JUPYTER_RUNTIME_DIR"):  # prepare sets them
        monkeypatch.setenv(name, os.environ.get(name, ""))
    job = Job(id=7, student="s07", assignment="toy", folder=str(tmp_path),
              dir=str(tmp_path / "job-7"), files={})  # fmt: skip
    limit = 64 << 20
    groups = cgroup.create(worker._group_name(job), limit, 64)
    if groups is None:
        pytest.skip("control groups cannot be made on this machine")
    # whatever an assertion stops, no group (nor its sleeping process) outlives the test
    request.addfinalizer(lambda: cgroup.remove(cgroup.find(worker._group_name(job))))
    code = ("import json, sys, time; from grade_class import cgroup; "
            "cgroup.enter(json.loads(sys.argv[1])); exec(sys.argv[2])")
    enter = [sys.executable, "-c", code, json.dumps(groups)]
    hog = subprocess.run(enter + ["hog = bytearray(256 << 20)"], capture_output=True, timeout=60)
    assert hog.returncode != 0, "the group's memory limit did not stop the hog"
    left = subprocess.Popen(enter + ["time.sleep(600)"])  # still in the group at the kill
    for _ in range(100):
        if left.pid in cgroup.members(groups):
            break
        time.sleep(0.05)
    found = worker.traces(job)
    assert found["cgroup_memory"] and found["cgroup_memory"]["limit_bytes"] == limit, found
    assert left.wait(timeout=10) == -9, "a process left in the group outlived it"
    assert not any(os.path.exists(folder) for folder in groups.values())
    settings = SimpleNamespace(timeout=60.0, memory_bytes=limit)
    issue = failure_issue(Result(id=7, graded=False, timeout=True, **found), settings)
    assert issue.kind == "memory" and "ran past 60 s" in issue.detail, issue
    assert worker.traces(job) == {"cgroup_memory": None, "jail": None}  # nothing left

    # no memory trouble: the clock's verdict; and a retry does not inherit the hog's counts
    again = cgroup.create(worker._group_name(job), limit, 64)
    subprocess.run(enter[:-1] + [json.dumps(again), "hog = bytearray(256 << 20)"], timeout=60)
    notebook, template = tmp_path / "toy.ipynb", tmp_path / "template.db"
    notebook.write_text("{}")
    template.write_bytes(b"gradebook")
    job.files = {"toy.ipynb": str(notebook)}
    # job 7 of another grading run, on this machine at the same time: not this run's group
    other = Job(id=7, student="s07", assignment="toy", folder=str(tmp_path),
                dir=str(tmp_path / "other-run" / "job-7"), files={})  # fmt: skip
    assert worker._group_name(other) != worker._group_name(job)
    assert cgroup.find(worker._group_name(other)) is None
    # the retry runs on another slot (its first worker died): it still finds the old group
    spec = worker.prepare(job, _job_settings(tmp_path, template), slot=4)
    assert spec.cgroups and cgroup.out_of_memory(spec.cgroups) is None
    found = worker.traces(job)
    issue = failure_issue(Result(id=7, graded=False, timeout=True, **found), settings)
    assert issue.kind == "timeout", issue
    gradebook = worker.scratch_gradebook(job)
    if gradebook.startswith("/dev/shm") and os.path.exists(gradebook):
        os.remove(gradebook)
