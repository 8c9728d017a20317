"""Each rule unit of :data:`rotaplan.solver.rules.RULES` alone, on a tiny model.

Every rule has a pair of hand-worked scenarios that differ in one setting the
rule reads: with every unit posted the first is feasible and the second
infeasible, and the second becomes feasible when the model is built without
that rule's unit, so the unit is what forbids it. A rule with several parts
(fellowship) has a further forbidden scenario for another part. The end-to-end
cases (solve, plan, checker, explanation) are in ``test_rules.py``; the cases of
rules 13-18 (contract §9.2) follow those of §6.

Rules enforced by the candidate domains (their unit posts nothing) are
tested through :class:`~rotaplan.solver.instance.Instance` instead: the
infeasible case's domain is empty and every exclusion names the rule.

Unless a case says otherwise a scenario has one block, the sessions Mon-AM,
Mon-PM, Tue-AM, no teaching, and learners work every session (3 a week).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from ortools.sat.python import cp_model

from rotaplan.solver import formulate
from rotaplan.solver.instance import ROTATION, Instance
from rotaplan.solver.rules import RULES, Rule
from tests.helpers import FELLOWSHIP, learner, scenario, scenario_from, site, sup

Data = dict[str, Any]
FOUND = ("OPTIMAL", "FEASIBLE")

REPEAT_OK = {"no_repeat_site": False}
BY_DOMAINS = frozenset({"eligibility", "supervisor-match"})
"""Rules whose unit posts nothing: the candidate domains enforce them."""


@dataclass(frozen=True)
class Case:
    """A rule's two tiny scenarios: one the rule allows, one it forbids.

    Attributes
    ----------
    feasible
        A scenario with a plan when every unit is posted.
    infeasible
        The same scenario with one setting changed so that the rule forbids
        every plan.
    also
        Further scenarios the rule forbids (another part of the rule), tested
        as ``infeasible`` is.
    """

    feasible: Data
    infeasible: Data
    also: tuple[Data, ...] = ()

    def forbidden(self) -> list[Data]:
        """Every scenario the rule forbids."""
        return [self.infeasible, *self.also]


def _fellow(lid: str, **kw: Any) -> Data:
    """A fellowship learner."""
    return learner(lid, track="fellowship", **kw)


def _two_learners_one_seat(**objective: Any) -> Data:
    """Two learners for one seat: ward takes one, its supervisor could take two."""
    return scenario([site("ward", capacity=1, sups=[sup("ward-sup", capacity=2)])],
                    [learner("L1"), learner("L2")], objective=objective)


def _site_open(partner_open: list[str]) -> Data:
    """A fellow whose partner must be ward, open in ``partner_open``.

    F1 works 3 sessions: 2 at the base, 1 at the partner, never both at once.
    gp (the only base) opens Mon-AM and Mon-PM, so the base takes both of them.
    ward needs a learner, so F1's partner is ward; clinic opens Tue-AM only, which
    keeps Tue-AM among F1's partner sessions until site-open ties it to clinic.
    """
    return scenario([site("gp", "primary", open_sessions=["Mon-AM", "Mon-PM"]),
                     site("ward", open_sessions=partner_open, min_learners=1),
                     site("clinic", "community", open_sessions=["Tue-AM"])],
                    [_fellow("F1")], fellowship=FELLOWSHIP)


def _supervisor_present(second_works: list[str]) -> Data:
    """Two full-time nurses at ward, one named to each of sup-a and sup-b (capacity 1).

    sup-a works all three sessions, sup-b ``second_works``; the learners need 6
    supervised sessions.
    """
    return scenario([site("ward", sups=[sup("sup-a"), sup("sup-b", sessions=second_works)])],
                    [learner("L1"), learner("L2")])


CASES: dict[str, Case] = {
    # Two learners, one seat: feasible only if one may be left out.
    "placement": Case(_two_learners_one_seat(allow_unplaced=True), _two_learners_one_seat()),
    # The only site accepts nurses, or only physiotherapists.
    "eligibility": Case(scenario([site("ward", accepts=["nurse"])], [learner("L1")]),
                        scenario([site("ward", accepts=["physiotherapist"])], [learner("L1")])),
    # Two learners at ward, whose supervisor could take both: capacity 2, or 1.
    "site-capacity": Case(
        scenario([site("ward", capacity=2, sups=[sup("ward-sup", capacity=2)])],
                 [learner("L1"), learner("L2")]),
        scenario([site("ward", capacity=1, sups=[sup("ward-sup", capacity=2)])],
                 [learner("L1"), learner("L2")])),
    # The only supervisor is available in block 1, or away then.
    "supervisor-match": Case(
        scenario([site("ward")], [learner("L1")]),
        scenario([site("ward", sups=[sup("ward-sup", unavailable_blocks=[1])])], [learner("L1")])),
    # Two learners of 1 session a week: they could work different sessions with one
    # supervisor present, but one supervisor of capacity 1 can be named for only one.
    "supervisor-capacity": Case(
        scenario([site("ward", sups=[sup("ward-sup", capacity=2)])],
                 [learner("L1", sessions_per_week=1), learner("L2", sessions_per_week=1)]),
        scenario([site("ward", sups=[sup("ward-sup", capacity=1)])],
                 [learner("L1", sessions_per_week=1), learner("L2", sessions_per_week=1)])),
    # A fellow (1 partner session) at gp and ward, both open Mon-AM and Mon-PM only:
    # 2 sessions a week (1 base + 1 partner) fit, 3 (2 base + 1 partner) do not, since a
    # session is spent at one site. (Too few sessions for rotation learners is also
    # forbidden by the aggregate cuts of rooms and supervisor-present, so it cannot
    # isolate this unit.)
    "working-pattern": Case(
        scenario([site("gp", "primary", open_sessions=["Mon-AM", "Mon-PM"]),
                  site("ward", open_sessions=["Mon-AM", "Mon-PM"])],
                 [_fellow("F1", sessions_per_week=2)], fellowship=FELLOWSHIP),
        scenario([site("gp", "primary", open_sessions=["Mon-AM", "Mon-PM"]),
                  site("ward", open_sessions=["Mon-AM", "Mon-PM"])],
                 [_fellow("F1", sessions_per_week=3)], fellowship=FELLOWSHIP)),
    # The partner ward also opens Tue-AM (the partner session), or opens Mon-AM only.
    "site-open": Case(_site_open(["Mon-AM", "Tue-AM"]), _site_open(["Mon-AM"])),
    # sup-b works every session (6 overseen), or Mon-AM only (4 overseen).
    "supervisor-present": Case(_supervisor_present(["Mon-AM", "Mon-PM", "Tue-AM"]),
                               _supervisor_present(["Mon-AM"])),
    # Two full-time learners, a supervisor for both: 2 rooms a session, or 1.
    "rooms": Case(
        scenario([site("ward", rooms=2, sups=[sup("ward-sup", capacity=2)])],
                 [learner("L1"), learner("L2")]),
        scenario([site("ward", rooms=1, sups=[sup("ward-sup", capacity=2)])],
                 [learner("L1"), learner("L2")])),
    # L1 avoids clinic, the only community site; two blocks, repeats allowed.
    "cover": Case(
        scenario([site("ward"), site("clinic", "community")], [learner("L1", avoid=["clinic"])],
                 blocks=2, rotation={"cover": ["acute"], "no_repeat_site": False}),
        scenario([site("ward"), site("clinic", "community")], [learner("L1", avoid=["clinic"])],
                 blocks=2, rotation={"cover": ["acute", "community"], "no_repeat_site": False})),
    # One site, one learner, two blocks.
    "no-repeat-site": Case(
        scenario([site("ward")], [learner("L1")], blocks=2, rotation={"no_repeat_site": False}),
        scenario([site("ward")], [learner("L1")], blocks=2, rotation={"no_repeat_site": True})),
    # Two blocks; of the partner settings only acute has a site: 1 distinct setting, or 2.
    # Also: partners must be primary, and gp (the only primary site) is the base.
    "fellowship": Case(
        scenario([site("gp", "primary"), site("ward")], [_fellow("F1")], blocks=2,
                 fellowship=FELLOWSHIP | {"distinct_partner_settings": 1}),
        scenario([site("gp", "primary"), site("ward")], [_fellow("F1")], blocks=2,
                 fellowship=FELLOWSHIP | {"distinct_partner_settings": 2}),
        also=(scenario([site("gp", "primary", sups=[sup("gp-sup", capacity=2)]), site("ward")],
                       [_fellow("F1")], fellowship=FELLOWSHIP | {"partner_settings": ["primary"]}),
              )),
    # One learner; ward needs a learner, and clinic needs none, or one too.
    "site-minimum": Case(
        scenario([site("ward", min_learners=1), site("clinic", min_learners=0)],
                 [learner("L1")]),
        scenario([site("ward", min_learners=1), site("clinic", min_learners=1)],
                 [learner("L1")])),
}

# ----- contract §9.2: rules 13-18 (rotation learners, placements rather than blocks) ----------


def _placement_length(ward_capacity: Data) -> Data:
    """Three blocks for L1: ward (one block) or unit (two-block placements), repeats allowed.

    Block 1 can only be the start of a unit placement (blocks 1-2) when ward is
    closed then, and block 3 is ward's or a second unit placement's (blocks 2-3).
    """
    return scenario([site("ward", capacity=ward_capacity), site("unit", placement_blocks=2)],
                    [learner("L1")], blocks=3, rotation=REPEAT_OK)


def _rotation_v2(**rotation: Any) -> Data:
    """L1 over two blocks at ward (acute) or clinic (community), both of organisation trust."""
    return scenario([site("ward", organisation="trust"),
                     site("clinic", "community", organisation="trust")],
                    [learner("L1")], blocks=2, rotation=rotation)


def _precedence(completed: list[str]) -> Data:
    """Community after acute; L1 pinned to clinic (community) in block 2, L2 to ward in block 1.

    L1 could start an acute placement at ward in block 1, so the candidate
    domains keep clinic in block 2 (the pruning of starts by the earliest end
    of an acute placement keeps it); only the unit sees that ward's one place
    in block 1 is L2's, so L1 has no acute placement before clinic.
    """
    return scenario([site("ward"), site("clinic", "community"), site("gp", "primary")],
                    [learner("L1", pinned={2: "clinic"}, completed=completed),
                     learner("L2", pinned={1: "ward"})], blocks=2,
                    rotation={"precedence": [{"before": "acute", "after": "community"}]})


V2_CASES: dict[str, Case] = {
    # Ward takes no one in block 1, and also none in block 3 (one unit placement covers
    # blocks 1-2 and the other would overlap it in block 2).
    "placement-length": Case(_placement_length({1: 0}), _placement_length({1: 0, 3: 0})),
    # Two blocks, one site, no repeats: 1 placement, or 2.
    "placement-count": Case(
        scenario([site("ward")], [learner("L1", placements=1)], blocks=2),
        scenario([site("ward")], [learner("L1", placements=2)], blocks=2)),
    # Two blocks, no repeats: ward and clinic once each, so one acute placement, not two.
    "requirements": Case(_rotation_v2(requirements=[{"settings": ["acute"], "min": 1}]),
                         _rotation_v2(requirements=[{"settings": ["acute"], "min": 2}])),
    # Two blocks at two acute sites: a setting may repeat, or not.
    "no-repeat-setting": Case(
        scenario([site("ward"), site("ward2")], [learner("L1")], blocks=2,
                 rotation={"no_repeat_setting": False}),
        scenario([site("ward"), site("ward2")], [learner("L1")], blocks=2,
                 rotation={"no_repeat_setting": True})),
    # L1 is pinned to clinic (community) in block 2: with acute completed before the
    # programme, or not, when L2 holds ward's one place in block 1.
    "precedence": Case(_precedence(completed=["acute"]), _precedence(completed=[])),
    # Two blocks, both sites of organisation trust: 2 placements there, or 1.
    "organisation-cap": Case(_rotation_v2(max_per_organisation=2),
                             _rotation_v2(max_per_organisation=1)),
}
CASES |= V2_CASES

UNITS = [rule for rule in RULES if rule.name not in BY_DOMAINS]
DOMAINS = [rule for rule in RULES if rule.name in BY_DOMAINS]


def verdict(data: Data, rules: Iterable[Rule] = RULES) -> str:
    """CP-SAT's status on the model of a scenario built with the given rule units."""
    form = formulate(Instance(scenario_from(data)), rules=rules)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10.0
    return str(solver.status_name(solver.solve(form.model)))


