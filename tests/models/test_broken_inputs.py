"""Broken scenarios (tests/data/broken/*.yaml) are rejected with exact, located errors.

Each corpus file starts with comment lines ``# expect: LINE:COL: path: message``:
the errors the loader must report, in the loader's order (by line, then column),
written as ``Problem.render`` gives them without the ``FILE:`` prefix. Positions
point at the offending value or key (1-based).

Where the loader does not yet meet an expectation the test is a strict xfail
with the discrepancy as its reason (see ``LOADER_DISCREPANCIES``); when the
loader is fixed the test XPASSes, which fails the run, and the entry must go.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rotaplan.cli import app
from rotaplan.models import ScenarioError, load

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"
CORPUS = sorted(BROKEN.glob("*.yaml"))
EXPECT = "# expect: "
EXPECT_LINE = re.compile(r"^(\d+):(\d+): (\S.*?): (.+)$")
CONSOLE_SCRIPT = Path(sys.executable).parent / "rotaplan"

LOADER_DISCREPANCIES: dict[str, str] = {
    # file name -> why the loader is known to fall short of the file's expectation.
    # Every discrepancy found when the corpus was written has been fixed; keep this
    # empty unless a new file records a known gap.
}


def expected_lines(path: Path) -> list[str]:
    """The ``# expect:`` lines of a corpus file (the file may hold non-UTF-8 bytes)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line[len(EXPECT):] for line in text.splitlines() if line.startswith(EXPECT)]


def parse(expect: str) -> tuple[int, int, str, str]:
    """LINE, COL, path and message of an expectation."""
    match = EXPECT_LINE.match(expect)
    assert match, f"malformed expectation {expect!r}"
    return int(match[1]), int(match[2]), match[3], match[4]


def position(expect: str) -> tuple[int, int]:
    line, column, _, _ = parse(expect)
    return line, column


def corpus_params() -> list[object]:
    return [
        pytest.param(path, id=path.stem, marks=pytest.mark.xfail(
            strict=True, reason=LOADER_DISCREPANCIES[path.name]))
        if path.name in LOADER_DISCREPANCIES else pytest.param(path, id=path.stem)
        for path in CORPUS
    ]


def rendered_errors(path: Path) -> list[str]:
    """The loader's errors for a file, rendered without the ``FILE:`` prefix."""
    with pytest.raises(ScenarioError) as info:
        load(path)
    prefix = f"{path.name}:"
    lines = [problem.render(path.name) for problem in info.value.errors]
    assert all(line.startswith(prefix) for line in lines)
    return [line[len(prefix):] for line in lines]


# ----- the corpus itself ---------------------------------------------------------------------


def test_corpus_is_large_and_well_formed() -> None:
    """The corpus has at least 30 files, each opening with its expected errors in position order.

    Every known loader discrepancy names a corpus file.
    """
    assert len(CORPUS) >= 30
    for path in CORPUS:
        expects = expected_lines(path)
        assert expects, f"{path.name} states no '# expect:' line"
        positions = [position(e) for e in expects]
        assert positions == sorted(positions), f"{path.name}: expectations out of order"
        header = path.read_bytes().splitlines()[: len(expects) + 1]
        assert all(line.startswith(b"#") for line in header), f"{path.name}: header not first"
    assert set(LOADER_DISCREPANCIES) <= {path.name for path in CORPUS}


def test_many_errors_file_has_many_errors_in_different_places() -> None:
    """many_errors.yaml expects errors on at least 6 lines across four sections of the scenario."""
    expects = expected_lines(BROKEN / "many_errors.yaml")
    assert len({position(e)[0] for e in expects}) >= 6
    sections = {re.split(r"[.\[]", parse(e)[2])[0] for e in expects}
    assert {"programme", "sites", "learners", "objective"} <= sections


# ----- the loader ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_params())
def test_loader_reports_exactly_the_expected_errors(path: Path) -> None:
    """Loading a broken file reports exactly its expected errors, located, in order."""
    assert rendered_errors(path) == expected_lines(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    """An empty file is one error at 1:1: the scenario must be a YAML mapping."""
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    assert rendered_errors(empty) == [
        "1:1: (top level): the scenario must be a YAML mapping (key: value)"]


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is one error at 1:1: it cannot be read."""
    assert rendered_errors(tmp_path / "absent.yaml") == [
        "1:1: (top level): cannot read file: No such file or directory"]


# ----- the CLI -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_params())
def test_cli_validate_rejects_with_exit_2(path: Path) -> None:
    """`rotaplan validate` on a broken file exits 2 without a traceback, printing each error.

    It ends with the number of errors.
    """
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    for expect in expected_lines(path):
        assert f"{path}:{expect}" in result.output.splitlines(), result.output
    expects = expected_lines(path)
    assert f"{len(expects)} error(s): the scenario is invalid." in result.output


@pytest.mark.parametrize("name", [
    "many_errors.yaml",
    "yaml_duplicate_key.yaml",
    "yaml_tag_python_apply.yaml",
])
def test_console_script_validate(name: str) -> None:
    """The installed console script prints a broken file's errors to stderr and exits 2."""
    path = BROKEN / name
    proc = subprocess.run([str(CONSOLE_SCRIPT), "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    for expect in expected_lines(path):
        assert f"{path}:{expect}" in lines, proc.stderr
