"""Persistence for the Streamlit UI: scenarios, their YAML versions and solver runs.

A :class:`Store` wraps one SQLAlchemy engine. Every method opens a short
session, does its work and returns plain frozen dataclasses
(:class:`ScenarioInfo`, :class:`VersionInfo`, :class:`RunInfo`), so callers
never hold ORM objects. The database is SQLite by default
(``~/.rotaplan/rotaplan.db``) or whatever ``ROTAPLAN_DB_URL`` names; only
portable column types are used so PostgreSQL works too.

Missing ids raise :class:`KeyError` with a plain message. Timestamps are
timezone-aware UTC (SQLite hands back naive values; they are normalised).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

ENV_VAR = "ROTAPLAN_DB_URL"

__all__ = [
    "ENV_VAR",
    "RunInfo",
    "ScenarioInfo",
    "Store",
    "VersionInfo",
    "default_url",
]


def _now() -> datetime:
    """Return the current time as timezone-aware UTC."""
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values (SQLite) are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def default_url() -> str:
    """Return the database URL to use when none is given.

    Returns
    -------
    str
        ``ROTAPLAN_DB_URL`` when set and non-empty, else a SQLite file at
        ``~/.rotaplan/rotaplan.db`` (its folder is created).
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    folder = Path.home() / ".rotaplan"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'rotaplan.db'}"


# --------------------------------------------------------------------- ORM


class _Base(DeclarativeBase):
    """Declarative base for the store's tables."""


class _Scenario(_Base):
    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

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

    scenario: Mapped[_Scenario] = relationship(back_populates="versions")
    runs: Mapped[list[_Run]] = relationship(
        back_populates="version", cascade="all, delete-orphan", passive_deletes=True
    )


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
    assignments_csv: Mapped[str | None] = mapped_column(Text)
    timetable_csv: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)

    version: Mapped[_Version] = relationship(back_populates="runs")


# --------------------------------------------------------------- results


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario with counts of its versions and runs."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    versions: int
    latest_version_id: int
    runs: int


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a scenario's YAML text."""

    id: int
    scenario_id: int
    number: int
    note: str
    created_at: datetime
    yaml_text: str
    runs: int


@dataclass(frozen=True)
class RunInfo:
    """One solver run of a scenario version, with its outputs."""

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
    assignments_csv: str | None
    timetable_csv: str | None
    explanation: str | None
    message: str | None


