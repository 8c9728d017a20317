"""Contract version 2 (§9) on tiny hand-worked scenarios: rules 13-18, avoid, cost terms.

Each new rule has a feasible case where the rule is what shapes the optimum
(its objective, terms and placements are worked out by hand in the docstring
and asserted) and, where one exists, an infeasible case that only that rule
makes infeasible (the explanation must name the rule). Each §9.3 cost term has
a case whose optimum depends on it.

Unless a test says otherwise a scenario has one session a week (``Week``), no
teaching, nurses only, one nurse supervisor of capacity 1 per site, and every
learner works that one session. Plans are checked by the shared checker
(:func:`tests.helpers.check_v2_plan`), and by the project checker once it reads
§9 (:data:`tests.helpers.PROJECT_CHECKER_KNOWS_V2`).

Solver bugs found here are regression tests at the end of the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rotaplan.models import ASSIGNMENT_COLUMNS
from rotaplan.models.edits import changed, more_supervision
from rotaplan.solver import SolveResult
from tests.helpers import (
    SHARED,
    check_v2_plan,
    learner,
    needs_shared,
    run,
    scenario,
    scenario_from,
    site,
    sup,
)

Data = dict[str, Any]
WEEK = ["Week"]


# ----- builders ----------------------------------------------------------------------------


def v2(sites: list[Data], learners: list[Data], *, blocks: int = 2,
       lengths: dict[str, int] | None = None, values: dict[str, int] | None = None,
       rotation: Data | None = None, **top: Any) -> Data:
    """A scenario with one weekly session (blocks 2 unless given).

    ``lengths`` and ``values`` set the settings' ``placement_blocks`` and ``value`` (§9).
    """
    data = scenario(sites, learners, blocks=blocks, sessions=WEEK, rotation=rotation, **top)
    for entry in data["settings"]:
        if lengths and entry["id"] in lengths:
            entry["placement_blocks"] = lengths[entry["id"]]
        if values and entry["id"] in values:
            entry["value"] = values[entry["id"]]
    return data


def roomy(sid: str, setting: str = "acute", **kw: Any) -> Data:
    """A site whose one nurse supervisor takes 3 learners."""
    return site(sid, setting, [sup(f"{sid}-sup", capacity=3)], **kw)


def solve_ok(data: Data, tmp_path: Path) -> SolveResult:
    """Solve to optimality and require both checkers to accept the written plan."""
    result = run(data, time_limit=10.0)
    assert result.status == "OPTIMAL", result.explanation and result.explanation.render()
    check_v2_plan(data, result, tmp_path / "plan")
    return result


def assert_infeasible(data: Data, rule: str) -> SolveResult:
    """Require INFEASIBLE and an explanation that names ``rule``."""
    result = run(data, time_limit=10.0)
    assert result.status == "INFEASIBLE", result.status
    expl = result.explanation
    assert expl is not None
    named = rule in [c.rule for c in expl.conflicts] or \
        any(f"[{rule}]" in line for line in expl.details)
    assert named, expl.render()
    return result


def placements(result: SolveResult, lid: str) -> list[tuple[str, list[int]]]:
    """A learner's placements in time order: (site, blocks), read from ``start_block``."""
    assert result.plan is not None
    rows = result.plan.assignments
    out: dict[int, tuple[str, list[int]]] = {}
    for r in rows[rows["learner_id"] == lid].itertuples():
        site_id, blocks = out.setdefault(int(r.start_block), (str(r.site_id), []))
        assert site_id == r.site_id, f"a placement of {lid} spans two sites"
        blocks.append(int(r.block))
    return [(s, sorted(b)) for _, (s, b) in sorted(out.items())]


def timetabled_blocks(result: SolveResult, lid: str) -> list[int]:
    """Blocks with timetable rows for a learner."""
    assert result.plan is not None
    t = result.plan.timetable
    return sorted({int(b) for b in t[t["learner_id"] == lid]["block"]})


# ----- rule 13: placement-length -----------------------------------------------------------


def test_placement_length_two_block_placement_and_rank_once(tmp_path: Path) -> None:
    """A two-block placement occupies consecutive blocks and costs its rank once.

    Three blocks; acute placements last 2 blocks. Site a (acute) is closed in block
    3 (capacity 0), c (community) lasts 1. With no site twice the only fillings are
    a(1-2) c(3) and c(1) a(2-3); the second needs a in block 3, so a(1-2) c(3).
    Preferences [c, a]: c costs 0, a costs 1 once (not once per block): objective 1.
    """
    data = v2([roomy("a", capacity={3: 0}), roomy("c", "community")],
              [learner("L1", preferences=["c", "a"])], blocks=3, lengths={"acute": 2})
    result = solve_ok(data, tmp_path)
    assert result.objective == 1
    assert result.terms == {"preference": 1}
    assert result.learner_costs == {"L1": 1}
    assert placements(result, "L1") == [("a", [1, 2]), ("c", [3])]


