"""rotaplan configurator: build a cohort, solve, understand and share the plan.

Run with ``make ui``. Every solve goes through :func:`rotaplan.runs.pipeline.solve_and_write`
on a background thread, so a plan is shown only after rotaplan's independent
checker has verified it. Scenarios and runs are saved in a database
(``ROTAPLAN_DB_URL``, default a local SQLite file).
"""

from __future__ import annotations

import streamlit as st

from rotaplan.access import AccessDeniedError
from rotaplan.ui import (
    history_page,
    insight_page,
    results_page,
    scenario_page,
    signin,
    solve_page,
    state,
    steps,
)
from rotaplan.ui.state import ss


def main() -> None:
    """Render the app."""
    st.set_page_config(page_title="rotaplan", page_icon="🗓️", layout="wide")
    who = signin.gate()  # stops the run until the person may use the app
    state.init()
    state.fold_edits()  # first: a grid's edits count even when the page changes in this run
    state.finish_job()
    if ss().get("goto"):
        ss().page = ss().goto
        ss().goto = None
    state.enter_page(ss().get("page") or state.PAGES[0])
    if ss().get("edit_note"):
        st.toast(f"Saved: {state.plain(ss().edit_note)}")
        ss().edit_note = None
    with st.sidebar:
        st.title("rotaplan")
        st.caption("Rotation and fellowship plans for NHS integrated care systems")
        signin.sidebar(who)
        page = st.radio("Page", state.PAGES, key="page")
        st.divider()
        st.markdown(f"**Scenario:** {state.plain(ss().source)}")
        check = state.validation()
        if check.errors:
            st.markdown(f":red[{len(check.errors)} problem(s) to fix]")
        elif check.scenario is not None and not steps.ready(ss().tables, check):
            st.markdown(":orange[not ready: see the steps on the Scenario page]")
        elif check.scenario is not None:
            st.markdown(f":green[valid: {len(check.scenario.learners)} learners, "
                        f"{len(check.scenario.sites)} sites]")
        job = state.current_job()
        if job is not None:
            st.markdown(f"Waiting for a free solver ({job.position or 1} in line)…"
                        if job.waiting else f"Solving… {job.elapsed:.0f} s")
    if ss().get("notice"):
        st.info(state.plain(ss().notice))
        ss().notice = None
    st.header(page)
    try:
        {
            "Scenario": scenario_page.render,
            "Solve": solve_page.render,
            "Results": results_page.render,
            "Capacity": insight_page.capacity,
            "Why no plan?": insight_page.explanation,
            "History": history_page.render,
        }[page]()
    except AccessDeniedError as exc:  # a role that does not allow the change
        st.warning(f"Not saved: {exc}.")
    except Exception as exc:  # a message for the user, never a traceback
        if type(exc).__module__.startswith("streamlit"):
            raise  # rerun and stop requests are Streamlit's own control flow
        st.error(f"Something went wrong: {state.plain(f'{type(exc).__name__}: {exc}')}. "
                 "Your scenario is saved; please report this with the scenario file.")


main()
