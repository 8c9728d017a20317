"""Solve page: objective and search settings, a live progress display, Cancel."""

from __future__ import annotations

import os
from dataclasses import replace

import pandas as pd
import streamlit as st

from rotaplan.runs.jobs import DEFAULT_WORKERS, SolveJob, solves
from rotaplan.runs.store import RunInfo
from rotaplan.solver import SolveOptions
from rotaplan.solver.extensions import KeepAndMinimiseChanges
from rotaplan.ui import state, steps
from rotaplan.ui.state import ss

KEEP_CLOSE_TO = "keep_close_to"
"""Run option: the run whose plan this solve was kept close to (its id)."""

FAIRNESS = {"none": "Lowest total preference cost",
            "minimax": "Fairest first (best worst-off learner), then lowest total"}


def render() -> None:
    """Draw the page."""
    check = state.validation()
    job = state.current_job()
    st.subheader("What to optimise")
    _objective()
    st.subheader("Search")
    cores = os.cpu_count() or 2
    cols = st.columns(3)
    cols[0].slider("Time limit (seconds)", 5, 600, 60, step=5, key="time_limit",
                   help="The solver stops at this limit and keeps the best plan found; "
                        "small and medium cohorts are usually proven optimal well before.")
    cols[1].number_input("Solver threads", 1, cores, min(DEFAULT_WORKERS, cores), key="workers",
                         help=f"This machine has {cores} cores.")
    cols[2].number_input("Random seed", 0, 10_000, 0, key="seed",
                         help="The same scenario and seed give the same plan.")
    last = _last_plan_run()
    st.checkbox("Keep the plan close to the last run", key="keep_close",
                disabled=last is None,
                help="Change as few placements as possible from the last plan of this "
                     "scenario (it is weighted above every preference), then make the best "
                     "plan with those changes. Use it after a small change, so learners "
                     "who need not move keep their placements.")
    if last is None:
        st.caption("Keeping close needs an earlier plan of this scenario: solve once first.")
    else:
        st.caption(f"The last run: {state.plain(_run_words(last))}.")
    step_list = steps.steps(ss().tables, check)
    if check.errors:
        st.error(f"The scenario has {len(check.errors)} problem(s); fix them on the "
                 "Scenario page before solving.")
    elif not step_list[-1].done:
        st.info("Not ready to solve yet: the scenario still needs a few things.")
        steps.show(step_list)
    blocked = not step_list[-1].done or check.scenario is None or job is not None
    if st.button("Solve", type="primary", disabled=blocked, key="solve") and not blocked:
        assert check.scenario is not None
        options = SolveOptions(time_limit=float(ss().time_limit), workers=int(ss().workers),
                               seed=int(ss().seed))
        extra: dict[str, int] = {}
        old = state.run_view(last.id).plan if last is not None and ss().keep_close else None
        if last is not None and old is not None:
            options = replace(options, hint=False, candidate_limit=None, reference=old,
                              extend=KeepAndMinimiseChanges(old))
            extra[KEEP_CLOSE_TO] = last.id
        state.start_job(check.scenario, options, extra)
        st.rerun()
    if solves().note:
        st.warning(state.plain(solves().note))
    if state.current_job() is not None:
        progress()
    elif ss().get("run_id") is not None:
        run = state.store().run(ss().run_id)
        st.info(f"Last run: {run.status}"
                + (f", objective {run.objective:g}" if run.objective is not None else "")
                + f" in {run.seconds:.1f} s. See the Results page.")


def _last_plan_run() -> RunInfo | None:
    """The run shown last, when it is a plan of the scenario open (None otherwise)."""
    run_id = ss().get("run_id")
    if run_id is None or ss().get("scenario_id") is None:
        return None
    try:
        run = state.store().run(run_id)
    except KeyError:
        return None
    return run if run.has_plan and run.scenario_id == ss().scenario_id else None


