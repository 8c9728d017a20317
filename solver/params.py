"""CP-SAT parameter policy: one place decides workers, seeds, budgets and subsolvers."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

PORTFOLIO = ("max_lp", "core", "default_lp", "quick_restart", "reduced_costs", "no_lp")
"""Full-problem subsolvers in the order CP-SAT gets them. ``max_lp`` (the full
linear relaxation, linearization level 2) leads: with the default level-1
relaxation the cover and placement clauses stay out of the LP and the bound
stalls (demo: gap 38 % after 60 s with the stock 2-worker portfolio, proven
optimal in 0.5 s with ``max_lp``; see benchmarks/)."""


@dataclass(frozen=True)
class Budget:
    """How long one CP-SAT call may run.

    Attributes
    ----------
    seconds
        Wall-clock limit (always set: a safety net even for deterministic runs).
    deterministic
        A limit in CP-SAT's deterministic time units, or None. With one worker
        and a fixed seed, a run stopped by this limit repeats exactly, however
        busy the machine is; one stopped by ``seconds`` may not.
    """

    seconds: float
    deterministic: float | None = None


def configure(solver: cp_model.CpSolver, *, budget: Budget, workers: int, seed: int,
              log: bool = False, portfolio: bool = True, probing: bool = True) -> None:
    """Set CP-SAT's parameters for one call.

    Parameters
    ----------
    solver
        The solver to configure.
    budget
        Time (and optionally deterministic time) for this call.
    workers
        Search workers; 1 runs a single search with the full linear relaxation.
    seed
        Random seed.
    log
        Print CP-SAT's search log.
    portfolio
        Use :data:`PORTFOLIO` when there are several workers (full problems);
        False keeps CP-SAT's own choice (neighbourhood and feasibility models).
    probing
        False turns off CP-SAT's probing in presolve (small models solved by the
        hundred, where it costs more than it saves).
    """
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, budget.seconds)
    if budget.deterministic is not None:
        params.max_deterministic_time = max(0.01, budget.deterministic)
    params.num_workers = max(1, workers)
    params.random_seed = seed
    params.log_search_progress = log
    # Ctrl-C and SIGTERM are rotaplan's to handle: they set a stop request, and the
    # best plan so far is checked and written (CP-SAT would otherwise swallow Ctrl-C
    # and end as if the time limit had passed).
    params.catch_sigint_signal = False
    if not probing:
        params.cp_model_probing_level = 0
    if workers == 1:
        params.linearization_level = 2
    elif portfolio:
        params.subsolvers.extend(PORTFOLIO)


__all__ = ["PORTFOLIO", "Budget", "configure"]
