"""``rotaplan.io.tables``: a scenario as editable text tables, and back.

Round trips must keep the scenario's meaning; problems must point at the table
cell a user has to fix; editor change sets must apply by shown position.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotaplan.generate import generate_scenario
from rotaplan.io.tables import (
    COLUMNS,
    ScenarioTables,
    TableProblem,
    Validation,
    apply_editor_changes,
    cell_text,
    empty_tables,
    from_document,
    from_scenario,
    from_text,
    parse_int,
    parse_int_or_map,
    parse_list,
    parse_map,
    to_document,
    to_yaml,
    validate,
)
from rotaplan.models import Scenario, load_scenario, parse_scenario_text
from rotaplan.models.yaml_format import dump_scenario
from tests.helpers import INSTANCES, NO_SHARED, SHARED_EXAMPLE, base_scenario, scenario_from

Data = dict[str, Any]

SCENARIO_FILES = [
    *[pytest.param(p, id=p.stem) for p in sorted(INSTANCES.glob("*.yaml"))],
    pytest.param(SHARED_EXAMPLE, id="contract-example",
                 marks=pytest.mark.skipif(not SHARED_EXAMPLE.exists(), reason=NO_SHARED)),
]
# The scenario broken cell by cell below: the contract example, else the demo.
BREAK_SOURCE = SHARED_EXAMPLE if SHARED_EXAMPLE.exists() else INSTANCES / "demo.yaml"


def clean(v: Validation) -> Scenario:
    """The validated scenario, asserting there were no problems at all."""
    assert v.problems == [], v.problems
    assert v.scenario is not None
    return v.scenario


def round_trip(data: Data) -> Scenario:
    """Validate a scenario dict through the tables (both entry points agree)."""
    via_doc = clean(validate(from_document(copy.deepcopy(data))))
    via_scenario = clean(validate(from_scenario(scenario_from(data))))
    assert via_doc == via_scenario
    return via_doc


def errors_at(tables: ScenarioTables) -> set[tuple[str, int | None, str | None]]:
    """(table, row, column) of every error."""
    return {(p.table, p.row, p.column) for p in validate(tables).errors}


def blank_row(frame: pd.DataFrame, value: str | None = "") -> pd.DataFrame:
    """One all-blank row with the frame's columns (what a data editor adds)."""
    return pd.DataFrame([[value] * len(frame.columns)], columns=frame.columns, dtype=object)


