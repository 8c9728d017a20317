"""Hostile plan folders (tests/data/hostile/plan_folders/) give check's verdict, never a crash.

Each folder claims to be a plan of ``scenario.yaml`` beside it and holds
``expect.txt``: a line that ``rotaplan check`` must print. Bytes that are not
UTF-8, a NUL, a 200 kB field, a missing column, unknown ids, a block that is
not a number, a carriage return inside an id, a summary that is not JSON, a
folder where a file should be: each is a violation (exit 1) in plain words.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rotaplan.cli import app

PLANS = Path(__file__).resolve().parent.parent / "data" / "hostile" / "plan_folders"
CASES = sorted(p for p in PLANS.iterdir() if p.is_dir())


def test_corpus_has_its_cases() -> None:
    """The corpus holds the hostile plan folders, each with its expected line."""
    assert len(CASES) >= 9
    assert all((case / "expect.txt").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_reports_the_expected_violation(case: Path) -> None:
    """``rotaplan check`` exits 1 and prints the case's expected line; no traceback."""
    expected = (case / "expect.txt").read_text(encoding="utf-8").strip()
    result = CliRunner().invoke(app, ["check", str(PLANS / "scenario.yaml"), str(case)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert expected in result.output, result.output
