"""A plan as data: placements and weekly timetables (contract §8), as DataFrames."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

ASSIGNMENT_COLUMNS = ["learner_id", "block", "role", "site_id", "supervisor_id"]
TIMETABLE_COLUMNS = ["learner_id", "block", "session", "activity", "site_id", "supervisor_id"]
PLAN_FILES = ("assignments.csv", "timetable.csv", "summary.json")


@dataclass(frozen=True)
class Plan:
    """Placements and timetables of a plan.

    Attributes
    ----------
    assignments
        One row per placement: ``learner_id, block, role, site_id, supervisor_id``.
    timetable
        One row per working session: ``learner_id, block, session, activity,
        site_id, supervisor_id`` (site and supervisor empty for teaching).
    """

    assignments: pd.DataFrame
    timetable: pd.DataFrame

    @classmethod
    def from_rows(
        cls, assignments: Iterable[tuple[Any, ...]], timetable: Iterable[tuple[Any, ...]]
    ) -> Plan:
        """Build a plan from row tuples in the column order of the files."""
        a = pd.DataFrame(list(assignments), columns=ASSIGNMENT_COLUMNS)
        t = pd.DataFrame(list(timetable), columns=TIMETABLE_COLUMNS)
        a["block"] = a["block"].astype(int)
        t["block"] = t["block"].astype(int)
        return cls(a, t)

    @classmethod
    def empty(cls) -> Plan:
        """A plan with no rows (every learner left out)."""
        return cls.from_rows([], [])

    def write(self, directory: str | Path, summary: Mapping[str, Any]) -> list[Path]:
        """Write ``assignments.csv``, ``timetable.csv`` and ``summary.json``.

        Returns
        -------
        list[Path]
            The files written.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / name for name in PLAN_FILES]
        self.assignments.to_csv(paths[0], index=False, lineterminator="\n")
        self.timetable.to_csv(paths[1], index=False, lineterminator="\n")
        paths[2].write_text(json.dumps(dict(summary), indent=2, default=str) + "\n")
        return paths

    @classmethod
    def read(cls, directory: str | Path) -> Plan:
        """Read a plan written by :meth:`write` (or by anything following §8)."""
        d = Path(directory)
        a = pd.read_csv(d / "assignments.csv", dtype=str, keep_default_na=False)
        t = pd.read_csv(d / "timetable.csv", dtype=str, keep_default_na=False)
        a["block"] = a["block"].astype(int)
        t["block"] = t["block"].astype(int)
        return cls(a, t)
