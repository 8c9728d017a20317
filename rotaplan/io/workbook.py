"""Build a scenario from the spreadsheets a training hub keeps (``rotaplan import``).

A workbook (.xlsx) holds one sheet per table of :mod:`rotaplan.io.tables`
(Programme, Settings, Sites, Rooms, Supervisors, Learners, Supervision); CSV
files hold one table each, named by the file stem (``learners.csv``). Sheet
names and column headers are matched loosely: case is ignored and spaces,
underscores and hyphens are equivalent (``Site ID`` is ``site_id``). Cells
become the text cells of :class:`~rotaplan.io.tables.ScenarioTables`, which are
validated by :func:`rotaplan.io.tables.validate`; every problem is pointed back at
a sheet (or file), a spreadsheet row (the header is row 1) and a column, as
``Learners!C5 (profession): unknown profession 'physio'``.

Workbooks are read with ``read_only=True, data_only=True``: formulas are never
evaluated (a formula cell gives the value Excel saved with it) and macros are
never run; macro-enabled (.xlsm) and old (.xls) workbooks are refused, as are
files over 10 MB, workbooks that unzip to over 50 MB or hold over 200,000
shared strings or 1,000,000 cells (zip bombs), and sheets over 20,000 rows.
:func:`write_template` writes a workbook in exactly the format read here, empty
or from a scenario.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from rotaplan.io.cells import text_cell
from rotaplan.io.plan_dir import write_bytes
from rotaplan.io.tables import (
    COLUMNS,
    ScenarioTables,
    TableProblem,
    cell_text,
    empty_tables,
    from_scenario,
    parse_int,
    parse_list,
    parse_precedence,
    parse_requirements,
    precedence_text,
    requirements_text,
    to_yaml,
    validate,
)
from rotaplan.models import DEFAULT_SESSIONS, Scenario

MAX_BYTES = 10 * 1024 * 1024
"""Largest workbook or CSV file read (bytes)."""
MAX_ROWS = 20_000
"""Most rows (besides the header) read from one sheet or CSV file."""
MAX_UNZIPPED = 50 * 1024 * 1024
"""Largest total size of the parts of a workbook once unzipped (a guard against zip
bombs). A 5,000-learner scenario's template workbook unzips to under 2 MB."""
MAX_SHARED_STRINGS = 200_000
"""Most shared strings a workbook may hold. openpyxl reads them all into memory before
the first cell: a 0.5 MB workbook whose shared strings unzipped to 200 MB cost 1.4 GB
and 131 s before this limit."""
MAX_CELLS = 1_000_000
"""Most cells a workbook may hold (counted in its XML before it is opened, and again
while its sheets are read, blank rows included)."""
MAX_COLUMNS = 200
"""Columns read from each sheet; anything further right is ignored."""

TABLES = ("programme", *COLUMNS)
"""Every table an import reads, in workbook order."""

SHEET_NAMES = {"programme": "Programme", "settings": "Settings", "sites": "Sites",
               "rooms": "Rooms", "supervisors": "Supervisors", "learners": "Learners",
               "supervision": "Supervision"}
"""Sheet names :func:`write_template` uses (imports accept looser spellings)."""

REQUIRED_TABLES = ("programme", "sites", "learners")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "settings": ("id",),
    "sites": ("id", "setting"),
    "rooms": ("site_id", "session", "rooms"),
    "supervisors": ("site_id", "id", "profession"),
    "learners": ("id", "profession"),
    "supervision": ("learner_profession", "supervised_by"),
}
"""Columns a table must have (the contract has no default for them)."""

_PROGRAMME_FIELDS = ("name", "start", "blocks", "block_weeks", "sessions", "teaching_sessions")
_LIST_OPTIONS = {"rotation.cover", "fellowship.partner_settings"}
_BOOL_OPTIONS = {"rotation.no_repeat_site", "rotation.no_repeat_setting",
                 "objective.allow_unplaced"}
_INT_OPTIONS = {"fellowship.partner_sessions", "fellowship.distinct_partner_settings",
                "objective.unplaced_penalty", "rotation.max_per_organisation",
                "objective.worst_weight"}
_WEIGHT_OPTIONS = {"objective.organisation_changes", "objective.idle_blocks"}
"""Objective weights (§9.3), one field each, kept as objective.weights."""

FIELD_HELP: dict[str, str] = {
    "name": "Name of the programme (required).",
    "start": "First day of block 1, a Monday, as a date (optional).",
    "blocks": "Number of blocks in the year, e.g. 4 (required).",
    "block_weeks": "Weeks in each block (blank: 13).",
    "sessions": "The half-day sessions of a week, separated by commas "
                "(blank: Mon-AM, Mon-PM, ... Fri-PM).",
    "teaching_sessions": "Sessions spent at central teaching, e.g. Wed-PM (blank: none).",
    "professions": "Every profession id, separated by commas (blank: those named on the "
                   "Learners and Supervisors sheets).",
    "rotation.cover": "Settings every rotation learner must visit at least once, separated "
                      "by commas.",
    "rotation.no_repeat_site": "true: a rotation learner never goes back to a site "
                               "(blank: true).",
    "fellowship.base_setting": "Care setting of a fellow's base site (needed when any learner "
                               "is on the fellowship track).",
    "fellowship.partner_settings": "Care settings a fellow's partner site may have, separated "
                                   "by commas.",
    "fellowship.partner_sessions": "Sessions a week a fellow spends at the partner site.",
    "fellowship.distinct_partner_settings": "Different partner settings a fellow must see over "
                                            "the year (blank: 0).",
    "objective.allow_unplaced": "true: a learner may be left out when the programme is full "
                                "(blank: false).",
    "objective.unplaced_penalty": "Cost of leaving one learner out, in steps down a learner's "
                                  "preference list (blank: 1000).",
    "objective.fairness": "none (blank): lowest total preference cost; minimax: first make "
                          "the worst-off learner as well off as possible; weighted: add "
                          "worst_weight times the worst-off learner's cost.",
    "rotation.no_repeat_setting": "true: at most one placement in any care setting "
                                  "(blank: false).",
    "rotation.requirements": "Placements per group of settings, e.g. 'mental-health+urgent-care:"
                             " 1..2; primary-care: 1' (count, or min..max; blank: none).",
    "rotation.precedence": "Settings that must come first, e.g. 'stroke > community-rehab' "
                           "(pairs separated by commas; blank: none).",
    "rotation.max_per_organisation": "Most placements at one organisation's sites (blank: no "
                                     "limit).",
    "objective.preference": "rank (blank): cost of a placement is its rank in the learner's "
                            "preferences; score: minus the learner's scores (Learners sheet).",
    "objective.organisation_changes": "Cost of each change of organisation between a "
                                      "learner's consecutive placements (blank: 0).",
    "objective.idle_blocks": "Cost of each idle block before a learner's last placement "
                             "(blank: 0).",
    "objective.worst_weight": "With fairness weighted: weight of the worst-off learner's "
                              "cost (blank: 1).",
}
"""Programme sheet fields, in order, with plain-words help (the README sheet)."""

