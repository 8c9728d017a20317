"""Named objective terms (contract §7).

The default objective is exactly ``unplaced_penalty`` per learner left out
plus the preference cost of every placement. Each term is kept separately so
results can report the cost of each.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from rotaplan.solver.instance import BASE
from rotaplan.solver.rules import Build

LinearLike = cp_model.LinearExprT


@dataclass(frozen=True)
class Term:
    """One weighted term of the objective.

    Attributes
    ----------
    name
        Short name used in results (``unplaced``, ``preference``).
    weight
        Multiplier in the objective.
    expr
        The unweighted cost expression.
    description
        Plain words for reports.
    tie_break
        Minimised only after the rest of the objective, with that held at its
        best value (a lexicographic last phase; model extensions only).
    """

    name: str
    weight: int
    expr: LinearLike
    description: str
    tie_break: bool = False


def learner_costs(b: Build) -> dict[int, LinearLike]:
    """Each learner's preference cost: the sum over their placements (§7).

    A fellow's base counts once per block, as the contract counts "each
    block's fellowship base and fellowship partner".
    """
    sc = b.inst.scenario
    costs: dict[int, LinearLike] = {}
    for info in b.inst.learners:
        terms = []
        for block in info.blocks:
            for role in b.inst.roles_of(info):
                for site_id, lit in b.v.place[(info.index, block, role)].items():
                    cost = sc.preference_cost(info.learner, sc.site_by_id[site_id])
                    if cost:
                        terms.append(cost * lit)
        costs[info.index] = sum(terms) if terms else 0
    return costs


def objective_terms(b: Build, costs: dict[int, LinearLike]) -> list[Term]:
    """The contract's default objective as named terms."""
    obj = b.inst.scenario.objective
    terms = [Term("preference", 1, sum(costs.values()),
                  "ranked-preference cost of every placement")]
    if obj.allow_unplaced:
        left_out = sum(1 - b.v.placed[info.index] for info in b.inst.learners)
        terms.insert(0, Term("unplaced", obj.unplaced_penalty, left_out,
                             f"{obj.unplaced_penalty} per learner left out"))
    return terms


def preference_upper_bound(b: Build) -> int:
    """Largest cost any single learner could have (bounds the minimax variable)."""
    sc = b.inst.scenario
    worst = 0
    for info in b.inst.learners:
        total = 0
        for block in info.blocks:
            for role in b.inst.roles_of(info):
                sites = b.v.place[(info.index, block, role)]
                if role == BASE and not sites:
                    continue
                total += max((sc.preference_cost(info.learner, sc.site_by_id[s]) for s in sites),
                             default=0)
        worst = max(worst, total)
    return worst
