"""The kernel's launcher: what the worker's kernelspec runs for every kernel,
``python -I -m grade_class.launch -- KERNEL ARGS``.

It chooses how the kernel starts, by the job's jail spec (``$LENET_JAIL_SPEC``):

- full sandbox with a zygote: asks the worker's ``zygote`` to fork a warm kernel in new
  namespaces, and stays connected until it is done;
- full sandbox without one: runs itself again as ``--init`` under ``unshare`` in new PID,
  mount, network and IPC namespaces, where ``jail.run_init`` builds the root and starts
  the kernel;
- reduced: starts the kernel as this user, with limits and the watch (``jail``).

Every Python started here runs with ``-I``: the working directory is the student's
notebook folder, and a ``json.py`` there must never be imported by a process running as
root. ``jail`` and ``zygote`` hold the mechanisms; neither imports this module, nor each
other's entry point.
"""

from __future__ import annotations

import os
import signal
import sys

from . import cgroup, jail, zygote
from .protocol import JailSpec


def _kernel_argv(argv: list[str]) -> list[str]:
    if "--" not in argv:
        raise SystemExit("usage: python -I -m grade_class.launch [--init] -- KERNEL ARGS")
    return argv[argv.index("--") + 1 :]


def main(argv: list[str]) -> int:
    spec = JailSpec.load(os.environ["LENET_JAIL_SPEC"])
    kernel_argv = _kernel_argv(argv)
    if argv and argv[0] == "--init":
        return jail.run_init(spec, kernel_argv)
    jail._prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker gone: so is the kernel
    if spec.cgroups and not spec.zygote:  # the zygote's helper enters instead
        cgroup.enter(spec.cgroups)
    if spec.isolation == "namespaces":
        connection = kernel_argv[kernel_argv.index("-f") + 1]
        os.chown(connection, spec.uid, spec.gid)  # jupyter_client writes it 0600
        if spec.zygote:  # a warm kernel, forked; interrupts come as messages
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return zygote.request_kernel(spec.zygote, os.environ["LENET_JAIL_SPEC"], kernel_argv)
        unshare = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc"]
        init = [sys.executable, "-I", "-m", "grade_class.launch", "--init", "--"]
        os.execvp("unshare", unshare + init + kernel_argv)
    status_dir = os.open(spec.status_dir, os.O_RDONLY | os.O_DIRECTORY)
    return jail._supervise(spec, kernel_argv, status_dir, sandboxed=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
