"""Neighbourhood search: domains it opens, plans it keeps, and the large-cohort path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rotaplan.checker import check_rows
from rotaplan.models import load_scenario
from rotaplan.solver import SolveOptions, engine, neighbourhood, run, solve
from rotaplan.solver.greedy import greedy_placements
from rotaplan.solver.instance import Instance
from rotaplan.solver.result import SolveResult
from tests.helpers import INSTANCES, needs_shared, solve_write_check


def _checked(result: SolveResult, scenario: object) -> None:
    assert result.plan is not None
    report = check_rows(scenario, result.plan.assignments.to_dict("records"),  # type: ignore[arg-type]
                        result.plan.timetable.to_dict("records"), result.summary())
    assert report.ok, report.render()


def _greedy_plan(inst: Instance, seed: int) -> SolveResult:
    """The greedy's sites completed into a checked plan (the search's starting point)."""
    greedy = greedy_placements(inst, seed=seed)
    assert not greedy.unplaced
    inst.restrict(0, greedy.sites)
    options = SolveOptions(workers=1, time_limit=30)
    stage = engine.solve_focused(inst, options, run.Clock.start(options), greedy,
                                 time.perf_counter() + 30)
    assert stage.has_plan
    return stage


def test_focus_holds_everyone_else_at_their_sites() -> None:
    """Focus gives free learners the chosen site and their own, holds the rest at their kept sites.

    restrict(None) then lifts the focus.
    """
    inst = Instance(load_scenario(INSTANCES / "demo.yaml"))
    stage = _greedy_plan(inst, seed=3)
    keep = stage.placements
    free = {0, 1}
    some_site = next(iter(inst.full_options[(5, 1, inst.roles_of(inst.learners[5])[0])]))
    inst.focus(free, keep, {some_site})
    for key, sites in inst.options.items():
        full = inst.full_options[key]
        if key[0] in free:
            assert set(sites) == {s for s in full if s == some_site or s == keep.get(key)}
        else:
            assert list(sites) == [keep[key]]
            assert sites[keep[key]] == full[keep[key]]
    assert inst.restricted
    inst.restrict(None)
    assert not inst.restricted


def test_neighbourhoods_are_the_size_asked_and_seeded() -> None:
    """A neighbourhood has as many learners as asked (all when more are asked) and some
    sites; the same seed chooses the same neighbourhood."""
    inst = Instance(load_scenario(INSTANCES / "demo.yaml"))
    stage = _greedy_plan(inst, seed=3)
    inst.restrict(None)
    plan = neighbourhood.Incumbent.of_result(inst, stage)
    floor = {info.index: inst.learner_floor(info) for info in inst.learners}
    first = neighbourhood.Chooser(inst, floor, seed=7).choose(plan, 12)
    again = neighbourhood.Chooser(inst, floor, seed=7).choose(plan, 12)
    assert first == again
    learners, sites, _ = first
    assert len(learners) == 12
    assert sites is None or set(sites) <= {s.id for s in inst.scenario.sites}
    everyone, _, _ = neighbourhood.Chooser(inst, floor, seed=7).choose(plan, 999)
    assert set(everyone) == {info.index for info in inst.learners}


def test_search_never_worsens_and_reaches_the_optimum_on_the_demo() -> None:
    """From the greedy plan, neighbourhood search only improves, down to the demo's
    optimum (given as its target), and returns a plan the checker passes."""
    scenario = load_scenario(INSTANCES / "demo.yaml")
    optimum = solve(scenario, SolveOptions(time_limit=60)).objective
    inst = Instance(scenario)
    stage = _greedy_plan(inst, seed=5)
    inst.restrict(None)
    assert stage.objective is not None and optimum is not None
    assert stage.objective > optimum  # the greedy leaves room to improve
    seen: list[float] = []
    log = neighbourhood.SearchLog()
    options = SolveOptions(workers=2, time_limit=120)
    floor = {info.index: inst.learner_floor(info) for info in inst.learners}
    best = neighbourhood.improve(
        inst, neighbourhood.Incumbent.of_result(inst, stage), options,
        run.Clock.start(options), floor=floor, log=log,
        report=lambda found: seen.append(found.objective(inst)), target=optimum)
    assert best.objective(inst) == optimum
    assert seen == sorted(seen, reverse=True) and seen[-1] == optimum
    assert log.improvements == len(seen) >= 1
    result = engine._from_incumbent(inst, best, stage, options)
    _checked(result, scenario)


def test_large_path_reports_search_and_a_valid_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The large-cohort path gives the medium scenario a checked plan no worse than the greedy.

    It reports the first stage and the neighbourhoods, and a best bound at least the
    relaxed (capacity-free) one: column generation may raise it.
    """
    scenario = load_scenario(INSTANCES / "medium.yaml")
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    result = solve(scenario, SolveOptions(time_limit=10, seed=1))
    assert result.status in ("FEASIBLE", "OPTIMAL")
    assert result.stats.search["first_plan_stage"] == "FEASIBLE"
    log = result.stats.search["neighbourhood_search"]
    assert log["neighbourhoods"] >= 1
    steps = log["step_seconds"]  # every step timed: mean, 90th percentile, longest
    assert 0 < steps["mean"] <= steps["max"] and steps["p90"] <= steps["max"]
    relaxed = Instance(scenario).relaxed_bound()
    assert result.best_bound is not None and result.best_bound >= relaxed
    assert result.objective is not None and result.objective >= result.best_bound
    greedy = greedy_placements(Instance(scenario), seed=1)
    assert result.preference_cost is not None and result.preference_cost <= greedy.cost
    _checked(result, scenario)


def test_the_staged_path_keeps_its_heap_from_full_collections_and_then_frees_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the large-cohort path runs, the objects alive at its start and at the start
    of its search are frozen (out of the collector's full passes); afterwards nothing is
    left frozen, nested uses unfreeze only at the outermost, and freeze() outside the
    path does nothing."""
    import gc

    scenario = load_scenario(INSTANCES / "demo.yaml")
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    seen: list[int] = []
    improve = neighbourhood.improve

    def spy(*args: object, **kwargs: object) -> neighbourhood.Incumbent:
        seen.append(gc.get_freeze_count())
        return improve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(neighbourhood, "improve", spy)
    assert gc.get_freeze_count() == 0
    result = solve(scenario, SolveOptions(time_limit=5, seed=2))
    assert result.has_plan
    assert seen and seen[0] > 0
    assert gc.get_freeze_count() == 0
    with engine._heap_frozen():
        with engine._heap_frozen():
            pass
        assert gc.get_freeze_count() > 0  # the inner use left the outer's frozen
    assert gc.get_freeze_count() == 0
    engine.freeze()
    assert gc.get_freeze_count() == 0


def test_stop_ends_the_search_with_the_plan_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop set before the large-cohort path starts ends it quickly, before any neighbourhood."""
    import threading

    scenario = load_scenario(INSTANCES / "medium.yaml")
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    stop = threading.Event()
    stop.set()
    result = solve(scenario, SolveOptions(time_limit=60, stop=stop))
    assert result.stats.solve_seconds < 30
    assert result.stats.search.get("neighbourhood_search", {}).get("neighbourhoods", 0) == 0


@needs_shared
def test_large_path_plan_passes_both_checkers(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    """A demo plan from the large-cohort path passes the project's checker and the shared one."""
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    result, _ = solve_write_check(INSTANCES / "demo.yaml", tmp_path / "plan", time_limit=6)
    assert "neighbourhood_search" in result.stats.search
