"""Differential tests: rotaplan's checker and ../shared's agree on version 2 plans.

Hypothesis mutates the hand-built valid plans of ``test_checker_v2`` (move a
row to another site, drop a row with or without its timetable, change a
``start_block``, swap two blocks of a learner, drop the ``start_block``
column) and generates plans from scratch (random placements of random sites,
starts and lengths), under variants of the small §9 scenario (rank or score
preferences, no fairness, minimax or weighted, learners left out allowed or
not). On every plan both checkers must reach the same verdict and name the same
rules; the summary carries this checker's figures, so the shared checker's
``summary`` verdict also compares the objectives.

The one difference allowed is the objective of a plan that leaves a learner out
when ``allow_unplaced`` is off: that plan breaks ``placement`` in both, and this
checker (as in version 1) counts no penalty for it while the shared one does.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st

from rotaplan.checker import check_plan_dir
from rotaplan.pathway import generate_pathway
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.helpers import SHARED, Data, needs_shared
from tests.rotaplan.test_checker_v2 import (
    SHARED_RULE_NAMES,
    V2Plan,
    data_key,
    fellow_rows,
    learner_of,
    parsed,
    shared_module,
    shared_verdict,
    summarised,
    v2_data,
    valid_plan,
)

SITES = ["s-stroke", "s-taster", "rehab-a", "rehab-b", "mh", "gp", "care"]
ROTATION = ["L1", "L2", "L3"]
LEARNERS = [*ROTATION, "F1"]
BLOCKS = [1, 2, 3, 4]
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]  # no slow "explain"


# ----- scenario variants ---------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """How the small scenario's objective is changed (its rules stay)."""

    preference: str = "score"
    fairness: str = "weighted"
    allow_unplaced: bool = False

    def data(self) -> Data:
        data = v2_data()
        data["objective"] |= {"preference": self.preference, "fairness": self.fairness}
        if self.allow_unplaced:
            data["objective"] |= {"allow_unplaced": True, "unplaced_penalty": 7}
        return data


variants = st.builds(Variant, st.sampled_from(["score", "rank"]),
                     st.sampled_from(["weighted", "none", "minimax"]), st.booleans())


# ----- the comparison -------------------------------------------------------------------------


_SHARED_SCENARIOS: dict[str, Any] = {}


def shared_scenario(data: Data) -> Any:
    """The shared checker's reading of a scenario, from a YAML file as on its command line
    (cached)."""
    key = data_key(data)
    if key not in _SHARED_SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "scenario.yaml"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            _SHARED_SCENARIOS[key] = shared_module().load_scenario(str(path))
    return _SHARED_SCENARIOS[key]


def only_outside_blocks(data: Data, p: V2Plan) -> bool:
    """Whether a learner has rows, but none in their own blocks (see the test below: the
    shared checker then takes them for left out and ignores the rows)."""
    every = range(1, data["programme"]["blocks"] + 1)
    for x in data["learners"]:
        blocks = {str(b) for b in x.get("blocks", every)}
        mine = {r["block"] for r in p.a if r["learner_id"] == x["id"]}
        if mine and not mine & blocks:
            return True
    return False


def compare(data: Data, p: V2Plan, *, in_hypothesis: bool = True) -> set[str]:
    """Both checkers' rule sets on a plan (asserted equal); returns this checker's."""
    if in_hypothesis:
        assume(not only_outside_blocks(data, p))  # the one known disagreement
    with tempfile.TemporaryDirectory() as tmp:
        plan_dir = summarised(data, p).write(Path(tmp) / "plan")
        report = check_plan_dir(parsed(data), plan_dir)
        ours = {v.rule for v in report.violations}
        with contextlib.redirect_stdout(io.StringIO()):
            errors, _, _ = shared_module().check(shared_scenario(data),
                                                 str(plan_dir))
    # A block with some but not all of a learner's roles: rotaplan names §5 `placement`, the
    # shared checker calls the rows' shape `format` (a naming difference, same verdict).
    theirs = {"placement" if re.match(r"format: \S+ block \d+ has roles", e)
              else SHARED_RULE_NAMES.get(e.split(":")[0], e.split(":")[0]) for e in errors}
    placed = {r["learner_id"] for r in p.a}
    if not data["objective"].get("allow_unplaced") \
            and {x["id"] for x in data["learners"]} - placed:
        theirs.discard("summary")  # the penalty of a learner who may not be left out
    if in_hypothesis:
        note(report.render())
        note("\n".join(errors))
        event("valid" if not ours else "invalid")
    assert ours == theirs, (ours, theirs, report.render(), errors)
    return ours


