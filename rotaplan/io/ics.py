"""The plan as ICS calendars: one per learner and one per supervisor.

Calendar times use ``TZID=Europe/London`` (a ``VTIMEZONE`` covering the programme
is included), so sessions stay at 09:00-12:30 and 13:30-17:00 UK time across
clock changes whatever the reader's own time zone. Each weekly session of a
block is one event recurring weekly (``RRULE:FREQ=WEEKLY;UNTIL=...``, UNTIL in UTC
as RFC 5545 requires, at the end of the block's last day). ``DTSTAMP`` is
``programme.start`` at midnight UTC, so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from rotaplan.io.plan_dir import check_names, sorted_timetable, write_bytes
from rotaplan.models import START_BLOCK, Plan, Scenario, Supervisor

TIMEZONE = "Europe/London"
"""Time zone of calendar events (``TZID``)."""
SESSION_TIMES: dict[str, tuple[dt.time, dt.time]] = {
    "AM": (dt.time(9, 0), dt.time(12, 30)),
    "PM": (dt.time(13, 30), dt.time(17, 0)),
}
"""Start and end of a morning and an afternoon session (local time)."""

PRODID = "-//rotaplan//plan export//EN"
_DAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_SESSION_RE = re.compile(r"^([A-Za-z]+)[-_ ]?(AM|PM)$", re.IGNORECASE)
_FALLBACK_DAY = dt.date(2000, 1, 1)



def parse_session(name: str) -> tuple[int, str]:
    """Weekday (0 = Monday) and half (``"AM"`` or ``"PM"``) of a session name.

    Accepts a day (``Mon``, ``Tue``, ..., ``Sun`` or the full name, any case), an
    optional ``-``, ``_`` or space, then ``AM`` or ``PM``: ``Mon-AM``, ``thursday PM``.

    Raises
    ------
    ValueError
        If the name does not have that form.
    """
    match = _SESSION_RE.match(name.strip())
    day = _DAYS.get(match.group(1).lower()) if match else None
    if match is None or day is None:
        raise ValueError(
            f"session {name!r} has no day and half-day that calendars can use: name sessions "
            "like Mon-AM or Thu-PM (a day Mon..Sun, then AM or PM)")
    return day, match.group(2).upper()


def _block_dates(scenario: Scenario, block: int) -> tuple[dt.date, dt.date]:
    """First and last day of a block."""
    programme = scenario.programme
    assert programme.start is not None
    first = programme.start + dt.timedelta(weeks=(block - 1) * programme.block_weeks)
    return first, first + dt.timedelta(days=7 * programme.block_weeks - 1)


def _site_label(scenario: Scenario, site_id: str) -> str:
    site = scenario.site_by_id[site_id]
    return site.name or site.id


def _person(name: str | None, uid: str) -> str:
    return f"{name} ({uid})" if name else uid


def _event(
    scenario: Scenario, row: Any, uid: str, summary: str, description: list[str],
    last_block: int | None = None,
) -> Event:
    """One weekly recurring event for a timetable row, from its block to ``last_block``."""
    zone = ZoneInfo(TIMEZONE)
    weekday, half = parse_session(row.session)
    first_day, last_day = _block_dates(scenario, int(row.block))
    if last_block is not None:
        _, last_day = _block_dates(scenario, last_block)
    day = first_day + dt.timedelta(days=(weekday - first_day.weekday()) % 7)
    begins, ends = SESSION_TIMES[half]
    until = dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=zone)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", _dtstamp(scenario))
    event.add("dtstart", dt.datetime.combine(day, begins, tzinfo=zone))
    event.add("dtend", dt.datetime.combine(day, ends, tzinfo=zone))
    event.add("rrule", {"freq": "weekly", "until": until.astimezone(dt.UTC)})
    event.add("summary", summary)
    if row.site_id:
        site = scenario.site_by_id[row.site_id]
        event.add("location", ", ".join(x for x in (site.name or site.id, site.locality) if x))
    event.add("description", "\n".join(description))
    event.add("transp", "OPAQUE")
    return event


def _learner_event(scenario: Scenario, row: Any, role: str, last_block: int) -> Event:
    """A learner's weekly event for one timetable row, repeated to ``last_block``."""
    uid = _uid(scenario, row.learner_id, f"b{row.block}", row.session)
    blocks = f"Block {row.block}" if last_block == row.block else \
        f"Blocks {row.block}-{last_block}"
    where = f"{blocks}, {row.session}."
    if row.activity == "teaching" or not row.site_id:
        return _event(scenario, row, uid, "Teaching", [f"Central teaching. {where}"],
                      last_block)
    kind = {"base": "fellowship base", "partner": "fellowship partner"}.get(role, "placement")
    sup = _supervisor(scenario, row.supervisor_id) if row.supervisor_id else None
    who = f"Supervisor: {_person(sup.name, sup.id)}" if sup else "Supervisor: -"
    summary = f"{_site_label(scenario, row.site_id)} {kind} ({row.site_id})"
    return _event(scenario, row, uid, summary, [who, where], last_block)


