"""Solve a scenario: pick a strategy, run CP-SAT, assemble the result.

:func:`solve` is a choice among small strategies:

- :func:`_proven_without_search`: empty candidate sets or a counting check prove
  there is no plan; nothing is searched.
- :func:`_staged`: large cohorts. The greedy's sites are completed into a
  checked plan first (a small model), which is kept whatever happens later, and
  neighbourhood search improves it (:mod:`rotaplan.solver.lns`). The reported
  bound is the capacity-free relaxation, which holds for the whole problem.
- :func:`_whole`: the full model, one or two lexicographic phases (``minimax``
  fairness first), optionally an extension's terms and a tie-break phase.

Only bounds that hold for the whole problem are ever reported, in progress
events or results: a restricted model's bound (a stage, a neighbourhood, a
candidate cap) is not one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from rotaplan.models import Plan, Scenario
from rotaplan.models.vocabulary import Role, Status
from rotaplan.solver import explain, lns
from rotaplan.solver.build import Extension, Formulation, formulate
from rotaplan.solver.greedy import GreedyPlacement, greedy_placements, hint_model
from rotaplan.solver.instance import Instance
from rotaplan.solver.objective import Term, cost_lower_bound, preference_upper_bound
from rotaplan.solver.params import Budget, configure
from rotaplan.solver.recover import recover
from rotaplan.solver.result import Phase, SolveResult, Statistics
from rotaplan.solver.stopping import solve_until
from rotaplan.solver.variables import Lit, Variables

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
    cp_model.MODEL_INVALID: Status.INVALID,
}
_FOUND = (cp_model.OPTIMAL, cp_model.FEASIBLE)

STAGED_THRESHOLD = 50_000
"""Placement options above which a greedy-sites plan is completed first (L and up):
the full model of a 300-learner cohort (150k variables) did not improve on the
greedy in 120 s, and its bound stayed at the capacity-free one (benchmarks/)."""
AUTO_THRESHOLD = 300_000
"""Placement options above which candidate sites are capped (the XL regime)."""
AUTO_LIMIT = 4
MAX_LIMIT = 256


@dataclass(frozen=True)
class Progress:
    """A progress event: a better plan or a better bound.

    Attributes
    ----------
    phase
        What is running: ``fairness`` (minimax first phase), ``total``,
        ``first plan`` (a staged solve completing the greedy's sites) or
        ``neighbourhood search``.
    kind
        ``"solution"`` or ``"bound"``.
    objective
        Best objective of the phase so far (None if unknown).
    bound
        A lower bound valid for the whole problem, or None: a restricted model's
        own bound is never passed on.
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
        Seconds for the whole solve, model building included.
    workers
        CP-SAT search workers; 1 with a fixed seed (and a deterministic budget)
        repeats exactly.
    seed
        Random seed for CP-SAT and the greedy.
    deterministic_time
        A budget in CP-SAT's deterministic time units (summed over every call).
        With ``workers=1`` the same input and seed then give the same plan on a
        busy or a quiet machine; ``time_limit`` stays a wall-clock safety net.
    log
        Print CP-SAT's search log.
    on_progress
        Called with :class:`Progress` events (from the solver's thread).
    stop
        Set it to stop the search; the best plan so far is kept.
    candidate_limit
        Cap on candidate sites per learner, block and role: ``None`` for none
        (exact), an int, or ``"auto"`` (capped only for very large cohorts). A
        capped solve is never reported OPTIMAL; its bound is then the
        capacity-free relaxation. If the capped model is infeasible the cap is
        widened and the solve repeated.
    hint
        Start CP-SAT from the greedy serial-dictatorship plan.
    extend
        A model extension (see :mod:`rotaplan.solver.extensions`). An extended
        solve always uses the full model. Terms marked ``tie_break`` are
        minimised in a last phase, with the rest of the objective held.
    reference
        A plan whose named and present supervisors the plan keeps wherever the
        new sites and sessions allow (re-planning).
    """

    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    deterministic_time: float | None = None
    log: bool = False
    on_progress: Callable[[Progress], None] | None = None
    stop: threading.Event | None = field(default=None, repr=False)
    candidate_limit: int | str | None = "auto"
    hint: bool = True
    extend: Extension | None = field(default=None, repr=False)
    reference: Plan | None = field(default=None, repr=False)


@dataclass
class Clock:
    """The solve's time: wall clock since start, and deterministic time used."""

    started: float
    deadline: float
    deterministic: float | None
    used: float = 0.0

    @classmethod
    def start(cls, options: SolveOptions) -> Clock:
        """A clock for a solve starting now."""
        now = time.perf_counter()
        return cls(now, now + options.time_limit, options.deterministic_time)

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.perf_counter() - self.started

    def left(self) -> float:
        """Wall-clock seconds left."""
        return self.deadline - time.perf_counter()

    def budget(self, share: float = 1.0, end: float | None = None) -> Budget:
        """A budget for one CP-SAT call: ``share`` of what is left (before ``end``)."""
        wall = (min(self.deadline, end) if end is not None else self.deadline)
        seconds = max(0.05, (wall - time.perf_counter()) * share)
        det = None if self.deterministic is None else \
            max(0.01, (self.deterministic - self.used) * share)
        return Budget(seconds, det)

    def exhausted(self) -> bool:
        """No time (or deterministic time) is left."""
        if self.deterministic is not None and self.used >= self.deterministic:
            return True
        return self.left() <= 0.0

    def charge(self, solver: cp_model.CpSolver) -> None:
        """Count a finished call's deterministic time."""
        self.used += solver.deterministic_time


class _Watcher(cp_model.CpSolverSolutionCallback):
    """Records the first-solution time, reports progress, honours stop requests."""

    def __init__(self, phase: str, options: SolveOptions, clock: Clock, *,
                 whole: bool) -> None:
        super().__init__()
        self.phase = phase
        self.options = options
        self.clock = clock
        self.whole = whole  # the model is the whole problem: its bound is a bound
        self.first: float | None = None
        self.last: float | None = None  # the latest (best) solution's time
        self.bound: float | None = None

    def on_solution_callback(self) -> None:
        now = self.clock.elapsed()
        if self.first is None:
            self.first = now
        self.last = now
        if self.options.on_progress is not None:
            bound = self.best_objective_bound if self.whole else None
            self.options.on_progress(Progress(self.phase, "solution", self.objective_value,
                                              bound, now))

    def on_bound(self, bound: float) -> None:
        self.bound = bound
        if self.options.on_progress is not None and self.whole:
            self.options.on_progress(Progress(self.phase, "bound", None, bound,
                                              self.clock.elapsed()))


def _run(model: cp_model.CpModel, options: SolveOptions, phase: str, budget: Budget,
         clock: Clock, *, whole: bool) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus,
                                                 _Watcher, bool]:
    """One CP-SAT call. Returns the solver, its status, the watcher, and whether it ran."""
    solver = cp_model.CpSolver()
    configure(solver, budget=budget, workers=options.workers, seed=options.seed,
              log=options.log)
    watcher = _Watcher(phase, options, clock, whole=whole)
    solver.best_bound_callback = watcher.on_bound
    if options.stop is not None and options.stop.is_set():
        return solver, cp_model.UNKNOWN, watcher, False
    status = solve_until(solver, model, options.stop, watcher)
    clock.charge(solver)
    return solver, status, watcher, True


def _phase(name: str, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus,
           watcher: _Watcher, ran: bool) -> Phase:
    if not ran:
        return Phase(name, Status.UNKNOWN, stopped_before_start=True)
    found = status in _FOUND
    return Phase(
        name, _STATUS.get(status, Status.UNKNOWN),
        objective=solver.objective_value if found else None,
        best_bound=solver.best_objective_bound if found else watcher.bound,
        seconds=round(solver.wall_time, 3),
        first_solution_seconds=None if watcher.first is None else round(watcher.first, 3),
        branches=solver.num_branches, conflicts=solver.num_conflicts,
        deterministic_time=round(solver.deterministic_time, 3))


# --------------------------------------------------------------------------- entry point


def solve(scenario: Scenario, options: SolveOptions | None = None) -> SolveResult:
    """Solve a scenario: find the plan of least objective, or explain why none exists.

    Parameters
    ----------
    scenario
        A validated scenario.
    options
        Time limit, workers, seed, progress callback, stop request.

    Returns
    -------
    SolveResult
        Status, objective, bound, statistics and, when found, the plan.
        Infeasible scenarios give status ``INFEASIBLE`` and an explanation,
        never an error. A plan that exists when the time runs out is returned.
    """
    options = options or SolveOptions()
    clock = Clock.start(options)
    inst = Instance(scenario)
    result = _fresh(scenario, options)
    proof = explain.proof_without_search(inst)
    if proof is not None:
        return _infeasible(result, inst, clock, options, proof=proof)
    # the greedy and its neighbourhoods know contract version 1 only (§1-§8)
    if options.extend is None and inst.candidate_count() > STAGED_THRESHOLD \
            and not scenario.uses_v2:
        return _staged(inst, options, clock, result)
    return _whole(inst, options, clock, result)


def _fresh(scenario: Scenario, options: SolveOptions) -> SolveResult:
    fairness = scenario.objective.fairness or "none"
    return SolveResult(Status.UNKNOWN, stats=Statistics(
        seed=options.seed, workers=options.workers, time_limit=options.time_limit,
        deterministic_time=options.deterministic_time, fairness=fairness))


def _penalty(scenario: Scenario) -> int | None:
    return scenario.objective.unplaced_penalty if scenario.objective.allow_unplaced else None


def _finish(result: SolveResult, clock: Clock) -> SolveResult:
    result.stats.solve_seconds = clock.elapsed()
    return result


# --------------------------------------------------------------------------- strategies


def _whole(inst: Instance, options: SolveOptions, clock: Clock,
           result: SolveResult) -> SolveResult:
    """The full model (capped only for very large cohorts), widened if the cap binds."""
    limit: int | None
    if options.extend is not None:  # extensions name variables of the full model
        limit = None
    elif options.candidate_limit == "auto":
        limit = AUTO_LIMIT if inst.candidate_count() > AUTO_THRESHOLD else None
    else:
        limit = None if options.candidate_limit is None else int(options.candidate_limit)
    greedy = greedy_placements(inst, seed=options.seed) \
        if options.hint and not inst.scenario.uses_v2 else None
    while True:
        inst.restrict(limit, greedy.sites if greedy is not None else None)
        result.stats.candidate_limit = limit
        attempt = _solve_model(inst, options, clock, result, hint=greedy)
        widen = attempt.status == Status.INFEASIBLE and inst.restricted
        if not widen or clock.exhausted():
            return attempt
        limit = None if limit is None or limit * 2 >= MAX_LIMIT else limit * 2
        result = _fresh(inst.scenario, options)


def _staged(inst: Instance, options: SolveOptions, clock: Clock,
            result: SolveResult) -> SolveResult:
    """Large cohorts: a checked plan from the greedy's sites first, then neighbourhoods.

    The first stage fixes every learner the greedy placed at the greedy's sites
    (their timetables stay free) and leaves any learner it could not place free
    to go anywhere; it may use the whole time limit, because without it there
    is no plan at all. Its plan is kept whatever happens later.
    """
    scenario = inst.scenario
    greedy = greedy_placements(inst, seed=options.seed)
    inst.focus(set(greedy.unplaced), greedy.sites, None if greedy.unplaced else set())
    stage_options = _quiet_bound(options, "first plan")
    stage = _solve_model(inst, stage_options, clock, result, hint=greedy, whole=False,
                         first_only=True)
    search: dict[str, Any] = {"first_plan_stage": stage.status}
    if not stage.has_plan:
        inst.restrict(None)
        if stage.status == Status.INFEASIBLE and not clock.exhausted():
            # the greedy's choices leave no room for everyone: the full model decides
            search["first_plan_stage"] = "no plan from the greedy's sites; full model"
            fallback = _whole(inst, options, clock, _fresh(scenario, options))
            fallback.stats.search |= search
            return fallback
        result.status = stage.status if stage.status != Status.INFEASIBLE else Status.UNKNOWN
        result.stats.search = search
        return _finish(result, clock)
    bound = float(inst.relaxed_bound(_penalty(scenario)))
    stage.best_bound = bound
    stage.status = Status.FEASIBLE
    _report(options, clock, stage, "first plan")
    log = lns.SearchLog()
    best, _ = lns.improve(
        inst, scenario, stage, stage.placements, solve_on=solve_focused, options=options,
        clock=clock, seed=options.seed, log=log,
        report=lambda found: _report(options, clock, found, "neighbourhood search"),
        target=bound)
    inst.restrict(None)
    search["neighbourhood_search"] = log.as_dict()
    best.stats.search = search
    best.stats.candidate_limit = None
    best.best_bound = bound
    best.status = Status.FEASIBLE
    if best.objective is not None and best.objective <= bound \
            and result.stats.fairness != "minimax":
        best.status = Status.OPTIMAL  # the plan meets a valid bound
    return _finish(best, clock)


def _quiet_bound(options: SolveOptions, phase: str) -> SolveOptions:
    """Options whose progress events carry no bound and are labelled ``phase``."""
    report = options.on_progress
    if report is None:
        return options

    def relabel(event: Progress) -> None:
        if event.kind == "solution":
            report(Progress(phase, event.kind, event.objective, None, event.seconds))

    copy = SolveOptions(**{**options.__dict__, "on_progress": relabel})
    return copy


def _report(options: SolveOptions, clock: Clock, found: SolveResult, phase: str) -> None:
    """A progress event for a plan found outside CP-SAT's own callbacks."""
    found.stats.best_solution_seconds = clock.elapsed()
    if options.on_progress is not None:
        options.on_progress(Progress(phase, "solution", found.objective, found.best_bound,
                                     clock.elapsed()))


def solve_focused(inst: Instance, options: SolveOptions, clock: Clock,
                  start: SolveResult | GreedyPlacement, end: float) -> SolveResult:
    """Solve the instance's restricted domains (a neighbourhood, a stage) from a start.

    The result's plan is a plan of the problem; its status is at best FEASIBLE
    and it carries no bound (a restricted model's bound is not the problem's).
    """
    quiet = SolveOptions(**{**options.__dict__, "on_progress": None})
    fresh = _fresh(inst.scenario, options)
    return _solve_model(inst, quiet, clock, fresh, hint=start, whole=False, end=end)


# --------------------------------------------------------------------------- one model


def _solve_model(inst: Instance, options: SolveOptions, clock: Clock, result: SolveResult,
                 *, hint: GreedyPlacement | SolveResult | None, whole: bool = True,
                 end: float | None = None, first_only: bool = False) -> SolveResult:
    """Build and solve the model on an instance's current domains, by ``end``.

    ``whole`` says the domains are the whole problem's (no cap, no focus), so
    CP-SAT's bound is a bound of the problem and OPTIMAL means optimal.
    """
    whole = whole and not inst.restricted
    scenario = inst.scenario
    built = time.perf_counter()
    form = formulate(inst, extend=options.extend)
    if isinstance(hint, SolveResult):
        hint_plan(form.model, form.b.v, hint)
    elif hint is not None:
        hint_model(form.model, form.b.v, inst, hint)
    result.stats.model_size = form.size()
    problem = form.model.validate()
    if problem:
        result.status = Status.INVALID
        result.explanation = explain.internal(f"CP-SAT rejected the model: {problem}")
        return _finish(result, clock)
    result.stats.build_seconds += time.perf_counter() - built
    fairness = result.stats.fairness
    total = form.total()
    statuses: list[cp_model.CpSolverStatus] = []
    source: cp_model.CpSolver | None = None
    if fairness == "weighted":  # one phase: the total plus the worst learner's cost
        worst, _ = _worst_variable(form)
        weight = scenario.objective.worst_weight
        form.terms.append(Term("worst_learner", weight, worst,
                               f"{weight} x the largest learner cost"))
        total = form.total()
    if fairness == "minimax":
        worst, ceiling = _worst_variable(form)
        if form.extra:  # an extension's terms come first, then fairness (lexicographic)
            scale = ceiling - _floor(form) + 1
            form.model.minimize(cp_model.LinearExpr.sum(
                [worst, *[scale * t.weight * t.expr for t in form.extra]]))
        else:
            form.model.minimize(worst)
        solver, status, watcher, ran = _run(form.model, options, "fairness",
                                            clock.budget(0.5, end), clock, whole=whole)
        statuses.append(status)
        result.stats.phases.append(_phase("fairness", solver, status, watcher, ran))
        if status in _FOUND:
            result.stats.first_solution_seconds = watcher.first
            form.model.add(worst <= round(solver.value(worst)))
            _hint_from(form.model, solver)
            source = solver
        elif status == cp_model.INFEASIBLE:
            return _infeasible(result, inst, clock, options)
        else:
            result.status = _STATUS.get(status, Status.UNKNOWN)
            return _finish(result, clock)
    form.model.minimize(total)
    solver, status, watcher, ran = _run(form.model, options, "total", clock.budget(1.0, end),
                                        clock, whole=whole)
    statuses.append(status)
    result.stats.phases.append(_phase("total", solver, status, watcher, ran))
    if status == cp_model.INFEASIBLE:
        return _infeasible(result, inst, clock, options)
    extended_bound: float | None = None
    if status in _FOUND:
        source = solver
        if result.stats.first_solution_seconds is None:
            result.stats.first_solution_seconds = watcher.first
        result.stats.best_solution_seconds = watcher.last
        extended_bound = solver.best_objective_bound
        if whole and options.extend is None:
            result.best_bound = solver.best_objective_bound
        if form.later and not first_only:
            source = _tie_break(form, solver, options, clock, result, end)
    elif options.extend is not None:
        source = None  # never report the fairness phase's values as the extended plan
    if source is None:
        result.status = _STATUS.get(status, Status.UNKNOWN)
        if options.extend is not None:
            result.stats.search |= {"extended": {"status": result.status}}
        return _finish(result, clock)
    _assemble(result, form, source, options)
    proven = all(s == cp_model.OPTIMAL for s in statuses) and whole
    result.status = Status.OPTIMAL if proven else Status.FEASIBLE
    if options.extend is not None:
        _extended_figures(result, form, source, extended_bound)
    elif not whole:
        result.best_bound = None  # a restricted model's bound is not the problem's
        if inst.restricted and inst.candidate_limit:  # a cap: report the valid bound
            result.best_bound = float(inst.relaxed_bound(_penalty(scenario)))
    return _finish(result, clock)


def _floor(form: Formulation) -> int:
    """The smallest value the largest learner cost can take (scores make costs negative)."""
    return min(0, cost_lower_bound(form.costs))


def _worst_variable(form: Formulation) -> tuple[cp_model.IntVar, int]:
    """The largest learner cost, and its upper bound.

    A learner left out counts as ``unplaced_penalty`` (contract §7, §9.3).
    """
    inst = form.inst
    obj = inst.scenario.objective
    ceiling = max(0, preference_upper_bound(form.costs))
    if obj.allow_unplaced:
        ceiling = max(ceiling, obj.unplaced_penalty)
    floor = _floor(form)
    worst = form.model.new_int_var(floor, ceiling, "worst_learner_cost")
    for info in inst.learners:
        form.model.add(worst >= form.costs.total[info.index])
        placed = form.b.v.placed[info.index]
        if not isinstance(placed, int):  # left out: unplaced_penalty; placed: no bound
            form.model.add(worst >= obj.unplaced_penalty * (1 - placed) + floor * placed)
    return worst, ceiling


def _assemble(result: SolveResult, form: Formulation, src: cp_model.CpSolver,
              options: SolveOptions) -> None:
    """Fill the plan, its costs and its terms from a solver's values."""
    inst, v = form.inst, form.b.v

    def value(lit: Lit) -> int:
        return lit if isinstance(lit, int) else int(src.boolean_value(lit))

    result.plan = recover(inst, v, value, reference=options.reference)
    result.placements = {key: site for key, lits in v.place.items()
                         for site, lit in lits.items() if value(lit)}
    result.working = {key for key, lit in v.works.items() if value(lit)}
    result.terms = {t.name: float(t.weight * src.value(t.expr)) for t in form.terms}
    result.objective = float(sum(result.terms.values()))
    placed = {info.index for info in inst.learners if value(v.placed[info.index])}
    per_learner = {info.id: int(src.value(form.costs.total[info.index]))
                   for info in inst.learners if info.index in placed}
    result.learner_costs = per_learner
    result.preference_cost = int(sum(src.value(form.costs.preference[info.index])
                                     for info in inst.learners if info.index in placed))
    result.worst_learner_cost = max(per_learner.values(), default=0)
    result.unplaced_ids = [info.id for info in inst.learners if info.index not in placed]
    result.unplaced = len(result.unplaced_ids)


def _extended_figures(result: SolveResult, form: Formulation, src: cp_model.CpSolver,
                      bound: float | None) -> None:
    """An extended solve keeps the contract's objective; its own figures go beside it.

    The plan is optimal for the extended objective, not the contract's: the
    summary keeps the contract's objective (a checker recomputes it) and says
    FEASIBLE, with no bound of the contract's objective.
    """
    extra = [*form.extra, *form.later]
    result.stats.search |= {"extended": {
        "status": result.status,
        "objective": float(src.value(form.total())),
        "bound": bound,
        "terms": {t.name: float(t.weight * src.value(t.expr)) for t in extra},
        "weights": {t.name: t.weight for t in form.extra}
        | {t.name: f"tie-break x{t.weight}" for t in form.later},
    }}
    result.terms |= {t.name: float(t.weight * src.value(t.expr)) for t in extra}
    result.status = Status.FEASIBLE
    result.best_bound = None


def _tie_break(form: Formulation, best: cp_model.CpSolver, options: SolveOptions,
               clock: Clock, result: SolveResult, end: float | None) -> cp_model.CpSolver:
    """Minimise tie-break terms with the objective held at its best value.

    Returns the solver whose values make the plan: the tie-break phase's when
    it found a plan (it starts from the best plan, so it always can unless
    stopped), otherwise ``best``.
    """
    form.model.add(form.total() <= round(best.objective_value))
    _hint_from(form.model, best)
    form.model.minimize(sum(t.weight * t.expr for t in form.later))
    budget = clock.budget(1.0, end)
    budget = Budget(max(1.0, budget.seconds), budget.deterministic)
    solver, status, watcher, ran = _run(form.model, options, "tie-break", budget, clock,
                                        whole=False)
    result.stats.phases.append(_phase("tie-break", solver, status, watcher, ran))
    return solver if status in _FOUND else best


def hint_plan(model: cp_model.CpModel, v: Variables, plan: SolveResult) -> None:
    """Hint every variable from a plan: sites, weekly sessions, site-sessions.

    A complete hint lets CP-SAT start from the plan itself (a hint of the
    placements alone is often repaired into a worse plan).
    """
    model.clear_hints()
    sites, working = plan.placements, plan.working
    placed = {i for (i, _, _) in sites}
    base_of = {i: site for (i, _, role), site in sites.items() if role == Role.BASE}
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


def _hint_from(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    model.clear_hints()
    for index in range(len(model.proto.variables)):
        var = model.get_int_var_from_proto_index(index)
        model.add_hint(var, solver.value(var))


def _infeasible(result: SolveResult, inst: Instance, clock: Clock, options: SolveOptions,
                *, proof: explain.Explanation | None = None) -> SolveResult:
    """Status INFEASIBLE with an explanation found within the time that is left."""
    result.status = Status.INFEASIBLE
    if options.extend is not None:
        result.stats.search |= {"extended": {"status": Status.INFEASIBLE}}
        inst.restrict(None)
        budget = max(2.0, clock.left())
        found = explain.diagnose_instance(inst, budget / 2, stop=options.stop)
        if not found.feasible:
            result.explanation = found.explanation or explain.internal(
                "no plan keeps what this solve was asked to keep")
            return _finish(result, clock)
        # the scenario has plans: name what the extension asks that rules them out
        kept = explain.core(inst, time.perf_counter() + budget / 2, options.stop,
                            extend=options.extend)
        summary = "The scenario has plans, but none keeps what this solve was asked to keep."
        result.explanation = explain.Explanation(summary, kept.conflicts, kept.minimal,
                                                 kept.details, notes=kept.notes) \
            if kept is not None else explain.internal(summary)
        return _finish(result, clock)
    inst.restrict(None)
    found = explain.diagnose_instance(inst, max(1.0, clock.left()), known_infeasible=True,
                                      stop=options.stop, proof=proof)
    result.explanation = found.explanation
    return _finish(result, clock)


__all__ = ["Clock", "Progress", "SolveOptions", "hint_plan", "solve", "solve_focused"]
