"""Explanations in resource terms: a few lines by site, setting, session and profession.

A lead reads "Oak Tree Practice (sher-oak-tree): 0 rooms", not 188 constraint
groups. Each function here turns one kind of proof into such lines
(:class:`~rotaplan.solver.result.ConflictGroup`, the ids behind each line kept
as its members) and into the :class:`Resource` list that
suggested fixes are searched over:

- :func:`from_shortages`: failed counting checks (:mod:`rotaplan.solver.counting`);
- :func:`from_empty`: learners with no candidate site left, grouped by the
  resource that removed the sites;
- :func:`from_core`: a conflict of model constraint groups, grouped by site
  for resource rules and by profession (and setting) for demand rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rotaplan.models import Scenario
from rotaplan.models.vocabulary import Rule
from rotaplan.solver.counting import Shortage, Supply
from rotaplan.solver.instance import Instance
from rotaplan.solver.result import Conflict, ConflictGroup

RESOURCE_RULES = frozenset({Rule.ROOMS, Rule.SITE_CAPACITY, Rule.SUPERVISOR_CAPACITY,
                            Rule.SUPERVISOR_MATCH, Rule.SUPERVISOR_PRESENT, Rule.SITE_OPEN})
"""Rules whose limit is a site's resource (a lead can add rooms, places, supervision)."""

STATEMENT_LINES = 6
"""Most statement lines: with a summary and three fixes the short form stays within 10."""


@dataclass(frozen=True)
class Resource:
    """A resource an explanation names as short.

    Attributes
    ----------
    site
        Site id.
    rule
        The rule that limits it (``rooms``, ``site-capacity``,
        ``supervisor-capacity``, ``supervisor-match``, ``supervisor-present``,
        ``site-open``).
    blocks
        Blocks where it is short (empty: every block).
    professions
        The professions it is short for (their supervisors may be changed).
    session
        The weekly session it is short in, when one.
    """

    site: str
    rule: str
    blocks: tuple[int, ...] = ()
    professions: tuple[str, ...] = ()
    session: str | None = None



@dataclass(frozen=True)
class Statement:
    """An explanation's lines in resource terms, with the ids behind them.

    Attributes
    ----------
    lines
        The statement (at most :data:`STATEMENT_LINES`).
    groups
        One conflict group per line that names a resource or a demand.
    resources
        The short resources, for the fix search.
    from_core
        True when the lines come from a conflict of model groups (CP-SAT's core).
    """

    lines: tuple[str, ...]
    groups: tuple[ConflictGroup, ...]
    resources: tuple[Resource, ...]
    from_core: bool = False


def site_name(sc: Scenario, site_id: str) -> str:
    """``Oak Tree Practice (sher-oak-tree)``, or the id when the site has no name."""
    site = sc.site_by_id.get(site_id)
    return site_id if site is None or not site.name else f"{site.name} ({site_id})"


def blocks_text(blocks: Iterable[int]) -> str:
    """``block 2`` or ``blocks 1-4`` or ``blocks 1, 3``."""
    bs = sorted(set(blocks))
    if not bs:
        return "every block"
    if len(bs) == 1:
        return f"block {bs[0]}"
    if bs == list(range(bs[0], bs[-1] + 1)):
        return f"blocks {bs[0]}-{bs[-1]}"
    return "blocks " + ", ".join(map(str, bs))


def _ids(ids: Iterable[str], most: int = 4) -> str:
    ids = list(ids)
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _limit_words(sc: Scenario, supply: Supply, professions: Iterable[str]) -> str:
    """What limits a site's share: ``0 room(s) a session [rooms]``, ``[supervisor-capacity:
    sup-1 (1), sup-2 (2)]`` ..."""
    site = sc.site_by_id[supply.site]
    if supply.limit == Rule.ROOMS:
        values = sorted({site.rooms_at(d) or 0 for d in site.open_in(sc.programme)})
        rooms = str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"
        return f"{rooms} room(s) a session [rooms]"
    if supply.limit in (Rule.SUPERVISOR_CAPACITY, Rule.SUPERVISOR_PRESENT):
        sups = [f"{u.id} ({u.capacity})" for u in site.supervisors
                if any(sc.may_supervise(u.profession, p) for p in professions)]
        return f"[{supply.limit}: {_ids(sups, 3) or 'no supervisor'}]"
    if supply.limit == Rule.SITE_CAPACITY:
        return f"[site-capacity: {site.capacity}]"
    return f"[{supply.limit}]"


