"""What every command shares: the consoles, loading a scenario, paths, progress, signals.

Only :mod:`rotaplan.cli` prints and exits. A bad input (scenario, path, option)
is one line on stderr and exit code 2, checked before any work starts.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import NoReturn, ParamSpec

import typer
from rich.console import Console

from rotaplan.exit_codes import ExitCode
from rotaplan.models import Loaded, ScenarioError, load
from rotaplan.runs import pipeline
from rotaplan.runs.publish import discard_open, output_problem
from rotaplan.solver import Progress

P = ParamSpec("P")

out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

SHOWN_PROBLEMS = 100
"""Problems printed at most (a converted 96-block file once gave 6,000 alike)."""


def say(line: str = "") -> None:
    """A line of the command's answer (stdout)."""
    out_console.print(line, markup=False)


def note(line: str) -> None:
    """A line about the run (stderr): progress, warnings, errors."""
    err_console.print(line, markup=False)


def fail(message: str, code: ExitCode = ExitCode.INVALID) -> NoReturn:
    """Print one line on stderr and exit (exit code 2 unless given)."""
    note(message)
    raise typer.Exit(int(code))


def finish(code: ExitCode) -> NoReturn:
    """Exit with a code from :class:`~rotaplan.exit_codes.ExitCode`."""
    raise typer.Exit(int(code))


def load_or_exit(path: Path, out: Path | None = None) -> Loaded:
    """Load a scenario, or print every problem (FILE:LINE:COL) and exit 2.

    With ``out``, an ``INVALID`` ``summary.json`` is written there too (the
    contract's promise for ``solve``).
    """
    try:
        loaded = load(path)
    except ScenarioError as exc:
        note(exc.render(limit=SHOWN_PROBLEMS))
        note(f"{len(exc.errors)} error(s): the scenario is invalid.")
        if out is not None:
            with suppress(OSError):  # an unusable output folder: the errors are printed
                pipeline.write_invalid(out, [p.render(str(path)) for p in exc.errors])
        finish(ExitCode.INVALID)
    for warning in loaded.warnings:
        note(warning.render(str(path)))
    return loaded


def scenario_file(path: Path) -> Path:
    """Refuse a scenario path that is missing or a folder, before any work (exit 2)."""
    if not path.exists():
        fail(f"{path}: no such file")
    if path.is_dir():
        fail(f"{path}: is a folder, not a scenario file")
    return path


def out_dir(path: Path, option: str = "--out", *, container: bool = False) -> Path:
    """Refuse an output folder that cannot be one, before any work (exit 2).

    An existing file, a path under a file, a symbolic link, a folder that cannot
    be created or written, or (for a plan folder) one holding files rotaplan did
    not write is an input error: one line, exit code 2. ``container`` folders
    (a batch's, a sweep's, a calendar folder) may hold other files.
    """
    problem = output_problem(path, container=container)
    if problem is not None:
        fail(f"{option} {path}: {problem}")
    return path


