"""Plan exports: an XLSX workbook for people and ICS calendars for their diaries.

:func:`workbook_frames` builds the workbook's sheets as DataFrames (the UI shows
the same tables); :func:`write_xlsx` and :func:`xlsx_bytes` write them with
openpyxl. :func:`calendars` builds one iCalendar file per learner and per
supervisor; :func:`write_calendars` writes them to a directory.

Both outputs are deterministic: the same scenario and plan give byte-identical
files (on the same library versions). The workbook's document dates and its ZIP
entry timestamps are fixed to ``programme.start`` (or 2000-01-01), and the
calendars' ``DTSTAMP`` is ``programme.start`` at midnight UTC.

Calendar times use ``TZID=Europe/London`` (a ``VTIMEZONE`` covering the programme
is included), so sessions stay at 09:00-12:30 and 13:30-17:00 UK time across
clock changes whatever the reader's own time zone. Each weekly session of a
block is one event recurring weekly (``RRULE:FREQ=WEEKLY;UNTIL=...``, UNTIL in UTC
as RFC 5545 requires, at the end of the block's last day).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from icalendar import Calendar, Event, Timezone

from rotaplan.analysis.kpis import kpis, placement_costs
from rotaplan.models import ASSIGNMENT_COLUMNS, TIMETABLE_COLUMNS, Plan, Scenario, Supervisor

SHEETS = ("Rotations", "Timetable", "Site occupancy", "Supervisor load", "Room use", "KPIs")
"""Workbook sheet names, in order."""

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
_ROLE_ORDER = {"rotation": 0, "base": 1, "partner": 2}
_FALLBACK_DAY = dt.date(2000, 1, 1)
_MAX_WIDTH = 60


# --------------------------------------------------------------------------- shared


def _text(value: Any) -> str:
    """A cell as text: empty for None, NaN and missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _block_label(block: int) -> str:
    return f"Block {block}"


def _check_plan(scenario: Scenario, plan: Plan) -> None:
    """Raise ValueError when the plan names ids, blocks or sessions its scenario lacks."""
    a, t = plan.assignments, plan.timetable
    known: list[tuple[str, set[str], list[str]]] = [
        ("learner", set(scenario.learner_by_id),
         [*map(_text, a["learner_id"]), *map(_text, t["learner_id"])]),
        ("site", set(scenario.site_by_id),
         [*map(_text, a["site_id"]), *(x for x in map(_text, t["site_id"]) if x)]),
        ("supervisor", set(scenario.supervisor_site),
         [*(x for x in map(_text, a["supervisor_id"]) if x),
          *(x for x in map(_text, t["supervisor_id"]) if x)]),
        ("session", set(scenario.programme.sessions), list(map(_text, t["session"]))),
    ]
    for what, ids, used in known:
        unknown = sorted(set(used) - ids)
        if unknown:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValueError(f"the plan names {what}(s) not in the scenario: "
                             f"{', '.join(unknown[:5])}{more}")
    blocks = set(scenario.programme.block_numbers)
    bad = sorted({int(b) for b in [*a["block"], *t["block"]]} - blocks)
    if bad:
        raise ValueError(f"the plan uses block(s) {', '.join(map(str, bad))}, but the "
                         f"programme has blocks 1..{scenario.programme.blocks}")


