"""A grading worker: a long-lived, trusted process that grades one submission at a time.

The pool starts one per core (``python -m grade_class.worker SETTINGS SLOT``) and
sends it jobs, one JSON line each on stdin; it answers one JSON line per job. For each job
it builds a scratch course of its own (a copy of the template gradebook, the student's
files), runs nbgrader's autograde and generate_feedback on it in-process (nbgrader started
once, not once per notebook), with every kernel in the sandbox of ``jail``. It never writes
the class's gradebook: the pool's parent reads the autograded notebook and merges.

A kernel cannot reach this process's files (another uid, another root) nor its result pipe
(the kernel's stdout and stderr go elsewhere); what it can do is send output, which
``capped`` bounds, and take too long, which the parent answers by killing this worker.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import traceback
from io import StringIO

from . import cgroup, jail
from .protocol import JailSpec, Job, Result, Settings

KERNEL_NAME = "lenet-sandbox"
LOG_TAIL = 20_000  # characters of nbgrader's log sent back per job
# The student's id inside the job's scratch course: whatever the real one holds (glob
# characters, spaces), nbgrader only ever sees this one.
SCRATCH_STUDENT = "student"
VERDICT_SOCKET = "verdict.sock"  # in the kernel's run folder: this job's kernel alone sees it


def scratch_gradebook(job: Job) -> str:
    """The job's throwaway gradebook: in memory (/dev/shm) where there is one, since
    nbgrader commits some forty times per notebook and each commit waits for the disk."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return os.path.join(shm, f"lenet-grading-{os.getpid()}-job-{job.id}.db")
    return os.path.join(job.dir, "course", "gradebook.db")


