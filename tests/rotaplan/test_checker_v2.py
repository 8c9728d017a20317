"""The plan checker on contract §9 (version 2): hand-built plans, one rule at a time.

A small version 2 scenario (four blocks, a two-block stroke placement, a
learner with ``placements`` and an idle block, a learner who joins late and
has completed stroke, a fellow; scores, setting values, organisations,
requirements, precedence, an organisation cap, weighted organisation changes
and idle blocks, ``fairness: weighted``) and a valid plan for it are written
here by hand, with their objective worked out by hand in the comments. Each
corruption then breaks exactly one rule, and wrong summary figures break
``summary``. When ``../shared`` is present its independent checker must give
the same verdict on every plan (see also ``test_checker_v2_agreement.py``).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rotaplan.checker import ASSIGNMENT_HEADER, TIMETABLE_HEADER, check_plan_dir, check_rows
from rotaplan.models import Scenario
from tests.helpers import SHARED_CHECKER, Data, learner, needs_shared, scenario, scenario_from
from tests.helpers import site as make_site
from tests.helpers import sup as make_sup

Row = dict[str, str]
SHARED_RULE_NAMES = {"placed": "placement"}  # the shared checker's name -> the contract's


# ----- the scenario -------------------------------------------------------------------------


def v2_data() -> Data:
    """The small version 2 scenario (a fresh copy).

    Organisations: ``acute`` (s-stroke, s-taster), ``comm`` (rehab-a, rehab-b,
    mh); gp and care have no ``organisation``, so each is its own. Stroke
    placements last two blocks, except at s-taster (one block).
    """
    data = scenario(
        sites=[
            make_site("s-stroke", "stroke", capacity=1, organisation="acute"),
            make_site("s-taster", "stroke", capacity=1, organisation="acute",
                      placement_blocks=1),
            make_site("rehab-a", "rehab", organisation="comm"),
            make_site("rehab-b", "rehab", organisation="comm"),
            make_site("mh", "mental", organisation="comm", sups=[make_sup("mh-sup", capacity=2)]),
            make_site("gp", "primary", sups=[make_sup("gp-sup", capacity=2)]),
            make_site("care", "social"),
        ],
        learners=[
            learner("L1", pinned={2: "s-stroke"}, scores={"s-stroke": 2, "primary": 3, "gp": 1},
                    preferences=["rehab-a", "stroke"]),
            learner("L2", placements=3, weights={"idle_blocks": 2},
                    scores={"mh": 2, "acute": 1}),
            learner("L3", blocks=[2, 3, 4], completed=["stroke"], requirements=[],
                    scores={"comm": 1}),
            learner("F1", track="fellowship", scores={"gp": 1, "mental": 1}),
        ],
        blocks=4,
        sessions=["Mon", "Tue", "Wed"],
        teaching=["Wed"],
        settings=("stroke", "rehab", "primary", "mental", "social"),
        rotation={"cover": ["stroke"], "no_repeat_setting": True,
                  "requirements": [{"settings": ["primary", "mental"], "min": 1, "max": 1}],
                  "precedence": [{"before": "stroke", "after": "rehab"}],
                  "max_per_organisation": 2},
        fellowship={"base_setting": "primary", "partner_settings": ["mental", "rehab"],
                    "partner_sessions": 1, "distinct_partner_settings": 2},
        objective={"preference": "score", "weights": {"organisation_changes": 3,
                                                      "idle_blocks": 1},
                   "fairness": "weighted", "worst_weight": 2},
    )
    extra = {"stroke": {"placement_blocks": 2}, "rehab": {"value": 2}, "mental": {"value": 1}}
    data["settings"] = [s | extra.get(s["id"], {}) for s in data["settings"]]
    return data


def learner_of(data: Data, lid: str) -> Data:
    return next(x for x in data["learners"] if x["id"] == lid)


def site_of(data: Data, sid: str) -> Data:
    return next(s for s in data["sites"] if s["id"] == sid)


# ----- plans as rows ------------------------------------------------------------------------


@dataclass
class V2Plan:
    """Assignment rows (with ``start_block`` unless ``start_column`` is off), timetable
    rows and a summary, written by this test itself (not by rotaplan.io)."""

    a: list[Row]
    t: list[Row]
    summary: dict[str, Any] = field(default_factory=dict)
    start_column: bool = True

    @classmethod
    def read(cls, directory: Path) -> V2Plan:
        """The three plan files of a directory (as text rows)."""
        with (directory / "assignments.csv").open(newline="") as f:
            reader = csv.DictReader(f)
            a = list(reader)
            start_column = "start_block" in (reader.fieldnames or [])
        with (directory / "timetable.csv").open(newline="") as f:
            t = list(csv.DictReader(f))
        return cls(a, t, json.loads((directory / "summary.json").read_text()), start_column)

    def copy(self) -> V2Plan:
        return V2Plan([dict(r) for r in self.a], [dict(r) for r in self.t],
                      dict(self.summary), self.start_column)

    def rows(self) -> list[Row]:
        """The assignment rows as written (without start_block when the column is off)."""
        if self.start_column:
            return [dict(r) for r in self.a]
        return [{k: v for k, v in r.items() if k != "start_block"} for r in self.a]

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        header = ASSIGNMENT_HEADER + (["start_block"] if self.start_column else [])
        for name, cols, rows in (("assignments.csv", header, self.a),
                                 ("timetable.csv", TIMETABLE_HEADER, self.t)):
            with (directory / name).open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=cols, lineterminator="\n",
                                        extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
        (directory / "summary.json").write_text(json.dumps(self.summary, indent=2))
        return directory

    def drop(self, lid: str, block: int, *, timetable: bool = True) -> V2Plan:
        """Without a learner's rows in a block (and their timetable, unless told)."""
        self.a = [r for r in self.a if (r["learner_id"], int(r["block"])) != (lid, block)]
        if timetable:
            self.t = [r for r in self.t if (r["learner_id"], int(r["block"])) != (lid, block)]
        return self

    def move(self, lid: str, block: int, sid: str, uid: str | None = None) -> V2Plan:
        """A learner's rotation row in a block moves to another site (named and present
        supervisor: the site's own, ``<sid>-sup``)."""
        uid = uid or f"{sid}-sup"
        for r in self.a:
            if (r["learner_id"], int(r["block"]), r["role"]) == (lid, block, "rotation"):
                r["site_id"], r["supervisor_id"] = sid, uid
        for r in self.t:
            if (r["learner_id"], int(r["block"])) == (lid, block) and r["activity"] == "clinical":
                r["site_id"], r["supervisor_id"] = sid, uid
        return self

    def placed(self, lid: str, block: int, sid: str, start: int | None = None) -> V2Plan:
        """Add a rotation row and its timetable (Mon and Tue clinical, Wed teaching)."""
        self.a.append(assignment(lid, block, "rotation", sid, start))
        self.t.extend(week(lid, block, sid, sid))
        return self


