"""Plan KPIs (the headline figures) and the human summary printed after a solve.

Every figure is defined here once and used by the CLI, ``summary.json``
(``kpis``), the configurator, the workbook and sweeps:

- a **placement** is one site for one learner: a rotation placement (once,
  however many blocks it lasts), or a fellow's base or partner in one block
  (contract §7);
- a placement is a **first choice** when its site, or its setting, is the first
  entry of the learner's ``preferences``; it is in the learner's **top 3** when
  its site or its setting is among the first three entries. A placement at a
  site the learner never listed, in a setting they never listed, is in neither,
  however short their list;
- ``first_choice`` counts learners with preferences who have at least one
  first-choice placement; ``top3_placements`` counts top-3 placements, out of
  ``placements_with_preferences`` (the placements of learners who listed at
  least one preference);
- ``worst_learner_cost`` is the largest cost of a placed learner (their
  preference cost, plus organisation changes and idle blocks where weighted,
  §9.3); learners left out are named in ``left_out``;
- ``organisation_changes`` counts, over rotation learners, consecutive
  placements (idle blocks skipped) at different organisations, and
  ``idle_blocks`` the blocks before the first block of a learner's last
  placement that none of theirs occupies (§9.3), whatever their weights.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rotaplan.models import START_BLOCK, Plan, Scenario
from rotaplan.models.vocabulary import Role
from rotaplan.solver import SolveResult


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of a plan.

    Attributes
    ----------
    learners, placed
        Learners in the scenario and learners placed.
    left_out
        Ids of the learners left out, in scenario order.
    learners_with_preferences
        Learners who listed at least one preference.
    first_choice
        Of those, learners with at least one first-choice placement.
    placements_with_preferences
        Placements of learners who listed at least one preference.
    top3_placements
        Of those, placements within the learner's top 3.
    worst_learner_cost
        Largest cost of a placed learner.
    organisation_changes, idle_blocks
        Totals over rotation learners (§9.3), unweighted.
    """

    learners: int
    placed: int
    left_out: list[str] = field(default_factory=list)
    learners_with_preferences: int = 0
    first_choice: int = 0
    placements_with_preferences: int = 0
    top3_placements: int = 0
    worst_learner_cost: int = 0
    organisation_changes: int = 0
    idle_blocks: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``kpis`` object of ``summary.json``."""
        return asdict(self)

    @property
    def top3_share(self) -> float | None:
        """Top-3 placements as a share of placements with preferences."""
        if not self.placements_with_preferences:
            return None
        return self.top3_placements / self.placements_with_preferences


def _rank(prefs: list[str], site_id: str, setting: str) -> int | None:
    """The earliest position of the site or its setting in a preference list, if any."""
    found = [prefs.index(x) for x in (site_id, setting) if x in prefs]
    return min(found) if found else None


def placements(plan: Plan) -> pd.DataFrame:
    """One row per placement (contract §7): the assignment row of its first block.

    A rotation placement lasting several blocks is one row; a fellow's base and
    partner count in every block.
    """
    a = plan.assignments
    if "start_block" in a.columns:
        rotation = a["role"] == Role.ROTATION
        first = ~rotation | (a["block"].astype(int) == a["start_block"].astype(int))
        a = a[first]
    return a.reset_index(drop=True)


def placement_costs(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Placements with their setting, preference cost and rank (first entry 0).

    ``rank`` is the earliest position of the site or its setting in the
    learner's preferences, or NaN when neither is listed.
    """
    a = placements(plan).copy()
    setting = {s.id: s.setting for s in scenario.sites}
    a["setting"] = a["site_id"].map(setting)
    costs, ranks = [], []
    for learner_id, site_id in zip(a["learner_id"], a["site_id"], strict=True):
        learner = scenario.learner_by_id[learner_id]
        site = scenario.site_by_id[site_id]
        costs.append(scenario.placement_cost(learner, site))
        ranks.append(_rank(list(learner.preferences), site.id, site.setting))
    a["preference_cost"] = costs
    a["rank"] = pd.array(ranks, dtype="Int64")
    return a


