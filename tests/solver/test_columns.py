"""Column generation's bound of large cohorts (solver/columns.py)."""

from __future__ import annotations

import time
from functools import cache

import pytest

from rotaplan.generate import generate_scenario
from rotaplan.models import load_scenario
from rotaplan.models.vocabulary import Status
from rotaplan.solver import SolveOptions, engine, solve
from rotaplan.solver.columns import Row, capacity_rows, column_bound
from rotaplan.solver.greedy import first_placements
from rotaplan.solver.instance import Instance
from tests.helpers import INSTANCES, learner, scenario, scenario_from, site

OPTIMUM = {"demo": 167, "medium": 480}  # proven optimal preference costs


@cache
def _instance(name: str) -> Instance:
    return Instance(load_scenario(INSTANCES / f"{name}.yaml"))


def _later(seconds: float = 60.0) -> float:
    return time.perf_counter() + seconds


def test_two_learners_who_named_one_place_cost_one_between_them() -> None:
    """Worked by hand: L1 and L2 both named ``north`` (one place), ``south`` costs each 1.

    Their floors are 0 each; the relaxation with the place priced is 1 (only one can
    have it), which the plan meets, so the bound is 1 and column generation stops there.
    """
    data = scenario([site("north"), site("south")],
                    [learner("L1", preferences=["north"]), learner("L2", preferences=["north"])])
    inst = Instance(scenario_from(data))
    assert sum(inst.learner_floors().values()) == 0
    plan = first_placements(inst, 0)
    assert plan.cost == 1
    found = column_bound(inst, plan.sites, deadline=_later())
    assert found.bound == 1
    assert found.rows_dropped == 0


@pytest.mark.parametrize("name", ["demo", "medium"])
def test_the_bound_lies_between_the_floors_and_the_proven_optimum(name: str) -> None:
    """On the shipped scenarios the column bound is at least the learners' floors and at
    most the proven optimum; every capacity row holds in the first plan (none dropped)."""
    inst = _instance(name)
    plan = first_placements(inst, 0)
    found = column_bound(inst, plan.sites, deadline=_later())
    floors = inst.relaxed_bound(None)
    assert found.bound is not None
    assert floors <= found.bound <= OPTIMUM[name] <= plan.cost
    assert found.rows_dropped == 0
    assert found.rounds >= 1


def test_every_row_holds_in_a_plan_cp_sat_proved() -> None:
    """The rows read the rules as the model does: the demo's optimal plan keeps all of them."""
    inst = _instance("demo")
    result = solve(inst.scenario, SolveOptions(time_limit=60, workers=2))
    assert result.status == Status.OPTIMAL
    limits, member = capacity_rows(inst)
    use: dict[Row, int] = {}
    for (i, block, _), site_id in result.placements.items():
        for row in member.get((site_id, block, inst.learners[i].profession), ()):
            use[row] = use.get(row, 0) + 1
    assert use and all(n <= limits[row] for row, n in use.items())
    found = column_bound(inst, result.placements, deadline=_later())
    assert found.rows_dropped == 0 and found.bound == OPTIMUM["demo"]


def test_a_generated_cohort_is_bounded_above_its_floors_and_below_its_plan() -> None:
    """On a generated 300-learner cohort (seed 1) the bound rises above the learners'
    floors (1,651) and stays at most the first plan's cost (1,680), in a few seconds."""
    inst = Instance(scenario_from(generate_scenario(300, seed=1)))
    plan = first_placements(inst, 0)
    found = column_bound(inst, plan.sites, deadline=_later(120))
    floors = inst.relaxed_bound(None)
    assert found.bound is not None
    assert floors < found.bound <= plan.cost
    assert found.rows_dropped == 0


def test_the_staged_search_reports_the_column_bound_and_stops_at_a_proof(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced through the part-by-part search, medium reports column generation's figures;
    its bound is the result's best bound unless another is better, and never above the plan."""
    monkeypatch.setattr(engine, "STAGED_THRESHOLD", 0)
    sc = load_scenario(INSTANCES / "medium.yaml")
    result = solve(sc, SolveOptions(time_limit=20, workers=2, seed=1, lp_bound=False))
    bound = result.stats.search["bound"]
    columns = bound["columns"]
    assert columns["rounds"] >= 1 and columns["rows_dropped"] == 0
    assert columns["bound"] >= bound["capacity_free"]
    assert result.best_bound == max(columns["bound"], bound["capacity_free"])
    assert result.objective is not None and result.best_bound <= result.objective


def test_a_stop_ends_column_generation_before_its_first_round() -> None:
    """A stop already set ends column generation at once, with no bound claimed."""
    inst = _instance("medium")
    plan = first_placements(inst, 0)
    found = column_bound(inst, plan.sites, deadline=_later(), stop=lambda: True)
    assert found.rounds == 0 and found.bound is None
