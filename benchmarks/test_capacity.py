"""Capacity questions on the medium ICS: the maximum is proven, and the portfolio matters.

``maximise`` uses the engine's subsolver portfolio (``solver.engine.configure``).
This benchmark proves the three hardest medium-ICS questions with it (each
asserts the known maximum) and, in full mode, runs the same models with
CP-SAT's default parameters in the same session, so the two are compared as a
ratio on the same machine. On this 2-core machine the portfolio proved each in
6-15 s; the defaults had not closed the gap after 60 s (nurses: 9 placed,
bound 17). Full mode only (``make bench``): each question takes seconds, not
milliseconds.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from benchmarks.conftest import FULL
from rotaplan.models import load_scenario
from rotaplan.solver.capacity import Newcomer, candidate_bound, maximise, with_newcomers
from rotaplan.solver.instance import Instance
from rotaplan.solver.rules import Build, post_all
from rotaplan.solver.variables import create

MEDIUM = Path(__file__).resolve().parent.parent / "instances" / "medium.yaml"
KNOWN_MAXIMUM = {"nurse": 9, "paramedic": 16, "pharmacist": 13}
LIMIT = 60.0

pytestmark = pytest.mark.skipif(not FULL, reason="full benchmarks only (make bench)")


def _with_default_parameters(profession: str) -> tuple[str, float, float]:
    """The same maximum model, solved with CP-SAT's defaults on 2 workers."""
    scenario = load_scenario(MEDIUM)
    newcomer = Newcomer(profession)
    k = candidate_bound(scenario, newcomer)
    grown, _ = with_newcomers(scenario, newcomer, k)
    inst = Instance(grown)
    extras = list(range(len(scenario.learners), len(scenario.learners) + k))
    model = cp_model.CpModel()
    v = create(model, inst, optional=extras)
    post_all(Build(model, inst, v))
    for a, b in itertools.pairwise(extras):
        model.add(v.placed[a] >= v.placed[b])
    model.maximize(sum(v.placed[i] for i in extras))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = LIMIT
    solver.parameters.num_workers = 2
    started = time.perf_counter()
    status = solver.solve(model)
    return solver.status_name(status), solver.best_objective_bound, time.perf_counter() - started


@pytest.mark.parametrize("profession", sorted(KNOWN_MAXIMUM))
def test_capacity_is_proven_on_the_medium_ics(benchmark, profession: str) -> None:  # type: ignore[no-untyped-def]
    """The portfolio proves each known medium-ICS capacity maximum within the limit.

    CP-SAT's default parameters, run beside it, never bound the maximum below the proven one.
    """
    scenario = load_scenario(MEDIUM)
    found = benchmark.pedantic(maximise, args=(scenario, Newcomer(profession)),
                               kwargs={"time_limit": LIMIT, "workers": 2, "seed": 0},
                               rounds=1, iterations=1)
    assert found.status == "OPTIMAL", found
    assert found.count == found.bound == KNOWN_MAXIMUM[profession]
    status, bound, seconds = _with_default_parameters(profession)
    benchmark.extra_info.update({
        "portfolio_seconds": round(found.seconds, 2), "default_status": status,
        "default_bound": bound, "default_seconds": round(seconds, 2),
        "default_over_portfolio": round(seconds / max(found.seconds, 1e-3), 2)})
    # the defaults never find a better maximum than the proven one
    assert bound >= KNOWN_MAXIMUM[profession] - 1e-6
