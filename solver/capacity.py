"""Capacity: how many more learners of a kind a programme can take, and what limits it.

The question is answered by optimisation, not trial and error. The scenario is
extended with ``K`` identical candidate learners, each *optional* (a
``placed`` Boolean), where ``K`` is an upper bound on how many could ever fit
(supervised places per block over the sites the newcomer could use, less the
learners who can only use those places). Every rule of the contract is kept,
existing learners keep their treatment, and CP-SAT maximises the number of
candidates placed. The candidates are interchangeable, so ``placed`` is
ordered (``placed[k] >= placed[k+1]``): the answer is then a prefix and the
search does not revisit permutations.

Bottlenecks are read off the plan for that maximum (resources used to the
limit at sites the newcomer could use) and valued by re-solving the maximum
with one more unit of each (one room in a session, one supervisor place, one
site place). A value is exact only when both solves were proven optimal;
otherwise it is reported as a lower bound.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from rotaplan.models import Plan, Scenario
from rotaplan.models.edits import (
    Edit,
    Newcomer,
    changed,
    more_rooms,
    more_site_places,
    more_supervision,
    with_newcomers,
)
from rotaplan.models.vocabulary import Activity, Status
from rotaplan.solver.build import formulate
from rotaplan.solver.instance import BASE, ROTATION, Instance, Role
from rotaplan.solver.params import Budget, configure
from rotaplan.solver.relaxation import (
    ROOMS,
    SITE_CAPACITY,
    SUPERVISOR_CAPACITY,
    Unit,
    build_relaxation,
)
from rotaplan.solver.stopping import solve_until
from rotaplan.solver.variables import Variables

MAX_CANDIDATES = 500
"""Most candidate learners offered in one capacity solve."""


def candidate_bound(scenario: Scenario, newcomer: Newcomer) -> int:
    """An upper bound on how many newcomers could be placed.

    In each block and role a newcomer needs a supervised place at a site they
    could use; there are at most ``min(site capacity, capacity of supervisors
    there who may supervise them)`` such places per site. Existing learners
    of the same profession whose every option lies among those sites take
    places from the same pool. A newcomer who may be idle (``placements``,
    §9.1) needs no particular block: the bound is then the year's supervised
    place-blocks over the place-blocks one newcomer needs.
    """
    probe, _ = with_newcomers(scenario, newcomer, 1)
    inst = Instance(probe)
    me = inst.learners[-1]
    profession = me.profession
    if me.may_idle:
        supply = sum(inst.supervised_places(s, block, profession)
                     for block in me.blocks
                     for s in set(inst.full_options[(me.index, block, ROTATION)]))
        lengths = [inst.length(site) for site, _ in inst.starts(me)]
        need = (me.learner.placements or 1) * min(lengths, default=1)
        return min(MAX_CANDIDATES, supply // max(1, need))
    best: int | None = None
    for block in me.blocks:
        for role in inst.roles_of(me):
            sites = set(inst.full_options[(me.index, block, role)])
            supply = sum(inst.supervised_places(s, block, profession) for s in sites)
            held = 0
            for info in inst.learners[:-1]:
                if info.profession != profession or block not in info.blocks or info.may_idle:
                    continue
                for r in inst.roles_of(info):
                    options = set(inst.full_options[(info.index, block, r)])
                    if options and options <= sites:
                        held += 1
            room = max(0, supply - held)
            best = room if best is None else min(best, room)
    return min(MAX_CANDIDATES, best or 0)


@dataclass
class Maximum:
    """The most newcomers placed, as proven so far.

    Attributes
    ----------
    status
        ``OPTIMAL`` (exact), ``FEASIBLE`` (``count`` is a lower bound and
        ``bound`` an upper one), ``INFEASIBLE`` (the scenario itself has no
        plan) or ``UNKNOWN``.
    count
        Newcomers placed in the best plan found.
    bound
        Proven upper bound on the maximum.
    offered
        Candidates offered (the a-priori upper bound).
    seconds
        Solve time.
    stopped
        The search was stopped on request before its time limit.
    """

    status: Status
    count: int | None
    bound: int | None
    offered: int
    seconds: float
    stopped: bool = False


def relaxation_bound(scenario: Scenario, newcomer: Newcomer, most: int, *,
                     time_limit: float = 10.0, workers: int = 2, seed: int = 0,
                     stop: threading.Event | None = None) -> int:
    """An upper bound on the newcomers that fit, from the aggregate relaxation.

    Solves :func:`~solver.relaxation.build_relaxation` (newcomers counted, not
    named) for its maximum; a search cut short gives its proven bound. Never
    above ``most``.
    """
    return _relaxed(scenario, newcomer, most, time_limit=time_limit, workers=workers,
                    seed=seed, stop=stop)[0]


Hint = dict[tuple[int, int, Role], str]


def _relaxed(scenario: Scenario, newcomer: Newcomer, most: int, *, time_limit: float,
             workers: int, seed: int, stop: threading.Event | None
             ) -> tuple[int, int, Hint]:
    """The relaxation's bound, its best count, and its places for that count as a hint."""
    if most <= 0:
        return 0, 0, {}
    probe, _ = with_newcomers(scenario, newcomer, 1)
    relax = build_relaxation(Instance(probe), len(scenario.learners), most)
    relax.model.maximize(relax.newcomers)
    solver = cp_model.CpSolver()
    configure(solver, budget=Budget(time_limit), workers=workers, seed=seed)
    status = solve_until(solver, relax.model, stop)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return most, 0, {}  # unknown, or no plan even without newcomers: the full model says
    bound = min(most, round(solver.objective_value) if status == cp_model.OPTIMAL
                else int(solver.best_objective_bound + 1e-6))
    found = round(solver.objective_value)
    return bound, found, relax.placements(solver, len(scenario.learners), found)


