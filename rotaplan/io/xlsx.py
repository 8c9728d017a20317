"""The plan as an Excel workbook for people (six sheets), byte-identical for the same plan.

:func:`workbook_frames` builds the sheets as DataFrames (the configurator shows
the same tables); :func:`write_xlsx` and :func:`xlsx_bytes` write them with
openpyxl. The document dates and the ZIP entry timestamps are fixed to
``programme.start`` (or 2000-01-01), so the same scenario and plan give the
same bytes (on the same library versions).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from rotaplan.analysis.kpis import kpis, placement_costs
from rotaplan.io.cells import text_cells
from rotaplan.io.plan_dir import check_names, sorted_timetable, text, write_bytes
from rotaplan.models import Plan, Scenario

SHEETS = ("Rotations", "Timetable", "Site occupancy", "Supervisor load", "Room use", "KPIs")
"""Workbook sheet names, in order."""

_ROLE_ORDER = {"rotation": 0, "base": 1, "partner": 2}
_FALLBACK_DAY = dt.date(2000, 1, 1)
_MAX_WIDTH = 60


def _block_label(block: int) -> str:
    return f"Block {block}"



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
    check_names(scenario, plan)
    t = sorted_timetable(scenario, plan)
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
    named = a[a["supervisor_id"].map(text) != ""]
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
        ("learners with preferences", k.learners_with_preferences),
        ("first choice", k.first_choice),
        ("placements of learners with preferences", k.placements_with_preferences),
        ("top-3 placements", k.top3_placements),
        ("worst learner cost", k.worst_learner_cost),
        ("learners left out", ", ".join(k.left_out) or "none"),
        ("changes of organisation", k.organisation_changes),
        ("idle blocks before a last placement", k.idle_blocks),
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
        longest = max([len(str(column)), *(len(text(v)) for v in frame[column])])
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
            text_cells(writer.sheets[name])  # '=HYPERLINK(...)' in a name stays text
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
    return write_bytes(Path(path), xlsx_bytes(scenario, plan, summary))
