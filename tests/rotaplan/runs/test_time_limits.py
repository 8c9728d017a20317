"""A short time limit still delivers a checked plan when one exists (issue 13.4).

A generated 600-learner cohort gave "no plan" (exit 4) at ``--time-limit 10``
though its first plan appears at 2.5 s. Its plan must now come back within the
limit, pass the checker, and be written. The 2,000-learner case takes minutes and
lives in ``benchmarks/test_time_limits.py`` (``make bench``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rotaplan.checker import check_plan_dir
from rotaplan.exit_codes import ExitCode
from rotaplan.generate import generate_scenario
from rotaplan.models import parse_scenario_text
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions

LIMIT = 10.0
STARVED = 0.6
"""Below this share of one core over the solve, the machine is too busy for the test to
say anything: building the 600-learner model and the greedy take 5-6 s of CPU, in
one thread. On this shared 2-core machine at load average 10 the solve got 3 s of
CPU in 10.4 s and found no plan; at load average 6 it found its first plan at 3.0 s."""
OVERRUN = 5.0
"""Seconds a solve may run past its limit (model building and recovery are not cut
mid-way; measured 1.0 s over on this machine while it was shared)."""


@pytest.mark.slow
def test_600_learners_give_a_checked_plan_within_10_seconds(tmp_path: Path) -> None:
    """A generated 600-learner scenario (seed 1) at --time-limit 10 returns a plan, the
    checker accepts it, and the solve ends near its limit."""
    text = dump_scenario(generate_scenario(600, seed=1))
    sc = parse_scenario_text(text, "g600.yaml").scenario
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = solve_and_write(sc, tmp_path / "plan", SolveOptions(time_limit=LIMIT, workers=2))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = outcome.result
    if not outcome.wrote_plan and cpu < STARVED * wall:
        pytest.skip(f"the machine gave this solve {cpu:.1f} s of CPU in {wall:.1f} s: too "
                    "busy to measure a 10 s limit")
    assert outcome.exit_code == ExitCode.OK, (result.status, result.summary())
    assert result.plan is not None and result.stats.first_solution_seconds is not None
    assert result.stats.first_solution_seconds < LIMIT
    assert result.stats.solve_seconds < LIMIT + OVERRUN, result.stats.solve_seconds
    assert check_plan_dir(sc, tmp_path / "plan").ok
