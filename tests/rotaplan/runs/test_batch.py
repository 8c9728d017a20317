"""``rotaplan batch``: many scenarios, three engines, one summary, the worst exit code."""

from __future__ import annotations

import csv
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rotaplan.checker import check_plan_dir
from rotaplan.cli import app
from rotaplan.generate import generate_scenario
from rotaplan.models import load_scenario
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.runs import batch
from rotaplan.runs.batch import (
    SUMMARY_COLUMNS,
    BatchError,
    collect_files,
    fit_jobs,
    plan_names,
    run_batch,
    solve_file,
)
from tests.helpers import INSTANCES, SHARED_CHECKER, SHARED_EXAMPLE, shared_check

runner = CliRunner()
BROKEN = ("programme: {name: x, blocks: 2}\nsettings: [a]\nprofessions: [nurse]\n"
          "sites: []\nlearners:\n  - {id: L1, profession: nures}\n")


def invoke(*args: str) -> Any:
    """``rotaplan batch ...`` in-process."""
    return runner.invoke(app, ["batch", *args], catch_exceptions=False)


def read_summary(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def check_plan(scenario_path: Path, plan_dir: Path) -> None:
    """Both checkers accept the plan (the shared one only where ../shared exists)."""
    report = check_plan_dir(load_scenario(scenario_path), plan_dir)
    assert report.ok, report.render()
    if SHARED_CHECKER.exists():
        shared_check(scenario_path, plan_dir)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small scenarios: the contract example and a generated 8-learner one."""
    folder = tmp_path_factory.mktemp("small")
    shutil.copy(SHARED_EXAMPLE if SHARED_EXAMPLE.exists() else INSTANCES / "demo.yaml",
                folder / "example.yaml")
    (folder / "gen8.yaml").write_text(dump_scenario(generate_scenario(8, seed=1)))
    return folder


@pytest.fixture(scope="module")
def pool_objectives(small: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Objectives from the process pool (jobs 2, one deterministic CP-SAT worker each)."""
    out = tmp_path_factory.mktemp("pool")
    result = run_batch([small], out, jobs=2, workers=1, time_limit=20, seed=0)
    assert result.exit_code == 0, result.rows
    assert result.jobs == min(2, batch.cpu_count())
    for row in result.rows:
        assert row["status"] == "OPTIMAL"
        check_plan(small / f"{row['scenario']}.yaml", Path(row["plan_dir"]))
    return {row["scenario"]: row["objective"] for row in result.rows}


def test_folder_with_optimal_infeasible_and_invalid(tmp_path: Path) -> None:
    """A folder of optimal, infeasible and invalid scenarios gives one row each and exits 3.

    Non-YAML files are skipped; the optimal plan is checked, the infeasible one is explained without
    assignments, and the invalid one's located error is printed and kept in its summary.
    """
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(INSTANCES / "demo.yaml", folder)
    shutil.copy(INSTANCES / "infeasible.yaml", folder)
    (folder / "broken.yml").write_text(BROKEN)
    (folder / "notes.txt").write_text("not a scenario")
    out = tmp_path / "out"
    result = invoke(str(folder), "--out", str(out), "--jobs", "1", "--workers", "2",
                    "--time-limit", "20")
    assert result.exit_code == 3, result.output  # worst of 0, 3 and 2
    assert "Traceback" not in result.output
    assert f"{folder / 'broken.yml'}:6:26: learners[0].profession: unknown profession" \
        in result.stderr
    for name in ("demo", "infeasible", "broken", "OPTIMAL", "INFEASIBLE", "INVALID"):
        assert name in result.stdout
    columns, rows = read_summary(out / "batch_summary.csv")
    assert columns == SUMMARY_COLUMNS
    assert columns[:7] == ["scenario", "status", "objective", "bound", "gap", "placed", "time"]
    assert [(r["scenario"], r["status"], r["exit_code"]) for r in rows] == [
        ("broken", "INVALID", "2"), ("demo", "OPTIMAL", "0"), ("infeasible", "INFEASIBLE", "3")]
    demo = rows[1]
    assert demo["objective"] == demo["bound"] and demo["placed"] == "30"
    assert Path(demo["plan_dir"]) == out / "demo"
    check_plan(INSTANCES / "demo.yaml", out / "demo")
    assert json.loads((out / "infeasible" / "summary.json").read_text())["status"] == \
        "INFEASIBLE"
    assert (out / "infeasible" / "explanation.txt").exists()
    assert not (out / "infeasible" / "assignments.csv").exists()
    invalid = json.loads((out / "broken" / "summary.json").read_text())
    assert invalid["status"] == "INVALID" and "unknown profession" in invalid["errors"][0]


def test_process_pool_two_jobs(pool_objectives: dict[str, Any]) -> None:
    """Two jobs in the process pool solve both small scenarios to checked, whole-number optima."""
    assert set(pool_objectives) == {"example", "gen8"}
    assert all(isinstance(v, int) for v in pool_objectives.values())


def test_dask_local_cluster_matches_pool(small: Path, tmp_path: Path,
                                         pool_objectives: dict[str, Any]) -> None:
    """A local Dask cluster gives the same objectives as the process pool, with checked plans."""
    out = tmp_path / "out"
    result = invoke(str(small), "--out", str(out), "--dask", "local", "--jobs", "2",
                    "--workers", "1", "--time-limit", "20", "-q")
    assert result.exit_code == 0, result.output
    _, rows = read_summary(out / "batch_summary.csv")
    assert {r["scenario"]: int(r["objective"]) for r in rows} == pool_objectives
    for row in rows:
        check_plan(small / f"{row['scenario']}.yaml", Path(row["plan_dir"]))


def test_dask_existing_cluster_by_address(small: Path, tmp_path: Path,
                                          pool_objectives: dict[str, Any]) -> None:
    """A Dask cluster given by its address gives the same objectives as the process pool.

    The cluster stays up afterwards; its job limit is its 2 threads, and asking for more CP-SAT
    workers than there are cores draws a warning.
    """
    import dask
    from distributed import Client, LocalCluster

    scratch = {"temporary-directory": str(tmp_path / "dask")}
    with dask.config.set(scratch), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
            host="127.0.0.1", dashboard_address=None) as cluster:
        out = tmp_path / "out"
        result = invoke(str(small), "--out", str(out), "--dask", cluster.scheduler_address,
                        "--workers", "1", "--time-limit", "20", "-q")
        assert result.exit_code == 0, result.output
        _, rows = read_summary(out / "batch_summary.csv")
        assert {r["scenario"]: int(r["objective"]) for r in rows} == pool_objectives
        one_at_a_time = run_batch([small], tmp_path / "window", jobs=1, workers=1,
                                  time_limit=20, dask=cluster.scheduler_address)
        assert one_at_a_time.jobs == 1
        assert {r["scenario"]: r["objective"] for r in one_at_a_time.rows} == pool_objectives
        with Client(cluster.scheduler_address) as client:  # the cluster is still up
            assert len(client.nthreads()) == 2
            too_many = batch.cpu_count() + 1
            limit, warning = batch._cluster_warning(client, None, too_many)
    assert limit == 2
    assert warning is not None and f"× {too_many} CP-SAT workers" in warning


