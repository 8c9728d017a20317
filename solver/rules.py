"""One unit per rule of the contract (§5-§6), applied in one explicit order.

Each unit posts the constraints of its rule. Rules that only remove options
(for example ``eligibility``) do their work when :class:`~solver.instance.Instance`
builds the candidate domains, and say so here; the exclusions keep the rule's
name so an empty domain is explained in the contract's words.

Every posted constraint belongs to a *group* named by its rule and ids
(``rooms`` at ``elm-surgery`` block 2 ``Tue-AM``). In explanation mode each
group is guarded by an assumption literal so a conflict can be reported as a
set of groups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.models import Site
from rotaplan.solver.instance import BASE, PARTNER, ROTATION, Instance, LearnerInfo, Role
from rotaplan.solver.load import Load
from rotaplan.solver.variables import Lit, Variables, clinical_at, negated


@dataclass(frozen=True)
class Group:
    """A named group of constraints: a rule and the ids it concerns."""

    rule: str
    ids: tuple[str, ...]
    text: str


@dataclass
class Build:
    """What rule units need: the model, the index, the variables, the groups.

    Parameters
    ----------
    model
        The CP-SAT model.
    inst
        The scenario index.
    v
        The decision variables.
    explain
        When true, every constraint group gets an enforcement literal.
    """

    model: cp_model.CpModel
    inst: Instance
    v: Variables
    explain: bool = False
    load: Load = field(default_factory=Load)
    soft_minimum: bool = False
    groups: dict[Group, cp_model.IntVar] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    shortfall: list[cp_model.IntVar] = field(default_factory=list)

    # ----- limits, less what learners outside the model already use -------------------

    def capacity(self, site: Site, block: int) -> int | None:
        """Places left at a site in a block (None: unlimited)."""
        cap = site.capacity_in(block)
        return None if cap is None else max(0, cap - self.load.count(site.id, block))

    def named_capacity(self, site_id: str, block: int, group: frozenset[str]) -> int:
        """Named-supervisor places left for a profession group (Hall)."""
        return max(0, self.inst.named_capacity(site_id, block, group)
                   - self.load.count(site_id, block, group))

    def rooms(self, site: Site, block: int, session: str) -> int | None:
        """Rooms left at a site in a block and session (None: unlimited)."""
        rooms = site.rooms_at(session)
        return None if rooms is None else \
            max(0, rooms - self.load.sessions(site.id, block, session))

    def present_capacity(self, site_id: str, block: int, group: frozenset[str],
                         session: str) -> int:
        """Learners of a profession group the supervisors working a session can still take."""
        return max(0, self.inst.present_capacity(site_id, block, group, session)
                   - self.load.sessions(site_id, block, session, group))

    def minimum(self, site: Site, block: int) -> int:
        """Learners a site still needs in a block."""
        return max(0, site.minimum_in(block) - self.load.count(site.id, block))

    def professions(self, site_id: str, block: int, here: Iterable[str]) -> set[str]:
        """Professions at a site in a block: the model's candidates and those outside it."""
        return set(here) | self.load.professions_at(site_id, block)

    def add(self, ct: cp_model.Constraint, rule: str, ids: Iterable[str], text: str) -> None:
        """Register a posted constraint under its group."""
        self.counts[rule] = self.counts.get(rule, 0) + 1
        if not self.explain:
            return
        group = Group(rule, tuple(ids), text)
        lit = self.groups.get(group)
        if lit is None:
            lit = self.model.new_bool_var(f"group[{rule}:{','.join(group.ids)}]")
            self.groups[group] = lit
        ct.only_enforce_if(lit)

    def place_at(self, site: str, block: int) -> list[tuple[LearnerInfo, Role, Lit]]:
        """Placement literals of every learner role that could be at a site in a block."""
        return [
            (info, role, self.v.place[(info.index, block, role)][site])
            for info, role in self.inst.candidates_at(site, block)
        ]


