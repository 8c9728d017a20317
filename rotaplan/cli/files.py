"""Commands about files: validate, check, schema, export, import, generate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rotaplan.cli.common import (
    SHOWN_PROBLEMS,
    fail,
    finish,
    load_or_exit,
    note,
    out_dir,
    out_file,
    say,
    scenario_file,
)
from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import PlanDirError, read_plan_dir, write_text
from rotaplan.models import Scenario, ScenarioError, load


def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
) -> None:
    """Check a scenario file and report every problem with FILE:LINE:COL."""
    scenario_file(scenario)
    sc = load_or_exit(scenario).scenario
    fellows = sum(1 for x in sc.learners if x.track == "fellowship")
    say(f"OK: {scenario}: {len(sc.learners)} learners ({fellows} fellows), {len(sc.sites)} "
        f"sites, {sum(len(s.supervisors) for s in sc.sites)} supervisors, "
        f"{sc.programme.blocks} blocks")


def check(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
    plan_dir: Annotated[Path, typer.Argument(help="Folder with the plan files.",
                                             show_default=False)],
) -> None:
    """Verify a plan against a scenario, rule by rule (exit 0 valid, 1 violations)."""
    from rotaplan.checker import check_plan_dir

    scenario_file(scenario)
    sc = load_or_exit(scenario).scenario
    if not plan_dir.is_dir():
        fail(f"{plan_dir}: no such folder")
    report = check_plan_dir(sc, plan_dir)
    say(report.render())
    finish(ExitCode.OK if report.ok else ExitCode.VIOLATIONS)


def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    say(json.dumps(Scenario.model_json_schema(), indent=2))


def export(
    plan_dir: Annotated[Path, typer.Argument(help="Folder with the plan files.",
                                             show_default=False)],
    scenario: Annotated[Path, typer.Option(help="Scenario YAML of the plan.",
                                           show_default=False)],
    xlsx: Annotated[Path | None, typer.Option(
        help="Write an Excel workbook (rotations, timetable, loads, KPIs) to this file.",
        show_default=False)] = None,
    ics: Annotated[Path | None, typer.Option(
        help="Write one calendar (.ics) per learner and per supervisor into this folder.",
        show_default=False)] = None,
) -> None:
    """Export a plan as an Excel workbook and/or ICS calendars."""
    from rotaplan.io.ics import calendars, write_calendars
    from rotaplan.io.plan_dir import write_bytes
    from rotaplan.io.xlsx import SHEETS, xlsx_bytes

    if xlsx is None and ics is None:
        fail("say what to write: --xlsx FILE and/or --ics DIR")
    if xlsx is not None:
        out_file(xlsx, "--xlsx")
    if ics is not None:
        out_dir(ics, "--ics", container=True)
    scenario_file(scenario)
    sc = load_or_exit(scenario).scenario
    try:
        found = read_plan_dir(plan_dir)
    except PlanDirError as exc:
        fail(f"cannot export: {exc}")
    try:  # both made before either is written: nothing is half-written
        workbook = xlsx_bytes(sc, found.plan, found.summary) if xlsx is not None else None
        files = calendars(sc, found.plan) if ics is not None else {}
    except ValueError as exc:
        fail(f"cannot export: {exc}")
    try:
        if xlsx is not None and workbook is not None:
            write_bytes(xlsx, workbook)
            say(f"wrote {xlsx} (sheets: {', '.join(SHEETS)})")
        if ics is not None:
            paths = write_calendars(files, ics)
            learners = sum(1 for p in paths if p.name.startswith("learner-"))
            say(f"wrote {len(paths)} calendars to {ics}/ ({learners} learners, "
                f"{len(paths) - learners} supervisors)")
    except OSError as exc:
        fail(f"cannot write: {exc.strerror or exc}")


def import_(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="A workbook (.xlsx) with one sheet per table, or CSV files named after their "
             "tables (programme.csv, sites.csv, learners.csv, ...).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Scenario YAML to write.", show_default=False)] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", help="Instead, write a workbook in the import format to this file "
                           "(empty with a README sheet, or filled from --from).",
        show_default=False)] = None,
    from_scenario_path: Annotated[Path | None, typer.Option(
        "--from", help="With --template: the scenario YAML to fill the workbook with.",
        show_default=False)] = None,
) -> None:
    """Build a scenario from a hub's spreadsheets (.xlsx workbook or CSV files).

    Every problem is reported at once with its sheet, row and column; nothing is
    written unless the scenario is valid (exit 2 otherwise).
    """
    from rotaplan.io.workbook import read_files

    if template is not None:
        _template(template, from_scenario_path, inputs, out)
        return
    if from_scenario_path is not None:
        fail("--from goes with --template (it fills a template workbook from a scenario)")
    if not inputs:
        fail("give a workbook (.xlsx) or CSV files to import, or --template FILE.xlsx")
    if out is None:
        fail("say where to write the scenario: --out SCENARIO.yaml")
    out_file(out, "--out")
    for item in inputs:
        scenario_file(item)
    result = read_files(inputs)
    for line in result.notes:
        note(f"note: {line}")
    for problem in result.problems:
        note(problem.render())
    if not result.ok:
        fail(f"{len(result.errors)} error(s): nothing written.")
    try:
        write_text(out, result.yaml_text())  # whole or not at all
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    sc = result.scenario
    assert sc is not None
    say(f"wrote {out}: {len(sc.learners)} learners, {len(sc.sites)} sites, "
        f"{sum(len(s.supervisors) for s in sc.sites)} supervisors "
        f"(from {', '.join(result.sources)})")


def _template(path: Path, scenario_path: Path | None, inputs: list[Path] | None,
              out: Path | None) -> None:
    from rotaplan.io.workbook import write_template

    if inputs or out is not None:
        fail("--template writes a workbook; give no files to import and no --out with it")
    if path.suffix.lower() != ".xlsx":
        fail(f"--template writes an Excel workbook: give a .xlsx file name, not '{path.name}'")
    out_file(path, "--template")
    scenario = None
    if scenario_path is not None:
        scenario_file(scenario_path)
        try:
            scenario = load(scenario_path).scenario
        except ScenarioError as exc:
            note(exc.render(limit=SHOWN_PROBLEMS))
            fail(f"{len(exc.errors)} error(s): the scenario is invalid; nothing written.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_template(path, scenario)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    what = (f"filled from {scenario_path}" if scenario is not None
            else "empty, with a README sheet")
    say(f"wrote {path} ({what}); fill it in and run `rotaplan import {path.name} "
        "--out scenario.yaml`")


def generate(
    size: Annotated[int | None, typer.Option(help="Number of learners (5,000 at most: a "
                                                  "scenario file is at most 2 MB).", min=1,
                                             max=5_000,
                                             show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same arguments, same file).")] = 0,
    blocks: Annotated[int, typer.Option(help="Number of blocks (4 or more).", min=4,
                                        max=52)] = 4,
    name: Annotated[str | None, typer.Option(help="Programme name.",
                                             show_default=False)] = None,
    fellow_share: Annotated[float, typer.Option(help="Share of fellows.", min=0.0,
                                                max=1.0)] = 0.15,
    part_time_share: Annotated[float, typer.Option(help="Share of part-time learners.",
                                                   min=0.0, max=1.0)] = 0.2,
    tightness: Annotated[float, typer.Option(
        help="Above 1 means less supervisor capacity per learner.", min=0.1, max=10.0)
        ] = 1.0,
    infeasible: Annotated[bool, typer.Option(
        "--infeasible", help="Write the small, deliberately infeasible scenario of --seed.")
        ] = False,
    pathway: Annotated[bool, typer.Option(
        "--pathway", help="A version-2 pathway programme instead: twelve monthly blocks, "
                          "3- and 6-month placements, organisations, precedence, electives "
                          "(--size learners).")] = False,
    out: Annotated[Path | None, typer.Option(help="Output file (default: standard output).",
                                             show_default=False)] = None,
    shipped: Annotated[Path | None, typer.Option(
        help="Regenerate the shipped instances into this folder.", show_default=False)
        ] = None,
) -> None:
    """Generate a realistic scenario (seeded), or regenerate the shipped instances."""
    from rotaplan import generate as gen
    from rotaplan.models.yaml_format import dump_scenario

    if shipped is not None:
        out_dir(shipped, "--shipped", container=True)
        from rotaplan.shipped import write_shipped

        for path in write_shipped(shipped):
            note(f"wrote {path}")
        return
    if size is None and not infeasible:
        fail("give --size N (with --seed), --infeasible or --shipped DIR")
    if out is not None:
        out_file(out, "--out")
    try:
        if infeasible:
            data = gen.make_infeasible(seed)
            text = dump_scenario(data, gen.infeasible_header(data))
        elif pathway:
            from rotaplan.pathway import generate_pathway

            assert size is not None
            data = generate_pathway(size, seed=seed, name=name)
            text = dump_scenario(data, f"{gen.describe(data)}.\nGenerated by rotaplan "
                                       f"generate (pathway, size={size}, seed={seed}).")
        else:
            assert size is not None
            data = gen.generate_scenario(size, seed=seed, blocks=blocks, name=name,
                                         fellow_share=fellow_share,
                                         part_time_share=part_time_share,
                                         tightness=tightness)
            args = f"size={size}, seed={seed}, blocks={blocks}"
            text = dump_scenario(data, f"{gen.describe(data)}.\nGenerated by rotaplan "
                                       f"generate ({args}).")
    except ValueError as exc:
        fail(f"cannot generate: {exc}")
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        write_text(out, text)  # whole or not at all
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    note(f"wrote {out}")


def ui(
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8501,
    address: Annotated[str, typer.Option(
        help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Serve the configurator (Streamlit) on http://ADDRESS:PORT."""
    import subprocess
    import sys

    from rotaplan.ui import app_path

    command = [sys.executable, "-m", "streamlit", "run", str(app_path()),
               "--server.address", address, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    note(f"serving the configurator on http://{address}:{port} (Ctrl-C to stop)")
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:
        code = 0
    if code not in (0, 130, -2):
        fail(f"the configurator stopped with exit code {code}", ExitCode.CHECK_FAILED)


__all__ = ["check", "export", "generate", "import_", "schema", "ui", "validate"]
