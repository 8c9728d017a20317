"""Model extensions: keep part of an old plan, or stay away from earlier plans.

An extension is passed as :attr:`SolveOptions.extend <solver.engine.SolveOptions>`.
It is called once the rule units have built the model, may add constraints,
and returns extra named objective terms. The contract's rules are untouched:
every plan an extended solve finds is a valid plan of the scenario, checked
like any other.

- :class:`KeepAndMinimiseChanges` (re-planning): placements and weekly
  sessions in blocks before ``from_block`` are fixed as in the old plan; later
  placements that differ from it cost ``weight`` each, a weight above any
  possible preference cost, so fewer changes always come first and
  preferences second; last, among the plans that are best so, the one whose
  later weekly sessions differ least from the old plan's is taken (a
  tie-break phase). Supervisors are kept by the recovery (pass the old plan
  as :attr:`SolveOptions.reference <solver.engine.SolveOptions>`).
- :class:`DifferFrom` (alternatives): each earlier plan must differ from the
  new one in at least ``min_changes`` placements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.models import Plan
from rotaplan.models.vocabulary import Role
from rotaplan.solver.objective import Term
from rotaplan.solver.rules import Build
from rotaplan.solver.variables import Lit

Key = tuple[str, int, str]
"""A placement: learner id, block, role."""

KEPT = "kept"
"""Group name of the constraints that keep an old plan's early blocks (not a contract rule)."""


def placements_of(plan: Plan) -> dict[Key, str]:
    """A plan's placements as ``(learner, block, role) -> site``."""
    a = plan.assignments
    return {(str(lid), int(block), str(role)): str(site) for lid, block, role, site in zip(
        a["learner_id"], a["block"], a["role"], a["site_id"], strict=True)}


def _literal(b: Build, key: Key, site: str) -> Lit | None:
    """The Boolean 'learner in that block and role is at that site' (None: impossible)."""
    learner, block, role = key
    info = b.inst.learner_by_id.get(learner)
    if info is None:
        return None
    return b.v.place.get((info.index, block, Role(role)), {}).get(site)


def named_supervisors_of(plan: Plan) -> dict[Key, str]:
    """A plan's named supervisors as ``(learner, block, role) -> supervisor``."""
    a = plan.assignments
    return {(str(lid), int(block), str(role)): str(u) for lid, block, role, u in zip(
        a["learner_id"], a["block"], a["role"], a["supervisor_id"], strict=True)}


def clinical_sessions_of(plan: Plan) -> set[tuple[str, int, str, str]]:
    """A plan's clinical sessions as ``(learner, block, role, session)``.

    A fellow's role in a session is read from the site: the block's base site
    or its partner site.
    """
    roles = {(lid, block, site): role for (lid, block, role), site in placements_of(plan).items()}
    t = plan.timetable
    out: set[tuple[str, int, str, str]] = set()
    for lid, block, d, activity, site in zip(t["learner_id"], t["block"], t["session"],
                                              t["activity"], t["site_id"], strict=True):
        if activity == "clinical":
            role = roles.get((str(lid), int(block), str(site)), "rotation")
            out.add((str(lid), int(block), role, str(d)))
    return out


def _upper_bound_on_preferences(b: Build) -> int:
    """Largest total preference cost any plan could have."""
    sc = b.inst.scenario
    total = 0
    for (index, _block, _role), lits in b.v.place.items():
        learner = b.inst.learners[index].learner
        total += max((sc.preference_cost(learner, sc.site_by_id[s]) for s in lits), default=0)
    return total


