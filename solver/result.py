"""Result of a solve: status, objective, bound, gap, timings, plan, explanation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rotaplan.models import Plan

STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN", "INVALID")


@dataclass(frozen=True)
class Conflict:
    """One constraint group in an infeasibility explanation.

    Attributes
    ----------
    rule
        The contract rule name (``rooms``, ``cover``, ...), or ``placement``.
    ids
        The scenario ids it concerns.
    text
        Plain words, e.g. ``rooms at elm-surgery, Tue-AM in block 2 (1 room(s))``.
    """

    rule: str
    ids: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Explanation:
    """Why a scenario has no plan.

    Attributes
    ----------
    summary
        One line for humans.
    conflicts
        Constraint groups that cannot all hold together.
    minimal
        True when dropping any one group makes the rest feasible.
    details
        Further lines (for example, why candidate sites were excluded).
    suggestions
        Single one-unit changes that would make the scenario feasible.
    """

    summary: str
    conflicts: tuple[Conflict, ...]
    minimal: bool = False
    details: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()

    def render(self) -> str:
        """Plain-text explanation, one conflict per line."""
        head = "minimal conflict" if self.minimal else "conflict"
        lines = [self.summary, f"{head} ({len(self.conflicts)} constraint group(s)):"]
        lines += [f"  - [{c.rule}] {c.text}" for c in self.conflicts]
        if self.details:
            lines.append("why the options are limited:")
            lines += [f"  - {d}" for d in self.details]
        if self.suggestions:
            lines.append("single changes that would make it feasible (each checked by a solve):")
            lines += [f"  - {d}" for d in self.suggestions]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "summary": self.summary,
            "minimal": self.minimal,
            "conflicts": [asdict(c) | {"ids": list(c.ids)} for c in self.conflicts],
            "details": list(self.details),
            "suggestions": list(self.suggestions),
        }


@dataclass
class SolveResult:
    """Everything a solve produced.

    Attributes
    ----------
    status
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN`` or ``INVALID``.
    objective
        The default objective of the plan (penalty plus preference cost), or None.
    best_bound
        Proven lower bound on that objective (for minimax, of the second phase).
    preference_cost, unplaced
        Parts of the objective.
    terms
        Cost of each named objective term, unweighted.
    worst_learner_cost
        Largest per-learner preference cost in the plan.
    first_solution_seconds, solve_seconds
        Time to the first plan and in total (model building included).
    plan
        The plan, or None.
    explanation
        Why there is no plan, when the status is ``INFEASIBLE``.
    placements, working
        (learner index, block, role) -> site of the plan, and the (learner index,
        block, role, session) worked clinically: used to restart a search from it.
    search
        How the solve was organised (stages, neighbourhood search counts).
    """

    status: str
    objective: float | None = None
    best_bound: float | None = None
    preference_cost: int | None = None
    unplaced: int | None = None
    terms: dict[str, float] = field(default_factory=dict)
    worst_learner_cost: int | None = None
    first_solution_seconds: float | None = None
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    seed: int = 0
    workers: int = 2
    time_limit: float = 60.0
    fairness: str = "none"
    phases: list[dict[str, Any]] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    explanation: Explanation | None = None
    learner_costs: dict[str, int] = field(default_factory=dict)
    candidate_limit: int | None = None
    placements: dict[tuple[int, int, str], str] = field(default_factory=dict, repr=False)
    working: set[tuple[int, int, str, str]] = field(default_factory=set, repr=False)
    search: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and bound (0 when proven optimal)."""
        if self.objective is None or self.best_bound is None:
            return None
        if self.status == "OPTIMAL":
            return 0.0
        return abs(self.objective - self.best_bound) / max(1.0, abs(self.objective))

    @property
    def has_plan(self) -> bool:
        """True when a plan was found (OPTIMAL or FEASIBLE)."""
        return self.plan is not None and self.status in ("OPTIMAL", "FEASIBLE")

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` content (contract §8 keys first)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "preference_cost": self.preference_cost,
            "unplaced": self.unplaced,
            "solve_seconds": round(self.solve_seconds, 3),
            "gap": None if self.gap is None else round(self.gap, 6),
            "terms": self.terms,
            "worst_learner_cost": self.worst_learner_cost,
            "first_solution_seconds": None if self.first_solution_seconds is None
            else round(self.first_solution_seconds, 3),
            "build_seconds": round(self.build_seconds, 3),
            "fairness": self.fairness,
            "seed": self.seed,
            "workers": self.workers,
            "time_limit": self.time_limit,
            "phases": self.phases,
            "model_size": self.model_size,
            "candidate_limit": self.candidate_limit,
            "search": self.search,
        }

    def summary_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the headline numbers."""
        keys = ["status", "objective", "best_bound", "gap", "preference_cost", "unplaced",
                "worst_learner_cost", "first_solution_seconds", "solve_seconds"]
        row = self.summary() | {"gap": self.gap}
        return pd.DataFrame([{k: row[k] for k in keys}])

    def terms_frame(self) -> pd.DataFrame:
        """Cost per objective term."""
        return pd.DataFrame(
            [{"term": name, "cost": cost} for name, cost in self.terms.items()]
        )

    def learner_frame(self) -> pd.DataFrame:
        """Preference cost per learner."""
        return pd.DataFrame(
            [{"learner_id": k, "preference_cost": c} for k, c in self.learner_costs.items()]
        )
