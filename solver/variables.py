"""All decision variables of the formulation, in one container.

The formulation is aggregated: no variable names a supervisor. Placements are
Booleans per learner, block and candidate site; weekly timetables are
Booleans per learner, block and candidate session, shared by all the sites a
learner could be at; a learner-site-session Boolean exists only where a
session-level limit (rooms, part-time supervisors) could bind. Named and
present supervisors are recovered after the solve by b-matchings that the
Hall inequalities of :mod:`solver.rules` guarantee to exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.solver.instance import BASE, PARTNER, ROTATION, Instance, LearnerInfo, Role

Lit = cp_model.IntVar | int  # a Boolean variable or a constant 0/1


@dataclass
class Variables:
    """Decision variables, keyed by learner index, block, role, site, session.

    Attributes
    ----------
    placed
        Learner index -> 1, or a Boolean when ``allow_unplaced`` lets them out.
    active
        (learner, block) -> whether the learner has a placement that block: the
        same literal as ``placed`` unless the learner may be idle (§9.1).
    place
        (learner, block, role) -> site -> Boolean: the learner's site in that role
        (occupancy: for a placement of several blocks, true in each of them).
    start
        Rotation learner -> (site, first block) -> Boolean: a placement there
        starting then (§9.1). With one-block placements it is the ``place``
        literal itself.
    base
        (fellow, site) -> Boolean: the fellow's base site (same every block).
    works
        (learner, block, role, session) -> clinical in that role in that session.
    at
        (learner, block, role, site, session) -> clinical at that site then;
        made only for site-sessions with a limit that could bind.
    """

    placed: dict[int, Lit] = field(default_factory=dict)
    active: dict[tuple[int, int], Lit] = field(default_factory=dict)
    place: dict[tuple[int, int, Role], dict[str, Lit]] = field(default_factory=dict)
    start: dict[int, dict[tuple[str, int], Lit]] = field(default_factory=dict)
    covering: dict[int, dict[tuple[int, str], list[Lit]]] = field(default_factory=dict)
    base: dict[tuple[int, str], Lit] = field(default_factory=dict)
    works: dict[tuple[int, int, Role, str], Lit] = field(default_factory=dict)
    at: dict[tuple[int, int, Role, str, str], Lit] = field(default_factory=dict)


def create(model: cp_model.CpModel, inst: Instance,
           optional: Collection[int] = ()) -> Variables:
    """Create the placement and timetable variables.

    Parameters
    ----------
    model
        The CP-SAT model to add variables to.
    inst
        The scenario index with candidate sites and sessions.
    optional
        Learner indices who may be left out even when the scenario does not
        allow it (candidate extra learners in capacity questions).
    """
    sc = inst.scenario
    allow_out = sc.objective.allow_unplaced
    extra = set(optional)
    v = Variables()
    for info in inst.learners:
        i = info.index
        out = allow_out or i in extra
        v.placed[i] = model.new_bool_var(f"placed[{info.id}]") if out else 1
        # Version 2 placements (several blocks, idle blocks) get start literals; a
        # one-block rotation builds exactly the variables it did before, in order.
        spans = not info.is_fellow and (inst.multi_block or info.may_idle)
        if spans:
            _placements(model, inst, v, info)
        for block in info.blocks:
            v.active.setdefault((i, block), v.placed[i])
            for role in inst.roles_of(info):
                sites = inst.options[(i, block, role)]
                if role == BASE:
                    sites = {s: d for s, d in sites.items() if s in inst.base_sites[i]}
                if spans:
                    chosen = v.place[(i, block, role)]
                    sites = {s: d for s, d in sites.items() if s in chosen}
                else:
                    chosen = {}
                    for site in sites:
                        if role == BASE:
                            if (i, site) not in v.base:
                                v.base[(i, site)] = model.new_bool_var(
                                    f"base[{info.id},{site}]")
                            chosen[site] = v.base[(i, site)]
                        else:
                            chosen[site] = model.new_bool_var(
                                f"place[{info.id},{block},{site}]")
                    v.place[(i, block, role)] = chosen
                usable = set().union(*sites.values()) if sites else set()
                need = info.need(role)
                both_roles = info.is_fellow
                for session in info.candidates:
                    key = (i, block, role, session)
                    if session not in usable:
                        v.works[key] = 0
                    elif need == len(info.candidates) and not both_roles:
                        v.works[key] = v.active[(i, block)]  # every candidate session
                    elif need == 0:
                        v.works[key] = 0
                    else:
                        v.works[key] = model.new_bool_var(
                            f"works[{info.id},{block},{role},{session}]"
                        )
        if not info.is_fellow and not spans:
            v.start[i] = {(site, block): lit for block in info.blocks
                          for site, lit in v.place[(i, block, ROTATION)].items()}
            v.covering[i] = {(block, site): [lit] for (site, block), lit in v.start[i].items()}
    return v


def _placements(model: cp_model.CpModel, inst: Instance, v: Variables,
                info: LearnerInfo) -> None:
    """A rotation learner's placement starts and block occupancy (§9.1).

    With one-block placements a start is the block's ``place`` literal, made
    exactly as before version 2. A longer placement gets a start literal; a
    block covered by a single possible start uses that literal as its
    occupancy, one covered by several gets an occupancy literal that rule
    ``placement-length`` ties to their sum. A learner who may be idle gets an
    ``active`` literal per block.
    """
    i = info.index
    starts: dict[tuple[str, int], Lit] = {}
    covering: dict[tuple[int, str], list[Lit]] = {}
    for site, first in inst.starts(info):
        k = inst.length(site)
        if k == 1:
            lit: Lit = model.new_bool_var(f"place[{info.id},{first},{site}]")
        else:
            lit = model.new_bool_var(f"start[{info.id},{site},{first}]")
        starts[(site, first)] = lit
        for block in range(first, first + k):
            covering.setdefault((block, site), []).append(lit)
    v.start[i] = starts
    for block in info.blocks:
        chosen: dict[str, Lit] = {}
        for site in inst.options[(i, block, ROTATION)]:
            lits = covering.get((block, site))
            if not lits:
                continue  # no placement at the site can hold this block
            chosen[site] = lits[0] if len(lits) == 1 else model.new_bool_var(
                f"place[{info.id},{block},{site}]")
        v.place[(i, block, ROTATION)] = chosen
        if info.may_idle:
            v.active[(i, block)] = model.new_bool_var(f"active[{info.id},{block}]")
    v.covering[i] = covering


def clinical_at(
    model: cp_model.CpModel, inst: Instance, v: Variables,
    info: LearnerInfo, block: int, role: Role, site: str, session: str,
) -> Lit:
    """Literal for 'clinical at this site in this session' (made on first use).

    When the learner would work every usable session at the site, the
    placement literal itself says it and no variable is made.
    """
    key = (info.index, block, role, site, session)
    if key not in v.at:
        _site_week(model, inst, v, info, block, role, site)
    return v.at.get(key, 0)


def _site_week(
    model: cp_model.CpModel, inst: Instance, v: Variables,
    info: LearnerInfo, block: int, role: Role, site: str,
) -> None:
    """Make the learner's week at one site explicit: a literal per usable session.

    Disaggregated on purpose: ``sum(at) == need * place`` with ``at <= works``
    forces ``at == works`` at the chosen site and keeps the LP tight (a
    product linearisation ``at >= place + works - 1`` leaves rooms and
    presence nearly invisible to the LP).
    """
    usable = inst.options[(info.index, block, role)][site]
    place = v.place[(info.index, block, role)][site]
    need = info.need(role)
    lits: list[Lit] = []
    for session in usable:
        works = v.works[(info.index, block, role, session)]
        if isinstance(works, int) and works == 0:
            lit: Lit = 0
        elif need == len(usable) or works is v.active[(info.index, block)]:
            lit = place
        else:
            lit = model.new_bool_var(f"at[{info.id},{block},{role},{site},{session}]")
            model.add_implication(lit, place)
            model.add_implication(lit, works)
        v.at[(info.index, block, role, site, session)] = lit
        lits.append(lit)
    if any(not isinstance(lit, int) and lit is not place for lit in lits):
        model.add(sum(lits) == need * place)


def negated(lit: Lit) -> cp_model.LiteralT:
    """The negation of a literal (or of a constant 0/1)."""
    if isinstance(lit, int):
        return 1 - lit
    return lit.Not()


__all__ = ["BASE", "PARTNER", "ROTATION", "Lit", "Variables", "clinical_at", "create", "negated"]