@dataclass(frozen=True)
class Rule:
    """A rule unit: its contract name, what it does, and how it posts."""

    name: str
    summary: str
    post: Callable[[Build], None]


# ----- units -----------------------------------------------------------------------------


def _placement(b: Build) -> None:
    """§5: a placed learner has one site per block and role; fellows one base.

    A learner who may be idle (§9.1) has one site in each block they are active.
    """
    for info in b.inst.learners:
        placed = b.v.placed[info.index]
        base_done = False
        for block in info.blocks:
            for role in b.inst.roles_of(info):
                if role == BASE:
                    if base_done:
                        continue
                    base_done = True
                    sites = {s: b.v.base[(info.index, s)] for s in b.inst.base_sites[info.index]}
                else:
                    sites = b.v.place[(info.index, block, role)]
                what = "a base site" if role == BASE else f"a site in block {block}"
                active = placed if role == BASE else b.v.active[(info.index, block)]
                ct = b.model.add(sum(sites.values()) == active)
                b.add(ct, "placement", (info.id, str(block)), f"placement of {info.id}: {what}")


def _by_domains(_: Build) -> None:
    """Enforced by the candidate domains built in :class:`~solver.instance.Instance`."""


def _site_capacity(b: Build) -> None:
    for site in b.inst.scenario.sites:
        for block in b.inst.scenario.programme.block_numbers:
            cap = b.capacity(site, block)
            if cap is None or len(b.inst.candidates_at(site.id, block)) <= cap:
                continue  # (most pairs of a one-learner model: no literals gathered)
            here = b.place_at(site.id, block)
            ct = b.model.add(sum(lit for _, _, lit in here) <= cap)
            b.add(ct, "site-capacity", (site.id, str(block)),
                  f"site-capacity of {site.id} in block {block} ({cap})")


def _supervisor_capacity(b: Build) -> None:
    """Hall's condition per profession group: named places suffice (exact b-matching)."""
    inst = b.inst
    for site in inst.scenario.sites:
        for block in inst.scenario.programme.block_numbers:
            here = inst.candidates_at(site.id, block)
            if not here:
                continue
            cap = b.capacity(site, block)
            present = b.professions(site.id, block, (info.profession for info, _ in here))
            for group in inst.hall_groups(site.id, present):
                members = [(info, role) for info, role in here if info.profession in group]
                limit = b.named_capacity(site.id, block, group)
                if len(members) <= limit or (cap is not None and cap <= limit):
                    continue
                lits = [b.v.place[(info.index, block, role)][site.id] for info, role in members]
                ct = b.model.add(sum(lits) <= limit)
                names = ", ".join(u.id for u in inst.named_supervisors(site.id, block, group))
                b.add(ct, "supervisor-capacity", (site.id, str(block), *sorted(group)),
                      f"supervisor-capacity at {site.id} in block {block} for "
                      f"{'/'.join(sorted(group))}: {limit} place(s) ({names})")


def _working_pattern(b: Build) -> None:
    """Exactly the learner's clinical sessions each block; fellows split base/partner."""
    for info in b.inst.learners:
        for block in info.blocks:
            active = b.v.active[(info.index, block)]
            for role in b.inst.roles_of(info):
                works = [b.v.works[(info.index, block, role, d)] for d in info.candidates]
                ct = b.model.add(sum(works) == info.need(role) * active)
                b.add(ct, "working-pattern", (info.id, str(block)),
                      f"working-pattern of {info.id} in block {block}: {info.clinical} "
                      "clinical session(s) a week")
            if info.is_fellow:
                for d in info.candidates:
                    both = [b.v.works[(info.index, block, r, d)] for r in (BASE, PARTNER)]
                    if all(isinstance(x, int) for x in both):
                        continue
                    ct = b.model.add(sum(both) <= 1)
                    b.add(ct, "working-pattern", (info.id, str(block)),
                          f"working-pattern of {info.id} in block {block}")


