"""The job queue on a Dask cluster: submissions graded by ``dask worker`` processes on any
number of machines, with the same sandbox as on one machine.

The coordinator (``grade-class --scheduler ADDRESS``) submits one task per submission;
a task runs ``grade_on_worker`` in a Dask worker process, which keeps one grading worker
(``worker.py``, started once, with its warm kernels) per Dask worker process and hands it
the job, under the same wall-clock limit as the local pool. Only plain results come back;
the coordinator alone writes the gradebook, the CSV, the report and the per-submission
records, as it does with the local pool. So resuming works the same way: a submission is
done when its record is written; a Dask worker that dies mid-job has its task run again
elsewhere (Dask's own retry), and a coordinator or scheduler that dies leaves the records
of what was finished, which the next run skips.

What the cluster must share with the coordinator: the course, the submissions and the
output folder on the same paths (a shared file system), and the same Python environment.
Each Dask worker machine needs root and ``unshare`` for the full sandbox, like one machine.
Run a worker with one thread (``--nthreads 1``): a grading worker grades one notebook at a
time, and every task of a thread shares it.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import time
from pathlib import Path

from .pool import _Worker
from .protocol import Job, Result
from .worker import traces

_WORKERS: dict[str, _Worker] = {}  # settings file -> this Dask worker process's grading worker
SLOT_BASE = 1000  # local pools use slots 1..cores; Dask workers 1000 and up


def _slot() -> int:
    """A slot (sandbox uid, scratch folder) of this Dask worker process's own."""
    name = f"{os.uname().nodename}-{os.getpid()}"
    return SLOT_BASE + int(hashlib.sha1(name.encode()).hexdigest(), 16) % 900_000


def _next(worker: _Worker, deadline: float) -> dict | None:
    """The worker's next message, or None when it died; raises TimeoutError past deadline."""
    with selectors.DefaultSelector() as selector:
        selector.register(worker.proc.stdout, selectors.EVENT_READ)
        while not worker.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if selector.select(timeout=min(left, 1.0)):
                lines = worker.read_lines()
                if lines is None:
                    return None
                worker.pending.extend(json.loads(line) for line in lines)
    return worker.pending.pop(0)


def _worker(settings_path: str) -> _Worker:
    worker = _WORKERS.get(settings_path)
    if worker is None or worker.proc.poll() is not None:
        log_dir = Path(settings_path).parent / "dask-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        worker = _WORKERS[settings_path] = _Worker(_slot(), Path(settings_path), log_dir)
    return worker


class GradingWorkerDied(RuntimeError):
    """The grading worker of a Dask worker process died under a job."""


def grade_on_worker(job: Job, settings_path: str, timeout: float) -> Result:
    """In a Dask worker: grade one job with this process's grading worker."""
    worker = _worker(settings_path)
    try:
        if not worker.ready:
            worker.ready = _next(worker, time.monotonic() + 300) is not None
        if worker.ready:
            worker.send(job)
            result = _next(worker, time.monotonic() + timeout)
        else:
            result = None
    except TimeoutError:
        worker.kill()
        _WORKERS.pop(settings_path, None)
        return Result(id=job.id, graded=False, timeout=True, **traces(job))
    if result is None:  # it died under this job (or starting)
        tail = worker.log_tail()
        worker.kill()
        traces(job)  # removes its kernel's control group
        _WORKERS.pop(settings_path, None)
        # Not a verdict: the Dask worker may be going down around it (killed, scaled down),
        # so the task fails and Dask runs it again elsewhere; after its retries the
        # coordinator records it as crashed, with this message.
        raise GradingWorkerDied(f"the grading worker died under this submission: {tail[-1500:]}")
    worker.job = None
    return Result.from_dict(result)


class DaskPool:
    """``WorkerPool``'s interface (``run(jobs, on_done)``) over a Dask scheduler."""

    def __init__(self, address: str, settings_path: Path, timeout: float):
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError("--scheduler needs Dask's distributed: pip install "
                               "'grade-class[dask]' (or distributed)") from None  # fmt: skip
        self.client = Client(address, timeout="30s")
        self.settings_path, self.timeout = str(settings_path), timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()

    def run(self, jobs, on_done) -> None:
        from distributed import as_completed

        futures = {self.client.submit(grade_on_worker, job, self.settings_path, self.timeout,
                                      key=f"grade-{job.id}-{os.getpid()}-{time.time_ns()}",
                                      pure=False, retries=2): job for job in jobs}  # fmt: skip
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 (a task Dask gave up on: that job's problem)
                result = Result(id=job.id, graded=False, crashed=True,
                                log=f"the Dask task failed: {type(error).__name__}: {error}")  # fmt: skip
            on_done(job, result)
