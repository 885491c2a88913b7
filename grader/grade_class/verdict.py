"""The trusted side of every check in the class grader: verdicts no student code can reach.

A worker starts one ``VerdictServer`` per submission, on a Unix socket that only that
submission's kernel can see (``$LENET_VERDICT_SOCKET``). nbgrader's executor tells it which
cell it is about to run (``capped.CappedExecute``). When the kernel's ``check`` connects
(``<course_package>.grading.remote``), the server accepts one check per test cell
execution, and only the check that cell stands for in the course's source notebook; it
runs the behaviour here (``<course_package>.grading.run_check``, ``course.course_grading``),
with a ``RemoteAnswers`` session: the
server makes the inputs, the kernel runs the student's function on them and sends back
plain data (``wire``), and the server compares it with the reference. The verdict is
recorded per grade cell; the score of a check cell comes from this record alone (a cell
whose check never called, or was silenced, scores 0). The kernel is sent the verdict's
message to show; for a hidden test, only its first line and the name of a known mistake:
no expected value of a hidden test ever enters the kernel.

Process tree of one job (see also ``worker``)::

    worker (trusted: nbgrader, this server in a thread, the reference, PyTorch)
      └─ jail ─ namespaces ─ kernel (student code; numpy and the course's hand-outs only)
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time

HELLO_SECONDS = 10  # for the kernel to say which check it is, once connected


class KernelGone(AssertionError):
    """The kernel stopped answering mid-check, or sent something that is not an answer."""


class RemoteAnswers:
    """The student's functions, living in the kernel at the other end of ``conn``: the
    ``Answers`` session of the course's ``grading.guard``, whose checks hold each function
    as a ``guard.Answer``."""

    def __init__(self, conn: socket.socket, names, callables, grading):
        self.conn, self.guard, self.wire = conn, grading.guard, grading.wire
        self.names = [str(n)[:80] for n in names]
        self.callable = [bool(c) for c in callables]
        self.calls = 0

    def __len__(self):
        return len(self.names)

    def answer(self, index: int):
        return self.guard.Answer(self, index)

    def exception(self):
        return None  # the student's exception stays in the kernel

    def run(self, index, args, kwargs, refs):
        self.calls += 1
        wire = self.wire
        try:
            wire.send(self.conn, {"op": "call", "id": self.calls, "answer": index,
                                  "args": list(args), "kwargs": kwargs, "refs": list(refs)})  # fmt: skip
            reply = wire.receive(self.conn)
        except (OSError, EOFError, wire.WireError) as error:
            raise KernelGone(f"the notebook stopped answering the check ({error}): interrupted "
                             "at its time limit, crashed, or sent what is not plain data") from None  # fmt: skip
        if isinstance(reply, dict) and isinstance(reply.get("raised"), str):
            return {"raised": reply["raised"][:100], "message": str(reply.get("message", ""))[:2000]}
        if (isinstance(reply, dict) and "value" in reply and isinstance(reply.get("mutated"), list)
                and all(type(i) is int and 0 <= i < len(args) for i in reply["mutated"])):  # fmt: skip
            return {"value": reply["value"], "mutated": reply["mutated"]}
        raise KernelGone("the notebook sent something that is not an answer")


def _for_hidden(message: str) -> str:
    """What a hidden test's failure may tell the kernel: no expected values."""
    lines = message.splitlines()
    first = re.sub(r"[:;,]?\s*\bexpected\b.*$", "", lines[0]) if lines else ""
    kept = [first] + [line for line in lines[1:] if "common mistake" in line]
    return "\n".join(kept + ["  (a hidden test: its inputs and expected values are not shown)"])


class VerdictServer:
    """Verdicts of one submission: ``verdicts[notebook][grade_id] = {"passed", "message"}``.

    ``checks[notebook][grade_id] = (exercise, behaviour, hidden)``: the check cells of the
    course's source notebooks, read by the trusted parent.
    """

    def __init__(self, path: str, checks: dict, reply_seconds: float, grading):
        self.path, self.checks, self.reply_seconds = path, checks, reply_seconds
        self.grading = grading  # the course's checks (``course.course_grading``)
        self.verdicts: dict[str, dict[str, dict]] = {}
        self.check_seconds = 0.0  # in the checks, the student's functions included
        self._lock = threading.Lock()
        self._notebook: str | None = None
        self._cell: str | None = None
        self._taken = True
        if os.path.lexists(path):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        os.chmod(path, 0o666)  # the kernel's uid; the folder around it is the kernel's alone
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # --- what nbgrader's executor says ------------------------------------------------------

    def begin_notebook(self, notebook: str) -> None:
        with self._lock:
            self._notebook = notebook
            self.verdicts.setdefault(notebook, {})

    def begin_cell(self, grade_id: str | None) -> None:
        with self._lock:
            self._cell, self._taken = grade_id, False

    def end_cell(self) -> None:
        with self._lock:
            self._cell, self._taken = None, True

    def close(self) -> None:
        try:
            self._sock.close()
        finally:
            if os.path.lexists(self.path):
                os.unlink(self.path)

    # --- the kernel's side ----------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            try:
                self._handle(conn)
            except Exception:  # noqa: BLE001 (one bad connection must not stop the server)
                pass
            finally:
                conn.close()

    def _claim(self, hello) -> tuple[str, str, tuple] | str:
        """The (notebook, grade_id, check) this connection may run, or why not."""
        if not (isinstance(hello, dict) and hello.get("op") == "check"
                and isinstance(hello.get("answers"), list) and isinstance(hello.get("callable"), list)
                and len(hello["answers"]) == len(hello["callable"]) <= 8):  # fmt: skip
            return "not a check"
        with self._lock:
            notebook, cell = self._notebook, self._cell
            wanted = self.checks.get(notebook, {}).get(cell)
            if wanted is None:
                return "check() ran outside its test cell: it counts only where the notebook calls it"
            if self._taken:
                return "this test cell already ran its check"
            if (hello.get("exercise"), hello.get("name")) != tuple(wanted[:2]):
                return f"this test cell checks {wanted[0]} ({wanted[1]}), not something else"
            self._taken = True
        return notebook, cell, tuple(wanted)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(HELLO_SECONDS)
        wire = self.grading.wire
        hello = wire.receive(conn)
        claim = self._claim(hello)
        if isinstance(claim, str):
            wire.send(conn, {"op": "refused", "message": f"not graded: {claim}"})
            return
        notebook, cell, (exercise, name, hidden) = claim
        conn.settimeout(self.reply_seconds)
        answers = RemoteAnswers(conn, hello["answers"], hello["callable"], self.grading)
        started = time.monotonic()
        verdict = self.grading.run_check(exercise, name, answers)
        self.check_seconds += time.monotonic() - started
        with self._lock:
            self.verdicts[notebook].setdefault(cell, {"passed": verdict.passed,
                                                      "message": verdict.message[:4000]})  # fmt: skip
        shown = verdict.message if verdict.passed or not hidden else _for_hidden(verdict.message)
        try:
            wire.send(conn, {"op": "verdict", "passed": verdict.passed, "message": shown})
        except OSError:
            pass
