"""Tamper tests for the plan checkers (contract §5-§8).

The contract example is solved once per module (built inline below, so these
tests run without ``../shared``). The verified plan must pass; then, for each
rule, one targeted corruption of the plan files (sometimes together with a
change to the scenario that only *relaxes* it, or a change that tightens the
scenario in one place) must make :func:`rotaplan.checker.check_plan_dir`
report exactly that rule, and the independent shared checker, when present,
must fail the same plan with the same rule.

Corruptions are found by a small deterministic search over plan edits (move
a placement, rename a supervisor, swap two blocks, ...). Each candidate must
first break the target rule by an independent, rule-specific predicate
written here from the contract (so it is genuinely a violation); the first
candidate on which the project checker reports nothing but the target rule
is kept. This keeps the tests independent of which optimal plan the solver
happens to return.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import importlib.util
import io
import json
import random
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from rotaplan.checker import ASSIGNMENT_HEADER, TIMETABLE_HEADER, check_plan_dir, check_rows
from rotaplan.models import Scenario, parse_scenario_text
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.contract_index import ContractIndex
from tests.helpers import SHARED_CHECKER, SHARED_EXAMPLE, needs_shared, scenario_from

# The contract example (shared/spec/example.yaml), key for key.
EXAMPLE: dict[str, Any] = {
    "programme": {"name": "Example ICS rotational programme", "start": dt.date(2027, 9, 6),
                  "blocks": 4, "block_weeks": 13, "teaching_sessions": ["Wed-PM"]},
    "settings": [
        {"id": "stroke", "name": "Stroke services"},
        {"id": "community-rehab", "name": "Community rehabilitation"},
        {"id": "primary-care", "name": "Primary care"},
        {"id": "social-care", "name": "Social care"},
    ],
    "professions": ["nurse", "physiotherapist", "paramedic", "gp"],
    "supervision": {"paramedic": ["paramedic", "nurse"]},
    "tracks": {
        "rotation": {"cover": ["stroke", "community-rehab", "primary-care", "social-care"]},
        "fellowship": {"base_setting": "primary-care",
                       "partner_settings": ["stroke", "community-rehab", "social-care"],
                       "partner_sessions": 2, "distinct_partner_settings": 2},
    },
    "sites": [
        {"id": "city-stroke", "name": "City hospital stroke unit", "setting": "stroke",
         "capacity": 2, "supervisors": [
             {"id": "cs-nurse", "profession": "nurse", "capacity": 2},
             {"id": "cs-physio", "profession": "physiotherapist", "capacity": 1},
             {"id": "cs-gp", "profession": "gp", "capacity": 1,
              "sessions": ["Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM"]}]},
        {"id": "coast-stroke", "name": "Coast hospital stroke unit", "setting": "stroke",
         "supervisors": [
             {"id": "cst-nurse", "profession": "nurse", "capacity": 1,
              "unavailable_blocks": [2]},
             {"id": "cst-para", "profession": "paramedic", "capacity": 1}]},
        {"id": "rehab-north", "name": "North community rehab team",
         "setting": "community-rehab", "capacity": 2,
         "open_sessions": ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM", "Thu-AM",
                           "Thu-PM", "Fri-AM", "Fri-PM"],
         "supervisors": [
             {"id": "rn-physio", "profession": "physiotherapist", "capacity": 2},
             {"id": "rn-nurse", "profession": "nurse", "capacity": 1},
             {"id": "rn-gp", "profession": "gp", "capacity": 1,
              "sessions": ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM"]}]},
        {"id": "rehab-south", "name": "South community rehab team",
         "setting": "community-rehab",
         "supervisors": [{"id": "rs-nurse", "profession": "nurse", "capacity": 2}]},
        {"id": "bridge-st", "name": "Bridge Street surgery", "setting": "primary-care",
         "capacity": 2, "rooms": {"default": 1, "Tue-AM": 2, "Tue-PM": 2},
         "supervisors": [
             {"id": "bs-gp", "profession": "gp", "capacity": 2},
             {"id": "bs-nurse", "profession": "nurse", "capacity": 1}]},
        {"id": "market-pcn", "name": "Market town PCN hub", "setting": "primary-care",
         "rooms": 2, "supervisors": [
             {"id": "mp-gp", "profession": "gp", "capacity": 1},
             {"id": "mp-para", "profession": "paramedic", "capacity": 1},
             {"id": "mp-nurse", "profession": "nurse", "capacity": 1},
             {"id": "mp-physio", "profession": "physiotherapist", "capacity": 1}]},
        {"id": "oak-care-home", "name": "Oak Lodge care home", "setting": "social-care",
         "accepts": ["nurse", "paramedic", "physiotherapist", "gp"], "capacity": 2,
         "min_learners": 1, "supervisors": [
             {"id": "oak-nurse", "profession": "nurse", "capacity": 2},
             {"id": "oak-gp", "profession": "gp", "capacity": 1,
              "sessions": ["Wed-AM", "Thu-AM", "Thu-PM"]}]},
        {"id": "homecare-east", "name": "East reablement service", "setting": "social-care",
         "accepts": ["nurse", "physiotherapist", "paramedic"], "supervisors": [
             {"id": "he-physio", "profession": "physiotherapist", "capacity": 1},
             {"id": "he-nurse", "profession": "nurse", "capacity": 1}]},
    ],
    "learners": [
        {"id": "L1", "name": "Alex Green", "profession": "nurse",
         "preferences": ["city-stroke", "bridge-st", "rehab-north"]},
        {"id": "L2", "name": "Bea Khan", "profession": "physiotherapist",
         "preferences": ["rehab-north", "stroke", "social-care"]},
        {"id": "L3", "name": "Cal Osei", "profession": "paramedic",
         "preferences": ["coast-stroke", "market-pcn"], "avoid": ["homecare-east"]},
        {"id": "L4", "name": "Dee Patel", "profession": "nurse", "sessions_per_week": 6,
         "available_sessions": ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM", "Wed-PM",
                                "Thu-AM"],
         "preferences": ["primary-care", "social-care"]},
        {"id": "F1", "name": "Eli Novak", "profession": "gp", "track": "fellowship",
         "preferences": ["bridge-st", "stroke"]},
        {"id": "F2", "name": "Fay Morgan", "profession": "gp", "track": "fellowship",
         "pinned": {1: "market-pcn"}, "preferences": ["community-rehab", "social-care"]},
    ],
}
EXAMPLE_OPTIMUM = 38.0  # proven optimal by rotaplan; kept as a regression value

SHARED_RULE_NAMES = {"placed": "placement"}  # the shared checker's name -> the contract's


# ----- an independent reading of the scenario --------------------------------------------


Ix = ContractIndex


# ----- plan files as rows ---------------------------------------------------------------

Row = dict[str, str]


@dataclass
class Plan:
    """The three plan files: assignment rows, timetable rows, summary.

    A deliberate copy (a test oracle): it reads and writes the files itself, so
    the checker is tested on files that rotaplan.io.plan_dir did not touch.
    """

    a: list[Row]
    t: list[Row]
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> Plan:
        with (directory / "assignments.csv").open(newline="") as f:
            a = list(csv.DictReader(f))
        with (directory / "timetable.csv").open(newline="") as f:
            t = list(csv.DictReader(f))
        return cls(a, t, json.loads((directory / "summary.json").read_text()))

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for name, header, rows in (("assignments.csv", ASSIGNMENT_HEADER, self.a),
                                   ("timetable.csv", TIMETABLE_HEADER, self.t)):
            with (directory / name).open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
        (directory / "summary.json").write_text(json.dumps(self.summary, indent=2))
        return directory

    def copy(self) -> Plan:
        return Plan(list(self.a), list(self.t), dict(self.summary))

    def place(self, lid: str, block: int, role: str) -> Row | None:
        for r in self.a:
            if (r["learner_id"], int(r["block"]), r["role"]) == (lid, block, role):
                return r
        return None

    def clinical(self) -> list[tuple[int, Row]]:
        return [(k, r) for k, r in enumerate(self.t) if r["activity"] == "clinical"]

    def resummarise(self, ix: Ix) -> Plan:
        """Make summary.json agree with the rows (preference cost recomputed here)."""
        cost = sum(ix.cost(r["learner_id"], r["site_id"]) for r in self.a)
        placed = {r["learner_id"] for r in self.a}
        unplaced = sum(1 for lid in ix.learners if lid not in placed)
        objective = float(cost + ix.obj.get("unplaced_penalty", 1000) * unplaced)
        terms = {"preference": float(cost)}  # §9.4: the weighted totals, as rotaplan names them
        if ix.allow_unplaced:
            terms["unplaced"] = float(ix.penalty * unplaced)
        self.summary |= {"objective": objective, "best_bound": objective,
                         "preference_cost": cost, "unplaced": unplaced, "terms": terms}
        return self


def with_row(rows: list[Row], index: int, **changes: str) -> list[Row]:
    out = list(rows)
    out[index] = dict(rows[index]) | changes
    return out


# ----- independent, rule-specific predicates: is the rule genuinely broken? -------------


def _loads(ix: Ix, p: Plan) -> dict[str, Counter[Any]]:
    site: Counter[Any] = Counter((r["site_id"], int(r["block"])) for r in p.a)
    named: Counter[Any] = Counter((r["supervisor_id"], int(r["block"])) for r in p.a)
    present: Counter[Any] = Counter()
    rooms: Counter[Any] = Counter()
    for _, r in p.clinical():
        present[(r["supervisor_id"], int(r["block"]), r["session"])] += 1
        rooms[(r["site_id"], int(r["block"]), r["session"])] += 1
    return {"site": site, "named": named, "present": present, "rooms": rooms}


def broken(rule: str, ix: Ix, p: Plan) -> bool:
    """Whether the plan breaks ``rule`` as the contract defines it."""
    loads = _loads(ix, p)
    by_block: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in p.t:
        by_block[(r["learner_id"], int(r["block"]))].append(r)
    rows_of: dict[str, list[Row]] = defaultdict(list)
    for r in p.a:
        rows_of[r["learner_id"]].append(r)
    if rule == "eligibility":
        for r in p.a:
            lid, sid, role, block = r["learner_id"], r["site_id"], r["role"], int(r["block"])
            pins = {int(k): v for k, v in (ix.learners[lid].get("pinned") or {}).items()}
            if not ix.accepts(sid, ix.prof(lid)) or sid in ix.learners[lid].get("avoid", []):
                return True
            if role == "rotation" and pins.get(block, sid) != sid:
                return True
            if role == "base" and (ix.setting(sid) != ix.fel["base_setting"]
                                   or (pins and sid not in pins.values())):
                return True
            if role == "partner" and ix.setting(sid) not in ix.fel["partner_settings"]:
                return True
        return False
    if rule == "supervisor-match":
        return any(not ix.may_name(r["supervisor_id"], r["site_id"], r["learner_id"],
                                   int(r["block"])) for r in p.a)
    if rule == "site-capacity":
        return any(ix.cap(s, b) is not None and n > (ix.cap(s, b) or 0)
                   for (s, b), n in loads["site"].items())
    if rule == "supervisor-capacity":
        return any(n > ix.sup_cap(u) for (u, _), n in loads["named"].items())
    if rule == "working-pattern":
        for (lid, _), rows in by_block.items():
            worked = [r["session"] for r in rows]
            teaching = {r["session"] for r in rows if r["activity"] == "teaching"}
            if (len(set(worked)) != len(worked) or not set(worked) <= ix.avail(lid)
                    or len(worked) != ix.per_week(lid)
                    or not ix.teaching & ix.avail(lid) <= teaching
                    or any(r["session"] in ix.teaching for r in rows
                           if r["activity"] == "clinical")):
                return True
        return False
    if rule == "site-open":
        return any(r["session"] not in ix.open(r["site_id"]) for _, r in p.clinical())
    if rule == "supervisor-present":
        return any(not ix.may_oversee(r["supervisor_id"], r["site_id"], r["learner_id"],
                                      int(r["block"]), r["session"])
                   for _, r in p.clinical()) or any(
            n > ix.sup_cap(u) for (u, _, _), n in loads["present"].items())
    if rule == "rooms":
        return any(ix.rooms(s, d) is not None and n > (ix.rooms(s, d) or 0)
                   for (s, _, d), n in loads["rooms"].items())
    if rule == "site-minimum":
        return any(loads["site"][(s, b)] < ix.minimum(s, b) for s in ix.sites for b in ix.blocks)
    if rule in ("cover", "no-repeat-site"):
        for lid, rows in rows_of.items():
            if ix.fellow(lid):
                continue
            sites = [r["site_id"] for r in rows]
            if rule == "cover" and not set(ix.rot.get("cover", [])) <= {ix.setting(s)
                                                                          for s in sites}:
                return True
            if rule == "no-repeat-site" and ix.rot.get("no_repeat_site", True) \
                    and len(set(sites)) < len(sites):
                return True
        return False
    if rule == "fellowship":
        for lid, rows in rows_of.items():
            if not ix.fellow(lid):
                continue
            bases = {r["site_id"] for r in rows if r["role"] == "base"}
            partners = {int(r["block"]): r["site_id"] for r in rows if r["role"] == "partner"}
            base_of = {int(r["block"]): r["site_id"] for r in rows if r["role"] == "base"}
            if len(bases) > 1 or any(base_of.get(b) == s for b, s in partners.items()):
                return True
            if len({ix.setting(s) for s in partners.values()}) \
                    < ix.fel.get("distinct_partner_settings", 0):
                return True
            for b, s in partners.items():
                at = sum(1 for r in by_block[(lid, b)]
                         if r["activity"] == "clinical" and r["site_id"] == s)
                if at != ix.fel["partner_sessions"]:
                    return True
        return False
    if rule in SPECIFIC:
        return SPECIFIC[rule](ix, p)
    if rule == "placement":
        placed = set(rows_of)
        return not ix.obj.get("allow_unplaced", False) and any(
            lid not in placed for lid in ix.learners)
    raise AssertionError(f"no predicate for {rule}")


def _named_kind(ix: Ix, r: Row) -> str:
    """Why a named supervisor breaks rule 3 ('' when they do not)."""
    sup, home = ix.sups[r["supervisor_id"]]
    if home != r["site_id"]:
        return "other-site"
    if not ix.allowed(sup["profession"], ix.prof(r["learner_id"])):
        return "profession"
    if int(r["block"]) in sup.get("unavailable_blocks", []):
        return "unavailable"
    return ""


def _present_kind(ix: Ix, r: Row) -> str:
    """Why a present supervisor breaks rule 7 for one session ('' when they do not)."""
    kind = _named_kind(ix, r)
    if not kind and r["session"] not in ix.works(r["supervisor_id"]):
        kind = "not-working"
    return kind


def _overloaded(ix: Ix, p: Plan) -> bool:
    """Every present supervisor may oversee their learner, but one oversees too many."""
    if not any(n > ix.sup_cap(u) for (u, _, _), n in _loads(ix, p)["present"].items()):
        return False
    return not any(_present_kind(ix, r) for _, r in p.clinical())


def _pin_broken(ix: Ix, p: Plan) -> bool:
    for r in p.a:
        pins = {int(k): v for k, v in (ix.learners[r["learner_id"]].get("pinned") or {}).items()}
        if r["role"] == "rotation" and pins.get(int(r["block"]), r["site_id"]) != r["site_id"]:
            return True
        if r["role"] == "base" and pins and r["site_id"] not in pins.values():
            return True
    return False


# Narrower predicates, for cases that must break a rule in one particular way.
SPECIFIC: dict[str, Callable[[Ix, Plan], bool]] = {
    "eligibility/pinned": _pin_broken,
    **{f"supervisor-match/{kind}": (lambda ix, p, kind=kind: any(
        _named_kind(ix, r) == kind for r in p.a))
       for kind in ("other-site", "profession", "unavailable")},
    **{f"supervisor-present/{kind}": (lambda ix, p, kind=kind: any(
        _present_kind(ix, r) == kind for _, r in p.clinical()))
       for kind in ("other-site", "profession", "unavailable", "not-working")},
    "supervisor-present/overloaded": _overloaded,
    "fellowship/partner-is-base": lambda ix, p: any(
        r["role"] == "partner" and (base := p.place(r["learner_id"], int(r["block"]), "base"))
        is not None and base["site_id"] == r["site_id"] for r in p.a),
}


# ----- plan edits: candidate corruptions, in a fixed order ------------------------------

Edits = Callable[[Plan, Ix], Iterator[Plan]]


def moves(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Move one placement to another site: new named supervisor, new present one."""
    for i, row in enumerate(p.a):
        lid, block, old = row["learner_id"], row["block"], row["site_id"]
        for target in ix.sites:
            if target == old:
                continue
            for named in ix.sups_at(target):
                for present in [named] + [u for u in ix.sups_at(target) if u != named]:
                    q = p.copy()
                    q.a = with_row(p.a, i, site_id=target, supervisor_id=named)
                    for k, r in p.clinical():
                        if (r["learner_id"], r["block"], r["site_id"]) == (lid, block, old):
                            q.t = with_row(q.t, k, site_id=target, supervisor_id=present)
                    yield q


