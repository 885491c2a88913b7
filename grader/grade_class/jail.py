"""The sandbox a student's kernel runs in, so that it can hurt nothing but its own grade.

The job's jail spec (a JSON file that ``$LENET_JAIL_SPEC`` points to) says what to allow.
This module holds the mechanisms; ``launch`` is the entry point that uses them.

Full isolation (root, and ``unshare`` works):

1. ``python -I -m grade_class.launch -- KERNEL ...`` (``launch``: nbgrader starts
   every kernel through it) hands the connection file to the sandbox user and runs itself
   again under ``unshare`` in new PID, mount, network and IPC namespaces (or asks the
   worker's ``zygote`` for a warm kernel, which does the same); it dies with its parent
   (the worker), and the namespace with it;
2. ``launch --init -- KERNEL ...`` is process 1 there (``run_init``). It builds a root file system that holds
   only what a kernel needs (the system, Python's standard library, the packages of
   ``sandbox.kernel_site_paths``, the assignment's hand-out in place of the course's package, the
   notebook's folder read-only, a private home and /tmp: not the solutions, the other
   students, the gradebook, git, /root, PyTorch or the reference), chroots into it and starts the kernel as an unprivileged user
   with resource limits. Then it watches: past the memory limit it kills every process in
   the namespace; when the kernel exits it kills whatever the kernel left behind (process 1
   exiting ends the namespace). It writes what happened to a status file the kernel cannot
   reach;
3. the kernel: its own uid, no network (nbgrader talks to it over Unix sockets, the
   ``ipc`` transport), RLIMIT_AS / CPU / FSIZE / NPROC / CORE.

Reduced isolation (not root, or no namespaces here): step 1 starts the kernel as this
user, with the resource limits, and watches its session as process 1 does above (memory,
leftovers); a process that leaves the session escapes it. ``isolation()`` says which one a
run gets; the report names it.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import time

from .protocol import JailSpec


MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
STDERR_TAIL = 4000  # characters of the kernel's own stderr kept for the report
SANDBOX_UID_BASE = 1_990_000  # + the worker's slot: one uid per worker, owning no file
TMP_FILES = 20_000  # files and folders a kernel may make in its /tmp (and home)
SANDBOX_HOME = "/tmp/home"
_libc = ctypes.CDLL(None, use_errno=True)


def isolation() -> str:
    """``"namespaces"`` where this machine gives the full sandbox, else ``"limits"``."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "limits"
    probe = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "true"]
    done = subprocess.run(probe, capture_output=True)
    return "namespaces" if done.returncode == 0 else "limits"


def describe(level: str) -> str:
    if level == "namespaces":
        return ("full: each kernel in its own PID, mount, network and IPC namespaces, "
                "a minimal root, its own uid, resource limits")  # fmt: skip
    return ("reduced (not root, or no namespaces here): resource limits only; a kernel runs "
            "as this user and can see what this user sees")  # fmt: skip


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _mount(source, target: str, fstype, flags: int, data=None) -> None:
    def enc(s):
        return None if s is None else os.fsencode(s)

    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _bind(path: str, root: str, writable: bool, device: bool = False) -> None:
    """Show ``path`` at the same place under ``root``: a symlink as a symlink, else bound."""
    target = root + path
    if os.path.lexists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        os.symlink(os.readlink(path), target)
        return
    if os.path.isdir(path):
        os.makedirs(target)
    else:
        open(target, "w").close()
    _mount(path, target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if device else MS_NODEV)
    flags |= 0 if writable else MS_RDONLY
    _mount(None, target, None, flags)


