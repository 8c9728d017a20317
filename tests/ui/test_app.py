"""The configurator, page by page, through Streamlit's AppTest (no browser).

Each test gets its own SQLite database (``ROTAPLAN_DB_URL``), so saved
scenarios and runs are isolated. Edits are made as a browser makes them: the
data editor keeps one change set per grid, grows it cell by cell and sends all
of it, under the key the grid was drawn with, before each run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rotaplan.runs import jobs
from rotaplan.runs.jobs import SolveJob, SolveRegistry
from rotaplan.runs.store import Store

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "ui" / "app.py")


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for the app under test."""
    url = f"sqlite:///{tmp_path}/ui.db"
    monkeypatch.setenv("ROTAPLAN_DB_URL", url)
    return url


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[SolveRegistry]:
    """A fresh solve registry (the server's) for each test; its solves are stopped after."""
    fresh = SolveRegistry()
    monkeypatch.setattr(jobs, "_registry", fresh)
    yield fresh
    fresh.cancel_all(wait=60)  # never leave a solver thread behind


@pytest.fixture
def app(db_url: str) -> Iterator[AppTest]:
    """The app, opened on its first page."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    yield at
    for key in ("cap_job", "why_job"):  # never leave a capacity or explain thread behind
        job = at.session_state.get(key) if key in at.session_state else None
        if job is not None:
            job.cancel()
            job.wait(60)


def solving(at: AppTest) -> SolveJob | None:
    """The live solve the session watches (from the server's registry), or None."""
    return jobs.solves().get(at.session_state["job_run_id"])


def address(at: AppTest) -> dict[str, str]:
    """The page's address parameters (``?scenario=…&version=…``)."""
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def refreshed(at: AppTest) -> AppTest:
    """A browser refresh of ``at``'s page: a new session at the same address."""
    fresh = AppTest.from_file(APP, default_timeout=120)
    for name, value in address(at).items():
        fresh.query_params[name] = value
    fresh.run()
    assert not fresh.exception, fresh.exception
    return fresh


def go(at: AppTest, page: str) -> None:
    """Choose a page in the sidebar."""
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception


def texts(elements: Any) -> str:
    """All the texts of a list of elements, joined, as a reader sees them.

    User text is shown with Markdown's signs escaped (``\\(``) and invisible word
    joiners that stop bare addresses becoming links; a reader sees the text itself.
    """
    joined = "\n".join(str(e.value) for e in elements).replace("\u2060", "")
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", joined)


def editor_key(at: AppTest, table: str) -> str:
    """The key of the grid of ``table`` drawn in the last run."""
    return next(e.key for e in at.data_editor if e.key.startswith(f"editor-{table}-"))


def grid_changes(at: AppTest, table: str) -> dict[str, Any]:
    """The change set the browser holds for a table's grid (what it sent last)."""
    key = editor_key(at, table)
    try:
        held = at.session_state[key]
    except KeyError:
        held = None
    held = held or {}
    return {"edited_rows": {int(k): dict(v) for k, v in
                            dict(held.get("edited_rows") or {}).items()},
            "added_rows": [dict(r) for r in held.get("added_rows") or []],
            "deleted_rows": list(held.get("deleted_rows") or [])}


def edit(at: AppTest, table: str, changes: dict[str, Any]) -> None:
    """Edit a table's grid as the browser does, then rerun.

    The browser adds each edit to the grid's change set and sends the whole set:
    edited cells merge by row, added rows append, and deleting a row that was
    added removes it from the added rows.
    """
    held = grid_changes(at, table)
    base = len(at.data_editor(key=editor_key(at, table)).value)  # the rows it was drawn with
    for row, cells in (changes.get("edited_rows") or {}).items():
        held["edited_rows"].setdefault(int(row), {}).update(cells)
    held["added_rows"] += [dict(r) for r in changes.get("added_rows") or []]
    for row in changes.get("deleted_rows") or []:
        if row >= base:
            del held["added_rows"][row - base]
        else:
            held["deleted_rows"].append(row)
    at.session_state[editor_key(at, table)] = held
    at.run()
    assert not at.exception, at.exception


def row_of(at: AppTest, table: str, ident: str) -> int:
    """Position of the row with an id."""
    return list(at.session_state["tables"].frames[table]["id"]).index(ident)


def solve(at: AppTest, seconds: float = 120) -> None:
    """Press Solve and rerun until the run is recorded."""
    go(at, "Solve")
    at.button(key="solve").click().run()
    deadline = time.monotonic() + seconds
    while at.session_state["job_run_id"] is not None:
        assert time.monotonic() < deadline, "the solve did not finish"
        time.sleep(0.3)
        at.run()
    assert not at.exception, at.exception


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label to value."""
    return {m.label: m.value for m in at.metric}


# --------------------------------------------------------------------------- open


def test_opens_on_the_demo_ready_to_solve(app: AppTest) -> None:
    """The app opens on the demo, valid and ready to solve, with both downloads and every
    table as a grid."""
    assert "30 learners" in texts(app.success)
    assert "Ready to solve" in texts(app.success)
    assert app.session_state["source"] == "demo.yaml"
    assert not app.error
    assert [d.label for d in app.download_button] == ["Download YAML",
                                                      "Download as a workbook"]
    # every table is an editor, opened on the demo's rows
    sizes = {e.key.split("-")[1]: len(e.value) for e in app.data_editor}
    assert sizes["learners"] == 30 and sizes["sites"] == 14


def test_upload_opens_and_saves_the_file(app: AppTest, db_url: str) -> None:
    """An uploaded YAML file is opened in the editor and saved as a scenario with its text."""
    text = (ROOT / "instances" / "infeasible.yaml").read_bytes()
    app.file_uploader(key="upload").upload("infeasible.yaml", text, "application/x-yaml")
    app.run()
    assert not app.exception
    assert app.session_state["source"] == "infeasible.yaml"
    assert "8 learners" in texts(app.success)
    saved = Store(db_url).list_scenarios()
    assert [s.name for s in saved] == ["infeasible"]
    assert Store(db_url).latest_version(saved[0].id).yaml_text == text.decode()


def test_upload_a_workbook_in_the_import_format(app: AppTest, db_url: str) -> None:
    """A workbook in the import format is opened and saved, its version noted as imported."""
    from rotaplan.io.workbook import template_bytes
    from rotaplan.models import load_scenario

    data = template_bytes(load_scenario(ROOT / "instances" / "infeasible.yaml"))
    app.file_uploader(key="upload").upload("cohort.xlsx", data, "application/octet-stream")
    app.run()
    assert not app.exception
    assert app.session_state["source"] == "cohort.xlsx"
    assert "8 learners" in texts(app.success)
    assert [v.note for v in Store(db_url).versions(app.session_state["scenario_id"])] == [
        "imported cohort.xlsx"]


@pytest.mark.parametrize(("content", "message"), [
    (b"programme: [unclosed", "could not be read"),
    (b"- just\n- a list\n", "must be a YAML mapping"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"#" * (2 * 1024 * 1024 + 1), "the limit is 2 MB"),
])
def test_bad_uploads_are_refused_in_plain_words(app: AppTest, content: bytes,
                                                message: str) -> None:
    """Unreadable, non-mapping, non-UTF-8 and oversized uploads are refused in plain words;
    the scenario being edited is kept."""
    app.file_uploader(key="upload").upload("bad.yaml", content, "application/x-yaml")
    app.run()
    assert not app.exception
    assert message in texts(app.error)
    assert app.session_state["source"] == "demo.yaml"  # the scenario being edited is kept


def test_start_blank(app: AppTest) -> None:
    """Start blank opens a new scenario with no learners."""
    app.button(key="open_blank").click().run()
    assert not app.exception
    assert len(app.session_state["tables"].frames["learners"]) == 0
    assert app.session_state["source"] == "new scenario"


def test_a_blank_start_shows_the_steps_and_never_says_ready(app: AppTest) -> None:
    """A blank scenario shows the step bar and what is missing, never "Ready to solve",
    and Solve is disabled; three learners, a site and a supervisor make it ready."""
    app.button(key="open_blank").click().run()
    assert "Ready to solve" not in texts(app.success)
    assert "Not ready to solve yet" in texts(app.info)
    shown = texts(app.markdown)
    assert "1. Programme" in shown and "3. Learners" in shown
    assert "needs a learner" in texts(app.caption)
    go(app, "Solve")
    assert app.button(key="solve").disabled
    go(app, "Scenario")
    app.text_input(key=next(t.key for t in app.text_input
                            if t.key.startswith("professions-"))).input("nurse").run()
    edit(app, "settings", {"added_rows": [{"id": "stroke", "name": "Stroke"}]})
    edit(app, "sites", {"added_rows": [{"id": "ward-1", "name": "Ward one",
                                        "setting": "stroke", "capacity": "3"}]})
    edit(app, "supervisors", {"added_rows": [{"site_id": "ward-1", "id": "S1",
                                              "profession": "nurse", "capacity": "3"}]})
    edit(app, "learners", {"added_rows": [{"id": f"L{n}", "profession": "nurse",
                                           "track": "rotation"} for n in (1, 2, 3)]})
    assert "Ready to solve" in texts(app.success), texts(app.error) + texts(app.info)
    assert "3 learners" in texts(app.success)
    go(app, "Solve")
    assert not app.button(key="solve").disabled


# --------------------------------------------------------------------------- edit and validate


def test_a_bad_cell_is_reported_on_its_row_and_fixing_it_clears_it(app: AppTest) -> None:
    """A bad cell is named by table, row, id and column, under its grid; fixing it clears it."""
    row = row_of(app, "learners", "L003")
    edit(app, "learners", {"edited_rows": {row: {"preferences": "nowhere, hun-icu"}}})
    assert "1 problem(s) to fix" in texts(app.error)
    assert "Learners, row 3 (L003), preferences" in texts(app.markdown)
    under_grid = [texts([e]) for e in app.error if "problem(s) in Learners to fix" in e.value]
    assert len(under_grid) == 1
    assert "Learners, row 3 (L003), preferences" in under_grid[0]
    assert "unknown site or setting 'nowhere'" in under_grid[0]
    assert not [e for e in app.error if "problem(s) in Sites" in e.value]
    go(app, "Solve")
    assert app.button(key="solve").disabled
    go(app, "Scenario")
    edit(app, "learners", {"edited_rows": {row: {"preferences": "hun-icu"}}})
    assert "Ready to solve" in texts(app.success)


def test_cells_typed_one_after_another_and_a_new_row_are_all_kept(app: AppTest,
                                                                  db_url: str) -> None:
    """Issue 12 A6: a value, Tab, the next value, and a new row filled cell by cell all
    reach the tables and the saved draft, and the grid keeps its key throughout.

    The browser sends each grid's whole change set so far, always under the key the
    grid was drawn with; a grid redrawn under a new key (or with new data) is a new,
    empty grid in the browser, so what was typed into the old one is lost.
    """
    sites = editor_key(app, "sites")
    settings = editor_key(app, "settings")
    row = row_of(app, "sites", "gy-stroke-rehab")
    typed = [("capacity", "7"), ("rooms", "4"), ("min_learners", "1")]
    cells: dict[str, str] = {}
    for column, value in typed:  # a value, Tab, the next value…
        cells[column] = value
        app.session_state[sites] = {"edited_rows": {row: dict(cells)}, "added_rows": [],
                                    "deleted_rows": []}
        app.run()
        assert not app.exception, app.exception
    new_row: dict[str, str] = {}
    for column, value in [("id", "new-setting"), ("name", "New setting")]:  # a new row
        new_row[column] = value
        app.session_state[settings] = {"edited_rows": {}, "added_rows": [dict(new_row)],
                                       "deleted_rows": []}
        app.run()
        assert not app.exception, app.exception
    frame = app.session_state["tables"].frames["sites"]
    assert dict(frame.loc[row, ["capacity", "rooms", "min_learners"]]) == dict(typed)
    added = app.session_state["tables"].frames["settings"].iloc[-1]
    assert (added["id"], added["name"]) == ("new-setting", "New setting")
    saved = Store(db_url).latest_version(app.session_state["scenario_id"]).yaml_text
    assert "new-setting" in saved and "New setting" in saved
    assert "capacity: 7" in saved and "rooms: 4" in saved and "min_learners: 1" in saved
    assert "Ready to solve" in texts(app.success)  # an unused new setting is still valid
    assert editor_key(app, "sites") == sites and editor_key(app, "settings") == settings


def test_rename_a_site_updates_its_references_and_undo_puts_it_back(app: AppTest,
                                                                      db_url: str) -> None:
    """Renaming a site changes every reference in the grids and is saved; Undo restores
    the old id everywhere, and then a grid edit can be undone too."""
    app.radio(key="rename_kind").set_value("site").run()
    app.selectbox(key="rename_old_site").set_value("hun-stroke").run()
    app.text_input(key="rename_new").input("hunstanton-stroke").run()
    app.button(key="rename_go").click().run()
    assert not app.exception, app.exception
    frames = app.session_state["tables"].frames
    assert "hunstanton-stroke" in set(frames["supervisors"]["site_id"])
    assert "hun-stroke" not in set(frames["supervisors"]["site_id"])
    assert "Renamed site hun-stroke to hunstanton-stroke" in texts(app.info)
    drawn = app.data_editor(key=editor_key(app, "supervisors")).value
    assert "hunstanton-stroke" in set(drawn["site_id"])  # the grids show the new id
    saved = Store(db_url).latest_version(app.session_state["scenario_id"])
    assert "hunstanton-stroke" in saved.yaml_text and "hun-stroke:" not in saved.yaml_text
    assert "Ready to solve" in texts(app.success)

    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    assert app.session_state["tables"].frames["sites"].loc[row, "rooms"] == "1"
    app.button(key="undo").click().run()  # the grid edit
    assert app.session_state["tables"].frames["sites"].loc[row, "rooms"] == "3"
    assert "Undone" in texts(app.info)
    app.button(key="undo").click().run()  # the rename
    frames = app.session_state["tables"].frames
    assert "hun-stroke" in set(frames["supervisors"]["site_id"])
    assert "hunstanton-stroke" not in set(frames["sites"]["id"])
    assert app.button(key="undo").disabled
    saved = Store(db_url).latest_version(app.session_state["scenario_id"])
    assert "hunstanton-stroke" not in saved.yaml_text


def test_every_single_id_reference_column_is_a_pick_list(app: AppTest) -> None:
    """Settings, sites, professions, tracks and sessions are chosen from drop-down lists in
    the grids (the Rooms grid offers the programme's sessions)."""
    def options(table: str) -> dict[str, list[str]]:
        proto = app.data_editor(key=editor_key(app, table)).proto
        return {name: list(column["type_config"]["options"])
                for name, column in json.loads(proto.columns).items()
                if (column.get("type_config") or {}).get("options")}

    assert set(options("rooms")) == {"site_id", "session"}
    assert options("rooms")["session"][:2] == ["Mon-AM", "Mon-PM"]
    assert set(options("sites")) == {"setting"}
    assert set(options("supervisors")) == {"site_id", "profession"}
    assert set(options("learners")) == {"profession", "track"}
    assert set(options("supervision")) == {"learner_profession"}


def test_a_rename_to_a_taken_id_is_refused(app: AppTest) -> None:
    """Renaming a site to another site's id is refused in plain words; nothing changes."""
    app.selectbox(key="rename_old_site").set_value("hun-stroke").run()
    app.text_input(key="rename_new").input("hun-icu").run()
    app.button(key="rename_go").click().run()
    assert "already a site" in texts(app.error)
    assert "hun-stroke" in set(app.session_state["tables"].frames["sites"]["id"])


def test_programme_field_errors_show_under_the_field(app: AppTest) -> None:
    """A bad programme field is kept as typed and its problem shown under the field."""
    gen = app.session_state["gen"]["forms"]
    app.text_input(key=f"prog-blocks-{gen}").set_value("0").run()
    assert not app.exception
    assert "greater than or equal to 1" in texts(app.error)
    assert app.session_state["tables"].programme["blocks"] == "0"


def test_added_and_deleted_rows(app: AppTest) -> None:
    """A row added to a grid counts as a learner; deleting it again leaves the demo's 30."""
    before = len(app.session_state["tables"].frames["learners"])
    edit(app, "learners", {"added_rows": [{"id": "NEW1", "name": "New Nurse",
                                           "profession": "nurse"}]})
    assert len(app.session_state["tables"].frames["learners"]) == before + 1
    assert "31 learners" in texts(app.success)
    edit(app, "learners", {"deleted_rows": [before]})
    assert "30 learners" in texts(app.success)


def test_edits_are_saved_and_survive_a_refresh(app: AppTest, db_url: str) -> None:
    """An edit is saved as a draft version (with a toast) and a refresh at the page's
    address shows it."""
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    assert "Sites row 10 (sher-oak-tree): rooms 3 → 1" in texts(app.toast)
    scenario_id = app.session_state["scenario_id"]
    assert app.query_params["scenario"] in (str(scenario_id), [str(scenario_id)])
    fresh = AppTest.from_file(APP, default_timeout=60)  # a refresh: a new session, same URL
    fresh.query_params["scenario"] = str(scenario_id)
    fresh.run()
    assert not fresh.exception
    frame = fresh.session_state["tables"].frames["sites"]
    assert frame.loc[frame["id"] == "sher-oak-tree", "rooms"].item() == "1"
    versions = Store(db_url).versions(scenario_id)
    assert [v.note for v in versions] == ["edited", "opened demo.yaml"]


# --------------------------------------------------------------------------- solve and results


def test_solve_change_a_room_count_solve_again_and_see_why(app: AppTest, db_url: str) -> None:
    """Solve, cut a room count, solve again: Results say what changed and each run is linked
    to its version."""
    solve(app)
    assert app.session_state["page"] == "Results"
    shown = metrics(app)
    assert shown["Placed"] == "30/30" and shown["Cost"] == "167"
    assert "OPTIMAL" in texts(app.success)
    assert "independent checker" in texts(app.success)
    assert {"Rotations", "Sites", "Supervisors", "Rooms", "Timetables", "Preferences",
            "What changed", "Downloads"} <= {t.label for t in app.tabs}
    go(app, "Scenario")
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    solve(app)
    table = next(d.value for d in app.dataframe if "Field" in d.value.columns)
    row = table[table["Item"].str.contains(r"\(sher-oak-tree\)")].iloc[0]
    assert (row["Part"], row["Field"], row["Before"], row["After"]) == ("Sites", "rooms",
                                                                          "3", "1")
    assert "Who moved" in texts(app.markdown)
    moved = next(d.value for d in app.dataframe if "Learner" in d.value.columns)
    assert list(moved.columns) == ["Learner", "Block", "Role", "Before", "After", "Change"]
    runs = Store(db_url).runs(scenario_id=app.session_state["scenario_id"])
    assert [r.version_number for r in runs] == [2, 1]  # which plan came from which version


def test_keep_the_plan_close_to_the_last_run(app: AppTest, db_url: str) -> None:
    """After a small change, 'Keep the plan close to the last run' moves few learners: the
    run records which plan it kept close to, and What changed counts who moved."""
    go(app, "Solve")
    assert app.checkbox(key="keep_close").disabled  # no earlier plan yet
    solve(app)
    first = app.session_state["run_id"]
    go(app, "Scenario")
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    go(app, "Solve")
    assert not app.checkbox(key="keep_close").disabled
    assert f"run {first} of version 1" in texts(app.caption)
    app.checkbox(key="keep_close").check().run()
    solve(app)
    run = Store(db_url).run(app.session_state["run_id"])
    assert run.options["keep_close_to"] == first and run.has_plan
    assert "changes" in run.summary["terms"]
    shown = re.search(r"Who moved\*\*: (\d+) of 30", "\n".join(
        str(m.value) for m in app.markdown))
    assert shown is not None and int(shown.group(1)) <= 10, shown


def test_results_offer_every_download(app: AppTest) -> None:
    """Results offer the plan files, summary, zip, workbook and calendars."""
    solve(app)
    labels = {d.label for d in app.download_button}
    assert {"assignments.csv", "timetable.csv", "summary.json", "Excel workbook",
            "Plan as a zip (CSV, summary, scenario)",
            "Calendars (.ics, one per learner and supervisor)"} <= labels


def test_timetable_follows_the_chosen_learner(app: AppTest) -> None:
    """The weekly timetable shows the learner chosen (a fellow's teaching session included)."""
    solve(app)
    app.selectbox(key="learner").set_value("F001").run()
    assert not app.exception
    grid = next(d.value for d in app.dataframe if list(d.value.index)[:1] == ["Block 1"])
    assert "teaching" in set(grid["Wed-PM"])


def test_results_filter_the_gantt_and_show_who_is_where(app: AppTest) -> None:
    """The Gantt can be filtered by care setting and site (whole years of the learners
    placed there), and the site view names who is at each site in each block."""
    solve(app)
    assert "30 of 30 placed learners shown" in texts(app.caption)
    app.multiselect(key="gantt_settings").set_value(["stroke"]).run()
    assert not app.exception
    assert "of 30 placed learners shown" in texts(app.caption)
    assert "30 of 30" not in texts(app.caption)
    app.multiselect(key="gantt_sites").set_value(["hun-stroke"]).run()
    shown = re.search(r"(\d+) of 30 placed learners", texts(app.caption))
    assert shown is not None and 0 < int(shown.group(1)) < 30
    view = next(d.value for d in app.dataframe if "site" in d.value.columns)
    assert "Block 1 · 6 Sep 2027" in view.columns
    assert view["site"].str.contains(r"\(hun-stroke\)").any()


def test_learners_left_out_are_named_beside_the_gantt(app: AppTest) -> None:
    """Issue 12 A2: a learner left out has no bar, so the Results page names them under
    the Gantt and in its warning, never dropping them silently."""
    import yaml

    data = yaml.safe_load((ROOT / "instances" / "demo.yaml").read_text())
    data["objective"] = {**data.get("objective", {}), "allow_unplaced": True,
                         "unplaced_penalty": 1000}
    learner = next(x for x in data["learners"] if x["profession"] == "nurse"
                   and "pinned" not in x)
    learner["avoid"] = [s["id"] for s in data["sites"]]
    text = yaml.safe_dump(data, sort_keys=False).encode()
    app.file_uploader(key="upload").upload("left-out.yaml", text, "application/x-yaml")
    app.run()
    assert not app.exception
    solve(app)
    go(app, "Results")
    captions = texts(app.caption)
    assert "Left out, so without a bar (1):" in captions, captions
    assert learner["id"] in captions
    assert learner["id"] in texts(app.warning)


def test_cancel_stops_the_search_and_keeps_the_best_plan(app: AppTest) -> None:
    """Cancel during a long solve stops it soon and the best plan found is shown."""
    app.selectbox(key="shipped_choice").set_value("medium").run()
    app.button(key="open_shipped").click().run()
    go(app, "Solve")
    app.slider(key="time_limit").set_value(300).run()
    app.number_input(key="workers").set_value(1).run()
    app.button(key="solve").click().run()
    job = solving(app)
    assert job is not None
    deadline = time.monotonic() + 60
    while job.poll().objective is None:
        assert time.monotonic() < deadline, "no plan found to keep"
        time.sleep(0.2)
    app.run()
    app.button(key="cancel").click().run()
    assert job.wait(120) and job.elapsed < 120
    app.run()
    assert app.session_state["job_run_id"] is None
    assert "Stopped by Cancel" in texts(app.warning)
    assert metrics(app)["Placed"] == "80/80"


def test_a_failed_solve_explains_itself_and_keeps_the_scenario(app: AppTest) -> None:
    """An infeasible solve shows why, and the scenario's tables are unchanged."""
    app.selectbox(key="shipped_choice").set_value("infeasible").run()
    app.button(key="open_shipped").click().run()
    before = app.session_state["tables"].copy()
    solve(app)
    assert "No plan: INFEASIBLE" in texts(app.error)
    assert "Stroke services [cover]: 3 physiotherapist place-blocks" in texts(app.code)
    go(app, "Scenario")
    assert all(app.session_state["tables"].frames[t].equals(before.frames[t])
               for t in before.frames)


# --------------------------------------------------------------------------- insight


def _explained(app: AppTest) -> None:
    """Press Explain and let the background explanation finish, then redraw."""
    app.button(key="why_run").click().run()
    assert not app.exception, app.exception
    job = app.session_state["why_job"]
    assert job.wait(120)
    app.run()
    assert not app.exception, app.exception


def test_why_no_plan_says_what_runs_short_and_applies_a_checked_fix(app: AppTest) -> None:
    """'Why no plan?' on the shipped infeasible scenario runs in the background, says in a few
    lines that stroke runs short of physiotherapist places, and its checked fix, applied from
    the page, leaves a scenario with a plan."""
    app.selectbox(key="shipped_choice").set_value("infeasible").run()
    app.button(key="open_shipped").click().run()
    go(app, "Why no plan?")
    _explained(app)
    statement = texts(app.code)
    assert "Stroke services [cover]: 3 physiotherapist place-blocks" in statement
    assert len(statement.strip().splitlines()) <= 10
    assert "Changes that make a plan possible" in texts(app.markdown)
    ids = next(d.value for d in app.dataframe if "Ids" in d.value.columns)
    assert {"L001", "L002", "L003"} <= {x.split(", ")[0] for x in ids["Ids"]}
    app.button(key="why_apply_0").click().run()
    assert not app.exception, app.exception
    assert "Applied: kl-hasu-pt1" in texts(app.success)
    _explained(app)
    assert "has a plan: nothing to explain" in texts(app.success)


def test_why_no_plan_on_a_feasible_scenario(app: AppTest) -> None:
    """'Why no plan?' on a feasible scenario says there is nothing to explain."""
    go(app, "Why no plan?")
    app.slider(key="why_seconds").set_value(10).run()
    _explained(app)
    assert "has a plan: nothing to explain" in texts(app.success)


def test_why_no_plan_waits_for_a_free_solver_and_cancel_leaves_the_line(app: AppTest) -> None:
    """With every solver slot taken, Explain waits in line with Cancel; Cancel leaves the line
    and the page says nothing was computed."""
    slots = jobs.solves().slots
    tickets = [object() for _ in range(slots.limit)]
    for ticket in tickets:
        assert slots.acquire(ticket, timeout=5)
    try:
        go(app, "Why no plan?")
        app.button(key="why_run").click().run()
        job = app.session_state["why_job"]
        assert job.waiting and app.button(key="why_run").disabled
        assert "Waiting for a free solver" in texts(app.info)
        app.button(key="why_cancel").click().run()
        assert job.wait(10) and job.skipped and job.diagnosis is None
        app.run()
        assert "Cancelled while it waited for a free solver" in texts(app.info)
    finally:
        for _ in tickets:
            slots.release()


def test_capacity_answers_in_plain_words(app: AppTest) -> None:
    """A capacity question answers in plain words with what limits growth (grouped by
    setting, and one single change valued), and the answer stays on the page."""
    go(app, "Capacity")
    app.selectbox(key="cap_profession").set_value("physiotherapist").run()
    app.slider(key="cap_probes").set_value(1).run()
    app.button(key="cap_run").click().run()
    assert not app.exception
    job = app.session_state["cap_job"]
    assert job.wait(180)
    app.run()
    assert not app.exception, app.exception
    assert "The programme can take 3 more physiotherapist" in texts(app.subheader)
    table = next(d.value for d in app.dataframe if "What is full" in d.value.columns)
    assert len(table) >= 1 and table["Would let in"].iloc[0] != "not tried"
    groups = next(d.value for d in app.dataframe if "Setting" in d.value.columns)
    assert len(groups) >= 1 and groups["Resource"].iloc[0].endswith("full")
    # the answer stays on the page through other reruns, and says when it is out of date
    app.slider(key="cap_seconds").set_value(20).run()
    assert "The programme can take 3 more physiotherapist" in texts(app.subheader)
    job.remove_files()


def test_capacity_question_runs_in_the_background_and_cancel_stops_it(app: AppTest) -> None:
    """A question that takes seconds (pharmacists on the medium ICS) stops on Cancel."""
    app.selectbox(key="shipped_choice").set_value("medium").run()
    app.button(key="open_shipped").click().run()
    go(app, "Capacity")
    app.selectbox(key="cap_profession").set_value("pharmacist").run()
    app.slider(key="cap_seconds").set_value(300).run()
    app.button(key="cap_run").click().run()
    job = app.session_state["cap_job"]
    assert job.running and app.button(key="cap_run").disabled
    assert "Finding capacity" in app.get("progress")[0].proto.text
    time.sleep(0.5)
    app.button(key="cap_cancel").click().run()
    assert job.wait(60) and job.elapsed < 60
    app.run()
    assert not app.exception, app.exception
    assert "Stopped" in texts(app.warning)
    assert job.answer is not None and job.answer.maximum.stopped
    job.remove_files()


# --------------------------------------------------------------------------- history


def test_history_reopens_duplicates_and_deletes(app: AppTest, db_url: str) -> None:
    """History duplicates a scenario (with its edits) and deletes another."""
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "2"}}})
    first = app.session_state["scenario_id"]
    go(app, "History")
    app.button(key="hist_duplicate").click().run()
    assert not app.exception
    store = Store(db_url)
    assert len(store.list_scenarios()) == 2
    copy = app.session_state["scenario_id"]
    assert copy != first and "(copy)" in app.session_state["source"]
    frame = app.session_state["tables"].frames["sites"]
    assert frame.loc[frame["id"] == "sher-oak-tree", "rooms"].item() == "2"
    go(app, "History")
    app.selectbox(key="hist_scenario").set_value(first).run()
    app.checkbox(key="hist_sure").check().run()
    app.button(key="hist_delete").click().run()
    assert not app.exception
    assert [s.id for s in store.list_scenarios()] == [copy]