COLUMN_HELP: dict[str, dict[str, str]] = {
    "settings": {
        "id": "Short id of the care setting, e.g. stroke (required, unique).",
        "name": "Display name (optional).",
        "placement_blocks": "Blocks one placement here lasts, e.g. 3 (blank: 1).",
        "value": "The programme's value of a placement here, with preference: score "
                 "(blank: 0).",
    },
    "sites": {
        "id": "Short id of the site (required, unique).",
        "name": "Display name (optional).",
        "setting": "Id of the site's care setting, from the Settings sheet (required).",
        "locality": "Town or area (optional, free text).",
        "accepts": "Professions the site takes, separated by commas (blank: every profession).",
        "capacity": "Most learners at once: a number, or block: number pairs such as "
                    "'1: 2, 3: 0' (blank: no limit).",
        "min_learners": "Fewest learners the site needs: a number, or block: number pairs "
                        "(blank: 0).",
        "open_sessions": "Sessions the site is open, separated by commas (blank: every "
                         "session).",
        "rooms": "Rooms for learners in every session (blank: no limit). When the Rooms sheet "
                 "lists sessions for this site, this is the number for the other sessions.",
        "organisation": "Id of the employing organisation, e.g. a trust or PCN (blank: the "
                        "site is its own organisation).",
        "placement_blocks": "Blocks one placement here lasts (blank: the setting's).",
    },
    "rooms": {
        "site_id": "Id of a site on the Sites sheet (required).",
        "session": "A session, e.g. Tue-AM (required).",
        "rooms": "Rooms for learners at that site in that session (required).",
    },
    "supervisors": {
        "site_id": "Id of the site the supervisor works at (required).",
        "id": "Short id of the supervisor (required, unique across all sites).",
        "name": "Name (optional).",
        "profession": "Profession id (required).",
        "capacity": "Learners supervised at once in a block (blank: 1).",
        "sessions": "Sessions the supervisor works, separated by commas (blank: whenever "
                    "the site is open).",
        "unavailable_blocks": "Blocks the supervisor is away, e.g. 3 or '2, 4' (optional).",
    },
    "learners": {
        "id": "Short id of the learner (required, unique).",
        "name": "Name (optional).",
        "profession": "Profession id (required).",
        "track": "rotation (blank) or fellowship.",
        "sessions_per_week": "Sessions worked each week (blank: every available session).",
        "available_sessions": "Sessions the learner can work, separated by commas (blank: "
                              "every session).",
        "blocks": "Blocks the learner is in the programme, e.g. '1, 2' (blank: all).",
        "preferences": "Site or setting ids, most wanted first, separated by commas.",
        "avoid": "Sites or settings never to use, separated by commas (optional).",
        "pinned": "Fixed placements as block: site pairs, e.g. '1: city-stroke' (optional).",
        "placements": "Exactly this many placements; the other blocks are idle (blank: "
                      "every block is placed).",
        "requirements": "The learner's own requirements, replacing the track's, e.g. "
                        "'stroke+primary-care: 1' (optional).",
        "completed": "Settings done before the programme, for precedence (optional).",
        "scores": "Site, setting or organisation: points, e.g. 'nnuh: 2, primary-care: 3' "
                  "(with preference: score).",
        "weights": "The learner's own weights, e.g. 'organisation_changes: 2, idle_blocks: 1' "
                   "(optional).",
    },
    "supervision": {
        "learner_profession": "A learner profession (required).",
        "supervised_by": "Professions that may supervise it, separated by commas (required). "
                         "A profession with no row here is supervised by its own profession "
                         "only.",
    },
}
"""Plain-words help for every column of every table (the README sheet)."""

_SINGULAR = {"settings": "setting", "sites": "site", "rooms": "room",
             "supervisors": "supervisor", "learners": "learner", "supervision": "supervision"}
_HEADER_ALIASES = {"supervisors": {"site": "site_id"}, "rooms": {"site": "site_id"},
                   "supervision": {"profession": "learner_profession"}}
_TABLE_ALIASES = {
    "programme": {"programme", "program", "programme_details"},
    "settings": {"settings", "setting", "care_settings"},
    "sites": {"sites", "site"},
    "rooms": {"rooms", "room", "rooms_by_session"},
    "supervisors": {"supervisors", "supervisor"},
    "learners": {"learners", "learner"},
    "supervision": {"supervision", "who_may_supervise_whom"},
}
LISTS_SHEET = "Lists"
"""The template's sheet of drop-down choices, names and block dates (never read back)."""
_IGNORED_SHEETS = {"readme", "read_me", "help", "instructions", "notes", "lists"}
_NOTE_HEADERS = {"notes", "note", "comment", "comments", "help", "description", "explanation"}
_XLSX_SUFFIXES = {".xlsx", ".xltx"}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SheetProblem:
    """A problem pointed at a place in a workbook or CSV file.

    Attributes
    ----------
    sheet
        Sheet name, CSV file name, or the input's file name for whole-file problems
        (empty when the problem is about the scenario as a whole).
    row
        Spreadsheet row number (the header is row 1), or None.
    column
        Column header (or Programme field), or None.
    letter
        Column letter in a workbook (``C``), or None (CSV files, missing columns).
    message
        Plain words.
    severity
        ``"error"`` or ``"warning"``.
    """

    sheet: str
    row: int | None
    column: str | None
    letter: str | None
    message: str
    severity: str = "error"

    def where(self) -> str:
        """The place: ``Learners!C5 (profession)``, ``learners.csv row 5 (profession)``."""
        if self.row is not None and self.letter:
            plain = re.fullmatch(r"\w+", self.sheet) is not None
            sheet = self.sheet if plain else "'" + self.sheet.replace("'", "''") + "'"
            where = f"{sheet}!{self.letter}{self.row}"
        else:
            where = self.sheet
            if self.row is not None:
                where += f" row {self.row}"
        if self.column:
            where += f" ({self.column})" if where else self.column
        return where

    def render(self) -> str:
        """One line: ``Learners!C5 (profession): unknown profession 'physio'``."""
        where = self.where()
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}" if where else f"{prefix}{self.message}"


