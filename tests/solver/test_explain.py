"""Infeasibility explanations: right rules and ids, and minimal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from ortools.sat.python import cp_model

from rotaplan.models import Scenario, load_scenario
from rotaplan.models.edits import Newcomer, changed, with_newcomers
from rotaplan.solver import solve
from rotaplan.solver.explain import Diagnosis, diagnose, explain_infeasible
from rotaplan.solver.result import SHORT_LINES
from rotaplan.solver.rules import Group
from tests.helpers import (
    INSTANCES,
    built,
    cli,
    demo_data,
    ics_rooms_cut,
    learner,
    run,
    scenario,
    scenario_from,
    site,
    stranded_fellow,
    sup,
    tweak,
    without_rooms,
)


def _feasible_with(scenario: Scenario, keep: list[Group]) -> bool:
    """Whether the model is satisfiable with only the given groups enforced."""
    b = built(scenario, explain=True)
    b.model.add_assumptions([b.groups[g] for g in keep])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    status = solver.solve(b.model)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    return status != cp_model.INFEASIBLE


def test_shipped_infeasible_explanation_is_minimal() -> None:
    """The shipped infeasible scenario's conflict is infeasible, and feasible without any one group.

    Its cover groups are the stroke cover of the three physiotherapists L001-L003.
    """
    scenario = load_scenario(INSTANCES / "infeasible.yaml")
    explanation = explain_infeasible(scenario)
    assert explanation.minimal
    b = built(scenario, explain=True)
    by_key = {(g.rule, g.ids): g for g in b.groups}
    core = [by_key[(c.rule, c.ids)] for c in explanation.conflicts]
    assert not _feasible_with(scenario, core)
    for dropped in core:
        assert _feasible_with(scenario, [g for g in core if g != dropped]), dropped.text
    cover = sorted(c.ids for c in explanation.conflicts if c.rule == "cover")
    assert cover == [("L001", "stroke"), ("L002", "stroke"), ("L003", "stroke")]


def test_empty_domain_is_explained_with_the_excluding_rule() -> None:
    """A learner no site accepts is a placement conflict, detailed by the eligibility exclusion."""
    # The only site does not accept the learner's profession.
    data = tweak(professions=["nurse", "physio"])
    data["sites"][0]["accepts"] = ["physio"]
    result = run(data)
    assert result.status == "INFEASIBLE"
    assert result.explanation is not None
    assert [c.rule for c in result.explanation.conflicts] == ["placement"]
    assert any("[eligibility] ward does not accept nurse" in d
               for d in result.explanation.details)


def test_supervisor_capacity_conflict_names_the_supervisor() -> None:
    """Two learners for one supervisor of capacity 1 conflict on supervisor-capacity, naming sup."""
    data = tweak()
    data["learners"].append({"id": "L2", "profession": "nurse"})
    result = solve(load_scenario_from(data))
    assert result.status == "INFEASIBLE"
    assert result.explanation is not None
    rules = {c.rule for c in result.explanation.conflicts}
    assert "supervisor-capacity" in rules
    assert any("sup (1)" in c.text for c in result.explanation.conflicts)


def load_scenario_from(data: dict) -> Scenario:
    from tests.helpers import scenario_from

    return scenario_from(data)


def test_explaining_never_recurses_and_keeps_the_time_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12 A11: suggestions re-solve relaxed scenarios without explaining them again.

    Ten nurses and one place: once 381 nested solves for --time-limit 1 (19.5 s), 4,191
    for ten nurses (170 s). Now `rotaplan solve --time-limit 1` ends with exit 3, its
    summary and explanation written, and no solve inside another explains anything.
    """
    import yaml
    from typer.testing import CliRunner

    from rotaplan.cli import app
    from rotaplan.solver import explain as explain_module

    data = scenario([site("a", sups=[sup("a1", capacity=1)])],
                    [learner(f"N{i}") for i in range(10)], blocks=1,
                    rotation={"cover": ["acute"]})
    path = tmp_path / "ten.yaml"
    path.write_text(yaml.safe_dump(data))
    calls = {"diagnose": 0}
    original = explain_module.diagnose_instance

    def counted(*args: object, **kwargs: object) -> object:
        calls["diagnose"] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(explain_module, "diagnose_instance", counted)
    out = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "plan"),
                                   "--time-limit", "1", "-q"])
    assert out.exit_code == 3, out.output
    assert (tmp_path / "plan" / "summary.json").exists()
    assert (tmp_path / "plan" / "explanation.txt").exists()
    assert calls["diagnose"] == 1  # the scenario once; no relaxed one explained