def maximise(scenario: Scenario, newcomer: Newcomer, *, time_limit: float = 30.0,
             workers: int = 2, seed: int = 0, offered: int | None = None,
             stop: threading.Event | None = None, relax: bool = True) -> Maximum:
    """Place as many newcomers as every rule allows (existing learners first).

    The candidates offered are first cut down to the aggregate relaxation's
    maximum (``relax``): when the full model then places that many, the count
    is proven at once. On the medium ICS this turns nurses from "9 placed,
    bound 17 after 30 s" into a proof in under 10 s, because the relaxation
    counts the interchangeable newcomers instead of refuting their
    permutations.

    Setting ``stop`` ends the search early; the best count so far is kept
    (``stopped`` is then True and the status at best ``FEASIBLE``).
    """
    started = time.perf_counter()
    k = candidate_bound(scenario, newcomer) if offered is None else offered
    hint: Hint = {}
    if relax and k > 0:
        # Half the time: the bound is what makes the answer proven (under a load of 9 on
        # 2 cores the medium fellowship-pharmacist relaxation needed 10+ s of a 30 s run)
        k, reached, hint = _relaxed(scenario, newcomer, k, time_limit=time_limit / 2,
                                    workers=workers, seed=seed, stop=stop)
        # Only a proven bound is worth a search for a plan with exactly that many, and only
        # under the version 1 rules the relaxation sums: it drops §9's, and on the v2
        # pathway (nurses: bound 24, 19 found) that search used half the time in vain.
        if (k > 0 and reached == k and not scenario.objective.allow_unplaced
                and not scenario.uses_v2):
            # A plan with all k placed proves the maximum; searching for one (no objective,
            # no optional candidates) is 3-5x faster than maximising over k optional ones
            # (medium ICS, 2 loaded cores: 3-10 s against about 30 s).
            left = time_limit - (time.perf_counter() - started)
            # half of what is left: if undecided, maximising still needs time for a count
            # (pathway nurses: 1 placed when this search took two thirds of it)
            fits = _fits(scenario, newcomer, k, seconds=left / 2, workers=workers,
                         seed=seed, stop=stop, hint=hint)
            if fits:
                return Maximum(Status.OPTIMAL, k, k, k, time.perf_counter() - started)
            if fits is not None:
                k -= 1  # proven: k do not fit
    if k == 0:
        return Maximum(Status.OPTIMAL, 0, 0, 0, time.perf_counter() - started)
    big, _ = with_newcomers(scenario, newcomer, k)
    inst = Instance(big)
    first_new = len(scenario.learners)
    extras = list(range(first_new, first_new + k))
    form = formulate(inst, optional=extras)
    model, v = form.model, form.b.v
    for a, b in itertools.pairwise(extras):
        model.add(v.placed[a] >= v.placed[b])  # interchangeable: place a prefix
    if relax and hint:
        _add_hint(model, v, hint)
    newcomers = sum(v.placed[i] for i in extras)
    if scenario.objective.allow_unplaced:  # existing learners keep priority
        existing = sum(v.placed[i] for i in range(first_new))
        model.maximize((k + 1) * existing + newcomers)
    else:
        model.maximize(newcomers)
    solver = cp_model.CpSolver()
    # the engine's subsolver portfolio: on the medium ICS it proves the maximum for
    # nurses, paramedics and pharmacists in 5-15 s, where CP-SAT's default pair of
    # workers has not closed the gap after 60 s (bound 17 vs 9 for nurses);
    # benchmarks/test_capacity.py measures both in one run
    left = max(1.0, time_limit - (time.perf_counter() - started))
    configure(solver, budget=Budget(left), workers=workers, seed=seed)
    status = solve_until(solver, model, stop)
    seconds = time.perf_counter() - started
    stopped = stop is not None and stop.is_set() and status != cp_model.OPTIMAL
    if status == cp_model.INFEASIBLE:
        return Maximum(Status.INFEASIBLE, None, None, k, seconds)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Maximum(Status.UNKNOWN, None, k, k, seconds, stopped)
    count = sum(solver.value(v.placed[i]) for i in extras)
    if status == cp_model.OPTIMAL:
        bound = count
    elif scenario.objective.allow_unplaced:
        bound = k  # the weighted objective's bound does not separate the two counts
    else:
        bound = min(k, int(solver.best_objective_bound + 1e-6))
    name = Status.OPTIMAL if status == cp_model.OPTIMAL else Status.FEASIBLE
    return Maximum(name, count, max(count, bound), k, seconds, stopped)


