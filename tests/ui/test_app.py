"""The configurator, page by page, through Streamlit's AppTest (no browser).

Each test gets its own SQLite database (``ROTAPLAN_DB_URL``), so saved
scenarios and runs are isolated. Edits are made as a browser makes them: the
data editor's change set is put in its widget state before a run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rotaplan.runs.store import Store

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "ui" / "app.py")


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for the app under test."""
    url = f"sqlite:///{tmp_path}/ui.db"
    monkeypatch.setenv("ROTAPLAN_DB_URL", url)
    return url


@pytest.fixture
def app(db_url: str) -> Iterator[AppTest]:
    """The app, opened on its first page."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    yield at
    for key in ("job", "cap_job"):
        job = at.session_state.get(key)
        if job is not None:  # never leave a solver thread behind
            job.cancel()
            job.wait(60)


def go(at: AppTest, page: str) -> None:
    """Choose a page in the sidebar."""
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception


def texts(elements: Any) -> str:
    """All the texts of a list of elements, joined."""
    return "\n".join(str(e.value) for e in elements)


def edit(at: AppTest, table: str, changes: dict[str, Any]) -> None:
    """Edit a table as the data editor does, then rerun."""
    key = f"editor-{table}-{at.session_state['gen'][table]}"
    at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []} | changes
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
    while at.session_state["job"] is not None:
        assert time.monotonic() < deadline, "the solve did not finish"
        time.sleep(0.3)
        at.run()
    assert not at.exception, at.exception


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label to value."""
    return {m.label: m.value for m in at.metric}


# --------------------------------------------------------------------------- open


def test_opens_on_the_demo_ready_to_solve(app: AppTest) -> None:
    """The app opens on the demo, ready to solve, with its downloads and every table editable."""
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
    """An uploaded YAML file is opened and saved as a scenario holding its exact text."""
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
    """An uploaded import workbook is opened and saved, noted as imported from its file."""
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
    """A broken, non-mapping, non-UTF-8 or oversized upload is refused in plain words.

    The scenario being edited stays open.
    """
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


# --------------------------------------------------------------------------- edit and validate


def test_a_bad_cell_is_reported_on_its_row_and_fixing_it_clears_it(app: AppTest) -> None:
    """A bad cell is reported on its own row and blocks Solve until it is fixed."""
    row = row_of(app, "learners", "L003")
    edit(app, "learners", {"edited_rows": {row: {"preferences": "nowhere, hun-icu"}}})
    assert "1 problem(s) to fix" in texts(app.error)
    assert "Learners, row 3 (L003), preferences" in texts(app.markdown)
    editor = next(e for e in app.data_editor if e.key.startswith("editor-learners-"))
    problems = list(editor.value["problem"])
    assert "unknown site or setting 'nowhere'" in problems[row]
    assert sum(1 for p in problems if p) == 1  # only the broken row says anything
    go(app, "Solve")
    assert app.button(key="solve").disabled
    go(app, "Scenario")
    edit(app, "learners", {"edited_rows": {row: {"preferences": "hun-icu"}}})
    assert "Ready to solve" in texts(app.success)


def test_programme_field_errors_show_under_the_field(app: AppTest) -> None:
    """An invalid programme field shows its error and keeps the value as typed."""
    gen = app.session_state["gen"]["forms"]
    app.text_input(key=f"prog-blocks-{gen}").set_value("0").run()
    assert not app.exception
    assert "greater than or equal to 1" in texts(app.error)
    assert app.session_state["tables"].programme["blocks"] == "0"


def test_added_and_deleted_rows(app: AppTest) -> None:
    """Adding a learner row counts one more learner; deleting it counts one fewer again."""
    before = len(app.session_state["tables"].frames["learners"])
    edit(app, "learners", {"added_rows": [{"id": "NEW1", "name": "New Nurse",
                                           "profession": "nurse"}]})
    assert len(app.session_state["tables"].frames["learners"]) == before + 1
    assert "31 learners" in texts(app.success)
    edit(app, "learners", {"deleted_rows": [before]})
    assert "30 learners" in texts(app.success)


def test_edits_are_saved_and_survive_a_refresh(app: AppTest, db_url: str) -> None:
    """An edit is saved as a new version, announced, and still there after a refresh."""
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
    """Solving, editing a site's rooms and solving again shows what changed and why.

    The first result is the demo's checked optimum; each run records the version it solved.
    """
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
    changes = texts(app.code)
    assert "sher-oak-tree" in changes and "rooms: 3 → 1" in changes
    assert "Learners whose placements changed" in changes
    runs = Store(db_url).runs(scenario_id=app.session_state["scenario_id"])
    assert [r.version_number for r in runs] == [2, 1]  # which plan came from which version


