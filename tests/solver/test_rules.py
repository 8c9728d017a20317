"""Every rule of the contract (§5-§7) on tiny hand-worked scenarios.

Each rule has feasible cases where the rule is what shapes the plan (the exact
consequence is asserted, and the plan must pass the project's checker) and
infeasible cases that only that rule makes infeasible (the explanation must
name the rule). Expected optima are worked out by hand in the comments.

Unless a test says otherwise a scenario has the sessions Mon-AM, Mon-PM,
Tue-AM, no teaching, and learners work every session (3 a week).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rotaplan.checker import check_plan_dir, check_rows
from rotaplan.io.plan_dir import write_plan
from rotaplan.models import parse_scenario_text
from rotaplan.solver import SolveResult
from tests.helpers import FELLOWSHIP, learner, run, scenario, scenario_from, site, sup

Data = dict[str, Any]
ALL = ["Mon-AM", "Mon-PM", "Tue-AM"]

# ----- builders ----------------------------------------------------------------------------



def fellow(lid: str, **kw: Any) -> Data:
    return learner(lid, track="fellowship", **kw)






REPEAT_OK = {"no_repeat_site": False}

# ----- solving and reading plans -----------------------------------------------------------


def solve_ok(data: Data, out: Path, **options: Any) -> SolveResult:
    """Solve to optimality and require the written plan to pass the project's checker."""
    sc = scenario_from(data)
    result = run(sc, **options)
    assert result.status == "OPTIMAL", result.explanation and result.explanation.render()
    assert result.plan is not None
    write_plan(out, result.plan, result.summary())
    report = check_plan_dir(sc, out)
    assert report.ok, report.render()
    assert report.objective == result.objective
    return result


def assert_infeasible(data: Data, rule: str) -> SolveResult:
    """Require INFEASIBLE with an explanation that names ``rule``."""
    result = run(data)
    assert result.status == "INFEASIBLE"
    assert result.plan is None or result.plan.assignments.empty
    expl = result.explanation
    assert expl is not None
    rules = [c.rule for c in expl.conflicts]
    named = rule in rules or any(f"[{rule}]" in line for line in expl.details)
    assert named, expl.render()
    return result


def placements(result: SolveResult) -> dict[tuple[str, int, str], tuple[str, str]]:
    """(learner, block, role) -> (site, named supervisor)."""
    assert result.plan is not None
    return {(r.learner_id, int(r.block), r.role): (r.site_id, r.supervisor_id)
            for r in result.plan.assignments.itertuples()}


def site_of(result: SolveResult, lid: str, block: int = 1, role: str = "rotation") -> str:
    return placements(result)[(lid, block, role)][0]


def rows(result: SolveResult, lid: str, block: int = 1) -> list[tuple[str, str, str, str]]:
    """Timetable rows of a learner in a block: (session, activity, site, supervisor present)."""
    assert result.plan is not None
    t = result.plan.timetable
    sel = t[(t.learner_id == lid) & (t.block == block)]
    return [(r.session, r.activity, r.site_id or "", r.supervisor_id or "")
            for r in sel.itertuples()]


def sessions(result: SolveResult, lid: str, block: int = 1) -> list[str]:
    """Sessions worked (clinical or teaching), in programme order."""
    return [r[0] for r in rows(result, lid, block)]


def at_site(result: SolveResult, sid: str, block: int = 1) -> int:
    """Placements (any role) at a site in a block."""
    return sum(1 for (_, b, _), (s, _) in placements(result).items() if b == block and s == sid)


# ----- §5 placement ------------------------------------------------------------------------


def _oversubscribed(**objective: Any) -> Data:
    # ward takes one learner in block 1 (the capacity map leaves block 2 unlimited).
    # L1 has no preferences (cost 0); L2 prefers [community] so ward costs L2 1 a block.
    data = scenario([site("ward", capacity={1: 1}, sups=[sup("ward-sup", capacity=2)])],
                    [learner("L1"), learner("L2", preferences=["community"])],
                    blocks=2, rotation=REPEAT_OK)
    if objective:
        data["objective"] = objective
    return data


def test_placement_left_out_learner_has_no_rows(tmp_path: Path) -> None:
    """A learner left out has no placement and no timetable row in any block, even with room."""
    # Leave L2 out: 1000 + L1 0+0 = 1000. Leave L1 out: 1000 + L2 1+1 = 1002.
    # L2 is not placed in block 2 either, though ward has room then: left out is entirely.
    result = solve_ok(_oversubscribed(allow_unplaced=True), tmp_path)
    assert result.objective == 1000
    assert result.unplaced == 1
    assert result.preference_cost == 0
    got = placements(result)
    assert set(got) == {("L1", 1, "rotation"), ("L1", 2, "rotation")}
    assert rows(result, "L2", 1) == [] and rows(result, "L2", 2) == []
    assert sessions(result, "L1", 1) == ALL and sessions(result, "L1", 2) == ALL


def test_placement_everyone_placed_without_allow_unplaced() -> None:
    """Without allow_unplaced, two learners for one seat fail on placement and site-capacity."""
    # Same cohort, but every learner must be placed: two learners, one seat in block 1.
    result = assert_infeasible(_oversubscribed(), "placement")
    assert "site-capacity" in [c.rule for c in result.explanation.conflicts]


def test_placement_learner_with_no_option_is_left_out(tmp_path: Path) -> None:
    """A learner with no usable site is left out when allowed: an empty plan, objective 1000."""
    # L1 avoids the only site: with allow_unplaced the plan is empty, objective 1000.
    data = scenario([site("ward")], [learner("L1", avoid=["ward"])],
                    objective={"allow_unplaced": True})
    result = solve_ok(data, tmp_path)
    assert result.objective == 1000
    assert result.unplaced == 1
    assert result.plan is not None and result.plan.assignments.empty
    assert result.plan.timetable.empty


def test_placement_only_in_own_blocks(tmp_path: Path) -> None:
    """Learners are placed only in their own blocks, so two one-block learners share one seat."""
    # ward takes one learner a block; L1 is in block 1 only, L2 in block 2 only: both fit.
    data = scenario([site("ward", capacity=1)],
                    [learner("L1", blocks=[1]), learner("L2", blocks=[2])], blocks=2)
    result = solve_ok(data, tmp_path)
    assert set(placements(result)) == {("L1", 1, "rotation"), ("L2", 2, "rotation")}
    assert rows(result, "L1", 2) == [] and rows(result, "L2", 1) == []
    assert result.objective == 0


def test_placement_fellow_left_out(tmp_path: Path) -> None:
    """A fellow costing more than the unplaced penalty is left out entirely, base and partner."""
    # F1 prefers [clinic]: base gp 1 + partner ward 1 = 2 > unplaced_penalty 1 -> left out.
    data = scenario([site("gp", "primary"), site("ward"), site("clinic", "community",
                                                                 accepts=["paramedic"])],
                    [fellow("F1", preferences=["clinic"])], fellowship=FELLOWSHIP,
                    objective={"allow_unplaced": True, "unplaced_penalty": 1})
    result = solve_ok(data, tmp_path)
    assert result.objective == 1
    assert result.unplaced == 1
    assert placements(result) == {}


# ----- 1 eligibility -----------------------------------------------------------------------


def _two_sites(**ward: Any) -> list[Data]:
    return [site("ward", **ward), site("clinic")]


@pytest.mark.parametrize(("ward", "extra", "expected", "objective"), [
    # L1 prefers [ward, clinic]: ward costs 0, clinic 1.
    ({}, {}, "ward", 0),
    ({"accepts": ["physiotherapist"]}, {}, "clinic", 1),
    ({"accepts": ["physiotherapist", "nurse"]}, {}, "ward", 0),
    ({}, {"avoid": ["ward"]}, "clinic", 1),
    ({}, {"pinned": {1: "clinic"}}, "clinic", 1),
], ids=["free", "accepts", "accepts-listed", "avoid", "pinned"])
def test_eligibility_excludes_preferred_site(tmp_path: Path, ward: Data, extra: Data,
                                             expected: str, objective: int) -> None:
    """The preferred ward is used unless it refuses nurses, is avoided, or clinic is pinned."""
    data = scenario(_two_sites(**ward), [learner("L1", preferences=["ward", "clinic"], **extra)])
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == expected
    assert result.objective == objective


