"""The book serves the course package: ``_static/lenet_ref-<version>-py3-none-any.whl``.

The first cell of every exercise notebook installs lenet_ref from there where it is
missing (``lenet_ref.install``), so a student on Colab, on Binder or on a laptop needs
nothing but the book. The wheel is built from this tree at each build, so it is always the
release the notebooks pin.
"""

from pathlib import Path


def build_course_wheel(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from lenet_ref.release import build_wheel

    build_wheel(Path(app.outdir) / "_static")


def setup(app):
    app.connect("build-finished", build_course_wheel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
