"""Solve-time benchmarks of the shipped scenarios (``make bench``).

Each benchmark asserts correctness too: the plan is proven optimal and passes
rotaplan's checker. Issue 3 extends this with scale tiers and baselines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models import load_scenario
from rotaplan.checker import check_rows
from solver import SolveOptions, solve

INSTANCES = Path(__file__).resolve().parent.parent / "instances"


@pytest.mark.parametrize("name", ["demo", "medium"])
def test_bench_shipped_instance(benchmark, name: str) -> None:  # type: ignore[no-untyped-def]
    scenario = load_scenario(INSTANCES / f"{name}.yaml")
    result = benchmark.pedantic(
        solve, args=(scenario, SolveOptions(time_limit=240.0)), rounds=1, iterations=1
    )
    assert result.status == "OPTIMAL"
    assert result.plan is not None
    report = check_rows(scenario, result.plan.assignments.to_dict("records"),
                        result.plan.timetable.to_dict("records"), result.summary())
    assert report.ok, report.render()
    benchmark.extra_info.update(objective=result.objective, bound=result.best_bound,
                                first_solution_seconds=result.first_solution_seconds)
