"""End to end: every shipped scenario and the contract example, through the
pipeline, verified by the project's checker and by ../shared's checker."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotaplan.checker import check_plan_dir
from rotaplan.models import load_scenario
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.helpers import (
    INSTANCES,
    SHARED_EXAMPLE,
    needs_shared,
    shared_check,
    solve_write_check,
)


@needs_shared
def test_contract_example_solves_to_its_optimum_38(tmp_path: Path) -> None:
    """The contract's example solves to a proven optimum of 38, confirmed by both checkers."""
    result, report = solve_write_check(SHARED_EXAMPLE, tmp_path)
    assert result.status == "OPTIMAL"
    assert result.objective == 38 and result.best_bound == 38
    assert report.objective == 38
    assert "OK cost=38" in shared_check(SHARED_EXAMPLE, tmp_path, "--expect-objective", "38")


def test_demo_is_proven_optimal(tmp_path: Path) -> None:
    """The demo solves to a proven optimum, and the checker recomputes the same objective."""
    result, report = solve_write_check(INSTANCES / "demo.yaml", tmp_path)
    assert result.status == "OPTIMAL"
    assert result.objective == report.objective == result.best_bound


def test_infeasible_instance_has_a_short_cover_explanation(tmp_path: Path) -> None:
    """The shipped infeasible scenario exits 3 with its stroke cover shortage against kl-hasu's
    supervisor-capacity (a counting proof), in a few lines with a checked fix."""
    sc = load_scenario(INSTANCES / "infeasible.yaml")
    outcome = solve_and_write(sc, tmp_path, SolveOptions(time_limit=30))
    assert outcome.exit_code == 3
    explanation = outcome.result.explanation
    assert explanation is not None
    assert {c.rule for c in explanation.conflicts} == {"cover", "supervisor-capacity"}
    assert len(explanation.render().splitlines()) <= 10
    assert explanation.suggestions


@pytest.mark.parametrize("fairness", ["minimax"])
def test_demo_with_minimax_fairness(tmp_path: Path, fairness: str) -> None:
    """Minimax on the demo lowers or keeps the largest learner cost, at no lower total.

    It solves in the fairness then total phases, and the checker recomputes the same largest cost.
    """
    text = (INSTANCES / "demo.yaml").read_text() + f"\nobjective: {{fairness: {fairness}}}\n"
    scenario_path = tmp_path / "demo-minimax.yaml"
    scenario_path.write_text(text)
    plain, _ = solve_write_check(INSTANCES / "demo.yaml", tmp_path / "plain")
    fair, report = solve_write_check(scenario_path, tmp_path / "fair")
    assert fair.status == "OPTIMAL"
    assert fair.worst_learner_cost is not None and plain.worst_learner_cost is not None
    assert fair.worst_learner_cost <= plain.worst_learner_cost
    assert fair.objective is not None and plain.objective is not None
    assert fair.objective >= plain.objective  # fairness first can only cost total
    assert [p["phase"] for p in fair.summary()["phases"]] == ["fairness", "total"]
    assert report.worst_learner_cost == fair.worst_learner_cost


def test_same_input_and_seed_give_the_same_plan(tmp_path: Path) -> None:
    """Two one-worker solves of the demo with one seed write byte-identical plan files."""
    sc = load_scenario(INSTANCES / "demo.yaml")
    files = []
    for attempt in range(2):
        out = tmp_path / str(attempt)
        outcome = solve_and_write(sc, out, SolveOptions(workers=1, seed=7, time_limit=60))
        assert outcome.exit_code == 0
        assert check_plan_dir(sc, out).ok
        files.append(((out / "assignments.csv").read_bytes(),
                      (out / "timetable.csv").read_bytes()))
    assert files[0] == files[1]


def test_same_plan_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    """Set iteration order must never leak into the model: PYTHONHASHSEED changes it."""
    import os
    import subprocess
    import sys

    plans = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = os.environ | {"PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", "from rotaplan.cli import main; main()", "solve",
                        str(INSTANCES / "demo.yaml"), "--out", str(out), "--workers", "1",
                        "--seed", "5", "-q"], check=True, env=env, capture_output=True)
        plans.append(((out / "assignments.csv").read_bytes(),
                      (out / "timetable.csv").read_bytes()))
    assert plans[0] == plans[1]


def test_model_is_identical_across_hash_seeds() -> None:
    """The demo's model is byte-identical under three different Python hash seeds."""
    import os
    import subprocess
    import sys

    code = ("import hashlib; from rotaplan.models import load_scenario; "
            "from rotaplan.solver import formulate; from rotaplan.solver.instance import Instance; "
            f"b = formulate(Instance(load_scenario(r'{INSTANCES / 'demo.yaml'}'))).b; "
            "print(hashlib.sha256(str(b.model.proto).encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                       env=os.environ | {"PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
