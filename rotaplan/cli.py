"""The ``rotaplan`` command line.

Exit codes (contract §8): 0 a plan was written; 2 the input is invalid; 3 the
scenario is proven infeasible; 4 no plan was found within the time limit.
Beyond the contract: 1 ``check`` found violations; 5 a plan was found but
failed verification (a bug: please report it).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rotaplan.analysis.kpis import summary_lines
from rotaplan.checker import check_plan_dir
from rotaplan.io.workbook import import_command
from rotaplan.models import ScenarioError, load
from rotaplan.models.loader import Loaded
from rotaplan.models.scenario import Scenario
from rotaplan.runs import pipeline
from rotaplan.runs.batch import batch_command
from rotaplan.runs.sweep import sweep_command
from rotaplan.solver import Progress, SolveOptions

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="rotaplan: rotation and fellowship plans for NHS integrated care systems.",
    pretty_exceptions_enable=False,
)
out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def demo_scenario_path() -> Path:
    """The embedded demo scenario (30 learners)."""
    return Path(str(resources.files("rotaplan") / "data" / "demo.yaml"))


def _load_or_exit(path: Path, out: Path | None = None) -> Loaded:
    try:
        loaded = load(path)
    except ScenarioError as exc:
        err_console.print(exc.render(), markup=False)
        err_console.print(f"{len(exc.errors)} error(s): the scenario is invalid.", markup=False)
        if out is not None:
            pipeline.write_invalid(out, [p.render(str(path)) for p in exc.errors])
        raise typer.Exit(pipeline.EXIT_INVALID) from None
    for warning in loaded.warnings:
        err_console.print(warning.render(str(path)), markup=False)
    return loaded


class _ProgressPrinter:
    """Prints best objective and bound while a solve runs longer than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.best: float | None = None
        self.bound: float | None = None
        self.last_print = 0.0
        self.lock = threading.Lock()

    def __call__(self, event: Progress) -> None:
        with self.lock:
            if event.objective is not None:
                self.best = event.objective
            if event.bound is not None:
                self.bound = event.bound
            if not self.enabled or event.seconds < 1.0 or event.seconds - self.last_print < 1.0:
                return
            self.last_print = event.seconds
            best = "-" if self.best is None else f"{self.best:g}"
            bound = "-" if self.bound is None else f"{self.bound:g}"
            gap = ""
            if self.best is not None and self.bound is not None:
                gap = f"  gap {100 * abs(self.best - self.bound) / max(1.0, abs(self.best)):.1f}%"
            err_console.print(f"  {event.seconds:6.1f}s  [{event.phase}]  best {best}  "
                              f"bound {bound}{gap}", markup=False)