@dataclass
class ImportResult:
    """What an import found.

    Attributes
    ----------
    tables
        The scenario as tables (None when the input could not be read at all).
    problems
        Errors and warnings, each pointed at a sheet, row and column.
    notes
        Things the import decided for the user (derived settings or professions).
    scenario
        The validated scenario, or None when there is any error.
    sources
        Names of the files read.
    """

    tables: ScenarioTables | None
    problems: list[SheetProblem]
    notes: list[str] = field(default_factory=list)
    scenario: Scenario | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[SheetProblem]:
        """The problems that stop the import."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[SheetProblem]:
        """Problems reported but not fatal."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """Whether a valid scenario was built."""
        return self.scenario is not None and not self.errors

    def yaml_text(self) -> str:
        """Scenario YAML of the tables, with a header saying where it came from.

        Raises
        ------
        ValueError
            If the input could not be read into tables.
        """
        if self.tables is None:
            raise ValueError("nothing was imported")
        header = (f"Imported by `rotaplan import` from {', '.join(self.sources)}.\n"
                  "Edit the spreadsheet and import it again, or edit this file.")
        return to_yaml(self.tables, header=header)


class _RefusedError(Exception):
    """A file that is not read at all (too large, wrong kind)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.problem = SheetProblem(source, None, None, None, message)


# --------------------------------------------------------------------------- raw tables


@dataclass
class _Raw:
    """One sheet or CSV file as text cells, with spreadsheet row numbers."""

    table: str
    label: str
    excel: bool
    rows: list[tuple[int, list[str]]]


@dataclass
class _Placed:
    """A table read into a frame, with where its rows and columns are."""

    raw: _Raw
    frame: pd.DataFrame
    rownums: list[int]
    columns: dict[str, tuple[str, str | None]]  # canonical -> (header as written, letter)
    missing: set[str]


@dataclass
class _Programme:
    """The Programme sheet read into fields, with the cell of each."""

    raw: _Raw
    values: dict[str, str]
    cells: dict[str, tuple[int, str | None]]


def _norm(text: str) -> str:
    """Loose name: lower case, runs of spaces, underscores and hyphens as one ``_``."""
    return re.sub(r"[\s_\-]+", "_", text.strip().lower()).strip("_")


def _norm_field(text: str) -> str:
    parts = [_norm(p) for p in text.split(".")]
    name = ".".join(p for p in parts if p)
    return name.removeprefix("tracks.")


def table_of(name: str) -> str | None:
    """The table a sheet name or CSV file stem stands for (None: not a table)."""
    key = _norm(name)
    return next((t for t, names in _TABLE_ALIASES.items() if key in names), None)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    return str(get_column_letter(index + 1))