def test_two_sessions_opening_the_demo_keep_their_work_apart(app: AppTest,
                                                            db_url: str) -> None:
    """Issue 13 finding 1: session A solves the demo; session B opens the demo and
    edits it. B's edit is B's own scenario, never a version of A's, and A's refresh
    opens A's work, not B's. Solving again in one session keeps its runs together."""
    solve(app)
    solve(app)
    mine = app.session_state["scenario_id"]
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session
    other.run()
    row = row_of(other, "sites", "sher-oak-tree")
    edit(other, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    theirs = other.session_state["scenario_id"]
    store = Store(db_url)
    assert theirs != mine
    assert [v.note for v in store.versions(mine)] == ["opened demo.yaml"]
    assert len(store.runs(scenario_id=mine)) == 2 and not store.runs(scenario_id=theirs)
    refresh = refreshed(app)  # A's refresh: A's address
    assert refresh.session_state["scenario_id"] == mine
    frame = refresh.session_state["tables"].frames["sites"]
    assert frame.loc[frame["id"] == "sher-oak-tree", "rooms"].item() == "3"  # not B's 1


def test_edits_during_a_solve_never_change_the_version_being_solved(app: AppTest,
                                                                    db_url: str) -> None:
    """Edits made while a version is solved go to a new version; the run is linked to the
    version solved and the page stays on the editor."""
    app.selectbox(key="shipped_choice").set_value("medium").run()
    app.button(key="open_shipped").click().run()
    first = row_of(app, "learners", app.session_state["tables"].frames["learners"]["id"][0])
    edit(app, "learners", {"edited_rows": {first: {"name": "Before Solve"}}})
    go(app, "Solve")
    app.slider(key="time_limit").set_value(300).run()
    app.number_input(key="workers").set_value(1).run()
    app.button(key="solve").click().run()
    job = solving(app)
    assert job is not None
    solved = job.meta["version_id"]
    go(app, "Scenario")
    edit(app, "learners", {"edited_rows": {first: {"name": "During Solve"}}})
    job.cancel()
    assert job.wait(120)
    app.run()
    store = Store(db_url)
    assert "Before Solve" in store.version(solved).yaml_text
    assert "During Solve" not in store.version(solved).yaml_text
    run = store.runs(scenario_id=app.session_state["scenario_id"])[0]
    assert run.version_id == solved
    assert app.session_state["page"] == "Scenario"  # no jump away from the editor
    assert app.session_state["run_id"] == run.id


def test_a_change_set_that_cannot_be_read_is_reported_not_raised(app: AppTest) -> None:
    """A grid change set pointing past the table (Streamlit never sends one) leaves the
    table as it was and says so, instead of breaking the page."""
    before = app.session_state["tables"].frames["sites"].copy()
    app.session_state[editor_key(app, "sites")] = {
        "edited_rows": {999: {"rooms": "1"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    assert not app.exception, app.exception
    assert "an edit could not be read" in texts(app.toast)
    assert app.session_state["tables"].frames["sites"].equals(before)


def test_edits_are_kept_across_pages_and_new_ids_become_choices(app: AppTest) -> None:
    """Leaving the Scenario page and coming back keeps every edit (the grids are drawn
    afresh from the tables), and a site added in a grid becomes a choice in the
    Supervisors grid once the user asks for the lists to be updated."""
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "2"}}})
    before = editor_key(app, "sites")
    go(app, "Solve")
    go(app, "Scenario")
    assert editor_key(app, "sites") != before  # a new grid, drawn from the tables
    drawn = app.data_editor(key=editor_key(app, "sites")).value
    assert drawn.loc[row, "rooms"] == "2"
    edit(app, "sites", {"edited_rows": {row: {"capacity": "3"}},
                        "added_rows": [{"id": "new-site", "name": "New site",
                                        "setting": "stroke"}]})
    frame = app.session_state["tables"].frames["sites"]
    assert (frame.loc[row, "rooms"], frame.loc[row, "capacity"]) == ("2", "3")
    assert frame.iloc[-1]["id"] == "new-site"

    def site_choices() -> list[str]:
        proto = app.data_editor(key=editor_key(app, "supervisors")).proto
        return list(json.loads(proto.columns)["site_id"]["type_config"]["options"])

    assert "new-site" not in site_choices()  # the grid on screen keeps its lists…
    assert "drop-down lists" in texts(app.info)
    app.button(key="update_choices").click().run()
    assert "new-site" in site_choices()  # …until the user asks for new ones
    assert "drop-down lists" not in texts(app.info)
    frame = app.session_state["tables"].frames["sites"]
    assert (frame.loc[row, "rooms"], frame.loc[row, "capacity"]) == ("2", "3")


