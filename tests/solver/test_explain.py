"""Infeasibility explanations: right rules and ids, and minimal."""

from __future__ import annotations

from ortools.sat.python import cp_model

from rotaplan.models import Scenario, load_scenario
from rotaplan.solver import solve
from rotaplan.solver.explain import explain_infeasible
from rotaplan.solver.rules import Group
from tests.helpers import INSTANCES, built, run, tweak


def _feasible_with(scenario: Scenario, keep: list[Group]) -> bool:
    """Whether the model is satisfiable with only the given groups enforced."""
    b = built(scenario, explain=True)
    b.model.add_assumptions([b.groups[g] for g in keep])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    status = solver.solve(b.model)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    return status != cp_model.INFEASIBLE


def test_shipped_infeasible_explanation_is_minimal() -> None:
    """The shipped infeasible scenario's conflict is infeasible, and feasible without any one group.

    Its cover groups are the stroke cover of the three physiotherapists L001-L003.
    """
    scenario = load_scenario(INSTANCES / "infeasible.yaml")
    explanation = explain_infeasible(scenario)
    assert explanation.minimal
    b = built(scenario, explain=True)
    by_key = {(g.rule, g.ids): g for g in b.groups}
    core = [by_key[(c.rule, c.ids)] for c in explanation.conflicts]
    assert not _feasible_with(scenario, core)
    for dropped in core:
        assert _feasible_with(scenario, [g for g in core if g != dropped]), dropped.text
    cover = sorted(c.ids for c in explanation.conflicts if c.rule == "cover")
    assert cover == [("L001", "stroke"), ("L002", "stroke"), ("L003", "stroke")]


def test_empty_domain_is_explained_with_the_excluding_rule() -> None:
    """A learner no site accepts is a placement conflict, detailed by the eligibility exclusion."""
    # The only site does not accept the learner's profession.
    data = tweak(professions=["nurse", "physio"])
    data["sites"][0]["accepts"] = ["physio"]
    result = run(data)
    assert result.status == "INFEASIBLE"
    assert result.explanation is not None
    assert [c.rule for c in result.explanation.conflicts] == ["placement"]
    assert any("[eligibility] ward does not accept nurse" in d
               for d in result.explanation.details)


def test_supervisor_capacity_conflict_names_the_supervisor() -> None:
    """Two learners for one supervisor of capacity 1 conflict on supervisor-capacity, naming sup."""
    data = tweak()
    data["learners"].append({"id": "L2", "profession": "nurse"})
    result = solve(load_scenario_from(data))
    assert result.status == "INFEASIBLE"
    assert result.explanation is not None
    rules = {c.rule for c in result.explanation.conflicts}
    assert "supervisor-capacity" in rules
    assert any("sup (1)" in c.text for c in result.explanation.conflicts)


def load_scenario_from(data: dict) -> Scenario:
    from tests.helpers import scenario_from

    return scenario_from(data)
