"""Persistence for the Streamlit UI: scenarios, their YAML versions and solver runs.

A :class:`Store` wraps one SQLAlchemy engine. Every method runs one short
transaction and returns plain frozen dataclasses (:class:`ScenarioInfo`,
:class:`VersionInfo`, :class:`RunInfo`, :class:`RunPlan`), so callers never hold
ORM objects. The database is SQLite by default (``~/.rotaplan/rotaplan.db``) or
whatever ``ROTAPLAN_DB_URL`` names; only portable column types are used so
PostgreSQL works too.

Nothing written is lost when several sessions, threads or processes write at
once:

- a scenario's next version number comes from a counter on the scenario row,
  read and bumped under that row's lock (``SELECT … FOR UPDATE`` on PostgreSQL;
  on SQLite every write transaction starts with ``BEGIN IMMEDIATE``, which takes
  the database's write lock before reading, so two writers never read the same
  counter). The ``(scenario_id, number)`` unique constraint stays as a backstop;
- a transaction that meets a lock, a serialisation failure or that backstop is
  retried from the start (bounded, with jittered back-off);
- SQLite runs in WAL mode (readers never block the writer) with a busy timeout;
- a draft carries a revision number: an edit based on an older revision than
  the stored one is saved as a new version beside it, never over it.

The schema is managed by Alembic (``rotaplan/runs/migrations``): opening a store
upgrades its database, including one made by the release before migrations.
A run's plan tables are stored compressed in their own table and read only by
:meth:`Store.run_plan`; only each scenario's newest ``keep_plans`` plans are kept
(``ROTAPLAN_KEEP_PLANS``, default 20; ``all`` keeps every one). A SQLite file
holds learners' names, so it and a folder made for it are readable by the owner
only (0600 and 0700).

Every query is made for an :class:`~rotaplan.access.Identity` (the store's
``who``; :meth:`Store.as_user` gives the same database for another person): a
scenario, version or run of a team the caller is not in does not exist for
them (:class:`KeyError`, as for a missing id), and a change their role does not
allow raises :class:`~rotaplan.access.AccessDeniedError`. A store made without an
identity acts for :data:`~rotaplan.access.LOCAL` (local mode, team ``local``).

Missing ids raise :class:`KeyError` with a plain message. Timestamps are
timezone-aware UTC (SQLite hands back naive values; they are normalised).
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import stat
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    exists,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.pool import StaticPool

from rotaplan.access import LOCAL, LOCAL_TEAM, AccessDeniedError, Identity, Role

ENV_VAR = "ROTAPLAN_DB_URL"
KEEP_ENV_VAR = "ROTAPLAN_KEEP_PLANS"
DEFAULT_KEEP_PLANS = 20
BUSY_TIMEOUT_MS = 30_000
MAX_ATTEMPTS = 12
MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock taken while migrating, so two servers starting together
# do not both upgrade (any fixed number; this one spells "rota" on a phone pad).
MIGRATION_LOCK = 7682

__all__ = [
    "DEFAULT_KEEP_PLANS",
    "ENV_VAR",
    "KEEP_ENV_VAR",
    "RunInfo",
    "RunPlan",
    "ScenarioInfo",
    "Store",
    "VersionInfo",
    "default_url",
    "metadata",
]

T = TypeVar("T")


def _now() -> datetime:
    """Return the current time as timezone-aware UTC."""
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values (SQLite) are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _owner_only(path: Path, mode: int) -> None:
    """Narrow ``path`` to ``mode`` when it is ours and readable by others."""
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            path.chmod(mode)


def default_url() -> str:
    """Return the database URL to use when none is given.

    Returns
    -------
    str
        ``ROTAPLAN_DB_URL`` when set and non-empty, else a SQLite file at
        ``~/.rotaplan/rotaplan.db`` (its folder is created, owner-only).
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    folder = Path.home() / ".rotaplan"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _owner_only(folder, 0o700)
    return f"sqlite:///{folder / 'rotaplan.db'}"