def test_placement_length_site_overrides_setting(tmp_path: Path) -> None:
    """A site's ``placement_blocks`` overrides its setting's.

    Two blocks; acute lasts 2 blocks but site a1 (acute) sets 1. Preferences
    [a1, a, c]: a(1-2) costs 1 once; a1 plus c costs 0 + 2 = 2; so a(1-2), objective
    1. Each one-block placement of a1 would be one block only (checked by the rows).
    """
    data = v2([roomy("a"), roomy("a1", placement_blocks=1), roomy("c", "community")],
              [learner("L1", preferences=["a1", "a", "c"]),
               learner("L2", preferences=["a1", "c"], avoid=["a"])],
              lengths={"acute": 2})
    result = solve_ok(data, tmp_path)
    # L2 avoids a: a1 (0) then c (1) or c then a1, each one block.
    assert result.learner_costs == {"L1": 1, "L2": 1}
    assert result.objective == 2
    assert placements(result, "L1") == [("a", [1, 2])]
    got = placements(result, "L2")
    assert {s for s, _ in got} == {"a1", "c"} and all(len(b) == 1 for _, b in got)


def test_placement_length_infeasible() -> None:
    """Placements that would overlap: INFEASIBLE, naming placement-length.

    Three blocks to fill, repeats allowed: a lasts 2 blocks, c lasts 1 but is closed
    (capacity 0) in blocks 1 and 3. Block 1 needs a(1-2), block 3 needs a(2-3), and
    the two would share block 2.
    """
    data = v2([roomy("a"), roomy("c", "community", capacity={1: 0, 3: 0})],
              [learner("L1")], blocks=3, lengths={"acute": 2},
              rotation={"no_repeat_site": False})
    assert_infeasible(data, "placement-length")


# ----- rule 14: placement-count -------------------------------------------------------------


def test_placement_count_exact_and_idle_blocks(tmp_path: Path) -> None:
    """A learner with ``placements: 2`` has exactly 2 placements; other blocks are idle.

    Four blocks, scores {acute: 2, community: 1, primary: 1}: every placement scores,
    so more placements would be cheaper, but exactly two are allowed. The best two
    are a (-2) and c or p (-1): objective -3. Idle blocks have no assignment and no
    timetable rows.
    """
    data = v2([roomy("a"), roomy("c", "community"), roomy("p", "primary")],
              [learner("L1", placements=2, scores={"acute": 2, "community": 1,
                                                    "primary": 1})],
              blocks=4, objective={"preference": "score"})
    result = solve_ok(data, tmp_path)
    assert result.objective == -3
    got = placements(result, "L1")
    assert len(got) == 2 and "a" in {s for s, _ in got}
    occupied = sorted(b for _, blocks in got for b in blocks)
    assert len(occupied) == 2
    assert timetabled_blocks(result, "L1") == occupied


def test_placement_count_infeasible() -> None:
    """Three placements from two sites with no site twice: INFEASIBLE, naming placement-count.

    Three blocks, ``placements: 3``, two sites a and c, no_repeat_site (default).
    """
    data = v2([roomy("a"), roomy("c", "community")], [learner("L1", placements=3)], blocks=3)
    assert_infeasible(data, "placement-count")


# ----- rule 15: requirements ----------------------------------------------------------------


@pytest.mark.parametrize(("requirement", "prefs", "objective", "sites"), [
    # min: without it a + c = 0 + 1; with primary at least once: a + p = 0 + 2.
    ({"settings": ["primary"], "min": 1}, ["a", "c"], 2, {"a", "p"}),
    # max: acute or community at most once: a + p = 0 + 2 (not a + c = 1).
    ({"settings": ["acute", "community"], "max": 1}, ["a", "c"], 2, {"a", "p"}),
    # count 1: exactly one community placement: a + c = 0 + 2 (not a + p = 1).
    ({"settings": ["community"], "count": 1}, ["a", "p"], 2, {"a", "c"}),
    # count 0: no acute at all: c + p = 1 + 2 (not a + c = 0 + 1).
    ({"settings": ["acute"], "count": 0}, ["a", "c", "p"], 3, {"c", "p"}),
])
def test_requirements_min_max_count(tmp_path: Path, requirement: Data, prefs: list[str],
                                    objective: int, sites: set[str]) -> None:
    """The track's requirement (rule 15) moves the optimum, for min, max and count.

    Two blocks, sites a (acute), c (community), p (primary); the costs of each case
    are in the parameter comments (rank = index in the preferences, their number if
    not listed).

    Parameters
    ----------
    requirement
        The track's one requirement.
    prefs
        L1's preferences.
    objective
        The optimum worked out by hand.
    sites
        The sites of L1's two placements.
    """
    data = v2([roomy("a"), roomy("c", "community"), roomy("p", "primary")],
              [learner("L1", preferences=prefs)], rotation={"requirements": [requirement]})
    result = solve_ok(data, tmp_path)
    assert result.objective == objective
    assert {s for s, _ in placements(result, "L1")} == sites