def kpis(scenario: Scenario, plan: Plan, learner_costs: dict[str, int] | None = None) -> Kpis:
    """The headline numbers of a plan.

    Parameters
    ----------
    scenario, plan
        The scenario and a plan for it.
    learner_costs
        Each placed learner's cost, when the solver gave them (they include
        organisation changes and idle blocks); otherwise preference costs
        summed from the plan.
    """
    a = placement_costs(scenario, plan)
    placed_ids = set(a["learner_id"])
    with_prefs = {x.id for x in scenario.learners if x.preferences}
    mine = a[a["learner_id"].isin(with_prefs)]
    first = mine[mine["rank"] == 0]["learner_id"].nunique()
    top3 = int((mine["rank"].fillna(99) <= 2).sum())
    if learner_costs is None:
        worst = int(a.groupby("learner_id")["preference_cost"].sum().max()) if len(a) else 0
    else:
        worst = max((c for lid, c in learner_costs.items() if lid in placed_ids), default=0)
    left_out = [x.id for x in scenario.learners if x.id not in placed_ids]
    changes, idle = _pathways(scenario, a)
    return Kpis(
        learners=len(scenario.learners),
        placed=len(scenario.learners) - len(left_out),
        left_out=left_out,
        learners_with_preferences=len(with_prefs),
        first_choice=int(first),
        placements_with_preferences=len(mine),
        top3_placements=top3,
        worst_learner_cost=int(worst),
        organisation_changes=changes,
        idle_blocks=idle,
    )


def _pathways(scenario: Scenario, placed: pd.DataFrame) -> tuple[int, int]:
    """Organisation changes and idle blocks over rotation learners' placements (§9.3)."""
    rotation = placed[placed["role"] == Role.ROTATION]
    changes = idle = 0
    for _, mine in rotation.groupby("learner_id", sort=False):
        first = mine["start_block"] if START_BLOCK in mine.columns else mine["block"]
        ordered = sorted(zip(first.astype(int), mine["site_id"], strict=True))
        orgs = [scenario.site_by_id[site].organisation_id for _, site in ordered]
        changes += sum(1 for x, y in itertools.pairwise(orgs) if x != y)
        occupied = {b for start, site in ordered
                    for b in range(start, start + scenario.placement_length(
                        scenario.site_by_id[site]))}
        last = ordered[-1][0] if ordered else 0
        idle += sum(1 for b in range(1, last) if b not in occupied)
    return changes, idle


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _names(ids: list[str], most: int = 10) -> str:
    more = f" and {len(ids) - most} more" if len(ids) > most else ""
    return ", ".join(ids[:most]) + more


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
        k = kpis(scenario, result.plan, result.learner_costs)
        out = f" ({len(k.left_out)} left out: {_names(k.left_out)})" if k.left_out \
            else " (0 left out)"
        lines.append(f"placed      {k.placed}/{k.learners} learners{out}")
        share = _pct(k.first_choice, k.learners_with_preferences)
        lines.append(f"1st choice  {k.first_choice}/{k.learners_with_preferences} learners "
                     f"with preferences got their first choice ({share})")
        lines.append(f"top 3       {k.top3_placements}/{k.placements_with_preferences} "
                     "placements within the learner's top 3 "
                     f"({_pct(k.top3_placements, k.placements_with_preferences)})")
        lines.append(f"worst-off   largest cost of one placed learner: {k.worst_learner_cost}")
        if scenario.uses_v2:
            lines.append(f"pathways    {k.organisation_changes} change(s) of organisation, "
                         f"{k.idle_blocks} idle block(s) before a last placement")
    s = result.stats
    first_at = s.first_solution_seconds
    first = "-" if first_at is None else f"{first_at:.2f}s"
    lines.append(f"time        first plan {first}, total {s.solve_seconds:.2f}s "
                 f"({s.workers} worker(s), seed {s.seed})")
    return lines


__all__ = ["Kpis", "kpis", "placement_costs", "placements", "summary_lines"]
