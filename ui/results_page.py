"""Results page: the checked plan as KPIs, charts, timetables, changes and downloads."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pandas as pd
import streamlit as st

from rotaplan.analysis import charts
from rotaplan.analysis.compare import (
    diff_scenarios,
    learner_change_table,
    learner_changes,
    scenario_change_table,
    utilisation,
)
from rotaplan.analysis.kpis import kpis
from rotaplan.io.ics import calendars
from rotaplan.io.xlsx import xlsx_bytes
from rotaplan.models import Plan, Scenario
from rotaplan.models.vocabulary import Status
from rotaplan.runs.jobs import LIVE, RunStatus
from rotaplan.runs.store import RunInfo
from rotaplan.ui import state
from rotaplan.ui.solve_page import KEEP_CLOSE_TO
from rotaplan.ui.state import RunView, ss


def render() -> None:
    """Draw the page."""
    run_id = ss().get("run_id")
    if run_id is None:
        st.info("No plan yet: solve the scenario on the Solve page.")
        return
    try:
        view = state.run_view(run_id)
    except KeyError:
        st.info("That run was deleted. Solve again, or open another run from History.")
        return
    run = view.run
    st.caption(f"Run {run.id} of **{state.plain(run.scenario_name)}** version "
               f"{run.version_number}, {run.created_at:%d %b %Y %H:%M} UTC")
    if run.status in LIVE:
        doing = "waiting for a free solver" if run.status == RunStatus.QUEUED else "being solved"
        st.info(f"This run is {doing}: see the Solve page. Its results appear here when it "
                "ends.")
        return
    if run.message:
        (st.warning if view.plan is not None else st.error)(state.plain(run.message))
    if view.plan is None or view.scenario is None:
        _no_plan(view)
        return
    sc, plan = view.scenario, view.plan
    _headline(view, sc, plan)
    tabs = st.tabs(["Rotations", "Who is where", "Sites", "Supervisors", "Rooms", "Timetables",
                    "Preferences", "What changed", "Downloads"])
    with tabs[0]:
        _rotations(sc, plan)
    with tabs[1]:
        _who_is_where(sc, plan)
    with tabs[2]:
        st.altair_chart(charts.occupancy_heatmap(sc, plan), width="stretch")
        st.caption("Colour: how full each site is (learners / capacity); grey: no limit.")
    with tabs[3]:
        st.altair_chart(charts.supervisor_load(sc, plan), width="stretch")
        st.caption("Colour: how full each supervisor is (learners / capacity); grey: away.")
    with tabs[4]:
        block = st.selectbox("Block", sc.programme.block_numbers, key="room_block")
        st.altair_chart(charts.room_use(sc, plan, int(block)), width="stretch")
        st.caption("Red outline: every room is in use in that session.")
    with tabs[5]:
        ids = [x.id for x in sc.learners]
        names = {x.id: charts.label(x.name, x.id) for x in sc.learners}
        learner = st.selectbox("Learner", ids, format_func=names.__getitem__, key="learner")
        st.dataframe(charts.weekly_timetable(sc, plan, learner), width="stretch")
    with tabs[6]:
        st.altair_chart(charts.preference_chart(sc, plan), width="stretch")
    with tabs[7]:
        _changes(view)
    with tabs[8]:
        _downloads(view, sc, plan)


GANTT_PAGE = 60
"""Learners per page of the Gantt chart (a larger cohort is paged, or filtered)."""


def _rotations(sc: Scenario, plan: Plan) -> None:
    """The Gantt chart, filtered by care setting and site, a page of learners at a time."""
    data = charts.gantt_data(sc, plan)
    settings = {x.id: charts.label(x.name, x.id) for x in sc.settings}
    sites = {x.id: charts.label(x.name, x.id) for x in sc.sites}
    cols = st.columns([2, 3, 1])
    wanted_settings = cols[0].multiselect("Care settings", list(settings),
                                          format_func=settings.__getitem__,
                                          key="gantt_settings",
                                          placeholder="All care settings")
    wanted_sites = cols[1].multiselect("Sites", list(sites), format_func=sites.__getitem__,
                                       key="gantt_sites", placeholder="All sites")
    shown = charts.filter_gantt(data, wanted_settings, wanted_sites)
    learners = list(dict.fromkeys(shown["learner_id"]))
    pages = max(1, -(-len(learners) // GANTT_PAGE))
    page = 1
    if pages > 1:
        page = int(cols[2].number_input("Page", 1, pages, 1, key="gantt_page",
                                        help=f"{GANTT_PAGE} learners a page"))
    part = learners[(page - 1) * GANTT_PAGE: page * GANTT_PAGE]
    total = data["learner_id"].nunique()
    st.caption(f"{len(part)} of {total} placed learners shown"
               + (f" (page {page} of {pages})" if pages > 1 else "")
               + ". Hover over a bar for its dates, site, supervisors and preference.")
    placed = set(data["learner_id"])
    missing = [x.id for x in sc.learners if x.id not in placed]
    if missing:  # no bar to draw: named here, never silently dropped (issue 12 A2)
        st.caption(state.plain(f"Left out, so without a bar ({len(missing)}): "
                               + ", ".join(state.learner_label(sc, x) for x in missing)))
    if not part:
        st.info("No placement matches the filter.")
        return
    st.altair_chart(charts.gantt(sc, plan, shown[shown["learner_id"].isin(part)]),
                    width="stretch")


def _who_is_where(sc: Scenario, plan: Plan) -> None:
    """The site view: who is at each site, block by block."""
    st.caption("Who is at each site in each block; [placed/capacity] after the names.")
    st.dataframe(charts.site_view_data(sc, plan), hide_index=True, width="stretch",
                 row_height=60 if len(sc.learners) > 3 * len(sc.sites) else None)


TERM_WORDS = {"unplaced": "learners left out (penalty)", "preference": "preferences",
              "organisation_changes": "organisation changes", "idle_blocks": "idle blocks",
              "worst_learner": "worst-off learner",
              "changes": "placements changed from the earlier plan",
              "session_changes": "weekly sessions changed from the earlier plan (tie-break)"}
"""Objective terms in plain words."""


def _headline(view: RunView, sc: Scenario, plan: Plan) -> None:
    run = view.run
    k = kpis(sc, plan)
    proven = run.status == Status.OPTIMAL
    st.success(f"**{run.status}**: "
               + ("the best possible plan (proven). " if proven else "a good plan, not proven "
                  "best within the time limit. ")
               + "Every rule was verified by rotaplan's independent checker.")
    cols = st.columns(6)
    cols[0].metric("Placed", f"{k.placed}/{k.learners}")
    cols[1].metric("First choice", f"{k.first_choice}/{k.learners_with_preferences}",
                   help="Learners with preferences placed at least once at their first choice")
    share = "–" if k.top3_share is None else f"{100 * k.top3_share:.0f}%"
    cols[2].metric("Top-3 placements", share,
                   help=f"{k.top3_placements} of {k.placements_with_preferences} placements")
    cols[3].metric("Worst-off learner", k.worst_learner_cost,
                   help="Largest preference cost of one learner over the year (0 is best)")
    used = utilisation(sc, plan)
    cols[4].metric("Site places used", "–" if used is None else f"{used:g}%")
    gap = "" if run.bound is None or not run.objective else (
        f"gap {100 * max(0.0, run.objective - run.bound) / abs(run.objective):.1f}%")
    terms = run.summary.get("terms") or {}
    split = ", ".join(f"{TERM_WORDS.get(name, name)} {value:g}"
                      for name, value in terms.items())
    cols[5].metric("Cost", "–" if run.objective is None else f"{run.objective:g}",
                   help=f"Lower is better: {split or 'no terms'}. Bound {run.bound}. {gap} "
                        f"Solved in {run.seconds:.1f} s.")
    if split:
        st.caption(f"Cost = {split}.")
    if k.left_out:
        st.warning(f"{len(k.left_out)} learner(s) left out (no placement this year): "
                   + state.plain(", ".join(state.learner_label(sc, x) for x in k.left_out)))


def _no_plan(view: RunView) -> None:
    run = view.run
    st.error(f"No plan: {state.plain(run.status)}.")
    if run.explanation:
        st.markdown("**Why:**")
        st.code(run.explanation, language=None)
        st.info("The 'Why no plan?' page explains it in more depth and tests single fixes.")
    elif run.status == Status.UNKNOWN:
        st.info("No plan was found within the time limit. Try a longer limit on the Solve page.")


def _previous_runs(view: RunView) -> list[int]:
    runs = state.store().runs(scenario_id=view.run.scenario_id)
    return [r.id for r in runs if r.id != view.run.id and r.has_plan]


def _changes(view: RunView) -> None:
    others = _previous_runs(view)
    if not others:
        st.info("This is the first plan of this scenario. Change something (a room count, a "
                "supervisor) and solve again to see what changed and why.")
        return
    older = [r for r in others if r < view.run.id] or others
    store = state.store()
    labels = {r: run_label(store.run(r)) for r in others}
    other = st.selectbox("Compare with", others, index=others.index(older[0]),
                         format_func=labels.__getitem__, key="compare_with")
    before = state.run_view(other)
    if before.scenario is None or before.plan is None or view.scenario is None:
        st.warning("That run has no plan to compare.")
        return
    changes = diff_scenarios(before.scenario, view.scenario)
    st.markdown("**What you changed in the scenario**")
    if changes:
        st.dataframe(scenario_change_table(changes), hide_index=True, width="stretch")
    else:
        st.caption("Nothing: both runs solved the same scenario.")
    assert view.plan is not None
    a, b = kpis(before.scenario, before.plan), kpis(view.scenario, view.plan)
    figures = pd.DataFrame([
        ("Cost (lower is better)", before.run.objective, view.run.objective),
        ("Learners placed", a.placed, b.placed),
        ("First choice", a.first_choice, b.first_choice),
        ("Top-3 placements", a.top3_placements, b.top3_placements),
        ("Worst-off learner cost", a.worst_learner_cost, b.worst_learner_cost),
    ], columns=["Key figure", f"run {before.run.id}", f"run {view.run.id}"])
    figures["change"] = figures.iloc[:, 2] - figures.iloc[:, 1]
    st.markdown("**How the plan's key figures moved**")
    st.dataframe(figures, hide_index=True, width="stretch")
    moved = learner_changes(before.plan, view.plan)
    who = {c["learner_id"] for c in moved}
    st.markdown(f"**Who moved**: {len(who)} of {len(view.scenario.learners)} learners")
    if moved:
        st.dataframe(learner_change_table(moved, before.scenario, view.scenario),
                     hide_index=True, width="stretch")
    else:
        st.caption("Nobody: every learner has the same placements in both plans.")
    if view.run.options.get(KEEP_CLOSE_TO) is None and len(who) > len(
            view.scenario.learners) // 2:
        st.info("Many learners moved. To keep a new plan close to an earlier one, tick "
                "'Keep the plan close to the last run' on the Solve page.")


def run_label(run: RunInfo) -> str:
    """A run in a few words: ``run 4 (version 2, OPTIMAL, cost 167)``."""
    cost = "" if run.objective is None else f", cost {run.objective:g}"
    return f"run {run.id} (version {run.version_number}, {run.status}{cost})"


def _downloads(view: RunView, sc: Scenario, plan: Plan) -> None:
    run = view.run
    stem = f"{run.scenario_name or 'plan'}-run{run.id}".replace(" ", "-")
    st.markdown("The plan files follow the rotaplan contract, so anyone can check them "
                "with an independent checker.")
    cols = st.columns(3)
    csv = view.tables
    cols[0].download_button("assignments.csv", csv.assignments_csv if csv else "",
                            file_name="assignments.csv", mime="text/csv", key="dl_assign")
    cols[1].download_button("timetable.csv", csv.timetable_csv if csv else "",
                            file_name="timetable.csv", mime="text/csv", key="dl_time")
    cols[2].download_button("summary.json", json.dumps(run.summary, indent=2) + "\n",
                            file_name="summary.json", mime="application/json",
                            key="dl_summary")
    cols = st.columns(3)
    cols[0].download_button("Plan as a zip (CSV, summary, scenario)", _zip(view),
                            file_name=f"{stem}.zip", mime="application/zip", key="dl_zip")
    cols[1].download_button("Excel workbook",
                            _once(run.id, "xlsx", lambda: xlsx_bytes(sc, plan, run.summary)),
                            file_name=f"{stem}.xlsx", key="dl_xlsx",
                            mime="application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet")
    if sc.programme.start is None:
        cols[2].caption("Calendars need a programme start date (Scenario page).")
    else:
        cols[2].download_button("Calendars (.ics, one per learner and supervisor)",
                                _once(run.id, "ics", lambda: _calendar_zip(sc, plan)),
                                file_name=f"{stem}-calendars.zip",
                                mime="application/zip", key="dl_ics")


def _once(run_id: int, kind: str, make: Callable[[], bytes]) -> bytes:
    """A download's bytes, made once per run and session (the page redraws often)."""
    cache: dict[tuple[int, str], bytes] = ss().setdefault("downloads", {})
    if (run_id, kind) not in cache:
        cache[(run_id, kind)] = make()
    return cache[(run_id, kind)]


def _zip(view: RunView) -> bytes:
    run = view.run
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("assignments.csv", view.tables.assignments_csv if view.tables else "")
        z.writestr("timetable.csv", view.tables.timetable_csv if view.tables else "")
        z.writestr("summary.json", json.dumps(run.summary, indent=2) + "\n")
        z.writestr("scenario.yaml", view.yaml_text)
    return buffer.getvalue()


def _calendar_zip(sc: Scenario, plan: Plan) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(calendars(sc, plan).items()):
            z.writestr(name, data)
    return buffer.getvalue()
