"""What a solve gives back: a small result (the plan and its figures) and its statistics.

Like PyVRP's ``Result`` and ``Statistics``: :class:`SolveResult` says what was
found and how good it is; :class:`Statistics` says how the search went (time,
phases, model size), for summaries and benchmarks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rotaplan.models import Plan
from rotaplan.models.vocabulary import Role, Status

STATUSES = tuple(Status)


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
class ConflictGroup:
    """One line of an explanation: a resource or a demand, and the groups behind it.

    Attributes
    ----------
    rule
        The contract rule (``rooms``, ``cover``, ...).
    ids
        What it is about: a site id for a resource; a profession (and a setting
        for ``cover``) for a demand.
    text
        The line in resource terms, e.g. ``Oak Tree Practice (sher-oak-tree):
        rooms, 0 on Tue-AM in blocks 1-4``.
    members
        The constraint groups of the model behind the line (the ids on demand).
    """

    rule: str
    ids: tuple[str, ...]
    text: str
    members: tuple[Conflict, ...] = ()


SHORT_LINES = 10
"""Most lines :meth:`Explanation.render` prints without details."""


@dataclass(frozen=True)
class Explanation:
    """Why a scenario has no plan.

    Attributes
    ----------
    summary
        One line for humans.
    conflicts
        Constraint groups that cannot all hold together (the ids).
    minimal
        True when dropping any one of the groups shown (``groups`` when there
        are any, else ``conflicts``) makes the rest feasible.
    details
        Further lines (for example, why candidate sites were excluded).
    suggestions
        Changes that would make the scenario feasible, each verified by a solve.
    notes
        What the search could not finish (time ran out), in plain words.
    statement
        The short explanation in resource terms, a few lines aggregated by
        site, setting and profession (empty for explanations built before it).
    groups
        The lines of ``statement`` that are conflict groups, with their members.
    """

    summary: str
    conflicts: tuple[Conflict, ...]
    minimal: bool = False
    details: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    statement: tuple[str, ...] = ()
    groups: tuple[ConflictGroup, ...] = ()

    def short_lines(self, most: int = SHORT_LINES) -> list[str]:
        """The explanation in at most ``most`` lines: what conflicts, then the fixes."""
        fixes = list(self.suggestions[:3])
        notes = list(self.notes[:2])
        body = list(self.statement) or [f"[{c.rule}] {c.text}" for c in self.conflicts]
        room = max(1, most - 1 - (1 + len(fixes) if fixes else 0) - len(notes))
        if len(body) > room:
            body = [*body[:room - 1], f"... and {len(body) - room + 1} more "
                    "(see the details)"]
        lines = [self.summary] + [f"  {line}" for line in body]
        if fixes:
            lines.append("Changes that make a plan possible (each checked by a solve):")
            lines += [f"  - {fix}" for fix in fixes]
        lines += [f"Note: {n}" for n in notes]
        return lines[:most]

    def render(self, details: bool = False) -> str:
        """Plain text: the short form, or with ``details`` every group and id too."""
        if not details:
            return "\n".join(self.short_lines())
        head = "minimal conflict" if self.minimal else "conflict"
        lines = [self.summary]
        lines += [f"  {line}" for line in self.statement]
        if self.groups:
            lines.append("the ids behind each line:")
        for group in self.groups:
            lines.append(f"  - {group.text}")
            by_rule: dict[str, list[str]] = {}
            for member in group.members:
                by_rule.setdefault(member.rule, []).append("/".join(member.ids))
            lines += [f"      [{rule}] {', '.join(dict.fromkeys(ids))}"
                      for rule, ids in by_rule.items()]
        if self.conflicts and not self.groups:
            lines.append(f"{head} ({len(self.conflicts)} constraint group(s)):")
            lines += [f"  - [{c.rule}] {c.text}" for c in self.conflicts]
        if self.details:
            lines.append("why the options are limited:")
            lines += [f"  - {d}" for d in self.details]
        if self.suggestions:
            lines.append("changes that would make it feasible (each checked by a solve):")
            lines += [f"  - {d}" for d in self.suggestions]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "summary": self.summary,
            "statement": list(self.statement),
            "minimal": self.minimal,
            "groups": [{"rule": g.rule, "ids": list(g.ids), "text": g.text,
                        "members": [asdict(c) | {"ids": list(c.ids)} for c in g.members]}
                       for g in self.groups],
            "conflicts": [asdict(c) | {"ids": list(c.ids)} for c in self.conflicts],
            "details": list(self.details),
            "suggestions": list(self.suggestions),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Phase:
    """One CP-SAT call of a solve (a lexicographic phase or a stage).

    Attributes
    ----------
    name
        ``fairness``, ``total``, ``tie-break``, ``first plan`` ...
    status
        CP-SAT's status for this call.
    objective, best_bound
        The call's own objective and bound (of its own model: a stage's bound
        is not a bound of the problem).
    seconds
        Wall time of the call.
    first_solution_seconds
        Since the start of the solve, when the call found its first solution.
    branches, conflicts
        Search effort.
    deterministic_time
        CP-SAT's deterministic time used.
    stopped_before_start
        A stop request came before the call began.
    """

    name: str
    status: Status
    objective: float | None = None
    best_bound: float | None = None
    seconds: float = 0.0
    first_solution_seconds: float | None = None
    branches: int = 0
    conflicts: int = 0
    deterministic_time: float = 0.0
    stopped_before_start: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``phase`` is the name)."""
        out: dict[str, Any] = {"phase": self.name} | asdict(self)
        del out["name"]
        if not self.stopped_before_start:
            del out["stopped_before_start"]
        return out


