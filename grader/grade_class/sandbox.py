"""What a sandboxed kernel may import: the kernel itself, numpy, matplotlib, and of the
course's package only what an assignment hands out.

The kernel's root file system (``jail``) shows Python's standard library and, of the
virtual environment's site-packages, only the packages that ipykernel, numpy and
matplotlib load (found by importing them in a probe process, ``kernel_site_paths``). Not
PyTorch, SciPy, nbgrader, and not the course's package (``c.GradeClass.course_package``,
here ``lenet_ref``) itself: in its place, at the same path, the kernel finds a small
package of that name built for the assignment (``build_handout``) holding the checks'
client (``<package>.grading``: ``remote``, ``runner``, ``wire``, ``guard``) and the modules
the course lists for it in ``nbgrader_config.py``::

    c.GradeClass.kernel_modules = {
        "ch3_s2_to_c3": {"lenet_ref.spec": ["C3_TABLE"]},         # these names only
        "ch5_lenet5": {"lenet_ref.spec": "*",                      # the whole module
                       "lenet_ref.numpy": ["conv_forward", ...]},  # functions, with their files
    }

So an answer cannot call the reference, PyTorch or the checks: they are not there to call.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# What every kernel needs; their dependencies come along (the probe finds them).
KERNEL_MODULES = ("ipykernel_launcher", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "ipykernel.inprocess", "IPython", "IPython.core.completer", "jedi", "numpy",
                  "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline", "PIL.Image",
                  "tqdm", "tqdm.auto", "IPython.core.ultratb", "stack_data")  # fmt: skip
# The checks' client: what the kernel's ``from <package>.grading import check`` needs.
CLIENT_FILES = ("__init__.py", "grading/__init__.py", "grading/guard.py", "grading/runner.py",
                "grading/wire.py", "grading/remote.py")  # fmt: skip


def package_dir(package: str) -> Path:
    """The folder of the course's package (where its hand-out is shown to a kernel)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"GradeClass.course_package: {package!r} is not an importable package here")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _site_dirs() -> list[str]:
    import site

    return [os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p)]


def kernel_site_paths(modules=KERNEL_MODULES, hidden: tuple[Path, ...] = ()) -> list[str]:
    """The site-packages entries the kernel's modules are loaded from (and their .libs),
    none inside the folders ``hidden`` (the course's package)."""
    probe = ("import importlib, json, sys\n"
             f"for name in {list(modules)!r}:\n"
             "    try:\n        importlib.import_module(name)\n    except Exception:\n        pass\n"
             "print(json.dumps([getattr(m, '__file__', None) for m in list(sys.modules.values())]))")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True,
                          env=env, timeout=300, cwd="/")  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"could not list the kernel's packages: {done.stderr[-2000:]}")
    sites = _site_dirs()
    entries: set[str] = set()
    for file in json.loads(done.stdout.strip().splitlines()[-1]):
        real = os.path.realpath(file) if file else ""
        for site in sites:
            if real.startswith(site + os.sep):
                entries.add(os.path.join(site, real[len(site) + 1 :].split(os.sep)[0]))
    entries = {e for e in entries if not any(e.startswith(str(h)) for h in hidden)}
    for site in sites:  # shared libraries and the path files that map names to folders
        for name in os.listdir(site):
            if name.endswith(".libs"):  # vendored shared libraries (pyzmq.libs for zmq...): no code
                entries.add(os.path.join(site, name))
            if name.endswith(".pth") or name.startswith("__editable__"):
                entries.add(os.path.join(site, name))
    return sorted(entries)


def _relative_imports(path: Path, module: str, package: str) -> set[str]:
    """The modules of ``package`` that a file imports, named in full."""
    tree = ast.parse(path.read_text())
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # from .. import spec
                found |= {f"{target}.{alias.name}" for alias in node.names}
            else:
                found.add(target)
        elif isinstance(node, ast.ImportFrom) and _inside(node.module or "", package):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _inside(a.name, package)}
    return found


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _module_file(module: str, root: Path) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for path in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


def _copy_with_imports(module: str, dest: Path, done: set[str], root: Path) -> None:
    """Copy ``module``'s file into ``dest`` (the hand-out's package folder), and every module
    of the package it imports, except packages' __init__ files (written apart)."""
    if module in done:
        return
    done.add(module)
    path = _module_file(module, root)
    if path is None:
        return
    if path.name != "__init__.py":
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for imported in _relative_imports(path, module, module.split(".")[0]):
        _copy_with_imports(imported, dest, done, root)


def build_handout(dest: Path, modules: dict, package: str) -> Path:
    """The ``package`` folder a kernel of one assignment sees; returns ``dest``."""
    root = package_dir(package)
    missing = [rel for rel in CLIENT_FILES if not (root / rel).is_file()]
    if missing:
        raise ValueError(f"GradeClass.course_package: {package} has no checks' client "
                         f"({', '.join(missing)} missing): see grade_class's docstring")  # fmt: skip
    shutil.rmtree(dest, ignore_errors=True)
    for rel in CLIENT_FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, dest / rel)
    copied: set[str] = {package, f"{package}.grading"}
    for module, names in (modules or {}).items():
        if not module.startswith(f"{package}.") or _module_file(module, root) is None:
            raise ValueError(f"GradeClass.kernel_modules: {module!r} is not a module of {package}")
        if names == "*":
            _copy_with_imports(module, dest, copied, root)
            if _module_file(module, root).name == "__init__.py":
                shutil.copyfile(_module_file(module, root), dest / Path(*module.split(".")[1:]) / "__init__.py")
            continue
        real = importlib.import_module(module)
        lines = [f'"""{module} as the sandbox hands it out: {", ".join(names)}."""']
        for name in names:
            value = getattr(real, name)
            home = getattr(value, "__module__", None)
            if callable(value) and home and home.startswith(f"{package}.") and home != module:
                _copy_with_imports(home, dest, copied, root)
                lines.append(f"from {home} import {name}")
            else:
                text = repr(value)
                if ast.literal_eval(text) != value:
                    raise ValueError(f"{module}.{name} cannot be handed out as a constant")
                lines.append(f"{name} = {text}")
        is_package = _module_file(module, root).name == "__init__.py"
        target = dest / Path(*module.split(".")[1:]) / "__init__.py" if is_package else \
            dest / Path(*module.split(".")[1:]).with_suffix(".py")  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
    for folder in [dest, *[p for p in dest.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch(exist_ok=True)  # a package on the way, empty
    return dest