def _site_open(b: Build) -> None:
    """A clinical session needs a site placement that can host it (open, room, supervisor)."""
    inst = b.inst
    for info in inst.learners:
        for block in info.blocks:
            for role in inst.roles_of(info):
                options = inst.options[(info.index, block, role)]
                sites = b.v.place[(info.index, block, role)]
                for d in info.candidates:
                    works = b.v.works[(info.index, block, role, d)]
                    if isinstance(works, int) or works is b.v.active[(info.index, block)]:
                        continue  # forced: every candidate site hosts every session
                    hosts = [lit for s, lit in sites.items() if d in options[s]]
                    ct = b.model.add(works <= sum(hosts))
                    b.add(ct, "site-open", (info.id, str(block)),
                          f"site-open for {info.id} in block {block}")


def _session_limits(b: Build, rule: str) -> None:
    """Rooms and supervisor presence per site, block and session where they can bind."""
    inst = b.inst
    sc = inst.scenario
    for site in sc.sites:
        if site.rooms is None if rule == "rooms" else inst.always_present(site.id):
            # unlimited rooms; or supervisors who work every session oversee every
            # learner they name, so no session's limit is below Hall's (checked there)
            continue
        for block in sc.programme.block_numbers:
            here = inst.candidates_at(site.id, block)
            if not here:
                continue
            cap = b.capacity(site, block)
            if rule == "rooms":
                groups: list[frozenset[str] | None] = [None]
            else:
                present = b.professions(site.id, block, (info.profession for info, _ in here))
                groups = list(inst.hall_groups(site.id, present))
            # (session, profession) -> learner roles that could be clinical here then.
            by_session: dict[tuple[str, str], list[tuple[LearnerInfo, Role]]] = {}
            of_profession: dict[str, int] = {}
            for info, role in here:
                p = info.profession
                of_profession[p] = of_profession.get(p, 0) + 1
                for d in inst.options[(info.index, block, role)][site.id]:
                    by_session.setdefault((d, p), []).append((info, role))
            professions = set(of_profession)
            for group in groups:
                profs = sorted(professions if group is None else professions & group)
                members = sum(of_profession[p] for p in profs)
                ceiling = members if cap is None else min(cap, members)
                if group is not None:
                    ceiling = min(ceiling, b.named_capacity(site.id, block, group))
                volume_terms = []
                volume_limit = 0
                binding = False
                for d in sc.programme.sessions:
                    lists = [by_session.get((d, p), []) for p in profs]
                    most = min(ceiling, sum(map(len, lists)))  # who could be here then
                    if most <= 0:
                        continue  # nobody: no constraint, nothing to the weekly volume
                    if group is None:
                        limit = b.rooms(site, block, d)
                    else:
                        limit = b.present_capacity(site.id, block, group, d)
                    volume_limit += most if limit is None else min(limit, most)
                    if limit is None or most <= limit:
                        continue
                    hosting = [pair for found in lists for pair in found]
                    binding = True
                    lits = [clinical_at(b.model, inst, b.v, info, block, role, site.id, d)
                            for info, role in hosting]
                    ct = b.model.add(sum(lits) <= limit)
                    if group is None:
                        b.add(ct, "rooms", (site.id, str(block), d),
                              f"rooms at {site.id}, {d} in block {block} ({limit} room(s))")
                    else:
                        label = "/".join(sorted(group))
                        b.add(ct, "supervisor-present", (site.id, str(block), d, *sorted(group)),
                              f"supervisor-present at {site.id}, {d} in block {block} for "
                              f"{label}: {limit} learner(s) can be overseen")
                if binding:  # aggregate cut: weekly clinical volume fits the week's limits
                    for info, role in here:
                        if info.profession not in profs:
                            continue
                        lit = b.v.place[(info.index, block, role)][site.id]
                        volume_terms.append(info.need(role) * lit)
                    ct = b.model.add(sum(volume_terms) <= volume_limit)
                    b.add(ct, rule, (site.id, str(block)),
                          f"{rule} at {site.id} in block {block}: weekly clinical sessions")