# ----- realistic infeasibilities: short statements in resource terms, verified fixes ------


def _assert_fixes_work(sc: Scenario, found: Diagnosis) -> None:
    """Every suggested change, applied, gives a scenario the engine solves with a plan."""
    assert found.explanation is not None
    assert found.changes, found.explanation.render(details=True)
    assert [c.words for c in found.changes] == list(found.explanation.suggestions)
    for change in found.changes:
        fixed = solve(changed(sc, *change.edits))
        assert fixed.has_plan, change.words


def test_demo_practice_without_rooms_is_one_short_statement_with_a_verified_fix() -> None:
    """The demo with Orchard Medical Centre's rooms at 0 fails a counting check of primary care.

    The short form fits in 10 lines, names the practice and its 0 rooms, keeps the learners
    behind the line as ids, and suggests rooms there first; every suggestion solves.
    """
    sc = scenario_from(without_rooms(demo_data(), "att-orchard"))
    found = diagnose(sc, 10.0)
    assert found.feasible is False and found.explanation is not None
    text = found.explanation.render()
    assert len(text.splitlines()) <= SHORT_LINES
    assert found.explanation.statement[0].startswith("Primary care [cover]: 5 physiotherapist")
    assert "Orchard Medical Centre (att-orchard): 0 place-blocks, 0 room(s) a session [rooms]" \
        in text
    learners = {m.ids[0] for g in found.explanation.groups for m in g.members if m.rule == "cover"}
    assert len(learners) == 5 and all(sc.learner_by_id[x].profession == "physiotherapist"
                                      for x in learners)
    assert found.explanation.suggestions[0] == \
        "rooms at Orchard Medical Centre (att-orchard): 0 -> 1 in every session"
    _assert_fixes_work(sc, found)


def test_supervisor_leave_that_strands_a_fellow_names_the_fellow_and_the_leave() -> None:
    """A fellow held to Orchard, whose pharmacy supervisors are away in block 2, has no base.

    One line names the fellow and the site lost in block 2 (supervisor-match); the fixes are
    the supervisors back from leave, each verified.
    """
    sc = scenario_from(stranded_fellow(demo_data(), "F001", "att-orchard", 2))
    found = diagnose(sc, 10.0)
    assert found.explanation is not None
    assert found.explanation.statement == (
        "F001 (pharmacist): no possible base site in blocks 1-4; lost: Orchard Medical Centre "
        "(att-orchard) [supervisor-match] in block 2",)
    assert all("working in block 2 (not on leave)" in fix
               for fix in found.explanation.suggestions)
    _assert_fixes_work(sc, found)


def test_cohort_one_too_large_gives_a_minimal_conflict_of_a_few_lines() -> None:
    """Six more pharmacists like L001 (five fit: measured) give a conflict over aggregated groups.

    The counting checks pass, so CP-SAT finds a core over lines (a site's resource, a
    profession's cover of a setting); it is at most 6 lines and names pharmacist cover; if no
    fix is listed, a note says whether the search covered every candidate.
    """
    sc, added = with_newcomers(load_scenario(INSTANCES / "demo.yaml"), Newcomer(like="L001"), 6)
    found = diagnose(sc, 30.0)
    assert found.feasible is False and found.explanation is not None
    explanation = found.explanation
    assert 1 <= len(explanation.statement) <= 6
    assert len(explanation.render().splitlines()) <= SHORT_LINES
    assert any(line.startswith("[cover] pharmacist") for line in explanation.statement)
    covered = {m.ids[0] for g in explanation.groups for m in g.members if m.rule == "cover"}
    assert covered & set(added)
    if explanation.suggestions:
        _assert_fixes_work(sc, found)
    else:
        assert explanation.notes