def with_row(frame: pd.DataFrame, pos: int, row: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``row`` inserted at position ``pos``."""
    return pd.concat([frame.iloc[:pos], row, frame.iloc[pos:]], ignore_index=True)


@pytest.fixture(scope="module")
def shown() -> ScenarioTables:
    """Tables of the example (or demo) scenario, as the configurator shows them."""
    return from_text(BREAK_SOURCE.read_text())


def broken(tables: ScenarioTables, table: str, row: int, column: str,
           value: str) -> ScenarioTables:
    """A copy of ``tables`` with one cell changed."""
    out = tables.copy()
    out.frames[table].at[row, column] = value
    return out


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", SCENARIO_FILES)
def test_shipped_files_round_trip(path: Path) -> None:
    """Text → tables → scenario gives exactly what the loader gives, both ways in."""
    expected = load_scenario(path)
    assert clean(validate(from_text(path.read_text()))) == expected
    assert clean(validate(from_scenario(expected))) == expected


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(3, 25), seed=st.integers(0, 10_000), blocks=st.integers(4, 6))
def test_generated_scenarios_round_trip(size: int, seed: int, blocks: int) -> None:
    """Generated scenarios survive tables → YAML unchanged in meaning."""
    data = generate_scenario(size, seed=seed, blocks=blocks)
    text = dump_scenario(data)
    expected = parse_scenario_text(text, "<generated>").scenario
    assert clean(validate(from_text(text))) == expected
    assert clean(validate(from_scenario(expected))) == expected


def test_to_yaml_loads_to_the_same_scenario(shown: ScenarioTables) -> None:
    """``to_yaml`` of valid tables is YAML the loader accepts, header as comments."""
    text = to_yaml(shown, header="made by the configurator\nsecond line")
    assert text.startswith("# made by the configurator\n# second line\n")
    loaded = parse_scenario_text(text, "<to_yaml>")
    assert loaded.scenario == load_scenario(BREAK_SOURCE)
    assert validate(shown).yaml_text.strip() in text


def test_empty_tables_validate_clean() -> None:
    """The blank configurator is a valid (empty) scenario with default sessions."""
    sc = clean(validate(empty_tables()))
    assert sc.learners == [] and sc.sites == []
    assert sc.programme.blocks == 4
    assert all(len(f) == 0 for f in empty_tables().frames.values())
    assert list(empty_tables().frames) == list(COLUMNS)


# --------------------------------------------------------------------------- edge meanings


def test_rooms_int() -> None:
    """``rooms: 2`` stays 2 in every session."""
    data = base_scenario()
    data["sites"][0]["rooms"] = 2
    assert round_trip(data).sites[0].rooms == 2


def test_rooms_map_with_default() -> None:
    """A map with ``default`` keeps the default and the exceptions."""
    data = base_scenario()
    data["sites"][0]["rooms"] = {"default": 2, "Tue-AM": 0, "Mon-PM": 3}
    tables = from_document(data)
    assert tables.frames["sites"].at[0, "rooms"] == "2"
    assert tables.frames["rooms"].values.tolist() == [["ward", "Tue-AM", "0"],
                                                      ["ward", "Mon-PM", "3"]]
    site = round_trip(data).sites[0]
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [2, 3, 0]
    assert site.rooms == {"default": 2, "Tue-AM": 0, "Mon-PM": 3}


def test_rooms_map_without_default_stays_zero_elsewhere() -> None:
    """A map with no ``default`` means 0 rooms in unlisted sessions, after the trip too."""
    data = base_scenario()
    data["sites"][0]["rooms"] = {"Mon-AM": 1}
    site = round_trip(data).sites[0]
    assert site.rooms_at("Mon-AM") == 1
    assert site.rooms_at("Mon-PM") == 0 and site.rooms_at("Tue-AM") == 0


def test_rooms_empty_map_is_zero_everywhere() -> None:
    """``rooms: {}`` (0 everywhere) does not become unlimited."""
    data = base_scenario()
    data["sites"][0]["rooms"] = {}
    site = round_trip(data).sites[0]
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [0, 0, 0]


def test_rooms_absent_stays_unlimited() -> None:
    """No ``rooms`` key: unlimited (None), not 0."""
    site = round_trip(base_scenario()).sites[0]
    assert site.rooms is None and site.rooms_at("Mon-AM") is None


@pytest.mark.parametrize(("where", "key", "message_part"), [
    ("site", "accepts", "accepts"),
    ("site", "open_sessions", "open_sessions"),
    ("learner", "available_sessions", "available_sessions"),
])
def test_explicit_empty_list_is_not_the_default(where: str, key: str, message_part: str) -> None:
    """``[]`` survives as ``[]`` (the loader's own verdict), blank as the default."""
    data = base_scenario()
    target = data["sites"][0] if where == "site" else data["learners"][0]
    target[key] = []
    tables = from_document(data)
    table, column = ("sites", key) if where == "site" else ("learners", key)
    assert tables.frames[table].at[0, column] == "[]"
    doc = to_document(tables).data
    got = doc["sites"][0] if where == "site" else doc["learners"][0]
    assert got[key] == []
    # The loader calls an empty list here ambiguous; the tables report it at the cell.
    v = validate(tables)
    assert v.scenario is None
    assert any(p.table == table and p.row == 0 and p.column == column
               and message_part in p.message for p in v.errors), v.problems
    tables.frames[table].at[0, column] = ""
    doc = to_document(tables).data
    assert key not in (doc["sites"][0] if where == "site" else doc["learners"][0])
    sc = clean(validate(tables))
    assert getattr(sc.sites[0] if where == "site" else sc.learners[0], key) is None


def test_allowed_empty_lists_round_trip() -> None:
    """Empty lists the loader accepts (no unavailable blocks, no preferences) survive."""
    data = base_scenario()
    data["sites"][0]["supervisors"][0]["unavailable_blocks"] = []
    data["learners"][0]["preferences"] = []
    data["learners"][0]["avoid"] = []
    data["supervision"] = {"nurse": []}
    sc = round_trip(data)
    assert sc.supervision == {"nurse": []}
    assert sc == scenario_from(data)


def test_capacity_map_per_block() -> None:
    """``capacity: {1: 2, 3: 1}`` limits blocks 1 and 3 only."""
    data = base_scenario()
    data["programme"]["blocks"] = 3
    data["sites"][0]["capacity"] = {1: 2, 3: 1}
    assert from_document(data).frames["sites"].at[0, "capacity"] == "1: 2, 3: 1"
    site = round_trip(data).sites[0]
    assert site.capacity == {1: 2, 3: 1}
    assert [site.capacity_in(b) for b in (1, 2, 3)] == [2, None, 1]


def test_min_learners_map() -> None:
    """``min_learners: {2: 1}`` sets block 2 only; int stays int."""
    data = base_scenario()
    data["programme"]["blocks"] = 3
    data["sites"][0]["min_learners"] = {2: 1}
    site = round_trip(data).sites[0]
    assert [site.minimum_in(b) for b in (1, 2, 3)] == [0, 1, 0]
    data["sites"][0]["min_learners"] = 1
    assert round_trip(data).sites[0].min_learners == 1


def test_empty_block_maps_keep_meaning() -> None:
    """``capacity: {}`` stays unlimited and ``min_learners: {}`` stays 0."""
    data = base_scenario()
    data["sites"][0]["capacity"] = {}
    data["sites"][0]["min_learners"] = {}
    site = round_trip(data).sites[0]
    assert site.capacity_in(1) is None and site.minimum_in(1) == 0


def test_pinned_and_learner_lists() -> None:
    """Pins, blocks, part-time patterns and preferences come back with their types."""
    data = base_scenario()
    data["programme"]["blocks"] = 2
    data["learners"][0].update(pinned={1: "ward"}, blocks=[1, 2], sessions_per_week=2,
                               available_sessions=["Mon-AM", "Tue-AM"],
                               preferences=["ward", "acute"], name="Ann: O'Neil, Jr")
    row = from_document(data).frames["learners"].iloc[0]
    assert (row["pinned"], row["blocks"], row["sessions_per_week"]) == ("1: ward", "1, 2", "2")
    lr = round_trip(data).learners[0]
    assert lr.pinned == {1: "ward"} and lr.blocks == [1, 2] and lr.sessions_per_week == 2
    assert lr.name == "Ann: O'Neil, Jr"


@pytest.mark.parametrize("ident", ["null", "yes", "007", "a:b", "x #y", "'q'", "{x}", "&a"])
def test_awkward_ids_round_trip(ident: str) -> None:
    """Ids that YAML would misread unquoted survive as the same strings."""
    data = base_scenario()
    data["sites"][0]["id"] = ident
    data["learners"][0].update(preferences=[ident, "acute"], pinned={1: ident}, name=ident)
    assert round_trip(data) == scenario_from(data)


@pytest.mark.parametrize("ident", ["ward[2]", "[x", "[x]"])
def test_bracketed_ids_round_trip(ident: str) -> None:
    """Ids are allowed brackets by the contract; a list cell must keep them."""
    data = base_scenario()
    data["sites"][0]["id"] = ident
    data["learners"][0]["preferences"] = [ident]
    assert round_trip(data) == scenario_from(data)


def test_extra_top_level_keys_are_kept() -> None:
    """Keys the tables do not cover go back into the document (and the loader judges them)."""
    data = base_scenario() | {"notes": "hello"}
    tables = from_document(data)
    assert tables.extra == {"notes": "hello"}
    assert to_document(tables).data["notes"] == "hello"
    assert any("notes" in p.message for p in validate(tables).errors)


# --------------------------------------------------------------------------- problems at cells


def test_unknown_preference_points_at_learner_cell(shown: ScenarioTables) -> None:
    """An unknown preference: learners row k, preferences, naming the id."""
    k = 2
    old = str(shown.frames["learners"].at[k, "preferences"])
    v = validate(broken(shown, "learners", k, "preferences", f"nowhere-site, {old}"))
    assert [(p.table, p.row, p.column) for p in v.errors] == [("learners", k, "preferences")]
    assert "nowhere-site" in v.errors[0].message
    assert v.scenario is None


def test_supervisor_capacity_text(shown: ScenarioTables) -> None:
    """A capacity of ``two``: supervisors row r, capacity."""
    r = 3
    assert errors_at(broken(shown, "supervisors", r, "capacity", "two")) == {
        ("supervisors", r, "capacity")}


def test_negative_room_exception(shown: ScenarioTables) -> None:
    """A room exception of -1: rooms row r, rooms (not the site row)."""
    r = len(shown.frames["rooms"]) - 1
    assert r >= 0
    v = validate(broken(shown, "rooms", r, "rooms", "-1"))
    assert {(p.table, p.row, p.column) for p in v.errors} == {("rooms", r, "rooms")}
    assert "-1" in v.errors[0].message


def test_unknown_session_in_room_exception(shown: ScenarioTables) -> None:
    """A room exception for a session that does not exist: that rooms row."""
    r = len(shown.frames["rooms"]) - 1
    v = validate(broken(shown, "rooms", r, "session", "Sun-AM"))
    assert {(p.table, p.row) for p in v.errors} == {("rooms", r)}
    assert "Sun-AM" in v.errors[0].message


def test_programme_blocks_zero(shown: ScenarioTables) -> None:
    """``blocks: 0`` is a programme form error on the blocks field."""
    tables = shown.copy()
    tables.programme["blocks"] = "0"
    assert ("programme", None, "blocks") in errors_at(tables)


def test_supervisor_with_unknown_site(shown: ScenarioTables) -> None:
    """A supervisor row naming no existing site: its site_id cell, naming the site."""
    r = 4
    v = validate(broken(shown, "supervisors", r, "site_id", "atlantis"))
    assert [(p.table, p.row, p.column) for p in v.errors] == [("supervisors", r, "site_id")]
    assert "atlantis" in v.errors[0].message
    empty = validate(broken(shown, "supervisors", r, "site_id", ""))
    assert [(p.table, p.row, p.column) for p in empty.errors] == [("supervisors", r, "site_id")]


def test_unknown_learner_profession(shown: ScenarioTables) -> None:
    """A learner profession not in professions: learners row, profession."""
    k = 1
    v = validate(broken(shown, "learners", k, "profession", "surgeon"))
    assert [(p.table, p.row, p.column) for p in v.errors] == [("learners", k, "profession")]
    assert "surgeon" in v.errors[0].message


@pytest.mark.parametrize(("table", "row", "column", "value"), [
    ("sites", 0, "capacity", "lots"),
    ("sites", 0, "capacity", "1: 2, 3: -1"),
    ("sites", 1, "setting", "moon-base"),
    ("learners", 0, "pinned", "1: nowhere"),
    ("learners", 0, "pinned", "99: nowhere"),
    ("learners", 3, "sessions_per_week", "many"),
    ("learners", 0, "track", "sabbatical"),
    ("supervision", 0, "supervised_by", "alien"),
    ("supervisors", 2, "unavailable_blocks", "x"),
])
def test_more_broken_cells(shown: ScenarioTables, table: str, row: int, column: str,
                           value: str) -> None:
    """Other single broken cells are reported at that cell."""
    assert (table, row, column) in errors_at(broken(shown, table, row, column, value))


def test_duplicate_ids_point_at_the_later_row(shown: ScenarioTables) -> None:
    """A repeated learner id is reported on the row that repeats it."""
    last = len(shown.frames["learners"]) - 1
    first_id = str(shown.frames["learners"].at[0, "id"])
    assert errors_at(broken(shown, "learners", last, "id", first_id)) == {
        ("learners", last, "id")}


def test_all_problems_at_once(shown: ScenarioTables) -> None:
    """Three broken cells in three tables give (at least) three errors, each placed."""
    tables = broken(shown, "learners", 1, "profession", "surgeon")
    tables = broken(tables, "supervisors", 3, "capacity", "two")
    tables.programme["block_weeks"] = "-2"
    v = validate(tables)
    assert len(v.errors) >= 3
    assert {("learners", 1, "profession"), ("supervisors", 3, "capacity"),
            ("programme", None, "block_weeks")} <= {(p.table, p.row, p.column)
                                                    for p in v.errors}


def test_row_messages_only_on_broken_rows(shown: ScenarioTables) -> None:
    """``row_messages`` has text on broken rows only, naming column and problem."""
    tables = broken(shown, "learners", 1, "profession", "surgeon")
    tables = broken(tables, "learners", 3, "preferences", "nowhere-site")
    n = len(tables.frames["learners"])
    messages = validate(tables).row_messages("learners", n)
    assert len(messages) == n
    assert [i for i, m in enumerate(messages) if m] == [1, 3]
    assert messages[1].startswith("profession:") and "surgeon" in messages[1]
    assert "preferences" in messages[3] and "nowhere-site" in messages[3]
    assert validate(tables).row_messages("sites", 2) == ["", ""]


def test_row_messages_join_two_problems_on_one_row(shown: ScenarioTables) -> None:
    """Two problems on one row are joined with ``; ``."""
    tables = broken(shown, "learners", 1, "profession", "surgeon")
    tables = broken(tables, "learners", 1, "preferences", "nowhere-site")
    text = validate(tables).row_messages("learners", len(tables.frames["learners"]))[1]
    assert "; " in text and "surgeon" in text and "nowhere-site" in text


def test_where_names_table_row_and_id(shown: ScenarioTables) -> None:
    """``TableProblem.where`` is plain words, with the row's id when there is one."""
    p = TableProblem("learners", 1, "profession", "x")
    ident = str(shown.frames["learners"].at[1, "id"])
    assert p.where(shown.frames["learners"]) == f"Learners, row 2 ({ident}), profession"
    assert TableProblem("programme", None, "blocks", "x").where() == "Programme, blocks"


@pytest.mark.parametrize("filler", ["", None])
def test_blank_rows_are_ignored(shown: ScenarioTables, filler: str | None) -> None:
    """All-blank rows (a data editor's new rows) change nothing, in every table."""
    expected = clean(validate(shown))
    tables = shown.copy()
    for name, frame in tables.frames.items():
        padded = with_row(frame, 0, blank_row(frame, filler))
        tables.frames[name] = pd.concat([padded, blank_row(frame, filler)], ignore_index=True)
    assert clean(validate(tables)) == expected


def test_problem_rows_count_blank_rows(shown: ScenarioTables) -> None:
    """Row numbers are positions in the shown table, blank rows included."""
    tables = shown.copy()
    tables.frames["learners"] = with_row(tables.frames["learners"], 1,
                                         blank_row(tables.frames["learners"]))
    tables.frames["learners"].at[3, "profession"] = "surgeon"
    assert errors_at(tables) == {("learners", 3, "profession")}


def test_supervisor_rows_in_any_order(shown: ScenarioTables) -> None:
    """Supervisor rows need not be grouped by site; problems still hit the shown row."""
    tables = shown.copy()
    tables.frames["supervisors"] = tables.frames["supervisors"].iloc[::-1].reset_index(drop=True)
    assert clean(validate(tables)).supervisor_site == load_scenario(BREAK_SOURCE).supervisor_site
    assert errors_at(broken(tables, "supervisors", 0, "capacity", "-3")) == {
        ("supervisors", 0, "capacity")}


def test_invalid_text_is_a_value_error() -> None:
    """Unreadable YAML or a non-mapping is a ValueError in plain words."""
    with pytest.raises(ValueError, match="YAML"):
        from_text("programme: [unclosed")
    with pytest.raises(ValueError, match="mapping"):
        from_text("- just\n- a list\n")


@pytest.mark.parametrize("value", ["²", "①"])
def test_odd_digits_are_reported_not_raised(shown: ScenarioTables, value: str) -> None:
    """A superscript digit typed in a number cell is a problem at that cell."""
    assert errors_at(broken(shown, "supervisors", 0, "capacity", value)) == {
        ("supervisors", 0, "capacity")}


def test_duplicate_room_rows_are_reported() -> None:
    """Two rows for the same site and session are a problem, not a silent overwrite."""
    data = base_scenario()
    data["sites"][0]["rooms"] = {"default": 2, "Mon-AM": 1}
    tables = from_document(data)
    extra = pd.DataFrame([["ward", "Mon-AM", "3"]], columns=COLUMNS["rooms"], dtype=object)
    tables.frames["rooms"] = pd.concat([tables.frames["rooms"], extra], ignore_index=True)
    assert ("rooms", 1) in {(p.table, p.row) for p in validate(tables).errors}


def test_duplicate_supervision_rows_are_reported() -> None:
    """Two rules for one learner profession are a problem, not a silent overwrite."""
    data = base_scenario()
    data["professions"] = ["nurse", "physiotherapist"]
    data["supervision"] = {"nurse": ["nurse"]}
    tables = from_document(data)
    extra = pd.DataFrame([["nurse", "physiotherapist"]], columns=COLUMNS["supervision"],
                         dtype=object)
    tables.frames["supervision"] = pd.concat([tables.frames["supervision"], extra],
                                             ignore_index=True)
    assert ("supervision", 1) in {(p.table, p.row) for p in validate(tables).errors}


# --------------------------------------------------------------------------- editor changes


@pytest.fixture
def frame() -> pd.DataFrame:
    """A small text table with a display-only problem column."""
    return pd.DataFrame({"id": ["a", "b", "c"], "capacity": ["1", "2", ""],
                         "problems": ["", "bad", ""]}, dtype=object)


def test_edit_cells(frame: pd.DataFrame) -> None:
    """Edits apply by position, values become text, the display column is ignored."""
    out = apply_editor_changes(frame, {"edited_rows": {
        1: {"capacity": 5, "problems": "typed here", "nonsense": "x"},
        "2": {"capacity": None, "id": "cc"}}}, ignore=["problems"])
    assert out["capacity"].tolist() == ["1", "5", ""]
    assert out["id"].tolist() == ["a", "b", "cc"]
    assert out["problems"].tolist() == ["", "bad", ""]
    assert frame["capacity"].tolist() == ["1", "2", ""]  # the input is not changed


def test_add_rows(frame: pd.DataFrame) -> None:
    """Added rows are appended as text; missing cells are blank."""
    out = apply_editor_changes(frame, {"added_rows": [{"id": "d", "capacity": 2},
                                                      {"capacity": True}]})
    assert out["id"].tolist() == ["a", "b", "c", "d", ""]
    assert out["capacity"].tolist() == ["1", "2", "", "2", "true"]
    assert out.index.equals(pd.RangeIndex(5))


def test_delete_rows(frame: pd.DataFrame) -> None:
    """Deleted positions refer to the shown frame; the result is renumbered."""
    out = apply_editor_changes(frame, {"deleted_rows": [0, 2]})
    assert out["id"].tolist() == ["b"]
    assert out.index.equals(pd.RangeIndex(1))


def test_edit_delete_and_add_together(frame: pd.DataFrame) -> None:
    """Edits use positions before deletion; adds go after the survivors."""
    out = apply_editor_changes(frame, {"edited_rows": {2: {"capacity": "9"}},
                                       "deleted_rows": [0],
                                       "added_rows": [{"id": "z", "capacity": "0"}]})
    assert out[["id", "capacity"]].values.tolist() == [["b", "2"], ["c", "9"], ["z", "0"]]
    assert out.index.equals(pd.RangeIndex(3))


def test_positions_ignore_the_frame_index(frame: pd.DataFrame) -> None:
    """A frame with a non-default index is still addressed by position."""
    shifted = frame.set_axis([10, 20, 30])
    out = apply_editor_changes(shifted, {"edited_rows": {0: {"id": "A"}}, "deleted_rows": [1]})
    assert out["id"].tolist() == ["A", "c"]
    assert out.index.equals(pd.RangeIndex(2))


def test_no_changes_is_a_clean_copy(frame: pd.DataFrame) -> None:
    """No changes: the same cells, a new object, object dtype."""
    out = apply_editor_changes(frame, {})
    assert out.equals(frame) and out is not frame
    assert set(map(str, out.dtypes)) == {"object"}


def test_editor_changes_feed_validation(shown: ScenarioTables) -> None:
    """An editor change set that breaks a cell is found by ``validate`` at that cell."""
    tables = shown.copy()
    tables.frames["learners"] = apply_editor_changes(
        tables.frames["learners"],
        {"edited_rows": {1: {"profession": "surgeon"}}, "added_rows": [{}]})
    assert errors_at(tables) == {("learners", 1, "profession")}


# --------------------------------------------------------------------------- parse helpers


@pytest.mark.parametrize(("value", "expected"), [
    (None, ""), ("x", "x"), (3, "3"), (True, "true"), (False, "false"),
    ([], "[]"), (["a", "b"], "a, b"), ((1, 2), "1, 2"), ({}, ""),
    ({1: "a", 2: "b"}, "1: a, 2: b"), ({"default": 1}, "default: 1"),
])
def test_cell_text(value: Any, expected: str) -> None:
    """Values as cell text."""
    assert cell_text(value) == expected


def test_cell_text_date() -> None:
    """Dates are ISO text."""
    import datetime as dt

    assert cell_text(dt.date(2027, 9, 6)) == "2027-09-06"


@pytest.mark.parametrize(("text", "numbers", "expected"), [
    ("", False, None), ("  ", False, None), (None, False, None), (float("nan"), False, None),
    ("[]", False, []), (" [] ", False, []), ("a", False, ["a"]),
    ("a, b ,c", False, ["a", "b", "c"]), ("a,,b,", False, ["a", "b"]),
    ("[a, b]", False, ["a", "b"]), ("1, 2", False, ["1", "2"]),
    ("1, 2", True, [1, 2]), ("1, x", True, [1, "x"]), ("-1", True, [-1]),
])
def test_parse_list(text: Any, numbers: bool, expected: list[Any] | None) -> None:
    """``a, b, c`` lists; blank is None, ``[]`` is an explicit empty list."""
    assert parse_list(text, numbers=numbers) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), (None, None), ("3", 3), (" 3 ", 3), ("+3", 3), ("-1", -1), ("0", 0),
    ("two", "two"), ("2.5", "2.5"), ("1e3", "1e3"),
])
def test_parse_int(text: Any, expected: int | str | None) -> None:
    """Whole numbers as ints; other text is kept for the loader to reject."""
    assert parse_int(text) == expected


