"""Changes that make an infeasible scenario feasible: searched, each verified by a solve.

An explanation names the resources that run short (a site's rooms, places,
supervisors; a supervisor's leave; a site's opening). :func:`candidates` turns
each into the changes a lead could make, smallest first; :func:`search` tries
them one at a time, then in pairs, until some are verified or the time runs
out. A change is *verified* only when :func:`plan_exists` finds a plan of the
changed scenario; a counting check or an empty candidate set that still fails
proves a change does not fix it, so it is ruled out without a solve.

:func:`plan_exists` builds the plan cheaply first: the greedy's placements
(:mod:`rotaplan.solver.greedy`), then a CP-SAT model holding everyone at them,
so only the timetable is searched; only when that fails is the whole model
solved. On a 300-learner scenario the whole model takes about 7 s to build
(measured), the held one well under a second, so a fix of an ICS-scale
scenario can be verified within seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations

from ortools.sat.python import cp_model

from rotaplan.models import Scenario
from rotaplan.models.edits import (
    Edit,
    back_from_leave,
    changed,
    more_rooms,
    more_site_places,
    more_supervision,
    open_sessions,
)
from rotaplan.models.vocabulary import Rule
from rotaplan.solver.build import formulate
from rotaplan.solver.counting import shortages
from rotaplan.solver.domains import empty_domains
from rotaplan.solver.greedy import greedy_placements
from rotaplan.solver.instance import Instance
from rotaplan.solver.params import Budget, configure
from rotaplan.solver.statement import Resource, from_shortages
from rotaplan.solver.stopping import solve_until

BUILD_RATE = 10_000
"""Candidate placements the whole model is built for per second, with margin: measured
17,000 per CPU second on a 300-learner scenario (100,016 candidates, 5.9 s CPU, 13.6 s
wall at load 8 on 2 cores) and 11,000 on the demo (1,137 in 0.1 s)."""

MOST_UNITS = 3
"""Largest one-resource change tried (3 more rooms, places or learners per supervisor)."""




@dataclass(frozen=True)
class Change:
    """A change a lead could make: plain words and the edits that make it.

    Attributes
    ----------
    words
        e.g. ``rooms at Oak Tree Practice (sher-oak-tree): 0 -> 2 in every session``.
    edits
        The edits of the scenario.
    units
        Its size (rooms, places or learners added; 1 for a leave or an opening).
    key
        The resource it changes (two changes of one resource are never combined).
    """

    words: str
    edits: tuple[Edit, ...]
    units: int
    key: tuple[str, ...]


@dataclass
class FixSearch:
    """What :func:`search` found.

    Attributes
    ----------
    fixes
        Words of the changes verified to make a plan possible.
    covered
        True when every candidate (singles, and pairs when no single worked)
        was decided before the deadline.
    tried
        How many changes were decided (ruled out or verified).
    changes
        The verified changes themselves (``fixes`` are their words).
    helped
        Single changes that passed ``rule_out`` (the conflict shown no longer
        holds) but did not fix everything: steps towards a combined fix.
    """

    fixes: list[str] = field(default_factory=list)
    covered: bool = True
    tried: int = 0
    changes: list[Change] = field(default_factory=list)
    helped: list[Change] = field(default_factory=list)


def _name(sc: Scenario, site_id: str) -> str:
    site = sc.site_by_id.get(site_id)
    return site_id if site is None or not site.name else f"{site.name} ({site_id})"


def _rooms_words(sc: Scenario, site_id: str, session: str | None, count: int) -> str:
    site = sc.site_by_id[site_id]
    where = _name(sc, site_id)
    if session is not None:
        at = site.rooms_at(session) or 0
        return f"rooms at {where} on {session}: {at} -> {at + count}"
    values = {site.rooms_at(d) for d in site.open_in(sc.programme)} - {None}
    if len(values) == 1:
        now = next(iter(values))
        assert now is not None
        return f"rooms at {where}: {now} -> {now + count} in every session"
    return f"rooms at {where}: {count} more in every session"


def candidates(sc: Scenario, resources: Iterable[Resource]) -> list[Change]:
    """The changes that loosen each resource, smallest first, without repeats."""
    out: dict[str, Change] = {}
    for res in resources:
        site = sc.site_by_id.get(res.site)
        if site is None:
            continue
        where = _name(sc, res.site)
        for count in range(1, MOST_UNITS + 1):
            found: list[Change] = []
            if res.rule == Rule.ROOMS and site.rooms is not None:
                if res.session is not None:  # the smaller change first
                    found.append(Change(_rooms_words(sc, res.site, res.session, count),
                                        (more_rooms(res.site, res.session, count),), count,
                                        ("rooms", res.site, res.session)))
                found.append(Change(_rooms_words(sc, res.site, None, count),
                                    (more_rooms(res.site, None, count),), count,
                                    ("rooms", res.site)))
            if res.rule == Rule.SITE_CAPACITY and site.capacity is not None:
                found.append(Change(f"{count} more place(s) at {where} in every block",
                                    (more_site_places(res.site, count),), count,
                                    ("site-capacity", res.site)))
            if res.rule in (Rule.SUPERVISOR_CAPACITY, Rule.SUPERVISOR_PRESENT,
                            Rule.SUPERVISOR_MATCH):
                for sup in site.supervisors:
                    if res.professions and not any(sc.may_supervise(sup.profession, p)
                                                   for p in res.professions):
                        continue
                    if count == 1:
                        for block in sorted(set(sup.unavailable_blocks)
                                            & set(res.blocks or sup.unavailable_blocks)):
                            found.append(Change(
                                f"{sup.id} at {where} working in block {block} "
                                "(not on leave)", (back_from_leave(sup.id, block),), 1,
                                ("leave", sup.id, str(block))))
                    if sup.capacity > 0 or res.rule != Rule.SUPERVISOR_PRESENT:
                        found.append(Change(
                            f"{sup.id} at {where} supervising {count} more learner(s) at "
                            f"once ({sup.capacity} -> {sup.capacity + count})",
                            (more_supervision(sup.id, count),), count, ("supervision", sup.id)))
            if res.rule in (Rule.SITE_OPEN, Rule.SUPERVISOR_PRESENT, Rule.ROOMS) and count == 1 \
                    and site.open_sessions is not None:
                shut = [d for d in sc.programme.sessions if d not in site.open_sessions]
                if shut:
                    found.append(Change(f"{where} open on {', '.join(shut)} as well",
                                        (open_sessions(res.site, shut),), 1,
                                        ("open", res.site)))
            for change in found:
                out.setdefault(change.words, change)
    return sorted(out.values(), key=lambda c: c.units)


def _ruled_out(inst: Instance) -> bool:
    """True when a check without search still proves the scenario infeasible."""
    return empty_domains(inst) is not None or bool(shortages(inst))


def plan_exists(sc: Scenario, seconds: float, stop: threading.Event | None = None,
                inst: Instance | None = None, checked: bool = False) -> bool | None:
    """Whether the scenario has a plan: True (one was found), False (proven none), None.

    The greedy's placements are tried first, with CP-SAT finding the timetable
    with everyone held there (a plan of that restricted model is a plan of the
    scenario); then the whole model, for the time that is left. ``checked``:
    the caller already ran the checks without search on ``inst``.
    """
    deadline = time.perf_counter() + seconds
    inst = inst or Instance(sc)
    if not checked and _ruled_out(inst):
        return False
    if time.perf_counter() >= deadline:
        return None
    greedy = greedy_placements(inst, seed=0)
    if not greedy.unplaced and not greedy.below_minimum:
        inst.focus(set(), dict(greedy.sites))
        try:
            status = _status(inst, min(deadline - time.perf_counter(), 5.0), stop)
        finally:
            inst.restrict(None)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return True
    left = deadline - time.perf_counter()
    if left < inst.candidate_count() / BUILD_RATE:
        return None  # the whole model could not even be built in time
    status = _status(inst, left, stop)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def _status(inst: Instance, seconds: float, stop: threading.Event | None
            ) -> cp_model.CpSolverStatus:
    if seconds <= 0.05 or (stop is not None and stop.is_set()):
        return cp_model.UNKNOWN
    form = formulate(inst)
    solver = cp_model.CpSolver()
    configure(solver, budget=Budget(max(0.05, seconds)), workers=1, seed=0)
    return solve_until(solver, form.model, stop)


def search(sc: Scenario, changes: list[Change], deadline: float,
           stop: threading.Event | None = None, most: int = 2,
           note: Callable[[str], None] | None = None,
           combine: Callable[[FixSearch], list[Change]] | None = None,
           rule_out: Callable[[Scenario], bool] | None = None) -> FixSearch:
    """Single changes, then pairs of one unit each, verified by :func:`plan_exists`.

    Parameters
    ----------
    sc
        The infeasible scenario.
    changes
        Candidates from :func:`candidates`, smallest first.
    deadline
        A :func:`time.perf_counter` time; nothing starts after it.
    stop
        Set to stop early (what was verified is kept; ``covered`` is False).
    most
        Stop after this many verified fixes (two alternatives: each more costs a solve,
        about 0.5-1 s on the demo at load 7, and the page waits for them).
    note
        Called with a line of progress before each solve.
    combine
        Finds a combination of changes when no single one works (default: one
        change per failed counting check), given what the singles found; it is
        verified like any change.
    rule_out
        A cheaper proof that a changed scenario is still infeasible (the
        conflict's lines still cannot hold), tried before the solve.
    """
    found = FixSearch()
    worked: set[tuple[str, ...]] = set()

    def attempt(*parts: Change) -> bool:
        words = ", and ".join(p.words for p in parts)
        edits = tuple(e for p in parts for e in p.edits)
        left = deadline - time.perf_counter()
        if left <= 0.05 or (stop is not None and stop.is_set()):
            found.covered = False
            return False
        trial = changed(sc, *edits)
        inst = Instance(trial)
        if _ruled_out(inst) or (rule_out is not None and rule_out(trial)):
            found.tried += 1
            return False
        if note is not None:
            note(f"trying: {words}")
        left = deadline - time.perf_counter()
        verdict = plan_exists(trial, min(left, 10.0), stop, inst, checked=True) \
            if left > 0.05 else None
        if verdict is None:
            found.covered = False
            return False
        found.tried += 1
        if not verdict and rule_out is not None and len(parts) == 1:
            found.helped.append(parts[0])
        if verdict:
            found.fixes.append(words)
            found.changes.append(parts[0] if len(parts) == 1 else Change(
                words, edits, sum(p.units for p in parts), parts[0].key + parts[1].key))
        return verdict

    skipped = False
    for change in changes:
        if len(found.fixes) >= most or not found.covered:
            break
        if change.key in worked:
            continue  # a bigger change of a resource already fixed by a smaller one
        if any(change.key == h.key for h in found.helped):
            # a smaller change of this resource already lifted the conflict shown and
            # another limit binds: a bigger one rarely fixes that (measured on the demo's
            # cohort one too large), so the time goes to combining changes instead
            skipped = True
            continue
        if attempt(change):
            worked.add(change.key)
    if found.fixes or not found.covered:
        return found
    if note is not None:
        note("no single change works: combining changes")
    combined = combine(found) if combine is not None else _one_per_check(sc, deadline, stop)
    if combined:
        attempt(*combined)
        if found.fixes or not found.covered:
            return found
    ones = [c for c in changes if c.units == 1]
    for a, b in combinations(ones, 2):
        if len(found.fixes) >= most or not found.covered:
            break
        if a.key[:2] == b.key[:2]:
            continue
        attempt(a, b)
    if skipped and not found.fixes:
        found.covered = False  # never claim that no change works: some were not tried
    return found


def _one_per_check(sc: Scenario, deadline: float, stop: threading.Event | None,
                   most: int = 6) -> list[Change]:
    """Changes that pass every counting check together, chosen one failed check at a time.

    A cohort too large for several settings fails a check in each; no single
    change and no pair fixes it. For the first failed check, the first
    candidate that makes that check pass is kept; then the next failed check of
    the changed scenario, and so on (at most ``most`` changes). Empty when no
    such combination is found (or the checks pass without any).
    """

    chosen: list[Change] = []
    current = sc
    for _ in range(most):
        if time.perf_counter() > deadline or (stop is not None and stop.is_set()):
            return []
        failed = shortages(Instance(current))
        if not failed:
            return chosen if len(chosen) > 1 else []
        first = failed[0]
        key = (first.check, first.setting, first.block, first.site, first.session,
               first.professions)
        picked = None
        for change in candidates(current, from_shortages(Instance(current), [first]).resources):
            if time.perf_counter() > deadline:
                return []
            trial = changed(current, *change.edits)
            if not any((f.check, f.setting, f.block, f.site, f.session, f.professions) == key
                       for f in shortages(Instance(trial))):
                picked = change
                break
        if picked is None:
            return []
        chosen.append(picked)
        current = changed(current, *picked.edits)
    return []


__all__ = ["MOST_UNITS", "Change", "FixSearch", "Resource", "candidates", "plan_exists",
           "search"]
