"""Solve, check and write: the one path every CLI and UI solve takes.

A plan is written to a staging directory, checked there by
:mod:`rotaplan.checker` (which shares no code with the solver), and only then
moved into the output directory as a success. A plan that fails the check is
kept under ``DIR/rejected/`` for diagnosis and never reported as a plan.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.checker import CheckReport, check_plan_dir
from rotaplan.models import PLAN_FILES, Scenario
from rotaplan.solver import SolveOptions, SolveResult, solve

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4
EXIT_CHECK_FAILED = 5  # beyond the contract: a plan was found but failed verification


@dataclass
class Outcome:
    """What a solve run produced and wrote.

    Attributes
    ----------
    result
        The solver's result.
    check
        The checker's report on the plan (None when there was no plan).
    exit_code
        The contract's exit code (§8), or 5 if a plan failed verification.
    files
        Paths written.
    """

    result: SolveResult
    check: CheckReport | None
    exit_code: int
    files: list[Path] = field(default_factory=list)


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_explanation(result: SolveResult, out: Path) -> list[Path]:
    """Write ``explanation.txt`` and ``explanation.json`` when there is one."""
    if result.explanation is None:
        return []
    text = out / "explanation.txt"
    text.write_text(result.explanation.render() + "\n", encoding="utf-8")
    return [text, _write_json(out / "explanation.json", result.explanation.to_json())]


def _clear(out: Path) -> None:
    for name in (*PLAN_FILES, "explanation.txt", "explanation.json"):
        (out / name).unlink(missing_ok=True)  # never leave an older plan behind


def write_invalid(out_dir: str | Path, errors: list[str]) -> Path:
    """Write ``summary.json`` with status ``INVALID`` and the input errors."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    summary = {"status": "INVALID", "objective": None, "best_bound": None,
               "preference_cost": None, "unplaced": None, "solve_seconds": 0.0,
               "errors": errors}
    return _write_json(out / "summary.json", summary)


def solve_and_write(scenario: Scenario, out_dir: str | Path,
                    options: SolveOptions | None = None) -> Outcome:
    """Solve a scenario, verify the plan, and write the plan files.

    Parameters
    ----------
    scenario
        A validated scenario.
    out_dir
        Directory for ``assignments.csv``, ``timetable.csv``, ``summary.json``
        (and ``explanation.*`` when infeasible).
    options
        Solver options.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    result = solve(scenario, options)
    summary = result.summary()
    if not result.has_plan:
        files = [_write_json(out / "summary.json", summary)]
        files += write_explanation(result, out)
        code = EXIT_INFEASIBLE if result.status == "INFEASIBLE" else EXIT_NO_PLAN
        return Outcome(result, None, code, files)
    assert result.plan is not None
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        result.plan.write(staging, summary)
        report = check_plan_dir(scenario, staging)
        if not report.ok:
            rejected = out / "rejected"
            shutil.rmtree(rejected, ignore_errors=True)
            staging.rename(rejected)
            summary = summary | {
                "status": "UNKNOWN",
                "check_failed": [str(v) for v in report.violations[:200]],
                "rejected_plan": str(rejected),
            }
            files = [_write_json(out / "summary.json", summary)]
            return Outcome(result, report, EXIT_CHECK_FAILED, files)
        files = []
        for name in PLAN_FILES:
            target = out / name
            (staging / name).replace(target)
            files.append(target)
        shutil.rmtree(out / "rejected", ignore_errors=True)
        return Outcome(result, report, EXIT_OK, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