# --------------------------------------------------------------------------- refresh and queue


def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Poll ``condition()`` until it is true; fail with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def start_solving(at: AppTest, shipped: str | None = None, seconds: int = 300) -> None:
    """Open a shipped scenario (when given) and press Solve with one thread."""
    if shipped is not None:
        at.selectbox(key="shipped_choice").set_value(shipped).run()
        at.button(key="open_shipped").click().run()
    go(at, "Solve")
    at.slider(key="time_limit").set_value(seconds).run()
    at.number_input(key="workers").set_value(1).run()
    at.button(key="solve").click().run()
    assert not at.exception, at.exception


def test_the_address_carries_the_version_open_and_a_refresh_reopens_it(
        app: AppTest, db_url: str) -> None:
    """Issue 12 A7: ``?scenario=ID&version=N`` names the version open in the editor, and
    a refresh reopens exactly that version, never silently the latest."""
    row = row_of(app, "sites", "sher-oak-tree")
    edit(app, "sites", {"edited_rows": {row: {"rooms": "1"}}})
    scenario = app.session_state["scenario_id"]
    assert address(app) == {"scenario": str(scenario), "version": "2"}
    go(app, "History")
    app.selectbox(key="hist_version").set_value(1).run()
    app.button(key="hist_open_version").click().run()
    assert address(app) == {"scenario": str(scenario), "version": "1"}
    again = refreshed(app)
    assert again.session_state["source"].endswith(" v1")
    assert again.session_state["version_id"] == Store(db_url).versions(scenario)[-1].id
    frame = again.session_state["tables"].frames["sites"]
    assert frame.loc[frame["id"] == "sher-oak-tree", "rooms"].item() == "3"  # v1, not v2
    assert address(again) == {"scenario": str(scenario), "version": "1"}


