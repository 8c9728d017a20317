"""Read-only index of a scenario for the formulation.

Everything the model needs about "who could go where and when" is computed
once here: candidate sites per learner, block and role, the sessions a
learner could spend at each site, supervisor capacity per profession group,
and which site-block-session limits could ever bind. Each domain reduction
is attributed to the contract rule that causes it, so an empty domain can
be explained in the contract's words.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import combinations
from typing import TypeVar

from rotaplan.models import Learner, Scenario, Site, Supervisor
from rotaplan.models.vocabulary import Role

T = TypeVar("T")

ROTATION, BASE, PARTNER = Role.ROTATION, Role.BASE, Role.PARTNER
UNREACHABLE = 10**12
"""A cost no plan has: a learner who cannot be placed at all (see relaxed_bound)."""
SESSION_RULES = ("site-open", "rooms", "supervisor-present")
LOSS_WORDS = {"site-open": "it is closed on", "rooms": "it has no room on",
              "supervisor-present": "no permitted supervisor works"}


@dataclass(frozen=True, eq=False)
class LearnerInfo:
    """Derived facts about one learner (compared and hashed by identity)."""

    learner: Learner
    index: int
    blocks: tuple[int, ...]
    teaching: tuple[str, ...]  # teaching sessions the learner attends
    candidates: tuple[str, ...]  # sessions that could be clinical
    clinical: int  # clinical sessions per week
    partner_sessions: int  # 0 for rotation learners

    @property
    def id(self) -> str:
        return self.learner.id

    @property
    def profession(self) -> str:
        return self.learner.profession

    @property
    def is_fellow(self) -> bool:
        return self.learner.track == "fellowship"

    @property
    def may_idle(self) -> bool:
        """A rotation learner with ``placements`` (§9.1): blocks no placement occupies are idle."""
        return not self.is_fellow and self.learner.placements is not None

    def need(self, role: Role) -> int:
        """Clinical sessions a week the learner spends in a role."""
        if role == PARTNER:
            return self.partner_sessions
        if role == BASE:
            return self.clinical - self.partner_sessions
        return self.clinical


@dataclass(frozen=True)
class Exclusion:
    """Why a site is not a candidate for a learner (rule name and reason)."""

    rule: str
    reason: str


@dataclass
class Instance:
    """Candidate sets, capacities and session limits of a scenario.

    Parameters
    ----------
    scenario
        A validated scenario.
    candidate_limit
        If set, keep at most about this many candidate sites per learner, block and
        role (listed and pinned sites always, then an even spread of the rest per
        setting). The model is then a restriction: plans stay valid, but optimality
        is only within the restriction, so results must not claim it.
    """

    scenario: Scenario
    candidate_limit: int | None = None
    learners: list[LearnerInfo] = field(init=False)
    # (learner index, block, role) -> site id -> usable clinical sessions there.
    options: dict[tuple[int, int, Role], dict[str, tuple[str, ...]]] = field(init=False)
    # The unrestricted domains (the same object as ``options`` unless capped).
    full_options: dict[tuple[int, int, Role], dict[str, tuple[str, ...]]] = field(init=False)
    # (learner index, block, role) -> site id -> why it was excluded.
    excluded: dict[tuple[int, int, Role], dict[str, Exclusion]] = field(init=False)
    # Fellow index -> base sites usable in every one of their blocks.
    base_sites: dict[int, list[str]] = field(init=False)
    # Memo of pure lookups (supervisor capacities, usable sessions), keyed by arguments.
    _memo: dict[tuple[object, ...], object] = field(init=False, default_factory=dict)
    # Learner index -> possible placements on the current domains (reset when they change).
    _starts: dict[int, list[tuple[str, int]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        sc = self.scenario
        prog = sc.programme
        teaching = set(prog.teaching_sessions)
        fel = sc.tracks.fellowship
        self.learners = []
        for index, learner in enumerate(sc.learners):
            available = learner.available_in(prog)
            attends = tuple(d for d in available if d in teaching)
            cands = tuple(d for d in available if d not in teaching)
            clinical = learner.working_sessions_per_week(prog) - len(attends)
            partner = fel.partner_sessions if learner.track == "fellowship" and fel else 0
            self.learners.append(
                LearnerInfo(learner, index, tuple(learner.blocks_in(prog)), attends, cands,
                            clinical, partner)
            )
        self.options = {}
        self.excluded = {}
        shared: dict[tuple[object, ...], tuple[dict[str, tuple[str, ...]],
                                              dict[str, Exclusion]]] = {}
        for info in self.learners:
            roles = (BASE, PARTNER) if info.is_fellow else (ROTATION,)
            for block in info.blocks:
                for role in roles:
                    # Learners alike in everything the domain depends on share one
                    # (read-only) domain: computed once per type, not per learner.
                    key = self._domain_key(info, block, role)
                    if key not in shared:
                        common = key[:5]  # without avoid and pins: a learner's own exclusions
                        if common not in shared:
                            shared[common] = self._site_options(info, block, role)
                        shared[key] = self._personal(info, block, role, *shared[common])
                    usable, why = shared[key]
                    self.options[(info.index, block, role)] = usable
                    self.excluded[(info.index, block, role)] = why
        self._narrow_to_starts()
        self.full_options = self.options
        if self.candidate_limit is not None:
            self.options = self._limited(self.candidate_limit, {})
            self._narrow_to_starts()
        self._find_base_sites()

    def _narrow_to_starts(self) -> None:
        """Keep a rotation learner's block options to sites some possible placement uses.

        With placements longer than a block, idle blocks or precedence, a site may
        be a candidate in a block although no placement that fits the learner's
        blocks can put them there then (:meth:`starts` prunes those); every
        rule then sees the same domains as the placement variables.
        """
        sc = self.scenario
        if not (self.multi_block or sc.tracks.rotation.precedence
                or any(info.may_idle for info in self.learners)):
            return
        self._starts = {}
        narrowed = dict(self.options)
        for info in self.learners:
            if info.is_fellow:
                continue
            held: dict[int, set[str]] = {}
            for site_id, first in self.starts(info):
                for block in range(first, first + self.length(site_id)):
                    held.setdefault(block, set()).add(site_id)
            fits: dict[int, set[str]] = {}  # without precedence and packing
            for site_id, first in self._fitting(info):
                for block in range(first, first + self.length(site_id)):
                    fits.setdefault(block, set()).add(site_id)
            for block in info.blocks:
                key = (info.index, block, ROTATION)
                keep = held.get(block, set())
                if len(keep) == len(self.options[key]):
                    continue
                narrowed[key] = {s: d for s, d in self.options[key].items() if s in keep}
                why = dict(self.excluded[key])  # shared by learners alike: copy first
                for site_id in self.options[key]:
                    if site_id in keep:
                        continue
                    if site_id not in fits.get(block, ()):
                        why[site_id] = Exclusion(
                            "placement-length", f"no placement at {site_id} that fits the "
                            f"learner's blocks can hold block {block}")
                    elif sc.tracks.rotation.precedence and not info.learner.placements:
                        why[site_id] = Exclusion(
                            "precedence", f"no placement at {site_id} in block {block} "
                            "leaves room for the learner's placements in the order "
                            "precedence asks")
                    else:
                        why[site_id] = Exclusion(
                            "placement-count" if info.may_idle else "precedence"
                            if sc.tracks.rotation.precedence else "placement-length",
                            f"no plan of the learner's placements (their number, lengths"
                            f"{' and order' if sc.tracks.rotation.precedence else ''}) "
                            f"uses {site_id} in block {block}")
                self.excluded[key] = why
        self.options = narrowed
        self._starts = {}

    def starts(self, info: LearnerInfo) -> list[tuple[str, int]]:
        """A rotation learner's possible placements, as (site, first block), in order.

        A placement at a site of length k may start in block t when blocks
        t..t+k-1 are all the learner's and the site is a candidate in each
        (rule 13, placement-length); ordered by first block, then as the
        candidate domains list the sites. With one-block placements these are
        exactly the (site, block) candidates.
        """
        cached = self._starts.get(info.index)
        if cached is not None:
            return cached
        sc = self.scenario
        out = self._fitting(info)
        if self.multi_block or info.may_idle or sc.tracks.rotation.precedence:
            out = _prune(sc, info, out)
        self._starts[info.index] = out
        return out

    def _fitting(self, info: LearnerInfo) -> list[tuple[str, int]]:
        """Placements whose blocks are all the learner's and all candidates (rule 13 alone)."""
        if not self.multi_block:  # every placement is one block: the candidates as they are
            return [(site_id, block) for block in info.blocks
                    for site_id in self.options[(info.index, block, ROTATION)]]
        where: dict[str, set[int]] = {}  # site -> the learner's blocks it is a candidate in
        for block in info.blocks:
            for site_id in self.options[(info.index, block, ROTATION)]:
                where.setdefault(site_id, set()).add(block)
        out: list[tuple[str, int]] = []
        for block in info.blocks:
            for site_id in self.options[(info.index, block, ROTATION)]:
                blocks = where[site_id]
                if all(block + j in blocks for j in range(1, self.length(site_id))):
                    out.append((site_id, block))
        return out

    def length(self, site_id: str) -> int:
        """Blocks one placement at a site lasts (§9.1)."""
        return self._lengths[site_id]

    @cached_property
    def _lengths(self) -> dict[str, int]:
        """Placement length per site, computed once: asked millions of times at 2,000
        learners (12.6 million calls took 10 s of a 30 s time limit, profiled)."""
        return {site.id: self.scenario.placement_length(site) for site in self.scenario.sites}

    @cached_property
    def sites_of_setting(self) -> dict[str, frozenset[str]]:
        """Site ids per setting, computed once per index (rule units asked it per learner
        and setting: 34 ms of each 2,000-learner neighbourhood's build, profiled)."""
        out: dict[str, set[str]] = {}
        for site in self.scenario.sites:
            out.setdefault(site.setting, set()).add(site.id)
        return {setting: frozenset(ids) for setting, ids in out.items()}

    @cached_property
    def capacities_only(self) -> bool:
        """Whether site capacities are the only limits learners share that can bind.

        True when no learner is a fellow and every site has no room limits, has
        supervisors who work every session (so presence is never below Hall's, see
        :meth:`always_present`), and in every block a capacity that the supervisors
        of each learner profession can name on their own (a profession group's
        supervisors include each of its professions'): then Hall's inequalities
        and presence hold for any learners within capacities. Minimums are left
        aside (callers that use this treat them as soft). As on MSS's A&M instances.
        """
        sc = self.scenario
        if any(info.is_fellow for info in self.learners):
            return False
        professions = {info.profession for info in self.learners}
        for site in sc.sites:
            if site.rooms is not None or not self.always_present(site.id):
                return False
            for block in sc.programme.block_numbers:
                cap = site.capacity_in(block)
                if cap is None or any(self.named_capacity(site.id, block, frozenset({p})) < cap
                                      for p in professions):
                    return False
        return True

    @cached_property
    def multi_block(self) -> bool:
        """Whether any site's placements last more than one block."""
        return any(k > 1 for k in self._lengths.values())

    def restrict(self, limit: int | None,
                 keep: dict[tuple[int, int, Role], str] | None = None) -> None:
        """Cap candidate sites (see ``candidate_limit``); None lifts the cap.

        ``keep`` maps (learner, block, role) to a site that stays a candidate
        (for example a known plan's, so the capped model still contains it).
        """
        self.candidate_limit = limit
        self.options = self.full_options if limit is None else self._limited(limit, keep or {})
        self.__dict__.pop("_by_site_block", None)
        self._starts = {}
        if limit is not None:
            self._narrow_to_starts()
        self._find_base_sites()

    def focus(self, free: set[int], keep: dict[tuple[int, int, Role], str],
              sites: set[str] | None = None) -> None:
        """Open domains for the ``free`` learners; everyone else held at ``keep``.

        A free learner may use their kept site and any of ``sites`` (all sites
        when None). A held learner's only candidate is their kept site in each
        block (none if they have no kept site, so they stay unplaced). Used by
        neighbourhood search; ``restrict(None)`` lifts it.
        """
        out: dict[tuple[int, int, Role], dict[str, tuple[str, ...]]] = {}
        allowed: set[str] = sites if sites is not None else set()
        for key, options in self.full_options.items():
            chosen = keep.get(key)
            if key[0] in free and sites is None:
                out[key] = options
            elif key[0] in free:
                out[key] = {s: d for s, d in options.items() if s in allowed or s == chosen}
            else:
                out[key] = {chosen: options[chosen]} if chosen in options else {}
        self.candidate_limit = 0
        self.options = out
        self.__dict__.pop("_by_site_block", None)
        self._starts = {}
        self._narrow_to_starts()
        self._find_base_sites()

    def part(self, indices: Iterable[int], sites: Collection[str] | None = None,
             keep: dict[tuple[int, int, Role], str] | None = None,
             held: Collection[int] = ()) -> tuple[Instance, list[int]]:
        """The index of a few learners only (no recomputation of their domains).

        Returns the part and, for each of its learners in order, their index
        here. Neighbourhood search builds the model of the part only; the
        others' use of sites and supervisors is a :class:`~rotaplan.solver.load.Load`.
        With ``sites``, the learners' domains keep only those sites and their
        ``keep`` site (keyed by this index's learner indices), so a plan that
        has them there stays a solution of the part. ``held`` learners (among
        ``indices``) keep only their ``keep`` site: their weekly sessions are
        free, their sites are not. The part shares this
        index's memo of pure lookups (sites and supervisors do not change).
        """
        chosen = sorted(set(indices))
        hold = set(held)
        sc = self.scenario
        fields = {name: getattr(sc, name) for name in type(sc).model_fields}
        fields["learners"] = [self.learners[i].learner for i in chosen]
        part = object.__new__(Instance)
        part.scenario = type(sc).model_construct(_fields_set=sc.model_fields_set, **fields)
        part.candidate_limit = None
        part.learners = [replace(self.learners[i], index=k) for k, i in enumerate(chosen)]
        part.options, part.excluded = {}, {}
        kept = keep or {}
        for k, i in enumerate(chosen):
            info = self.learners[i]
            for block in info.blocks:
                for role in self.roles_of(info):
                    full = self.full_options[(i, block, role)]
                    mine = kept.get((i, block, role))
                    if i in hold:
                        full = {mine: full[mine]} if mine in full else {}
                    elif sites is not None:
                        full = {s: d for s, d in full.items() if s in sites or s == mine}
                    part.options[(k, block, role)] = full
                    part.excluded[(k, block, role)] = self.excluded[(i, block, role)]
        part.full_options = part.options
        part._memo = self._memo
        part._starts = {}
        if sites is not None or hold:
            part._narrow_to_starts()
            part.full_options = part.options
        part._find_base_sites()
        return part, chosen

    def learner_floor(self, info: LearnerInfo) -> int:
        """The learner's least possible preference cost, capacities ignored."""
        return self._learner_bound(info, self.scenario.preference_cost)

    def _find_base_sites(self) -> None:
        sc = self.scenario
        self.base_sites = {}
        for info in self.learners:
            if info.is_fellow:
                common = [
                    s.id for s in sc.sites
                    if all(s.id in self.options[(info.index, b, BASE)] for b in info.blocks)
                ]
                self.base_sites[info.index] = common

    # ----- domains -------------------------------------------------------------------------

    @staticmethod
    def _domain_key(info: LearnerInfo, block: int, role: Role) -> tuple[object, ...]:
        learner = info.learner
        if role == ROTATION:
            pin: object = learner.pinned.get(block)
        elif role == BASE:
            pin = frozenset(learner.pinned.values())
        else:
            pin = None
        return (learner.profession, info.candidates, info.need(role), role, block,
                frozenset(learner.avoid), pin)

    @property
    def restricted(self) -> bool:
        """True when candidate sites were capped (optimality cannot be claimed)."""
        return self.options is not self.full_options

    def candidate_count(self) -> int:
        """Placement options over all learners, blocks and roles (model size driver)."""
        return sum(len(sites) for sites in self.full_options.values())

    def _limited(self, limit: int, keep_sites: dict[tuple[int, int, Role], str]
                 ) -> dict[tuple[int, int, Role], dict[str, tuple[str, ...]]]:
        """Cap candidate sites per learner and role, keeping the same sites every block."""
        sc = self.scenario
        index_of = {s.id: k for k, s in enumerate(sc.sites)}
        setting_of = {s.id: s.setting for s in sc.sites}
        kept: dict[tuple[int, Role], set[str]] = defaultdict(set)
        for (i, _, r), site in keep_sites.items():
            kept[(i, r)].add(site)
        out = {}
        for info in self.learners:
            for role in self.roles_of(info):
                union: dict[str, None] = {}
                for block in info.blocks:
                    union.update(dict.fromkeys(self.full_options[(info.index, block, role)]))
                if limit <= 0:  # exactly the kept site of each block
                    for block in info.blocks:
                        chosen = keep_sites.get((info.index, block, role))
                        sites = self.full_options[(info.index, block, role)]
                        out[(info.index, block, role)] = \
                            {chosen: sites[chosen]} if chosen in sites else {}
                    continue
                keep = self._spread(info, list(union), limit, index_of, setting_of)
                keep |= kept.get((info.index, role), set())
                for block in info.blocks:
                    sites = self.full_options[(info.index, block, role)]
                    out[(info.index, block, role)] = {s: d for s, d in sites.items() if s in keep}
        return out

    def _spread(self, info: LearnerInfo, sites: list[str], limit: int,
                index_of: dict[str, int], setting_of: dict[str, str]) -> set[str]:
        learner = info.learner
        listed = set(learner.preferences) | set(learner.pinned.values())
        keep = {s for s in sites if s in listed}
        by_setting: dict[str, list[str]] = defaultdict(list)
        for s in sites:
            if s not in keep:
                by_setting[setting_of[s]].append(s)
        per_setting = max(2, (limit - len(keep)) // max(1, len(by_setting)))
        for rest in by_setting.values():
            # A deterministic spread: each learner sees a different slice of the sites.
            rest.sort(key=lambda s: (index_of[s] * 2654435761 + info.index * 40503) % 2**32)
            keep.update(rest[:per_setting])
        return keep

    def relaxed_bound(self, unplaced_penalty: int | None = None,
                      floors: dict[int, int] | None = None) -> int:
        """A valid lower bound on the preference cost over the full domains.

        Each learner on their own, capacities ignored (:meth:`learner_floors`, or
        ``floors`` when they are at hand). With ``unplaced_penalty``, a learner
        counts at most the penalty; without it, a learner who cannot be placed at
        all counts 0 (there is no plan to bound).
        """
        floors = self.learner_floors() if floors is None else floors
        total = 0
        for least in floors.values():
            if unplaced_penalty is not None:
                least = min(least, unplaced_penalty)
            total += least if least < UNREACHABLE else 0
        return total

    def learner_floors(self) -> dict[int, int]:
        """Every learner's :meth:`learner_floor`, by learner index (3.4 s at 2,000)."""
        cost_of = self.scenario.preference_cost
        return {info.index: self._learner_bound(info, cost_of) for info in self.learners}

    def _learner_bound(self, info: LearnerInfo, cost_of: Callable[[Learner, Site], int]) -> int:
        """A learner's least cost on their own over the full domains (capacities ignored).

        Version 1: exact over the sites each block allows, the cover (a rotation
        learner's sites include every cover setting) and the fellowship's shape
        (one base site all year; partner sites covering ``distinct_partner_settings``
        settings), by :func:`least_cost`; it leaves out only ``no-repeat-site`` and
        a fellow's partner differing from the base. On the 300-learner benchmark
        tier that is 1,675, the learners' exact optima by CP-SAT (13 s), against
        1,612 when each cover setting was priced at its cheapest site on its own.
        Version 2 (placements spanning blocks, idle blocks): each cover setting at
        its cheapest site, every other block at the cheapest site of all.
        """
        sc = self.scenario
        learner = info.learner
        if info.is_fellow:
            return self._fellow_bound(info, cost_of)
        cover = list(dict.fromkeys(sc.tracks.rotation.cover))
        if not sc.uses_v2:
            blocks = self._least_by_kind(info, ROTATION, cover, cost_of)
            found = least_cost(blocks, len(cover), len(cover))
            return found if found is not None else UNREACHABLE
        by_setting: dict[str, int] = {}
        cheapest = None
        for b in info.blocks:
            for s in self.full_options[(info.index, b, ROTATION)]:
                c = cost_of(learner, sc.site_by_id[s])
                t = sc.site_by_id[s].setting
                by_setting[t] = min(c, by_setting.get(t, c))
                cheapest = c if cheapest is None else min(cheapest, c)
        total = sum(by_setting.get(t, 0) for t in cover)
        total += max(0, len(info.blocks) - len(cover)) * (cheapest or 0)
        return total

    def _least_by_kind(self, info: LearnerInfo, role: Role, settings: list[str],
                       cost_of: Callable[[Learner, Site], int]) -> list[dict[int | None, int]]:
        """Per block, the least cost of a site in each of ``settings`` (by position; None
        for any other setting), over the full domains: :func:`least_cost`'s input."""
        sc = self.scenario
        kind = {t: k for k, t in enumerate(settings)}
        blocks = []
        for b in info.blocks:
            least: dict[int | None, int] = {}
            for s in self.full_options[(info.index, b, role)]:
                site = sc.site_by_id[s]
                c, k = cost_of(info.learner, site), kind.get(site.setting)
                least[k] = min(c, least.get(k, c))
            blocks.append(least)
        return blocks

    def _fellow_bound(self, info: LearnerInfo, cost_of: Callable[[Learner, Site], int]) -> int:
        """A fellow's least cost: the best base kept all year, plus partners by
        :func:`least_cost` over the partner settings."""
        sc = self.scenario
        learner = info.learner
        # from the full domains: base_sites follows a restriction of them
        bases = [len(info.blocks) * cost_of(learner, site) for site in sc.sites
                 if all(site.id in self.full_options[(info.index, b, BASE)]
                        for b in info.blocks)]
        if not bases:
            return UNREACHABLE
        fel = sc.tracks.fellowship
        settings = list(dict.fromkeys(fel.partner_settings)) if fel is not None else []
        blocks = self._least_by_kind(info, PARTNER, settings, cost_of)
        distinct = fel.distinct_partner_settings if fel is not None else 0
        partners = least_cost(blocks, len(settings), distinct)
        return UNREACHABLE if partners is None else min(bases) + partners

    def _site_options(
        self, info: LearnerInfo, block: int, role: Role
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, Exclusion]]:
        """Usable sites (with their sessions) and why the others are not, before the
        learner's own avoid and pins (:meth:`_personal` applies those)."""
        usable: dict[str, tuple[str, ...]] = {}
        why: dict[str, Exclusion] = {}
        for site in self.scenario.sites:
            reason = self._site_exclusion(info, block, role, site, personal=False)
            if reason is not None:
                why[site.id] = reason
                continue
            sessions, lost = self.session_losses(site, block, info.profession, info.candidates)
            need = info.need(role)
            if len(sessions) < need:
                why[site.id] = self._shortfall(site.id, block, need, info.candidates, lost)
                continue
            usable[site.id] = sessions
        return usable, why

    def _personal(
        self, info: LearnerInfo, block: int, role: Role,
        usable: dict[str, tuple[str, ...]], why: dict[str, Exclusion],
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, Exclusion]]:
        """A shared domain narrowed by the learner's avoid list and pins.

        Domains are computed once per kind of learner without these (1,526 kinds
        of 2,000 generated learners shrink to a few hundred: the domains took 8 s
        of a 30 s time limit) and each learner's own exclusions are laid over.
        The reason kept is the one :meth:`_site_exclusion` gives first.
        """
        learner = info.learner
        pinned = (role == ROTATION and block in learner.pinned) or (
            role == BASE and bool(learner.pinned))
        if not learner.avoid and not pinned:
            return usable, why
        usable, why = dict(usable), dict(why)
        for site in self.scenario.sites:
            if not site.accepts_profession(learner.profession):
                continue  # the shared reason comes first
            reason = self._personal_exclusion(info, block, role, site)
            if reason is not None:
                usable.pop(site.id, None)
                why[site.id] = reason
        return usable, why

    @staticmethod
    def _personal_exclusion(info: LearnerInfo, block: int, role: Role,
                            site: Site) -> Exclusion | None:
        """The learner's own reasons a site is not possible: avoided or pinned elsewhere."""
        learner = info.learner
        if site.id in learner.avoid:
            return Exclusion("eligibility", f"the learner avoids {site.id}")
        if site.setting in learner.avoid:
            return Exclusion("eligibility", f"the learner avoids {site.setting} ({site.id})")
        if role == ROTATION and block in learner.pinned and learner.pinned[block] != site.id:
            return Exclusion("eligibility", f"pinned to {learner.pinned[block]} in block {block}")
        if role == BASE and learner.pinned and site.id not in learner.pinned.values():
            pin = next(iter(learner.pinned.values()))
            return Exclusion("eligibility", f"the base is pinned to {pin}")
        return None

    @staticmethod
    def _shortfall(site_id: str, block: int, need: int, candidates: tuple[str, ...],
                   lost: dict[str, list[str]]) -> Exclusion:
        """Name the rule whose lost sessions leave too few (site-open, rooms, presence)."""
        left = len(candidates)
        blame = "working-pattern"
        for rule in SESSION_RULES:
            left -= len(lost.get(rule, []))
            if left < need:
                blame = rule
                break
        parts = [f"{LOSS_WORDS[r]} {', '.join(lost[r])}" for r in SESSION_RULES if lost.get(r)]
        return Exclusion(blame, f"at {site_id} in block {block} {'; '.join(parts)}: "
                         f"{left if blame == 'working-pattern' else max(left, 0)} of the "
                         f"learner's sessions left, {need} needed")

    def _site_exclusion(
        self, info: LearnerInfo, block: int, role: Role, site: Site, *, personal: bool = True
    ) -> Exclusion | None:
        """Why a site is not possible for the learner in a block and role (None: it may be).

        ``personal=False`` leaves out the learner's avoid list and pins (see
        :meth:`_personal`).
        """
        sc = self.scenario
        learner = info.learner
        fel = sc.tracks.fellowship
        if not site.accepts_profession(learner.profession):
            return Exclusion("eligibility", f"{site.id} does not accept {learner.profession}")
        if personal:
            reason = self._personal_exclusion(info, block, role, site)
            if reason is not None:
                return reason
        if role == BASE and fel is not None and site.setting != fel.base_setting:
            return Exclusion("eligibility", f"{site.id} is not in the base setting")
        if role == PARTNER and fel is not None and site.setting not in fel.partner_settings:
            return Exclusion("eligibility", f"{site.id} is not in a partner setting")
        if site.capacity_in(block) == 0:
            return Exclusion("site-capacity", f"{site.id} has capacity 0 in block {block}")
        if not self.named_supervisors(site.id, block, frozenset([learner.profession])):
            return Exclusion("supervisor-match", f"no supervisor at {site.id} may supervise "
                             f"{learner.profession} in block {block}")
        return None

    def session_losses(
        self, site: Site, block: int, profession: str, candidates: tuple[str, ...]
    ) -> tuple[tuple[str, ...], dict[str, list[str]]]:
        """Sessions a learner could spend clinically at a site, and those lost per rule.

        A candidate session is lost to ``site-open`` (closed), then ``rooms`` (no
        room), then ``supervisor-present`` (no permitted supervisor works it).
        """
        key = ("losses", site.id, block, profession, candidates)
        if key not in self._memo:
            self._memo[key] = self._session_losses(site, block, profession, candidates)
        return self._memo[key]  # type: ignore[return-value]

    def _session_losses(
        self, site: Site, block: int, profession: str, candidates: tuple[str, ...]
    ) -> tuple[tuple[str, ...], dict[str, list[str]]]:
        status = self._session_status(site, block, profession)
        lost: dict[str, list[str]] = {rule: [] for rule in SESSION_RULES}
        usable = []
        for d in candidates:
            rule = status.get(d)
            if rule is None:
                usable.append(d)
            else:
                lost[rule].append(d)
        return tuple(usable), lost

    def _session_status(self, site: Site, block: int, profession: str) -> dict[str, str]:
        """The rule that takes each of the programme's sessions at a site (absent: usable).

        Once per site, block and profession; learners' many working patterns then
        only look sessions up (336,000 pattern-site pairs at 2,000 generated learners
        took 7 s to check session by session, profiled).
        """
        key = ("status", site.id, block, profession)
        if key not in self._memo:
            open_set = set(site.open_in(self.scenario.programme))
            present = self.present_sessions(site.id, block, profession)
            status: dict[str, str] = {}
            for d in self.scenario.programme.sessions:
                if d not in open_set:
                    status[d] = "site-open"
                elif site.rooms_at(d) == 0:
                    status[d] = "rooms"
                elif d not in present:
                    status[d] = "supervisor-present"
            self._memo[key] = status
        return self._memo[key]  # type: ignore[return-value]

    # ----- supervisors ---------------------------------------------------------------------

    @cached_property
    def _supervisors(self) -> dict[str, list[tuple[Supervisor, frozenset[str]]]]:
        sc = self.scenario
        return {
            site.id: [(u, frozenset(sc.supervisor_sessions(site, u))) for u in site.supervisors]
            for site in sc.sites
        }

    def always_present(self, site_id: str) -> bool:
        """Whether every supervisor at a site works every session of the week.

        Then the learners supervisors working a session can oversee are those
        they can name (:meth:`present_capacity` equals :meth:`named_capacity`),
        and a learner outside a model holds at most one clinical session there
        per session, so no session's limit is tighter than Hall's.
        """
        key = ("always", site_id)
        if key not in self._memo:
            week = frozenset(self.scenario.programme.sessions)
            self._memo[key] = all(week <= works for _, works in self._supervisors[site_id])
        return self._memo[key]  # type: ignore[return-value]

    def _allowed(self, supervisor: Supervisor, professions: frozenset[str]) -> bool:
        return any(self.scenario.may_supervise(supervisor.profession, p) for p in professions)

    def named_supervisors(
        self, site_id: str, block: int, professions: frozenset[str]
    ) -> list[Supervisor]:
        """Supervisors at a site who may supervise any of the professions in a block."""
        key = ("named", site_id, block, professions)
        if key not in self._memo:
            self._memo[key] = self._named_supervisors(site_id, block, professions)
        return self._memo[key]  # type: ignore[return-value]

    def _named_supervisors(
        self, site_id: str, block: int, professions: frozenset[str]
    ) -> list[Supervisor]:
        return [
            u for u, _ in self._supervisors[site_id]
            if u.capacity > 0 and block not in u.unavailable_blocks
            and self._allowed(u, professions)
        ]

    def named_capacity(self, site_id: str, block: int, professions: frozenset[str]) -> int:
        """Hall capacity: placements the site's supervisors can name for a profession group."""
        return sum(u.capacity for u in self.named_supervisors(site_id, block, professions))

    def supervised_places(self, site_id: str, block: int, profession: str) -> int:
        """Most learners of a profession the site can take in a block.

        ``min(site capacity, capacity of the supervisors who may supervise
        them)``: an upper bound used by counting checks and capacity questions.
        """
        named = self.named_capacity(site_id, block, frozenset({profession}))
        cap = self.scenario.site_by_id[site_id].capacity_in(block)
        return named if cap is None else min(cap, named)

    def present_capacity(
        self, site_id: str, block: int, professions: frozenset[str], session: str
    ) -> int:
        """Learners of a profession group that supervisors working a session can oversee."""
        key = ("present", site_id, block, professions, session)
        if key not in self._memo:
            self._memo[key] = self._present_capacity(site_id, block, professions, session)
        return self._memo[key]  # type: ignore[return-value]

    def _present_capacity(
        self, site_id: str, block: int, professions: frozenset[str], session: str
    ) -> int:
        return sum(
            u.capacity for u, works in self._supervisors[site_id]
            if session in works and u.capacity > 0 and block not in u.unavailable_blocks
            and self._allowed(u, professions)
        )

    def present_sessions(self, site_id: str, block: int, profession: str) -> set[str]:
        """Sessions in which some supervisor for a profession works at a site in a block."""
        out: set[str] = set()
        for u, works in self._supervisors[site_id]:
            if (u.capacity > 0 and block not in u.unavailable_blocks
                    and self.scenario.may_supervise(u.profession, profession)):
                out |= works
        return out

    def hall_groups(self, site_id: str, professions: set[str]) -> list[frozenset[str]]:
        """Profession groups whose Hall inequalities are not implied by smaller ones.

        A group whose professions split into two parts with disjoint supervisor
        sets is implied by the parts, so only "connected" groups are kept.
        """
        key = ("hall", site_id, frozenset(professions))
        if key not in self._memo:
            self._memo[key] = self._hall_groups(site_id, professions)
        return self._memo[key]  # type: ignore[return-value]

    def _hall_groups(self, site_id: str, professions: set[str]) -> list[frozenset[str]]:
        profs = sorted(professions)
        neighbours = {
            p: frozenset(u.id for u, _ in self._supervisors[site_id]
                         if self.scenario.may_supervise(u.profession, p))
            for p in profs
        }
        groups = []
        for size in range(1, len(profs) + 1):
            for combo in combinations(profs, size):
                if _connected(combo, neighbours):
                    groups.append(frozenset(combo))
        return groups

    # ----- helpers -------------------------------------------------------------------------

    def roles_of(self, info: LearnerInfo) -> tuple[Role, ...]:
        """The placement roles a learner has each block."""
        return (BASE, PARTNER) if info.is_fellow else (ROTATION,)

    @cached_property
    def learner_by_id(self) -> dict[str, LearnerInfo]:
        """Learner facts by learner id."""
        return {info.id: info for info in self.learners}

    def candidates_at(self, site_id: str, block: int) -> list[tuple[LearnerInfo, Role]]:
        """Learner roles that could be placed at a site in a block."""
        return self._by_site_block.get((site_id, block), [])

    @cached_property
    def _by_site_block(self) -> dict[tuple[str, int], list[tuple[LearnerInfo, Role]]]:
        out: dict[tuple[str, int], list[tuple[LearnerInfo, Role]]] = defaultdict(list)
        for info in self.learners:
            for block in info.blocks:
                for role in self.roles_of(info):
                    for site_id in self.options[(info.index, block, role)]:
                        if role == BASE and site_id not in self.base_sites[info.index]:
                            continue
                        out[(site_id, block)].append((info, role))
        return dict(out)


