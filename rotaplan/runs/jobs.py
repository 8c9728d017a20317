"""Solves, capacity questions and explanations running on background threads, for the configurator.

The Streamlit script thread must stay free to redraw, and the solver's
callbacks run on CP-SAT's own threads, where Streamlit's session state must
not be touched. So a job owns its thread; progress travels through a
:class:`queue.Queue` that the script drains with ``poll``, and Cancel sets a
:class:`threading.Event` the solver checks. A cancelled :class:`SolveJob`
still checks and writes the best plan found so far; a cancelled
:class:`CapacityJob` keeps what it has proven so far.

Solves belong to the server process, not to a browser session
(:class:`SolveRegistry`, one per process: :func:`solves`). A solve is stored as
a run when it is asked for (``QUEUED``, then ``RUNNING``) and gets its outcome
from its own thread when it ends (:func:`record_outcome`), so a browser refresh,
or no browser at all, loses nothing: a refreshed page finds the running solve
by its run id, and the result by the run. At most ``ROTAPLAN_MAX_SOLVES`` jobs
run at once (:class:`SolveSlots`); the rest wait in order and can be cancelled
while they wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from rotaplan.access import AccessDeniedError
from rotaplan.analysis.capacity import CapacityAnswer, find_capacity
from rotaplan.exit_codes import ExitCode
from rotaplan.models import Scenario
from rotaplan.models.edits import EditError, Newcomer
from rotaplan.runs.pipeline import Outcome, solve_and_write
from rotaplan.runs.publish import pid_alive
from rotaplan.runs.store import RunInfo, Store
from rotaplan.solver import Progress, SolveOptions
from rotaplan.solver.explain import Diagnosis, diagnose

MAX_SOLVES_VAR = "ROTAPLAN_MAX_SOLVES"
DEFAULT_WORKERS = 2
"""Solver threads of one solve unless the user chooses otherwise (the UI's default)."""


class RunStatus(StrEnum):
    """A stored run's status besides the solver's own (:class:`~rotaplan.models.Status`)."""

    QUEUED = "QUEUED"
    """Waiting for a free solver on its server."""
    RUNNING = "RUNNING"
    """Being solved."""
    CANCELLED = "CANCELLED"
    """Cancelled while it waited: nothing was solved."""
    FAILED = "FAILED"
    """The solve raised an error (its message is kept)."""
    CHECK_FAILED = "CHECK FAILED"
    """The solver's plan failed rotaplan's independent check, so it is not a plan."""
    INTERRUPTED = "INTERRUPTED"
    """Its server stopped during the solve: no outcome was stored."""


LIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
"""Statuses of runs that have not ended."""


# --------------------------------------------------------------------------- slots


class SolveSlots:
    """At most ``limit`` jobs run at once; the others wait, first come first served.

    Parameters
    ----------
    limit
        Jobs allowed to run at the same time (at least 1).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a solve limit must be at least 1, not {limit}")
        self.limit = limit
        self._changed = threading.Condition()
        self._running = 0
        self._waiting: list[object] = []

    def acquire(self, ticket: object, stop: threading.Event | None = None,
                timeout: float | None = None) -> bool:
        """Wait in line for a slot; True once one is held (give it back with :meth:`release`).

        Returns False, leaving the line, when ``stop`` is set or ``timeout`` seconds pass.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._running >= self.limit:
                    if (stop is not None and stop.is_set()) or (
                            deadline is not None and time.monotonic() >= deadline):
                        return False
                    self._changed.wait(0.1)  # Cancel is seen within 0.1 s
                self._running += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()

    def release(self) -> None:
        """Give a slot back; the first in line gets it."""
        with self._changed:
            self._running = max(0, self._running - 1)
            self._changed.notify_all()

    @contextlib.contextmanager
    def held(self, stop: threading.Event | None = None,
             timeout: float | None = None) -> Iterator[bool]:
        """``with slots.held() as got:`` a slot for the block (``got`` False if none came)."""
        ticket = object()
        got = self.acquire(ticket, stop, timeout)
        try:
            yield got
        finally:
            if got:
                self.release()

    def position(self, ticket: object) -> int | None:
        """Place in line (1 is next), or None when not waiting."""
        with self._changed:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return None

    @property
    def running(self) -> int:
        """Jobs holding a slot now."""
        with self._changed:
            return self._running

    @property
    def waiting(self) -> int:
        """Jobs in line now."""
        with self._changed:
            return len(self._waiting)


def solve_limit(environ: dict[str, str] | None = None,
                cores: int | None = None) -> tuple[int, str | None]:
    """How many solves may run at once on this server, and a note when the setting is bad.

    ``ROTAPLAN_MAX_SOLVES`` when it is a whole number of at least 1; otherwise
    ``cores // DEFAULT_WORKERS``, at least 1, so solves with the default threads
    never oversubscribe the machine.
    """
    env = os.environ if environ is None else environ
    default = max(1, (cores if cores is not None else os.cpu_count() or 1) // DEFAULT_WORKERS)
    raw = env.get(MAX_SOLVES_VAR, "").strip()
    if not raw:
        return default, None
    if raw.isascii() and raw.isdigit() and int(raw) >= 1:
        return int(raw), None
    return default, (f"{MAX_SOLVES_VAR}={raw!r} is not a whole number of at least 1; "
                     f"{default} solve(s) run at once")


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


JobHook = Callable[[Any], None]
"""Called on the job's own thread with the job: when its work starts, and when it ends."""


class _Job:
    """A piece of work on a daemon thread, with a stop event and timings.

    Subclasses set up their state, then call :meth:`_start`, and implement
    :meth:`_work`; an exception there is kept as ``error`` (a message) and
    ``details`` (the traceback), never raised in the UI.

    Parameters
    ----------
    name
        The thread's name.
    slots
        When given, the work waits for a slot (in line; Cancel leaves the line,
        and the job ends with ``skipped`` set and no work done).
    on_start, on_end
        Called on the job's thread when the work starts, and once it has ended
        (also when skipped or failed); the job counts as running until ``on_end``
        returns, so whoever sees it stopped sees what ``on_end`` stored. An
        exception in ``on_end`` is kept as ``end_error``.
    """

    def __init__(self, name: str, slots: SolveSlots | None = None,
                 on_start: JobHook | None = None, on_end: JobHook | None = None) -> None:
        self._stop = threading.Event()
        self.error: str | None = None
        self.details: str | None = None
        self.end_error: str | None = None
        self.queued = time.perf_counter()
        self.started: float | None = None
        self.finished: float | None = None
        self.skipped = False
        self._slots, self._on_start, self._on_end = slots, on_start, on_end
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _start(self) -> None:
        self.queued = time.perf_counter()
        self._thread.start()

    def _work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            if self._slots is not None and not self._slots.acquire(self, self._stop):
                self.skipped = True  # cancelled while waiting in line
                return
            try:
                self.started = time.perf_counter()
                if self._on_start is not None:
                    self._on_start(self)
                self._work()
            finally:
                if self._slots is not None:
                    self._slots.release()
        except Exception as exc:  # shown to the user as a message, never raised in the UI
            self.error = f"{type(exc).__name__}: {exc}"
            self.details = traceback.format_exc()
        finally:
            self.finished = time.perf_counter()
            if self._on_end is not None:
                try:
                    self._on_end(self)
                except Exception as exc:  # kept for whoever looks at the job
                    self.end_error = f"{type(exc).__name__}: {exc}"

    @property
    def running(self) -> bool:
        """Whether the job has not ended (waiting in line, working, or storing its end)."""
        return self._thread.is_alive()

    @property
    def waiting(self) -> bool:
        """Whether the job is still in line for a slot."""
        return self.started is None and self.running

    @property
    def position(self) -> int | None:
        """Place in line while waiting (1 is next), else None."""
        return None if self._slots is None else self._slots.position(self)

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed."""
        return self._stop.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds of work since it started (until the end, once finished; 0 while waiting)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def cancel(self) -> None:
        """Ask the solver to stop (what was found so far is kept), or leave the line."""
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
    slots, on_start, on_end
        As for every job: wait for a slot; hooks on the job's thread.
    meta
        What the caller wants to know about the job later (run and scenario ids).
    """

    def __init__(self, scenario: Scenario, options: SolveOptions,
                 out_dir: str | Path | None = None, *, slots: SolveSlots | None = None,
                 on_start: JobHook | None = None, on_end: JobHook | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        super().__init__("rotaplan-solve", slots, on_start, on_end)
        self.scenario = scenario
        self.meta: dict[str, Any] = dict(meta or {})
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="rotaplan-"))
        self._events: queue.Queue[Progress] = queue.Queue()
        self._polling = threading.Lock()  # several browser tabs may watch one solve
        self.options = replace(options, on_progress=self._events.put, stop=self._stop)
        self.log = ProgressLog()
        self.outcome: Outcome | None = None
        self._start()

    def _work(self) -> None:
        self.outcome = solve_and_write(self.scenario, self.out_dir, self.options)

    def poll(self) -> ProgressLog:
        """Move queued progress events into :attr:`log` (call from the script thread)."""
        with self._polling:
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
    combine, combine_seconds
        Sets of extra units to find and re-solve, and seconds for each.
    workers, seed
        CP-SAT settings.
    slots
        When given, the question waits for a free solver slot first.

    Attributes
    ----------
    notes
        Progress in plain words, in order.
    answer, code
        The answer and exit code once finished (None if it failed).
    """

    def __init__(self, scenario: Scenario, newcomer: Newcomer, *, time_limit: float,
                 probes: int, probe_seconds: float = 10.0, workers: int = 2,
                 seed: int = 0, slots: SolveSlots | None = None, combine: int = 2,
                 combine_seconds: float = 40.0) -> None:
        super().__init__("rotaplan-capacity", slots)
        self.scenario, self.newcomer = scenario, newcomer
        self.time_limit, self.probes, self.probe_seconds = time_limit, probes, probe_seconds
        self.combine, self.combine_seconds = combine, combine_seconds
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
        return (self.time_limit + max(10.0, self.time_limit) + self.probes * self.probe_seconds
                + self.combine * self.combine_seconds)

    def _work(self) -> None:
        try:
            self.answer, self.code = find_capacity(
                self.scenario, self.newcomer, out=self.out_dir, time_limit=self.time_limit,
                probes=self.probes, probe_seconds=self.probe_seconds, workers=self.workers,
                seed=self.seed, note=self._notes.put, stop=self._stop, combine=self.combine,
                combine_seconds=self.combine_seconds)
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


class ExplainJob(_Job):
    """'Why no plan?' (:func:`~rotaplan.solver.explain.diagnose`), in the background.

    Parameters
    ----------
    scenario
        A validated scenario.
    time_limit
        Seconds for the whole explanation (checks, conflict, fixes).
    slots
        When given, the explanation waits for a free solver slot first.

    Attributes
    ----------
    notes
        Progress in plain words, in order.
    diagnosis
        The answer once finished (None if it failed or was skipped).
    """

    def __init__(self, scenario: Scenario, *, time_limit: float,
                 slots: SolveSlots | None = None) -> None:
        super().__init__("rotaplan-explain", slots)
        self.scenario, self.time_limit = scenario, time_limit
        self._notes: queue.Queue[str] = queue.Queue()
        self.notes: list[str] = []
        self.diagnosis: Diagnosis | None = None
        self._start()

    @property
    def longest(self) -> float:
        """Seconds the explanation can take at most (for a progress bar)."""
        return self.time_limit

    def _work(self) -> None:
        self.diagnosis = diagnose(self.scenario, self.time_limit, stop=self._stop,
                                  note=self._notes.put)

    def poll(self) -> list[str]:
        """Move queued notes into :attr:`notes` (call from the script thread)."""
        while True:
            try:
                self.notes.append(self._notes.get_nowait().strip())
            except queue.Empty:
                return self.notes


# --------------------------------------------------------------------------- runs


SERVER = f"{socket.gethostname()}:{os.getpid()}"
"""This server process, as recorded with each run it solves (``options["server"]``)."""


def record_outcome(store: Store, run_id: int, job: SolveJob) -> RunInfo:
    """Store a finished solve's outcome against its run (recorded when it was asked for).

    Raises
    ------
    KeyError
        The run is gone (its scenario was deleted during the solve).
    """
    options = dict(store.run(run_id).options)
    if job.skipped:
        return store.update_run(run_id, status=RunStatus.CANCELLED, seconds=0.0,
                                options=options | {"cancelled": True},
                                message="Cancelled while it waited for a free solver; "
                                        "nothing was solved.")
    if job.outcome is None:
        return store.update_run(run_id, status=RunStatus.FAILED, seconds=job.elapsed,
                                message=job.error)
    out = job.out_dir
    result, code = job.outcome.result, job.outcome.exit_code
    summary = _read_json(out / "summary.json")
    status = RunStatus.CHECK_FAILED if code == ExitCode.CHECK_FAILED else result.status
    message = None
    if job.cancelled:
        message = f"Stopped by Cancel after {job.elapsed:.1f} s; the best plan found is kept."
    if code == ExitCode.CHECK_FAILED:
        message = ("The solver's plan failed rotaplan's independent check, so it is not "
                   "shown as a plan: " + "; ".join(summary.get("check_failed", [])[:5]))
    has_plan = job.outcome.wrote_plan and result.plan is not None
    explanation = out / "explanation.txt"
    return store.update_run(
        run_id, status=status, objective=result.objective, bound=result.best_bound,
        seconds=result.stats.solve_seconds,
        options=options | {"cancelled": job.cancelled, "terms": result.terms},
        summary=summary,
        assignments_csv=(out / "assignments.csv").read_text() if has_plan else None,
        timetable_csv=(out / "timetable.csv").read_text() if has_plan else None,
        explanation=explanation.read_text() if explanation.exists() else None,
        message=message)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


class SolveRegistry:
    """The solves of this server process, by run id, while they are queued or running.

    A solve is recorded as a run (``QUEUED``) when it is asked for, marked
    ``RUNNING`` when it gets a slot, and given its outcome by its own thread when
    it ends; then its temporary plan folder is removed and it leaves the
    registry. So the registry holds only live solves, and the store holds the
    rest.

    Parameters
    ----------
    limit
        Solves allowed at once (default :func:`solve_limit`).
    """

    def __init__(self, limit: int | None = None) -> None:
        found, self.note = solve_limit()
        self.slots = SolveSlots(limit or found)
        self._jobs: dict[int, SolveJob] = {}
        self._lock = threading.Lock()

    def start(self, store: Store, version_id: int, scenario: Scenario,
              options: SolveOptions, *, settings: dict[str, Any] | None = None) -> RunInfo:
        """Record a run of ``version_id`` and start (or queue) its solve; return the run.

        ``settings`` are stored as the run's options (JSON), with the server's name.
        """
        run = store.record_run(version_id, status=RunStatus.QUEUED, objective=None, bound=None,
                               seconds=0.0, options=dict(settings or {}) | {"server": SERVER},
                               summary={})
        meta = {"run_id": run.id, "version_id": version_id, "scenario_id": run.scenario_id,
                "user": store.who.user}  # whose solve it is (a refresh finds only one's own)

        def started(_: SolveJob) -> None:
            with contextlib.suppress(KeyError):  # deleted meanwhile: on_end says nothing
                store.update_run(run.id, status=RunStatus.RUNNING)

        def ended(job: SolveJob) -> None:
            try:
                with contextlib.suppress(KeyError):  # the scenario was deleted meanwhile
                    record_outcome(store, run.id, job)
            finally:
                shutil.rmtree(job.out_dir, ignore_errors=True)
                with self._lock:
                    self._jobs.pop(run.id, None)

        with self._lock:  # ended() waits for this: the job is listed before it can leave
            self._jobs[run.id] = SolveJob(scenario, options, slots=self.slots,
                                          on_start=started, on_end=ended, meta=meta)
        return run

    def get(self, run_id: int | None) -> SolveJob | None:
        """The live solve of a run, or None (finished, or never on this server)."""
        if run_id is None:
            return None
        with self._lock:
            return self._jobs.get(run_id)

    def live(self, scenario_id: int | None = None, user: str | None = None
             ) -> dict[int, SolveJob]:
        """Live solves by run id, oldest first: of one scenario, and started by one
        person (:attr:`Store.who`'s ``user``), when given."""
        with self._lock:
            return {rid: job for rid, job in sorted(self._jobs.items())
                    if (scenario_id is None or job.meta.get("scenario_id") == scenario_id)
                    and (user is None or job.meta.get("user") == user)}

    def settle(self, store: Store, run: RunInfo) -> RunInfo:
        """A run said to be queued or running whose solve has gone: mark it ``INTERRUPTED``.

        Only when its solve is certainly gone: it was this process's and is no
        longer listed, or it was another process's on this machine that no
        longer exists. A run of a live solve, or of another machine, is returned
        as it is.
        """
        if run.status not in LIVE or self.get(run.id) is not None:
            return run
        server = str(run.options.get("server", ""))
        host, _, pid = server.rpartition(":")
        gone = server == SERVER or (host == socket.gethostname() and pid.isdigit()
                                    and not pid_alive(int(pid)))
        if not gone:
            return run
        try:
            return store.update_run(run.id, status=RunStatus.INTERRUPTED,
                                    message="The server stopped during this solve, so its "
                                            "outcome was not kept. Solve again.")
        except (KeyError, AccessDeniedError):  # gone, or a viewer's look: leave it as it is
            return run

    def cancel_all(self, wait: float | None = None) -> None:
        """Cancel every live solve (and wait up to ``wait`` seconds for each to end)."""
        for job in self.live().values():
            job.cancel()
        if wait is not None:
            for job in self.live().values():
                job.wait(wait)


_registry: SolveRegistry | None = None
_registry_lock = threading.Lock()


def solves() -> SolveRegistry:
    """This process's solve registry (made on first use, with :func:`solve_limit`)."""
    global _registry  # one registry per server process, by design
    with _registry_lock:
        if _registry is None:
            _registry = SolveRegistry()
        return _registry
