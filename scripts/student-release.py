#!/usr/bin/env python
"""Write the students' repository (exercises, the lenet_ref wheel, binder/, a README; no
solutions): lenet_ref.release.student_release. Run from the repo root: make student-release."""

import argparse
from pathlib import Path

from lenet_ref.release import ROOT, student_release

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student-release",
                    help="the folder to write (an earlier release there is replaced)")  # fmt: skip
out = student_release(parser.parse_args().out)
print(f"student release in {out}: push its contents to the repository that _config.yml's "
      "repository.url names")  # fmt: skip
