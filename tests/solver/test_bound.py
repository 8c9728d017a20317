"""The whole model's LP bound beside the search (solver/bound.py, rotaplan/lp.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rotaplan.models import load_scenario
from rotaplan.models.vocabulary import Status
from rotaplan.solver import SolveOptions, engine, solve
from rotaplan.solver.bound import LpBound, wanted
from rotaplan.solver.instance import Instance
from tests.helpers import INSTANCES, solve_write_check

DEMO_OPTIMUM = 167.0


def _wait(lp: LpBound, seconds: float = 240.0) -> float | None:
    """Poll the bound until it is known or failed (the processes run on their own)."""
    end = time.monotonic() + seconds
    while lp.value() is None and lp.note == "running" and time.monotonic() < end:
        time.sleep(0.2)
    return lp.value()


def test_lp_bound_of_the_demo_lies_between_the_capacity_free_bound_and_the_optimum() -> None:
    """The LP relaxation of the demo's whole model, solved by HiGHS in other processes,
    is a valid bound (at most the proven optimum 167) and no weaker than the
    capacity-free bound the search has on its own."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    lp = LpBound(sc, 60.0)
    try:
        value = _wait(lp)
    finally:
        lp.stop()
    assert value is not None, lp.note
    assert lp.note == "done"
    capacity_free = Instance(sc).relaxed_bound(None)
    assert capacity_free <= value <= DEMO_OPTIMUM


def test_stopping_the_lp_bound_ends_its_processes() -> None:
    """stop() ends a relaxation still being built: nothing is left running and the note
    says it was stopped."""
    sc = load_scenario(INSTANCES / "medium.yaml")
    lp = LpBound(sc, 60.0)
    pid = lp.pid
    time.sleep(2.0)  # under way: importing, building the whole model
    lp.stop()
    assert lp.note == "stopped before the relaxation was solved"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_lp_bound_is_wanted_only_where_it_can_pay() -> None:
    """Not for minimax fairness (two phases), not for huge models, not for short limits."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    assert wanted(sc, 100_000, 120.0)
    assert not wanted(sc, 10_000_000, 120.0)
    assert not wanted(sc, 100_000, 5.0)
    minimax = sc.model_copy(update={"objective": sc.objective.model_copy(
        update={"fairness": "minimax"})})
    assert not wanted(minimax, 100_000, 120.0)


def test_the_staged_search_stops_when_the_plan_meets_the_lp_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the part-by-part search forced on the demo and its own bounds made 0 or left
    out (the learners' floors, and column generation, alone prove the demo's optimum),
    the LP bound (167, the optimum)
    arrives beside it: the run reports it as best_bound, calls its plan OPTIMAL once the
    plan meets it, and the plan passes both checkers."""
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    monkeypatch.setattr("rotaplan.solver.bound.MIN_SECONDS", 0.0)
    monkeypatch.setattr(Instance, "relaxed_bound", lambda self, *args: 0)
    monkeypatch.setattr(engine, "COLUMN_SHARE", 0.0)
    result, _ = solve_write_check(INSTANCES / "demo.yaml", tmp_path / "plan",
                                  time_limit=90, workers=2)
    search = result.stats.search
    assert search["bound"]["lp_note"] == "done", search["bound"]
    assert search["bound"]["lp"] >= search["bound"]["capacity_free"]
    assert result.best_bound == search["bound"]["lp"]
    assert result.objective is not None and result.objective >= result.best_bound
    if result.objective == result.best_bound:
        assert result.status == Status.OPTIMAL


def test_the_staged_search_of_the_demo_is_proven_by_the_learners_floors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the part-by-part search forced on the demo and no LP bound, the learners'
    floors (each learner's own optimum, 167 in all) are the demo's optimum: the plan
    meets them, is reported OPTIMAL and passes both checkers."""
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    result, _ = solve_write_check(INSTANCES / "demo.yaml", tmp_path / "plan",
                                  time_limit=60, workers=2, lp_bound=False)
    assert result.stats.search["bound"]["capacity_free"] == DEMO_OPTIMUM
    assert result.status == Status.OPTIMAL
    assert result.objective == result.best_bound == DEMO_OPTIMUM


def test_deterministic_runs_never_start_the_lp_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with a deterministic budget does not depend on when the LP bound arrives:
    it is not started."""
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    monkeypatch.setattr("rotaplan.solver.bound.MIN_SECONDS", 0.0)
    sc = load_scenario(INSTANCES / "demo.yaml")
    result = solve(sc, SolveOptions(workers=1, time_limit=60, deterministic_time=2.0))
    assert result.stats.search["bound"]["lp_note"] == "not started"
