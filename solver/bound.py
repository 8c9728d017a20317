"""The LP bound of a large cohort's whole model, computed beside the search.

Large cohorts are searched part by part (:mod:`solver.neighbourhood`), and the
only bound the search itself has is the capacity-free one (each learner's best
on their own, :meth:`Instance.relaxed_bound`), which stays below good plans:
1,675 on the 300-learner tier against plans near 1,700. The linear relaxation of
the whole model is stronger (1,686 there) but costs its build and an LP solve. So it runs in
another process while the search goes on: a spawned process builds the whole
model and linearises it (:func:`rotaplan.lp.linearise`), then HiGHS solves the
relaxation in a child of its own (HiGHS and OR-Tools cannot share a process).
The search polls :meth:`LpBound.value` and stops as soon as plan and bound meet.

Measured on the 300-learner tier (150k columns, 146k rows), on a 2-core machine
with a load average of 5-7: building 31 s, linearising 14 s, the dual simplex
82 s (HiGHS's interior point took 313 s). Hence :data:`MAX_OPTIONS`: above it the
relaxation would not finish within any time limit a user would set.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
from typing import Any

from rotaplan.models import Scenario

MAX_OPTIONS = 200_000
"""Largest model (placement options) whose relaxation is started: about 400 learners."""

MIN_SECONDS = 60.0
"""Shortest time limit worth starting it for (its build alone takes 20-45 s at 300)."""


def whole_model(scenario: Scenario) -> Any:
    """The model :func:`solver.engine.solve` minimises, for ``fairness`` none or weighted.

    Returns
    -------
    cp_model.CpModel
        Variables, every rule unit, learner costs and the objective's terms.
    """
    from ortools.sat.python import cp_model

    from rotaplan.solver.instance import Instance
    from rotaplan.solver.objective import learner_costs, objective_terms
    from rotaplan.solver.rules import Build, post_all
    from rotaplan.solver.variables import create

    inst = Instance(scenario)
    model = cp_model.CpModel()
    v = create(model, inst)
    b = Build(model, inst, v)
    post_all(b)
    costs = learner_costs(b)
    terms = objective_terms(b, costs)
    model.minimize(sum(t.weight * t.expr for t in terms))
    return model


def _relaxation(scenario: Scenario, seconds: float, out: multiprocessing.Queue[Any]) -> None:
    """Spawned process: build, linearise, solve the LP in a HiGHS child; put the bound."""
    os.setsid()  # its own process group: stopping it stops the HiGHS child too
    from rotaplan.lp import UnsupportedModelError, linearise, solve_in_child

    try:
        mip = linearise(whole_model(scenario))
        found = solve_in_child([mip], time_limit=seconds, threads=1, relax=True)[0]
        out.put(found["best_bound"])
    except (UnsupportedModelError, RuntimeError, MemoryError) as exc:
        out.put(f"{type(exc).__name__}: {exc}")


class LpBound:
    """The LP relaxation's bound of the whole model, computed in other processes.

    Parameters
    ----------
    scenario
        The scenario being solved (fairness none or weighted: the minimax
        objective has two phases and no single relaxation).
    seconds
        Time for the LP solve itself.
    """

    def __init__(self, scenario: Scenario, seconds: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._queue: multiprocessing.Queue[Any] = context.Queue()
        self._process = context.Process(target=_relaxation, args=(scenario, seconds,
                                                                  self._queue),
                                        name="rotaplan-lp-bound", daemon=True)
        self._value: float | None = None
        self.note = "running"
        self._process.start()

    @property
    def pid(self) -> int:
        """The process id of the spawned process (the leader of its process group)."""
        return self._process.pid or 0

    def value(self) -> float | None:
        """The bound once known (None until then, or if it failed: see :attr:`note`)."""
        if self.note == "running":
            with contextlib.suppress(queue.Empty):
                got = self._queue.get_nowait()
                if isinstance(got, int | float):
                    self._value, self.note = float(got), "done"
                else:
                    self.note = str(got or "no bound (the relaxation was not solved)")
                self._process.join(1)
        return self._value

    def stop(self) -> None:
        """End the processes (if still running) and release them."""
        if self._process.is_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid or 0, signal.SIGTERM)
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            if self.note == "running":
                self.note = "stopped before the relaxation was solved"
        with contextlib.suppress(ValueError):
            self._process.close()
        self._queue.close()


def wanted(scenario: Scenario, options: int, time_limit: float) -> bool:
    """Whether to start the LP bound: a single-phase objective, a model it can solve
    in time, and a time limit long enough."""
    return (scenario.objective.fairness or "none") != "minimax" and \
        options <= MAX_OPTIONS and time_limit >= MIN_SECONDS


__all__ = ["MAX_OPTIONS", "MIN_SECONDS", "LpBound", "wanted", "whole_model"]