def test_ics_scale_practice_without_rooms_is_explained_briefly_and_fixed() -> None:
    """A generated 300-learner ICS whose practice at 0 rooms strands a learner.

    The explanation is at most 10 lines, names the practice's rooms, and its fix (rooms back)
    is verified by a plan of the changed scenario (the greedy's placements held, CP-SAT's
    timetable).
    """
    from rotaplan.solver.fixes import plan_exists

    data, site_id = ics_rooms_cut(300, seed=1)
    sc = scenario_from(data)
    found = diagnose(sc, 60.0)
    assert found.explanation is not None
    text = found.explanation.render()
    assert len(text.splitlines()) <= SHORT_LINES
    assert f"({site_id}) [rooms]" in text
    assert found.changes and all(f"({site_id})" in c.words for c in found.changes)
    assert plan_exists(changed(sc, *found.changes[0].edits), 60.0) is True


def test_explain_command_on_the_demo_without_a_practice_s_rooms(tmp_path: Path) -> None:
    """`rotaplan explain` on the demo with a practice's rooms at 0 exits 3 within 10 lines.

    It prints the primary-care shortage naming the practice and a fix checked by a solve;
    with ``--details`` it prints every learner behind the line (each rotation physiotherapist's
    primary-care cover).
    """
    path = tmp_path / "demo-rooms-0.yaml"
    path.write_text(yaml.safe_dump(without_rooms(demo_data(), "sher-oak-tree"), sort_keys=False))
    out, _, code = cli("explain", path, "--time-limit", "10")
    assert code == 3, out
    lines = out.strip().splitlines()
    assert len(lines) <= SHORT_LINES
    assert any("Oak Tree Practice (sher-oak-tree): 0 place-blocks, 0 room(s)" in x for x in lines)
    assert "Changes that make a plan possible (each checked by a solve):" in lines
    detailed, _, code = cli("explain", path, "--time-limit", "10", "--details")
    assert code == 3
    assert "the ids behind each line:" in detailed
    physios = [x.id for x in load_scenario(path).learners if x.profession == "physiotherapist"
               and x.track == "rotation"]
    assert all(f"{x}/primary-care" in detailed for x in physios)


def test_a_stop_keeps_the_explanation_and_says_the_fixes_were_not_all_tried() -> None:
    """A stop set before the start still gives the statement (checks need no search), but no
    fix is claimed, and the note says not every change could be tried (never "none fixes it")."""
    sc = scenario_from(without_rooms(demo_data(), "att-orchard"))
    stop = threading.Event()
    stop.set()
    found = diagnose(sc, 10.0, stop=stop)
    assert found.explanation is not None and found.explanation.statement
    assert not found.changes and not found.explanation.suggestions
    assert any("not every change could be tried" in n for n in found.explanation.notes)
    assert not any("makes a plan possible" in n for n in found.explanation.notes)


def test_two_rooms_needed_at_once_are_found_not_denied() -> None:
    """Two full-time nurses at Elm Surgery with 0 rooms share one line; one more room is proven
    not enough (a counting check), and two rooms, verified by a solve, are suggested."""
    data = scenario([site("elm", name="Elm Surgery", sups=[sup("sam", capacity=2)], rooms=0)],
                    [learner("L1"), learner("L2")])
    sc = scenario_from(data)
    found = diagnose(sc, 10.0)
    assert found.explanation is not None
    assert found.explanation.statement == (
        "L1, L2 (nurse): no possible site in block 1; lost: Elm Surgery (elm) [rooms] in block 1",)
    assert found.explanation.suggestions == ("rooms at Elm Surgery (elm): 0 -> 2 in every session",)
    _assert_fixes_work(sc, found)
