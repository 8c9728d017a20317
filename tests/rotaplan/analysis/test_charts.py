"""``rotaplan.analysis.charts``: tidy plan frames checked against the plan; charts that build.

The contract example (or the demo when ../shared is absent) is solved once;
every frame is compared with counts taken directly from the plan's rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from rotaplan.analysis import charts
from rotaplan.io.plan_dir import read_plan
from rotaplan.models import Plan, Scenario, load_scenario
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.helpers import INSTANCES, SHARED_EXAMPLE

SOURCE = SHARED_EXAMPLE if SHARED_EXAMPLE.exists() else INSTANCES / "demo.yaml"


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Plan]:
    """The scenario and its plan, as read back from the written plan files."""
    sc = load_scenario(SOURCE)
    out = tmp_path_factory.mktemp("plan")
    outcome = solve_and_write(sc, out, SolveOptions(time_limit=30, workers=1, seed=0))
    assert outcome.exit_code == 0, outcome.result.status
    return sc, read_plan(out)


@pytest.fixture(scope="module")
def sc(solved: tuple[Scenario, Plan]) -> Scenario:
    """The solved scenario."""
    return solved[0]


@pytest.fixture(scope="module")
def plan(solved: tuple[Scenario, Plan]) -> Plan:
    """Its plan."""
    return solved[1]


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts."""
    return [{str(k): v for k, v in rec.items()} for rec in frame.to_dict("records")]


def rank_label(sc: Scenario, learner_id: str, site_id: str) -> str:
    """The preference label of a placement, from the contract's cost (§7)."""
    learner = sc.learner_by_id[learner_id]
    if not learner.preferences:
        return "no preferences"
    cost = sc.preference_cost(learner, sc.site_by_id[site_id])
    if cost >= len(learner.preferences):
        return "not listed"
    return ["1st choice", "2nd choice", "3rd choice"][cost] if cost < 3 else "4th or later"


def titles(spec: Any) -> list[str]:
    """Every title in a Vega-Lite spec (top level and layers)."""
    found: list[str] = []
    if isinstance(spec, dict):
        title = spec.get("title")
        if isinstance(title, str):
            found.append(title)
        elif isinstance(title, dict) and isinstance(title.get("text"), str):
            found.append(title["text"])
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for part in spec.get(key) or []:
                found += titles(part)
    return found


# --------------------------------------------------------------------------- gantt


def test_gantt_one_row_per_assignment(sc: Scenario, plan: Plan) -> None:
    """One row per placement, with the same learner, block, role, site and supervisor."""
    g = charts.gantt_data(sc, plan)
    assert len(g) == len(plan.assignments) > 0
    got = sorted(zip(g["learner_id"], g["block"], g["role"], g["site_id"], g["supervisor_id"],
                     strict=True))
    a = plan.assignments
    want = sorted(zip(a["learner_id"], a["block"], a["role"], a["site_id"], a["supervisor_id"],
                      strict=True))
    assert got == want


def test_gantt_spans_dates_and_ranks(sc: Scenario, plan: Plan) -> None:
    """Bars span block ± 0.5, dates follow the programme start, ranks follow §7."""
    weeks = sc.programme.block_weeks
    for rec in rows(charts.gantt_data(sc, plan)):
        b = rec["block"]
        assert (rec["block_start"], rec["block_end"]) == (b - 0.5, b + 0.5)
        assert rec["setting"] == sc.site_by_id[rec["site_id"]].setting
        assert rec["profession"] == sc.learner_by_id[rec["learner_id"]].profession
        assert rec["preference"] == rank_label(sc, rec["learner_id"], rec["site_id"])
        if sc.programme.start is not None:
            first = sc.programme.start + dt.timedelta(weeks=weeks * (b - 1))
            assert rec["from"] == first.isoformat()
            assert rec["to"] == (first + dt.timedelta(weeks=weeks, days=-1)).isoformat()


# --------------------------------------------------------------------------- occupancy


def test_occupancy_counts_and_full(sc: Scenario, plan: Plan) -> None:
    """Per site and block: placements counted, ``full`` exactly where used >= capacity."""
    placed = Counter(zip(plan.assignments["site_id"], plan.assignments["block"], strict=True))
    occ = charts.occupancy_data(sc, plan)
    assert len(occ) == len(sc.sites) * sc.programme.blocks
    for rec in rows(occ):
        site = sc.site_by_id[rec["site_id"]]
        used = placed[rec["site_id"], rec["block"]]
        cap = site.capacity_in(rec["block"])
        assert rec["learners"] == used
        assert rec["full"] == (cap is not None and used >= cap)
        if cap is not None:
            assert used <= cap  # the plan is valid
            assert rec["label"] == f"{used}/{cap}"
        else:
            assert pd.isna(rec["capacity"]) and rec["label"] == str(used)
    per_block = occ.groupby("block")["learners"].sum().to_dict()
    assert per_block == dict(Counter(plan.assignments["block"]))
    assert occ["full"].any()  # the example fills some site