def assignment(lid: str, block: int, role: str, sid: str, start: int | None = None) -> Row:
    return {"learner_id": lid, "block": str(block), "role": role, "site_id": sid,
            "supervisor_id": f"{sid}-sup", "start_block": str(start or block)}


def week(lid: str, block: int, mon: str, tue: str) -> list[Row]:
    """One week: Mon at ``mon``, Tue at ``tue`` (clinical), Wed central teaching."""
    return [{"learner_id": lid, "block": str(block), "session": "Mon", "activity": "clinical",
             "site_id": mon, "supervisor_id": f"{mon}-sup"},
            {"learner_id": lid, "block": str(block), "session": "Tue", "activity": "clinical",
             "site_id": tue, "supervisor_id": f"{tue}-sup"},
            {"learner_id": lid, "block": str(block), "session": "Wed", "activity": "teaching",
             "site_id": "", "supervisor_id": ""}]


def rotation_plan(placements: dict[str, list[tuple[str, int, int]]]) -> V2Plan:
    """Rotation rows from ``learner -> [(site, start, length)]`` with weekly timetables."""
    p = V2Plan([], [])
    for lid, items in placements.items():
        for sid, start, length in items:
            for block in range(start, start + length):
                p.placed(lid, block, sid, start)
    return p


def fellow_rows(p: V2Plan, partners: dict[int, str], base: str = "gp",
                lid: str = "F1") -> V2Plan:
    """A fellow's base and partner rows, partner on Mon, base on Tue."""
    for block, partner in sorted(partners.items()):
        p.a.append(assignment(lid, block, "base", base))
        p.a.append(assignment(lid, block, "partner", partner))
        p.t.extend(week(lid, block, partner, base))
    return p


