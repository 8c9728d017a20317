"""Solve many scenarios at once: ``rotaplan batch PATH... --out DIR``.

Each scenario is one task, :func:`solve_file`, which receives the scenario's
YAML *text* (never a built model), parses it, and solves it through
:func:`rotaplan.runs.pipeline.solve_and_write`, so every plan is checked before it
is written to ``DIR/<stem>/``. Tasks run in-process (``--jobs 1``), in a
process pool (the default), or on Dask (``--dask local`` starts a loopback
cluster; ``--dask tcp://HOST:PORT`` uses a running one, whose workers must see
``DIR``). The machine is never oversubscribed: concurrent jobs times CP-SAT
workers stays within the cores, and the job count is reduced with a warning
when it would not.

The summary is ``DIR/batch_summary.csv`` (one row per scenario, sorted by
name) and the exit code is the worst row's: 0 every plan written, 2 an input
invalid, 3 a scenario infeasible, 4 no plan within the time limit, 5 a plan
failed verification or a task crashed, 130 the batch was stopped.

A stop request (Ctrl-C, SIGTERM) starts no further scenario, stops the running
solves (pool workers receive SIGTERM and keep their best plan), and still
writes the summary, with ``NOT_STARTED`` rows for what never ran.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import glob
import multiprocessing
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.exit_codes import ExitCode
from rotaplan.io.cells import csv_row
from rotaplan.models import ScenarioError, parse_scenario_text
from rotaplan.models.loader import decode, read_limited
from rotaplan.models.vocabulary import Status
from rotaplan.runs import pipeline
from rotaplan.solver import SolveOptions

SUMMARY_COLUMNS = ["scenario", "status", "objective", "bound", "gap", "placed", "time",
                   "exit_code", "plan_dir"]
"""Columns of ``batch_summary.csv``, in order."""

ROW_KEYS = ["scenario", "status", "objective", "bound", "gap", "placed", "learners", "time",
            "exit_code", "plan_dir"]
"""Keys of every row :func:`solve_file` returns."""

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a remote Dask scheduler."""

ERROR = "ERROR"
"""Status of a task that crashed (a bug or a lost worker); it counts as exit code 5."""
NOT_STARTED = "NOT_STARTED"
"""Status of a scenario the batch never solved because it was stopped (exit code 130)."""
STOPPED = "STOPPED"
"""Status of a solve whose worker was ended after the stop grace (its previous plan
folder, if any, is left as it was; exit code 130)."""


class BatchError(ValueError):
    """The batch cannot start: a path is missing, nothing was found, no cluster."""


@dataclass
class BatchResult:
    """What a batch produced.

    Attributes
    ----------
    rows
        One row per scenario (keys :data:`ROW_KEYS`, plus ``errors`` for
        invalid input and ``error`` for a crashed task), sorted by scenario.
    exit_code
        The worst row's exit code.
    summary_csv
        Path of ``batch_summary.csv``.
    jobs
        Scenarios solved at once (after any reduction to fit the cores).
    warnings
        Warnings printed before the run (oversubscription).
    """

    rows: list[dict[str, Any]]
    exit_code: ExitCode
    summary_csv: Path
    jobs: int = 1
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the task

def _number(value: float | None) -> float | int | None:
    """An objective or bound as an int when whole (CSV-friendly), else rounded."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 6)


def empty_row(name: str, status: str, plan_dir: str, exit_code: int,
              seconds: float = 0.0) -> dict[str, Any]:
    """A row for a scenario without a plan (invalid input, crashed task)."""
    return {"scenario": name, "status": status, "objective": None, "bound": None, "gap": None,
            "placed": None, "learners": None, "time": round(seconds, 3),
            "exit_code": exit_code, "plan_dir": plan_dir}


_STOP = threading.Event()
"""A worker process's stop request, set by SIGINT or SIGTERM (see :func:`_worker_init`)."""


