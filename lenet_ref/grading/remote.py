"""The kernel's side of a check in the class grader: a client of the verdict server.

``check_remote`` connects to ``$LENET_VERDICT_SOCKET``, names the check and the student's
functions, then does what the trusted side asks: run answer ``i`` on these arguments
(``runner.run``) and send back the plain result. The verdict is the server's; this side
only shows it. Nothing here can change a grade: a kernel that skips, fakes or silences
this code loses the cell's points, since a cell scores only with the server's record.
"""

from __future__ import annotations

import os
import socket

from . import runner, wire


class CheckFailed(AssertionError):
    """The grader's verdict on this cell: not passed."""


def check_remote(exercise: str, name: str, *answers) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.environ["LENET_VERDICT_SOCKET"])
        wire.send(sock, {"op": "check", "exercise": exercise, "name": name,
                         "answers": [getattr(a, "__name__", "your function") for a in answers],
                         "callable": [callable(a) for a in answers]})  # fmt: skip
        kept: dict = {}
        error = None
        while True:
            message = wire.receive(sock)
            if message["op"] == "call":
                outcome = runner.run(answers[message["answer"]], message["id"], message["args"],
                                     message["kwargs"], set(message["refs"]), kept)  # fmt: skip
                error = outcome.pop("exception", None) or error
                wire.send(sock, outcome)
            elif message["op"] == "verdict" and message["passed"]:
                print(message["message"])
                return
            else:  # a failed verdict, or a check refused
                raise CheckFailed(message["message"]) from error
    finally:
        sock.close()