@app.command()
def solve(
    scenario: Annotated[Path | None, typer.Argument(
        help="Scenario YAML (default: the embedded demo).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the plan files.")] = Path(
        "plan"),
    time_limit: Annotated[float, typer.Option(help="Seconds for the whole solve.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    workers: Annotated[int, typer.Option(
        help="CP-SAT workers (1 with a fixed seed is deterministic).", min=1, max=64)] = 2,
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
    path = scenario or demo_scenario_path()
    loaded = _load_or_exit(path, out)
    sc = loaded.scenario
    err_console.print(f"solving {path}: {len(sc.learners)} learners, {len(sc.sites)} sites, "
                      f"{sc.programme.blocks} blocks (time limit {time_limit:g}s, "
                      f"{workers} worker(s))", markup=False)
    options = SolveOptions(time_limit=time_limit, workers=workers, seed=seed, log=log,
                           on_progress=_ProgressPrinter(enabled=not quiet))
    outcome = pipeline.solve_and_write(sc, out, options)
    result = outcome.result
    for line in summary_lines(sc, result):
        out_console.print(line, markup=False)
    if outcome.exit_code == pipeline.EXIT_OK:
        out_console.print(f"plan        written to {out}/ and verified by the checker",
                          markup=False)
    elif outcome.exit_code == pipeline.EXIT_INFEASIBLE and result.explanation is not None:
        out_console.print(result.explanation.render(), markup=False)
        out_console.print(f"explanation written to {out}/explanation.txt", markup=False)
    elif outcome.exit_code == pipeline.EXIT_NO_PLAN:
        out_console.print(f"no plan found within {time_limit:g}s; try a longer --time-limit",
                          markup=False)
    elif outcome.exit_code == pipeline.EXIT_CHECK_FAILED and outcome.check is not None:
        err_console.print("the plan FAILED verification and was not written as a plan:",
                          markup=False)
        err_console.print(outcome.check.render(limit=20), markup=False)
    if alternatives > 1 and outcome.exit_code == pipeline.EXIT_OK:
        _alternatives(sc, out, outcome, alternatives, min_changes,
                      SolveOptions(time_limit=time_limit, workers=workers, seed=seed))
    raise typer.Exit(outcome.exit_code)


def _alternatives(sc: Scenario, out: Path, best: pipeline.Outcome, count: int,
                  min_changes: int, options: SolveOptions) -> None:
    """Find, write and compare further plans (``solve --alternatives``)."""
    from rotaplan.runs.replan import alternatives as find

    err_console.print(f"looking for {count - 1} more plan(s), each differing from every "
                      f"earlier one in at least {min_changes} placement(s)...", markup=False)
    found = find(sc, out, best, count, min_changes=min_changes, options=options)
    out_console.print("", markup=False)
    out_console.print(f"{'plan':<7}{'objective':>10}{'placed':>8}{'1st choice':>12}"
                      f"{'top 3':>7}{'worst-off':>11}{'differs':>9}", markup=False)
    for alt in found:
        f = alt.figures
        out_console.print(f"{f['plan']:<7}{f['objective']:>10g}{f['placed']:>8}"
                          f"{f['first_choice']:>12}{f['top3_placements']:>7}"
                          f"{f['worst_learner_cost']:>11}{f['differs_from_alt1']:>9}",
                          markup=False)
    if len(found) < count:
        out_console.print(f"only {len(found)} different plan(s) found within the limits",
                          markup=False)
    out_console.print(f"alternatives written to {out}/alt-1 ... {out}/alt-{len(found)}; "
                      f"comparison in {out}/alternatives.csv (each plan checked)",
                      markup=False)


@app.command()
def replan(
    scenario: Annotated[Path, typer.Argument(help="The scenario after the change.",
                                             show_default=False)],
    old_plan: Annotated[Path, typer.Option("--from", help="Directory of the plan in force.",
                                           show_default=False)],
    from_block: Annotated[int, typer.Option(
        help="First block that may change; earlier blocks are kept as they were.",
        min=1)] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the new plan.")] = Path(
        "replan"),
    time_limit: Annotated[float, typer.Option(help="Seconds for the solve.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    workers: Annotated[int, typer.Option(help="CP-SAT workers.", min=1, max=64)] = 2,
) -> None:
    """Re-plan after a change, keeping early blocks and changing as little as possible.

    Changes to the old plan are minimised first and preference cost second. The
    new plan is checked and written with changes.csv, timetable_changes.csv and
    supervisor_changes.csv. Blocks before --from-block keep their sites, sessions
    and supervisors.
    """
    from rotaplan.io.export import read_plan_dir
    from rotaplan.runs.replan import replan as run

    sc = _load_or_exit(scenario, out).scenario
    if from_block > sc.programme.blocks:
        err_console.print(f"--from-block {from_block}: the programme has "
                          f"{sc.programme.blocks} blocks", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    try:
        old, _ = read_plan_dir(old_plan)  # checks the files and their columns
    except (OSError, ValueError, KeyError) as exc:
        err_console.print(f"cannot read the plan in {old_plan}: {exc}", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID) from None
    err_console.print(f"re-planning {scenario} from block {from_block} against {old_plan}",
                      markup=False)
    done = run(sc, old, out, from_block=from_block,
               options=SolveOptions(time_limit=time_limit, workers=workers, seed=seed))
    result = done.outcome.result
    for line in summary_lines(sc, result):
        out_console.print(line, markup=False)
    for line in done.lines(from_block):
        out_console.print(line, markup=False)
    if done.outcome.exit_code == pipeline.EXIT_OK:
        out_console.print(f"plan        written to {out}/ and verified by the checker; "
                          f"changes in {out}/changes.csv", markup=False)
    elif result.explanation is not None and not done.impossible:
        out_console.print(result.explanation.render(), markup=False)
    raise typer.Exit(done.outcome.exit_code)


@app.command()
def explain(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write explanation.txt and explanation.json here.")] = None,
    time_limit: Annotated[float, typer.Option(
        help="Seconds for the conflict search (relaxations are tried after it).",
        min=1.0)] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Explain why a scenario has no plan: a minimal conflict, and single changes that fix it.

    Exits 0 when the scenario has a plan, 3 when it is infeasible (as ``solve``).
    """
    from rotaplan.solver.explain import diagnose

    sc = _load_or_exit(scenario).scenario
    found = diagnose(sc, time_limit)
    if found is None:
        if as_json:
            out_console.print(json.dumps({"feasible": True}), markup=False)
        else:
            out_console.print(f"{scenario}: a plan exists; nothing to explain "
                              "(run `rotaplan solve` to build it).", markup=False)
        raise typer.Exit(pipeline.EXIT_OK)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "explanation.txt").write_text(found.render() + "\n", encoding="utf-8")
        (out / "explanation.json").write_text(json.dumps(found.to_json(), indent=2) + "\n",
                                              encoding="utf-8")
    if as_json:
        out_console.print(json.dumps({"feasible": False} | found.to_json(), indent=2),
                          markup=False)
    else:
        out_console.print(found.render(), markup=False)
    raise typer.Exit(pipeline.EXIT_INFEASIBLE)


@app.command()
def capacity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
    add: Annotated[str | None, typer.Option(
        "--add", help="Profession of the learners to add.", show_default=False)] = None,
    track: Annotated[str, typer.Option(help="rotation or fellowship.")] = "rotation",
    like: Annotated[str | None, typer.Option(
        help="Add copies of this learner instead (profession, track, pattern, preferences).",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the plan at the maximum.")
                   ] = Path("plan-capacity"),
    time_limit: Annotated[float, typer.Option(help="Seconds to find the maximum.", min=1.0)
                          ] = 60.0,
    probes: Annotated[int, typer.Option(help="Bottlenecks to value by re-solving.", min=0)] = 8,
    probe_seconds: Annotated[float, typer.Option(help="Seconds per bottleneck re-solve.",
                                                 min=0.5)] = 10.0,
    workers: Annotated[int, typer.Option(help="CP-SAT workers.", min=1, max=64)] = 2,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How many more learners of a kind the programme can take, and what limits it."""
    from rotaplan.analysis.capacity import run_capacity

    if add is None and like is None:
        err_console.print("say what to add: --add PROFESSION or --like LEARNER_ID", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    if track not in ("rotation", "fellowship"):
        err_console.print(f"--track must be rotation or fellowship, not {track!r}", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    sc = _load_or_exit(scenario).scenario
    code = run_capacity(sc, add=add, track=track, like=like, out=out, time_limit=time_limit,
                        probes=probes, probe_seconds=probe_seconds, workers=workers, seed=seed,
                        as_json=as_json, say=lambda line: out_console.print(line, markup=False),
                        note=lambda line: err_console.print(line, markup=False))
    raise typer.Exit(code)


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="First scenario YAML or plan directory.")],
    b: Annotated[Path, typer.Argument(help="Second scenario YAML or plan directory.")],
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario of the plans (for KPIs).", show_default=False)] = None,
    scenario_b: Annotated[Path | None, typer.Option(
        help="Scenario of plan B, if it differs.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare two scenarios (what changed) or two plans (KPI deltas, who moved)."""
    from rotaplan.analysis.compare import run_compare

    text, code = run_compare(a, b, scenario, scenario_b, as_json)
    out_console.print(text, markup=False)
    raise typer.Exit(code)


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
) -> None:
    """Check a scenario file and report every problem with FILE:LINE:COL."""
    loaded = _load_or_exit(scenario)
    sc = loaded.scenario
    fellows = sum(1 for x in sc.learners if x.track == "fellowship")
    out_console.print(
        f"OK: {scenario}: {len(sc.learners)} learners ({fellows} fellows), {len(sc.sites)} "
        f"sites, {sum(len(s.supervisors) for s in sc.sites)} supervisors, "
        f"{sc.programme.blocks} blocks", markup=False)


@app.command()
def check(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
    plan_dir: Annotated[Path, typer.Argument(help="Directory with the plan files.")],
) -> None:
    """Verify a plan against a scenario, rule by rule (exit 0 valid, 1 violations)."""
    loaded = _load_or_exit(scenario)
    if not plan_dir.is_dir():
        err_console.print(f"{plan_dir}: no such directory", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    report = check_plan_dir(loaded.scenario, plan_dir)
    out_console.print(report.render(), markup=False)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def export(
    plan_dir: Annotated[Path, typer.Argument(help="Directory with the plan files.")],
    scenario: Annotated[Path, typer.Option(help="Scenario YAML of the plan.",
                                           show_default=False)],
    xlsx: Annotated[Path | None, typer.Option(
        help="Write an Excel workbook (rotations, timetable, loads, KPIs) to this file.",
        show_default=False)] = None,
    ics: Annotated[Path | None, typer.Option(
        help="Write one calendar (.ics) per learner and per supervisor into this directory.",
        show_default=False)] = None,
) -> None:
    """Export a plan as an Excel workbook and/or ICS calendars."""
    from rotaplan.io.export import SHEETS, calendars, read_plan_dir, xlsx_bytes

    if xlsx is None and ics is None:
        err_console.print("say what to write: --xlsx FILE and/or --ics DIR", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    sc = _load_or_exit(scenario).scenario
    try:
        plan, summary = read_plan_dir(plan_dir)
        workbook = xlsx_bytes(sc, plan, summary) if xlsx is not None else None
        files = calendars(sc, plan) if ics is not None else {}
    except ValueError as exc:
        err_console.print(f"cannot export: {exc}", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID) from None
    try:
        if xlsx is not None and workbook is not None:
            xlsx.parent.mkdir(parents=True, exist_ok=True)
            xlsx.write_bytes(workbook)
            out_console.print(f"wrote {xlsx} (sheets: {', '.join(SHEETS)})", markup=False)
        if ics is not None:
            ics.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (ics / name).write_bytes(data)
            learners = sum(1 for name in files if name.startswith("learner-"))
            out_console.print(f"wrote {len(files)} calendars to {ics}/ ({learners} learners, "
                              f"{len(files) - learners} supervisors)", markup=False)
    except OSError as exc:
        err_console.print(f"cannot write: {exc}", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID) from None


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    out_console.print(json.dumps(Scenario.model_json_schema(), indent=2), markup=False)


@app.command()
def generate(
    size: Annotated[int | None, typer.Option(help="Number of learners.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same arguments, same file).")] = 0,
    blocks: Annotated[int, typer.Option(help="Number of blocks (4 or more).")] = 4,
    out: Annotated[Path | None, typer.Option(help="Output file (default: stdout).")] = None,
    shipped: Annotated[Path | None, typer.Option(
        help="Regenerate the shipped instances into this directory.")] = None,
) -> None:
    """Generate a realistic scenario (seeded), or regenerate the shipped instances."""
    from rotaplan import generate as gen

    argv: list[str] = []
    if shipped is not None:
        argv = ["--shipped", str(shipped)]
    elif size is not None:
        argv = ["--size", str(size), "--seed", str(seed), "--blocks", str(blocks)]
        if out is not None:
            argv += ["--out", str(out)]
    else:
        err_console.print("give --size N (with --seed) or --shipped DIR", markup=False)
        raise typer.Exit(pipeline.EXIT_INVALID)
    raise typer.Exit(gen.main(argv))


app.command("import")(import_command)
app.command("batch")(batch_command)
app.command("sweep")(sweep_command)


def main() -> None:
    """Console-script entry point."""
    started = time.perf_counter()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print(f"interrupted after {time.perf_counter() - started:.1f}s",
                          markup=False)
        sys.exit(130)
