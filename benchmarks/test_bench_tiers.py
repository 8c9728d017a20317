"""Scale tiers × engines (pytest-benchmark). Each measurement asserts correctness.

``make test`` runs the quick subset with ``--benchmark-disable`` (correctness
only); ``make bench`` sets ``ROTAPLAN_BENCH=full`` for every tier and engine and
writes ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
from dataclasses import asdict

import pytest

from benchmarks.conftest import FULL
from benchmarks.harness import Measurement, measure
from benchmarks.report import (
    DEFAULT_ENGINES,
    ENGINE_LIMITS,
    TIME_LIMITS,
    WORKER_COUNTS,
    WORKERS_TIER,
)

QUICK = [("S", "rotaplan"), ("S", "greedy")]
CASES = [(t, e) for t in ("S", "M", "M6", "M6T", "L", "XL") for e in DEFAULT_ENGINES[t]] if FULL \
    else QUICK


@pytest.mark.parametrize(("tier", "engine"), CASES, ids=[f"{t}-{e}" for t, e in CASES])
def test_tier(benchmark, record: list[Measurement], tier: str, engine: str) -> None:  # type: ignore[no-untyped-def]
    """Each engine on each tier gives a sound answer, and rotaplan's plans pass its checker.

    rotaplan proves the S tier optimal and finds a plan below XL; the greedy's plans are FEASIBLE,
    never claimed optimal.
    """
    limit = ENGINE_LIMITS.get((tier, engine), TIME_LIMITS[tier])
    m = benchmark.pedantic(measure, args=(tier, engine, limit), rounds=1, iterations=1)
    record.append(m)
    benchmark.extra_info.update(asdict(m))
    assert m.status not in ("ERROR",), m.note
    if engine == "rotaplan":
        assert m.status in ("OPTIMAL", "FEASIBLE") or tier == "XL", m
        if m.objective is not None:
            assert m.verified is True  # every plan passes rotaplan's checker
            assert m.best_bound is None or m.best_bound <= m.objective + 1e-6
        if tier == "S":
            assert m.status == "OPTIMAL"
    if engine == "greedy" and m.objective is not None:
        assert m.status == "FEASIBLE"


MORE = [w for w in WORKER_COUNTS if w != 2]


@pytest.mark.parametrize("workers", MORE, ids=[f"{WORKERS_TIER}-rotaplan-{w}w" for w in MORE])
def test_workers(benchmark, record: list[Measurement], workers: int) -> None:  # type: ignore[no-untyped-def]
    """rotaplan with more CP-SAT workers, where the machine has the cores, is as sound
    as with two: a checked plan, never below its own bound."""
    cores = os.cpu_count() or 1
    if not FULL:
        pytest.skip("make bench only (ROTAPLAN_BENCH=full): a full solve of M per count")
    if cores < workers:
        pytest.skip(f"{workers} workers need {workers} cores; this machine has {cores}")
    m = benchmark.pedantic(measure, args=(WORKERS_TIER, "rotaplan", TIME_LIMITS[WORKERS_TIER],
                                          workers), rounds=1, iterations=1)
    record.append(m)
    benchmark.extra_info.update(asdict(m))
    assert m.status in ("OPTIMAL", "FEASIBLE"), m
    assert m.verified is True
    assert m.best_bound is None or m.objective is None or m.best_bound <= m.objective + 1e-6
