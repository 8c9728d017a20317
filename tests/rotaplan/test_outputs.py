"""Unusable outputs and bad paths: one line, exit 2, before any work; nothing lost
(issue 13.9 and issue 12 A8, A13).

``--out`` naming a file, a read-only folder, a full disk, stale files from another
run, symbolic links, non-UTF-8 plan files, a mistyped scenario path, an option
that does not exist: each gives one plain line on stderr and exit code 2 (1 for
``check``'s verdict on a plan), never a traceback, and never costs the user the
verified plan already in the output folder.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rotaplan import cli
from rotaplan.cli import app
from tests.helpers import INSTANCES

DEMO = INSTANCES / "demo.yaml"
INFEASIBLE = INSTANCES / "infeasible.yaml"
runner = CliRunner()


def invoke(*args: object) -> tuple[int, str, str]:
    """Run a command in-process: exit code, stdout, stderr."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    """The single line of an error (asserting there is exactly one, and no traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def last_line(stderr: str) -> str:
    """The error that ended a command which had started work (progress lines before it)."""
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified plan of the demo scenario."""
    folder = tmp_path_factory.mktemp("plan") / "demo"
    code, _, err = invoke("solve", DEMO, "--out", folder, "-q", "--workers", "1")
    assert code == 0, err
    return folder


@pytest.fixture
def previous(plan: Path, tmp_path: Path) -> Path:
    """A copy of the verified demo plan, as a user's --out folder."""
    out = tmp_path / "out"
    shutil.copytree(plan, out)
    return out


# ----- --out naming an existing file: one test per command -----------------------------------

def _commands(afile: Path, plan: Path) -> dict[str, list[object]]:
    return {
        "solve": ["solve", DEMO, "--out", afile],
        "explain": ["explain", INFEASIBLE, "--out", afile],
        "capacity": ["capacity", DEMO, "--add", "nurse", "--out", afile],
        "batch": ["batch", DEMO, "--out", afile],
        "sweep": ["sweep", DEMO, "--set", "sites.att-orchard.rooms=1,2", "--out", afile],
        "replan": ["replan", DEMO, "--from", plan, "--out", afile],
        "export --xlsx": ["export", plan, "--scenario", DEMO, "--xlsx", afile / "plan.xlsx"],
        "export --ics": ["export", plan, "--scenario", DEMO, "--ics", afile],
        "import": ["import", DEMO, "--out", afile / "scenario.yaml"],
        "import --template": ["import", "--template", afile / "t.xlsx"],
        "generate": ["generate", "--size", "5", "--out", afile / "g.yaml"],
        "generate --shipped": ["generate", "--shipped", afile],
    }


COMMANDS = list(_commands(Path("f"), Path("p")))


@pytest.mark.parametrize("name", COMMANDS)
def test_out_naming_a_file_is_one_line_before_any_work(name: str, plan: Path,
                                                       tmp_path: Path) -> None:
    """Every command refuses an output path that is (or is under) an existing file in one
    line, exit 2, before loading or solving anything; the file is untouched."""
    afile = tmp_path / "afile"
    afile.write_text("precious\n")
    code, out, err = invoke(*_commands(afile, plan)[name])
    assert code == 2, (out, err)
    line = one_line(err)
    assert "afile" in line and ("is a file" in line or "which is a file" in line), line
    assert "solving" not in out + err
    assert afile.read_text() == "precious\n"


@pytest.mark.parametrize("name", ["solve", "replan", "capacity", "explain", "validate",
                                  "check"])
def test_mistyped_scenario_path_keeps_the_previous_plan(name: str, previous: Path,
                                                        plan: Path, tmp_path: Path) -> None:
    """A scenario path that does not exist is one line and exit 2; the plan in --out stays."""
    before = snapshot(previous)
    missing = tmp_path / "demo.ymal"
    args: dict[str, list[object]] = {
        "solve": ["solve", missing, "--out", previous],
        "replan": ["replan", missing, "--from", plan, "--out", previous],
        "capacity": ["capacity", missing, "--add", "nurse", "--out", previous],
        "explain": ["explain", missing, "--out", previous],
        "validate": ["validate", missing],
        "check": ["check", missing, previous],
    }
    code, _, err = invoke(*args[name])
    assert code == 2
    assert f"{missing}: no such file" in one_line(err)
    assert snapshot(previous) == before


# ----- option errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["solve", "replan", "explain", "capacity", "compare",
                                     "validate", "check", "schema", "export", "import",
                                     "generate", "batch", "sweep", "ui"])