def _keep_plans_from_env() -> int | None:
    """The retention set by ``ROTAPLAN_KEEP_PLANS`` (None: keep all)."""
    raw = os.environ.get(KEEP_ENV_VAR, "").strip().lower()
    if not raw:
        return DEFAULT_KEEP_PLANS
    if raw == "all":
        return None
    if raw.isdigit():
        return int(raw)
    raise ValueError(f"{KEEP_ENV_VAR} must be a whole number of plans to keep per "
                     f"scenario, or 'all'; it is {raw!r}")


def _prepare_sqlite_file(database: str) -> None:
    """Create a SQLite file (and any missing folders) readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the database file's permissions,
    so creating the file 0600 before SQLite opens it covers them too.
    """
    path = Path(database).expanduser()
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)  # mkdir's mode is cut by the umask
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        _owner_only(name, 0o600)


# --------------------------------------------------------------------- ORM


metadata = MetaData()


class _Base(DeclarativeBase):
    """Declarative base for the store's tables."""

    metadata = metadata


class _Scenario(_Base):
    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # the number of the newest version ever given out (bumped under the row's lock)
    last_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    owner: Mapped[str] = mapped_column(String(320), server_default=LOCAL.user)
    team: Mapped[str] = mapped_column(String(320), index=True, server_default=LOCAL_TEAM)

    versions: Mapped[list[_Version]] = relationship(
        back_populates="scenario", cascade="all, delete-orphan", passive_deletes=True
    )


class _Version(_Base):
    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # bumped each time a draft's text is replaced (optimistic concurrency on drafts)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    scenario: Mapped[_Scenario] = relationship(back_populates="versions")


class _Run(_Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("scenario_versions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    status: Mapped[str] = mapped_column(String(32))
    objective: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)


class _RunPlan(_Base):
    """A run's plan tables, zlib-compressed UTF-8 CSV (read only when asked for)."""

    __tablename__ = "run_plans"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    assignments: Mapped[bytes] = mapped_column(LargeBinary)
    timetable: Mapped[bytes] = mapped_column(LargeBinary)
    csv_bytes: Mapped[int] = mapped_column(Integer)


def _pack(csv_text: str) -> bytes:
    """Compress a CSV for storage.

    Level 1: a 2,000-learner timetable (3.8 MB) shrinks 11.6x in 0.03 s; level 6
    saves another 15% of bytes but takes 0.19 s (measured on this project's plans).
    """
    return zlib.compress(csv_text.encode("utf-8"), 1)


def _unpack(blob: bytes) -> str:
    """The CSV text of a stored, compressed table."""
    return zlib.decompress(blob).decode("utf-8")


# --------------------------------------------------------------- results


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario with counts of its versions and runs, its owner and team.

    ``role`` is the caller's role in the scenario's team; ``may_delete`` says
    whether they may delete it (team admins, and editors who own it).
    """

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    versions: int
    latest_version_id: int
    runs: int
    owner: str = LOCAL.user
    team: str = LOCAL_TEAM
    role: Role = Role.ADMIN
    may_delete: bool = True


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a scenario's YAML text.

    ``revision`` counts the times a draft's text was replaced; pass it back to
    :meth:`Store.save_draft`. ``conflict_with`` is set only on what
    :meth:`Store.save_draft` returns when another session had changed the draft
    first: it is that draft's number, kept as it was beside this new version.
    """

    id: int
    scenario_id: int
    number: int
    note: str
    created_at: datetime
    yaml_text: str
    runs: int
    revision: int = 1
    conflict_with: int | None = None


@dataclass(frozen=True)
class RunInfo:
    """One solver run of a scenario version (its plan tables: :meth:`Store.run_plan`)."""

    id: int
    version_id: int
    version_number: int
    scenario_id: int
    scenario_name: str
    created_at: datetime
    status: str
    objective: float | None
    bound: float | None
    seconds: float
    options: dict[str, Any]
    summary: dict[str, Any]
    explanation: str | None
    message: str | None
    has_plan: bool


@dataclass(frozen=True)
class RunPlan:
    """A run's plan tables as the CSV text the solve wrote."""

    assignments_csv: str
    timetable_csv: str


# ------------------------------------------------------------------ store


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set up each new SQLite connection.

    The driver's own transaction handling is switched off (``_sqlite_begin``
    issues BEGIN), foreign keys are on (cascades need them), a locked database
    is waited for, and the journal is a write-ahead log, so readers never block
    the writer. ``synchronous=NORMAL`` is the documented safe pairing with WAL
    (a power cut may lose the last commits, never corrupt the file).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Start a SQLite transaction: IMMEDIATE (write lock first) for writers.

    A deferred transaction that reads and then writes cannot wait for the lock
    (SQLite fails it at once with 'database is locked' to avoid a deadlock);
    taking the lock at BEGIN makes the busy timeout apply and serialises the
    read-then-write of a version number.
    """
    write = conn.get_execution_options().get("rotaplan_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _transient(exc: DBAPIError) -> bool:
    """True for a failure that a fresh attempt of the same transaction may avoid."""
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    if isinstance(exc, IntegrityError):  # another writer took the same version number
        return "scenario_versions" in message and ("unique" in message
                                                   or "duplicate" in message)
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in {"40001", "40P01", "55P03"}:  # serialisation, deadlock, lock not available
        return True
    return "database is locked" in message or "database table is locked" in message \
        or "database is busy" in message


def _migrate(engine: Engine) -> None:
    """Bring the database to the newest schema with Alembic (a no-op when it is).

    A database made before migrations existed (tables, no ``alembic_version``) is
    stamped as the first revision, then upgraded. The upgrade runs in one
    transaction under the database's write lock (SQLite) or an advisory lock
    (PostgreSQL), so concurrent starters wait and then find nothing to do.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    # Rebuilding a table must not cascade, so foreign keys are off while migrating (the
    # PRAGMA works outside a transaction only), and that connection is then dropped. Not
    # for an in-memory database: its one connection is the database.
    sqlite = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
    with engine.connect() as conn:
        if sqlite:
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.execution_options(rotaplan_write=True).begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                config.attributes["connection"] = conn
                current = MigrationContext.configure(conn).get_current_revision()
                if current is None and inspect(conn).has_table("scenarios"):
                    command.stamp(config, "0001")
                command.upgrade(config, "head")
        finally:
            if sqlite:
                conn.invalidate()  # never hand a connection without foreign keys back


