"""Kernels started warm: one zygote per worker imports once what every notebook needs.

A kernel spends a second or two importing ipykernel and numpy. The zygote does that once,
before any student code exists: it imports ``settings['preload']`` (only what every
kernel may hold: never the reference, PyTorch or the checks, which a forked kernel would
inherit in memory), then forks one kernel per notebook. A forked kernel starts in some
50 ms.

The sandbox is the same as ``jail``'s: for each kernel the zygote forks a process that
enters new mount, network, IPC and PID namespaces and forks process 1 there, which builds
the minimal root, chroots and starts the kernel as the sandbox user, in-process
(``IPKernelApp``) instead of by exec. The kernel closes every descriptor it inherited, so it
cannot reach the zygote. The jail that jupyter_client started stays connected until the
kernel is done; if it is killed, the connection drops and the namespace is killed with it.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys

from . import cgroup, jail
from .protocol import JailSpec, ZygoteRequest

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID = 0x20000, 0x08000000, 0x40000000, 0x20000000
MS_REC, MS_PRIVATE = 16384, 1 << 18


def _preload(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # a course without it: its notebooks import what they need


def _unshare(flags: int) -> None:
    if jail._libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")


def _run_kernel(spec: JailSpec, kernel_argv: list[str], output_fd: int) -> None:
    """In the kernel process: only the output pipe stays open; then ipykernel, in-process."""
    os.closerange(3, output_fd)
    os.closerange(output_fd + 1, 65536)
    os.environ.clear()
    os.environ.update(spec.env)
    connection = kernel_argv[kernel_argv.index("-f") + 1]
    sys.argv = ["ipykernel_launcher", "-f", connection]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=["-f", connection])


def _process_one(spec: JailSpec, kernel_argv: list[str], cwd: str) -> int:
    """Process 1 of a new namespace: the same supervision as the jail's, a warm kernel."""
    jail._prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
    status_dir = os.open(spec.status_dir, os.O_RDONLY | os.O_DIRECTORY)
    jail._build_root(spec, cwd)
    os.chroot(spec.root_dir)
    os.chdir(cwd)
    return jail._supervise(spec, kernel_argv, status_dir, sandboxed=True, start=_run_kernel)


def _serve_one(conn: socket.socket) -> int:
    """For one kernel: new namespaces, process 1 in them, and a watch on the jail's connection."""
    jail._prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # we wait for our child ourselves
    request = ZygoteRequest.from_json(conn.makefile().readline())
    spec = JailSpec.load(request.spec)
    cgroup.enter(spec.cgroups)  # the kernel's memory, CPU share and processes
    _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID)
    jail._mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount shows outside
    first = os.fork()
    if first == 0:
        code = 1
        try:
            conn.close()
            code = _process_one(spec, request.argv, request.cwd)
        finally:
            os._exit(code)
    while True:  # until process 1 is done, or the jail that asked for it is gone
        readable, _, _ = select.select([conn], [], [], 0.2)
        if readable and not conn.recv(1):
            os.kill(first, signal.SIGKILL)
        pid, status = os.waitpid(first, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            try:
                conn.sendall(f"{code}\n".encode())
            except OSError:
                pass
            return 0


def serve(socket_path: str, preload: list[str]) -> None:
    _preload(preload)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    os.chmod(socket_path, 0o600)
    server.listen(8)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    print("ready", flush=True)
    while True:
        try:
            conn, _ = server.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            server.close()
            os._exit(_serve_one(conn))
        conn.close()


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def request_kernel(socket_path: str, spec_path: str, kernel_argv: list[str]) -> int:
    """From the jail jupyter_client started: have the zygote start the kernel; its exit code."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(socket_path)
    request = ZygoteRequest(spec=spec_path, argv=kernel_argv, cwd=os.getcwd())
    conn.sendall((request.to_json() + "\n").encode())
    reply = conn.makefile().readline()
    return int(reply) if reply.strip() else 1


if __name__ == "__main__":
    jail._prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker gone: so is the zygote
    serve(sys.argv[1], json.loads(sys.argv[2]))
