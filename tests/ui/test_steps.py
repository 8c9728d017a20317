"""The step bar's steps, from the tables alone (no Streamlit)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rotaplan.io import tables
from rotaplan.ui import steps

ROOT = Path(__file__).resolve().parents[2]


def _with_row(t: tables.ScenarioTables, table: str, row: dict[str, str]) -> None:
    frame = t.frames[table]
    full = {c: row.get(c, "") for c in frame.columns}
    t.frames[table] = pd.concat([frame, pd.DataFrame([full])], ignore_index=True)


def test_a_blank_scenario_needs_sites_and_learners_and_cannot_be_solved() -> None:
    """A blank scenario is valid but not ready: sites and learners are missing, solve waits."""
    t = tables.empty_tables()
    found = steps.steps(t, tables.validate(t))
    assert [s.name for s in found] == list(steps.STEP_NAMES)
    assert [s.done for s in found] == [True, False, False, False]
    assert "a site" in found[1].missing and "a supervisor" in found[1].missing
    assert found[2].missing == "needs a learner"
    assert "no start date" in found[0].note
    assert not steps.ready(t, tables.validate(t))


def test_a_three_learner_build_becomes_ready() -> None:
    """Once a setting, a site, a supervisor, a profession and learners exist, Solve is done."""
    t = tables.empty_tables()
    t.programme["start"] = "2027-09-06"
    t.professions = ["nurse"]
    _with_row(t, "settings", {"id": "stroke", "name": "Stroke"})
    _with_row(t, "sites", {"id": "ward-1", "name": "Ward one", "setting": "stroke",
                           "capacity": "3"})
    _with_row(t, "supervisors", {"site_id": "ward-1", "id": "S1", "name": "Sam",
                                 "profession": "nurse", "capacity": "3"})
    for n in range(1, 4):
        _with_row(t, "learners", {"id": f"L{n}", "name": f"Learner {n}",
                                  "profession": "nurse", "track": "rotation"})
    check = tables.validate(t)
    assert not check.errors, [p.message for p in check.errors]
    assert all(s.done for s in steps.steps(t, check))
    assert steps.ready(t, check)


def test_errors_keep_solve_open_and_say_how_many() -> None:
    """A learner with an unknown profession is an error: Solve says how many to fix."""
    t = tables.from_text((ROOT / "instances" / "demo.yaml").read_text(encoding="utf-8"))
    t.frames["learners"].loc[0, "profession"] = "astronaut"
    solve = steps.steps(t, tables.validate(t))[-1]
    assert not solve.done and "problem(s)" in solve.missing


def test_the_demo_is_ready() -> None:
    """A shipped scenario has every step done."""
    t = tables.from_text((ROOT / "instances" / "demo.yaml").read_text(encoding="utf-8"))
    assert steps.ready(t, tables.validate(t))
