"""History page: saved scenarios, their versions, and which plan came from which version."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rotaplan.access import LOCAL, Role
from rotaplan.runs.jobs import solves
from rotaplan.ui import state
from rotaplan.ui.state import ss


def render() -> None:
    """Draw the page."""
    store = state.store()
    if store.who == LOCAL:  # where the server keeps its database is not for every user
        st.caption(f"Saved in {state.plain(store.url)}")
    scenarios = store.list_scenarios()
    if not scenarios:
        st.info("Nothing saved yet. Scenarios are saved when you upload, edit or solve one.")
        return
    shared = store.who.user != LOCAL.user
    table = pd.DataFrame([{
        "id": s.id, "name": s.name, "versions": s.versions, "runs": s.runs,
        "updated": f"{s.updated_at:%d %b %Y %H:%M}"}
        | ({"team": _team(s.team), "owner": s.owner, "your role": s.role.name.lower()}
           if shared else {}) for s in scenarios])
    st.dataframe(table, hide_index=True, width="stretch")
    ids = [s.id for s in scenarios]
    names = {s.id: f"{s.id} · {s.name}" for s in scenarios}
    current = ss().get("scenario_id")
    chosen = st.selectbox("Scenario", ids, format_func=names.__getitem__, key="hist_scenario",
                          index=ids.index(current) if current in ids else 0)
    info = next(s for s in scenarios if s.id == chosen)
    may_edit = info.role >= Role.EDITOR
    cols = st.columns(4)
    if cols[0].button("Open latest version", key="hist_open"):
        state.open_version(store.latest_version(chosen).id)
        state.go("Scenario")
    if cols[1].button("Duplicate", key="hist_duplicate"):
        copy = store.duplicate(chosen)
        state.open_version(copy.id)
        st.rerun()
    new_name = cols[2].text_input("Rename to", key="hist_name", label_visibility="collapsed",
                                  placeholder="New name")
    if cols[2].button("Rename", key="hist_rename", disabled=not new_name.strip() or not may_edit,
                      help=None if may_edit else "Viewers cannot rename."):
        store.rename(chosen, new_name.strip())
        st.rerun()
    sure = cols[3].checkbox("Yes, delete it and its runs", key="hist_sure")
    if cols[3].button("Delete", key="hist_delete", disabled=not sure or not info.may_delete,
                      help=None if info.may_delete else "Team admins and the owner may delete."):
        store.delete_scenario(chosen)
        for job in solves().live(chosen).values():
            job.cancel()  # deleted: nothing to keep its outcome in
        if ss().get("scenario_id") == chosen:
            state.open_shipped("demo" if "demo" in state.SHIPPED else next(iter(state.SHIPPED)))
        ss().run_id = None
        st.rerun()
    st.markdown("**Versions**")
    versions = store.versions(chosen)
    st.dataframe(pd.DataFrame([{
        "version": v.number, "note": v.note, "runs": v.runs,
        "saved": f"{v.created_at:%d %b %Y %H:%M:%S}"} for v in versions]),
        hide_index=True, width="stretch")
    numbers = {v.number: v.id for v in versions}
    pick = st.selectbox("Open version", list(numbers), key="hist_version")
    if st.button("Open this version", key="hist_open_version"):
        state.open_version(numbers[pick])
        state.go("Scenario")
    runs = [solves().settle(store, r) for r in store.runs(scenario_id=chosen)]
    st.markdown("**Runs** (which plan came from which version)")
    if not runs:
        st.info("No runs of this scenario yet.")
        return
    st.dataframe(pd.DataFrame([{
        "run": r.id, "version": r.version_number, "status": r.status,
        "cost": r.objective, "bound": r.bound, "seconds": round(r.seconds, 1),
        "when": f"{r.created_at:%d %b %Y %H:%M:%S}", "note": r.message or ""} for r in runs]),
        hide_index=True, width="stretch")
    run_ids = [r.id for r in runs]
    shown = st.selectbox("Show run", run_ids, key="hist_run")
    if st.button("Show its results", key="hist_show"):
        ss().run_id = shown
        state.go("Results")


def _team(team: str) -> str:
    """A team as people say it (a personal team is "just me")."""
    return "just me" if team.startswith("user:") else team
