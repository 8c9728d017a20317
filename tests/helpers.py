"""Test helpers: tiny scenarios built in code, both checkers, ../shared (imported by tests)."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rotaplan.checker import CheckReport, check_plan_dir
from rotaplan.io.plan_dir import write_plan
from rotaplan.models import Scenario, parse_scenario_text
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions, SolveResult, formulate, solve
from rotaplan.solver.instance import Instance
from rotaplan.solver.rules import Build

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
SHARED = ROOT.parent / "shared"
SHARED_CHECKER = SHARED / "tools" / "check_plan.py"
SHARED_EXAMPLE = SHARED / "spec" / "example.yaml"
NO_SHARED = "../shared is absent (it exists in CI and the dev sandbox, not in a user's clone)"

needs_shared = pytest.mark.skipif(not SHARED_CHECKER.exists(), reason=NO_SHARED)


Data = dict[str, Any]

# A fellowship track for the small hand-built scenarios.
FELLOWSHIP = {"base_setting": "primary", "partner_settings": ["acute", "community"],
              "partner_sessions": 1}


def sup(uid: str, profession: str = "nurse", **kw: Any) -> Data:
    """A supervisor (capacity 1 unless given)."""
    return {"id": uid, "profession": profession, "capacity": kw.pop("capacity", 1), **kw}


def site(sid: str, setting: str = "acute", sups: list[Data] | None = None, **kw: Any) -> Data:
    """A site with one nurse supervisor ``<sid>-sup`` unless ``sups`` is given."""
    return {"id": sid, "setting": setting,
            "supervisors": sups if sups is not None else [sup(f"{sid}-sup")], **kw}


def learner(lid: str, profession: str = "nurse", **kw: Any) -> Data:
    """A learner (a nurse unless given)."""
    return {"id": lid, "profession": profession, **kw}


def scenario(
    sites: list[Data],
    learners: list[Data],
    *,
    blocks: int = 1,
    teaching: list[str] | None = None,
    sessions: list[str] | None = None,
    settings: tuple[str, ...] = ("acute", "community", "primary"),
    professions: tuple[str, ...] = ("nurse", "physiotherapist", "paramedic"),
    rotation: Data | None = None,
    fellowship: Data | None = None,
    **top: Any,
) -> Data:
    """A scenario dict built on :func:`tweak` (the conftest base)."""
    data = tweak(sites=copy.deepcopy(sites), learners=copy.deepcopy(learners),
                 settings=[{"id": s, "name": s.title()} for s in settings],
                 professions=list(professions), **top)
    data["programme"] = data["programme"] | {"blocks": blocks,
                                             "teaching_sessions": teaching or []}
    if sessions is not None:
        data["programme"]["sessions"] = sessions
    tracks: Data = {}
    if rotation is not None:
        tracks["rotation"] = rotation
    if fellowship is not None:
        tracks["fellowship"] = fellowship
    if tracks:
        data["tracks"] = tracks
    return data


def base_scenario() -> dict[str, Any]:
    """A one-block scenario with one site, one supervisor and one learner.

    Tests copy it and change what their rule needs.
    """
    return {
        "programme": {"name": "tiny", "blocks": 1, "sessions": ["Mon-AM", "Mon-PM", "Tue-AM"],
                      "teaching_sessions": []},
        "settings": [{"id": "acute", "name": "Acute"}],
        "professions": ["nurse"],
        "sites": [{"id": "ward", "setting": "acute",
                   "supervisors": [{"id": "sup", "profession": "nurse", "capacity": 1}]}],
        "learners": [{"id": "L1", "profession": "nurse"}],
    }


def scenario_from(data: dict[str, Any]) -> Scenario:
    """Validate a scenario dict through the real YAML loader."""
    return parse_scenario_text(yaml.safe_dump(data, sort_keys=False), "<test>").scenario


def tweak(**changes: Any) -> dict[str, Any]:
    """A copy of :func:`base_scenario` with top-level keys replaced."""
    data = copy.deepcopy(base_scenario())
    data.update(changes)
    return data


def run(data: dict[str, Any] | Scenario, **options: Any) -> SolveResult:
    """Solve deterministically (1 worker) with a short time limit."""
    sc = data if isinstance(data, Scenario) else scenario_from(data)
    opts = {"time_limit": 20.0, "workers": 1, "seed": 0} | options
    return solve(sc, SolveOptions(**opts))


def shared_check(scenario_path: Path, plan_dir: Path, *extra: str) -> str:
    """Run ../shared/tools/check_plan.py; return its output (asserting exit 0)."""
    proc = subprocess.run([sys.executable, str(SHARED_CHECKER), str(scenario_path),
                           str(plan_dir), *extra], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def solve_write_check(scenario_path: Path, out: Path, **options: Any) -> tuple[SolveResult,
                                                                                CheckReport]:
    """Solve a scenario file through the pipeline and check the plan with both checkers."""
    sc = parse_scenario_text(scenario_path.read_text(), str(scenario_path)).scenario
    opts = {"time_limit": 60.0, "workers": 2, "seed": 0} | options
    outcome = solve_and_write(sc, out, SolveOptions(**opts))
    assert outcome.exit_code == 0, outcome.result.status
    report = check_plan_dir(sc, out)
    assert report.ok, report.render()
    if SHARED_CHECKER.exists():
        shared_check(scenario_path, out)
    return outcome.result, report


def cli(*args: object) -> tuple[str, str, int]:
    """Run the ``rotaplan`` command line in-process: (stdout, stderr, exit code)."""
    from typer.testing import CliRunner

    from rotaplan.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.stdout, result.stderr, result.exit_code


def built(sc: Scenario, *, explain: bool = False) -> Build:
    """The model of a scenario (every rule unit), as every user of the formulation builds it."""
    return formulate(Instance(sc), explain=explain).b


# ----- contract version 2 (§9): plans checked by the shared checker ----------------------------

PROJECT_CHECKER_KNOWS_V2 = True
"""Whether :func:`rotaplan.checker.check_plan_dir` understands contract §9 yet.

