"""Hostile scenarios (tests/data/hostile/*.yaml) give located errors, never a crash.

The corpus follows tests/data/broken/'s convention: each file starts with a
comment, then ``# expect: LINE:COL: path: message`` lines, the loader's errors
in its order. These files hold what a hostile tester sends: control characters
and formula-leading text in ids and names, astronomical counts, dates no export
can write, half a UTF-16 pair, nesting deep enough to exhaust the parser's
recursion, NUL bytes. A short hypothesis fuzz mutates valid scenario text and
checks the loader's contract: a scenario, or :class:`ScenarioError` with
located problems, and nothing else. Size limits are checked here too.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rotaplan.cli import app
from rotaplan.models import ScenarioError, load, parse_scenario_text
from rotaplan.models.loader import MAX_FILE_BYTES
from rotaplan.models.scenario import MAX_COUNT
from tests.helpers import base_scenario, scenario_from, tweak
from tests.models.test_broken_inputs import expected_lines, position

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
CORPUS = sorted(HOSTILE.glob("*.yaml"))


def rendered_errors(path: Path) -> list[str]:
    """The loader's errors for a file, without the ``FILE:`` prefix."""
    with pytest.raises(ScenarioError) as info:
        load(path)
    prefix = f"{path.name}:"
    return [p.render(path.name)[len(prefix):] for p in info.value.errors]


def test_corpus_is_well_formed() -> None:
    """Every hostile file states its expected errors first, in file order."""
    assert len(CORPUS) >= 12
    for path in CORPUS:
        expects = expected_lines(path)
        assert expects, f"{path.name} states no '# expect:' line"
        positions = [position(e) for e in expects]
        assert positions == sorted(positions), f"{path.name}: expectations out of order"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_loader_reports_exactly_the_expected_errors(path: Path) -> None:
    """Each hostile file gives exactly its stated errors, each with line and column."""
    assert rendered_errors(path) == expected_lines(path)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_cli_validate_refuses_with_exit_2_and_no_traceback(path: Path) -> None:
    """``rotaplan validate`` prints the located errors and exits 2, never a traceback."""
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for expect in expected_lines(path):
        assert f"{path}:{expect}" in result.output.splitlines()


# ----- the bounds hold where the exports and the solver need them ---------------------------


def test_counts_at_the_bound_are_accepted() -> None:
    """The largest count the models accept is a valid scenario (the bound is inclusive)."""
    data = base_scenario()
    data["sites"][0] |= {"capacity": MAX_COUNT, "rooms": {"default": MAX_COUNT},
                         "min_learners": {1: 0}}
    data["sites"][0]["supervisors"][0]["capacity"] = MAX_COUNT
    scenario_from(data)


def test_json_schema_documents_every_bound() -> None:
    """The JSON Schema states the count bound on site maps and the start-date range."""
    from rotaplan.models import Scenario

    text = str(Scenario.model_json_schema())
    site = Scenario.model_json_schema()["$defs"]["Site"]["properties"]
    for name in ("capacity", "min_learners", "rooms"):
        assert f"'maximum': {MAX_COUNT}" in str(site[name]), name
    assert "1980-01-01" in text and "2099-12-31" in text
    assert "x00-\\\\x1f" in text or "x00-\\x1f" in text  # ids and names: no control characters


@pytest.mark.parametrize("name", ["=1+1", "+44", "-x", "@SUM(A1)", "a\rb", "a\tb", " a"])
def test_unsafe_ids_are_refused_everywhere_an_id_goes(name: str) -> None:
    """A formula-leading or control-character id is refused, whatever kind of id it is."""
    for data in (tweak(learners=[{"id": name, "profession": "nurse"}]),
                 tweak(professions=[name], learners=[{"id": "L1", "profession": name}])):
        with pytest.raises(ScenarioError) as info:
            scenario_from(data)
        assert any("ids must" in p.message for p in info.value.errors), info.value.render()


def test_formula_like_text_is_allowed_in_names() -> None:
    """Names are free text: '=x' is a valid name (the exports write it as text)."""
    scenario_from(tweak(learners=[{"id": "L1", "name": "=HYPERLINK(\"x\")",
                                   "profession": "nurse"}]))