def test_results_offer_every_download(app: AppTest) -> None:
    """The results offer the plan files, the workbook, a zip and the calendars for download."""
    solve(app)
    labels = {d.label for d in app.download_button}
    assert {"assignments.csv", "timetable.csv", "summary.json", "Excel workbook",
            "Plan as a zip (CSV, summary, scenario)",
            "Calendars (.ics, one per learner and supervisor)"} <= labels


def test_timetable_follows_the_chosen_learner(app: AppTest) -> None:
    """Choosing learner F001 shows their weekly timetable, with Wed-PM as teaching."""
    solve(app)
    app.selectbox(key="learner").set_value("F001").run()
    assert not app.exception
    grid = next(d.value for d in app.dataframe if list(d.value.index)[:1] == ["Block 1"])
    assert "teaching" in set(grid["Wed-PM"])


def test_cancel_stops_the_search_and_keeps_the_best_plan(app: AppTest) -> None:
    """Cancel stops a long solve of the medium scenario and shows its best plan, all placed."""
    app.selectbox(key="shipped_choice").set_value("medium").run()
    app.button(key="open_shipped").click().run()
    go(app, "Solve")
    app.slider(key="time_limit").set_value(300).run()
    app.number_input(key="workers").set_value(1).run()
    app.button(key="solve").click().run()
    job = app.session_state["job"]
    deadline = time.monotonic() + 60
    while job.poll().objective is None:
        assert time.monotonic() < deadline, "no plan found to keep"
        time.sleep(0.2)
    app.run()
    app.button(key="cancel").click().run()
    assert job.wait(120) and job.elapsed < 120
    app.run()
    assert app.session_state["job"] is None
    assert "Stopped by Cancel" in texts(app.warning)
    assert metrics(app)["Placed"] == "80/80"


def test_a_failed_solve_explains_itself_and_keeps_the_scenario(app: AppTest) -> None:
    """An infeasible solve says why there is no plan and leaves the scenario as it was."""
    app.selectbox(key="shipped_choice").set_value("infeasible").run()
    app.button(key="open_shipped").click().run()
    before = app.session_state["tables"].copy()
    solve(app)
    assert "No plan: INFEASIBLE" in texts(app.error)
    assert "conflict" in texts(app.code)
    go(app, "Scenario")
    assert all(app.session_state["tables"].frames[t].equals(before.frames[t])
               for t in before.frames)


# --------------------------------------------------------------------------- insight


def test_why_no_plan_lists_the_conflict_and_checked_fixes(app: AppTest) -> None:
    """"Why no plan?" on the infeasible scenario lists the conflicting rules and single fixes."""
    app.selectbox(key="shipped_choice").set_value("infeasible").run()
    app.button(key="open_shipped").click().run()
    go(app, "Why no plan?")
    app.button(key="why_run").click().run()
    assert not app.exception
    assert "cannot all hold together" in texts(app.markdown)
    conflict = next(d.value for d in app.dataframe if "Rule" in d.value.columns)
    assert len(conflict) >= 2
    assert "Single changes that would make a plan possible" in texts(app.markdown)


def test_why_no_plan_on_a_feasible_scenario(app: AppTest) -> None:
    """"Why no plan?" on the demo says it has a plan and there is nothing to explain."""
    go(app, "Why no plan?")
    app.slider(key="why_seconds").set_value(10).run()
    app.button(key="why_run").click().run()
    assert "has a plan: nothing to explain" in texts(app.success)


def test_capacity_answers_in_plain_words(app: AppTest) -> None:
    """The capacity page answers 3 more physiotherapists in words, with what is full.

    The answer stays on the page through later reruns.
    """
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
    """History duplicates a scenario with its edits, opens the copy, and deletes the original."""
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


def test_solving_the_same_shipped_file_again_keeps_runs_together(app: AppTest,
                                                                  db_url: str) -> None:
    """Two sessions solving the shipped demo add two runs to one saved scenario and version."""
    solve(app)
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session
    other.run()
    solve(other)
    saved = Store(db_url).list_scenarios()
    assert [(s.name, s.versions, s.runs) for s in saved] == [("demo", 1, 2)]


def test_edits_during_a_solve_never_change_the_version_being_solved(app: AppTest,
                                                                    db_url: str) -> None:
    """An edit made while a solve runs never changes the version being solved.

    The run is recorded against that version, and the editor stays open.
    """
    app.selectbox(key="shipped_choice").set_value("medium").run()
    app.button(key="open_shipped").click().run()
    first = row_of(app, "learners", app.session_state["tables"].frames["learners"]["id"][0])
    edit(app, "learners", {"edited_rows": {first: {"name": "Before Solve"}}})
    go(app, "Solve")
    app.slider(key="time_limit").set_value(300).run()
    app.number_input(key="workers").set_value(1).run()
    app.button(key="solve").click().run()
    solved = app.session_state["job_meta"]["version_id"]
    go(app, "Scenario")
    edit(app, "learners", {"edited_rows": {first: {"name": "During Solve"}}})
    job = app.session_state["job"]
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