def _prune(sc: Scenario, info: LearnerInfo, starts: list[tuple[str, int]]
           ) -> list[tuple[str, int]]:
    """Drop placements no plan can use: exact, so the model only gets smaller.

    - **Precedence**: a placement in ``after`` starts no earlier than the
      earliest end of a possible placement in ``before`` (chains included); with
      none possible, no placement in ``after`` (rule 17).
    - **Packing**: around a placement, the learner's other placements must fit
      in their blocks: every block occupied (without ``placements``) needs the
      blocks before and after to be exactly filled with the lengths on offer;
      with ``placements: n``, at least n - 1 placements of the shortest length
      must fit in the blocks before and after. On the MSS duration-4 instances
      this halves the model (a scratch prototype measured 376k -> 175k
      variables on Instance_L80).
    """
    setting_of = {s.id: s.setting for s in sc.sites}
    length = {site.id: sc.placement_length(site) for site in sc.sites}
    kept = list(starts)
    rules = [r for r in sc.tracks.rotation.precedence if r.before not in info.learner.completed]
    while rules:  # earliest starts along precedence chains, to the fixpoint
        end: dict[str, float] = {}  # setting -> earliest end of a placement in it
        for s, t in kept:
            setting = setting_of[s]
            end[setting] = min(end.get(setting, math.inf), t + length[s])
        start: dict[str, float] = {}  # setting -> earliest start its precedence allows
        for rule in rules:
            start[rule.after] = max(start.get(rule.after, -math.inf),
                                    end.get(rule.before, math.inf))
        count = len(kept)
        kept = [(s, t) for s, t in kept if t >= start.get(setting_of[s], -math.inf)]
        if len(kept) == count:
            break
    if not kept:
        return kept
    own = sorted(info.blocks)
    lengths = sorted({length[s] for s, _ in kept})
    if info.learner.placements is None:
        head, tail = _fillable(own, lengths)
        at = {b: n for n, b in enumerate(own)}
        return [(s, t) for s, t in kept
                if head[at[t]] and tail[at[t + length[s] - 1] + 1]]
    need = info.learner.placements - 1
    shortest = lengths[0]
    room: dict[tuple[int, int], bool] = {}  # (first block, length) -> the others fit around

    def fits(t: int, k: int) -> bool:
        if (t, k) not in room:
            room[(t, k)] = _fit([b for b in own if b < t], shortest) \
                + _fit([b for b in own if b >= t + k], shortest) >= need
        return room[(t, k)]

    return [(s, t) for s, t in kept if fits(t, length[s])]


