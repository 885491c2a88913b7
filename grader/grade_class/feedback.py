"""An nbgrader preprocessor for the feedback a student reads: a hidden test cell shows
neither its code nor its outputs.

nbgrader's ClearHiddenTests removes the hidden tests from the source of a cell but leaves
its outputs: an error's traceback quotes the hidden lines, and whatever the student's code
printed while the hidden test ran (its inputs, say) would reach the feedback. This runs
before ClearHiddenTests (see nbgrader_config.py), while the hidden region can still be
found, and leaves one line in place of the outputs. The cell's score is shown as usual.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


class HideHiddenOutputs(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            cell.outputs = [new_output("stream", name="stdout",
                                       text="(a hidden test: its output is not shown)\n")]
        return cell, resources