# ----- mutations of the valid plan ------------------------------------------------------------


Supervisors = dict[str, list[str]]  # site id -> its supervisors' ids
SUPERVISORS: Supervisors = {sid: [f"{sid}-sup"] for sid in SITES}


def move(p: V2Plan, i: int, k: int, supervisors: Supervisors) -> None:
    """Row i moves to site k, with one of its supervisors named and present."""
    row = p.a[i % len(p.a)]
    sites = sorted(supervisors)
    old, new = row["site_id"], sites[k % len(sites)]
    uid = supervisors[new][k // len(sites) % len(supervisors[new])]
    row["site_id"], row["supervisor_id"] = new, uid
    for r in p.t:
        if (r["learner_id"], r["block"], r["site_id"]) == (row["learner_id"], row["block"], old):
            r["site_id"], r["supervisor_id"] = new, uid


def drop(p: V2Plan, i: int, keep_timetable: bool) -> None:
    """Row i goes (with its learner's timetable in that block, unless kept)."""
    row = p.a.pop(i % len(p.a))
    if not keep_timetable and not any((r["learner_id"], r["block"]) ==
                                      (row["learner_id"], row["block"]) for r in p.a):
        p.t = [r for r in p.t if (r["learner_id"], r["block"]) !=
               (row["learner_id"], row["block"])]


def restart(p: V2Plan, i: int, start: int | None) -> None:
    """Row i names another start block (None: an empty cell)."""
    p.a[i % len(p.a)]["start_block"] = "" if start is None else str(start)


def swap(p: V2Plan, lid: str, b1: int, b2: int) -> None:
    """A learner's rows (and timetable, and start blocks) of two blocks trade places."""
    trade = {str(b1): str(b2), str(b2): str(b1)}
    for r in p.a:
        if r["learner_id"] == lid:
            r["block"] = trade.get(r["block"], r["block"])
            r["start_block"] = trade.get(r["start_block"], r["start_block"])
    for r in p.t:
        if r["learner_id"] == lid:
            r["block"] = trade.get(r["block"], r["block"])


def no_column(p: V2Plan) -> None:
    p.start_column = False


def mutations(learners: list[str], blocks: list[int]) -> st.SearchStrategy[list[Any]]:
    """One to three mutations of a plan for these learners and blocks."""
    return st.lists(st.one_of(
        st.tuples(st.just("move"), st.integers(0, 999), st.integers(0, 99)),
        st.tuples(st.just("drop"), st.integers(0, 999), st.booleans()),
        st.tuples(st.just("restart"), st.integers(0, 999),
                  st.one_of(st.none(), st.integers(0, max(blocks) + 1))),
        st.tuples(st.just("swap"), st.sampled_from(learners), st.sampled_from(blocks),
                  st.sampled_from(blocks)),
        st.tuples(st.just("no_column")),
    ), min_size=1, max_size=3)


def mutate(p: V2Plan, ops: list[tuple[Any, ...]],
           supervisors: Supervisors = SUPERVISORS) -> V2Plan:
    for op, *args in ops:
        if op == "no_column":
            no_column(p)
        elif op == "move" and p.a:
            move(p, *args, supervisors)
        elif op == "swap" or p.a:
            {"drop": drop, "restart": restart, "swap": swap}[op](p, *args)
    return p


@needs_shared
@settings(derandomize=True, max_examples=400, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(variant=variants, ops=mutations(LEARNERS, BLOCKS))
def test_checkers_agree_on_mutated_v2_plans(variant: Variant, ops: list[tuple[Any, ...]]) -> None:
    """Both checkers agree on the valid v2 plan after one to three mutations.

    Mutations: a row moved to another site, a row dropped with or without its
    timetable, a start_block changed or emptied, two blocks of a learner swapped,
    the start_block column dropped. They agree on OK or FAIL and on the rules named.

    Parameters
    ----------
    variant
        The scenario's objective variant.
    ops
        The mutations, in order.
    """
    compare(variant.data(), mutate(valid_plan(), ops))


@needs_shared
def test_checkers_agree_on_the_unmutated_variants() -> None:
    """The valid plan passes both checkers under every scenario variant.

    The summary carries this checker's objective, so both compute the same one.
    """
    for preference in ("score", "rank"):
        for fairness in ("weighted", "none", "minimax"):
            for allow in (False, True):
                assert compare(Variant(preference, fairness, allow).data(), valid_plan(),
                               in_hypothesis=False) == set()


# ----- generated plans ------------------------------------------------------------------------


placements_of = st.lists(
    st.tuples(st.sampled_from(SITES), st.sampled_from(BLOCKS),
              st.one_of(st.none(), st.integers(1, 3))),
    max_size=4,
)


def generated(choices: dict[str, list[tuple[str, int, int | None]]],
              partners: list[str] | None) -> V2Plan:
    """Rows from random placements: (site, start, length; None: the site's own length).

    Blocks already taken by an earlier placement of the learner and blocks past the
    programme are skipped, so a placement may end up shorter than it should.
    """
    nominal = {"s-stroke": 2}
    p = V2Plan([], [])
    for lid, items in choices.items():
        taken: set[int] = set()
        for sid, start, length in items:
            for block in range(start, start + (length or nominal.get(sid, 1))):
                if block in BLOCKS and block not in taken:
                    taken.add(block)
                    p.placed(lid, block, sid, start)
    if partners is not None:
        fellow_rows(p, dict(zip(BLOCKS, partners, strict=True)))
    return p


@needs_shared
@settings(derandomize=True, max_examples=400, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(variant=variants,
       choices=st.fixed_dictionaries({lid: placements_of for lid in ROTATION}),
       partners=st.one_of(st.none(), st.lists(st.sampled_from(["mh", "rehab-a", "rehab-b",
                                                               "care"]),
                                              min_size=4, max_size=4)),
       late=st.booleans(), placements=st.one_of(st.none(), st.integers(1, 4)))
def test_checkers_agree_on_generated_v2_plans(variant: Variant,
                                              choices: dict[str, list[tuple[str, int,
                                                                            int | None]]],
                                              partners: list[str] | None, late: bool,
                                              placements: int | None) -> None:
    """Both checkers agree on plans built from random placements.

    Any site, start block and length (overlaps skipped), the fellow placed or left
    out, L1 joining in block 2 or not, L1's ``placements`` drawn or absent.

    Parameters
    ----------
    variant
        The scenario's objective variant.
    choices
        Each rotation learner's placements: (site, start, length or None for the
        site's own).
    partners
        The fellow's partner site per block (None: the fellow is left out).
    late
        L1's blocks are 2-4.
    placements
        L1's ``placements`` (None: absent).
    """
    data = variant.data()
    one = learner_of(data, "L1")
    one["pinned"] = {}
    if late:
        one["blocks"] = [2, 3, 4]
    if placements is not None:
        one["placements"] = min(placements, len(one.get("blocks", BLOCKS)))
    compare(data, generated(choices, partners))


@needs_shared
def test_generated_plans_include_valid_ones() -> None:
    """The plan generator can build valid plans.

    The valid plan's placements, rebuilt by it, pass both checkers, so the agreement
    above covers OK verdicts too.
    """
    choices: dict[str, list[tuple[str, int, int | None]]] = {
        "L1": [("s-stroke", 1, None), ("rehab-a", 3, None), ("gp", 4, None)],
        "L2": [("mh", 1, None), ("s-taster", 3, None), ("rehab-b", 4, None)],
        "L3": [("rehab-a", 2, None), ("s-stroke", 3, None)]}
    plan = generated(choices, ["mh", "rehab-b", "mh", "rehab-a"])
    assert compare(v2_data(), plan, in_hypothesis=False) == set()


@needs_shared
def test_rows_only_outside_a_learners_blocks_are_not_a_learner_left_out(tmp_path: Path) -> None:
    """A learner whose only placement lies outside their blocks is placed, not left out.

    The placement breaks ``placement-length``. This is the one disagreement found
    with ../shared's checker: it takes such a learner for left out (no row in their
    blocks) and ignores the row, so with ``allow_unplaced`` it passes a plan that
    places L3 (blocks 2-4) at s-taster in block 1. §5 and §9.1 say a learner left
    out has no placement at all, and §9.1 that every block a placement occupies is
    one of the learner's blocks, so the plan is invalid.
    """
    data = Variant(allow_unplaced=True).data()
    p = valid_plan()
    for block in (2, 3, 4):
        p.drop("L3", block)
    p.placed("L3", 1, "s-taster")
    learner_of(data, "L3")["placements"] = 1  # blocks 2-4 may be idle
    assert only_outside_blocks(data, p)
    plan_dir = summarised(data, p).write(tmp_path / "plan")
    report = check_plan_dir(parsed(data), plan_dir)
    assert {v.rule for v in report.violations} == {"placement-length"}, report.render()
    assert report.unplaced == 0
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    shared = shared_module()
    with contextlib.redirect_stdout(io.StringIO()):
        errors, _, got = shared.check(shared.load_scenario(str(path)), str(plan_dir))
    assert got is not None and got["unplaced"] == 1  # the shared checker's reading
    assert not [e for e in errors if not e.startswith("summary")], errors


# ----- the solver's plans ---------------------------------------------------------------------

EXAMPLE_V2_OPTIMUM = -57.0  # stated in example-v2.yaml's header


@dataclass(frozen=True)
class Solved:
    """A scenario dict and the plan the solver wrote for it."""

    data: Data
    plan: V2Plan
    supervisors: Supervisors
    report_objective: float
    status: str


_SOLVED: dict[str, Solved] = {}


def solved(name: str) -> Solved:
    """The solver's plan (1 worker, seed 0) for a shared v2 scenario or a pathway programme,
    read back from its files (solved once per test session)."""
    if name not in _SOLVED:
        if name == "example-v2":
            data = yaml.safe_load((SHARED / "spec" / "example-v2.yaml").read_text())
        else:
            data = generate_pathway(12, seed=3)
        sc = parsed(data)
        out = Path(tempfile.mkdtemp(prefix=f"checker-{name}-"))
        outcome = solve_and_write(sc, out, SolveOptions(time_limit=60.0, workers=1, seed=0))
        assert outcome.exit_code == 0 and outcome.result.objective is not None
        plan = V2Plan.read(out)
        supervisors = {s["id"]: [u["id"] for u in s["supervisors"]] for s in data["sites"]}
        _SOLVED[name] = Solved(data, plan, supervisors, outcome.result.objective,
                               str(outcome.result.status))
    return _SOLVED[name]


@needs_shared
def test_solver_plan_for_example_v2_passes_both_checkers_at_its_optimum(tmp_path: Path) -> None:
    """The solver's plan for example-v2.yaml passes both checkers at the optimum -57.

    Both recompute the summary's objective and preference cost; this checker also its
    terms.
    """
    s = solved("example-v2")
    plan_dir = s.plan.write(tmp_path / "plan")
    report = check_plan_dir(parsed(s.data), plan_dir)
    assert report.ok, report.render()
    assert s.status == "OPTIMAL" and report.objective == s.report_objective == EXAMPLE_V2_OPTIMUM
    code, rules, output = shared_verdict(s.data, plan_dir)
    assert code == 0 and not rules, output
    assert f"objective={EXAMPLE_V2_OPTIMUM:g} " in output


@needs_shared
def test_solver_plan_for_a_pathway_programme_passes_both_checkers(tmp_path: Path) -> None:
    """The solver's plan for a 12-learner pathway programme (12 monthly blocks, 3- and
    6-month placements, idle quarters, late joiners) passes both checkers."""
    s = solved("pathway-12")
    plan_dir = s.plan.write(tmp_path / "plan")
    report = check_plan_dir(parsed(s.data), plan_dir)
    assert report.ok, report.render()
    assert report.objective == s.report_objective
    code, rules, output = shared_verdict(s.data, plan_dir)
    assert code == 0 and not rules, output


@needs_shared
@settings(derandomize=True, max_examples=150, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=mutations([f"L{i}" for i in range(1, 8)] + ["F1"], [1, 2, 3, 4, 5, 6]))
def test_checkers_agree_on_mutated_example_v2_plans(ops: list[tuple[Any, ...]]) -> None:
    """Both checkers agree on the solver's example-v2 plan after one to three mutations.

    The same mutations as above (move, drop, restart, swap, no start_block column), on a
    plan with six blocks, two-block placements, idle blocks, organisations, precedence,
    requirements and a fellow.

    Parameters
    ----------
    ops
        The mutations, in order.
    """
    s = solved("example-v2")
    compare(s.data, mutate(s.plan.copy(), ops, s.supervisors))
