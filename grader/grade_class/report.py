"""The report of a class's grading: how each assignment went, and what needs a person.

Built from the run's records (``state``), so a run that was stopped and started again
reports on the whole class. Per assignment: how many submissions, mean, median, min and
max as a percentage of the points, and a text histogram in tenths. Then every submission
that could not be graded normally, with its reasons, in the order of ``issues.KINDS``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .issues import KINDS, Issue

BINS = 10
BAR = 40  # characters of the longest histogram bar


def _percent(record: dict) -> float:
    return 100.0 * record["score"] / record["max_score"] if record["max_score"] else 0.0


def histogram(percents: list[float]) -> list[str]:
    counts = [0] * BINS
    for p in percents:
        counts[min(int(p // (100 / BINS)), BINS - 1)] += 1
    top = max(counts) or 1
    width = 100 // BINS
    rows = []
    for k, count in enumerate(counts):
        upper = "]" if k == BINS - 1 else ")"
        bar = "#" * round(BAR * count / top)
        rows.append(f"  [{k * width:3d}, {(k + 1) * width:3d}{upper} {count:5d} {bar}")
    return rows


def distribution(records: list[dict]) -> dict:
    percents = [_percent(r) for r in records]
    if not percents:
        return {"count": 0}
    return {"count": len(percents), "mean": statistics.fmean(percents),
            "median": statistics.median(percents), "min": min(percents), "max": max(percents),
            "max_score": records[0]["max_score"]}  # fmt: skip


def needing_a_look(records: list[dict]) -> list[dict]:
    order = {kind: k for k, kind in enumerate(KINDS)}
    flagged = [r for r in records if r["issues"]]

    def first_kind(r):  # a kind this version does not know (an older record's): last
        return min(order.get(i.get("kind"), len(order)) for i in r["issues"])

    return sorted(flagged, key=lambda r: (r["assignment"], first_kind(r), r["student"]))


def _issue_line(issue: dict) -> str:
    try:
        return str(Issue.from_dict(issue))
    except (TypeError, ValueError):  # a record written by another version
        return f"{issue.get('kind')}: {issue.get('notebook') or ''} {issue.get('detail')}"


def format_report(records: list[dict], assignments: list[str], header: list[str]) -> str:
    lines = list(header)
    for assignment in assignments:
        mine = [r for r in records if r["assignment"] == assignment]
        d = distribution(mine)
        lines.append("")
        if not d["count"]:
            lines.append(f"{assignment}: no submissions")
            continue
        lines.append(f"{assignment}: {d['count']} submissions, out of {d['max_score']:g} points; "
                     f"mean {d['mean']:.1f} %, median {d['median']:.1f} %, "
                     f"min {d['min']:.1f} %, max {d['max']:.1f} %")  # fmt: skip
        lines += histogram([_percent(r) for r in mine])
    flagged = needing_a_look(records)
    lines += ["", f"{len(flagged)} submissions need a look:" if flagged else
              "Every submission was graded normally."]  # fmt: skip
    for r in flagged:
        lines.append(f"  {r['assignment']}  {r['student']}  "
                     f"({r['score']:g} / {r['max_score']:g})")  # fmt: skip
        lines += [f"      {_issue_line(i)}" for i in r["issues"]]
    return "\n".join(lines)


def write_report(out: Path, text: str, records: list[dict]) -> None:
    (out / "report.txt").write_text(text + "\n")
    (out / "report.json").write_text(json.dumps(records, indent=1))


def export_csv(db_url: str, path: Path, assignments: list[str], course_config) -> None:
    """nbgrader's own CSV export of the gradebook, for these assignments."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin(config=course_config)
    plugin.to = str(path)
    plugin.assignment = list(assignments)
    with Gradebook(db_url) as gb:
        plugin.export(gb)