def _consecutive(blocks: list[int], first: int, count: int) -> bool:
    """Whether blocks[first:first + count] are consecutive block numbers."""
    return all(blocks[first + j + 1] == blocks[first + j] + 1 for j in range(count - 1))


def _fillable(blocks: list[int], lengths: list[int]) -> tuple[list[bool], list[bool]]:
    """Whether the first n blocks, and the blocks from position n on, can be filled
    exactly with placements of these lengths (each a run of consecutive blocks)."""
    size = len(blocks)
    before = [True] + [False] * size
    for n in range(1, size + 1):
        before[n] = any(k <= n and before[n - k] and _consecutive(blocks, n - k, k)
                        for k in lengths)
    after = [False] * size + [True]
    for n in range(size - 1, -1, -1):
        after[n] = any(n + k <= size and after[n + k] and _consecutive(blocks, n, k)
                       for k in lengths)
    return before, after


def _fit(blocks: list[int], k: int) -> int:
    """Most placements of ``k`` consecutive blocks that fit in ``blocks`` (sorted)."""
    count = run = 0
    previous: int | None = None
    for b in blocks:
        run = run + 1 if previous is not None and b == previous + 1 else 1
        previous = b
        if run == k:
            count += 1
            run = 0
            previous = None  # the next placement starts afresh
    return count


