"""The step bar: what a scenario still needs before it can be solved.

A first-time user, or one who pressed Start blank, sees four steps (programme,
settings and sites, learners, solve), each done or saying what is missing in a
few words, so a blank page never says "Ready to solve" with nobody to place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from rotaplan.io import tables

PROGRAMME, SITES, LEARNERS, SOLVE = "Programme", "Settings and sites", "Learners", "Solve"
STEP_NAMES = (PROGRAMME, SITES, LEARNERS, SOLVE)


@dataclass(frozen=True)
class Step:
    """One step of building a scenario.

    Attributes
    ----------
    name
        The step, as shown (one of :data:`STEP_NAMES`).
    done
        Whether nothing is missing.
    missing
        What is missing, in a few plain words (empty when done).
    note
        Advice that does not stop the step being done (a programme without a
        start date has no dates on its charts).
    """

    name: str
    done: bool
    missing: str = ""
    note: str = ""


def _ids(frame: pd.DataFrame, column: str = "id") -> list[str]:
    return [str(v).strip() for v in frame[column] if str(v).strip()]


def steps(scenario_tables: tables.ScenarioTables, check: tables.Validation) -> list[Step]:
    """The steps of building ``scenario_tables``, in order, each done or saying what is missing.

    Parameters
    ----------
    scenario_tables
        The tables being edited.
    check
        Their validation (:func:`rotaplan.io.tables.validate`).

    Returns
    -------
    list of Step
        Programme, settings and sites, learners, solve. Solve is done only when
        the earlier steps are and the tables have no errors.
    """
    frames = scenario_tables.frames
    programme = scenario_tables.programme
    errors = [p for p in check.problems if p.severity == "error"]
    prog_missing = []
    if not str(programme.get("name", "")).strip():
        prog_missing.append("a name")
    if any(p.table == "programme" for p in errors):
        prog_missing.append("its fields fixed")
    no_start = not str(programme.get("start", "")).strip()
    settings, sites = _ids(frames["settings"]), _ids(frames["sites"])
    supervisors = _ids(frames["supervisors"])
    site_missing = []
    if not settings:
        site_missing.append("a care setting")
    if not sites:
        site_missing.append("a site")
    if not supervisors:
        site_missing.append("a supervisor")
    if not scenario_tables.professions:
        site_missing.append("a profession")
    learners = _ids(frames["learners"])
    out = [
        Step(PROGRAMME, not prog_missing, _needs(prog_missing),
             "no start date: plans show block numbers, not dates" if no_start else ""),
        Step(SITES, not site_missing, _needs(site_missing)),
        Step(LEARNERS, bool(learners), "" if learners else "needs a learner"),
    ]
    if not all(s.done for s in out):
        solve = Step(SOLVE, False, "needs the steps before it")
    elif errors:
        solve = Step(SOLVE, False, f"fix {len(errors)} problem(s)")
    else:
        solve = Step(SOLVE, True)
    return [*out, solve]


def _needs(parts: list[str]) -> str:
    return "needs " + ", ".join(parts) if parts else ""


def ready(scenario_tables: tables.ScenarioTables, check: tables.Validation) -> bool:
    """Whether the scenario can be solved: every step before Solve done, and no errors."""
    return steps(scenario_tables, check)[-1].done


DONE_MARK = ":green[:material/check_circle:]"
NEXT_MARK = ":orange[:material/arrow_circle_right:]"
TODO_MARK = ":gray[:material/radio_button_unchecked:]"
"""Step marks: Material icons (emoji need a font a server's browser may lack)."""


def show(step_list: list[Step]) -> None:
    """Draw the step bar: one column per step, done or what it needs."""
    if all(s.done for s in step_list):
        return
    cols = st.columns(len(step_list))
    first_open = next(i for i, s in enumerate(step_list) if not s.done)
    for i, (col, step) in enumerate(zip(cols, step_list, strict=True)):
        mark = DONE_MARK if step.done else (NEXT_MARK if i == first_open else TODO_MARK)
        col.markdown(f"{mark} **{i + 1}. {step.name}**")
        if step.missing:
            col.caption(step.missing)
        elif step.note:
            col.caption(step.note)
