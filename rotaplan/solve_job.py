"""A solve running on a background thread, for the configurator.

The Streamlit script thread must stay free to redraw, and the solver's
callbacks run on CP-SAT's own threads, where Streamlit's session state must
not be touched. So a :class:`SolveJob` owns its thread; progress events travel
through a :class:`queue.Queue` that the script drains with :meth:`SolveJob.poll`,
and Cancel sets a :class:`threading.Event` the solver checks, so the search
stops and the best plan found so far is still checked and written.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from models import Scenario
from rotaplan.pipeline import Outcome, solve_and_write
from solver import Progress, SolveOptions


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


class SolveJob:
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
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="rotaplan-"))
        self._events: queue.Queue[Progress] = queue.Queue()
        self._stop = threading.Event()
        self.options = replace(options, on_progress=self._events.put, stop=self._stop)
        self.log = ProgressLog()
        self.outcome: Outcome | None = None
        self.error: str | None = None
        self.details: str | None = None
        self.started = time.perf_counter()
        self.finished: float | None = None
        self._thread = threading.Thread(target=self._run, name="rotaplan-solve", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.outcome = solve_and_write(self.scenario, self.out_dir, self.options)
        except Exception as exc:  # shown to the user as a message, never raised in the UI
            self.error = f"{type(exc).__name__}: {exc}"
            self.details = traceback.format_exc()
        finally:
            self.finished = time.perf_counter()

    @property
    def running(self) -> bool:
        """Whether the solve is still going."""
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
        """Ask the solver to stop; the best plan so far is kept."""
        self._stop.set()

    def poll(self) -> ProgressLog:
        """Move queued progress events into :attr:`log` (call from the script thread)."""
        while True:
            try:
                self.log.add(self._events.get_nowait())
            except queue.Empty:
                return self.log

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the solve ends; True if it has."""
        self._thread.join(timeout)
        self.poll()
        return not self.running