def _rooms(b: Build) -> None:
    _session_limits(b, "rooms")


def _supervisor_present(b: Build) -> None:
    _session_limits(b, "supervisor-present")


def _starts_in(b: Build, info: LearnerInfo, sites: set[str]) -> list[Lit]:
    """A rotation learner's placement starts at any of ``sites``, in time order."""
    return [lit for (site, _), lit in b.v.start[info.index].items() if site in sites]


def _rotation(b: Build) -> list[LearnerInfo]:
    return [info for info in b.inst.learners if not info.is_fellow]


def _sites_in(b: Build, settings: set[str]) -> set[str]:
    """Sites in any of the settings."""
    of = b.inst.sites_of_setting
    return set().union(*(of.get(setting, ()) for setting in settings))


def _cover(b: Build) -> None:
    """Rule 9: each cover setting in at least one placement (placements, not blocks)."""
    inst = b.inst
    cover = inst.scenario.tracks.rotation.cover
    for info in _rotation(b):
        for setting in dict.fromkeys(cover):
            lits = _starts_in(b, info, _sites_in(b, {setting}))
            ct = b.model.add(sum(lits) >= b.v.placed[info.index])
            b.add(ct, "cover", (info.id, setting), f"cover of {info.id}: {setting}")


def _no_repeat_site(b: Build) -> None:
    """Rule 10: a site in at most one placement of a learner."""
    if not b.inst.scenario.tracks.rotation.no_repeat_site:
        return
    for info in _rotation(b):
        by_site: dict[str, list[Lit]] = {}
        for (s, _), lit in b.v.start[info.index].items():
            by_site.setdefault(s, []).append(lit)
        for s, lits in by_site.items():
            if len(lits) > 1:
                ct = b.model.add_at_most_one(lits)
                b.add(ct, "no-repeat-site", (info.id, s), f"no-repeat-site of {info.id}: {s}")


def _placement_length(b: Build) -> None:
    """Rule 13: a placement occupies its site for its length; blocks hold one placement.

    The candidate starts already keep each placement inside the learner's
    blocks; here a block's occupancy of a site is the sum of the starts that
    cover it (a Boolean, so two placements never share a block).
    """
    for info in _rotation(b):
        for (block, site), lits in b.v.covering.get(info.index, {}).items():
            if len(lits) < 2:
                continue
            occupancy = b.v.place[(info.index, block, ROTATION)][site]
            ct = b.model.add(occupancy == sum(lits))
            b.add(ct, "placement-length", (info.id, str(block), site),
                  f"placement-length of {info.id} at {site}: block {block}")


def _placement_count(b: Build) -> None:
    """Rule 14: exactly ``placements`` placements for a learner who has the key.

    A pinned block of such a learner is never idle (§9.1: the pin says a
    placement at that site occupies it).
    """
    for info in _rotation(b):
        n = info.learner.placements
        if n is None:
            continue
        lits = list(b.v.start[info.index].values())
        ct = b.model.add(sum(lits) == n * b.v.placed[info.index])
        b.add(ct, "placement-count", (info.id,), f"placement-count of {info.id}: {n}")
        for block, site in info.learner.pinned.items():
            active = b.v.active.get((info.index, block))
            if active is None or isinstance(active, int):
                continue
            ct = b.model.add(active == b.v.placed[info.index])
            b.add(ct, "eligibility", (info.id, str(block), site),
                  f"eligibility of {info.id}: pinned to {site} in block {block}")


def _requirements(b: Build) -> None:
    """Rule 15: placements in each requirement's settings between ``min`` and ``max``."""
    sc = b.inst.scenario
    for info in _rotation(b):
        for k, rq in enumerate(sc.requirements_of(info.learner)):
            group = set(rq.settings)
            lits = _starts_in(b, info, _sites_in(b, group))
            label = ", ".join(rq.settings)
            placed = b.v.placed[info.index]
            if rq.low > 0:
                ct = b.model.add(sum(lits) >= rq.low * placed)
                b.add(ct, "requirements", (info.id, str(k)),
                      f"requirements of {info.id}: at least {rq.low} in {label}")
            if rq.high is not None and len(lits) > rq.high:
                ct = b.model.add(sum(lits) <= rq.high)
                b.add(ct, "requirements", (info.id, str(k)),
                      f"requirements of {info.id}: at most {rq.high} in {label}")


