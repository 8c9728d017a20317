"""The solve entry point: results, progress, stop, phases, determinism."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rotaplan.models import load_scenario
from rotaplan.models.vocabulary import Status
from rotaplan.solver import Progress, SolveOptions, solve
from rotaplan.solver.rules import RULES
from tests.helpers import (
    INSTANCES,
    ROOT,
    base_scenario,
    run,
    scenario_from,
    solve_write_check,
    tweak,
)


def test_rules_are_the_contract_rules_in_order() -> None:
    """RULES is placement, then the contract's rules in order: §6's twelve, then §9.2's six."""
    names = [rule.name for rule in RULES]
    assert names == ["placement", "eligibility", "site-capacity", "supervisor-match",
                     "supervisor-capacity", "working-pattern", "site-open",
                     "supervisor-present", "rooms", "cover", "no-repeat-site", "fellowship",
                     "site-minimum", "placement-length", "placement-count", "requirements",
                     "no-repeat-setting", "precedence", "organisation-cap"]


def test_result_fields_and_frames() -> None:
    """Solving the one-learner scenario fills the result's figures, timings, frames and plan.

    Objective, bound and gap are 0, and the plan is L1 at ward with sup.
    """
    result = run(base_scenario())
    assert result.status == "OPTIMAL"
    assert result.objective == 0 and result.best_bound == 0 and result.gap == 0
    assert result.stats.first_solution_seconds is not None
    assert result.stats.solve_seconds >= result.stats.first_solution_seconds
    assert result.summary_frame().loc[0, "status"] == "OPTIMAL"
    assert list(result.terms_frame()["term"]) == ["preference"]
    assert list(result.learner_frame()["learner_id"]) == ["L1"]
    assert result.stats.model_size["variables"] > 0
    assert result.plan is not None
    assert list(result.plan.assignments.itertuples(index=False, name=None)) == [
        ("L1", 1, "rotation", "ward", "sup")]


def test_unplaced_term_is_reported_per_term() -> None:
    """Each term is reported as its weighted total (§9.4): they add up to the objective."""
    data = tweak(objective={"allow_unplaced": True, "unplaced_penalty": 50})
    data["learners"].append({"id": "L2", "profession": "nurse"})  # one supervisor place only
    result = run(data)
    assert result.status == "OPTIMAL"
    assert result.terms == {"unplaced": 50.0, "preference": 0.0}
    assert sum(result.terms.values()) == result.objective
    assert result.objective == 50 and result.unplaced == 1


def test_progress_events_report_solutions_and_bounds() -> None:
    """Progress on the demo reports solutions in time order, the last at the final objective.

    Every event belongs to the total phase.
    """
    events: list[Progress] = []
    scenario = load_scenario(INSTANCES / "demo.yaml")
    result = solve(scenario, SolveOptions(time_limit=60, on_progress=events.append))
    assert result.status == "OPTIMAL"
    solutions = [e for e in events if e.kind == "solution"]
    assert solutions and solutions[-1].objective == result.objective
    assert all(e.phase == "total" for e in events)
    times = [e.seconds for e in solutions]
    assert times == sorted(times)


def test_stop_keeps_the_best_plan_so_far() -> None:
    """A stop set at the first solution ends the solve early with that plan, status FEASIBLE."""
    stop = threading.Event()

    def stop_at_first(event: Progress) -> None:
        if event.kind == "solution":
            stop.set()

    scenario = load_scenario(INSTANCES / "medium.yaml")
    result = solve(scenario, SolveOptions(time_limit=120, on_progress=stop_at_first, stop=stop))
    assert result.status == "FEASIBLE"
    assert result.plan is not None
    assert result.stats.solve_seconds < 60


def test_stop_before_start_gives_unknown() -> None:
    """A solve whose stop is set before it starts returns UNKNOWN and no plan."""
    stop = threading.Event()
    stop.set()
    result = solve(scenario_from(base_scenario()), SolveOptions(stop=stop))
    assert result.status == "UNKNOWN" and result.plan is None


