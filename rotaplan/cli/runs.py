"""``rotaplan batch`` and ``rotaplan sweep``: many solves, one table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rotaplan.cli.common import (
    INTERRUPT,
    err_console,
    fail,
    finish,
    note,
    out_console,
    out_dir,
    say,
)
from rotaplan.runs.batch import BatchError, Row, run_batch
from rotaplan.runs.sweep import SweepError, SweepResult, parse_set, read_sweep_file, run_sweep

DASK_HELP = ("Run on Dask: 'local' starts a cluster on this machine (loopback only); an "
             "address such as tcp://10.0.0.5:8786 uses a running scheduler, whose workers "
             "must see the --out folder.")


class _Bar:
    """A progress bar on stderr fed by the batch's callbacks."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("solving", total=total)

    def row(self, row: Row) -> None:
        if row.get("error"):
            self.progress.console.print(f"{row['scenario']}: the task failed: {row['error']}",
                                        markup=False)
        if self.task is not None:
            self.progress.update(self.task, advance=1,
                                 description=f"{row['scenario']}: {row['status']}")

    def warning(self, message: str) -> None:
        self.progress.console.print(f"warning: {message}", markup=False)


@contextmanager
def _bar(enabled: bool) -> Iterator[_Bar]:
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err_console, disable=not enabled)
    with progress:
        yield _Bar(progress)


def _fmt(value: Any, spec: str = "g") -> str:
    return "-" if value is None or value == "" else format(value, spec)


def results_table(rows: list[Row]) -> Table:
    """The table printed after a batch (one row per scenario)."""
    table = Table(title=None, show_edge=False, pad_edge=False)
    table.add_column("scenario")
    table.add_column("status")
    for heading in ("objective", "bound", "gap %", "placed", "time"):
        table.add_column(heading, justify="right")
    for row in rows:
        gap = None if row["gap"] is None else 100 * float(row["gap"])
        placed = "-" if row["placed"] is None else f"{row['placed']}/{row['learners']}"
        table.add_row(str(row["scenario"]), str(row["status"]), _fmt(row["objective"]),
                      _fmt(row["bound"]), _fmt(gap, ".1f"), placed, f"{row['time']:.1f}s")
    return table


def sweep_table(result: SweepResult) -> Table:
    """The table printed after a sweep (one row per variant)."""
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("variant")
    for label in result.labels.values():
        table.add_column(label, justify="right")
    table.add_column("status")
    for heading in ("objective", "placed", "1st choice", "top-3", "worst-off"):
        table.add_column(heading, justify="right")
    for row in result.rows:
        placed = "-" if row["placed"] is None else f"{row['placed']}/{row['learners']}"
        share = row["top3_share"]
        table.add_row(row["variant"], *(row[p] for p in result.labels), row["status"],
                      _fmt(row["objective"]), placed, _fmt(row["first_choice"]),
                      "-" if share is None else f"{100 * share:.0f}%",
                      _fmt(row["worst_learner_cost"]))
    return table


def print_table(table: Table) -> None:
    """Print a table on stdout, never squeezed when stdout is not a terminal."""
    if out_console.is_terminal:
        out_console.print(table)
        return
    wide = out_console.options.update(width=10_000)
    width = max(out_console.width, Measurement.get(out_console, wide, table).maximum)
    Console(highlight=False, soft_wrap=True, width=width).print(table)


def report_problems(rows: list[Row], limit: int = 3) -> None:
    """Print the first input errors of each invalid scenario on stderr."""
    for row in rows:
        errors = row.get("errors") or []
        for line in errors[:limit]:
            note(line)
        if len(errors) > limit:
            note(f"... and {len(errors) - limit} more in {row['plan_dir']}/summary.json")


