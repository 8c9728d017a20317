"""Counting checks: what learners need against what sites can offer, before any search.

Every check compares a demand that a plan cannot avoid with an upper bound on
the supply of a set of sites, per profession group and per setting, block,
site or session. A failed check is a proof that no plan exists; a passed one
says nothing. They run in milliseconds on an ICS-scale scenario (300
learners), so explanations try them before building any model.

The supply of a site for a profession group ``G`` in a block is bounded by
each of: its capacity; the capacity of its supervisors who may supervise a
profession in ``G`` (Hall's condition, rule 4); and its weekly clinical slots
(rooms and supervisors present per session, rules 7 and 8) divided by the
fewest clinical sessions a learner of ``G`` spends there. The smallest of
these is the site's supply, and the rule that gives it is named.

Checks, from the widest to the narrowest:

- :func:`setting_year`: the learners of ``G`` who must spend a placement in a
  setting (rotation cover, fellowship bases every block) against the
  setting's place-blocks over the year.
- :func:`per_block`: the learners of ``G`` active in a block (a fellow counts
  twice, base and partner), and the fellows' bases alone, against the places
  of the sites they could use.
- :func:`per_site`: learners whose only candidate in a block is one site
  (pins, a single base), against that site's places, and the sessions they
  must work there against its rooms and supervisors per session.
- :func:`room_volume`: the clinical sessions of learners who can only go to
  sites with rooms, against those sites' room-sessions in a block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from rotaplan.models import Site
from rotaplan.models.vocabulary import Role, Rule
from rotaplan.solver.instance import BASE, PARTNER, ROTATION, Instance, LearnerInfo

UNLIMITED = 10**9


@dataclass(frozen=True)
class Supply:
    """One site's share of a checked supply.

    Attributes
    ----------
    site
        Site id.
    amount
        Its upper bound (places, place-blocks or sessions) in the check's unit.
    limit
        The rule whose resource gives that bound (``site-capacity``,
        ``supervisor-capacity``, ``rooms`` or ``supervisor-present``).
    per_block
        The bound in each block it was summed over (block -> amount).
    """

    site: str
    amount: int
    limit: str
    per_block: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Shortage:
    """A failed counting check: more is needed than a set of sites can offer.

    Attributes
    ----------
    check
        ``setting-year``, ``block``, ``base-block``, ``site-block``, ``site-session``
        or ``rooms-block``.
    rule
        The rule the demand comes from (``cover``, ``placement``, ``fellowship``,
        ``working-pattern`` for sessions).
    professions
        The profession group counted.
    need, offer
        Demand and supply in ``unit``.
    unit
        ``place-blocks``, ``places`` or ``sessions``.
    learners
        Ids of the learners whose demand is counted.
    supply
        Each site's share of ``offer`` (sites with 0 included, largest first).
    setting, block, site, session
        What the check is about (None when it is not about one).
    """

    check: str
    rule: str
    professions: tuple[str, ...]
    need: int
    offer: int
    unit: str
    learners: tuple[str, ...]
    supply: tuple[Supply, ...]
    setting: str | None = None
    block: int | None = None
    site: str | None = None
    session: str | None = None

    @property
    def short(self) -> int:
        """How much more is needed than offered."""
        return self.need - self.offer

    def sites(self) -> tuple[str, ...]:
        """Ids of the sites in the supply."""
        return tuple(s.site for s in self.supply)


# ----- supply of one site ---------------------------------------------------------------


def profession_groups(inst: Instance) -> list[frozenset[str]]:
    """Profession groups worth counting together.

    Each profession alone; each set of professions linked by supervisors who
    may supervise more than one of them (components of that graph); and every
    profession at once (site capacity is shared by all).
    """
    sc = inst.scenario
    present = sorted({info.profession for info in inst.learners})
    groups: list[frozenset[str]] = [frozenset([p]) for p in present]
    supervisor_professions = {u.profession for s in sc.sites for u in s.supervisors}
    parent = {p: p for p in present}

    def find(p: str) -> str:
        while parent[p] != p:
            p = parent[p]
        return p

    for q in supervisor_professions:
        linked = [p for p in present if sc.may_supervise(q, p)]
        for a, b in combinations(linked, 2):
            parent[find(a)] = find(b)
    components: dict[str, set[str]] = defaultdict(set)
    for p in present:
        components[find(p)].add(p)
    for comp in components.values():
        if len(comp) > 1:
            groups.append(frozenset(comp))
    if len(present) > 1:
        groups.append(frozenset(present))
    return list(dict.fromkeys(groups))


def site_supply(inst: Instance, site: Site, block: int, group: frozenset[str],
                least_need: int) -> tuple[int, str]:
    """Most learners of a profession group a site can take in a block, and the limiting rule.

    Parameters
    ----------
    inst
        The scenario index.
    site, block
        Where and when.
    group
        The professions counted.
    least_need
        The fewest clinical sessions a week any of those learners would spend
        at the site (each one takes at least that many session slots).
    """
    key = ("counting-supply", site.id, block, group, least_need)
    if key not in inst._memo:
        inst._memo[key] = _site_supply(inst, site, block, group, least_need)
    return inst._memo[key]  # type: ignore[return-value]


def _site_supply(inst: Instance, site: Site, block: int, group: frozenset[str],
                 least_need: int) -> tuple[int, str]:
    bounds: list[tuple[int, str]] = []
    cap = site.capacity_in(block)
    if cap is not None:
        bounds.append((cap, Rule.SITE_CAPACITY))
    bounds.append((inst.named_capacity(site.id, block, group), Rule.SUPERVISOR_CAPACITY))
    if least_need > 0:
        present = _present(inst, site, block, group)
        rooms_total = 0
        limited = False
        for d, n in present.items():
            rooms = site.rooms_at(d)
            rooms_total += min(n, rooms) if rooms is not None else n
            limited = limited or rooms is not None
        bounds.append((sum(present.values()) // least_need, Rule.SUPERVISOR_PRESENT))
        if limited:
            bounds.append((rooms_total // least_need, Rule.ROOMS))
    # the first of equal bounds wins: capacity, then supervision, then sessions
    return min(bounds, key=lambda b: b[0])


def _present(inst: Instance, site: Site, block: int, group: frozenset[str]) -> dict[str, int]:
    """Learners of the group that the supervisors working each clinical session can oversee."""
    sc = inst.scenario
    allowed = {u.profession for u in site.supervisors
               if any(sc.may_supervise(u.profession, p) for p in group)}
    open_set = set(site.open_in(sc.programme)) - set(sc.programme.teaching_sessions)
    out = dict.fromkeys(sorted(open_set, key=sc.programme.sessions.index), 0)
    for u in site.supervisors:
        if u.profession not in allowed or u.capacity <= 0 or block in u.unavailable_blocks:
            continue
        for d in sc.supervisor_sessions(site, u):
            if d in out:
                out[d] += u.capacity
    return out


def _least_need(inst: Instance, site_id: str, block: int, group: frozenset[str],
                roles: Iterable[Role]) -> int:
    """The fewest clinical sessions a week a learner of the group spends at a site in a role."""
    table: dict[tuple[str, int, str, Role], int] | None = \
        inst._memo.get(("counting-needs",))  # type: ignore[assignment]
    if table is None:  # one pass over every candidate: (site, block, profession, role) -> need
        table = {}
        for (site, blk), here in inst._by_site_block.items():
            for info, role in here:
                key = (site, blk, info.profession, role)
                table[key] = min(table.get(key, UNLIMITED), info.need(role))
        inst._memo[("counting-needs",)] = table
    needs = [table.get((site_id, block, p, r), UNLIMITED) for p in group for r in roles]
    least = min(needs, default=UNLIMITED)
    return 0 if least == UNLIMITED else least


# ----- checks ---------------------------------------------------------------------------


def setting_year(inst: Instance) -> list[Shortage]:
    """Placements a setting must give over the year against its place-blocks.

    Each rotation learner needs a placement in every cover setting (the
    shortest one possible for them there); each fellow needs a base in the
    base setting in every one of their blocks. The supply is every site of the
    setting that one of them could use, in every block.
    """
    sc = inst.scenario
    fel = sc.tracks.fellowship
    cover = list(dict.fromkeys(sc.tracks.rotation.cover))
    settings = list(cover)
    if fel is not None and fel.base_setting not in settings:
        settings.append(fel.base_setting)
    setting_of = {s.id: s.setting for s in sc.sites}
    # learner -> setting -> (blocks needed, role, site -> blocks it could be used), once
    demand: dict[int, dict[str, tuple[int, Role, dict[str, set[int]]]]] = {}
    for info in inst.learners:
        mine: dict[str, tuple[int, Role, dict[str, set[int]]]] = {}
        if info.is_fellow:
            if fel is not None:
                used: dict[str, set[int]] = defaultdict(set)
                for block in info.blocks:
                    for s in inst.options[(info.index, block, BASE)]:
                        used[s].add(block)
                mine[fel.base_setting] = (len(info.blocks), BASE, used)
        else:
            lengths: dict[str, int] = {}
            for s, _ in inst.starts(info):
                t = setting_of[s]
                lengths[t] = min(lengths.get(t, UNLIMITED), inst.length(s))
            by_setting: dict[str, dict[str, set[int]]] = {t: defaultdict(set) for t in cover}
            for block in info.blocks:
                for s in inst.options[(info.index, block, ROTATION)]:
                    if setting_of[s] in by_setting:
                        by_setting[setting_of[s]][s].add(block)
            for t in cover:
                mine[t] = (lengths.get(t, 1), ROTATION, by_setting[t])
        demand[info.index] = mine
    out = []
    for group in profession_groups(inst):
        members = [info for info in inst.learners if info.profession in group]
        for setting in settings:
            need = 0
            learners: list[str] = []
            used = defaultdict(set)
            roles: set[Role] = set()
            for info in members:
                entry = demand[info.index].get(setting)
                if entry is None:
                    continue
                blocks, role, sites = entry
                need += blocks
                roles.add(role)
                learners.append(info.id)
                for s, bs in sites.items():
                    used[s] |= bs
            if not need:
                continue
            supply = _supplies(inst, used, group, roles)
            offer = sum(s.amount for s in supply)
            if need > offer:
                for site in sc.sites:  # sites of the setting none of them can use: 0
                    if site.setting == setting and site.id not in used:
                        supply.append(Supply(site.id, 0, _excluded_by(inst, site.id, members)))
                rule = Rule.COVER if ROTATION in roles else Rule.FELLOWSHIP
                out.append(Shortage("setting-year", rule, tuple(sorted(group)), need, offer,
                                    "place-blocks", tuple(learners), tuple(supply),
                                    setting=setting))
    return out


def _excluded_by(inst: Instance, site_id: str, members: list[LearnerInfo]) -> str:
    """The rule that most often keeps these learners from a site (domain exclusions)."""
    counts: dict[str, int] = defaultdict(int)
    for info in members:
        for block in info.blocks:
            for role in inst.roles_of(info):
                why = inst.excluded[(info.index, block, role)].get(site_id)
                if why is not None:
                    counts[why.rule] += 1
    return max(counts, key=lambda r: counts[r]) if counts else Rule.ELIGIBILITY


def _supplies(inst: Instance, used: dict[str, set[int]], group: frozenset[str],
              roles: set[Role]) -> list[Supply]:
    sc = inst.scenario
    supply = []
    for site_id, blocks in used.items():
        site = sc.site_by_id[site_id]
        per: list[tuple[int, int]] = []
        limits: dict[str, int] = defaultdict(int)
        for block in sorted(blocks):
            amount, limit = site_supply(inst, site, block,
                                        group, _least_need(inst, site_id, block, group, roles))
            per.append((block, amount))
            limits[limit] += 1
        total = sum(a for _, a in per)
        supply.append(Supply(site_id, total, max(limits, key=lambda k: limits[k]), tuple(per)))
    supply.sort(key=lambda s: (-s.amount, s.site))
    return supply


def per_block(inst: Instance) -> list[Shortage]:
    """Learners active in a block against the places of the sites they could use.

    Counted per profession group: every role (a fellow needs a base and a
    partner site, two places), and the fellows' bases alone. Learners who may
    be idle (§9.1) need no particular block and are not counted.
    """
    sc = inst.scenario
    out = []
    for group in profession_groups(inst):
        mine = [info for info in inst.learners if info.profession in group
                and not info.may_idle]
        for block in sc.programme.block_numbers:
            for check, roles in (("block", (ROTATION, BASE, PARTNER)), ("base-block", (BASE,))):
                need = 0
                learners: list[str] = []
                used: dict[str, set[int]] = defaultdict(set)
                for info in mine:
                    if block not in info.blocks:
                        continue
                    mine_roles = [r for r in inst.roles_of(info) if r in roles]
                    if not mine_roles:
                        continue
                    learners.append(info.id)
                    for role in mine_roles:
                        need += 1
                        options = inst.options[(info.index, block, role)]
                        if role == BASE:
                            options = {s: d for s, d in options.items()
                                       if s in inst.base_sites[info.index]}
                        for s in options:
                            used[s].add(block)
                if not need:
                    continue
                supply = _supplies(inst, used, group, set(roles))
                offer = sum(s.amount for s in supply)
                if need > offer:
                    rule = Rule.FELLOWSHIP if check == "base-block" else Rule.PLACEMENT
                    out.append(Shortage(check, rule, tuple(sorted(group)), need, offer,
                                        "places", tuple(learners), tuple(supply), block=block))
    return out


def per_site(inst: Instance) -> list[Shortage]:
    """Learners with one candidate site in a block against that site's places and sessions.

    A learner held to one site (a pin, a fellow's only possible base) is there
    whatever the plan. Counted per site, block and profession group: places
    (capacity, supervisors); and per session, the learners who must work it
    there because they need every session they could work at the site, against
    its rooms and the supervisors present.
    """
    sc = inst.scenario
    forced: dict[tuple[str, int], list[tuple[LearnerInfo, Role]]] = defaultdict(list)
    for info in inst.learners:
        if info.may_idle:
            continue
        for block in info.blocks:
            for role in inst.roles_of(info):
                options = inst.options[(info.index, block, role)]
                if role == BASE:
                    options = {s: d for s, d in options.items()
                               if s in inst.base_sites[info.index]}
                if len(options) == 1:
                    forced[(next(iter(options)), block)].append((info, role))
    out = []
    for (site_id, block), here in sorted(forced.items()):
        site = sc.site_by_id[site_id]
        professions = {info.profession for info, _ in here}
        for group in profession_groups(inst):
            if not group & professions:
                continue
            mine = [(info, role) for info, role in here if info.profession in group]
            need = len(mine)
            offer, limit = site_supply(inst, site, block, group, 0)
            ids = tuple(info.id for info, _ in mine)
            if need > offer:
                # a fellow held there as base and as partner: the fellowship's rule binds
                twice = len(set(ids)) < len(ids)
                out.append(Shortage("site-block", Rule.FELLOWSHIP if twice else Rule.PLACEMENT,
                                    tuple(sorted(group)), need,
                                    offer, "places", ids, (Supply(site_id, offer, limit),),
                                    block=block, site=site_id))
                continue
            by_session: dict[str, list[str]] = defaultdict(list)
            for info, role in mine:
                sessions = inst.options[(info.index, block, role)][site_id]
                if len(sessions) == info.need(role):  # every usable session is worked
                    for d in sessions:
                        by_session[d].append(info.id)
            for d, who in by_session.items():
                present = inst.present_capacity(site_id, block, group, d)
                rooms = site.rooms_at(d)
                slots, limit = (present, Rule.SUPERVISOR_PRESENT)
                if rooms is not None and rooms < present:
                    slots, limit = rooms, Rule.ROOMS
                if len(who) > slots:
                    out.append(Shortage("site-session", Rule.WORKING_PATTERN,
                                        tuple(sorted(group)), len(who), slots, "sessions",
                                        tuple(who), (Supply(site_id, slots, limit),),
                                        block=block, site=site_id, session=d))
    return out


def room_volume(inst: Instance) -> list[Shortage]:
    """Clinical sessions a week against room-sessions, for learners who can only go to rooms.

    Per profession and block: the learners whose every candidate site limits
    its rooms in every open session need their clinical sessions in those
    rooms; the sites' rooms over the week are the supply.
    """
    sc = inst.scenario
    limited = {site.id for site in sc.sites
               if all(site.rooms_at(d) is not None for d in site.open_in(sc.programme))}
    out = []
    for profession in sc.professions:
        mine = [info for info in inst.learners if info.profession == profession
                and not info.may_idle]
        for block in sc.programme.block_numbers:
            need = 0
            learners: list[str] = []
            sites: set[str] = set()
            for info in mine:
                if block not in info.blocks:
                    continue
                for role in inst.roles_of(info):
                    options = inst.options[(info.index, block, role)]
                    if options and limited.issuperset(options):
                        need += info.need(role)
                        sites.update(options)
                        learners.append(info.id)
            if not need:
                continue
            supply = []
            for s in sorted(sites):
                site = sc.site_by_id[s]
                teaching = set(sc.programme.teaching_sessions)
                rooms = sum(site.rooms_at(d) or 0 for d in site.open_in(sc.programme)
                            if d not in teaching)
                supply.append(Supply(s, rooms, Rule.ROOMS, ((block, rooms),)))
            supply.sort(key=lambda x: (-x.amount, x.site))
            offer = sum(x.amount for x in supply)
            if need > offer:
                out.append(Shortage("rooms-block", Rule.ROOMS, (profession,), need, offer,
                                    "sessions", tuple(dict.fromkeys(learners)), tuple(supply),
                                    block=block))
    return out


def shortages(inst: Instance) -> list[Shortage]:
    """Every failed counting check, the most specific (smallest) first.

    Learners who may be left out (``allow_unplaced``) need nothing, so there
    are none then.
    """
    if inst.scenario.objective.allow_unplaced:
        return []
    found = per_site(inst) + setting_year(inst) + per_block(inst) + room_volume(inst)
    order = {"site-session": 0, "site-block": 1, "setting-year": 2, "base-block": 3,
             "block": 4, "rooms-block": 5}
    # one profession group per finding: the smallest group that fails says it best
    found.sort(key=lambda s: (order[s.check], len(s.professions), -s.short))
    seen: set[tuple[object, ...]] = set()
    out = []
    for s in found:
        key = (s.check, s.setting, s.block, s.site, s.session, s.rule)
        if key in seen and s.check in ("site-block", "site-session"):
            continue
        seen.add(key)
        out.append(s)
    return out


__all__ = ["Shortage", "Supply", "per_block", "per_site", "profession_groups", "room_volume",
           "setting_year", "shortages", "site_supply"]