def _run_words(run: RunInfo) -> str:
    """A run in a few words: ``run 4 of version 2 (OPTIMAL, cost 167)``."""
    cost = "" if run.objective is None else f", cost {run.objective:g}"
    return f"run {run.id} of version {run.version_number} ({run.status}{cost})"


def _objective() -> None:
    objective = ss().tables.objective
    gen = ss().gen.get("forms", 0)
    cols = st.columns(3)
    fairness = objective.get("fairness") or "none"
    cols[0].radio("Priority", list(FAIRNESS), format_func=FAIRNESS.__getitem__,
                  index=list(FAIRNESS).index(fairness) if fairness in FAIRNESS else 0,
                  key=f"fairness-{gen}", on_change=_set, args=("fairness", f"fairness-{gen}"))
    cols[1].checkbox("Allow learners to be left out when the programme is full",
                     bool(objective.get("allow_unplaced", False)), key=f"unplaced-{gen}",
                     on_change=_set, args=("allow_unplaced", f"unplaced-{gen}"),
                     help="Without this, a programme that cannot place everyone has no plan "
                          "(see 'Why no plan?').")
    penalty = objective.get("unplaced_penalty", 1000)
    cols[2].number_input("Cost of leaving one learner out", 0, 1_000_000,
                         penalty if isinstance(penalty, int) else 1000, step=100,
                         key=f"penalty-{gen}", on_change=_set,
                         args=("unplaced_penalty", f"penalty-{gen}"),
                         help="In preference-rank units: 1 is one step down a learner's list.",
                         disabled=not objective.get("allow_unplaced", False))


def _set(field: str, key: str) -> None:
    value = ss()[key]
    defaults = {"fairness": "none", "allow_unplaced": False, "unplaced_penalty": 1000}
    if not state.shown("Solve") or ss().tables.objective.get(field, defaults[field]) == value:
        return  # a stale callback of a widget not on screen, or no change
    if value == defaults[field]:
        ss().tables.objective.pop(field, None)  # keep the YAML minimal: the default
    else:
        ss().tables.objective[field] = value
    state.changed()


@st.fragment(run_every=0.5)
def progress() -> None:
    """Live progress of the solve, or its place in line (redrawn every half second)."""
    job = state.current_job()
    if job is None:  # it has ended (and stored its run): the app opens it
        st.rerun(scope="app")
        return
    if job.waiting:
        _in_line(job)
        return
    log = job.poll()
    if not state.progress_bar(job, "Solving", job.options.time_limit):
        return  # the app records the run and opens Results
    cols = st.columns(4)
    cols[0].metric("Best plan (cost)", "—" if log.objective is None else f"{log.objective:g}")
    cols[1].metric("Proven lower bound", "—" if log.bound is None else f"{log.bound:g}")
    gap = None
    if log.objective is not None and log.bound is not None and log.objective:
        gap = max(0.0, (log.objective - log.bound) / abs(log.objective))
    cols[2].metric("Gap", "—" if gap is None else f"{100 * gap:.1f}%")
    cols[3].metric("Phase", {"fairness": "fairness first", "total": "total cost"}.get(
        log.phase or "", "starting"))
    points = [(e.seconds, e.objective, e.bound) for e in log.events if e.phase == log.phase]
    if points:
        frame = pd.DataFrame(points, columns=["seconds", "best plan", "bound"])
        st.line_chart(frame.ffill(), x="seconds", height=180)
    if st.button("Cancel", key="cancel", disabled=job.cancelled,
                 help="Stop the search now and keep the best plan found so far."):
        job.cancel()


def _in_line(job: SolveJob) -> None:
    """A solve waiting for a free solver: its place in line, and Cancel."""
    slots = solves().slots
    st.info(f"Waiting for a free solver: number {job.position or 1} in line. This server "
            f"runs at most {slots.limit} solve(s) at once ({slots.running} running now); "
            "yours starts as soon as one ends. You can leave this page or refresh it.")
    if st.button("Cancel", key="cancel", disabled=job.cancelled,
                 help="Leave the line; nothing is solved."):
        job.cancel()