# The valid plan, worked out by hand.
#
# L1: s-stroke blocks 1-2 (one placement, pinned block 2), rehab-a 3, gp 4.
#     scores: s-stroke 2 -> -2; rehab-a: value 2 -> -2; gp: primary 3 + gp 1 (gp is a site
#     and its own organisation: counted once) -> -4. Preference -8. Organisations acute,
#     comm, gp: 2 changes x 3 = 6. No idle block. Cost -2.
# L2 (placements 3): mh 1, idle 2, s-taster 3, rehab-b 4.
#     mh: mh 2 + value 1 -> -3; s-taster: acute 1 -> -1; rehab-b: value 2 -> -2. Preference
#     -6. Organisations comm, acute, comm: 2 changes x 3 = 6. Idle block 2 x their own
#     weight 2 = 2. Cost 2.
# L3 (blocks 2-4, completed stroke, no requirements): rehab-a 2, s-stroke 3-4.
#     rehab-a: comm 1 + value 2 -> -3; s-stroke 0. Preference -3. comm, acute: 1 change x 3 =
#     3. Block 1 (not theirs) is before their last placement: 1 idle x 1 = 1. Cost 1.
# F1: base gp every block (gp 1 -> -1 each: -4); partners mh 1, rehab-b 2, mh 3, rehab-a 4
#     (mental 1 + value 1 -> -2; value 2 -> -2; -2; -2): -8. Preference -12 = cost.
# Preference cost -29; organisation changes 15; idle blocks 3; learners' costs sum to -11;
# worst learner cost 2 x worst_weight 2 = 4; objective -7.
VALID_FIGURES = {"preference": -29.0, "organisation_changes": 15.0, "idle_blocks": 3.0,
                 "worst_learner": 4.0, "unplaced": 0.0}
VALID_OBJECTIVE = -7.0
VALID_COSTS = {"L1": -2, "L2": 2, "L3": 1, "F1": -12}


def valid_plan() -> V2Plan:
    """The hand-built valid plan, with the hand-worked summary."""
    p = rotation_plan({"L1": [("s-stroke", 1, 2), ("rehab-a", 3, 1), ("gp", 4, 1)],
                       "L2": [("mh", 1, 1), ("s-taster", 3, 1), ("rehab-b", 4, 1)],
                       "L3": [("rehab-a", 2, 1), ("s-stroke", 3, 2)]})
    fellow_rows(p, {1: "mh", 2: "rehab-b", 3: "mh", 4: "rehab-a"})
    p.summary = {"status": "FEASIBLE", "objective": VALID_OBJECTIVE, "best_bound": -100.0,
                 "preference_cost": -29, "unplaced": 0, "solve_seconds": 0.0}
    return p


# ----- the two checkers ---------------------------------------------------------------------


def data_key(data: Data) -> str:
    """A cache key for a scenario dict."""
    return json.dumps(data, sort_keys=True, default=str)


_PARSED: dict[str, Scenario] = {}


def parsed(data: Data) -> Scenario:
    """The scenario dict validated by rotaplan's loader (cached)."""
    key = data_key(data)
    if key not in _PARSED:
        _PARSED[key] = scenario_from(data)
    return _PARSED[key]


def ours(data: Data, plan_dir: Path) -> set[str]:
    return {v.rule for v in check_plan_dir(parsed(data), plan_dir).violations}


