"""The messages between the processes of a grading run, as typed dataclasses.

Every process boundary carries one of these, as JSON (``to_json`` / ``from_json``, which
refuses unknown and missing fields, so that a message no file defines cannot appear)::

    grade-class: the parent (trusted)
    │   writes Settings (settings.json); sends a Job per submission; reads a Result per Job
    ├── worker × cores, or one per Dask worker process (trusted: nbgrader, the checks)
    │   │   writes a JailSpec (spec.json) per job; runs the VerdictServer in a thread
    │   ├── zygote (imports numpy and ipykernel, then forks kernels: never student code)
    │   │       ◄── a ZygoteRequest from launch, one per kernel
    │   └── launch → jail (process 1 of new namespaces) → kernel (student code, sandboxed)
    │           jail writes its status (JailStatus, as a dict in Result.jail)
    │           kernel ◄──► VerdictServer: <course_package>.grading.wire messages (plain data)
    └── (the parent alone writes the gradebook, the CSVs, the report and the records)
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields


class _Message:
    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        unknown, missing = set(data) - names, required - set(data)
        if unknown or missing:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}, "
                             f"missing {sorted(missing)}")  # fmt: skip
        return cls(**data)

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_json(f.read())

    def save(self, path) -> None:
        with open(path, "w") as f:
            f.write(self.to_json())


@dataclass
class Settings(_Message):
    """What every worker of a run needs: the parent writes it once (settings.json)."""

    course_root: str
    source_dir: str
    template_db: str
    work_dir: str
    cell_timeout: int | None
    timeout: float
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    tmp_bytes: int
    max_output_bytes: int
    nproc: int
    isolation: str  # "namespaces" or "limits"
    uid_base: int
    ro_paths: list[str]  # what the kernel's root shows read-only (sandbox.kernel_site_paths)
    handouts: dict[str, str]  # assignment -> the course package's folder its kernels see
    course_package: str  # c.GradeClass.course_package: its ``grading`` module holds the checks
    package_dir: str  # where the course's package lives: the hand-out is shown there
    checks: dict[str, dict[str, dict[str, list]]]  # assignment -> notebook -> cell -> check
    worker_memory_bytes: int
    preload: list[str]  # what the zygote imports before forking kernels
    zygote_socket: str | None = None  # set by each worker for itself


@dataclass
class Job(_Message):
    """One student's submission of one assignment, as the parent hands it to a worker."""

    id: int
    student: str
    assignment: str
    folder: str  # the submission as collected
    dir: str  # the job's scratch folder
    files: dict[str, str]  # name in the job -> file to copy there
    timestamp: str | None = None


@dataclass
class Result(_Message):
    """What became of a Job: from the worker, or from the pool when the worker could not say."""

    id: int
    graded: bool
    log: str = ""
    jail: dict | None = None  # the jail's status file: {"event", "exit_code" | "signal"...}
    verdicts: dict = field(default_factory=dict)  # notebook -> grade id -> {"passed", "message"}
    cgroup_memory: dict | None = None  # the kernel's control group hit its memory limit
    phases: dict = field(default_factory=dict)  # seconds per phase, for the bench
    seconds: float = 0.0
    timeout: bool = False  # past --timeout: the worker was killed
    crashed: bool = False  # the worker died under it


@dataclass
class JailSpec(_Message):
    """What one kernel's sandbox allows: the worker writes it ($LENET_JAIL_SPEC)."""

    isolation: str
    uid: int
    gid: int
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    nproc: int
    tmp_bytes: int
    ro_paths: list[str]
    rw_paths: list[str]
    root_dir: str
    status_dir: str
    env: dict[str, str]
    cgroups: dict[str, str] | None = None
    zygote: str | None = None  # the worker's zygote socket, when kernels are forked warm
    overlays: list[list[str]] = field(default_factory=list)  # [source, shown at]


@dataclass
class ZygoteRequest(_Message):
    """launch → zygote: start this kernel (its spec file, argv and working folder)."""

    spec: str
    argv: list[str]
    cwd: str
