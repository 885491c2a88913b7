"""A control group per kernel, where the machine allows it: memory that nothing escapes
(memfd, tmpfs, page cache: what the jail's RSS watch cannot see), an equal share of the
CPU whatever the number of processes a kernel starts (so one busy kernel cannot make
another time out), and a bound on its processes.

The trusted worker makes the group (``create``) before the kernel starts and removes it
after; the jail moves itself into it (``enter``) before it starts the kernel, so that the
kernel and everything it starts are in it. Where control groups cannot be made (not root,
a read-only /sys/fs/cgroup), ``create`` returns None and the jail's limits and watch are
all there is; the report says which.
"""

from __future__ import annotations

import os
import signal
import time

ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "cpu", "pids")


def _current(controller: str) -> str | None:
    """This process's group for ``controller`` (cgroup v1), as a path under ROOT."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if controller in names.split(","):
                    return os.path.join(ROOT, controller, path.lstrip("/"))
    except OSError:
        pass
    return None


def _write(path: str, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _folder(controller: str, name: str) -> str:
    """Where group ``name`` of ``controller`` lives: under this process's own group."""
    parent = _current(controller)
    if parent is None or not os.path.isdir(parent):
        raise OSError(f"no {controller} control group here")
    return os.path.join(parent, "lenet-grading", name)


def create(name: str, memory_bytes: int, max_pids: int) -> dict[str, str] | None:
    """Groups ``name`` under this process's own, limited; {controller: folder} or None."""
    made: dict[str, str] = {}
    try:
        for controller in CONTROLLERS:
            folder = _folder(controller, name)
            os.makedirs(folder, exist_ok=True)
            made[controller] = folder
        _write(os.path.join(made["memory"], "memory.limit_in_bytes"), memory_bytes)
        swap = os.path.join(made["memory"], "memory.memsw.limit_in_bytes")
        if os.path.exists(swap):
            _write(swap, memory_bytes)
        _write(os.path.join(made["cpu"], "cpu.shares"), 1024)  # every kernel alike
        _write(os.path.join(made["pids"], "pids.max"), max_pids)
    except OSError:
        remove(made)
        return None
    return made


def find(name: str) -> dict[str, str] | None:
    """The groups ``name`` that a process in this one's group made, where they still exist:
    found from the name alone, never from a file a kernel could have written."""
    try:
        found = {controller: _folder(controller, name) for controller in CONTROLLERS}
    except OSError:
        return None
    return {c: folder for c, folder in found.items() if os.path.isdir(folder)} or None


def enter(groups: dict[str, str] | None) -> None:
    """Move this process (and so what it starts) into the groups."""
    for folder in (groups or {}).values():
        _write(os.path.join(folder, "cgroup.procs"), os.getpid())


def members(groups: dict[str, str] | None) -> list[int]:
    try:
        with open(os.path.join((groups or {})["pids"], "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, KeyError, ValueError):
        return []


def out_of_memory(groups: dict[str, str] | None) -> dict | None:
    """{"peak_bytes", "limit_bytes", "oom_kills"} when the group hit its memory limit, else
    None. Any of three signs counts: the failure count, the OOM killer's count, a peak at
    the limit (some kernels, gVisor's among them, keep the failure count at 0)."""
    if not groups or "memory" not in groups:
        return None
    folder = groups["memory"]

    def read(name: str) -> str:
        with open(os.path.join(folder, name)) as f:
            return f.read()

    try:
        failed = int(read("memory.failcnt"))
        peak = int(read("memory.max_usage_in_bytes"))
        limit = int(read("memory.limit_in_bytes"))
    except (OSError, ValueError):
        return None
    try:
        control = dict(line.split() for line in read("memory.oom_control").splitlines())
        kills = int(control.get("oom_kill", 0))
    except (OSError, ValueError):
        kills = 0
    if failed or kills or peak >= limit:
        return {"peak_bytes": peak, "limit_bytes": limit, "oom_kills": kills}
    return None


def remove(groups: dict[str, str] | None) -> None:
    """Kill whatever is left in the groups, and remove them."""
    for _ in range(50):
        left = members(groups)
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    for folder in (groups or {}).values():
        try:
            os.rmdir(folder)
        except OSError:
            pass
