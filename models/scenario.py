"""Pydantic models of a rotaplan scenario (the contract's YAML, key for key).

Every model forbids unknown keys and uses exactly the contract's defaults.
Cross-references (ids that must exist, impossible inputs) are checked in
:mod:`models.validate`; these models check shape and ranges only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

DEFAULT_SESSIONS: tuple[str, ...] = (
    "Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM",
    "Wed-PM", "Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM",
)  # fmt: skip

_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200,
                      pattern=rf"^[^\s,=+@\-{_CONTROL}]([^,{_CONTROL}]*[^\s,{_CONTROL}])?$"),
]
"""An identifier: non-empty, no commas, control characters or surrounding spaces, and
not starting with ``=``, ``+``, ``-`` or ``@`` (ids go into CSV files, which
spreadsheets would otherwise open as formulas)."""
Text = Annotated[str, StringConstraints(max_length=1000, pattern=rf"^[^{_CONTROL}]*$")]
"""A name or free text: one line without control characters (it goes into CSV, XLSX
and calendar files)."""
MAX_COUNT = 1_000_000
"""Largest count (capacity, rooms, minimum, penalty) a scenario may give."""
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
MAX_BLOCKS = 1000
"""Most blocks a programme may have: the contract sets no limit; this one only guards
memory (the medical student scheduling benchmark has 96 periods)."""
BlockNumber = Annotated[int, Field(ge=1, le=MAX_BLOCKS)]
FIRST_START = dt.date(1980, 1, 1)
LAST_START = dt.date(2099, 12, 31)
"""The range of ``programme.start`` (calendars and workbooks cannot date events
before 1980 or after 2107)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_map(what: str, key_kind: str) -> Callable[[Any], Any]:
    """Before-validator for 'a whole number, or a map KEY -> whole number'."""

    def check(value: Any) -> Any:
        if value is None or _is_int(value):
            if value is not None and value < 0:
                raise ValueError(f"{what} must be 0 or more, got {value}")
            if value is not None and value > MAX_COUNT:
                raise ValueError(f"{what} must be at most {MAX_COUNT:,}, got {value}")
            return value
        if isinstance(value, dict):
            for key, number in value.items():
                if not _is_int(number) or number < 0:
                    raise ValueError(
                        f"{what} for {key!r} must be a whole number 0 or more, got {number!r}"
                    )
                if number > MAX_COUNT:
                    raise ValueError(f"{what} for {key!r} must be at most {MAX_COUNT:,}, "
                                     f"got {number}")
                if key_kind == "block" and not _is_int(key):
                    raise ValueError(f"{what} map keys must be block numbers, got {key!r}")
                if key_kind == "session" and not isinstance(key, str):
                    raise ValueError(f"{what} map keys must be session names, got {key!r}")
            return value
        raise ValueError(
            f"{what} must be a whole number or a map of {key_kind} -> number, got {value!r}"
        )

    return check


CapacityMap = Annotated[
    Count | dict[int, Count] | None, BeforeValidator(_int_or_map("capacity", "block"))
]
MinimumMap = Annotated[
    Count | dict[int, Count] | None, BeforeValidator(_int_or_map("min_learners", "block"))
]
RoomSpec = Annotated[Count | dict[str, Count] | None,
                     BeforeValidator(_int_or_map("rooms", "session"))]


def _parse_date(value: Any) -> Any:
    """Accept an ISO date written plainly (``2027-09-06``) or quoted."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"invalid date {value!r}: {exc}") from None
    return value


def _start_in_range(value: dt.date | None) -> dt.date | None:
    if value is not None and not FIRST_START <= value <= LAST_START:
        raise ValueError(f"{value.isoformat()} is outside the supported range "
                         f"{FIRST_START.isoformat()} .. {LAST_START.isoformat()}")
    return value


def _setting_from_string(value: Any) -> Any:
    return {"id": value} if isinstance(value, str) else value


class Model(BaseModel):
    """Base: strict, frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Programme(Model):
    """The programme year: blocks, weekly sessions and central teaching."""

    name: Text
    start: Annotated[dt.date | None, BeforeValidator(_parse_date),
                     AfterValidator(_start_in_range),
                     Field(description="First day of block 1, from 1980-01-01 to "
                                       "2099-12-31.")] = None
    blocks: Annotated[int, Field(ge=1, le=MAX_BLOCKS)]
    block_weeks: Annotated[int, Field(ge=1, le=52)] = 13
    sessions: Annotated[list[Id], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_SESSIONS)
    )
    teaching_sessions: list[Id] = Field(default_factory=list)

    @property
    def block_numbers(self) -> list[int]:
        """Blocks numbered 1..blocks."""
        return list(range(1, self.blocks + 1))


