"""``rotaplan.io.workbook``: scenarios from hub workbooks and CSV files, and templates.

Round trips must give back the same scenario; every problem must name the sheet
(or file), the spreadsheet row (header = row 1) and the column (with its letter
in a workbook); bad files must be refused with plain words, not tracebacks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

from rotaplan.cli import app
from rotaplan.io import workbook as spreadsheet
from rotaplan.io.tables import COLUMNS, cell_text, from_scenario, validate
from rotaplan.io.workbook import (
    FIELD_HELP,
    ImportResult,
    SheetProblem,
    read_csvs,
    read_files,
    read_workbook,
    template_bytes,
    write_template,
)
from rotaplan.models import Scenario, load_scenario
from tests.helpers import INSTANCES, NO_SHARED, SHARED_EXAMPLE

BROKEN_CSV = Path(__file__).resolve().parents[2] / "data" / "spreadsheets" / "broken-csv"
EXAMPLE = SHARED_EXAMPLE if SHARED_EXAMPLE.exists() else INSTANCES / "demo.yaml"

ROUND_TRIP_FILES = [
    pytest.param(INSTANCES / "demo.yaml", id="demo"),
    pytest.param(INSTANCES / "medium.yaml", id="medium"),
    pytest.param(SHARED_EXAMPLE, id="contract-example",
                 marks=pytest.mark.skipif(not SHARED_EXAMPLE.exists(), reason=NO_SHARED)),
]

Rows = list[list[Any]]


def workbook(path: Path, sheets: dict[str, Rows]) -> Path:
    """Write a workbook with the given sheets (rows of cell values)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def small(**changes: Rows) -> dict[str, Rows]:
    """A small valid cohort as sheets; ``changes`` replace whole sheets."""
    sheets: dict[str, Rows] = {
        "Programme": [["field", "value"], ["name", "Tiny"], ["blocks", 2],
                      ["professions", "nurse, gp"]],
        "Settings": [["id", "name"], ["acute", "Acute"], ["primary", "Primary care"]],
        "Sites": [["id", "name", "setting", "capacity"], ["ward", "Ward", "acute", 2],
                  ["surgery", "Surgery", "primary", 2]],
        "Supervisors": [["site_id", "id", "profession", "capacity"],
                        ["ward", "w-nurse", "nurse", 2], ["surgery", "s-nurse", "nurse", 2],
                        ["surgery", "s-gp", "gp", 1]],
        "Learners": [["id", "name", "profession", "preferences"],
                     ["L1", "Alex", "nurse", "ward"], ["L2", "Bea", "nurse", "surgery"],
                     ["L3", "Cal", "gp", ""]],
    }
    sheets.update(changes)
    return sheets


def rendered(result: ImportResult) -> list[str]:
    """Every problem as the user sees it."""
    return [p.render() for p in result.problems]


def template_file(tmp_path: Path, scenario: Scenario | None = None) -> Path:
    """A template workbook written to ``tmp_path``."""
    path = tmp_path / "cohort.xlsx"
    write_template(path, scenario)
    return path