def _no_repeat_setting(b: Build) -> None:
    """Rule 16: at most one placement in any setting."""
    sc = b.inst.scenario
    if not sc.tracks.rotation.no_repeat_setting:
        return
    setting_of = {s.id: s.setting for s in sc.sites}
    for info in _rotation(b):
        by_setting: dict[str, list[Lit]] = {}
        for (s, _), lit in b.v.start[info.index].items():
            by_setting.setdefault(setting_of[s], []).append(lit)
        for setting, lits in by_setting.items():
            if len(lits) > 1:
                ct = b.model.add_at_most_one(lits)
                b.add(ct, "no-repeat-setting", (info.id, setting),
                      f"no-repeat-setting of {info.id}: {setting}")


def _precedence(b: Build) -> None:
    """Rule 17: a placement in ``after`` starts once a placement in ``before`` has ended.

    Per learner and rule, ``done[t]`` ("some placement in ``before`` ended before
    block t") is a chain of Booleans that may rise only when such a placement
    ends; every ``after`` start in block t needs ``done[t]``. Linear in the
    number of blocks, where comparing each start with every earlier end would
    be quadratic.
    """
    inst = b.inst
    sc = inst.scenario
    setting_of = {s.id: s.setting for s in sc.sites}
    for info in _rotation(b):
        for rule in sc.tracks.rotation.precedence:
            if rule.before in info.learner.completed:
                continue
            after = {t: [] for t in info.blocks}  # type: dict[int, list[Lit]]
            ends: dict[int, list[Lit]] = {}  # block after the placement's last -> starts
            for (site, first), lit in b.v.start[info.index].items():
                if setting_of[site] == rule.after:
                    after[first].append(lit)
                elif setting_of[site] == rule.before:
                    ends.setdefault(first + inst.length(site), []).append(lit)
            if not any(after.values()):
                continue
            done: Lit = 0
            ids = (info.id, rule.before, rule.after)
            text = f"precedence for {info.id}: {rule.after} after {rule.before}"
            for t in range(min(info.blocks), max(info.blocks) + 1):
                ended = ends.get(t, [])
                if ended:
                    flag = b.model.new_bool_var(f"done[{info.id},{rule.before},{t}]")
                    b.add(b.model.add(flag <= done + sum(ended)), "precedence", ids, text)
                    done = flag
                starting = after.get(t, [])
                if starting:
                    b.add(b.model.add(sum(starting) <= done), "precedence", ids, text)


def _organisation_cap(b: Build) -> None:
    """Rule 18: at most ``max_per_organisation`` placements at one organisation's sites."""
    sc = b.inst.scenario
    cap = sc.tracks.rotation.max_per_organisation
    if cap is None:
        return
    org_of = {s.id: s.organisation_id for s in sc.sites}
    for info in _rotation(b):
        by_org: dict[str, list[Lit]] = {}
        for (s, _), lit in b.v.start[info.index].items():
            by_org.setdefault(org_of[s], []).append(lit)
        for org, lits in by_org.items():
            if len(lits) > cap:
                ct = b.model.add(sum(lits) <= cap)
                b.add(ct, "organisation-cap", (info.id, org),
                      f"organisation-cap of {info.id}: {org} ({cap})")


