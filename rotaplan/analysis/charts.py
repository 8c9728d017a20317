"""Tables and Altair charts of a plan, for the configurator and reports.

Each ``*_data`` function returns a tidy DataFrame (tested on its own); each
chart function draws one of them. Charts are plain :class:`altair.Chart`
objects, so they render in Streamlit, notebooks and HTML exports alike.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

from rotaplan.analysis.kpis import placement_costs
from rotaplan.models import START_BLOCK, Plan, Scenario
from rotaplan.models.vocabulary import Role

GANTT_COLUMNS = ["learner", "learner_id", "profession", "role", "block", "last_block",
                 "block_start", "block_end", "from", "to", "site", "site_id", "setting",
                 "organisation", "supervisor_id", "preference"]
RANK_LABELS = ["1st choice", "2nd choice", "3rd choice", "4th or later", "not listed",
               "no preferences"]


def _block_dates(scenario: Scenario, block: int) -> tuple[dt.date, dt.date] | None:
    start = scenario.programme.start
    if start is None:
        return None
    weeks = scenario.programme.block_weeks
    first = start + dt.timedelta(weeks=weeks * (block - 1))
    return first, first + dt.timedelta(weeks=weeks, days=-1)


def gantt_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """One row per placement: learner, role, block span, site, setting, organisation, rank.

    A placement of several blocks (§9) is one row from its first to its last
    block; its named supervisors (one per block) are listed together.
    """
    a = placement_costs(scenario, plan)
    learners = scenario.learner_by_id
    sites = scenario.site_by_id
    named: dict[tuple[str, str, int], list[str]] = {}
    full = plan.assignments
    firsts = full[START_BLOCK] if START_BLOCK in full.columns else full["block"]
    for lid, role, first, sup in zip(full["learner_id"], full["role"], firsts,
                                     full["supervisor_id"], strict=True):
        named.setdefault((str(lid), str(role), int(first)), []).append(str(sup))
    rows = []
    for rec in a.to_dict("records"):
        learner = learners[rec["learner_id"]]
        site = sites[rec["site_id"]]
        first = int(rec["block"])
        last = first + (scenario.placement_length(site) - 1
                        if rec["role"] == Role.ROTATION else 0)
        start_dates, end_dates = _block_dates(scenario, first), _block_dates(scenario, last)
        sups = named.get((learner.id, str(rec["role"]), first), [str(rec["supervisor_id"])])
        rows.append({
            "learner": f"{learner.id} · {learner.name}" if learner.name else learner.id,
            "learner_id": learner.id,
            "profession": learner.profession,
            "role": rec["role"],
            "block": first,
            "last_block": last,
            "block_start": first - 0.5,
            "block_end": last + 0.5,
            "from": start_dates[0].isoformat() if start_dates else "",
            "to": end_dates[1].isoformat() if end_dates else "",
            "site": site.name or site.id,
            "site_id": site.id,
            "setting": site.setting,
            "organisation": site.organisation_id,
            "supervisor_id": ", ".join(dict.fromkeys(sups)),
            "preference": _rank_label(scenario, learner.id, int(rec["preference_cost"])),
        })
    return pd.DataFrame(rows, columns=GANTT_COLUMNS)


def _rank_label(scenario: Scenario, learner_id: str, cost: int) -> str:
    if scenario.objective.preference == "score":
        return f"score {-cost}"
    prefs = scenario.learner_by_id[learner_id].preferences
    if not prefs:
        return RANK_LABELS[5]
    if cost >= len(prefs):
        return RANK_LABELS[4]
    return RANK_LABELS[min(cost, 3)]


def gantt(scenario: Scenario, plan: Plan) -> alt.LayerChart:
    """Learner × block bars coloured by care setting, labelled with the site.

    A fellow has two rows, base and partner.
    """
    data = gantt_data(scenario, plan)
    if len(data):
        data["row"] = [lab if role == "rotation" else f"{lab} ({role})"
                       for lab, role in zip(data["learner"], data["role"], strict=True)]
    else:
        data["row"] = []
    blocks = scenario.programme.blocks
    rows = max(1, data["row"].nunique()) if len(data) else 1
    tooltip = ["learner", "profession", "role", "block", "last_block", "from", "to", "site",
               "setting", "organisation", "supervisor_id", "preference"]
    base = alt.Chart(data, title="Rotations: where each learner is, block by block").encode(
        x=alt.X("block_start:Q", title="Block",
                scale=alt.Scale(domain=[0.5, blocks + 0.5]),
                axis=alt.Axis(values=list(range(1, blocks + 1)), tickMinStep=1)),
        y=alt.Y("row:N", title=None, sort=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        tooltip=tooltip,
    )
    bars = base.mark_bar(cornerRadius=3, height={"band": 0.85}).encode(
        x2="block_end:Q",
        color=alt.Color("setting:N", title="Care setting",
                        scale=alt.Scale(scheme="tableau10")),
    )
    labels = base.mark_text(align="left", dx=-0.0, fontSize=10, color="white").encode(
        x=alt.X("label_at:Q"), text="site_id:N",
    ).transform_calculate(label_at="datum.block_start + 0.04")
    return (bars + labels).properties(height=22 * rows + 40)


def occupancy_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Learners placed at each site in each block, against the site's capacity."""
    counts = plan.assignments.groupby(["site_id", "block"]).size()
    rows = []
    for site in scenario.sites:
        for block in scenario.programme.block_numbers:
            used = int(counts.get((site.id, block), 0))
            cap = site.capacity_in(block)
            rows.append({
                "site_id": site.id, "site": site.name or site.id, "setting": site.setting,
                "block": block, "learners": used, "capacity": cap,
                "label": f"{used}/{cap}" if cap is not None else str(used),
                "full": cap is not None and used >= cap,
                "share": used / cap if cap else None,
            })
    return pd.DataFrame(rows)