# --------------------------------------------------------------------------- supervisors


def test_supervisor_load_counts_and_away(sc: Scenario, plan: Plan) -> None:
    """Learners per supervisor and block match the plan; unavailable blocks say ``away``."""
    named = Counter(zip(plan.assignments["supervisor_id"], plan.assignments["block"],
                        strict=True))
    load = charts.supervisor_load_data(sc, plan)
    sups = {s.id: s for site in sc.sites for s in site.supervisors}
    assert len(load) == len(sups) * sc.programme.blocks
    saw_away = False
    for rec in rows(load):
        sup = sups[rec["supervisor_id"]]
        assert rec["site_id"] == sc.supervisor_site[sup.id]
        assert rec["learners"] == named[sup.id, rec["block"]]
        if rec["block"] in sup.unavailable_blocks:
            saw_away = True
            assert rec["label"] == "away" and rec["capacity"] == 0 and rec["learners"] == 0
        else:
            assert rec["label"] == f"{rec['learners']}/{sup.capacity}"
            assert rec["learners"] <= sup.capacity == rec["capacity"]
    assert saw_away  # the example has a supervisor away in block 2
    assert load["learners"].sum() == len(plan.assignments)


# --------------------------------------------------------------------------- rooms


def test_room_use_matches_timetable(sc: Scenario, plan: Plan) -> None:
    """Clinical sessions per site, block and session match the timetable; never over rooms."""
    t = plan.timetable
    clinical = t[t["activity"] == "clinical"]
    present = Counter(zip(clinical["site_id"], clinical["block"], clinical["session"],
                          strict=True))
    use = charts.room_use_data(sc, plan)
    assert len(use) == len(sc.sites) * sc.programme.blocks * len(sc.programme.sessions)
    for rec in rows(use):
        site = sc.site_by_id[rec["site_id"]]
        used = present[rec["site_id"], rec["block"], rec["session"]]
        assert rec["learners"] == used
        if rec["session"] not in site.open_in(sc.programme):
            assert rec["label"] == "closed" and rec["rooms"] == 0 and used == 0
        elif site.rooms is None:
            assert pd.isna(rec["rooms"]) and not rec["at_limit"]
        else:
            assert rec["rooms"] == site.rooms_at(rec["session"])
            assert used <= rec["rooms"]  # the plan is valid
            assert rec["at_limit"] == (used >= rec["rooms"] > 0)
    assert use["learners"].sum() == len(clinical)


def test_room_use_with_a_rooms_map(sc: Scenario, plan: Plan) -> None:
    """A site with a rooms map shows its default and its exceptions."""
    use = charts.room_use_data(sc, plan)
    mapped = [s for s in sc.sites if isinstance(s.rooms, dict)]
    assert mapped
    site = mapped[0]
    mine = use[(use["site_id"] == site.id) & (use["block"] == 1)]
    open_sessions = site.open_in(sc.programme)
    assert [int(r) for r, s in zip(mine["rooms"], mine["session"], strict=True)
            if s in open_sessions] == [site.rooms_at(s) for s in open_sessions]


# --------------------------------------------------------------------------- preferences


def test_preference_totals(sc: Scenario, plan: Plan) -> None:
    """Placements by rank add up to all placements, per profession and per rank."""
    pref = charts.preference_data(sc, plan)
    assert pref["placements"].sum() == len(plan.assignments)
    want = Counter(rank_label(sc, lid, sid) for lid, sid in
                   zip(plan.assignments["learner_id"], plan.assignments["site_id"], strict=True))
    assert pref.groupby("preference")["placements"].sum().to_dict() == dict(want)
    assert set(pref["preference"]) <= set(charts.RANK_LABELS)
    profs = Counter(sc.learner_by_id[lid].profession for lid in plan.assignments["learner_id"])
    assert pref.groupby("profession")["placements"].sum().to_dict() == dict(profs)


# --------------------------------------------------------------------------- weekly timetable


def test_weekly_timetable_shape_and_teaching(sc: Scenario, plan: Plan) -> None:
    """Rows ``Block 1..n``, session columns in order, teaching in teaching sessions."""
    assert sc.programme.teaching_sessions
    for learner in sc.learners:
        grid = charts.weekly_timetable(sc, plan, learner.id)
        assert list(grid.index) == [f"Block {b}" for b in sc.programme.block_numbers]
        assert list(grid.columns) == list(sc.programme.sessions)
        mine = plan.timetable[plan.timetable["learner_id"] == learner.id]
        assert (grid != "").sum().sum() == len(mine)
        available = learner.available_in(sc.programme)
        for b in learner.blocks_in(sc.programme):
            for session in sc.programme.teaching_sessions:
                if session in available:
                    assert grid.at[f"Block {b}", session] == "teaching"
            for session in sc.programme.sessions:
                if session not in available:
                    assert grid.at[f"Block {b}", session] == ""


