"""Stopping a CP-SAT search from another thread (a Cancel button).

CP-SAT's solution and bound callbacks can stop a search, but only when a
solution or bound arrives; a long stretch without one would make Cancel wait.
:func:`solve_until` adds a watcher thread that stops the search within a
tenth of a second of the request.
"""

from __future__ import annotations

import threading

from ortools.sat.python import cp_model


def solve_until(solver: cp_model.CpSolver, model: cp_model.CpModel,
                stop: threading.Event | None,
                callback: cp_model.CpSolverSolutionCallback | None = None,
                ) -> cp_model.CpSolverStatus:
    """Solve ``model``, stopping the search soon after ``stop`` is set (from any thread).

    Parameters
    ----------
    solver, model
        As for :meth:`CpSolver.solve`.
    stop
        The request; None solves as usual. Already set: nothing is searched
        and the status is ``UNKNOWN``.
    callback
        Optional solution callback, passed on.
    """
    if stop is None:
        return solver.solve(model, callback)
    if stop.is_set():
        return cp_model.UNKNOWN
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if stop.is_set():
                solver.stop_search()

    watcher = threading.Thread(target=watch, name="rotaplan-stop-watch", daemon=True)
    watcher.start()
    try:
        return solver.solve(model, callback)
    finally:
        done.set()
        watcher.join()


__all__ = ["solve_until"]