def rename_named(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Name another supervisor for one placement (timetable unchanged)."""
    for i, row in enumerate(p.a):
        for uid in ix.sups:
            if uid != row["supervisor_id"]:
                q = p.copy()
                q.a = with_row(p.a, i, supervisor_id=uid)
                yield q


def rename_present(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Name another supervisor as present for one clinical session."""
    for k, row in p.clinical():
        for uid in ix.sups:
            if uid != row["supervisor_id"]:
                q = p.copy()
                q.t = with_row(p.t, k, supervisor_id=uid)
                yield q


def rename_present_here(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Name a colleague at the same site as present for one clinical session."""
    for k, row in p.clinical():
        for uid in ix.sups_at(row["site_id"]):
            if uid != row["supervisor_id"]:
                q = p.copy()
                q.t = with_row(p.t, k, supervisor_id=uid)
                yield q


def swap_blocks(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Swap a rotation learner's placements (and clinical rows) between two blocks."""
    for lid in ix.learners:
        rows = [(i, r) for i, r in enumerate(p.a) if r["learner_id"] == lid
                and r["role"] == "rotation"]
        for x, (i, ri) in enumerate(rows):
            for j, rj in rows[x + 1:]:
                q = p.copy()
                q.a = with_row(p.a, i, site_id=rj["site_id"], supervisor_id=rj["supervisor_id"])
                q.a = with_row(q.a, j, site_id=ri["site_id"], supervisor_id=ri["supervisor_id"])
                for k, r in p.clinical():
                    if r["learner_id"] == lid and r["block"] in (ri["block"], rj["block"]):
                        src = rj if r["block"] == ri["block"] else ri
                        q.t = with_row(q.t, k, site_id=src["site_id"],
                                       supervisor_id=src["supervisor_id"])
                yield q


def swap_bases(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Two fellows exchange base sites (and base supervisors) in every block."""
    fellows = [lid for lid in ix.learners if ix.fellow(lid) and p.place(lid, 1, "base")]
    for x, f in enumerate(fellows):
        for g in fellows[x + 1:]:
            q = p.copy()
            for block in ix.blocks:
                bf, bg = p.place(f, block, "base"), p.place(g, block, "base")
                assert bf is not None and bg is not None
                for i, r in enumerate(p.a):
                    if r is bf or r is bg:
                        src = bg if r is bf else bf
                        q.a = with_row(q.a, i, site_id=src["site_id"],
                                       supervisor_id=src["supervisor_id"])
                for k, r in p.clinical():
                    if int(r["block"]) != block:
                        continue
                    if (r["learner_id"], r["site_id"]) == (f, bf["site_id"]):
                        q.t = with_row(q.t, k, site_id=bg["site_id"],
                                       supervisor_id=bg["supervisor_id"])
                    if (r["learner_id"], r["site_id"]) == (g, bg["site_id"]):
                        q.t = with_row(q.t, k, site_id=bf["site_id"],
                                       supervisor_id=bf["supervisor_id"])
            yield q


def fellow_session_swaps(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Exchange a fellow's partner session with one of their base sessions."""
    for k, r in p.clinical():
        partner = p.place(r["learner_id"], int(r["block"]), "partner")
        if partner is None or r["site_id"] != partner["site_id"]:
            continue
        for m, s in p.clinical():
            if (s["learner_id"], s["block"]) == (r["learner_id"], r["block"]) \
                    and s["site_id"] != partner["site_id"]:
                q = p.copy()
                q.t = with_row(p.t, k, site_id=s["site_id"], supervisor_id=s["supervisor_id"])
                q.t = with_row(q.t, m, site_id=r["site_id"], supervisor_id=r["supervisor_id"])
                yield q


def partner_session_to_base(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Spend one of a fellow's partner sessions at the base site instead."""
    for k, r in p.clinical():
        partner = p.place(r["learner_id"], int(r["block"]), "partner")
        base = p.place(r["learner_id"], int(r["block"]), "base")
        if partner is not None and base is not None and r["site_id"] == partner["site_id"]:
            q = p.copy()
            q.t = with_row(p.t, k, site_id=base["site_id"], supervisor_id=base["supervisor_id"])
            yield q


def drop_teaching(p: Plan, ix: Ix) -> Iterator[Plan]:
    for k, r in enumerate(p.t):
        if r["activity"] == "teaching":
            q = p.copy()
            q.t = p.t[:k] + p.t[k + 1:]
            yield q


def extra_session(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Add a clinical session the learner is available for but does not work."""
    for r in p.a:
        if r["role"] == "partner":
            continue
        lid, block = r["learner_id"], r["block"]
        worked = {x["session"] for x in p.t if (x["learner_id"], x["block"]) == (lid, block)}
        for d in ix.sessions:
            if d in ix.avail(lid) and d not in worked and d not in ix.teaching:
                for uid in ix.sups_at(r["site_id"]):
                    q = p.copy()
                    q.t = [*p.t, {"learner_id": lid, "block": block, "session": d,
                                  "activity": "clinical", "site_id": r["site_id"],
                                  "supervisor_id": uid}]
                    yield q


def move_session(p: Plan, ix: Ix) -> Iterator[Plan]:
    """Move one clinical session to another session the learner does not work."""
    for k, r in p.clinical():
        worked = {x["session"] for x in p.t
                  if (x["learner_id"], x["block"]) == (r["learner_id"], r["block"])}
        for d in ix.sessions:
            if d not in worked:
                q = p.copy()
                q.t = with_row(p.t, k, session=d)
                yield q


def delete_learner(p: Plan, ix: Ix) -> Iterator[Plan]:
    for lid in ix.learners:
        q = p.copy()
        q.a = [r for r in p.a if r["learner_id"] != lid]
        q.t = [r for r in p.t if r["learner_id"] != lid]
        yield q


def unchanged(p: Plan, ix: Ix) -> Iterator[Plan]:
    yield p.copy()


# ----- scenario variants -----------------------------------------------------------------
# A *relaxing* variant only widens what is allowed, so the verified plan stays valid
# (asserted); it is used where the example leaves no room for a one-rule corruption.
# A *tightening* variant is itself the corruption: the unchanged plan is checked against
# a scenario changed in one place.

Variant = Callable[[dict[str, Any], Plan, Ix], Iterator[dict[str, Any]]]


def relax(change: Callable[[dict[str, Any]], None]) -> Variant:
    def variants(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
        new = copy.deepcopy(data)
        change(new)
        yield new
    return variants


def _supervise_all(d: dict[str, Any]) -> None:
    d["supervision"] = {p: list(d["professions"]) for p in d["professions"]}


def _no_cover(d: dict[str, Any]) -> None:
    d["tracks"]["rotation"]["cover"] = []


def _base_is_partner_setting(d: dict[str, Any]) -> None:
    fel = d["tracks"]["fellowship"]
    fel["partner_settings"] = [*fel["partner_settings"], fel["base_setting"]]


def as_is(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    yield data


def raise_minimum(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """A site needs one learner more in a block than the plan puts there (within capacity)."""
    load: dict[tuple[str, int], int] = {}
    for r in p.a:
        key = (r["site_id"], int(r["block"]))
        load[key] = load.get(key, 0) + 1
    for sid in ix.sites:
        for block in ix.blocks:
            need = load.get((sid, block), 0) + 1
            cap = ix.cap(sid, block)
            if cap is not None and need > cap:
                continue
            new = copy.deepcopy(data)
            site = next(s for s in new["sites"] if s["id"] == sid)
            site["min_learners"] = {block: need}
            yield new


def not_accepting(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """A site used by a learner stops accepting their profession (no pin involved)."""
    for r in p.a:
        lid, sid = r["learner_id"], r["site_id"]
        if sid in (ix.learners[lid].get("pinned") or {}).values():
            continue
        new = copy.deepcopy(data)
        site = next(s for s in new["sites"] if s["id"] == sid)
        site["accepts"] = [x for x in new["professions"] if x != ix.prof(lid)]
        yield new


def avoiding(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """A learner adds a site they are placed at to their avoid list."""
    for r in p.a:
        lid, sid = r["learner_id"], r["site_id"]
        if sid in (ix.learners[lid].get("pinned") or {}).values():
            continue
        new = copy.deepcopy(data)
        learner = next(x for x in new["learners"] if x["id"] == lid)
        learner["avoid"] = [*learner.get("avoid", []), sid]
        yield new


def closing(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """A site closes one session it holds a clinical session in; its supervisors keep
    their working pattern (explicitly), so only rule 6 changes."""
    seen = set()
    for _, r in p.clinical():
        key = (r["site_id"], r["session"])
        if key in seen:
            continue
        seen.add(key)
        new = copy.deepcopy(data)
        site = next(s for s in new["sites"] if s["id"] == r["site_id"])
        for sup in site["supervisors"]:
            sup["sessions"] = [d for d in ix.sessions if d in ix.works(sup["id"])]
        site["open_sessions"] = [d for d in ix.sessions
                                 if d in ix.open(r["site_id"]) and d != r["session"]]
        yield new


def stop_working(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """A supervisor present in some session stops working that session."""
    for _, r in p.clinical():
        new = copy.deepcopy(data)
        for site in new["sites"]:
            for sup in site["supervisors"]:
                if sup["id"] == r["supervisor_id"]:
                    sup["sessions"] = [d for d in ix.sessions
                                       if d in ix.works(sup["id"]) and d != r["session"]]
        yield new


def more_partner_settings(data: dict[str, Any], p: Plan, ix: Ix) -> Iterator[dict[str, Any]]:
    """distinct_partner_settings one above what the plan's fellows cover."""
    covered = min(len({ix.setting(r["site_id"]) for r in p.a
                       if r["learner_id"] == lid and r["role"] == "partner"})
                  for lid in ix.learners if ix.fellow(lid))
    new = copy.deepcopy(data)
    new["tracks"]["fellowship"]["distinct_partner_settings"] = covered + 1
    yield new


# ----- the search -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One corruption: the rule it must break, where to look for it.

    ``sources`` pairs a scenario variant with plan edits; ``relaxing`` says the
    variant keeps the verified plan valid; ``extra`` lists rules that may also
    be reported (only where the corruption implies them by the contract).
    """

    id: str
    rule: str
    sources: tuple[tuple[Variant, Edits], ...]
    extra: frozenset[str] = frozenset()
    how: str = ""  # a narrower predicate of SPECIFIC (rule/how), when set
    relaxing: bool = False


def _key(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=True)


@cache
def _scenario(key: str) -> Scenario:
    return scenario_from(yaml.safe_load(key))


def find_corruption(case: Case, base: Plan) -> tuple[dict[str, Any], Plan]:
    """The first candidate that genuinely breaks the rule and nothing else (project view)."""
    tried = 0
    for variant, edits in case.sources:
        for data in variant(EXAMPLE, base, Ix(EXAMPLE)):
            ix, sc = Ix(data), _scenario(_key(data))
            for q in edits(base, ix):
                if not broken(f"{case.rule}/{case.how}" if case.how else case.rule, ix, q):
                    continue
                tried += 1
                rules = {v.rule for v in check_rows(sc, q.a, q.t).violations}
                if rules <= {case.rule} | case.extra:
                    return data, q.resummarise(ix)
    pytest.fail(f"no corruption breaking only {case.rule} found among {tried} candidates "
                "that break it; the example plan has changed shape")


CASES = [
    Case("eligibility-pinned-base", "eligibility", ((as_is, swap_bases), (as_is, moves)),
         how="pinned"),
    Case("eligibility-accepts", "eligibility", ((not_accepting, unchanged),)),
    Case("eligibility-avoid", "eligibility", ((avoiding, unchanged),)),
    *(Case(f"supervisor-match-{how}", "supervisor-match",
           ((as_is, rename_named), (as_is, moves)), how=how)
      for how in ("other-site", "profession", "unavailable")),
    Case("site-capacity", "site-capacity", ((as_is, swap_blocks), (as_is, moves))),
    # In the example no two learners at one site and block share a supervisor profession,
    # so the scenario first lets any profession supervise any other (a relaxation).
    Case("supervisor-capacity", "supervisor-capacity", ((relax(_supervise_all), rename_named),),
         relaxing=True),
    Case("working-pattern-drop-teaching", "working-pattern", ((as_is, drop_teaching),)),
    Case("working-pattern-extra-session", "working-pattern", ((as_is, extra_session),)),
    Case("working-pattern-outside-available", "working-pattern", ((as_is, move_session),)),
    # The example's only closed session (rehab-north, Wed-PM) is the teaching session, so a
    # site closes a session in the scenario instead; supervisors keep their pattern.
    Case("site-open", "site-open", ((as_is, move_session), (closing, unchanged))),
    *(Case(f"supervisor-present-{how}", "supervisor-present", ((as_is, rename_present),),
           how=how) for how in ("other-site", "profession")),
    Case("supervisor-present-not-working", "supervisor-present",
         ((as_is, fellow_session_swaps), (stop_working, unchanged)), how="not-working"),
    Case("supervisor-present-overloaded", "supervisor-present",
         ((as_is, rename_present_here), (relax(_supervise_all), rename_present_here)),
         how="overloaded",
         relaxing=True),
    Case("rooms", "rooms", ((as_is, moves), (as_is, swap_blocks))),
    Case("cover", "cover", ((as_is, moves),)),
    # Four cover settings in four blocks: a repeated site always loses a setting, so the
    # scenario first drops the cover requirement (a relaxation).
    Case("no-repeat-site", "no-repeat-site", ((relax(_no_cover), moves),), relaxing=True),
    Case("fellowship-partner-count", "fellowship", ((as_is, partner_session_to_base),)),
    # A partner at the base site is also in the base setting, which is not a partner
    # setting in the example; the scenario first makes it one (a relaxation).
    Case("fellowship-partner-is-base", "fellowship",
         ((relax(_base_is_partner_setting), moves),), how="partner-is-base", relaxing=True),
    Case("fellowship-distinct-settings", "fellowship", ((more_partner_settings, unchanged),)),
    Case("site-minimum", "site-minimum",
         ((as_is, moves), (as_is, delete_learner), (raise_minimum, unchanged))),
    # Leaving a learner out also changes the objective by unplaced_penalty, which the
    # checkers may count differently when allow_unplaced is false.
    Case("placement", "placement", ((as_is, delete_learner),), frozenset({"summary"})),
]


# ----- fixtures and the shared checker ------------------------------------------------------


@dataclass(frozen=True)
class Solved:
    scenario: Scenario
    plan_dir: Path
    plan: Plan
    objective: float


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Solved:
    sc = scenario_from(EXAMPLE)
    out = tmp_path_factory.mktemp("example-plan")
    outcome = solve_and_write(sc, out, SolveOptions(time_limit=30.0, workers=1, seed=0))
    assert outcome.exit_code == 0, outcome.result.status
    assert outcome.result.objective is not None
    return Solved(sc, out, Plan.read(out), outcome.result.objective)


def write_scenario(data: dict[str, Any], directory: Path) -> Path:
    path = directory / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def shared_verdict(scenario: Path, plan_dir: Path) -> tuple[int, set[str], str]:
    """Exit code, rule names (contract spelling) and output of the shared checker."""
    proc = subprocess.run([sys.executable, str(SHARED_CHECKER), str(scenario), str(plan_dir)],
                          capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    rules = {SHARED_RULE_NAMES.get(m.group(1), m.group(1)) for line in lines[:-1]
             if (m := re.match(r"^([a-z-]+): ", line))}
    return proc.returncode, rules, proc.stdout + proc.stderr


def rules_of(sc: Scenario, plan_dir: Path) -> set[str]:
    return {v.rule for v in check_plan_dir(sc, plan_dir).violations}


# ----- tests --------------------------------------------------------------------------------


def test_inline_example_solves_to_a_verified_optimal_plan(example: Solved, tmp_path: Path) -> None:
    """The contract example's optimal plan (objective 38) passes the checker, figures agreeing.

    Every learner has every block in their track's roles, the copy the tamper tests start from
    passes too, and so does the plan under the shared checker when present.
    """
    report = check_plan_dir(example.scenario, example.plan_dir)
    assert report.ok, report.render()
    assert example.plan.summary["status"] == "OPTIMAL"
    assert example.objective == EXAMPLE_OPTIMUM
    assert report.objective == example.plan.summary["objective"] == EXAMPLE_OPTIMUM
    assert report.preference_cost == example.plan.summary["preference_cost"]
    assert report.unplaced == example.plan.summary["unplaced"] == 0
    # Every learner in every block, in the roles of their track.
    roles = Counter((r["learner_id"], r["role"]) for r in example.plan.a)
    for learner in EXAMPLE["learners"]:
        want = ("base", "partner") if learner.get("track") == "fellowship" else ("rotation",)
        assert all(roles[(learner["id"], role)] == 4 for role in want)
    # The copy the tamper tests start from is valid too (rows round-trip unchanged).
    copied = example.plan.copy().write(tmp_path / "copy")
    assert check_plan_dir(example.scenario, copied).ok
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(write_scenario(EXAMPLE, tmp_path), example.plan_dir)
        assert code == 0 and not rules, output
        assert f"objective={EXAMPLE_OPTIMUM:g} " in output


@needs_shared
def test_inline_example_is_the_contract_example(tmp_path: Path) -> None:
    """The example built inline here is the same scenario as shared/spec/example.yaml."""
    from_file = parse_scenario_text(SHARED_EXAMPLE.read_text(), str(SHARED_EXAMPLE)).scenario
    assert from_file == scenario_from(EXAMPLE)


@needs_shared
def test_contract_example_file_passes_both_checkers(tmp_path: Path) -> None:
    """The contract example file solves to objective 38 and the plan passes both checkers."""
    sc = parse_scenario_text(SHARED_EXAMPLE.read_text(), str(SHARED_EXAMPLE)).scenario
    outcome = solve_and_write(sc, tmp_path, SolveOptions(time_limit=30.0, workers=2, seed=0))
    assert outcome.exit_code == 0 and outcome.result.status == "OPTIMAL"
    assert check_plan_dir(sc, tmp_path).ok
    code, rules, output = shared_verdict(SHARED_EXAMPLE, tmp_path)
    assert code == 0 and not rules, output
    assert outcome.result.objective == EXAMPLE_OPTIMUM


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_one_corruption_breaks_exactly_its_rule(case: Case, example: Solved,
                                                tmp_path: Path) -> None:
    """A plan corrupted against one rule is reported for that rule alone, by both checkers.

    Rules the corruption implies by the contract may be reported beside it; a relaxed scenario
    variant still accepts the uncorrupted plan.
    """
    data, bad = find_corruption(case, example.plan)
    if data is not EXAMPLE and case.relaxing:
        # A relaxing variant must keep the verified plan valid.
        assert check_plan_dir(_scenario(_key(data)), example.plan_dir).ok
    sc = _scenario(_key(data))
    plan_dir = bad.write(tmp_path / "plan")
    rules = rules_of(sc, plan_dir)
    assert case.rule in rules
    assert rules <= {case.rule} | case.extra, rules
    if SHARED_CHECKER.exists():
        code, shared_rules, output = shared_verdict(write_scenario(data, tmp_path), plan_dir)
        assert code != 0, output
        assert case.rule in shared_rules, output
        assert shared_rules <= {case.rule} | case.extra, output


def test_leaving_a_learner_out_is_valid_with_allow_unplaced(example: Solved,
                                                            tmp_path: Path) -> None:
    """With allow_unplaced a plan without one learner is valid and counts their penalty, 250."""
    data = copy.deepcopy(EXAMPLE) | {"objective": {"allow_unplaced": True,
                                                   "unplaced_penalty": 250}}
    ix, sc = Ix(data), scenario_from(data)
    kept = None
    for q in delete_learner(example.plan, ix):
        if not check_rows(sc, q.a, q.t).violations:
            kept = q.resummarise(ix)
            break
    assert kept is not None, "every learner is needed for some site minimum"
    plan_dir = kept.write(tmp_path / "plan")
    report = check_plan_dir(sc, plan_dir)
    assert report.ok, report.render()
    assert report.unplaced == 1
    assert report.objective == report.preference_cost + 250
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(write_scenario(data, tmp_path), plan_dir)
        assert code == 0, output


def test_left_out_learner_with_a_timetable_breaks_placement(example: Solved,
                                                            tmp_path: Path) -> None:
    """A learner with timetable rows but no placement breaks placement, for both checkers."""
    data = copy.deepcopy(EXAMPLE) | {"objective": {"allow_unplaced": True}}
    ix, sc = Ix(data), scenario_from(data)
    p = example.plan.copy()
    p.a = [r for r in p.a if r["learner_id"] != "L2"]  # no placement, timetable kept
    plan_dir = p.resummarise(ix).write(tmp_path / "plan")
    rules = rules_of(sc, plan_dir)
    assert "placement" in rules
    if SHARED_CHECKER.exists():
        code, shared_rules, output = shared_verdict(write_scenario(data, tmp_path), plan_dir)
        assert code != 0 and "placement" in shared_rules, output


@pytest.mark.parametrize("field_name,delta", [("objective", 1.0), ("preference_cost", -1),
                                              ("unplaced", 1)])
def test_wrong_summary_number_breaks_summary(field_name: str, delta: float, example: Solved,
                                             tmp_path: Path) -> None:
    """A summary objective, preference cost or unplaced count that is off breaks summary only."""
    p = example.plan.copy()
    p.summary[field_name] = p.summary[field_name] + delta
    plan_dir = p.write(tmp_path / "plan")
    assert rules_of(example.scenario, plan_dir) == {"summary"}
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(write_scenario(EXAMPLE, tmp_path), plan_dir)
        assert code != 0 and rules == {"summary"}, output


def test_best_bound_above_objective_breaks_summary(example: Solved, tmp_path: Path) -> None:
    """A summary best_bound above the objective breaks summary only."""
    p = example.plan.copy()
    p.summary["best_bound"] = p.summary["objective"] + 5
    assert rules_of(example.scenario, p.write(tmp_path / "plan")) == {"summary"}


def _rewrite_header(path: Path, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace(old, new)
    path.write_text("".join(lines))


@pytest.mark.parametrize("name,mutate", [
    ("assignments-header", lambda d: _rewrite_header(d / "assignments.csv", "site_id", "site")),
    ("timetable-header", lambda d: _rewrite_header(d / "timetable.csv", "activity", "kind")),
    ("assignments-column-order",
     lambda d: _rewrite_header(d / "assignments.csv", "role,site_id", "site_id,role")),
    ("missing-timetable", lambda d: (d / "timetable.csv").unlink()),
    ("summary-not-json", lambda d: (d / "summary.json").write_text("{not json")),
])
def test_malformed_plan_files_break_format(name: str, mutate: Callable[[Path], None],
                                           example: Solved, tmp_path: Path) -> None:
    """A wrong header or column order, a missing file or invalid JSON breaks format only."""
    plan_dir = tmp_path / "plan"
    shutil.copytree(example.plan_dir, plan_dir)
    mutate(plan_dir)
    assert rules_of(example.scenario, plan_dir) == {"format"}
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(write_scenario(EXAMPLE, tmp_path), plan_dir)
        assert code != 0, output  # a report or a crash: either way not a pass


@pytest.mark.parametrize("column,value", [("supervisor_id", "nobody"), ("site_id", "nowhere"),
                                          ("learner_id", "L99"), ("role", "observer")])
def test_unknown_ids_in_assignments_break_format(column: str, value: str, example: Solved,
                                                 tmp_path: Path) -> None:
    """An assignment naming an unknown supervisor, site, learner or role breaks format."""
    p = example.plan.copy()
    p.a = with_row(p.a, 0, **{column: value})
    plan_dir = p.write(tmp_path / "plan")
    assert "format" in rules_of(example.scenario, plan_dir)
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(write_scenario(EXAMPLE, tmp_path), plan_dir)
        assert code != 0, output


def test_unknown_activity_breaks_format(example: Solved, tmp_path: Path) -> None:
    """A timetable activity other than clinical or teaching breaks format."""
    p = example.plan.copy()
    k = next(k for k, r in enumerate(p.t) if r["activity"] == "clinical")
    p.t = with_row(p.t, k, activity="lunch")
    plan_dir = p.write(tmp_path / "plan")
    assert "format" in rules_of(example.scenario, plan_dir)
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(write_scenario(EXAMPLE, tmp_path), plan_dir)
        assert code != 0 and "format" in rules, output


@needs_shared
def test_checkers_agree_on_sampled_corruptions(example: Solved, tmp_path: Path) -> None:
    """Differential test: on a deterministic sample of single edits of the verified plan
    (valid or not, under the example and its relaxations), both checkers report the same
    set of rules."""
    spec = importlib.util.spec_from_file_location("shared_check_plan", SHARED_CHECKER)
    assert spec is not None and spec.loader is not None
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    rng = random.Random(0)
    generators: list[Edits] = [moves, rename_named, rename_present, swap_blocks, swap_bases,
                               fellow_session_swaps, partner_session_to_base, drop_teaching,
                               extra_session, move_session, delete_learner]
    compared = valid = 0
    for change in (None, _supervise_all, _no_cover, _base_is_partner_setting):
        data = EXAMPLE if change is None else next(relax(change)(EXAMPLE, example.plan,
                                                                  Ix(EXAMPLE)))
        ix, sc = Ix(data), _scenario(_key(data))
        shared_sc = shared.load_scenario(str(write_scenario(data, tmp_path)))
        for edits in generators:
            candidates = list(edits(example.plan, ix))
            for q in rng.sample(candidates, min(12, len(candidates))):
                plan_dir = q.resummarise(ix).write(tmp_path / "plan")
                ours = rules_of(sc, plan_dir)
                with contextlib.redirect_stdout(io.StringIO()):
                    errors, _, _ = shared.check(shared_sc, str(plan_dir))
                theirs = {SHARED_RULE_NAMES.get(e.split(":")[0], e.split(":")[0])
                          for e in errors}
                if edits is delete_learner:  # the penalty of a learner who may not be left
                    ours.discard("summary")  # out: counted by one checker, not the other
                assert ours == theirs, (edits.__name__, ours, errors)
                compared += 1
                valid += not ours
    assert compared > 300 and 0 < valid < compared
