"""Plan exports: the XLSX workbook and the ICS calendars, on real solved plans."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from openpyxl import load_workbook
from typer.testing import CliRunner

from rotaplan.cli import app
from rotaplan.io.ics import calendars, parse_session, safe_file_id, write_calendars
from rotaplan.io.plan_dir import read_plan_dir
from rotaplan.io.xlsx import SHEETS, workbook_frames, write_xlsx, xlsx_bytes
from rotaplan.models import Plan, Scenario, load_scenario, parse_scenario_text
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.helpers import (
    INSTANCES,
    SHARED_EXAMPLE,
    learner,
    needs_shared,
    scenario,
    scenario_from,
    site,
)

DEMO = INSTANCES / "demo.yaml"
runner = CliRunner()


@dataclass(frozen=True)
class Solved:
    """A solved scenario: the model, its plan and summary, and the plan directory."""

    path: Path
    scenario: Scenario
    plan: Plan
    summary: dict[str, Any] | None
    plan_dir: Path


def _solve(path: Path, out: Path) -> Solved:
    sc = load_scenario(path)
    outcome = solve_and_write(sc, out, SolveOptions(time_limit=60.0, workers=1, seed=0))
    assert outcome.exit_code == 0, outcome.result.status
    found = read_plan_dir(out)
    plan, summary = found.plan, found.summary
    return Solved(path, sc, plan, summary, out)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Solved:
    return _solve(DEMO, tmp_path_factory.mktemp("demo-plan"))


@pytest.fixture(scope="module")
def demo_calendars(demo: Solved) -> dict[str, bytes]:
    return calendars(demo.scenario, demo.plan)


def _block_dates(sc: Scenario, block: int) -> tuple[dt.date, dt.date]:
    assert sc.programme.start is not None
    first = sc.programme.start + dt.timedelta(weeks=(block - 1) * sc.programme.block_weeks)
    return first, first + dt.timedelta(days=7 * sc.programme.block_weeks - 1)


def _events(data: bytes) -> list[Any]:
    return list(Calendar.from_ical(data).walk("VEVENT"))


# --------------------------------------------------------------------------- workbook


def test_workbook_reads_back_with_expected_rows(demo: Solved, tmp_path: Path) -> None:
    """The demo's workbook reads back with its sheets in order and figures matching the plan.

    Rotations, timetable, site occupancy, supervisor load, room use and KPIs each agree with the
    plan's rows and summary, within every capacity and room limit.
    """
    sc, plan, summary = demo.scenario, demo.plan, demo.summary
    assert summary is not None
    path = write_xlsx(sc, plan, tmp_path / "sub" / "plan.xlsx", demo.summary)
    sheets = pd.read_excel(path, sheet_name=None)
    assert tuple(sheets) == SHEETS
    blocks = [f"Block {b}" for b in sc.programme.block_numbers]

    rotations = sheets["Rotations"]
    assert list(rotations["learner_id"]) == [x.id for x in sc.learners]
    assert list(rotations.columns) == ["learner_id", "name", "profession", "track", *blocks,
                                       "preference cost"]
    assert rotations["preference cost"].sum() == summary["preference_cost"]
    first = plan.assignments[(plan.assignments["learner_id"] == sc.learners[0].id)
                             & (plan.assignments["block"] == 1)]
    assert rotations.loc[0, "Block 1"] == first["site_id"].iloc[0]

    timetable = sheets["Timetable"]
    assert len(timetable) == len(plan.timetable)
    assert list(timetable.columns) == ["learner_id", "learner", "block", "session", "activity",
                                       "site_id", "site", "supervisor_id"]
    order = {s: i for i, s in enumerate(sc.programme.sessions)}
    l001 = timetable[timetable["learner_id"] == sc.learners[0].id]
    keys = list(zip(l001["block"], l001["session"].map(order), strict=True))
    assert keys == sorted(keys)

    occupancy = sheets["Site occupancy"]
    assert len(occupancy) == len(sc.sites)
    per_block = plan.assignments.groupby("block").size()
    for b in sc.programme.block_numbers:
        assert occupancy[f"Block {b}"].sum() == per_block[b]

    load = sheets["Supervisor load"]
    supervisors = sum(len(s.supervisors) for s in sc.sites)
    assert len(load) == supervisors * sc.programme.blocks
    assert load["learners supervised"].sum() == len(plan.assignments)
    assert (load["learners supervised"] <= load["capacity"]).all()

    rooms = sheets["Room use"]
    clinical = plan.timetable[plan.timetable["activity"] == "clinical"]
    assert rooms["learners present"].sum() == len(clinical)
    limited = rooms.dropna(subset=["rooms"])
    assert len(limited) > 0 and (limited["learners present"] <= limited["rooms"]).all()

    kpis = dict(zip(sheets["KPIs"]["measure"], sheets["KPIs"]["value"], strict=True))
    assert kpis["learners"] == kpis["placed"] == len(sc.learners)
    assert kpis["status"] == "OPTIMAL"
    assert float(kpis["objective"]) == summary["objective"]


def test_fellows_show_base_and_partner(demo: Solved) -> None:
    """A fellow's block in the Rotations sheet shows the base and partner as "base + partner"."""
    sc, plan = demo.scenario, demo.plan
    rotations = workbook_frames(sc, plan)["Rotations"].set_index("learner_id")
    fellow = next(x for x in sc.learners if x.track == "fellowship")
    block = fellow.blocks_in(sc.programme)[0]
    mine = plan.assignments[(plan.assignments["learner_id"] == fellow.id)
                            & (plan.assignments["block"] == block)]
    role = dict(zip(mine["role"], mine["site_id"], strict=True))
    assert rotations.loc[fellow.id, f"Block {block}"] == f"{role['base']} + {role['partner']}"