def _spans(plan: Plan) -> dict[tuple[str, int], int]:
    """(learner, block) -> first block of the placement holding it (§9.4 start_block)."""
    a = plan.assignments
    starts = a[START_BLOCK] if START_BLOCK in a.columns else a["block"]
    return {(str(lid), int(block)): int(first)
            for lid, block, first in zip(a["learner_id"], a["block"], starts, strict=True)}


def _runs(rows: list[Any], span: dict[tuple[str, int], int]) -> list[tuple[Any, int]]:
    """A learner's rows merged over the consecutive blocks of one placement.

    A weekly session kept the same (activity, site, supervisor present) in the
    next block of the same placement extends one event, so a placement of
    several blocks is one event per weekly session, not one per block.
    """
    out: list[tuple[Any, int]] = []
    open_: dict[tuple[Any, ...], int] = {}
    for row in sorted(rows, key=lambda r: int(r.block)):
        block = int(row.block)
        key = (span.get((row.learner_id, block), block), row.session, row.activity,
               row.site_id, row.supervisor_id)
        last = open_.get(key)
        if last is not None and out[last][1] == block - 1:
            out[last] = (out[last][0], block)
        else:
            open_[key] = len(out)
            out.append((row, block))
    return out


def _supervisor_event(scenario: Scenario, row: Any, supervisor_id: str) -> Event:
    """A supervisor's weekly event for one timetable row they are present for."""
    learner = scenario.learner_by_id[row.learner_id]
    uid = _uid(scenario, supervisor_id, learner.id, f"b{row.block}", row.session)
    text = [f"Learner: {_person(learner.name, learner.id)}, {learner.profession}",
            f"Block {row.block}, {row.session}."]
    summary = f"Supervising {learner.name or learner.id} ({row.site_id})"
    return _event(scenario, row, uid, summary, text)


def _supervisor(scenario: Scenario, supervisor_id: str) -> Supervisor:
    site = scenario.site_by_id[scenario.supervisor_site[supervisor_id]]
    return next(sup for sup in site.supervisors if sup.id == supervisor_id)


def _dtstamp(scenario: Scenario) -> dt.datetime:
    day = scenario.programme.start or _FALLBACK_DAY
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _uid(scenario: Scenario, *parts: object) -> str:
    """A stable event UID: the programme start, then the parts."""
    start = scenario.programme.start or _FALLBACK_DAY
    return "-".join(["rotaplan", start.isoformat(), *map(str, parts)]) + "@rotaplan"


def _calendar(
    scenario: Scenario, name: str, timezone: Timezone, events: list[Event]
) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{name}: {scenario.programme.name}")
    cal.add("x-wr-timezone", TIMEZONE)
    cal.add_component(timezone)
    for event in events:
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def _timezone(scenario: Scenario) -> Timezone:
    """The ``VTIMEZONE`` of :data:`TIMEZONE`, covering the whole programme."""
    first, _ = _block_dates(scenario, 1)
    _, last = _block_dates(scenario, scenario.programme.blocks)
    return Timezone.from_tzid(TIMEZONE, first_date=first - dt.timedelta(days=1),
                              last_date=last + dt.timedelta(days=1))


