"""The tier benchmarks' report (benchmarks/report.py): targets judged from measurements."""

from __future__ import annotations

import pytest

from benchmarks.harness import Measurement
from benchmarks.report import targets


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
