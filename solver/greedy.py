"""Random serial dictatorship: the placements a training hub makes by hand.

Learners are taken one at a time in a random order; each in turn gets the
placements, for all of their blocks at once, that cost *them* least under
the contract's preference cost (§7), given the places earlier learners took.
It is a baseline for benchmarks ("what a hub does by hand") and a hint for
CP-SAT (:func:`hint_model`).

Pinned sites are commitments a hub makes before the lottery: every pin is
reserved first (in the order, while it fits), and each pinned learner takes
their reservation back when their turn comes.

What each learner's choice respects:

- ``eligibility``, pins and avoids: only sites in :attr:`Instance.options`
  (fellows' bases only from :attr:`Instance.base_sites`);
- ``site-capacity`` per site and block, counting rotation, base and partner
  placements of earlier learners;
- ``supervisor-capacity`` per site and block by Hall's condition: for every
  profession group of :meth:`Instance.hall_groups` over the professions
  placed there, the learners of the group are at most
  :meth:`Instance.named_capacity`, so named supervisors can always be found;
- ``cover`` and ``no-repeat-site`` for rotation learners; ``fellowship``
  (one base all year, a partner other than the base each block, at least
  ``distinct_partner_settings`` partner settings) for fellows;
- with ``sessions=True`` (the default), the session-level rules
  (``rooms``, ``supervisor-present``, and a fellow's base and partner
  sessions on different half-days). A fellow's week is split when they are
  placed (which of their sessions are partner sessions); then every site's
  week is independent of the others, and a learner joins a site where rooms
  or part-time supervisors could bind only if everyone there can still get
  their clinical sessions: first by fitting them around the current
  timetables, else by an exact max-flow that may move everyone's sessions.

What it does not guarantee:

- ``site-minimum`` is only a soft goal: among placements of equal preference
  cost a learner takes sites still below their minimum. Sites left below it
  are reported in :attr:`GreedyPlacement.below_minimum`, not fixed.
- Timetables are checked, not returned: the placement should always have
  them with ``sessions=True``, but the caller checks (for example by fixing
  the placements in the CP-SAT model, or by using them only as a hint).
  With ``sessions=False`` session-level rules are seen only through
  :attr:`Instance.options` (sites where the learner *alone* has enough usable
  sessions), as a hub that forgets rooms and part-time rotas would; several
  learners at a site with few rooms or part-time supervisors then often have
  no timetable together, and such a placement can cost less than the optimum.
- A learner for whom no combination is left is not placed
  (:attr:`GreedyPlacement.unplaced`), whether or not the scenario allows it.
  The greedy never revisits earlier learners to make room.

Each learner's choice is exact given what is left: a small min-cost flow
(blocks -> sites -> settings) whose bonus arcs reward covering the required
settings, with every block's candidates cut to the cheapest few sites per
setting that fit (enough by an exchange argument). A fellow's base is chosen
by a bounded scan over bases in cost order (partners are solved per base, and
the partners' cost with any base is a lower bound). 2,000 learners take a few
seconds.

Large cohorts start from :func:`first_placements` instead: the same greedy with
``spread`` (among sites a learner values alike, those the fewest learners still to
choose named), in the :func:`named_first` order, then rounds reordered by regret.
The benchmarks' baseline stays the plain random serial dictatorship above.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

from ortools.graph.python import max_flow, min_cost_flow
from ortools.sat.python import cp_model

from rotaplan.models import Scenario, Site
from rotaplan.solver.instance import BASE, PARTNER, ROTATION, Instance, LearnerInfo, Role
from rotaplan.solver.variables import Variables

Key = tuple[int, int, Role]  # (learner index, block, role)
_Sig = tuple[str, int, tuple[str, ...]]  # a seat: (profession, sessions needed, usable sessions)
_Cand = tuple[int, int, str, str]  # (scaled cost, site order, site id, setting)
_UNLIMITED = 1 << 30


@dataclass
class GreedyPlacement:
    """The greedy's placements.

    Attributes
    ----------
    sites
        (learner index, block, role) -> site id, for every placed learner.
    unplaced
        Learner indices the greedy could not place (in the order they came).
    cost
        Total preference cost of the placements (contract §7; no unplaced penalty).
    order
        The order learners chose in.
    learner_costs
        Placed learner index -> their preference cost.
    below_minimum
        (site id, block, learners placed, ``min_learners``) for every site and
        block left below its minimum (rule ``site-minimum`` is soft here).
    """

    sites: dict[Key, str]
    unplaced: list[int]
    cost: int
    order: list[int] = field(default_factory=list)
    learner_costs: dict[int, int] = field(default_factory=dict)
    below_minimum: list[tuple[str, int, int, int]] = field(default_factory=list)


class _Occupancy:
    """Places taken so far per site and block, and whether one more fits."""

    def __init__(self, inst: Instance, sessions: bool) -> None:
        self.inst = inst
        self.sc = inst.scenario
        self.sessions = sessions
        self.count: dict[tuple[str, int], int] = defaultdict(int)
        self.prof: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
        self.seats: dict[tuple[str, int], dict[_Sig, int]] = defaultdict(dict)
        self._prof_ok: dict[tuple[str, int], dict[str, bool]] = {}
        self._sig_ok: dict[tuple[str, int], dict[_Sig, bool]] = {}
        self._groups: dict[tuple[str, frozenset[str]], list[frozenset[str]]] = {}
        self._named: dict[tuple[str, int, frozenset[str]], int] = {}
        self._sig_never: dict[tuple[str, int], set[_Sig]] = {}
        self._sensitive: dict[tuple[str, int], bool] = {}
        self._weeks: dict[tuple[str, int], _Week] = {}

    # ----- placement-level: site capacity and Hall's condition ----------------------------

    def profession_fits(self, site: Site, block: int, profession: str) -> bool:
        """Site capacity and supervisor capacity (Hall) allow one more of a profession.

        Monotone: once false for a site, block and profession, it stays false.
        """
        key = (site.id, block)
        cached = self._prof_ok.setdefault(key, {})
        ok = cached.get(profession)
        if ok is None:
            ok = self._hall(site, block, profession)
            cached[profession] = ok
        return ok

    def _groups_of(self, site_id: str, present: frozenset[str]) -> list[frozenset[str]]:
        key = (site_id, present)
        groups = self._groups.get(key)
        if groups is None:
            groups = self.inst.hall_groups(site_id, set(present))
            self._groups[key] = groups
        return groups

    def _named_cap(self, site_id: str, block: int, group: frozenset[str]) -> int:
        key = (site_id, block, group)
        limit = self._named.get(key)
        if limit is None:
            limit = self.inst.named_capacity(site_id, block, group)
            self._named[key] = limit
        return limit

    def _hall(self, site: Site, block: int, profession: str) -> bool:
        key = (site.id, block)
        cap = site.capacity_in(block)
        if cap is not None and self.count[key] >= cap:
            return False
        counts = self.prof[key]
        for group in self._groups_of(site.id, frozenset(counts) | {profession}):
            if profession not in group:
                continue  # unchanged by this learner
            if sum(counts.get(p, 0) for p in group) + 1 > self._named_cap(site.id, block, group):
                return False
        return True

    # ----- session-level: rooms and supervisors present ------------------------------------

    def fits(self, site: Site, block: int, sig: _Sig) -> bool:
        """Whether a learner (a seat signature) can join a site in a block."""
        if not self.profession_fits(site, block, sig[0]):
            return False
        key = (site.id, block)
        if not self.sessions or not self.seats.get(key) or not self._is_sensitive(site, block):
            return True  # alone, a learner has enough usable sessions (Instance.options)
        never = self._sig_never.setdefault(key, set())
        if sig in never:
            return False
        cached = self._sig_ok.setdefault(key, {})
        ok = cached.get(sig)
        if ok is None:
            week = self._week(site, block)
            if self._insert(week, sig, commit=False):
                ok = True
            else:
                seats = dict(self.seats[key])
                seats[sig] = seats.get(sig, 0) + 1
                groups = [g for g in self._groups_of(site.id, frozenset(p for p, _, _ in seats))
                          if sig[0] in g]
                ok = (week.volume_fits(seats, groups)
                      and self._flow(week, seats) is not None)
            cached[sig] = ok
            if not ok:
                never.add(sig)  # more learners never make room
        return ok

    def _is_sensitive(self, site: Site, block: int) -> bool:
        """Whether rooms or part-time supervisors could bind at a site in a block.

        If not, every supervisor works every open session, so Hall's condition
        per block implies it per session, and no session has a room limit.
        """
        key = (site.id, block)
        flag = self._sensitive.get(key)
        if flag is None:
            open_set = frozenset(site.open_in(self.sc.programme))
            flag = (any(site.rooms_at(d) is not None for d in self.sc.programme.sessions)
                    or any(not open_set <= frozenset(self.sc.supervisor_sessions(site, u))
                           for u in site.supervisors
                           if u.capacity > 0 and block not in u.unavailable_blocks))
            self._sensitive[key] = flag
        return flag

    def _week(self, site: Site, block: int) -> _Week:
        key = (site.id, block)
        week = self._weeks.get(key)
        if week is None:
            week = _Week(self.sc, site, block)
            self._weeks[key] = week
        return week

    @staticmethod
    def _insert(week: _Week, sig: _Sig, *, commit: bool) -> bool:
        """Fit a seat around the current timetables without moving anyone (first fit)."""
        profession, need, usable = sig
        allowed = week.allowed(profession)
        picks: list[tuple[str, int]] = []
        for d in usable:
            if len(picks) == need:
                break
            rooms = week.rooms[d]
            if rooms is not None and week.use_room.get(d, 0) >= rooms:
                continue
            for u in allowed:
                _, cap, works = week.sups[u]
                if d in works and week.use_sup.get((u, d), 0) < cap:
                    picks.append((d, u))
                    break
        if len(picks) < need:
            return False
        if commit:
            for d, u in picks:
                week.use_room[d] = week.use_room.get(d, 0) + 1
                week.use_sup[(u, d)] = week.use_sup.get((u, d), 0) + 1
        return True

    @staticmethod
    def _flow(week: _Week, seats: dict[_Sig, int]
              ) -> tuple[dict[str, int], dict[tuple[int, str], int]] | None:
        """Timetables for all seats at a site and block by max-flow, or None if none exist.

        Seat pool -> (pool, session) -> (supervisor, session) -> session's rooms
        -> sink. Seats with one signature are pooled: a pool's per-session
        counts of at most its size always split into individual timetables.
        Returns the sessions' room use and the supervisors' use per session.
        """
        sessions = week.sessions
        n_sessions, n_pools, n_sups = len(sessions), len(seats), len(week.sups)
        at = {d: k for k, d in enumerate(sessions)}
        source, sink = 0, 1
        pool_gd = 2 + n_pools
        sup_d = pool_gd + n_pools * n_sessions
        room_d = sup_d + n_sups * n_sessions
        flow = max_flow.SimpleMaxFlow()
        total = 0
        used_ud: set[tuple[int, int]] = set()
        for k, ((profession, need, usable), n) in enumerate(seats.items()):
            total += n * need
            flow.add_arc_with_capacity(source, 2 + k, n * need)
            allowed = week.allowed(profession)
            for d in usable:
                di = at[d]
                gd = pool_gd + k * n_sessions + di
                flow.add_arc_with_capacity(2 + k, gd, n)
                for u in allowed:
                    if d in week.sups[u][2]:
                        flow.add_arc_with_capacity(gd, sup_d + u * n_sessions + di, n)
                        used_ud.add((u, di))
        sup_arcs = []
        for u, di in sorted(used_ud):
            arc = flow.add_arc_with_capacity(sup_d + u * n_sessions + di, room_d + di,
                                             week.sups[u][1])
            sup_arcs.append((arc, u, sessions[di]))
        room_arcs = []
        for di in sorted({di for _, di in used_ud}):
            rooms = week.rooms[sessions[di]]
            arc = flow.add_arc_with_capacity(room_d + di, sink,
                                             _UNLIMITED if rooms is None else rooms)
            room_arcs.append((arc, sessions[di]))
        if flow.solve(source, sink) != flow.OPTIMAL or flow.optimal_flow() != total:
            return None
        use_room = {d: flow.flow(arc) for arc, d in room_arcs if flow.flow(arc)}
        use_sup = {(u, d): flow.flow(arc) for arc, u, d in sup_arcs if flow.flow(arc)}
        return use_room, use_sup

    def _retime(self, site_id: str, block: int) -> bool:
        """Recompute a sensitive site's timetables from scratch (False if none exist)."""
        key = (site_id, block)
        week = self._week(self.sc.site_by_id[site_id], block)
        found = self._flow(week, self.seats[key])
        if found is None:
            return False
        week.use_room, week.use_sup = found
        return True

    def take(self, site_id: str, block: int, sig: _Sig) -> None:
        """Record one learner (a seat signature) at a site in a block."""
        key = (site_id, block)
        self.count[key] += 1
        counts = self.prof[key]
        counts[sig[0]] = counts.get(sig[0], 0) + 1
        seats = self.seats[key]
        seats[sig] = seats.get(sig, 0) + 1
        self._prof_ok.pop(key, None)
        self._sig_ok.pop(key, None)
        site = self.sc.site_by_id[site_id]
        if self.sessions and self._is_sensitive(site, block):
            week = self._week(site, block)
            if not self._insert(week, sig, commit=True):
                self._retime(site_id, block)  # fits() said a timetable exists

    def release(self, site_id: str, block: int, sig: _Sig) -> None:
        """Undo one :meth:`take`."""
        key = (site_id, block)
        self.count[key] -= 1
        counts = self.prof[key]
        counts[sig[0]] -= 1
        if not counts[sig[0]]:
            del counts[sig[0]]
        seats = self.seats[key]
        seats[sig] -= 1
        if not seats[sig]:
            del seats[sig]
        self._prof_ok.pop(key, None)
        self._sig_ok.pop(key, None)
        self._sig_never.pop(key, None)
        if self.sessions and self._is_sensitive(self.sc.site_by_id[site_id], block):
            self._retime(site_id, block)