def test_a_refresh_during_a_solve_finds_it_and_its_result(app: AppTest, db_url: str) -> None:
    """Issue 12 A7: a solve is recorded as RUNNING when it starts; after a refresh the new
    page shows its progress and Cancel, and when it ends the result is stored against
    that run and its temporary plan folder is gone."""
    start_solving(app, "medium")
    store = Store(db_url)
    scenario = app.session_state["scenario_id"]
    wait_until(lambda: [r.status for r in store.runs(scenario_id=scenario)] == ["RUNNING"],
               30, "the solve was not recorded as RUNNING")
    run = store.runs(scenario_id=scenario)[0]
    page = refreshed(app)  # the browser's refresh: a new session, the same address
    go(page, "Solve")
    job = jobs.solves().get(run.id)
    assert job is not None and page.session_state["job_run_id"] == run.id
    assert "Solving" in page.get("progress")[0].proto.text
    wait_until(lambda: job.poll().objective is not None, 60, "no plan found to keep")
    page.run()
    page.button(key="cancel").click().run()  # Cancel works from the refreshed page
    assert job.wait(120)
    page.run()
    assert not page.exception, page.exception
    assert page.session_state["page"] == "Results" and page.session_state["run_id"] == run.id
    assert "Stopped by Cancel" in texts(page.warning)
    stored = store.run(run.id)
    assert stored.status in ("FEASIBLE", "OPTIMAL") and stored.has_plan
    assert [r.id for r in store.runs(scenario_id=scenario)] == [run.id]  # one run, completed
    assert not job.out_dir.exists()  # the temporary plan folder is removed
    app.run()  # the page that started it finds the result too
    assert app.session_state["run_id"] == run.id and app.session_state["job_run_id"] is None


