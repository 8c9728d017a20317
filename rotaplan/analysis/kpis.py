"""Plan KPIs and the human summary printed after a solve."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rotaplan.models import Plan, Scenario
from rotaplan.solver import SolveResult


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of a plan.

    Attributes
    ----------
    learners, placed
        Learners in the scenario and learners placed.
    with_preferences
        Learners who listed any preference.
    first_choice
        Of those, learners placed at least once at their first-ranked site or setting.
    placements, top3_placements
        Placements of learners with preferences, and how many are within their top 3.
    worst_learner_cost
        Largest per-learner preference cost.
    """

    learners: int
    placed: int
    with_preferences: int
    first_choice: int
    placements: int
    top3_placements: int
    worst_learner_cost: int


def placement_costs(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Assignments with each placement's setting and preference cost (rank, 0-based)."""
    a = plan.assignments.copy()
    setting = {s.id: s.setting for s in scenario.sites}
    a["setting"] = a["site_id"].map(setting)
    costs = []
    for learner_id, site_id in zip(a["learner_id"], a["site_id"], strict=True):
        costs.append(scenario.preference_cost(scenario.learner_by_id[learner_id],
                                              scenario.site_by_id[site_id]))
    a["preference_cost"] = costs
    return a


def kpis(scenario: Scenario, plan: Plan) -> Kpis:
    """Compute the headline numbers of a plan."""
    a = placement_costs(scenario, plan)
    with_prefs = {x.id for x in scenario.learners if x.preferences}
    mine = a[a["learner_id"].isin(with_prefs)]
    first = mine[mine["preference_cost"] == 0]["learner_id"].nunique()
    top3 = int((mine["preference_cost"] <= 2).sum())
    worst = int(a.groupby("learner_id")["preference_cost"].sum().max()) if len(a) else 0
    return Kpis(
        learners=len(scenario.learners),
        placed=int(a["learner_id"].nunique()),
        with_preferences=len(with_prefs),
        first_choice=int(first),
        placements=len(mine),
        top3_placements=top3,
        worst_learner_cost=worst,
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def summary_lines(scenario: Scenario, result: SolveResult) -> list[str]:
    """The human summary of a solve, as lines of text."""
    lines = [f"status      {result.status}"]
    if result.objective is not None:
        bound = "-" if result.best_bound is None else f"{result.best_bound:g}"
        gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
        lines.append(f"objective   {result.objective:g}   bound {bound}   gap {gap}")
        terms = ", ".join(f"{k} {v:g}" for k, v in result.terms.items())
        lines.append(f"terms       {terms}")
    if result.plan is not None:
        k = kpis(scenario, result.plan)
        lines.append(f"placed      {k.placed}/{k.learners} learners"
                     f" ({result.unplaced or 0} left out)")
        share = _pct(k.first_choice, k.with_preferences)
        lines.append(f"1st choice  {k.first_choice}/{k.with_preferences} learners with "
                     f"preferences got their first choice ({share})")
        lines.append(f"top 3       {k.top3_placements}/{k.placements} placements within the "
                     f"learner's top 3 ({_pct(k.top3_placements, k.placements)})")
        lines.append(f"worst-off   largest preference cost of one learner: {k.worst_learner_cost}")
    first_at = result.first_solution_seconds
    first = "-" if first_at is None else f"{first_at:.2f}s"
    lines.append(f"time        first plan {first}, total {result.solve_seconds:.2f}s "
                 f"({result.workers} worker(s), seed {result.seed})")
    return lines
