"""Seeded generator of version-2 pathway programmes (contract §9).

A twelve-month integrated care programme of monthly blocks, as a training hub
would run it across employers:

- **placements of 3 months**, and a **6-month** neuro-rehabilitation post;
- a **pathway**: acute stroke before community rehabilitation (``precedence``),
  unless the learner has already done stroke (``completed``);
- **organisations**: two acute trusts, a community trust, a mental-health
  trust, two primary care networks and the county council; every change of
  employer costs an induction (``organisation_changes`` weight 1) and nobody
  spends more than two placements with one employer (``max_per_organisation``);
- **electives**: at most one of mental health, urgent care and learning
  disability, and one or two of primary and social care (``requirements``),
  each setting once (``no_repeat_setting``);
- **part-year learners** who join in block 4, and learners with a quarter of
  study leave (``placements: 3``; an idle block before their last placement
  costs 1).

Capacity is planned from demand, with a margin, so the programme is feasible;
GP practices have rooms per session, as in the version-1 generator. The same
arguments give byte-identical YAML.
"""

from __future__ import annotations

import math
import random
from typing import Any

from rotaplan.generate import FIRST_NAMES, START, SURNAMES

BLOCKS = 12
SESSIONS = ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM", "Wed-PM",
            "Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM"]
TEACHING = ["Wed-PM"]
PROFESSIONS = ["nurse", "physiotherapist", "occupational-therapist", "paramedic"]
MIX = [("nurse", 0.45), ("physiotherapist", 0.25), ("occupational-therapist", 0.15),
       ("paramedic", 0.15)]
SUPERVISION = {"paramedic": ["paramedic", "nurse"],
               "occupational-therapist": ["occupational-therapist", "physiotherapist"]}

SETTINGS: list[dict[str, Any]] = [
    {"id": "stroke", "name": "Acute stroke", "placement_blocks": 3},
    {"id": "community-rehab", "name": "Community rehabilitation", "placement_blocks": 3},
    {"id": "primary-care", "name": "Primary care", "placement_blocks": 3},
    {"id": "social-care", "name": "Social care", "placement_blocks": 3},
    {"id": "mental-health", "name": "Mental health (elective)", "placement_blocks": 3},
    {"id": "urgent-care", "name": "Urgent care (elective)", "placement_blocks": 3},
    {"id": "learning-disability", "name": "Learning disability (elective)",
     "placement_blocks": 3},
]
ELECTIVES = ["mental-health", "urgent-care", "learning-disability"]

ORGANISATIONS = {
    "nnuh": "Norfolk and Norwich University Hospitals (acute trust)",
    "jpuh": "James Paget University Hospitals (acute trust)",
    "nchc": "Norfolk Community Health and Care (community trust)",
    "nsft": "Norfolk and Suffolk Foundation Trust (mental health trust)",
    "pcn-norwich": "Norwich primary care network",
    "pcn-yarmouth": "Great Yarmouth and Waveney primary care network",
    "ncc": "Norfolk County Council (adult social care)",
}

# (id, name, setting, organisation, professions taken, share of the setting's places,
#  placement_blocks override or None, rooms per session or None)
SITES: list[tuple[str, str, str, str, tuple[str, ...], float, int | None, int | None]] = [
    ("nnuh-hasu", "NNUH hyper-acute stroke unit", "stroke", "nnuh",
     ("nurse", "physiotherapist", "occupational-therapist", "paramedic"), 0.4, None, None),
    ("nnuh-stroke", "NNUH acute stroke ward", "stroke", "nnuh",
     ("nurse", "physiotherapist", "occupational-therapist"), 0.3, None, None),
    ("jpuh-stroke", "James Paget stroke unit", "stroke", "jpuh",
     ("nurse", "physiotherapist", "paramedic"), 0.3, None, None),
    ("nchc-crt-norwich", "Norwich community rehabilitation team", "community-rehab", "nchc",
     ("nurse", "physiotherapist", "occupational-therapist", "paramedic"), 0.4, None, None),
    ("nchc-crt-yarmouth", "Great Yarmouth community rehabilitation team",
     "community-rehab", "nchc", ("nurse", "physiotherapist", "occupational-therapist"),
     0.35, None, None),
    ("nchc-neuro-rehab", "Colman neuro-rehabilitation unit (6-month post)",
     "community-rehab", "nchc", ("physiotherapist", "occupational-therapist", "nurse"),
     0.25, 6, None),
    ("bridge-st", "Bridge Street Surgery", "primary-care", "pcn-norwich",
     ("nurse", "paramedic", "physiotherapist"), 0.35, None, 2),
    ("market-pl", "Market Place Surgery", "primary-care", "pcn-norwich",
     ("nurse", "physiotherapist", "occupational-therapist"), 0.3, None, 2),
    ("harbour", "Harbour Medical Practice", "primary-care", "pcn-yarmouth",
     ("nurse", "paramedic", "occupational-therapist"), 0.35, None, 2),
    ("ncc-reablement", "Norfolk reablement service", "social-care", "ncc",
     ("nurse", "physiotherapist", "occupational-therapist", "paramedic"), 0.6, None, None),
    ("ncc-care-home-team", "Care home support team", "social-care", "ncc",
     ("nurse", "occupational-therapist"), 0.4, None, None),
    ("nsft-cmht", "Community mental health team", "mental-health", "nsft",
     ("nurse", "occupational-therapist", "paramedic"), 1.0, None, None),
    ("nnuh-ed", "NNUH emergency department", "urgent-care", "nnuh",
     ("nurse", "paramedic"), 0.6, None, None),
    ("pcn-utc", "Yarmouth urgent treatment centre", "urgent-care", "pcn-yarmouth",
     ("nurse", "paramedic", "physiotherapist"), 0.4, None, 3),
    ("nchc-ld", "Learning disability team", "learning-disability", "nchc",
     ("nurse", "occupational-therapist", "physiotherapist"), 1.0, None, None),
]