def safe_file_id(uid: str) -> str:
    """An id made safe for a file name; ids changed on the way get a short hash suffix."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", uid)
    if safe == uid:
        return uid
    return f"{safe}-{hashlib.sha1(uid.encode()).hexdigest()[:8]}"


def calendars(scenario: Scenario, plan: Plan) -> dict[str, bytes]:
    """One iCalendar file per learner and per supervisor in the plan.

    Every timetable row (learner, block, session) is one event at the session's
    times on the first matching weekday of the block, repeating weekly to the
    block's last day; a learner's weekly session that stays the same over the
    blocks of one placement (§9) is one event over the whole placement. Learners
    get ``learner-<id>.ics`` with their sessions; supervisors get
    ``supervisor-<id>.ics`` with the sessions they are present for (rule 7).
    Learners left out and supervisors with no sessions get no file (a calendar
    must hold at least one event). Ids that are unsafe in file names
    are changed by :func:`safe_file_id`.

    Parameters
    ----------
    scenario, plan
        The scenario and a plan for it.

    Returns
    -------
    dict[str, bytes]
        File name -> ICS bytes, learners first (scenario order), then supervisors.

    Raises
    ------
    ValueError
        If ``programme.start`` is not set, a session name has no day and AM/PM,
        or the plan names ids the scenario lacks.
    """
    if scenario.programme.start is None:
        raise ValueError("programme.start is needed for calendars: set the programme's "
                         "start date (a Monday) in the scenario")
    check_names(scenario, plan)
    t = sorted_timetable(scenario, plan)
    for session in dict.fromkeys(t["session"]):
        parse_session(session)
    roles = {(learner_id, int(block), site_id): role for learner_id, block, role, site_id in zip(
        plan.assignments["learner_id"], plan.assignments["block"], plan.assignments["role"],
        plan.assignments["site_id"], strict=True)}
    timezone = _timezone(scenario)
    rows_of: dict[Any, list[Any]] = {}
    sup_rows: dict[Any, list[Any]] = {}
    for row in t.itertuples(index=False):
        rows_of.setdefault(row.learner_id, []).append(row)
        if row.supervisor_id:
            sup_rows.setdefault(row.supervisor_id, []).append(row)

    files: dict[str, bytes] = {}
    span = _spans(plan)
    rank = {session: i for i, session in enumerate(scenario.programme.sessions)}
    for learner in scenario.learners:
        runs = sorted(_runs(rows_of.get(learner.id, []), span),
                      key=lambda r: (int(r[0].block), rank[r[0].session]))
        events = [_learner_event(scenario, row, roles.get((row.learner_id, row.block,
                                                           row.site_id), ""), last)
                  for row, last in runs]
        if events:
            files[f"learner-{safe_file_id(learner.id)}.ics"] = _calendar(
                scenario, _person(learner.name, learner.id), timezone, events)
    for site in scenario.sites:
        for sup in site.supervisors:
            mine = sorted(sup_rows.get(sup.id, []),
                          key=lambda r: (r.block, rank[r.session], r.learner_id))
            events = [_supervisor_event(scenario, row, sup.id) for row in mine]
            if events:
                files[f"supervisor-{safe_file_id(sup.id)}.ics"] = _calendar(
                    scenario, _person(sup.name, sup.id), timezone, events)
    return files


def write_calendars(files: dict[str, bytes], directory: str | Path) -> list[Path]:
    """Write calendars made by :func:`calendars` into ``directory`` (created if needed).

    Each file is written atomically; a symbolic link in the folder is replaced,
    never written through.

    Returns
    -------
    list[Path]
        The files written, learners first.
    """
    out = Path(directory)
    return [write_bytes(out / name, data) for name, data in files.items()]