def _text(value: Any) -> str:
    """A spreadsheet cell as table text: ``2.0`` is ``2``, a date is ISO, empty is blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.isoformat()
    return cell_text(value)


def _blank(row: Sequence[str]) -> bool:
    return all(not c.strip() for c in row)


def _source_name(item: Path | str | IO[bytes]) -> str:
    if isinstance(item, Path | str):
        return Path(item).name
    return Path(str(getattr(item, "name", "") or "upload")).name


def _read_bytes(item: Path | str | IO[bytes], source: str) -> bytes:
    if isinstance(item, Path | str):
        path = Path(item)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise _RefusedError(source, _too_large(size))
            data = path.read_bytes()
        except OSError as exc:
            raise _RefusedError(source, f"cannot read the file: {exc.strerror or exc}") from None
    else:
        if hasattr(item, "seek"):
            item.seek(0)
        data = item.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _RefusedError(source, _too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return (f"the file is {size / 1024 / 1024:.1f} MB; rotaplan imports files of at most "
            f"{MAX_BYTES // 1024 // 1024} MB (remove other sheets or data, or split it into "
            "CSV files)")


def _too_many_rows(label: str) -> str:
    return (f"{label} has more than {MAX_ROWS:,} rows; rotaplan imports at most "
            f"{MAX_ROWS:,} rows per sheet")


# --------------------------------------------------------------------------- reading files


def _check_workbook_name(source: str) -> None:
    suffix = Path(source).suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlam"):
        raise _RefusedError(source, "macro-enabled workbooks are not read; save it as an Excel "
                               "Workbook (.xlsx) without macros and import that")
    if suffix in (".xls", ".xlt"):
        raise _RefusedError(source, "old Excel 97-2003 workbooks (.xls) are not read; save it as "
                               "an Excel Workbook (.xlsx) and import that")
    if suffix in (".xlsb", ".ods", ".numbers"):
        raise _RefusedError(source, f"{suffix} files are not read; save it as an Excel Workbook "
                               "(.xlsx) and import that")
    if suffix and suffix not in _XLSX_SUFFIXES:
        raise _RefusedError(source, f"not an Excel workbook (.xlsx): '{source}'")


def _check_zip(data: bytes, source: str) -> None:
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _RefusedError(source, "this is an old .xls workbook or a password-protected one; "
                               "save it as an Excel Workbook (.xlsx) without a password")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _RefusedError(source, "not an Excel workbook (.xlsx): the file is not a zip archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if sum(i.file_size for i in archive.infolist()) > MAX_UNZIPPED:
            raise _RefusedError(source, "the workbook unpacks to more than "
                                   f"{MAX_UNZIPPED // 1024 // 1024} MB; it is not read")
        _count_parts(archive, source)
        if "[Content_Types].xml" not in names:
            raise _RefusedError(source, "not an Excel workbook (.xlsx): no [Content_Types].xml")
        types = archive.read("[Content_Types].xml")
        if (b"macroEnabled" in types or any(n.lower().endswith("vbaproject.bin")
                                             for n in names)):
            raise _RefusedError(source, "macro-enabled workbooks are not read; save it as an Excel "
                                   "Workbook (.xlsx) without macros and import that")


_SHARED_STRING = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s>/]")


def _count_parts(archive: zipfile.ZipFile, source: str) -> None:
    """Refuse a workbook with too many shared strings or cells, counted in its XML.

    Every part is streamed (1 MB at a time, at C speed: about 0.2 s for the 50 MB
    most a workbook may unzip to), so nothing is built in memory. Tags with a
    namespace prefix count too.
    """
    shared = cells = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        tail = b""
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(1 << 20)
                block = tail + chunk
                cut = block.rfind(b"<") if chunk else len(block)
                if cut < 0:
                    cut = len(block)
                shared += len(_SHARED_STRING.findall(block, 0, cut))
                cells += len(_CELL.findall(block, 0, cut))
                tail = block[cut:]
                if shared > MAX_SHARED_STRINGS:
                    raise _RefusedError(source, f"the workbook holds more than "
                                        f"{MAX_SHARED_STRINGS:,} different texts; it is not read")
                if cells > MAX_CELLS:
                    raise _RefusedError(source, f"the workbook holds more than {MAX_CELLS:,} "
                                        "cells; it is not read")
                if not chunk:
                    break


def _workbook_raws(data: bytes, source: str) -> tuple[list[_Raw], list[SheetProblem]]:
    """Every table sheet of a workbook as text cells."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    _check_zip(data, source)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                             keep_links=False)
    except Exception as exc:  # untrusted input: any parser failure is a plain message
        raise _RefusedError(source, f"cannot read the workbook: {exc}") from None
    raws: list[_Raw] = []
    problems: list[SheetProblem] = []
    seen = 0
    try:
        for sheet in book.worksheets:
            title = str(sheet.title)
            table = table_of(title)
            if table is None:
                if _norm(title) not in _IGNORED_SHEETS:
                    problems.append(SheetProblem(
                        title, None, None, None, "not a sheet rotaplan reads, so it is ignored "
                        f"(the sheets are {', '.join(SHEET_NAMES.values())})", "warning"))
                continue
            rows: list[tuple[int, list[str]]] = []
            for number, values in enumerate(
                    sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                seen += max(1, len(values))  # blank rows count: they cost time too
                if seen > MAX_CELLS:
                    raise _RefusedError(source, f"the workbook holds more than {MAX_CELLS:,} "
                                        "cells; it is not read")
                cells = [_text(v) for v in values]
                if _blank(cells):
                    continue
                if len(rows) > MAX_ROWS:
                    raise _RefusedError(source, _too_many_rows(f"sheet '{title}'"))
                rows.append((number, cells))
            raws.append(_Raw(table, title, True, rows))
    except _RefusedError:
        raise
    except Exception as exc:  # a damaged sheet: say so rather than show a traceback
        raise _RefusedError(source, f"cannot read the workbook: {exc}") from None
    finally:
        book.close()
    return raws, problems


def _csv_raw(data: bytes, source: str, notes: list[str]) -> _Raw:
    """One CSV file as text cells (UTF-8, else Windows-1252 as Excel saves)."""
    table = table_of(Path(source).stem)
    if table is None:
        expected = ", ".join(f"{t}.csv" for t in TABLES)
        raise _RefusedError(source, f"'{source}' is not a table rotaplan reads; name each CSV file "
                               f"after its table: {expected}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append(f"{source} is not UTF-8; read it as Windows (cp1252) text")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""),
                                                  delimiter=delimiter), start=1):
            if _blank(cells):
                continue
            if len(rows) > MAX_ROWS:
                raise _RefusedError(source, _too_many_rows(source))
            rows.append((number, cells[:MAX_COLUMNS]))
    except csv.Error as exc:
        raise _RefusedError(source, f"cannot read the CSV file: {exc}") from None
    return _Raw(table, source, False, rows)


# --------------------------------------------------------------------------- tables from cells


def _header_map(raw: _Raw, header: list[str]) -> tuple[dict[int, str], list[SheetProblem]]:
    """Column index -> canonical column, and problems with the header row."""
    table = raw.table
    columns = COLUMNS[table]
    out: dict[int, str] = {}
    problems: list[SheetProblem] = []
    number = raw.rows[0][0]
    seen: dict[str, int] = {}
    for i, written in enumerate(header):
        if not written.strip():
            continue
        key = _norm(written)
        key = _HEADER_ALIASES.get(table, {}).get(key, key)
        prefix = _SINGULAR[table] + "_"
        if key not in columns and key.startswith(prefix) and key[len(prefix):] in columns:
            key = key[len(prefix):]
        letter = _letter(i) if raw.excel else None
        if key not in columns:
            problems.append(SheetProblem(
                raw.label, number, written.strip(), letter,
                f"unknown column '{written.strip()}'; the columns of this "
                f"{'sheet' if raw.excel else 'file'} are: {', '.join(columns)}"))
            continue
        if key in seen:
            problems.append(SheetProblem(
                raw.label, number, written.strip(), letter,
                f"a second '{key}' column (the first is column "
                f"{_letter(seen[key]) if raw.excel else seen[key] + 1}); keep one"))
            continue
        seen[key] = i
        out[i] = key
    return out, problems


