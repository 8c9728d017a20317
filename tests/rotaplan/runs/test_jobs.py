"""``rotaplan.runs.jobs``: a solve on a background thread, with progress and Cancel;
the server's solve registry (runs recorded when asked for, outcomes stored by the
solve itself) and its limit on solves at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rotaplan.checker import check_plan_dir
from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import read_plan
from rotaplan.models import PLAN_FILES, Scenario, load_scenario
from rotaplan.runs import jobs as solve_job
from rotaplan.runs.jobs import (
    SERVER,
    CapacityJob,
    ProgressLog,
    RunStatus,
    SolveJob,
    SolveRegistry,
    SolveSlots,
    solve_limit,
)
from rotaplan.runs.store import Store
from rotaplan.solver import Progress, SolveOptions
from rotaplan.solver.capacity import Newcomer
from tests.helpers import INSTANCES, learner, scenario, scenario_from, site


def small() -> Scenario:
    """A two-block scenario with a real choice (so the solver reports a solution)."""
    return scenario_from(scenario(
        [site("a"), site("b", "community")],
        [learner("L1", preferences=["b"]), learner("L2")], blocks=2))


def wait_for_solution(job: SolveJob, deadline: float) -> bool:
    """Poll until a solution event arrives or ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if any(e.kind == "solution" for e in job.poll().events):
            return True
        if not job.running:
            return any(e.kind == "solution" for e in job.poll().events)
        time.sleep(0.05)
    return False


def test_small_job_finishes(tmp_path: Path) -> None:
    """A small solve ends, writes a checked plan and reports progress through ``poll``."""
    sc = small()
    job = SolveJob(sc, SolveOptions(time_limit=20, workers=1, seed=0), tmp_path / "out")
    assert job.wait(30)
    assert not job.running and not job.cancelled
    assert job.error is None and job.details is None
    assert job.outcome is not None and job.outcome.exit_code == 0
    assert job.outcome.result.status == "OPTIMAL"
    assert sorted(p.name for p in job.outcome.files) == sorted(PLAN_FILES)
    assert all((tmp_path / "out" / name).is_file() for name in PLAN_FILES)
    assert check_plan_dir(sc, tmp_path / "out").ok
    log = job.poll()
    assert any(e.kind == "solution" for e in log.events)
    assert log.phase == log.events[-1].phase
    assert log.objective is not None
    assert job.elapsed > 0
    first = job.elapsed
    time.sleep(0.02)
    assert job.elapsed == first  # frozen once finished


def test_default_out_dir_is_a_new_temporary_folder() -> None:
    """Without ``out_dir`` the plan goes to a fresh temporary directory."""
    job = SolveJob(small(), SolveOptions(time_limit=20, workers=1, seed=0))
    assert job.wait(30) and job.outcome is not None and job.outcome.exit_code == 0
    assert job.out_dir.name.startswith("rotaplan-")
    assert (job.out_dir / "assignments.csv").is_file()
    shutil.rmtree(job.out_dir)


def test_options_are_copied_not_changed(tmp_path: Path) -> None:
    """The job sets its own progress callback and stop event on a copy of the options."""
    options = SolveOptions(time_limit=20, workers=1, seed=0)
    job = SolveJob(small(), options, tmp_path)
    assert job.wait(30)
    assert options.on_progress is None and options.stop is None
    assert job.options.stop is not None and job.options.on_progress is not None


def test_cancel_keeps_the_best_plan(tmp_path: Path) -> None:
    """Cancel after the first solution: the job ends soon, with a checked plan."""
    sc = load_scenario(INSTANCES / "medium.yaml")
    out = tmp_path / "medium"
    job = SolveJob(sc, SolveOptions(time_limit=120, workers=1, seed=0), out)
    try:
        assert wait_for_solution(job, 120), "no solution event within 120 s"
        assert job.running, "medium solved before Cancel: pick a harder instance"
        job.cancel()
        assert job.cancelled
        assert job.wait(60)
    finally:
        job.cancel()
        job.wait(120)
    assert job.error is None, job.details
    # ended within 60 s of Cancel (job.wait above); the first plan may take long under load
    assert job.outcome is not None
    assert job.outcome.result.status in ("FEASIBLE", "OPTIMAL")
    assert job.outcome.exit_code == ExitCode.INTERRUPTED and job.outcome.wrote_plan
    assert job.outcome.check is not None and job.outcome.check.ok
    assert check_plan_dir(sc, out).ok
    assert len(read_plan(out).assignments) > 0


