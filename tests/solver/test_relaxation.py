"""The aggregate relaxation: a valid and tight bound, and the cheapest combined changes."""

from __future__ import annotations

from typing import Any

import pytest

from rotaplan.analysis.capacity import group_bottlenecks
from rotaplan.models import Scenario, load_scenario
from rotaplan.models.edits import Newcomer, changed, with_newcomers
from rotaplan.solver import SolveOptions, solve
from rotaplan.solver.capacity import (
    candidate_bound,
    combined_changes,
    maximise,
    relaxation_bound,
    saturated,
    unit_edit,
)
from rotaplan.solver.relaxation import SUPERVISOR_CAPACITY, Unit
from tests.helpers import FELLOWSHIP, INSTANCES, learner, scenario, scenario_from, site, sup

NURSE = Newcomer("nurse")
FELLOW = Newcomer("nurse", track="fellowship")
SESSIONS = ["Mon-AM", "Mon-PM", "Tue-AM"]


def _fellow_sites(ward_open: list[str]) -> Scenario:
    """A surgery (base, 2 rooms, open Mon) and a ward (partner, 2 rooms, open ``ward_open``)."""
    return scenario_from(scenario(
        [site("surgery", "primary", sups=[sup("gp-sam", capacity=9)], rooms=2,
              open_sessions=["Mon-AM", "Mon-PM"]),
         site("ward", "acute", sups=[sup("rn-jo", capacity=9)], rooms=2,
              open_sessions=ward_open)],
        [], sessions=SESSIONS, fellowship=FELLOWSHIP,
        rotation={"cover": []}))


def test_a_fellow_cannot_be_at_base_and_partner_in_one_session() -> None:
    """Rooms alone would seat two fellows; base and partner both open only on Monday leave
    no session for the partner, and the relaxation proves 0, as the full model does."""
    sc = _fellow_sites(["Mon-AM"])
    assert relaxation_bound(sc, FELLOW, 5, workers=1) == 0
    best = maximise(sc, FELLOW, workers=1, relax=False, offered=3)
    assert (best.status, best.count) == ("OPTIMAL", 0)


def test_fellows_fill_the_rooms_when_the_partner_opens_another_session() -> None:
    """With the ward also open on Tuesday, two fellows fit (two rooms a session), proven."""
    sc = _fellow_sites(["Mon-AM", "Tue-AM"])
    assert relaxation_bound(sc, FELLOW, 5, workers=1) == 2
    best = maximise(sc, FELLOW, workers=1)
    assert (best.status, best.count, best.bound) == ("OPTIMAL", 2, 2)


@pytest.mark.parametrize("data", [
    scenario([site("ward", sups=[sup("sam", capacity=4)])], [learner("L1"), learner("L2")]),
    scenario([site("ward", sups=[sup("sam", capacity=9)], rooms={"default": 3, "Mon-PM": 1})],
             [], sessions=SESSIONS),
    scenario([site("ward", sups=[sup("a", capacity=2)], capacity=3),
              site("clinic", "community", sups=[sup("b", capacity=1)])],
             [learner("L1"), learner("L2", pinned={1: "clinic", 2: "ward"})], blocks=2,
             rotation={"cover": ["acute", "community"]}),
], ids=["supervisor", "rooms", "cover-and-site-capacity"])
def test_the_relaxation_bound_is_the_maximum_on_small_scenarios(data: dict[str, Any]) -> None:
    """On small scenarios with known maxima the relaxation's bound equals the full
    model's proven maximum (it is never below it)."""
    sc = scenario_from(data)
    full = maximise(sc, NURSE, workers=1, relax=False)
    assert full.status == "OPTIMAL"
    assert relaxation_bound(sc, NURSE, candidate_bound(sc, NURSE), workers=1) == full.count


@pytest.mark.parametrize("profession", ["nurse", "physiotherapist", "paramedic"])
def test_the_relaxation_never_cuts_off_a_plan_on_the_demo(profession: str) -> None:
    """For demo rotation learners the relaxation's bound is at least the count the full
    model (without the bound) places, and maximise then proves that count."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    newcomer = Newcomer(profession)
    full = maximise(sc, newcomer, workers=2, relax=False, time_limit=20)
    assert full.count is not None
    bound = relaxation_bound(sc, newcomer, candidate_bound(sc, newcomer), workers=2)
    assert bound >= full.count
    best = maximise(sc, newcomer, workers=2, time_limit=20)
    assert best.status == "OPTIMAL" and best.count == bound >= full.count


def test_one_more_supervised_place_is_the_cheapest_change_for_one_supervisor() -> None:
    """With one supervisor full, the cheapest change for one more nurse is one more place
    with that supervisor: proven fewest, and re-solving proves it lets exactly one more in."""
    sc = scenario_from(scenario([site("ward", sups=[sup("sam", capacity=3)])], [learner("L1")]))
    base = maximise(sc, NURSE, workers=1)
    found = combined_changes(sc, NURSE, base, most_gain=1, workers=1)
    assert len(found) == 1
    first = found[0]
    assert first.units == ((Unit(SUPERVISOR_CAPACITY, "ward", "sam"), 1),)
    assert (first.gain, first.exact, first.minimal) == (1, True, True)


def test_the_demo_nurse_bottleneck_is_a_combined_change_with_a_proven_value() -> None:
    """Demo nurses: no single unit lets one more in, but one more nurse place in each of the
    four cover settings does; the relaxation proves no fewer units could, and the edited
    scenario, re-solved, takes exactly 4 more (proven), with a plan for all of them."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    base = maximise(sc, NURSE, workers=2)
    assert (base.status, base.count) == ("OPTIMAL", 6)
    found = combined_changes(sc, NURSE, base, most_gain=1, workers=2, time_limit=30)
    first = found[0]
    assert first.minimal and first.exact and first.gain == 4
    assert first.size == 4
    settings = {sc.site_by_id[u.site].setting for u, _ in first.units}
    assert settings == set(sc.tracks.rotation.cover)
    assert all(" at " in words and "(" in words for words in first.changes)
    edited = changed(sc, *(unit_edit(u, n) for u, n in first.units))
    grown, _ = with_newcomers(edited, NURSE, base.count + 4)
    assert solve(grown, SolveOptions(workers=2, time_limit=30)).has_plan


def test_bottlenecks_are_grouped_by_setting_in_plain_names() -> None:
    """The demo's saturated resources for nurses read as a few lines, one per setting and
    kind, naming sites and supervisors by name rather than by id."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    grown, _ = with_newcomers(sc, NURSE, 6)
    plan = solve(grown, SolveOptions(workers=2, time_limit=30)).plan
    assert plan is not None
    items = saturated(grown, plan, NURSE)
    groups = group_bottlenecks(sc, items)
    assert len(groups) <= 10 < len(items) + 10
    assert len({(g.setting, g.rule) for g in groups}) == len(groups)
    setting_names = {s.name for s in sc.settings}
    assert {g.setting for g in groups} <= setting_names
    site_ids = {s.id for s in sc.sites}
    for g in groups:
        assert not any(w.split(" (")[0] in site_ids for w in g.where), g.where
