"""Capacity answers for education leads: the number, the plan, and the bottlenecks.

The plan for the maximum goes through the same pipeline as every solve (staged,
checked by the independent checker, then published), together with the
scenario it is a plan for (``scenario.yaml``: the original plus the added
learners), so anyone can verify it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotaplan.exit_codes import ExitCode
from rotaplan.io.plan_dir import write_text
from rotaplan.models import Scenario
from rotaplan.models.edits import Newcomer, with_newcomers
from rotaplan.models.vocabulary import Status
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.runs import pipeline
from rotaplan.solver import SolveOptions
from rotaplan.solver.capacity import Bottleneck, Maximum, maximise, saturated, value_bottlenecks

Say = Callable[[str], None]


@dataclass
class CapacityAnswer:
    """Everything ``rotaplan capacity`` found.

    Attributes
    ----------
    newcomer
        Who was added, in words.
    maximum
        The maximum and how sure it is.
    added_ids
        Ids of the learners added in the plan.
    plan_dir
        Where the checked plan for the maximum was written (None if not written).
    bottlenecks
        Saturated resources, the probed ones with their gain.
    """

    newcomer: str
    maximum: Maximum
    added_ids: list[str] = field(default_factory=list)
    plan_dir: Path | None = None
    bottlenecks: list[Bottleneck] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        m = self.maximum
        return {
            "newcomer": self.newcomer,
            "status": m.status,
            "max_additional": m.count,
            "exact": m.status == Status.OPTIMAL,
            "upper_bound": m.bound,
            "offered": m.offered,
            "seconds": round(m.seconds, 3),
            "stopped": m.stopped,
            "added_ids": self.added_ids,
            "plan_dir": None if self.plan_dir is None else str(self.plan_dir),
            "bottlenecks": [b.to_json() for b in self.bottlenecks],
        }


def headline(answer: CapacityAnswer) -> str:
    """One sentence: the number and how sure it is."""
    m = answer.maximum
    if m.status == Status.INFEASIBLE:
        return "The scenario has no plan even before adding anyone: run `rotaplan explain`."
    if m.stopped:
        if m.count is None:
            return "Stopped before any answer was found."
        return (f"Stopped: the programme can take at least {m.count} more "
                f"{answer.newcomer}; at most {m.bound} (not proven).")
    if m.count is None:
        return f"No answer within the time limit (at most {m.bound} more)."
    if m.status == Status.OPTIMAL:
        return f"The programme can take {m.count} more {answer.newcomer} (proven maximum)."
    return (f"The programme can take at least {m.count} more {answer.newcomer}; at most "
            f"{m.bound} (not proven within the time limit: try a longer --time-limit).")


def bottleneck_lines(items: list[Bottleneck], most: int = 15) -> list[str]:
    """A ranked table in plain words (the first ``most`` rows)."""
    if not items:
        return ["No resource at the sites they could use is full: the limit is elsewhere "
                "(eligibility, working patterns, cover or site minimums)."]
    lines = ["What limits growth (resources used to the limit where they could go):",
             f"  {'rank':<5}{'resource':<64}{'full in blocks':<16}effect of one more unit"]
    for n, item in enumerate(items[:most], 1):
        blocks = ", ".join(map(str, item.blocks))
        if item.gain is None:
            effect = "not tried"
        else:
            sign = "" if item.exact else "at least "
            effect = f"{item.change} → {sign}+{item.gain}"
        lines.append(f"  {n:<5}{item.text[:62]:<64}{blocks:<16}{effect}")
    tried = [item for item in items if item.gain is not None]
    if tried and all(item.gain == 0 for item in tried):
        lines.append("  No single one-unit change tried lets one more in: several limits bind "
                     "together (for example places in two cover settings).")
    if len(items) > most:
        lines.append(f"  ... and {len(items) - most} more full resources (all in --json)")
    return lines


def find_capacity(scenario: Scenario, newcomer: Newcomer, *, out: Path, time_limit: float,
                  probes: int, probe_seconds: float, workers: int, seed: int,
                  note: Say, stop: threading.Event | None = None
                  ) -> tuple[CapacityAnswer, ExitCode]:
    """Find the maximum, write its checked plan, and value the bottlenecks.

    Setting ``stop`` (from another thread) ends the work early: a maximum
    search cut short returns its count so far with no plan; a stop while the
    plan is built keeps the best plan found; bottlenecks not yet valued are
    left untried.

    Returns
    -------
    tuple[CapacityAnswer, ExitCode]
        The answer and the exit code (0 when a plan for the maximum was written).

    Raises
    ------
    rotaplan.models.edits.EditError
        If the newcomer cannot be described (unknown profession or learner).
    """
    words = newcomer.describe(scenario)
    note(f"finding how many more {words} fit (time limit {time_limit:g}s)...")
    best = maximise(scenario, newcomer, time_limit=time_limit, workers=workers, seed=seed,
                    stop=stop)
    answer = CapacityAnswer(words, best)
    if best.stopped:
        return answer, ExitCode.NO_PLAN
    if best.status == Status.INFEASIBLE or best.count is None:
        code = ExitCode.INFEASIBLE if best.status == Status.INFEASIBLE else ExitCode.NO_PLAN
        return answer, code
    grown, ids = with_newcomers(scenario, newcomer, best.count)
    note(f"building and checking the plan with {best.count} added...")
    header = f"{scenario.programme.name} with {best.count} more {words} (rotaplan capacity)"

    def grown_scenario(staging: Path, _: object) -> None:
        write_text(staging / "scenario.yaml",
                   dump_scenario(grown.model_dump(exclude_defaults=True), header=header))

    outcome = pipeline.solve_and_write(grown, out, SolveOptions(
        time_limit=max(10.0, time_limit), workers=workers, seed=seed, stop=stop),
        extras=grown_scenario)
    if not outcome.wrote_plan or outcome.result.plan is None:
        note(f"the plan with {best.count} added could not be written "
             f"(status {outcome.result.status})")
        return answer, outcome.exit_code
    answer.added_ids, answer.plan_dir = ids, out
    found = saturated(grown, outcome.result.plan, newcomer)

    def probing(n: int, total: int, item: Bottleneck) -> None:
        note(f"  valuing bottleneck {n}/{total}: {item.change}")

    answer.bottlenecks = value_bottlenecks(scenario, newcomer, best, found, probes=probes,
                                           seconds_each=probe_seconds, workers=workers,
                                           seed=seed, on_probe=probing, stop=stop)
    return answer, ExitCode.OK