def test_kpis_without_summary_have_no_status(demo: Solved) -> None:
    """Without a summary the KPIs sheet has no status row but keeps the plan's own figures."""
    kpis = workbook_frames(demo.scenario, demo.plan)["KPIs"]
    assert "status" not in set(kpis["measure"])
    assert {"first choice", "top-3 placements", "worst learner cost"} <= set(kpis["measure"])


def test_xlsx_is_byte_identical_and_formatted(demo: Solved, tmp_path: Path) -> None:
    """The workbook is byte-identical each time, dated from the programme start, not the clock.

    Every sheet has a bold, frozen header row, and columns are wide enough for their text.
    """
    first = xlsx_bytes(demo.scenario, demo.plan, demo.summary)
    written = write_xlsx(demo.scenario, demo.plan, tmp_path / "plan.xlsx", demo.summary)
    assert written.read_bytes() == first
    # Nothing depends on the clock: ZIP entry times and document dates are fixed.
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2027, 9, 6, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2027-09-06T00:00:00Z") == 2
    book = load_workbook(io.BytesIO(first))
    for name in SHEETS:
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
    widths = book["Timetable"].column_dimensions
    assert widths["A"].width >= len("learner_id") and widths["G"].width > 10


def test_plan_naming_unknown_ids_is_rejected(demo: Solved) -> None:
    """A plan naming a learner the scenario lacks is refused by the workbook and the calendars."""
    plan = Plan(demo.plan.assignments.copy(), demo.plan.timetable.copy())
    plan.timetable.loc[0, "learner_id"] = "nobody"
    with pytest.raises(ValueError, match="learner\\(s\\) not in the scenario: nobody"):
        workbook_frames(demo.scenario, plan)
    with pytest.raises(ValueError, match="nobody"):
        calendars(demo.scenario, plan)


