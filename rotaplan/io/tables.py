"""A scenario as editable tables, and back, with problems pointed at table cells.

The configurator edits a scenario as a few flat tables (settings, sites, rooms
by session, supervisors, learners, supervision rules) plus small forms
(programme, professions, tracks, objective). Every cell is text, so a user can
type anything; :func:`to_document` turns the tables back into the contract's
YAML structure without judging it, and :func:`validate` runs the project's own
loader on that document, then maps each problem back to a table, a row and a
column, in plain words.

Conversion keeps meaning exactly: ``from_document(d)`` then ``to_document``
gives a document that validates to the same :class:`~models.Scenario`, except
that a few equivalent spellings are normalised (``rooms: {Mon-AM: 1}`` becomes
``{default: 0, Mon-AM: 1}``, an empty capacity map becomes blank); every rule
then reads the same numbers in every block and session.
Lists are written ``a, b, c`` (``[]`` for an explicit empty list), maps
``key: value, key: value``, and a blank cell leaves the key out (the
contract's default).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rotaplan.models import (
    Problem,
    Scenario,
    ScenarioError,
    format_path,
    parse_scenario_text,
    read_document,
)
from rotaplan.models.yaml_format import dump_scenario

SETTING_COLUMNS = ["id", "name", "placement_blocks", "value"]
SITE_COLUMNS = ["id", "name", "setting", "capacity", "rooms", "min_learners", "open_sessions",
                "accepts", "locality", "organisation", "placement_blocks"]
# the numbers people change most, first; then the version-2 columns (§9)
ROOM_COLUMNS = ["site_id", "session", "rooms"]
SUPERVISOR_COLUMNS = ["site_id", "id", "name", "profession", "capacity", "sessions",
                      "unavailable_blocks"]
LEARNER_COLUMNS = ["id", "name", "profession", "track", "sessions_per_week",
                   "available_sessions", "blocks", "preferences", "avoid", "pinned",
                   "placements", "requirements", "completed", "scores", "weights"]
SUPERVISION_COLUMNS = ["learner_profession", "supervised_by"]

COLUMNS: dict[str, list[str]] = {
    "settings": SETTING_COLUMNS,
    "sites": SITE_COLUMNS,
    "rooms": ROOM_COLUMNS,
    "supervisors": SUPERVISOR_COLUMNS,
    "learners": LEARNER_COLUMNS,
    "supervision": SUPERVISION_COLUMNS,
}
"""The tables, in the order the configurator shows them, with their columns."""

TABLE_TITLES = {
    "settings": "Care settings",
    "sites": "Sites",
    "rooms": "Rooms by session",
    "supervisors": "Supervisors",
    "learners": "Learners",
    "supervision": "Who may supervise whom",
    "programme": "Programme",
    "professions": "Professions",
    "tracks": "Tracks",
    "objective": "Objective",
    "general": "Scenario",
}

_LIST_FIELDS = {"accepts", "open_sessions", "sessions", "available_sessions", "preferences",
                "avoid", "supervised_by", "completed"}
_INT_LIST_FIELDS = {"unavailable_blocks", "blocks"}
_PROGRAMME_KEYS = ("name", "start", "blocks", "block_weeks", "sessions", "teaching_sessions")


# --------------------------------------------------------------------------- cell text


def cell_text(value: Any) -> str:
    """One value as the text shown in a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value) if value else "[]"
    if isinstance(value, Mapping):
        return ", ".join(f"{cell_text(k)}: {cell_text(v)}" for k, v in value.items())
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _number(text: str) -> int | str:
    """A whole number if the text is one, else the text (the loader will say why)."""
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    return int(stripped) if body.isascii() and body.isdigit() else stripped


def _blank(value: Any) -> bool:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return True
    return str(value).strip() == ""


def parse_list(text: Any, *, numbers: bool = False) -> list[Any] | None:
    """``a, b, c`` as a list (None when blank; ``[]`` is an explicit empty list)."""
    if _blank(text):
        return None
    stripped = str(text).strip()
    if stripped == "[]":
        return []
    if stripped.startswith("[") and stripped.endswith("]") and "," in stripped:
        stripped = stripped[1:-1]  # written as a YAML list (one id may itself be "[x]")
    items = [x.strip() for x in stripped.split(",") if x.strip()]
    return [_number(x) for x in items] if numbers else items