def _worker_init() -> None:
    """In each pool worker: Ctrl-C (sent to the whole process group by a terminal) and
    SIGTERM (sent by the batch when it is stopped) stop the running solve, which keeps
    its best plan, instead of killing the worker."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: _STOP.set())


def solve_file(name: str, text: str, out_dir: str, time_limit: float, workers: int,
               seed: int, *, source: str | None = None,
               stop: threading.Event | None = None) -> dict[str, Any]:
    """Parse, solve, check and write one scenario (the task every engine runs).

    Parameters
    ----------
    name
        The scenario's name in the summary (its plan directory's name).
    text
        The scenario YAML text.
    out_dir
        Directory for the plan files (or the ``INVALID`` summary).
    time_limit, workers, seed
        CP-SAT time limit (seconds), search workers and random seed.
    source
        File name used in error messages (default: ``name``).
    stop
        Ends the solve early, keeping its best plan (default: the worker process's
        own request, set by SIGINT or SIGTERM).

    Returns
    -------
    dict
        The summary row: :data:`ROW_KEYS`, plus ``errors`` when the input is invalid.
    """
    started = time.perf_counter()
    file = source or name
    try:
        scenario = parse_scenario_text(text, file).scenario
    except ScenarioError as exc:
        errors = [p.render(file) for p in exc.errors]
        pipeline.write_invalid(out_dir, errors)
        row = empty_row(name, Status.INVALID, out_dir, ExitCode.INVALID,
                        time.perf_counter() - started)
        return row | {"errors": errors}
    options = SolveOptions(time_limit=time_limit, workers=workers, seed=seed,
                           stop=_STOP if stop is None else stop)
    outcome = pipeline.solve_and_write(scenario, out_dir, options)
    result = outcome.result
    ok = outcome.exit_code == ExitCode.OK
    status = "CHECK_FAILED" if outcome.exit_code == ExitCode.CHECK_FAILED else result.status
    return {
        "scenario": name,
        "status": status,
        "objective": _number(result.objective) if ok else None,
        "bound": _number(result.best_bound),
        "gap": None if result.gap is None or not ok else round(result.gap, 6),
        "placed": len(scenario.learners) - (result.unplaced or 0) if ok else None,
        "learners": len(scenario.learners),
        "time": round(time.perf_counter() - started, 3),
        "exit_code": outcome.exit_code,
        "plan_dir": out_dir,
    }


# --------------------------------------------------------------------------- inputs

def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _yaml_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """The scenario files named by files, folders and globs, each once, in order.

    Folders give their ``*.yaml`` and ``*.yml`` files, sorted; globs are
    expanded with :func:`glob.glob` (``**`` recursive), sorted.

    Raises
    ------
    BatchError
        A path that does not exist, a glob matching nothing, or no file at all.
    """
    found: list[Path] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            files = _yaml_in(path)
            if not files:
                raise BatchError(f"{text}: no .yaml or .yml files in this folder")
            found += files
        elif _is_glob(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = []
            for match in map(Path, matches):
                files += _yaml_in(match) if match.is_dir() else [match] if match.is_file() \
                    else []
            if not files:
                raise BatchError(f"{text}: no files match")
            found += files
        else:
            raise BatchError(f"{text}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    if not unique:
        raise BatchError("no scenario files given")
    return list(unique.values())


RESERVED_NAMES = frozenset({"batch_summary.csv", "sweep_summary.csv", "variants.csv",
                            "variants"})
"""What a batch or a sweep writes beside its plan folders: no plan folder takes these names."""
MAX_NAME = 100
"""Longest plan-folder name (file systems allow 255 bytes; the name goes in tables too)."""
_UNSAFE = re.compile(r"[^\w.=+-]+")


def safe_name(stem: str) -> str:
    """A plan-folder name for a file stem: one path component, visible, safe in a table.

    Characters other than letters, digits, ``.``, ``_``, ``=``, ``+`` and ``-`` become
    ``-``; leading ``.``, ``-``, ``=``, ``+`` and ``@`` (hidden names, command-line
    options, spreadsheet formulas) and trailing ``.`` and ``-`` are dropped; an empty
    result is ``scenario``. ``..`` can never come out of it.
    """
    name = _UNSAFE.sub("-", stem).lstrip(".-=+@").rstrip(".-")[:MAX_NAME].rstrip(".-")
    return name or "scenario"


def plan_names(files: list[Path]) -> list[str]:
    """A distinct, safe plan-folder name per file: its stem made safe (:func:`safe_name`),
    then ``name-2``, ``name-3``... Names are distinct ignoring case (case-insensitive
    file systems) and never one of :data:`RESERVED_NAMES`."""
    taken = {name.casefold() for name in RESERVED_NAMES}
    names = []
    for path in files:
        stem = safe_name(path.stem)
        name, k = stem, 1
        while name.casefold() in taken:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.casefold())
        names.append(name)
    return names


def plan_dir_of(out: Path, name: str) -> Path:
    """``out / name``, checked to be a folder directly inside ``out``.

    Raises
    ------
    BatchError
        If the name would lead anywhere else (it cannot, after :func:`safe_name`).
    """
    folder = out / name
    if name in ("", ".", "..") or Path(name).name != name or \
            folder.resolve().parent != out.resolve():
        raise BatchError(f"{name!r} cannot name a plan folder inside {out}")
    return folder


def _read_text(path: Path) -> tuple[str | None, str | None]:
    """The file's UTF-8 text, or None and why it cannot be read (as the loader says it)."""
    try:
        return decode(read_limited(path), str(path)), None
    except ScenarioError as exc:
        return None, exc.errors[0].render(str(path))