PlacementBlocks = Annotated[int, Field(ge=1, le=MAX_BLOCKS)]
"""How many consecutive blocks one placement lasts (contract §9.1)."""
Score = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


class Setting(Model):
    """A care setting (stroke, community rehab, ...).

    ``placement_blocks`` (§9.1) is the length of a placement in the setting,
    unless a site overrides it; ``value`` (§9.3) is the programme's value of a
    placement there, used with ``preference: score``.
    """

    id: Id
    name: Text | None = None
    placement_blocks: PlacementBlocks | None = None
    value: Score = 0


class Supervisor(Model):
    """A named supervisor working at one site."""

    id: Id
    name: Text | None = None
    profession: Id
    capacity: Count = 1
    sessions: list[Id] | None = None
    unavailable_blocks: list[BlockNumber] = Field(default_factory=list)


class Site(Model):
    """A placement site with its supervisors, capacity, opening and rooms."""

    id: Id
    name: Text | None = None
    setting: Id
    locality: Text | None = None
    accepts: list[Id] | None = None
    capacity: CapacityMap = None
    min_learners: MinimumMap = 0
    open_sessions: list[Id] | None = None
    rooms: RoomSpec = None
    supervisors: list[Supervisor] = Field(default_factory=list)
    organisation: Id | None = None
    placement_blocks: PlacementBlocks | None = None

    @property
    def organisation_id(self) -> str:
        """The site's organisation (§9: a site without one is its own organisation)."""
        return self.organisation if self.organisation is not None else self.id

    def capacity_in(self, block: int) -> int | None:
        """Site capacity in a block (None: unlimited)."""
        if self.capacity is None or isinstance(self.capacity, int):
            return self.capacity
        return self.capacity.get(block)

    def minimum_in(self, block: int) -> int:
        """Minimum learners in a block (0 when unset)."""
        if self.min_learners is None:
            return 0
        if isinstance(self.min_learners, int):
            return self.min_learners
        return self.min_learners.get(block, 0)

    def rooms_at(self, session: str) -> int | None:
        """Rooms in a session (None: unlimited; a map without ``default`` gives 0)."""
        if self.rooms is None or isinstance(self.rooms, int):
            return self.rooms
        return self.rooms.get(session, self.rooms.get("default", 0))

    def open_in(self, programme: Programme) -> list[str]:
        """The sessions the site is open (default: every session)."""
        return list(self.open_sessions) if self.open_sessions is not None else programme.sessions

    def accepts_profession(self, profession: str) -> bool:
        """Whether the site takes learners of a profession."""
        return self.accepts is None or profession in self.accepts


class Requirement(Model):
    """Placements in a group of settings: at least ``min``, at most ``max`` (§9.2 rule 15).

    ``count: n`` means ``min: n, max: n``.
    """

    settings: Annotated[list[Id], Field(min_length=1)]
    min: Count | None = None
    max: Count | None = None
    count: Count | None = None

    @property
    def low(self) -> int:
        """The fewest placements allowed in the group."""
        return self.count if self.count is not None else (self.min or 0)

    @property
    def high(self) -> int | None:
        """The most placements allowed in the group (None: unlimited)."""
        return self.count if self.count is not None else self.max


class Precedence(Model):
    """Placements in ``after`` start only after a placement in ``before`` has ended (rule 17)."""

    before: Id
    after: Id


