"""The one reader of plan CSV files (rotaplan/io/plan_dir.py), from folders and from text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotaplan.io.plan_dir import PlanDirError, plan_from_text, read_plan


def test_a_stored_plan_reads_as_its_folder_does(tmp_path: Path) -> None:
    """plan_from_text (plans kept in the store, read by the configurator) gives the same
    frames as read_plan on the same files: blocks and v2 start blocks as integers."""
    assignments = ("learner_id,block,role,site_id,supervisor_id,start_block\n"
                   "L1,1,rotation,a,a1,1\nL1,2,rotation,a,a1,1\n")
    timetable = ("learner_id,block,session,activity,site_id,supervisor_id\n"
                 "L1,1,Mon-AM,clinical,a,a1\n")
    (tmp_path / "assignments.csv").write_text(assignments)
    (tmp_path / "timetable.csv").write_text(timetable)
    from_text = plan_from_text(assignments, timetable)
    from_folder = read_plan(tmp_path)
    assert from_text.assignments.equals(from_folder.assignments)
    assert from_text.timetable.equals(from_folder.timetable)
    assert from_text.assignments["start_block"].tolist() == [1, 1]
    assert from_text.assignments["block"].tolist() == [1, 2]


def test_a_stored_plan_missing_a_column_is_one_clear_error() -> None:
    """A stored plan without a column is refused in words naming the run and the file."""
    with pytest.raises(PlanDirError, match=r"run 7: assignments\.csv: missing column"):
        plan_from_text("learner_id,block\nL1,1\n", "x\n", "run 7")
