"""The MSS benchmark runner (benchmarks/mss.py): families, time limits and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import mss


@pytest.mark.parametrize(("name", "expected"), [
    ("Instance_10", "am"), ("Instance_L84", "am"), ("I40_12_1", "I40"),
    ("I320_12_1", "I320"), ("I160_12_4", "I160"),
])
def test_family_of_each_instance_name(name: str, expected: str) -> None:
    """A&M instances (Instance_*, Instance_L*) are family am; generated ones (I<n>_*)
    their size class, which names their time limit option."""
    assert mss.family(name) == expected
    assert expected in mss.TIME_LIMITS


def test_report_states_the_command_machine_and_targets(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """MSS.md names the command, the machine and its load, one row per instance, and counts
    each target met (an A&M instance proven within 60 s; I40 at the best-known c)."""
    monkeypatch.setattr(mss, "REPORT", tmp_path / "MSS.md")
    rows = [
        mss.Row("Instance_10", "am", "10/4/2/12/1", "OPTIMAL", -5, -5, -5, 1.0, 0.5, 0.5, 3.0,
                300.0, "OK", 60.0),
        mss.Row("I40_12_1", "I40", "40/8/6/12/1", "FEASIBLE", 4113, 4208, 4127, 0.997, 2.0,
                100.0, 300.0, 900.0, "OK", 300.0),
    ]
    text = mss.write_report(rows, "python -m benchmarks.mss all --only x", 2).read_text()
    assert "python -m benchmarks.mss all --only x" in text
    assert "load average" in text
    assert "A&M proven optimal within 60 s: 1 of 1" in text
    assert "I40: c ≥ 1 × best-known on 0 of 1" in text
    assert (tmp_path / "MSS.json").exists()
