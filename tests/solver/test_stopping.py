"""solver.stopping: a CP-SAT search stopped from another thread."""

from __future__ import annotations

import threading
import time

from ortools.sat.python import cp_model

from rotaplan.solver.stopping import solve_until


def small_model() -> tuple[cp_model.CpModel, cp_model.IntVar]:
    """Maximise x in 0..5."""
    model = cp_model.CpModel()
    x = model.new_int_var(0, 5, "x")
    model.maximize(x)
    return model, x


def hard_model() -> cp_model.CpModel:
    """A pigeonhole instance CP-SAT cannot refute quickly (13 pigeons, 12 holes)."""
    model = cp_model.CpModel()
    pigeons, holes = 13, 12
    x = [[model.new_bool_var(f"x{p}_{h}") for h in range(holes)] for p in range(pigeons)]
    for p in range(pigeons):
        model.add_exactly_one(x[p])
    for h in range(holes):
        model.add_at_most_one(x[p][h] for p in range(pigeons))
    return model


def test_without_a_stop_it_is_a_plain_solve() -> None:
    """With no stop event, or one never set, solve_until solves to the optimum."""
    model, x = small_model()
    solver = cp_model.CpSolver()
    assert solve_until(solver, model, None) == cp_model.OPTIMAL and solver.value(x) == 5
    assert solve_until(solver, model, threading.Event()) == cp_model.OPTIMAL


def test_a_stop_set_before_the_start_searches_nothing() -> None:
    """A stop event set before the solve starts makes solve_until return UNKNOWN at once."""
    model, _ = small_model()
    stop = threading.Event()
    stop.set()
    assert solve_until(cp_model.CpSolver(), model, stop) == cp_model.UNKNOWN


def test_a_stop_ends_a_search_that_finds_nothing_to_report() -> None:
    """No solution or bound arrives, so only the watcher can stop it."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 300
    solver.parameters.num_workers = 1
    solver.parameters.symmetry_level = 0  # keep the pigeonhole hard
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    started = time.perf_counter()
    timer.start()
    status = solve_until(solver, hard_model(), stop)
    timer.join()
    assert status == cp_model.UNKNOWN
    assert time.perf_counter() - started < 60  # far below the 300 s limit
