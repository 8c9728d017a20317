"""Explain why a scenario has no plan: a few lines in resource terms, and verified fixes.

:func:`diagnose` goes from the cheapest proof to the dearest, and stops at the
first that holds:

1. :func:`empty_domains`: learners with no candidate site left, grouped by the
   resource that removed the sites (:func:`~rotaplan.solver.statement.from_empty`).
2. Counting checks (:mod:`rotaplan.solver.counting`): demand against the
   places, rooms and supervisors of a setting, block, site or session.
3. Otherwise a feasibility solve decides, and :func:`grouped_core` finds a
   conflict over aggregated lines (a site's rooms in every block and session,
   a profession's cover of a setting) with one assumption literal per line,
   then a deletion filter makes it minimal at that level within the time.

Then changes of the resources named are searched and verified by a solve
(:mod:`rotaplan.solver.fixes`); for a conflict CP-SAT found, a change is ruled
out cheaply when the conflict's lines still cannot hold, and a chain of
changes (:func:`core_chain`) follows one conflict after another. The older
per-group :func:`core` (with a deletion filter over model groups) remains for
re-planning's kept placements and :func:`explain_infeasible`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ortools.sat.python import cp_model

from rotaplan.models import Scenario
from rotaplan.models.edits import changed
from rotaplan.solver.build import Extension, formulate
from rotaplan.solver.counting import Shortage, shortages
from rotaplan.solver.domains import empty_domains
from rotaplan.solver.fixes import Change, FixSearch, candidates, plan_exists, search
from rotaplan.solver.instance import LOSS_WORDS, ROTATION, Instance, LearnerInfo
from rotaplan.solver.params import Budget, configure
from rotaplan.solver.result import Conflict, Explanation
from rotaplan.solver.statement import (
    RESOURCE_RULES,
    Statement,
    from_core,
    from_empty,
    from_shortages,
    group_key,
    shortage_head,
)
from rotaplan.solver.stopping import solve_until


def internal(message: str) -> Explanation:
    """An explanation for a failure that is not the scenario's fault."""
    return Explanation(message, ())


def arithmetic(inst: Instance) -> Explanation | None:
    """Counting checks that prove infeasibility instantly, or None.

    Each compares what learners who must be placed need with an upper bound on
    what the sites they could use offer, per profession and block: supervised
    places (``min(site capacity, capacity of supervisors who may supervise the
    profession)``), visits to each cover setting over the year, and
    room-sessions where every option has a room limit. Every check is a
    necessary condition, so a failure is a proof; they say nothing when they
    pass. Learners who may be idle (§9.1) need no particular block, so they
    count in none of the per-block checks; a placement of k blocks takes k
    place-blocks of a cover setting.
    """
    sc = inst.scenario
    if sc.objective.allow_unplaced:
        return None
    conflicts: list[Conflict] = []
    details: list[str] = []
    for profession in sc.professions:
        mine = [info for info in inst.learners if info.profession == profession]
        for block in sc.programme.block_numbers:
            demand = 0
            sites: set[str] = set()
            for info in mine:
                if block not in info.blocks or info.may_idle:
                    continue
                for role in inst.roles_of(info):
                    demand += 1
                    sites.update(inst.options[(info.index, block, role)])
            offer = sum(inst.supervised_places(s, block, profession) for s in sites)
            if demand > offer:
                conflicts.append(Conflict(
                    "supervisor-capacity", (profession, str(block)),
                    f"{demand} {profession} placement(s) needed in block {block}, but the "
                    f"sites they could use offer only {offer} supervised place(s)"))
                details.append(f"{profession}, block {block}: " + ", ".join(
                    f"{s} {inst.supervised_places(s, block, profession)}" for s in sorted(sites)))
        conflicts += _cover_counts(inst, mine, profession)
        conflicts += _room_counts(inst, mine, profession, details)
    if not conflicts:
        return None
    return Explanation(
        "No plan exists: more is needed than the sites can offer (counting check).",
        tuple(conflicts), minimal=False, details=tuple(details))


