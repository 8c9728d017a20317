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

from rotaplan.solver.instance import BASE, PARTNER, ROTATION, Instance, LearnerInfo, Role
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
    groups: dict[Group, cp_model.IntVar] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

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
    """§5: a placed learner has one site per block and role; fellows one base."""
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
                ct = b.model.add(sum(sites.values()) == placed)
                b.add(ct, "placement", (info.id, str(block)), f"placement of {info.id}: {what}")


def _by_domains(_: Build) -> None:
    """Enforced by the candidate domains built in :class:`~solver.instance.Instance`."""


def _site_capacity(b: Build) -> None:
    for site in b.inst.scenario.sites:
        for block in b.inst.scenario.programme.block_numbers:
            cap = site.capacity_in(block)
            here = b.place_at(site.id, block)
            if cap is None or len(here) <= cap:
                continue
            ct = b.model.add(sum(lit for _, _, lit in here) <= cap)
            b.add(ct, "site-capacity", (site.id, str(block)),
                  f"site-capacity of {site.id} in block {block} ({cap})")


def _supervisor_capacity(b: Build) -> None:
    """Hall's condition per profession group: named places suffice (exact b-matching)."""
    inst = b.inst
    for site in inst.scenario.sites:
        for block in inst.scenario.programme.block_numbers:
            here = b.place_at(site.id, block)
            if not here:
                continue
            cap = site.capacity_in(block)
            for group in inst.hall_groups(site.id, {info.profession for info, _, _ in here}):
                lits = [lit for info, _, lit in here if info.profession in group]
                limit = inst.named_capacity(site.id, block, group)
                if len(lits) <= limit or (cap is not None and cap <= limit):
                    continue
                ct = b.model.add(sum(lits) <= limit)
                names = ", ".join(u.id for u in inst.named_supervisors(site.id, block, group))
                b.add(ct, "supervisor-capacity", (site.id, str(block), *sorted(group)),
                      f"supervisor-capacity at {site.id} in block {block} for "
                      f"{'/'.join(sorted(group))}: {limit} place(s) ({names})")


def _working_pattern(b: Build) -> None:
    """Exactly the learner's clinical sessions each block; fellows split base/partner."""
    for info in b.inst.learners:
        placed = b.v.placed[info.index]
        for block in info.blocks:
            for role in b.inst.roles_of(info):
                works = [b.v.works[(info.index, block, role, d)] for d in info.candidates]
                ct = b.model.add(sum(works) == info.need(role) * placed)
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
                    if isinstance(works, int) or works is b.v.placed[info.index]:
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
        for block in sc.programme.block_numbers:
            here = inst.candidates_at(site.id, block)
            if not here:
                continue
            cap = site.capacity_in(block)
            if rule == "rooms":
                groups: list[frozenset[str] | None] = [None]
            else:
                groups = list(inst.hall_groups(site.id, {info.profession for info, _ in here}))
            # (session, profession) -> learner roles that could be clinical here then.
            by_session: dict[tuple[str, str], list[tuple[LearnerInfo, Role]]] = {}
            for info, role in here:
                for d in inst.options[(info.index, block, role)][site.id]:
                    by_session.setdefault((d, info.profession), []).append((info, role))
            professions = {info.profession for info, _ in here}
            for group in groups:
                profs = sorted(professions if group is None else professions & group)
                members = sum(1 for info, _ in here if info.profession in profs)
                ceiling = members if cap is None else min(cap, members)
                if group is not None:
                    ceiling = min(ceiling, inst.named_capacity(site.id, block, group))
                volume_terms = []
                volume_limit = 0
                binding = False
                for d in sc.programme.sessions:
                    if group is None:
                        limit = site.rooms_at(d)
                    else:
                        limit = inst.present_capacity(site.id, block, group, d)
                    lists = [by_session.get((d, p), []) for p in profs]
                    most = min(ceiling, sum(map(len, lists)))  # who could be here then
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


def _cover(b: Build) -> None:
    inst = b.inst
    cover = inst.scenario.tracks.rotation.cover
    setting_of = {s.id: s.setting for s in inst.scenario.sites}
    for info in inst.learners:
        if info.is_fellow:
            continue
        for setting in dict.fromkeys(cover):
            lits = [lit for block in info.blocks
                    for s, lit in b.v.place[(info.index, block, ROTATION)].items()
                    if setting_of[s] == setting]
            ct = b.model.add(sum(lits) >= b.v.placed[info.index])
            b.add(ct, "cover", (info.id, setting), f"cover of {info.id}: {setting}")


def _no_repeat_site(b: Build) -> None:
    inst = b.inst
    if not inst.scenario.tracks.rotation.no_repeat_site:
        return
    for info in inst.learners:
        if info.is_fellow:
            continue
        by_site: dict[str, list[Lit]] = {}
        for block in info.blocks:
            for s, lit in b.v.place[(info.index, block, ROTATION)].items():
                by_site.setdefault(s, []).append(lit)
        for s, lits in by_site.items():
            if len(lits) > 1:
                ct = b.model.add_at_most_one(lits)
                b.add(ct, "no-repeat-site", (info.id, s), f"no-repeat-site of {info.id}: {s}")


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
    for site in b.inst.scenario.sites:
        for block in b.inst.scenario.programme.block_numbers:
            need = site.minimum_in(block)
            if need <= 0:
                continue
            here = b.place_at(site.id, block)
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
)
"""The rule units in the order they are posted."""


def post_all(b: Build) -> None:
    """Post every rule unit, in :data:`RULES` order."""
    for rule in RULES:
        rule.post(b)
