"""Stopping a CP-SAT search from another thread (a Cancel button).

CP-SAT's solution and bound callbacks can stop a search, but only when a
solution or bound arrives; a long stretch without one would make Cancel wait.
:func:`solve_until` runs the search in a thread of its own and stops it
within a tenth of a second of the request, while the calling thread (the main
thread, in the command line) stays free to run signal handlers.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, cast

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
    # The search runs in its own thread and this one waits in short joins: a
    # thread inside CP-SAT's C++ code runs no Python, so if it were the main
    # thread a Ctrl-C (a Python signal handler) would wait for the time limit.
    outcome: dict[str, Any] = {}

    def search() -> None:
        try:
            outcome["status"] = solver.solve(model, callback)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=search, name="rotaplan-cp-sat", daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            if stop.is_set():
                solver.stop_search()
    except BaseException:  # a KeyboardInterrupt from a signal handler: stop, then pass it on
        # The search must end before this thread goes on: an interpreter that exits
        # while CP-SAT still runs aborts ("terminate called without an active
        # exception"). A stop sent before CP-SAT has started is lost, so it is repeated,
        # and a further Ctrl-C does not cut the wait short.
        while thread.is_alive():
            solver.stop_search()
            with contextlib.suppress(KeyboardInterrupt):
                thread.join(0.05)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return cast(cp_model.CpSolverStatus, outcome["status"])


__all__ = ["solve_until"]