def least_cost(blocks: list[dict[int | None, int]], kinds: int, distinct: int) -> int | None:
    """The least total cost of one choice per block with at least ``distinct`` kinds among them.

    Parameters
    ----------
    blocks
        Per block, the least cost of a choice of each kind (``0..kinds-1``, or
        None for a choice of no counted kind); a block with no entry has no choice.
    kinds
        Number of counted kinds.
    distinct
        Least number of different kinds the choices must include.

    Returns
    -------
    int or None
        The least total, or None when no choice meets ``distinct``
        (:func:`least_choices` without the choices kept).
    """
    found = least_choices([{k: (c, None) for k, c in least.items()} for least in blocks],
                          kinds, distinct)
    return None if found is None else int(found[0])


def least_choices(blocks: list[dict[int | None, tuple[float, T]]], kinds: int, distinct: int
                  ) -> tuple[float, tuple[T, ...]] | None:
    """:func:`least_cost` with the choices: per block and kind, a cost and what is chosen.

    Returns
    -------
    tuple or None
        The least total and the choice of each block, or None when no choice meets
        ``distinct``. A dynamic programme over the blocks whose state is the set of
        kinds met so far.
    """
    if distinct > len(blocks):
        return None
    best: dict[int, tuple[float, tuple[T, ...]]] = {0: (0, ())}
    for least in blocks:
        after: dict[int, tuple[float, tuple[T, ...]]] = {}
        for met, (cost, path) in best.items():
            for kind, (c, choice) in least.items():
                state = met if kind is None else met | (1 << kind)
                if state not in after or cost + c < after[state][0]:
                    after[state] = (cost + c, (*path, choice))
        best = after
    done = [v for met, v in best.items() if met.bit_count() >= min(distinct, kinds)]
    return min(done, key=lambda v: v[0], default=None)


def _connected(combo: tuple[str, ...], neighbours: dict[str, frozenset[str]]) -> bool:
    """Whether professions form one component when linked by shared supervisors."""
    if len(combo) == 1:
        return True
    seen = {combo[0]}
    frontier = [combo[0]]
    while frontier:
        p = frontier.pop()
        for q in combo:
            if q not in seen and neighbours[p] & neighbours[q]:
                seen.add(q)
                frontier.append(q)
    return len(seen) == len(combo)