def parse_int(text: Any) -> int | str | None:
    """A whole number (None when blank; other text is kept for the loader to reject)."""
    return None if _blank(text) else _number(str(text))


def parse_map(text: Any, *, int_keys: bool, int_values: bool) -> dict[Any, Any] | str | None:
    """``key: value, key: value`` as a mapping (None when blank)."""
    if _blank(text):
        return None
    out: dict[Any, Any] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        if ":" not in part:
            return str(text).strip()  # not a map: the loader reports it in plain words
        key, value = (x.strip() for x in part.split(":", 1))
        out[_number(key) if int_keys else key] = _number(value) if int_values else value
    return out


def requirements_text(value: Any) -> str:
    """Requirements (§9.2 rule 15) as one cell: ``stroke+primary-care: 1; mh+uc: 0..2``.

    Settings joined by ``+``; then ``n`` (``count``), ``a..b`` (``min`` and
    ``max``), ``a..`` or ``..b``; requirements separated by ``;``.
    """
    if value is None:
        return ""
    if isinstance(value, list) and not value:
        return "[]"
    if not isinstance(value, list):
        return cell_text(value)
    parts = []
    for rq in value:
        if not isinstance(rq, Mapping):
            return cell_text(value)
        group = "+".join(cell_text(x) for x in rq.get("settings") or [])
        if rq.get("count") is not None:
            bound = cell_text(rq["count"])
        else:
            low = "" if rq.get("min") is None else cell_text(rq["min"])
            high = "" if rq.get("max") is None else cell_text(rq["max"])
            bound = f"{low}..{high}"
        parts.append(f"{group}: {bound}")
    return "; ".join(parts)


def parse_requirements(text: Any) -> list[dict[str, Any]] | str | None:
    """The cell of :func:`requirements_text` as requirement mappings (None when blank)."""
    if _blank(text):
        return None
    stripped = str(text).strip()
    if stripped == "[]":
        return []
    out: list[dict[str, Any]] = []
    for part in stripped.split(";"):
        if not part.strip():
            continue
        if ":" not in part:
            return stripped  # not requirements: the loader says why in plain words
        group, bound = (x.strip() for x in part.split(":", 1))
        item: dict[str, Any] = {"settings": [x.strip() for x in group.split("+") if x.strip()]}
        if ".." in bound:
            low, high = (x.strip() for x in bound.split("..", 1))
            if low:
                item["min"] = _number(low)
            if high:
                item["max"] = _number(high)
        else:
            item["count"] = _number(bound)
        out.append(item)
    return out


def precedence_text(value: Any) -> str:
    """Precedence rules (§9.2 rule 17) as one cell: ``stroke > community-rehab, a > b``."""
    if value is None:
        return ""
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        return cell_text(value)
    return ", ".join(f"{cell_text(r.get('before'))} > {cell_text(r.get('after'))}"
                     for r in value) or "[]"


def parse_precedence(text: Any) -> list[dict[str, Any]] | str | None:
    """The cell of :func:`precedence_text` as ``{before, after}`` mappings (None when blank)."""
    if _blank(text):
        return None
    stripped = str(text).strip()
    if stripped == "[]":
        return []
    out = []
    for part in stripped.split(","):
        if not part.strip():
            continue
        if ">" not in part:
            return stripped  # the loader says why
        before, after = (x.strip() for x in part.split(">", 1))
        out.append({"before": before, "after": after})
    return out


def parse_int_or_map(text: Any) -> int | dict[Any, Any] | str | None:
    """A whole number, or ``block: number`` pairs (site capacity, minimum learners)."""
    if _blank(text):
        return None
    if ":" in str(text):
        return parse_map(text, int_keys=True, int_values=True)
    return _number(str(text))


# --------------------------------------------------------------------------- tables


@dataclass
class ScenarioTables:
    """A scenario as forms and tables of text cells.

    Attributes
    ----------
    programme
        ``name, start, blocks, block_weeks, sessions, teaching_sessions`` as text.
    professions
        Profession ids.
    tracks, objective
        The ``tracks`` and ``objective`` sections as documents.
    frames
        One DataFrame of text per table in :data:`COLUMNS`.
    extra
        Top-level keys the tables do not cover, kept as they were.
    """

    programme: dict[str, str]
    professions: list[str]
    tracks: dict[str, Any]
    objective: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    extra: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> ScenarioTables:
        """A deep copy (tables are edited in place by the UI)."""
        return ScenarioTables(dict(self.programme), list(self.professions),
                              copy.deepcopy(self.tracks), copy.deepcopy(self.objective),
                              {k: v.copy() for k, v in self.frames.items()},
                              copy.deepcopy(self.extra))


