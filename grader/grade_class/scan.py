"""A static look at a student's code for what a solution should not need.

It reads the source of the cells a student wrote (not the locked ones, which nbgrader puts
back anyway) and names each pattern it finds: calling or patching the reference package,
tampering with the interpreter (trace hooks, sys.modules, builtins, frames), patching
numpy, reaching IPython or the operating system. It grades nothing: it tells a person
where to look. The verdicts do not depend on it: a kernel cannot import the course's
package, and its checks run outside the kernel (``verdict``).
"""

from __future__ import annotations

import io
import re
import tokenize

PATTERNS = [  # (regular expression, what it means), in the order the report lists them
    (r"\b(settrace|setprofile|gettrace)\b", "installs a trace or profile hook"),
    (r"\bsys\s*\.\s*modules\b", "touches sys.modules"),
    (r"\b__import__\b|\bimportlib\b", "imports by name (__import__, importlib)"),
    (r"\b__builtins__\b|\bbuiltins\b", "touches the builtins"),
    (r"\b(np|numpy)(\s*\.\s*\w+)+\s*=(?!=)", "assigns to an attribute of numpy"),
    (r"\bsetattr\s*\(|\bdelattr\s*\(", "sets attributes by name (setattr, delattr)"),
    (r"\bget_ipython\s*\(", "calls get_ipython()"),
    (r"^\s*[%!]", "runs an IPython magic or a shell command"),
    (r"\b_getframe\b|\bcurrentframe\b|\bf_globals\b|\bf_back\b|\bgc\s*\.\s*get_\w+",
     "reads the interpreter's frames or objects"),  # fmt: skip
    (r"\bsubprocess\b|\bctypes\b|\bos\s*\.\s*(system|fork\w*|_exit|kill\w*|exec\w*|popen|spawn\w*)\b",
     "starts processes or calls the operating system"),  # fmt: skip
    (r"\bsys\s*\.\s*exit\b|\bSystemExit\b|^\s*(exit|quit)\s*\(", "exits the interpreter"),
    (r"\b(exec|eval|compile)\s*\(", "runs code from a string (exec, eval, compile)"),
    (r"\bsignal\s*\.\s*(signal|alarm|setitimer)\b", "changes signal handling"),
    (r"\bAssertionError\s*=|\bassert_\w+\s*=", "redefines an assertion"),
]
_COMPILED = [(re.compile(p, re.MULTILINE), why) for p, why in PATTERNS]


def _without_comments(source: str) -> str:
    """The source with its comments removed (strings kept: ``__import__("x")`` counts)."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type != tokenize.COMMENT]  # fmt: skip
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # IPython syntax (magics) or broken code: scan it as it is


def scan_source(source: str, package: str | None = None) -> list[str]:
    """What one cell's source does that a solution should not need; [] when nothing.
    ``package``: the course's package (``c.GradeClass.course_package``), the reference."""
    text = _without_comments(source)
    found = []
    if package and re.search(rf"\b{re.escape(package)}\b", text):
        found.append(f"uses {package}, the reference package")
    return found + [why for pattern, why in _COMPILED if pattern.search(text)]


def scan_cells(cells: list[tuple[int, str]], package: str | None = None) -> list[str]:
    """``[(cell index, source)]`` -> one line per finding: ``"cell 3: uses numpy ..."``."""
    findings = []
    for index, source in cells:
        findings += [f"cell {index}: {why}" for why in scan_source(source, package)]
    return findings