def _place(raw: _Raw) -> tuple[_Placed, list[SheetProblem]]:
    """A table sheet as a frame of text, remembering rows and columns."""
    columns = COLUMNS[raw.table]
    if not raw.rows:  # an empty sheet: an empty table
        frame = pd.DataFrame([], columns=columns, dtype=object)
        return _Placed(raw, frame, [], {}, set()), []
    header = raw.rows[0][1]
    index, problems = _header_map(raw, header)
    placed_columns = {key: (header[i].strip(), _letter(i) if raw.excel else None)
                      for i, key in index.items()}
    data: list[list[str]] = []
    rownums: list[int] = []
    for number, cells in raw.rows[1:]:
        row = dict.fromkeys(columns, "")
        for i, key in index.items():
            if i < len(cells):
                row[key] = cells[i]
        for i, value in enumerate(cells):
            if value.strip() and i not in index and (i >= len(header) or not header[i].strip()):
                letter = _letter(i) if raw.excel else None
                problems.append(SheetProblem(
                    raw.label, number, None if raw.excel else f"column {i + 1}", letter,
                    f"'{value.strip()}' is in a column with no header; give the column a "
                    "header or clear it"))
        if any(v.strip() for v in row.values()):
            data.append([row[c] for c in columns])
            rownums.append(number)
    missing = {c for c in REQUIRED_COLUMNS[raw.table] if c not in placed_columns}
    for column in sorted(missing, key=columns.index):
        problems.append(SheetProblem(
            raw.label, raw.rows[0][0], column, None,
            f"missing column '{column}' (it is required); the columns of this "
            f"{'sheet' if raw.excel else 'file'} are: {', '.join(columns)}"))
    frame = pd.DataFrame(data, columns=columns, dtype=object)
    return _Placed(raw, frame, rownums, placed_columns, missing), problems


def _programme(raw: _Raw) -> tuple[_Programme, list[SheetProblem]]:
    """The Programme sheet: ``field, value`` rows (or one header row of fields and values)."""
    known = list(FIELD_HELP)
    prog = _Programme(raw, {}, {})
    problems: list[SheetProblem] = []
    rows = raw.rows
    if not rows:
        return prog, problems
    first = [_norm_field(c) for c in rows[0][1]]
    named = [c for c in first if c]
    if len(named) >= 2 and all(c in known for c in named):  # wide: fields across, values below
        if len(rows) > 2:
            problems.append(SheetProblem(raw.label, rows[2][0], None, None,
                                         "the Programme table has one row of values; this "
                                         "row is not read"))
        values = rows[1][1] if len(rows) > 1 else []
        number = rows[1][0] if len(rows) > 1 else rows[0][0] + 1
        for i, name in enumerate(first):
            if not name:
                continue
            _put_field(prog, problems, name, values[i] if i < len(values) else "", number,
                       _letter(i) if raw.excel else None)
        return prog, problems
    body = rows
    notes_from = 2
    if first and first[0] in ("field", "key", "item", "setting"):
        body = rows[1:]
        extra = [_norm(c) for c in rows[0][1][2:]]
        notes_from = 2 + len(extra) if all(not c or c in _NOTE_HEADERS for c in extra) else 2
    value_letter = _letter(1) if raw.excel else None
    for number, cells in body:
        name = _norm_field(cells[0]) if cells else ""
        value = cells[1] if len(cells) > 1 else ""
        for i in range(notes_from, len(cells)):
            if cells[i].strip():
                problems.append(SheetProblem(
                    raw.label, number, None, _letter(i) if raw.excel else None,
                    "the Programme table has two columns, field and value; this cell is "
                    "not read (head its column 'notes' to keep notes)"))
        if not name:
            if value.strip():
                problems.append(SheetProblem(raw.label, number, None,
                                             _letter(0) if raw.excel else None,
                                             f"say which field the value '{value.strip()}' is "
                                             "for"))
            continue
        _put_field(prog, problems, name, value, number, value_letter,
                   field_letter=_letter(0) if raw.excel else None, written=cells[0].strip())
    return prog, problems


def _put_field(prog: _Programme, problems: list[SheetProblem], name: str, value: str,
               number: int, letter: str | None, *, field_letter: str | None = None,
               written: str | None = None) -> None:
    raw = prog.raw
    if name not in FIELD_HELP:
        problems.append(SheetProblem(
            raw.label, number, written or name, field_letter or letter,
            f"unknown field '{written or name}'; the fields are: {', '.join(FIELD_HELP)}"))
        return
    if name in prog.cells:
        problems.append(SheetProblem(raw.label, number, name, field_letter or letter,
                                     f"'{name}' is given twice (first on row "
                                     f"{prog.cells[name][0]}); keep one"))
        return
    prog.values[name] = value
    prog.cells[name] = (number, letter)


_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _option(name: str, text: str) -> Any:
    """A track or objective field's value from its text (bad text is kept for the loader)."""
    if name == "rotation.requirements":
        return parse_requirements(text)
    if name == "rotation.precedence":
        return parse_precedence(text)
    if name in _LIST_OPTIONS:
        return parse_list(text)
    if name in _INT_OPTIONS:
        return parse_int(text)
    stripped = text.strip()
    if name in _BOOL_OPTIONS:
        low = stripped.lower()
        return True if low in _TRUE else False if low in _FALSE else stripped
    return stripped


def _apply_programme(prog: _Programme | None, tables: ScenarioTables) -> None:
    """Programme sheet fields into the tables' forms (blank fields are left out)."""
    if prog is None:
        return
    for name, text in prog.values.items():
        if not text.strip():
            continue
        if name in _PROGRAMME_FIELDS:
            tables.programme[name] = text.strip()
        elif name == "professions":
            tables.professions = [str(p) for p in parse_list(text) or []]
        elif name in _WEIGHT_OPTIONS:
            weights = tables.objective.setdefault("weights", {})
            weights[name.split(".", 1)[1]] = parse_int(text)
        else:
            section, key = name.split(".", 1)
            target = tables.objective if section == "objective" else tables.tracks.setdefault(
                section, {})
            target[key] = _option(name, text)


# --------------------------------------------------------------------------- import


def read_workbook(source: Path | str | IO[bytes]) -> ImportResult:
    """Read a scenario from an Excel workbook (.xlsx), one sheet per table.

    Parameters
    ----------
    source
        A path, or a binary file-like object (such as a Streamlit upload).

    Returns
    -------
    ImportResult
        The tables, the validated scenario (None on errors), problems and notes.
    """
    return read_files([source])


def read_csvs(paths: Iterable[Path | str | IO[bytes]]) -> ImportResult:
    """Read a scenario from CSV files, one table per file named by its stem.

    Parameters
    ----------
    paths
        Paths or named binary file-like objects (``learners.csv``, ``sites.csv``,
        ``programme.csv``, ...).
    """
    return read_files(list(paths))