@pytest.mark.parametrize(("text", "int_keys", "int_values", "expected"), [
    ("", True, False, None),
    ("1: ward", True, False, {1: "ward"}),
    ("1: ward, 3: a:b", True, False, {1: "ward", 3: "a:b"}),
    ("Mon-AM: 2, default: 1", False, True, {"Mon-AM": 2, "default": 1}),
    ("x: 1", True, True, {"x": 1}),
    ("1: two", True, True, {1: "two"}),
    ("1: 2,", True, True, {1: 2}),
    ("not a map", True, True, "not a map"),
])
def test_parse_map(text: str, int_keys: bool, int_values: bool, expected: Any) -> None:
    """``key: value`` maps; text that is not a map is kept for the loader."""
    assert parse_map(text, int_keys=int_keys, int_values=int_values) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("2", 2), ("0", 0), ("1: 2, 3: 1", {1: 2, 3: 1}), ("lots", "lots"),
    ("1: x", {1: "x"}),
])
def test_parse_int_or_map(text: str, expected: Any) -> None:
    """A number or ``block: number`` pairs."""
    assert parse_int_or_map(text) == expected


def test_document_is_plain_yaml(shown: ScenarioTables) -> None:
    """``to_document`` data dumps with a safe dumper (plain types only)."""
    text = yaml.safe_dump(to_document(shown).data, sort_keys=False)
    assert parse_scenario_text(text, "<safe>").scenario == load_scenario(BREAK_SOURCE)


