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
from rotaplan.solver.capacity import (
    Bottleneck,
    Combined,
    Maximum,
    combined_changes,
    maximise,
    saturated,
    value_bottlenecks,
)
from rotaplan.solver.relaxation import ROOMS, SITE_CAPACITY, SUPERVISOR_CAPACITY

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
    groups
        The saturated resources grouped by setting and kind, in plain names.
    combined
        The fewest extra units for more newcomers, each re-solved.
    profession
        The newcomers' profession.
    """

    newcomer: str
    maximum: Maximum
    added_ids: list[str] = field(default_factory=list)
    plan_dir: Path | None = None
    bottlenecks: list[Bottleneck] = field(default_factory=list)
    groups: list[BottleneckGroup] = field(default_factory=list)
    combined: list[Combined] = field(default_factory=list)
    profession: str = ""

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
            "bottleneck_groups": [g.to_json() for g in self.groups],
            "combined_changes": [c.to_json() for c in self.combined],
        }


RESOURCE_WORDS = {
    SITE_CAPACITY: "places full",
    SUPERVISOR_CAPACITY: "supervision full",
    ROOMS: "rooms full",
}
"""How each saturated resource kind reads in a grouped line."""


@dataclass(frozen=True)
class BottleneckGroup:
    """Saturated resources of one kind in one setting, in plain names.

    Attributes
    ----------
    setting
        The setting's name.
    rule
        ``site-capacity``, ``supervisor-capacity`` or ``rooms``.
    where
        Each resource: the site's name, with the supervisor's name or the sessions.
    blocks
        Blocks in which any of them is full.
    """

    setting: str
    rule: str
    where: tuple[str, ...]
    blocks: tuple[int, ...]

    def line(self, most: int = 3) -> str:
        """'Stroke services — supervision full at A (Sam), B (Jo) and 2 more (blocks 1-4)'."""
        shown = ", ".join(self.where[:most])
        more = f" and {len(self.where) - most} more" if len(self.where) > most else ""
        blocks = ", ".join(map(str, self.blocks))
        return f"{self.setting}: {RESOURCE_WORDS[self.rule]} at {shown}{more} (blocks {blocks})"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"setting": self.setting, "resource": self.rule, "where": list(self.where),
                "blocks": list(self.blocks)}


def group_bottlenecks(scenario: Scenario, items: list[Bottleneck]) -> list[BottleneckGroup]:
    """Saturated resources grouped by setting and kind, in the order they are ranked."""
    names = {site.id: site.name or site.id for site in scenario.sites}
    sup_names = {u.id: u.name or u.id for site in scenario.sites for u in site.supervisors}
    keyed: dict[tuple[str, str], tuple[list[str], set[int]]] = {}
    rooms: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        site_id = item.ids[1] if item.rule == SUPERVISOR_CAPACITY else item.ids[0]
        site = scenario.site_by_id[site_id]
        setting = scenario.setting_by_id.get(site.setting)
        setting_name = setting.name if setting is not None and setting.name else site.setting
        where, blocks = keyed.setdefault((setting_name, item.rule), ([], set()))
        blocks.update(item.blocks)
        if item.rule == SUPERVISOR_CAPACITY:
            where.append(f"{names[site_id]} ({sup_names.get(item.ids[0], item.ids[0])})")
        elif item.rule == ROOMS:  # one entry per site, its full sessions listed
            sessions = rooms.setdefault((setting_name, item.rule, site_id), [])
            if not sessions:
                where.append(site_id)
            sessions.append(item.ids[1])
        else:
            where.append(names[site_id])
    order = {session: n for n, session in enumerate(scenario.programme.sessions)}
    settings = list(dict.fromkeys(setting_name for setting_name, _ in keyed))
    out = []
    for (setting_name, rule), (where, blocks) in sorted(
            keyed.items(), key=lambda kv: (settings.index(kv[0][0]), RULE_ORDER[kv[0][1]])):
        if rule == ROOMS:
            where = [f"{names[w]} ({_sessions(_in_order(rooms[(setting_name, rule, w)], order))})"
                     for w in where]
        out.append(BottleneckGroup(setting_name, rule, tuple(where), tuple(sorted(blocks))))
    return out


RULE_ORDER = {SITE_CAPACITY: 0, SUPERVISOR_CAPACITY: 1, ROOMS: 2}


def _in_order(sessions: list[str], order: dict[str, int]) -> list[str]:
    return sorted(sessions, key=lambda d: order.get(d, 0))


def _sessions(sessions: list[str], most: int = 4) -> str:
    more = f" and {len(sessions) - most} more" if len(sessions) > most else ""
    return ", ".join(sessions[:most]) + more


def group_lines(answer: CapacityAnswer, most: int = 10) -> list[str]:
    """What limits growth, grouped by setting (at most ``most`` lines), and the
    cheapest combined changes with their re-solved effect."""
    lines: list[str] = []
    if answer.groups:
        lines.append("What limits growth (full where they could go, by setting):")
        lines += [f"  - {g.line()}" for g in answer.groups[:most]]
        if len(answer.groups) > most:
            lines.append(f"  ... and {len(answer.groups) - most} more groups (all in --json)")
    elif answer.maximum.count is not None:
        lines.append("No resource at the sites they could use is full: the limit is "
                     "elsewhere (eligibility, working patterns, cover or site minimums).")
    if answer.combined:
        lines.append("Cheapest changes that let more in (re-solved):")
        for c in answer.combined:
            fewest = (" (the fewest units that could)" if c.minimal
                      else " (found in the time; fewer units may do)")
            lines.append(f"  - {c.summary(answer.profession)}{fewest}")
    return lines


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
                  note: Say, stop: threading.Event | None = None, combine: int = 2,
                  combine_seconds: float = 40.0) -> tuple[CapacityAnswer, ExitCode]:
    """Find the maximum, write its checked plan, and value the bottlenecks.

    The bottlenecks are grouped by setting; ``combine`` cheapest sets of extra
    units (each for more newcomers than the last) are found and re-solved, up
    to ``combine_seconds`` each; the first ``probes`` single resources are
    also valued one at a time.

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
    answer = CapacityAnswer(words, best, profession=newcomer.template(scenario).profession)
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
    answer.groups = group_bottlenecks(scenario, found)

    def combining(k: int, total: int) -> None:
        note(f"  finding the fewest extra units for {k} more ({total} set(s) in all)...")

    answer.combined = combined_changes(scenario, newcomer, best, most_gain=combine,
                                       time_limit=combine_seconds, workers=workers,
                                       seed=seed, stop=stop, on_step=combining)
    return answer, ExitCode.OK