class _Week:
    """A sensitive site's week in a block: supervisors, rooms, and their use so far."""

    def __init__(self, sc: Scenario, site: Site, block: int) -> None:
        self.sc = sc
        self.sessions = list(sc.programme.sessions)
        self.sups = [(u.profession, u.capacity, frozenset(sc.supervisor_sessions(site, u)))
                     for u in site.supervisors
                     if u.capacity > 0 and block not in u.unavailable_blocks]
        self.rooms = {d: site.rooms_at(d) for d in self.sessions}
        self.use_room: dict[str, int] = {}
        self.use_sup: dict[tuple[int, str], int] = {}
        self._allowed: dict[str, list[int]] = {}

    def volume_fits(self, seats: dict[_Sig, int], groups: list[frozenset[str]]) -> bool:
        """Necessary: the sessions a profession group wants fit the week's rooms and
        the supervisors present for the group (for each group, and for everyone)."""
        for group in [None, *groups]:
            wanted = 0
            union: set[str] = set()
            for (profession, need, usable), n in seats.items():
                if group is None or profession in group:
                    wanted += need * n
                    union.update(usable)
            allowed = set(range(len(self.sups))) if group is None else {
                u for p in group for u in self.allowed(p)}
            room = 0
            for d in union:
                present = sum(self.sups[u][1] for u in allowed if d in self.sups[u][2])
                rooms = self.rooms[d]
                room += present if rooms is None else min(rooms, present)
            if wanted > room:
                return False
        return True

    def allowed(self, profession: str) -> list[int]:
        """Indices of the supervisors who may supervise a profession."""
        found = self._allowed.get(profession)
        if found is None:
            found = [u for u, (prof, _, _) in enumerate(self.sups)
                     if self.sc.may_supervise(prof, profession)]
            self._allowed[profession] = found
        return found