def read_files(inputs: Sequence[Path | str | IO[bytes]]) -> ImportResult:
    """Read a scenario from workbooks and CSV files together (each table once).

    A file named ``*.csv`` is one table; anything else is read as a workbook.
    """
    sources = [_source_name(item) for item in inputs]
    raws: list[_Raw] = []
    problems: list[SheetProblem] = []
    notes: list[str] = []
    refused: list[SheetProblem] = []
    for item, source in zip(inputs, sources, strict=True):
        try:
            if Path(source).suffix.lower() == ".csv":
                raws.append(_csv_raw(_read_bytes(item, source), source, notes))
            else:
                _check_workbook_name(source)
                found, warned = _workbook_raws(_read_bytes(item, source), source)
                raws += found
                problems += warned
        except _RefusedError as exc:
            refused.append(exc.problem)
    if refused:
        return ImportResult(None, refused + problems, notes, None, sources)
    if not inputs:
        problem = SheetProblem("", None, None, None, "give a workbook (.xlsx) or CSV files")
        return ImportResult(None, [problem], notes, None, sources)
    return _build(raws, problems, notes, sources)


def _build(raws: list[_Raw], problems: list[SheetProblem], notes: list[str],
           sources: list[str]) -> ImportResult:
    """Tables from raw sheets, validated, with every problem placed."""
    placed: dict[str, _Placed] = {}
    prog: _Programme | None = None
    first_label: dict[str, str] = {}
    for raw in raws:
        if raw.table in first_label:
            problems.append(SheetProblem(raw.label, None, None, None,
                                         f"a second {SHEET_NAMES[raw.table]} table (the first "
                                         f"is '{first_label[raw.table]}'); keep one"))
            continue
        first_label[raw.table] = raw.label
        if raw.table == "programme":
            prog, found = _programme(raw)
        else:
            placed[raw.table], found = _place(raw)
        problems += found
    whole = sources[0] if len(sources) == 1 else ""
    csv_only = all(not r.excel for r in raws) and all(s.lower().endswith(".csv")
                                                      for s in sources)
    for table in REQUIRED_TABLES:
        if table not in first_label:
            where = f"{table}.csv" if csv_only else f"a '{SHEET_NAMES[table]}' sheet"
            what = ("two columns, field and value (name, blocks, ...)" if table == "programme"
                    else f"columns {', '.join(COLUMNS[table])}")
            problems.append(SheetProblem(whole, None, None, None,
                                         f"no {SHEET_NAMES[table]} table: add {where} with "
                                         f"{what}"))
    tables = empty_tables()
    tables.programme = dict.fromkeys(_PROGRAMME_FIELDS, "")
    tables.tracks, tables.objective = {}, {}
    for table, item in placed.items():
        tables.frames[table] = item.frame
    _apply_programme(prog, tables)
    _derive(tables, prog, placed, notes)
    validation = validate(_guard_dates(tables, prog, problems))
    for p in validation.problems:
        located = _locate(p, prog, placed, whole)
        if located is not None:
            problems.append(located)
    ordered = _ordered(problems)
    errors = any(p.severity == "error" for p in ordered)
    scenario = None if errors else validation.scenario
    return ImportResult(tables, ordered, notes, scenario, sources)


def _derive(tables: ScenarioTables, prog: _Programme | None, placed: dict[str, _Placed],
            notes: list[str]) -> None:
    """Settings from the Sites table and professions from people, when not given."""
    settings = placed.get("settings")
    if settings is None or settings.frame.empty:
        sites = tables.frames["sites"]
        ids = list(dict.fromkeys(s.strip() for s in sites["setting"] if str(s).strip()))
        if ids:
            why = "no Settings table" if settings is None else "the Settings table is empty"
            blank = [""] * (len(COLUMNS["settings"]) - 1)
            tables.frames["settings"] = pd.DataFrame([[i, *blank] for i in ids],
                                                     columns=COLUMNS["settings"], dtype=object)
            notes.append(f"{why}: using the settings named in the Sites table "
                         f"({', '.join(ids)})")
    if prog is not None and prog.values.get("professions", "").strip():
        return
    found: list[str] = []
    for table in ("learners", "supervisors"):
        found += [str(p).strip() for p in tables.frames[table]["profession"] if str(p).strip()]
    ids = list(dict.fromkeys(found))
    if ids:
        tables.professions = ids
        notes.append("professions not given in the Programme table: using those named by "
                     f"learners and supervisors ({', '.join(ids)})")