@dataclass
class KeepAndMinimiseChanges:
    """Keep an old plan's early blocks; change as few later placements as possible.

    Parameters
    ----------
    old
        The plan in force.
    from_block
        First block that may change (blocks before it are kept as they were).
    keep_past_sessions
        Fix the weekly sessions before ``from_block`` too. When False they are
        only kept where they can be, ahead of later sessions, in the
        tie-break (for a change, such as fewer rooms, that reaches the past).

    Attributes
    ----------
    impossible
        Placements before ``from_block`` the scenario no longer allows, in words
        (filled when the model is built; the solve is then infeasible).
    weight
        The weight of one change (set when the model is built).
    """

    old: Plan
    from_block: int = 1
    keep_past_sessions: bool = True
    impossible: list[str] = field(default_factory=list)
    weight: int = 0

    def __call__(self, b: Build) -> list[Term]:
        """Fix the early blocks and return the ``changes`` term.

        Every fixing constraint is registered as a ``kept`` group, so when no
        plan keeps the early blocks an explanation names the kept placements
        and sessions in conflict with the changed scenario.
        """
        self.impossible = []
        self.weight = _upper_bound_on_preferences(b) + 1
        changed: list[cp_model.LinearExprT] = []
        hinted: set[int] = set()  # a fellow's base literal is shared by every block
        old = placements_of(self.old)
        for (index, block, role), lits in b.v.place.items():
            if block >= self.from_block:
                continue
            learner = b.inst.learners[index].id
            if (learner, block, role) in old:
                continue
            # not placed then in the old plan (left out, or new): the past stays so
            for option in lits.values():
                text = f"kept: {learner} had no placement in block {block}"
                if isinstance(option, int):
                    if option:
                        self.impossible.append(f"{learner} block {block} had no placement "
                                               "but the scenario now requires one")
                        b.add(b.model.add_bool_or([]), KEPT, (learner, str(block)), text)
                else:
                    b.add(b.model.add(option == 0), KEPT, (learner, str(block)), text)
        for key, site in sorted(old.items()):
            lit = _literal(b, key, site)
            learner, block, _ = key
            if block < self.from_block:
                where = "" if key[2] == Role.ROTATION else f" ({key[2]})"
                text = f"kept: {learner} block {block}{where} at {site}"
                group = (learner, str(block), str(key[2]), site)
                if lit is None or (isinstance(lit, int) and lit == 0):
                    self.impossible.append(
                        f"{learner} block {block}{where} at {site} is no longer possible")
                    # false: the past cannot be kept
                    b.add(b.model.add_bool_or([]), KEPT, group, text)
                elif not isinstance(lit, int):
                    b.add(b.model.add(lit == 1), KEPT, group, text)
                continue
            if lit is None:
                changed.append(1)
            elif isinstance(lit, int):
                changed.append(1 - lit)
            else:
                if lit.index not in hinted:
                    hinted.add(lit.index)
                    b.model.add_hint(lit, True)
                changed.append(1 - lit)
        past, later = self._sessions(b)
        terms = [Term("changes", self.weight, sum(changed),
                      "placements that differ from the old plan (weighted above every "
                      "preference cost)")]
        if past:
            terms.append(Term("past_session_changes", len(later) + 1, sum(past),
                              f"weekly sessions before block {self.from_block} that differ "
                              "from the old plan (tie-break, first)", tie_break=True))
        if later:
            terms.append(Term("session_changes", 1, sum(later),
                              "later weekly sessions that differ from the old plan "
                              "(tie-break)", tie_break=True))
        return terms

    def _sessions(self, b: Build) -> tuple[list[cp_model.LinearExprT],
                                           list[cp_model.LinearExprT]]:
        """Fix (or count) past session differences; count later ones."""
        old = clinical_sessions_of(self.old)
        placed = {lid for (lid, _, _) in placements_of(self.old)}
        past: list[cp_model.LinearExprT] = []
        later: list[cp_model.LinearExprT] = []
        for (index, block, role, session), lit in b.v.works.items():
            learner = b.inst.learners[index].id
            if learner not in placed:
                continue
            was = (learner, block, role, session) in old
            differs: cp_model.LinearExprT = (1 - lit) if was else lit
            if block >= self.from_block:
                if not isinstance(differs, int) or differs:
                    later.append(differs)
                continue
            text = f"kept: {learner}'s weekly sessions in block {block}"
            group = (learner, str(block), "sessions")
            if isinstance(lit, int):
                if lit != was and self.keep_past_sessions:
                    # false: that session is no longer possible
                    b.add(b.model.add_bool_or([]), KEPT, group, text)
                continue
            if self.keep_past_sessions:
                b.add(b.model.add(lit == int(was)), KEPT, group, text)
            else:
                past.append(differs)
        return past, later


@dataclass
class DifferFrom:
    """Require a plan to differ from each earlier plan in some placements.

    Parameters
    ----------
    plans
        Plans to stay away from.
    min_changes
        Placements (learner, block, role) whose site must differ from each.
    """

    plans: list[Plan]
    min_changes: int = 1

    def __call__(self, b: Build) -> list[Term]:
        """Add one 'at least ``min_changes`` different' constraint per plan."""
        for plan in self.plans:
            same: list[cp_model.LinearExprT] = []
            for key, site in placements_of(plan).items():
                lit = _literal(b, key, site)
                if lit is not None:
                    same.append(lit)
            kept = len(placements_of(plan))
            b.model.add(sum(same) <= kept - self.min_changes)
        return []