def greedy_placements(
    inst: Instance, *, seed: int = 0, order: list[int] | None = None, sessions: bool = True,
    spread: bool = False,
) -> GreedyPlacement:
    """Place learners one at a time, each at their own cheapest feasible placements.

    Parameters
    ----------
    inst
        The scenario index.
    seed
        Seed of the random order (``random.Random(seed).shuffle``); ignored
        when ``order`` is given.
    order
        The order learners choose in: a permutation of all learner indices.
    sessions
        Check rooms and supervisors present per site and block (the default);
        with False, session-level rules are seen only through ``inst.options``.
    spread
        Among sites a learner values alike, take those the fewest learners still
        to choose named in their preferences (then the first in scenario order). By
        default any of them will do, as for a hub working down its list.

    Returns
    -------
    GreedyPlacement
        Sites of the placed learners, the learners left unplaced and the cost.
    """
    n_learners = len(inst.learners)
    if order is None:
        order = list(range(n_learners))
        random.Random(seed).shuffle(order)
    else:
        order = list(order)
        if sorted(order) != list(range(n_learners)):
            raise ValueError("order must be a permutation of all learner indices")
    chooser = _Chooser(inst, sessions, spread)
    result = GreedyPlacement(sites={}, unplaced=[], cost=0, order=order)
    reserved = chooser.reserve_pins(order)
    for i in order:
        info = inst.learners[i]
        mine = reserved.pop(i, [])
        for site_id, block, seat in mine:
            chooser.occ.release(site_id, block, seat)
        chooser.turn(info)
        chosen = chooser.choose(info)
        kept = {(site_id, block) for (block, _), (site_id, _) in (chosen or {}).items()}
        for site_id, block, _ in mine:
            if (site_id, block) not in kept:
                chooser.reopen(site_id, block)
        if chosen is None:
            result.unplaced.append(i)
            continue
        cost = 0
        for (block, role), (site_id, seat) in chosen.items():
            result.sites[(i, block, role)] = site_id
            chooser.occ.take(site_id, block, seat)
            cost += chooser.pref(info, site_id)
        result.learner_costs[i] = cost
        result.cost += cost
    for site in inst.scenario.sites:
        for block in inst.scenario.programme.block_numbers:
            need = site.minimum_in(block)
            have = chooser.occ.count.get((site.id, block), 0)
            if have < need:
                result.below_minimum.append((site.id, block, have, need))
    return result