def test_eligibility_pinned_in_one_block_only(tmp_path: Path) -> None:
    """A pin binds only its block: the preferred ward in block 1, the pinned clinic in block 2."""
    # Two blocks, L1 prefers [ward, clinic] and is pinned to clinic in block 2 only.
    # Block 1 ward (0), block 2 clinic (1) -> 1; no-repeat-site keeps ward out of block 2 anyway.
    data = scenario(_two_sites(), [learner("L1", preferences=["ward", "clinic"],
                                           pinned={2: "clinic"})], blocks=2)
    result = solve_ok(data, tmp_path)
    assert (site_of(result, "L1", 1), site_of(result, "L1", 2)) == ("ward", "clinic")
    assert result.objective == 1


def test_eligibility_fellow_sites_by_role_setting(tmp_path: Path) -> None:
    """A fellow's partner is in a partner setting and the base in the base setting, at a cost."""
    # Partner settings are [acute] only. F1 prefers [clinic, ward, gp]:
    # clinic (community) would cost 0 but is no partner setting -> partner ward (1);
    # the base must be in primary -> gp (2). Objective 3.
    data = scenario([site("gp", "primary"), site("ward", "acute"), site("clinic", "community")],
                    [fellow("F1", preferences=["clinic", "ward", "gp"])],
                    fellowship=FELLOWSHIP | {"partner_settings": ["acute"]})
    result = solve_ok(data, tmp_path)
    assert site_of(result, "F1", role="base") == "gp"
    assert site_of(result, "F1", role="partner") == "ward"
    assert result.objective == 3


