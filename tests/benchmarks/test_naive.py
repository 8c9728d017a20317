"""The naive baseline must have the contract's optimum: the same as the product's.

Run with ``pytest benchmarks/test_naive.py`` (the default test paths do not
include ``benchmarks/``). Every scenario here is tiny, except the contract
example, so the file runs in a few seconds.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from benchmarks.naive import NaiveResult, solve_naive
from rotaplan.models import load_scenario
from rotaplan.solver import SolveOptions, solve
from tests.helpers import (
    FELLOWSHIP,
    SHARED_EXAMPLE,
    learner,
    needs_shared,
    scenario,
    scenario_from,
    site,
    sup,
    tweak,
)

Data = dict[str, Any]






FIVE = ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM"]

CASES: dict[str, Data] = {
    "base": tweak(),
    # One capacity-1 supervisor, two learners: only one can have a named supervisor.
    "supervisor-capacity-infeasible": tweak(
        learners=[learner("L1"), learner("L2")]),
    # ... and with allow_unplaced one is left out (1000).
    "allow-unplaced": tweak(
        learners=[learner("L1"), learner("L2")], objective={"allow_unplaced": True}),
    # Rooms: 'a' has one room a session (3 room-sessions); two learners need 2 each, so one
    # goes to 'b' (cost 1 for whoever moves).
    "rooms": scenario(
        [site("a", sups=[sup("a1", capacity=2)], rooms={"default": 1}), site("b", "community")],
        [learner("L1", sessions_per_week=2, preferences=["a", "b"]),
         learner("L2", sessions_per_week=2, preferences=["a", "community"])]),
    # Part-time supervisors: at 'a' a1 works Mon-AM only, a2 Mon-PM and Tue-AM; each oversees
    # one learner at once, so 'a' holds 3 learner-sessions: two 2-session learners do not fit.
    "part-time-supervisors": scenario(
        [site("a", sups=[sup("a1", sessions=["Mon-AM"]), sup("a2", sessions=["Mon-PM",
                                                                             "Tue-AM"])]),
         site("b", "community", sups=[sup("b1", capacity=2)])],
        [learner("L1", sessions_per_week=2, preferences=["a"]),
         learner("L2", sessions_per_week=2, preferences=["a", "b"])]),
    # Part-time supervisor who works too few sessions: 3 clinical sessions, 2 worked.
    "part-time-infeasible": scenario(
        [site("a", sups=[sup("a1", sessions=["Mon-AM", "Tue-AM"])])], [learner("L1")]),
    # Closed sessions and a supervisor unavailable in block 2, cover over two blocks.
    "cover-open-unavailable": scenario(
        [site("a", sups=[sup("a1", unavailable_blocks=[2]), sup("a2", "paramedic")],
              open_sessions=["Mon-AM", "Mon-PM"]),
         site("b", "community", sups=[sup("b1", capacity=2)]),
         site("c", "acute", capacity=1)],
        [learner("L1", sessions_per_week=2, preferences=["a", "c"]),
         learner("L2", sessions_per_week=2, preferences=["c", "b"], pinned={2: "c"})],
        blocks=2, rotation={"cover": ["acute", "community"]}),
    # Supervision across professions, site-minimum, avoid.
    "supervision-minimum": scenario(
        [site("a", sups=[sup("a1", capacity=2)]),
         site("b", "community", sups=[sup("b1", "paramedic")], min_learners=1),
         site("c", "community", sups=[sup("c1", capacity=2)])],
        [learner("L1", "paramedic", preferences=["a", "c", "b"]),
         learner("L2", preferences=["b", "a"], avoid=["c"])],
        supervision={"paramedic": ["paramedic", "nurse"]}),
    # A fellow over two blocks with teaching: base at a primary site, a partner each block
    # in two distinct partner settings, one partner session a week.
    "fellow": scenario(
        [site("gp1", "primary", sups=[sup("g1", capacity=2)], rooms={"default": 1}),
         site("gp2", "primary"),
         site("ward", "acute", sups=[sup("w1", sessions=["Mon-AM", "Tue-AM"])]),
         site("rehab", "community")],
        [learner("F1", track="fellowship", sessions_per_week=4,
                 preferences=["gp2", "ward", "primary"]),
         learner("L1", sessions_per_week=3, preferences=["gp1", "rehab"])],
        blocks=2, sessions=FIVE, teaching=["Wed-AM"],
        rotation={"cover": [], "no_repeat_site": True},
        fellowship=FELLOWSHIP | {"distinct_partner_settings": 2}),
    # A fellow with a pinned base whose only partner site is taken by the rotation learner.
    "fellow-infeasible": scenario(
        [site("gp1", "primary"), site("ward", "acute", capacity=1,
                                      sups=[sup("w1", capacity=2)])],
        [learner("F1", track="fellowship", pinned={1: "gp1"}),
         learner("L1", pinned={1: "ward"})],
        fellowship=FELLOWSHIP),
    # Minimax: least total 4 (worst 4) vs. the fair plan (worst 3, total 5).
    "minimax": scenario(
        [site("A", capacity=1), site("B", "acute", capacity=1)],
        [learner("L1", preferences=["A", "community", "B"]),
         learner("L2", preferences=["A", "community", "primary"])],
        blocks=2, rotation={"no_repeat_site": False}, objective={"fairness": "minimax"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_naive_optimum_matches_the_product(name: str) -> None:
    """The naive model reaches the product's status and objective on each case, proven."""
    sc = scenario_from(CASES[name])
    product = solve(sc, SolveOptions(workers=1, time_limit=20.0))
    naive = solve_naive(sc, time_limit=20.0, workers=1)
    assert naive.status == product.status
    assert naive.status in ("OPTIMAL", "INFEASIBLE")
    assert naive.objective == product.objective
    if naive.status == "OPTIMAL":
        assert naive.best_bound == naive.objective
        assert naive.first_solution_seconds is not None
    assert naive.variables > 0 and naive.constraints > 0


def test_expected_values_of_some_cases() -> None:
    """Pin a few optima by hand so a shared mistake in both models would show."""
    expected = {"base": 0.0, "allow-unplaced": 1000.0, "rooms": 1.0, "minimax": 5.0}
    for name, objective in expected.items():
        assert solve_naive(scenario_from(CASES[name]), workers=1).objective == objective
    assert solve_naive(scenario_from(CASES["supervisor-capacity-infeasible"]),
                       workers=1).status == "INFEASIBLE"


def test_minimax_changes_the_optimum() -> None:
    """Without minimax the naive model's optimum on the minimax case is 4, not 5."""
    data = copy.deepcopy(CASES["minimax"])
    data["objective"] = {"fairness": "none"}
    assert solve_naive(scenario_from(data), workers=1).objective == 4.0


def test_model_has_a_variable_per_learner_block_supervisor_session() -> None:
    """The naive model of one learner, site and three-session supervisor has 6 variables."""
    result: NaiveResult = solve_naive(scenario_from(tweak()), workers=1)
    # 1 placed + 1 site + 1 named + 3 z (one supervisor, three sessions).
    assert result.variables == 6


@needs_shared
def test_contract_example_optimum_is_38() -> None:
    """The naive model on the contract example finds 38 or more, and 38 when it proves it."""
    # With 2 workers the default portfolio needs ~30 s (1 worker ~17 s) to prove 38; with 4
    # workers the portfolio proves it in well under a second, so the test uses 4.
    result = solve_naive(load_scenario(SHARED_EXAMPLE), time_limit=15.0, workers=4)
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert result.objective is not None and result.objective >= 38
    if result.status == "OPTIMAL":
        assert result.objective == 38