def test_exception_is_captured_when_out_dir_is_a_file(tmp_path: Path) -> None:
    """A path that is a file is refused inside the job: text, not a raise."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    job = SolveJob(small(), SolveOptions(time_limit=20, workers=1, seed=0), blocker)
    assert job.wait(30)
    assert job.outcome is None
    assert job.error is not None and job.error.startswith("OutputError")
    assert job.details is not None and "Traceback" in job.details
    assert job.finished is not None and not job.running


def test_exception_from_the_pipeline_is_captured(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """Any exception from the pipeline becomes ``error`` text with details."""
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(solve_job, "solve_and_write", boom)
    job = SolveJob(small(), SolveOptions(time_limit=20, workers=1, seed=0), tmp_path)
    assert job.wait(10)
    assert job.outcome is None
    assert job.error == "RuntimeError: solver exploded"
    assert job.details is not None and "solver exploded" in job.details
    assert job.elapsed >= 0


def event(phase: str, kind: str = "solution", objective: float | None = None,
          bound: float | None = None) -> Progress:
    """A progress event."""
    return Progress(phase=phase, kind=kind, objective=objective, bound=bound, seconds=0.1)


def test_progress_log_resets_on_phase_change() -> None:
    """A new phase clears the objective and bound of the previous one."""
    log = ProgressLog()
    log.add(event("fairness", objective=5, bound=3))
    assert (log.phase, log.objective, log.bound) == ("fairness", 5, 3)
    log.add(event("fairness", kind="bound", bound=4))
    assert (log.objective, log.bound) == (5, 4)
    log.add(event("total", kind="bound", bound=10))
    assert (log.phase, log.objective, log.bound) == ("total", None, 10)
    log.add(event("total", objective=12))
    assert (log.objective, log.bound) == (12, 10)
    assert [e.phase for e in log.events] == ["fairness", "fairness", "total", "total"]


def test_progress_log_keeps_values_within_a_phase() -> None:
    """Events without a value keep the last one seen in the same phase."""
    log = ProgressLog()
    log.add(event("total", objective=7, bound=2))
    log.add(event("total", kind="bound"))
    assert (log.objective, log.bound) == (7, 2)
    assert len(log.events) == 2


# --------------------------------------------------------------------------- capacity


def test_capacity_job_answers_with_notes_and_a_checked_plan() -> None:
    """A capacity question in the background answers with notes and a checked plan, and
    removes its files on request."""
    job = CapacityJob(load_scenario(INSTANCES / "demo.yaml"), Newcomer("physiotherapist"),
                      time_limit=30, probes=1, workers=1)
    try:
        assert job.wait(180)
        assert job.error is None and job.answer is not None and job.code == 0
        assert job.answer.maximum.count == 3 and not job.answer.maximum.stopped
        assert any("finding how many more" in note for note in job.notes)
        assert (job.out_dir / "assignments.csv").exists()
        assert job.longest == 30 + 30 + 10 + 2 * 40  # maximum, plan, probe, combined sets
    finally:
        job.remove_files()
    assert not job.out_dir.exists()


def test_capacity_job_reports_a_newcomer_it_cannot_describe_in_words() -> None:
    """A newcomer of an unknown profession is reported in plain words, not as a traceback."""
    job = CapacityJob(load_scenario(INSTANCES / "demo.yaml"), Newcomer("astronaut"),
                      time_limit=5, probes=0, workers=1)
    assert job.wait(60)
    job.remove_files()
    assert job.answer is None and job.error is not None and "astronaut" in job.error
    assert job.details is None  # a plain message, not a traceback


# --------------------------------------------------------------------------- slots


def test_slots_let_in_at_most_the_limit_first_come_first_served() -> None:
    """Two slots: the third and fourth wait in order; a released slot goes to the first."""
    slots = SolveSlots(2)
    tickets = [object() for _ in range(4)]
    assert slots.acquire(tickets[0]) and slots.acquire(tickets[1])
    order: list[int] = []

    def wait_for(i: int) -> None:
        assert slots.acquire(tickets[i])
        order.append(i)

    waiters = []
    for i in (2, 3):
        waiters.append(threading.Thread(target=wait_for, args=(i,)))
        waiters[-1].start()
        deadline = time.monotonic() + 5
        while slots.position(tickets[i]) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert (slots.running, slots.waiting) == (2, 2)
    assert [slots.position(t) for t in tickets] == [None, None, 1, 2]
    slots.release()
    waiters[0].join(5)
    assert order == [2] and slots.position(tickets[3]) == 1
    slots.release()
    waiters[1].join(5)
    assert order == [2, 3] and (slots.running, slots.waiting) == (2, 0)


def test_a_stop_or_a_timeout_leaves_the_line_without_a_slot() -> None:
    """Cancel (the stop event) or a timeout ends the wait with False, and the line moves."""
    slots = SolveSlots(1)
    assert slots.acquire(object())
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert not slots.acquire(object(), stop)
    assert not slots.acquire(object(), timeout=0.2)
    assert time.monotonic() - started < 2
    assert slots.waiting == 0 and slots.running == 1
    with slots.held(timeout=0.1) as got:
        assert not got
    slots.release()
    with slots.held() as got:
        assert got and slots.running == 1
    assert slots.running == 0


@pytest.mark.parametrize(("value", "cores", "limit", "noted"), [
    (None, 2, 1, False), (None, 8, 4, False), (None, 1, 1, False),
    ("3", 2, 3, False), ("0", 8, 4, True), ("many", 2, 1, True), (" ", 6, 3, False),
])
def test_solve_limit_from_the_environment_or_the_cores(value: str | None, cores: int,
                                                       limit: int, noted: bool) -> None:
    """``ROTAPLAN_MAX_SOLVES`` when it is a whole number of at least 1, else cores // 2
    (at least 1); a bad setting says so in a note rather than failing."""
    environ = {} if value is None else {"ROTAPLAN_MAX_SOLVES": value}
    found, note = solve_limit(environ, cores)
    assert found == limit
    assert (note is not None) == noted
    if noted:
        assert "ROTAPLAN_MAX_SOLVES" in str(note)


def test_a_job_waits_for_a_slot_and_cancel_in_line_skips_it(tmp_path: Path) -> None:
    """A job behind a full slot waits (no work, no elapsed time); Cancel in line ends it
    as skipped, with its end hook called."""
    slots = SolveSlots(1)
    holder = object()
    assert slots.acquire(holder)
    ended: list[SolveJob] = []
    job = SolveJob(small(), SolveOptions(time_limit=20, workers=1, seed=0), tmp_path / "out",
                   slots=slots, on_end=ended.append)
    time.sleep(0.3)
    assert job.running and job.waiting and job.position == 1 and job.elapsed == 0.0
    job.cancel()
    assert job.wait(5)
    assert job.skipped and job.outcome is None and job.error is None
    assert ended == [job] and slots.waiting == 0
    slots.release()


# --------------------------------------------------------------------------- registry


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh store with the demo saved as a scenario."""
    found = Store(f"sqlite:///{tmp_path}/runs.db")
    found.create_scenario("demo", (INSTANCES / "demo.yaml").read_text(encoding="utf-8"))
    return found