def _guard_dates(tables: ScenarioTables, prog: _Programme | None,
                 problems: list[SheetProblem]) -> ScenarioTables:
    """Report a start that looks like a date but is not one (the YAML writer needs real dates)."""
    start = tables.programme.get("start", "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
        try:
            dt.date.fromisoformat(start)
        except ValueError as exc:
            row, letter = prog.cells.get("start", (None, None)) if prog else (None, None)
            label = prog.raw.label if prog else ""
            problems.append(SheetProblem(label, row, "start", letter,
                                         f"invalid date '{start}': {exc}"))
            out = tables.copy()
            out.programme["start"] = ""
            return out
    return tables


def _locate(p: TableProblem, prog: _Programme | None, placed: dict[str, _Placed],
            whole: str) -> SheetProblem | None:
    """A table problem as a sheet problem (None when it repeats a reported one)."""
    if p.table in COLUMNS:
        item = placed.get(p.table)
        if item is None:
            if p.table == "settings":
                return SheetProblem("Settings (from Sites)", None, p.column, None, p.message,
                                    p.severity)
            if p.table in REQUIRED_TABLES:
                return None  # the missing table is reported already
            return SheetProblem(whole, None, p.column, None, p.message, p.severity)
        if p.column in item.missing:
            return None  # the missing column is reported already
        row = item.rownums[p.row] if p.row is not None and p.row < len(item.rownums) else None
        header, letter = item.columns.get(p.column or "", (p.column, None))
        message = _renumber(p.message, item) if p.table in ("rooms", "supervision") else (
            p.message)
        return SheetProblem(item.raw.label, row, header, letter if row else None, message,
                            p.severity)
    if p.table in ("programme", "professions", "tracks", "objective"):
        if prog is None:
            return None  # the missing Programme sheet is reported already
        name = _field_of(p)
        row, letter = prog.cells.get(name, (None, None))
        return SheetProblem(prog.raw.label, row, name, letter, p.message, p.severity)
    return SheetProblem(whole, None, p.column, None, p.message, p.severity)


def _field_of(p: TableProblem) -> str:
    if p.table == "programme":
        return p.column or "programme"
    if p.table == "professions":
        return "professions"
    detail = re.sub(r"\[\d+\]", "", p.column or "")
    name = f"objective.{detail}" if p.table == "objective" else detail
    while name and name not in FIELD_HELP and "." in name:
        name = name.rsplit(".", 1)[0]
    return name or p.table


def _renumber(message: str, item: _Placed) -> str:
    """``on row 3`` (a table position) as the spreadsheet row number."""
    def repl(match: re.Match[str]) -> str:
        pos = int(match.group(1)) - 1
        return f"row {item.rownums[pos]}" if 0 <= pos < len(item.rownums) else match.group(0)

    return re.sub(r"\brow (\d+)\b", repl, message)


def _ordered(problems: list[SheetProblem]) -> list[SheetProblem]:
    """Errors before warnings; whole files, then sheets in workbook order, then rows."""
    order = {name.lower(): i for i, name in enumerate(SHEET_NAMES.values())}

    def key(p: SheetProblem) -> tuple[int, int, int, int]:
        table = table_of(Path(p.sheet).stem) if p.sheet else None
        sheet = order.get(SHEET_NAMES[table].lower(), 99) if table else -1
        return (p.severity != "error", sheet, p.row or 0, _column_number(p.letter))

    return sorted(problems, key=key)


def _column_number(letter: str | None) -> int:
    number = 0
    for ch in letter or "":
        number = number * 26 + ord(ch.upper()) - 64
    return number


# --------------------------------------------------------------------------- template


def _excel_value(text: str, *, keep_text: bool = False) -> Any:
    """A cell value for a template: whole numbers as numbers, the rest as text."""
    stripped = text.strip()
    if not keep_text and re.fullmatch(r"0|-?[1-9]\d{0,14}", stripped):
        return int(stripped)
    return text


def _option_value(name: str, tables: ScenarioTables) -> Any:
    """A Programme sheet value for the template, typed where Excel has the type."""
    if name in _PROGRAMME_FIELDS:
        text = tables.programme.get(name, "")
        if name == "start" and text:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return text
        return _excel_value(text, keep_text=name == "name")
    if name == "professions":
        return cell_text(tables.professions) if tables.professions else ""
    section, key = name.split(".", 1)
    source = tables.objective if section == "objective" else tables.tracks.get(section) or {}
    if name in _WEIGHT_OPTIONS:
        weights = tables.objective.get("weights")
        source = weights if isinstance(weights, dict) else {}
    value = source.get(key) if isinstance(source, dict) else None
    if isinstance(value, bool) or (isinstance(value, int) and name in (_INT_OPTIONS
                                                                       | _WEIGHT_OPTIONS)):
        return value
    if name == "rotation.requirements":
        return requirements_text(value)
    if name == "rotation.precedence":
        return precedence_text(value)
    return cell_text(value)


def _set_cell(sheet: Any, row: int, column: int, value: Any) -> Any:
    return text_cell(sheet.cell(row=row, column=column, value=value))  # never a formula


def _style_sheet(sheet: Any, widths: list[int]) -> None:
    from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = fill
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths):
        sheet.column_dimensions[_letter(i)].width = max(10, min(60, width + 2))


def template_bytes(scenario: Scenario | None = None) -> bytes:
    """A workbook (.xlsx) in the import format, from a scenario or empty with help.

    Parameters
    ----------
    scenario
        The scenario to fill the sheets with; None gives empty tables.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    tables = from_scenario(scenario) if scenario is not None else empty_tables()
    book = Workbook()
    readme = book.active
    readme.title = "README"
    _readme(readme)
    readme.column_dimensions["A"].width = 16
    readme.column_dimensions["B"].width = 36
    readme.column_dimensions["C"].width = 100
    for row in readme.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    readme["A1"].font = Font(bold=True, size=14)
    prog = book.create_sheet(SHEET_NAMES["programme"])
    prog.append(["field", "value"])
    for name in FIELD_HELP:
        value = _option_value(name, tables)
        row = prog.max_row + 1
        _set_cell(prog, row, 1, name)
        cell = _set_cell(prog, row, 2, value)
        if isinstance(value, dt.date):
            cell.number_format = "yyyy-mm-dd"
    _style_sheet(prog, [max(len(n) for n in FIELD_HELP),
                        max(len(cell_text(c.value)) for c in prog["B"])])
    for table, columns in COLUMNS.items():
        sheet = book.create_sheet(SHEET_NAMES[table])
        sheet.append(columns)
        frame = tables.frames[table]
        widths = [len(c) for c in columns]
        for r, record in enumerate(frame.itertuples(index=False), start=2):
            for c, (column, value) in enumerate(zip(columns, record, strict=True)):
                text = "" if value is None or pd.isna(value) else str(value)
                keep = column in ("name", "locality")
                _set_cell(sheet, r, c + 1, _excel_value(text, keep_text=keep) if text else None)
                widths[c] = max(widths[c], len(text))
        _style_sheet(sheet, widths)
    _lists(book.create_sheet(LISTS_SHEET), tables)
    _drop_downs(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


DROP_DOWN_ROWS = 2000
"""Rows of each table sheet that offer drop-downs (row 2 on)."""
TRACKS = ("rotation", "fellowship")
_LIST_COLUMNS = {"professions": "A", "sessions": "B", "tracks": "C"}
"""Lists sheet: the column of each list of choices (from row 2)."""
DROP_DOWNS: dict[tuple[str, str], str] = {
    ("sites", "setting"): f"{SHEET_NAMES['settings']}!$A$2:$A${DROP_DOWN_ROWS}",
    ("rooms", "site_id"): f"{SHEET_NAMES['sites']}!$A$2:$A${DROP_DOWN_ROWS}",
    ("supervisors", "site_id"): f"{SHEET_NAMES['sites']}!$A$2:$A${DROP_DOWN_ROWS}",
    ("rooms", "session"): f"{LISTS_SHEET}!$B$2:$B${DROP_DOWN_ROWS}",
    ("supervisors", "profession"): f"{LISTS_SHEET}!$A$2:$A${DROP_DOWN_ROWS}",
    ("learners", "profession"): f"{LISTS_SHEET}!$A$2:$A${DROP_DOWN_ROWS}",
    ("learners", "track"): f"{LISTS_SHEET}!$C$2:$C$3",
    ("supervision", "learner_profession"): f"{LISTS_SHEET}!$A$2:$A${DROP_DOWN_ROWS}",
}
"""Every single-id reference column of the template and where its drop-down's choices are:
the Settings and Sites sheets' id columns (so ids added there are offered at once), or the
Lists sheet (professions, sessions and tracks, which live in the Programme sheet)."""


def _lists(sheet: Any, tables: ScenarioTables) -> None:
    """The Lists sheet: choices for the drop-downs, and the programme's block dates."""
    professions = list(tables.professions)
    sessions = parse_list(tables.programme.get("sessions", "")) or list(DEFAULT_SESSIONS)
    columns: list[list[Any]] = [professions, [str(x) for x in sessions], list(TRACKS)]
    sheet.append(["professions", "sessions", "tracks", "", "block", "first day", "last day"])
    blocks = _block_dates(tables)
    for i in range(max([len(c) for c in columns] + [len(blocks)])):
        row = [c[i] if i < len(c) else None for c in columns] + [None]
        row += list(blocks[i]) if i < len(blocks) else [None, None, None]
        for c, value in enumerate(row, start=1):
            if value is not None:
                cell = _set_cell(sheet, i + 2, c, value)
                if isinstance(value, dt.date):
                    cell.number_format = "d mmm yyyy"
    _style_sheet(sheet, [14, 12, 10, 2, 6, 12, 12])
    note = ("Drop-down choices and block dates for this workbook. rotaplan does not read "
            "this sheet: change professions and sessions on the Programme sheet.")
    _set_cell(sheet, 1, 9, note)