def test_minimax_runs_two_phases() -> None:
    """Minimax fairness solves in two phases: fairness, then total."""
    data = tweak(objective={"fairness": "minimax"})
    result = run(data)
    assert result.status == "OPTIMAL"
    assert [p.name for p in result.stats.phases] == ["fairness", "total"]


def test_one_worker_with_a_seed_is_deterministic() -> None:
    """Two one-worker solves of the demo with one seed give identical assignments and timetables."""
    scenario = load_scenario(INSTANCES / "demo.yaml")
    plans = [solve(scenario, SolveOptions(workers=1, seed=3, time_limit=60)).plan
             for _ in range(2)]
    assert plans[0] is not None and plans[1] is not None
    assert plans[0].assignments.equals(plans[1].assignments)
    assert plans[0].timetable.equals(plans[1].timetable)


def test_version_2_scenarios_are_never_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidate caps are for very large v1 cohorts only: with the threshold at 0 the v2
    pathway scenario is still solved on its full domains, to its optimum 336.

    Regression: MSS I40_24_4 (a published solution exists) was capped at four sites per
    block, found infeasible in 0.7 s, and reported INFEASIBLE after explaining it.
    """
    from rotaplan.solver import engine

    monkeypatch.setattr(engine, "AUTO_THRESHOLD", 0)
    result = solve(load_scenario(INSTANCES / "pathway.yaml"),
                   SolveOptions(time_limit=120, workers=2))
    assert result.stats.candidate_limit is None
    assert result.status == Status.OPTIMAL and result.objective == 336



def test_v2_learners_whose_own_best_plans_fit_are_proven_from_their_floors(
        tmp_path: Path) -> None:
    """A version-2 programme whose learners' own best plans fit together (the worked
    pathway example, optimum -4) is proven OPTIMAL from the learners' floors: the plan
    built from their own optima meets the floors' bound, no whole-model phase runs, and
    both checkers accept the plan and its objective."""
    result, report = solve_write_check(ROOT / "docs" / "examples" / "pathway-small.yaml",
                                       tmp_path)
    assert result.status == Status.OPTIMAL
    assert result.objective == result.best_bound == report.objective == -4
    assert result.stats.search["own_optima"]["bound"] == -4
    assert result.stats.phases == []



def test_progress_after_the_learners_own_optima_never_shows_a_worse_plan_or_bound() -> None:
    """Once the plan built from learners' own optima and their floors' bound are shown,
    CP-SAT's later progress (a worse first plan, a weaker first bound) is shown as the
    best plan and bound so far: the objective never rises and the bound never falls."""
    from rotaplan.solver import engine, neighbourhood
    from rotaplan.solver.instance import Instance
    from rotaplan.solver.run import Clock

    sc = load_scenario(ROOT / "docs" / "examples" / "pathway-small.yaml")
    inst = Instance(sc)
    seen: list[Progress] = []
    options = SolveOptions(time_limit=30, workers=1, seed=0, on_progress=seen.append)
    clock = Clock.start(options)
    optima = neighbourhood.learner_optima(inst, options, clock)
    assert optima is not None
    start = neighbourhood.first_plan(inst, options, clock, batch=1, start=optima)
    assert start is not None
    built, floor = start.objective(inst), float(optima.bound(inst))
    wrapped = engine._no_worse(options, inst, optima, start)
    assert wrapped.on_progress is not None
    for objective, bound in [(None, floor - 50), (built + 9, floor - 5), (built - 1, None),
                             (built + 3, floor + 1), (None, floor)]:
        wrapped.on_progress(Progress("total", "solution", objective, bound, 1.0))
    assert [e.objective for e in seen] == [built, built, built - 1, built - 1, built - 1]
    assert [e.bound for e in seen] == [floor, floor, floor, floor + 1, floor + 1]