def occupancy_heatmap(scenario: Scenario, plan: Plan) -> alt.LayerChart:
    """Site × block heatmap of learners placed (labels: used/capacity)."""
    data = occupancy_data(scenario, plan)
    base = alt.Chart(data, title="Site occupancy by block (learners / capacity)").encode(
        x=alt.X("block:O", title="Block", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("site_id:N", title=None, sort=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["site", "setting", "block", "learners", "capacity"],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("learners:Q", title="Learners", scale=alt.Scale(scheme="blues")))
    labels = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition("datum.learners > 1", alt.value("white"), alt.value("black")))
    return (cells + labels).properties(height=alt.Step(24))


def supervisor_load_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Learners each supervisor supervises in each block, against their capacity."""
    counts = plan.assignments[plan.assignments["supervisor_id"] != ""].groupby(
        ["supervisor_id", "block"]).size()
    rows = []
    for site in scenario.sites:
        for sup in site.supervisors:
            for block in scenario.programme.block_numbers:
                away = block in sup.unavailable_blocks
                used = int(counts.get((sup.id, block), 0))
                rows.append({
                    "supervisor_id": sup.id, "site_id": site.id, "profession": sup.profession,
                    "block": block, "learners": used, "capacity": 0 if away else sup.capacity,
                    "label": "away" if away else f"{used}/{sup.capacity}",
                })
    return pd.DataFrame(rows)


def supervisor_load(scenario: Scenario, plan: Plan) -> alt.LayerChart:
    """Supervisor × block heatmap of learners supervised (labels: used/capacity)."""
    data = supervisor_load_data(scenario, plan)
    base = alt.Chart(data, title="Supervisor load by block (learners / capacity)").encode(
        x=alt.X("block:O", title="Block", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("supervisor_id:N", title=None, sort=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["supervisor_id", "site_id", "profession", "block", "learners", "capacity"],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("learners:Q", title="Learners", scale=alt.Scale(scheme="greens")))
    labels = base.mark_text(fontSize=10).encode(text="label:N")
    return (cells + labels).properties(height=alt.Step(18))


def room_use_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Learners present at each site in each block and session, against its rooms."""
    t = plan.timetable[plan.timetable["site_id"] != ""]
    counts = t.groupby(["site_id", "block", "session"]).size()
    rows = []
    for site in scenario.sites:
        open_sessions = set(site.open_in(scenario.programme))
        for block in scenario.programme.block_numbers:
            for session in scenario.programme.sessions:
                used = int(counts.get((site.id, block, session), 0))
                rooms = site.rooms_at(session) if session in open_sessions else 0
                rows.append({
                    "site_id": site.id, "block": block, "session": session,
                    "learners": used, "rooms": rooms,
                    "label": (f"{used}/{rooms}" if rooms is not None else str(used))
                    if session in open_sessions else "closed",
                    "at_limit": rooms is not None and used >= rooms > 0,
                })
    return pd.DataFrame(rows)


def room_use(scenario: Scenario, plan: Plan, block: int) -> alt.LayerChart:
    """Site × session heatmap of learners present in one block (labels: used/rooms)."""
    data = room_use_data(scenario, plan)
    data = data[data["block"] == block]
    base = alt.Chart(data, title=f"Room use in block {block} (learners / rooms)").encode(
        x=alt.X("session:N", title="Session", sort=list(scenario.programme.sessions),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("site_id:N", title=None, sort=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["site_id", "session", "learners", "rooms"],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("learners:Q", title="Learners", scale=alt.Scale(scheme="oranges")),
        stroke=alt.condition("datum.at_limit", alt.value("#b30000"), alt.value(None)),
        strokeWidth=alt.condition("datum.at_limit", alt.value(2), alt.value(0)))
    labels = base.mark_text(fontSize=10).encode(text="label:N")
    return (cells + labels).properties(height=alt.Step(24))


def preference_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Placements counted by how the learner ranked the place, per profession."""
    g = gantt_data(scenario, plan)
    if not len(g):
        return pd.DataFrame(columns=["preference", "profession", "placements"])
    out = g.groupby(["preference", "profession"]).size().rename("placements").reset_index()
    return out


def preference_chart(scenario: Scenario, plan: Plan) -> alt.Chart:
    """Bar chart of placements by preference rank, stacked by profession."""
    data = preference_data(scenario, plan)
    return (
        alt.Chart(data, title="How placements match learners' preferences")
        .mark_bar()
        .encode(
            x=alt.X("preference:N", title=None, sort=RANK_LABELS, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("placements:Q", title="Placements"),
            color=alt.Color("profession:N", title="Profession"),
            tooltip=["preference", "profession", "placements"],
        )
        .properties(height=260)
    )


def weekly_timetable(scenario: Scenario, plan: Plan, learner_id: str) -> pd.DataFrame:
    """A learner's week in each block: rows are blocks, columns the sessions."""
    t = plan.timetable[plan.timetable["learner_id"] == learner_id]
    sessions = list(scenario.programme.sessions)
    grid = pd.DataFrame("", index=[f"Block {b}" for b in scenario.programme.block_numbers],
                        columns=sessions, dtype=object)
    for rec in t.to_dict("records"):
        if rec["activity"] == "teaching":
            text = "teaching"
        else:
            text = rec["site_id"]
            if rec["activity"] != "clinical":
                text = f"{rec['site_id']} ({rec['activity']})"
        grid.loc[f"Block {int(rec['block'])}", rec["session"]] = text
    return grid