def test_requirements_own_list_replaces_the_tracks(tmp_path: Path) -> None:
    """A learner's own ``requirements`` replace the track's (they are not added).

    Track: primary at least once. L1 (track's list, prefs [a, c]) takes a + p: 0 + 2.
    L2 has its own list, community exactly once (prefs [a, p]): a + c = 0 + 2; under
    both lists it would need p and c, 1 + 2 = 3. Objective 4.
    """
    data = v2([roomy("a"), roomy("c", "community"), roomy("p", "primary")],
              [learner("L1", preferences=["a", "c"]),
               learner("L2", preferences=["a", "p"],
                       requirements=[{"settings": ["community"], "count": 1}])],
              rotation={"requirements": [{"settings": ["primary"], "min": 1}]})
    result = solve_ok(data, tmp_path)
    assert result.learner_costs == {"L1": 2, "L2": 2}
    assert result.objective == 4
    assert {s for s, _ in placements(result, "L2")} == {"a", "c"}


def test_requirements_infeasible() -> None:
    """Two primary placements from the one primary site: INFEASIBLE, naming requirements."""
    data = v2([roomy("a"), roomy("p", "primary")], [learner("L1")],
              rotation={"requirements": [{"settings": ["primary"], "min": 2}]})
    assert_infeasible(data, "requirements")


# ----- rule 16: no-repeat-setting -----------------------------------------------------------


def test_no_repeat_setting(tmp_path: Path) -> None:
    """With no_repeat_setting a learner has one placement per setting at most.

    Two blocks, two acute sites and c (community); preferences [acute, c]: without
    the rule a1 + a2 costs 0; with it one acute site and c: 0 + 1.
    """
    sites = [roomy("a1"), roomy("a2"), roomy("c", "community")]
    learners = [learner("L1", preferences=["acute", "c"])]
    assert solve_ok(v2(sites, learners), tmp_path / "free").objective == 0
    result = solve_ok(v2(sites, learners, rotation={"no_repeat_setting": True}),
                      tmp_path / "rule")
    assert result.objective == 1
    got = {s for s, _ in placements(result, "L1")}
    assert "c" in got and len(got & {"a1", "a2"}) == 1


def test_no_repeat_setting_infeasible() -> None:
    """Three blocks, two settings, no setting twice: INFEASIBLE, naming no-repeat-setting."""
    data = v2([roomy("a1"), roomy("a2"), roomy("c", "community")], [learner("L1")],
              blocks=3, rotation={"no_repeat_setting": True})
    assert_infeasible(data, "no-repeat-setting")


# ----- rule 17: precedence -------------------------------------------------------------------

PRECEDENCE = {"precedence": [{"before": "acute", "after": "community"}]}


def test_precedence_orders_placements(tmp_path: Path) -> None:
    """Community only after an acute placement has ended: a in block 1, c in block 2.

    Preferences [c, a] cost 1 in either order; precedence fixes the order.
    """
    data = v2([roomy("a"), roomy("c", "community")], [learner("L1", preferences=["c", "a"])],
              rotation=PRECEDENCE)
    result = solve_ok(data, tmp_path)
    assert result.objective == 1
    assert placements(result, "L1") == [("a", [1]), ("c", [2])]


def test_precedence_every_after_placement(tmp_path: Path) -> None:
    """Every community placement (not just the first) starts after an acute one ended.

    Three blocks, sites a (acute), c1, c2 (community), repeats of a setting allowed;
    preferences [community, a]: c1 + c2 + a cost 0 + 0 + 1 = 1, and a must come first.
    """
    data = v2([roomy("a"), roomy("c1", "community"), roomy("c2", "community")],
              [learner("L1", preferences=["community", "a"])], blocks=3, rotation=PRECEDENCE)
    result = solve_ok(data, tmp_path)
    assert result.objective == 1
    assert placements(result, "L1")[0] == ("a", [1])


