"""rotaplan configurator (first version): open a scenario, solve, see the plan.

Run with ``make ui``. Every solve goes through :func:`rotaplan.pipeline.solve_and_write`,
so a plan is shown only after rotaplan's checker has verified it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from models import ScenarioError, parse_scenario_text
from rotaplan.pipeline import EXIT_OK, solve_and_write
from rotaplan.report import kpis, placement_costs
from solver import SolveOptions

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {p.stem: p for p in sorted((ROOT / "instances").glob("*.yaml"))}
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _scenario_text() -> tuple[str, str]:
    """The chosen scenario's name and YAML text (a shipped one or an upload)."""
    names = list(SHIPPED)
    choice = st.sidebar.selectbox("Shipped scenario", names,
                                  index=names.index("demo") if "demo" in names else 0)
    upload = st.sidebar.file_uploader("…or upload a scenario YAML", type=["yaml", "yml"])
    if upload is not None:
        data = upload.getvalue()
        if len(data) > MAX_UPLOAD_BYTES:
            st.sidebar.error("That file is larger than 2 MB; please upload a smaller scenario.")
        else:
            try:
                return upload.name, data.decode("utf-8")
            except UnicodeDecodeError:
                st.sidebar.error("That file is not UTF-8 text.")
    return f"{choice}.yaml", SHIPPED[choice].read_text(encoding="utf-8")


def main() -> None:
    """Render the app."""
    st.set_page_config(page_title="rotaplan", layout="wide")
    st.title("rotaplan")
    st.caption("Rotation and fellowship plans for NHS integrated care systems")
    name, text = _scenario_text()
    try:
        loaded = parse_scenario_text(text, name)
    except ScenarioError as exc:
        st.error(f"{len(exc.errors)} problem(s) in {name}; fix them and upload again:")
        st.code(exc.render(), language=None)
        return
    sc = loaded.scenario
    for warning in loaded.warnings:
        st.warning(warning.render(name))
    fellows = sum(1 for x in sc.learners if x.track == "fellowship")
    st.write(f"**{sc.programme.name}**: {len(sc.learners)} learners ({fellows} fellows), "
             f"{len(sc.sites)} sites, {sc.programme.blocks} blocks")
    time_limit = st.sidebar.slider("Time limit (seconds)", 5, 300, 60)
    key = (name, hash(text), time_limit)
    if st.button("Solve", type="primary"):
        with st.spinner("Solving…"), tempfile.TemporaryDirectory() as out:
            outcome = solve_and_write(sc, out, SolveOptions(time_limit=float(time_limit)))
        st.session_state["outcome"] = (key, outcome.exit_code, outcome.result)
    stored = st.session_state.get("outcome")
    if stored is None or stored[0] != key:
        return
    _, exit_code, result = stored
    if exit_code != EXIT_OK or result.plan is None:
        st.error(f"No plan: {result.status}")
        if result.explanation is not None:
            st.code(result.explanation.render(), language=None)
        return
    k = kpis(sc, result.plan)
    cols = st.columns(4)
    cols[0].metric("Status", result.status)
    cols[1].metric("Objective", f"{result.objective:g}")
    cols[2].metric("Placed", f"{k.placed}/{k.learners}")
    cols[3].metric("First choice", f"{k.first_choice}/{k.with_preferences}")
    placements = placement_costs(sc, result.plan)
    rotation = placements.pivot_table(index="learner_id", columns="block", values="site_id",
                                      aggfunc=lambda s: " + ".join(s))
    st.subheader("Placements by block")
    st.dataframe(rotation, width="stretch")
    st.subheader("Weekly timetables")
    learner = st.selectbox("Learner", [x.id for x in sc.learners])
    table = result.plan.timetable
    st.dataframe(pd.DataFrame(table[table["learner_id"] == learner]), width="stretch",
                 hide_index=True)


main()
