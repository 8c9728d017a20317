"""An aggregate relaxation for capacity questions: learners alike are counted, not named.

Interchangeable candidate learners make the full capacity model hard to prove:
CP-SAT must refute every way of seating ``count + 1`` identical newcomers (the
medium ICS nurse question: 9 placed, bound still 17 after 30 s on 2 busy
cores). Here learners identical in everything the rules see (profession,
track, blocks, sessions, candidate sites and their usable sessions) form one
*class*, and the model decides how many of a class sit at each site in each
block and, where a session limit could bind, how many are clinical there in
each session. The newcomers are one class whose size is maximised.

Every constraint is a sum of the contract's rules over a class, so any plan
gives a solution: the optimum is an upper bound on the true maximum (it is a
relaxation: a class's cover and no-repeat hold in total, not per learner).
Rules of version 2 that it does not aggregate (placement lengths,
requirements, precedence, organisations) are dropped, which keeps it a
relaxation.

The same model answers "which extra units let ``k`` more in?": resources get
integer *extra units* (site places, supervisor places, rooms per session) and
the total is minimised subject to ``k`` more newcomers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.models import Site, Supervisor
from rotaplan.solver.instance import BASE, ROTATION, Instance, LearnerInfo, Role

Key = tuple[object, ...]

SITE_CAPACITY = "site-capacity"
SUPERVISOR_CAPACITY = "supervisor-capacity"
ROOMS = "rooms"
"""Kinds of extra unit, named as the contract rule each relaxes."""


@dataclass(frozen=True)
class Unit:
    """One kind of extra unit a relaxation may buy.

    Attributes
    ----------
    kind
        ``site-capacity`` (one more place at a site, every block it limits),
        ``supervisor-capacity`` (a supervisor takes one more learner) or
        ``rooms`` (one more room at a site in a weekly session).
    site
        The site id.
    other
        The supervisor id or the session ('' for a site place).
    """

    kind: str
    site: str
    other: str = ""


@dataclass
class Relaxation:
    """The built aggregate model.

    Attributes
    ----------
    model
        The CP-SAT model.
    newcomers
        Number of newcomers placed (to maximise, or to bound below).
    extra
        Extra units per relaxable resource (empty unless asked for).
    members
        Learner indices of each class (class 0, the newcomers, has none).
    count
        (class, block, role, site) -> members of the class placed there.
    """

    model: cp_model.CpModel
    newcomers: cp_model.IntVar
    extra: dict[Unit, cp_model.IntVar] = field(default_factory=dict)
    members: list[list[int]] = field(default_factory=list)
    count: dict[tuple[int, int, Role, str], cp_model.IntVar] = field(default_factory=dict)

    def placements(self, solver: cp_model.CpSolver, first_new: int, newcomers: int
                   ) -> dict[tuple[int, int, Role], str]:
        """A site per learner, block and role read off a solution (a hint, not a plan).

        Members of a class share its places in turn; newcomers get indices
        from ``first_new``.
        """
        out: dict[tuple[int, int, Role], str] = {}
        by_key: dict[tuple[int, int, Role], list[str]] = defaultdict(list)
        for (g, block, role, site), var in sorted(self.count.items(),
                                                  key=lambda kv: kv[0][3]):
            by_key[(g, block, role)] += [site] * int(solver.value(var))
        for (g, block, role), sites in by_key.items():
            people = (list(range(first_new, first_new + newcomers)) if g == 0
                      else self.members[g])
            shift = block * max(1, len(people)) // 4  # spread settings over blocks
            for n, person in enumerate(people):
                if sites:
                    out[(person, block, role)] = sites[(n + shift) % len(sites)]
        return out


def _class_key(inst: Instance, info: LearnerInfo) -> Key:
    opts = tuple(
        (block, role, tuple(sorted((s, tuple(d)) for s, d in
                                   inst.full_options[(info.index, block, role)].items())))
        for block in info.blocks for role in inst.roles_of(info))
    base = tuple(sorted(inst.base_sites.get(info.index, [])))
    learner = info.learner
    return (info.profession, info.is_fellow, info.blocks, info.candidates, info.clinical,
            info.partner_sessions, info.may_idle, learner.placements, opts, base)


def build_relaxation(inst: Instance, newcomer_index: int, most: int, *,
                     units: list[Unit] | None = None, most_units: int = 0) -> Relaxation:
    """The aggregate model of an instance whose learner ``newcomer_index`` is the newcomer.

    Parameters
    ----------
    inst
        The scenario with one newcomer added (the template of the class).
    newcomer_index
        Index of that newcomer; its class has between 0 and ``most`` members.
    most
        Most newcomers.
    units
        Resources that may get extra units (None: none). Every room limit is
        then modelled per session, since extra places could make it bind.
    most_units
        Most extra units of one resource.

    Returns
    -------
    Relaxation
        The model (no objective set), the newcomer count and the extra units.
    """
    return _Builder(inst, newcomer_index, most, units or [], most_units).build()


Count = cp_model.IntVar | int


@dataclass
class _Builder:
    inst: Instance
    newcomer_index: int
    most: int
    units: list[Unit]
    most_units: int
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    groups: list[tuple[LearnerInfo, Count]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # most members of each class
    extra: dict[Unit, cp_model.IntVar] = field(default_factory=dict)
    # (group, block, role, site) -> members of the group there
    x: dict[tuple[int, int, Role, str], cp_model.IntVar] = field(default_factory=dict)
    # (group, block, session) -> members clinical then, one term per site and role
    clinical: dict[tuple[int, int, str], list[cp_model.IntVar]] = field(
        default_factory=lambda: defaultdict(list))

    def build(self) -> Relaxation:
        sc = self.inst.scenario
        model = self.model
        newcomers = model.new_int_var(0, self.most, "newcomers")
        self.groups.append((self.inst.learners[self.newcomer_index], newcomers))
        self.sizes.append(self.most)
        classes: dict[Key, list[LearnerInfo]] = defaultdict(list)
        for info in self.inst.learners:
            if info.index != self.newcomer_index:
                classes[_class_key(self.inst, info)].append(info)
        for members in classes.values():
            size = len(members)
            count: Count = (model.new_int_var(0, size, "n") if sc.objective.allow_unplaced
                            else size)
            self.groups.append((members[0], count))
            self.sizes.append(size)
        for unit in self.units:
            self.extra[unit] = model.new_int_var(0, self.most_units, f"extra[{unit}]")
        for g in range(len(self.groups)):
            self._placements(g)
        for site in sc.sites:
            for block in sc.programme.block_numbers:
                self._site(site, block)
        for (g, _, _), lits in self.clinical.items():  # rule 11: one place a session
            if self.groups[g][0].is_fellow and len(lits) > 1:
                model.add(sum(lits) <= self.groups[g][1])
        indices: list[list[int]] = [[]]
        indices += [[info.index for info in group] for group in classes.values()]
        return Relaxation(model, newcomers, self.extra, indices, self.x)

    def _plus(self, unit: Unit) -> cp_model.LinearExprT:
        return self.extra.get(unit, 0)

    def _placements(self, g: int) -> None:
        """Rules 1, 9 and 10 summed over a class: a site each block, cover, no repeat."""
        inst, model = self.inst, self.model
        info, count = self.groups[g]
        top = self.sizes[g]
        base_vars: dict[str, cp_model.IntVar] = {}
        for block in info.blocks:
            for role in inst.roles_of(info):
                options = inst.full_options[(info.index, block, role)]
                if role == BASE:
                    bases = set(inst.base_sites.get(info.index, []))
                    options = {s: d for s, d in options.items() if s in bases}
                here = []
                for site_id in options:
                    if role == BASE:  # the same base every block
                        if site_id not in base_vars:
                            base_vars[site_id] = model.new_int_var(0, top, "b")
                        var = base_vars[site_id]
                    else:
                        var = model.new_int_var(0, top, "x")
                    self.x[(g, block, role, site_id)] = var
                    here.append(var)
                if info.may_idle:
                    model.add(sum(here) <= count)
                else:
                    model.add(sum(here) == count)
        if info.is_fellow or info.may_idle:
            return
        sc = inst.scenario
        setting_of = {s.id: s.setting for s in sc.sites}
        mine = {(b, s): var for (gg, b, r, s), var in self.x.items()
                if gg == g and r == ROTATION}
        for setting in dict.fromkeys(sc.tracks.rotation.cover):
            model.add(sum(var for (_, s), var in mine.items() if setting_of[s] == setting)
                      >= count)
        if sc.tracks.rotation.no_repeat_site and not inst.multi_block:
            by_site: dict[str, list[cp_model.IntVar]] = defaultdict(list)
            for (_, s), var in mine.items():
                by_site[s].append(var)
            for same in by_site.values():
                if len(same) > 1:
                    model.add(sum(same) <= count)

    def _site(self, site: Site, block: int) -> None:
        """Rules 2, 4 and 12 at a site in a block, then its session limits."""
        sc, model = self.inst.scenario, self.model
        here = [(g, role, var) for (g, b, role, s), var in self.x.items()
                if b == block and s == site.id]
        if not here:
            return
        total = sum(var for _, _, var in here)
        cap = site.capacity_in(block)
        if cap is not None:
            model.add(total <= cap + self._plus(Unit(SITE_CAPACITY, site.id)))
        if site.minimum_in(block) > 0:
            model.add(total >= site.minimum_in(block))
        usable = [u for u in site.supervisors
                  if u.capacity > 0 and block not in u.unavailable_blocks]
        profs = {self.groups[g][0].profession for g, _, _ in here}
        for group in self.inst.hall_groups(site.id, profs):  # Hall, per profession group
            named = [u for u in usable if any(sc.may_supervise(u.profession, p) for p in group)]
            lits = [var for g, _, var in here if self.groups[g][0].profession in group]
            model.add(sum(lits) <= sum(u.capacity for u in named) + sum(
                self._plus(Unit(SUPERVISOR_CAPACITY, site.id, u.id)) for u in named))
        self._sessions(site, block, here, usable, profs)

    def _sessions(self, site: Site, block: int,
                  here: list[tuple[int, Role, cp_model.IntVar]],
                  usable: list[Supervisor], profs: set[str]) -> None:
        """Rules 5, 7 and 8 summed per class and session.

        ``y`` (members clinical here in a session) is made only for sessions
        where rooms or the supervisors working then could bind; in the other
        sessions a member may be clinical whenever the site could host it,
        which only loosens the model.
        """
        inst, model = self.inst, self.model
        sc = inst.scenario
        works = {u.id: frozenset(sc.supervisor_sessions(site, u)) for u in usable}
        hall = inst.hall_groups(site.id, profs)
        allowed = {group: [u for u in usable
                           if any(sc.may_supervise(u.profession, p) for p in group)]
                   for group in hall}
        cap = site.capacity_in(block)
        binding = []
        for d in sc.programme.sessions:
            rooms = site.rooms_at(d)
            room_binds = rooms is not None and (cap is None or rooms < cap or bool(self.units))
            thin = any(sum(u.capacity for u in allowed[gr] if d in works[u.id])
                       < sum(u.capacity for u in allowed[gr]) for gr in hall)
            if room_binds or thin:
                binding.append(d)
        if not binding:
            return
        y: dict[tuple[int, Role, str], cp_model.IntVar] = {}
        for g, role, var in here:
            info = self.groups[g][0]
            sessions = inst.full_options[(info.index, block, role)][site.id]
            inside = [d for d in binding if d in sessions]
            for d in inside:
                y[(g, role, d)] = model.new_int_var(0, self.sizes[g], "y")
                model.add(y[(g, role, d)] <= var)
                self.clinical[(g, block, d)].append(y[(g, role, d)])
            # rule 5: need(role) sessions each, at most len(sessions) - len(inside) elsewhere
            model.add(sum(y[(g, role, d)] for d in inside)
                      >= (info.need(role) - len(sessions) + len(inside)) * var)
        for d in binding:
            in_d = [(g, var) for (g, _, dd), var in y.items() if dd == d]
            rooms = site.rooms_at(d)
            if rooms is not None:  # rule 8
                model.add(sum(var for _, var in in_d)
                          <= rooms + self._plus(Unit(ROOMS, site.id, d)))
            for group in hall:  # rule 7, per profession group
                working = [u for u in allowed[group] if d in works[u.id]]
                lits = [var for g, var in in_d if self.groups[g][0].profession in group]
                if lits:
                    model.add(sum(lits) <= sum(u.capacity for u in working) + sum(
                        self._plus(Unit(SUPERVISOR_CAPACITY, site.id, u.id))
                        for u in working))


__all__ = ["ROOMS", "SITE_CAPACITY", "SUPERVISOR_CAPACITY", "Relaxation", "Unit",
           "build_relaxation"]
