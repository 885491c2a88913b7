"""The first cell of every exercise notebook: install lenet_ref where a student opens it.

A notebook opened on Colab, on Binder or on a laptop may run in a kernel without the course
package. The install cell (locked, so nbgrader restores it) holds the source of
``ensure_lenet_ref`` and one call of it, pinned to this release and to the site of the
published book, which serves the package's wheel at ``_static/<WHEEL>``
(book/_ext/course_wheel.py builds it). The cell cannot import this module, since it runs
before lenet_ref exists: ``cell_source`` writes the cell from the function's own source,
and tests/test_student_path.py checks that every notebook in solutions/ holds that text.

Where ``lenet_ref`` is found at all (the grading sandbox's stub of ``lenet_ref.grading``, a
hub image, a laptop set up from the README), the cell installs nothing and never touches
the network. ``$LENET_REF_SITE`` replaces the book's address (a mirror, or a test's server).
"""

from __future__ import annotations

import inspect

SITE_ENV = "LENET_REF_SITE"
WHEEL = "lenet_ref-{version}-py3-none-any.whl"


def ensure_lenet_ref(version, site):
    """Install lenet_ref `version` from the course's book at `site` if it is missing."""
    import importlib.util

    if importlib.util.find_spec("lenet_ref") is not None:
        return  # already there: install nothing, reach nothing
    import os, subprocess, sys, tempfile, urllib.request  # noqa: E401

    wheel = f"lenet_ref-{version}-py3-none-any.whl"
    url = f"{os.environ.get('LENET_REF_SITE', site).rstrip('/')}/_static/{wheel}"
    path = os.path.join(tempfile.mkdtemp(), wheel)
    print(f"Installing the course package from {url}")
    urllib.request.urlretrieve(url, path)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", path]
    done = subprocess.run(pip, capture_output=True, text=True)
    importlib.invalidate_caches()
    if importlib.util.find_spec("lenet_ref") is None:
        # No pip in this kernel (some virtual environments), or an install this kernel
        # cannot see: the wheel is pure Python, a zip that Python imports from directly.
        print(f"pip did not install it ({done.stderr.strip()[-200:]}); using the wheel itself")
        sys.path.insert(0, path)
    print("lenet_ref", version, "is ready")


def cell_source(version: str, site: str) -> str:
    """The install cell's text: the source of ``ensure_lenet_ref`` and its call."""
    return (
        "# Run this cell first: where the course package lenet_ref is missing (Colab, Binder,\n"
        "# your laptop), it installs it from the course's book. Elsewhere it does nothing.\n"
        f"{inspect.getsource(ensure_lenet_ref)}\n\n"
        f"ensure_lenet_ref({version!r}, {site!r})"
    )