def _timetable(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """The timetable with empty strings for blanks, sorted by learner, block, session."""
    t = plan.timetable.copy()
    for column in ("learner_id", "session", "activity", "site_id", "supervisor_id"):
        t[column] = t[column].map(_text)
    t["block"] = t["block"].astype(int)
    learner_rank = {x.id: i for i, x in enumerate(scenario.learners)}
    session_rank = {s: i for i, s in enumerate(scenario.programme.sessions)}
    t["_learner"] = t["learner_id"].map(learner_rank)
    t["_session"] = t["session"].map(session_rank)
    t = t.sort_values(["_learner", "block", "_session", "site_id"], kind="stable")
    return t.drop(columns=["_learner", "_session"]).reset_index(drop=True)


# --------------------------------------------------------------------------- workbook


def workbook_frames(
    scenario: Scenario, plan: Plan, summary: Mapping[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets as DataFrames, in sheet order (see :data:`SHEETS`).

    Parameters
    ----------
    scenario, plan
        The scenario and a plan for it.
    summary
        The plan's ``summary.json``, if any: its status and objective go on the KPIs sheet.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Rotations, Timetable, Site occupancy, Supervisor load, Room use and KPIs.

    Raises
    ------
    ValueError
        If the plan names learners, sites, supervisors, sessions or blocks the
        scenario lacks.
    """
    _check_plan(scenario, plan)
    t = _timetable(scenario, plan)
    return {
        "Rotations": _rotations(scenario, plan),
        "Timetable": _timetable_sheet(scenario, t),
        "Site occupancy": _site_occupancy(scenario, plan),
        "Supervisor load": _supervisor_load(scenario, plan),
        "Room use": _room_use(scenario, t),
        "KPIs": _kpi_sheet(scenario, plan, summary),
    }


def _rotations(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    costs = placement_costs(scenario, plan)
    blocks = scenario.programme.block_numbers
    sites: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for learner_id, block, role, site_id in zip(
        costs["learner_id"], costs["block"], costs["role"], costs["site_id"], strict=True
    ):
        sites.setdefault((learner_id, int(block)), []).append(
            (_ROLE_ORDER.get(role, 3), site_id))
    total = costs.groupby("learner_id")["preference_cost"].sum()
    rows = []
    for x in scenario.learners:
        row: dict[str, Any] = {"learner_id": x.id, "name": x.name or "",
                               "profession": x.profession, "track": x.track}
        for b in blocks:
            row[_block_label(b)] = " + ".join(s for _, s in sorted(sites.get((x.id, b), [])))
        row["preference cost"] = int(total[x.id]) if x.id in total.index else None
        rows.append(row)
    columns = ["learner_id", "name", "profession", "track",
               *map(_block_label, blocks), "preference cost"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["preference cost"] = frame["preference cost"].astype("Int64")
    return frame


def _timetable_sheet(scenario: Scenario, t: pd.DataFrame) -> pd.DataFrame:
    learner_name = {x.id: x.name or "" for x in scenario.learners}
    site_name = {s.id: s.name or "" for s in scenario.sites}
    return pd.DataFrame({
        "learner_id": t["learner_id"],
        "learner": t["learner_id"].map(learner_name),
        "block": t["block"].astype(int),
        "session": t["session"],
        "activity": t["activity"],
        "site_id": t["site_id"],
        "site": t["site_id"].map(lambda s: site_name.get(s, "")),
        "supervisor_id": t["supervisor_id"],
    })


def _site_occupancy(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    blocks = scenario.programme.block_numbers
    a = plan.assignments
    counts = a.groupby(["site_id", a["block"].astype(int)]).size().to_dict()
    rows = []
    for s in scenario.sites:
        row: dict[str, Any] = {"site_id": s.id, "site": s.name or "", "setting": s.setting}
        for b in blocks:
            row[_block_label(b)] = int(counts.get((s.id, b), 0))
        row["capacity"] = s.capacity if isinstance(s.capacity, int) else None
        rows.append(row)
    columns = ["site_id", "site", "setting", *map(_block_label, blocks), "capacity"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["capacity"] = frame["capacity"].astype("Int64")
    return frame


def _supervisor_load(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    a = plan.assignments
    named = a[a["supervisor_id"].map(_text) != ""]
    counts = named.groupby(["supervisor_id", named["block"].astype(int)]).size().to_dict()
    rows = []
    for s in scenario.sites:
        for sup in s.supervisors:
            for b in scenario.programme.block_numbers:
                rows.append({
                    "supervisor_id": sup.id, "supervisor": sup.name or "", "site_id": s.id,
                    "profession": sup.profession, "block": b,
                    "learners supervised": int(counts.get((sup.id, b), 0)),
                    "capacity": sup.capacity, "available": b not in sup.unavailable_blocks,
                })
    columns = ["supervisor_id", "supervisor", "site_id", "profession", "block",
               "learners supervised", "capacity", "available"]
    return pd.DataFrame(rows, columns=columns)


def _room_use(scenario: Scenario, t: pd.DataFrame) -> pd.DataFrame:
    clinical = t[t["site_id"] != ""]
    counts = clinical.groupby(["site_id", "block", "session"]).size().to_dict()
    rows = []
    for s in scenario.sites:
        for b in scenario.programme.block_numbers:
            for session in s.open_in(scenario.programme):
                rows.append({"site_id": s.id, "site": s.name or "", "block": b,
                             "session": session,
                             "learners present": int(counts.get((s.id, b, session), 0)),
                             "rooms": s.rooms_at(session)})
    columns = ["site_id", "site", "block", "session", "learners present", "rooms"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["rooms"] = frame["rooms"].astype("Int64")
    return frame


def _kpi_sheet(
    scenario: Scenario, plan: Plan, summary: Mapping[str, Any] | None
) -> pd.DataFrame:
    k = kpis(scenario, plan)
    total = int(placement_costs(scenario, plan)["preference_cost"].sum())
    rows: list[tuple[str, Any]] = [
        ("learners", k.learners),
        ("placed", k.placed),
        ("learners with preferences", k.with_preferences),
        ("first choice", k.first_choice),
        ("placements of learners with preferences", k.placements),
        ("top-3 placements", k.top3_placements),
        ("worst learner cost", k.worst_learner_cost),
        ("total preference cost", total),
    ]
    if summary is not None:
        for key in ("status", "objective", "best_bound"):
            if summary.get(key) is not None:
                rows.append((key.replace("_", " "), summary[key]))
    return pd.DataFrame(rows, columns=["measure", "value"])


def _fixed_datetime(scenario: Scenario) -> dt.datetime:
    """The fixed document date: ``programme.start`` at midnight, else 2000-01-01."""
    day = scenario.programme.start or _FALLBACK_DAY
    return dt.datetime.combine(max(day, dt.date(1980, 1, 1)), dt.time())


def _fit_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    """Bold the header and fit column widths to the longest value (capped)."""
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(frame.columns, start=1):
        longest = max([len(str(column)), *(len(_text(v)) for v in frame[column])])
        sheet.column_dimensions[get_column_letter(i)].width = min(_MAX_WIDTH, longest + 2)


def _normalise_zip(data: bytes, stamp: dt.datetime, core_xml: bytes) -> bytes:
    """Rewrite an XLSX archive with fixed entry timestamps and document properties."""
    out = io.BytesIO()
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = core_xml if info.filename == "docProps/core.xml" else src.read(info)
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def xlsx_bytes(
    scenario: Scenario, plan: Plan, summary: Mapping[str, Any] | None = None
) -> bytes:
    """The workbook as bytes (e.g. for a download button).

    Parameters
    ----------
    scenario, plan
        The scenario and a plan for it.
    summary
        The plan's ``summary.json``, if any.

    Returns
    -------
    bytes
        An XLSX file, byte-identical for the same inputs.
    """
    from openpyxl.xml.functions import tostring  # type: ignore[import-untyped]

    frames = workbook_frames(scenario, plan, summary)
    stamp = _fixed_datetime(scenario)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        book: Any = writer.book
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
            _fit_sheet(writer.sheets[name], frame)
        book.properties.creator = "rotaplan"
        book.properties.title = scenario.programme.name
        book.properties.created = stamp
    # openpyxl stamps "modified" with the current time while saving: put it back.
    book.properties.modified = stamp
    core_xml = tostring(book.properties.to_tree())
    return _normalise_zip(buffer.getvalue(), stamp, core_xml)


def write_xlsx(
    scenario: Scenario, plan: Plan, path: str | Path, summary: Mapping[str, Any] | None = None
) -> Path:
    """Write the workbook to ``path`` (parent directories are created).

    Returns
    -------
    Path
        The file written.
    """
    target = Path(path)
    data = xlsx_bytes(scenario, plan, summary)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


# --------------------------------------------------------------------------- calendars


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
    scenario: Scenario, row: Any, uid: str, summary: str, description: list[str]
) -> Event:
    """One weekly recurring event for a timetable row in its block."""
    zone = ZoneInfo(TIMEZONE)
    weekday, half = parse_session(row.session)
    first_day, last_day = _block_dates(scenario, int(row.block))
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


def _learner_event(scenario: Scenario, row: Any, role: str) -> Event:
    """A learner's weekly event for one timetable row."""
    uid = _uid(scenario, row.learner_id, f"b{row.block}", row.session)
    where = f"Block {row.block}, {row.session}."
    if row.activity == "teaching" or not row.site_id:
        return _event(scenario, row, uid, "Teaching", [f"Central teaching. {where}"])
    kind = {"base": "fellowship base", "partner": "fellowship partner"}.get(role, "placement")
    sup = _supervisor(scenario, row.supervisor_id) if row.supervisor_id else None
    who = f"Supervisor: {_person(sup.name, sup.id)}" if sup else "Supervisor: -"
    summary = f"{_site_label(scenario, row.site_id)} {kind} ({row.site_id})"
    return _event(scenario, row, uid, summary, [who, where])


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
    block's last day. Learners get ``learner-<id>.ics`` with their sessions;
    supervisors get ``supervisor-<id>.ics`` with the sessions they are present
    for (rule 7). Learners left out and supervisors with no sessions get no file
    (a calendar must hold at least one event). Ids that are unsafe in file names
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
    _check_plan(scenario, plan)
    t = _timetable(scenario, plan)
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
    for learner in scenario.learners:
        events = [_learner_event(scenario, row, roles.get((row.learner_id, row.block,
                                                           row.site_id), ""))
                  for row in rows_of.get(learner.id, [])]
        if events:
            files[f"learner-{safe_file_id(learner.id)}.ics"] = _calendar(
                scenario, _person(learner.name, learner.id), timezone, events)
    rank = {session: i for i, session in enumerate(scenario.programme.sessions)}
    for site in scenario.sites:
        for sup in site.supervisors:
            mine = sorted(sup_rows.get(sup.id, []),
                          key=lambda r: (r.block, rank[r.session], r.learner_id))
            events = [_supervisor_event(scenario, row, sup.id) for row in mine]
            if events:
                files[f"supervisor-{safe_file_id(sup.id)}.ics"] = _calendar(
                    scenario, _person(sup.name, sup.id), timezone, events)
    return files


def write_calendars(scenario: Scenario, plan: Plan, directory: str | Path) -> list[Path]:
    """Write :func:`calendars` into ``directory`` (created if needed).

    Returns
    -------
    list[Path]
        The files written, learners first.
    """
    files = calendars(scenario, plan)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- plan files


def read_plan_dir(directory: str | Path) -> tuple[Plan, dict[str, Any] | None]:
    """Read a plan directory: the plan, and ``summary.json`` when it is there.

    Raises
    ------
    ValueError
        If the directory or its CSV files are missing or cannot be read.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"{d}: no such directory")
    missing = [n for n in ("assignments.csv", "timetable.csv") if not (d / n).is_file()]
    if missing:
        raise ValueError(f"{d}: no plan to export (there is no {' or '.join(missing)})")
    try:
        plan = Plan.read(d)
    except (ValueError, KeyError, OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"{d}: cannot read the plan files: {exc}") from None
    for name, frame, columns in (("assignments.csv", plan.assignments, ASSIGNMENT_COLUMNS),
                                 ("timetable.csv", plan.timetable, TIMETABLE_COLUMNS)):
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise ValueError(f"{d / name}: missing column(s) {', '.join(absent)}")
    summary: dict[str, Any] | None = None
    if (d / "summary.json").is_file():
        try:
            loaded = json.loads((d / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{d / 'summary.json'}: cannot be read: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{d / 'summary.json'}: does not hold a JSON object")
        summary = loaded
    return plan, summary