# Learner-blocks a full-year learner spends in each setting, on average, and the
# blocks that demand falls in (stroke comes first, rehabilitation after it).
DEMAND = {"stroke": (3.0, range(1, 10)), "community-rehab": (3.6, range(4, 13)),
          "primary-care": (2.4, range(1, 13)), "social-care": (1.8, range(1, 13)),
          "mental-health": (0.6, range(1, 13)), "urgent-care": (0.6, range(1, 13)),
          "learning-disability": (0.4, range(1, 13))}
MARGIN = 1.5
"""Places per block over the expected demand in that block (and at least 2)."""


def _quota(n: int, mix: list[tuple[str, float]]) -> list[str]:
    counts = {p: int(n * share) for p, share in mix}
    for p, _ in mix:
        if sum(counts.values()) >= n:
            break
        counts[p] += 1
    return [p for p, _ in mix for _ in range(counts[p])]


def generate_pathway(size: int, *, seed: int, name: str | None = None) -> dict[str, Any]:
    """A twelve-month version-2 pathway programme for ``size`` learners.

    Parameters
    ----------
    size
        Number of learners (rotation track).
    seed
        Seed of the one random generator (same arguments, same scenario).
    name
        Programme name.

    Returns
    -------
    dict
        The scenario as plain data (write it with
        :func:`rotaplan.models.yaml_format.dump_scenario`).
    """
    if size < 4:
        raise ValueError("a pathway programme needs at least 4 learners")
    rng = random.Random(seed)
    professions = _quota(size, MIX)
    rng.shuffle(professions)
    sites = _sites(size, professions, rng)
    learners = _learners(professions, sites, rng)
    return {
        "programme": {"name": name or "Norfolk and Waveney ICS pathway programme 2027/28",
                      "start": START, "blocks": BLOCKS, "block_weeks": 4,
                      "sessions": list(SESSIONS), "teaching_sessions": list(TEACHING)},
        "settings": [dict(s) for s in SETTINGS],
        "professions": list(PROFESSIONS),
        "supervision": {k: list(v) for k, v in SUPERVISION.items()},
        "tracks": {"rotation": {
            "cover": ["stroke", "community-rehab"],
            "no_repeat_setting": True,
            "requirements": [
                {"settings": ["primary-care", "social-care"], "min": 1, "max": 2},
                {"settings": list(ELECTIVES), "max": 1},
            ],
            "precedence": [{"before": "stroke", "after": "community-rehab"}],
            "max_per_organisation": 2,
        }},
        "sites": sites,
        "learners": learners,
        "objective": {"weights": {"organisation_changes": 1, "idle_blocks": 1}},
    }


def _sites(size: int, professions: list[str], rng: random.Random) -> list[dict[str, Any]]:
    """Sites with supervisors and capacity planned from the cohort's demand."""
    share = {p: professions.count(p) / len(professions) for p in PROFESSIONS}
    out = []
    for sid, title, setting, org, takes, part, length, rooms in SITES:
        per_block, blocks = DEMAND[setting]
        peak = size * per_block / len(blocks) * part
        places = max(2, math.ceil(peak * MARGIN))
        site: dict[str, Any] = {"id": sid, "name": title, "setting": setting,
                                "organisation": org}
        if length is not None:
            site["placement_blocks"] = length
        if set(takes) != set(PROFESSIONS):
            site["accepts"] = list(takes)
        site["capacity"] = places
        if rooms is not None:
            site["rooms"] = rooms + math.ceil(places / 3)
        supervisors = []
        for prof in takes:
            if prof in SUPERVISION and any(p in takes for p in SUPERVISION[prof] if p != prof):
                continue  # supervised by a colleague of another profession here
            need = max(1, math.ceil(places * (share[prof] + sum(
                share[q] for q, allowed in SUPERVISION.items()
                if q in takes and prof in allowed and q != prof)) * 1.2))
            team = max(1, math.ceil(need / 3))
            for k in range(team):
                supervisors.append({"id": f"{sid}-{prof[:2]}{k + 1}", "profession": prof,
                                    "capacity": math.ceil(need / team)})
        site["supervisors"] = supervisors
        out.append(site)
    return out


def _learners(professions: list[str], sites: list[dict[str, Any]],
              rng: random.Random) -> list[dict[str, Any]]:
    """Learners: most full-year, some joining in block 4, some with study leave."""
    out = []
    used: set[str] = set()
    for k, prof in enumerate(professions, 1):
        while True:
            person = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            if person not in used:
                used.add(person)
                break
        learner: dict[str, Any] = {"id": f"P{k:03d}", "name": person, "profession": prof}
        roll = rng.random()
        if roll < 0.12:
            learner["blocks"] = list(range(4, BLOCKS + 1))  # joins after the first quarter
        elif roll < 0.22:
            learner["placements"] = 3  # a quarter of study leave
        if rng.random() < 0.1:
            learner["completed"] = ["stroke"]  # came from an acute stroke post
        mine = [s for s in sites if prof in s.get("accepts", PROFESSIONS)]
        wanted = rng.sample([s["id"] for s in mine], k=min(3, len(mine)))
        if rng.random() < 0.4:
            wanted[rng.randrange(len(wanted))] = rng.choice([*ELECTIVES, "primary-care"])
        learner["preferences"] = list(dict.fromkeys(wanted))
        out.append(learner)
    return out


__all__ = ["generate_pathway"]
