"""Read-only index of a scenario for the formulation.

Everything the model needs about "who could go where and when" is computed
once here: candidate sites per learner, block and role, the sessions a
learner could spend at each site, supervisor capacity per profession group,
and which site-block-session limits could ever bind. Each domain reduction
is attributed to the contract rule that causes it, so an empty domain can
be explained in the contract's words.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

from models import Learner, Scenario, Site, Supervisor

Role = str  # "rotation", "base" or "partner"
ROTATION, BASE, PARTNER = "rotation", "base", "partner"
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
    """

    scenario: Scenario
    learners: list[LearnerInfo] = field(init=False)
    # (learner index, block, role) -> site id -> usable clinical sessions there.
    options: dict[tuple[int, int, Role], dict[str, tuple[str, ...]]] = field(init=False)
    # (learner index, block, role) -> site id -> why it was excluded.
    excluded: dict[tuple[int, int, Role], dict[str, Exclusion]] = field(init=False)
    # Fellow index -> base sites usable in every one of their blocks.
    base_sites: dict[int, list[str]] = field(init=False)
    # Memo of pure lookups (supervisor capacities, usable sessions), keyed by arguments.
    _memo: dict[tuple[object, ...], object] = field(init=False, default_factory=dict)

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
        for info in self.learners:
            roles = (BASE, PARTNER) if info.is_fellow else (ROTATION,)
            for block in info.blocks:
                for role in roles:
                    usable, why = self._site_options(info, block, role)
                    self.options[(info.index, block, role)] = usable
                    self.excluded[(info.index, block, role)] = why
        self.base_sites = {}
        for info in self.learners:
            if info.is_fellow:
                common = [
                    s.id for s in sc.sites
                    if all(s.id in self.options[(info.index, b, BASE)] for b in info.blocks)
                ]
                self.base_sites[info.index] = common

    # ----- domains -------------------------------------------------------------------------

    def _site_options(
        self, info: LearnerInfo, block: int, role: Role
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, Exclusion]]:
        usable: dict[str, tuple[str, ...]] = {}
        why: dict[str, Exclusion] = {}
        for site in self.scenario.sites:
            reason = self._site_exclusion(info, block, role, site)
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
        self, info: LearnerInfo, block: int, role: Role, site: Site
    ) -> Exclusion | None:
        sc = self.scenario
        learner = info.learner
        fel = sc.tracks.fellowship
        if not site.accepts_profession(learner.profession):
            return Exclusion("eligibility", f"{site.id} does not accept {learner.profession}")
        if site.id in learner.avoid:
            return Exclusion("eligibility", f"{learner.id} avoids {site.id}")
        if role == ROTATION and block in learner.pinned and learner.pinned[block] != site.id:
            return Exclusion("eligibility", f"{learner.id} is pinned to "
                             f"{learner.pinned[block]} in block {block}")
        if role == BASE and learner.pinned and site.id not in learner.pinned.values():
            pin = next(iter(learner.pinned.values()))
            return Exclusion("eligibility", f"{learner.id}'s base is pinned to {pin}")
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
        open_set = set(site.open_in(self.scenario.programme))
        present = self.present_sessions(site.id, block, profession)
        lost: dict[str, list[str]] = {rule: [] for rule in SESSION_RULES}
        usable = []
        for d in candidates:
            if d not in open_set:
                lost["site-open"].append(d)
            elif site.rooms_at(d) == 0:
                lost["rooms"].append(d)
            elif d not in present:
                lost["supervisor-present"].append(d)
            else:
                usable.append(d)
        return tuple(usable), lost

    # ----- supervisors ---------------------------------------------------------------------

    @cached_property
    def _supervisors(self) -> dict[str, list[tuple[Supervisor, frozenset[str]]]]:
        sc = self.scenario
        return {
            site.id: [(u, frozenset(sc.supervisor_sessions(site, u))) for u in site.supervisors]
            for site in sc.sites
        }

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