def live(at: AppTest) -> SolveJob:
    """The session's live solve (it must have one)."""
    job = solving(at)
    assert job is not None, "the session has no live solve"
    return job


def test_solves_wait_in_line_beyond_the_servers_limit_and_can_be_cancelled(
        app: AppTest, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 finding 8: with ``ROTAPLAN_MAX_SOLVES=1`` a second and third solve wait in
    line with their place shown; one cancelled in line ends without solving; the next
    starts when the running one ends."""
    monkeypatch.setenv("ROTAPLAN_MAX_SOLVES", "1")
    monkeypatch.setattr(jobs, "_registry", SolveRegistry())
    try:
        assert jobs.solves().slots.limit == 1
        start_solving(app, "medium")  # A: running
        wait_until(lambda: not live(app).waiting, 30, "A did not start")
        second, third = (AppTest.from_file(APP, default_timeout=120) for _ in range(2))
        for at in (second, third):
            at.run()
            start_solving(at, seconds=60)  # the demo, each in its own session
        assert live(second).position == 1 and live(third).position == 2
        assert "number 1 in line" in texts(second.info)
        assert "number 2 in line" in texts(third.info)
        store = Store(db_url)
        third_run = third.session_state["job_run_id"]
        assert store.run(third_run).status == "QUEUED"
        third.button(key="cancel").click().run()  # leave the line
        wait_until(lambda: jobs.solves().get(third_run) is None, 10, "C did not leave the line")
        third.run()
        assert store.run(third_run).status == "CANCELLED"
        assert "cancelled while it waited" in texts(third.info)
        assert live(second).position == 1
        live(app).cancel()  # A ends: B starts
        wait_until(lambda: solving(second) is None, 120, "B did not run after A")
        second.run()
        assert not second.exception, second.exception
        assert second.session_state["page"] == "Results"
        assert metrics(second)["Placed"] == "30/30"
    finally:
        jobs.solves().cancel_all(wait=60)  # never leave a solver thread behind


# --------------------------------------------------------------------------- user text


PAYLOAD = ('![pixel](http://127.0.0.1:9/pixel.png) <img src="http://127.0.0.1:9/tag.png"> '
           '[link](http://127.0.0.1:9/) **bold** :red[red]')
"""A name that renders as an image, an HTML image, a link and styling if read as Markdown."""

MARKDOWN_KINDS = {"markdown", "caption", "divider", "latex", "error", "warning", "info",
                  "success", "toast", "header", "subheader", "title"}
"""AppTest element types whose text Streamlit renders as Markdown."""


def rendered(at: AppTest) -> list[tuple[str, str]]:
    """Every Markdown text on the page (bodies, labels and help) with its HTML from a
    CommonMark renderer that lets HTML through (so anything unescaped shows)."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": True})
    out = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        sources = [getattr(proto, name, "") for name in ("label", "help")]
        if getattr(node, "type", None) in MARKDOWN_KINDS:
            sources.append(getattr(proto, "body", ""))
        out += [(text, renderer.render(text)) for text in sources
                if isinstance(text, str) and text]
    return out