def _block_dates(tables: ScenarioTables) -> list[tuple[int, dt.date | None, dt.date | None]]:
    """Each block with its first and last day (None without a valid start date)."""
    blocks, weeks = parse_int(tables.programme.get("blocks")), parse_int(
        tables.programme.get("block_weeks") or "13")
    if not isinstance(blocks, int) or not 0 < blocks <= 1000:
        return []
    try:
        start: dt.date | None = dt.date.fromisoformat(str(tables.programme.get("start", "")))
    except ValueError:
        start = None
    out: list[tuple[int, dt.date | None, dt.date | None]] = []
    for b in range(1, blocks + 1):
        if start is None or not isinstance(weeks, int) or not 0 < weeks <= 52:
            out.append((b, None, None))
            continue
        first = start + dt.timedelta(weeks=weeks * (b - 1))
        out.append((b, first, first + dt.timedelta(weeks=weeks, days=-1)))
    return out


def _drop_downs(book: Any) -> None:
    """A list drop-down on every single-id reference column (see :data:`DROP_DOWNS`).

    A value not in the list is a warning, not a refusal, so an id can be typed
    before it is added where it belongs; the upload then says what is unknown.
    """
    from openpyxl.worksheet.datavalidation import (  # type: ignore[import-untyped]
        DataValidation,
    )

    for (table, column), source in DROP_DOWNS.items():
        sheet = book[SHEET_NAMES[table]]
        letter = _letter(COLUMNS[table].index(column))
        check = DataValidation(type="list", formula1=f"={source}", allow_blank=True,
                               showErrorMessage=True, errorStyle="warning",
                               errorTitle=f"Unknown {column}",
                               error=f"Not one of the ids listed ({source.split('!')[0]} "
                                     "sheet). Add it there first, or check the spelling.",
                               promptTitle=column, prompt="Choose from the list",
                               showInputMessage=True)
        check.add(f"{letter}2:{letter}{DROP_DOWN_ROWS}")
        sheet.add_data_validation(check)


def _readme(sheet: Any) -> None:
    sheet.append(["rotaplan scenario workbook"])
    for line in (
        "To open it in the rotaplan configurator: on the Scenario page, drag this file onto "
        "'Upload a scenario' (or press Browse files). It opens as a new saved scenario; "
        "any problem is shown beside its table, with the sheet, row and column.",
        "Columns that name a site, setting, profession, session or track have a drop-down "
        "list: sites and settings from the Sites and Settings sheets, the rest from the "
        "Lists sheet (which also gives each block's first and last day). Lists is not read "
        "back: change professions and sessions on the Programme sheet.",
        "Fill in one sheet per table, then run:  rotaplan import THIS.xlsx --out "
        "scenario.yaml",
        "Row 1 of each sheet is the header. Sheet and column names may use any case, and "
        "spaces, underscores and hyphens alike ('Site ID' is site_id).",
        "Lists are written with commas ('Mon-AM, Mon-PM'); pairs as 'key: value, key: value' "
        "('1: city-stroke'); a blank cell means the default said below.",
        "Ids (sites, settings, professions, supervisors, learners, sessions) must not contain "
        "commas. Formulas are not evaluated: rotaplan reads the value Excel saved.",
        "Missing Settings sheet: the settings named on the Sites sheet are used. Blank "
        "professions: those named on the Learners and Supervisors sheets are used.",
    ):
        sheet.append(["", line])
    sheet.append([])
    sheet.append(["Sheet", "Column or field", "What to write"])
    for name, text in FIELD_HELP.items():
        sheet.append(["Programme", name, text])
    for table, helps in COLUMN_HELP.items():
        for column in COLUMNS[table]:
            sheet.append([SHEET_NAMES[table], column, helps[column]])


def write_template(path: Path | str | IO[bytes], scenario: Scenario | None = None) -> None:
    """Write a workbook in the import format (see :func:`template_bytes`).

    Parameters
    ----------
    path
        File to write (or a binary file-like object).
    scenario
        The scenario to fill it with; None writes empty tables and the README.
    """
    data = template_bytes(scenario)
    if isinstance(path, Path | str):
        write_bytes(Path(path), data)  # atomic; never through a symbolic link
    else:
        path.write(data)
