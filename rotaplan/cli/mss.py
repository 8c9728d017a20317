"""``rotaplan mss``: the medical student scheduling benchmark through contract v2 (§9.5)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from rotaplan.cli.common import (
    INTERRUPT,
    SHOWN_PROBLEMS,
    ProgressPrinter,
    default_workers,
    fail,
    finish,
    guarded,
    note,
    out_dir,
    out_file,
    say,
    scenario_file,
)
from rotaplan.cli.solve import report
from rotaplan.io.dzn import DznError, MssInstance, read_instance, write_solution
from rotaplan.io.plan_dir import write_text
from rotaplan.models import Scenario, ScenarioError, parse_scenario_text
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.mss import internships, score, to_scenario
from rotaplan.runs import pipeline
from rotaplan.solver import Progress, SolveOptions, SolveResult

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="The medical student scheduling (MSS) benchmark: convert and solve "
                       ".dzn instances through the version-2 scenario format.")


def _load(instance: Path) -> tuple[MssInstance, Scenario, str]:
    """The instance, its scenario and the scenario's YAML text (exit 2 when malformed)."""
    scenario_file(instance)
    try:
        inst = read_instance(instance)
        text = dump_scenario(to_scenario(inst), header=(
            f"MSS instance {inst.name} ({inst.students} students, {inst.disciplines} "
            f"disciplines, {inst.hospitals} hospitals, {inst.horizon} periods, internships of "
            f"{inst.duration}), converted by rotaplan mss convert (contract §9.5)."))
    except (DznError, ValueError) as exc:
        fail(str(exc))
    try:
        sc = parse_scenario_text(text, f"{inst.name}.yaml").scenario
    except ScenarioError as exc:  # the converter's own bug: say so plainly
        note(exc.render(limit=SHOWN_PROBLEMS))
        fail(f"{instance}: the converted scenario is invalid (a rotaplan bug, please report)")
    return inst, sc, text


@app.command()
@guarded
def convert(
    instance: Annotated[Path, typer.Argument(help="An MSS instance (.dzn).",
                                             show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scenario YAML to write.",
                                      show_default=False)],
) -> None:
    """Convert an MSS instance into a version-2 scenario (contract §9.5)."""
    out_file(out, "--out")
    inst, sc, text = _load(instance)
    try:
        write_text(out, text)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    say(f"wrote {out}: {len(sc.learners)} learners, {len(sc.sites)} sites (wards), "
        f"{sc.programme.blocks} blocks ({inst.name})")


class _MssProgress(ProgressPrinter):
    """Progress in the benchmark's terms: c (maximised) and its upper bound."""

    def __call__(self, event: Progress) -> None:
        flipped = Progress(event.phase, event.kind,
                           None if event.objective is None else -event.objective,
                           None if event.bound is None else -event.bound, event.seconds)
        with self.lock:
            if flipped.objective is not None:
                self.best = flipped.objective
            if flipped.bound is not None:
                self.bound = flipped.bound
            if not self.enabled or event.seconds < 1.0 or event.seconds - self.last_print < 1.0:
                return
            self.last_print = event.seconds
            c = "-" if self.best is None else f"{self.best:g}"
            bound = "-" if self.bound is None else f"{math.floor(self.bound + 1e-6):d}"
            note(f"  {event.seconds:6.1f}s  [{event.phase}]  c {c}  upper bound {bound}")


def mss_figures(inst: MssInstance, result: SolveResult) -> dict[str, Any]:
    """The ``mss`` block of ``summary.json``: c, total, worst and the upper bound on c."""
    upper = None if result.best_bound is None else math.floor(-result.best_bound + 1e-6)
    if result.plan is None:
        return {"mss": {"c": None, "total": None, "worst": None, "upper_bound_c": upper}}
    found = score(inst, internships(inst, result.plan))
    return {"mss": {"c": found.c, "total": found.total, "worst": found.worst,
                    "upper_bound_c": upper}}


@app.command()
@guarded
def solve(
    instance: Annotated[Path, typer.Argument(help="An MSS instance (.dzn).",
                                             show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the plan, "
                                      "scenario.yaml and solution.dzn.", show_default=False)],
    time_limit: Annotated[float, typer.Option(help="Seconds for the whole solve.", min=0.1)
                          ] = 60.0,
    workers: Annotated[int | None, typer.Option(
        help="CP-SAT workers (default: the machine's cores, at most 8).", min=1, max=64,
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Solve an MSS instance: the checked plan, scenario.yaml and solution.dzn.

    summary.json gains ``mss: {c, total, worst, upper_bound_c}``; the status is
    OPTIMAL only when proven. Progress shows c and its upper bound.
    """
    out_dir(out)
    inst, sc, text = _load(instance)
    workers = workers or default_workers()
    note(f"solving {inst.name}: {inst.students} students, {inst.disciplines} disciplines, "
         f"{inst.hospitals} hospitals, {inst.horizon} periods (time limit {time_limit:g}s, "
         f"{workers} worker(s))")

    def files(staging: Path, result: SolveResult) -> None:
        assert result.plan is not None
        write_text(staging / "scenario.yaml", text)
        found = internships(inst, result.plan)
        figures = score(inst, found)
        write_solution(staging / "solution.dzn", inst, found, c=figures.c,
                       total=figures.total, worst=figures.worst)

    options = SolveOptions(time_limit=time_limit, workers=workers, seed=seed,
                           on_progress=_MssProgress(enabled=not quiet), stop=INTERRUPT.stop)
    outcome = pipeline.solve_and_write(sc, out, options, extras=files,
                                       annotate=lambda result: mss_figures(inst, result))
    report(sc, outcome, out, time_limit)
    figures = mss_figures(inst, outcome.result)["mss"]
    if figures["c"] is not None:
        say(f"mss         c {figures['c']} (total {figures['total']}, worst "
            f"{figures['worst']}), upper bound {figures['upper_bound_c']}")
    finish(outcome.exit_code)


__all__ = ["app", "convert", "mss_figures", "solve"]