def test_eligibility_rotation_any_setting(tmp_path: Path) -> None:
    """A rotation learner may use a site in the fellowship's base setting."""
    # A rotation learner may use a site of any setting, including the fellowship ones.
    data = scenario([site("gp", "primary")], [learner("L1")], fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == "gp"


@pytest.mark.parametrize("case", ["accepts", "avoid", "no-base-setting", "no-partner-setting"])
def test_eligibility_infeasible(case: str) -> None:
    """With no eligible site for a role (accepts, avoid, base or partner setting) there is no plan.

    The explanation names eligibility.
    """
    if case == "accepts":
        data = scenario([site("ward", accepts=["physiotherapist"])], [learner("L1")])
    elif case == "avoid":
        data = scenario([site("ward"), site("clinic")],
                        [learner("L1", avoid=["ward", "clinic"])])
    elif case == "no-base-setting":  # no primary site for the base
        data = scenario([site("ward"), site("clinic", "community")], [fellow("F1")],
                        fellowship=FELLOWSHIP)
    else:  # no site in a partner setting
        data = scenario([site("gp", "primary"), site("gp2", "primary")], [fellow("F1")],
                        fellowship=FELLOWSHIP)
    assert_infeasible(data, "eligibility")


# ----- 2 site-capacity ---------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [1, {1: 1}], ids=["int", "map"])
def test_site_capacity_sends_second_learner_elsewhere(tmp_path: Path, capacity: Any) -> None:
    """A site of capacity 1 (int or block map) takes one of the two learners who prefer it."""
    # Both prefer [ward, clinic]; ward takes one: 0 + 1 = 1.
    ward = site("ward", capacity=capacity, sups=[sup("ward-sup", capacity=2)])
    data = scenario([ward, site("clinic", sups=[sup("clinic-sup", capacity=2)])],
                    [learner(x, preferences=["ward", "clinic"]) for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    assert sorted([site_of(result, "L1"), site_of(result, "L2")]) == ["clinic", "ward"]
    assert result.objective == 1


def test_site_capacity_map_only_limits_listed_blocks(tmp_path: Path) -> None:
    """A capacity map limits only the blocks it lists: block 1 takes both learners, block 2 one."""
    # capacity {2: 1}: block 1 unlimited -> both at ward (0 + 0); block 2 one moves (1).
    ward = site("ward", capacity={2: 1}, sups=[sup("ward-sup", capacity=2)])
    data = scenario([ward, site("clinic", sups=[sup("clinic-sup", capacity=2)])],
                    [learner(x, preferences=["ward", "clinic"]) for x in ("L1", "L2")],
                    blocks=2, rotation=REPEAT_OK)
    result = solve_ok(data, tmp_path)
    assert at_site(result, "ward", 1) == 2
    assert at_site(result, "ward", 2) == 1
    assert result.objective == 1


@pytest.mark.parametrize("role", ["partner", "base"])
def test_site_capacity_counts_fellow_roles(tmp_path: Path, role: str) -> None:
    """A fellow's partner or base counts toward a site's capacity beside rotation learners."""
    # A capacity-1 site wanted by a rotation learner (L1) and by a fellow (F1) in `role`.
    if role == "partner":
        # L1 [ward, ward2]: 0/1. F1 [ward, ward2, gp]: partner 0/1, base gp 2.
        # One of them takes ward2: 1 + base 2 = 3.
        sites = [site("gp", "primary"), site("ward", capacity=1, sups=[sup("w", capacity=2)]),
                 site("ward2")]
        prefs = {"L1": ["ward", "ward2"], "F1": ["ward", "ward2", "gp"]}
        full = "ward"
    else:
        # L1 [gp, gp2]: 0/1. F1 [gp, gp2, ward]: base 0/1, partner ward 2.
        # One of them takes gp2: 1 + partner 2 = 3.
        sites = [site("gp", "primary", capacity=1, sups=[sup("g", capacity=2)]),
                 site("gp2", "primary"), site("ward")]
        prefs = {"L1": ["gp", "gp2"], "F1": ["gp", "gp2", "ward"]}
        full = "gp"
    data = scenario(sites, [learner("L1", preferences=prefs["L1"]),
                            fellow("F1", preferences=prefs["F1"])], fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    assert at_site(result, full) == 1
    assert result.objective == 3


@pytest.mark.parametrize("case", ["int", "map", "fellow-base"])
def test_site_capacity_infeasible(case: str) -> None:
    """More learners than a site's capacity allows is infeasible, explained by site-capacity.

    The cases: capacity 1 as an int or a block map for two learners, and a fellow whose only base is
    the capacity-1 site a learner is pinned to.
    """
    if case == "fellow-base":
        # L1 is pinned to gp, F1's only base is gp, and gp takes one learner.
        data = scenario([site("gp", "primary", capacity=1, sups=[sup("g", capacity=2)]),
                         site("ward")],
                        [learner("L1", pinned={1: "gp"}), fellow("F1")], fellowship=FELLOWSHIP)
    else:
        cap = 1 if case == "int" else {1: 1}
        data = scenario([site("ward", capacity=cap, sups=[sup("ward-sup", capacity=2)])],
                        [learner("L1"), learner("L2")])
    assert_infeasible(data, "site-capacity")


# ----- 3 supervisor-match ------------------------------------------------------------------


@pytest.mark.parametrize(("ward_sup", "supervision", "expected", "named", "objective"), [
    # L1 (nurse) prefers [ward, clinic]: ward 0, clinic 1.
    (sup("ward-sup", unavailable_blocks=[1]), {}, "clinic", "clinic-sup", 1),
    (sup("ward-sup", "physiotherapist"), {}, "clinic", "clinic-sup", 1),
    # The supervision map replaces the same-profession default for nurses.
    (sup("ward-sup", "physiotherapist"), {"nurse": ["physiotherapist"]}, "ward", "ward-sup", 0),
    (sup("ward-sup", "physiotherapist"), {"nurse": ["nurse", "physiotherapist"]}, "ward",
     "ward-sup", 0),
], ids=["unavailable", "profession", "map-allows", "map-adds"])
def test_supervisor_match_shapes_site(tmp_path: Path, ward_sup: Data, supervision: Data,
                                      expected: str, named: str, objective: int) -> None:
    """Ward is used, named to its supervisor, only if that supervisor is available and allowed.

    The supervision map decides whether a physiotherapist supervisor may supervise nurses.
    """
    data = scenario([site("ward", sups=[ward_sup]), site("clinic")],
                    [learner("L1", preferences=["ward", "clinic"])], supervision=supervision)
    result = solve_ok(data, tmp_path)
    assert placements(result)[("L1", 1, "rotation")] == (expected, named)
    assert result.objective == objective


def test_supervisor_match_map_replaces_default(tmp_path: Path) -> None:
    """A supervision entry replaces the same-profession default for that learner profession.

    Under {nurse: [physiotherapist]} the ward's nurse supervisor may no longer supervise L1.
    """
    # supervision {nurse: [physiotherapist]}: the ward's nurse supervisor may no longer
    # supervise nurses, so L1 goes to clinic (physio supervisor) although it costs 1.
    data = scenario([site("ward"), site("clinic", sups=[sup("clinic-sup", "physiotherapist")])],
                    [learner("L1", preferences=["ward", "clinic"])],
                    supervision={"nurse": ["physiotherapist"]})
    result = solve_ok(data, tmp_path)
    assert placements(result)[("L1", 1, "rotation")] == ("clinic", "clinic-sup")
    assert result.objective == 1


def test_supervisor_match_paramedic_by_nurse(tmp_path: Path) -> None:
    """A nurse supervisor allowed by the supervision map is named and present for a paramedic."""
    # supervision {paramedic: [paramedic, nurse]}: a nurse supervises the paramedic at ward.
    data = scenario([site("ward")], [learner("P1", "paramedic")],
                    supervision={"paramedic": ["paramedic", "nurse"]})
    result = solve_ok(data, tmp_path)
    assert placements(result)[("P1", 1, "rotation")] == ("ward", "ward-sup")
    assert {r[3] for r in rows(result, "P1")} == {"ward-sup"}


def test_supervisor_match_unavailable_block_named_colleague(tmp_path: Path) -> None:
    """In a block its supervisor is away, an available colleague is named and present."""
    # sup-a is away in block 2, so sup-b is named (and present) then.
    ward = site("ward", sups=[sup("sup-a", unavailable_blocks=[2]), sup("sup-b")])
    data = scenario([ward], [learner("L1")], blocks=2, rotation=REPEAT_OK)
    result = solve_ok(data, tmp_path)
    assert placements(result)[("L1", 2, "rotation")] == ("ward", "sup-b")
    assert {r[3] for r in rows(result, "L1", 2)} == {"sup-b"}


@pytest.mark.parametrize(("ward_sup", "supervision"), [
    (sup("ward-sup", unavailable_blocks=[1]), {}),
    (sup("ward-sup", "physiotherapist"), {}),
    (sup("ward-sup"), {"nurse": ["physiotherapist"]}),
], ids=["unavailable", "profession", "map-replaces-default"])
def test_supervisor_match_infeasible(ward_sup: Data, supervision: Data) -> None:
    """With no available supervisor allowed to supervise the learner there is no plan.

    The explanation names supervisor-match.
    """
    data = scenario([site("ward", sups=[ward_sup])], [learner("L1")], supervision=supervision)
    assert_infeasible(data, "supervisor-match")


# ----- 4 supervisor-capacity ---------------------------------------------------------------


def test_supervisor_capacity_limits_named_not_sessions(tmp_path: Path) -> None:
    """A supervisor of capacity 1 is named for one placement, even if sessions never overlap."""
    # Two part-time learners (1 session each) prefer [ward, clinic]. Rule 7 alone would let
    # both be at ward in different sessions, but ward-sup (capacity 1) may be named for one
    # placement only: 0 + 1 = 1.
    data = scenario(_two_sites(),
                    [learner(x, sessions_per_week=1, preferences=["ward", "clinic"])
                     for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    assert at_site(result, "ward") == 1
    assert result.objective == 1


@pytest.mark.parametrize(("ward_sups", "named"), [
    ([sup("sup-a"), sup("sup-b")], {"sup-a", "sup-b"}),
    ([sup("sup-a", capacity=2)], {"sup-a"}),
], ids=["two-of-one", "one-of-two"])
def test_supervisor_capacity_shared_site(tmp_path: Path, ward_sups: list[Data],
                                         named: set[str]) -> None:
    """Two learners share a site whose supervisors have room for two, named within capacity."""
    # Both learners fit at ward (objective 0), with named supervisors within capacity.
    data = scenario([site("ward", sups=ward_sups), site("clinic")],
                    [learner(x, preferences=["ward", "clinic"]) for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    got = placements(result)
    assert {got[(x, 1, "rotation")][0] for x in ("L1", "L2")} == {"ward"}
    assert {got[(x, 1, "rotation")][1] for x in ("L1", "L2")} == named
    assert result.objective == 0


def test_supervisor_capacity_zero(tmp_path: Path) -> None:
    """A supervisor of capacity 0 takes no one: the learner goes to the other site at a cost."""
    # The ward's only supervisor has capacity 0: L1 (prefers [ward]) goes to clinic, cost 1.
    data = scenario([site("ward", sups=[sup("ward-sup", capacity=0)]), site("clinic")],
                    [learner("L1", preferences=["ward"])])
    result = solve_ok(data, tmp_path)
    assert placements(result)[("L1", 1, "rotation")] == ("clinic", "clinic-sup")
    assert result.objective == 1


def test_supervisor_capacity_mixed_professions(tmp_path: Path) -> None:
    """Supervisor places are shared across the professions a supervisor may supervise.

    The two paramedics take ward's two places (p and n), so the nurse, whom only n may supervise,
    goes to clinic.
    """
    # supervision {paramedic: [paramedic, nurse]}. ward: n (nurse) and p (paramedic),
    # capacity 1 each: two placements in all, and the nurse N1 can only have n.
    # N1 prefers [ward]: clinic costs 1. P1, P2 prefer [ward, acute, primary]: clinic
    # (community) costs them 3. Best: P1, P2 at ward named p and n; N1 at clinic -> 1.
    data = scenario([site("ward", sups=[sup("n"), sup("p", "paramedic")]),
                     site("clinic", "community", sups=[sup("c", capacity=3)])],
                    [learner("N1", preferences=["ward"])]
                    + [learner(x, "paramedic", preferences=["ward", "acute", "primary"])
                       for x in ("P1", "P2")],
                    supervision={"paramedic": ["paramedic", "nurse"]})
    result = solve_ok(data, tmp_path)
    got = placements(result)
    assert got[("N1", 1, "rotation")] == ("clinic", "c")
    assert {got[(x, 1, "rotation")] for x in ("P1", "P2")} == {("ward", "n"), ("ward", "p")}
    assert result.objective == 1


@pytest.mark.parametrize("second", ["nurse", "paramedic"])
def test_supervisor_capacity_infeasible(second: str) -> None:
    """Two part-timers for one supervisor of capacity 1 are infeasible even with sessions apart.

    The explanation names supervisor-capacity; a paramedic the nurse may supervise counts too.
    """
    # One supervisor of capacity 1, two part-time learners: the sessions could be split
    # (rule 7 holds), but only one placement can name the supervisor. A paramedic counts
    # against the same nurse supervisor under supervision {paramedic: [nurse]}.
    data = scenario([site("ward")],
                    [learner("L1", sessions_per_week=1),
                     learner("L2", second, sessions_per_week=1)],
                    supervision={"paramedic": ["nurse"]})
    assert_infeasible(data, "supervisor-capacity")


# ----- 5 working-pattern -------------------------------------------------------------------


C, T = "clinical", "teaching"


@pytest.mark.parametrize(("teaching", "extra", "ward", "expected"), [
    ([], {}, {}, [("Mon-AM", C), ("Mon-PM", C), ("Tue-AM", C)]),
    ([], {"available_sessions": ["Mon-AM", "Tue-AM"]}, {}, [("Mon-AM", C), ("Tue-AM", C)]),
    (["Mon-PM"], {}, {}, [("Mon-AM", C), ("Mon-PM", T), ("Tue-AM", C)]),
    (["Mon-PM"], {"available_sessions": ["Mon-AM", "Mon-PM"]}, {},
     [("Mon-AM", C), ("Mon-PM", T)]),
    # Teaching outside available_sessions is not attended.
    (["Mon-PM"], {"available_sessions": ["Mon-AM", "Tue-AM"]}, {},
     [("Mon-AM", C), ("Tue-AM", C)]),
    # Teaching counts toward sessions_per_week: 2 = Mon-PM teaching + 1 clinical; the ward
    # is closed on Mon-AM, so the clinical session is Tue-AM.
    (["Mon-PM"], {"sessions_per_week": 2}, {"open_sessions": ["Mon-PM", "Tue-AM"]},
     [("Mon-PM", T), ("Tue-AM", C)]),
    # sessions_per_week 1 is the teaching session alone: no clinical session.
    (["Mon-PM"], {"sessions_per_week": 1}, {}, [("Mon-PM", T)]),
    ([], {"sessions_per_week": 0}, {}, []),
], ids=["default", "available", "teaching", "teaching-available", "teaching-unavailable",
        "teaching-counts", "teaching-only", "zero"])
def test_working_pattern_timetable(tmp_path: Path, teaching: list[str], extra: Data,
                                   ward: Data, expected: list[tuple[str, str]]) -> None:
    """A timetable is the working sessions: available ones, teaching included and counted."""
    data = scenario([site("ward", **ward)], [learner("L1", **extra)], teaching=teaching)
    result = solve_ok(data, tmp_path)
    assert placements(result)[("L1", 1, "rotation")] == ("ward", "ward-sup")
    want = [(d, a, "ward", "ward-sup") if a == C else (d, a, "", "") for d, a in expected]
    assert rows(result, "L1") == want
    assert result.objective == 0


def test_working_pattern_part_time_count(tmp_path: Path) -> None:
    """A learner with sessions_per_week 2 works exactly two distinct sessions."""
    # sessions_per_week 2 of 3 available: exactly two clinical sessions, no repeats.
    data = scenario([site("ward")], [learner("L1", sessions_per_week=2)])
    result = solve_ok(data, tmp_path)
    worked = sessions(result, "L1")
    assert len(worked) == len(set(worked)) == 2
    assert set(worked) <= set(ALL)


def test_working_pattern_infeasible() -> None:
    """Fewer open available sessions than sessions_per_week is infeasible, blamed on site-open.

    The explanation counts 1 of the learner's sessions left for 2 needed.
    """
    # L1 must work exactly 2 of [Mon-AM, Mon-PM]; the only site opens Mon-AM and Tue-AM.
    # The working pattern falls short because Mon-PM is closed, so the explanation
    # names site-open as the rule that took the session away.
    data = scenario([site("ward", open_sessions=["Mon-AM", "Tue-AM"])],
                    [learner("L1", available_sessions=["Mon-AM", "Mon-PM"])])
    result = assert_infeasible(data, "site-open")
    assert result.explanation is not None
    assert "1 of the learner's sessions left, 2 needed" in result.explanation.render(details=True)


# ----- 6 site-open -------------------------------------------------------------------------


def test_site_open_restricts_sessions(tmp_path: Path) -> None:
    """A part-timer works only the sessions the site is open, overseen by its supervisor."""
    # Ward opens Mon-AM and Tue-AM; L1 works 2 sessions -> exactly those, with the
    # supervisor (sessions default to the site's open sessions) present in both.
    data = scenario([site("ward", open_sessions=["Mon-AM", "Tue-AM"])],
                    [learner("L1", sessions_per_week=2)])
    result = solve_ok(data, tmp_path)
    assert rows(result, "L1") == [("Mon-AM", C, "ward", "ward-sup"),
                                  ("Tue-AM", C, "ward", "ward-sup")]


def test_site_open_excludes_site_for_full_timer(tmp_path: Path) -> None:
    """A site open fewer sessions than a full-timer works is not used."""
    # Ward opens Mon-AM only; a full-timer (3 sessions) cannot go there: clinic, cost 1.
    data = scenario(_two_sites(open_sessions=["Mon-AM"]),
                    [learner("L1", preferences=["ward", "clinic"])])
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == "clinic"
    assert result.objective == 1


def test_site_open_fellow_sessions_do_not_fit() -> None:
    """A fellow needing 3 sessions where base and partner open the same 2 fails on site-open."""
    # Base gp and partner ward each open Mon-AM and Mon-PM: enough for 2 base or 1 partner
    # session alone, but the fellow needs 3 distinct sessions and only 2 are ever open.
    data = scenario([site("gp", "primary", open_sessions=["Mon-AM", "Mon-PM"]),
                     site("ward", open_sessions=["Mon-AM", "Mon-PM"])],
                    [fellow("F1")], fellowship=FELLOWSHIP)
    assert_infeasible(data, "site-open")


def test_site_open_infeasible_single_site() -> None:
    """A learner available only when the only site is closed has no plan (site-open)."""
    # L1 is available on Mon-PM only; the only site is closed then.
    data = scenario([site("ward", open_sessions=["Mon-AM", "Tue-AM"])],
                    [learner("L1", available_sessions=["Mon-PM"])])
    assert_infeasible(data, "site-open")


# ----- 7 supervisor-present ----------------------------------------------------------------


def test_supervisor_present_colleague_oversees(tmp_path: Path) -> None:
    """A colleague oversees a learner in the sessions the named supervisor does not work."""
    # sup-a (all sessions) and sup-b (Mon-AM only), capacity 1 each; L1, L2 work 2 sessions.
    # Named: one each (rule 4 holds). Present per session: Mon-AM 2, Mon-PM 1, Tue-AM 1,
    # i.e. 4 seats for 4 sessions: both work Mon-AM, one Mon-PM, the other Tue-AM, and
    # sup-a oversees the learner named to sup-b outside Mon-AM.
    ward = site("ward", sups=[sup("sup-a"), sup("sup-b", sessions=["Mon-AM"])])
    data = scenario([ward], [learner(x, sessions_per_week=2) for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    got = placements(result)
    assert {got[(x, 1, "rotation")][1] for x in ("L1", "L2")} == {"sup-a", "sup-b"}
    t1, t2 = rows(result, "L1"), rows(result, "L2")
    assert "Mon-AM" in sessions(result, "L1") and "Mon-AM" in sessions(result, "L2")
    assert sorted(d for d, *_ in t1 + t2 if d != "Mon-AM") == ["Mon-PM", "Tue-AM"]
    assert {r[3] for r in t1 + t2 if r[0] != "Mon-AM"} == {"sup-a"}
    assert sorted(r[3] for r in t1 + t2 if r[0] == "Mon-AM") == ["sup-a", "sup-b"]
    b_named = next(x for x in ("L1", "L2") if got[(x, 1, "rotation")][1] == "sup-b")
    assert "sup-a" in {r[3] for r in rows(result, b_named)}


@pytest.mark.parametrize(("ward", "expected"), [
    # The supervisor works Mon-AM and Tue-AM only.
    ({"sups": [sup("ward-sup", sessions=["Mon-AM", "Tue-AM"])]}, ["Mon-AM", "Tue-AM"]),
    ({"sups": [sup("ward-sup", sessions=["Mon-PM", "Tue-AM"])]}, ["Mon-PM", "Tue-AM"]),
    # A nurse supervisor works Mon-AM, Tue-AM; the physio (every session) cannot oversee L1.
    ({"sups": [sup("sup-n", sessions=["Mon-AM", "Tue-AM"]),
               sup("sup-p", "physiotherapist", capacity=5)]}, ["Mon-AM", "Tue-AM"]),
    # A colleague of capacity 0 works every session but oversees nobody.
    ({"sups": [sup("ward-sup", sessions=["Mon-AM", "Tue-AM"]), sup("zero", capacity=0)]},
     ["Mon-AM", "Tue-AM"]),
], ids=["sessions", "sessions-2", "profession", "capacity-0-colleague"])
def test_supervisor_present_working_sessions(tmp_path: Path, ward: Data,
                                             expected: list[str]) -> None:
    """A part-timer works only sessions in which a supervisor who can oversee them works.

    A supervisor of another profession, or of capacity 0, oversees no one.
    """
    data = scenario([site("ward", **ward)], [learner("L1", sessions_per_week=2)])
    result = solve_ok(data, tmp_path)
    assert sessions(result, "L1") == expected
    named = placements(result)[("L1", 1, "rotation")][1]
    assert {r[3] for r in rows(result, "L1")} == {named}


def test_supervisor_present_unavailable_block(tmp_path: Path) -> None:
    """In a block one supervisor is away, the learner works the other supervisor's sessions."""
    # sup-a (all sessions) is away in block 2; sup-b works Mon-AM and Mon-PM. In block 2 the
    # learner's 2 sessions must be those, overseen by sup-b.
    ward = site("ward", sups=[sup("sup-a", unavailable_blocks=[2]),
                              sup("sup-b", sessions=["Mon-AM", "Mon-PM"])])
    data = scenario([ward], [learner("L1", sessions_per_week=2)], blocks=2, rotation=REPEAT_OK)
    result = solve_ok(data, tmp_path)
    assert rows(result, "L1", 2) == [("Mon-AM", C, "ward", "sup-b"),
                                     ("Mon-PM", C, "ward", "sup-b")]


def test_supervisor_present_infeasible() -> None:
    """Two full-timers with one supervisor of capacity 1 on Mon-PM and Tue-AM have no plan.

    The explanation names supervisor-present.
    """
    # Named capacity is 2 (sup-a + sup-b) for 2 full-timers, but on Mon-PM and Tue-AM only
    # sup-a (capacity 1) works: two learners cannot both be overseen.
    ward = site("ward", sups=[sup("sup-a"), sup("sup-b", sessions=["Mon-AM"])])
    data = scenario([ward], [learner("L1"), learner("L2")])
    assert_infeasible(data, "supervisor-present")


def test_supervisor_present_infeasible_single_learner() -> None:
    """A learner working more sessions than the only supervisor works has no plan.

    The explanation names supervisor-present.
    """
    # The supervisor works Mon-AM only; L1 works 2 sessions.
    data = scenario([site("ward", sups=[sup("ward-sup", sessions=["Mon-AM"])])],
                    [learner("L1", sessions_per_week=2)])
    assert_infeasible(data, "supervisor-present")


# ----- 8 rooms -----------------------------------------------------------------------------


def test_rooms_part_timers_do_not_share_a_room(tmp_path: Path) -> None:
    """Two part-timers with one room a session work different sessions, never the roomless one."""
    # rooms {Mon-AM: 1, Mon-PM: 1} (no default: Tue-AM has 0). L1 and L2 each work 1
    # session: one is on Mon-AM, the other on Mon-PM, nobody on Tue-AM.
    ward = site("ward", rooms={"Mon-AM": 1, "Mon-PM": 1}, sups=[sup("ward-sup", capacity=2)])
    data = scenario([ward], [learner(x, sessions_per_week=1) for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    assert sorted(sessions(result, "L1") + sessions(result, "L2")) == ["Mon-AM", "Mon-PM"]


@pytest.mark.parametrize(("rooms", "expected"), [
    ({"Mon-AM": 1, "Tue-AM": 1}, ["Mon-AM", "Tue-AM"]),  # unlisted Mon-PM: 0 rooms
    ({"Mon-PM": 2, "Tue-AM": 1}, ["Mon-PM", "Tue-AM"]),
    ({"Mon-AM": 0, "default": 1}, ["Mon-PM", "Tue-AM"]),  # default covers the others
    ({"Tue-AM": 0, "default": 1}, ["Mon-AM", "Mon-PM"]),
], ids=["map", "map-2", "default", "default-2"])
def test_rooms_map_sessions(tmp_path: Path, rooms: Data, expected: list[str]) -> None:
    """A rooms map gives rooms to the sessions it lists and its default (else 0) to the rest."""
    data = scenario([site("ward", rooms=rooms)], [learner("L1", sessions_per_week=2)])
    result = solve_ok(data, tmp_path)
    assert sessions(result, "L1") == expected


def test_rooms_not_needed_for_teaching(tmp_path: Path) -> None:
    """A teaching session needs no room: a session without a room may be the teaching one."""
    # Teaching Mon-PM; rooms {Mon-AM: 1, Tue-AM: 1} leave Mon-PM without a room, which
    # teaching does not need: the full-timer works all three sessions at ward.
    data = scenario([site("ward", rooms={"Mon-AM": 1, "Tue-AM": 1})], [learner("L1")],
                    teaching=["Mon-PM"])
    result = solve_ok(data, tmp_path)
    assert rows(result, "L1") == [("Mon-AM", C, "ward", "ward-sup"), ("Mon-PM", T, "", ""),
                                  ("Tue-AM", C, "ward", "ward-sup")]


def test_rooms_int_applies_to_every_session(tmp_path: Path) -> None:
    """An int rooms limits every session: only one of two full-timers can be at ward."""
    # rooms: 1 and two full-timers who both prefer [ward, clinic]: one moves, objective 1.
    ward = site("ward", rooms=1, sups=[sup("ward-sup", capacity=2)])
    data = scenario([ward, site("clinic")],
                    [learner(x, preferences=["ward", "clinic"]) for x in ("L1", "L2")])
    result = solve_ok(data, tmp_path)
    assert at_site(result, "ward") == 1
    assert result.objective == 1


def test_rooms_unlisted_session_excludes_full_timer(tmp_path: Path) -> None:
    """A site with a room in one session only is not used by a full-timer."""
    # rooms {Mon-AM: 1}: Mon-PM and Tue-AM have no room, so a full-timer goes to clinic (1).
    data = scenario(_two_sites(rooms={"Mon-AM": 1}),
                    [learner("L1", preferences=["ward", "clinic"])])
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == "clinic"
    assert result.objective == 1


def test_rooms_infeasible() -> None:
    """Two full-timers with one room a session at the only site have no plan (rooms)."""
    # rooms: 1, two full-timers at the only site (supervisor capacity 2 is enough).
    ward = site("ward", rooms=1, sups=[sup("ward-sup", capacity=2)])
    assert_infeasible(scenario([ward], [learner("L1"), learner("L2")]), "rooms")


def test_rooms_infeasible_unlisted_sessions() -> None:
    """A full-timer at the only site, with a room in one session only, has no plan (rooms)."""
    # rooms {Mon-AM: 1} without default: a full-timer has 1 of 3 sessions with a room.
    data = scenario([site("ward", rooms={"Mon-AM": 1})], [learner("L1")])
    assert_infeasible(data, "rooms")


# ----- 9 cover -----------------------------------------------------------------------------


@pytest.mark.parametrize(("cover", "expected", "objective"), [
    # L1 prefers [ward]: ward (acute) 0, clinic (community) 1; repeats allowed.
    ([], ["ward", "ward"], 0),
    (["acute"], ["ward", "ward"], 0),
    (["community"], ["clinic", "ward"], 1),
    (["acute", "community"], ["clinic", "ward"], 1),
])
def test_cover_settings(tmp_path: Path, cover: list[str], expected: list[str],
                        objective: int) -> None:
    """A rotation learner spends a block in every cover setting, even at a cost."""
    data = scenario([site("ward"), site("clinic", "community")],
                    [learner("L1", preferences=["ward"])], blocks=2,
                    rotation={"cover": cover, "no_repeat_site": False})
    result = solve_ok(data, tmp_path)
    assert sorted([site_of(result, "L1", 1), site_of(result, "L1", 2)]) == expected
    assert result.objective == objective


def test_cover_does_not_apply_to_fellows(tmp_path: Path) -> None:
    """Cover does not apply to fellows: a fellow needs no site in a cover setting."""
    # Cover [community], but the fellow's partner settings are [acute]: fellows are exempt.
    data = scenario([site("gp", "primary"), site("ward")], [fellow("F1")],
                    rotation={"cover": ["community"]},
                    fellowship=FELLOWSHIP | {"partner_settings": ["acute"]})
    result = solve_ok(data, tmp_path)
    assert site_of(result, "F1", role="partner") == "ward"


@pytest.mark.parametrize("case", ["no-site", "not-accepted"])
def test_cover_infeasible(case: str) -> None:
    """A learner with no usable site in a cover setting has no plan (cover)."""
    # Cover [acute, community] over 2 blocks; no community site L1 could use.
    sites = [site("ward"), site("ward2")]
    if case == "not-accepted":
        sites.append(site("clinic", "community", accepts=["physiotherapist"]))
    data = scenario(sites, [learner("L1")], blocks=2,
                    rotation={"cover": ["acute", "community"]})
    assert_infeasible(data, "cover")


# ----- 10 no-repeat-site -------------------------------------------------------------------


@pytest.mark.parametrize(("rotation", "expected", "objective"), [
    # L1 prefers [ward, clinic] over 2 blocks: ward 0, clinic 1.
    (None, ["clinic", "ward"], 1),  # default true
    ({"no_repeat_site": True}, ["clinic", "ward"], 1),
    ({"no_repeat_site": False}, ["ward", "ward"], 0),
], ids=["default", "true", "false"])
def test_no_repeat_site(tmp_path: Path, rotation: Data | None, expected: list[str],
                        objective: int) -> None:
    """A learner uses a site in one block only unless no_repeat_site is false (default true)."""
    data = scenario(_two_sites(), [learner("L1", preferences=["ward", "clinic"])], blocks=2,
                    rotation=rotation)
    result = solve_ok(data, tmp_path)
    assert sorted([site_of(result, "L1", 1), site_of(result, "L1", 2)]) == expected
    assert result.objective == objective


def test_no_repeat_site_infeasible() -> None:
    """One site for a two-block learner has no plan under the default no_repeat_site."""
    # One site, two blocks, no_repeat_site by default.
    assert_infeasible(scenario([site("ward")], [learner("L1")], blocks=2), "no-repeat-site")


# ----- 11 fellowship -----------------------------------------------------------------------


@pytest.mark.parametrize(("partner_sessions", "teaching", "base_n", "partner_n"), [
    (0, [], 3, 0),
    (1, [], 2, 1),
    (2, [], 1, 2),
    (3, [], 0, 3),
    (1, ["Mon-PM"], 1, 1),  # teaching Mon-PM; 2 clinical: 1 base + 1 partner
])
def test_fellowship_partner_sessions(tmp_path: Path, partner_sessions: int,
                                     teaching: list[str], base_n: int, partner_n: int) -> None:
    """A fellow works partner_sessions clinical sessions at the partner and the rest at the base.

    A teaching session is neither.
    """
    data = scenario([site("gp", "primary"), site("ward")], [fellow("F1")], teaching=teaching,
                    fellowship=FELLOWSHIP | {"partner_sessions": partner_sessions})
    result = solve_ok(data, tmp_path)
    assert placements(result) == {("F1", 1, "base"): ("gp", "gp-sup"),
                                  ("F1", 1, "partner"): ("ward", "ward-sup")}
    got = rows(result, "F1")
    assert sorted(r[0] for r in got) == sorted(ALL)
    assert sum(1 for r in got if r[1] == C and r[2] == "gp") == base_n
    assert sum(1 for r in got if r[1] == C and r[2] == "ward") == partner_n
    assert [r[0] for r in got if r[1] == T] == teaching
    assert result.objective == 0


def test_fellowship_base_same_every_block(tmp_path: Path) -> None:
    """A fellow keeps one base all year, even where another base is cheaper in one block."""
    # gp1's supervisor is away in block 2. F1 prefers [gp1, gp2, ward]: gp1 0, gp2 1, ward 2.
    # A per-block base would be gp1 then gp2 (0 + 1); one base for the year -> gp2 twice.
    # Objective: base 1 + 1, partner ward 2 + 2 = 6.
    data = scenario([site("gp1", "primary", sups=[sup("g1", unavailable_blocks=[2])]),
                     site("gp2", "primary"), site("ward")],
                    [fellow("F1", preferences=["gp1", "gp2", "ward"])], blocks=2,
                    fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    assert site_of(result, "F1", 1, "base") == site_of(result, "F1", 2, "base") == "gp2"
    assert result.objective == 6


def test_fellowship_base_supervisor_per_block(tmp_path: Path) -> None:
    """A fellow's base stays the same while its named supervisor changes with the block."""
    # gp's g1 works block 1 only and g2 block 2 only: the base stays gp, its named
    # supervisor changes with the block.
    gp = site("gp", "primary", sups=[sup("g1", unavailable_blocks=[2]),
                                     sup("g2", unavailable_blocks=[1])])
    data = scenario([gp, site("ward")], [fellow("F1")], blocks=2, fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    got = placements(result)
    assert got[("F1", 1, "base")] == ("gp", "g1")
    assert got[("F1", 2, "base")] == ("gp", "g2")
    assert result.objective == 0


def test_fellowship_partner_never_base(tmp_path: Path) -> None:
    """A fellow's partner site is never the base site, even when that would be cheapest."""
    # Partner settings include primary. F1 prefers [gp1, ward, gp2]: gp1 0, ward 1, gp2 2.
    # Base gp1 + partner gp1 (0) is not allowed; base gp1 + partner ward = 1 is best
    # (base gp2 + partner gp1 = 2, base gp1 + partner gp2 = 2).
    data = scenario([site("gp1", "primary"), site("gp2", "primary"), site("ward")],
                    [fellow("F1", preferences=["gp1", "ward", "gp2"])],
                    fellowship=FELLOWSHIP | {"partner_settings": ["primary", "acute"]})
    result = solve_ok(data, tmp_path)
    assert site_of(result, "F1", role="base") == "gp1"
    assert site_of(result, "F1", role="partner") == "ward"
    assert result.objective == 1


@pytest.mark.parametrize(("distinct", "partners", "objective"), [
    # F1 prefers [ward, gp]: ward 0, gp 1, clinic 2; two blocks. Base gp counts each block.
    (0, ["ward", "ward"], 1 + 1 + 0 + 0),  # a partner may repeat
    (1, ["ward", "ward"], 1 + 1 + 0 + 0),
    (2, ["clinic", "ward"], 1 + 1 + 0 + 2),
])
def test_fellowship_distinct_partner_settings(tmp_path: Path, distinct: int,
                                              partners: list[str], objective: int) -> None:
    """A fellow's partners cover distinct_partner_settings settings; below 2 one may repeat."""
    data = scenario([site("gp", "primary"), site("ward"), site("clinic", "community")],
                    [fellow("F1", preferences=["ward", "gp"])], blocks=2,
                    fellowship=FELLOWSHIP | {"distinct_partner_settings": distinct})
    result = solve_ok(data, tmp_path)
    got = [site_of(result, "F1", b, "partner") for b in (1, 2)]
    assert sorted(got) == partners
    assert site_of(result, "F1", 1, "base") == site_of(result, "F1", 2, "base") == "gp"
    assert result.objective == objective


def test_fellowship_pinned_pins_base(tmp_path: Path) -> None:
    """A fellow's pin fixes the base in every block, at a cost."""
    # F1 prefers [gp1]: gp1 0, gp2 1, ward 1. Pinned {1: gp2} fixes the base in every block:
    # base gp2 1 + 1, partner ward 1 + 1 -> 4 (unpinned it would be 2).
    data = scenario([site("gp1", "primary"), site("gp2", "primary"), site("ward")],
                    [fellow("F1", preferences=["gp1"], pinned={1: "gp2"})], blocks=2,
                    fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    assert [site_of(result, "F1", b, "base") for b in (1, 2)] == ["gp2", "gp2"]
    assert result.objective == 4


@pytest.mark.parametrize("case", ["partner-is-base", "distinct", "no-common-base"])
def test_fellowship_infeasible(case: str) -> None:
    """A fellowship with no possible partner or base has no plan (fellowship).

    The cases: the only partner site is the base, two distinct partner settings with one available,
    and no base usable in both blocks.
    """
    fel = FELLOWSHIP
    blocks = 1
    if case == "partner-is-base":
        # Partners must be primary, and the one primary site is the base.
        sites = [site("gp", "primary"), site("ward")]
        fel = FELLOWSHIP | {"partner_settings": ["primary"]}
    elif case == "distinct":
        # Two distinct partner settings asked for; only acute has a site.
        sites = [site("gp", "primary"), site("ward")]
        fel = FELLOWSHIP | {"distinct_partner_settings": 2}
        blocks = 2
    else:
        # gp1 works only in block 1, gp2 only in block 2: no base for the whole year.
        sites = [site("gp1", "primary", sups=[sup("g1", unavailable_blocks=[2])]),
                 site("gp2", "primary", sups=[sup("g2", unavailable_blocks=[1])]),
                 site("ward")]
        blocks = 2
    data = scenario(sites, [fellow("F1")], blocks=blocks, fellowship=fel)
    assert_infeasible(data, "fellowship")


# ----- 12 site-minimum ---------------------------------------------------------------------


@pytest.mark.parametrize(("blocks", "minimum", "expected", "objective"), [
    # L1 prefers [ward, clinic]: ward 0, clinic 1; repeats allowed.
    (1, 1, ["clinic"], 1),
    (2, {2: 1}, ["ward", "clinic"], 1),  # a map sets only the blocks it lists
    (2, {1: 1}, ["clinic", "ward"], 1),
    (2, {1: 0}, ["ward", "ward"], 0),
], ids=["int", "map-block-2", "map-block-1", "map-zero"])
def test_site_minimum_fills_site(tmp_path: Path, blocks: int, minimum: Any,
                                 expected: list[str], objective: int) -> None:
    """A site gets min_learners in the blocks it sets, at a cost; a map sets only listed blocks."""
    data = scenario([site("ward"), site("clinic", min_learners=minimum)],
                    [learner("L1", preferences=["ward", "clinic"])], blocks=blocks,
                    rotation=REPEAT_OK)
    result = solve_ok(data, tmp_path)
    assert [site_of(result, "L1", b) for b in range(1, blocks + 1)] == expected
    assert result.objective == objective


def test_site_minimum_counts_fellow_partner(tmp_path: Path) -> None:
    """A fellow's partner placement counts toward a site's minimum."""
    # ward needs 1 learner; L1 avoids it, so F1's partner must be ward.
    # L1 prefers [clinic] (0); F1 prefers [clinic]: base gp 1, partner ward 1 -> 2.
    data = scenario([site("gp", "primary"), site("ward", min_learners=1), site("clinic")],
                    [learner("L1", preferences=["clinic"], avoid=["ward"]),
                     fellow("F1", preferences=["clinic"])],
                    fellowship=FELLOWSHIP | {"partner_settings": ["acute"]})
    result = solve_ok(data, tmp_path)
    assert site_of(result, "F1", role="partner") == "ward"
    assert site_of(result, "L1") == "clinic"
    assert result.objective == 2


def test_site_minimum_keeps_learner_placed(tmp_path: Path) -> None:
    """A site minimum keeps a learner placed although leaving them out would cost less."""
    # allow_unplaced with penalty 1, ward costs L1 2: leaving L1 out would be cheaper, but
    # ward needs a learner, so L1 is placed: objective 2.
    data = scenario([site("ward", min_learners=1)],
                    [learner("L1", preferences=["community", "primary"])],
                    objective={"allow_unplaced": True, "unplaced_penalty": 1})
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == "ward"
    assert result.objective == 2
    assert result.unplaced == 0


@pytest.mark.parametrize(("minimum", "objective"), [
    (1, None), ({1: 1}, None), (1, {"allow_unplaced": True}),
], ids=["int", "map", "allow-unplaced"])
def test_site_minimum_infeasible(minimum: Any, objective: Data | None) -> None:
    """Two sites needing a learner each with one learner have no plan (site-minimum).

    Leaving a learner out does not help.
    """
    # Two sites each need a learner; there is one learner (leaving out does not help).
    data = scenario([site("ward", min_learners=minimum), site("clinic", min_learners=minimum)],
                    [learner("L1")], **({"objective": objective} if objective else {}))
    assert_infeasible(data, "site-minimum")


# ----- §7 objective ------------------------------------------------------------------------


@pytest.mark.parametrize(("prefs", "cost"), [
    # L1 avoids clinic (community), so it is at ward (acute).
    ([], 0),                                 # no preferences: 0 everywhere
    (["ward"], 0),
    (["clinic", "ward"], 1),                 # site index
    (["clinic", "acute"], 1),                # setting index
    (["acute", "clinic", "ward"], 2),        # a listed site wins over its earlier setting
    (["community", "clinic", "acute"], 2),
    (["clinic"], 1),                         # not listed: len(P)
    (["clinic", "community", "primary"], 3),
])
def test_objective_preference_cost(tmp_path: Path, prefs: list[str], cost: int) -> None:
    """A placement costs its site's index, else its setting's, in the preferences, else len(P)."""
    data = scenario([site("ward"), site("clinic", "community")],
                    [learner("L1", preferences=prefs, avoid=["clinic"])])
    result = solve_ok(data, tmp_path)
    assert site_of(result, "L1") == "ward"
    assert result.objective == cost
    assert result.preference_cost == cost


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_objective_fellow_base_counts_each_block(tmp_path: Path, blocks: int) -> None:
    """A fellow's base costs its preference cost in every block."""
    # F1 prefers [ward, gp]: base gp 1 per block, partner ward 0 -> objective = blocks.
    data = scenario([site("gp", "primary"), site("ward")],
                    [fellow("F1", preferences=["ward", "gp"])], blocks=blocks,
                    fellowship=FELLOWSHIP)
    result = solve_ok(data, tmp_path)
    assert result.objective == blocks


@pytest.mark.parametrize(("penalty", "objective", "unplaced"), [
    # L1 prefers [community, primary]: ward costs 2.
    (1, 1, 1),       # leaving L1 out (1) is cheaper than placing (2)
    (3, 2, 0),
    (None, 2, 0),    # default penalty 1000
])
def test_objective_unplaced_penalty(tmp_path: Path, penalty: int | None, objective: int,
                                    unplaced: int) -> None:
    """A learner is left out exactly when the penalty (default 1000) is below their cost."""
    obj: Data = {"allow_unplaced": True}
    if penalty is not None:
        obj["unplaced_penalty"] = penalty
    data = scenario([site("ward")], [learner("L1", preferences=["community", "primary"])],
                    objective=obj)
    result = solve_ok(data, tmp_path)
    assert result.objective == objective
    assert result.unplaced == unplaced
    assert len(placements(result)) == 1 - unplaced


def test_objective_sums_learners_and_blocks(tmp_path: Path) -> None:
    """The objective sums every learner's placement costs over their blocks."""
    # Two blocks, sites a (acute) and b (community), cover both, each site 1 learner a block.
    # L1 prefers [a, b]: a 0, b 1. L2 prefers [b]: b 0, a 1. Each sees a and b once:
    # L1 1 + L2 1 = 2 whatever the order.
    sites = [site("a", capacity=1), site("b", "community", capacity=1)]
    data = scenario(sites, [learner("L1", preferences=["a", "b"]),
                            learner("L2", preferences=["b"])], blocks=2,
                    rotation={"cover": ["acute", "community"]})
    result = solve_ok(data, tmp_path)
    assert result.objective == 2
    assert result.learner_costs == {"L1": 1, "L2": 1}


@pytest.mark.parametrize(("fairness", "objective", "worst", "costs"), [
    # Sites A, B take one learner each per block; two blocks; repeats allowed.
    # L1 [A, community, B]: A 0, B 2.  L2 [A, community, primary]: A 0, B 3.
    # Least total: L1 at B twice (4), L2 at A twice (0): total 4, worst 4.
    # Minimax: worst 3 (L1 B once = 2, L2 B once = 3; L1 B twice = 4 is worse, L2 B
    # twice = 6 is worse), then least total 5.
    ("none", 4, 4, {"L1": 4, "L2": 0}),
    ("minimax", 5, 3, {"L1": 2, "L2": 3}),
])
def test_objective_fairness(tmp_path: Path, fairness: str, objective: int, worst: int,
                            costs: dict[str, int]) -> None:
    """Minimax lowers the largest learner cost from 4 to 3 at a higher total, 5 instead of 4."""
    sites = [site("A", capacity=1), site("B", "acute", capacity=1)]
    data = scenario(sites, [learner("L1", preferences=["A", "community", "B"]),
                            learner("L2", preferences=["A", "community", "primary"])],
                    blocks=2, rotation=REPEAT_OK, objective={"fairness": fairness})
    result = solve_ok(data, tmp_path)
    assert result.objective == objective
    assert result.worst_learner_cost == worst
    assert result.learner_costs == costs


def test_objective_minimax_with_allow_unplaced_follows_the_contract(tmp_path: Path) -> None:
    """Under minimax a learner left out counts as unplaced_penalty (contract §7, clarified).

    One learner, one site costing 2 ([community, primary]): leaving L1 out would
    make the largest cost 1000, so L1 is placed (objective 2), and loading the
    scenario no longer warns about the combination.
    """
    data = scenario([site("ward")], [learner("L1", preferences=["community", "primary"])],
                    objective={"allow_unplaced": True, "fairness": "minimax"})
    result = solve_ok(data, tmp_path)
    assert result.unplaced == 0
    assert result.objective == 2
    loaded = parse_scenario_text(yaml.safe_dump(data, sort_keys=False), "t.yaml")
    assert not any("fairness" in w.message for w in loaded.warnings)


def test_minimax_on_an_oversubscribed_cohort_places_as_many_as_fit(tmp_path: Path) -> None:
    """13 learners, 12 places: minimax leaves exactly one out, never all 13 (issue 12 A12).

    Before the contract's clarification every learner was left out (objective 13000):
    a learner left out counted 0 in the largest cost.
    """
    sites = [site(f"s{k}", sups=[sup(f"u{k}", capacity=1)]) for k in range(12)]
    people = [learner(f"L{k:02d}", preferences=[f"s{k % 12}"]) for k in range(13)]
    data = scenario(sites, people, objective={"allow_unplaced": True, "fairness": "minimax"})
    result = solve_ok(data, tmp_path)
    assert result.unplaced == 1
    assert result.objective is not None and result.objective < 2000


# ----- the checker sees each rule broken (so "check_plan_dir(...).ok" above has teeth) ------


def _plan(*placed: tuple[str, int, str, str, str, list[str]]) -> tuple[list[Data], list[Data]]:
    """Rows for placements (learner, block, role, site, supervisor, clinical sessions)."""
    assignments, timetable = [], []
    for lid, block, role, sid, uid, days in placed:
        assignments.append({"learner_id": lid, "block": block, "role": role, "site_id": sid,
                            "supervisor_id": uid})
        timetable += [{"learner_id": lid, "block": block, "session": d, "activity": C,
                       "site_id": sid, "supervisor_id": uid} for d in days]
    return assignments, timetable


_BROKEN: dict[str, tuple[Data, list[tuple[str, int, str, str, str, list[str]]]]] = {
    "placement": (scenario([site("ward")], [learner("L1")]), []),
    "eligibility": (scenario([site("ward"), site("clinic")], [learner("L1", avoid=["ward"])]),
                    [("L1", 1, "rotation", "ward", "ward-sup", ALL)]),
    "site-capacity": (scenario([site("ward", capacity=1, sups=[sup("s", capacity=2)])],
                               [learner("L1", sessions_per_week=1),
                                learner("L2", sessions_per_week=1)]),
                      [("L1", 1, "rotation", "ward", "s", ["Mon-AM"]),
                       ("L2", 1, "rotation", "ward", "s", ["Mon-PM"])]),
    "supervisor-match": (scenario([site("ward", sups=[sup("s", unavailable_blocks=[1])]),
                                   site("clinic")], [learner("L1")]),
                         [("L1", 1, "rotation", "ward", "clinic-sup", ALL)]),
    "supervisor-capacity": (scenario([site("ward")], [learner("L1", sessions_per_week=1),
                                                      learner("L2", sessions_per_week=1)]),
                            [("L1", 1, "rotation", "ward", "ward-sup", ["Mon-AM"]),
                             ("L2", 1, "rotation", "ward", "ward-sup", ["Mon-PM"])]),
    "working-pattern": (scenario([site("ward")], [learner("L1")]),
                        [("L1", 1, "rotation", "ward", "ward-sup", ["Mon-AM", "Mon-PM"])]),
    "site-open": (scenario([site("ward", open_sessions=["Mon-AM", "Tue-AM"],
                                 sups=[sup("s", sessions=ALL)])],
                           [learner("L1", sessions_per_week=2)]),
                  [("L1", 1, "rotation", "ward", "s", ["Mon-AM", "Mon-PM"])]),
    "supervisor-present": (scenario([site("ward", sups=[sup("s", sessions=["Mon-AM"])])],
                                    [learner("L1", sessions_per_week=2)]),
                           [("L1", 1, "rotation", "ward", "s", ["Mon-AM", "Mon-PM"])]),
    "rooms": (scenario([site("ward", rooms=1, sups=[sup("s", capacity=2)])],
                       [learner("L1", sessions_per_week=1), learner("L2", sessions_per_week=1)]),
              [("L1", 1, "rotation", "ward", "s", ["Mon-AM"]),
               ("L2", 1, "rotation", "ward", "s", ["Mon-AM"])]),
    "cover": (scenario([site("ward"), site("clinic", "community")], [learner("L1")],
                       rotation={"cover": ["community"]}),
              [("L1", 1, "rotation", "ward", "ward-sup", ALL)]),
    "no-repeat-site": (scenario([site("ward")], [learner("L1")], blocks=2),
                       [("L1", 1, "rotation", "ward", "ward-sup", ALL),
                        ("L1", 2, "rotation", "ward", "ward-sup", ALL)]),
    "fellowship": (scenario([site("gp", "primary", sups=[sup("g", capacity=2)])], [fellow("F1")],
                            fellowship=FELLOWSHIP | {"partner_settings": ["primary"]}),
                   [("F1", 1, "base", "gp", "g", ["Mon-AM", "Mon-PM"]),
                    ("F1", 1, "partner", "gp", "g", ["Tue-AM"])]),
    "site-minimum": (scenario([site("ward"), site("clinic", min_learners=1)], [learner("L1")]),
                     [("L1", 1, "rotation", "ward", "ward-sup", ALL)]),
}


@pytest.mark.parametrize("rule", list(_BROKEN))
def test_checker_names_broken_rule(rule: str) -> None:
    """The checker finds a plan breaking a rule and names that rule."""
    data, placed = _BROKEN[rule]
    assignments, timetable = _plan(*placed)
    report = check_rows(scenario_from(data), assignments, timetable)
    assert not report.ok
    assert rule in {v.rule for v in report.violations}, report.render()
