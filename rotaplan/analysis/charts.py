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
                 "setting_name", "organisation", "supervisor_id", "supervisors", "preference"]
GANTT_ROW = 24
"""Pixels per learner row of the Gantt chart."""
GANTT_CHROME = 170
"""Pixels of the Gantt chart's title, legend and axes. Streamlit fits a chart drawn at the
page's width into its height (autosize ``fit``), so the height must hold them as well as
the rows: at 180 pixels in all, three learners' rows were squeezed to nothing (measured in
Chromium, Streamlit 1.67)."""
MIN_GANTT_HEIGHT = GANTT_CHROME + 4 * GANTT_ROW
"""Pixels: a chart of one to four learners is as tall as one of four."""
RANK_LABELS = ["1st choice", "2nd choice", "3rd choice", "4th or later", "not listed",
               "no preferences"]


def _block_dates(scenario: Scenario, block: int) -> tuple[dt.date, dt.date] | None:
    start = scenario.programme.start
    if start is None:
        return None
    weeks = scenario.programme.block_weeks
    first = start + dt.timedelta(weeks=weeks * (block - 1))
    return first, first + dt.timedelta(weeks=weeks, days=-1)


def label(name: str | None, ident: str) -> str:
    """Something named as people know it, with its id: ``Alex Green (L001)``, or the id."""
    return f"{name} ({ident})" if name else ident


def block_label(scenario: Scenario, block: int) -> str:
    """A block as a heading: ``Block 2 · 6 Dec 2027`` (its first day), or ``Block 2``."""
    dates = _block_dates(scenario, block)
    return f"Block {block}" if dates is None else f"Block {block} · {dates[0]:%-d %b %Y}"