def test_weekly_timetable_sites(sc: Scenario, plan: Plan) -> None:
    """Clinical cells name the site of that session in the timetable."""
    t = plan.timetable
    for rec in rows(t[t["activity"] == "clinical"].head(60)):
        grid = charts.weekly_timetable(sc, plan, rec["learner_id"])
        assert grid.at[f"Block {rec['block']}", rec["session"]] == rec["site_id"]


def test_weekly_timetable_fellow_partner_sessions(sc: Scenario, plan: Plan) -> None:
    """A fellow's week shows exactly ``partner_sessions`` cells at the partner site."""
    fellows = [x for x in sc.learners if x.track == "fellowship"]
    if not fellows or sc.tracks.fellowship is None:
        pytest.skip("no fellows in this scenario")
    a = plan.assignments
    for fellow in fellows:
        grid = charts.weekly_timetable(sc, plan, fellow.id)
        for b in fellow.blocks_in(sc.programme):
            partner = a[(a["learner_id"] == fellow.id) & (a["block"] == b)
                        & (a["role"] == "partner")]["site_id"].item()
            cells = list(grid.loc[f"Block {b}"])
            assert cells.count(partner) == sc.tracks.fellowship.partner_sessions


def test_weekly_timetable_unknown_learner_is_blank(sc: Scenario, plan: Plan) -> None:
    """A learner with no rows gets an all-blank week."""
    grid = charts.weekly_timetable(sc, plan, "nobody")
    assert grid.shape == (sc.programme.blocks, len(sc.programme.sessions))
    assert (grid == "").all().all()


# --------------------------------------------------------------------------- charts

CHARTS: list[tuple[str, Callable[[Scenario, Plan], Any], str]] = [
    ("gantt", charts.gantt, "Rotations"),
    ("occupancy", charts.occupancy_heatmap, "occupancy"),
    ("supervisor-load", charts.supervisor_load, "Supervisor load"),
    ("room-use", lambda s, p: charts.room_use(s, p, 2), "Room use in block 2"),
    ("preferences", charts.preference_chart, "preferences"),
]


@pytest.mark.parametrize(("build", "words"), [pytest.param(b, w, id=i) for i, b, w in CHARTS])
def test_charts_build_with_titles(sc: Scenario, plan: Plan,
                                  build: Callable[[Scenario, Plan], Any], words: str) -> None:
    """Each chart serialises to Vega-Lite, titled with what it shows."""
    spec = build(sc, plan).to_dict()
    assert "$schema" in spec
    assert any(words.lower() in t.lower() for t in titles(spec)), titles(spec)


def test_room_use_chart_shows_one_block(sc: Scenario, plan: Plan) -> None:
    """``room_use`` draws only the requested block's cells."""
    data = charts.room_use(sc, plan, 1).data
    assert isinstance(data, pd.DataFrame)
    assert set(data["block"]) == {1}
    assert len(data) == len(sc.sites) * len(sc.programme.sessions)


# --------------------------------------------------------------------------- empty plan


def test_empty_plan_frames(sc: Scenario) -> None:
    """An empty plan: no placements, zero counts, blank timetables."""
    empty = Plan.empty()
    assert len(charts.gantt_data(sc, empty)) == 0
    assert len(charts.preference_data(sc, empty)) == 0
    assert list(charts.preference_data(sc, empty).columns) == ["preference", "profession",
                                                               "placements"]
    occ = charts.occupancy_data(sc, empty)
    assert len(occ) == len(sc.sites) * sc.programme.blocks
    assert occ["learners"].sum() == 0 and not occ["full"].any()
    load = charts.supervisor_load_data(sc, empty)
    assert load["learners"].sum() == 0
    assert charts.room_use_data(sc, empty)["learners"].sum() == 0
    assert (charts.weekly_timetable(sc, empty, sc.learners[0].id) == "").all().all()


EMPTY_CHARTS = [pytest.param(b, id=i) for i, b, _ in CHARTS]


@pytest.mark.filterwarnings("ignore:I don't know how to infer vegalite type")
@pytest.mark.parametrize("build", EMPTY_CHARTS)
def test_empty_plan_charts_build(sc: Scenario, build: Callable[[Scenario, Plan], Any]) -> None:
    """Every chart still builds and serialises for a plan with no rows."""
    assert "$schema" in build(sc, Plan.empty()).to_dict()


# --------------------------------------------------------------------------- readable results