def named_first(inst: Instance, seed: int = 0) -> list[int]:
    """A random order (``random.Random(seed).shuffle``) in which learners who named
    more sites in their preferences choose first.

    A learner who named a site loses most when someone else takes it; a learner
    who named none costs the same anywhere. With ``spread`` in
    :func:`greedy_placements`, this order took the generated 2,000-learner tier
    from 12,463 (random order, scenario order among equal sites) to 11,322, its
    learners' floors being 11,033; the 300-learner tier went from 1,810 to 1,687
    (its optimum is 1,686).

    Returns
    -------
    list[int]
        A permutation of all learner indices.
    """
    order = list(range(len(inst.learners)))
    random.Random(seed).shuffle(order)
    sites = inst.scenario.site_by_id
    named = {i: sum(1 for p in dict.fromkeys(info.learner.preferences) if p in sites)
             for i, info in enumerate(inst.learners)}
    return sorted(order, key=lambda i: -named[i])


LEFT_OUT_REGRET = 100
"""Regret a learner left out gathers in a round of :func:`first_placements` (more than
any learner's cost above their floor on the bench tiers, so they choose first next)."""


def first_placements(inst: Instance, seed: int = 0, tries: int = 4, *,
                     floors: dict[int, int] | None = None, rounds: int = 0,
                     deadline: float | None = None) -> GreedyPlacement:
    """The greedy's best sites for a first plan: ``spread``, in the :func:`named_first` order.

    That order can leave a learner with no place (the demo, seed 0: one learner of
    60, where the random order placed everyone). Such learners then choose first
    and the greedy runs again, up to ``tries`` runs in all.

    With ``floors`` (each learner's least cost on their own), up to ``rounds`` more
    runs follow, each ordered by the regret learners have gathered so far (cost above
    their floor, summed over the runs before: a squeaky wheel), ties in the first
    order. On the 2,000-learner bench tier 8 rounds took 11,312 to 11,248 (about 3.5 s
    a round); the regret of one run alone makes the order swing between two plans.
    No round starts after ``deadline`` (``time.perf_counter()``) less the time the
    last run took.

    Of all runs, the one with the fewest learners left out, then the least cost, is kept.

    Returns
    -------
    GreedyPlacement
        As :func:`greedy_placements`.
    """
    order = named_first(inst, seed)
    best: GreedyPlacement | None = None

    def keep(found: GreedyPlacement) -> None:
        nonlocal best
        if best is None or (len(found.unplaced), found.cost) < (len(best.unplaced), best.cost):
            best = found

    took = 0.0
    for _ in range(max(1, tries)):
        started = time.perf_counter()
        found = greedy_placements(inst, order=order, spread=True)
        took = time.perf_counter() - started
        keep(found)
        if not found.unplaced:
            break
        stranded = set(found.unplaced)
        order = found.unplaced + [i for i in order if i not in stranded]
    if floors is not None:
        first = {i: k for k, i in enumerate(order)}
        gathered = dict.fromkeys(first, 0)
        for _ in range(rounds):
            if deadline is not None and time.perf_counter() + took > deadline:
                break
            left_out = set(found.unplaced)
            for i in gathered:
                if i in left_out:
                    gathered[i] += LEFT_OUT_REGRET
                elif i in found.learner_costs:
                    gathered[i] += found.learner_costs[i] - floors.get(i, 0)
            order = sorted(first, key=lambda i: (-gathered[i], first[i]))
            started = time.perf_counter()
            found = greedy_placements(inst, order=order, spread=True)
            took = time.perf_counter() - started
            keep(found)
    assert best is not None
    return best