def wait_gone(registry: SolveRegistry, run_id: int, seconds: float) -> None:
    """Wait until a run's solve has left the registry."""
    deadline = time.monotonic() + seconds
    while registry.get(run_id) is not None:
        assert time.monotonic() < deadline, "the solve did not end"
        time.sleep(0.05)


def test_a_solve_is_recorded_when_asked_for_and_completes_its_own_run(store: Store) -> None:
    """The run exists (QUEUED, then RUNNING) from the start; the solve stores its outcome
    in that run, removes its temporary folder and leaves the registry."""
    registry = SolveRegistry(1)
    version = store.list_scenarios()[0].latest_version_id
    run = registry.start(store, version, small(), SolveOptions(time_limit=20, workers=1),
                         settings={"time_limit": 20})
    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    assert run.options == {"time_limit": 20, "server": SERVER}
    job = registry.get(run.id)
    assert job is not None and job.meta["run_id"] == run.id
    assert registry.live(run.scenario_id) == {run.id: job} and registry.live(-1) == {}
    assert registry.live(run.scenario_id, user=store.who.user) == {run.id: job}
    assert registry.live(run.scenario_id, user="someone@else.org") == {}
    wait_gone(registry, run.id, 60)
    done = store.run(run.id)
    assert done.status == "OPTIMAL" and done.has_plan
    tables = store.run_plan(run.id)
    assert tables is not None and "learner" in tables.assignments_csv and tables.timetable_csv
    assert done.summary["status"] == "OPTIMAL" and done.options["cancelled"] is False
    assert done.options["server"] == SERVER and done.seconds > 0
    assert not job.out_dir.exists()
    assert [r.id for r in store.runs()] == [run.id]