def batch(
    paths: Annotated[list[Path], typer.Argument(
        help="Scenario files, folders (their *.yaml and *.yml files) or quoted globs.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for one plan folder per scenario and "
                            "batch_summary.csv.", show_default=False)],
    jobs: Annotated[int | None, typer.Option(
        help="Scenarios solved at once (default: cores / workers; reduced to fit the cores).",
        min=1, show_default=False)] = None,
    workers: Annotated[int, typer.Option(
        help="CP-SAT workers per scenario (1 with a fixed seed is deterministic).",
        min=1, max=64)] = 1,
    time_limit: Annotated[float, typer.Option(help="Seconds per scenario.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    dask: Annotated[str | None, typer.Option(
        "--dask", metavar="ADDRESS|local", help=DASK_HELP, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Solve many scenarios, in parallel, and summarise them in one table.

    Every plan is checked before it is written to OUT/<name>/. The summary is
    OUT/batch_summary.csv; the exit code is the worst scenario's (0 all plans
    written, 2 invalid input, 3 infeasible, 4 no plan in time, 5 a plan failed
    verification or a task crashed, 130 stopped by Ctrl-C or SIGTERM: no further
    scenario is started, running ones keep their best plan, and the summary is
    still written).
    """
    out_dir(out, container=True)
    try:
        with _bar(not quiet) as bar:
            INTERRUPT.keep_from_now()  # Ctrl-C stops the solves; the summary is written
            result = run_batch(paths, out, jobs=jobs, workers=workers, time_limit=time_limit,
                               seed=seed, dask=dask, on_start=bar.start, on_row=bar.row,
                               on_warning=bar.warning, stop=INTERRUPT.stop)
    except BatchError as exc:
        fail(str(exc))
    report_problems(result.rows)
    print_table(results_table(result.rows))
    say(f"summary written to {result.summary_csv}")
    finish(result.exit_code)


def sweep(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for variants/, one plan per variant, variants.csv "
                            "and sweep_summary.csv.", show_default=False)],
    scenario: Annotated[Path | None, typer.Argument(
        help="Scenario YAML to vary (or scenario: in the --sweep file).",
        show_default=False)] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", metavar="PATH=V1,V2,...",
        help="Values of one parameter; repeat for more (every combination is solved). "
             "PATH is programme.FIELD, objective.FIELD, tracks.rotation.FIELD, "
             "tracks.fellowship.FIELD, sites.SITE_ID.FIELD, sites.SITE_ID.rooms.SESSION, "
             "sites.SITE_ID.supervisors.SUP_ID.FIELD, learners.LEARNER_ID.FIELD or "
             "learners.count.PROFESSION (add .fellowship for fellows). Values: whole numbers, "
             "true/false, none (the default), text; A..B is a range. "
             "Example: --set sites.bridge-st.rooms=1,2,3", show_default=False)] = None,
    sweep_file: Annotated[Path | None, typer.Option(
        "--sweep", help="YAML file with scenario: FILE (optional) and set: mapping each "
                        "PATH to a list of values.", show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option(
        help="Variants solved at once (default: cores / workers; reduced to fit the cores).",
        min=1, show_default=False)] = None,
    workers: Annotated[int, typer.Option(
        help="CP-SAT workers per variant (1 with a fixed seed is deterministic).",
        min=1, max=64)] = 1,
    time_limit: Annotated[float, typer.Option(help="Seconds per variant.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    dask: Annotated[str | None, typer.Option(
        "--dask", metavar="ADDRESS|local", help=DASK_HELP, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Solve every combination of parameter values and compare the plans' KPIs.

    Variants are written to OUT/variants/, solved (each plan checked) into
    OUT/<variant>/, and summarised in OUT/sweep_summary.csv. An unknown id or
    field exits 2 before solving; otherwise the exit code is the worst variant's.
    """
    out_dir(out, container=True)
    try:
        params: dict[str, list[Any]] = {}
        if sweep_file is not None:
            from_file, params = read_sweep_file(sweep_file)
            scenario = scenario or from_file
        given: set[str] = set()
        for text in sets or []:
            path, values = parse_set(text)
            if path in given:
                raise SweepError(f"--set {path} is given twice; list all its values in one "
                                 "--set")
            given.add(path)
            params[path] = values
        if scenario is None:
            raise SweepError("say which scenario to vary: SCENARIO or scenario: in --sweep")
        with _bar(not quiet) as bar:
            INTERRUPT.keep_from_now()  # Ctrl-C stops the solves; the summary is written
            result = run_sweep(scenario, params, out, jobs=jobs, workers=workers,
                               time_limit=time_limit, seed=seed, dask=dask,
                               on_start=bar.start, on_row=bar.row, on_warning=bar.warning,
                               stop=INTERRUPT.stop)
    except (SweepError, BatchError) as exc:
        fail(str(exc))
    assert result.batch is not None
    report_problems(result.batch.rows)
    print_table(sweep_table(result))
    say(f"variants in {out / 'variants'}/ (values in {result.variants_csv}); "
        f"summary written to {result.summary_csv}")
    finish(result.exit_code)


__all__ = ["batch", "print_table", "results_table", "sweep", "sweep_table"]
