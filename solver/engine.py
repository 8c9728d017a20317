"""Build the CP-SAT model, run it (one or two phases), and assemble the result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from rotaplan.models import Plan, Scenario
from rotaplan.solver import explain, lns
from rotaplan.solver.greedy import GreedyPlacement, greedy_placements, hint_model
from rotaplan.solver.instance import Instance
from rotaplan.solver.objective import Term, learner_costs, objective_terms, preference_upper_bound
from rotaplan.solver.recover import recover
from rotaplan.solver.result import SolveResult
from rotaplan.solver.rules import Build, post_all
from rotaplan.solver.stopping import solve_until
from rotaplan.solver.variables import Lit, Variables, create

_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.UNKNOWN: "UNKNOWN",
    cp_model.MODEL_INVALID: "INVALID",
}


@dataclass(frozen=True)
class Progress:
    """A progress event: a better plan or a better bound.

    Attributes
    ----------
    phase
        ``"fairness"`` (minimax first phase) or ``"total"``.
    kind
        ``"solution"`` or ``"bound"``.
    objective, bound
        Best objective and bound of the phase so far (None if unknown).
    seconds
        Seconds since the solve started.
    """

    phase: str
    kind: str
    objective: float | None
    bound: float | None
    seconds: float


@dataclass
class SolveOptions:
    """How to run the solver.

    Attributes
    ----------
    time_limit
        Seconds for the whole solve (shared by phases).
    workers
        CP-SAT search workers; 1 with a fixed seed is deterministic.
    seed
        Random seed for CP-SAT.
    log
        Print CP-SAT's search log.
    on_progress
        Called with :class:`Progress` events (from the solver's thread).
    stop
        Set it to stop the search; the best plan so far is kept.
    candidate_limit
        Cap on candidate sites per learner, block and role: ``None`` for none
        (exact), an int, or ``"auto"`` (the default: capped only for very large
        cohorts). A capped solve is never reported OPTIMAL; its bound is then
        the capacity-free relaxation, valid for the full problem. If the capped
        model is infeasible the cap is widened and the solve repeated.
    hint
        Start CP-SAT from the greedy serial-dictatorship plan (kept inside any
        cap), so large cohorts get a first plan quickly.
    extend
        A model extension (see :mod:`solver.extensions`): called with the built
        model after every rule unit, it may add constraints and returns extra
        named objective terms. An extended solve always uses the full model.
        Terms marked ``tie_break`` are minimised in a last phase, with the rest
        of the objective held at its best value.
    reference
        A plan whose named and present supervisors the plan keeps wherever the
        new sites and sessions allow (re-planning).
    """

    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    log: bool = False
    on_progress: Callable[[Progress], None] | None = None
    stop: threading.Event | None = field(default=None, repr=False)
    candidate_limit: int | str | None = "auto"
    hint: bool = True
    extend: Callable[[Build], list[Term]] | None = field(default=None, repr=False)
    reference: Plan | None = field(default=None, repr=False)


class _Watcher(cp_model.CpSolverSolutionCallback):
    """Records the first-solution time, reports progress, honours stop requests."""

    def __init__(self, phase: str, options: SolveOptions, started: float) -> None:
        super().__init__()
        self.phase = phase
        self.options = options
        self.started = started
        self.first: float | None = None
        self.bound: float | None = None
        self.ran = False

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self.started
        if self.first is None:
            self.first = now
        if self.options.on_progress is not None:
            self.options.on_progress(Progress(self.phase, "solution", self.objective_value,
                                              self.best_objective_bound, now))
        if self.options.stop is not None and self.options.stop.is_set():
            self.stop_search()

    def on_bound(self, bound: float) -> None:
        self.bound = bound
        if self.options.on_progress is not None:
            self.options.on_progress(Progress(self.phase, "bound", None, bound,
                                              time.perf_counter() - self.started))
        if self.options.stop is not None and self.options.stop.is_set():
            self.stop_search()


PORTFOLIO = ("max_lp", "core", "default_lp", "quick_restart", "reduced_costs", "no_lp")
"""Full-problem subsolvers in the order CP-SAT gets them. ``max_lp`` (the full
linear relaxation, linearization level 2) leads: with the default level-1
relaxation the cover and placement clauses stay out of the LP and the bound
stalls (demo: gap 38 % after 60 s with the stock 2-worker portfolio, proven
optimal in 0.5 s with ``max_lp``; see benchmarks/)."""


def configure(solver: cp_model.CpSolver, options: SolveOptions, seconds: float) -> None:
    """Set CP-SAT parameters: time, workers, seed, and the subsolver portfolio."""
    params = solver.parameters
    params.max_time_in_seconds = max(0.1, seconds)
    params.num_workers = max(1, options.workers)
    params.random_seed = options.seed
    params.log_search_progress = options.log
    if options.workers == 1:
        params.linearization_level = 2
    else:
        params.subsolvers.extend(PORTFOLIO)


def _run(
    model: cp_model.CpModel, options: SolveOptions, phase: str, seconds: float, started: float
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus, _Watcher]:
    solver = cp_model.CpSolver()
    configure(solver, options, seconds)
    watcher = _Watcher(phase, options, started)
    solver.best_bound_callback = watcher.on_bound
    if options.stop is not None and options.stop.is_set():
        return solver, cp_model.UNKNOWN, watcher
    status = solve_until(solver, model, options.stop, watcher)
    watcher.ran = True
    return solver, status, watcher


def build(scenario: Scenario, *, explain_mode: bool = False) -> tuple[Build, Instance]:
    """Build the model of a scenario (all rule units, no objective)."""
    inst = Instance(scenario)
    model = cp_model.CpModel()
    variables = create(model, inst)
    b = Build(model, inst, variables, explain=explain_mode)
    post_all(b)
    return b, inst


def solve(scenario: Scenario, options: SolveOptions | None = None) -> SolveResult:
    """Solve a scenario: find the plan of least objective, or explain why none exists.

    Parameters
    ----------
    scenario
        A validated scenario.
    options
        Time limit, workers, seed, progress callback.

    Returns
    -------
    SolveResult
        Status, objective, bound, timings and, when found, the plan. Infeasible
        scenarios give status ``INFEASIBLE`` and an explanation, never an error.
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    fairness = scenario.objective.fairness or "none"
    result = SolveResult(status="UNKNOWN", seed=options.seed, workers=options.workers,
                         time_limit=options.time_limit, fairness=fairness)
    inst = Instance(scenario)
    empty = explain.empty_domains(inst)
    if empty is not None:
        result.status = "INFEASIBLE"
        result.explanation = empty
        result.solve_seconds = time.perf_counter() - started
        return result
    if explain.arithmetic(inst) is not None:  # a counting proof: no search needed
        return _infeasible(result, scenario, started)
    limit: int | None
    if options.extend is not None:  # extensions name variables of the full model
        limit = None
    elif options.candidate_limit == "auto":
        limit = AUTO_LIMIT if inst.candidate_count() > AUTO_THRESHOLD else None
    else:
        limit = None if options.candidate_limit is None else int(options.candidate_limit)
    greedy = greedy_placements(inst, seed=options.seed) if options.hint else None
    deadline = started + options.time_limit
    large = options.extend is None and (
        limit is not None or inst.candidate_count() > STAGED_THRESHOLD)
    if large and greedy is not None and not greedy.unplaced:
        # Large cohort: first complete the greedy's own sites (a tiny model), so a
        # verified plan exists early; neighbourhood search then improves it, and
        # the result is never worse than the greedy's plan.
        inst.restrict(0, greedy.sites)
        stage = _solve_on(inst, scenario, options, started, result, greedy,
                          started + options.time_limit / 4)
        search: dict[str, Any] = {"greedy_stage": stage.status}
        if stage.has_plan:
            # The full model of a large cohort does not beat the capacity-free
            # bound in a user's patience (L: 150k variables, bound stuck at it
            # after 120 s) and costs memory; neighbourhood search improves the
            # plan instead, and the capacity-free bound is reported.
            bound = float(inst.relaxed_bound(_penalty(scenario)))
            log = lns.SearchLog()
            best, _ = lns.improve(
                inst, scenario, stage, stage.placements, solve_on=_solve_on, options=options,
                started=started, deadline=deadline, seed=options.seed, log=log,
                report=_reporter(options, started), target=bound)
            search["neighbourhood_search"] = log.as_dict()
            best.search = search
            best.candidate_limit = limit
            best.best_bound = bound
            if best.objective is not None and best.objective <= bound \
                    and fairness != "minimax":
                best.status = "OPTIMAL"  # the plan meets a valid bound
            best.solve_seconds = time.perf_counter() - started
            return best
    while True:
        inst.restrict(limit, greedy.sites if greedy is not None else None)
        result.candidate_limit = limit
        attempt = _solve_on(inst, scenario, options, started, result, greedy, deadline)
        widen = attempt.status == "INFEASIBLE" and inst.restricted
        if not widen or time.perf_counter() - started >= options.time_limit:
            return attempt
        limit = None if limit is None or limit * 2 >= MAX_LIMIT else limit * 2
        result = SolveResult(status="UNKNOWN", seed=options.seed, workers=options.workers,
                             time_limit=options.time_limit, fairness=fairness)


def _penalty(scenario: Scenario) -> int | None:
    return scenario.objective.unplaced_penalty if scenario.objective.allow_unplaced else None


def _reporter(options: SolveOptions, started: float) -> Callable[[SolveResult], None]:
    """Progress events for plans improved by neighbourhood search."""
    def report(best: SolveResult) -> None:
        if options.on_progress is not None:
            options.on_progress(Progress("total", "solution", best.objective, None,
                                         time.perf_counter() - started))
    return report


STAGED_THRESHOLD = 50_000
"""Placement options above which a greedy-sites plan is completed first (L and up)."""
AUTO_THRESHOLD = 300_000
"""Placement options above which candidate sites are capped (the XL regime)."""
AUTO_LIMIT = 4
MAX_LIMIT = 256


def _solve_on(inst: Instance, scenario: Scenario, options: SolveOptions, started: float,
              result: SolveResult, greedy: GreedyPlacement | SolveResult | None,
              deadline: float | None = None, *, relaxed_bound: bool = True) -> SolveResult:
    """Build and solve the model on an instance's (possibly capped) domains, by ``deadline``."""
    fairness = result.fairness
    end = deadline if deadline is not None else started + options.time_limit
    model = cp_model.CpModel()
    v = create(model, inst)
    b = Build(model, inst, v)
    post_all(b)  # before hinting: site-session literals are made by the rules
    if isinstance(greedy, SolveResult):
        hint_plan(model, v, greedy)
    elif greedy is not None:
        hint_model(model, v, inst, greedy)
    costs = learner_costs(b)
    terms = objective_terms(b, costs)
    added = options.extend(b) if options.extend is not None else []
    extra = [t for t in added if not t.tie_break]
    later = [t for t in added if t.tie_break]
    total = sum(t.weight * t.expr for t in [*extra, *terms])
    proto = model.proto
    result.model_size = {"variables": len(proto.variables),
                         "constraints": len(proto.constraints)} | {
        f"constraints[{k}]": n for k, n in sorted(b.counts.items())}
    problem = model.validate()
    if problem:
        result.status = "INVALID"
        result.explanation = explain.internal(f"CP-SAT rejected the model: {problem}")
        return result
    result.build_seconds = time.perf_counter() - started

    value_source: cp_model.CpSolver | None = None
    statuses: list[cp_model.CpSolverStatus] = []
    if fairness == "minimax":
        bound_worst = max(0, preference_upper_bound(b))
        worst = model.new_int_var(0, bound_worst, "worst_learner_cost")
        for info in inst.learners:
            model.add(worst >= costs[info.index])
        if extra:  # an extension's terms come first, then fairness (lexicographic)
            scale = bound_worst + 1
            model.minimize(cp_model.LinearExpr.sum(
                [worst, *[scale * t.weight * t.expr for t in extra]]))
        else:
            model.minimize(worst)
        solver, status, watcher = _run(model, options, "fairness",
                                       (end - time.perf_counter()) / 2, started)
        statuses.append(status)
        result.phases.append(_phase("fairness", solver, status, watcher))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            result.first_solution_seconds = watcher.first
            model.add(worst <= solver.value(worst))
            _hint_from(model, solver)
            value_source = solver
        elif status == cp_model.INFEASIBLE:
            return _infeasible(result, scenario, started, extended=options.extend is not None)
        else:
            if extra:
                result.search = (result.search or {}) | {"extended": {
                    "status": _STATUS.get(status, "UNKNOWN")}}
            result.status = _STATUS.get(status, "UNKNOWN")
            result.solve_seconds = time.perf_counter() - started
            return result
    model.minimize(total)
    remaining = end - time.perf_counter()
    solver, status, watcher = _run(model, options, "total", remaining, started)
    statuses.append(status)
    result.phases.append(_phase("total", solver, status, watcher))
    if status == cp_model.INFEASIBLE:
        return _infeasible(result, scenario, started, extended=options.extend is not None)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value_source = solver
        if result.first_solution_seconds is None:
            result.first_solution_seconds = watcher.first
        result.best_bound = solver.best_objective_bound
        extended_bound = solver.best_objective_bound  # the tie-break phase has its own
        if later:
            value_source = _tie_break(model, solver, total, later, options, result, end,
                                      started)
    elif options.extend is not None:  # no plan from the last phase: say so, never report
        value_source = None            # the fairness phase's values as the extended search
        result.search = (result.search or {}) | {"extended": {
            "status": _STATUS.get(status, "UNKNOWN")}}
    if value_source is None:
        result.status = _STATUS.get(status, "UNKNOWN")
        result.solve_seconds = time.perf_counter() - started
        return result

    src = value_source

    def value(lit: Lit) -> int:
        return lit if isinstance(lit, int) else int(src.boolean_value(lit))

    result.plan = recover(inst, v, value, reference=options.reference)
    result.placements = {key: site for key, lits in v.place.items()
                         for site, lit in lits.items() if value(lit)}
    result.working = {key for key, lit in v.works.items() if value(lit)}
    proven = all(s == cp_model.OPTIMAL for s in statuses) and not inst.restricted
    result.status = "OPTIMAL" if proven else "FEASIBLE"
    _fill_costs(result, src, terms, costs, inst)
    if options.extend is not None:
        # The plan is optimal for the extended objective, not the contract's: the
        # summary keeps the contract's objective (a checker recomputes it) and its
        # status says FEASIBLE; the extended search is reported beside it.
        result.search = (result.search or {}) | {"extended": {
            "status": result.status,
            "objective": float(src.value(total)),
            "bound": float(extended_bound),
            "terms": {t.name: float(src.value(t.expr)) for t in [*extra, *later]},
            "weights": {t.name: t.weight for t in extra}
            | {t.name: f"tie-break x{t.weight}" for t in later},
        }}
        result.terms |= {t.name: float(src.value(t.expr)) for t in [*extra, *later]}
        result.status = "FEASIBLE"
        result.best_bound = None
        result.solve_seconds = time.perf_counter() - started
        return result
    if inst.restricted and relaxed_bound:  # the model's bound holds only for the capped domains
        result.best_bound = float(inst.relaxed_bound(_penalty(scenario)))
    result.solve_seconds = time.perf_counter() - started
    return result


def hint_plan(model: cp_model.CpModel, v: Variables, plan: SolveResult) -> None:
    """Hint every variable from a plan: sites, weekly sessions, site-sessions.

    A complete hint lets CP-SAT start from the plan itself (a hint of the
    placements alone is often repaired into a worse plan).
    """
    model.clear_hints()
    sites, working = plan.placements, plan.working
    placed = {i for (i, _, _) in sites}
    base_of = {i: site for (i, _, role), site in sites.items() if role == "base"}
    hinted: set[int] = set()

    def hint(lit: Lit, value: bool) -> None:
        if not isinstance(lit, int) and lit.index not in hinted:
            hinted.add(lit.index)
            model.add_hint(lit, value)

    for i, lit in v.placed.items():
        hint(lit, i in placed)
    for (i, site), lit in v.base.items():
        hint(lit, base_of.get(i) == site)
    for key, lits in v.place.items():
        for site, lit in lits.items():
            hint(lit, sites.get(key) == site)
    for work_key, lit in v.works.items():
        hint(lit, work_key in working)
    for (i, block, role, site, session), lit in v.at.items():
        hint(lit, sites.get((i, block, role)) == site and (i, block, role, session) in working)


def _phase(name: str, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus,
           watcher: _Watcher) -> dict[str, Any]:
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if not watcher.ran:
        return {"phase": name, "status": "UNKNOWN", "objective": None, "best_bound": None,
                "seconds": 0.0, "first_solution_seconds": None, "branches": 0, "conflicts": 0,
                "stopped_before_start": True}
    return {
        "phase": name,
        "status": _STATUS.get(status, "UNKNOWN"),
        "objective": solver.objective_value if found else None,
        "best_bound": solver.best_objective_bound if found else watcher.bound,
        "seconds": round(solver.wall_time, 3),
        "first_solution_seconds": None if watcher.first is None else round(watcher.first, 3),
        "branches": solver.num_branches,
        "conflicts": solver.num_conflicts,
    }


def _tie_break(model: cp_model.CpModel, best: cp_model.CpSolver, total: Any,
               later: list[Term], options: SolveOptions, result: SolveResult, end: float,
               started: float) -> cp_model.CpSolver:
    """Minimise tie-break terms with the objective held at its best value.

    Returns the solver whose values make the plan: the tie-break phase's when
    it found a plan (it starts from the best plan, so it always can unless
    stopped), otherwise ``best``.
    """
    model.add(total <= round(best.objective_value))
    _hint_from(model, best)
    model.minimize(sum(t.weight * t.expr for t in later))
    remaining = max(1.0, end - time.perf_counter())
    solver, status, watcher = _run(model, options, "tie-break", remaining, started)
    result.phases.append(_phase("tie-break", solver, status, watcher))
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver
    return best


def _hint_from(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    model.clear_hints()
    for index in range(len(model.proto.variables)):
        var = model.get_int_var_from_proto_index(index)
        model.add_hint(var, solver.value(var))


def _fill_costs(
    result: SolveResult, solver: cp_model.CpSolver, terms: list[Term],
    costs: dict, inst: Instance,
) -> None:
    result.terms = {t.name: float(solver.value(t.expr)) for t in terms}
    objective = sum(t.weight * solver.value(t.expr) for t in terms)
    result.objective = float(objective)
    per_learner = {info.id: int(solver.value(costs[info.index])) for info in inst.learners}
    result.learner_costs = per_learner
    result.preference_cost = int(sum(per_learner.values()))
    result.worst_learner_cost = max(per_learner.values(), default=0)
    result.unplaced = int(result.terms.get("unplaced", 0))


def _infeasible(result: SolveResult, scenario: Scenario, started: float, *,
                extended: bool = False) -> SolveResult:
    result.status = "INFEASIBLE"
    if extended:
        result.search = (result.search or {}) | {"extended": {"status": "INFEASIBLE"}}
    found = explain.diagnose(scenario, known_infeasible=not extended, suggest_seconds=5.0)
    if found is None:  # the scenario has plans; the extension's demands rule them out
        found = explain.internal("the scenario has plans, but none keeps what this solve "
                                 "was asked to keep")
    result.explanation = found
    result.solve_seconds = time.perf_counter() - started
    return result
