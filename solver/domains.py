"""Conflicts visible from the candidate domains alone: a learner with no site left.

Used first by explanations (:mod:`solver.explain`) and by the fix search
(:mod:`solver.fixes`) to rule a change out without a solve.
"""

from __future__ import annotations

from collections import defaultdict

from rotaplan.models.vocabulary import Role
from rotaplan.solver.instance import BASE, ROTATION, Instance, LearnerInfo
from rotaplan.solver.result import Conflict, Explanation


def _exclusion_lines(inst: Instance, info: LearnerInfo, block: int, role: Role) -> list[str]:
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
        held: set[int] = set()  # blocks some possible placement of the learner holds
        if not info.is_fellow:
            held = {block for site, first in inst.starts(info)
                    for block in range(first, first + inst.length(site))} \
                if inst.multi_block else {first for _, first in inst.starts(info)}
        for block in info.blocks:
            for role in inst.roles_of(info):
                if info.may_idle:
                    continue  # an empty block can be idle (§9.1)
                options = inst.options[(info.index, block, role)]
                if role == BASE:
                    options = {s: d for s, d in options.items()
                               if s in inst.base_sites[info.index]}
                if role == ROTATION and options and block not in held:
                    conflicts.append(Conflict(
                        "placement-length", (info.id, str(block)),
                        f"{info.id}: no placement that fits their blocks can hold block "
                        f"{block} (sites there: {', '.join(sorted(options))})"))
                    continue
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
        reachable = {setting_of[s] for s, _ in inst.starts(info)}
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


__all__ = ["empty_domains"]