def test_plan_with_everyone_left_out(demo: Solved) -> None:
    """An empty plan lists every learner with empty blocks, no timetable rows and no calendar."""
    sheets = pd.read_excel(io.BytesIO(xlsx_bytes(demo.scenario, Plan.empty())), sheet_name=None)
    assert len(sheets["Rotations"]) == len(demo.scenario.learners)
    assert sheets["Rotations"]["Block 1"].isna().all()
    assert len(sheets["Timetable"]) == 0
    assert calendars(demo.scenario, Plan.empty()) == {}


# --------------------------------------------------------------------------- calendars


def test_learner_calendars_match_timetable(demo: Solved, demo_calendars: dict[str, bytes]
                                           ) -> None:
    """Each learner's calendar has one weekly event per timetable row, in London time.

    Each event falls on its session's weekday and half-day times, repeats every week of its block to
    the block's last day, and says the site and supervisor or "Teaching".
    """
    sc, t = demo.scenario, demo.plan.timetable
    order = {s: i for i, s in enumerate(sc.programme.sessions)}
    learners = {name for name in demo_calendars if name.startswith("learner-")}
    assert learners == {f"learner-{x.id}.ics" for x in sc.learners}
    for x in sc.learners:
        cal = Calendar.from_ical(demo_calendars[f"learner-{x.id}.ics"])
        assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
        events = list(cal.walk("VEVENT"))
        rows = t[t["learner_id"] == x.id].copy()
        assert len(events) == len(rows)
        rows = rows.assign(rank=rows["session"].map(order)).sort_values(["block", "rank"])
        for event, row in zip(events, rows.itertuples(), strict=True):
            weekday, half = parse_session(row.session)
            first, last = _block_dates(sc, row.block)
            start, end = event["DTSTART"].dt, event["DTEND"].dt
            assert str(start.tzinfo) == "Europe/London"
            assert first <= start.date() < first + dt.timedelta(days=7)
            assert start.weekday() == weekday
            assert (start.time(), end.time()) == ((dt.time(9), dt.time(12, 30)) if half == "AM"
                                                  else (dt.time(13, 30), dt.time(17)))
            rule = event["RRULE"]
            assert rule["FREQ"] == ["WEEKLY"]
            until = rule["UNTIL"][0]
            assert until.tzinfo is not None and until.utcoffset() == dt.timedelta(0)
            local_until = until.astimezone(start.tzinfo)
            assert start < local_until and local_until.date() == last
            # The rule expands to one occurrence a week for every week of the block.
            dates = [d.date() for d in rrulestr(rule.to_ical().decode(), dtstart=start)]
            assert len(dates) == sc.programme.block_weeks and first <= dates[0]
            assert dates[-1] <= last
            if row.activity == "teaching":
                assert str(event["SUMMARY"]) == "Teaching"
            else:
                assert f"({row.site_id})" in str(event["SUMMARY"])
                assert row.supervisor_id in str(event["DESCRIPTION"])
                assert str(event["LOCATION"]).startswith(sc.site_by_id[row.site_id].name or "")
            assert event["DTSTAMP"].dt == dt.datetime(2027, 9, 6, tzinfo=dt.UTC)


def test_supervisor_calendars_and_unique_uids(demo: Solved, demo_calendars: dict[str, bytes]
                                              ) -> None:
    """Every supervisor present in the timetable gets a calendar with one event per session.

    Every event of every calendar has its own UID.
    """
    t = demo.plan.timetable
    present = t[t["supervisor_id"] != ""]
    sup_files = {name for name in demo_calendars if name.startswith("supervisor-")}
    assert sup_files == {f"supervisor-{s}.ics" for s in set(present["supervisor_id"])}
    sup_events = sum(len(_events(demo_calendars[name])) for name in sup_files)
    assert sup_events == len(present)
    uids = [str(e["UID"]) for data in demo_calendars.values() for e in _events(data)]
    assert len(uids) == len(set(uids)) == len(t) + len(present)
    some = sorted(sup_files)[0]
    assert str(_events(demo_calendars[some])[0]["SUMMARY"]).startswith("Supervising ")