def _spec_layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every layer of a Vega-Lite spec, nested layers flattened."""
    out: list[dict[str, Any]] = []
    for part in spec.get("layer") or []:
        out += _spec_layers(part) if "layer" in part else [part]
    return out


def test_gantt_is_dated_from_the_programme_start(sc: Scenario, plan: Plan) -> None:
    """With a start date the Gantt's x axis is time, from block 1's first day to the last
    block's end; each bar runs from its placement's first day to the day after its last."""
    assert sc.programme.start is not None
    spec = charts.gantt(sc, plan).to_dict()
    bars = _spec_layers(spec)[0]
    x = bars["encoding"]["x"]
    assert x["type"] == "temporal"
    end = sc.programme.start + dt.timedelta(weeks=sc.programme.block_weeks * sc.programme.blocks)
    assert x["scale"]["domain"] == [sc.programme.start.isoformat(), end.isoformat()]
    assert bars["encoding"]["x2"]["field"] == "bar_to"


def test_gantt_without_a_start_counts_blocks(sc: Scenario, plan: Plan) -> None:
    """Without a start date the Gantt's x axis is block numbers."""
    undated = sc.model_copy(update={"programme": sc.programme.model_copy(
        update={"start": None})})
    bars = _spec_layers(charts.gantt(undated, plan).to_dict())[0]
    assert bars["encoding"]["x"]["type"] == "quantitative"


def test_gantt_height_suits_three_learners_and_grows(sc: Scenario, plan: Plan) -> None:
    """A learner or three still get the minimum height; every further row adds height."""
    data = charts.gantt_data(sc, plan)
    rotating = sorted(set(data.loc[data["role"] == "rotation", "learner_id"]))
    for few in (1, 3):
        part = data[data["learner_id"].isin(rotating[:few])]
        assert charts.gantt(sc, plan, part).to_dict()["height"] == charts.MIN_GANTT_HEIGHT
    rows = {(lid, role) for lid, role in zip(data["learner_id"], data["role"],
                                                           strict=True)}
    assert charts.gantt(sc, plan).to_dict()["height"] == max(
        charts.MIN_GANTT_HEIGHT, charts.GANTT_ROW * len(rows) + charts.GANTT_CHROME)


def test_gantt_filter_keeps_whole_years_of_matching_learners(sc: Scenario, plan: Plan) -> None:
    """Filtering by a setting or a site keeps every bar of each learner placed there."""
    data = charts.gantt_data(sc, plan)
    setting = data["setting"].iloc[0]
    shown = charts.filter_gantt(data, settings=[setting])
    wanted = set(data.loc[data["setting"] == setting, "learner_id"])
    assert set(shown["learner_id"]) == wanted
    assert len(shown) == int(data["learner_id"].isin(wanted).sum())
    site = data["site_id"].iloc[0]
    assert set(charts.filter_gantt(data, sites=[site])["learner_id"]) == set(
        data.loc[data["site_id"] == site, "learner_id"])
    assert charts.filter_gantt(data).equals(data)


def test_gantt_names_learners_sites_and_supervisors(sc: Scenario, plan: Plan) -> None:
    """Bars carry the learner's and site's names beside their ids, and supervisor names."""
    sups = {sup.id: sup for site in sc.sites for sup in site.supervisors}
    for rec in rows(charts.gantt_data(sc, plan)):
        learner = sc.learner_by_id[rec["learner_id"]]
        assert rec["learner"] == charts.label(learner.name, learner.id)
        for sid in rec["supervisor_id"].split(", "):
            assert charts.label(sups[sid].name, sid) in rec["supervisors"]


def test_site_view_lists_who_is_where(sc: Scenario, plan: Plan) -> None:
    """Each site and block cell names exactly the learners placed there, with the count."""
    view = charts.site_view_data(sc, plan)
    assert len(view) == len(sc.sites)
    a = plan.assignments
    for i, site in enumerate(sc.sites):
        for block in sc.programme.block_numbers:
            cell = view.iloc[i][charts.block_label(sc, block)]
            here = a[(a["site_id"] == site.id) & (a["block"] == block)]
            for lid in here["learner_id"]:
                assert f"({lid})" in cell
            assert (f"[{len(here)}" in cell) if len(here) else cell == ""


def test_heatmaps_are_coloured_by_utilisation(sc: Scenario, plan: Plan) -> None:
    """Occupancy and supervisor load are coloured by load / capacity on a 0-100% scale."""
    for build in (charts.occupancy_heatmap, charts.supervisor_load):
        colours = [layer["encoding"]["color"] for layer in _spec_layers(build(sc, plan).to_dict())
                   if "color" in layer.get("encoding", {})
                   and "field" in layer["encoding"]["color"]]
        assert colours and colours[0]["field"] == "share"
        assert colours[0]["scale"]["domain"] == [0, 1]
    occ = charts.occupancy_data(sc, plan)
    capped = occ[occ["capacity"].notna()]
    assert (capped["share"] == capped["learners"] / capped["capacity"]).all()
