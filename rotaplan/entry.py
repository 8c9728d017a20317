"""The ``rotaplan`` console script: signals are handled from the first instant.

Importing the command line (typer, rich, pandas, OR-Tools) takes about a second.
A Ctrl-C or SIGTERM in that second would otherwise print a ``KeyboardInterrupt``
traceback from the middle of an import, or end the process with no word. Here
they end it at once with exit code 130 and one line; nothing has been read or
written yet. :func:`rotaplan.cli.run` then installs the real handlers.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED = 130
"""Exit code of an interrupted command (:attr:`rotaplan.exit_codes.ExitCode.INTERRUPTED`)."""


_RAN = {"command": False}


def _outside_the_command(signum: int, _frame: FrameType | None) -> None:
    if _RAN["command"]:  # the command has finished: a late signal changes nothing
        return
    sys.stderr.write(f"{signal.Signals(signum).name}: stopped while starting; nothing was "
                     "read or written\n")
    sys.stderr.flush()
    os._exit(INTERRUPTED)


def main() -> None:
    """Console-script entry point: guard start-up, run the command line, guard the exit.

    After the command, signals are ignored: the interpreter's shutdown (a few
    hundred milliseconds, freeing pandas and OR-Tools) would otherwise die of a
    late Ctrl-C with its default action, exit status -2, though the work was done.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _outside_the_command)
    from rotaplan.cli import run

    try:
        code = run()
    finally:
        _RAN["command"] = True
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
    sys.exit(code)


__all__ = ["main"]