def test_calendars_are_byte_identical(demo: Solved, demo_calendars: dict[str, bytes],
                                      tmp_path: Path) -> None:
    """Calendars made twice are written with the same file names and the same bytes."""
    # demo_calendars was made by an earlier, separate call.
    written = write_calendars(calendars(demo.scenario, demo.plan), tmp_path / "ics")
    assert [p.name for p in written] == list(demo_calendars)
    assert [p.read_bytes() for p in written] == list(demo_calendars.values())


def test_calendars_need_a_start_date(demo: Solved) -> None:
    """Calendars are refused without programme.start; the workbook is still made."""
    programme = demo.scenario.programme.model_copy(update={"start": None})
    no_start = demo.scenario.model_copy(update={"programme": programme})
    with pytest.raises(ValueError, match=r"programme\.start is needed for calendars"):
        calendars(no_start, demo.plan)
    assert len(workbook_frames(no_start, demo.plan)["Rotations"]) == len(demo.scenario.learners)


def test_start_not_on_monday_keeps_events_in_their_block(demo: Solved) -> None:
    """With a Wednesday start, a Monday session runs from block 1's first Monday to its last day."""
    text = DEMO.read_text().replace("start: 2027-09-06", "start: 2027-09-08", 1)
    sc = parse_scenario_text(text, str(DEMO)).scenario
    learner = sc.learners[0].id
    a, t = demo.plan.assignments, demo.plan.timetable
    plan = Plan(a[a["learner_id"] == learner], t[t["learner_id"] == learner])
    events = _events(calendars(sc, plan)[f"learner-{learner}.ics"])
    monday = [e for e in events if str(e["UID"]).endswith("-b1-Mon-AM@rotaplan")]
    assert monday and monday[0]["DTSTART"].dt.date() == dt.date(2027, 9, 13)
    assert monday[0]["RRULE"]["UNTIL"][0].date() == dt.date(2027, 12, 7)


@pytest.mark.parametrize(("name", "expected"), [
    ("Mon-AM", (0, "AM")), ("Fri-PM", (4, "PM")), ("sun_am", (6, "AM")),
    ("Thursday PM", (3, "PM")), ("TueAM", (1, "AM")),
])
def test_parse_session(name: str, expected: tuple[int, str]) -> None:
    """Session names in several spellings give their weekday (Monday 0) and half-day."""
    assert parse_session(name) == expected


@pytest.mark.parametrize("name", ["Morning", "Mon-EVE", "Monkey-AM", "AM-Mon", "Mon-AM-2"])
def test_parse_session_rejects_other_names(name: str) -> None:
    """A session name without a weekday and AM/PM is refused, with an example of the form."""
    with pytest.raises(ValueError, match="like Mon-AM"):
        parse_session(name)


def test_unparseable_session_in_plan_is_a_value_error() -> None:
    """A plan with a session named 'Early' makes a workbook but no calendars."""
    data = scenario([site("ward")], [learner("L1")], sessions=["Mon-AM", "Early"])
    data["programme"]["start"] = "2027-09-06"
    sc = scenario_from(data)
    plan = Plan.from_rows([("L1", 1, "rotation", "ward", "ward-sup")],
                          [("L1", 1, "Mon-AM", "clinical", "ward", "ward-sup"),
                           ("L1", 1, "Early", "clinical", "ward", "ward-sup")])
    assert len(workbook_frames(sc, plan)["Timetable"]) == 2
    with pytest.raises(ValueError, match="session 'Early'"):
        calendars(sc, plan)


def test_unsafe_ids_get_safe_distinct_file_names() -> None:
    """Ids with slashes or spaces give distinct file names without them; plain ids are kept."""
    assert safe_file_id("L001") == "L001"
    names = {safe_file_id(x) for x in ("a/b", "a b", "a_b", "../x")}
    assert len(names) == 4
    assert all("/" not in n and " " not in n for n in names)


