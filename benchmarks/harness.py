"""Benchmark harness: scenario tiers, engines, measurements in a fresh process.

Each measurement runs in its own Python process, so the peak memory (RSS)
reported is that solve's alone, and nothing cached by one run helps the next.
Every plan produced is verified by rotaplan's checker before it counts.

Run one measurement by hand::

    python -m benchmarks.harness M rotaplan --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rotaplan.checker import check_rows
from rotaplan.generate import generate_scenario
from rotaplan.models import Scenario, parse_scenario_text
from rotaplan.models.yaml_format import dump_scenario

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Tier:
    """A benchmark scenario size: generated with a fixed seed."""

    name: str
    learners: int
    blocks: int = 4
    seed: int = 11
    rooms: float = 1.0
    """GP practices' rooms as a share of the generator's (which match supervisor places)."""


TIERS = {
    "S": Tier("S", 30),
    "M": Tier("M", 100),
    "L": Tier("L", 300),
    "XL": Tier("XL", 2000),
    "M6": Tier("M6", 100, blocks=6),
    "M6T": Tier("M6T", 100, blocks=6, rooms=0.8),
}
ENGINES = ("rotaplan", "naive", "mip", "greedy")


@cache
def scenario_text(tier: str) -> str:
    """YAML of a tier's scenario (generated; same tier, same bytes)."""
    t = TIERS[tier]
    data = generate_scenario(t.learners, seed=t.seed, blocks=t.blocks,
                             name=f"benchmark tier {t.name}")
    if t.rooms != 1.0:
        tighten_rooms(data, t.rooms)
    return dump_scenario(data)


def tighten_rooms(data: dict[str, Any], share: float) -> None:
    """Every site with rooms keeps ``share`` of them in each session (at least one)."""

    def cut(n: int) -> int:
        return max(1, math.floor(n * share))

    for site in data["sites"]:
        rooms = site.get("rooms")
        if isinstance(rooms, int):
            site["rooms"] = cut(rooms)
        elif isinstance(rooms, dict):
            site["rooms"] = {k: cut(v) for k, v in rooms.items()}


def scenario(tier: str) -> Scenario:
    """A tier's validated scenario."""
    return parse_scenario_text(scenario_text(tier), f"<tier {tier}>").scenario


@dataclass
class Measurement:
    """One engine on one tier."""

    tier: str
    engine: str
    learners: int
    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    first_solution_seconds: float | None
    proof_seconds: float | None  # time to proven optimality (None if not proven)
    total_seconds: float
    build_seconds: float | None
    peak_rss_mb: float
    variables: int | None
    constraints: int | None
    verified: bool | None  # plan passed rotaplan's checker (None: the engine gives no plan)
    note: str = ""
    step_seconds: dict[str, float] | None = None  # neighbourhood steps: mean, p90, max
    workers: int = 2  # CP-SAT workers (threads) the engine was given


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(1.0, abs(objective))


def _run_rotaplan(sc: Scenario, time_limit: float, workers: int) -> dict[str, Any]:
    from rotaplan.solver import SolveOptions, solve

    result = solve(sc, SolveOptions(time_limit=time_limit, workers=workers))
    verified = None
    if result.plan is not None:
        report = check_rows(sc, result.plan.assignments.to_dict("records"),
                            result.plan.timetable.to_dict("records"), result.summary())
        verified = report.ok
    return {
        "status": result.status, "objective": result.objective,
        "best_bound": result.best_bound,
        "first_solution_seconds": result.stats.first_solution_seconds,
        "proof_seconds": result.stats.solve_seconds if result.status == "OPTIMAL" else None,
        "build_seconds": result.stats.build_seconds,
        "variables": result.stats.model_size.get("variables"),
        "constraints": result.stats.model_size.get("constraints"), "verified": verified,
        "note": _search_note(result.stats.search),
        "step_seconds": (result.stats.search.get("neighbourhood_search") or {}).get(
            "step_seconds"),
    }


def _search_note(search: dict[str, Any]) -> str:
    lns = search.get("neighbourhood_search")
    if not lns:
        return ""
    bound = search.get("bound") or {}
    free = bound.get("capacity_free", float("-inf"))
    columns = (bound.get("columns") or {}).get("bound")
    lp = bound.get("lp")
    source = "capacity-free relaxation (learners' floors)"
    if columns is not None and columns > free and (lp is None or columns >= lp):
        source = f"column generation ({bound['columns']['rounds']} rounds)"
    elif lp is not None and lp > free:
        source = "LP relaxation (HiGHS)"
    steps = lns.get("step_seconds")
    timing = "" if not steps else \
        f", {steps['mean']:.2f} s a step (90 % within {steps['p90']:.2f} s)"
    return (f"greedy sites completed, then {lns['neighbourhoods']} neighbourhood solves "
            f"({lns['improvements']} improved{timing}; variables: last neighbourhood "
            f"model); bound: {source}")