def test_unknown_option_is_one_line(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``rotaplan COMMAND --tim 5`` prints one line naming the command and exits 2."""
    code = cli.run([command, "--tim", "5"])
    captured = capsys.readouterr()
    assert code == 2
    line = one_line(captured.err)
    assert line.startswith(f"rotaplan {command}: ") and "--tim" in line, line
    assert captured.out == ""


@pytest.mark.parametrize("args", [["solve", "--time-limit", "soon"], ["solve", "--workers", "0"],
                                  ["generate", "--size", "9999999"], ["frobnicate"]])
def test_bad_option_values_are_one_line(args: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A bad value, an out-of-range number or an unknown command: one line, exit 2."""
    assert cli.run(args) == 2
    one_line(capsys.readouterr().err)


# ----- read-only folders and full disks ----------------------------------------------------------

@contextlib.contextmanager
def mounted(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``folder`` (skips where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("name", ["solve", "batch", "export --xlsx", "import", "generate"])
def test_read_only_output_is_refused_before_any_work(name: str, plan: Path,
                                                     tmp_path: Path) -> None:
    """An output on a read-only file system is one line and exit 2, before any solve.

    (A chmod'ed folder does not stop root, which runs these tests: a read-only
    tmpfs does.)"""
    with mounted(tmp_path / "ro", "ro,size=1m") as readonly:
        args = {"solve": ["solve", DEMO, "--out", readonly / "plan"],
                "batch": ["batch", DEMO, "--out", readonly / "batch"],
                "export --xlsx": ["export", plan, "--scenario", DEMO, "--xlsx",
                                  readonly / "p.xlsx"],
                "import": ["import", DEMO, "--out", readonly / "s.yaml"],
                "generate": ["generate", "--size", "5", "--out", readonly / "g.yaml"]}[name]
        code, out, err = invoke(*args)
    assert code == 2, (out, err)
    assert "cannot be" in one_line(err)
    assert "solving" not in out + err


def test_full_disk_keeps_the_previous_plan(plan: Path, tmp_path: Path) -> None:
    """A disk that fills up while the new plan is written: one line, exit 2, and the previous
    plan (of another scenario) stays whole, with no staging folder left behind."""
    size = sum(len(b) for b in snapshot(plan).values())
    with mounted(tmp_path / "disk", f"size={size + 24 * 1024}") as disk:
        out = disk / "plan"
        shutil.copytree(plan, out)
        before = snapshot(out)
        code, _, err = invoke("solve", DEMO, "--out", out, "-q", "--seed", "3")
        assert code == 2, err
        assert "No space left on device" in last_line(err)
        assert snapshot(out) == before
        assert sorted(p.name for p in disk.iterdir()) == ["plan"]


def test_failing_rename_keeps_the_previous_plan(previous: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no tmpfs can be mounted: os.replace failing with ENOSPC gives the same outcome."""
    before = snapshot(previous)

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    code, _, err = invoke("solve", DEMO, "--out", previous, "-q", "--seed", "3")
    assert code == 2
    assert "No space left on device" in last_line(err)
    assert snapshot(previous) == before
    assert not [p for p in previous.parent.iterdir() if "staging" in p.name]


# ----- stale files, links, encodings ---------------------------------------------------------

def test_stale_files_of_another_run_do_not_stay_beside_a_new_plan(previous: Path) -> None:
    """alt-K folders, changes and alternatives tables of an earlier run are gone once a new
    plan is published into the folder."""
    (previous / "alt-1").mkdir()
    (previous / "alt-1" / "summary.json").write_text("{}")
    for name in ("changes.csv", "timetable_changes.csv", "supervisor_changes.csv",
                 "alternatives.csv"):
        (previous / name).write_text("stale\n")
    code, _, err = invoke("solve", DEMO, "--out", previous, "-q", "--workers", "1")
    assert code == 0, err
    assert sorted(p.name for p in previous.iterdir()) == [
        "assignments.csv", "summary.json", "timetable.csv"]


def test_export_never_writes_through_a_symbolic_link(plan: Path, tmp_path: Path) -> None:
    """An --ics folder that is a link is refused; a link inside it, or at --xlsx, is replaced
    by the file, and what it pointed at is untouched."""
    target = tmp_path / "target.txt"
    target.write_text("not yours\n")
    link_dir = tmp_path / "ics-link"
    link_dir.symlink_to(tmp_path, target_is_directory=True)
    code, _, err = invoke("export", plan, "--scenario", DEMO, "--ics", link_dir)
    assert code == 2 and "symbolic link" in one_line(err)

    ics = tmp_path / "ics"
    ics.mkdir()
    (ics / "learner-L001.ics").symlink_to(target)
    xlsx = tmp_path / "plan.xlsx"
    xlsx.symlink_to(target)
    code, _, err = invoke("export", plan, "--scenario", DEMO, "--ics", ics, "--xlsx", xlsx)
    assert code == 0, err
    assert target.read_text() == "not yours\n"
    assert not (ics / "learner-L001.ics").is_symlink()
    assert not xlsx.is_symlink() and xlsx.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("name", ["assignments.csv", "timetable.csv"])
def test_non_utf8_plan_files_are_one_message_not_a_traceback(name: str, previous: Path,
                                                             tmp_path: Path) -> None:
    """check reports a plan file that is not UTF-8 as a format violation (exit 1); export and
    replan refuse it in one line (exit 2)."""
    path = previous / name
    path.write_bytes(path.read_bytes() + "Zoë\n".encode("latin-1"))
    code, out, err = invoke("check", DEMO, previous)
    assert code == 1, out + err
    assert f"{name} is not UTF-8 text" in out
    assert "Traceback" not in out + err
    code, _, err = invoke("export", previous, "--scenario", DEMO, "--xlsx", tmp_path / "x.xlsx")
    assert code == 2 and "UTF-8" in one_line(err)
    code, _, err = invoke("replan", DEMO, "--from", previous, "--out", tmp_path / "new")
    assert code == 2 and "UTF-8" in one_line(err)


def test_check_names_the_unknown_id(previous: Path) -> None:
    """check says which site, supervisor or block of a placement is unknown."""
    path = previous / "assignments.csv"
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    first[3], first[4] = "nowhere", "nobody"
    path.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    code, out, _ = invoke("check", DEMO, previous)
    assert code == 1
    assert f"{first[0]} block {first[1]} in assignments: unknown site 'nowhere', unknown " \
           "supervisor 'nobody'" in out


def test_infeasible_replaces_and_invalid_keeps_nothing_half_written(previous: Path) -> None:
    """Publishing an explanation replaces the folder whole: a summary that says INFEASIBLE
    never sits beside an older plan's CSV files."""
    code, _, _ = invoke("solve", INFEASIBLE, "--out", previous, "-q")
    assert code == 3
    assert sorted(p.name for p in previous.iterdir()) == [
        "explanation.json", "explanation.txt", "summary.json"]
    assert json.loads((previous / "summary.json").read_text())["status"] == "INFEASIBLE"