def test_unreachable_scheduler_exits_2(small: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dask scheduler that cannot be reached exits 2 and names its address."""
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", 1.0)
    result = invoke(str(small / "example.yaml"), "--out", str(tmp_path),
                    "--dask", "tcp://127.0.0.1:9", "-q")
    assert result.exit_code == 2
    assert "cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_fit_jobs_never_oversubscribes() -> None:
    """Jobs are cut so that jobs times CP-SAT workers fit the cores, with a warning when cut."""
    assert fit_jobs(None, 1, 8) == (8, None)
    assert fit_jobs(None, 2, 8) == (4, None)
    assert fit_jobs(3, 2, 8) == (3, None)
    assert fit_jobs(4, 2, 2) == (1, "asked for 4 jobs × 2 CP-SAT workers on 2 cores; "
                                    "running 1 job at a time")
    assert fit_jobs(6, 2, 8) == (4, "asked for 6 jobs × 2 CP-SAT workers on 8 cores; "
                                    "running 4 jobs at a time")
    jobs, warning = fit_jobs(None, 4, 2)
    assert jobs == 1 and warning is not None and "oversubscribe" in warning


def test_oversubscription_warning_and_reduced_jobs(small: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for more jobs than the cores take runs fewer, with one warning, CLI and API alike."""
    monkeypatch.setattr(batch, "cpu_count", lambda: 2)
    result = invoke(str(small), "--out", str(tmp_path / "cli"), "--jobs", "4", "--workers", "2",
                    "--time-limit", "20", "-q")
    assert result.exit_code == 0, result.output
    assert ("warning: asked for 4 jobs × 2 CP-SAT workers on 2 cores; running 1 job at a time"
            in result.stderr)
    api = run_batch([small], tmp_path / "api", jobs=4, workers=2, time_limit=20)
    assert api.jobs == 1 and len(api.warnings) == 1


def test_globs_folders_and_duplicates(small: Path, tmp_path: Path) -> None:
    """Globs and folders expand to each YAML file once, and equal names get -2, -3 suffixes.

    A missing path, a glob matching nothing or a folder without YAML files is refused.
    """
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(small / "example.yaml", tmp_path / sub / "example.yaml")
    a, b = tmp_path / "a" / "example.yaml", tmp_path / "b" / "example.yaml"
    assert collect_files([str(tmp_path / "*" / "*.yaml")]) == [a, b]
    assert collect_files([tmp_path / "a", a, str(tmp_path / "a" / "*.y*ml")]) == [a]
    assert plan_names([a, b, a.with_name("example-2.yaml")]) == \
        ["example", "example-2", "example-2-2"]
    with pytest.raises(BatchError, match="no such file or folder"):
        collect_files([tmp_path / "missing.yaml"])
    with pytest.raises(BatchError, match="no files match"):
        collect_files([str(tmp_path / "*.nothing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match=r"no \.yaml or \.yml files"):
        collect_files([tmp_path / "empty"])

    out = tmp_path / "out"
    result = invoke(str(tmp_path / "*" / "example.yaml"), str(a), "--out", str(out),
                    "--jobs", "1", "--time-limit", "20", "-q")
    assert result.exit_code == 0, result.output
    _, rows = read_summary(out / "batch_summary.csv")
    assert [r["scenario"] for r in rows] == ["example", "example-2"]
    assert rows[0]["objective"] == rows[1]["objective"]
    check_plan(b, out / "example-2")


def test_missing_path_exits_2(tmp_path: Path) -> None:
    """A scenario path that does not exist exits 2 with its name and no traceback."""
    result = invoke(str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "nope.yaml: no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_crashed_task_is_an_error_row(small: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A task that raises gives an ERROR row naming the exception, and exit code 5."""
    def boom(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(batch, "solve_file", boom)
    result = run_batch([small / "example.yaml"], tmp_path, jobs=1)
    assert result.exit_code == 5
    assert result.rows[0]["status"] == "ERROR"
    assert result.rows[0]["error"] == "RuntimeError: worker lost"


def test_solve_file_is_a_picklable_task_on_text(tmp_path: Path) -> None:
    """solve_file pickles by reference and turns invalid text into an INVALID row with errors."""
    assert pickle.loads(pickle.dumps(solve_file)) is solve_file
    row = solve_file("bad", BROKEN, str(tmp_path / "bad"), 5.0, 1, 0, source="bad.yaml")
    assert row["status"] == "INVALID" and row["exit_code"] == 2
    assert row["errors"][0].startswith("bad.yaml:6:26:")
    assert set(batch.ROW_KEYS) <= set(row)


def test_batch_over_the_shipped_instances_with_the_rotaplan_command(tmp_path: Path) -> None:
    """`rotaplan batch instances/` as the README shows it: every plan checked, worst exit.

    It is also the suite's proof of the shipped medium scenario's optimum (480), checked
    by both checkers.
    """
    from rotaplan.cli import app

    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["batch", str(INSTANCES), "--out", str(out),
                                      "--jobs", "1", "--workers", "2", "--time-limit", "120"])
    assert result.exit_code == 3, result.output  # infeasible.yaml is the worst case
    _, rows = read_summary(out / "batch_summary.csv")
    status = {r["scenario"]: r["status"] for r in rows}
    assert status == {"demo": "OPTIMAL", "infeasible": "INFEASIBLE", "medium": "OPTIMAL",
                      "pathway": "OPTIMAL"}
    assert {r["scenario"]: float(r["objective"]) for r in rows
            if r["status"] == "OPTIMAL"} == {"demo": 167.0, "medium": 480.0, "pathway": 336.0}
    for name in ("demo", "medium", "pathway"):
        check_plan(INSTANCES / f"{name}.yaml", out / name)
    assert (out / "infeasible" / "explanation.txt").exists()