def _frame(table: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns = COLUMNS[table]
    data = [[requirements_text(row.get(c)) if c == "requirements" else cell_text(row.get(c))
             for c in columns] for row in rows]
    return pd.DataFrame(data, columns=columns, dtype=object)


def empty_tables() -> ScenarioTables:
    """A blank scenario: one programme form, default sessions, no rows."""
    return from_document({"programme": {"name": "New programme", "blocks": 4, "block_weeks": 13}})


def from_document(doc: Mapping[str, Any]) -> ScenarioTables:
    """Tables of a scenario document (a parsed YAML mapping, valid or not)."""
    prog = doc.get("programme") if isinstance(doc.get("programme"), Mapping) else {}
    assert isinstance(prog, Mapping)
    programme = {k: cell_text(prog.get(k)) for k in _PROGRAMME_KEYS}
    settings = [s if isinstance(s, Mapping) else {"id": s} for s in _items(doc, "settings")]
    sites, rooms, supervisors = [], [], []
    for site in _items(doc, "sites"):
        if not isinstance(site, Mapping):
            continue
        row = {k: site.get(k) for k in SITE_COLUMNS if k != "rooms"}
        spec = site.get("rooms")
        if isinstance(spec, Mapping):
            row["rooms"] = spec.get("default", 0)
            rooms += [{"site_id": site.get("id"), "session": k, "rooms": v}
                      for k, v in spec.items() if k != "default"]
        else:
            row["rooms"] = spec
        sites.append(row)
        supervisors += [{"site_id": site.get("id"), **sup}
                        for sup in site.get("supervisors") or [] if isinstance(sup, Mapping)]
    supervision = [{"learner_profession": k, "supervised_by": v}
                   for k, v in (doc.get("supervision") or {}).items()]
    known = {"programme", "settings", "professions", "supervision", "tracks", "sites",
             "learners", "objective"}
    return ScenarioTables(
        programme=programme,
        professions=[str(p) for p in doc.get("professions") or []],
        tracks=copy.deepcopy(dict(doc.get("tracks") or {})),
        objective=copy.deepcopy(dict(doc.get("objective") or {})),
        frames={
            "settings": _frame("settings", settings),
            "sites": _frame("sites", sites),
            "rooms": _frame("rooms", rooms),
            "supervisors": _frame("supervisors", supervisors),
            "learners": _frame("learners", [x for x in _items(doc, "learners")
                                            if isinstance(x, Mapping)]),
            "supervision": _frame("supervision", supervision),
        },
        extra={k: copy.deepcopy(v) for k, v in doc.items() if k not in known},
    )


def _items(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return list(value) if isinstance(value, list) else []


def from_text(text: str) -> ScenarioTables:
    """Tables of scenario YAML text, read by the loader's parser (the only one).

    YAML 1.2 as everywhere else (``id: NO`` stays ``NO``), duplicate keys and
    tags are errors, and the alias budget holds; no code runs.

    Raises
    ------
    ValueError
        If the text is not YAML or not a mapping, in plain words with the line.
    """
    try:
        doc = read_document(text, "scenario")
    except ScenarioError as exc:
        first = "; ".join(p.render("line") for p in exc.errors[:3])
        raise ValueError(f"not readable YAML: {first}") from None
    try:
        return from_document(doc)
    except (TypeError, AttributeError, KeyError, ValueError):
        # laid out too differently from a scenario to edit as tables: say where
        try:
            parse_scenario_text(text, "scenario")
        except ScenarioError as exc:
            first = "; ".join(p.render("line") for p in exc.errors[:3])
            raise ValueError(f"it is YAML but not laid out as a scenario: {first}") from None
        raise ValueError("it is YAML but not laid out as a scenario") from None


def from_scenario(scenario: Scenario) -> ScenarioTables:
    """Tables of a validated scenario."""
    return from_document(scenario.model_dump(exclude_unset=True))


# --------------------------------------------------------------------------- back to a document

Origin = tuple[str, int]
"""A table name and a row position (0-based, in the table's current order)."""


@dataclass
class Document:
    """A scenario document built from tables, with where each part came from.

    Attributes
    ----------
    data
        The document (plain dicts and lists), ready to dump as YAML.
    origins
        Document path prefixes (``("sites", 2)``) to the table row they came from.
    problems
        Problems found while building (rows that point at missing sites).
    """

    data: dict[str, Any]
    origins: dict[tuple[Any, ...], Origin]
    problems: list[TableProblem]


def _rows(frame: pd.DataFrame) -> Iterable[tuple[int, dict[str, Any]]]:
    """Non-blank rows with their positions."""
    for pos, row in enumerate(frame.to_dict("records")):
        if any(not _blank(v) for v in row.values()):
            yield pos, {str(k): (None if _blank(v) else str(v).strip()) for k, v in row.items()}


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def to_document(tables: ScenarioTables) -> Document:
    """The scenario document the tables describe (not validated)."""
    origins: dict[tuple[Any, ...], Origin] = {}
    problems: list[TableProblem] = []
    programme: dict[str, Any] = {}
    for key in _PROGRAMME_KEYS:
        text = tables.programme.get(key, "")
        if key in ("sessions", "teaching_sessions"):
            _put(programme, key, parse_list(text))
        elif key in ("blocks", "block_weeks"):
            _put(programme, key, parse_int(text))
        else:
            _put(programme, key, None if _blank(text) else str(text).strip())
    data: dict[str, Any] = {"programme": programme}
    settings: list[dict[str, Any]] = []
    for pos, row in _rows(tables.frames["settings"]):
        origins[("settings", len(settings))] = ("settings", pos)
        item: dict[str, Any] = {}
        _put(item, "id", row["id"])
        _put(item, "name", row["name"])
        _put(item, "placement_blocks", parse_int(row["placement_blocks"]))
        _put(item, "value", parse_int(row["value"]))
        settings.append(item)
    data["settings"] = settings
    data["professions"] = list(tables.professions)
    supervision: dict[str, Any] = {}
    for pos, row in _rows(tables.frames["supervision"]):
        key = row["learner_profession"] or ""
        if key in supervision:
            first = origins[("supervision", key)][1]
            problems.append(TableProblem("supervision", pos, "learner_profession",
                                         f"'{key}' already has a rule on row {first + 1}; "
                                         "list every supervising profession in one row"))
            continue
        origins[("supervision", key)] = ("supervision", pos)
        supervision[key] = parse_list(row["supervised_by"]) or []
    if supervision:
        data["supervision"] = supervision
    if tables.tracks:
        data["tracks"] = copy.deepcopy(tables.tracks)
    data["sites"] = _sites(tables, origins, problems)
    learners: list[dict[str, Any]] = []
    for pos, row in _rows(tables.frames["learners"]):
        origins[("learners", len(learners))] = ("learners", pos)
        learner: dict[str, Any] = {}
        for col in LEARNER_COLUMNS:
            text = row[col]
            if col in _LIST_FIELDS:
                _put(learner, col, parse_list(text))
            elif col == "blocks":
                _put(learner, col, parse_list(text, numbers=True))
            elif col in ("sessions_per_week", "placements"):
                _put(learner, col, parse_int(text))
            elif col == "pinned":
                _put(learner, col, parse_map(text, int_keys=True, int_values=False))
            elif col in ("scores", "weights"):
                _put(learner, col, parse_map(text, int_keys=False, int_values=True))
            elif col == "requirements":
                _put(learner, col, parse_requirements(text))
            else:
                _put(learner, col, text)
        learners.append(learner)
    data["learners"] = learners
    if tables.objective:
        data["objective"] = copy.deepcopy(tables.objective)
    data.update(copy.deepcopy(tables.extra))
    return Document(data, origins, problems)


def _sites(tables: ScenarioTables, origins: dict[tuple[Any, ...], Origin],
           problems: list[TableProblem]) -> list[dict[str, Any]]:
    sites: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for pos, row in _rows(tables.frames["sites"]):
        i = len(sites)
        origins[("sites", i)] = ("sites", pos)
        site: dict[str, Any] = {}
        for col in SITE_COLUMNS:
            text = row[col]
            if col in _LIST_FIELDS:
                _put(site, col, parse_list(text))
            elif col in ("capacity", "min_learners"):
                _put(site, col, parse_int_or_map(text))
            elif col in ("rooms", "placement_blocks"):
                _put(site, col, parse_int(text))
            else:
                _put(site, col, text)
        if row["id"] is not None and row["id"] not in index:
            index[row["id"]] = i
        sites.append(site)
    for pos, row in _rows(tables.frames["rooms"]):
        found = index.get(row["site_id"] or "")
        if found is None:
            problems.append(TableProblem("rooms", pos, "site_id",
                                         _missing_site(row["site_id"])))
            continue
        i = found
        site = sites[i]
        spec = site.get("rooms")
        if not isinstance(spec, dict):
            spec = {} if spec is None else {"default": spec}
            site["rooms"] = spec
        session = row["session"] or ""
        earlier = origins.get(("sites", i, "rooms", session))
        if earlier is not None:
            problems.append(TableProblem("rooms", pos, "session",
                                         f"{row['site_id']} {session} is already set on row "
                                         f"{earlier[1] + 1}"))
            continue
        spec[session] = parse_int(row["rooms"])
        origins[("sites", i, "rooms", session)] = ("rooms", pos)
    for pos, row in _rows(tables.frames["supervisors"]):
        owner = index.get(row["site_id"] or "")
        if owner is None:
            problems.append(TableProblem("supervisors", pos, "site_id",
                                         _missing_site(row["site_id"])))
            continue
        sups = sites[owner].setdefault("supervisors", [])
        origins[("sites", owner, "supervisors", len(sups))] = ("supervisors", pos)
        sup: dict[str, Any] = {}
        for col in SUPERVISOR_COLUMNS[1:]:
            text = row[col]
            if col == "sessions":
                _put(sup, col, parse_list(text))
            elif col == "unavailable_blocks":
                _put(sup, col, parse_list(text, numbers=True))
            elif col == "capacity":
                _put(sup, col, parse_int(text))
            else:
                _put(sup, col, text)
        sups.append(sup)
    return sites


def _missing_site(site_id: str | None) -> str:
    if not site_id:
        return "say which site this row belongs to (site_id is empty)"
    return f"there is no site with id '{site_id}' in the Sites table"


def to_yaml(tables: ScenarioTables, header: str | None = None) -> str:
    """The tables as scenario YAML text (valid or not)."""
    return dump_scenario(to_document(tables).data, header)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class TableProblem:
    """A problem pointed at a place in the configurator.

    Attributes
    ----------
    table
        A table in :data:`COLUMNS`, or ``programme``, ``professions``, ``tracks``,
        ``objective`` or ``general``.
    row
        Row position in the table (None for forms).
    column
        Column or form field (None when the whole row is at fault).
    message
        Plain words.
    severity
        ``"error"`` or ``"warning"``.
    """

    table: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def where(self, frame: pd.DataFrame | None = None) -> str:
        """Plain words for the place: ``Learners, row 4 (L4), preferences``."""
        parts = [TABLE_TITLES.get(self.table, self.table)]
        if self.row is not None:
            label = f"row {self.row + 1}"
            if frame is not None and "id" in frame.columns and self.row < len(frame):
                ident = frame.iloc[self.row]["id"]
                if not _blank(ident):
                    label += f" ({ident})"
            parts.append(label)
        if self.column:
            parts.append(self.column)
        return ", ".join(parts)


@dataclass
class Validation:
    """The outcome of validating tables.

    Attributes
    ----------
    scenario
        The validated scenario, or None when there are errors.
    problems
        Errors and warnings, each pointed at a table cell or form field.
    yaml_text
        The YAML the tables describe (what a download gives).
    """

    scenario: Scenario | None
    problems: list[TableProblem]
    yaml_text: str

    @property
    def errors(self) -> list[TableProblem]:
        """The problems that stop a solve."""
        return [p for p in self.problems if p.severity == "error"]

    def for_table(self, table: str) -> list[TableProblem]:
        """Problems in one table or form."""
        return [p for p in self.problems if p.table == table]

    def row_messages(self, table: str, rows: int) -> list[str]:
        """One text per row: that row's problems as ``column: message``, or empty."""
        out = [""] * rows
        for p in self.for_table(table):
            if p.row is not None and p.row < rows:
                text = f"{p.column}: {p.message}" if p.column else p.message
                out[p.row] = f"{out[p.row]}; {text}" if out[p.row] else text
        return out


def locate(problem: Problem, origins: Mapping[tuple[Any, ...], Origin]) -> TableProblem:
    """Point a loader problem at the table cell or form field it is about."""
    path = tuple(problem.path)
    severity = problem.severity
    for size in range(len(path), 0, -1):
        origin = origins.get(path[:size])
        if origin is None:
            continue
        table, row = origin
        rest = path[size:]
        if table == "rooms":
            return TableProblem("rooms", row, "rooms", problem.message, severity)
        column = next((str(p) for p in rest if isinstance(p, str)), None)
        if table == "supervision":
            column = "supervised_by"
        if column is None and path[:1] == ("sites",) and size == 2 and len(path) > 2:
            column = str(path[2])
        if column not in COLUMNS[table]:
            column = _column_of(table, column)
        if table == "sites" and column == "rooms":  # a bad session value: point at its row
            for key, (other, other_row) in origins.items():
                if (other == "rooms" and key[:2] == path[:2]
                        and f"'{key[-1]}'" in problem.message):
                    return TableProblem("rooms", other_row, "rooms", problem.message, severity)
        return TableProblem(table, row, column, problem.message, severity)
    head = path[0] if path else None
    if head == "programme":
        field_name = str(path[1]) if len(path) > 1 else None
        return TableProblem("programme", None, field_name, problem.message, severity)
    if head in ("professions", "tracks", "objective"):
        detail = format_path(path[1:]) if len(path) > 1 else None
        return TableProblem(str(head), None, detail, problem.message, severity)
    if head in ("settings", "sites", "learners", "supervision"):
        return TableProblem(str(head), None, None, problem.message, severity)
    return TableProblem("general", None, format_path(path) if path else None,
                        problem.message, severity)


def _column_of(table: str, column: str | None) -> str | None:
    if table == "sites" and column == "supervisors":
        return None
    return column if column in COLUMNS[table] else None


def validate(tables: ScenarioTables) -> Validation:
    """Validate tables with the project's loader; every problem at once."""
    doc = to_document(tables)
    text = dump_scenario(doc.data)
    problems = list(doc.problems)
    scenario: Scenario | None = None
    try:
        loaded = parse_scenario_text(text, "configurator")
        scenario = loaded.scenario
        found: list[Problem] = list(loaded.warnings)
    except ScenarioError as exc:
        found = list(exc.problems)
    problems += [locate(p, doc.origins) for p in found]
    if any(p.severity == "error" for p in problems):
        scenario = None
    return Validation(scenario, problems, text)


# --------------------------------------------------------------------------- editing


def apply_editor_changes(frame: pd.DataFrame, changes: Mapping[str, Any],
                         ignore: Iterable[str] = ()) -> pd.DataFrame:
    """Apply a Streamlit ``data_editor`` change set to a table of text cells.

    Parameters
    ----------
    frame
        The table as it was shown (rows by position).
    changes
        ``{"edited_rows": {pos: {column: value}}, "added_rows": [{column: value}],
        "deleted_rows": [pos]}``, positions referring to ``frame``.
    ignore
        Display-only columns (such as a problem column) to drop from the changes.

    Returns
    -------
    pandas.DataFrame
        A new table: edits applied, deleted rows removed, added rows appended.
    """
    skip = set(ignore)
    out = frame.copy().reset_index(drop=True)
    positions = {str(c): i for i, c in enumerate(out.columns)}
    for pos, edits in (changes.get("edited_rows") or {}).items():
        for column, value in edits.items():
            if column in positions and column not in skip:
                out.iat[int(pos), positions[column]] = cell_text(value)
    deleted = {int(p) for p in changes.get("deleted_rows") or []}
    out = out.drop(index=[i for i in out.index if i in deleted])
    added = [{c: cell_text(row.get(c)) for c in frame.columns}
             for row in changes.get("added_rows") or []]
    if added:
        out = pd.concat([out, pd.DataFrame(added, columns=frame.columns, dtype=object)])
    return out.reset_index(drop=True).astype(object)
