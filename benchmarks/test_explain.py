"""'Why no plan?' on realistic infeasibilities: a short statement and a verified fix in 10 s.

Issue 16's target: a practice's rooms cut to 0, a supervisor's leave that
strands a fellow, and a cohort one too large are each explained within 10 s on
2 cores, in at most 10 lines, with a fix verified by a solve. Cases are the
demo's (``tests.helpers`` builds them) and a generated 300-learner ICS with a
practice's rooms cut. Each records wall and CPU seconds, lines and fixes.

Measured on the 2-core dev machine at load average 6-9 (three other sessions
busy), 10 s budget: demo rooms 0 at att-orchard 1.7-2.7 s wall (0.8-1.5 s CPU),
8 lines, 2 fixes; stranded fellow 1.3-2.8 s, 5 lines, 2 fixes; cohort one too
large 10.7 s wall (4.1 s CPU), 5 lines, minimal, the fix (two supervisors each
taking one more) found only with a longer budget at that load (11 s wall with
40 s); ICS rooms cut 12.5 s wall before the fix search kept its deadline. This
benchmark's own run (same load): 1.6 s, 0.9 s, 9.9 s and 10.2 s (with its fix).
After the shared domains (2026-12-07, load about 2): the cohort one too large is
explained with its fix (two supervisors each taking one more) in 6.8 s wall,
5.8 s CPU, so its fix is now required too.
Full mode only (``make bench``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.cases import demo_data, ics_rooms_cut, stranded_fellow, without_rooms
from benchmarks.cases import scenario_of as scenario_from
from benchmarks.conftest import FULL
from rotaplan.models import Scenario
from rotaplan.models.edits import Newcomer, with_newcomers
from rotaplan.solver.explain import Diagnosis, diagnose

BUDGET = 10.0
LINES = 10
OVERRUN = 2.0
"""Seconds a step that started before the deadline may run past it (one check or solve)."""

pytestmark = pytest.mark.skipif(not FULL, reason="full benchmarks only (make bench)")


def _rooms() -> Scenario:
    return scenario_from(without_rooms(demo_data(), "att-orchard"))


def _leave() -> Scenario:
    return scenario_from(stranded_fellow(demo_data(), "F001", "att-orchard", 2))


def _cohort() -> Scenario:
    grown, _ = with_newcomers(scenario_from(demo_data()), Newcomer(like="L001"), 6)
    return grown


def _ics() -> Scenario:
    return scenario_from(ics_rooms_cut(300, seed=1)[0])


CASES: dict[str, tuple[Callable[[], Scenario], bool]] = {
    "demo-rooms-0": (_rooms, True),
    "demo-leave-strands-fellow": (_leave, True),
    "demo-cohort-one-too-large": (_cohort, True),
    "ics300-rooms-0": (_ics, True),
}
"""Case -> (scenario, whether a fix must be found within the budget)."""


@pytest.mark.parametrize("case", sorted(CASES))
def test_explanation_is_short_and_fast(benchmark: Any, case: str) -> None:
    """Each case is explained within the budget (plus one step's overrun) in at most 10 lines;
    the rooms and leave cases come with a verified fix."""
    make, needs_fix = CASES[case]
    sc = make()
    cpu = time.process_time()
    found: Diagnosis = benchmark.pedantic(diagnose, args=(sc, BUDGET), rounds=1, iterations=1)
    cpu = time.process_time() - cpu
    assert found.feasible is False and found.explanation is not None
    lines = found.explanation.render().splitlines()
    seconds = benchmark.stats.stats.max
    benchmark.extra_info.update({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                                 "lines": len(lines), "fixes": len(found.changes),
                                 "minimal": found.explanation.minimal})
    assert len(lines) <= LINES
    assert seconds <= BUDGET + OVERRUN
    if needs_fix:
        assert found.changes
