"""``rotaplan.runs.store`` under load and over time: nothing lost, nothing exposed.

Concurrent writers (threads in one server, several processes), two sessions
editing one draft, a database made by the previous release, plans kept
compactly and loaded only when asked for, a retention limit, and a SQLite file
that only its owner can read.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rotaplan.runs.store import Store

WRITERS = 8
SAVES_EACH = 125  # 8 x 125 = 1,000 saves, the bar for "loses nothing"
PROCESSES = 4
PROCESS_SAVES_EACH = 250  # 4 x 250 = 1,000 saves from separate processes

# The schema the previous release created (its ``create_all`` on SQLite, verbatim).
PREVIOUS_SCHEMA = """
CREATE TABLE scenarios (
    id INTEGER NOT NULL, name VARCHAR(200) NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
    PRIMARY KEY (id));
CREATE TABLE scenario_versions (
    id INTEGER NOT NULL, scenario_id INTEGER NOT NULL, number INTEGER NOT NULL,
    yaml_text TEXT NOT NULL, note VARCHAR(500) NOT NULL, created_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (scenario_id, number),
    FOREIGN KEY(scenario_id) REFERENCES scenarios (id) ON DELETE CASCADE);
CREATE INDEX ix_scenario_versions_scenario_id ON scenario_versions (scenario_id);
CREATE TABLE runs (
    id INTEGER NOT NULL, version_id INTEGER NOT NULL, created_at DATETIME NOT NULL,
    status VARCHAR(32) NOT NULL, objective FLOAT, bound FLOAT, seconds FLOAT NOT NULL,
    options JSON NOT NULL, summary JSON NOT NULL, assignments_csv TEXT,
    timetable_csv TEXT, explanation TEXT, message TEXT,
    PRIMARY KEY (id),
    FOREIGN KEY(version_id) REFERENCES scenario_versions (id) ON DELETE CASCADE);
CREATE INDEX ix_runs_version_id ON runs (version_id);
INSERT INTO scenarios VALUES (1, 'north', '2025-01-01 09:00:00.000000',
                              '2025-01-02 09:00:00.000000');
