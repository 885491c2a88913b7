"""The job queue: one worker per core, each job under a wall-clock limit.

The parent sends a job to an idle worker and waits on all of them at once. A job that runs
past ``timeout`` seconds gets its worker killed (with the worker goes its kernel: the jail
dies with its parent), and is answered ``{"timeout": true}``; a worker that dies (out of
memory on a flood of output, say) is answered ``{"crashed": true}`` with the end of its log.
Either way a fresh worker takes the slot and the other jobs go on.
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from .protocol import Job, Result
from .worker import traces

PR_SET_PDEATHSIG = 1
READY_TIMEOUT = 120  # seconds for a fresh worker to import nbgrader on a busy machine


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class _Worker:
    def __init__(self, slot: int, settings_path: Path, log_dir: Path):
        self.slot = slot
        self.log_path = log_dir / f"worker-{slot}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grade_class.worker", str(settings_path), str(slot)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        log.close()
        self.buffer = b""
        self.ready = False
        self.job: Job | None = None
        self.pending: list[dict] = []  # messages read but not yet handled (the Dask pool)
        self.since = time.monotonic()

    def send(self, job: dict) -> None:
        self.job, self.since = job, time.monotonic()
        self.proc.stdin.write((job.to_json() + "\n").encode())
        self.proc.stdin.flush()

    def read_lines(self) -> list[str] | None:
        """Complete lines available now; None at end of file (the worker died)."""
        chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode() for line in lines if line.strip()]

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""


class WorkerPool:
    def __init__(self, settings_path: Path, workers: int, timeout: float, log_dir: Path):
        self.settings_path, self.timeout, self.log_dir = settings_path, timeout, log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.selector = selectors.DefaultSelector()
        self.workers = [self._start(slot) for slot in range(1, workers + 1)]

    def _start(self, slot: int) -> _Worker:
        worker = _Worker(slot, self.settings_path, self.log_dir)
        self.selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        self.selector.unregister(worker.proc.stdout)
        worker.kill()
        self.workers[self.workers.index(worker)] = self._start(worker.slot)

    def run(self, jobs, on_done) -> None:
        """Grade every job; ``on_done(job, result)`` in the parent as each one ends."""
        pending = deque(jobs)
        while pending or any(w.job for w in self.workers):
            for worker in self.workers:
                if worker.ready and worker.job is None and pending:
                    worker.send(pending.popleft())
            for key, _ in self.selector.select(timeout=0.5):
                self._on_readable(key.data, on_done)
            self._check_clocks(on_done)

    def _on_readable(self, worker: _Worker, on_done) -> None:
        lines = worker.read_lines()
        if lines is None:  # the worker died
            if not worker.ready:
                raise RuntimeError(
                    f"a grading worker failed to start; its log ({worker.log_path}) ends with:\n"
                    + worker.log_tail(1500)
                )
            job = worker.job
            self._replace(worker)
            if job is not None:
                on_done(job, Result(id=job.id, graded=False, crashed=True, log=worker.log_tail(),
                                    **traces(job)))  # fmt: skip
            return
        for line in lines:
            message = json.loads(line)
            if "ready" in message:
                worker.ready = True
            elif worker.job is not None:
                job, worker.job = worker.job, None
                on_done(job, Result.from_dict(message))

    def _check_clocks(self, on_done) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.job is not None and now - worker.since > self.timeout:
                job = worker.job
                self._replace(worker)
                on_done(job, Result(id=job.id, graded=False, timeout=True,
                                    log=f"killed after {self.timeout:.0f} s",
                                    **traces(job)))  # fmt: skip
            elif not worker.ready and now - worker.since > READY_TIMEOUT:
                raise RuntimeError(
                    f"a grading worker did not start in {READY_TIMEOUT} s; its log "
                    f"({worker.log_path}) ends with:\n{worker.log_tail(1500)}"
                )

    def close(self) -> None:
        for worker in self.workers:
            self.selector.unregister(worker.proc.stdout)
            worker.kill()
        self.selector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
