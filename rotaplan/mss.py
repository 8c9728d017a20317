"""The medical student scheduling benchmark (MSS) as a version-2 scenario (contract §9.5).

Student -> learner, discipline -> setting, hospital -> organisation, ward
(hospital, discipline) -> site, period -> block, internship -> placement of
``Duration`` blocks. Ward staffing maxima and minima become site
``capacity``/``min_learners`` maps, ``Availability`` a learner's ``blocks``,
``Ability`` avoided sites and ``AllowedDisc`` avoided settings, each group's
count a ``requirements`` entry with ``count``, each discipline once
``no_repeat_setting``, ``Precededby`` ``precedence``, ``MaxDiscPerHosp``
``max_per_organisation``; preferences become ``scores`` (setting score
w_disc x PrefStudDisc, organisation score w_hosp x PrefStudHosp), ``ManPref``
the setting ``value``, and the change and wait weights (negative in MSS) the
learner's ``organisation_changes`` and ``idle_blocks`` weights. With
``preference: score`` and ``fairness: weighted`` (``worst_weight: 1``) the MSS
objective c (maximised) is minus rotaplan's objective. Sites need no rooms and
one supervisor each; one weekly session keeps timetables trivial.

:func:`score` recomputes c from a plan's internships on its own (it shares no
code with the solver), so a solve's c can be checked against both the summary
and the benchmark's scorer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from rotaplan.io.dzn import Internship, MssInstance
from rotaplan.models import START_BLOCK, Plan
from rotaplan.models.vocabulary import Role

PROFESSION = "student"
SESSION = "Week"


def discipline_id(d: int) -> str:
    """The setting id of discipline ``d`` (1-based)."""
    return f"d{d}"


def hospital_id(h: int) -> str:
    """The organisation id of hospital ``h``."""
    return f"h{h}"


def ward_id(h: int, d: int) -> str:
    """The site id of ward (hospital ``h``, discipline ``d``)."""
    return f"h{h}-d{d}"


def student_id(s: int) -> str:
    """The learner id of student ``s``."""
    return f"s{s}"


def to_scenario(inst: MssInstance) -> dict[str, Any]:
    """The §9 scenario of an MSS instance, as plain data (contract §9.5).

    Raises
    ------
    ValueError
        When a student cannot be expressed (no available period, or fewer
        available periods than their internships need).
    """
    n_disc, n_hosp, horizon = inst.disciplines, inst.hospitals, inst.horizon
    settings = [{"id": discipline_id(d), "name": f"Discipline {d}",
                 "placement_blocks": inst.duration, "value": inst["ManPref"][d - 1]}
                for d in range(1, n_disc + 1)]
    sites = []
    for h in range(1, n_hosp + 1):
        for d in range(1, n_disc + 1):
            most = inst["MaxPosHosp"][h - 1][d - 1]
            fewest = inst["MinPosHosp"][h - 1][d - 1]
            site: dict[str, Any] = {
                "id": ward_id(h, d), "setting": discipline_id(d),
                "organisation": hospital_id(h),
                "capacity": {t: most[t - 1] for t in range(1, horizon + 1)},
            }
            needs = {t: fewest[t - 1] for t in range(1, horizon + 1) if fewest[t - 1] > 0}
            if needs:
                site["min_learners"] = needs
            site["supervisors"] = [{"id": f"{ward_id(h, d)}-tutor", "profession": PROFESSION,
                                    "capacity": max(1, max(most))}]
            sites.append(site)
    learners = [_student(inst, s) for s in range(1, inst.students + 1)]
    precedence = [{"before": discipline_id(d2), "after": discipline_id(d1)}
                  for d1 in range(1, n_disc + 1) for d2 in range(1, n_disc + 1)
                  if inst["Precededby"][d1 - 1][d2 - 1]]
    rotation: dict[str, Any] = {"cover": [], "no_repeat_setting": True}
    if precedence:
        rotation["precedence"] = precedence
    if inst.max_disc_per_hosp < n_disc:
        rotation["max_per_organisation"] = inst.max_disc_per_hosp
    return {
        "programme": {"name": f"MSS {inst.name}", "blocks": horizon, "block_weeks": 1,
                      "sessions": [SESSION]},
        "settings": settings,
        "professions": [PROFESSION],
        "tracks": {"rotation": rotation},
        "sites": sites,
        "learners": learners,
        "objective": {"preference": "score", "fairness": "weighted", "worst_weight": 1},
    }


def _student(inst: MssInstance, s: int) -> dict[str, Any]:
    n_disc, n_hosp, horizon = inst.disciplines, inst.hospitals, inst.horizon
    available = [t for t in range(1, horizon + 1) if inst["Availability"][s - 1][t - 1]]
    n = inst.internships(s - 1)
    if len(available) < n * inst.duration:
        raise ValueError(f"student {s} is available for {len(available)} period(s) but needs "
                         f"{n} internship(s) of {inst.duration}")
    w_disc, w_hosp, w_change, w_wait = inst["WeightPref"][s - 1]
    allowed = inst["AllowedDisc"][s - 1]
    counts = inst["StudDiscGroup"][s - 1]
    learner: dict[str, Any] = {"id": student_id(s), "profession": PROFESSION}
    if len(available) < horizon:
        learner["blocks"] = available
    learner["placements"] = n
    learner["requirements"] = [
        {"settings": [discipline_id(d) for d in range(1, n_disc + 1)
                      if inst["DiscGroup"][d - 1] == g], "count": counts[g - 1]}
        for g in range(1, inst.groups + 1)
        if any(inst["DiscGroup"][d - 1] == g for d in range(1, n_disc + 1))]
    avoid = [discipline_id(d) for d in range(1, n_disc + 1) if not allowed[d - 1]]
    avoid += [ward_id(h, d) for h in range(1, n_hosp + 1) for d in range(1, n_disc + 1)
              if allowed[d - 1] and not inst["Ability"][s - 1][h - 1][d - 1]]
    if avoid:
        learner["avoid"] = avoid
    scores = {discipline_id(d): w_disc * inst["PrefStudDisc"][s - 1][d - 1]
              for d in range(1, n_disc + 1) if allowed[d - 1]}
    scores |= {hospital_id(h): w_hosp * inst["PrefStudHosp"][s - 1][h - 1]
               for h in range(1, n_hosp + 1)}
    learner["scores"] = {k: v for k, v in scores.items() if v}
    learner["weights"] = {"organisation_changes": abs(w_change), "idle_blocks": abs(w_wait)}
    return learner


def internships(inst: MssInstance, plan: Plan) -> list[Internship]:
    """A plan's placements as MSS internships (student, first period, hospital, discipline)."""
    a = plan.assignments
    a = a[a["role"] == Role.ROTATION]
    if START_BLOCK in a.columns:
        a = a[a["block"].astype(int) == a[START_BLOCK].astype(int)]
    out = []
    for lid, block, site in zip(a["learner_id"], a["block"], a["site_id"], strict=True):
        h, d = (int(x[1:]) for x in str(site).split("-"))
        out.append((int(str(lid)[1:]), int(block), h, d))
    return sorted(out)