class Weights(Model):
    """Weights of the §9.3 cost terms (default 0: the term does not count)."""

    organisation_changes: Count | None = None
    idle_blocks: Count | None = None


class RotationTrack(Model):
    """Rules for rotation learners (§4 and, version 2, §9)."""

    cover: list[Id] = Field(default_factory=list)
    no_repeat_site: bool = True
    no_repeat_setting: bool = False
    requirements: list[Requirement] = Field(default_factory=list)
    precedence: list[Precedence] = Field(default_factory=list)
    max_per_organisation: Count | None = None


class FellowshipTrack(Model):
    """Rules for fellows: a base site plus protected partner sessions."""

    base_setting: Id
    partner_settings: list[Id]
    partner_sessions: Annotated[int, Field(ge=0, le=100)]
    distinct_partner_settings: Count = 0


class Tracks(Model):
    """The two tracks; the fellowship track is needed only if a learner uses it."""

    rotation: RotationTrack = Field(default_factory=RotationTrack)
    fellowship: FellowshipTrack | None = None


class Learner(Model):
    """A learner (rotation or fellowship track)."""

    id: Id
    name: Text | None = None
    profession: Id
    track: Literal["rotation", "fellowship"] = "rotation"
    sessions_per_week: Annotated[int, Field(ge=0, le=1000)] | None = None
    available_sessions: list[Id] | None = None
    blocks: list[BlockNumber] | None = None
    preferences: list[Id] = Field(default_factory=list)
    avoid: list[Id] = Field(default_factory=list)
    pinned: dict[BlockNumber, Id] = Field(default_factory=dict)
    placements: Annotated[int, Field(ge=1, le=MAX_BLOCKS)] | None = None
    requirements: list[Requirement] | None = None
    completed: list[Id] = Field(default_factory=list)
    scores: dict[Id, Score] = Field(default_factory=dict)
    weights: Weights | None = None

    def available_in(self, programme: Programme) -> list[str]:
        """Sessions the learner can work (default: every session)."""
        chosen = programme.sessions if self.available_sessions is None else self.available_sessions
        return list(dict.fromkeys(chosen))

    def working_sessions_per_week(self, programme: Programme) -> int:
        """Sessions worked each week (default: all available sessions)."""
        if self.sessions_per_week is None:
            return len(self.available_in(programme))
        return self.sessions_per_week

    def blocks_in(self, programme: Programme) -> list[int]:
        """Blocks the learner is in the programme (default: all)."""
        return sorted(self.blocks) if self.blocks is not None else programme.block_numbers


class Objective(Model):
    """Objective options. The default objective is the contract's exactly (§7, §9.3)."""

    allow_unplaced: bool = False
    unplaced_penalty: Count = 1000
    fairness: Literal["none", "minimax", "weighted"] | None = "none"
    preference: Literal["rank", "score"] = "rank"
    weights: Weights = Field(default_factory=Weights)
    worst_weight: Count = 1