@cache
def shared_module() -> ModuleType:
    """../shared/tools/check_plan.py, imported in process."""
    spec = importlib.util.spec_from_file_location("shared_check_plan", SHARED_CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_verdict(data: Data, plan_dir: Path) -> tuple[int, set[str], str]:
    """Exit code, rule names (contract spelling) and output of the shared checker."""
    path = plan_dir.parent / f"{plan_dir.name}-scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run([sys.executable, str(SHARED_CHECKER), str(path), str(plan_dir)],
                          capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    rules = {SHARED_RULE_NAMES.get(m.group(1), m.group(1)) for line in lines[:-1]
             if (m := re.match(r"^([a-z-]+): ", line))}
    return proc.returncode, rules, proc.stdout + proc.stderr


def summarised(data: Data, p: V2Plan) -> V2Plan:
    """The plan with its summary figures as this checker recomputes them.

    The shared checker then says ``summary`` exactly when it computes other figures,
    so a corruption's expected rule set also asserts the two agree on the objective.
    """
    report = check_rows(parsed(data), p.rows(), p.t)
    p.summary = {"status": "FEASIBLE", "objective": report.objective, "best_bound": None,
                 "preference_cost": report.preference_cost, "unplaced": report.unplaced,
                 "solve_seconds": 0.0}
    return p


# ----- the valid plan -----------------------------------------------------------------------


def test_hand_built_v2_plan_is_valid_with_hand_worked_figures(tmp_path: Path) -> None:
    """The hand-built plan obeys every rule, and the checker's figures are the hand-worked ones.

    It exercises a two-block placement (one placement at one site, not a repeat),
    a pin inside it, ``placements`` with an idle block, a late joiner whose block
    outside their ``blocks`` still counts as idle, ``completed`` waiving precedence,
    a learner's own (empty) requirements, scores on site, setting and organisation
    ids with a site that is its own organisation counted once, setting values, a
    learner's own weight, and ``fairness: weighted``.
    """
    plan_dir = valid_plan().write(tmp_path / "plan")
    report = check_plan_dir(parsed(v2_data()), plan_dir)
    assert report.ok, report.render()
    assert report.preference_cost == -29
    assert report.objective == VALID_OBJECTIVE
    assert report.learner_costs == VALID_COSTS
    assert report.worst_learner_cost == 2
    assert report.terms == VALID_FIGURES
    assert sum(report.terms.values()) == report.objective


@needs_shared
def test_hand_built_v2_plan_passes_the_shared_checker(tmp_path: Path) -> None:
    """The shared checker accepts the hand-built plan with the same hand-worked figures."""
    code, rules, output = shared_verdict(v2_data(), valid_plan().write(tmp_path / "plan"))
    assert code == 0 and not rules, output
    assert "cost=-29 unplaced=0 objective=-7 max_learner=2" in output


def test_rank_preference_counts_once_per_placement(tmp_path: Path) -> None:
    """With ``preference: rank`` a two-block placement costs its rank once, not per block.

    L1 ranks [rehab-a, stroke]: s-stroke (blocks 1-2) costs 1 once, rehab-a 0, gp 2
    (unlisted); the others list nothing. Preference cost 3; costs L1 3 + 6 = 9, L2 0 + 6 +
    2 = 8, L3 0 + 3 + 1 = 4, F1 0: 21, plus worst 9 x 2: objective 39.
    """
    data = v2_data()
    data["objective"]["preference"] = "rank"
    p = valid_plan()
    p.summary |= {"objective": 39.0, "preference_cost": 3}
    plan_dir = p.write(tmp_path / "plan")
    report = check_plan_dir(parsed(data), plan_dir)
    assert report.ok, report.render()
    assert report.learner_costs == {"L1": 9, "L2": 8, "L3": 4, "F1": 0}
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(data, plan_dir)
        assert code == 0 and "cost=3 " in output and "objective=39" in output, output


def test_left_out_learner_counts_as_the_penalty_in_the_worst_cost(tmp_path: Path) -> None:
    """A learner left out counts as ``unplaced_penalty`` in the weighted worst cost.

    With ``fairness: weighted`` the penalty is also added once for leaving them out.
    L3 is left out (penalty 5): 5 + (L1 -2, L2 2, F1 -12) + 2 x max(2, 5) = 3;
    preference cost -8 - 6 - 12 = -26.
    """
    data = v2_data()
    data["objective"] |= {"allow_unplaced": True, "unplaced_penalty": 5}
    p = valid_plan()
    for block in (2, 3, 4):
        p.drop("L3", block)
    p.summary |= {"objective": 3.0, "preference_cost": -26, "unplaced": 1}
    plan_dir = p.write(tmp_path / "plan")
    report = check_plan_dir(parsed(data), plan_dir)
    assert report.ok, report.render()
    assert report.terms["worst_learner"] == 10 and report.terms["unplaced"] == 5
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(data, plan_dir)
        assert code == 0 and "objective=3 " in output, output


def test_checker_recomputes_costs_without_the_models_helpers(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """The checker computes lengths, scores, weights and costs itself.

    Breaking the Scenario helpers the solver uses changes none of its verdicts or
    figures on the valid plan.
    """
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the checker must not call the solver's helpers")

    for name in ("placement_length", "score", "weight", "placement_cost", "preference_cost",
                 "requirements_of"):
        monkeypatch.setattr(Scenario, name, boom)
    report = check_plan_dir(parsed(v2_data()), valid_plan().write(tmp_path / "plan"))
    assert report.ok and report.objective == VALID_OBJECTIVE, report.render()


def test_data_frame_records_with_numeric_start_blocks_are_read(tmp_path: Path) -> None:
    """``check_rows`` reads rows as a data frame gives them.

    Blocks are ints, start blocks floats, and NaN (an empty cell) means the row's
    own block.
    """
    p = valid_plan()
    rows: list[dict[str, Any]] = []
    for r in p.a:
        start = int(r["start_block"])
        rows.append(r | {"block": int(r["block"]),
                         "start_block": math.nan if start == int(r["block"]) else float(start)})
    report = check_rows(parsed(v2_data()), rows, p.t, p.summary)
    assert report.ok, report.render()


# ----- one corruption, one rule -------------------------------------------------------------

Edit = Callable[[Data, V2Plan], None]


@dataclass(frozen=True)
class Case:
    """A corruption of the scenario and/or the valid plan that breaks exactly ``rule``."""

    id: str
    rule: str
    edit: Edit
    why: str


def learner_sets(lid: str, key: str, value: Any) -> Edit:
    """A learner's key changes (the plan unchanged): the scenario tightened in one place."""
    def edit(data: Data, p: V2Plan) -> None:
        learner_of(data, lid)[key] = value
    return edit


def rotation_sets(key: str, value: Any) -> Edit:
    """A key of ``tracks.rotation`` changes (the plan unchanged)."""
    def edit(data: Data, p: V2Plan) -> None:
        data["tracks"]["rotation"][key] = value
    return edit


def site_sets(sid: str, key: str, value: Any) -> Edit:
    """A site's key changes (the plan unchanged)."""
    def edit(data: Data, p: V2Plan) -> None:
        site_of(data, sid)[key] = value
    return edit


def _two_sites(data: Data, p: V2Plan) -> None:
    p.move("L1", 2, "s-taster")  # block 2 of the s-stroke placement (start 1) elsewhere
    learner_of(data, "L1")["pinned"] = {}


def _too_short(data: Data, p: V2Plan) -> None:
    learner_of(data, "L3")["placements"] = 2  # still valid: L3 has two placements
    p.drop("L3", 4)  # the s-stroke placement 3-4 keeps block 3 only


def _idle_with_timetable(data: Data, p: V2Plan) -> None:
    p.t.extend(week("L2", 2, "mh", "mh"))


def _fellow_start(data: Data, p: V2Plan) -> None:
    next(r for r in p.a if r["learner_id"] == "F1" and r["block"] == "2")["start_block"] = "1"


def _extra_placement(data: Data, p: V2Plan) -> None:
    p.placed("L2", 2, "care")  # a fourth placement in L2's idle block


def _missing_block(data: Data, p: V2Plan) -> None:
    p.drop("L3", 2)  # L3 has no `placements`: every one of their blocks is occupied


def _gp_to_care(data: Data, p: V2Plan) -> None:
    p.move("L1", 4, "care")  # no primary or mental placement left


def _rehab_to_mh(data: Data, p: V2Plan) -> None:
    p.move("L1", 3, "mh")  # primary and mental: 2, above max 1


def _taster_twice(data: Data, p: V2Plan) -> None:
    p.move("L3", 2, "s-taster")  # s-taster then s-stroke: two stroke placements


def _gp_twice(data: Data, p: V2Plan) -> None:
    rot = data["tracks"]["rotation"]
    rot["no_repeat_setting"] = False
    rot["requirements"] = [{"settings": ["primary", "mental"], "min": 1}]
    p.move("L1", 3, "gp")  # gp in blocks 3 and 4: two placements at one site


def _rehab_first(data: Data, p: V2Plan) -> None:
    p.move("L2", 1, "rehab-b").move("L2", 4, "mh")  # rehab-b 1, s-taster 3, mh 4


CASES = [
    Case("placement-length-two-sites", "placement-length", _two_sites,
         "the rows of one placement (start_block 1) are at two sites"),
    Case("placement-length-too-short", "placement-length", _too_short,
         "a two-block placement has one row"),
    Case("placement-length-leaves-blocks", "placement-length",
         learner_sets("L3", "blocks", [2, 3]),
         "L3's s-stroke placement 3-4 leaves their blocks [2, 3]"),
    Case("placement-count-scenario", "placement-count",
         learner_sets("L2", "placements", 2),
         "L2 has three placements, two required"),
    Case("placement-count-plan", "placement-count", _extra_placement,
         "a fourth placement in L2's idle block"),
    Case("placement-missing-block", "placement", _missing_block,
         "a learner without `placements` leaves a block of theirs empty"),
    Case("working-pattern-idle-timetable", "working-pattern", _idle_with_timetable,
         "an idle block has a timetable"),
    Case("eligibility-avoided-setting", "eligibility",
         learner_sets("L1", "avoid", ["rehab"]),
         "L1 avoids the setting rehab, placed at rehab-a"),
    Case("eligibility-fellow-avoids-setting", "eligibility",
         learner_sets("F1", "avoid", ["rehab"]),
         "F1 avoids the setting rehab, their partner in blocks 2 and 4"),
    Case("site-capacity-second-block", "site-capacity",
         site_sets("s-stroke", "capacity", {2: 0}),
         "the second block of L1's s-stroke placement counts at s-stroke"),
    Case("eligibility-pinned-idle", "eligibility",
         learner_sets("L2", "pinned", {2: "gp"}),
         "L2 is pinned to gp in block 2, an idle block"),
    Case("eligibility-pinned-in-placement", "eligibility",
         learner_sets("L3", "pinned", {4: "s-taster"}),
         "block 4 lies in L3's s-stroke placement, not at the pinned s-taster"),
    Case("requirements-min", "requirements", _gp_to_care,
         "no placement in primary or mental"),
    Case("requirements-max", "requirements", _rehab_to_mh,
         "two placements in primary or mental, at most one"),
    Case("requirements-count", "requirements",
         learner_sets("L3", "requirements", [{"settings": ["rehab", "stroke"], "count": 1}]),
         "L3's own requirement: exactly one in rehab or stroke; they have two"),
    Case("no-repeat-setting", "no-repeat-setting", _taster_twice,
         "two stroke placements (s-taster, s-stroke)"),
    Case("no-repeat-site", "no-repeat-site", _gp_twice,
         "gp in two one-block placements"),
    Case("precedence-order", "precedence", _rehab_first,
         "L2's rehab-b in block 1 starts before their only stroke placement"),
    Case("precedence-not-completed", "precedence",
         learner_sets("L3", "completed", []),
         "L3's rehab in block 2 precedes stroke; stroke no longer completed"),
    Case("organisation-cap", "organisation-cap",
         rotation_sets("max_per_organisation", 1),
         "L2 has two placements at comm (mh, rehab-b)"),
    Case("format-fellow-start-block", "format", _fellow_start,
         "a fellow's row names another block as its start"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_one_v2_corruption_breaks_exactly_its_rule(case: Case, tmp_path: Path) -> None:
    """Each §9 corruption breaks exactly its rule, in both checkers.

    The corruption edits the valid plan or tightens the scenario; the violations
    are named as the contract names the rule, and the shared checker names that
    rule only. The summary is refilled with this checker's figures for the
    corrupted plan, so the shared checker's verdict also asserts both compute the
    same objective.

    Parameters
    ----------
    case
        The corruption, the rule it breaks and why.
    """
    data, p = v2_data(), valid_plan()
    case.edit(data, p)
    plan_dir = summarised(data, p).write(tmp_path / "plan")
    report = check_plan_dir(parsed(data), plan_dir)
    assert {v.rule for v in report.violations} == {case.rule}, report.render()
    assert all(v.message for v in report.violations)
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(data, plan_dir)
        assert code != 0 and rules == {case.rule}, output


def test_relaxations_keep_the_valid_plan_valid(tmp_path: Path) -> None:
    """The scenario changes some corruptions make first only relax the scenario.

    No precedence; no ``no_repeat_setting`` with requirements without a max; L3 with
    ``placements: 2``; no pin: the valid plan stays valid under all of them.
    """
    data = v2_data()
    data["tracks"]["rotation"] |= {"precedence": [], "no_repeat_setting": False,
                                   "requirements": [{"settings": ["primary", "mental"],
                                                     "min": 1}]}
    learner_of(data, "L3")["placements"] = 2
    learner_of(data, "L1")["pinned"] = {}
    p = valid_plan()
    assert ours(data, p.write(tmp_path / "plan")) == set()


def test_two_block_placement_is_not_a_repeated_site(tmp_path: Path) -> None:
    """Rules that count placements count placements, not blocks.

    L1's two rows at s-stroke are one placement: no ``no-repeat-site``, one placement
    in stroke for ``no-repeat-setting`` and for a requirement of at most one stroke
    placement, one at acute for an organisation cap of 1.
    """
    data = v2_data()
    data["tracks"]["rotation"] |= {"max_per_organisation": 1,
                                   "requirements": [{"settings": ["stroke"], "max": 1}]}
    learner_of(data, "L2")["placements"] = 2
    p = valid_plan().drop("L2", 1)  # L2 would have comm twice; L2 now: s-taster, rehab-b
    p = summarised(data, p)
    assert ours(data, p.write(tmp_path / "plan")) == set()


def test_missing_start_block_column_splits_long_placements(tmp_path: Path) -> None:
    """Without the start_block column every row is its own one-block placement.

    A two-block placement then breaks ``placement-length``, and the message says the
    column is missing; the shared checker names the same rules.
    """
    p = valid_plan()
    p.start_column = False
    plan_dir = summarised(v2_data(), p).write(tmp_path / "plan")
    report = check_plan_dir(parsed(v2_data()), plan_dir)
    length = [v.message for v in report.violations if v.rule == "placement-length"]
    assert any("no start_block column" in m for m in length), report.render()
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(v2_data(), plan_dir)
        assert code != 0 and rules == {v.rule for v in report.violations}, output


def test_start_block_that_is_not_a_number_breaks_format(tmp_path: Path) -> None:
    """A start_block that is not a block number is a format error."""
    p = valid_plan()
    p.a[0]["start_block"] = "first"
    assert "format" in ours(v2_data(), p.write(tmp_path / "plan"))


def test_one_block_placements_need_no_start_block_column(tmp_path: Path) -> None:
    """A version 2 plan whose placements all last one block may leave start_block out."""
    data = v2_data()
    data["settings"] = [s | {"placement_blocks": 1} if s["id"] == "stroke" else s
                        for s in data["settings"]]
    p = valid_plan()
    p.start_column = False
    p.drop("L1", 2).drop("L3", 4)
    p.placed("L1", 2, "care")
    learner_of(data, "L1")["pinned"] = {}
    learner_of(data, "L3")["placements"] = 2
    plan_dir = summarised(data, p).write(tmp_path / "plan")
    assert ours(data, plan_dir) == set()
    if SHARED_CHECKER.exists():
        code, _, output = shared_verdict(data, plan_dir)
        assert code == 0, output


def test_v1_plan_row_outside_blocks_is_still_a_format_error(tmp_path: Path) -> None:
    """A version 1 plan is checked as before: a row outside the learner's blocks is ``format``.

    With no §9 key and no start_block column the row is not ``placement-length``;
    with a start_block column the same row is a placement leaving their blocks.
    """
    data = scenario([make_site("ward"), make_site("clinic")], [learner("L1", blocks=[1])],
                    blocks=2)
    p = V2Plan([], [], {}, start_column=False)
    p.placed("L1", 1, "ward").placed("L1", 2, "clinic")
    data["programme"] |= {"sessions": ["Mon", "Tue", "Wed"], "teaching_sessions": ["Wed"]}
    assert ours(data, p.write(tmp_path / "v1")) == {"format"}
    p.start_column = True
    assert ours(data, p.write(tmp_path / "v2")) == {"placement-length"}


# ----- wrong summary figures ----------------------------------------------------------------

# Figures a solver might write by getting one term of §9.3 wrong, each as (objective,
# preference_cost) for the valid plan (right: -7, -29).
WRONG_FIGURES = {
    "objective-off-by-one": (-6.0, -29),
    "preference-cost-off-by-one": (-7.0, -28),
    # learner costs L1 -8, L2 -4, L3 -2, F1 -12; worst -2
    "no-organisation-changes": (-30.0, -29),
    # L1 -2, L2 0, L3 0, F1 -12; worst 0
    "no-idle-blocks": (-14.0, -29),
    # L1's gp: primary 3 + gp 1 + gp 1 (gp is its own organisation: count it once)
    "own-organisation-counted-twice": (-8.0, -30),
    # preference L1 -6, L2 -3, L3 -1, F1 -6; costs 0, 5, 3, -6; worst 5
    "setting-values-left-out": (12.0, -16),
    # L2's idle block weighted by the objective's 1, not their own 2; worst 1
    "learner-weight-ignored": (-10.0, -29),
    # L3's block 1 (outside their blocks) not counted as idle
    "idle-only-inside-blocks": (-8.0, -29),
    "no-worst-term": (-11.0, -29),
    "worst-weight-ignored": (-9.0, -29),
    # L1's s-stroke score counted in both blocks of the placement
    "score-counted-per-block": (-9.0, -31),
}


@pytest.mark.parametrize("name", sorted(WRONG_FIGURES))
def test_wrong_v2_summary_figures_break_summary(name: str, tmp_path: Path) -> None:
    """A summary that gets one §9.3 term wrong breaks ``summary`` only, in both checkers.

    The terms: scores, setting values, organisation changes, idle blocks, a learner's
    own weight, the worst learner's cost and its weight.

    Parameters
    ----------
    name
        Which mistake (a key of ``WRONG_FIGURES``: objective and preference cost).
    """
    objective, preference = WRONG_FIGURES[name]
    p = valid_plan()
    p.summary |= {"objective": objective, "preference_cost": preference}
    plan_dir = p.write(tmp_path / "plan")
    assert ours(v2_data(), plan_dir) == {"summary"}
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(v2_data(), plan_dir)
        assert code != 0 and rules == {"summary"}, output


def test_summary_terms_named_as_the_checker_names_them_must_match(tmp_path: Path) -> None:
    """``terms`` in summary.json (§9.4: weighted totals) must match where the checker names
    the term.

    The hand-worked terms pass, a term the checker does not compute (an extension's) is
    not checked, and each known term off by one breaks ``summary``.
    """
    p = valid_plan()
    p.summary["terms"] = VALID_FIGURES | {"changes": 12.0}
    assert ours(v2_data(), p.write(tmp_path / "right")) == set()
    for name in VALID_FIGURES:
        p.summary["terms"] = VALID_FIGURES | {name: VALID_FIGURES[name] + 1}
        assert ours(v2_data(), p.write(tmp_path / name)) == {"summary"}, name


def test_rank_cost_counted_per_block_breaks_summary(tmp_path: Path) -> None:
    """With ``preference: rank`` a rank counted once per block breaks ``summary``.

    Counting L1's two-block placement at s-stroke in both blocks gives preference cost
    4 and objective 41; the rank counts once per placement.
    """
    data = v2_data()
    data["objective"]["preference"] = "rank"
    p = valid_plan()
    p.summary |= {"objective": 41.0, "preference_cost": 4}
    plan_dir = p.write(tmp_path / "plan")
    assert ours(data, plan_dir) == {"summary"}
    if SHARED_CHECKER.exists():
        code, rules, output = shared_verdict(data, plan_dir)
        assert code != 0 and rules == {"summary"}, output


@needs_shared
def test_example_v2_with_everyone_left_out(tmp_path: Path) -> None:
    """On example-v2.yaml, an empty plan costs 8 x 1000 + 2 x 1000 in both checkers.

    With ``allow_unplaced`` all 8 learners are left out and a learner left out counts
    as the penalty in the worst cost (``worst_weight`` 2); Oak Lodge misses its
    minimum. Solved example-v2 plans come from the solver.
    """
    from tests.helpers import SHARED

    data = yaml.safe_load((SHARED / "spec" / "example-v2.yaml").read_text())
    data["objective"]["allow_unplaced"] = True
    p = V2Plan([], [])
    p.summary = {"status": "FEASIBLE", "objective": 10000.0, "preference_cost": 0,
                 "unplaced": 8}
    plan_dir = p.write(tmp_path / "plan")
    report = check_plan_dir(parsed(data), plan_dir)
    assert {v.rule for v in report.violations} == {"site-minimum"}, report.render()
    assert report.objective == 10000 and report.unplaced == 8
    path = tmp_path / "example-v2.yaml"
    path.write_text(yaml.safe_dump(data))
    shared = shared_module()
    errors, _, got = shared.check(shared.load_scenario(str(path)), str(plan_dir))
    assert got is not None and got["objective"] == 10000, errors
    assert {e.split(":")[0] for e in errors} == {"site-minimum"}, errors