def test_a_run_is_running_while_solved_and_one_cancelled_in_line_is_cancelled(
        store: Store) -> None:
    """With one slot, a long solve is RUNNING and the next waits QUEUED; cancelling the
    waiting one stores CANCELLED without solving; cancelling the first keeps its plan."""
    registry = SolveRegistry(1)
    version = store.list_scenarios()[0].latest_version_id
    medium = load_scenario(INSTANCES / "medium.yaml")
    first = registry.start(store, version, medium, SolveOptions(time_limit=120, workers=1))
    second = registry.start(store, version, small(), SolveOptions(time_limit=20, workers=1))
    try:
        running = registry.get(first.id)
        assert running is not None and wait_for_solution(running, 120)
        assert store.run(first.id).status == RunStatus.RUNNING
        waiting = registry.get(second.id)
        assert waiting is not None and waiting.waiting and waiting.position == 1
        assert store.run(second.id).status == RunStatus.QUEUED
        waiting.cancel()
        wait_gone(registry, second.id, 10)
        cancelled = store.run(second.id)
        assert cancelled.status == RunStatus.CANCELLED and not cancelled.has_plan
        assert "nothing was solved" in str(cancelled.message)
        running.cancel()
        wait_gone(registry, first.id, 60)
    finally:
        registry.cancel_all(wait=60)
    kept = store.run(first.id)
    assert kept.status in ("FEASIBLE", "OPTIMAL") and kept.has_plan
    assert "Stopped by Cancel" in str(kept.message)


def test_a_scenario_deleted_during_its_solve_loses_only_that_run(store: Store) -> None:
    """Deleting the scenario mid-solve: the solve ends quietly, its folder is removed."""
    registry = SolveRegistry(1)
    scenario = store.list_scenarios()[0]
    run = registry.start(store, scenario.latest_version_id,
                         load_scenario(INSTANCES / "medium.yaml"),
                         SolveOptions(time_limit=120, workers=1))
    job = registry.get(run.id)
    assert job is not None
    store.delete_scenario(scenario.id)
    job.cancel()
    wait_gone(registry, run.id, 60)
    assert job.end_error is None and not job.out_dir.exists()
    assert store.runs() == []


def test_a_failing_solve_is_stored_as_failed(store: Store, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """An exception in the pipeline becomes a FAILED run with the message."""
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(solve_job, "solve_and_write", boom)
    registry = SolveRegistry(1)
    run = registry.start(store, store.list_scenarios()[0].latest_version_id, small(),
                         SolveOptions(time_limit=20, workers=1))
    wait_gone(registry, run.id, 10)
    failed = store.run(run.id)
    assert failed.status == RunStatus.FAILED and failed.message == "RuntimeError: solver exploded"


def test_settle_marks_only_runs_whose_solve_is_certainly_gone(store: Store) -> None:
    """A run left RUNNING by this process (not in its registry) or by a process of this
    machine that no longer exists becomes INTERRUPTED; another machine's is left alone."""
    registry = SolveRegistry(1)
    version = store.list_scenarios()[0].latest_version_id
    dead = _dead_pid()

    def left(server: str) -> int:
        return store.record_run(version, status="RUNNING", objective=None, bound=None,
                                seconds=0, options={"server": server}, summary={}).id

    mine, gone, elsewhere = left(SERVER), left(f"{SERVER.rpartition(':')[0]}:{dead}"), \
        left("another-machine:1")
    for run_id in (mine, gone):
        settled = registry.settle(store, store.run(run_id))
        assert settled.status == RunStatus.INTERRUPTED and "server stopped" in str(
            settled.message)
    assert registry.settle(store, store.run(elsewhere)).status == RunStatus.RUNNING
    finished = store.update_run(elsewhere, status="OPTIMAL")
    assert registry.settle(store, finished) == finished


def _dead_pid() -> int:
    """The id of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_update_run_changes_only_a_runs_fields(store: Store) -> None:
    """``Store.update_run`` completes a run recorded at its start; other names are refused."""
    version = store.list_scenarios()[0].latest_version_id
    run = store.record_run(version, status="RUNNING", objective=None, bound=None, seconds=0,
                           options={"a": 1}, summary={})
    done = store.update_run(run.id, status="OPTIMAL", objective=3, bound=3, seconds=1,
                            summary={"x": 1})
    assert (done.status, done.objective, done.bound, done.seconds) == ("OPTIMAL", 3.0, 3.0, 1.0)
    assert done.options == {"a": 1} and done.summary == {"x": 1}
    assert done.created_at == run.created_at
    with pytest.raises(TypeError, match="version_id"):
        store.update_run(run.id, version_id=5)
    with pytest.raises(KeyError):
        store.update_run(run.id + 100, status="OPTIMAL")