def _run_naive(sc: Scenario, time_limit: float, workers: int) -> dict[str, Any]:
    from benchmarks.naive import solve_naive

    r = solve_naive(sc, time_limit=time_limit, workers=workers)
    return {
        "status": r.status, "objective": r.objective, "best_bound": r.best_bound,
        "first_solution_seconds": r.first_solution_seconds,
        "proof_seconds": r.solve_seconds if r.status == "OPTIMAL" else None,
        "build_seconds": r.build_seconds, "variables": r.variables,
        "constraints": r.constraints, "verified": None,
        "note": "naive formulation (no plan files; optimum compared with rotaplan's)",
    }


def _run_mip(sc: Scenario, time_limit: float, workers: int) -> dict[str, Any]:
    from benchmarks.mip import solve_mip

    r = solve_mip(sc, time_limit=time_limit, threads=workers)
    return {
        "status": r.status, "objective": r.objective, "best_bound": r.best_bound,
        "first_solution_seconds": r.first_solution_seconds,
        "proof_seconds": r.solve_seconds if r.status == "OPTIMAL" else None,
        "build_seconds": r.build_seconds, "variables": r.columns, "constraints": r.rows,
        "verified": None, "note": r.note or "rotaplan's formulation solved by HiGHS",
    }


def _run_greedy(sc: Scenario, time_limit: float, workers: int) -> dict[str, Any]:
    from rotaplan.solver.greedy import greedy_placements
    from rotaplan.solver.instance import Instance

    started = time.perf_counter()
    inst = Instance(sc)
    build = time.perf_counter() - started
    placement = greedy_placements(inst, seed=0)
    unplaced = len(placement.unplaced)
    return {
        # a greedy that leaves learners out has no plan (M6T: 2 of 100): no objective to rank
        "status": "FEASIBLE" if not unplaced else f"UNPLACED {unplaced}",
        "objective": float(placement.cost) if not unplaced else None, "best_bound": None,
        "first_solution_seconds": time.perf_counter() - started, "proof_seconds": None,
        "build_seconds": build, "variables": None, "constraints": None, "verified": None,
        "note": "random serial dictatorship, session-aware (placements; no CP-SAT)",
    }


RUNNERS = {"rotaplan": _run_rotaplan, "naive": _run_naive, "mip": _run_mip,
           "greedy": _run_greedy}


def measure_here(tier: str, engine: str, time_limit: float, workers: int = 2) -> Measurement:
    """Measure in this process (peak RSS then includes whatever ran before)."""
    sc = scenario(tier)
    started = time.perf_counter()
    fields = RUNNERS[engine](sc, time_limit, workers)
    total = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    note = fields.pop("note", "")
    return Measurement(tier=tier, engine=engine, learners=len(sc.learners),
                       gap=_gap(fields["objective"], fields["best_bound"]),
                       total_seconds=total, peak_rss_mb=rss, note=note, workers=workers,
                       **fields)


def measure(tier: str, engine: str, time_limit: float, workers: int = 2,
            timeout: float | None = None) -> Measurement:
    """Measure in a fresh process (the peak RSS is this run's alone)."""
    cmd = [sys.executable, "-m", "benchmarks.harness", tier, engine,
           "--time-limit", str(time_limit), "--workers", str(workers), "--json"]
    limit = timeout if timeout is not None else time_limit * 3 + 600
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return Measurement(tier, engine, TIERS[tier].learners, "TIMEOUT", None, None, None,
                           None, None, limit, None, 0.0, None, None, None,
                           f"no answer within {limit:.0f} s (process killed)", workers=workers)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return Measurement(tier, engine, TIERS[tier].learners, "ERROR", None, None, None,
                           None, None, 0.0, None, 0.0, None, None, None, tail[0][:200],
                           workers=workers)
    return Measurement(**json.loads(proc.stdout.strip().splitlines()[-1]))


def machine() -> dict[str, str]:
    """Facts about this machine and the versions measured."""
    import ortools

    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"python": platform.python_version(), "ortools": ortools.__version__,
            "platform": platform.platform(), "processor": platform.machine(),
            "cores": cores or "?"}


def main(argv: list[str] | None = None) -> int:
    """Command line: measure one engine on one tier."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("tier", choices=sorted(TIERS))
    ap.add_argument("engine", choices=ENGINES)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args(argv)
    m = measure_here(args.tier, args.engine, args.time_limit, args.workers)
    print(json.dumps(asdict(m)) if args.json else m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