class _Chooser:
    """One learner's best placements given the occupancy so far."""

    def __init__(self, inst: Instance, sessions: bool, spread: bool = False) -> None:
        self.inst = inst
        self.sc = inst.scenario
        self.sessions = sessions
        self.occ = _Occupancy(inst, sessions)
        self.site_order = {s.id: k for k, s in enumerate(self.sc.sites)}
        self.spread = spread
        # site id -> learners still to choose who named it (kept only with ``spread``)
        self.named: Counter[str] = Counter(
            p for lr in self.sc.learners for p in dict.fromkeys(lr.preferences)
            if p in self.site_order) if spread else Counter()
        self.settings = list(dict.fromkeys(s.setting for s in self.sc.sites))
        fel = self.sc.tracks.fellowship
        self.partner_settings = list(dict.fromkeys(fel.partner_settings)) if fel else []
        self.with_minimum: dict[str, list[Site]] = defaultdict(list)
        for site in self.sc.sites:
            if any(site.minimum_in(b) > 0 for b in self.sc.programme.block_numbers):
                self.with_minimum[site.setting].append(site)
        self.min_ids = {site.id for sites in self.with_minimum.values() for site in sites}
        # (block, setting, profession) -> sites not yet full for that profession, in order.
        self._alive: dict[tuple[int, str, str], dict[str, None]] = {}
        self._ranks: dict[int, dict[str, int]] = {}
        self._splits: dict[tuple[int, str, str], tuple[str, ...] | None] = {}

    # ----- ties ----------------------------------------------------------------------------

    def tie(self, site_id: str) -> int:
        """Order among sites of equal cost: scenario order, or with ``spread`` the sites
        fewest learners still to choose named first."""
        return self.named[site_id] * len(self.site_order) + self.site_order[site_id]

    def turn(self, info: LearnerInfo) -> None:
        """The learner's turn: their own naming of sites no longer keeps others away."""
        if self.spread:
            self.named.subtract(p for p in dict.fromkeys(info.learner.preferences)
                                if p in self.site_order)

    # ----- costs ---------------------------------------------------------------------------

    def ranks(self, info: LearnerInfo) -> dict[str, int]:
        """Preference rank of each listed site or setting id (first listing wins)."""
        ranks = self._ranks.get(info.index)
        if ranks is None:
            ranks = {}
            for k, p in enumerate(info.learner.preferences):
                ranks.setdefault(p, k)
            self._ranks[info.index] = ranks
        return ranks

    def pref(self, info: LearnerInfo, site_id: str) -> int:
        """The contract's preference cost (§7) of a site for a learner."""
        ranks = self.ranks(info)
        if not ranks:
            return 0
        site = self.sc.site_by_id[site_id]
        return ranks.get(site_id, ranks.get(site.setting, len(info.learner.preferences)))

    def _short(self, site: Site, block: int) -> bool:
        return self.occ.count.get((site.id, block), 0) < site.minimum_in(block)

    def _scaled(self, info: LearnerInfo, site: Site, block: int, scale: int) -> int:
        """Preference cost scaled, plus 1 unless the site is still below its minimum."""
        return self.pref(info, site.id) * scale + (0 if self._short(site, block) else 1)

    def sig(self, info: LearnerInfo, block: int, role: Role, site_id: str) -> _Sig:
        """A learner's seat at a site: profession, sessions needed, usable sessions."""
        return (info.profession, info.need(role),
                self.inst.options[(info.index, block, role)][site_id])

    # ----- candidates ----------------------------------------------------------------------

    def _alive_sites(self, block: int, setting: str, profession: str) -> dict[str, None]:
        key = (block, setting, profession)
        alive = self._alive.get(key)
        if alive is None:
            alive = {s.id: None for s in self.sc.sites
                     if s.setting == setting and s.accepts_profession(profession)}
            self._alive[key] = alive
        return alive

    def _candidates(self, info: LearnerInfo, block: int, role: Role, settings: list[str],
                    per_setting: int, scale: int, exclude: frozenset[str] = frozenset(),
                    ok: Callable[[Site], bool] | None = None) -> list[_Cand]:
        """The cheapest ``per_setting`` sites of each setting the learner could join.

        Sites a learner listed by id, and sites still below their minimum, are
        looked at one by one; all other sites of a setting cost the same, so the
        first ones that fit, in scenario order, are the cheapest. ``ok`` replaces
        the default test (the learner's seat fits at the site).
        """
        sc = self.sc
        opts = self.inst.options[(info.index, block, role)]
        ranks = self.ranks(info)
        n_prefs = len(info.learner.preferences)
        prof = info.profession

        def fits(site: Site) -> bool:
            if ok is not None:
                return ok(site)
            return self.occ.fits(site, block, self.sig(info, block, role, site.id))

        if len(opts) <= per_setting:  # a pinned block, say: look at every option
            few = [(self._scaled(info, sc.site_by_id[s], block, scale), self.tie(s), s,
                    sc.site_by_id[s].setting) for s in opts
                   if s not in exclude and sc.site_by_id[s].setting in settings
                   and fits(sc.site_by_id[s])]
            return sorted(few)
        out: list[_Cand] = []
        for setting in settings:
            flat = ranks.get(setting, n_prefs) * scale if ranks else 0
            found: list[_Cand] = []
            seen = set(exclude)
            for site_id in info.learner.preferences:
                site = sc.site_by_id.get(site_id)
                if site is None or site.setting != setting or site_id in seen:
                    continue
                seen.add(site_id)
                if site_id in opts and fits(site):
                    found.append((self._scaled(info, site, block, scale),
                                  self.tie(site_id), site_id, setting))
            for site in self.with_minimum.get(setting, ()):
                if site.id in seen or not self._short(site, block):
                    continue
                seen.add(site.id)
                if site.id in opts and fits(site):
                    found.append((flat, self.tie(site.id), site.id, setting))
            alive = self._alive_sites(block, setting, prof)
            dead = []
            more = 0
            for site_id in sorted(alive, key=self.tie) if self.spread else alive:
                if site_id in seen or site_id not in opts:
                    continue
                site = sc.site_by_id[site_id]
                if not self.occ.profession_fits(site, block, prof):
                    dead.append(site_id)
                    continue
                if fits(site):
                    found.append((flat + 1, self.tie(site_id), site_id, setting))
                    more += 1
                    if more >= per_setting:
                        break
            for site_id in dead:
                del alive[site_id]
            found.sort()
            out.extend(found[:per_setting])
        return out

    # ----- pins ----------------------------------------------------------------------------

    def reserve_pins(self, order: list[int]) -> dict[int, list[tuple[str, int, _Sig]]]:
        """Take every pinned seat that fits, in order; learner index -> seats taken.

        A fellow's pin is their base, reserved in each block with all their
        usable base sessions (the week is split when they choose).
        """
        reserved: dict[int, list[tuple[str, int, _Sig]]] = {}
        for i in order:
            info = self.inst.learners[i]
            pins = info.learner.pinned
            if not pins:
                continue
            if info.is_fellow:
                base = next(iter(pins.values()))
                if base not in self.inst.base_sites.get(i, []):
                    continue
                wanted = [(base, b, BASE) for b in info.blocks]
            else:
                wanted = [(site_id, b, ROTATION) for b, site_id in pins.items()
                          if b in info.blocks
                          and site_id in self.inst.options[(i, b, ROTATION)]]
            for site_id, block, role in wanted:
                seat = self.sig(info, block, role, site_id)
                if self.occ.fits(self.sc.site_by_id[site_id], block, seat):
                    self.occ.take(site_id, block, seat)
                    reserved.setdefault(i, []).append((site_id, block, seat))
        return reserved

    def reopen(self, site_id: str, block: int) -> None:
        """Forget which sites were full at a block after a place there was given back."""
        setting = self.sc.site_by_id[site_id].setting
        for key in [k for k in self._alive if k[0] == block and k[1] == setting]:
            del self._alive[key]

    # ----- choice --------------------------------------------------------------------------

    def choose(self, info: LearnerInfo) -> dict[tuple[int, Role], tuple[str, _Sig]] | None:
        """The learner's cheapest placements for all their blocks (None if there are none).

        Each placement comes with the seat it takes at its site.
        """
        if not info.blocks:
            return {}
        if info.is_fellow:
            return self._fellow(info)
        return self._rotation(info)

    def _rotation(self, info: LearnerInfo) -> dict[tuple[int, Role], tuple[str, _Sig]] | None:
        track = self.sc.tracks.rotation
        n = len(info.blocks)
        scale = n + 1  # the minimum tie-break adds at most n
        required = frozenset(track.cover)
        # A setting is used in at most m = n - |cover| + 1 blocks (every other
        # cover setting takes one). With no repeats, the cheapest m sites per
        # block and setting are enough: the other m-1 blocks in that setting use
        # at most m-1 of them, so one is always left to swap in at no extra cost.
        per_setting = max(1, n - len(required) + 1) if track.no_repeat_site else 1
        cands = [self._candidates(info, b, ROTATION, self.settings, per_setting, scale)
                 for b in info.blocks]
        picked = _assign(cands, 1 if track.no_repeat_site else n, required, len(required),
                         self.spread)
        if picked is None:
            return None
        return {(b, ROTATION): (site, self.sig(info, b, ROTATION, site))
                for b, site in zip(info.blocks, picked, strict=True)}

    def _split(self, info: LearnerInfo, block: int, base: str, partner: str
               ) -> tuple[str, ...] | None:
        """Partner sessions for a fellow with this base and partner in a block, or None.

        The fellow's week is split here, once: ``partner_sessions`` of the
        partner's usable sessions, and the base's usable sessions other than
        those. With the split fixed, each site's session check is exact on its
        own. Sessions the base cannot use are tried first.
        """
        key = (block, base, partner)
        if key in self._splits:
            return self._splits[key]
        base_site, partner_site = self.sc.site_by_id[base], self.sc.site_by_id[partner]
        base_usable = self.inst.options[(info.index, block, BASE)][base]
        partner_usable = self.inst.options[(info.index, block, PARTNER)][partner]
        n_base, n_partner = info.need(BASE), info.need(PARTNER)
        order = sorted(partner_usable, key=lambda d: d in base_usable)
        found: tuple[str, ...] | None = None
        for combo in combinations(order, n_partner):
            taken = set(combo)
            rest = tuple(d for d in base_usable if d not in taken)
            if len(rest) < n_base:
                continue
            chosen = tuple(d for d in partner_usable if d in taken)
            if (self.occ.fits(partner_site, block, (info.profession, n_partner, chosen))
                    and self.occ.fits(base_site, block, (info.profession, n_base, rest))):
                found = chosen
                break
            if not self.sessions:
                break  # without session checks the first disjoint split will do
        self._splits[key] = found
        return found

    def _base_cost(self, info: LearnerInfo, site_id: str, scale: int) -> int:
        """Scaled cost of a base over all the fellow's blocks (the minimum tie-break too)."""
        site = self.sc.site_by_id[site_id]
        cost = self.pref(info, site_id) * scale * len(info.blocks)
        if site_id in self.min_ids:
            return cost + sum(0 if self._short(site, b) else 1 for b in info.blocks)
        return cost + len(info.blocks)

    def _fellow(self, info: LearnerInfo) -> dict[tuple[int, Role], tuple[str, _Sig]] | None:
        fel = self.sc.tracks.fellowship
        n = len(info.blocks)
        scale = 2 * n + 1  # the minimum tie-break adds at most 2n
        partner_settings = frozenset(self.partner_settings)
        distinct = fel.distinct_partner_settings if fel else 0
        self._splits.clear()

        def partners(base: str | None) -> tuple[int, list[str]] | None:
            # Partners may repeat: the cheapest site per setting and block is enough.
            cands = []
            for b in info.blocks:
                if base is None:
                    ok = None
                else:
                    def ok(site: Site, b: int = b, base: str = base) -> bool:
                        return self._split(info, b, base, site.id) is not None
                exclude = frozenset() if base is None else frozenset([base])
                cands.append(self._candidates(info, b, PARTNER, self.partner_settings, 1,
                                              scale, exclude, ok))
            picked = _assign(cands, n, partner_settings, distinct, self.spread)
            if picked is None:
                return None
            cost = sum(next(c[0] for c in block_cands if c[2] == s)
                       for block_cands, s in zip(cands, picked, strict=True))
            return cost, picked

        # A lower bound on the partners' cost: any base, sessions not split.
        relaxed = partners(None)
        if relaxed is None:
            return None
        bases = sorted((self._base_cost(info, s, scale), self.tie(s), s)
                       for s in self.inst.base_sites.get(info.index, []))
        best: tuple[int, str, list[str]] | None = None
        for cost, _, base in bases:
            if best is not None and cost + relaxed[0] >= best[0]:
                break
            site = self.sc.site_by_id[base]
            if not all(self.occ.fits(site, b, self.sig(info, b, BASE, base))
                       for b in info.blocks):
                continue
            own = partners(base)
            if own is not None and (best is None or cost + own[0] < best[0]):
                best = (cost + own[0], base, own[1])
        if best is None:
            return None
        _, base, picked = best
        out: dict[tuple[int, Role], tuple[str, _Sig]] = {}
        for b, partner in zip(info.blocks, picked, strict=True):
            chosen = self._split(info, b, base, partner)
            assert chosen is not None  # checked when the partner was a candidate
            taken = set(chosen)
            rest = tuple(d for d in self.inst.options[(info.index, b, BASE)][base]
                         if d not in taken)
            out[(b, BASE)] = (base, (info.profession, info.need(BASE), rest))
            out[(b, PARTNER)] = (partner, (info.profession, info.need(PARTNER), chosen))
        return out


