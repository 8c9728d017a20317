"""Candidate domains (solver/instance.py): shared per kind of learner, exact per learner."""

from __future__ import annotations

from rotaplan.generate import generate_scenario
from rotaplan.models import parse_scenario_text
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.solver.instance import Instance, least_cost
from rotaplan.solver.neighbourhood import learner_optima
from rotaplan.solver.run import Clock, SolveOptions
from tests import helpers


def test_shared_domains_give_each_learner_the_reason_checked_site_by_site() -> None:
    """Domains are computed once per kind of learner and each learner's avoid list and
    pins laid over them; on a generated 300-learner cohort with both, every site's
    verdict (usable, or the first rule that excludes it) is the one a site-by-site
    check for that very learner gives."""
    sc = parse_scenario_text(dump_scenario(generate_scenario(300, seed=3)), "g.yaml").scenario
    assert any(learner.avoid for learner in sc.learners)
    assert any(learner.pinned for learner in sc.learners)
    inst = Instance(sc)
    checked = 0
    for info in inst.learners:
        if not (info.learner.avoid or info.learner.pinned):
            continue
        for block in info.blocks:
            for role in inst.roles_of(info):
                usable = inst.full_options[(info.index, block, role)]
                why = inst.excluded[(info.index, block, role)]
                for site in sc.sites:
                    own = inst._site_exclusion(info, block, role, site)
                    if own is not None:
                        assert site.id not in usable and why[site.id] == own, (info.id, site.id)
                    elif site.id in why:  # too few sessions there: the shared check's reason
                        assert site.id not in usable
                    else:
                        assert site.id in usable
                    checked += 1
    assert checked > 10_000


def test_a_site_is_always_present_only_when_every_supervisor_works_every_session() -> None:
    """``always_present`` (which lets the supervisor-present rule skip a site: its
    per-session limits cannot be tighter than Hall's there) holds for a site whose
    supervisors all work the whole week, and not once one of them works part of it."""
    h = helpers
    sc = h.scenario_from(h.scenario(
        [h.site("whole", sups=[h.sup("w1"), h.sup("w2")]),
         h.site("part", sups=[h.sup("p1"), h.sup("p2", sessions=["Mon-AM"])])],
        [{"id": "L1", "profession": "nurse"}]))
    inst = Instance(sc)
    assert inst.always_present("whole")
    assert not inst.always_present("part")


def test_least_cost_takes_one_choice_per_block_and_meets_the_kinds_asked() -> None:
    """The dynamic programme of the learners' floors, worked by hand: three blocks,
    kind 1 only in the second block. Both kinds: 1 + 4 + 1 = 6; one kind: 1 + 1 + 1 = 3;
    three kinds of two, or a block with no choice at all: none."""
    blocks: list[dict[int | None, int]] = [{0: 5, None: 1}, {1: 4, None: 1}, {0: 1}]
    assert least_cost(blocks, 2, 2) == 6
    assert least_cost(blocks, 2, 1) == 3
    assert least_cost(blocks, 2, 0) == 3
    assert least_cost(blocks, 3, 3) is None
    assert least_cost([*blocks, {}], 2, 1) is None
    assert least_cost([], 2, 0) == 0


def test_each_learners_floor_is_their_own_optimum_on_a_generated_cohort() -> None:
    """On a generated 80-learner cohort (fellows, part-timers, avoid lists, pins), each
    learner's floor by the dynamic programme never exceeds their own optimum solved
    exactly by CP-SAT with every rule of theirs (it is a valid bound), and here it
    equals it for every learner; the bound is their sum."""
    sc = parse_scenario_text(dump_scenario(generate_scenario(80, seed=5)), "g.yaml").scenario
    assert any(info.is_fellow for info in Instance(sc).learners)
    inst = Instance(sc)
    options = SolveOptions(time_limit=120, workers=2)
    exact = learner_optima(inst, options, Clock.start(options))
    assert exact is not None
    floors = inst.learner_floors()
    assert all(floors[i] <= value for i, value in exact.floor.items())
    assert floors == exact.floor
    assert inst.relaxed_bound() == sum(exact.floor.values())
