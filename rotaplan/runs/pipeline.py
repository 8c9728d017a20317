"""Solve, check and write: the one path every CLI and UI solve takes.

A plan is written to a staging folder, checked there by :mod:`rotaplan.checker`
(which shares no code with the solver), and only then published: the whole
folder is swapped in at once (:mod:`rotaplan.runs.publish`), so the previous
plan stays until the new one has been verified, and a kill at any moment
leaves one or the other. A plan that fails the check is never published; it is
kept under ``DIR/rejected/`` for diagnosis.

What a run leaves in its folder:

- a plan (exit 0, or 130 when interrupted with a plan): the plan files and
  ``summary.json`` (``"interrupted": true`` when a stop request ended the search);
- infeasible (exit 3) or invalid input (exit 2): ``summary.json`` and, when
  infeasible, ``explanation.txt``/``explanation.json``, in place of what was there;
- no plan within the time limit (exit 4), or interrupted before any plan: the
  folder is left as it was (a previous plan stays); a folder that did not exist
  gets a ``summary.json`` saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.analysis.kpis import kpis
from rotaplan.checker import CheckReport, check_plan_dir
from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import SUMMARY, write_explanation_files, write_json, write_plan
from rotaplan.models import Scenario
from rotaplan.runs.publish import Publication, output_problem
from rotaplan.solver import SolveOptions, SolveResult, Status, solve


class OutputError(ValueError):
    """The output folder cannot be used (a file, not writable, holds other files)."""


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
        The contract's exit code (§8); 5 if a plan failed verification; 130 if
        a stop request (Ctrl-C, SIGTERM, Cancel) ended the run.
    files
        Paths written (in the published folder).
    interrupted
        A stop request ended the search before its time limit.
    wrote_plan
        A verified plan was published.
    refused
        Why a verified plan was not published (the caller's ``accept`` said no);
        the previous folder is then untouched and the exit code is 3.
    """

    result: SolveResult
    check: CheckReport | None
    exit_code: ExitCode
    files: list[Path] = field(default_factory=list)
    interrupted: bool = False
    wrote_plan: bool = False
    refused: list[str] = field(default_factory=list)


Extras = Callable[[Path, SolveResult], None]
"""Writes further files of a run into its staging folder before it is published."""
Accept = Callable[[SolveResult], list[str]]
"""Says why a verified plan must not be published (an empty list accepts it)."""
Annotate = Callable[[SolveResult], dict[str, Any]]
"""Further keys for ``summary.json`` (the benchmark's own figures, say)."""


def check_output(out: Path) -> None:
    """Refuse an output folder that cannot hold a plan.

    Raises
    ------
    OutputError
        In a few plain words (see :func:`rotaplan.runs.publish.output_problem`).
    """
    problem = output_problem(out)
    if problem is not None:
        raise OutputError(f"{out}: {problem}")


def write_invalid(out_dir: str | Path, errors: list[str]) -> Path:
    """Publish a folder holding only ``summary.json`` with status ``INVALID``."""
    out = Path(out_dir)
    summary = {"status": Status.INVALID, "objective": None, "best_bound": None,
               "preference_cost": None, "unplaced": None, "solve_seconds": 0.0,
               "errors": errors}
    with Publication(out) as pub:
        write_json(pub.path / SUMMARY, summary)
        pub.commit()
    return out / SUMMARY


def solve_and_write(scenario: Scenario, out_dir: str | Path,
                    options: SolveOptions | None = None, *,
                    extras: Extras | None = None, accept: Accept | None = None,
                    annotate: Annotate | None = None) -> Outcome:
    """Solve a scenario, verify the plan, and publish the plan folder.

    Parameters
    ----------
    scenario
        A validated scenario.
    out_dir
        The plan folder: ``assignments.csv``, ``timetable.csv``, ``summary.json``
        (and ``explanation.*`` when infeasible).
    options
        Solver options; ``options.stop`` ends the search early (the best plan
        so far is still checked and published, marked ``interrupted``).
    extras
        Writes further files (changes, the grown scenario, an MSS solution) into
        the staging folder once the plan has passed the check, so they are
        published with it.
    accept
        A last condition on a verified plan (re-planning: the kept blocks are
        exactly as they were); its reasons refuse publication.
    annotate
        Further keys for ``summary.json``, from the result.

    Raises
    ------
    OutputError
        Before solving, if ``out_dir`` cannot be a plan folder.
    """
    out = Path(out_dir)
    check_output(out)
    options = options or SolveOptions()
    result = solve(scenario, options)
    interrupted = options.stop is not None and options.stop.is_set()
    summary: dict[str, Any] = result.summary()
    summary["kpis"] = None if result.plan is None else \
        kpis(scenario, result.plan, result.learner_costs).to_json()
    if interrupted:
        summary["interrupted"] = True
    if annotate is not None:
        summary |= annotate(result)
    stopped_code = ExitCode.INTERRUPTED if interrupted else None
    if not result.has_plan:
        if result.status == Status.INFEASIBLE:
            with Publication(out) as pub:
                files = [write_json(pub.path / SUMMARY, summary)]
                if result.explanation is not None:
                    files += write_explanation_files(result.explanation, pub.path)
                pub.commit()
            return Outcome(result, None, ExitCode.INFEASIBLE, [out / f.name for f in files],
                           interrupted)
        files = []
        if not (out / SUMMARY).exists():  # never over a previous plan
            with Publication(out) as pub:
                write_json(pub.path / SUMMARY, summary)
                pub.commit()
            files = [out / SUMMARY]
        return Outcome(result, None, stopped_code or ExitCode.NO_PLAN, files, interrupted)
    assert result.plan is not None
    with Publication(out) as pub:
        written = write_plan(pub.path, result.plan, summary)
        report = check_plan_dir(scenario, pub.path)
        if not report.ok:
            _reject(pub, out, summary, report)
            return Outcome(result, report, ExitCode.CHECK_FAILED, [], interrupted)
        refused = accept(result) if accept is not None else []
        if refused:
            return Outcome(result, report, ExitCode.INFEASIBLE, [], interrupted,
                           refused=refused)
        if extras is not None:
            extras(pub.path, result)
        extra_files = [p for p in sorted(pub.path.rglob("*")) if p.is_file()
                       and p not in written]
        files = [out / p.relative_to(pub.path) for p in [*written, *extra_files]]
        pub.commit()
    return Outcome(result, report, stopped_code or ExitCode.OK, files, interrupted, True)


def _reject(pub: Publication, out: Path, summary: dict[str, Any], report: CheckReport) -> None:
    """Keep a plan that failed the check under ``out/rejected/``, never as the plan."""
    rejected = out / "rejected"
    note = summary | {"status": Status.UNKNOWN,
                      "check_failed": [str(v) for v in report.violations[:200]],
                      "rejected_plan": str(rejected)}
    write_json(pub.path / SUMMARY, note)
    if out.is_dir():  # the previous plan stays; the rejected one goes beside it
        shutil.rmtree(rejected, ignore_errors=True)
        pub.path.rename(rejected)
        return
    with Publication(out) as holder:
        pub.path.rename(holder.path / "rejected")
        write_json(holder.path / SUMMARY, note)
        holder.commit()


__all__ = ["Extras", "Outcome", "OutputError", "check_output", "solve_and_write",
           "write_invalid"]
