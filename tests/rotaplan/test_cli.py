"""The command line: exit codes (contract §8), files written, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rotaplan.cli import app
from tests.helpers import INSTANCES, SHARED_CHECKER, needs_shared, shared_check

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_solve_demo_writes_verified_plan(tmp_path: Path) -> None:
    """`rotaplan solve` on the demo exits 0 with a checked optimal plan in the contract's files.

    The summary holds the contract's fields and more, and the CSV headers are the contract's.
    """
    result = invoke("solve", str(INSTANCES / "demo.yaml"), "--out", str(tmp_path), "-q")
    assert result.exit_code == 0, result.output
    assert "status      OPTIMAL" in result.output
    assert "verified by the checker" in result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("status", "objective", "best_bound", "preference_cost", "unplaced",
                "solve_seconds", "gap", "terms", "first_solution_seconds", "seed", "workers",
                "time_limit"):
        assert key in summary
    assert summary["status"] == "OPTIMAL"
    assert summary["objective"] == summary["best_bound"]
    header = (tmp_path / "assignments.csv").read_text().splitlines()[0]
    assert header == "learner_id,block,role,site_id,supervisor_id"
    header = (tmp_path / "timetable.csv").read_text().splitlines()[0]
    assert header == "learner_id,block,session,activity,site_id,supervisor_id"
    if SHARED_CHECKER.exists():
        shared_check(INSTANCES / "demo.yaml", tmp_path)


def test_solve_without_scenario_uses_embedded_demo(tmp_path: Path) -> None:
    """`rotaplan solve` without a scenario solves the embedded demo, placing all 30 learners."""
    result = invoke("solve", "--out", str(tmp_path), "-q", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "30/30 learners" in result.output


def test_embedded_demo_is_the_shipped_demo() -> None:
    """The demo embedded in the package is byte for byte instances/demo.yaml."""
    from rotaplan.cli.solve import demo_scenario_path

    assert demo_scenario_path().read_bytes() == (INSTANCES / "demo.yaml").read_bytes()


def test_invalid_input_exits_2_with_positions_and_writes_invalid_summary(tmp_path: Path) -> None:
    """Invalid input exits 2 with located errors, no traceback, and an INVALID summary."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("programme: {name: x, blocks: 2}\nsettings: [a]\nprofessions: [nurse]\n"
                   "sites: []\nlearners:\n  - {id: L1, profession: nures}\n")
    out = tmp_path / "out"
    result = invoke("solve", str(bad), "--out", str(out))
    assert result.exit_code == 2
    assert f"{bad}:6:26: learners[0].profession: unknown profession 'nures'" in result.output
    assert "Traceback" not in result.output
    assert json.loads((out / "summary.json").read_text())["status"] == "INVALID"


def test_missing_file_exits_2(tmp_path: Path) -> None:
    """`rotaplan validate` on a file that does not exist exits 2 and says so."""
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.yaml'}: no such file" in result.output


def test_infeasible_exits_3_with_explanation_files(tmp_path: Path) -> None:
    """An infeasible scenario exits 3 with its conflict printed and written, and no assignments."""
    result = invoke("solve", str(INSTANCES / "infeasible.yaml"), "--out", str(tmp_path), "-q")
    assert result.exit_code == 3, result.output
    assert "[supervisor-capacity: kl-hasu-pt1 (1)]" in result.output and "[cover]" in result.output
    text = (tmp_path / "explanation.txt").read_text()
    assert "the ids behind each line:" in text and "L001/stroke" in text
    data = json.loads((tmp_path / "explanation.json").read_text())
    assert {c["rule"] for c in data["conflicts"]} == {"cover", "supervisor-capacity"}
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "INFEASIBLE"
    assert not (tmp_path / "assignments.csv").exists()


def test_time_limit_without_plan_exits_4(tmp_path: Path) -> None:
    """A time limit too short for any plan exits 4 with an UNKNOWN summary and no assignments."""
    # 0.1 s is too short for the medium scenario's presolve: no plan is found.
    result = invoke("solve", str(INSTANCES / "medium.yaml"), "--out", str(tmp_path),
                    "--time-limit", "0.1", "-q", "--workers", "1")
    assert result.exit_code == 4, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "UNKNOWN"
    assert not (tmp_path / "assignments.csv").exists()


def test_stale_plan_is_removed_when_a_new_solve_fails(tmp_path: Path) -> None:
    """A failed solve into a folder removes the plan an earlier solve wrote there."""
    assert invoke("solve", str(INSTANCES / "demo.yaml"), "--out", str(tmp_path),
                  "-q").exit_code == 0
    assert (tmp_path / "assignments.csv").exists()
    assert invoke("solve", str(INSTANCES / "infeasible.yaml"), "--out", str(tmp_path),
                  "-q").exit_code == 3
    assert not (tmp_path / "assignments.csv").exists()


