"""nbgrader's Execute, bounded, and telling the verdict server which cell runs.

A kernel cannot make the grader hold megabytes of output.
Past ``max_output_bytes`` per notebook, what a cell prints or displays is dropped, but
nothing that decides a grade is: an error is kept (its traceback shortened), stderr is kept
as one short line (nbgrader gives a cell with stderr no points), and a cell's result is kept
(cut to a few hundred characters: nbgrader reads partial credit from it). The bytes dropped
go into the notebook's metadata, where the report finds them.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from nbgrader.preprocessors import Execute
from traitlets import Integer

METADATA_KEY = "lenet_grading"
KEEP_CHARS = 500  # of a result, an error value or a traceback line, once past the cap
KEEP_TRACEBACK_LINES = 40


def _size(content: dict) -> int:
    if "text" in content:
        return len(content["text"])
    if "data" in content:
        return sum(len(str(v)) for v in content["data"].values())
    return len(content.get("evalue", "")) + sum(len(line) for line in content.get("traceback", []))


def _shortened(msg_type: str, content: dict) -> dict | None:
    """What is kept of an output once past the cap, or None to drop it."""
    if msg_type == "error":
        traceback = [line[:KEEP_CHARS] for line in content.get("traceback", [])]
        if len(traceback) > KEEP_TRACEBACK_LINES:
            half = KEEP_TRACEBACK_LINES // 2
            traceback = traceback[:half] + ["... traceback cut by the grader ..."] + traceback[-half:]
        return {**content, "evalue": content.get("evalue", "")[:KEEP_CHARS], "traceback": traceback}
    if msg_type == "stream" and content.get("name") == "stderr":
        return {**content, "text": content["text"][:KEEP_CHARS] + "\n[stderr cut by the grader]\n"}
    if msg_type == "execute_result":
        data = {k: str(v)[:KEEP_CHARS] for k, v in content.get("data", {}).items() if k == "text/plain"}
        return {**content, "data": data}
    return None


class CappedExecute(Execute):
    max_output_bytes = Integer(
        2_000_000, help="characters of output kept per notebook; past them only what grades"
    ).tag(config=True)
    # The job's ``verdict.VerdictServer`` (nbgrader makes the instance, the worker sets this):
    # told which notebook and which cell run, so that it accepts a check only from its cell.
    verdicts = None
    timings: dict = {}  # "kernel_start" and "cells" seconds, summed over the job's notebooks

    def _time(self, key: str, since: float) -> None:
        CappedExecute.timings[key] = round(CappedExecute.timings.get(key, 0.0)
                                           + time.monotonic() - since, 3)  # fmt: skip

    def preprocess_cell(self, cell, resources, index):
        if self._first_cell:
            self._time("kernel_start", self._started)
            self._first_cell = False
        started = time.monotonic()
        try:
            return self._run_cell(cell, resources, index)
        finally:
            self._time("cells", started)

    def _run_cell(self, cell, resources, index):
        server = CappedExecute.verdicts
        if server is None:
            return super().preprocess_cell(cell, resources, index)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        server.begin_cell(meta.get("grade_id") if isinstance(meta, dict) else None)
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            server.end_cell()

    def preprocess(self, nb, resources=None, km=None):
        self._started, self._first_cell = time.monotonic(), True
        if CappedExecute.verdicts is not None:
            CappedExecute.verdicts.begin_notebook((resources or {}).get("unique_key", ""))
        self._kept = 0
        self._dropped = 0
        self._cut_stderr: set[int] = set()  # cells that already hold their short stderr line
        nb, resources = super().preprocess(nb, resources, km)
        if self._dropped:
            nb.metadata.setdefault(METADATA_KEY, {})["dropped_output_bytes"] = self._dropped
        return nb, resources

    def output(self, outs, msg, display_id, cell_index):
        size = _size(msg["content"])
        if self._kept + size <= self.max_output_bytes:
            self._kept += size
            return super().output(outs, msg, display_id, cell_index)
        self._dropped += size
        kept = _shortened(msg["msg_type"], msg["content"])
        if kept is None or cell_index in self._cut_stderr and msg["msg_type"] == "stream":
            return None
        if msg["msg_type"] == "stream":
            self._cut_stderr.add(cell_index)
        return super().output(outs, {**msg, "content": kept}, display_id, cell_index)


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel is.

    ``wait_for_ready`` of jupyter_client drains IOPub until it stays silent for 0.2 s, so
    every notebook paid 0.2 s of waiting after its kernel had answered. A kernel publishes
    ``status: idle`` on IOPub after it has handled each request, so this one waits for the
    ``kernel_info_reply`` and then for the idle of that same request: IOPub is connected and
    everything the kernel published before it has been read, and nothing more can come
    until a cell runs. The worker sets it as the kernel manager's ``client_class``."""

    async def _prompt_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                request = reply["parent_header"].get("msg_id")
                if await self._idle_after(request, 0.25):  # else IOPub was not yet connected: again
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _idle_after(self, request: str | None, timeout: float) -> bool:
        """Read IOPub until the kernel's idle after ``request``; False if it does not come."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_id") == request):  # fmt: skip
                return True
        return False

    wait_for_ready = _prompt_wait_for_ready
