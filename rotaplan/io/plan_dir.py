"""A plan folder (contract §8): the one reader and the one writer of its files.

``assignments.csv``, ``timetable.csv`` and ``summary.json``, plus
``explanation.txt``/``explanation.json`` when a scenario has no plan. The
independent checker (:mod:`rotaplan.checker`) keeps its own reader on purpose:
it must not trust this one.

Files are written whole or not at all (a temporary file in the same folder,
then an atomic rename), so a reader never sees half a file.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rotaplan.models import ASSIGNMENT_COLUMNS, PLAN_FILES, TIMETABLE_COLUMNS, Plan, Scenario
from rotaplan.solver.result import Explanation

SUMMARY = "summary.json"
EXPLANATION_FILES = ("explanation.txt", "explanation.json")


class PlanDirError(ValueError):
    """A plan folder that is missing, incomplete or unreadable (in plain words)."""


@dataclass(frozen=True)
class PlanDir:
    """A plan read from its folder.

    Attributes
    ----------
    plan
        Placements and timetables.
    summary
        ``summary.json`` when it is there.
    """

    plan: Plan
    summary: dict[str, Any] | None


# --------------------------------------------------------------------------- writing


def write_bytes(path: Path, data: bytes) -> Path:
    """Write a file atomically (temporary file, flush, rename).

    A symbolic link at ``path`` is replaced, never written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file atomically (see :func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a JSON object (indented, one trailing newline) atomically."""
    return write_text(path, json.dumps(dict(data), indent=2, default=str) + "\n")


def _csv(frame: pd.DataFrame) -> str:
    return str(frame.to_csv(index=False, lineterminator="\n"))


def write_plan(directory: str | Path, plan: Plan, summary: Mapping[str, Any]) -> list[Path]:
    """Write ``assignments.csv``, ``timetable.csv`` and ``summary.json`` into a folder.

    Returns
    -------
    list[Path]
        The files written, in :data:`~rotaplan.models.PLAN_FILES` order.
    """
    out = Path(directory)
    return [write_text(out / PLAN_FILES[0], _csv(plan.assignments)),
            write_text(out / PLAN_FILES[1], _csv(plan.timetable)),
            write_json(out / PLAN_FILES[2], summary)]


def write_explanation_files(explanation: Explanation, directory: str | Path) -> list[Path]:
    """Write ``explanation.txt`` (for people) and ``explanation.json`` (for programs)."""
    out = Path(directory)
    return [write_text(out / EXPLANATION_FILES[0], explanation.render(details=True) + "\n"),
            write_json(out / EXPLANATION_FILES[1], explanation.to_json())]


# --------------------------------------------------------------------------- reading


def read_plan(directory: str | Path) -> Plan:
    """The placements and timetables of a plan folder (its two CSV files).

    Raises
    ------
    PlanDirError
        If the folder or a file is missing, unreadable, or lacks a column.
    """
    d = Path(directory)
    if not d.is_dir():
        raise PlanDirError(f"{d}: no such folder")
    missing = [n for n in PLAN_FILES[:2] if not (d / n).is_file()]
    if missing:
        raise PlanDirError(f"{d}: not a plan folder (there is no {' or '.join(missing)})")
    return Plan(_frame(d / PLAN_FILES[0], str(d / PLAN_FILES[0]), ASSIGNMENT_COLUMNS),
                _frame(d / PLAN_FILES[1], str(d / PLAN_FILES[1]), TIMETABLE_COLUMNS))


def plan_from_text(assignments_csv: str, timetable_csv: str, where: str = "plan") -> Plan:
    """A plan from the text of its two CSV files (a plan kept in the store).

    Raises
    ------
    PlanDirError
        If a file cannot be read or lacks a column.
    """
    return Plan(_frame(io.StringIO(assignments_csv), f"{where}: {PLAN_FILES[0]}",
                       ASSIGNMENT_COLUMNS),
                _frame(io.StringIO(timetable_csv), f"{where}: {PLAN_FILES[1]}",
                       TIMETABLE_COLUMNS))


def _frame(source: Path | io.StringIO, where: str, columns: Sequence[str]) -> pd.DataFrame:
    """One plan CSV as text cells, its block numbers (and start blocks) as integers."""
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise PlanDirError(f"{where}: is not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(columns))
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise PlanDirError(f"{where}: cannot be read: {exc}") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise PlanDirError(f"{where}: missing column(s) {', '.join(absent)}")
    try:
        frame["block"] = frame["block"].astype(int)
        if "start_block" in frame.columns:
            frame["start_block"] = frame["start_block"].astype(int)
    except ValueError:
        raise PlanDirError(f"{where}: a block is not a whole number") from None
    return frame


def read_summary(directory: str | Path) -> dict[str, Any] | None:
    """``summary.json`` of a plan folder, or None when there is none.

    Raises
    ------
    PlanDirError
        If it is there but is not a readable JSON object.
    """
    path = Path(directory) / SUMMARY
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanDirError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(loaded, dict):
        raise PlanDirError(f"{path}: does not hold a JSON object")
    return loaded


def read_plan_dir(directory: str | Path) -> PlanDir:
    """Read a plan folder: the plan, and ``summary.json`` when it is there.

    Raises
    ------
    PlanDirError
        If the folder or its CSV files are missing or cannot be read.
    """
    return PlanDir(read_plan(directory), read_summary(directory))


def text(value: Any) -> str:
    """A cell as text: empty for None, NaN and missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def check_names(scenario: Scenario, plan: Plan) -> None:
    """Refuse a plan that names ids, blocks or sessions its scenario lacks.

    Raises
    ------
    ValueError
        Naming the first few unknown ids.
    """
    a, t = plan.assignments, plan.timetable
    known: list[tuple[str, set[str], list[str]]] = [
        ("learner", set(scenario.learner_by_id),
         [*map(text, a["learner_id"]), *map(text, t["learner_id"])]),
        ("site", set(scenario.site_by_id),
         [*map(text, a["site_id"]), *(x for x in map(text, t["site_id"]) if x)]),
        ("supervisor", set(scenario.supervisor_site),
         [*(x for x in map(text, a["supervisor_id"]) if x),
          *(x for x in map(text, t["supervisor_id"]) if x)]),
        ("session", set(scenario.programme.sessions), list(map(text, t["session"]))),
    ]
    for what, ids, used in known:
        unknown = sorted(set(used) - ids)
        if unknown:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValueError(f"the plan names {what}(s) not in the scenario: "
                             f"{', '.join(unknown[:5])}{more}")
    blocks = set(scenario.programme.block_numbers)
    bad = sorted({int(b) for b in [*a["block"], *t["block"]]} - blocks)
    if bad:
        raise ValueError(f"the plan uses block(s) {', '.join(map(str, bad))}, but the "
                         f"programme has blocks 1..{scenario.programme.blocks}")


def sorted_timetable(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """The timetable with empty strings for blanks, sorted by learner, block, session."""
    t = plan.timetable.copy()
    for column in ("learner_id", "session", "activity", "site_id", "supervisor_id"):
        t[column] = t[column].map(text)
    t["block"] = t["block"].astype(int)
    learner_rank = {x.id: i for i, x in enumerate(scenario.learners)}
    session_rank = {s: i for i, s in enumerate(scenario.programme.sessions)}
    t["_learner"] = t["learner_id"].map(learner_rank)
    t["_session"] = t["session"].map(session_rank)
    t = t.sort_values(["_learner", "block", "_session", "site_id"], kind="stable")
    return t.drop(columns=["_learner", "_session"]).reset_index(drop=True)


__all__ = ["EXPLANATION_FILES", "SUMMARY", "PlanDir", "PlanDirError", "check_names",
           "plan_from_text", "read_plan", "read_plan_dir", "read_summary", "sorted_timetable",
           "text", "write_bytes", "write_explanation_files", "write_json", "write_plan",
           "write_text"]
