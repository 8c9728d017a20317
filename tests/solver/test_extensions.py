"""Model extensions (solver.extensions) and the engine's tie-break phase and reference plan.

The tiny scenario: two sites, two learners working one of two sessions a week,
two blocks. Left to itself the solver puts both on Mon-PM with supervisor A in
block 2; the hand-made old plan puts them on Mon-AM with B, so keeping it is
visible.
"""

from __future__ import annotations

from typing import Any

from rotaplan.models import Plan, Scenario
from rotaplan.solver import SolveOptions, solve
from rotaplan.solver.extensions import KeepAndMinimiseChanges, clinical_sessions_of
from tests.helpers import learner, run, scenario, scenario_from, site, sup

OPTIONS = SolveOptions(time_limit=20, workers=1, seed=0)


def tiny(ward_rooms: dict[str, int] | None = None) -> Scenario:
    """Ward (supervisors A and B) and clinic (C); L1 and L2 work one session a week."""
    return scenario_from(scenario(
        [site("ward", sups=[sup("A", capacity=2), sup("B", capacity=2)],
              rooms=ward_rooms or {"Mon-AM": 2, "Mon-PM": 2}),
         site("clinic", sups=[sup("C", capacity=2)])],
        [learner("L1", sessions_per_week=1), learner("L2", sessions_per_week=1)],
        blocks=2, sessions=["Mon-AM", "Mon-PM"]))


def old_plan() -> Plan:
    """Both at the ward with B in block 1, at the clinic in block 2, always on Mon-AM."""
    rows: list[tuple[Any, ...]] = []
    table: list[tuple[Any, ...]] = []
    for lid in ("L1", "L2"):
        for block, site_id, supervisor in ((1, "ward", "B"), (2, "clinic", "C")):
            rows.append((lid, block, "rotation", site_id, supervisor))
            table.append((lid, block, "Mon-AM", "clinical", site_id, supervisor))
    return Plan.from_rows(rows, table)


def as_rows(plan: Plan) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A plan's rows, sorted, for comparing plans."""
    return (sorted(map(tuple, plan.assignments.astype(str).values.tolist())),
            sorted(map(tuple, plan.timetable.astype(str).values.tolist())))


def test_the_solver_alone_would_not_reproduce_the_old_plan() -> None:
    """The premise of the tests below: keeping the old plan takes the extension."""
    result = run(tiny())
    assert result.plan is not None
    assert as_rows(result.plan) != as_rows(old_plan())


def test_clinical_sessions_read_roles_from_sites() -> None:
    """clinical_sessions_of gives each clinical session with the role of its site's placement."""
    assert clinical_sessions_of(old_plan()) == {
        (lid, block, "rotation", "Mon-AM") for lid in ("L1", "L2") for block in (1, 2)}


def test_keeping_everything_reproduces_the_old_plan_exactly() -> None:
    """Placements by the changes term, sessions by the tie-break, supervisors by the reference."""
    old = old_plan()
    keep = KeepAndMinimiseChanges(old, from_block=1)
    result = solve(tiny(), SolveOptions(time_limit=20, workers=1, seed=0, hint=False,
                                        extend=keep, reference=old))
    assert result.plan is not None
    assert as_rows(result.plan) == as_rows(old)
    assert result.terms["changes"] == 0 and result.terms["session_changes"] == 0
    assert [p.name for p in result.stats.phases] == ["total", "tie-break"]
    assert result.objective == 0  # the contract's objective, unchanged by the tie-break


def test_without_the_reference_supervisors_are_not_kept() -> None:
    """Keeping old placements without a reference plan does not keep B as the ward's supervisor."""
    old = old_plan()
    result = solve(tiny(), SolveOptions(time_limit=20, workers=1, seed=0, hint=False,
                                        extend=KeepAndMinimiseChanges(old, from_block=1)))
    assert result.plan is not None
    a = result.plan.assignments
    assert set(a.loc[a["site_id"] == "ward", "supervisor_id"]) != {"B"}


def test_past_sessions_are_fixed_and_a_change_reaching_them_is_infeasible() -> None:
    """One Mon-AM room at the ward: block 1 cannot be kept session for session."""
    fewer = tiny({"Mon-AM": 1, "Mon-PM": 2})
    keep = KeepAndMinimiseChanges(old_plan(), from_block=2)
    hard = solve(fewer, SolveOptions(time_limit=20, workers=1, seed=0, hint=False,
                                     extend=keep))
    assert hard.status == "INFEASIBLE"
    soft = KeepAndMinimiseChanges(old_plan(), from_block=2, keep_past_sessions=False)
    result = solve(fewer, SolveOptions(time_limit=20, workers=1, seed=0, hint=False,
                                       extend=soft, reference=old_plan()))
    assert result.plan is not None
    assert result.terms["changes"] == 0
    weights = result.stats.search["extended"]["weights"]
    past_weight = int(str(weights["past_session_changes"]).removeprefix("tie-break x"))
    # one learner: off Mon-AM, on Mon-PM (terms are weighted totals)
    assert result.terms["past_session_changes"] == 2 * past_weight
    t = result.plan.timetable
    assert sorted(t.loc[t["block"] == 1, "session"]) == ["Mon-AM", "Mon-PM"]