class Scenario(Model):
    """A whole scenario: programme, settings, sites, learners, objective."""

    programme: Programme
    settings: Annotated[list[Setting], BeforeValidator(lambda v: [
        _setting_from_string(x) for x in v] if isinstance(v, list) else v)]
    professions: list[Id]
    supervision: dict[Id, list[Id]] = Field(default_factory=dict)
    tracks: Tracks = Field(default_factory=Tracks)
    sites: list[Site]
    learners: list[Learner]
    objective: Objective = Field(default_factory=Objective)

    @cached_property
    def site_by_id(self) -> dict[str, Site]:
        """Sites by id."""
        return {site.id: site for site in self.sites}

    @cached_property
    def learner_by_id(self) -> dict[str, Learner]:
        """Learners by id."""
        return {learner.id: learner for learner in self.learners}

    @cached_property
    def supervisor_site(self) -> dict[str, str]:
        """Site id of each supervisor id."""
        return {sup.id: site.id for site in self.sites for sup in site.supervisors}

    def may_supervise(self, supervisor_profession: str, learner_profession: str) -> bool:
        """Whether a supervisor's profession may supervise a learner's profession."""
        allowed = self.supervision.get(learner_profession, [learner_profession])
        return supervisor_profession in allowed

    def supervisor_sessions(self, site: Site, supervisor: Supervisor) -> list[str]:
        """Sessions a supervisor works (default: the site's open sessions)."""
        if supervisor.sessions is not None:
            return list(supervisor.sessions)
        return site.open_in(self.programme)

    def preference_cost(self, learner: Learner, site: Site) -> int:
        """The contract's preference cost of placing a learner at a site."""
        prefs = learner.preferences
        if not prefs:
            return 0
        if site.id in prefs:
            return prefs.index(site.id)
        if site.setting in prefs:
            return prefs.index(site.setting)
        return len(prefs)

    def placement_cost(self, learner: Learner, site: Site) -> int:
        """A placement's preference cost: §7's rank cost, or minus its score (§9.3)."""
        if self.objective.preference == "score":
            return -self.score(learner, site)
        return self.preference_cost(learner, site)

    @cached_property
    def setting_by_id(self) -> dict[str, Setting]:
        """Settings by id."""
        return {setting.id: setting for setting in self.settings}

    def placement_length(self, site: Site) -> int:
        """Blocks one placement at the site lasts: the site's, else its setting's, else 1."""
        if site.placement_blocks is not None:
            return site.placement_blocks
        setting = self.setting_by_id.get(site.setting)
        if setting is not None and setting.placement_blocks is not None:
            return setting.placement_blocks
        return 1

    def score(self, learner: Learner, site: Site) -> int:
        """A placement's score (§9.3): the learner's scores for its ids, plus the setting's value.

        The site id, setting id and organisation id each count once when the
        learner lists them (a site that is its own organisation counts once).
        """
        ids = dict.fromkeys((site.id, site.setting, site.organisation_id))
        total = sum(learner.scores[k] for k in ids if k in learner.scores)
        setting = self.setting_by_id.get(site.setting)
        return total + (setting.value if setting is not None else 0)

    def weight(self, learner: Learner, term: str) -> int:
        """A §9.3 cost weight: the learner's own where they name it, else the objective's."""
        own = getattr(learner.weights, term) if learner.weights is not None else None
        if own is not None:
            return int(own)
        return int(getattr(self.objective.weights, term) or 0)

    def requirements_of(self, learner: Learner) -> list[Requirement]:
        """A learner's requirements (rule 15): their own list if given, else the track's."""
        if learner.requirements is not None:
            return list(learner.requirements)
        return list(self.tracks.rotation.requirements)

    @cached_property
    def organisations(self) -> set[str]:
        """Organisation ids named by sites (not the implicit one-site organisations)."""
        return {site.organisation for site in self.sites if site.organisation is not None}

    @cached_property
    def uses_v2(self) -> bool:
        """Whether the scenario uses any key of contract §9 (version 2).

        Such a plan's ``assignments.csv`` carries ``start_block``.
        """
        keys = ({"placement_blocks", "value"}, {"organisation", "placement_blocks"},
                {"no_repeat_setting", "requirements", "precedence", "max_per_organisation"},
                {"placements", "requirements", "completed", "scores", "weights"},
                {"preference", "weights", "worst_weight"})
        settings = {x.id for x in self.settings}

        def given(model: BaseModel, names: set[str]) -> bool:
            # a value other than the default: a file written back in full (every key,
            # defaults included) is still the version it was
            fields = type(model).model_fields
            return any(getattr(model, name) != fields[name].get_default(
                call_default_factory=True) for name in names & model.model_fields_set)

        return (any(given(x, keys[0]) for x in self.settings)
                or any(given(x, keys[1]) for x in self.sites)
                or given(self.tracks.rotation, keys[2])
                or any(given(x, keys[3]) for x in self.learners)
                or given(self.objective, keys[4])
                or self.objective.fairness == "weighted"
                or any(a in settings for x in self.learners for a in x.avoid))