def _outermost(paths: list[str]) -> list[str]:
    """The paths that exist, without those inside another one of them."""
    kept: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths if os.path.lexists(p)}):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _build_root(spec: JailSpec, cwd: str) -> str:
    """Mount the kernel's whole visible file system under ``spec.root_dir``."""
    root = spec.root_dir
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    os.makedirs(root + "/dev")
    _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=1m,mode=0755")
    for name in DEVICES:
        _bind("/dev/" + name, root, writable=True, device=True)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                       ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(link, f"{root}/dev/{name}")
    # the kernel's home is in its /tmp: bounded in bytes and in files, gone with the kernel
    tmpfs = f"size={spec.tmp_bytes},nr_inodes={TMP_FILES},mode=1777"
    for place in ("/tmp", "/dev/shm"):
        os.makedirs(root + place, exist_ok=True)
        _mount("tmpfs", root + place, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # bound last: a folder under /tmp (a job folder often is) shows on top of the new /tmp
    writable = set(spec.rw_paths)
    wanted = list(SYSTEM_PATHS) + spec.ro_paths + spec.rw_paths + [cwd]
    for path in _outermost(wanted):
        _bind(path, root, path in writable)
        real = os.path.realpath(path)
        if real != path:  # a symlink: show where it leads as well
            _bind(real, root, path in writable)
    for source, target in spec.overlays:  # the assignment's hand-out, in its package's place
        os.makedirs(root + target, exist_ok=True)
        _mount(source, root + target, None, MS_BIND | MS_REC)
        _mount(None, root + target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_RDONLY)
    return root


def _limit(spec: JailSpec) -> None:
    """Resource limits for the kernel and everything it starts."""
    cpu = spec.cpu_seconds
    for which, value in (
        (resource.RLIMIT_AS, spec.memory_bytes),
        (resource.RLIMIT_CPU, (cpu, cpu + 5)),  # SIGXCPU first, SIGKILL 5 s later
        (resource.RLIMIT_FSIZE, spec.file_bytes),
        (resource.RLIMIT_NPROC, spec.nproc),  # threads count too
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, value if isinstance(value, tuple) else (value, value))


def _namespace_members() -> list[int]:
    """Every process of this PID namespace but process 1 (us)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and p != "1"]


def _session_members() -> list[int]:
    """Every process of our session but us: the kernel and what it started (reduced mode)."""
    me, session, found = os.getpid(), os.getsid(0), []
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != me:
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == session:  # stat field 6, the session id
                    found.append(int(p))
            except (OSError, ValueError, IndexError):
                pass  # it exited meanwhile
    return found


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * resource.getpagesize()
        except (OSError, ValueError, IndexError):
            pass
    return total


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _describe(status: int) -> dict:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {"signal": sig, "signal_name": signal.Signals(sig).name}
    return {"exit_code": os.WEXITSTATUS(status)}


def _watch(spec: JailSpec, kernel: int, stderr_fd: int, members) -> dict:
    """Wait for the kernel, reaping orphans, killing everything past the memory limit."""
    tail = b""
    while True:
        readable, _, _ = select.select([stderr_fd], [], [], 0.1)
        if readable:
            tail = (tail + os.read(stderr_fd, 65536))[-STDERR_TAIL:]
        while True:  # reap: in the namespace, orphans of the kernel end up here
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = kernel, 0
            if pid == 0:
                break
            if pid == kernel:
                return {"event": "exited", **_describe(status), "stderr": tail.decode(errors="replace")}
        pids = members()
        rss = _rss(pids)
        if rss > spec.memory_bytes:
            _kill(pids)
            return {"event": "memory", "rss_bytes": rss, "stderr": tail.decode(errors="replace")}


def _start_kernel(spec: JailSpec, kernel_argv: list[str], output_fd: int, sandboxed: bool,
                  start=None) -> None:  # fmt: skip
    """In the forked child: become the sandbox user (if sandboxed), limited, and run the
    kernel: ``start(spec, kernel_argv, output_fd)`` in-process (``zygote``), else exec."""
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(output_fd, 1)  # never the worker's result pipe
    os.dup2(output_fd, 2)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # nbclient interrupts a cell with SIGINT
    _limit(spec)
    if sandboxed:
        os.setgroups([])
        os.setresgid(spec.gid, spec.gid, spec.gid)
        os.setresuid(spec.uid, spec.uid, spec.uid)
        env = spec.env
    else:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        env = {**os.environ, **spec.env}
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if start is not None:
        start(spec, kernel_argv, output_fd)
        os._exit(0)
    os.execve(kernel_argv[0], kernel_argv, env)


def _supervise(spec: JailSpec, kernel_argv: list[str], status_dir: int, sandboxed: bool,
               start=None) -> int:  # fmt: skip
    """Start the kernel, watch it, clean up after it, and say what happened."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # meant for the kernel, not for us
    read_end, write_end = os.pipe()
    kernel = os.fork()
    if kernel == 0:
        try:
            os.close(read_end)
            _start_kernel(spec, kernel_argv, write_end, sandboxed, start)
        except BaseException as error:  # say why in the status file, through the pipe
            os.write(write_end, f"jail: could not start the kernel: {error!r}".encode())
        finally:
            os._exit(127)
    os.close(write_end)
    members = _namespace_members if sandboxed else _session_members
    started = time.monotonic()
    outcome = _watch(spec, kernel, read_end, members)
    _kill(members())  # whatever the kernel left behind
    outcome["seconds"] = round(time.monotonic() - started, 3)
    fd = os.open("status.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=status_dir)
    with os.fdopen(fd, "w") as f:
        json.dump(outcome, f)
    return 128 + outcome.get("signal", 9) if "exit_code" not in outcome else outcome["exit_code"]


def run_init(spec: JailSpec, kernel_argv: list[str]) -> int:
    """Process 1 of the sandbox namespace."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # unshare gone: so are we, and the namespace
    cwd = os.getcwd()
    status_dir = os.open(spec.status_dir, os.O_RDONLY | os.O_DIRECTORY)
    root = _build_root(spec, cwd)
    os.chroot(root)
    os.chdir(cwd)
    return _supervise(spec, kernel_argv, status_dir, sandboxed=True)
