"""``rotaplan explain``, ``rotaplan capacity`` and ``rotaplan compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rotaplan.cli.common import (
    INTERRUPT,
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
from rotaplan.io.plan_dir import write_explanation_files


def explain(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write explanation.txt and explanation.json here.",
        show_default=False)] = None,
    time_limit: Annotated[float, typer.Option(
        help="Seconds for the whole explanation: conflict search and suggested fixes.",
        min=1.0)] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    details: Annotated[bool, typer.Option(
        "--details", help="Also print every id behind each line, and why options are few.")
    ] = False,
) -> None:
    """Explain why a scenario has no plan, in at most 10 lines, and changes that fix it.

    Exits 0 when the scenario has a plan, 3 when it is infeasible (as ``solve``),
    4 when neither could be proven within the time limit.
    """
    from rotaplan.solver.explain import diagnose

    scenario_file(scenario)
    if out is not None:
        out_dir(out, container=True)
    sc = load_or_exit(scenario).scenario
    INTERRUPT.keep_from_now()  # a stop request ends the search with what it has found
    found = diagnose(sc, time_limit, stop=INTERRUPT.stop)
    if found.feasible:
        if as_json:
            say(json.dumps({"feasible": True}))
        else:
            say(f"{scenario}: a plan exists; nothing to explain (run `rotaplan solve` to "
                "build it).")
        finish(ExitCode.OK)
    explanation = found.explanation
    if explanation is None:
        message = (f"Neither a plan nor a proof that none exists was found within "
                   f"{time_limit:g}s; try a longer --time-limit.")
        say(json.dumps({"feasible": None, "summary": message}) if as_json else message)
        finish(ExitCode.NO_PLAN)
    if out is not None:
        write_explanation_files(explanation, out)
    if as_json:
        say(json.dumps({"feasible": False} | explanation.to_json(), indent=2))
    else:
        say(explanation.render(details=details))
    finish(ExitCode.INFEASIBLE)


def capacity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.", show_default=False)],
    add: Annotated[str | None, typer.Option(
        "--add", help="Profession of the learners to add.", show_default=False)] = None,
    track: Annotated[str, typer.Option(help="rotation or fellowship.")] = "rotation",
    like: Annotated[str | None, typer.Option(
        help="Add copies of this learner instead (profession, track, pattern, preferences).",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for the plan at the maximum.")] = Path("plans/capacity"),
    time_limit: Annotated[float, typer.Option(help="Seconds to find the maximum.", min=1.0)
                          ] = 60.0,
    probes: Annotated[int, typer.Option(
        help="Single bottlenecks to value one at a time by re-solving.", min=0)] = 0,
    probe_seconds: Annotated[float, typer.Option(help="Seconds per bottleneck re-solve.",
                                                 min=0.5)] = 10.0,
    combine: Annotated[int, typer.Option(
        help="Sets of extra units to find (fewest units for one more, then beyond), each "
             "re-solved.", min=0)] = 2,
    combine_seconds: Annotated[float, typer.Option(
        help="Seconds per set of extra units (finding it and re-solving).", min=1.0)] = 40.0,
    workers: Annotated[int | None, typer.Option(
        help="CP-SAT workers (default: the machine's cores, at most 8).", min=1, max=64,
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How many more learners of a kind the programme can take, and what limits it."""
    from rotaplan.analysis.capacity import (
        bottleneck_lines,
        find_capacity,
        group_lines,
        headline,
    )
    from rotaplan.models.edits import EditError, Newcomer

    if add is None and like is None:
        fail("say what to add: --add PROFESSION or --like LEARNER_ID")
    if track not in ("rotation", "fellowship"):
        fail(f"--track must be rotation or fellowship, not {track!r}")
    scenario_file(scenario)
    out_dir(out)
    sc = load_or_exit(scenario).scenario
    newcomer = Newcomer(profession=add, track=track, like=like)
    try:
        newcomer.template(sc)
    except EditError as exc:
        fail(str(exc))
    INTERRUPT.keep_from_now()  # a stop request keeps what has been proven so far
    answer, code = find_capacity(sc, newcomer, out=out, time_limit=time_limit, probes=probes,
                                 probe_seconds=probe_seconds,
                                 workers=workers or default_workers(), seed=seed, note=note,
                                 stop=INTERRUPT.stop, combine=combine,
                                 combine_seconds=combine_seconds)
    if as_json:
        say(json.dumps(answer.to_json(), indent=2))
        finish(code)
    say(headline(answer))
    if code != ExitCode.OK:
        finish(code)
    if answer.added_ids:
        say(f"Added in the plan: {', '.join(answer.added_ids)}.")
    say(f"Plan for that maximum written to {out}/ (checked), with the grown scenario in "
        f"{out}/scenario.yaml.")
    say()
    for line in group_lines(answer):
        say(line)
    if probes > 0:
        say()
        for line in bottleneck_lines(answer.bottlenecks):
            say(line)
        say()
        say("'+N' is how many more could be taken with that one change (re-solved; "
            "'at least' when a re-solve was not proven optimal).")
    finish(code)


def compare(
    a: Annotated[Path, typer.Argument(help="First scenario YAML or plan folder.")],
    b: Annotated[Path, typer.Argument(help="Second scenario YAML or plan folder.")],
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario of the plans (for KPIs).", show_default=False)] = None,
    scenario_b: Annotated[Path | None, typer.Option(
        help="Scenario of plan B, if it differs.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare two scenarios (what changed) or two plans (KPI deltas, who moved)."""
    from rotaplan.analysis.compare import InputError, compare_inputs, render, to_json

    try:
        result = compare_inputs(a, b, scenario, scenario_b)
    except InputError as exc:
        if as_json:
            say(json.dumps({"error": str(exc)}))
            finish(ExitCode.INVALID)
        fail(str(exc))
    say(to_json(result) if as_json else render(result))
    finish(ExitCode.OK)


__all__ = ["capacity", "compare", "explain"]
