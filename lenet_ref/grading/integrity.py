"""Has anything the checks rely on been replaced in this kernel?

A student's cell runs in the same Python process as the test cells, so it can patch
``np.allclose``, a function of ``lenet_ref`` or the checks themselves. Before each check
we compare a fingerprint of every function and constant of the watched modules with the
fingerprint of the same modules freshly imported in a separate Python process, which the
notebook cannot have touched. A mismatch means something was patched; the check then
fails and names what.

A fingerprint says what an object is, not where it lives: a Python function by its
module, name, file, first line and bytecode; a builtin, ufunc or class by its type and
name; a constant by its value. So ``np.allclose = lambda *a, **k: True`` is caught, and
so is ``spec.C3_TABLE = ...`` or an in-place change of an array in ``lenet_ref``.

The limit, said plainly: code that runs in the kernel can in the end subvert any check
that runs there too (it could replace this module before it is first used). The class
grader adds a scan of the submitted source, outside the kernel, for exactly such tricks.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import types

import numpy as np

# Modules watched entirely (their own attributes), when the kernel has imported them.
WATCHED_PREFIXES = ("lenet_ref",)
WATCHED_MODULES = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random", "math", "torch",
                   "torch.nn.functional")  # fmt: skip
# Of these modules only the names listed: the rest legitimately differs in a notebook kernel
# (IPython replaces sys.stdout, adds display() to builtins...).
WATCHED_NAMES = {
    "sys": ("setprofile", "getprofile", "settrace", "gettrace", "exc_info"),
    "builtins": ("abs", "all", "any", "bool", "callable", "compile", "dict", "enumerate", "exec",
                 "float", "getattr", "hasattr", "int", "isinstance", "issubclass", "iter", "len",
                 "list", "max", "min", "next", "range", "repr", "round", "set", "sorted", "str",
                 "sum", "tuple", "type", "zip", "__import__"),
}  # fmt: skip

# What the checks import as they go: fingerprinted up front, so that one fresh process
# (about 2 s, most of it importing torch) serves the whole notebook.
EXPECTED_MODULES = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random", "math", "sys",
                    "builtins", "torch", "torch.nn.functional", "lenet_ref.torch",
                    "lenet_ref.data", "lenet_ref.grading")  # fmt: skip

_pristine: dict[str, dict[str, str]] = {}


class PatchedError(AssertionError):
    """Something the checks rely on was replaced: no points for the check that found it."""


def fingerprint(obj) -> str:
    if isinstance(obj, types.FunctionType):
        code = obj.__code__
        digest = hashlib.sha1(code.co_code + repr(code.co_names).encode()).hexdigest()[:16]
        where = f"{code.co_filename}:{code.co_firstlineno}"
        return f"function {obj.__module__}.{obj.__qualname__} {where} {digest}"
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(obj).tobytes()).hexdigest()[:16]
        return f"ndarray {obj.dtype} {obj.shape} {digest}"
    if isinstance(obj, (int, float, str, bytes, bool, tuple, frozenset, type(None))):
        text = repr(obj)
        return text if " at 0x" not in text else type(obj).__qualname__
    kind = type(obj)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    return f"{kind.__module__}.{kind.__qualname__} {getattr(obj, '__module__', '')} {name}"


def fingerprints(module_names) -> dict[str, dict[str, str]]:
    """{module: {attribute: fingerprint}} of the modules named, as imported in this process."""
    result = {}
    for name in module_names:
        module = sys.modules.get(name)
        if module is None:
            continue
        names = WATCHED_NAMES.get(name)
        attrs = vars(module)
        if names is None:
            names = [a for a in attrs if not (a.startswith("__") and a.endswith("__"))]
        result[name] = {a: fingerprint(attrs[a]) for a in names if a in attrs}
    return result


def watched_modules() -> list[str]:
    loaded = list(sys.modules)
    return sorted(
        name for name in loaded
        if name in WATCHED_MODULES or name in WATCHED_NAMES
        or (name.split(".")[0] in WATCHED_PREFIXES and not name.endswith("__main__"))
    )  # fmt: skip


def _fresh_fingerprints(module_names: list[str]) -> dict[str, dict[str, str]]:
    """Fingerprints of the same modules imported by a new Python process."""
    done = subprocess.run(
        [sys.executable, "-m", "lenet_ref.grading.integrity", *module_names],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"could not fingerprint a fresh import: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def verify() -> None:
    """Raise PatchedError naming every watched attribute that differs from a fresh import."""
    names = watched_modules()
    missing = [n for n in names if n not in _pristine]
    if missing:
        wanted = sorted(set(missing) | ({*EXPECTED_MODULES} if not _pristine else set()))
        _pristine.update(_fresh_fingerprints(wanted))
    now = fingerprints(names)
    changed = [
        f"{module}.{attr}"
        for module, attrs in now.items()
        for attr, mark in attrs.items()
        if attr in _pristine.get(module, {}) and _pristine[module][attr] != mark
    ]
    if changed:
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        raise PatchedError(
            f"no points: the notebook replaced {shown}, which the checks rely on. "
            "Undo that (restart the kernel and do not assign to numpy, lenet_ref or builtins "
            "attributes) and run the notebook again."
        )


if __name__ == "__main__":
    import importlib

    for module_name in sys.argv[1:]:
        try:
            importlib.import_module(module_name)
        except ImportError:
            pass
    from lenet_ref.grading import behaviours

    behaviours()  # imports every chapter's checks, as the notebook's first check does
    print(json.dumps(fingerprints(sorted({*sys.argv[1:], *watched_modules()}))))
