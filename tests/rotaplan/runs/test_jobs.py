"""``rotaplan.runs.jobs``: a solve on a background thread, with progress and Cancel."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from rotaplan.checker import check_plan_dir
from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import read_plan
from rotaplan.models import PLAN_FILES, Scenario, load_scenario
from rotaplan.runs import jobs as solve_job
from rotaplan.runs.jobs import CapacityJob, ProgressLog, SolveJob
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
        assert wait_for_solution(job, 30), "no solution event within 30 s"
        assert job.running, "medium solved before Cancel: pick a harder instance"
        job.cancel()
        assert job.cancelled
        assert job.wait(60)
    finally:
        job.cancel()
        job.wait(120)
    assert job.error is None, job.details
    assert job.elapsed < 60
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
    """A capacity job on the demo answers 3 more physiotherapists, with notes and a plan.

    Its longest run is the sum of its time limits, and removing its files deletes its folder.
    """
    job = CapacityJob(load_scenario(INSTANCES / "demo.yaml"), Newcomer("physiotherapist"),
                      time_limit=30, probes=1, workers=1)
    try:
        assert job.wait(180)
        assert job.error is None and job.answer is not None and job.code == 0
        assert job.answer.maximum.count == 3 and not job.answer.maximum.stopped
        assert any("finding how many more" in note for note in job.notes)
        assert (job.out_dir / "assignments.csv").exists()
        assert job.longest == 30 + 30 + 10
    finally:
        job.remove_files()
    assert not job.out_dir.exists()


def test_capacity_job_reports_a_newcomer_it_cannot_describe_in_words() -> None:
    """A capacity job for an unknown profession ends with a plain error naming it, no traceback."""
    job = CapacityJob(load_scenario(INSTANCES / "demo.yaml"), Newcomer("astronaut"),
                      time_limit=5, probes=0, workers=1)
    assert job.wait(60)
    job.remove_files()
    assert job.answer is None and job.error is not None and "astronaut" in job.error
    assert job.details is None  # a plain message, not a traceback