def _fits(scenario: Scenario, newcomer: Newcomer, count: int, *, seconds: float,
          workers: int, seed: int, stop: threading.Event | None,
          hint: Hint | None = None) -> bool | None:
    """Whether ``count`` newcomers can all be placed (None: not decided in time).

    ``hint`` (the relaxation's places) guides the search to a plan.
    """
    big, _ = with_newcomers(scenario, newcomer, count)
    form = formulate(Instance(big))
    _add_hint(form.model, form.b.v, hint or {})
    solver = cp_model.CpSolver()
    configure(solver, budget=Budget(max(1.0, seconds)), workers=workers, seed=seed)
    status = solve_until(solver, form.model, stop)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def _add_hint(model: cp_model.CpModel, v: Variables, hint: Hint) -> None:
    """Hint each learner's site per block and role (and that they are placed)."""
    hinted: set[int] = set()
    for (i, block, role), site in hint.items():
        lit = (v.base.get((i, site)) if role == BASE
               else v.place.get((i, block, role), {}).get(site))
        for var in (lit, v.placed.get(i)):
            if var is not None and not isinstance(var, int) and var.index not in hinted:
                hinted.add(var.index)
                model.add_hint(var, 1)


@dataclass(frozen=True)
class Bottleneck:
    """A resource used to its limit where the newcomers could go.

    Attributes
    ----------
    rule
        Contract rule that sets the limit (``rooms``, ``supervisor-capacity``,
        ``site-capacity``).
    ids
        Scenario ids (site, session or supervisor).
    text
        The resource in plain words.
    blocks
        Blocks in which it is used to the limit.
    change
        The one-unit relaxation tried, in plain words.
    gain
        Extra newcomers that relaxation allows (None: not tried).
    exact
        True when ``gain`` is proven; otherwise it is a lower bound.
    """

    rule: str
    ids: tuple[str, ...]
    text: str
    blocks: tuple[int, ...]
    change: str
    gain: int | None = None
    exact: bool = False
    edit: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False,
                                                          compare=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rule": self.rule, "ids": list(self.ids), "resource": self.text,
                "blocks": list(self.blocks), "change": self.change, "gain": self.gain,
                "exact": self.exact}