def _cover_counts(inst: Instance, mine: list[LearnerInfo], profession: str) -> list[Conflict]:
    """Per cover setting: place-blocks the rotation learners need against those offered.

    One pass over each learner's candidates for all cover settings together (a
    pass per setting took 12 s at 2,000 learners, profiled).
    """
    sc = inst.scenario
    setting_of = {s.id: s.setting for s in sc.sites}
    cover = list(dict.fromkeys(sc.tracks.rotation.cover))
    need = [info for info in mine if not info.is_fellow]
    blocks_needed = dict.fromkeys(cover, 0)  # a placement of k blocks takes k place-blocks
    seen: dict[str, set[tuple[str, int]]] = {setting: set() for setting in cover}
    for info in need:
        shortest: dict[str, int] = {}
        for s, _ in inst.starts(info):
            setting, k = setting_of[s], inst.length(s)
            if k < shortest.get(setting, k + 1):
                shortest[setting] = k
        for setting in cover:
            blocks_needed[setting] += shortest.get(setting, 1)
        for block in info.blocks:
            for s in inst.options[(info.index, block, ROTATION)]:
                pairs = seen.get(setting_of[s])
                if pairs is not None:
                    pairs.add((s, block))
    out = []
    for setting in cover:
        offer = sum(inst.supervised_places(s, block, profession) for s, block in seen[setting])
        if blocks_needed[setting] > offer:
            each = "a block" if blocks_needed[setting] == len(need) else "a placement"
            out.append(Conflict(
                "cover", (profession, setting),
                f"{len(need)} {profession} rotation learner(s) must each spend {each} in "
                f"{setting}, but its sites offer only {offer} supervised place-block(s) "
                "over the year"))
    return out


def _room_counts(inst: Instance, mine: list[LearnerInfo], profession: str,
                 details: list[str]) -> list[Conflict]:
    sc = inst.scenario
    limited = {site.id for site in sc.sites if _room_limited(site, sc)}
    out = []
    for block in sc.programme.block_numbers:
        need = 0
        sites: set[str] = set()
        for info in mine:
            if block not in info.blocks or info.may_idle:
                continue
            for role in inst.roles_of(info):
                options = inst.options[(info.index, block, role)]
                if options and limited.issuperset(options):
                    need += info.need(role)
                    sites.update(options)
        if not need:
            continue
        offer = 0
        for s in sites:
            site = sc.site_by_id[s]
            offer += sum(site.rooms_at(d) or 0 for d in site.open_in(sc.programme))
        if need > offer:
            out.append(Conflict(
                "rooms", (profession, str(block)),
                f"{profession} learners need {need} clinical session(s) a week in block "
                f"{block} at sites with room limits, which offer only {offer} "
                "room-session(s)"))
            details.append(f"{profession}, block {block}, room-limited sites: "
                           + ", ".join(sorted(sites)))
    return out


def _room_limited(site: object, sc: Scenario) -> bool:
    """Whether every open session of a site has a room limit."""
    return all(site.rooms_at(d) is not None  # type: ignore[attr-defined]
               for d in site.open_in(sc.programme))  # type: ignore[attr-defined]