@needs_shared
def test_contract_example_exports(tmp_path: Path) -> None:
    """The contract example exports six learner calendars and shows both fellows' two sites."""
    solved = _solve(SHARED_EXAMPLE, tmp_path / "plan")
    files = write_calendars(calendars(solved.scenario, solved.plan), tmp_path / "ics")
    assert len([p for p in files if p.name.startswith("learner-")]) == 6
    sheets = pd.read_excel(io.BytesIO(xlsx_bytes(solved.scenario, solved.plan, solved.summary)),
                           sheet_name=None)
    fellows = sheets["Rotations"][sheets["Rotations"]["track"] == "fellowship"]
    assert len(fellows) == 2 and fellows["Block 1"].str.contains(" \\+ ").all()


# --------------------------------------------------------------------------- CLI


def test_cli_export_writes_both(demo: Solved, demo_calendars: dict[str, bytes],
                                tmp_path: Path) -> None:
    """`rotaplan export` writes the same workbook and calendars as the functions, and says so."""
    xlsx, ics = tmp_path / "out" / "plan.xlsx", tmp_path / "ics"
    result = runner.invoke(app, ["export", str(demo.plan_dir), "--scenario", str(DEMO),
                                 "--xlsx", str(xlsx), "--ics", str(ics)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert xlsx.read_bytes() == xlsx_bytes(demo.scenario, demo.plan, demo.summary)
    expected = demo_calendars
    assert {p.name: p.read_bytes() for p in ics.iterdir()} == expected
    assert f"wrote {xlsx}" in result.output
    assert f"wrote {len(expected)} calendars to {ics}/" in result.output


def test_cli_export_needs_an_output(demo: Solved) -> None:
    """`rotaplan export` without --xlsx or --ics exits 2 and says what to give."""
    result = runner.invoke(app, ["export", str(demo.plan_dir), "--scenario", str(DEMO)])
    assert result.exit_code == 2
    assert "say what to write: --xlsx FILE and/or --ics DIR" in result.output


def test_cli_export_bad_input_exits_2(demo: Solved, tmp_path: Path) -> None:
    """`rotaplan export` exits 2 with a reason on bad input and writes nothing.

    The bad inputs: a plan folder without assignments, missing columns, no such folder or scenario,
    no start date for calendars, and no --scenario.
    """
    no_start = tmp_path / "no-start.yaml"
    no_start.write_text(DEMO.read_text().replace("  start: 2027-09-06\n", "", 1))
    infeasible = tmp_path / "infeasible"
    infeasible.mkdir()
    (infeasible / "summary.json").write_text('{"status": "INFEASIBLE"}\n')
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "assignments.csv").write_text("learner_id,block\nL001,1\n")
    (broken / "timetable.csv").write_text((demo.plan_dir / "timetable.csv").read_text())
    cases = [
        (["export", str(infeasible), "--scenario", str(DEMO), "--xlsx",
          str(tmp_path / "x.xlsx")], "not a plan folder (there is no assignments.csv"),
        (["export", str(broken), "--scenario", str(DEMO), "--xlsx",
          str(tmp_path / "x.xlsx")], "missing column(s) role, site_id, supervisor_id"),
        (["export", str(tmp_path / "nope"), "--scenario", str(DEMO), "--xlsx",
          str(tmp_path / "x.xlsx")],
         "no such folder"),
        (["export", str(demo.plan_dir), "--scenario", str(tmp_path / "nope.yaml"), "--xlsx",
          str(tmp_path / "x.xlsx")], "no such file"),
        (["export", str(demo.plan_dir), "--scenario", str(no_start), "--xlsx",
          str(tmp_path / "x.xlsx"), "--ics", str(tmp_path / "ics")], "programme.start"),
        (["export", str(demo.plan_dir), "--xlsx", str(tmp_path / "x.xlsx")],
         "Missing option"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    # Nothing is half-written when the calendars cannot be made.
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "ics").exists()