def saturated(scenario: Scenario, plan: Plan, newcomer: Newcomer) -> list[Bottleneck]:
    """Resources used to their limit at sites a newcomer could use, most blocks first."""
    probe, _ = with_newcomers(scenario, newcomer, 1)
    inst = Instance(probe)
    me = inst.learners[-1]
    reachable = {s for key, sites in inst.full_options.items() if key[0] == me.index
                 for s in sites}
    a = plan.assignments
    t = plan.timetable
    found: list[Bottleneck] = []
    blocks = scenario.programme.block_numbers

    used_site = Counter(zip(a["site_id"], a["block"], strict=True))
    for site in scenario.sites:
        if site.id not in reachable:
            continue
        full = tuple(b for b in blocks if site.capacity_in(b) is not None
                     and used_site[(site.id, b)] >= (site.capacity_in(b) or 0))
        if full:
            found.append(Bottleneck(
                SITE_CAPACITY, (site.id,), f"places at {site.id}", full,
                f"+1 place at {site.id}", edit=more_site_places(site.id)))

    used_sup = Counter(zip(a["supervisor_id"], a["block"], strict=True))
    me_prof = me.profession
    for site in scenario.sites:
        if site.id not in reachable:
            continue
        for sup in site.supervisors:
            if not scenario.may_supervise(sup.profession, me_prof):
                continue
            full = tuple(b for b in blocks if b not in sup.unavailable_blocks
                         and used_sup[(sup.id, b)] >= sup.capacity)
            if full:
                found.append(Bottleneck(
                    SUPERVISOR_CAPACITY, (sup.id, site.id),
                    f"supervision by {sup.id} at {site.id} ({sup.capacity} learner(s))", full,
                    f"+1 learner for {sup.id} to supervise", edit=more_supervision(sup.id)))

    clinical = t[t["activity"] == Activity.CLINICAL]
    used_room = Counter(zip(clinical["site_id"], clinical["block"], clinical["session"],
                            strict=True))
    by_room: dict[tuple[str, str], list[int]] = defaultdict(list)
    for site in scenario.sites:
        if site.id not in reachable or site.rooms is None:
            continue
        for session in site.open_in(scenario.programme):
            rooms = site.rooms_at(session)
            if rooms is None:
                continue
            for b in blocks:
                if used_room[(site.id, b, session)] >= rooms:
                    by_room[(site.id, session)].append(b)
    for (site_id, session), full_blocks in by_room.items():
        rooms = scenario.site_by_id[site_id].rooms_at(session)
        found.append(Bottleneck(
            ROOMS, (site_id, session), f"rooms at {site_id}, {session} ({rooms} room(s))",
            tuple(full_blocks), f"+1 room at {site_id} on {session}",
            edit=more_rooms(site_id, session)))
    scarce = _setting_places(inst, me.index, me_prof)
    setting_of = {site.id: site.setting for site in scenario.sites}
    site_of = {b: (b.ids[1] if b.rule == SUPERVISOR_CAPACITY else b.ids[0]) for b in found}
    # Scarcest setting first (cover makes every newcomer pass through it), then most blocks.
    found.sort(key=lambda x: (scarce.get(setting_of[site_of[x]], 10**9), -len(x.blocks),
                              x.rule, x.ids))
    return found


def _setting_places(inst: Instance, index: int, profession: str) -> dict[str, int]:
    """Supervised place-blocks per setting over the sites a learner could use."""
    sc = inst.scenario
    out: dict[str, int] = defaultdict(int)
    seen: set[tuple[str, int]] = set()
    for (i, block, _), sites in inst.full_options.items():
        if i != index:
            continue
        for site_id in sites:
            if (site_id, block) in seen:
                continue
            seen.add((site_id, block))
            out[sc.site_by_id[site_id].setting] += inst.supervised_places(site_id, block,
                                                                          profession)
    return dict(out)


def value_bottlenecks(scenario: Scenario, newcomer: Newcomer, base: Maximum,
                      found: list[Bottleneck], *, probes: int = 8,
                      seconds_each: float = 10.0, workers: int = 2, seed: int = 0,
                      on_probe: Callable[[int, int, Bottleneck], None] | None = None,
                      stop: threading.Event | None = None) -> list[Bottleneck]:
    """Re-solve the maximum with one more unit of each of the first ``probes`` resources.

    Returns every bottleneck (the probed ones with ``gain``), ranked by gain.
    Once ``stop`` is set, the remaining resources are left untried.
    """
    if base.count is None:
        return found
    out: list[Bottleneck] = []
    for n, item in enumerate(found):
        if n >= probes or item.edit is None or (stop is not None and stop.is_set()):
            out.append(item)
            continue
        if on_probe is not None:
            on_probe(n + 1, min(probes, len(found)), item)
        relaxed = changed(scenario, item.edit)
        offered = max(base.count + 1, candidate_bound(relaxed, newcomer))
        more = maximise(relaxed, newcomer, time_limit=seconds_each, workers=workers,
                        seed=seed, offered=min(MAX_CANDIDATES, offered), stop=stop)
        if more.stopped:
            out.append(item)  # cut short: no value to report
            continue
        gain = None if more.count is None else max(0, more.count - base.count)
        exact = more.status == Status.OPTIMAL and base.status == Status.OPTIMAL
        out.append(_with_gain(item, gain, exact))
    out.sort(key=lambda x: (-(x.gain if x.gain is not None else -1), -len(x.blocks)))
    return out


