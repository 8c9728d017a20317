"""Check a plan against a scenario, rule by rule (contract §5-§8).

Written from the contract alone and sharing no code with :mod:`solver`: it
reads the plan files as text and recomputes every rule and the objective.
Every solve runs it before a plan is reported as a success.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.models import Learner, Scenario, Site, Supervisor

ASSIGNMENT_HEADER = ["learner_id", "block", "role", "site_id", "supervisor_id"]
TIMETABLE_HEADER = ["learner_id", "block", "session", "activity", "site_id", "supervisor_id"]


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
        Recomputed from the plan.
    worst_learner_cost
        Largest per-learner preference cost.
    """

    violations: list[Violation] = field(default_factory=list)
    preference_cost: int = 0
    unplaced: int = 0
    objective: float = 0.0
    worst_learner_cost: int = 0

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
        Directory with ``assignments.csv``, ``timetable.csv`` and ``summary.json``.
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
    """Check plan rows (dicts keyed by the file headers) against a scenario."""
    return _Checker(scenario, report or CheckReport()).run(assignments, timetable, summary)


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

    # --- helpers -------------------------------------------------------------------------

    def _allowed(self, supervisor_prof: str, learner_prof: str) -> bool:
        return supervisor_prof in self.sc.supervision.get(learner_prof, [learner_prof])

    def _works(self, sup: Supervisor, site: Site) -> set[str]:
        if sup.sessions is not None:
            return set(sup.sessions)
        return set(site.open_sessions if site.open_sessions is not None
                   else self.sc.programme.sessions)

    def _cost(self, learner: Learner, site: Site) -> int:
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

    # --- the check -----------------------------------------------------------------------

    def run(self, assignments: Iterable[dict[str, Any]], timetable: Iterable[dict[str, Any]],
            summary: dict[str, Any] | None) -> CheckReport:
        add = self.report.add
        sc = self.sc
        placements: dict[tuple[str, int], dict[str, tuple[str, str]]] = defaultdict(dict)
        for row in assignments:
            lid, role, sid, uid = (str(row[k]) for k in ("learner_id", "role", "site_id",
                                                          "supervisor_id"))
            block = _as_int(row["block"])
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
        sessions: dict[tuple[str, int], list[tuple[str, str, str, str]]] = defaultdict(list)
        for row in timetable:
            block = _as_int(row["block"])
            if block is None:
                add("format", f"bad block {row['block']!r} in timetable")
                continue
            sessions[(str(row["learner_id"]), block)].append(
                (str(row["session"]), str(row["activity"]), str(row["site_id"] or ""),
                 str(row["supervisor_id"] or ""))
            )
        for (lid, block) in list(placements) + list(sessions):
            learner = self.learners.get(lid)
            if learner is None:
                add("format", f"unknown learner {lid!r}")
            elif block not in learner.blocks_in(sc.programme):
                add("format", f"{lid} has rows for block {block}, not one of their blocks")

        site_load: Counter[tuple[str, int]] = Counter()
        named_load: Counter[tuple[str, int]] = Counter()
        present_load: Counter[tuple[str, int, str]] = Counter()
        room_load: Counter[tuple[str, int, str]] = Counter()
        per_learner: dict[str, int] = {}
        unplaced = 0
        for learner in sc.learners:
            blocks = learner.blocks_in(sc.programme)
            if not any(placements.get((learner.id, b)) for b in blocks):
                unplaced += 1
                if not sc.objective.allow_unplaced:
                    add("placement", f"{learner.id} is not placed")
                if any(sessions.get((learner.id, b)) for b in blocks):
                    add("placement", f"{learner.id} is left out but has a timetable")
                continue
            per_learner[learner.id] = self._learner(learner, blocks, placements, sessions,
                                                    site_load, named_load, present_load,
                                                    room_load)
        self._site_totals(site_load, named_load, present_load, room_load)
        cost = sum(per_learner.values())
        self.report.preference_cost = cost
        self.report.unplaced = unplaced
        self.report.objective = float(cost + sc.objective.unplaced_penalty * unplaced
                                      if sc.objective.allow_unplaced else cost)
        self.report.worst_learner_cost = max(per_learner.values(), default=0)
        if summary is not None:
            self._summary(summary)
        return self.report

    def _learner(self, learner: Learner, blocks: list[int],
                 placements: dict[tuple[str, int], dict[str, tuple[str, str]]],
                 sessions: dict[tuple[str, int], list[tuple[str, str, str, str]]],
                 site_load: Counter[tuple[str, int]], named_load: Counter[tuple[str, int]],
                 present_load: Counter[tuple[str, int, str]],
                 room_load: Counter[tuple[str, int, str]]) -> int:
        add = self.report.add
        sc = self.sc
        fellow = learner.track == "fellowship"
        fel = sc.tracks.fellowship
        expected_roles = {"base", "partner"} if fellow else {"rotation"}
        available = set(learner.available_in(sc.programme))
        per_week = learner.working_sessions_per_week(sc.programme)
        cost = 0
        rotation_sites: list[str] = []
        bases: set[str] = set()
        partner_settings: set[str] = set()
        for block in blocks:
            placed = placements.get((learner.id, block), {})
            if set(placed) != expected_roles:
                add("placement", f"{learner.id} block {block}: roles {sorted(placed)}, "
                    f"expected {sorted(expected_roles)}")
                continue
            for role, (sid, uid) in placed.items():
                site = self.sites[sid]
                sup, sup_site = self.sups[uid]
                cost += self._cost(learner, site)
                site_load[(sid, block)] += 1
                named_load[(uid, block)] += 1
                if not (site.accepts is None or learner.profession in site.accepts):
                    add("eligibility", f"{sid} does not accept {learner.profession} "
                        f"({learner.id}, block {block})")
                if sid in learner.avoid:
                    add("eligibility", f"{learner.id} is placed at avoided site {sid}")
                if role == "base" and fel is not None and site.setting != fel.base_setting:
                    add("eligibility", f"{learner.id}'s base {sid} is not in {fel.base_setting}")
                if role == "partner" and fel is not None \
                        and site.setting not in fel.partner_settings:
                    add("eligibility", f"{learner.id}'s partner {sid} is not in a partner setting")
                if sup_site.id != sid:
                    add("supervisor-match", f"{uid} works at {sup_site.id}, not {sid} "
                        f"({learner.id}, block {block})")
                if not self._allowed(sup.profession, learner.profession):
                    add("supervisor-match", f"{uid} ({sup.profession}) may not supervise "
                        f"{learner.profession} {learner.id}")
                if block in sup.unavailable_blocks:
                    add("supervisor-match", f"{uid} is unavailable in block {block}")
            if fellow:
                base_site, partner_site = placed["base"][0], placed["partner"][0]
                bases.add(base_site)
                partner_settings.add(self.sites[partner_site].setting)
                if base_site == partner_site:
                    add("fellowship", f"{learner.id} block {block}: partner is the base site")
            else:
                rotation_sites.append(placed["rotation"][0])
                pin = learner.pinned.get(block)
                if pin is not None and pin != placed["rotation"][0]:
                    add("eligibility", f"{learner.id} is pinned to {pin} in block {block}")
            self._timetable(learner, block, placed, sessions.get((learner.id, block), []),
                            available, per_week, present_load, room_load)
        if fellow:
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
        else:
            rot = sc.tracks.rotation
            if rot.no_repeat_site and len(set(rotation_sites)) < len(rotation_sites):
                add("no-repeat-site", f"{learner.id} repeats a site: {rotation_sites}")
            seen = {self.sites[s].setting for s in rotation_sites}
            for setting in rot.cover:
                if setting not in seen:
                    add("cover", f"{learner.id} is never placed in {setting}")
        return cost

    def _timetable(self, learner: Learner, block: int, placed: dict[str, tuple[str, str]],
                   rows: list[tuple[str, str, str, str]], available: set[str], per_week: int,
                   present_load: Counter[tuple[str, int, str]],
                   room_load: Counter[tuple[str, int, str]]) -> None:
        add = self.report.add
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
                else self.sc.programme.sessions
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
                present_load[(uid, block, session)] += 1
            room_load[(sid, block, session)] += 1
            if sid == partner:
                partner_count += 1
        if learner.track == "fellowship" and self.sc.tracks.fellowship is not None:
            need = self.sc.tracks.fellowship.partner_sessions
            if partner_count != need:
                add("fellowship", f"{where}: {partner_count} partner session(s), {need} needed")

    def _site_totals(self, site_load: Counter[tuple[str, int]],
                     named_load: Counter[tuple[str, int]],
                     present_load: Counter[tuple[str, int, str]],
                     room_load: Counter[tuple[str, int, str]]) -> None:
        add = self.report.add
        for (sid, block), n in sorted(site_load.items()):
            cap = self.sites[sid].capacity_in(block)
            if cap is not None and n > cap:
                add("site-capacity", f"{sid} has {n} learners in block {block}, capacity {cap}")
        for site in self.sc.sites:
            for block in self.sc.programme.block_numbers:
                need = site.minimum_in(block)
                if site_load.get((site.id, block), 0) < need:
                    add("site-minimum", f"{site.id} has {site_load.get((site.id, block), 0)} "
                        f"learner(s) in block {block}, minimum {need}")
        for (uid, block), n in sorted(named_load.items()):
            cap = self.sups[uid][0].capacity
            if n > cap:
                add("supervisor-capacity", f"{uid} is named for {n} placements in block "
                    f"{block}, capacity {cap}")
        for (uid, block, session), n in sorted(present_load.items()):
            cap = self.sups[uid][0].capacity
            if n > cap:
                add("supervisor-present", f"{uid} oversees {n} learners in block {block}, "
                    f"{session}, capacity {cap}")
        for (sid, block, session), n in sorted(room_load.items()):
            rooms = self.sites[sid].rooms_at(session)
            if rooms is not None and n > rooms:
                add("rooms", f"{sid} holds {n} clinical sessions in block {block}, {session}, "
                    f"rooms {rooms}")

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
        bound = summary.get("best_bound")
        if objective is not None and bound is not None and float(bound) > float(objective) + 1e-6 \
                and (self.sc.objective.fairness or "none") != "minimax":
            add("summary", f"best_bound {bound} is above the objective {objective}")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