def _assign(cands: list[list[_Cand]], site_uses: int, required: frozenset[str],
            need: int, ties: bool = False) -> list[str] | None:
    """One site per block, each site at most ``site_uses`` times, at least ``need``
    distinct settings of ``required``, least total cost; None if impossible.

    With ``ties``, among choices of equal cost the least total tie order (the
    candidates' second field) wins: each arc's cost is its cost times a factor
    above any sum of tie ranks, plus its tie rank.

    Min-cost flow: source -> block -> site -> setting -> sink. A required
    setting's first unit may go through a bonus node (capacity ``need``) at no
    cost; every other unit pays a penalty larger than any placement cost, so
    the flow covers as many required settings as it can (up to ``need``)
    before it saves cost.
    """
    n = len(cands)
    if any(not c for c in cands):
        return None
    rank = {t: k for k, t in enumerate(sorted({c[1] for block in cands for c in block}))} \
        if ties else {}
    scale = n * (len(rank) + 1) if ties else 1
    penalty = sum(max(c[0] for c in block) for block in cands) * scale + scale
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink, bonus = 0, 1, 2
    next_node = 3 + n
    site_node: dict[str, int] = {}
    setting_node: dict[str, int] = {}
    arcs: list[tuple[int, int, str]] = []
    for k, block in enumerate(cands):
        flow.add_arc_with_capacity_and_unit_cost(source, 3 + k, 1, 0)
        for cost, tie, site_id, setting in block:
            if setting not in setting_node:
                setting_node[setting] = next_node
                next_node += 1
            if site_id not in site_node:
                site_node[site_id] = next_node
                next_node += 1
                flow.add_arc_with_capacity_and_unit_cost(
                    site_node[site_id], setting_node[setting], site_uses, 0)
            arc = flow.add_arc_with_capacity_and_unit_cost(3 + k, site_node[site_id], 1,
                                                           cost * scale + rank.get(tie, 0))
            arcs.append((arc, k, site_id))
    for setting, s_node in setting_node.items():
        flow.add_arc_with_capacity_and_unit_cost(s_node, sink, n, penalty)
        if setting in required:
            flow.add_arc_with_capacity_and_unit_cost(s_node, bonus, 1, 0)
    flow.add_arc_with_capacity_and_unit_cost(bonus, sink, max(need, 0), 0)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    if flow.solve() != flow.OPTIMAL:
        return None
    picked: dict[int, str] = {}
    for arc, k, site_id in arcs:
        if flow.flow(arc) > 0:
            picked[k] = site_id
    if len(picked) != n:
        return None
    setting_of = {c[2]: c[3] for block in cands for c in block}
    if len({setting_of[s] for s in picked.values()} & required) < need:
        return None
    return [picked[k] for k in range(n)]