def _site_words(scenario: Scenario, site_id: str) -> str:
    """'Swaffham Hospital acute stroke ward (Stroke services)': a site in plain names."""
    site = scenario.site_by_id[site_id]
    setting = scenario.setting_by_id.get(site.setting)
    kind = setting.name if setting is not None and setting.name else site.setting
    return f"{site.name or site.id} ({kind})"


def _supervisor_words(scenario: Scenario, sup_id: str) -> str:
    for site in scenario.sites:
        for sup in site.supervisors:
            if sup.id == sup_id:
                return f"{sup.name or sup.id} ({sup.profession} supervisor)"
    return sup_id


def unit_words(scenario: Scenario, unit: Unit, count: int, profession: str) -> str:
    """One extra resource in plain words: '+1 place at Swaffham stroke ward (Stroke services)'."""
    where = _site_words(scenario, unit.site)
    if unit.kind == SITE_CAPACITY:
        return f"+{count} {_plural(count, 'place')} at {where}"
    if unit.kind == SUPERVISOR_CAPACITY:
        return (f"+{count} {profession} {_plural(count, 'place')} with "
                f"{_supervisor_words(scenario, unit.other)} at {where}")
    return f"+{count} {_plural(count, 'room')} on {unit.other} at {where}"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def unit_edit(unit: Unit, count: int) -> Edit:
    """The scenario edit that adds ``count`` of a unit."""
    if unit.kind == SITE_CAPACITY:
        return more_site_places(unit.site, count)
    if unit.kind == SUPERVISOR_CAPACITY:
        return more_supervision(unit.other, count)
    return more_rooms(unit.site, unit.other, count)


def relaxable_units(scenario: Scenario, newcomer: Newcomer) -> list[Unit]:
    """Resources at the sites a newcomer could use that an extra unit could relax.

    Site places (where the site has a capacity), the supervisors who may
    supervise the newcomer, and the rooms of each open session (where the site
    has rooms).
    """
    probe, _ = with_newcomers(scenario, newcomer, 1)
    inst = Instance(probe)
    me = inst.learners[-1]
    reachable = sorted({s for key, sites in inst.full_options.items() if key[0] == me.index
                        for s in sites})
    units: list[Unit] = []
    for site_id in reachable:
        site = scenario.site_by_id[site_id]
        if site.capacity is not None:
            units.append(Unit(SITE_CAPACITY, site_id))
        units += [Unit(SUPERVISOR_CAPACITY, site_id, u.id) for u in site.supervisors
                  if scenario.may_supervise(u.profession, me.profession)]
        if site.rooms is not None:
            units += [Unit(ROOMS, site_id, d) for d in site.open_in(scenario.programme)]
    return units


@dataclass(frozen=True)
class Combined:
    """The fewest extra units that let ``target`` more newcomers in, checked by re-solving.

    Attributes
    ----------
    target
        More newcomers asked for (beyond the maximum).
    units
        Each extra resource and how many units of it.
    changes
        The units in plain words (site and supervisor names).
    gain
        More newcomers the changed scenario takes (re-solved); None if not re-solved.
    exact
        True when ``gain`` is proven (both maxima proven optimal).
    minimal
        True when no smaller set of units could let ``target`` more in (the
        relaxation proves it: it over-estimates what any set allows).
    """

    target: int
    units: tuple[tuple[Unit, int], ...]
    changes: tuple[str, ...]
    gain: int | None
    exact: bool
    minimal: bool

    @property
    def size(self) -> int:
        """Total extra units."""
        return sum(n for _, n in self.units)

    def summary(self, profession: str) -> str:
        """'+1 place at A and +1 place at B → +2 nurse learners (proven)'."""
        if self.gain is None:
            effect = "not re-solved"
        else:
            sure = " (proven)" if self.exact else " (at least; not proven)"
            effect = f"+{self.gain} {profession} {_plural(self.gain, 'learner')}{sure}"
        return f"{' and '.join(self.changes)} → {effect}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"target": self.target, "changes": list(self.changes),
                "units": [{"resource": u.kind, "site": u.site, "id": u.other or None,
                           "count": n} for u, n in self.units],
                "gain": self.gain, "exact": self.exact, "minimal": self.minimal}


