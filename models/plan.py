"""A plan as data: placements and weekly timetables (contract §8), as DataFrames.

Reading and writing plan folders is :mod:`rotaplan.io.plan_dir`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

ASSIGNMENT_COLUMNS = ["learner_id", "block", "role", "site_id", "supervisor_id"]
START_BLOCK = "start_block"
"""The optional sixth column of ``assignments.csv`` (§9.4): the placement's first block."""
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
        cls, assignments: Iterable[tuple[Any, ...]], timetable: Iterable[tuple[Any, ...]],
        *, start_block: bool = False,
    ) -> Plan:
        """Build a plan from row tuples in the column order of the files.

        With ``start_block``, assignment rows carry a sixth value, the first
        block of their placement (§9.4).
        """
        columns = [*ASSIGNMENT_COLUMNS, START_BLOCK] if start_block else ASSIGNMENT_COLUMNS
        a = pd.DataFrame(list(assignments), columns=columns)
        t = pd.DataFrame(list(timetable), columns=TIMETABLE_COLUMNS)
        a["block"] = a["block"].astype(int)
        if start_block:
            a[START_BLOCK] = a[START_BLOCK].astype(int)
        t["block"] = t["block"].astype(int)
        return cls(a, t)

    @classmethod
    def empty(cls) -> Plan:
        """A plan with no rows (every learner left out)."""
        return cls.from_rows([], [])
