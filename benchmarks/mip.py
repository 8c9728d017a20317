"""MIP baseline: the product's own CP-SAT formulation, linearised and solved by HiGHS.

:func:`solve_mip` builds the model exactly as :func:`solver.engine.solve` does
for the default objective (:func:`rotaplan.solver.bound.whole_model`), linearises
the ``CpModelProto`` (:func:`rotaplan.lp.linearise`, whose docstring gives the
rules) and solves the MIP with HiGHS in a child process (:mod:`rotaplan.lp` says
why HiGHS and OR-Tools cannot share one). What cannot be linearised is status
``UNSUPPORTED`` with the reason in ``note``; the minimax fairness objective (two
phases) is out of scope. Never import highspy in a process that builds CP-SAT
models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rotaplan.lp import Mip, UnsupportedModelError, cp_model_to_highs, linearise, solve_in_child

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from rotaplan.models import Scenario

ROOT = Path(__file__).resolve().parent.parent

@dataclass
class MipResult:
    """Outcome of one HiGHS run on the linearised product model.

    Attributes
    ----------
    status
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN`` or ``UNSUPPORTED``.
    objective
        Objective of the best solution (in the CP-SAT objective's units), or None.
    best_bound
        HiGHS's dual bound (``info.mip_dual_bound``, same units), or None.
    first_solution_seconds
        HiGHS running time at its first improving solution
        (``kCallbackMipImprovingSolution``), or None.
    solve_seconds
        Wall time of the HiGHS run (``Highs.run``), measured in the child.
    build_seconds
        Wall time to build the CP-SAT model and linearise it.
    rows, columns
        Size of the MIP handed to HiGHS (before its presolve).
    note
        Why the result is ``UNSUPPORTED`` / ``UNKNOWN``, or other remarks.
    solutions
        ``(seconds, objective)`` of every improving solution HiGHS reported.
    values
        Column values of the best solution (column ``i`` = proto variable ``i``).
    """

    status: str
    objective: float | None
    best_bound: float | None
    first_solution_seconds: float | None
    solve_seconds: float
    build_seconds: float
    rows: int
    columns: int
    note: str = ""
    solutions: list[tuple[float, float]] = field(default_factory=list)
    values: list[float] | None = field(default=None, repr=False)



def run_mip(mip: Mip, *, time_limit: float = 60.0, threads: int = 2, seed: int = 0) -> MipResult:
    """Solve a linearised model with HiGHS in a child process (see :mod:`rotaplan.lp`)."""
    return run_mips([mip], time_limit=time_limit, threads=threads, seed=seed)[0]


def run_mips(mips: list[Mip], *, time_limit: float = 60.0, threads: int = 2,
             seed: int = 0) -> list[MipResult]:
    """Solve several linearised models one after the other in one child process.

    ``time_limit`` applies to each model.
    """
    outs = solve_in_child(mips, time_limit=time_limit, threads=threads, seed=seed)
    return [MipResult(build_seconds=0.0, rows=m.rows, columns=m.columns, **out)
            for m, out in zip(mips, outs, strict=True)]


# ----- the product model ----------------------------------------------------------------------


def build_product_model(scenario: Scenario) -> cp_model.CpModel:
    """The model :func:`solver.engine.solve` minimises for the default objective: the
    product's own :func:`rotaplan.solver.bound.whole_model`, whose LP bound the product
    computes for large cohorts.

    Raises
    ------
    UnsupportedModelError
        For the minimax fairness objective (two phases; out of scope).
    """
    from rotaplan.solver.bound import whole_model

    if (scenario.objective.fairness or "none") == "minimax":
        raise UnsupportedModelError("minimax fairness (two-phase objective) is out of scope")
    model: cp_model.CpModel = whole_model(scenario)
    return model


def solve_mip(scenario: Scenario, *, time_limit: float = 60.0, threads: int = 2) -> MipResult:
    """Solve a scenario's default-objective model as a MIP with HiGHS.

    Parameters
    ----------
    scenario
        A validated scenario (fairness ``none``).
    time_limit
        Seconds for the HiGHS run (building and linearising not included).
    threads
        HiGHS ``threads`` option.

    Returns
    -------
    MipResult
        Status, objective and bound in the product's objective units, timings
        and the MIP size; status ``UNSUPPORTED`` with the reason in ``note``
        when the model cannot be linearised (minimax fairness included).
    """
    from rotaplan.solver import explain
    from rotaplan.solver.instance import Instance

    started = time.perf_counter()
    if explain.empty_domains(Instance(scenario)) is not None:
        # solver.engine.solve stops here too, before building the model
        return MipResult("INFEASIBLE", None, None, None, 0.0, time.perf_counter() - started,
                         0, 0, note="empty candidate domains (found before building)")
    try:
        mip = linearise(build_product_model(scenario))
    except UnsupportedModelError as exc:
        return MipResult("UNSUPPORTED", None, None, None, 0.0, time.perf_counter() - started,
                         0, 0, note=f"unsupported: {exc}")
    build_seconds = time.perf_counter() - started
    result = run_mip(mip, time_limit=time_limit, threads=threads)
    result.build_seconds = build_seconds
    return result



__all__ = ["Mip", "MipResult", "UnsupportedModelError", "build_product_model",
           "cp_model_to_highs", "linearise", "run_mip", "run_mips", "solve_mip"]
