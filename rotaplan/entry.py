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


def _while_starting(signum: int, _frame: FrameType | None) -> None:
    sys.stderr.write(f"{signal.Signals(signum).name}: stopped while starting; nothing was "
                     "read or written\n")
    sys.stderr.flush()
    os._exit(INTERRUPTED)


def main() -> None:
    """Console-script entry point: guard start-up, then run the command line."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _while_starting)
    from rotaplan.cli import run

    sys.exit(run())


__all__ = ["main"]