class _FromEnv:
    """Marks a setting read from the environment when the store is made."""


_FROM_ENV = _FromEnv()


class Store:
    """Scenarios, versions and runs in one SQL database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy database URL; defaults to :func:`default_url`. The schema is
        created or upgraded (Alembic) if needed.
    keep_plans : int or None, optional
        Plans (plan tables) kept per scenario, newest first; older runs keep
        their status, figures and summary. Defaults to ``ROTAPLAN_KEEP_PLANS``
        (``all``: None, keep every plan), else 20.
    who : Identity, optional
        The person every query is made for; defaults to local mode's one user.
    """

    def __init__(self, url: str | None = None, *,
                 keep_plans: int | _FromEnv | None = _FROM_ENV, who: Identity = LOCAL) -> None:
        sa_url: URL = make_url(url or default_url())
        self.keep_plans: int | None = (_keep_plans_from_env()
                                       if isinstance(keep_plans, _FromEnv) else keep_plans)
        kwargs: dict[str, Any] = {}
        is_sqlite = sa_url.get_backend_name() == "sqlite"
        if is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False,
                                      "timeout": BUSY_TIMEOUT_MS / 1000}
            db = sa_url.database
            if db and db != ":memory:" and not db.startswith("file:"):
                _prepare_sqlite_file(db)
            else:  # one shared connection, or every connection sees its own empty database
                kwargs["poolclass"] = StaticPool
        self._engine: Engine = create_engine(sa_url, **kwargs)
        if is_sqlite:
            event.listen(self._engine, "connect", _sqlite_connect)
            event.listen(self._engine, "begin", _sqlite_begin)
        self._writer: Engine = self._engine.execution_options(rotaplan_write=True)
        self._who = who
        _migrate(self._engine)

    def as_user(self, who: Identity) -> Store:
        """The same database (and connections), with every query made for ``who``."""
        other = copy.copy(self)
        other._who = who
        return other

    @property
    def who(self) -> Identity:
        """The person this store's queries are made for."""
        return self._who

    @property
    def url(self) -> str:
        """The database URL, with any password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the engine's pooled connections."""
        self._engine.dispose()

    def pragma(self, name: str) -> Any:
        """Return a SQLite connection setting (``PRAGMA name``), for checks and support."""
        with self._engine.connect() as conn:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    # ------------------------------------------------------------ helpers

    def _transact(self, work: Callable[[Session], T], *, write: bool = False) -> T:
        """Run ``work`` in one transaction, retrying it whole after a transient failure.

        Retries back off from 5 ms, doubling to at most 0.5 s, with full jitter so
        that writers who collided do not collide again.
        """
        bind = self._writer if write else self._engine
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with Session(bind, expire_on_commit=False) as s, s.begin():
                    return work(s)
            except DBAPIError as exc:
                if attempt == MAX_ATTEMPTS or not _transient(exc):
                    raise
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** attempt)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _visible(self) -> Any:
        """The condition on ``_Scenario`` that keeps the caller's teams' scenarios only."""
        return _Scenario.team.in_(sorted(self._who.teams))

    def _require(self, sc: _Scenario, needed: Role) -> None:
        """Raise :class:`AccessDeniedError` unless the caller's role in ``sc``'s team suffices."""
        if not self._who.can(sc.team, needed):
            role = self._who.role_in(sc.team)
            raise AccessDeniedError(
                f"{self._who.user} is {role.name.lower() if role else 'not a member'} in "
                f"team {sc.team}; changing its scenarios needs {needed.name.lower()} or above")

    def _get_scenario(self, s: Session, scenario_id: int, *, lock: bool = False,
                      need: Role = Role.VIEWER) -> _Scenario:
        stmt = select(_Scenario).where(_Scenario.id == scenario_id, self._visible())
        row = s.scalars(stmt.with_for_update() if lock else stmt).first()
        if row is None:
            raise KeyError(f"no scenario with id {scenario_id}")
        self._require(row, need)
        return row

    def _get_version(self, s: Session, version_id: int, *,
                     need: Role = Role.VIEWER) -> _Version:
        stmt = (select(_Version).join(_Scenario, _Version.scenario_id == _Scenario.id)
                .where(_Version.id == version_id, self._visible()))
        row = s.scalars(stmt).first()
        if row is None:
            raise KeyError(f"no scenario version with id {version_id}")
        self._require(row.scenario, need)
        return row

    @staticmethod
    def _latest(s: Session, scenario_id: int) -> _Version | None:
        stmt = (
            select(_Version)
            .where(_Version.scenario_id == scenario_id)
            .order_by(_Version.number.desc())
            .limit(1)
        )
        return s.scalars(stmt).first()

    @staticmethod
    def _has_runs(s: Session, version_id: int) -> bool:
        return bool(s.scalar(select(exists().where(_Run.version_id == version_id))))

    @staticmethod
    def _version_info(s: Session, v: _Version, conflict_with: int | None = None) -> VersionInfo:
        n = s.scalar(select(func.count(_Run.id)).where(_Run.version_id == v.id)) or 0
        return VersionInfo(
            id=v.id,
            scenario_id=v.scenario_id,
            number=v.number,
            note=v.note,
            created_at=_utc(v.created_at),
            yaml_text=v.yaml_text,
            runs=n,
            revision=v.revision,
            conflict_with=conflict_with,
        )

    @staticmethod
    def _run_info(r: _Run, number: int, scenario_id: int, name: str, has_plan: bool) -> RunInfo:
        return RunInfo(
            id=r.id,
            version_id=r.version_id,
            version_number=number,
            scenario_id=scenario_id,
            scenario_name=name,
            created_at=_utc(r.created_at),
            status=r.status,
            objective=r.objective,
            bound=r.bound,
            seconds=r.seconds,
            options=dict(r.options or {}),
            summary=dict(r.summary or {}),
            explanation=r.explanation,
            message=r.message,
            has_plan=has_plan,
        )

    @staticmethod
    def _add_version(s: Session, sc: _Scenario, text: str, note: str) -> _Version:
        """Add the scenario's next version; ``sc`` must be locked (``_get_scenario(lock=True)``)."""
        sc.last_number = (sc.last_number or 0) + 1
        v = _Version(scenario_id=sc.id, number=sc.last_number, yaml_text=text, note=note,
                     created_at=_now(), revision=1)
        s.add(v)
        s.flush()
        return v

    def _new_scenario(self, s: Session, name: str, team: str | None) -> _Scenario:
        """Add a scenario owned by the caller in ``team`` (default: their home team)."""
        team = team or self._who.home
        if not self._who.can(team, Role.EDITOR):
            raise AccessDeniedError(f"{self._who.user} may not create scenarios in team {team}")
        now = _now()
        sc = _Scenario(name=name, created_at=now, updated_at=now, last_number=0,
                       owner=self._who.user, team=team)
        s.add(sc)
        s.flush()
        return sc

    # ---------------------------------------------------------- scenarios

    def create_scenario(self, name: str, yaml_text: str, note: str = "created",
                        team: str | None = None) -> VersionInfo:
        """Create a scenario with ``yaml_text`` as version 1, owned by the caller.

        Parameters
        ----------
        team : str, optional
            The team it belongs to (the caller must be its editor or admin);
            defaults to the caller's home team.

        Returns
        -------
        VersionInfo
            The new scenario's first version.
        """
        def work(s: Session) -> VersionInfo:
            sc = self._new_scenario(s, name, team)
            return self._version_info(s, self._add_version(s, sc, yaml_text, note))

        return self._transact(work, write=True)

    def save_version(self, scenario_id: int, yaml_text: str, note: str = "edited") -> VersionInfo:
        """Store ``yaml_text`` as the scenario's next version.

        When the text equals the latest version's, nothing is stored and that
        version is returned. Otherwise the scenario's ``updated_at`` moves.
        Concurrent calls each get their own number; none fails or is lost.
        """
        def work(s: Session) -> VersionInfo:
            sc = self._get_scenario(s, scenario_id, lock=True, need=Role.EDITOR)
            latest = self._latest(s, scenario_id)
            if latest is not None and latest.yaml_text == yaml_text:
                return self._version_info(s, latest)
            v = self._add_version(s, sc, yaml_text, note)
            sc.updated_at = _now()
            return self._version_info(s, v)

        return self._transact(work, write=True)

    def save_draft(self, scenario_id: int, yaml_text: str, note: str = "edited",
                   fold_into: int | None = None, revision: int | None = None) -> VersionInfo:
        """Store edits, folding a run of edits into one version.

        When the latest version has no runs yet and the same ``note`` (it is the
        draft being edited), its text is replaced; otherwise the text becomes
        the next version. So history keeps one version per solved or explicitly
        saved state, not one per keystroke. With ``fold_into``, edits fold only
        into that version (the one open in the editor); editing an older
        version, or a version being solved, makes a new one instead.

        With ``revision`` (the draft's revision this edit was based on, from the
        last :class:`VersionInfo` the caller got), a draft that another session
        changed since is never overwritten: the text becomes a new version, and
        the result's ``conflict_with`` names the draft kept beside it.
        """
        def work(s: Session) -> VersionInfo:
            sc = self._get_scenario(s, scenario_id, lock=True, need=Role.EDITOR)
            latest = self._latest(s, scenario_id)
            if latest is not None and latest.yaml_text == yaml_text:
                return self._version_info(s, latest)
            conflict = None
            if latest is not None and latest.note == note \
                    and (fold_into is None or latest.id == fold_into) \
                    and not self._has_runs(s, latest.id):
                if revision is None or latest.revision == revision:
                    latest.yaml_text = yaml_text
                    latest.revision += 1
                    latest.created_at = sc.updated_at = _now()
                    s.flush()
                    return self._version_info(s, latest)
                conflict = latest.number
            v = self._add_version(s, sc, yaml_text, note)
            sc.updated_at = _now()
            return self._version_info(s, v, conflict_with=conflict)

        return self._transact(work, write=True)

    def list_scenarios(self) -> list[ScenarioInfo]:
        """Return every scenario the caller may see, most recently updated first."""
        n_versions = (
            select(
                _Version.scenario_id.label("sid"),
                func.count(_Version.id).label("n"),
                func.max(_Version.id).label("latest"),
            )
            .group_by(_Version.scenario_id)
            .subquery()
        )
        n_runs = (
            select(_Version.scenario_id.label("sid"), func.count(_Run.id).label("n"))
            .join(_Run, _Run.version_id == _Version.id)
            .group_by(_Version.scenario_id)
            .subquery()
        )
        stmt = (
            select(_Scenario, n_versions.c.n, n_versions.c.latest, n_runs.c.n)
            .outerjoin(n_versions, n_versions.c.sid == _Scenario.id)
            .outerjoin(n_runs, n_runs.c.sid == _Scenario.id)
            .where(self._visible())
            .order_by(_Scenario.updated_at.desc(), _Scenario.id.desc())
        )
        who = self._who

        def work(s: Session) -> list[ScenarioInfo]:
            return [
                ScenarioInfo(
                    id=sc.id,
                    name=sc.name,
                    created_at=_utc(sc.created_at),
                    updated_at=_utc(sc.updated_at),
                    versions=nv or 0,
                    latest_version_id=latest or 0,
                    runs=nr or 0,
                    owner=sc.owner,
                    team=sc.team,
                    role=who.role_in(sc.team) or Role.VIEWER,
                    may_delete=who.can_delete(sc.team, sc.owner),
                )
                for sc, nv, latest, nr in s.execute(stmt).all()
            ]

        return self._transact(work)

    def versions(self, scenario_id: int) -> list[VersionInfo]:
        """Return a scenario's versions, newest first."""
        def work(s: Session) -> list[VersionInfo]:
            self._get_scenario(s, scenario_id)
            stmt = (
                select(_Version)
                .where(_Version.scenario_id == scenario_id)
                .order_by(_Version.number.desc())
            )
            return [self._version_info(s, v) for v in s.scalars(stmt)]

        return self._transact(work)

    def version(self, version_id: int) -> VersionInfo:
        """Return one version by id."""
        return self._transact(lambda s: self._version_info(s, self._get_version(s, version_id)))

    def latest_version(self, scenario_id: int) -> VersionInfo:
        """Return a scenario's newest version."""
        def work(s: Session) -> VersionInfo:
            self._get_scenario(s, scenario_id)
            v = self._latest(s, scenario_id)
            if v is None:
                raise KeyError(f"scenario {scenario_id} has no versions")
            return self._version_info(s, v)

        return self._transact(work)

    def rename(self, scenario_id: int, name: str) -> None:
        """Rename a scenario (its ``updated_at`` moves)."""
        def work(s: Session) -> None:
            sc = self._get_scenario(s, scenario_id, lock=True, need=Role.EDITOR)
            sc.name = name
            sc.updated_at = _now()

        self._transact(work, write=True)

    def duplicate(self, scenario_id: int, name: str | None = None,
                  team: str | None = None) -> VersionInfo:
        """Copy a scenario's latest text into a new scenario as version 1.

        The copy is the caller's; anyone who may see a scenario may copy it.

        Parameters
        ----------
        scenario_id : int
            The scenario to copy.
        name : str, optional
            Name of the copy; defaults to ``"<name> (copy)"``.
        team : str, optional
            The copy's team: the source's when the caller may edit there, else
            the caller's home team.
        """
        def work(s: Session) -> VersionInfo:
            src = self._get_scenario(s, scenario_id)
            latest = self._latest(s, scenario_id)
            if latest is None:
                raise KeyError(f"scenario {scenario_id} has no versions")
            target = team or (src.team if self._who.can(src.team, Role.EDITOR)
                              else self._who.home)
            sc = self._new_scenario(s, name or f"{src.name} (copy)", target)
            note = f"copied from {src.name} v{latest.number}"
            return self._version_info(s, self._add_version(s, sc, latest.yaml_text, note))

        return self._transact(work, write=True)

    def delete_scenario(self, scenario_id: int) -> None:
        """Delete a scenario with all its versions, runs and plans.

        Team admins may delete any of the team's scenarios; editors their own.
        """
        def work(s: Session) -> None:
            sc = self._get_scenario(s, scenario_id, lock=True)
            if not self._who.can_delete(sc.team, sc.owner):
                raise AccessDeniedError(f"{self._who.user} may not delete scenario {sc.id}: "
                                   f"team {sc.team}'s admins and its owner may")
            s.delete(sc)

        self._transact(work, write=True)

    # --------------------------------------------------------------- runs

    def record_run(
        self,
        version_id: int,
        *,
        status: str,
        objective: float | None,
        bound: float | None,
        seconds: float,
        options: dict[str, Any],
        summary: dict[str, Any],
        assignments_csv: str | None = None,
        timetable_csv: str | None = None,
        explanation: str | None = None,
        message: str | None = None,
    ) -> RunInfo:
        """Store the outcome of solving one version.

        ``options`` and ``summary`` must be JSON-serialisable. The plan tables
        (both CSVs, or neither) are stored compressed; then plans beyond the
        scenario's newest ``keep_plans`` are dropped (the runs stay).

        Returns
        -------
        RunInfo
            The stored run.
        """
        plan = None
        if assignments_csv is not None and timetable_csv is not None:
            plan = (_pack(assignments_csv), _pack(timetable_csv),
                    len(assignments_csv) + len(timetable_csv))  # compressed outside the lock

        def work(s: Session) -> RunInfo:
            v = self._get_version(s, version_id, need=Role.EDITOR)
            sc = v.scenario
            r = _Run(
                version_id=v.id,
                created_at=_now(),
                status=status,
                objective=None if objective is None else float(objective),
                bound=None if bound is None else float(bound),
                seconds=float(seconds),
                options=dict(options),
                summary=dict(summary),
                explanation=explanation,
                message=message,
            )
            s.add(r)
            s.flush()
            if plan is not None:
                s.add(_RunPlan(run_id=r.id, assignments=plan[0], timetable=plan[1],
                               csv_bytes=plan[2]))
                s.flush()
            if self.keep_plans is not None:
                self._prune(s, sc.id, self.keep_plans)
            return self._run_info(r, v.number, sc.id, sc.name,
                                  plan is not None and self.keep_plans != 0)

        return self._transact(work, write=True)

    _RUN_FIELDS = frozenset({"status", "objective", "bound", "seconds", "options", "summary",
                             "explanation", "message"})

    def update_run(self, run_id: int, *, assignments_csv: str | None = None,
                   timetable_csv: str | None = None, **changes: Any) -> RunInfo:
        """Complete a stored run: a run recorded when its solve was asked for (status
        ``QUEUED`` or ``RUNNING``, see :mod:`rotaplan.runs.jobs`) gets its outcome when
        the solve ends.

        Parameters
        ----------
        run_id : int
            The run.
        assignments_csv, timetable_csv : str, optional
            The plan tables (both, or neither), stored as :meth:`record_run` stores
            them; then the retention applies.
        **changes
            New values of :meth:`record_run`'s other keyword fields.

        Raises
        ------
        KeyError
            No run with that id the caller may see (its scenario was deleted).
        AccessDeniedError
            The caller may not change the scenario's runs.
        TypeError
            A field that is not a run's.
        """
        unknown = set(changes) - self._RUN_FIELDS
        if unknown:
            raise TypeError(f"not fields of a run: {', '.join(sorted(unknown))}")
        plan = None
        if assignments_csv is not None and timetable_csv is not None:
            plan = (_pack(assignments_csv), _pack(timetable_csv),
                    len(assignments_csv) + len(timetable_csv))  # compressed outside the lock

        def work(s: Session) -> RunInfo:
            found = s.execute(self._runs_stmt().where(_Run.id == run_id)).first()
            if found is None:
                raise KeyError(f"no run with id {run_id}")
            r = found[0]
            v = self._get_version(s, r.version_id, need=Role.EDITOR)
            for name, value in changes.items():
                if name == "seconds" or (name in ("objective", "bound") and value is not None):
                    value = float(value)
                elif name in ("options", "summary"):
                    value = dict(value)
                setattr(r, name, value)
            if plan is not None:
                s.merge(_RunPlan(run_id=r.id, assignments=plan[0], timetable=plan[1],
                                 csv_bytes=plan[2]))
            s.flush()
            if plan is not None and self.keep_plans is not None:
                self._prune(s, v.scenario_id, self.keep_plans)
            has_plan = s.get(_RunPlan, r.id) is not None
            return self._run_info(r, v.number, v.scenario_id, v.scenario.name, has_plan)

        return self._transact(work, write=True)

    @staticmethod
    def _prune(s: Session, scenario_id: int, keep: int) -> int:
        """Drop the plans of a scenario's runs beyond its newest ``keep``; return how many."""
        with_plans = (
            select(_Run.id)
            .join(_Version, _Run.version_id == _Version.id)
            .join(_RunPlan, _RunPlan.run_id == _Run.id)
            .where(_Version.scenario_id == scenario_id)
            .order_by(_Run.created_at.desc(), _Run.id.desc())
        )
        old = list(s.scalars(with_plans.offset(keep)))
        if old:
            s.execute(delete(_RunPlan).where(_RunPlan.run_id.in_(old)))
        return len(old)

    def prune_plans(self, keep: int | None = None) -> int:
        """Apply the retention to the caller's admin teams now; return the plans dropped.

        Parameters
        ----------
        keep : int, optional
            Plans to keep per scenario; defaults to the store's ``keep_plans``
            (None there keeps every plan).
        """
        limit = self.keep_plans if keep is None else keep
        if limit is None:
            return 0

        admin_of = [t for t, r in self._who.teams.items() if r >= Role.ADMIN]

        def work(s: Session) -> int:
            ids = list(s.scalars(select(_Scenario.id).where(_Scenario.team.in_(admin_of))))
            return sum(self._prune(s, sid, limit) for sid in ids)

        return self._transact(work, write=True)

    def _runs_stmt(self) -> Any:
        """Runs with their version number, scenario and whether a plan is kept (no plan data)."""
        return (
            select(_Run, _Version.number, _Scenario.id, _Scenario.name,
                   _RunPlan.run_id.is_not(None))
            .join(_Version, _Run.version_id == _Version.id)
            .join(_Scenario, _Version.scenario_id == _Scenario.id)
            .outerjoin(_RunPlan, _RunPlan.run_id == _Run.id)
            .where(self._visible())
        )

    def runs(self, scenario_id: int | None = None, version_id: int | None = None) -> list[RunInfo]:
        """Return the runs the caller may see, newest first, optionally of one scenario
        and/or version."""
        stmt = self._runs_stmt().order_by(_Run.created_at.desc(), _Run.id.desc())
        if scenario_id is not None:
            stmt = stmt.where(_Scenario.id == scenario_id)
        if version_id is not None:
            stmt = stmt.where(_Version.id == version_id)

        def work(s: Session) -> list[RunInfo]:
            return [self._run_info(*row) for row in s.execute(stmt).all()]

        return self._transact(work)

    def run(self, run_id: int) -> RunInfo:
        """Return one run by id."""
        def work(s: Session) -> RunInfo:
            row = s.execute(self._runs_stmt().where(_Run.id == run_id)).first()
            if row is None:
                raise KeyError(f"no run with id {run_id}")
            return self._run_info(*row)

        return self._transact(work)

    def run_plan(self, run_id: int) -> RunPlan | None:
        """Return a run's plan tables, or None when it has none (no plan, or pruned)."""
        def work(s: Session) -> RunPlan | None:
            if s.execute(self._runs_stmt().where(_Run.id == run_id)).first() is None:
                raise KeyError(f"no run with id {run_id}")
            row = s.get(_RunPlan, run_id)
            if row is None:
                return None
            return RunPlan(_unpack(row.assignments), _unpack(row.timetable))

        return self._transact(work)
