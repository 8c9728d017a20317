"""``rotaplan.runs.store``: scenarios, versions and runs persisted with SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rotaplan.runs.store import ENV_VAR, Store, default_url

TEXT_A = "programme:\n  name: A\n"
TEXT_B = "programme:\n  name: B\n"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file URL in a fresh temporary folder."""
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def store(url: str) -> Store:
    """A store on a fresh database."""
    return Store(url)


def run_kwargs(**extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``record_run`` with plausible values."""
    base: dict[str, Any] = {
        "status": "OPTIMAL",
        "objective": 12.0,
        "bound": 12.0,
        "seconds": 0.5,
        "options": {"time_limit": 30},
        "summary": {"status": "OPTIMAL"},
    }
    base.update(extra)
    return base


def test_create_lists_scenario_with_one_version(store: Store) -> None:
    """A new scenario is listed with one version, its text and note."""
    v = store.create_scenario("demo", TEXT_A, note="uploaded demo.yaml")
    assert (v.number, v.note, v.yaml_text, v.runs) == (1, "uploaded demo.yaml", TEXT_A, 0)
    [info] = store.list_scenarios()
    assert (info.id, info.name, info.versions, info.runs) == (v.scenario_id, "demo", 1, 0)
    assert info.latest_version_id == v.id
    assert store.latest_version(info.id) == v


def test_save_dedups_identical_text_and_bumps_on_change(store: Store) -> None:
    """Saving the latest text again stores nothing; new text is the next version and
    moves the scenario to the top."""
    first = store.create_scenario("first", TEXT_A)
    other = store.create_scenario("second", TEXT_A)
    before = {s.id: s for s in store.list_scenarios()}
    assert [s.id for s in store.list_scenarios()] == [other.scenario_id, first.scenario_id]

    same = store.save_version(first.scenario_id, TEXT_A)
    assert same == first
    assert store.list_scenarios()[0].id == other.scenario_id  # unchanged: no bump

    v2 = store.save_version(first.scenario_id, TEXT_B, note="edited rooms")
    assert (v2.number, v2.note, v2.yaml_text) == (2, "edited rooms", TEXT_B)
    after = store.list_scenarios()
    assert [s.id for s in after] == [first.scenario_id, other.scenario_id]
    assert after[0].updated_at > before[first.scenario_id].updated_at
    assert after[0].versions == 2 and after[0].latest_version_id == v2.id
    assert [v.number for v in store.versions(first.scenario_id)] == [2, 1]
    assert store.latest_version(first.scenario_id) == v2
    assert store.version(first.id).yaml_text == TEXT_A


def test_rename_and_duplicate(store: Store) -> None:
    """Renaming keeps the versions; a copy starts at version 1 with the latest text and
    says where it came from."""
    v1 = store.create_scenario("demo", TEXT_A)
    store.save_version(v1.scenario_id, TEXT_B)
    store.rename(v1.scenario_id, "demo 2026")
    copy = store.duplicate(v1.scenario_id)
    assert copy.scenario_id != v1.scenario_id
    assert (copy.number, copy.yaml_text, copy.note) == (1, TEXT_B, "copied from demo 2026 v2")
    names = [s.name for s in store.list_scenarios()]
    assert names == ["demo 2026 (copy)", "demo 2026"]
    named = store.duplicate(v1.scenario_id, name="variant")
    assert store.list_scenarios()[0].name == "variant" and named.number == 1


def test_runs_newest_first_with_version_numbers(store: Store) -> None:
    """Runs list newest first with the number of the version each solved, per scenario
    or version."""
    v1 = store.create_scenario("demo", TEXT_A)
    v2 = store.save_version(v1.scenario_id, TEXT_B)
    other = store.create_scenario("other", TEXT_A)
    r1 = store.record_run(v1.id, **run_kwargs(status="FEASIBLE", objective=20.0, bound=10.0))
    r2 = store.record_run(v2.id, **run_kwargs())
    store.record_run(other.id, **run_kwargs(status="INFEASIBLE", objective=None, bound=None))

    runs = store.runs(v1.scenario_id)
    assert [r.id for r in runs] == [r2.id, r1.id]
    assert [(r.version_number, r.status) for r in runs] == [(2, "OPTIMAL"), (1, "FEASIBLE")]
    assert {r.scenario_name for r in runs} == {"demo"}
    assert [r.id for r in store.runs(version_id=v1.id)] == [r1.id]
    assert len(store.runs()) == 3
    assert store.runs(other.scenario_id)[0].objective is None
    assert store.run(r1.id) == r1
    assert store.version(v2.id).runs == 1
    assert store.list_scenarios()[1].runs == 2


def test_json_fields_and_text_round_trip(store: Store) -> None:
    """Options, summary, plan tables, explanation and message read back as stored, from
    a new store."""
    v = store.create_scenario("demo", TEXT_A)
    options = {"time_limit": 30.5, "fairness": True, "workers": [1, 2], "seed": None}
    summary = {"status": "OPTIMAL", "kpis": {"coverage": 0.97, "learners": 12}, "notes": ["é"]}
    r = store.record_run(
        v.id,
        **run_kwargs(options=options, summary=summary),
        assignments_csv="learner,site\nL1,S1\n",
        timetable_csv="week,site\n1,S1\n",
        explanation="all hard constraints met",
        message="solved",
    )
    got = Store(store.url).run(r.id)
    assert got.options == options and got.summary == summary
    plan = Store(store.url).run_plan(r.id)
    assert got.has_plan and plan is not None
    assert plan.assignments_csv == "learner,site\nL1,S1\n"
    assert plan.timetable_csv == "week,site\n1,S1\n"
    assert (got.explanation, got.message) == ("all hard constraints met", "solved")


def test_delete_removes_versions_and_runs(store: Store) -> None:
    """Deleting a scenario removes its versions and runs and leaves other scenarios'
    alone."""
    v1 = store.create_scenario("demo", TEXT_A)
    v2 = store.save_version(v1.scenario_id, TEXT_B)
    keep = store.create_scenario("keep", TEXT_A)
    r = store.record_run(v2.id, **run_kwargs())
    store.record_run(keep.id, **run_kwargs())

    store.delete_scenario(v1.scenario_id)
    assert [s.id for s in store.list_scenarios()] == [keep.scenario_id]
    assert store.runs(v1.scenario_id) == []
    assert len(store.runs()) == 1
    for vid in (v1.id, v2.id):
        with pytest.raises(KeyError, match=f"no scenario version with id {vid}"):
            store.version(vid)
    with pytest.raises(KeyError, match="no run with id"):
        store.run(r.id)
    with pytest.raises(KeyError, match=f"no scenario with id {v1.scenario_id}"):
        store.versions(v1.scenario_id)


def test_missing_ids_raise_key_error(store: Store) -> None:
    """Every call with an id that does not exist raises KeyError."""
    with pytest.raises(KeyError, match="no scenario with id 7"):
        store.save_version(7, TEXT_A)
    for call in (store.latest_version, store.duplicate, store.delete_scenario):
        with pytest.raises(KeyError):
            call(7)
    with pytest.raises(KeyError):
        store.rename(7, "x")
    with pytest.raises(KeyError):
        store.record_run(7, **run_kwargs())


def test_data_survives_a_new_store(url: str) -> None:
    """What one store saved, a new store on the same URL reads back."""
    first = Store(url)
    v = first.create_scenario("demo", TEXT_A)
    r = first.record_run(v.id, **run_kwargs())
    first.close()

    again = Store(url)
    assert [s.name for s in again.list_scenarios()] == ["demo"]
    assert again.latest_version(v.scenario_id).yaml_text == TEXT_A
    assert again.runs(v.scenario_id) == [r]


def test_timestamps_are_aware_utc(store: Store) -> None:
    """Every timestamp comes back timezone-aware UTC, SQLite or not."""
    start = datetime.now(UTC)
    v = store.create_scenario("demo", TEXT_A)
    r = store.record_run(v.id, **run_kwargs())
    [info] = store.list_scenarios()
    fresh = [store.version(v.id).created_at, store.run(r.id).created_at]
    for ts in [v.created_at, r.created_at, info.created_at, info.updated_at, *fresh]:
        assert ts.tzinfo is not None and ts.utcoffset() is not None
        assert ts.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert ts >= start


def test_env_var_and_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ROTAPLAN_DB_URL`` names the database; without it the default file is under
    ``~/.rotaplan``."""
    env_url = f"sqlite:///{tmp_path}/env/from_env.db"
    monkeypatch.setenv(ENV_VAR, env_url)
    assert default_url() == env_url
    store = Store()
    store.create_scenario("demo", TEXT_A)
    assert (tmp_path / "env" / "from_env.db").is_file()
    assert store.url == env_url

    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_url() == f"sqlite:///{tmp_path}/home/.rotaplan/rotaplan.db"
    assert (tmp_path / "home" / ".rotaplan").is_dir()


def test_save_draft_folds_edits_until_a_run_pins_the_version(tmp_path: Path) -> None:
    """Draft edits fold into one version until a run pins it; then edits make a new one."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    v1 = store.create_scenario("demo", "a: 1\n", note="opened demo.yaml")
    d1 = store.save_draft(v1.scenario_id, "a: 2\n")
    d2 = store.save_draft(v1.scenario_id, "a: 3\n")
    assert (d1.id, d1.number) == (d2.id, 2) and d2.yaml_text == "a: 3\n"
    store.record_run(d2.id, status="OPTIMAL", objective=1.0, bound=1.0, seconds=0.1,
                     options={}, summary={})
    d3 = store.save_draft(v1.scenario_id, "a: 4\n")
    assert d3.number == 3  # the solved version is kept as it was
    assert store.version(d2.id).yaml_text == "a: 3\n"
    assert [v.number for v in store.versions(v1.scenario_id)] == [3, 2, 1]


def test_save_draft_folds_only_into_the_version_open_in_the_editor(tmp_path: Path) -> None:
    """Edits fold only into the version open in the editor, never into a newer draft or
    one being solved."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    v1 = store.create_scenario("demo", "a: 1\n", note="opened demo.yaml")
    v2 = store.save_draft(v1.scenario_id, "a: 2\n", fold_into=v1.id)
    assert v2.number == 2
    # v1 reopened and edited: v2 (a newer draft) must not be overwritten
    v3 = store.save_draft(v1.scenario_id, "a: 3\n", fold_into=v1.id)
    assert v3.number == 3 and store.version(v2.id).yaml_text == "a: 2\n"
    # the open draft folds; a version being solved (fold_into=-1) never does
    assert store.save_draft(v1.scenario_id, "a: 4\n", fold_into=v3.id).id == v3.id
    v5 = store.save_draft(v1.scenario_id, "a: 5\n", fold_into=-1)
    assert v5.number == 4 and store.version(v3.id).yaml_text == "a: 4\n"
