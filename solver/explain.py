"""Explain why a scenario has no plan, in the contract's rule names and ids.

Two stages. First, cheap checks on the candidate domains: a learner with no
site left for a block, or a cover setting no candidate site offers, is named
with the rule that removed each option. Otherwise the model is rebuilt with
an assumption literal per constraint group; CP-SAT returns a sufficient set of
groups, which a deletion filter shrinks to a minimal one (drop any group and
the rest is feasible) within a time budget.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ortools.sat.python import cp_model

from rotaplan.models import Scenario
from rotaplan.solver.instance import BASE, LOSS_WORDS, ROTATION, Instance, LearnerInfo
from rotaplan.solver.result import Conflict, Explanation


def internal(message: str) -> Explanation:
    """An explanation for a failure that is not the scenario's fault."""
    return Explanation(message, ())


def _exclusion_lines(inst: Instance, info: LearnerInfo, block: int, role: str) -> list[str]:
    why = inst.excluded[(info.index, block, role)]
    by_rule: dict[str, list[str]] = defaultdict(list)
    for exclusion in why.values():
        by_rule[exclusion.rule].append(exclusion.reason)
    return [f"[{rule}] {'; '.join(reasons)}" for rule, reasons in by_rule.items()]


def empty_domains(inst: Instance) -> Explanation | None:
    """Conflicts visible from candidate domains alone, or None.

    Only learners who must be placed count: with ``allow_unplaced`` a learner
    with no options is simply left out.
    """
    if inst.scenario.objective.allow_unplaced:
        return None
    conflicts: list[Conflict] = []
    details: list[str] = []
    setting_of = {s.id: s.setting for s in inst.scenario.sites}
    cover = inst.scenario.tracks.rotation.cover
    for info in inst.learners:
        for block in info.blocks:
            for role in inst.roles_of(info):
                options = inst.options[(info.index, block, role)]
                if role == BASE:
                    options = {s: d for s, d in options.items()
                               if s in inst.base_sites[info.index]}
                if options:
                    continue
                what = {"rotation": "site", "base": "base site", "partner": "partner site"}[role]
                conflicts.append(Conflict("placement", (info.id, str(block)),
                                          f"{info.id} has no possible {what} in block {block}"))
                details += [f"{info.id}, block {block}: {line}"
                            for line in _exclusion_lines(inst, info, block, role)]
        if info.is_fellow:
            if not inst.base_sites.get(info.index) and all(
                inst.options[(info.index, b, BASE)] for b in info.blocks
            ):
                conflicts.append(Conflict("fellowship", (info.id,),
                                          f"{info.id} has no base site usable in every block"))
            continue
        reachable = {setting_of[s] for b in info.blocks
                     for s in inst.options[(info.index, b, ROTATION)]}
        for setting in cover:
            if setting not in reachable:
                conflicts.append(Conflict("cover", (info.id, setting),
                                          f"cover of {info.id}: no candidate site in {setting} "
                                          "in any of their blocks"))
                for block in info.blocks:
                    details += [f"{info.id}, block {block}: {line}"
                                for line in _exclusion_lines(inst, info, block, ROTATION)
                                if setting in line or "pinned" in line]
    if not conflicts:
        return None
    return Explanation(
        "No plan exists: some learners have no possible placement left.",
        tuple(conflicts), minimal=len(conflicts) == 1, details=tuple(dict.fromkeys(details)),
    )