def _supervisor_names(scenario: Scenario) -> dict[str, str]:
    return {sup.id: label(sup.name, sup.id) for site in scenario.sites
            for sup in site.supervisors}


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
    supervisor_names = _supervisor_names(scenario)
    rows = []
    for rec in a.to_dict("records"):
        learner = learners[rec["learner_id"]]
        site = sites[rec["site_id"]]
        first = int(rec["block"])
        last = first + (scenario.placement_length(site) - 1
                        if rec["role"] == Role.ROTATION else 0)
        start_dates, end_dates = _block_dates(scenario, first), _block_dates(scenario, last)
        sups = named.get((learner.id, str(rec["role"]), first), [str(rec["supervisor_id"])])
        setting = scenario.setting_by_id.get(site.setting)
        rows.append({
            "learner": label(learner.name, learner.id),
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
            "setting_name": label(setting.name if setting else None, site.setting),
            "organisation": site.organisation_id,
            "supervisor_id": ", ".join(dict.fromkeys(sups)),
            "supervisors": ", ".join(supervisor_names.get(x, x)
                                     for x in dict.fromkeys(sups) if x),
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


def gantt(scenario: Scenario, plan: Plan, data: pd.DataFrame | None = None) -> alt.LayerChart:
    """One bar per placement, learner by learner, coloured by care setting, labelled with the
    site.

    The x axis is dated from ``programme.start`` (block numbers without one); a
    placement of several blocks is one bar. A fellow has two rows, base and
    partner. The height grows with the learners shown, never below
    :data:`MIN_GANTT_HEIGHT`.

    Parameters
    ----------
    scenario, plan
        The plan to draw.
    data
        Rows of :func:`gantt_data` to draw (a filtered part); all of them when None.
    """
    data = (gantt_data(scenario, plan) if data is None else data).copy()
    data["row"] = [lab if role == "rotation" else f"{lab} ({role})"
                   for lab, role in zip(data["learner"], data["role"], strict=True)]
    blocks = scenario.programme.blocks
    rows = max(1, data["row"].nunique()) if len(data) else 1
    tooltip = [alt.Tooltip(f"{field}:{kind}", title=heading) for field, kind, heading in [
        ("learner", "N", "Learner"), ("profession", "N", "Profession"), ("role", "N", "Role"),
        ("block", "Q", "First block"), ("last_block", "Q", "Last block"),
        ("from", "N", "From"), ("to", "N", "To"), ("site", "N", "Site"),
        ("site_id", "N", "Site id"), ("setting_name", "N", "Setting"),
        ("organisation", "N", "Organisation"), ("supervisors", "N", "Supervisors"),
        ("preference", "N", "Preference")]]
    title = "Rotations: where each learner is, block by block"
    y = alt.Y("row:N", title=None, sort=None,
              axis=alt.Axis(labelLimit=320, labelOverlap=False))
    if scenario.programme.start is not None:
        first = _block_dates(scenario, 1)
        last = _block_dates(scenario, blocks)
        assert first is not None and last is not None
        data["bar_from"] = pd.to_datetime(data["from"]) if len(data) else pd.Series(
            dtype="datetime64[ns]")
        data["bar_to"] = (pd.to_datetime(data["to"]) + pd.Timedelta(days=1)) if len(
            data) else pd.Series(dtype="datetime64[ns]")
        x = alt.X("bar_from:T", title="Date (block starts marked)",
                  scale=alt.Scale(domain=[first[0].isoformat(),
                                          (last[1] + dt.timedelta(days=1)).isoformat()]),
                  axis=alt.Axis(format="%d %b %Y", values=[
                      _block_dates(scenario, b)[0].isoformat()  # type: ignore[index]
                      for b in scenario.programme.block_numbers], labelAngle=0))
        x2 = "bar_to:T"
        label_at = "datum.bar_from"
        text_x = alt.X("label_at:T")
    else:
        x = alt.X("block_start:Q", title="Block (the programme has no start date)",
                  scale=alt.Scale(domain=[0.5, blocks + 0.5]),
                  axis=alt.Axis(values=list(range(1, blocks + 1)), tickMinStep=1))
        x2 = "block_end:Q"
        label_at = "datum.block_start + 0.04"
        text_x = alt.X("label_at:Q")
    base = alt.Chart(data, title=title).encode(x=x, y=y, tooltip=tooltip)
    bars = base.mark_bar(cornerRadius=3, height={"band": 0.8}, stroke="white",
                         strokeWidth=1).encode(
        x2=x2,
        color=alt.Color("setting_name:N", title="Care setting",
                        scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="top", labelLimit=400)),
    )
    # a site's name is cut (…) to one block's width, not drawn over the next bar
    labels = base.mark_text(align="left", dx=4, fontSize=10, color="white",
                            limit=alt.ExprRef(f"max(20, width / {max(1, blocks)} - 10)")).encode(
        x=text_x, text="site:N",
    ).transform_calculate(label_at=label_at)
    return (bars + labels).properties(height=max(MIN_GANTT_HEIGHT,
                                                 GANTT_ROW * rows + GANTT_CHROME))


def filter_gantt(data: pd.DataFrame, settings: list[str] | None = None,
                 sites: list[str] | None = None) -> pd.DataFrame:
    """The placements of :func:`gantt_data` at the given settings and sites (ids).

    A learner with a placement that matches keeps every one of their bars, so
    each row still shows their whole year. An empty or None list does not filter.
    """
    keep = pd.Series(True, index=data.index)
    if settings:
        keep &= data["setting"].isin(settings)
    if sites:
        keep &= data["site_id"].isin(sites)
    wanted = set(data.loc[keep, "learner_id"])
    return data[data["learner_id"].isin(wanted)]


def site_view_data(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Who is at each site, block by block: one row per site, one column per block.

    Each cell lists the learners there in that block as ``Name (id)``,
    separated by commas (a fellow's partner sessions are marked ``partner``),
    and ends with the count against the capacity, ``[2/3]``.
    """
    columns = {b: block_label(scenario, b) for b in scenario.programme.block_numbers}
    at: dict[tuple[str, int], list[str]] = {}
    learners = scenario.learner_by_id
    a = plan.assignments
    for lid, block, role, sid in zip(a["learner_id"], a["block"], a["role"], a["site_id"],
                                     strict=True):
        if not sid:
            continue
        learner = learners.get(str(lid))
        who = label(learner.name if learner else None, str(lid))
        if role == Role.PARTNER:
            who += f" ({Role.PARTNER})"
        at.setdefault((str(sid), int(block)), []).append(who)
    rows = []
    for site in scenario.sites:
        row = {"site": label(site.name, site.id), "setting": site.setting}
        for block, heading in columns.items():
            names = sorted(at.get((site.id, block), []))
            cap = site.capacity_in(block)
            count = f"[{len(names)}/{cap}]" if cap is not None else f"[{len(names)}]"
            row[heading] = (", ".join(names) + " " + count) if names else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=["site", "setting", *columns.values()])


UTILISATION_SCALE = alt.Scale(scheme="yelloworangered", domain=[0, 1], clamp=True)
"""Colours of utilisation (load / capacity): pale yellow when empty, dark red when full."""
NO_LIMIT_GREY = "#d9d9d9"
"""The colour of a cell without a capacity (a site with no limit, a supervisor away)."""


def _utilisation_cells(base: alt.Chart) -> alt.LayerChart:
    """Cells coloured by ``share`` (utilisation), grey where it is null."""
    grey = base.transform_filter("datum.share == null").mark_rect(
        color=NO_LIMIT_GREY, stroke="white")
    coloured = base.transform_filter("datum.share != null").mark_rect(stroke="white").encode(
        color=alt.Color("share:Q", title="Utilisation", scale=UTILISATION_SCALE,
                        legend=alt.Legend(format=".0%")))
    return grey + coloured


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
                "site_label": label(site.name, site.id),
            })
    return pd.DataFrame(rows)


def occupancy_heatmap(scenario: Scenario, plan: Plan) -> alt.LayerChart:
    """Site × block heatmap coloured by utilisation (learners / capacity; labels used/capacity).

    A site without a capacity limit is grey.
    """
    data = occupancy_data(scenario, plan)
    base = alt.Chart(data, title="Site occupancy by block (learners / capacity)").encode(
        x=alt.X("block:O", title="Block", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("site_label:N", title=None, sort=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=320)),
        tooltip=["site", "site_id", "setting", "block", "learners", "capacity",
                 alt.Tooltip("share:Q", title="Utilisation", format=".0%")],
    )
    cells = _utilisation_cells(base)
    labels = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition("datum.share > 0.6", alt.value("white"), alt.value("black")))
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
                    "supervisor_id": sup.id, "supervisor": label(sup.name, sup.id),
                    "site_id": site.id, "profession": sup.profession,
                    "block": block, "learners": used, "capacity": 0 if away else sup.capacity,
                    "label": "away" if away else f"{used}/{sup.capacity}",
                    "share": None if away or not sup.capacity else used / sup.capacity,
                })
    return pd.DataFrame(rows)


def supervisor_load(scenario: Scenario, plan: Plan) -> alt.LayerChart:
    """Supervisor × block heatmap coloured by utilisation (learners / capacity), supervisors
    named as ``Name (id)``; blocks away are grey."""
    data = supervisor_load_data(scenario, plan)
    base = alt.Chart(data, title="Supervisor load by block (learners / capacity)").encode(
        x=alt.X("block:O", title="Block", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("supervisor:N", title=None, sort=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=320)),
        tooltip=["supervisor", "site_id", "profession", "block", "learners", "capacity",
                 alt.Tooltip("share:Q", title="Utilisation", format=".0%")],
    )
    cells = _utilisation_cells(base)
    labels = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition("datum.share > 0.6", alt.value("white"), alt.value("black")))
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