def write_kernelspec(folder: str, interrupt_mode: str = "signal") -> str:
    """A kernelspec that starts ipykernel through the jail; returns the JUPYTER_PATH entry."""
    spec_dir = os.path.join(folder, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    # -I: not the working directory (the student's folder) on sys.path, nor PYTHON* variables:
    # a json.py handed in beside the notebook must not be imported by this trusted launcher
    argv = [sys.executable, "-I", "-m", "grade_class.launch", "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]  # fmt: skip
    spec = {"argv": argv, "display_name": "Python 3 (sandboxed)", "language": "python",
            "interrupt_mode": interrupt_mode}  # fmt: skip
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return folder


def _kernel_env(settings: Settings, home: str, run_dir: str) -> dict:
    one = "1"  # one thread per kernel: the pool already runs one kernel per core
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": home, "TMPDIR": "/tmp", "LANG": os.environ.get("LANG", "C.UTF-8"),
        "LENET_VERDICT_SOCKET": os.path.join(run_dir, VERDICT_SOCKET),
        "NBGRADER_EXECUTION": "autograde",
        "OMP_NUM_THREADS": one, "OPENBLAS_NUM_THREADS": one, "MKL_NUM_THREADS": one,
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "IPYTHONDIR": os.path.join(home, ".ipython"), "JUPYTER_RUNTIME_DIR": run_dir,
        "PYTHONDONTWRITEBYTECODE": one,
    }  # fmt: skip


def _group_name(job: Job) -> str:
    """The job's control group: named after its scratch folder, which is the same on every
    attempt at the job (a retry on another slot, after a Dask worker died, finds and removes
    the dead attempt's group) and differs between two grading runs on one machine (one
    run's clean-up never reaches the other's kernels)."""
    digest = hashlib.sha1(os.path.abspath(job.dir).encode()).hexdigest()[:12]
    return f"job-{job.id}-{digest}"


def _jail_status(job: Job) -> dict | None:
    path = os.path.join(job.dir, "jail", "status.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def traces(job: Job) -> dict:
    """What is still known of a job whose worker was killed (past --timeout) or died under
    it, as ``Result`` fields: whether its kernel's control group hit the memory limit
    (a kernel thrashing at its limit is slow, and is stopped by the clock before the
    memory limit kills it) and the jail's status file. Removes the group, which the killed
    worker would have removed. Run by the trusted side, after the kill."""
    groups = cgroup.find(_group_name(job))
    memory = cgroup.out_of_memory(groups)
    cgroup.remove(groups)
    try:
        status = _jail_status(job)
    except (OSError, ValueError):
        status = None
    return {"cgroup_memory": memory, "jail": status}


def prepare(job: Job, settings: Settings, slot: int) -> JailSpec:
    """The job's scratch course, kernel folders and jail spec; returns the spec."""
    root = job.dir
    # An earlier attempt at this job whose worker died (a Dask worker killed mid-job, whose
    # task Dask then runs here) left its folder on the shared disk: start from nothing.
    shutil.rmtree(root, ignore_errors=True)
    course = os.path.join(root, "course")
    submitted = os.path.join(course, "submitted", SCRATCH_STUDENT, job.assignment)
    os.makedirs(submitted)
    for name, src in job.files.items():
        shutil.copyfile(src, os.path.join(submitted, name))
    if job.timestamp:
        with open(os.path.join(submitted, "timestamp.txt"), "w") as f:
            f.write(job.timestamp)
    gradebook = scratch_gradebook(job)
    shutil.copyfile(settings.template_db, gradebook)
    os.chmod(gradebook, 0o600)
    uid = settings.uid_base + slot
    sandboxed = settings.isolation == "namespaces"
    run_dir = os.path.join(root, "kernel", "run")
    # sandboxed, the home is in the kernel's own /tmp (a bounded tmpfs); else on this disk
    home = jail.SANDBOX_HOME if sandboxed else os.path.join(root, "kernel", "home")
    for folder in ([run_dir] if sandboxed else [run_dir, home]) + [os.path.join(root, "jail"),
                                                                   os.path.join(root, "newroot")]:  # fmt: skip
        os.makedirs(folder, mode=0o700)
    if sandboxed:
        os.chown(run_dir, uid, uid)
    cgroup.remove(cgroup.find(_group_name(job)))  # an earlier attempt's, its counts too
    spec = JailSpec(
        isolation=settings.isolation, uid=uid, gid=uid,
        memory_bytes=settings.memory_bytes, cpu_seconds=settings.cpu_seconds,
        file_bytes=settings.file_bytes, nproc=settings.nproc,
        tmp_bytes=settings.tmp_bytes, ro_paths=settings.ro_paths,
        rw_paths=[run_dir], root_dir=os.path.join(root, "newroot"),
        cgroups=cgroup.create(_group_name(job), settings.memory_bytes, settings.nproc),
        status_dir=os.path.join(root, "jail"), env=_kernel_env(settings, home, run_dir),
        zygote=settings.zygote_socket,
        overlays=[[settings.handouts[job.assignment], settings.package_dir]],
    )  # fmt: skip
    spec_path = os.path.join(root, "jail", "spec.json")
    spec.save(spec_path)
    os.environ["LENET_JAIL_SPEC"] = spec_path
    os.environ["JUPYTER_RUNTIME_DIR"] = run_dir
    return spec


_ENVIRONMENTS: dict = {}  # the feedback's compiled templates, kept for the worker's life


def _cached_html_exporter():
    """nbconvert's HTMLExporter whose Jinja environment (compiled templates: 0.7 s) is made
    once per worker, not once per feedback page."""
    from nbconvert.exporters import HTMLExporter

    class CachedHTMLExporter(HTMLExporter):
        def _create_environment(self):
            key = (tuple(self.template_paths), self.template_file, self.raw_template)
            if key not in _ENVIRONMENTS:
                _ENVIRONMENTS[key] = super()._create_environment()
            return _ENVIRONMENTS[key]

    return CachedHTMLExporter


def job_config(course_config, job: Job, settings: Settings):
    """The course's nbgrader config, pointed at the job's scratch course and the sandbox."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from .capped import CappedExecute

    cfg = copy.deepcopy(course_config)
    course = os.path.join(job.dir, "course")
    cd = cfg.CourseDirectory
    cd.root = course
    cd.source_directory = settings.source_dir  # autograde copies its non-notebook files
    for step in ("submitted", "autograded", "feedback"):
        setattr(cd, f"{step}_directory", os.path.join(course, step))
    cd.db_url = "sqlite:///" + scratch_gradebook(job)
    cd.assignment_id, cd.student_id, cd.notebook_id = job.assignment, SCRATCH_STUDENT, "*"
    cfg.Execute.kernel_name = KERNEL_NAME
    if settings.cell_timeout:
        cfg.Execute.timeout = settings.cell_timeout
    cfg.CappedExecute.max_output_bytes = settings.max_output_bytes
    cfg.KernelManager.transport = "ipc"  # Unix sockets: the kernel has no network
    cfg.AsyncKernelManager.client_class = "grade_class.capped.PromptKernelClient"
    # the connection file and the sockets named after it: in a folder the kernel sees
    cfg.KernelManager.connection_file = os.path.join(job.dir, "kernel", "run", "kernel.json")
    steps = cfg.Autograde.get("autograde_preprocessors",
                              Autograde.class_traits()["autograde_preprocessors"].default())
    cfg.Autograde.autograde_preprocessors = [CappedExecute if p is Execute else p for p in steps]
    cfg.GenerateFeedback.preprocessors = feedback_preprocessors(cfg)
    cfg.GenerateFeedback.exporter_class = _cached_html_exporter()
    return cfg


def _name(preprocessor) -> str:
    return preprocessor.rsplit(".", 1)[-1] if isinstance(preprocessor, str) else preprocessor.__name__


def feedback_preprocessors(cfg) -> list:
    """The course's feedback preprocessors, with the two that keep hidden tests hidden:
    their outputs removed first, then their code."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    from .feedback import HideHiddenOutputs

    steps = list(cfg.GenerateFeedback.get("preprocessors", [GetGrades, CSSHTMLHeaderPreprocessor]))
    names = [_name(p) for p in steps]
    if "ClearHiddenTests" not in names:
        steps.insert(1 if "GetGrades" in names else 0, ClearHiddenTests)
    names = [_name(p) for p in steps]
    if "HideHiddenOutputs" not in names:
        steps.insert(names.index("ClearHiddenTests"), HideHiddenOutputs)
    return steps


def _run(converter_cls, cfg) -> tuple[bool, str]:
    """One nbgrader converter, in-process; (success, its log with any traceback)."""
    from nbgrader.coursedir import CourseDirectory

    buffer = StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    app = converter_cls(coursedir=CourseDirectory(config=cfg), config=cfg)
    app.log.addHandler(handler)
    try:
        app.start()
        ok = True
    except Exception:
        buffer.write(traceback.format_exc())
        ok = False
    finally:
        app.log.removeHandler(handler)
    return ok, buffer.getvalue()


def grade(job: Job, settings: Settings, slot: int, course_config) -> Result:
    from nbgrader.converters import Autograde, GenerateFeedback

    from .capped import CappedExecute
    from .merge import apply_verdicts
    from .course import course_grading
    from .verdict import VerdictServer

    started = time.monotonic()
    clock = {"start": started}

    def lap(name):  # seconds of each phase, for the bench's breakdown
        now = time.monotonic()
        clock[name] = round(now - clock.pop("last", started), 3)
        clock["last"] = now

    spec = prepare(job, settings, slot)
    cfg = job_config(course_config, job, settings)
    checks = settings.checks.get(job.assignment, {})
    server = VerdictServer(os.path.join(spec.env["JUPYTER_RUNTIME_DIR"], VERDICT_SOCKET), checks,
                           reply_seconds=float(cfg.Execute.get("timeout", 60) or 60) + 5,
                           grading=course_grading(settings.course_package))  # fmt: skip
    if settings.isolation == "namespaces":
        os.chown(server.path, spec.uid, spec.gid)
    CappedExecute.verdicts = server
    CappedExecute.timings = {}
    lap("prepare")
    try:
        graded, log = _run(Autograde, cfg)
    finally:
        CappedExecute.verdicts = None
        server.close()
    lap("autograde")
    if graded:  # the scratch gradebook scored by the verdicts, so that the feedback says so
        apply_verdicts(scratch_gradebook(job), job.assignment,
                       SCRATCH_STUDENT, server.verdicts, checks)  # fmt: skip
        _, feedback_log = _run(GenerateFeedback, cfg)
        log += feedback_log
    lap("feedback")
    memory = cgroup.out_of_memory(spec.cgroups)
    cgroup.remove(spec.cgroups)
    if os.path.exists(scratch_gradebook(job)):
        os.unlink(scratch_gradebook(job))
    lap("cleanup")
    phases = {k: v for k, v in clock.items() if k not in ("start", "last")}
    phases.update(CappedExecute.timings)
    phases["checks"] = round(server.check_seconds, 3)
    return Result(id=job.id, graded=graded, log=log[-LOG_TAIL:], jail=_jail_status(job),
                  verdicts=server.verdicts, cgroup_memory=memory, phases=phases,
                  seconds=round(time.monotonic() - started, 3))  # fmt: skip


def start_zygote(settings: Settings):
    """The warm-kernel server of this worker (``zygote``), once it has imported everything."""
    import subprocess

    path = settings.zygote_socket
    if os.path.exists(path):
        os.unlink(path)
    # BLAS and OpenMP read their thread counts when imported: in the zygote, that is
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    zygote = subprocess.Popen(
        [sys.executable, "-I", "-m", "grade_class.zygote", path, json.dumps(settings.preload)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, **threads},
    )  # fmt: skip
    if zygote.stdout.readline().strip() != "ready":
        raise RuntimeError("the kernel zygote did not start: see the worker's log")
    zygote.stdout.close()
    return zygote


def _warm_checks(package: str) -> None:
    """Import the course's checks (and PyTorch, which they may use) before the first job,
    so that no submission pays for it (4 s for this course's)."""
    from .course import course_grading

    course_grading(package).behaviours()
    try:
        import torch  # noqa: F401
    except ImportError:
        pass


def _protect_result_pipe():
    """Our stdout carries the results: keep it private, and point fd 1 at stderr."""
    results = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return results


def main(argv: list[str]) -> int:
    import resource

    from traitlets.config.loader import PyFileConfigLoader

    settings_path, slot = argv[0], int(argv[1])
    settings = Settings.load(settings_path)
    results = _protect_result_pipe()
    os.umask(0o022)
    memory = settings.worker_memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # output floods end here, not the machine
    slot_dir = os.path.join(settings.work_dir, f"slot-{slot}")
    os.makedirs(slot_dir, mode=0o700, exist_ok=True)
    zygote = None
    if settings.preload and settings.isolation == "namespaces":
        settings.zygote_socket = os.path.join(slot_dir, "zygote.sock")
        zygote = start_zygote(settings)
    # a forked kernel is not in the process group jupyter_client signals: interrupt by message
    os.environ["JUPYTER_PATH"] = write_kernelspec(slot_dir, "message" if zygote else "signal")
    course_config = PyFileConfigLoader("nbgrader_config.py", path=settings.course_root).load_config()
    if any(cells for notebooks in settings.checks.values() for cells in notebooks.values()):
        _warm_checks(settings.course_package)  # a course with check cells: their verdicts are made here
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps({"ready": slot}), file=results)
    for line in sys.stdin:
        job = Job.from_json(line)
        if zygote is not None and zygote.poll() is not None:
            zygote = start_zygote(settings)  # it died: a fresh one
        try:
            result = grade(job, settings, slot, course_config)
        except MemoryError:
            return 3  # the pool reports the job and starts a fresh worker
        except Exception:
            result = Result(id=job.id, graded=False, log=traceback.format_exc()[-LOG_TAIL:])
        print(result.to_json(), file=results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
