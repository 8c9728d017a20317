"""What learners outside a model already use (solver/load.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from rotaplan.models import load_scenario
from rotaplan.solver.instance import Instance
from rotaplan.solver.load import Load
from rotaplan.solver.neighbourhood import Incumbent
from tests.helpers import INSTANCES, run


@pytest.fixture(scope="module")
def demo_plan() -> tuple[Instance, Incumbent]:
    """The demo (rotation learners and fellows) and its proven plan, by learner index."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    result = run(sc)
    assert result.has_plan
    inst = Instance(sc)
    return inst, Incumbent.of_result(inst, result)


Places = Counter[tuple[str, int, str | None]]
Sessions = Counter[tuple[str, int, str, str | None]]


def _recount(inst: Instance, plan: Incumbent, learners: set[int]) -> tuple[Places, Sessions]:
    """An oracle, written apart from Load.of on purpose: every entry of the plan scanned,
    counts by (site, block, profession) and (site, block, session, profession); the
    profession None counts everyone."""
    placed: Places = Counter()
    clinical: Sessions = Counter()
    for (i, block, _), site in plan.site_of.items():
        if i in learners:
            for p in (None, inst.learners[i].profession):
                placed[(site, block, p)] += 1
    for i, block, role, session in plan.working:
        if i in learners:
            site = plan.site_of[(i, block, role)]
            for p in (None, inst.learners[i].profession):
                clinical[(site, block, session, p)] += 1
    return placed, clinical


def _assert_counts(inst: Instance, load: Load, plan: Incumbent, learners: set[int]) -> None:
    """Every accessor of ``load`` agrees with the oracle's recount of ``learners``."""
    placed, clinical = _recount(inst, plan, learners)
    sc = inst.scenario
    professions = sorted({info.profession for info in inst.learners})
    for site in sc.sites:
        for block in sc.programme.block_numbers:
            assert load.count(site.id, block) == placed[(site.id, block, None)]
            here = {p for p in professions if placed[(site.id, block, p)]}
            assert load.professions_at(site.id, block) == here
            for p in professions:
                assert load.count(site.id, block, [p]) == placed[(site.id, block, p)]
            for session in sc.programme.sessions:
                key = (site.id, block, session)
                assert load.sessions(*key) == clinical[(*key, None)]
                assert load.professions_in(*key) == {p for p in professions
                                                     if clinical[(*key, p)]}
                assert load.sessions(*key, professions) == clinical[(*key, None)]


def test_the_load_of_some_learners_counts_their_places_and_clinical_sessions(
        demo_plan: tuple[Instance, Incumbent]) -> None:
    """Load.of, which looks up each given learner's keys, counts exactly what a scan of
    the whole plan counts for those learners: places and clinical sessions per site,
    block and session, in all and per profession (fellows' two roles included)."""
    inst, plan = demo_plan
    everyone = set(plan.cost)
    assert any(info.is_fellow for info in inst.learners)
    some = set(random.Random(3).sample(sorted(everyone), len(everyone) // 3))
    for learners in (everyone, some, set()):
        _assert_counts(inst, Load.of(inst, plan.site_of, plan.working, learners), plan, learners)


def test_a_plans_load_less_a_few_learners_is_the_load_of_the_others(
        demo_plan: tuple[Instance, Incumbent]) -> None:
    """The whole plan's load (counted once per plan) less the load of a few learners
    answers every question as the others' load counted afresh; less everyone it is
    empty (false), and it cannot be reduced twice."""
    inst, plan = demo_plan
    everyone = set(plan.cost)
    whole = plan.load(inst)
    assert plan.load(inst) is whole  # counted once per plan
    few = set(random.Random(8).sample(sorted(everyone), 7))
    less = whole.without(Load.of(inst, plan.site_of, plan.working, few), worst=5)
    _assert_counts(inst, less, plan, everyone - few)
    assert less.worst == 5 and bool(less)
    none_left = whole.without(Load.of(inst, plan.site_of, plan.working, everyone))
    assert not none_left
    assert bool(whole.without(Load()))
    with pytest.raises(ValueError):
        less.without(Load())