# --------------------------------------------------------------------------- cores

def cpu_count() -> int:
    """Cores on this machine (``os.cpu_count()``, at least 1)."""
    return os.cpu_count() or 1


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def fit_jobs(jobs: int | None, workers: int, cores: int) -> tuple[int, str | None]:
    """Scenarios to solve at once so that jobs × CP-SAT workers fits the cores.

    Parameters
    ----------
    jobs
        Jobs asked for (None: as many as fit, ``max(1, cores // workers)``).
    workers
        CP-SAT workers per job.
    cores
        Cores available.

    Returns
    -------
    tuple
        The job count to use, and a warning when it differs from the request
        or the machine is oversubscribed anyway.
    """
    fitting = max(1, cores // workers)
    if jobs is None:
        jobs = fitting
    elif jobs * workers > cores and fitting < jobs:
        return fitting, (f"asked for {_plural(jobs, 'job')} × "
                         f"{_plural(workers, 'CP-SAT worker')} on {cores} cores; running "
                         f"{_plural(fitting, 'job')} at a time")
    if jobs * workers > cores:
        return jobs, (f"{_plural(workers, 'CP-SAT worker')} per job on {cores} cores "
                      f"oversubscribe the machine; --workers {cores} or fewer is faster")
    return jobs, None


# --------------------------------------------------------------------------- engines

@dataclass(frozen=True)
class _Task:
    name: str
    text: str
    out_dir: str
    source: str


Finished = tuple[_Task, dict[str, Any] | None, BaseException | None]
"""A task, its row (None if it crashed) and the exception it raised."""


def _arguments(task: _Task, time_limit: float, workers: int, seed: int) -> tuple[Any, ...]:
    return (task.name, task.text, task.out_dir, time_limit, workers, seed)


def _in_process(tasks: list[_Task], time_limit: float, workers: int,
                seed: int, stop: threading.Event | None = None) -> Iterator[Finished]:
    for task in tasks:
        if stop is not None and stop.is_set():
            yield task, None, StoppedError()
            continue
        try:
            row = solve_file(*_arguments(task, time_limit, workers, seed), source=task.source,
                             stop=stop or threading.Event())
        except Exception as exc:  # a crash becomes an ERROR row, as on the other engines
            yield task, None, exc
        else:
            yield task, row, None


class StoppedError(Exception):
    """A task that never ran (``NOT_STARTED``), or was ended before it returned
    (``STOPPED``), because the batch was stopped."""

    def __init__(self, status: str = NOT_STARTED) -> None:
        super().__init__(status)
        self.status = status


STOP_GRACE = 60.0
"""Seconds running solves get, once a batch is stopped, to check and write their best
plan before their workers are killed (their previous plan folders then stay)."""


def _process_pool(tasks: list[_Task], jobs: int, time_limit: float, workers: int,
                  seed: int, stop: threading.Event | None = None) -> Iterator[Finished]:
    """Run tasks in a pool of worker processes; on ``stop``, start no more, stop the
    running ones (SIGTERM: they keep their best plan) and yield every task.

    A task is submitted only when a worker is free: the pool would otherwise queue
    one more task than it has workers, and a queued task cannot be withdrawn.
    """
    context = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                  initializer=_worker_init)
    waiting = list(reversed(tasks))
    running: dict[cf.Future[dict[str, Any]], _Task] = {}
    signalled = False
    deadline = float("inf")
    try:
        while waiting or running:
            while waiting and len(running) < jobs and not signalled:
                task = waiting.pop()
                running[pool.submit(solve_file, *_arguments(task, time_limit, workers, seed),
                                    source=task.source)] = task
            if signalled:
                while waiting:
                    yield waiting.pop(), None, StoppedError()
            if not running:
                break
            done, _ = cf.wait(running, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                exc = future.exception()
                if exc is not None and signalled:
                    exc = StoppedError(STOPPED)
                yield task, None if exc else future.result(), exc
            if stop is not None and stop.is_set() and not signalled:
                signalled = True
                deadline = time.monotonic() + STOP_GRACE
                _signal_workers(pool, signal.SIGTERM)
            if time.monotonic() > deadline:
                _signal_workers(pool, signal.SIGKILL)
                deadline = float("inf")
    except BaseException:  # a second Ctrl-C: end the workers, then pass it on
        _signal_workers(pool, signal.SIGKILL)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _signal_workers(pool: cf.ProcessPoolExecutor, number: int) -> None:
    """Send a signal to every live worker process of a pool."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(ProcessLookupError, ValueError, AttributeError):
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, number)


def _dask(tasks: list[_Task], client: Any, limit: int, time_limit: float, workers: int,
          seed: int, stop: threading.Event | None = None) -> Iterator[Finished]:
    """Run tasks on a Dask client, at most ``limit`` at once, yielding as they finish.

    On ``stop`` no further task is submitted; tasks already running finish (a
    Dask worker cannot be sent the stop request), so this waits for them.
    """
    from distributed import as_completed

    pending = list(reversed(tasks))
    owner: dict[str, _Task] = {}
    running = as_completed()

    def submit() -> None:
        task = pending.pop()
        future = client.submit(solve_file, *_arguments(task, time_limit, workers, seed),
                               source=task.source, pure=False)
        owner[future.key] = task
        running.add(future)

    for _ in range(min(limit, len(pending))):
        submit()
    for future in running:
        task = owner[future.key]
        try:
            row, exc = future.result(), None
        except Exception as error:
            row, exc = None, error
        yield task, row, exc
        if pending and not (stop is not None and stop.is_set()):
            submit()
    for task in reversed(pending):
        yield task, None, StoppedError()


def _cluster_warning(client: Any, jobs: int | None, workers: int) -> tuple[int, str | None]:
    """Tasks a remote cluster runs at once, and a warning if they oversubscribe its cores."""
    from distributed.comm import get_address_host

    threads = client.nthreads()
    total = sum(threads.values()) or 1
    limit = total if jobs is None else min(jobs, total)
    try:
        per_worker = client.run(os.cpu_count)
        hosts = {get_address_host(addr): n or 1 for addr, n in per_worker.items()}
        cores = sum(hosts.values())
    except Exception:  # cannot tell: just run
        return limit, None
    if limit * workers > cores:
        return limit, (f"the Dask cluster runs {_plural(limit, 'task')} at once × "
                       f"{_plural(workers, 'CP-SAT worker')} on {cores} cores; "
                       "it is oversubscribed (use fewer --workers or fewer worker threads)")
    return limit, None


# --------------------------------------------------------------------------- the batch

def write_summary(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write ``batch_summary.csv`` (columns :data:`SUMMARY_COLUMNS`)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(row) for row in rows)  # opened in spreadsheets
    return path


Row = dict[str, Any]
"""One scenario's summary row (:data:`ROW_KEYS`)."""


def run_batch(paths: list[Path], out: Path, *, jobs: int | None = None, workers: int = 1,
              time_limit: float = 60.0, seed: int = 0, dask: str | None = None,
              on_start: Callable[[int], None] | None = None,
              on_row: Callable[[Row], None] | None = None,
              on_warning: Callable[[str], None] | None = None,
              stop: threading.Event | None = None) -> BatchResult:
    """Solve every scenario named by ``paths``, writing each plan to ``out/<stem>/``.

    Parameters
    ----------
    paths
        Scenario files, folders (their ``*.yaml``/``*.yml``) and globs.
    out
        Output directory: one plan directory per scenario and ``batch_summary.csv``.
    jobs
        Scenarios solved at once (default: as many as fit the cores).
    workers, time_limit, seed
        CP-SAT workers, time limit (seconds) and seed of each solve.
    dask
        None for a process pool, ``"local"`` for a loopback Dask cluster, or
        the address of a running Dask scheduler.
    on_start
        Called once with the number of scenarios, before any is solved.
    on_row
        Called with each scenario's row as it finishes (a crashed task gives an
        ``ERROR`` row with its ``error``).
    on_warning
        Called with each warning (fewer jobs than asked, an oversubscribed cluster).
    stop
        A stop request (Ctrl-C): no further scenario is started, running solves
        stop and keep their best plan (exit code 130 in their rows), scenarios
        never started get a ``NOT_STARTED`` row, and ``batch_summary.csv`` is
        still written.

    Raises
    ------
    BatchError
        When a path is missing, nothing is found, or the cluster is unreachable.
    """
    files = collect_files(paths)
    names = plan_names(files)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    tasks: list[_Task] = []
    for path, name in zip(files, names, strict=True):
        plan_dir = str(plan_dir_of(out, name))
        text, problem = _read_text(path)
        if text is None:
            assert problem is not None
            pipeline.write_invalid(plan_dir, [problem])
            rows.append(empty_row(name, Status.INVALID, plan_dir, ExitCode.INVALID)
                        | {"errors": [problem]})
        else:
            tasks.append(_Task(name, text, plan_dir, str(path)))
    warnings: list[str] = []

    def warn(message: str | None) -> None:
        if message:
            warnings.append(message)
            if on_warning is not None:
                on_warning(message)

    if on_start is not None:
        on_start(len(files))
    for row in rows:
        if on_row is not None:
            on_row(row)

    def gather(finished: Iterator[Finished]) -> None:
        for task, row, exc in finished:
            if isinstance(exc, StoppedError):
                row = empty_row(task.name, exc.status, task.out_dir, ExitCode.INTERRUPTED)
            elif row is None:
                message = f"{type(exc).__name__}: {exc}"
                row = empty_row(task.name, ERROR, task.out_dir,
                                ExitCode.CHECK_FAILED) | {"error": message}
            rows.append(row)
            if on_row is not None:
                on_row(row)

    if dask is None or dask == "local":
        count, message = fit_jobs(jobs, workers, cpu_count())
        warn(message)
        count = max(1, min(count, len(tasks)))
        if not tasks:
            pass
        elif dask == "local":
            with _local_client(count) as client:
                gather(_dask(tasks, client, count, time_limit, workers, seed, stop))
        elif count == 1:
            gather(_in_process(tasks, time_limit, workers, seed, stop))
        else:
            gather(_process_pool(tasks, count, time_limit, workers, seed, stop))
    else:
        count = _remote_dask(dask, tasks, jobs, workers, time_limit, seed, warn, gather, stop)
    rows.sort(key=lambda r: str(r["scenario"]))
    missing = [r["scenario"] for r in rows if not (Path(r["plan_dir"]) / "summary.json").exists()]
    if missing and dask not in (None, "local"):
        warn(f"no summary.json here for {len(missing)} scenario(s) ({', '.join(missing[:3])}"
             f"{', ...' if len(missing) > 3 else ''}): the Dask workers wrote their plans "
             f"to {out} on their own file system")
    summary = write_summary(rows, out / "batch_summary.csv")
    worst = ExitCode.worst([int(r["exit_code"]) for r in rows])
    return BatchResult(rows, worst, summary, count, warnings)


@contextlib.contextmanager
def _local_client(jobs: int) -> Iterator[Any]:
    """A loopback Dask cluster of ``jobs`` single-threaded worker processes, and its client."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    scratch_dir = tempfile.TemporaryDirectory(prefix="rotaplan-dask-", ignore_cleanup_errors=True)
    with scratch_dir as scratch, dask.config.set({"temporary-directory": scratch}):
        try:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR, local_directory=scratch)
        except Exception as exc:
            raise BatchError(f"cannot start a local Dask cluster: {exc}") from None
        with cluster, Client(cluster) as client:
            yield client


def _remote_dask(address: str, tasks: list[_Task], jobs: int | None, workers: int,
                 time_limit: float, seed: int, warn: Callable[[str | None], None],
                 gather: Callable[[Iterator[Finished]], None],
                 stop: threading.Event | None = None) -> int:
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    with client:
        limit, message = _cluster_warning(client, jobs, workers)
        warn(message)
        if tasks:
            gather(_dask(tasks, client, max(1, limit), time_limit, workers, seed, stop))
    return limit