def test_a_date_that_does_not_exist_is_a_problem_at_the_start_field() -> None:
    """``2027-13-01`` looks like a date; it must be reported, not crash the dump."""
    tables = from_document(base_scenario())
    tables.programme["start"] = "2027-13-01"
    problems = validate(tables).errors
    assert [(p.table, p.column) for p in problems] == [("programme", "start")]
    assert "month must be in 1..12" in problems[0].message


@pytest.mark.parametrize("text", [
    "programme: {name: p, blocks: 1}\nsites: [{id: a, supervisors: 5}]\n",
    "programme: {name: p, blocks: 1}\nsupervision: [a, b]\n",
    "programme: {name: p, blocks: 1}\nobjective: 5\n",
    "programme: {name: p, blocks: 1}\nprofessions: 5\n",
    "programme: {name: p, blocks: 1}\ntracks: [1]\n",
])
def test_yaml_not_laid_out_as_a_scenario_is_a_value_error(text: str) -> None:
    """Odd structures are refused in plain words (the UI shows them), never a crash."""
    with pytest.raises(ValueError, match="not laid out as a scenario"):
        from_text(text)


def test_the_tables_read_yaml_with_the_loaders_parser() -> None:
    """Issue 12 A5: the configurator's tables read YAML as the CLI does. ``id: NO`` stays
    the string NO (PyYAML's YAML 1.1 made it false), a duplicate key is refused rather than
    the last value taken, and the alias bomb is refused by the alias budget."""
    from rotaplan.io.tables import from_text

    text = (INSTANCES / "demo.yaml").read_text()
    first = text.index("  - {id: ", text.index("\nlearners:"))
    end = text.index(",", first)
    tables = from_text(text[:first] + "  - {id: NO" + text[end:])
    assert "NO" in set(tables.frames["learners"]["id"])
    broken = Path(__file__).resolve().parents[2] / "data" / "broken"
    for name in ("yaml_duplicate_key.yaml", "yaml_alias_bomb.yaml"):
        with pytest.raises(ValueError, match="not readable YAML"):
            from_text((broken / name).read_text())