# ------------------------------------------------------------------ store


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """Turn on foreign keys for each new SQLite connection (cascades need them)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """Scenarios, versions and runs in one SQL database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy database URL; defaults to :func:`default_url`. Tables are
        created if missing.
    """

    def __init__(self, url: str | None = None) -> None:
        sa_url = make_url(url or default_url())
        kwargs: dict[str, Any] = {}
        is_sqlite = sa_url.get_backend_name() == "sqlite"
        if is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False}
            db = sa_url.database
            if db and db != ":memory:" and not db.startswith("file:"):
                Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = create_engine(sa_url, **kwargs)
        if is_sqlite:
            event.listen(self._engine, "connect", _enable_sqlite_foreign_keys)
        _Base.metadata.create_all(self._engine)

    @property
    def url(self) -> str:
        """The database URL, with any password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the engine's pooled connections."""
        self._engine.dispose()

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _get_scenario(s: Session, scenario_id: int) -> _Scenario:
        row = s.get(_Scenario, scenario_id)
        if row is None:
            raise KeyError(f"no scenario with id {scenario_id}")
        return row

    @staticmethod
    def _get_version(s: Session, version_id: int) -> _Version:
        row = s.get(_Version, version_id)
        if row is None:
            raise KeyError(f"no scenario version with id {version_id}")
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
    def _version_info(s: Session, v: _Version) -> VersionInfo:
        n = s.scalar(select(func.count(_Run.id)).where(_Run.version_id == v.id)) or 0
        return VersionInfo(
            id=v.id,
            scenario_id=v.scenario_id,
            number=v.number,
            note=v.note,
            created_at=_utc(v.created_at),
            yaml_text=v.yaml_text,
            runs=n,
        )

    @staticmethod
    def _run_info(r: _Run, v: _Version, sc: _Scenario) -> RunInfo:
        return RunInfo(
            id=r.id,
            version_id=v.id,
            version_number=v.number,
            scenario_id=sc.id,
            scenario_name=sc.name,
            created_at=_utc(r.created_at),
            status=r.status,
            objective=r.objective,
            bound=r.bound,
            seconds=r.seconds,
            options=dict(r.options or {}),
            summary=dict(r.summary or {}),
            assignments_csv=r.assignments_csv,
            timetable_csv=r.timetable_csv,
            explanation=r.explanation,
            message=r.message,
        )

    @staticmethod
    def _add_version(s: Session, sc: _Scenario, number: int, text: str, note: str) -> _Version:
        v = _Version(scenario_id=sc.id, number=number, yaml_text=text, note=note, created_at=_now())
        s.add(v)
        s.flush()
        return v

    # ---------------------------------------------------------- scenarios

    def create_scenario(self, name: str, yaml_text: str, note: str = "created") -> VersionInfo:
        """Create a scenario with ``yaml_text`` as version 1.

        Returns
        -------
        VersionInfo
            The new scenario's first version.
        """
        with Session(self._engine) as s, s.begin():
            now = _now()
            sc = _Scenario(name=name, created_at=now, updated_at=now)
            s.add(sc)
            s.flush()
            return self._version_info(s, self._add_version(s, sc, 1, yaml_text, note))

    def save_version(self, scenario_id: int, yaml_text: str, note: str = "edited") -> VersionInfo:
        """Store ``yaml_text`` as the scenario's next version.

        When the text equals the latest version's, nothing is stored and that
        version is returned. Otherwise the scenario's ``updated_at`` moves.
        """
        with Session(self._engine) as s, s.begin():
            sc = self._get_scenario(s, scenario_id)
            latest = self._latest(s, scenario_id)
            if latest is not None and latest.yaml_text == yaml_text:
                return self._version_info(s, latest)
            number = 1 if latest is None else latest.number + 1
            v = self._add_version(s, sc, number, yaml_text, note)
            sc.updated_at = _now()
            return self._version_info(s, v)

    def save_draft(self, scenario_id: int, yaml_text: str, note: str = "edited",
                   fold_into: int | None = None) -> VersionInfo:
        """Store edits, folding a run of edits into one version.

        When the latest version has no runs yet and the same ``note`` (it is the
        draft being edited), its text is replaced; otherwise this is
        :meth:`save_version`. So history keeps one version per solved or
        explicitly saved state, not one per keystroke. With ``fold_into``, edits
        fold only into that version (the one open in the editor); editing an
        older version, or a version being solved, makes a new one instead.
        """
        with Session(self._engine) as s, s.begin():
            sc = self._get_scenario(s, scenario_id)
            latest = self._latest(s, scenario_id)
            if latest is not None and latest.yaml_text == yaml_text:
                return self._version_info(s, latest)
            if latest is not None and latest.note == note and not latest.runs \
                    and (fold_into is None or latest.id == fold_into):
                latest.yaml_text = yaml_text
                latest.created_at = sc.updated_at = _now()
                s.flush()
                return self._version_info(s, latest)
        return self.save_version(scenario_id, yaml_text, note)

    def list_scenarios(self) -> list[ScenarioInfo]:
        """Return every scenario, most recently updated first."""
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
            .order_by(_Scenario.updated_at.desc(), _Scenario.id.desc())
        )
        with Session(self._engine) as s, s.begin():
            return [
                ScenarioInfo(
                    id=sc.id,
                    name=sc.name,
                    created_at=_utc(sc.created_at),
                    updated_at=_utc(sc.updated_at),
                    versions=nv or 0,
                    latest_version_id=latest or 0,
                    runs=nr or 0,
                )
                for sc, nv, latest, nr in s.execute(stmt).all()
            ]

    def versions(self, scenario_id: int) -> list[VersionInfo]:
        """Return a scenario's versions, newest first."""
        with Session(self._engine) as s, s.begin():
            self._get_scenario(s, scenario_id)
            stmt = (
                select(_Version)
                .where(_Version.scenario_id == scenario_id)
                .order_by(_Version.number.desc())
            )
            return [self._version_info(s, v) for v in s.scalars(stmt)]

    def version(self, version_id: int) -> VersionInfo:
        """Return one version by id."""
        with Session(self._engine) as s, s.begin():
            return self._version_info(s, self._get_version(s, version_id))

    def latest_version(self, scenario_id: int) -> VersionInfo:
        """Return a scenario's newest version."""
        with Session(self._engine) as s, s.begin():
            self._get_scenario(s, scenario_id)
            v = self._latest(s, scenario_id)
            if v is None:
                raise KeyError(f"scenario {scenario_id} has no versions")
            return self._version_info(s, v)

    def rename(self, scenario_id: int, name: str) -> None:
        """Rename a scenario (its ``updated_at`` moves)."""
        with Session(self._engine) as s, s.begin():
            sc = self._get_scenario(s, scenario_id)
            sc.name = name
            sc.updated_at = _now()

    def duplicate(self, scenario_id: int, name: str | None = None) -> VersionInfo:
        """Copy a scenario's latest text into a new scenario as version 1.

        Parameters
        ----------
        scenario_id : int
            The scenario to copy.
        name : str, optional
            Name of the copy; defaults to ``"<name> (copy)"``.
        """
        with Session(self._engine) as s, s.begin():
            src = self._get_scenario(s, scenario_id)
            latest = self._latest(s, scenario_id)
            if latest is None:
                raise KeyError(f"scenario {scenario_id} has no versions")
            now = _now()
            sc = _Scenario(name=name or f"{src.name} (copy)", created_at=now, updated_at=now)
            s.add(sc)
            s.flush()
            note = f"copied from {src.name} v{latest.number}"
            return self._version_info(s, self._add_version(s, sc, 1, latest.yaml_text, note))

    def delete_scenario(self, scenario_id: int) -> None:
        """Delete a scenario with all its versions and runs."""
        with Session(self._engine) as s, s.begin():
            s.delete(self._get_scenario(s, scenario_id))

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

        ``options`` and ``summary`` must be JSON-serialisable.

        Returns
        -------
        RunInfo
            The stored run.
        """
        with Session(self._engine) as s, s.begin():
            v = self._get_version(s, version_id)
            r = _Run(
                version_id=v.id,
                created_at=_now(),
                status=status,
                objective=None if objective is None else float(objective),
                bound=None if bound is None else float(bound),
                seconds=float(seconds),
                options=dict(options),
                summary=dict(summary),
                assignments_csv=assignments_csv,
                timetable_csv=timetable_csv,
                explanation=explanation,
                message=message,
            )
            s.add(r)
            s.flush()
            return self._run_info(r, v, v.scenario)

    _RUN_FIELDS = frozenset({"status", "objective", "bound", "seconds", "options", "summary",
                             "assignments_csv", "timetable_csv", "explanation", "message"})

    def update_run(self, run_id: int, **changes: Any) -> RunInfo:
        """Change fields of a stored run: a run recorded when its solve started
        (status ``RUNNING``) gets its outcome when the solve ends.

        Parameters
        ----------
        run_id : int
            The run.
        **changes
            New values of any of :meth:`record_run`'s keyword fields.

        Raises
        ------
        KeyError
            No run with that id (its scenario was deleted).
        TypeError
            A field that is not a run's.
        """
        unknown = set(changes) - self._RUN_FIELDS
        if unknown:
            raise TypeError(f"not fields of a run: {', '.join(sorted(unknown))}")
        with Session(self._engine) as s, s.begin():
            r = s.get(_Run, run_id)
            if r is None:
                raise KeyError(f"no run with id {run_id}")
            for name, value in changes.items():
                if name == "seconds" or (name in ("objective", "bound") and value is not None):
                    value = float(value)
                elif name in ("options", "summary"):
                    value = dict(value)
                setattr(r, name, value)
            s.flush()
            return self._run_info(r, r.version, r.version.scenario)

    def runs(self, scenario_id: int | None = None, version_id: int | None = None) -> list[RunInfo]:
        """Return runs, newest first, optionally for one scenario and/or version."""
        stmt = (
            select(_Run, _Version, _Scenario)
            .join(_Version, _Run.version_id == _Version.id)
            .join(_Scenario, _Version.scenario_id == _Scenario.id)
            .order_by(_Run.created_at.desc(), _Run.id.desc())
        )
        if scenario_id is not None:
            stmt = stmt.where(_Scenario.id == scenario_id)
        if version_id is not None:
            stmt = stmt.where(_Version.id == version_id)
        with Session(self._engine) as s, s.begin():
            return [self._run_info(r, v, sc) for r, v, sc in s.execute(stmt).all()]

    def run(self, run_id: int) -> RunInfo:
        """Return one run by id."""
        with Session(self._engine) as s, s.begin():
            r = s.get(_Run, run_id)
            if r is None:
                raise KeyError(f"no run with id {run_id}")
            return self._run_info(r, r.version, r.version.scenario)