def _supply_lines(sc: Scenario, s: Shortage, most: int) -> list[str]:
    """The sites of a shortage's supply, resource-limited ones first, others merged."""
    resource = [x for x in s.supply if x.limit in RESOURCE_RULES]
    other = [x for x in s.supply if x.limit not in RESOURCE_RULES]
    resource.sort(key=lambda x: (x.amount, x.site))
    if len(resource) > most - 1:  # many sites (ICS scale): the empty ones, then by limit
        other = [x for x in resource if x.amount > 0] + other
        resource = [x for x in resource if x.amount == 0][:most // 2]
    lines = [f"{site_name(sc, x.site)}: {x.amount} {s.unit}, "
             f"{_limit_words(sc, x, s.professions)}" for x in resource]
    by_limit: dict[str, list[Supply]] = defaultdict(list)
    for x in other:
        by_limit[x.limit].append(x)
    for limit, xs in by_limit.items():
        where = _ids([x.site for x in xs], 3) if len(xs) <= 3 else f"{len(xs)} sites"
        lines.append(f"{where}: {sum(x.amount for x in xs)} {s.unit} [{limit}]")
    if len(lines) > most:
        rest = lines[most - 1:]
        lines = [*lines[:most - 1], f"{len(rest)} more site(s) (see the details)"]
    return lines


def shortage_head(sc: Scenario, s: Shortage) -> str:
    """One line: what is needed, where and when, against what is offered."""
    who = "/".join(s.professions)
    if s.check == "setting-year":
        setting = next((t.name for t in sc.settings if t.id == s.setting), s.setting)
        return (f"{setting} [{s.rule}]: {s.need} {who} place-blocks needed over the year by "
                f"{len(s.learners)} learner(s), {s.offer} offered")
    if s.check == "site-session":
        assert s.site is not None
        return (f"{site_name(sc, s.site)}: {s.need} {who} clinical session(s) needed on "
                f"{s.session} in block {s.block}, {s.offer} "
                f"{'room(s)' if s.supply[0].limit == Rule.ROOMS else 'supervisor place(s)'} "
                f"[{s.supply[0].limit}]")
    if s.check == "site-block":
        assert s.site is not None
        return (f"{site_name(sc, s.site)} [{s.rule}]: {s.need} {who} place(s) can only be "
                f"there in block {s.block} ({_ids(dict.fromkeys(s.learners), 3)}), {s.offer} "
                "place(s) "
                f"{_limit_words(sc, s.supply[0], s.professions)}")
    if s.check == "rooms-block":
        return (f"Block {s.block} [{Rule.ROOMS}]: {s.need} {who} clinical sessions a week "
                f"needed at sites with rooms, {s.offer} room-sessions")
    what = "fellows' bases" if s.check == "base-block" else "placements"
    return (f"Block {s.block} [{s.rule}]: {s.need} {who} {what} needed, {s.offer} places at "
            "the sites they could use")


def _resources(s: Shortage) -> list[Resource]:
    blocks = (s.block,) if s.block is not None else ()
    out = []
    for x in sorted(s.supply, key=lambda x: (x.amount, x.site)):  # the emptiest first
        if x.limit in RESOURCE_RULES:
            bs = blocks or tuple(b for b, _ in x.per_block)
            out.append(Resource(x.site, x.limit, bs, s.professions, s.session))
    return out


def from_shortages(inst: Instance, found: list[Shortage]) -> Statement:
    """The first (most specific) shortage in full, the others in a line each."""
    sc = inst.scenario
    lines: list[str] = []
    groups: list[ConflictGroup] = []
    resources: list[Resource] = []
    for k, s in enumerate(found):
        head = shortage_head(sc, s)
        if len(lines) >= STATEMENT_LINES:
            lines[-1] = f"... and {len(found) - k + 1} more counting check(s) fail (details)"
            break
        where = (s.setting,) if s.setting else ()
        members = tuple(Conflict(s.rule, (learner, *where), f"{s.rule} of {learner}")
                        for learner in s.learners) + tuple(
            Conflict(x.limit, (x.site,), f"{site_name(sc, x.site)}: {x.amount} {s.unit} "
                     f"{_limit_words(sc, x, s.professions)}")
            for x in s.supply)
        ids = tuple(s.professions) + tuple(
            str(v) for v in (s.setting, s.site, s.session, s.block) if v is not None)
        groups.append(ConflictGroup(s.rule, ids, head, members))
        lines.append(head)
        if k == 0 and s.site is None:  # a check of one site says it in the head
            most = STATEMENT_LINES - 2 if len(found) > 1 else STATEMENT_LINES - 1
            lines += [f"  {line}" for line in _supply_lines(sc, s, most)]
        resources += _resources(s)
    return Statement(tuple(lines), tuple(groups), tuple(dict.fromkeys(resources)))


def from_empty(inst: Instance, conflicts: Iterable[Conflict]) -> Statement:
    """Learners with nothing left, one line per learner and kind of place, with the cause.

    The cause is the site exclusions of a resource rule (rooms, capacity,
    supervisors, opening) that removed the sites the learner could otherwise
    use; exclusions by eligibility alone are counted, not listed.
    """
    sc = inst.scenario
    by_id = {info.id: info for info in inst.learners}
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    members: dict[tuple[str, str], list[Conflict]] = defaultdict(list)
    for c in conflicts:
        what = c.text.split("no possible ")[-1].split(" in block")[0] \
            if "no possible" in c.text else c.rule
        key = (c.ids[0], what)
        members[key].append(c)
        if len(c.ids) > 1 and c.ids[1].isdigit():
            blocks[key].append(int(c.ids[1]))
    lines: list[str] = []
    groups: list[ConflictGroup] = []
    resources: list[Resource] = []
    alike: dict[tuple[str, str], list[tuple[str, list[Conflict]]]] = defaultdict(list)
    for (learner_id, what), cs in members.items():
        info = by_id.get(learner_id)
        if info is None:
            continue
        causes: dict[tuple[str, str], set[int]] = defaultdict(set)
        for block in blocks[(learner_id, what)] or list(info.blocks):
            for role in inst.roles_of(info):
                for site_id, why in inst.excluded[(info.index, block, role)].items():
                    if why.rule in RESOURCE_RULES:
                        causes[(site_id, why.rule)].add(block)
        reasons = [f"{site_name(sc, s)} [{rule}] in {blocks_text(bs)}"
                   for (s, rule), bs in sorted(causes.items())]
        for (s, rule), bs in causes.items():
            resources.append(Resource(s, rule, tuple(sorted(bs)), (info.profession,)))
        tail = (f" ({info.profession}): no possible {what} in "
                f"{blocks_text(blocks[(learner_id, what)] or info.blocks)}"
                + (f"; lost: {_ids(reasons, 2)}" if reasons else " [eligibility]"))
        alike[(tail, cs[0].rule)].append((learner_id, cs))
    # learners stranded alike share a line: "L1, L2 (nurse): no possible site ..."
    for (tail, rule), who in alike.items():
        ids = [learner_id for learner_id, _ in who]
        text = _ids(ids, 3) + tail
        groups.append(ConflictGroup(rule, tuple(ids), text,
                                    tuple(c for _, cs in who for c in cs)))
        lines.append(text)
    if len(lines) > STATEMENT_LINES:
        more = len(lines) - STATEMENT_LINES + 1
        lines = [*lines[:STATEMENT_LINES - 1], f"... and {more} more line(s) (see the details)"]
    return Statement(tuple(lines), tuple(groups), tuple(dict.fromkeys(resources)))


def group_key(inst: Instance, c: Conflict) -> tuple[str, ...]:
    """The line a model constraint group belongs to.

    Resource rules by site (``rooms`` at one site, every block and session);
    learner rules by rule, profession and, for ``cover``, setting.
    """
    sc = inst.scenario
    if c.ids and c.ids[0] in sc.site_by_id:
        return (c.rule, c.ids[0])
    learner = sc.learner_by_id.get(c.ids[0]) if c.ids else None
    if learner is None:
        return (c.rule,)
    if c.rule in (Rule.COVER, Rule.NO_REPEAT_SETTING) and len(c.ids) > 1:
        return (c.rule, learner.profession, c.ids[1])
    return (c.rule, learner.profession)


def core_line(inst: Instance, key: tuple[str, ...], members: list[Conflict]) -> str:
    """One line for a group of model constraint groups that share a key."""
    sc = inst.scenario
    rule = key[0]
    if len(key) == 2 and key[1] in sc.site_by_id:
        site = sc.site_by_id[key[1]]
        bs = [int(c.ids[1]) for c in members if len(c.ids) > 1 and c.ids[1].isdigit()]
        sessions = sorted({c.ids[2] for c in members if rule in (Rule.ROOMS,
                                                                  Rule.SUPERVISOR_PRESENT)
                           and len(c.ids) > 2}, key=sc.programme.sessions.index)
        extra = ""
        if rule == Rule.ROOMS:
            values = sorted({site.rooms_at(d) or 0 for d in sessions}) or [0]
            extra = f", {'/'.join(map(str, values))} room(s)"
        elif rule == Rule.SITE_CAPACITY:
            extra = f", capacity {site.capacity}"
        on = f" on {_ids(sessions, 3)}" if sessions else ""
        return f"{site_name(sc, site.id)} [{rule}]{on} in {blocks_text(bs)}{extra}"
    learners = list(dict.fromkeys(c.ids[0] for c in members))
    setting = f" in {key[2]}" if len(key) > 2 else ""
    who = key[1] if len(key) > 1 else "learners"
    return f"[{rule}] {who}{setting}: {len(learners)} learner(s) ({_ids(learners, 3)})"


def from_core(inst: Instance, conflicts: Iterable[Conflict]) -> Statement:
    """A conflict of model groups in a line per site resource or demand."""
    sc = inst.scenario
    by_key: dict[tuple[str, ...], list[Conflict]] = defaultdict(list)
    for c in conflicts:
        by_key[group_key(inst, c)].append(c)
    keys = sorted(by_key, key=lambda k: (not (len(k) == 2 and k[1] in sc.site_by_id), k))
    # the professions whose demand is in the conflict: only their supervisors can help
    demand = {k[1] for k in keys if len(k) > 1 and k[1] in sc.professions}
    groups = []
    resources = []
    for key in keys:
        members = by_key[key]
        groups.append(ConflictGroup(key[0], key[1:], core_line(inst, key, members),
                                    tuple(members)))
        if len(key) == 2 and key[1] in sc.site_by_id and key[0] in RESOURCE_RULES:
            bs = tuple(sorted({int(c.ids[1]) for c in members
                               if len(c.ids) > 1 and c.ids[1].isdigit()}))
            professions = tuple(p for c in members for p in c.ids[3 if key[0]
                                == Rule.SUPERVISOR_PRESENT else 2:]
                                if p in sc.professions)
            if demand and set(professions) & demand:
                professions = tuple(p for p in professions if p in demand)
            sessions = {c.ids[2] for c in members if key[0] == Rule.ROOMS and len(c.ids) > 2}
            resources.append(Resource(key[1], key[0], bs, tuple(dict.fromkeys(professions)),
                                      next(iter(sessions)) if len(sessions) == 1 else None))
    lines = [g.text for g in groups]
    if len(lines) > STATEMENT_LINES:
        more = len(lines) - STATEMENT_LINES + 1
        lines = [*lines[:STATEMENT_LINES - 1], f"... and {more} more (see the details)"]
    return Statement(tuple(lines), tuple(groups), tuple(resources), from_core=True)


__all__ = ["RESOURCE_RULES", "STATEMENT_LINES", "Resource", "Statement", "blocks_text", "core_line",
           "from_core", "from_empty", "from_shortages", "group_key", "shortage_head",
           "site_name"]