def combined_changes(scenario: Scenario, newcomer: Newcomer, base: Maximum, *,
                     most_gain: int = 2, time_limit: float = 40.0, workers: int = 2,
                     seed: int = 0, stop: threading.Event | None = None,
                     on_step: Callable[[int, int], None] | None = None) -> list[Combined]:
    """The cheapest sets of extra units for more newcomers, each verified by re-solving.

    The first asks for one more newcomer; each next one for one beyond what the
    previous set was shown to allow, ``most_gain`` sets in all.

    The extra units are decision variables of the aggregate relaxation
    (:func:`~solver.relaxation.build_relaxation`): their total is minimised
    subject to ``base.count + k`` newcomers. The relaxation over-estimates
    what any change allows, so its minimum is a lower bound on the units
    needed; the set it finds is then applied to the scenario and the maximum
    re-solved, which gives the gain it really brings (proven when both maxima
    are). Each set's ``time_limit`` seconds are split between the two.

    Returns
    -------
    list[Combined]
        One entry per ``k`` for which some set was found (fewest units first).
    """
    if base.count is None or base.status != Status.OPTIMAL:
        return []
    profession = newcomer.template(scenario).profession
    units = relaxable_units(scenario, newcomer)
    if not units:
        return []
    probe, _ = with_newcomers(scenario, newcomer, 1)
    inst = Instance(probe)
    out: list[Combined] = []
    k = 1
    for _ in range(most_gain):
        if stop is not None and stop.is_set():
            break
        if on_step is not None:
            on_step(k, most_gain)
        started = time.perf_counter()
        most = base.count + k
        relax = build_relaxation(inst, len(scenario.learners), most, units=units,
                                 most_units=k)
        relax.model.add(relax.newcomers >= most)
        relax.model.minimize(sum(relax.extra.values()))
        solver = cp_model.CpSolver()
        # Most of the time goes to the fewest units: CP-SAT's first sets are large (medium
        # nurses: 50 units at 4 s, the proven 2 at 17-19 s on 2 loaded cores); verifying the
        # set is a capacity question like any other (5-15 s on the medium ICS).
        configure(solver, budget=Budget(time_limit * 0.6), workers=workers, seed=seed)
        status = solve_until(solver, relax.model, stop)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break  # no set of units within reach, or out of time
        chosen = tuple((u, int(solver.value(var))) for u, var in relax.extra.items()
                       if solver.value(var) > 0)
        edited = changed(scenario, *(unit_edit(u, n) for u, n in chosen))
        left = max(1.0, time_limit - (time.perf_counter() - started))
        more = maximise(edited, newcomer, time_limit=left, workers=workers, seed=seed,
                        stop=stop)
        gain = None if more.count is None or more.stopped else more.count - base.count
        out.append(Combined(k, chosen,
                            tuple(unit_words(scenario, u, n, profession) for u, n in chosen),
                            gain, gain is not None and more.status == Status.OPTIMAL,
                            status == cp_model.OPTIMAL))
        # a set often lets in more than asked (a supervisor place serves every block):
        # the next question is one beyond what this set achieved
        k = max(k, gain or 0) + 1
    return out


def _with_gain(item: Bottleneck, gain: int | None, exact: bool) -> Bottleneck:
    return Bottleneck(item.rule, item.ids, item.text, item.blocks, item.change, gain, exact,
                      item.edit)


__all__ = [
    "Bottleneck",
    "Combined",
    "Maximum",
    "candidate_bound",
    "combined_changes",
    "maximise",
    "relaxable_units",
    "relaxation_bound",
    "saturated",
    "unit_edit",
    "unit_words",
    "value_bottlenecks",
]