def edit(path: Path, change: Callable[[Any], None]) -> Path:
    """Change a workbook in place with openpyxl (as a hub would in Excel)."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
    return path


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", ROUND_TRIP_FILES)
def test_template_round_trip(path: Path, tmp_path: Path) -> None:
    """Scenario → template workbook → import → the same scenario, with nothing to say."""
    expected = load_scenario(path)
    result = read_workbook(template_file(tmp_path, expected))
    assert result.problems == [] and result.notes == []
    assert result.ok and result.scenario == expected
    out = tmp_path / "scenario.yaml"
    out.write_text(result.yaml_text())
    assert load_scenario(out) == expected
    assert out.read_text().startswith("# Imported by `rotaplan import` from cohort.xlsx")


def test_template_from_file_like_and_bytes(tmp_path: Path) -> None:
    """An upload (binary file-like object) reads as a path does; bytes equal the file."""
    expected = load_scenario(EXAMPLE)
    data = template_bytes(expected)
    upload = io.BytesIO(data)
    upload.name = "upload.xlsx"
    assert read_workbook(upload).scenario == expected
    assert read_workbook(io.BytesIO(data)).scenario == expected  # no name at all
    buffer = io.BytesIO()
    write_template(buffer, expected)
    assert read_workbook(io.BytesIO(buffer.getvalue())).scenario == expected


def _csv_set(scenario: Scenario, folder: Path) -> list[Path]:
    """The scenario as CSV files, as a hub exporting from pandas would write them."""
    folder.mkdir()
    tables = from_scenario(scenario)
    paths = []
    for table in COLUMNS:
        path = folder / f"{table}.csv"
        tables.frames[table].to_csv(path, index=False)
        paths.append(path)
    rows = [["field", "value"], *[[k, v] for k, v in tables.programme.items()],
            ["professions", cell_text(tables.professions)]]
    for section, values in [*tables.tracks.items(), ("objective", tables.objective)]:
        rows += [[f"{section}.{k}", cell_text(v)] for k, v in (values or {}).items()]
    with (folder / "programme.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return [folder / "programme.csv", *paths]


@pytest.mark.parametrize("path", [pytest.param(EXAMPLE, id="example"),
                                  pytest.param(INSTANCES / "demo.yaml", id="demo")])
def test_csv_set_round_trip(path: Path, tmp_path: Path) -> None:
    """Scenario → one CSV per table → import → the same scenario."""
    expected = load_scenario(path)
    result = read_csvs(_csv_set(expected, tmp_path / "csv"))
    assert rendered(result) == [] and result.notes == []
    assert result.scenario == expected


def test_empty_template_has_readme_and_headers(tmp_path: Path) -> None:
    """The empty template explains every column and has every table's headers."""
    book = openpyxl.load_workbook(template_file(tmp_path))
    assert book.sheetnames == ["README", "Programme", "Settings", "Sites", "Rooms",
                               "Supervisors", "Learners", "Supervision", "Lists"]
    for table, columns in COLUMNS.items():
        sheet = book[spreadsheet.SHEET_NAMES[table]]
        assert [c.value for c in sheet[1]] == columns
        assert sheet.max_row == 1
    readme = {(r[0], r[1]): r[2] for r in book["README"].iter_rows(values_only=True)
              if len(r) > 2 and r[2]}
    for table, columns in COLUMNS.items():
        for column in columns:
            assert readme[(spreadsheet.SHEET_NAMES[table], column)]
    for name in FIELD_HELP:
        assert readme[("Programme", name)]
    assert [r[0] for r in book["Programme"].iter_rows(min_row=2, values_only=True)] == list(
        FIELD_HELP)
    # The empty template imports as it is: a valid (empty) programme.
    result = read_workbook(template_file(tmp_path))
    assert result.errors == [] and result.scenario is not None


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    """A name starting with '=' is written as text, and read back unchanged."""
    tables = from_scenario(load_scenario(EXAMPLE))
    tables.frames["learners"].at[0, "name"] = "=HYPERLINK(\"http://x\")"
    scenario = validate(tables).scenario
    assert scenario is not None
    path = tmp_path / "t.xlsx"
    write_template(path, scenario)
    cell = openpyxl.load_workbook(path)["Learners"]["B2"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\")"
    assert read_workbook(path).scenario == scenario


def test_formulas_are_not_evaluated(tmp_path: Path) -> None:
    """A formula cell gives the value saved with it (none from openpyxl), never a computed one."""
    path = workbook(tmp_path / "in.xlsx", small(
        Sites=[["id", "setting", "capacity"], ["ward", "acute", "=1+1"],
               ["surgery", "primary", 2]]))
    result = read_workbook(path)
    assert result.tables is not None
    assert list(result.tables.frames["sites"]["capacity"]) == ["", "2"]


# --------------------------------------------------------------------------- tolerance


def test_headers_and_sheet_names_are_tolerant(tmp_path: Path) -> None:
    """'Site ID', 'SITE_ID', 'Learner ID', 'Sessions per week', 'LEARNERS' all match."""
    sheets = small(
        Supervisors=[["Site ID", "Supervisor ID", "Profession", "CAPACITY"],
                     ["ward", "w-nurse", "nurse", 2], ["surgery", "s-nurse", "nurse", 2],
                     ["surgery", "s-gp", "gp", 1]],
        Learners=[["Learner ID", "Name", "  profession ", "Sessions-per-week", "Preferences"],
                  ["L1", "Alex", "nurse", 6, "ward"], ["L2", "Bea", "nurse", None, "surgery"],
                  ["L3", "Cal", "gp", None, None]],
    )
    sheets["rooms by session"] = [["SITE_ID", "Session", "rooms"], ["surgery", "Mon-AM", 1]]
    sheets["LEARNERS"] = sheets.pop("Learners")
    sheets[" care settings "] = sheets.pop("Settings")
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == []
    sc = result.scenario
    assert sc is not None
    assert sc.learners[0].sessions_per_week == 6 and sc.learners[1].sessions_per_week is None
    assert sc.site_by_id["surgery"].rooms_at("Mon-AM") == 1
    assert [s.id for s in sc.site_by_id["surgery"].supervisors] == ["s-nurse", "s-gp"]


def test_excel_floats_and_date_cells(tmp_path: Path) -> None:
    """2.0 from Excel is 2; a date cell (or ISO text) is the programme start."""
    sheets = small(
        Programme=[["Field", "Value"], ["Name", "Tiny"], ["Start", dt.datetime(2027, 9, 6)],
                   ["Blocks", 2.0], ["Block weeks", 13.0], ["Professions", "nurse, gp"],
                   ["objective.allow_unplaced", True], ["Objective.Unplaced penalty", 500.0]],
        Sites=[["id", "setting", "capacity", "min_learners"], ["ward", "acute", 2.0, 1.0],
               ["surgery", "primary", 2.0, None]],
        Learners=[["id", "profession", "sessions_per_week", "blocks"],
                  ["L1", "nurse", 6.0, 1.0], ["L2", "nurse", None, "1, 2"],
                  ["L3", "gp", 10.0, None]],
    )
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == []
    sc = result.scenario
    assert sc is not None
    assert sc.programme.start == dt.date(2027, 9, 6) and sc.programme.blocks == 2
    assert sc.site_by_id["ward"].capacity == 2 and sc.site_by_id["ward"].min_learners == 1
    assert sc.learners[0].sessions_per_week == 6 and sc.learners[0].blocks == [1]
    assert sc.objective.allow_unplaced is True and sc.objective.unplaced_penalty == 500
    sheets["Programme"][2][1] = "2027-09-06"  # typed as text
    assert read_workbook(workbook(tmp_path / "t.xlsx", sheets)).scenario == sc


def test_wide_programme_sheet_and_tracks(tmp_path: Path) -> None:
    """Programme as one header row of fields with values below; track fields work too."""
    sheets = small(Programme=[["name", "blocks", "professions", "rotation.cover",
                               "rotation.no_repeat_site"],
                              ["Tiny", 2, "nurse, gp", "acute, primary", "no"]])
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == []
    sc = result.scenario
    assert sc is not None
    assert sc.tracks.rotation.cover == ["acute", "primary"]
    assert sc.tracks.rotation.no_repeat_site is False


def test_derived_settings_and_professions_are_noted(tmp_path: Path) -> None:
    """No Settings sheet and no professions: both come from the other sheets, with notes."""
    sheets = small(Programme=[["field", "value"], ["name", "Tiny"], ["blocks", 2]])
    del sheets["Settings"]
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == []
    assert result.notes == [
        "no Settings table: using the settings named in the Sites table (acute, primary)",
        "professions not given in the Programme table: using those named by learners and "
        "supervisors (nurse, gp)",
    ]
    sc = result.scenario
    assert sc is not None
    assert [s.id for s in sc.settings] == ["acute", "primary"]
    assert sc.professions == ["nurse", "gp"]
    sheets["Settings"] = [["id", "name"]]  # present but empty: derived as well
    again = read_workbook(workbook(tmp_path / "again.xlsx", sheets))
    assert again.notes[0].startswith("the Settings table is empty: using the settings")
    assert again.scenario == sc


def test_other_sheets_are_ignored_with_a_warning(tmp_path: Path) -> None:
    """A sheet that is no table is a warning; README is ignored silently."""
    sheets = small(Lookups=[["anything"]], README=[["notes"]])
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert result.ok
    assert rendered(result) == [
        "Lookups: warning: not a sheet rotaplan reads, so it is ignored (the sheets are "
        "Programme, Settings, Sites, Rooms, Supervisors, Learners, Supervision)"]


# --------------------------------------------------------------------------- errors


def test_unknown_column_names_sheet_column_and_expected(tmp_path: Path) -> None:
    """An unknown column: sheet, header cell and the columns the sheet may have."""
    sheets = small()
    sheets["Learners"][0].append("Favourite colour")
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert not result.ok and result.scenario is None
    assert rendered(result) == [
        "Learners!E1 (Favourite colour): unknown column 'Favourite colour'; the columns of "
        "this sheet are: id, name, profession, track, sessions_per_week, available_sessions, "
        "blocks, preferences, avoid, pinned, placements, requirements, completed, scores, weights"]


def test_missing_programme_and_required_column(tmp_path: Path) -> None:
    """No Programme sheet, and a Learners sheet without profession: one error each."""
    sheets = small(Learners=[["id", "name"], ["L1", "Alex"], ["L2", "Bea"]])
    del sheets["Programme"]
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == [
        "in.xlsx: no Programme table: add a 'Programme' sheet with two columns, field and "
        "value (name, blocks, ...)",
        "Learners row 1 (profession): missing column 'profession' (it is required); the "
        "columns of this sheet are: id, name, profession, track, sessions_per_week, "
        "available_sessions, blocks, preferences, avoid, pinned, placements, requirements, "
        "completed, scores, weights",
    ]


def test_missing_programme_field_and_unknown_field(tmp_path: Path) -> None:
    """A Programme sheet without blocks, and with a field rotaplan does not know."""
    sheets = small(Programme=[["field", "value"], ["name", "Tiny"], ["colour", "red"],
                              ["professions", "nurse, gp"]])
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == [
        "Programme (blocks): required key 'blocks' is missing",
        "Programme!A3 (colour): unknown field 'colour'; the fields are: "
        + ", ".join(FIELD_HELP),
    ]


def test_bad_cell_points_at_row_and_letter(tmp_path: Path) -> None:
    """An unknown profession four rows down is Learners!C5 (blank rows keep their numbers)."""
    path = template_file(tmp_path, load_scenario(EXAMPLE))
    edit(path, lambda book: book["Learners"].__setitem__("C5", "physio"))
    result = read_workbook(path)
    assert rendered(result) == ["Learners!C5 (profession): unknown profession 'physio'"]
    edit(path, lambda book: book["Learners"].insert_rows(3, 2))  # two blank rows above
    assert rendered(read_workbook(path)) == [
        "Learners!C7 (profession): unknown profession 'physio'"]


def test_several_errors_at_once(tmp_path: Path) -> None:
    """Every error in every sheet is reported together, in sheet and row order."""
    path = template_file(tmp_path, load_scenario(EXAMPLE))

    def break_it(book: Any) -> None:
        book["Programme"]["B4"] = "four"  # blocks
        book["Programme"]["B16"] = "lots"  # objective.unplaced_penalty
        book["Sites"]["D3"] = "two"  # capacity
        book["Supervisors"]["A3"] = "nowhere"  # site_id
        book["Learners"]["C2"] = "physio"
        book["Learners"]["M1"] = "shoe size"

    result = read_workbook(edit(path, break_it))
    assert rendered(result) == [
        "Programme!B4 (blocks): Input should be a valid integer (got 'four')",
        "Programme!B16 (objective.unplaced_penalty): Input should be a valid integer "
        "(got 'lots')",
        "Sites!D3 (capacity): capacity must be a whole number or a map of block -> number, "
        "got 'two'",
        "Supervisors!A3 (site_id): there is no site with id 'nowhere' in the Sites table",
        "Learners!M1 (shoe size): unknown column 'shoe size'; the columns of this sheet are: "
        "id, name, profession, track, sessions_per_week, available_sessions, blocks, "
        "preferences, avoid, pinned, placements, requirements, completed, scores, weights",
        "Learners!C2 (profession): unknown profession 'physio'",
    ]
    assert len(result.errors) == 6 and result.scenario is None


def test_supervisor_at_unknown_site_and_duplicate_room_rows(tmp_path: Path) -> None:
    """Rows pointing at a missing site; 'already set on row N' uses spreadsheet rows."""
    sheets = small(Supervisors=[["site_id", "id", "profession"], ["ward", "w-nurse", "nurse"],
                                ["wrad", "s-nurse", "nurse"], ["surgery", "s-gp", "gp"]],
                   Rooms=[["site_id", "session", "rooms"], ["surgery", "Mon-AM", 1], [],
                          ["surgery", "Mon-AM", 2]])
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == [
        "Rooms!B4 (session): surgery Mon-AM is already set on row 2",
        "Supervisors!A3 (site_id): there is no site with id 'wrad' in the Sites table",
    ]


def test_bad_start_date_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """A start that looks like a date but is none (2027-13-01) is reported at its cell."""
    sheets = small()
    sheets["Programme"].append(["start", "2027-13-01"])
    result = read_workbook(workbook(tmp_path / "in.xlsx", sheets))
    assert rendered(result) == [
        "Programme!B5 (start): invalid date '2027-13-01': month must be in 1..12"]


def test_broken_csv_examples() -> None:
    """The committed broken CSV set: every problem named by file, row and column."""
    result = read_csvs(sorted(BROKEN_CSV.glob("*.csv")))
    assert rendered(result) == [
        "sites.csv row 3 (Capacity): capacity must be a whole number or a map of block -> "
        "number, got 'two'",
        "supervisors.csv row 3 (site_id): there is no site with id 'bridge-street' in the "
        "Sites table",
        "learners.csv row 1 (Favourite colour): unknown column 'Favourite colour'; the "
        "columns of this file are: id, name, profession, track, sessions_per_week, "
        "available_sessions, blocks, preferences, avoid, pinned, placements, requirements, "
        "completed, scores, weights",
        "learners.csv row 3 (profession): unknown profession 'physio'",
    ]
    assert result.notes == ["no Settings table: using the settings named in the Sites table "
                            "(stroke, primary-care)"]


def test_csv_problems(tmp_path: Path) -> None:
    """Unknown file stem, missing programme.csv, semicolons and Windows text."""
    (tmp_path / "people.csv").write_text("id\nL1\n")
    assert rendered(read_csvs([tmp_path / "people.csv"])) == [
        "people.csv: 'people.csv' is not a table rotaplan reads; name each CSV file after its "
        "table: programme.csv, settings.csv, sites.csv, rooms.csv, supervisors.csv, "
        "learners.csv, supervision.csv"]
    (tmp_path / "sites.csv").write_text("id;setting\nward;acute\n")
    (tmp_path / "learners.csv").write_bytes("id,name,profession\nL1,Zoë,nurse\n".encode("cp1252"))
    result = read_csvs([tmp_path / "sites.csv", tmp_path / "learners.csv"])
    assert rendered(result) == [
        "no Programme table: add programme.csv with two columns, field and value "
        "(name, blocks, ...)"]
    assert result.notes[0] == "learners.csv is not UTF-8; read it as Windows (cp1252) text"
    assert result.tables is not None
    assert list(result.tables.frames["learners"]["name"]) == ["Zoë"]
    assert list(result.tables.frames["sites"]["setting"]) == ["acute"]


def test_same_table_twice(tmp_path: Path) -> None:
    """A workbook and a CSV file may be mixed, but each table comes from one place."""
    path = workbook(tmp_path / "in.xlsx", small())
    (tmp_path / "learners.csv").write_text("id,profession\nL9,nurse\n")
    result = read_files([path, tmp_path / "learners.csv"])
    assert rendered(result) == [
        "learners.csv: a second Learners table (the first is 'Learners'); keep one"]


# --------------------------------------------------------------------------- refused files


@pytest.mark.parametrize(("name", "data", "says"), [
    ("cohort.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel 97-2003 workbooks (.xls)"),
    ("cohort.xlsm", b"PK\x03\x04", "macro-enabled workbooks are not read"),
    ("cohort.ods", b"PK\x03\x04", ".ods files are not read"),
    ("cohort.txt", b"hello", "not an Excel workbook (.xlsx): 'cohort.txt'"),
    ("cohort.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old .xls workbook or a "
                                                          "password-protected one"),
    ("cohort.xlsx", b"not a zip", "the file is not a zip archive"),
])
def test_wrong_kind_of_file(tmp_path: Path, name: str, data: bytes, says: str) -> None:
    """Old, macro-enabled, other and damaged files are refused with plain words."""
    path = tmp_path / name
    path.write_bytes(data)
    result = read_workbook(path)
    assert result.tables is None and len(result.problems) == 1
    assert result.problems[0].sheet == name and says in result.problems[0].message


def test_macros_inside_an_xlsx_are_refused(tmp_path: Path) -> None:
    """A macro project renamed to .xlsx is still refused."""
    source = workbook(tmp_path / "in.xlsx", small())
    target = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr("xl/vbaProject.bin", b"\x00" * 16)
    assert "macro-enabled workbooks are not read" in rendered(read_workbook(target))[0]


def test_file_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over 10 MB are refused before they are read (paths and uploads)."""
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.truncate(spreadsheet.MAX_BYTES + 1)  # sparse: nothing is really written
    assert rendered(read_workbook(path)) == [
        "huge.xlsx: the file is 10.0 MB; rotaplan imports files of at most 10 MB (remove "
        "other sheets or data, or split it into CSV files)"]
    monkeypatch.setattr(spreadsheet, "MAX_BYTES", 100)
    upload = io.BytesIO(b"x" * 101)
    assert "rotaplan imports files of at most" in read_workbook(upload).problems[0].message
    (tmp_path / "learners.csv").write_text("id,profession\n" + "L1,nurse\n" * 20)
    assert "imports files of at most" in rendered(read_csvs([tmp_path / "learners.csv"]))[0]


def test_too_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet (or CSV file) longer than the row limit is refused, naming it."""
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 3)
    learners = [["id", "profession"], *[[f"L{i}", "nurse"] for i in range(5)]]
    result = read_workbook(workbook(tmp_path / "in.xlsx", small(Learners=learners)))
    assert rendered(result) == [
        "in.xlsx: sheet 'Learners' has more than 3 rows; rotaplan imports at most 3 rows "
        "per sheet"]
    (tmp_path / "learners.csv").write_text("id,profession\n" + "L1,nurse\n" * 5)
    assert rendered(read_csvs([tmp_path / "learners.csv"])) == [
        "learners.csv: learners.csv has more than 3 rows; rotaplan imports at most 3 rows "
        "per sheet"]