def assert_shown_as_text(at: AppTest) -> None:
    """No Markdown text on the page becomes an image, a link, HTML, bold or colour."""
    for source, html in rendered(at):
        assert "<img" not in html and "<a " not in html, html
        assert "<strong>bold</strong>" not in html, html
        assert re.search(r"(?<!\\):red\[red", source) is None, source  # Streamlit's colours
        # GitHub-style bare links, matched as remark-gfm does, on the text as read
        text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", source)
        assert re.search(r"(?i)(https?://|www\.)|[\w.+-]@[\w-]+\.\w", text) is None, source


def test_names_with_markdown_and_html_are_shown_as_text(app: AppTest) -> None:
    """Issue 13 finding 11: a programme, site, learner and file name holding Markdown
    image and link syntax and HTML is shown as that text on every page, never as an
    image or a link (nothing is fetched when the page is viewed)."""
    import yaml

    doc = yaml.safe_load((ROOT / "instances" / "demo.yaml").read_text(encoding="utf-8"))
    doc["programme"]["name"] = PAYLOAD
    doc["sites"][0]["name"] = PAYLOAD
    doc["learners"][0]["name"] = PAYLOAD
    data = yaml.safe_dump(doc, sort_keys=False).encode()
    app.file_uploader(key="upload").upload("![file](x.png).yaml", data, "application/x-yaml")
    app.run()
    assert not app.exception, app.exception
    assert "Ready to solve" in texts(app.success)
    assert PAYLOAD in texts(app.success)  # the reader sees the name as typed
    assert_shown_as_text(app)
    row = row_of(app, "learners", "L002")
    edit(app, "learners", {"edited_rows": {row: {"name": PAYLOAD,
                                                 "preferences": "![p](http://127.0.0.1:9/q.png)"}}})
    assert "unknown site or setting '![p](http://127.0.0.1:9/q.png)'" in texts(app.error)
    assert PAYLOAD in texts(app.toast)
    assert_shown_as_text(app)
    edit(app, "learners", {"edited_rows": {row: {"preferences": ""}}})
    solve(app)
    assert "Placed" in metrics(app)
    assert_shown_as_text(app)
    assert "![file](x.png)" in texts(app.caption)  # the run's scenario name, as text
    for page in ("Solve", "History", "Why no plan?", "Capacity", "Scenario"):
        go(app, page)
        assert_shown_as_text(app)
    assert "![file](x.png)" in texts(app.sidebar.markdown)