def test_validate_ok_and_warnings(tmp_path: Path) -> None:
    """`rotaplan validate` exits 0 on valid input, printing warnings such as a Tuesday start."""
    result = invoke("validate", str(INSTANCES / "demo.yaml"))
    assert result.exit_code == 0
    assert result.output.startswith("OK:")
    tuesday = tmp_path / "tuesday.yaml"
    tuesday.write_text("programme: {name: x, blocks: 1, start: 2027-09-07}\nsettings: [a]\n"
                       "professions: [nurse]\nsites: []\nlearners: []\n")
    result = invoke("validate", str(tuesday))
    assert result.exit_code == 0
    assert "warning: 2027-09-07 is a Tuesday" in result.output


def test_check_command_accepts_good_and_rejects_tampered_plan(tmp_path: Path) -> None:
    """`rotaplan check` passes a solved plan and fails one missing a session on working-pattern."""
    scenario = INSTANCES / "demo.yaml"
    assert invoke("solve", str(scenario), "--out", str(tmp_path), "-q").exit_code == 0
    ok = invoke("check", str(scenario), str(tmp_path))
    assert ok.exit_code == 0 and "OK:" in ok.output
    rows = (tmp_path / "timetable.csv").read_text().splitlines()
    (tmp_path / "timetable.csv").write_text("\n".join(rows[:-1]) + "\n")  # drop one session
    bad = invoke("check", str(scenario), str(tmp_path))
    assert bad.exit_code == 1
    assert "working-pattern" in bad.output


def test_schema_is_json_schema() -> None:
    """`rotaplan schema` prints the scenario's JSON schema."""
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Scenario"
    assert {"programme", "sites", "learners"} <= set(schema["properties"])


def test_generate_is_seeded(tmp_path: Path) -> None:
    """`rotaplan generate` with one seed writes the same valid scenario twice."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert invoke("generate", "--size", "12", "--seed", "5", "--out", str(first)).exit_code == 0
    assert invoke("generate", "--size", "12", "--seed", "5", "--out", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert invoke("validate", str(first)).exit_code == 0


@needs_shared
def test_contract_example_via_cli(tmp_path: Path) -> None:
    """`rotaplan solve` on the contract example writes a plan the shared checker costs at 38."""
    from tests.helpers import SHARED_EXAMPLE

    result = invoke("solve", str(SHARED_EXAMPLE), "--out", str(tmp_path), "-q")
    assert result.exit_code == 0
    assert "OK cost=38" in shared_check(SHARED_EXAMPLE, tmp_path, "--expect-objective", "38")


@pytest.mark.parametrize("name", ["demo", "medium", "infeasible"])
def test_shipped_instances_are_valid_input(name: str) -> None:
    """Every shipped scenario passes `rotaplan validate`."""
    assert invoke("validate", str(INSTANCES / f"{name}.yaml")).exit_code == 0


def test_a_file_with_thousands_of_problems_prints_the_first_hundred_and_a_count(
        tmp_path: Path) -> None:
    """`rotaplan validate` on a file with 300 bad learners prints at most 100 problems
    (SHOWN_PROBLEMS) and says how many more there are and how many in all; exit 2."""
    import yaml

    from rotaplan.cli.common import SHOWN_PROBLEMS

    data = yaml.safe_load((INSTANCES / "demo.yaml").read_text())
    learner = dict(data["learners"][0])
    data["learners"] = [{**learner, "id": f"X{i}", "profession": "astronaut"}
                        for i in range(300)]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(data))
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert len(lines) == SHOWN_PROBLEMS
    assert "more problem(s) not shown" in result.output
    assert "300 error(s)" in result.output


def test_progress_shows_each_new_phase_even_within_a_second(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress lines come at most once a second, but the first event of a new phase is
    always shown (the neighbourhood search's start came 0.3 s after column generation's
    last bound and was dropped, so a long search looked silent)."""
    from rotaplan.cli import common
    from rotaplan.solver.run import Progress

    shown: list[str] = []
    monkeypatch.setattr(common, "note", shown.append)
    printer = common.ProgressPrinter(enabled=True)
    printer(Progress("column generation", "solution", 3319.0, 3284.0, 10.0))
    printer(Progress("column generation", "solution", 3319.0, 3285.0, 10.2))
    printer(Progress("neighbourhood search", "solution", 3319.0, 3285.0, 10.3))
    printer(Progress("neighbourhood search", "solution", 3318.0, 3285.0, 10.5))
    assert [line.split("[")[1].split("]")[0] for line in shown] == \
        ["column generation", "neighbourhood search"]
    assert "bound 3285" in shown[1]