def test_precedence_after_a_two_block_placement(tmp_path: Path) -> None:
    """With a two-block acute placement, community starts once both blocks are over.

    Three blocks, acute lasts 2: a(1-2) then c(3) is the only order that obeys the
    rule (c(1) a(2-3) breaks it). Preferences [c]: a costs 1 once: objective 1.
    """
    data = v2([roomy("a"), roomy("c", "community")], [learner("L1", preferences=["c"])],
              blocks=3, lengths={"acute": 2}, rotation=PRECEDENCE)
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("a", [1, 2]), ("c", [3])]
    assert result.objective == 1


# c only in block 1 (capacity 0 in block 2): community must come first.
COMMUNITY_FIRST = [roomy("a"), roomy("c", "community", capacity={2: 0})]


def test_precedence_infeasible() -> None:
    """Community can only come first, but must follow acute: INFEASIBLE, naming precedence."""
    data = v2(COMMUNITY_FIRST, [learner("L1")], rotation=PRECEDENCE)
    assert_infeasible(data, "precedence")


def test_completed_lifts_precedence(tmp_path: Path) -> None:
    """``completed: [acute]`` lifts the rule: community first is fine (c(1), a(2)).

    The infeasible scenario above with L1 having done acute before the programme;
    preferences [c, a]: objective 1.
    """
    data = v2(COMMUNITY_FIRST, [learner("L1", completed=["acute"], preferences=["c", "a"])],
              rotation=PRECEDENCE)
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("c", [1]), ("a", [2])]
    assert result.objective == 1


# ----- rule 18: organisation-cap -------------------------------------------------------------


@pytest.mark.parametrize(("c_org", "objective", "sites"), [
    ("trust", 2, {"a", "p"}),   # a and c both trust: one of them, plus p (0 + 2)
    (None, 1, {"a", "c"}),      # c is its own organisation: a + c (0 + 1)
])
def test_organisation_cap(tmp_path: Path, c_org: str | None, objective: int,
                          sites: set[str]) -> None:
    """At most one placement per organisation (``max_per_organisation: 1``).

    Two blocks, a (acute, trust), c (community), p (primary, pcn); preferences
    [a, c, p]. A site without ``organisation`` is its own organisation.

    Parameters
    ----------
    c_org
        c's organisation (None: c is its own).
    objective
        The optimum worked out by hand.
    sites
        The sites of L1's two placements.
    """
    c = roomy("c", "community") | ({"organisation": c_org} if c_org else {})
    data = v2([roomy("a", organisation="trust"), c, roomy("p", "primary", organisation="pcn")],
              [learner("L1", preferences=["a", "c", "p"])],
              rotation={"max_per_organisation": 1})
    result = solve_ok(data, tmp_path)
    assert result.objective == objective
    assert {s for s, _ in placements(result, "L1")} == sites


def test_organisation_cap_infeasible() -> None:
    """Two blocks, every site in one organisation, one placement each: INFEASIBLE."""
    data = v2([roomy("a", organisation="trust"), roomy("c", "community", organisation="trust")],
              [learner("L1")], rotation={"max_per_organisation": 1})
    assert_infeasible(data, "organisation-cap")


# ----- rule 1: avoiding a setting -------------------------------------------------------------


def test_avoid_setting(tmp_path: Path) -> None:
    """``avoid`` may name a setting: none of its sites is used.

    One block; L1 avoids acute (a1, a2) and prefers [a1, a2, c]: only c, cost 2.
    L2 avoids the site a1 and the setting community: a2, cost 1 (prefs [a1, a2]).
    """
    data = v2([roomy("a1"), roomy("a2"), roomy("c", "community")],
              [learner("L1", avoid=["acute"], preferences=["a1", "a2", "c"]),
               learner("L2", avoid=["a1", "community"], preferences=["a1", "a2"])],
              blocks=1)
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("c", [1])]
    assert placements(result, "L2") == [("a2", [1])]
    assert result.objective == 3


def test_avoid_setting_infeasible() -> None:
    """Avoiding the only setting leaves no site: INFEASIBLE, naming eligibility."""
    data = v2([roomy("a1"), roomy("a2")], [learner("L1", avoid=["acute"])], blocks=1)
    assert_infeasible(data, "eligibility")


# ----- §9.3 cost terms -------------------------------------------------------------------------


def test_score_sums_site_setting_organisation_and_value(tmp_path: Path) -> None:
    """A placement's cost is minus (site + setting + organisation scores + setting value).

    One block; a is acute (value 2) at trust, b is community with no organisation
    (its own). L1 scores {a: 1, acute: 3, trust: 5}: a scores 1 + 3 + 5 + 2 = 11, b 0;
    L1 takes a, cost -11. L2 scores {b: 4, acute: -10}: a scores -10 + 2 = -8, b scores
    4 once (b is site and organisation, one key); L2 takes b, cost -4. Objective -15.
    """
    data = v2([roomy("a", organisation="trust"), roomy("b", "community")],
              [learner("L1", scores={"a": 1, "acute": 3, "trust": 5}),
               learner("L2", scores={"b": 4, "acute": -10})],
              blocks=1, values={"acute": 2}, objective={"preference": "score"})
    result = solve_ok(data, tmp_path)
    assert result.learner_costs == {"L1": -11, "L2": -4}
    assert result.terms == {"preference": -15}
    assert result.objective == -15
    assert result.preference_cost == -15