def hint_model(model: cp_model.CpModel, v: Variables, inst: Instance,
               placement: GreedyPlacement) -> None:
    """Hint a CP-SAT model with the greedy's placements.

    Chosen place literals (fellows' base literals included) are hinted 1, a
    placed learner's other place literals 0, and ``placed`` literals 1. When
    the scenario allows unplaced learners, a learner the greedy left out is
    hinted out (``placed`` and all their place literals 0); otherwise their
    literals get no hint. Constants are skipped; timetable literals are left
    to CP-SAT. Hints already in the model are kept; each variable is hinted once.
    """
    hinted: dict[int, tuple[cp_model.IntVar, int]] = {}

    def hint(lit: object, value: int) -> None:
        if isinstance(lit, cp_model.IntVar):
            hinted.setdefault(lit.index, (lit, value))

    unplaced = set(placement.unplaced)
    for info in inst.learners:
        i = info.index
        keys = [(i, block, role) for block in info.blocks for role in inst.roles_of(info)]
        if i in unplaced:
            if isinstance(v.placed[i], int):
                continue
            hint(v.placed[i], 0)
            for key in keys:
                for lit in v.place[key].values():
                    hint(lit, 0)
            continue
        if any(key not in placement.sites for key in keys):
            continue  # not covered by this placement
        hint(v.placed[i], 1)
        for key in keys:
            chosen = placement.sites[key]
            for site_id, lit in v.place[key].items():
                hint(lit, 1 if site_id == chosen else 0)
    existing = set(model.proto.solution_hint.vars)
    for index, (var, value) in hinted.items():
        if index not in existing:
            model.add_hint(var, value)


__all__ = ["GreedyPlacement", "first_placements", "greedy_placements", "hint_model",
           "named_first"]