def without(rule: Rule) -> list[Rule]:
    """Every rule unit but one."""
    return [r for r in RULES if r is not rule]


def _name(rule: Rule) -> str:
    """A rule's name (the test id)."""
    return rule.name


def test_every_rule_has_a_case() -> None:
    """Every rule of RULES has a case here, and every case is a rule of RULES."""
    assert set(CASES) == {rule.name for rule in RULES}
    assert {rule.name for rule in DOMAINS} == BY_DOMAINS


@pytest.mark.parametrize("rule", RULES, ids=_name)
def test_feasible_case_has_a_plan(rule: Rule) -> None:
    """With every unit posted, the scenario the rule allows has a solution."""
    assert verdict(CASES[rule.name].feasible) in FOUND


@pytest.mark.parametrize("rule", RULES, ids=_name)
def test_infeasible_case_has_no_plan(rule: Rule) -> None:
    """With every unit posted, each scenario the rule forbids is proven infeasible."""
    for data in CASES[rule.name].forbidden():
        assert verdict(data) == "INFEASIBLE"


@pytest.mark.parametrize("rule", UNITS, ids=_name)
def test_unit_alone_forbids_infeasible_case(rule: Rule) -> None:
    """Left out of the model, the unit's rule no longer forbids its infeasible cases.

    Every other unit is still posted, so the unit's own constraints are what
    make each case infeasible; the unit posts some there.
    """
    for data in CASES[rule.name].forbidden():
        assert verdict(data, without(rule)) in FOUND
        assert formulate(Instance(scenario_from(data))).b.counts.get(rule.name, 0) > 0


@pytest.mark.parametrize("rule", DOMAINS, ids=_name)
def test_domain_rule_empties_the_domain(rule: Rule) -> None:
    """A domain rule keeps ward a candidate in its feasible case and removes it in the other.

    In the infeasible case L1 has no candidate site in block 1, and ward's
    exclusion names the rule. The unit itself posts nothing: the model
    without it is the same size.
    """
    key = (0, 1, ROTATION)
    allowed = Instance(scenario_from(CASES[rule.name].feasible))
    assert "ward" in allowed.options[key]
    forbidden = Instance(scenario_from(CASES[rule.name].infeasible))
    assert forbidden.options[key] == {}
    assert forbidden.excluded[key]["ward"].rule == rule.name
    full = formulate(forbidden)
    assert rule.name not in full.b.counts
    assert full.size() == formulate(forbidden, rules=without(rule)).size()
