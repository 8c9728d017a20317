"""Solves and capacity questions running on background threads, for the configurator.

The Streamlit script thread must stay free to redraw, and the solver's
callbacks run on CP-SAT's own threads, where Streamlit's session state must
not be touched. So a job owns its thread; progress travels through a
:class:`queue.Queue` that the script drains with ``poll``, and Cancel sets a
:class:`threading.Event` the solver checks. A cancelled :class:`SolveJob`
still checks and writes the best plan found so far; a cancelled
:class:`CapacityJob` keeps what it has proven so far.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from rotaplan.analysis.capacity import CapacityAnswer, find_capacity
from rotaplan.models import Scenario
from rotaplan.models.edits import EditError, Newcomer
from rotaplan.runs.pipeline import Outcome, solve_and_write
from rotaplan.solver import Progress, SolveOptions


@dataclass
class ProgressLog:
    """What the script thread knows of a running solve.

    Attributes
    ----------
    events
        Every progress event received, in order.
    objective, bound
        Best objective and bound of the last phase seen.
    phase
        The last phase seen (``fairness`` or ``total``).
    """

    events: list[Progress] = field(default_factory=list)
    objective: float | None = None
    bound: float | None = None
    phase: str | None = None

    def add(self, event: Progress) -> None:
        """Record one event."""
        if event.phase != self.phase:
            self.phase, self.objective, self.bound = event.phase, None, None
        self.events.append(event)
        if event.objective is not None:
            self.objective = event.objective
        if event.bound is not None:
            self.bound = event.bound


class _Job:
    """A piece of work on a daemon thread, with a stop event and timings.

    Subclasses set up their state, then call :meth:`_start`, and implement
    :meth:`_work`; an exception there is kept as ``error`` (a message) and
    ``details`` (the traceback), never raised in the UI.
    """

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self.error: str | None = None
        self.details: str | None = None
        self.started = time.perf_counter()
        self.finished: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _start(self) -> None:
        self.started = time.perf_counter()
        self._thread.start()

    def _work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self._work()
        except Exception as exc:  # shown to the user as a message, never raised in the UI
            self.error = f"{type(exc).__name__}: {exc}"
            self.details = traceback.format_exc()
        finally:
            self.finished = time.perf_counter()

    @property
    def running(self) -> bool:
        """Whether the work is still going."""
        return self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed."""
        return self._stop.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds since the start (until the end, once finished)."""
        return (self.finished or time.perf_counter()) - self.started

    def cancel(self) -> None:
        """Ask the solver to stop; what was found so far is kept."""
        self._stop.set()

    def poll(self) -> object:
        """Move queued progress into the job (call from the script thread)."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work ends; True if it has."""
        self._thread.join(timeout)
        self.poll()
        return not self.running


class SolveJob(_Job):
    """One solve on a background thread, checked and written by the pipeline.

    Parameters
    ----------
    scenario
        A validated scenario.
    options
        Solver options; ``on_progress`` and ``stop`` are set by the job.
    out_dir
        Where the plan is written (a new temporary directory when None).
    """

    def __init__(self, scenario: Scenario, options: SolveOptions,
                 out_dir: str | Path | None = None) -> None:
        super().__init__("rotaplan-solve")
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="rotaplan-"))
        self._events: queue.Queue[Progress] = queue.Queue()
        self.options = replace(options, on_progress=self._events.put, stop=self._stop)
        self.log = ProgressLog()
        self.outcome: Outcome | None = None
        self._start()

    def _work(self) -> None:
        self.outcome = solve_and_write(self.scenario, self.out_dir, self.options)

    def poll(self) -> ProgressLog:
        """Move queued progress events into :attr:`log` (call from the script thread)."""
        while True:
            try:
                self.log.add(self._events.get_nowait())
            except queue.Empty:
                return self.log


class CapacityJob(_Job):
    """A capacity question (:func:`~rotaplan.analysis.capacity.find_capacity`), in the background.

    Parameters
    ----------
    scenario
        A validated scenario.
    newcomer
        Who would be added.
    time_limit
        Seconds for the maximum (the plan for it gets at least 10).
    probes, probe_seconds
        Bottlenecks to value by re-solving, and seconds for each.
    workers, seed
        CP-SAT settings.

    Attributes
    ----------
    notes
        Progress in plain words, in order.
    answer, code
        The answer and exit code once finished (None if it failed).
    """

    def __init__(self, scenario: Scenario, newcomer: Newcomer, *, time_limit: float,
                 probes: int, probe_seconds: float = 10.0, workers: int = 2,
                 seed: int = 0) -> None:
        super().__init__("rotaplan-capacity")
        self.scenario, self.newcomer = scenario, newcomer
        self.time_limit, self.probes, self.probe_seconds = time_limit, probes, probe_seconds
        self.workers, self.seed = workers, seed
        self.out_dir = Path(tempfile.mkdtemp(prefix="rotaplan-capacity-"))
        self._notes: queue.Queue[str] = queue.Queue()
        self.notes: list[str] = []
        self.answer: CapacityAnswer | None = None
        self.code: int | None = None
        self._start()

    @property
    def longest(self) -> float:
        """Seconds the whole question can take at most (for a progress bar)."""
        return self.time_limit + max(10.0, self.time_limit) + self.probes * self.probe_seconds

    def _work(self) -> None:
        try:
            self.answer, self.code = find_capacity(
                self.scenario, self.newcomer, out=self.out_dir, time_limit=self.time_limit,
                probes=self.probes, probe_seconds=self.probe_seconds, workers=self.workers,
                seed=self.seed, note=self._notes.put, stop=self._stop)
        except EditError as exc:  # the newcomer cannot be described: plain words
            self.error = str(exc)

    def poll(self) -> list[str]:
        """Move queued notes into :attr:`notes` (call from the script thread)."""
        while True:
            try:
                self.notes.append(self._notes.get_nowait().strip())
            except queue.Empty:
                return self.notes

    def remove_files(self) -> None:
        """Delete the scratch directory (the plan for the maximum)."""
        shutil.rmtree(self.out_dir, ignore_errors=True)