def _feasible(model: cp_model.CpModel, assumptions: list[cp_model.IntVar], seconds: float,
              stop: threading.Event | None = None) -> tuple[cp_model.CpSolverStatus, list[int]]:
    model.clear_assumptions()
    model.add_assumptions(assumptions)
    solver = cp_model.CpSolver()
    configure(solver, budget=Budget(max(0.05, seconds)), workers=1, seed=0)
    status = solve_until(solver, model, stop)
    core = list(solver.sufficient_assumptions_for_infeasibility()) \
        if status == cp_model.INFEASIBLE else []
    return status, core


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` found.

    Attributes
    ----------
    feasible
        True: a plan exists. False: proven infeasible (``explanation`` says why).
        None: neither was proven within the time limit.
    explanation
        Why there is no plan (None when a plan exists or nothing was proven).
    changes
        The suggested fixes as edits (each verified; their words are the
        explanation's ``suggestions``), to apply with
        :func:`~rotaplan.models.edits.changed`.
    """

    feasible: bool | None
    explanation: Explanation | None = None
    changes: tuple[Change, ...] = ()


def proof_without_search(inst: Instance) -> Explanation | None:
    """Empty candidate sets or a failed counting check: infeasible without any search."""
    return empty_domains(inst) or arithmetic(inst)


K = TypeVar("K")


def minimal_core(model: cp_model.CpModel, lits: dict[K, cp_model.IntVar], deadline: float,
                 stop: threading.Event | None, *, first_share: float
                 ) -> tuple[list[K], bool] | None:
    """A set of keys whose assumption literals cannot all hold, and whether it is minimal.

    CP-SAT's first core (with ``first_share`` of the time left) is shrunk by a
    deletion filter: each key is dropped in turn and kept out when the rest is still
    infeasible, until the set is minimal (drop any key and a plan exists) or
    ``deadline`` (a :func:`time.perf_counter` time) passes. None when not even a first
    core was found in time.
    """
    key_of = {lit.index: key for key, lit in lits.items()}
    status, found = _feasible(model, list(lits.values()),
                              max(0.05, (deadline - time.perf_counter()) * first_share), stop)
    if status != cp_model.INFEASIBLE:
        return None
    current = [key_of[i] for i in found] or list(lits)
    minimal = True
    index = 0
    while index < len(current):
        left = deadline - time.perf_counter()
        if left <= 0 or (stop is not None and stop.is_set()):
            minimal = False
            break
        trial = current[:index] + current[index + 1:]
        status, smaller = _feasible(model, [lits[k] for k in trial], min(left, 10.0), stop)
        if status == cp_model.INFEASIBLE:
            kept = {key_of[i] for i in smaller} if smaller else set(trial)
            current = [k for k in trial if k in kept]
        else:
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                minimal = False  # timed out: keep the key, but do not claim minimality
            index += 1
    return current, minimal


def core(inst: Instance, deadline: float, stop: threading.Event | None = None,
         extend: Extension | None = None) -> Explanation | None:
    """A set of constraint groups that cannot all hold, as small as time allows.

    CP-SAT returns a sufficient set of groups; a deletion filter then drops each
    group whose removal leaves the rest infeasible, until the set is minimal or
    ``deadline`` (a :func:`time.perf_counter` time) passes. None when not even a
    first core was found in time. With ``extend``, a model extension's own groups
    (re-planning's ``kept`` placements) take part too.
    """
    form = formulate(inst, explain=True, extend=extend)
    found = minimal_core(form.model, dict(form.b.groups), deadline, stop, first_share=0.5)
    if found is None:
        return None
    current, minimal = found
    conflicts = tuple(Conflict(g.rule, g.ids, g.text) for g in current)
    rules = sorted({c.rule for c in conflicts})
    notes = () if minimal else ("the conflict was not proven minimal within the time limit",)
    return Explanation(
        f"No plan exists: these {len(conflicts)} constraint group(s) cannot all hold "
        f"({', '.join(rules)}).",
        conflicts, minimal=minimal, details=tuple(_details(inst, conflicts)), notes=notes,
    )


def explain_infeasible(scenario: Scenario, budget_seconds: float = 30.0) -> Explanation:
    """A (minimal where time allows) set of constraint groups that conflict.

    Parameters
    ----------
    scenario
        A scenario already known to have no plan.
    budget_seconds
        Time for the core search and its minimisation.
    """
    inst = Instance(scenario)
    deadline = time.perf_counter() + budget_seconds
    found = empty_domains(inst) or core(inst, deadline)
    if found is None:
        return Explanation("No plan was found, but no conflict could be isolated in time.",
                           ())
    return found


def _details(inst: Instance, conflicts: tuple[Conflict, ...]) -> list[str]:
    """Why the learners in a conflict have so few options (domain exclusions).

    Lines are merged across blocks and learners: ``L001, L002: [supervisor-match]
    no supervisor at kl-hasu may supervise physiotherapist (blocks 3, 4)``.
    """
    sc = inst.scenario
    by_id = {info.id: info for info in inst.learners}
    blocks_of: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for conflict in conflicts:
        if conflict.rule not in ("cover", "fellowship", "placement", "working-pattern") \
                or not conflict.ids:
            continue
        info = by_id.get(conflict.ids[0])
        if info is None:
            continue
        setting = conflict.ids[1] if conflict.rule == "cover" else None
        if conflict.rule == "working-pattern":
            block = int(conflict.ids[1])
            for role in inst.roles_of(info):
                for site_id in inst.options[(info.index, block, role)]:
                    site = sc.site_by_id[site_id]
                    _, lost = inst.session_losses(site, block, info.profession,
                                                  info.candidates)
                    for rule, sessions in lost.items():
                        if sessions:
                            reason = f"{site_id} {LOSS_WORDS[rule]} {', '.join(sessions)}"
                            blocks_of[(info.id, rule, reason)].append(block)
            continue
        for block in info.blocks:
            for role in inst.roles_of(info):
                for site_id, why in inst.excluded[(info.index, block, role)].items():
                    if setting is not None and sc.site_by_id[site_id].setting != setting:
                        continue
                    reason = why.reason.replace(f" in block {block}", "")
                    key = (info.id, why.rule, reason)
                    if block not in blocks_of[key]:
                        blocks_of[key].append(block)
    learners_of: dict[tuple[str, str, tuple[int, ...]], list[str]] = defaultdict(list)
    for (learner_id, rule, reason), blocks in blocks_of.items():
        learners_of[(rule, reason, tuple(blocks))].append(learner_id)
    lines = []
    for (rule, reason, in_blocks), learner_ids in learners_of.items():
        label = "block" if len(in_blocks) == 1 else "blocks"
        lines.append(f"{', '.join(learner_ids)}: [{rule}] {reason} "
                     f"({label} {', '.join(map(str, in_blocks))})")
    return lines


def diagnose(scenario: Scenario, budget_seconds: float = 30.0, *,
             known_infeasible: bool = False, stop: threading.Event | None = None,
             note: Callable[[str], None] | None = None) -> Diagnosis:
    """Whether a scenario has a plan and, if not, why, within ``budget_seconds`` in all.

    Empty candidate sets and counting checks answer at once, in resource terms
    (:mod:`rotaplan.solver.statement`). Otherwise a feasibility solve decides,
    and an infeasible scenario gets a conflict over aggregated groups (a site's
    rooms, a profession's cover of a setting), minimal at that level where time
    allows. Then changes of the resources named are searched, singly and
    combined, each verified by a solve (:mod:`rotaplan.solver.fixes`). Every
    step stops at the deadline or when ``stop`` is set; ``note`` hears progress.
    """
    return diagnose_instance(Instance(scenario), budget_seconds,
                             known_infeasible=known_infeasible, stop=stop, note=note)


def diagnose_instance(inst: Instance, budget_seconds: float, *, known_infeasible: bool = False,
                      stop: threading.Event | None = None,
                      proof: Explanation | None = None,
                      note: Callable[[str], None] | None = None) -> Diagnosis:
    """:func:`diagnose` on an instance the caller already built (its full domains).

    ``note`` is called with a line of progress at each stage (for a page's
    progress display).
    """
    started = time.perf_counter()
    deadline = started + max(0.5, budget_seconds)
    say = note or (lambda _line: None)
    say("checking candidate sites and counting places, rooms and supervision")
    empty = empty_domains(inst)
    if empty is not None:
        told = from_empty(inst, empty.conflicts)
        return _finish(inst, empty, told, deadline, stop, say)
    found = shortages(inst)
    if found:
        told = from_shortages(inst, found)
        counted = Explanation(
            "No plan exists: more is needed than the sites can offer (counting check).",
            tuple(dict.fromkeys(c for g in told.groups for c in (
                Conflict(g.rule, g.ids, g.text),
                *(m for m in g.members if m.rule in RESOURCE_RULES)))),
            details=tuple(_shortage_details(inst, found)))
        return _finish(inst, counted, told, deadline, stop, say)
    if proof is None and not known_infeasible:
        say("looking for a plan")
        verdict = plan_exists(inst.scenario, (deadline - time.perf_counter()) / 3, stop, inst)
        if verdict is True:
            return Diagnosis(True)
        if verdict is None:
            return Diagnosis(None)
    # keep a third of the time for the fixes; the core gets the rest
    say("isolating the conflict, by site and profession first")
    core_deadline = started + (deadline - started) * 2 / 3
    grouped = grouped_core(inst, core_deadline, stop)
    if grouped is None:
        if proof is not None:
            return Diagnosis(False, proof)
        return Diagnosis(False, Explanation(
            "No plan exists, but no conflict could be isolated within the time limit.", (),
            notes=("try a longer --time-limit",)))
    return _finish(inst, grouped, from_core(inst, grouped.conflicts), deadline, stop, say)


def _shortage_details(inst: Instance, found: list[Shortage]) -> list[str]:
    """Every failed counting check, with each site's share and the learners counted."""
    sc = inst.scenario
    out = []
    for s in found:
        out.append(shortage_head(sc, s))
        out.append("  sites: " + ", ".join(f"{x.site} {x.amount} [{x.limit}]"
                                          for x in s.supply))
        out.append("  learners: " + ", ".join(s.learners))
    return out


def _finish(inst: Instance, found: Explanation, told: Statement, deadline: float,
            stop: threading.Event | None, say: Callable[[str], None]) -> Diagnosis:
    """The explanation in resource terms, with fixes searched until ``deadline``."""
    sc = inst.scenario
    if told.lines:
        say(f"found: {told.lines[0]}")
    changes = candidates(sc, told.resources)
    notes = list(found.notes)
    hints: list[str] = []
    verified: list[Change] = []
    if changes:
        say(f"trying {len(changes)} change(s) of the resources named, one at a time, "
            "then in pairs")
        chain = rule_out = None
        if told.from_core:  # the lines of the conflict, to rule changes out cheaply
            keys = list(dict.fromkeys(group_key(inst, c) for c in found.conflicts))

            def rule_out(trial: Scenario) -> bool:
                left = deadline - time.perf_counter()
                return _lines_hold(trial, keys, min(max(left, 0.1), 5.0), stop) is False

            def chain(singles: FixSearch) -> list[Change]:
                start = singles.helped[0] if singles.helped else None
                return core_chain(sc, deadline, stop, start=start)
        searched = search(sc, changes, deadline, stop, note=say, combine=chain,
                          rule_out=rule_out)
        hints = searched.fixes
        verified = searched.changes
        if not hints:
            notes.append(
                "no change of one resource (up to 3 more rooms, places or learners per "
                "supervisor, a leave cancelled, an opening), nor any pair of one-unit "
                "changes, makes a plan possible" if searched.covered else
                f"no fix found among the {searched.tried} change(s) tried before the time "
                "limit; not every change could be tried")
    else:
        notes.append("no change of rooms, places, supervision or opening applies: the "
                     "conflict is in who may go where (eligibility, pins, cover)")
    return Diagnosis(False, Explanation(found.summary, found.conflicts, found.minimal,
                                        found.details, tuple(hints), tuple(notes), told.lines,
                                        told.groups), tuple(verified))


def _line_model(inst: Instance) -> tuple[cp_model.CpModel, dict[tuple[str, ...], cp_model.IntVar],
                                         dict[tuple[str, ...], list[Conflict]]]:
    """The model with one literal per line (:func:`group_key`) enforcing all its groups."""
    form = formulate(inst, explain=True)
    model = form.model
    members: dict[tuple[str, ...], list[Conflict]] = defaultdict(list)
    lits: dict[tuple[str, ...], cp_model.IntVar] = {}
    for group, lit in form.b.groups.items():
        conflict = Conflict(group.rule, group.ids, group.text)
        key = group_key(inst, conflict)
        if key not in lits:
            lits[key] = model.new_bool_var(f"line[{':'.join(key)}]")
        model.add_implication(lits[key], lit)
        members[key].append(conflict)
    return model, lits, members


def _lines_hold(sc: Scenario, keys: list[tuple[str, ...]], seconds: float,
                stop: threading.Event | None) -> bool | None:
    """Whether the lines ``keys`` alone can all hold in ``sc`` (None: not decided in time)."""
    inst = Instance(sc)
    if empty_domains(inst) is not None:
        return None  # the change emptied someone's options: not a step towards a fix
    model, lits, _ = _line_model(inst)
    status, _ = _feasible(model, [lits[k] for k in keys if k in lits], seconds, stop)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def core_chain(sc: Scenario, deadline: float, stop: threading.Event | None = None,
               most: int = 4, start: Change | None = None) -> list[Change]:
    """Changes that together remove one conflict after another (to verify by a solve).

    When no single change fixes a scenario (a cohort too large for several
    settings), the first candidate change that lets the current conflict's
    lines all hold is kept, the next conflict of the changed scenario is found,
    and so on, up to ``most`` changes. Empty when no such chain is found in time.
    ``start`` is a first step already known (it lets the first conflict hold).
    """
    chosen: list[Change] = [start] if start is not None else []
    current = changed(sc, *start.edits) if start is not None else sc
    for _ in range(most):
        left = deadline - time.perf_counter()
        if left <= 0.1 or (stop is not None and stop.is_set()):
            return []
        inst = Instance(current)
        if proof_without_search(inst) is not None or shortages(inst):
            return []
        found = grouped_core(inst, time.perf_counter() + left / 2, stop)
        if found is None:  # the lines all hold together: a plan is likely, verify it
            return chosen
        keys = list(dict.fromkeys(group_key(inst, c) for c in found.conflicts))
        told = from_core(inst, found.conflicts)
        picked = None
        for change in candidates(current, told.resources):
            left = deadline - time.perf_counter()
            if left <= 0.1:
                return []
            if _lines_hold(changed(current, *change.edits), keys, min(left, 5.0), stop):
                picked = change
                break
        if picked is None:
            return []
        chosen.append(picked)
        current = changed(current, *picked.edits)
    return []


def grouped_core(inst: Instance, deadline: float, stop: threading.Event | None = None
                 ) -> Explanation | None:
    """A conflict over aggregated groups: a site's resource, a profession's demand.

    Every model constraint group gets its line's literal (:func:`group_key`:
    rooms at one site in every block and session, cover of one profession in
    one setting, ...), so the core and its deletion filter work over a few
    dozen literals, not thousands. Minimal at that level (dropping any line
    leaves the rest feasible) unless the deadline comes first; the members of
    each line are the ids behind it.
    """
    model, lits, members = _line_model(inst)
    # the first core is what matters most: most of the time, the filter gets the rest
    found = minimal_core(model, lits, deadline, stop, first_share=0.75)
    if found is None:
        return None
    current, minimal = found
    conflicts = tuple(c for key in current for c in members[key])
    notes = () if minimal else ("not proven minimal: the time limit came first",)
    return Explanation(
        f"No plan exists: these {len(current)} limits cannot all hold together"
        + (" (drop any one and a plan exists)." if minimal else "."),
        conflicts, minimal=minimal, details=tuple(_details(inst, conflicts)), notes=notes)


def feasible(scenario: Scenario, seconds: float, stop: threading.Event | None = None
             ) -> bool | None:
    """Whether a scenario has a plan: True, False, or None when not decided in time.

    A satisfiability solve of the model (no objective, no explanation).
    """
    inst = Instance(scenario)
    if proof_without_search(inst) is not None:
        return False
    form = formulate(inst)
    status, _ = _feasible(form.model, [], seconds, stop)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None