def test_rank_ignores_scores_and_values(tmp_path: Path) -> None:
    """With ``preference: rank`` (the default) scores and setting values cost nothing.

    One block, L1 prefers [c] and scores a highly; a's setting has value 5: rank
    decides, c (cost 0).
    """
    data = v2([roomy("a"), roomy("c", "community")],
              [learner("L1", preferences=["c"], scores={"a": 9})], blocks=1,
              values={"acute": 5})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("c", [1])]
    assert result.objective == 0


def test_score_counts_once_per_placement(tmp_path: Path) -> None:
    """A two-block placement's score counts once.

    Two blocks, acute lasts 2; L1 scores {a: 3, c: 2}: a(1-2) scores 3 once; c in
    both blocks (repeats allowed) scores 2 + 2 = 4. So c twice, objective -4 (a per
    block would have been -6).
    """
    data = v2([roomy("a"), roomy("c", "community")],
              [learner("L1", scores={"a": 3, "c": 2})], lengths={"acute": 2},
              rotation={"no_repeat_site": False}, objective={"preference": "score"})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("c", [1]), ("c", [2])]
    assert result.objective == -4


def test_organisation_changes_skip_idle_blocks(tmp_path: Path) -> None:
    """Organisation changes count consecutive placements, idle blocks skipped.

    Four blocks, ``placements: 3``; a (acute, trust) opens only in block 1, c
    (community, trust) only in block 3, p (primary, pcn) and p2 (primary, trust) only
    in block 4; block 2 has no site, so a(1), c(3) and p or p2 in block 4. a -> c keeps
    trust across the idle block 2: no change. Weight 2 per change; scores {p: 1, p2: -2}:
    p costs -1 + 2 (c -> p) = 1, p2 costs 2 + 0 = 2. So p: objective 1, terms preference
    -1 and organisation_changes 2.
    """
    closed = {1: 0, 2: 0, 3: 0, 4: 0}
    data = v2([roomy("a", organisation="trust", capacity=closed | {1: 1}),
               roomy("c", "community", organisation="trust", capacity=closed | {3: 1}),
               roomy("p", "primary", organisation="pcn", capacity=closed | {4: 1}),
               roomy("p2", "primary", organisation="trust", capacity=closed | {4: 1})],
              [learner("L1", placements=3, scores={"p": 1, "p2": -2})], blocks=4,
              objective={"preference": "score", "weights": {"organisation_changes": 2}})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("a", [1]), ("c", [3]), ("p", [4])]
    assert result.terms == {"preference": -1, "organisation_changes": 2}
    assert result.objective == 1


def test_idle_blocks_before_the_last_placement(tmp_path: Path) -> None:
    """Idle blocks are the unoccupied programme blocks before the last placement's start.

    Blocks outside the learner's blocks count; a last placement's own blocks do not.
    Four blocks, idle weight 1, scores. L1 (blocks [2, 3, 4], ``placements: 1``, scores
    {a: 3}; a closed in block 2): c(2) costs 0 + 1 (block 1, outside their blocks),
    a(3) costs -3 + 2 (blocks 1, 2), a(4) -3 + 3; best a(3), -1. L2 (``placements:
    1``, scores {s: 5}, s lasts 2 blocks and is closed in blocks 1 and 2): s(3-4) costs
    -5 + 2 (blocks 1, 2; block 4 is in the placement): -3; a or c cost 0 at best.
    Objective -4, terms preference -8 and idle_blocks 4.
    """
    data = v2([roomy("a", capacity={2: 0}), roomy("c", "community"),
               roomy("s", "primary", placement_blocks=2, capacity={1: 0, 2: 0})],
              [learner("L1", blocks=[2, 3, 4], placements=1, scores={"a": 3}),
               learner("L2", placements=1, scores={"s": 5})], blocks=4,
              objective={"preference": "score", "weights": {"idle_blocks": 1}})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("a", [3])]
    assert placements(result, "L2") == [("s", [3, 4])]
    assert result.learner_costs == {"L1": -1, "L2": -3}
    assert result.terms == {"preference": -8, "idle_blocks": 4}
    assert result.objective == -4