def out_file(path: Path, option: str) -> Path:
    """Refuse an output file path that is a folder or under a file (exit 2)."""
    if path.is_dir():
        fail(f"{option} {path}: is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                fail(f"{option} {path}: is under {parent}, which is a file")
            break
    problem = output_problem(path.parent, container=True)
    if problem is not None:
        fail(f"{option} {path}: {problem}")
    return path


def guarded(command: Callable[P, None]) -> Callable[P, None]:
    """A command whose file-system failures are one line and exit 2, never a traceback.

    Paths are checked before any work (:func:`out_dir`, :func:`out_file`), but a
    disk can fill up or a folder be made read-only while a command runs. Every
    output is published whole, so what was there before is left as it was.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            fail(f"cannot write or read a file: {exc.strerror or exc}{where}; files "
                 "already there are left as they were")
        except MemoryError:
            fail("out of memory: the input is too large for this machine")

    return run


class ProgressPrinter:
    """Prints best objective and bound while a solve runs longer than a second: at most
    once a second, except that the first event of a new phase is always shown.

    Only figures valid for the whole problem reach it (the solver labels stage
    figures as such: a stage's own bound is never shown as a bound).
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.best: float | None = None
        self.bound: float | None = None
        self.last_print = 0.0
        self.phase = ""
        self.lock = threading.Lock()

    def __call__(self, event: Progress) -> None:
        if event.kind == "solution":
            INTERRUPT.keep_from_now()  # a plan exists: a stop request now keeps it
        with self.lock:
            if event.objective is not None:
                self.best = event.objective
            if event.bound is not None:
                self.bound = event.bound
            new_phase = event.phase != self.phase  # a new phase is always shown
            if not self.enabled or event.seconds < 1.0 or \
                    (event.seconds - self.last_print < 1.0 and not new_phase):
                return
            self.last_print, self.phase = event.seconds, event.phase
            best = "-" if self.best is None else f"{self.best:g}"
            bound = "-" if self.bound is None else f"{self.bound:g}"
            gap = ""
            if self.best is not None and self.bound is not None:
                gap = f"  gap {100 * abs(self.best - self.bound) / max(1.0, abs(self.best)):.1f}%"
            note(f"  {event.seconds:6.1f}s  [{event.phase}]  best {best}  bound {bound}{gap}")


class Interrupt:
    """Ctrl-C (SIGINT) and SIGTERM: stop at once, or finish what is worth keeping.

    While nothing is worth keeping (loading, building, searching before the
    first plan) a signal ends the process at once: nothing is half-written,
    because every output is published whole. Once
    :attr:`keep` is set (a plan has been found, or a batch is running) the
    first signal sets :attr:`stop` instead: solves end within about a second
    and keep their best verified plan. Either way the command exits with
    :attr:`ExitCode.INTERRUPTED` (130); a second signal stops at once.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signal_name: str | None = None
        self.keep = False

    def reset(self) -> None:
        """Forget an earlier command's request (each command starts afresh)."""
        self.stop.clear()
        self.signal_name = None
        self.keep = False

    def keep_from_now(self) -> None:
        """There is something to keep: later signals stop the work, not the process."""
        self.keep = True

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            self._exit_now(f"{name}: stopped at once; the output folder holds the previous "
                           "plan, or the new one if it was already published")
        self.signal_name = name
        self.stop.set()
        if not self.keep:
            self._exit_now(f"{name}: stopped at once; no plan had been found, and the "
                           "output folder is left as it was")
        note(f"{name}: stopping; the best plan found so far is checked and kept "
             "(press Ctrl-C again to quit at once)")

    @staticmethod
    def _exit_now(message: str) -> NoReturn:
        """End the process at once (exit 130), removing this process's staging folders.

        Not a ``KeyboardInterrupt``: unwinding through OR-Tools' C++ frames from a
        signal handler aborted the process ("terminate called without an active
        exception", 1 run in about 20 when signalled during the search). Outputs
        are published whole, so an immediate exit leaves each one whole.
        """
        note(message)
        discard_open()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(int(ExitCode.INTERRUPTED))

    @contextmanager
    def armed(self) -> Iterator[Interrupt]:
        """Install the handlers (main thread only) for the duration of a command."""
        self.reset()
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in old:
            signal.signal(s, self._handler)
        try:
            yield self
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


INTERRUPT = Interrupt()
"""The process's stop request, set by Ctrl-C or SIGTERM while a command runs."""


def default_workers() -> int:
    """CP-SAT workers by default: the machine's cores, at most 8 (measured in benchmarks)."""
    return max(1, min(8, os.cpu_count() or 1))


__all__ = ["INTERRUPT", "ExitCode", "ProgressPrinter", "default_workers", "err_console",
           "fail", "finish", "guarded", "load_or_exit", "note", "out_console", "out_dir",
           "out_file", "say", "scenario_file"]