@dataclass
class Statistics:
    """How a solve went: timings, phases, model size, search organisation.

    Attributes
    ----------
    first_solution_seconds, best_solution_seconds, solve_seconds, build_seconds
        Time to the first plan, to the plan returned, in total (model building
        included), and to build the model(s).
    seed, workers, time_limit, deterministic_time
        The run's settings.
    fairness
        ``none``, ``minimax`` or ``weighted``.
    phases
        One entry per CP-SAT call that counts for the result.
    model_size
        Variables and constraints of the (last) model, per rule.
    candidate_limit
        Cap on candidate sites, when one was used.
    search
        How the solve was organised (stages, neighbourhood search counts, an
        extended objective's own figures).
    """

    first_solution_seconds: float | None = None
    best_solution_seconds: float | None = None
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    seed: int = 0
    workers: int = 2
    time_limit: float = 60.0
    deterministic_time: float | None = None
    fairness: str = "none"
    phases: list[Phase] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    candidate_limit: int | None = None
    search: dict[str, Any] = field(default_factory=dict)


@dataclass
class SolveResult:
    """What a solve found.

    Attributes
    ----------
    status
        :class:`~rotaplan.models.vocabulary.Status`.
    objective
        The contract's objective of the plan, or None.
    best_bound
        A proven lower bound on the objective *of the whole problem* (never a
        bound of a restricted or staged model), or None.
    preference_cost, unplaced
        Parts of the objective.
    terms
        Each named objective term's weighted total (they add up to the objective).
    worst_learner_cost
        Largest cost of a placed learner.
    learner_costs
        Each placed learner's cost.
    unplaced_ids
        Learners left out, in scenario order.
    plan
        The plan, or None.
    explanation
        Why there is no plan, when the status is ``INFEASIBLE``.
    placements, working
        (learner index, block, role) -> site of the plan, and the (learner index,
        block, role, session) worked clinically: used to restart a search from it.
    stats
        How the search went.
    """

    status: Status
    objective: float | None = None
    best_bound: float | None = None
    preference_cost: int | None = None
    unplaced: int | None = None
    terms: dict[str, float] = field(default_factory=dict)
    worst_learner_cost: int | None = None
    learner_costs: dict[str, int] = field(default_factory=dict)
    unplaced_ids: list[str] = field(default_factory=list)
    plan: Plan | None = None
    explanation: Explanation | None = None
    placements: dict[tuple[int, int, Role], str] = field(default_factory=dict, repr=False)
    working: set[tuple[int, int, Role, str]] = field(default_factory=set, repr=False)
    stats: Statistics = field(default_factory=Statistics)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and bound (0 when proven optimal)."""
        if self.objective is None or self.best_bound is None:
            return None
        if self.status == Status.OPTIMAL:
            return 0.0
        return abs(self.objective - self.best_bound) / max(1.0, abs(self.objective))

    @property
    def has_plan(self) -> bool:
        """True when a plan was found (OPTIMAL or FEASIBLE)."""
        return self.plan is not None and self.status.has_plan

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` content (contract §8 keys first, then statistics)."""
        s = self.stats
        return {
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "preference_cost": self.preference_cost,
            "unplaced": self.unplaced,
            "solve_seconds": round(s.solve_seconds, 3),
            "gap": None if self.gap is None else round(self.gap, 6),
            "terms": self.terms,
            "worst_learner_cost": self.worst_learner_cost,
            "first_solution_seconds": None if s.first_solution_seconds is None
            else round(s.first_solution_seconds, 3),
            "best_solution_seconds": None if s.best_solution_seconds is None
            else round(s.best_solution_seconds, 3),
            "build_seconds": round(s.build_seconds, 3),
            "fairness": s.fairness,
            "seed": s.seed,
            "workers": s.workers,
            "time_limit": s.time_limit,
            "deterministic_time": s.deterministic_time,
            "phases": [p.to_json() for p in s.phases],
            "model_size": s.model_size,
            "candidate_limit": s.candidate_limit,
            "search": s.search,
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


__all__ = ["SHORT_LINES", "STATUSES", "Conflict", "ConflictGroup", "Explanation", "Phase",
           "SolveResult", "Statistics", "Status"]