INSERT INTO scenario_versions VALUES (1, 1, 1, 'a: 1', 'created', '2025-01-01 09:00:00.000000');
INSERT INTO scenario_versions VALUES (2, 1, 2, 'a: 2', 'edited', '2025-01-02 09:00:00.000000');
INSERT INTO runs VALUES (1, 2, '2025-01-02 10:00:00.000000', 'OPTIMAL', 5.0, 5.0, 1.5,
                         '{"time_limit": 30}', '{"status": "OPTIMAL"}',
                         'learner,block,site
L1,1,S1
', 'block,site
1,S1
', NULL, NULL);
"""


POSTGRES_ENV = "ROTAPLAN_TEST_POSTGRES_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1/t


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, and PostgreSQL when ``ROTAPLAN_TEST_POSTGRES_URL``
    names a server (its public schema is emptied first)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/t.db"
        return
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"set {POSTGRES_ENV} to run this against PostgreSQL")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    yield url


def run_kwargs(**extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``record_run`` with plausible values."""
    return {"status": "OPTIMAL", "objective": 1.0, "bound": 1.0, "seconds": 0.1,
            "options": {}, "summary": {}} | extra


def big_csv(rows: int, seed: int = 0) -> str:
    """A plan-like CSV of ``rows`` learners over 4 blocks (repetitive, as real plans are)."""
    lines = ["learner,block,site,profession,supervisor"]
    for i in range(rows):
        for block in range(1, 5):
            lines.append(f"L{i:05d},{block},site-{(i * 7 + block + seed) % 90:03d},"
                         f"nurse,sup-{(i + block) % 300:04d}")
    return "\n".join(lines) + "\n"


def in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` for each of ``count`` threads started together; return their errors."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def save_many(url: str, scenario_id: int, writer: int, count: int) -> int:
    """Save ``count`` distinct versions from a fresh store (a process's own); return errors."""
    store = Store(url)
    failed = 0
    for i in range(count):
        try:
            store.save_version(scenario_id, f"writer: {writer}\nsave: {i}\n")
        except Exception:
            failed += 1
    store.close()
    return failed


def assert_every_save_kept(store: Store, scenario_id: int, writers: int, each: int) -> None:
    """Every writer's every text is one version, numbered 1..n without gaps."""
    versions = store.versions(scenario_id)
    texts = {v.yaml_text for v in versions}
    missing = [(w, i) for w in range(writers) for i in range(each)
               if f"writer: {w}\nsave: {i}\n" not in texts]
    assert missing == [], f"{len(missing)} saves lost"
    assert sorted(v.number for v in versions) == list(range(1, writers * each + 2))


def test_threads_in_one_server_lose_nothing_in_1000_saves(db_url: str) -> None:
    """1,000 saves of distinct texts from 8 threads sharing one store all succeed and
    are all kept, numbered 1..1001 (before: IntegrityError on the version number)."""
    store = Store(db_url)
    first = store.create_scenario("shared", "start: 0\n")

    def work(writer: int) -> None:
        for i in range(SAVES_EACH):
            store.save_version(first.scenario_id, f"writer: {writer}\nsave: {i}\n")

    errors = in_threads(WRITERS, work)
    assert errors == [], f"{len(errors)} writers failed, first: {errors[:1]}"
    assert_every_save_kept(store, first.scenario_id, WRITERS, SAVES_EACH)


def test_processes_lose_nothing_in_1000_saves(db_url: str) -> None:
    """1,000 saves from 4 processes, each with its own store on one database, all
    succeed and are all kept (before: IntegrityError and 'database is locked')."""
    url = db_url
    first = Store(url).create_scenario("shared", "start: 0\n")
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        failed = pool.starmap(save_many, [(url, first.scenario_id, w, PROCESS_SAVES_EACH)
                                          for w in range(PROCESSES)])
    assert failed == [0] * PROCESSES
    assert_every_save_kept(Store(url), first.scenario_id, PROCESSES, PROCESS_SAVES_EACH)


def test_draft_edits_from_two_sessions_are_both_kept(tmp_path: Path) -> None:
    """Two sessions editing the same open draft: the second writer's edit is stored as
    a new version beside the first's (never over it), and it is told so."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    v1 = store.create_scenario("demo", "a: 1\n", note="opened demo.yaml")
    draft = store.save_draft(v1.scenario_id, "a: 2\n", fold_into=v1.id)
    # both sessions now have the draft open at the same revision
    mine = store.save_draft(v1.scenario_id, "a: 3\n", fold_into=draft.id,
                            revision=draft.revision)
    assert mine.id == draft.id and mine.conflict_with is None  # folded as before
    theirs = store.save_draft(v1.scenario_id, "b: 9\n", fold_into=draft.id,
                              revision=draft.revision)
    assert theirs.id != draft.id and theirs.conflict_with == draft.number
    texts = [v.yaml_text for v in store.versions(v1.scenario_id)]
    assert "a: 3\n" in texts and "b: 9\n" in texts
    # my next edit folds into my draft again: it is my revision that counts
    again = store.save_draft(v1.scenario_id, "a: 4\n", fold_into=mine.id,
                             revision=mine.revision)
    assert store.version(theirs.id).yaml_text == "b: 9\n"
    assert again.id != theirs.id


def test_concurrent_draft_folds_lose_no_edit(db_url: str) -> None:
    """Sessions folding edits into one draft at once, each with the revision it last
    saw: every session's last edit survives in some version."""
    store = Store(db_url)
    v1 = store.create_scenario("demo", "a: 0\n", note="opened")
    draft = store.save_draft(v1.scenario_id, "a: 1\n", fold_into=v1.id)
    last: dict[int, str] = {}

    def work(session: int) -> None:
        version_id, revision = draft.id, draft.revision
        for i in range(40):
            text = f"session: {session}\nedit: {i}\n"
            saved = store.save_draft(v1.scenario_id, text, fold_into=version_id,
                                     revision=revision)
            version_id, revision = saved.id, saved.revision
            last[session] = text

    assert in_threads(4, work) == []
    texts = {v.yaml_text for v in store.versions(v1.scenario_id)}
    assert set(last.values()) <= texts


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    """A SQLite store runs in WAL mode (readers never block the writer) and waits for
    a lock rather than failing at once."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    store.create_scenario("demo", "a: 1\n")
    with sqlite3.connect(tmp_path / "t.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.pragma("busy_timeout") >= 5000
    assert store.pragma("foreign_keys") == 1


def test_sqlite_file_and_folder_are_owner_only(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite file (and its WAL) is created 0600 and a folder made for it 0700,
    whatever the umask; an existing, wider file is narrowed."""
    monkeypatch.setattr("os.umask", lambda _: 0o022)  # (documents the usual umask)
    folder = tmp_path / "made" / "here"
    Store(f"sqlite:///{folder}/t.db").create_scenario("demo", "a: 1\n")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("t.db", "t.db-wal"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    wide = tmp_path / "wide.db"
    wide.touch(mode=0o644)
    wide.chmod(0o644)
    Store(f"sqlite:///{wide}")
    assert stat.S_IMODE(wide.stat().st_mode) == 0o600


def test_default_folder_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~/.rotaplan`` is created 0700 and narrowed to 0700 when it exists wider."""
    from rotaplan.runs.store import ENV_VAR, default_url

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".rotaplan").mkdir(mode=0o755)
    (tmp_path / ".rotaplan").chmod(0o755)
    default_url()
    assert stat.S_IMODE((tmp_path / ".rotaplan").stat().st_mode) == 0o700


def test_previous_schema_is_upgraded_with_its_data(tmp_path: Path) -> None:
    """A database made by the previous release opens: its scenarios, versions and runs
    (with their plans) are kept, and new runs can be recorded (before: record_run
    crashed on the older schema)."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(PREVIOUS_SCHEMA)
    store = Store(f"sqlite:///{path}")
    [info] = store.list_scenarios()
    assert (info.name, info.versions, info.runs) == ("north", 2, 1)
    [old] = store.runs(info.id)
    assert old.has_plan and old.options == {"time_limit": 30}
    plan = store.run_plan(old.id)
    assert plan is not None and plan.assignments_csv == "learner,block,site\nL1,1,S1\n"
    v3 = store.save_version(info.id, "a: 3")
    assert v3.number == 3
    new = store.record_run(v3.id, **run_kwargs(), assignments_csv="x\n", timetable_csv="y\n")
    assert [r.id for r in store.runs(info.id)] == [new.id, old.id]
    store.delete_scenario(info.id)  # cascades still reach the plans after the upgrade
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM run_plans").fetchone()[0] == 0


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    """The Alembic migrations and the ORM models describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from rotaplan.runs.store import metadata

    url = f"sqlite:///{tmp_path}/t.db"
    Store(url).close()
    with create_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_listing_runs_leaves_plans_in_the_database(tmp_path: Path) -> None:
    """Run listings carry no plan tables; a plan is read when asked for, and it is
    stored compressed (a 2,000-learner plan takes under a fifth of its CSV size)."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    v = store.create_scenario("big", "a: 1\n")
    assignments, timetable = big_csv(2000), big_csv(500, seed=3)
    run = store.record_run(v.id, **run_kwargs(), assignments_csv=assignments,
                           timetable_csv=timetable)
    [listed] = store.runs(v.scenario_id)
    assert listed.has_plan and not hasattr(listed, "assignments_csv")
    plan = store.run_plan(run.id)
    assert plan is not None
    assert (plan.assignments_csv, plan.timetable_csv) == (assignments, timetable)
    with sqlite3.connect(tmp_path / "t.db") as db:
        stored = db.execute("SELECT length(assignments) + length(timetable) "
                            "FROM run_plans").fetchone()[0]
    assert stored < (len(assignments) + len(timetable)) / 5


def test_retention_keeps_the_newest_plans_per_scenario(tmp_path: Path) -> None:
    """With ``keep_plans=2`` only each scenario's two newest plans are kept; older
    runs keep their status and summary, and a run without a plan says so."""
    store = Store(f"sqlite:///{tmp_path}/t.db", keep_plans=2)
    a = store.create_scenario("a", "a: 1\n")
    b = store.create_scenario("b", "b: 1\n")
    other = store.record_run(b.id, **run_kwargs(), assignments_csv="x\n", timetable_csv="y\n")
    runs = [store.record_run(a.id, **run_kwargs(summary={"n": i}), assignments_csv="x\n",
                             timetable_csv="y\n") for i in range(4)]
    kept = {r.id: r.has_plan for r in store.runs(a.scenario_id)}
    assert kept == {runs[3].id: True, runs[2].id: True, runs[1].id: False, runs[0].id: False}
    assert store.run(runs[0].id).summary == {"n": 0}
    assert store.run_plan(runs[0].id) is None
    assert store.run(other.id).has_plan


def test_keep_plans_setting_from_the_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``ROTAPLAN_KEEP_PLANS`` sets the retention; 'all' keeps every plan; a bad value
    is an error that names the setting."""
    from rotaplan.runs.store import KEEP_ENV_VAR

    monkeypatch.setenv(KEEP_ENV_VAR, "1")
    assert Store(f"sqlite:///{tmp_path}/a.db").keep_plans == 1
    monkeypatch.setenv(KEEP_ENV_VAR, "all")
    assert Store(f"sqlite:///{tmp_path}/b.db").keep_plans is None
    monkeypatch.setenv(KEEP_ENV_VAR, "lots")
    with pytest.raises(ValueError, match=KEEP_ENV_VAR):
        Store(f"sqlite:///{tmp_path}/c.db")


def test_an_in_memory_database_works() -> None:
    """``sqlite://`` (in memory, for scripts and tests) is migrated and keeps its data
    for the store's life."""
    store = Store("sqlite://")
    v = store.create_scenario("demo", "a: 1\n")
    store.record_run(v.id, **run_kwargs(), assignments_csv="x\n", timetable_csv="y\n")
    assert [(s.name, s.runs) for s in store.list_scenarios()] == [("demo", 1)]