Until the §9 checker lands it rejects every version 2 plan, so :func:`check_v2_plan`
checks v2 plans with the independent shared checker only. Set this to True (the only
change needed) once rotaplan/checker.py reads §9: every v2 test then also requires the
project checker to accept the plan and to recompute the solver's objective.
"""


@dataclass(frozen=True)
class CheckedFigures:
    """What the shared checker recomputed from a plan folder (its last output line).

    Attributes
    ----------
    cost
        The total preference cost.
    unplaced
        Learners left out.
    objective
        The contract's objective of the plan.
    max_learner
        The largest cost of a placed learner.
    """

    cost: float
    unplaced: int
    objective: float
    max_learner: float


@cache
def _shared_checker_module() -> ModuleType | None:
    """../shared/tools/check_plan.py loaded in process (None when ../shared is absent)."""
    if not SHARED_CHECKER.exists():
        return None
    spec = importlib.util.spec_from_file_location("shared_check_plan_v2", SHARED_CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_check_figures(scenario_path: Path, plan_dir: Path) -> CheckedFigures | None:
    """Run the shared checker in process; assert it accepts the plan; return its figures.

    Returns None when ../shared is absent (callers that need the checker skip with
    :data:`needs_shared`).
    """
    module = _shared_checker_module()
    if module is None:
        return None
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = module.main(["check_plan.py", str(scenario_path), str(plan_dir)])
    text = out.getvalue()
    assert code == 0, text
    last = text.strip().splitlines()[-1].split()
    fields = dict(part.split("=", 1) for part in last[1:])
    return CheckedFigures(float(fields["cost"]), int(fields["unplaced"]),
                          float(fields["objective"]), float(fields["max_learner"]))


def check_v2_plan(data: dict[str, Any], result: SolveResult, out: Path) -> CheckedFigures | None:
    """Write a solved v2 plan to ``out`` and check it with both checkers.

    The scenario is written beside the folder (``out``.yaml). The shared checker must
    accept the plan and recompute the solver's objective, preference cost and unplaced
    count; the project checker too once :data:`PROJECT_CHECKER_KNOWS_V2` is True.

    Returns
    -------
    CheckedFigures or None
        The shared checker's figures, or None when ../shared is absent.
    """
    assert result.plan is not None
    write_plan(out, result.plan, result.summary())
    path = out.with_suffix(".yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    if PROJECT_CHECKER_KNOWS_V2:
        report = check_plan_dir(scenario_from(data), out)
        assert report.ok, report.render()
        assert report.objective == pytest.approx(result.objective)
    figures = shared_check_figures(path, out)
    if figures is not None:
        assert figures.objective == pytest.approx(result.objective)
        assert figures.cost == result.preference_cost
        assert figures.unplaced == result.unplaced
    return figures


# ----- realistic infeasibilities (explanations): benchmarks/cases.py, shared with benchmarks


from benchmarks.cases import demo_data as demo_data  # noqa: E402
from benchmarks.cases import ics_rooms_cut as ics_rooms_cut  # noqa: E402
from benchmarks.cases import stranded_fellow as stranded_fellow  # noqa: E402
from benchmarks.cases import without_rooms as without_rooms  # noqa: E402