def test_learner_weights_override_objective_weights(tmp_path: Path) -> None:
    """A learner's ``weights`` override the objective's, term by term.

    Three blocks, ``placements: 1``, objective idle weight 1; a scores 1 and opens in
    block 3 only, c (score 0) is open every block. L1 weights {idle_blocks: 0}: a(3)
    costs -1. L2 (no weights): a(3) costs -1 + 2, c(1) 0: c(1). L3 weights
    {organisation_changes: 5} keeps the objective's idle weight: c(1), 0. Objective -1.
    """
    data = v2([roomy("a", capacity={1: 0, 2: 0}), roomy("c", "community")],
              [learner("L1", placements=1, scores={"a": 1}, weights={"idle_blocks": 0}),
               learner("L2", placements=1, scores={"a": 1}),
               learner("L3", placements=1, scores={"a": 1},
                       weights={"organisation_changes": 5})],
              blocks=3, objective={"preference": "score", "weights": {"idle_blocks": 1}})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("a", [3])]
    assert placements(result, "L2") == [("c", [1])]
    assert placements(result, "L3") == [("c", [1])]
    assert result.learner_costs == {"L1": -1, "L2": 0, "L3": 0}
    assert result.objective == -1


# Two learners, one block, a takes one of them. L1 scores {a: 10, b: 4}, L2 {a: 4}:
# X = L1 at a, L2 at b: costs -10, 0 (total -10, largest 0);
# Y = L2 at a, L1 at b: costs -4, -4 (total -8, largest -4).
FAIR_SITES = [site("a"), roomy("b", "community")]
FAIR_LEARNERS = [learner("L1", scores={"a": 10, "b": 4}), learner("L2", scores={"a": 4})]


@pytest.mark.parametrize(("objective", "at_a", "expected", "worst"), [
    ({}, "L1", -10, None),                                         # total: X
    ({"fairness": "weighted", "worst_weight": 0}, "L1", -10, 0),    # X: -10 + 0
    ({"fairness": "weighted"}, "L2", -12, -4),                     # Y: -8 - 4 < X: -10 + 0
    ({"fairness": "weighted", "worst_weight": 2}, "L2", -16, -4),   # Y: -8 - 8
    ({"fairness": "minimax"}, "L2", -8, None),                     # largest -4 first; total -8
])
def test_fairness_weighted_and_minimax_with_scores(tmp_path: Path, objective: Data, at_a: str,
                                                   expected: int, worst: int | None) -> None:
    """Weighted fairness adds worst_weight x the largest learner cost; minimax puts it first.

    Costs are negative here (scores); the two plans X and Y are worked out by
    FAIR_LEARNERS, each case's figures beside its parameters.

    Parameters
    ----------
    objective
        The objective's fairness keys.
    at_a
        The learner placed at a in the optimum.
    expected
        The optimum.
    worst
        The largest learner cost the ``worst_learner`` term weighs (None: no such term).
    """
    data = v2(FAIR_SITES, FAIR_LEARNERS, blocks=1,
              objective={"preference": "score"} | objective)
    result = solve_ok(data, tmp_path)
    assert placements(result, at_a) == [("a", [1])]
    assert result.objective == expected
    assert result.worst_learner_cost == (-4 if at_a == "L2" else 0)
    if worst is not None:
        assert result.terms["worst_learner"] == objective.get("worst_weight", 1) * worst


@pytest.mark.parametrize(("fairness", "penalty", "left_out", "expected"), [
    ({}, 3, True, 3),                                        # out 3 < in 5
    ({}, 6, False, 5),                                       # in 5 < out 6
    ({"fairness": "weighted", "worst_weight": 2}, 3, True, 9),   # out 3 + 2*3 < in 5 + 2*5
    ({"fairness": "weighted", "worst_weight": 2}, 6, False, 15),  # in 5 + 10 < out 6 + 12
    ({"fairness": "minimax"}, 3, True, 3),                   # largest: out 3 < in 5
    ({"fairness": "minimax"}, 6, False, 5),                  # largest: in 5 < out 6
])
def test_left_out_counts_unplaced_penalty_in_fairness(tmp_path: Path, fairness: Data,
                                                      penalty: int, left_out: bool,
                                                      expected: int) -> None:
    """A learner left out counts ``unplaced_penalty``, in the total and as their cost.

    Their cost counts in the largest learner cost (weighted and minimax). One block;
    L1 costs 0 anywhere; L2 can only use b, scored -5 (cost 5). Leaving L2 out costs
    the penalty; with weighted fairness also worst_weight x max(0, penalty).

    Parameters
    ----------
    fairness
        The objective's fairness keys.
    penalty
        ``unplaced_penalty``.
    left_out
        Whether the optimum leaves L2 out.
    expected
        The optimum.
    """
    data = v2([roomy("a"), roomy("b", "community")],
              [learner("L1"), learner("L2", avoid=["a"], scores={"b": -5})], blocks=1,
              objective={"preference": "score", "allow_unplaced": True,
                         "unplaced_penalty": penalty} | fairness)
    result = solve_ok(data, tmp_path)
    assert result.objective == expected
    assert result.unplaced_ids == (["L2"] if left_out else [])


