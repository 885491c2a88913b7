"""nbgrader for the course: solutions/ is the source, exercises/ the release.

nbgrader reads this file from the working directory, so run its commands from the repo
root with .venv/bin on PATH (nbgrader runs `alembic` by name). Student work and the
gradebook live outside git, in .grading/ or $NBGRADER_GRADING_DIR.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from grade_class.feedback import HideHiddenOutputs

c = get_config()  # noqa: F821 (nbgrader provides it)
HERE = os.path.dirname(os.path.abspath(__file__))
GRADING = os.environ.get("NBGRADER_GRADING_DIR", os.path.join(HERE, ".grading"))
os.makedirs(GRADING, exist_ok=True)  # sqlite does not create the gradebook's folder

# One BLAS thread per kernel: a kernel grades one notebook, and the class grader runs one
# per core. Two BLAS threads fighting over busy cores made ch5's training check 1-3x
# slower and erratic (800 images: 1.3 s with one thread; 0.9 to 3.8 s with two).
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
for step in ("submitted", "autograded", "feedback", "solution"):
    setattr(c.CourseDirectory, f"{step}_directory", os.path.join(GRADING, step))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(GRADING, "gradebook.db")

c.Execute.timeout = 60                     # seconds per cell (nbgrader's default is 30)
c.OverwriteCells.add_missing_cells = True  # put back the test cells a student deleted
# The feedback a student reads shows the visible tests only: hidden tests' code is removed,
# and so are their outputs (a traceback quotes the code; a print could show the inputs).
c.GenerateFeedback.preprocessors = [
    GetGrades, HideHiddenOutputs, ClearHiddenTests, CSSHTMLHeaderPreprocessor,
]

# The class grader (`grade-class`, grader/grade_class) runs each kernel in a sandbox that
# holds numpy, matplotlib and, of the course's package, only the checks' client and what
# an assignment hands out (grader/grade_class/sandbox.py): the reference, PyTorch and the
# checks are not there to call; the checks (lenet_ref.grading) run in the grader. A name
# list hands out those names only; "*" a whole module.
c.GradeClass.course_package = "lenet_ref"
c.GradeClass.kernel_modules = {
    "ch3_s2_to_c3": {"lenet_ref.spec": ["C3_TABLE"]},
    "ch4_counting": {"lenet_ref.spec": ["C3_TABLE"]},
    "ch5_lenet5": {
        "lenet_ref.spec": "*",
        "lenet_ref.numpy": ["conv_forward", "conv_backward", "fc_forward", "fc_backward",
                            "rbf_forward", "rbf_backward", "scaled_tanh_forward",
                            "scaled_tanh_backward", "subsample_forward", "subsample_backward"],
    },
}
