"""An nbgrader preprocessor for the feedback a student reads: the error of a hidden test
cell shows its message only, not its traceback (which would print the hidden test's code).

nbgrader's ClearHiddenTests removes the hidden tests from the source of a cell but leaves
its outputs, and an error output's traceback quotes the failing lines. This runs before
ClearHiddenTests (see nbgrader_config.py), while the hidden region can still be found.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


class HideHiddenTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