def test_minimax_with_idle_block_costs(tmp_path: Path) -> None:
    """Minimax and weighted fairness weigh learner costs that include idle blocks.

    Two blocks, one site a taking one learner a block; both learners have
    ``placements: 1`` and idle weight 3. L1 scores {a: 1}. L1 first: costs -1 and
    0 + 3 (L2 idle in block 1), largest 3, total 2. L2 first: 0 and -1 + 3, largest 2,
    total 2. Minimax: L2 first, objective 2; weighted: 2 + 2 = 4 (not 2 + 3).
    """
    for fairness, expected in (("minimax", 2), ("weighted", 4)):
        data = v2([site("a")], [learner("L1", placements=1, scores={"a": 1}),
                                learner("L2", placements=1)],
                  objective={"preference": "score", "weights": {"idle_blocks": 3},
                             "fairness": fairness})
        result = solve_ok(data, tmp_path / fairness)
        assert placements(result, "L2") == [("a", [1])]
        assert placements(result, "L1") == [("a", [2])]
        assert result.learner_costs == {"L1": 2, "L2": 0}
        assert result.worst_learner_cost == 2
        assert result.objective == expected


def test_fellow_scores_count_per_block_and_role(tmp_path: Path) -> None:
    """A fellow's base and partner cost in every block (§9.3); start_block is the row's block.

    Two blocks; fellow F based at p (primary, score 1), partner a (acute, score 2):
    -(1 + 2) per block, objective -6.
    """
    data = v2([roomy("p", "primary"), roomy("a")],
              [learner("F", track="fellowship", scores={"p": 1, "a": 2})],
              fellowship={"base_setting": "primary", "partner_settings": ["acute"],
                          "partner_sessions": 1},
              objective={"preference": "score"})
    result = solve_ok(data, tmp_path)
    assert result.objective == -6
    assert result.plan is not None
    rows = result.plan.assignments
    assert (rows["start_block"] == rows["block"]).all()
    assert set(zip(rows["role"], rows["site_id"], strict=True)) == {("base", "p"),
                                                                     ("partner", "a")}


# ----- plan files --------------------------------------------------------------------------------


def test_v1_scenario_plan_has_no_start_block(tmp_path: Path) -> None:
    """A scenario without §9 keys gives the v1 plan: five columns, one-block placements.

    Two blocks, a closed in block 1 (capacity 0), preferences [c, a]: c in block 1,
    a in block 2, cost 0 + 1 (§7). The plan's rows are exactly those.
    """
    data = v2([site("a", capacity={1: 0}), site("c", "community")],
              [learner("L1", preferences=["c", "a"])])
    assert not scenario_from(data).uses_v2
    result = run(data)
    assert result.status == "OPTIMAL"
    assert result.plan is not None
    assert list(result.plan.assignments.columns) == ASSIGNMENT_COLUMNS
    assert result.plan.assignments.values.tolist() == [
        ["L1", 1, "rotation", "c", "c-sup"], ["L1", 2, "rotation", "a", "a-sup"]]
    assert result.objective == 1 and result.terms == {"preference": 1}


@needs_shared
def test_v1_contract_example_unchanged(tmp_path: Path) -> None:
    """../shared/spec/example.yaml (version 1) still solves to 38, without start_block."""
    data = yaml.safe_load((SHARED / "spec" / "example.yaml").read_text())
    result = run(data)
    assert result.status == "OPTIMAL" and result.objective == 38
    assert result.plan is not None
    assert list(result.plan.assignments.columns) == ASSIGNMENT_COLUMNS


@needs_shared
def test_v2_contract_example_start_blocks(tmp_path: Path) -> None:
    """The contract's example-v2.yaml solves to -57 with start_block consistent with lengths.

    Every rotation row's start_block begins a run of exactly the site's placement
    length (rule 13); a fellow's rows start in their own block.
    """
    data = yaml.safe_load((SHARED / "spec" / "example-v2.yaml").read_text())
    result = run(data, time_limit=30.0)
    assert result.status == "OPTIMAL" and result.objective == -57
    check_v2_plan(data, result, tmp_path / "plan")
    lengths = {s["id"]: s.get("placement_blocks") for s in data["sites"]}
    by_setting = {s["id"]: s.get("placement_blocks", 1) for s in data["settings"]}
    assert result.plan is not None
    rows = result.plan.assignments
    for (lid, role, start), group in rows.groupby(["learner_id", "role", "start_block"]):
        blocks = sorted(group["block"])
        if role != "rotation":
            assert blocks == [start]
            continue
        (sid,) = set(group["site_id"])
        setting = next(s["setting"] for s in data["sites"] if s["id"] == sid)
        k = lengths[sid] or by_setting[setting]
        assert blocks == list(range(start, start + k)), (lid, sid, blocks)