def test_two_sessions_editing_one_draft_keep_both_edits(app: AppTest, db_url: str) -> None:
    """Two browser sessions on the same saved scenario edit its draft in turn: neither
    edit overwrites the other (the later one becomes a new version, and its session is
    told so), where before the later session's draft silently replaced the first's."""
    first = row_of(app, "learners", app.session_state["tables"].frames["learners"]["id"][0])
    edit(app, "learners", {"edited_rows": {first: {"name": "Draft Start"}}})
    scenario_id = app.session_state["scenario_id"]
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session
    other.query_params["scenario"] = str(scenario_id)
    other.run()
    assert other.session_state["version_id"] == app.session_state["version_id"]
    edit(app, "learners", {"edited_rows": {first: {"name": "Alice Edit"}}})
    edit(other, "learners", {"edited_rows": {first + 1: {"name": "Bob Edit"}}})
    texts = [v.yaml_text for v in Store(db_url).versions(scenario_id)]
    assert any("Alice Edit" in t for t in texts), "the first session's edit was lost"
    assert any("Bob Edit" in t for t in texts), "the second session's edit was lost"
    assert "another session" in texts_of_notice(other)


def texts_of_notice(at: AppTest) -> str:
    """The info messages on the page (where notices are shown)."""
    return texts(at.info)