def _fellowship(b: Build) -> None:
    inst = b.inst
    fel = inst.scenario.tracks.fellowship
    if fel is None:
        return
    setting_of = {s.id: s.setting for s in inst.scenario.sites}
    for info in inst.learners:
        if not info.is_fellow:
            continue
        placed = b.v.placed[info.index]
        for block in info.blocks:
            partners = b.v.place[(info.index, block, PARTNER)]
            for s, lit in partners.items():
                base = b.v.base.get((info.index, s))
                if base is not None:
                    ct = b.model.add_bool_or([negated(lit), negated(base)])
                    b.add(ct, "fellowship", (info.id, s),
                          f"fellowship of {info.id}: partner {s} is not the base")
        if fel.distinct_partner_settings <= 0:
            continue
        covered = []
        for setting in dict.fromkeys(fel.partner_settings):
            lits = [lit for block in info.blocks
                    for s, lit in b.v.place[(info.index, block, PARTNER)].items()
                    if setting_of[s] == setting]
            if not lits:
                continue
            flag = b.model.new_bool_var(f"covers[{info.id},{setting}]")
            b.model.add(flag <= sum(lits))
            covered.append(flag)
        ct = b.model.add(sum(covered) >= fel.distinct_partner_settings * placed)
        b.add(ct, "fellowship", (info.id, "distinct"),
              f"fellowship of {info.id}: {fel.distinct_partner_settings} distinct partner settings")


def _site_minimum(b: Build) -> None:
    """Rule 12. With ``soft_minimum`` (a first plan), a shortfall is allowed and counted."""
    for site in b.inst.scenario.sites:
        for block in b.inst.scenario.programme.block_numbers:
            need = b.minimum(site, block)
            if need <= 0:
                continue
            here = b.place_at(site.id, block)
            if b.soft_minimum:
                short = b.model.new_int_var(0, need, f"short[{site.id},{block}]")
                b.shortfall.append(short)
                b.model.add(sum(lit for _, _, lit in here) + short >= need)
                continue
            ct = b.model.add(sum(lit for _, _, lit in here) >= need)
            b.add(ct, "site-minimum", (site.id, str(block)),
                  f"site-minimum of {site.id} in block {block} ({need})")


RULES: tuple[Rule, ...] = (
    Rule("placement", "every learner placed in each of their blocks (§5)", _placement),
    Rule("eligibility", "accepts, avoid, pinned and setting per role (domains)", _by_domains),
    Rule("site-capacity", "learners per site and block at most its capacity", _site_capacity),
    Rule("supervisor-match", "a permitted, available supervisor at the site (domains)",
         _by_domains),
    Rule("supervisor-capacity", "named placements per supervisor at most its capacity (Hall)",
         _supervisor_capacity),
    Rule("working-pattern", "sessions_per_week sessions, teaching included", _working_pattern),
    Rule("site-open", "clinical sessions only when the site can host them", _site_open),
    Rule("supervisor-present", "a supervisor working every clinical session (Hall)",
         _supervisor_present),
    Rule("rooms", "clinical sessions per site-session at most its rooms", _rooms),
    Rule("cover", "rotation learners see every cover setting", _cover),
    Rule("no-repeat-site", "a rotation learner uses a site at most once", _no_repeat_site),
    Rule("fellowship", "partner sessions, partner not base, distinct settings", _fellowship),
    Rule("site-minimum", "learners per site and block at least min_learners", _site_minimum),
    Rule("placement-length", "a placement holds its site for its length (§9.1)",
         _placement_length),
    Rule("placement-count", "exactly `placements` placements, other blocks idle",
         _placement_count),
    Rule("requirements", "placements per group of settings within min..max", _requirements),
    Rule("no-repeat-setting", "a setting in at most one placement", _no_repeat_setting),
    Rule("precedence", "`after` placements start once a `before` placement ended",
         _precedence),
    Rule("organisation-cap", "placements per organisation at most max_per_organisation",
         _organisation_cap),
)
"""The rule units in the order they are posted."""


def post_all(b: Build, rules: Iterable[Rule] = RULES) -> None:
    """Post rule units in order: every unit of :data:`RULES` unless ``rules`` names a subset.

    A subset builds a model without some units (tests use it to show that one
    unit alone forbids a case); every user of the formulation posts them all.
    """
    for rule in rules:
        rule.post(b)
