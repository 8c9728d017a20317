"""``rotaplan batch`` against hostile file names and interruptions (issue 13.3, 13.5).

A batch names each plan folder after its scenario file. A file called
``...yaml`` (stem ``..``) used to write and clear plan files in the parent of
``--out``; ``batch_summary.csv.yaml`` made a folder where the summary goes and
crashed the batch. Every plan folder must be a visible folder directly inside
``--out``, and never take the name of a batch output.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotaplan.runs.batch import RESERVED_NAMES, plan_names, run_batch, safe_name

TINY = ("programme: {name: tiny, blocks: 1}\nsettings: [acute]\nprofessions: [nurse]\n"
        "sites:\n  - {id: ward, setting: acute, supervisors: [{id: s1, profession: nurse}]}\n"
        "learners:\n  - {id: L1, profession: nurse}\n")

HOSTILE_STEMS = ["..", ".", ".hidden", "batch_summary.csv", "BATCH_SUMMARY.CSV", "variants",
                 "sweep_summary.csv", "-rf", "=HYPERLINK(x)", "a b", "a/b", "a\nb", "é",
                 "x" * 300, "...", "alt-1", "rejected"]


@pytest.mark.parametrize("stem", HOSTILE_STEMS)
def test_safe_name_is_one_visible_component(stem: str) -> None:
    """Any stem becomes one path component: not hidden, no separator, no control
    character, not an option or formula, at most 100 characters."""
    name = safe_name(stem)
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and name.isprintable()
    assert name[0] not in ".-=+@" and len(name) <= 100


def test_plan_names_avoid_batch_outputs_and_case_clashes() -> None:
    """Names never equal a batch output, and differ even ignoring case."""
    names = plan_names([Path(f"{stem}.yaml") for stem in HOSTILE_STEMS])
    assert len({n.casefold() for n in names}) == len(names)
    assert not {n.casefold() for n in names} & {r.casefold() for r in RESERVED_NAMES}


def test_hostile_file_names_write_only_inside_out(tmp_path: Path) -> None:
    """A batch over files named ``...yaml``, ``batch_summary.csv.yaml`` and
    ``variants.yaml`` writes every plan folder inside --out, writes its summary,
    and leaves the plan beside --out as it was."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for stem in ("..", "batch_summary.csv", "variants", ".hidden"):
        (inputs / f"{stem}.yaml").write_text(TINY, encoding="utf-8")
    plans = tmp_path / "plans"  # holds only rotaplan's names: a plan folder and --out
    plans.mkdir()
    (plans / "summary.json").write_text('{"status": "OPTIMAL"}\n', encoding="utf-8")
    (plans / "assignments.csv").write_text("learner_id,block,role,site_id,supervisor_id\n",
                                           encoding="utf-8")
    before = {p.name: p.read_bytes() for p in plans.iterdir()}
    out = plans / "alt-1"
    result = run_batch([inputs], out, jobs=1, workers=1, time_limit=10)
    assert result.exit_code == 0, result.rows
    assert (out / "batch_summary.csv").is_file()
    for row in result.rows:
        folder = Path(row["plan_dir"]).resolve()
        assert folder.parent == out.resolve(), row
        assert (folder / "assignments.csv").is_file(), row
    after = {p.name: p.read_bytes() for p in plans.iterdir() if p.name != "alt-1"}
    assert after == before
    with (out / "batch_summary.csv").open(newline="", encoding="utf-8") as handle:
        names = [r["scenario"] for r in csv.DictReader(handle)]
    assert sorted(names) == sorted(r["scenario"] for r in result.rows)
    assert not any(n.startswith(".") for n in names)


# ----- interruptions ---------------------------------------------------------------------------

CONSOLE_SCRIPT = Path(sys.executable).parent / "rotaplan"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 200-learner cohort: searched part by part until the time limit, so a
    batch of them is still running when signalled, however fast the machine (the
    medium scenario, proven in 8 s on a quiet machine, let a batch finish first)."""
    from rotaplan.generate import generate_scenario
    from rotaplan.models.yaml_format import dump_scenario

    path = tmp_path_factory.mktemp("cohort") / "cohort.yaml"
    path.write_text(dump_scenario(generate_scenario(200, seed=5)))
    return path


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopped_batch_starts_nothing_new_and_still_writes_its_summary(
        tmp_path: Path, number: int, cohort: Path) -> None:
    """A signal to a running batch (a pool of two, four scenarios): no further scenario
    starts, the running ones stop and keep a verified plan if they had one, every
    scenario has a row in batch_summary.csv, and the exit code is 130."""
    from rotaplan.checker import check_plan_dir
    from rotaplan.models import load_scenario

    inputs = tmp_path / "in"
    inputs.mkdir()
    for n in range(4):
        shutil.copy(cohort, inputs / f"m{n}.yaml")
    out = tmp_path / "out"
    process = subprocess.Popen([str(CONSOLE_SCRIPT), "batch", inputs, "--out", out, "-q",
                                "--jobs", "2", "--workers", "1", "--time-limit", "300"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # both workers are building or searching (a first plan in ~5 s on a quiet machine; a
    # 200-learner cohort with 300 s cannot finish first): either way the stop must hold
    time.sleep(10.0)
    sent = time.monotonic()
    process.send_signal(number)  # to the batch alone: it must pass the stop on
    _, stderr = process.communicate(timeout=120)
    took = time.monotonic() - sent
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert took < 30.0, took
    with (out / "batch_summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert sorted(r["status"] == "NOT_STARTED" for r in rows) == [False, False, True, True], \
        rows
    for row in rows:
        assert row["exit_code"] in ("0", "130"), row
        folder = Path(row["plan_dir"])
        if (folder / "assignments.csv").exists():
            summary = json.loads((folder / "summary.json").read_text())
            assert summary.get("interrupted") is True, summary
            assert check_plan_dir(load_scenario(cohort), folder).ok