# ----- size and time limits ------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A sparse file far over the limit is refused at once, from its size alone."""
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * MAX_FILE_BYTES)  # sparse: no time or disk spent writing it
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load(big)
    assert time.perf_counter() - started < 1.0
    assert "larger than" in info.value.errors[0].message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_an_endless_device_is_read_only_up_to_the_limit() -> None:
    """/dev/zero is read up to the limit and refused, not read for ever."""
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load("/dev/zero")
    assert time.perf_counter() - started < 5.0
    assert "larger than" in info.value.errors[0].message


def test_a_fifo_with_too_much_is_cut_off(tmp_path: Path) -> None:
    """A named pipe is read no further than the limit, then refused."""
    import threading

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer() -> None:
        try:
            with fifo.open("wb") as handle:
                chunk = b"#" * 65536 + b"\n"
                while not stop.is_set():
                    handle.write(chunk)
        except (BrokenPipeError, OSError):
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(ScenarioError) as info:
            load(fifo)
    finally:
        stop.set()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert "larger than" in info.value.errors[0].message


def test_cli_refuses_the_oversized_file_in_one_line(tmp_path: Path) -> None:
    """``rotaplan validate`` on an oversized file: one located line and exit 2."""
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    result = CliRunner().invoke(app, ["validate", str(big)])
    assert result.exit_code == 2
    assert f"{big}:1:1: (top level): file is larger than" in result.output


# ----- fuzz: mutated scenario text ------------------------------------------------------------

SEED_TEXT = """\
programme: {name: Fuzz, start: 2027-09-06, blocks: 2, teaching_sessions: [Wed-PM]}
settings: [{id: acute, name: Acute}, primary]
professions: [nurse, gp]
supervision: {gp: [gp, nurse]}
tracks:
  rotation: {cover: [acute], no_repeat_site: true}
  fellowship: {base_setting: primary, partner_settings: [acute], partner_sessions: 1}
sites:
  - id: ward
    name: Ward 1
    setting: acute
    capacity: {1: 2}
    min_learners: 0
    rooms: {default: 1, Mon-AM: 2}
    supervisors:
      - {id: w-1, name: Sam, profession: nurse, capacity: 2, unavailable_blocks: [2]}
      - {id: w-2, profession: gp, sessions: [Mon-AM, Tue-AM]}
  - id: surgery
    setting: primary
    open_sessions: [Mon-AM, Tue-AM, Wed-PM]
    supervisors: [{id: s-1, profession: gp}]
learners:
  - {id: L1, name: Alex, profession: nurse, preferences: [ward, primary], avoid: [surgery]}
  - id: F1
    profession: gp
    track: fellowship
    sessions_per_week: 3
    available_sessions: [Mon-AM, Tue-AM, Wed-PM]
    blocks: [1, 2]
    pinned: {1: surgery}
objective: {allow_unplaced: true, unplaced_penalty: 100, fairness: minimax}
"""
SEED_LINES = SEED_TEXT.splitlines(keepends=True)
NASTY = ["\x00", "\r", "\n", "\t", "\u0085", "\ud800", ":", "- ", "[", "]", "{", "}", "&a ",
         "*a", "!!python/object:os.system ", "<<: *a\n", "'", '"', "#", "=", "@", "%",
         "10000000000000000000000000000000", "-1", ".inf", "0x10", "2027-02-30", "~", "? ",
         "\ufeff", "\\u0000"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """Scenario text with a few lines cut, repeated or spliced with hostile fragments."""
    lines = list(SEED_LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["cut", "repeat", "splice", "replace"]))
        if action == "cut":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, lines[at])
        else:
            line = lines[at]
            col = draw(st.integers(0, len(line)))
            piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)))
            cut = col + (draw(st.integers(0, 4)) if action == "replace" else 0)
            lines[at] = line[:col] + piece + line[cut:]
        if not lines:
            break
    return "".join(lines)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzzed_text_gives_a_scenario_or_located_problems(text: str) -> None:
    """The loader either validates mutated text or raises ScenarioError, each problem
    located (line and column within the text); no other exception escapes."""
    try:
        parse_scenario_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.errors
        lines = text.count("\n") + 2
        for problem in exc.errors:
            assert problem.line is not None and 1 <= problem.line <= lines, problem
            assert problem.column is not None and problem.column >= 1, problem
            rendered = problem.render("fuzz.yaml")
            rendered.encode("utf-8")  # printable on a UTF-8 terminal (no lone surrogates)
            assert "\n" not in rendered
