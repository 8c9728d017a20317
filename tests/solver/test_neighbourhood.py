"""Parts of a plan re-solved with everyone else fixed (solver/neighbourhood.py)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from rotaplan.checker import CheckReport, check_rows
from rotaplan.models import Scenario, load_scenario
from rotaplan.solver import SolveOptions, run
from rotaplan.solver.instance import Instance
from rotaplan.solver.neighbourhood import (
    Incumbent,
    SearchLog,
    _fits,
    _place,
    first_plan,
    improve,
    learner_floors,
    learner_optima,
    shortfall,
    solve_part,
)
from rotaplan.solver.recover import recover_plan
from tests.helpers import (
    INSTANCES,
    NO_SHARED,
    SHARED,
    learner,
    scenario,
    scenario_from,
    site,
)


def _options(det: float = 20.0) -> SolveOptions:
    """One worker and a deterministic budget: the search repeats exactly."""
    return SolveOptions(workers=1, time_limit=300, seed=5, deterministic_time=det)


def _assert_complete_and_checked(sc: Scenario, inst: Instance, plan: Incumbent | None,
                                 bound: float) -> None:
    """The plan places everyone, meets every minimum, costs at least ``bound`` and
    passes the project checker."""
    assert plan is not None
    assert plan.placed == set(range(len(inst.learners)))
    assert shortfall(inst, plan.site_of) == 0
    assert plan.objective(inst) >= bound
    report = _check(sc, inst, plan)
    assert report.ok, report.render()


def _check(sc: Scenario, inst: Instance, plan: Incumbent) -> CheckReport:
    """The project checker's report on the plan recovered from ``plan``'s choices, with
    the objective and terms the search claims for it."""
    rows = recover_plan(inst, plan.site_of, plan.working, plan.first)
    return check_rows(sc, rows.assignments.to_dict("records"),
                      rows.timetable.to_dict("records"),
                      {"objective": plan.objective(inst), "terms": plan.terms(inst)})


@pytest.fixture(scope="module", params=["demo.yaml", "pathway.yaml"])
def started(request: pytest.FixtureRequest) -> tuple[Scenario, Instance, Incumbent]:
    """A first plan of a shipped scenario (v1 demo, v2 pathway)."""
    sc = load_scenario(INSTANCES / request.param)
    inst = Instance(sc)
    options = _options()
    plan = first_plan(inst, options, run.Clock.start(options))
    assert plan is not None
    return sc, inst, plan


def test_first_plan_is_complete_and_passes_the_checker(
        started: tuple[Scenario, Instance, Incumbent]) -> None:
    """The batch-by-batch first plan places everyone, meets every minimum, and the
    checker agrees with the objective and terms it claims (v1 and v2)."""
    sc, inst, plan = started
    assert plan.placed == set(range(len(inst.learners)))
    assert shortfall(inst, plan.site_of) == 0
    report = _check(sc, inst, plan)
    assert report.ok, report.render()
    assert report.objective == plan.objective(inst)


def test_a_part_changes_the_objective_by_exactly_what_it_claims(
        started: tuple[Scenario, Instance, Incumbent]) -> None:
    """Re-solving a few learners with everyone else fixed gives a plan the checker
    accepts, whose objective is the incumbent's with those learners' costs replaced, and
    never worse than the incumbent (the incumbent's choices are a hint and feasible)."""
    sc, inst, plan = started
    free = random.Random(1).sample(sorted(plan.placed), 6)
    options = _options()
    part = solve_part(inst, plan, free, options, run.Clock.start(options), None, cap=10.0)
    assert part is not None and sorted(part.learners) == sorted(free)
    merged = plan.merge(part)
    before = sum(plan.cost[i] for i in free)
    after = sum(part.cost[i] for i in free)
    if sc.objective.fairness != "weighted":
        assert merged.objective(inst) - plan.objective(inst) == after - before
    assert merged.rank(inst) <= plan.rank(inst)
    report = _check(sc, inst, merged)
    assert report.ok, report.render()
    assert report.objective == merged.objective(inst)


def test_improve_never_returns_a_worse_plan_and_repeats_exactly(
        started: tuple[Scenario, Instance, Incumbent]) -> None:
    """With one worker and a deterministic budget, improve() returns a plan ranked no
    worse than its start, checked, and the same plan on a second run."""
    sc, inst, plan = started
    options = _options(det=0.5)
    floors = learner_floors(inst, options, run.Clock.start(options))
    assert floors is not None
    outcomes = []
    for _ in range(2):
        log = SearchLog()
        found = improve(inst, plan, options, run.Clock.start(options), floor=floors, log=log)
        assert log.neighbourhoods > 0
        outcomes.append(found)
    first, second = outcomes
    assert first.rank(inst) <= plan.rank(inst)
    assert first.site_of == second.site_of and first.cost == second.cost
    report = _check(sc, inst, first)
    assert report.ok, report.render()


def test_learner_floors_bound_every_learners_cost(
        started: tuple[Scenario, Instance, Incumbent]) -> None:
    """Each learner's floor (their best on their own) is at most their cost in any
    plan, so the floors' sum bounds the objective from below."""
    _, inst, plan = started
    options = _options()
    floors = learner_floors(inst, options, run.Clock.start(options))
    assert floors is not None
    assert all(floors[i] <= plan.cost[i] for i in plan.placed)


def test_learners_own_optima_cost_their_floors_and_build_a_checked_plan() -> None:
    """On the v2 pathway programme, each learner's own best plan costs exactly their
    floor; built one learner at a time from them (``first_plan`` with ``start``, as the
    engine does for version 2) the plan places everyone, meets every minimum and passes
    the checker, and its objective is at least the floors' bound."""
    sc = load_scenario(INSTANCES / "pathway.yaml")
    inst = Instance(sc)
    options = _options()
    clock = run.Clock.start(options)
    optima = learner_optima(inst, options, clock)
    assert optima is not None
    assert optima.plan.placed == set(range(len(inst.learners)))
    assert optima.plan.cost == optima.floor
    _assert_complete_and_checked(sc, inst, first_plan(inst, options, clock, batch=1,
                                                      start=optima), optima.bound(inst))


def test_shortfall_counts_learners_missing_from_minimums(tmp_path: Path) -> None:
    """shortfall() is the number of learners missing from site minimums, summed over
    sites and blocks: emptying a site with a minimum raises it by that minimum."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    inst = Instance(sc)
    options = _options()
    plan = first_plan(inst, options, run.Clock.start(options))
    assert plan is not None
    site = next((s for s in sc.sites if s.min_learners), None)
    if site is None:
        pytest.skip("the demo has no site minimum")
    block = sc.programme.block_numbers[0]
    emptied = {k: v for k, v in plan.site_of.items() if not (v == site.id and k[1] == block)}
    assert shortfall(inst, emptied) == site.minimum_in(block)


def test_a_learner_with_no_place_beside_those_placed_moves_the_learner_in_the_way() -> None:
    """A learner who can only go where a placed learner already is (one place at
    ward ``a``, the newcomer avoiding ``b``) is placed by re-solving them with that
    learner, who moves to ``b``: a first plan built learner by learner no longer dead-ends
    (MSS Instance_L60 had no plan in 60 s for want of this)."""
    sc = scenario_from(scenario(
        [site("a"), site("b")],
        [learner("first", preferences=["a", "b"]), learner("stuck", avoid=["b"])]))
    inst = Instance(sc)
    options = _options()
    clock = run.Clock.start(options)
    alone = solve_part(inst, Incumbent(), [0], options, clock, None, outside=[])
    assert alone is not None
    placed = Incumbent().merge(alone)
    assert set(placed.site_of.values()) == {"a"}
    part = _place(inst, placed, [1], [0], options, clock, None, None)
    assert part is not None
    moved = placed.merge(part)
    assert moved.placed == {0, 1}
    assert {inst.learners[i].id: s for (i, _, _), s in moved.site_of.items()} == \
        {"first": "b", "stuck": "a"}
    report = _check(sc, inst, moved)
    assert report.ok, report.render()


def test_own_plans_that_collide_are_placed_two_at_a_time_and_keep_every_rule() -> None:
    """Where the learners' own best plans collide (the pathway programme's sites
    are too small for everyone's favourite), the plan built from them solves the
    learners who do not fit two at a time, one worker each: with two workers the
    build still places everyone, meets every minimum, passes the checker, and costs
    no less than the floors' bound."""
    sc = load_scenario(INSTANCES / "pathway.yaml")
    inst = Instance(sc)
    options = SolveOptions(workers=2, time_limit=120, seed=3)
    clock = run.Clock.start(options)
    optima = learner_optima(inst, options, clock)
    assert optima is not None
    crowd = Counter((s, b) for (_, b, _), s in optima.plan.site_of.items())
    assert any(n > (sc.site_by_id[s].capacity_in(b) or n) for (s, b), n in crowd.items())
    _assert_complete_and_checked(sc, inst, first_plan(inst, options, clock, batch=1,
                                                      start=optima), optima.bound(inst))


def _mss_scenario(path: Path) -> Scenario:
    """An MSS instance converted to its §9 scenario (as ``rotaplan mss convert`` does)."""
    from rotaplan.io.dzn import read_instance
    from rotaplan.models import parse_scenario_text
    from rotaplan.models.yaml_format import dump_scenario
    from rotaplan.mss import to_scenario

    text = dump_scenario(to_scenario(read_instance(path)))
    return parse_scenario_text(text, f"{path.stem}.yaml").scenario


@pytest.mark.parametrize("path", [
    Path(__file__).resolve().parents[1] / "data" / "mss" / "tiny.dzn",
    pytest.param(SHARED / "mss" / "instances" / "am" / "Instance_10.dzn", marks=pytest.mark.skipif(
        not (SHARED / "mss").exists(), reason=NO_SHARED)),
], ids=["tiny", "Instance_10"])
def test_where_capacities_are_all_learners_share_they_alone_decide_if_own_plans_fit(
        path: Path) -> None:
    """On MSS instances (no rooms, one always-present supervisor per ward who can name
    its capacity) site capacities are the only shared limits: whether each learner's
    own best plan fits beside those kept before it is then answered by the capacity
    check alone, exactly as the model with the own plan fixed answers it, learner by
    learner as the plan is built (Instance_10: some fit, some do not). The demo (rooms,
    fellows) and the pathway programme are not such scenarios."""
    sc = _mss_scenario(path)
    inst = Instance(sc)
    assert inst.capacities_only
    options = _options()
    optima = learner_optima(inst, options, run.Clock.start(options))
    assert optima is not None
    modelled = Instance(sc)
    modelled.__dict__["capacities_only"] = False  # the model decides every case
    done: list[int] = []
    answers = []
    for i in range(len(inst.learners)):
        fits = _fits(inst, optima.plan, [i], done, optima.plan)
        assert fits == _fits(modelled, optima.plan, [i], done, optima.plan), i
        answers.append(fits)
        if fits:
            done.append(i)
    assert any(answers)
    if path.stem == "Instance_10":
        assert not all(answers)
    for other in ("demo.yaml", "pathway.yaml"):
        assert not Instance(load_scenario(INSTANCES / other)).capacities_only