# ----- regressions: solver bugs these tests found (fixed) ----------------------------------------


def test_regression_pinned_block_of_learner_with_placements_is_occupied(tmp_path: Path) -> None:
    """A pinned block is occupied by a placement at the pinned site, even with placements.

    ``pinned: {2: a}`` means block 2 is occupied by a placement at a (§9.1). Two
    blocks, ``placements: 1``, preferences [b, a]: the one placement must be a in block
    2 (cost 1); b in block 1 (cost 0) leaves the pinned block idle.
    """
    data = v2([roomy("a"), roomy("b", "community")],
              [learner("L1", placements=1, pinned={2: "a"}, preferences=["b", "a"])])
    result = solve_ok(data, tmp_path)
    assert placements(result, "L1") == [("a", [2])]
    assert result.objective == 1


@pytest.mark.parametrize("case", ["closed-next-block", "pinned-next-block", "gap-in-blocks"])
def test_regression_unfit_multi_block_candidate(tmp_path: Path, case: str) -> None:
    """A two-block site that cannot fit some block of the learner's is simply not used there.

    acute (site a) lasts 2 blocks, c lasts 1, repeats allowed. a cannot hold any block:
    closed in block 2 (capacity 0); or block 2 pinned to c; or the learner's blocks are
    [1, 3]. The optimum is c in every block, objective 0.

    Parameters
    ----------
    case
        Which of the three ways a cannot fit.
    """
    a = roomy("a", capacity={2: 0}) if case == "closed-next-block" else roomy("a")
    extra: Data = {"pinned": {2: "c"}} if case == "pinned-next-block" else {}
    if case == "gap-in-blocks":
        extra = {"blocks": [1, 3]}
    data = v2([a, roomy("c", "community")], [learner("L1", **extra)],
              blocks=3 if case == "gap-in-blocks" else 2, lengths={"acute": 2},
              rotation={"no_repeat_site": False})
    result = solve_ok(data, tmp_path)
    assert {s for s, _ in placements(result, "L1")} == {"c"}
    assert result.objective == 0


def test_regression_weighted_worst_below_zero_with_allow_unplaced(tmp_path: Path) -> None:
    """``fairness: weighted``: the largest learner cost may be negative with allow_unplaced.

    One block, L1 scores a 2 (cost -2), placed: objective -2 + 1 x (-2) = -4.
    """
    data = v2([roomy("a")], [learner("L1", scores={"a": 2})], blocks=1,
              objective={"preference": "score", "allow_unplaced": True,
                         "fairness": "weighted"})
    result = solve_ok(data, tmp_path)
    assert result.objective == -4


def test_regression_minimax_worst_below_zero_with_allow_unplaced(tmp_path: Path) -> None:
    """Minimax compares largest learner costs below 0 too, with allow_unplaced.

    One block, a takes one learner. L1 scores {a: 5, b: 1}, L2 {a: 2}. L1 at a: costs -5
    and 0 (largest 0, total -5); L2 at a: -1 and -2 (largest -1, total -3). Minimax puts
    the largest first: L2 at a, objective -3.
    """
    data = v2([site("a"), roomy("b", "community")],
              [learner("L1", scores={"a": 5, "b": 1}), learner("L2", scores={"a": 2})],
              blocks=1, objective={"preference": "score", "allow_unplaced": True,
                                   "fairness": "minimax"})
    result = solve_ok(data, tmp_path)
    assert placements(result, "L2") == [("a", [1])]
    assert result.worst_learner_cost == -1
    assert result.objective == -3


def test_regression_edited_v1_scenario_keeps_the_v1_plan() -> None:
    """A v1 scenario changed by an edit (models.edits) is still v1: five plan columns.

    The scenario of test_v1_scenario_plan_has_no_start_block with one supervisor's
    capacity raised by one (an edit the capacity questions and explanations make).
    """
    data = v2([site("a", capacity={1: 0}), site("c", "community")],
              [learner("L1", preferences=["c", "a"])])
    edited = changed(scenario_from(data), more_supervision("a-sup"))
    assert not edited.uses_v2
    result = run(edited)
    assert result.plan is not None
    assert list(result.plan.assignments.columns) == ASSIGNMENT_COLUMNS
