"""``rotaplan solve`` and ``rotaplan replan``: build a plan, check it, write it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rotaplan.analysis.kpis import summary_lines
from rotaplan.cli.common import (
    INTERRUPT,
    ProgressPrinter,
    default_workers,
    fail,
    finish,
    load_or_exit,
    note,
    out_dir,
    say,
    scenario_file,
)
from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import PlanDirError, read_plan_dir
from rotaplan.models import Scenario
from rotaplan.runs import pipeline
from rotaplan.solver import SolveOptions

DEFAULT_TIME_LIMIT = 60.0


def demo_scenario_path() -> Path:
    """The shipped demo scenario (30 learners), installed with the package."""
    from rotaplan.shipped import shipped_path

    return shipped_path("demo")


def solve(
    scenario: Annotated[Path | None, typer.Argument(
        help="Scenario YAML (default: the shipped demo).", show_default=False)] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for the plan files.")] = Path("plans/plan"),
    time_limit: Annotated[float, typer.Option(
        help="Seconds for the whole solve, model building included.", min=0.1)
        ] = DEFAULT_TIME_LIMIT,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    workers: Annotated[int | None, typer.Option(
        help="CP-SAT workers (default: the machine's cores, at most 8). 1 with a fixed "
             "seed and --deterministic-time repeats exactly.", min=1, max=64,
        show_default=False)] = None,
    deterministic_time: Annotated[float | None, typer.Option(
        help="A budget in CP-SAT's deterministic time units instead of seconds: with "
             "--workers 1 the same input and seed give the same plan however busy "
             "the machine is.", min=0.1, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    log: Annotated[bool, typer.Option(help="Show CP-SAT's search log.")] = False,
    alternatives: Annotated[int, typer.Option(
        help="Also write this many different good plans to DIR/alt-1 ... DIR/alt-K, "
             "with DIR/alternatives.csv comparing them.", min=1, max=50)] = 1,
    min_changes: Annotated[int, typer.Option(
        help="With --alternatives: placements in which each plan differs from every "
             "earlier one.", min=1)] = 1,
) -> None:
    """Solve a scenario and write assignments.csv, timetable.csv and summary.json."""
    path = scenario_file(scenario) if scenario is not None else demo_scenario_path()
    out_dir(out)
    loaded = load_or_exit(path, out)
    sc = loaded.scenario
    workers = workers or default_workers()
    note(f"solving {path}: {len(sc.learners)} learners, {len(sc.sites)} sites, "
         f"{sc.programme.blocks} blocks (time limit {time_limit:g}s, {workers} worker(s))")
    options = SolveOptions(time_limit=time_limit, workers=workers, seed=seed, log=log,
                           deterministic_time=deterministic_time,
                           on_progress=ProgressPrinter(enabled=not quiet),
                           stop=INTERRUPT.stop)
    outcome = pipeline.solve_and_write(sc, out, options)
    report(sc, outcome, out, time_limit)
    if alternatives > 1 and outcome.exit_code == ExitCode.OK:
        _alternatives(sc, out, outcome, alternatives, min_changes,
                      SolveOptions(time_limit=time_limit, workers=workers, seed=seed,
                                   stop=INTERRUPT.stop))
    finish(outcome.exit_code)


def report(sc: Scenario, outcome: pipeline.Outcome, out: Path, time_limit: float) -> None:
    """Print the summary of a solve and what was written."""
    result = outcome.result
    for line in summary_lines(sc, result):
        say(line)
    code = outcome.exit_code
    if outcome.interrupted:
        kept = "the best plan found so far was checked and written" if outcome.wrote_plan \
            else "no plan had been found; nothing was written"
        note(f"interrupted ({INTERRUPT.signal_name or 'stop'}): {kept}")
    if outcome.wrote_plan:
        say(f"plan        written to {out}/ and verified by the checker")
    elif code == ExitCode.INFEASIBLE and result.explanation is not None:
        say(result.explanation.render())
        say(f"explanation written to {out}/explanation.txt")
    elif code == ExitCode.NO_PLAN:
        say(f"no plan found within {time_limit:g}s; try a longer --time-limit")
    elif code == ExitCode.CHECK_FAILED and outcome.check is not None:
        note("the plan FAILED verification and was not written as a plan:")
        note(outcome.check.render(limit=20))


def _alternatives(sc: Scenario, out: Path, best: pipeline.Outcome, count: int,
                  min_changes: int, options: SolveOptions) -> None:
    """Find, write and compare further plans (``solve --alternatives``)."""
    from rotaplan.runs.replan import alternatives as find

    note(f"looking for {count - 1} more plan(s), each differing from every earlier one in "
         f"at least {min_changes} placement(s)...")
    found = find(sc, out, best, count, min_changes=min_changes, options=options)
    say()
    say(f"{'plan':<7}{'objective':>10}{'placed':>8}{'1st choice':>12}{'top 3':>7}"
        f"{'worst-off':>11}{'differs':>9}")
    for alt in found:
        f = alt.figures
        say(f"{f['plan']:<7}{f['objective']:>10g}{f['placed']:>8}{f['first_choice']:>12}"
            f"{f['top3_placements']:>7}{f['worst_learner_cost']:>11}"
            f"{f['differs_from_alt1']:>9}")
    if len(found) < count:
        say(f"only {len(found)} different plan(s) found within the limits")
    say(f"alternatives written to {out}/alt-1 ... {out}/alt-{len(found)}; comparison in "
        f"{out}/alternatives.csv (each plan checked)")


def replan(
    scenario: Annotated[Path, typer.Argument(help="The scenario after the change.",
                                             show_default=False)],
    old_plan: Annotated[Path, typer.Option("--from", help="Folder of the plan in force.",
                                           show_default=False)],
    from_block: Annotated[int, typer.Option(
        help="First block that may change; earlier blocks are kept as they were.",
        min=1)] = 1,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for the new plan.")] = Path("plans/replan"),
    time_limit: Annotated[float, typer.Option(help="Seconds for the solve.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    workers: Annotated[int | None, typer.Option(
        help="CP-SAT workers (default: the machine's cores, at most 8).", min=1, max=64,
        show_default=False)] = None,
    allow_past_session_changes: Annotated[bool, typer.Option(
        "--allow-past-session-changes",
        help="When the change reaches the early blocks' weekly sessions only (fewer rooms, "
             "a session closed), keep their sites and supervisors and move as few sessions "
             "as possible instead of refusing.")] = False,
) -> None:
    """Re-plan after a change, keeping early blocks and changing as little as possible.

    Changes to the old plan are minimised first and preference cost second. The
    new plan is checked and written with changes.csv, timetable_changes.csv and
    supervisor_changes.csv. Blocks before --from-block keep their sites, sessions
    and supervisors, or the command refuses and names what stops it.
    """
    from rotaplan.runs.replan import replan as run

    scenario_file(scenario)
    out_dir(out)
    if not old_plan.is_dir():
        fail(f"--from {old_plan}: no such plan folder")
    if old_plan.resolve() == out.resolve():
        fail(f"--out {out}: is the plan in force (--from); write the new plan elsewhere")
    sc = load_or_exit(scenario, out).scenario
    if from_block > sc.programme.blocks:
        fail(f"--from-block {from_block}: the programme has {sc.programme.blocks} blocks")
    try:
        old = read_plan_dir(old_plan).plan
    except PlanDirError as exc:
        fail(f"cannot read the plan in {old_plan}: {exc}")
    note(f"re-planning {scenario} from block {from_block} against {old_plan}")
    done = run(sc, old, out, from_block=from_block,
               options=SolveOptions(time_limit=time_limit, workers=workers or default_workers(),
                                    seed=seed, stop=INTERRUPT.stop,
                                    on_progress=ProgressPrinter(enabled=False)),
               allow_past_session_changes=allow_past_session_changes)
    result = done.outcome.result
    for line in summary_lines(sc, result):
        say(line)
    for line in done.lines(from_block):
        say(line)
    if done.outcome.wrote_plan:
        say(f"plan        written to {out}/ and verified by the checker; changes in "
            f"{out}/changes.csv")
    elif result.explanation is not None and not done.impossible:
        say(result.explanation.render())
    finish(done.outcome.exit_code)


__all__ = ["demo_scenario_path", "replan", "report", "solve"]
