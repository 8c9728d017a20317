"""Check a plan against a scenario, rule by rule (contract §5-§9).

Written from the contract alone and sharing no code with :mod:`solver`: it
reads the plan files as text and recomputes every rule and the objective.
Every solve runs it before a plan is reported as a success.

Version 2 (§9): a rotation placement may span several blocks; the rows of one
placement share its ``start_block`` (an optional sixth column of
``assignments.csv``; without it every row is its own one-block placement). The
checker groups each rotation learner's rows into placements and checks the
rules that count placements (cover, no-repeat-site and rules 13-18) on those.
Placement lengths, organisations, scores, weights and costs are recomputed here
from the contract's text, not through the models' helpers the solver uses.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.models import Learner, Scenario, Site, Supervisor

ASSIGNMENT_HEADER = ["learner_id", "block", "role", "site_id", "supervisor_id"]
START_BLOCK = "start_block"
"""The optional sixth column of ``assignments.csv`` (§9.4)."""
TIMETABLE_HEADER = ["learner_id", "block", "session", "activity", "site_id", "supervisor_id"]

# The keys of §9, by where they appear: a scenario using none of them means exactly
# what §1-§8 say (and its plan is read as a version 1 plan unless it has start_block).
_V2_KEYS: dict[str, frozenset[str]] = {
    "setting": frozenset({"placement_blocks", "value"}),
    "site": frozenset({"organisation", "placement_blocks"}),
    "rotation": frozenset({"no_repeat_setting", "requirements", "precedence",
                           "max_per_organisation"}),
    "learner": frozenset({"placements", "requirements", "completed", "scores", "weights"}),
    "objective": frozenset({"preference", "weights", "worst_weight"}),
}


@dataclass(frozen=True)
class Violation:
    """One broken rule: its contract name and plain words."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass
