"""Model building in one place: variables, rule units, objective terms, extensions.

Every user of the formulation (the engine, explanations, capacity questions,
the benchmarks) builds it here, so they all solve the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.solver.instance import Instance
from rotaplan.solver.load import Load
from rotaplan.solver.objective import (
    LearnerCosts,
    LinearLike,
    Term,
    learner_costs,
    objective_terms,
)
from rotaplan.solver.rules import RULES, Build, Rule, post_all
from rotaplan.solver.variables import create

Extension = Callable[[Build], list[Term]]
"""A model extension: adds constraints to a built model and returns extra terms."""


@dataclass
class Formulation:
    """A built model and its objective terms (not yet minimised).

    Attributes
    ----------
    b
        The model, the instance, the variables and the constraint groups.
    costs
        Each learner's cost (contract §7, §9.3) and its parts, as linear expressions.
    terms
        The contract's objective terms.
    extra
        An extension's terms, minimised before the contract's (lexicographically
        by weight).
    later
        An extension's tie-break terms, minimised last with the rest held.
    """

    b: Build
    costs: LearnerCosts
    terms: list[Term]
    extra: list[Term] = field(default_factory=list)
    later: list[Term] = field(default_factory=list)

    @property
    def model(self) -> cp_model.CpModel:
        """The CP-SAT model."""
        return self.b.model

    @property
    def inst(self) -> Instance:
        """The scenario index the model was built on."""
        return self.b.inst

    def total(self) -> LinearLike:
        """The weighted sum of the extension's and the contract's terms."""
        return sum(t.weight * t.expr for t in [*self.extra, *self.terms])

    def size(self) -> dict[str, int]:
        """Variables and constraints, in all and per rule."""
        proto = self.model.proto
        return {"variables": len(proto.variables), "constraints": len(proto.constraints)} | {
            f"constraints[{k}]": n for k, n in sorted(self.b.counts.items())}


def formulate(inst: Instance, *, explain: bool = False, optional: Collection[int] = (),
              extend: Extension | None = None, load: Load | None = None,
              soft_minimum: bool = False, rules: Iterable[Rule] = RULES) -> Formulation:
    """Build the model of an instance's current domains.

    Parameters
    ----------
    inst
        The scenario index (its domains may be restricted or focused).
    explain
        Guard every constraint group with an assumption literal (explanations).
    optional
        Learner indices who may be left out even when the scenario does not
        allow it (candidate newcomers in capacity questions).
    extend
        A model extension (re-planning, alternatives).
    load
        What learners outside the model use (a neighbourhood's fixed part):
        taken off every limit and minimum.
    soft_minimum
        Let a site fall short of its minimum, the shortfall counted in
        ``Build.shortfall`` (a first plan built a few learners at a time).
    rules
        The rule units to post (default: all of :data:`~solver.rules.RULES`). Only
        tests pass a subset, to show that one unit alone forbids a case.
    """
    model = cp_model.CpModel()
    v = create(model, inst, optional)
    b = Build(model, inst, v, explain=explain, load=load or Load(),
              soft_minimum=soft_minimum)
    post_all(b, rules)
    costs = learner_costs(b)
    terms = objective_terms(b, costs)
    added = extend(b) if extend is not None else []
    return Formulation(b, costs, terms, [t for t in added if not t.tie_break],
                       [t for t in added if t.tie_break])


__all__ = ["Extension", "Formulation", "formulate"]
