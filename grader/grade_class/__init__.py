"""Grading a whole class with nbgrader: in parallel, sandboxed, resumable, with a report.

``grade-class SUBMISSIONS`` (``cli``; also ``python -m grade_class``, and ``python -m
lenet_ref grade-class`` in the LeNet-5 course) calls ``grade.grade_class``.

A course meets it only through what it is given: the course folder (its
``nbgrader_config.py``, source notebooks and gradebook), and in that config::

    c.GradeClass.course_package = "lenet_ref"   # required
    c.GradeClass.kernel_modules = {...}        # what each assignment's kernels may import
    c.GenerateFeedback.preprocessors = [...]   # the feedback (``feedback.HideHiddenOutputs``)

The course package must hold a ``grading`` module (``course.course_grading``) with
``run_check(exercise, name, answers)`` (a verdict: ``.passed``, ``.message``),
``behaviours()``, ``guard.Answer`` and ``wire`` (the plain-data codec), and the kernel's
client in ``grading/{__init__,guard,runner,wire,remote}.py``: a check cell calls
``check(exercise, name, *functions)``, which in a sandboxed kernel (``$LENET_VERDICT_SOCKET``
set) asks the ``verdict`` server instead of judging. The modules, one idea each:

- ``course``   the course's nbgrader config, assignments, template gradebook and release;
- ``collect``  the submissions, from a folder or a zip (nbgrader's layout, or an LMS export);
- ``checks``   what can be told before running a notebook (invalid, renamed, edited tests);
- ``scan``     a static look at student code for what a solution should not need;
- ``launch``   the entry point of every kernel: zygote, namespaces or limits;
- ``jail``     the sandbox every student kernel runs in;
- ``sandbox``  what a kernel may import: ipykernel, numpy, matplotlib, the assignment's hand-out;
- ``cgroup``   a control group per kernel: memory, an equal CPU share, processes;
- ``zygote``   kernels forked warm, numpy and ipykernel imported once per worker;
- ``verdict``  the trusted server that runs every check cell's check and records its verdict;
- ``protocol`` the messages between the processes, as dataclasses;
- ``capped``   nbgrader's Execute, with the output a kernel can send bounded, telling the
  verdict server which cell runs;
- ``worker``   a trusted process running nbgrader on one submission at a time;
- ``pool``     the workers, the queue and the wall clock;
- ``merge``    scores (check cells: from the verdicts) and reasons, into the gradebook;
- ``state``    what is graded, on disk, so that a stopped run goes on where it was;
- ``issues``   the reasons a submission needs a look;
- ``report``   score distributions, what needs a look, the CSV;
- ``exports``  the grades as Canvas and Moodle gradebook CSVs;
- ``dask_pool`` the same workers on a Dask cluster (``--scheduler``);
- ``feedback`` the preprocessor that keeps a hidden test's outputs out of the feedback;
- ``cli``      the command.

A simulated class and nbgrader's serial autograde, for the tests and the bench, live in
the course's ``tests/`` (``simulate``, ``serial``).
"""
