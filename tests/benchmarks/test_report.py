"""The tier benchmarks' report (benchmarks/report.py): targets judged from measurements."""

from __future__ import annotations

import pytest

from benchmarks.harness import Measurement
from benchmarks.report import targets, workers


def _xl(steps: dict[str, float] | None) -> Measurement:
    """An XL rotaplan measurement within its gap and memory targets."""
    return Measurement("XL", "rotaplan", 2000, "FEASIBLE", 11226.0, 11065.0, 0.0143, 41.0,
                       None, 303.5, 2.0, 976.0, 1000, 2000, True, "", steps)


@pytest.mark.parametrize(("steps", "mark", "measured"), [
    ({"mean": 0.7, "p90": 0.88, "max": 0.95}, "met", "mean 0.70 s, 90 % within 0.88 s, "
                                                     "longest 0.95 s"),
    ({"mean": 0.7, "p90": 0.88, "max": 1.41}, "MISSED", "longest 1.41 s"),
    (None, "not measured", "no step"),
])
def test_the_xl_step_target_is_judged_by_the_longest_step(
        steps: dict[str, float] | None, mark: str, measured: str) -> None:
    """"Each neighbourhood step ≤ 1 s" is met only when the longest step is within 1 s;
    the line quotes the mean, the 90th percentile and the longest step, and says "not
    measured" when the search took no step."""
    lines = [text for text in targets([_xl(steps)]) if "neighbourhood step" in text]
    assert len(lines) == 1
    assert lines[0].endswith(f"**{mark}**") and measured in lines[0]
    gap = [text for text in targets([_xl(steps)]) if "XL gap" in text]
    assert gap and gap[0].endswith("**met**")


def test_workers_section_names_each_count_measured_or_why_not() -> None:
    """The workers section quotes each of 2, 8 and 16 workers on M that was measured and
    says why the others were not: too few cores, or not in this run."""
    two = Measurement("M", "rotaplan", 100, "OPTIMAL", 557.0, 557.0, 0.0, 3.1, 18.1, 18.4,
                      1.0, 368.0, 1000, 2000, True, "")
    eight = Measurement("M", "rotaplan", 100, "OPTIMAL", 557.0, 557.0, 0.0, 2.0, 9.5, 9.8,
                        1.0, 500.0, 1000, 2000, True, "", workers=8)
    lines = workers([two, eight], cores=8)
    assert lines[0].startswith("- M, 2 workers: OPTIMAL 557, proof 18.1")
    assert lines[1].startswith("- M, 8 workers: OPTIMAL 557, proof 9.5")
    assert lines[2] == "- M, 16 workers: not measured (this machine has 8 cores)"
    assert workers([two], cores=16)[1] == "- M, 8 workers: not measured in this run"
