"""Grading a whole class with nbgrader: in parallel, sandboxed, resumable, with a report.

``python -m lenet_ref grade-class SUBMISSIONS`` calls ``grade.grade_class``. The modules,
one idea each:

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
- ``simulate``, ``serial``  a simulated class and nbgrader's serial autograde, for the bench.
"""
