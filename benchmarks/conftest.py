"""Benchmark session: collect measurements; with ROTAPLAN_BENCH=full, write RESULTS.md."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.harness import Measurement

FULL = os.environ.get("ROTAPLAN_BENCH") == "full"
COLLECTED: list[Measurement] = []


@pytest.fixture
def record() -> list[Measurement]:
    """Where tier benchmarks put their measurements."""
    return COLLECTED


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if FULL and COLLECTED:
        from benchmarks.report import RESULTS, write

        command = "make bench (ROTAPLAN_BENCH=full pytest benchmarks --benchmark-only)"
        write(sorted(COLLECTED, key=lambda m: (list("SMLX").index(m.tier[0]), m.tier)), command)
        print(f"\nwrote {RESULTS}", file=sys.stderr)