def arithmetic(inst: Instance) -> Explanation | None:
    """Counting checks that prove infeasibility instantly, or None.

    Each compares what learners who must be placed need with an upper bound on
    what the sites they could use offer, per profession and block: supervised
    places (``min(site capacity, capacity of supervisors who may supervise the
    profession)``), visits to each cover setting over the year, and
    room-sessions where every option has a room limit. Every check is a
    necessary condition, so a failure is a proof; they say nothing when they
    pass.
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
                if block not in info.blocks:
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
    sc = inst.scenario
    setting_of = {s.id: s.setting for s in sc.sites}
    out = []
    for setting in dict.fromkeys(sc.tracks.rotation.cover):
        need = [info for info in mine if not info.is_fellow]
        offer = 0
        seen: set[tuple[str, int]] = set()
        for info in need:
            for block in info.blocks:
                for s in inst.options[(info.index, block, ROTATION)]:
                    if setting_of[s] == setting and (s, block) not in seen:
                        seen.add((s, block))
                        offer += inst.supervised_places(s, block, profession)
        if len(need) > offer:
            out.append(Conflict(
                "cover", (profession, setting),
                f"{len(need)} {profession} rotation learner(s) must each spend a block in "
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
            if block not in info.blocks:
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


def _feasible(
    model: cp_model.CpModel, assumptions: list[cp_model.IntVar], seconds: float
) -> tuple[cp_model.CpSolverStatus, list[int]]:
    model.clear_assumptions()
    model.add_assumptions(assumptions)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    core = list(solver.sufficient_assumptions_for_infeasibility()) \
        if status == cp_model.INFEASIBLE else []
    return status, core


def explain_infeasible(scenario: Scenario, budget_seconds: float = 30.0) -> Explanation:
    """A (minimal where time allows) set of constraint groups that conflict.

    Parameters
    ----------
    scenario
        A scenario already known to have no plan.
    budget_seconds
        Time for the core search and its minimisation.
    """
    from rotaplan.solver.engine import build  # late import: engine imports this module

    started = time.perf_counter()
    inst = Instance(scenario)
    empty = empty_domains(inst)
    if empty is not None:
        return empty
    b, _ = build(scenario, explain_mode=True)
    lit_group = {lit.index: group for group, lit in b.groups.items()}
    lits = {group: lit for group, lit in b.groups.items()}
    status, core = _feasible(b.model, list(lits.values()), budget_seconds / 2)
    if status != cp_model.INFEASIBLE:
        return Explanation("No plan was found, but no conflict could be isolated in time "
                           f"(CP-SAT said {cp_model.CpSolver().status_name(status)}).", ())
    current = [lit_group[i] for i in core] or list(lits)
    minimal = True
    index = 0
    while index < len(current):
        left = budget_seconds - (time.perf_counter() - started)
        if left <= 0:
            minimal = False
            break
        trial = current[:index] + current[index + 1:]
        status, smaller = _feasible(b.model, [lits[g] for g in trial], min(left, 10.0))
        if status == cp_model.INFEASIBLE:
            kept = {lit_group[i] for i in smaller} if smaller else set(trial)
            current = [g for g in trial if g in kept]
        else:
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                minimal = False  # timed out: keep the group, but do not claim minimality
            index += 1
    conflicts = tuple(Conflict(g.rule, g.ids, g.text) for g in current)
    rules = sorted({c.rule for c in conflicts})
    return Explanation(
        f"No plan exists: these {len(conflicts)} constraint group(s) cannot all hold "
        f"({', '.join(rules)}).",
        conflicts, minimal=minimal, details=tuple(_details(inst, conflicts)),
    )


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
             known_infeasible: bool = False, suggest_seconds: float = 10.0
             ) -> Explanation | None:
    """Why a scenario has no plan (None if it has one).

    Empty candidate sets answer at once. Otherwise a minimal conflicting set of
    constraint groups is found (the counting checks, when they fail, are added
    as details and stand in if the core search runs out of time), and single
    one-unit relaxations of the resources in it are tried.
    """
    inst = Instance(scenario)
    empty = empty_domains(inst)
    if empty is not None:
        return empty
    counting = arithmetic(inst)
    if counting is None and not known_infeasible:
        from rotaplan.solver.engine import build

        b, _ = build(scenario, explain_mode=True)
        status, _ = _feasible(b.model, list(b.groups.values()), budget_seconds / 3)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
    found = explain_infeasible(scenario, budget_seconds)
    if not found.conflicts:
        return counting or found
    hints = suggestions(scenario, found.conflicts, seconds_each=suggest_seconds)
    details = found.details
    if counting is not None:
        details = tuple(f"counting check: {c.text}" for c in counting.conflicts) + details
    return Explanation(found.summary, found.conflicts, found.minimal, details, tuple(hints))


def _relaxations(scenario: Scenario, conflict: Conflict) -> list[tuple[str, object]]:
    """One-unit changes that loosen a conflict group, as (words, edit)."""
    from rotaplan.solver.capacity import more_rooms, more_site_places, more_supervision

    blocks = scenario.programme.block_numbers
    if conflict.rule == "rooms" and len(conflict.ids) == 3:
        room_site, _, session = conflict.ids
        return [(f"one more room at {room_site} on {session}", more_rooms(room_site, session))]
    if conflict.rule == "site-capacity":
        place_site = conflict.ids[0]
        return [(f"one more place at {place_site}", more_site_places(place_site, blocks))]
    if conflict.rule == "supervisor-capacity" and len(conflict.ids) >= 3:
        site_id, _, *professions = conflict.ids
        at = scenario.site_by_id.get(site_id)
        if at is None:
            return []
        return [(f"{sup.id} supervising one more learner ({sup.capacity} → {sup.capacity + 1})",
                 more_supervision(sup.id)) for sup in at.supervisors
                if any(scenario.may_supervise(sup.profession, p) for p in professions)]
    return []


def suggestions(scenario: Scenario, conflicts: tuple[Conflict, ...],
                seconds_each: float = 10.0, most: int = 8) -> list[str]:
    """Single one-unit changes, each tried by a solve, that make the scenario feasible."""
    from rotaplan.solver.capacity import changed
    from rotaplan.solver.engine import SolveOptions, solve

    tried: set[str] = set()
    out: list[str] = []
    for conflict in conflicts:
        for words, edit in _relaxations(scenario, conflict):
            if words in tried or len(tried) >= most:
                continue
            tried.add(words)
            relaxed = changed(scenario, edit)  # type: ignore[arg-type]
            result = solve(relaxed, SolveOptions(time_limit=seconds_each, workers=1,
                                                 hint=True))
            if result.has_plan:
                out.append(f"{words} would make it feasible")
    return out