@dataclass(frozen=True)
class MssScore:
    """The benchmark's figures of a solution.

    Attributes
    ----------
    c
        Sum of the students' totals plus the smallest total (maximised).
    total
        Sum of the students' totals.
    worst
        The smallest total.
    """

    c: int
    total: int
    worst: int


def score(inst: MssInstance, found: list[Internship]) -> MssScore:
    """c, the total and the worst total of a solution (README of the benchmark)."""
    by_student: dict[int, list[Internship]] = {s: [] for s in range(1, inst.students + 1)}
    for item in found:
        by_student[item[0]].append(item)
    totals = []
    for s, mine in by_student.items():
        mine.sort(key=lambda x: x[1])
        w_disc, w_hosp, w_change, w_wait = inst["WeightPref"][s - 1]
        tot = sum(w_disc * inst["PrefStudDisc"][s - 1][d - 1]
                  + w_hosp * inst["PrefStudHosp"][s - 1][h - 1] + inst["ManPref"][d - 1]
                  for _, _, h, d in mine)
        tot += w_change * sum(1 for x, y in itertools.pairwise(mine) if x[2] != y[2])
        last = mine[-1][1] + inst.duration - 1 if mine else 0
        tot += w_wait * (last - inst.duration * len(mine))
        totals.append(tot)
    total = sum(totals)
    worst = min(totals, default=0)
    return MssScore(total + worst, total, worst)


__all__ = ["MssScore", "discipline_id", "hospital_id", "internships", "score", "student_id",
           "to_scenario", "ward_id"]