def test_sheet_problem_render() -> None:
    """Places render as Excel references (quoted when needed) or file rows."""
    assert SheetProblem("Care settings", 3, "id", "A", "x").render() == (
        "'Care settings'!A3 (id): x")
    assert SheetProblem("sites.csv", 4, "rooms", None, "y", "warning").render() == (
        "sites.csv row 4 (rooms): warning: y")
    assert SheetProblem("", None, None, None, "z").render() == "z"


# --------------------------------------------------------------------------- CLI


@pytest.fixture()
def invoke() -> Callable[..., Any]:
    """Run ``import`` as the lead registers it, on a local Typer app."""
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["import", *args], catch_exceptions=False)

    return run


def test_cli_success_writes_yaml(invoke: Callable[..., Any], tmp_path: Path) -> None:
    """A good workbook: YAML written, summary printed, exit 0."""
    path = workbook(tmp_path / "cohort.xlsx",
                    small(Programme=[["field", "value"], ["name", "Tiny"], ["blocks", 2]]))
    out = tmp_path / "out" / "scenario.yaml"
    result = invoke(str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote " in result.stdout and "3 learners, 2 sites, 3 supervisors" in result.stdout
    assert "note: professions not given" in result.stderr
    assert load_scenario(out).professions == ["nurse", "gp"]


def test_cli_errors_exit_2_and_write_nothing(invoke: Callable[..., Any], tmp_path: Path) -> None:
    """Every error printed with its place; exit 2; no file."""
    sheets = small()
    sheets["Learners"][1][2] = "physio"
    sheets["Sites"][2][3] = "lots"
    path = workbook(tmp_path / "cohort.xlsx", sheets)
    out = tmp_path / "scenario.yaml"
    result = invoke(str(path), "--out", str(out))
    assert result.exit_code == 2
    assert not out.exists()
    assert "Sites!D3 (capacity): capacity must be a whole number" in result.stderr
    assert "Learners!C2 (profession): unknown profession 'physio'" in result.stderr
    assert "2 error(s): nothing written." in result.stderr
    missing = invoke(str(tmp_path / "nope.xlsx"), "--out", str(out))
    assert missing.exit_code == 2 and "nope.xlsx: no such file" in missing.stderr
    assert invoke(str(path)).exit_code == 2  # no --out
    assert invoke("--out", str(out)).exit_code == 2  # nothing to import


def test_cli_template(invoke: Callable[..., Any], tmp_path: Path) -> None:
    """--template writes an empty workbook, or one filled --from a scenario that imports back."""
    empty = tmp_path / "empty.xlsx"
    result = invoke("--template", str(empty))
    assert result.exit_code == 0 and "empty, with a README sheet" in result.stdout
    assert "README" in openpyxl.load_workbook(empty, read_only=True).sheetnames
    filled = tmp_path / "filled.xlsx"
    assert invoke("--template", str(filled), "--from", str(EXAMPLE)).exit_code == 0
    out = tmp_path / "scenario.yaml"
    assert invoke(str(filled), "-o", str(out)).exit_code == 0
    assert load_scenario(out) == load_scenario(EXAMPLE)
    assert invoke("--template", str(tmp_path / "t.csv")).exit_code == 2
    assert invoke("--template", str(empty), str(filled)).exit_code == 2
    assert invoke(str(filled), "--from", str(EXAMPLE), "-o", str(out)).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("programme: {}\n")
    refused = invoke("--template", str(tmp_path / "x.xlsx"), "--from", str(bad))
    assert refused.exit_code == 2 and not (tmp_path / "x.xlsx").exists()


# --------------------------------------------------------------------------- drop-downs


def test_template_has_a_drop_down_on_every_reference_column(tmp_path: Path) -> None:
    """Every single-id reference column offers a drop-down: sites and settings from their
    sheets' id columns, professions, sessions and tracks from the Lists sheet."""
    book = openpyxl.load_workbook(template_file(tmp_path, load_scenario(INSTANCES /
                                                                         "demo.yaml")))
    found: dict[tuple[str, str], str] = {}
    for table, name in spreadsheet.SHEET_NAMES.items():
        if table == "programme":
            continue
        for check in book[name].data_validations.dataValidation:
            assert check.type == "list" and check.errorStyle == "warning"
            column = str(check.sqref).split(":")[0].rstrip("0123456789")
            header = book[name][f"{column}1"].value
            found[(table, header)] = check.formula1
    assert found == {k: f"={v}" for k, v in spreadsheet.DROP_DOWNS.items()}
    assert found[("supervisors", "site_id")] == "=Sites!$A$2:$A$2000"


def test_lists_sheet_holds_choices_and_block_dates(tmp_path: Path) -> None:
    """The Lists sheet lists the professions, sessions and tracks, and each block's dates."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    book = openpyxl.load_workbook(template_file(tmp_path, sc))
    rows = list(book["Lists"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows if r[0]] == list(sc.professions)
    assert [r[1] for r in rows if r[1]] == list(sc.programme.sessions)
    assert [r[2] for r in rows if r[2]] == ["rotation", "fellowship"]
    blocks = [(r[4], r[5].date(), r[6].date()) for r in rows if r[4]]
    assert sc.programme.start is not None
    assert blocks[0] == (1, sc.programme.start, sc.programme.start + dt.timedelta(
        weeks=sc.programme.block_weeks, days=-1))
    assert len(blocks) == sc.programme.blocks


def test_readme_says_how_to_upload_in_the_configurator(tmp_path: Path) -> None:
    """The README sheet tells a user how to upload the workbook in the configurator."""
    book = openpyxl.load_workbook(template_file(tmp_path))
    text = " ".join(str(c) for r in book["README"].iter_rows(values_only=True) for c in r if c)
    assert "Upload a scenario" in text and "drop-down" in text


def test_the_lists_sheet_is_not_read_back(tmp_path: Path) -> None:
    """Reading a template back says nothing about the Lists sheet (it is not a table)."""
    result = read_workbook(template_file(tmp_path, load_scenario(INSTANCES / "demo.yaml")))
    assert result.problems == [] and result.notes == [] and result.ok
