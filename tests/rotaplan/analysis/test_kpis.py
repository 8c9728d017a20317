"""Headline figures (rotaplan/analysis/kpis.py): exact, and naming who is left out.

Regression tests for issue 12 A1-A3: top 3 counted a placement at a site the
learner never listed whenever they listed fewer than three entries; learners
left out were counted but never named; ``summary.json`` had no ``kpis``.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rotaplan.cli import app
from rotaplan.models import load_scenario
from tests.helpers import (
    SHARED_EXAMPLE,
    learner,
    needs_shared,
    run,
    scenario,
    scenario_from,
    site,
    solve_write_check,
    sup,
)


@needs_shared
def test_contract_example_counts_20_of_32_placements_in_the_top_3(tmp_path: Path) -> None:
    """On the contract example the plan has 20 of 32 placements within the learner's top
    3 (the old count, 29, took any placement of a learner with fewer than three entries);
    summary.json's kpis say so, and the CLI prints it."""
    solve_write_check(SHARED_EXAMPLE, tmp_path / "plan")
    kpis = json.loads((tmp_path / "plan" / "summary.json").read_text())["kpis"]
    assert kpis["placements_with_preferences"] == 32
    assert kpis["top3_placements"] == 20
    assert kpis["placed"] == 6 and kpis["left_out"] == []
    assert set(kpis) >= {"placed", "left_out", "first_choice", "top3_placements",
                         "placements_with_preferences"}
    out = CliRunner().invoke(app, ["solve", str(SHARED_EXAMPLE), "--out",
                                   str(tmp_path / "cli"), "--time-limit", "30"])
    assert "top 3       20/32" in out.output


def test_a_site_never_listed_is_not_in_the_top_3(tmp_path: Path) -> None:
    """A learner who listed one site, and is placed elsewhere in the other block, has one
    top-3 placement of two, not two: a placement counts only if its site or setting is
    among the first three entries of their preferences."""
    data = scenario([site("a", sups=[sup("a1", capacity=1)]),
                     site("c", "community", sups=[sup("c1", capacity=1)])],
                    [learner("L1", preferences=["a"])], blocks=2)
    sc = scenario_from(data)
    result = run(sc)
    assert result.plan is not None
    from rotaplan.analysis.kpis import kpis

    figures = kpis(sc, result.plan, result.learner_costs)
    assert figures.placements_with_preferences == 2
    assert figures.top3_placements == 1
    assert figures.first_choice == 1


def test_learners_left_out_are_named_in_kpis_and_the_cli_summary(tmp_path: Path) -> None:
    """With room for one of two learners and ``allow_unplaced``, the one left out is named
    in summary.json's kpis (``left_out``) and in the CLI summary line."""
    data = scenario([site("a", sups=[sup("a1", capacity=1)])],
                    [learner("L1"), learner("L2")], blocks=1,
                    rotation={"cover": ["acute"]},
                    objective={"allow_unplaced": True, "unplaced_penalty": 50})
    path = tmp_path / "two.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "plan"),
                                   "--time-limit", "30"])
    assert out.exit_code == 0, out.output
    kpis = json.loads((tmp_path / "plan" / "summary.json").read_text())["kpis"]
    assert kpis["placed"] == 1 and len(kpis["left_out"]) == 1
    (gone,) = kpis["left_out"]
    assert gone in ("L1", "L2")
    placed_line = next(line for line in out.output.splitlines() if line.startswith("placed"))
    assert gone in placed_line and "1 left out" in placed_line
    assert load_scenario(path).objective.allow_unplaced
