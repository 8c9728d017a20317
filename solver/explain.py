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

from models import Scenario
from solver.instance import BASE, LOSS_WORDS, ROTATION, Instance, LearnerInfo
from solver.result import Conflict, Explanation


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
    from solver.engine import build  # late import: engine imports this module

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
