"""Re-planning after a change, and alternative plans.

Both go through :func:`rotaplan.runs.pipeline.solve_and_write`, so every plan is
checked against the scenario before it is written, and both use a model
extension from :mod:`solver.extensions`.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rotaplan.analysis.compare import learner_changes, supervisor_changes
from rotaplan.analysis.kpis import kpis
from rotaplan.exit_codes import ExitCode
from rotaplan.models import Plan, Scenario
from rotaplan.models.vocabulary import Status
from rotaplan.runs import pipeline
from rotaplan.runs.pipeline import Accept, Outcome
from rotaplan.solver import SolveOptions, SolveResult
from rotaplan.solver.extensions import (
    DifferFrom,
    KeepAndMinimiseChanges,
    named_supervisors_of,
    placements_of,
)


@dataclass
class Replan:
    """What a re-plan produced.

    Attributes
    ----------
    outcome
        The checked solve (plan files in ``out``).
    changes
        One record per learner, block and role whose site changed (or who was
        newly placed or left out), as :func:`rotaplan.analysis.compare.learner_changes`,
        then one per placement kept at its site with another named supervisor
        (``change`` ``"new supervisor"``); records carry ``old_supervisor`` and
        ``new_supervisor``.
    session_changes
        One record per learner, block and session whose activity, site or
        supervisor present differs (learners placed in both plans).
    supervisor_changes
        ``(supervisor, placements before, placements after)`` where they differ.
    impossible
        Kept placements the changed scenario no longer allows (the re-plan is
        then infeasible).
    past_sessions_moved
        Old weekly sessions before ``from_block`` no longer worked at that time
        and site, because the changed scenario does not allow them (fewer
        rooms, say); 0 when the early blocks are kept exactly.
    kept, placements
        Placements before ``from_block``, and all placements of the old plan.
    """

    outcome: Outcome
    changes: list[dict[str, Any]] = field(default_factory=list)
    supervisor_changes: list[tuple[str, int, int]] = field(default_factory=list)
    session_changes: list[dict[str, Any]] = field(default_factory=list)
    impossible: list[str] = field(default_factory=list)
    past_sessions_moved: int = 0
    kept: int = 0
    placements: int = 0

    def lines(self, from_block: int) -> list[str]:
        """What changed, in plain words."""
        if self.impossible:
            head = [f"Blocks before {from_block} cannot be kept as they were:"]
            return head + [f"  {x}" for x in self.impossible[:30]] + [
                "Re-plan from an earlier block (--from-block), or keep the resource in "
                "those blocks: to model a supervisor leaving from block B, give them "
                "unavailable_blocks from B on instead of removing them."]
        if self.outcome.result.status == Status.INFEASIBLE:
            conflicts = self.outcome.result.explanation
            if self.kept == 0:
                return ["The changed scenario has no plan at all:"]
            if conflicts is not None and conflicts.conflicts:
                return [f"Keeping blocks before {from_block} as they were conflicts with the "
                        "changed scenario (the pinned placements below are the old plan's):"]
            return [f"No plan keeps blocks before {from_block} as they were under the "
                    "changed scenario. Either the change reaches into those blocks (fewer "
                    "rooms or a session closed: re-plan with --allow-past-session-changes "
                    "to keep their sites and move as few sessions as possible), or it needs "
                    "a fellow's base practice to change (a base is the same all year, so "
                    "keeping the early blocks keeps it). Re-plan from block 1 to allow "
                    "either."]
        if self.outcome.result.plan is None:
            return []
        moved = {c["learner_id"] for c in self.changes if c["change"] != "new supervisor"}
        if from_block == 1:
            lines = ["kept        nothing fixed (re-planning from block 1)"]
        elif self.past_sessions_moved:
            lines = [f"kept        {self.kept} placements before block {from_block} at their "
                     f"sites; {self.past_sessions_moved} weekly session(s) there had to move "
                     "(the changed scenario no longer allows them; see timetable_changes.csv)"]
        else:
            lines = [f"kept        {self.kept} placements before block {from_block} as they "
                     "were (sites, sessions and supervisors)"]
        lines.append(f"changed     {sum(1 for c in self.changes if c['change'] == 'moved')} of "
                     f"{self.placements} placements; {len(moved)} learner(s) affected")
        named: list[str] = []
        for c in self.changes:
            where = f"  {c['learner_id']} block {c['block']}" + (
                "" if c["role"] in ("rotation", None) else f" ({c['role']})")
            if c["change"] == "moved":
                lines.append(f"{where}: {c['a']} → {c['b']}")
            elif c["change"] == "new supervisor":
                named.append(f"{where} at {c['a']}: {c['old_supervisor']} → "
                             f"{c['new_supervisor']}")
            else:
                lines.append(f"  {c['learner_id']}: {c['change']}")
        if named:
            lines.append(f"supervisor  {len(named)} placement(s) kept their site with another "
                         "named supervisor:")
            lines += named
        learners = {c["learner_id"] for c in self.session_changes}
        lines.append(f"timetables  {len(self.session_changes)} weekly session(s) differ (site, "
                     f"time or supervisor present) for {len(learners)} learner(s)")
        if self.supervisor_changes:
            lines.append("supervisors whose placements changed:")
            lines += [f"  {sid}: {a} → {b}" for sid, a, b in self.supervisor_changes]
        return lines


def replan(scenario: Scenario, old: Plan, out: Path, *, from_block: int = 1,
           options: SolveOptions | None = None,
           allow_past_session_changes: bool = False) -> Replan:
    """Re-plan a changed scenario, keeping early blocks and changing as little as possible.

    Blocks before ``from_block`` are kept exactly: sites, named supervisors, weekly
    sessions and the supervisor present in each. If the changed scenario cannot
    keep them, nothing is written and :attr:`Replan.impossible` (before solving)
    or the explanation (after) names what stops it.

    Parameters
    ----------
    scenario
        The scenario after the change (a supervisor gone, a room lost, leave).
    old
        The plan in force before the change.
    out
        Folder for the new plan, ``changes.csv``, ``timetable_changes.csv`` and
        ``supervisor_changes.csv`` (published together).
    from_block
        First block that may change.
    options
        Solver options (the extension and hints are set here).
    allow_past_session_changes
        When the change reaches the early blocks' weekly sessions only (fewer
        rooms, a session closed: rooms and opening have no block), keep their
        sites and supervisors and move as few of their sessions as possible,
        instead of refusing.
    """
    pinned, impossible = pin_past(scenario, old, from_block)
    old_keys = placements_of(old)
    kept = sum(1 for (_, block, _) in old_keys if block < from_block)
    if impossible:
        refused = SolveResult(Status.INFEASIBLE)
        return Replan(Outcome(refused, None, ExitCode.INFEASIBLE, refused=impossible),
                      impossible=impossible, placements=len(old_keys), kept=kept)
    base = replace(options or SolveOptions(), hint=False, candidate_limit=None, reference=old)
    done = Replan(Outcome(SolveResult(Status.UNKNOWN), None, ExitCode.NO_PLAN),
                  placements=len(old_keys), kept=kept)

    def accept(exact: bool) -> Accept:
        def check(result: SolveResult) -> list[str]:
            assert result.plan is not None
            return kept_differences(old, result.plan, from_block, sessions=exact)
        return check

    def changes(staging: Path, result: SolveResult) -> None:
        assert result.plan is not None
        _record_changes(done, old, result.plan, from_block)
        _write_changes(done, staging)

    keep = KeepAndMinimiseChanges(old, from_block)
    outcome = pipeline.solve_and_write(pinned, out, replace(base, extend=keep),
                                       extras=changes, accept=accept(True))
    if (outcome.result.status == Status.INFEASIBLE and from_block > 1
            and allow_past_session_changes):
        keep = KeepAndMinimiseChanges(old, from_block, keep_past_sessions=False)
        outcome = pipeline.solve_and_write(pinned, out, replace(base, extend=keep),
                                           extras=changes, accept=accept(False))
    done.outcome = outcome
    done.impossible = keep.impossible + outcome.refused
    return done


def kept_differences(old: Plan, new: Plan, from_block: int, *,
                     sessions: bool = True) -> list[str]:
    """How a new plan differs from an old one in the blocks before ``from_block``.

    Sites and named supervisors always count; with ``sessions``, so do the
    weekly timetables (activity, site and supervisor present per session).
    """
    out: list[str] = []
    sites_old, sites_new = placements_of(old), placements_of(new)
    named_old, named_new = named_supervisors_of(old), named_supervisors_of(new)
    for key in sorted(k for k in sites_old.keys() | sites_new.keys() if k[1] < from_block):
        lid, block, role = key
        where = f"{lid} block {block}" + ("" if role == "rotation" else f" ({role})")
        if sites_old.get(key) != sites_new.get(key):
            out.append(f"{where}: site {sites_old.get(key) or 'none'} → "
                       f"{sites_new.get(key) or 'none'}")
        elif named_old.get(key) != named_new.get(key):
            out.append(f"{where} at {sites_old[key]}: named supervisor {named_old.get(key)} "
                       f"→ {named_new.get(key)}")
    if sessions:
        for c in timetable_changes(old, new):
            if c["block"] < from_block:
                out.append(f"{c['learner_id']} block {c['block']} {c['session']}: "
                           f"{c['old_activity'] or 'off'} {c['old_site']} "
                           f"{c['old_supervisor']} → {c['new_activity'] or 'off'} "
                           f"{c['new_site']} {c['new_supervisor']}".replace("  ", " "))
    return out


def _record_changes(done: Replan, old: Plan, new: Plan, from_block: int) -> None:
    done.changes = _with_supervisors(learner_changes(old, new), old, new)
    done.session_changes = timetable_changes(old, new)
    done.past_sessions_moved = sum(  # old sessions no longer at that time and site
        1 for c in done.session_changes if c["block"] < from_block and c["old_activity"]
        and (c["old_activity"], c["old_site"]) != (c["new_activity"], c["new_site"]))
    done.supervisor_changes = [(c.id or "", int(c.fields[0].a), int(c.fields[0].b))
                               for c in supervisor_changes(old, new)]


def _write_changes(done: Replan, folder: Path) -> None:
    _write_csv(folder / "changes.csv", ["learner_id", "block", "role", "change", "old_site",
                                        "new_site", "old_supervisor", "new_supervisor"],
               [[c["learner_id"], c["block"] or "", c["role"] or "", c["change"],
                 c["a"] or "", c["b"] or "", c["old_supervisor"], c["new_supervisor"]]
                for c in done.changes])
    _write_csv(folder / "supervisor_changes.csv", ["supervisor_id", "placements_before",
                                                   "placements_after"],
               [list(x) for x in done.supervisor_changes])
    columns = ["learner_id", "block", "session", "old_activity", "old_site",
               "old_supervisor", "new_activity", "new_site", "new_supervisor"]
    _write_csv(folder / "timetable_changes.csv", columns,
               [[c[k] for k in columns] for c in done.session_changes])


def _with_supervisors(changes: list[dict[str, Any]], old: Plan, new: Plan
                      ) -> list[dict[str, Any]]:
    """Site changes with their named supervisors, then same-site supervisor changes."""
    before, after = named_supervisors_of(old), named_supervisors_of(new)
    out = []
    for c in changes:
        key = (c["learner_id"], c["block"], c["role"])
        out.append(c | {"old_supervisor": before.get(key, ""),
                        "new_supervisor": after.get(key, "")})
    sites_old, sites_new = placements_of(old), placements_of(new)
    for key in sorted(before.keys() & after.keys()):
        if sites_old.get(key) == sites_new.get(key) and before[key] != after[key]:
            lid, block, role = key
            out.append({"learner_id": lid, "change": "new supervisor", "block": block,
                        "role": role, "a": sites_old[key], "b": sites_new[key],
                        "old_supervisor": before[key], "new_supervisor": after[key]})
    return out


def timetable_changes(old: Plan, new: Plan) -> list[dict[str, Any]]:
    """Weekly sessions whose activity, site or supervisor present differ.

    Only learners placed in both plans are compared (a learner newly placed or
    left out is reported by :func:`rotaplan.analysis.compare.learner_changes`).
    """
    def rows(plan: Plan) -> dict[tuple[str, int, str], tuple[str, str, str]]:
        t = plan.timetable
        return {(str(lid), int(block), str(d)): (str(act), str(site), str(u))
                for lid, block, d, act, site, u in zip(
                    t["learner_id"], t["block"], t["session"], t["activity"], t["site_id"],
                    t["supervisor_id"], strict=True)}

    a, b = rows(old), rows(new)
    rank: dict[str, int] = {}  # sessions in timetable (week) order
    for _, _, d in [*a, *b]:
        rank.setdefault(d, len(rank))
    both = set(old.assignments["learner_id"].astype(str)) & set(
        new.assignments["learner_id"].astype(str))
    off = ("", "", "")
    out = []
    for key in sorted((k for k in a.keys() | b.keys() if k[0] in both),
                      key=lambda k: (k[0], k[1], rank[k[2]])):
        was, now = a.get(key, off), b.get(key, off)
        if was != now:
            lid, block, d = key
            out.append({"learner_id": lid, "block": block, "session": d,
                        "old_activity": was[0], "old_site": was[1], "old_supervisor": was[2],
                        "new_activity": now[0], "new_site": now[1], "new_supervisor": now[2]})
    return out


def pin_past(scenario: Scenario, old: Plan, from_block: int) -> tuple[Scenario, list[str]]:
    """The scenario with rotation learners pinned to their old sites before ``from_block``.

    Pins are the contract's own way to fix a placement, so if the changed
    scenario cannot keep the past, the usual explanation names the pins and the
    resources in conflict. Returns the pinned scenario and what of the early
    blocks the changed scenario can no longer hold at all: a site removed, a new
    pin that differs, or a named or present supervisor who is gone, moved,
    unavailable or no longer works that session.
    """
    data = scenario.model_dump()
    learners = {x["id"]: x for x in data["learners"]}
    problems: list[str] = []
    for (lid, block, role), site in sorted(placements_of(old).items()):
        if block >= from_block or lid not in learners:
            continue
        if site not in scenario.site_by_id:
            problems.append(f"{lid} block {block} at {site}: that site is no longer in "
                            "the scenario")
            continue
        if role != "rotation":
            continue
        pins = learners[lid].setdefault("pinned", {})
        if pins.get(block, site) != site:
            problems.append(f"{lid} block {block}: the scenario now pins {pins[block]}, "
                            f"the old plan had {site}")
            continue
        pins[block] = site
    problems += _gone_supervisors(scenario, old, from_block)
    return Scenario.model_validate(data), problems


def _gone_supervisors(scenario: Scenario, old: Plan, from_block: int) -> list[str]:
    """Kept named and present supervisors the changed scenario no longer has for that role.

    One line per learner, block, site and supervisor (sessions listed together).
    """
    where = {u.id: (site, u) for site in scenario.sites for u in site.supervisors}
    found: dict[tuple[str, int, str, str, str], list[str]] = {}
    a = old.assignments
    for lid, block, role, site_id, sup_id in zip(a["learner_id"], a["block"], a["role"],
                                                 a["site_id"], a["supervisor_id"], strict=True):
        if int(block) >= from_block or lid not in scenario.learner_by_id:
            continue
        why = _cannot_supervise(scenario, where, str(sup_id), str(site_id), str(lid),
                                int(block), None)
        if why:
            label = "" if role == "rotation" else f" ({role})"
            found.setdefault((f"{lid} block {block}{label}", int(block), str(site_id),
                              f"named supervisor {sup_id}", why), [])
    t = old.timetable
    for lid, block, session, site_id, sup_id in zip(t["learner_id"], t["block"], t["session"],
                                                    t["site_id"], t["supervisor_id"],
                                                    strict=True):
        if int(block) >= from_block or not sup_id or lid not in scenario.learner_by_id:
            continue
        why = _cannot_supervise(scenario, where, str(sup_id), str(site_id), str(lid),
                                int(block), str(session))
        if why:
            found.setdefault((f"{lid} block {block}", int(block), str(site_id),
                              f"supervisor present {sup_id}", why), []).append(str(session))
    out = []
    for (who, _, site_id, role, why), sessions in found.items():
        when = f" on {', '.join(sessions)}" if sessions else ""
        out.append(f"{who} at {site_id}: {role}{when} {why}")
    return out


def _cannot_supervise(scenario: Scenario, where: dict[str, Any], sup_id: str, site_id: str,
                      learner_id: str, block: int, session: str | None) -> str | None:
    """Why a supervisor can no longer supervise a learner there and then, or None."""
    if sup_id not in where:
        return "is no longer in the scenario"
    site, sup = where[sup_id]
    if site.id != site_id:
        return f"now works at {site.id}"
    profession = scenario.learner_by_id[learner_id].profession
    if not scenario.may_supervise(sup.profession, profession):
        return f"may no longer supervise {profession}"
    if block in sup.unavailable_blocks:
        return f"is now unavailable in block {block}"
    if session is not None and session not in scenario.supervisor_sessions(site, sup):
        return f"no longer works {session}"
    return None


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@dataclass
class Alternative:
    """One of several plans: its directory, outcome and key figures."""

    name: str
    directory: Path
    outcome: Outcome
    figures: dict[str, Any]


def alternatives(scenario: Scenario, out: Path, best: Outcome, count: int, *,
                 min_changes: int = 1, options: SolveOptions | None = None
                 ) -> list[Alternative]:
    """Find up to ``count`` different good plans, the first being ``best``.

    Each further plan is the best plan that differs from every earlier one in at
    least ``min_changes`` placements. Plans go to ``out/alt-1`` ... ``out/alt-K``
    with ``out/alternatives.csv`` comparing their key figures.
    """
    assert best.result.plan is not None
    base = options or SolveOptions()
    for stale in out.glob("alt-*"):  # never leave plans of an earlier run behind
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    (out / "alternatives.csv").unlink(missing_ok=True)
    first_dir = out / "alt-1"
    first_dir.mkdir(parents=True)
    for path in best.files:
        shutil.copy2(path, first_dir / path.name)
    found = [Alternative("alt-1", first_dir, best, {})]
    plans = [best.result.plan]
    for k in range(2, count + 1):
        directory = out / f"alt-{k}"
        outcome = pipeline.solve_and_write(scenario, directory, replace(
            base, extend=DifferFrom(list(plans), min_changes), hint=False,
            candidate_limit=None))
        if outcome.exit_code != ExitCode.OK or outcome.result.plan is None:
            shutil.rmtree(directory, ignore_errors=True)
            break  # no further plan (or none in time)
        found.append(Alternative(f"alt-{k}", directory, outcome, {}))
        plans.append(outcome.result.plan)
    reference = best.result.plan
    for alt in found:
        plan = alt.outcome.result.plan
        assert plan is not None
        key = kpis(scenario, plan)
        alt.figures = {
            "plan": alt.name, "objective": alt.outcome.result.objective,
            "placed": key.placed, "first_choice": key.first_choice,
            "top3_placements": key.top3_placements,
            "worst_learner_cost": key.worst_learner_cost,
            "differs_from_alt1": sum(1 for c in learner_changes(reference, plan)
                                     if c["change"] == "moved"),
            "directory": str(alt.directory)}
    header = list(found[0].figures)
    _write_csv(out / "alternatives.csv", header,
               [[alt.figures[h] for h in header] for alt in found])
    return found