class CheckReport:
    """What the checker found.

    Attributes
    ----------
    violations
        Every rule broken (empty when the plan is valid).
    preference_cost, unplaced, objective
        Recomputed from the plan: the sum of the placements' preference costs
        (§7, §9.3), the learners left out, and the objective (§9.3).
    worst_learner_cost
        Largest cost of a placed learner (§9.3: preference cost plus weighted
        organisation changes and idle blocks).
    learner_costs
        Each placed learner's cost.
    terms
        The objective's weighted parts (§9.4 ``terms``): ``unplaced``, ``preference``,
        ``organisation_changes``, ``idle_blocks`` and ``worst_learner`` (the last with
        ``fairness: weighted`` only). They sum to ``objective``.
    """

    violations: list[Violation] = field(default_factory=list)
    preference_cost: int = 0
    unplaced: int = 0
    objective: float = 0.0
    worst_learner_cost: int = 0
    learner_costs: dict[str, int] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the plan obeys every rule."""
        return not self.violations

    def add(self, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message))

    def render(self, limit: int = 50) -> str:
        """Violations (up to ``limit``) and a closing verdict line."""
        lines = [str(v) for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more")
        if self.ok:
            lines.append(f"OK: preference_cost={self.preference_cost} unplaced={self.unplaced} "
                         f"objective={self.objective:g}")
        else:
            lines.append(f"FAIL: {len(self.violations)} violation(s)")
        return "\n".join(lines)


def _read_csv(path: Path, header: list[str], report: CheckReport) -> list[dict[str, str]]:
    if not path.exists():
        report.add("format", f"{path.name} is missing")
        return []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or list(reader.fieldnames)[: len(header)] != header:
                report.add("format",
                           f"{path.name} header is {reader.fieldnames}, expected {header}")
                return []
            return list(reader)
    except UnicodeDecodeError as exc:
        report.add("format", f"{path.name} is not UTF-8 text (byte {exc.start + 1}: "
                   f"{exc.reason})")
    except (OSError, csv.Error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        report.add("format", f"{path.name} cannot be read: {reason}")
    return []


def check_plan_dir(scenario: Scenario, plan_dir: str | Path, *,
                   check_summary: bool = True) -> CheckReport:
    """Check the plan files in a directory against a scenario.

    Parameters
    ----------
    scenario
        The validated scenario the plan is for.
    plan_dir
        Directory with ``assignments.csv`` (five columns, or six with
        ``start_block``), ``timetable.csv`` and ``summary.json``.
    check_summary
        Also check that ``summary.json`` matches the recomputed numbers.
    """
    report = CheckReport()
    directory = Path(plan_dir)
    assignments = _read_csv(directory / "assignments.csv", ASSIGNMENT_HEADER, report)
    timetable = _read_csv(directory / "timetable.csv", TIMETABLE_HEADER, report)
    if report.violations:
        return report
    summary: dict[str, Any] | None = None
    if check_summary:
        try:
            summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            report.add("format", f"summary.json cannot be read: {exc}")
            return report
    return check_rows(scenario, assignments, timetable, summary, report)


def check_rows(
    scenario: Scenario,
    assignments: Iterable[dict[str, Any]],
    timetable: Iterable[dict[str, Any]],
    summary: dict[str, Any] | None = None,
    report: CheckReport | None = None,
) -> CheckReport:
    """Check plan rows (dicts keyed by the file headers) against a scenario.

    An assignment row may carry ``start_block`` (§9.4); a missing or empty one
    means the row's own block.
    """
    return _Checker(scenario, report or CheckReport()).run(assignments, timetable, summary)


def uses_section_9(sc: Scenario) -> bool:
    """Whether a scenario uses any key of contract §9 (read from the YAML keys given)."""
    settings = {s.id for s in sc.settings}
    return (any(_V2_KEYS["setting"] & s.model_fields_set for s in sc.settings)
            or any(_V2_KEYS["site"] & s.model_fields_set for s in sc.sites)
            or bool(_V2_KEYS["rotation"] & sc.tracks.rotation.model_fields_set)
            or any(_V2_KEYS["learner"] & x.model_fields_set for x in sc.learners)
            or bool(_V2_KEYS["objective"] & sc.objective.model_fields_set)
            or sc.objective.fairness == "weighted"
            or any(a in settings for x in sc.learners for a in x.avoid))


@dataclass
class _Placement:
    """One rotation placement as the plan writes it: the rows sharing a start block."""

    start: int
    rows: dict[int, str] = field(default_factory=dict)  # block -> site of that row

    @property
    def blocks(self) -> list[int]:
        return sorted(self.rows)

    @property
    def site(self) -> str:
        """The site it starts at (its earliest row's, when the start block has no row)."""
        return self.rows.get(self.start, self.rows[self.blocks[0]])


Rows = dict[tuple[str, int], dict[str, tuple[str, str]]]
Sessions = dict[tuple[str, int], list[tuple[str, str, str, str]]]


@dataclass
class _Loads:
    """What the learners put on sites and supervisors, summed over the plan."""

    site: Counter[tuple[str, int]] = field(default_factory=Counter)
    named: Counter[tuple[str, int]] = field(default_factory=Counter)
    present: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    rooms: Counter[tuple[str, int, str]] = field(default_factory=Counter)


class _Checker:
    def __init__(self, sc: Scenario, report: CheckReport) -> None:
        self.sc = sc
        self.report = report
        self.sites: dict[str, Site] = {s.id: s for s in sc.sites}
        self.sups: dict[str, tuple[Supervisor, Site]] = {
            u.id: (u, s) for s in sc.sites for u in s.supervisors
        }
        self.learners: dict[str, Learner] = {x.id: x for x in sc.learners}
        self.teaching = set(sc.programme.teaching_sessions)
        self.settings = {s.id: s for s in sc.settings}
        self.loads = _Loads()
        self.has_start = False  # assignments carry start_block (set in run())
        self.v2 = uses_section_9(sc)  # read the plan as §9's: these keys, or start_block
        self.outside: defaultdict[str, set[int]] = defaultdict(set)  # see _rotation_rows_outside

    # --- helpers: the contract's definitions, computed here -----------------------------

    def _allowed(self, supervisor_prof: str, learner_prof: str) -> bool:
        return supervisor_prof in self.sc.supervision.get(learner_prof, [learner_prof])

    def _works(self, sup: Supervisor, site: Site) -> set[str]:
        if sup.sessions is not None:
            return set(sup.sessions)
        return set(site.open_sessions if site.open_sessions is not None
                   else self.sc.programme.sessions)

    def _length(self, sid: str) -> int:
        """§9.1: the site's placement_blocks, else its setting's, else 1."""
        site = self.sites[sid]
        if site.placement_blocks is not None:
            return site.placement_blocks
        setting = self.settings.get(site.setting)
        if setting is not None and setting.placement_blocks is not None:
            return setting.placement_blocks
        return 1

    def _organisation(self, sid: str) -> str:
        """§9: a site without ``organisation`` is its own organisation."""
        site = self.sites[sid]
        return site.organisation if site.organisation is not None else site.id

    def _setting(self, sid: str) -> str:
        return self.sites[sid].setting

    def _rank(self, learner: Learner, site: Site) -> int:
        # Deliberately not Scenario.preference_cost: the solver uses that, and the
        # checker recomputes the contract's formula on its own.
        prefs = learner.preferences
        if not prefs:
            return 0
        if site.id in prefs:
            return prefs.index(site.id)
        if site.setting in prefs:
            return prefs.index(site.setting)
        return len(prefs)

    def _score(self, learner: Learner, site: Site) -> int:
        """§9.3: the learner's scores for the site, setting and organisation ids (each
        once; a site that is its own organisation counts once), plus the setting's value."""
        ids = {site.id, site.setting, self._organisation(site.id)}
        score = sum(learner.scores[k] for k in ids if k in learner.scores)
        setting = self.settings.get(site.setting)
        return score + (setting.value if setting is not None else 0)

    def _cost(self, learner: Learner, sid: str) -> int:
        """A placement's preference cost: the rank cost, or minus its score (§9.3)."""
        site = self.sites[sid]
        if self.sc.objective.preference == "score":
            return -self._score(learner, site)
        return self._rank(learner, site)

    def _weight(self, learner: Learner, term: str) -> int:
        """A §9.3 weight: the learner's where they name it, else the objective's, else 0."""
        own = getattr(learner.weights, term) if learner.weights is not None else None
        if own is not None:
            return int(own)
        return int(getattr(self.sc.objective.weights, term) or 0)

    # --- the check -----------------------------------------------------------------------

    def run(self, assignments: Iterable[dict[str, Any]], timetable: Iterable[dict[str, Any]],
            summary: dict[str, Any] | None) -> CheckReport:
        add = self.report.add
        sc = self.sc
        placements: Rows = defaultdict(dict)
        starts: dict[tuple[str, int], int] = {}  # (learner, block) -> start of its rotation row
        for row in assignments:
            lid, role, sid, uid = (str(row[k]) for k in ("learner_id", "role", "site_id",
                                                          "supervisor_id"))
            block = _as_int(row["block"])
            if START_BLOCK in row:
                self.has_start = self.v2 = True
            if lid not in self.learners:
                add("format", f"unknown learner {lid!r} in assignments")
                continue
            unknown = [f"bad block {row['block']!r}"] if block is None else []
            if sid not in self.sites:
                unknown.append(f"unknown site {sid!r}")
            if uid not in self.sups:
                unknown.append(f"unknown supervisor {uid!r}")
            if unknown or block is None:
                where = lid if block is None else f"{lid} block {block}"
                add("format", f"{where} in assignments: {', '.join(unknown)}")
                continue
            if role not in ("rotation", "base", "partner"):
                add("format", f"{lid} block {block}: unknown role {role!r}")
                continue
            if role in placements[(lid, block)]:
                add("format", f"{lid} block {block}: two {role} rows")
            placements[(lid, block)][role] = (sid, uid)
            start = self._start_block(row.get(START_BLOCK), lid, block, role)
            if role == "rotation":
                starts[(lid, block)] = start
        sessions: Sessions = defaultdict(list)
        for row in timetable:
            block = _as_int(row["block"])
            if block is None:
                add("format", f"bad block {row['block']!r} in timetable")
                continue
            sessions[(str(row["learner_id"]), block)].append(
                (str(row["session"]), str(row["activity"]), str(row["site_id"] or ""),
                 str(row["supervisor_id"] or ""))
            )
        self._rotation_rows_outside(placements)
        self._outside_blocks(placements, sessions)

        per_learner: dict[str, int] = {}
        preference = organisation_changes = idle_blocks = 0
        unplaced = 0
        for learner in sc.learners:
            blocks = self._visited_blocks(learner)
            if not any(placements.get((learner.id, b)) for b in blocks):
                unplaced += 1
                if not sc.objective.allow_unplaced:
                    add("placement", f"{learner.id} is not placed")
                if any(sessions.get((learner.id, b)) for b in blocks):
                    add("placement", f"{learner.id} is left out but has a timetable")
                continue
            if learner.track == "fellowship":
                pref, changes, idle = self._fellow(learner, blocks, placements, sessions), 0, 0
            else:
                pref, changes, idle = self._rotation(learner, blocks, placements, starts,
                                                     sessions)
            preference += pref
            organisation_changes += changes
            idle_blocks += idle
            per_learner[learner.id] = pref + changes + idle
        self._site_totals()
        self._objective(per_learner, preference, organisation_changes, idle_blocks, unplaced)
        if summary is not None:
            self._summary(summary)
        return self.report

    def _start_block(self, value: Any, lid: str, block: int, role: str) -> int:
        """The first block of the placement a row belongs to (§9.4; default its own)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return block
        if isinstance(value, float):  # from a data frame: NaN is an empty cell
            if math.isnan(value):
                return block
            start = int(value) if value.is_integer() else None
        else:
            start = _as_int(value)
        if start is None:
            self.report.add("format", f"{lid} block {block}: start_block {value!r} is not a "
                            "block number")
            return block
        if role != "rotation" and start != block:
            self.report.add("format", f"{lid} block {block}: the {role} row has start_block "
                            f"{start}; a fellow's rows start in their own block")
        return start

    def _rotation_rows_outside(self, placements: Rows) -> None:
        """Blocks outside each rotation learner's blocks that hold their rotation rows (§9:
        placements that leave their blocks, reported as placement-length; a version 1
        plan reports such rows as ``format`` and does not count them)."""
        if not self.v2:
            return
        for (lid, block), placed in placements.items():
            learner = self.learners[lid]
            if learner.track == "rotation" and set(placed) == {"rotation"} \
                    and block not in learner.blocks_in(self.sc.programme):
                self.outside[lid].add(block)

    def _visited_blocks(self, learner: Learner) -> list[int]:
        """The learner's blocks, and blocks outside them that hold their rotation rows."""
        return sorted({*learner.blocks_in(self.sc.programme), *self.outside[learner.id]})

    def _outside_blocks(self, placements: Rows, sessions: Sessions) -> None:
        """Rows for a block that is not one of the learner's (§4 ``blocks``)."""
        for (lid, block) in list(placements) + list(sessions):
            learner = self.learners.get(lid)
            if learner is None:
                self.report.add("format", f"unknown learner {lid!r}")
            elif block not in learner.blocks_in(self.sc.programme) \
                    and block not in self.outside[lid]:
                self.report.add("format", f"{lid} has rows for block {block}, not one of "
                                "their blocks")

    # --- one placed learner --------------------------------------------------------------

    def _row(self, learner: Learner, block: int, role: str, sid: str, uid: str) -> None:
        """Rules 1 (site part), 2-4 loads and 3 for one assignment row."""
        add = self.report.add
        fel = self.sc.tracks.fellowship
        site = self.sites[sid]
        sup, sup_site = self.sups[uid]
        self.loads.site[(sid, block)] += 1
        self.loads.named[(uid, block)] += 1
        if not (site.accepts is None or learner.profession in site.accepts):
            add("eligibility", f"{sid} does not accept {learner.profession} "
                f"({learner.id}, block {block})")
        if sid in learner.avoid:
            add("eligibility", f"{learner.id} is placed at avoided site {sid} in block {block}")
        elif site.setting in learner.avoid:
            add("eligibility", f"{learner.id} is placed at {sid} in block {block}, in the "
                f"setting {site.setting} they avoid")
        if role == "base" and fel is not None and site.setting != fel.base_setting:
            add("eligibility", f"{learner.id}'s base {sid} is not in {fel.base_setting}")
        if role == "partner" and fel is not None and site.setting not in fel.partner_settings:
            add("eligibility", f"{learner.id}'s partner {sid} is not in a partner setting")
        if sup_site.id != sid:
            add("supervisor-match", f"{uid} works at {sup_site.id}, not {sid} "
                f"({learner.id}, block {block})")
        if not self._allowed(sup.profession, learner.profession):
            add("supervisor-match", f"{uid} ({sup.profession}) may not supervise "
                f"{learner.profession} {learner.id}")
        if block in sup.unavailable_blocks:
            add("supervisor-match", f"{uid} is unavailable in block {block}")

    def _fellow(self, learner: Learner, blocks: list[int], placements: Rows,
                sessions: Sessions) -> int:
        """Every block of a fellow: base and partner rows, timetable, rule 11; their cost."""
        add = self.report.add
        fel = self.sc.tracks.fellowship
        cost = 0
        bases: set[str] = set()
        partner_settings: set[str] = set()
        for block in blocks:
            placed = placements.get((learner.id, block), {})
            if set(placed) != {"base", "partner"}:
                add("placement", f"{learner.id} block {block}: roles {sorted(placed)}, "
                    "expected ['base', 'partner']")
                continue
            for role, (sid, uid) in placed.items():
                self._row(learner, block, role, sid, uid)
                cost += self._cost(learner, sid)
            base_site, partner_site = placed["base"][0], placed["partner"][0]
            bases.add(base_site)
            partner_settings.add(self._setting(partner_site))
            if base_site == partner_site:
                add("fellowship", f"{learner.id} block {block}: partner is the base site")
            self._timetable(learner, block, placed, sessions.get((learner.id, block), []))
        if len(bases) > 1:
            add("fellowship", f"{learner.id} has several base sites: {sorted(bases)}")
        pins = set(learner.pinned.values())
        if pins and pins != bases:
            add("eligibility", f"{learner.id}'s base {sorted(bases)} is not the pinned "
                f"{sorted(pins)}")
        need = fel.distinct_partner_settings if fel else 0
        if len(partner_settings) < need:
            add("fellowship", f"{learner.id}'s partners cover {len(partner_settings)} "
                f"setting(s), {need} needed")
        return cost

    def _rotation(self, learner: Learner, blocks: list[int], placements: Rows,
                  starts: dict[tuple[str, int], int],
                  sessions: Sessions) -> tuple[int, int, int]:
        """Every block of a rotation learner, then the rules on their placements (9, 10,
        13-18); their preference cost and weighted organisation changes and idle blocks."""
        add = self.report.add
        may_idle = learner.placements is not None
        groups: dict[int, _Placement] = {}
        for block in blocks:
            placed = placements.get((learner.id, block), {})
            rows = sessions.get((learner.id, block), [])
            if not placed and may_idle:
                self._idle_block(learner, block, rows)
                continue
            if set(placed) != {"rotation"}:
                add("placement", f"{learner.id} block {block}: roles {sorted(placed)}, "
                    "expected ['rotation']")
                continue
            sid, uid = placed["rotation"]
            self._row(learner, block, "rotation", sid, uid)
            pin = learner.pinned.get(block)
            if pin is not None and pin != sid:
                add("eligibility", f"{learner.id} is pinned to {pin} in block {block}, "
                    f"placed at {sid}")
            start = starts.get((learner.id, block), block)
            groups.setdefault(start, _Placement(start)).rows[block] = sid
            self._timetable(learner, block, placed, rows)
        plist = [groups[s] for s in sorted(groups)]
        self._placement_length(learner, plist)
        self._placement_count(learner, plist)
        self._cover(learner, plist)
        self._no_repeat_site(learner, plist)
        self._requirements(learner, plist)
        self._no_repeat_setting(learner, plist)
        self._precedence(learner, plist)
        self._organisation_cap(learner, plist)
        preference = sum(self._cost(learner, p.site) for p in plist)
        changes = self._weight(learner, "organisation_changes") \
            * _organisation_changes([self._organisation(p.site) for p in plist])
        idle = self._weight(learner, "idle_blocks") * self._idle_count(plist)
        return preference, changes, idle

    def _idle_block(self, learner: Learner, block: int,
                    rows: list[tuple[str, str, str, str]]) -> None:
        """§9.1: an idle block has no site, no supervisor and no timetable."""
        if rows:
            self.report.add("working-pattern", f"{learner.id} block {block} is idle (no "
                            f"placement) but has {len(rows)} timetable row(s)")
        pin = learner.pinned.get(block)
        if pin is not None:
            self.report.add("eligibility", f"{learner.id} is pinned to {pin} in block {block}, "
                            "which has no placement")

    def _idle_count(self, plist: list[_Placement]) -> int:
        """§9.3: programme blocks before the first block of the last placement that no
        placement occupies (for any reason)."""
        if not plist:
            return 0
        occupied = {b for p in plist for b in p.blocks}
        last = plist[-1].start
        return sum(1 for b in self.sc.programme.block_numbers if b < last and b not in occupied)

    # --- rules on a rotation learner's placements ---------------------------------------

    def _placement_length(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 13: a placement of length k starting in b occupies b..b+k-1, all in the
        learner's blocks, at one site."""
        add = self.report.add
        own = set(learner.blocks_in(self.sc.programme))
        for p in plist:
            if len(set(p.rows.values())) > 1:
                add("placement-length", f"{learner.id}'s placement starting in block {p.start} "
                    f"has rows at several sites: {sorted(set(p.rows.values()))}")
            k = self._length(p.site)
            want = list(range(p.start, p.start + k))
            if p.blocks != want:
                hint = "" if self.has_start else " (assignments.csv has no start_block column)"
                add("placement-length", f"{learner.id}'s placement at {p.site} starting in "
                    f"block {p.start} has rows for blocks {p.blocks}; a placement there lasts "
                    f"{k} block(s): {want}{hint}")
            outside = [b for b in want if b not in own]
            if outside:
                add("placement-length", f"{learner.id}'s placement at {p.site} starting in "
                    f"block {p.start} needs blocks {outside}, which are not their blocks")

    def _placement_count(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 14: with ``placements: n``, exactly n placements."""
        if learner.placements is not None and len(plist) != learner.placements:
            self.report.add("placement-count", f"{learner.id} has {len(plist)} placement(s), "
                            f"{learner.placements} required")

    def _cover(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 9: a placement in every cover setting."""
        seen = {self._setting(p.site) for p in plist}
        for setting in self.sc.tracks.rotation.cover:
            if setting not in seen:
                self.report.add("cover", f"{learner.id} is never placed in {setting}")

    def _no_repeat_site(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 10: with no_repeat_site, a site in at most one placement."""
        if not self.sc.tracks.rotation.no_repeat_site:
            return
        for sid, n in Counter(p.site for p in plist).items():
            if n > 1:
                self.report.add("no-repeat-site", f"{learner.id} has {n} placements at {sid} "
                                f"(blocks {[p.start for p in plist if p.site == sid]})")

    def _requirements(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 15: the learner's own requirements if given, else the track's."""
        own = learner.requirements
        for req in own if own is not None else self.sc.tracks.rotation.requirements:
            low = req.count if req.count is not None else (req.min or 0)
            high = req.count if req.count is not None else req.max
            n = sum(1 for p in plist if self._setting(p.site) in req.settings)
            if n < low:
                self.report.add("requirements", f"{learner.id} has {n} placement(s) in "
                                f"{req.settings}, at least {low} required")
            if high is not None and n > high:
                self.report.add("requirements", f"{learner.id} has {n} placement(s) in "
                                f"{req.settings}, at most {high} allowed")

    def _no_repeat_setting(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 16: with no_repeat_setting, at most one placement in any setting."""
        if not self.sc.tracks.rotation.no_repeat_setting:
            return
        for setting, n in Counter(self._setting(p.site) for p in plist).items():
            if n > 1:
                self.report.add("no-repeat-setting", f"{learner.id} has {n} placements in "
                                f"{setting}")

    def _precedence(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 17: every placement in ``after`` starts after the end of a placement in
        ``before``, unless ``before`` is in the learner's ``completed``."""
        for rule in self.sc.tracks.rotation.precedence:
            if rule.before in learner.completed:
                continue
            ends = [p.start + self._length(p.site) - 1 for p in plist
                    if self._setting(p.site) == rule.before]
            for p in plist:
                if self._setting(p.site) == rule.after and not any(e < p.start for e in ends):
                    self.report.add("precedence", f"{learner.id}'s placement at {p.site} "
                                    f"({rule.after}, block {p.start}) does not start after a "
                                    f"placement in {rule.before} has ended")

    def _organisation_cap(self, learner: Learner, plist: list[_Placement]) -> None:
        """Rule 18: at most max_per_organisation placements at one organisation's sites."""
        cap = self.sc.tracks.rotation.max_per_organisation
        if cap is None:
            return
        for org, n in Counter(self._organisation(p.site) for p in plist).items():
            if n > cap:
                self.report.add("organisation-cap", f"{learner.id} has {n} placements at "
                                f"organisation {org}, at most {cap} allowed")

    # --- timetables and site totals -------------------------------------------------------

    def _timetable(self, learner: Learner, block: int, placed: dict[str, tuple[str, str]],
                   rows: list[tuple[str, str, str, str]]) -> None:
        add = self.report.add
        sc = self.sc
        available = set(learner.available_in(sc.programme))
        per_week = learner.working_sessions_per_week(sc.programme)
        where = f"{learner.id} block {block}"
        worked = [r[0] for r in rows]
        if len(set(worked)) != len(worked):
            add("working-pattern", f"{where}: a session appears twice")
        if not set(worked) <= available:
            add("working-pattern", f"{where}: works {sorted(set(worked) - available)} "
                "outside available sessions")
        if len(set(worked)) != per_week:
            add("working-pattern", f"{where}: {len(set(worked))} sessions, {per_week} needed")
        for d in sorted(self.teaching & available):
            if (d, "teaching", "", "") not in rows:
                add("working-pattern", f"{where}: misses teaching session {d}")
        site_sup = {sid: uid for sid, uid in placed.values()}
        partner = placed.get("partner", ("", ""))[0]
        partner_count = 0
        for session, activity, sid, uid in rows:
            if activity == "teaching":
                if session not in self.teaching or sid or uid:
                    add("working-pattern", f"{where}: {session} is not a teaching session "
                        "or names a site")
                continue
            if activity != "clinical":
                add("format", f"{where}: unknown activity {activity!r}")
                continue
            if session in self.teaching:
                add("working-pattern", f"{where}: clinical in teaching session {session}")
            if sid not in site_sup:
                add("working-pattern", f"{where}: clinical at {sid!r}, not a placement site")
                continue
            site = self.sites[sid]
            opened = site.open_sessions if site.open_sessions is not None \
                else sc.programme.sessions
            if session not in opened:
                add("site-open", f"{sid} is closed on {session} ({where})")
            found = self.sups.get(uid)
            if found is None:
                add("supervisor-present", f"{where} {session}: no known supervisor ({uid!r})")
            else:
                sup, sup_site = found
                if (sup_site.id != sid or not self._allowed(sup.profession, learner.profession)
                        or block in sup.unavailable_blocks
                        or session not in self._works(sup, sup_site)):
                    add("supervisor-present", f"{uid} cannot oversee {learner.id} at {sid} "
                        f"in block {block}, {session}")
                self.loads.present[(uid, block, session)] += 1
            self.loads.rooms[(sid, block, session)] += 1
            if sid == partner:
                partner_count += 1
        if learner.track == "fellowship" and sc.tracks.fellowship is not None:
            need = sc.tracks.fellowship.partner_sessions
            if partner_count != need:
                add("fellowship", f"{where}: {partner_count} partner session(s), {need} needed")

    def _site_totals(self) -> None:
        add = self.report.add
        loads = self.loads
        for (sid, block), n in sorted(loads.site.items()):
            cap = self.sites[sid].capacity_in(block)
            if cap is not None and n > cap:
                add("site-capacity", f"{sid} has {n} learners in block {block}, capacity {cap}")
        for site in self.sc.sites:
            for block in self.sc.programme.block_numbers:
                need = site.minimum_in(block)
                if loads.site.get((site.id, block), 0) < need:
                    add("site-minimum", f"{site.id} has {loads.site.get((site.id, block), 0)} "
                        f"learner(s) in block {block}, minimum {need}")
        for (uid, block), n in sorted(loads.named.items()):
            cap = self.sups[uid][0].capacity
            if n > cap:
                add("supervisor-capacity", f"{uid} is named for {n} placements in block "
                    f"{block}, capacity {cap}")
        for (uid, block, session), n in sorted(loads.present.items()):
            cap = self.sups[uid][0].capacity
            if n > cap:
                add("supervisor-present", f"{uid} oversees {n} learners in block {block}, "
                    f"{session}, capacity {cap}")
        for (sid, block, session), n in sorted(loads.rooms.items()):
            rooms = self.sites[sid].rooms_at(session)
            if rooms is not None and n > rooms:
                add("rooms", f"{sid} holds {n} clinical sessions in block {block}, {session}, "
                    f"rooms {rooms}")

    # --- objective and summary ------------------------------------------------------------

    def _objective(self, per_learner: dict[str, int], preference: int,
                   organisation_changes: int, idle_blocks: int, unplaced: int) -> None:
        """§7 and §9.3: penalty x left out + placed learners' costs (+ worst_weight x the
        largest learner cost, a learner left out counting as unplaced_penalty)."""
        obj = self.sc.objective
        r = self.report
        r.preference_cost = preference
        r.unplaced = unplaced
        r.learner_costs = dict(per_learner)
        r.worst_learner_cost = max(per_learner.values(), default=0)
        # A learner left out without allow_unplaced breaks `placement`; the penalty is
        # counted only where leaving out is allowed (as in version 1).
        left_out = obj.unplaced_penalty * unplaced if obj.allow_unplaced else 0
        r.terms = {"unplaced": float(left_out), "preference": float(preference),
                   "organisation_changes": float(organisation_changes),
                   "idle_blocks": float(idle_blocks)}
        if obj.fairness == "weighted":
            out = [obj.unplaced_penalty] if obj.allow_unplaced and unplaced else []
            worst = max([*per_learner.values(), *out], default=0)
            r.terms["worst_learner"] = float(obj.worst_weight * worst)
        r.objective = float(sum(r.terms.values()))

    def _summary(self, summary: dict[str, Any]) -> None:
        add = self.report.add
        r = self.report
        if summary.get("preference_cost") is not None and summary["preference_cost"] != \
                r.preference_cost:
            add("summary", f"preference_cost {summary['preference_cost']} but the plan costs "
                f"{r.preference_cost}")
        if summary.get("unplaced") is not None and summary["unplaced"] != r.unplaced:
            add("summary", f"unplaced {summary['unplaced']} but {r.unplaced} are left out")
        objective = summary.get("objective")
        if objective is not None and abs(float(objective) - r.objective) > 1e-6:
            add("summary", f"objective {objective} but the plan's objective is {r.objective:g}")
        terms = summary.get("terms")
        if isinstance(terms, dict):  # §9.4: term name -> weighted total; others unchecked
            for name, value in terms.items():
                if name in r.terms and isinstance(value, int | float) \
                        and abs(float(value) - r.terms[name]) > 1e-6:
                    add("summary", f"term {name} is {value} but the plan's is "
                        f"{r.terms[name]:g}")
        bound = summary.get("best_bound")
        if objective is not None and bound is not None and float(bound) > float(objective) + 1e-6 \
                and (self.sc.objective.fairness or "none") != "minimax":
            add("summary", f"best_bound {bound} is above the objective {objective}")


def _organisation_changes(orgs: list[str]) -> int:
    """§9.3: consecutive placements (in time order) at different organisations."""
    return sum(1 for a, b in itertools.pairwise(orgs) if a != b)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
