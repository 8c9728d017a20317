"""One model, one run: options, clock, progress, and the phases of a CP-SAT solve.

Every solve of a built model goes through here: the whole problem
(:mod:`rotaplan.solver.engine`), a first-plan stage, and the neighbourhoods
of a search (:mod:`rotaplan.solver.neighbourhood`). :func:`optimise` runs the
contract's lexicographic phases (``minimax`` fairness first, then the total,
then an extension's tie-break) on a :class:`~rotaplan.solver.build.Formulation`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rotaplan.models import Plan
from rotaplan.models.vocabulary import Role, Status
from rotaplan.solver.build import Extension, Formulation
from rotaplan.solver.objective import Term, cost_lower_bound, preference_upper_bound
from rotaplan.solver.params import Budget, configure
from rotaplan.solver.result import Phase, SolveResult
from rotaplan.solver.stopping import solve_until
from rotaplan.solver.variables import Lit, Variables

STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
    cp_model.MODEL_INVALID: Status.INVALID,
}
"""CP-SAT's statuses in the contract's words."""
FOUND = (cp_model.OPTIMAL, cp_model.FEASIBLE)
"""CP-SAT statuses that come with a solution."""


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
    lp_bound
        For large cohorts searched part by part, compute the whole model's LP
        bound in other processes beside the search (:mod:`solver.bound`).
    probing
        CP-SAT's probing in presolve. Off for the many one-learner models of a
        plan built from learners' own optima (:mod:`solver.neighbourhood`): MSS
        Instance_L60's hardest students were solved about twice as fast without it.
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
    lp_bound: bool = True
    probing: bool = True


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

    def budget(self, share: float = 1.0, end: float | None = None,
               cap: float | None = None) -> Budget:
        """A budget for one CP-SAT call: ``share`` of what is left (before ``end``).

        ``cap`` limits a step of a longer search (a neighbourhood) in
        deterministic time, so that with one worker the search repeats exactly.
        """
        wall = (min(self.deadline, end) if end is not None else self.deadline)
        seconds = max(0.05, (wall - time.perf_counter()) * share)
        det = None if self.deterministic is None else \
            max(0.01, (self.deterministic - self.used) * share)
        if cap is not None:
            det = cap * share if det is None else min(det, cap * share)
        return Budget(seconds, det)

    def exhausted(self) -> bool:
        """No time (or deterministic time) is left."""
        if self.deterministic is not None and self.used >= self.deterministic:
            return True
        return self.left() <= 0.0

    def charge(self, solver: cp_model.CpSolver) -> None:
        """Count a finished call's deterministic time."""
        self.used += solver.deterministic_time


class Watcher(cp_model.CpSolverSolutionCallback):
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


def run_model(model: cp_model.CpModel, options: SolveOptions, phase: str, budget: Budget,
         clock: Clock, *, whole: bool) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus,
                                                 Watcher, bool]:
    """One CP-SAT call. Returns the solver, its status, the watcher, and whether it ran."""
    solver = cp_model.CpSolver()
    configure(solver, budget=budget, workers=options.workers, seed=options.seed,
              log=options.log, probing=options.probing)
    watcher = Watcher(phase, options, clock, whole=whole)
    solver.best_bound_callback = watcher.on_bound
    if options.stop is not None and options.stop.is_set():
        return solver, cp_model.UNKNOWN, watcher, False
    status = solve_until(solver, model, options.stop, watcher)
    clock.charge(solver)
    return solver, status, watcher, True


def phase_record(name: str, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus,
           watcher: Watcher, ran: bool) -> Phase:
    if not ran:
        return Phase(name, Status.UNKNOWN, stopped_before_start=True)
    found = status in FOUND
    return Phase(
        name, STATUS.get(status, Status.UNKNOWN),
        objective=solver.objective_value if found else None,
        best_bound=solver.best_objective_bound if found else watcher.bound,
        seconds=round(solver.wall_time, 3),
        first_solution_seconds=None if watcher.first is None else round(watcher.first, 3),
        branches=solver.num_branches, conflicts=solver.num_conflicts,
        deterministic_time=round(solver.deterministic_time, 3))


def floor_of(form: Formulation) -> int:
    """The smallest value the largest learner cost can take (scores make costs negative)."""
    return min(0, cost_lower_bound(form.costs))


def worst_variable(form: Formulation) -> tuple[cp_model.IntVar, int]:
    """The largest learner cost, and its upper bound.

    A learner left out counts as ``unplaced_penalty`` (contract §7, §9.3). The
    largest cost of the learners outside the model (``Load.worst``, a
    neighbourhood's fixed part) is its least value.
    """
    inst = form.inst
    obj = inst.scenario.objective
    outside = form.b.load.worst
    ceiling = max(0, preference_upper_bound(form.costs))
    if obj.allow_unplaced:
        ceiling = max(ceiling, obj.unplaced_penalty)
    floor = floor_of(form)
    if outside is not None:
        ceiling = max(ceiling, outside)
        floor = max(floor, outside)
    worst = form.model.new_int_var(floor, ceiling, "worst_learner_cost")
    for info in inst.learners:
        form.model.add(worst >= form.costs.total[info.index])
        placed = form.b.v.placed[info.index]
        if not isinstance(placed, int):  # left out: unplaced_penalty; placed: no bound
            form.model.add(worst >= obj.unplaced_penalty * (1 - placed) + floor * placed)
    return worst, ceiling


@dataclass
class Optimised:
    """What :func:`optimise` found.

    Attributes
    ----------
    source
        The solver holding the best plan's values (None: no plan).
    status
        The last phase's CP-SAT status.
    proven
        Every phase was proven optimal (on this model).
    infeasible
        The model has no solution.
    bound
        The total phase's bound on its own objective (None without a plan).
    first, last
        Seconds (since the solve started) of the first and the best solution.
    """

    source: cp_model.CpSolver | None
    status: cp_model.CpSolverStatus
    proven: bool = False
    infeasible: bool = False
    bound: float | None = None
    first: float | None = None
    last: float | None = None


def optimise(form: Formulation, options: SolveOptions, clock: Clock, phases: list[Phase], *,
             fairness: str, worst_weight: int = 0, whole: bool, end: float | None = None,
             cap: float | None = None, tie_break: bool = True) -> Optimised:
    """Minimise a built model's objective in the contract's phases, by ``end``.

    ``minimax`` fairness minimises the largest learner cost first and holds
    it; ``weighted`` adds ``worst_weight`` times it to the total (one phase).
    An extension's tie-break terms are minimised last when ``tie_break``.
    Each phase's record is appended to ``phases``. ``whole`` says the model
    is the whole problem (its bound is then passed on in progress events).
    ``cap`` bounds the deterministic time of the whole call (a search step).
    """
    if fairness == "weighted":  # one phase: the total plus the worst learner's cost
        worst, _ = worst_variable(form)
        form.terms.append(Term("worst_learner", worst_weight, worst,
                               f"{worst_weight} x the largest learner cost"))
    first: float | None = None
    source: cp_model.CpSolver | None = None
    proven = True
    if fairness == "minimax":
        worst, ceiling = worst_variable(form)
        if form.extra:  # an extension's terms come first, then fairness (lexicographic)
            scale = ceiling - floor_of(form) + 1
            form.model.minimize(cp_model.LinearExpr.sum(
                [worst, *[scale * t.weight * t.expr for t in form.extra]]))
        else:
            form.model.minimize(worst)
        solver, status, watcher, ran = run_model(form.model, options, "fairness",
                                                 clock.budget(0.5, end, cap), clock, whole=whole)
        phases.append(phase_record("fairness", solver, status, watcher, ran))
        if status == cp_model.INFEASIBLE:
            return Optimised(None, status, infeasible=True)
        if status not in FOUND:
            return Optimised(None, status)
        proven = status == cp_model.OPTIMAL
        first = watcher.first
        form.model.add(worst <= round(solver.value(worst)))
        hint_from(form.model, solver)
        source = solver
    form.model.minimize(form.total())
    solver, status, watcher, ran = run_model(form.model, options, "total",
                                             clock.budget(1.0, end, cap), clock, whole=whole)
    phases.append(phase_record("total", solver, status, watcher, ran))
    if status == cp_model.INFEASIBLE:
        return Optimised(None, status, infeasible=True)
    if status not in FOUND:
        # a stopped total phase: the fairness phase's plan stands (not an extension's)
        keep = source if options.extend is None else None
        return Optimised(keep, status, first=first, last=first)
    out = Optimised(solver, status, proven=proven and status == cp_model.OPTIMAL,
                    bound=solver.best_objective_bound,
                    first=first if first is not None else watcher.first, last=watcher.last)
    if form.later and tie_break:
        out.source = _tie_break(form, solver, options, clock, phases, end)
    return out


def _tie_break(form: Formulation, best: cp_model.CpSolver, options: SolveOptions,
               clock: Clock, phases: list[Phase], end: float | None) -> cp_model.CpSolver:
    """Minimise tie-break terms with the objective held at its best value.

    Returns the solver whose values make the plan: the tie-break phase's when
    it found a plan (it starts from the best plan, so it always can unless
    stopped), otherwise ``best``.
    """
    form.model.add(form.total() <= round(best.objective_value))
    hint_from(form.model, best)
    form.model.minimize(sum(t.weight * t.expr for t in form.later))
    budget = clock.budget(1.0, end)
    budget = Budget(max(1.0, budget.seconds), budget.deterministic)
    solver, status, watcher, ran = run_model(form.model, options, "tie-break", budget,
                                             clock, whole=False)
    phases.append(phase_record("tie-break", solver, status, watcher, ran))
    return solver if status in FOUND else best


def hint_plan(model: cp_model.CpModel, v: Variables, plan: SolveResult) -> None:
    """Hint every variable from a plan: sites, weekly sessions, site-sessions.

    A complete hint lets CP-SAT start from the plan itself (a hint of the
    placements alone is often repaired into a worse plan).
    """
    hint_choices(model, v, plan.placements, plan.working)


def hint_choices(model: cp_model.CpModel, v: Variables,
                 sites: dict[tuple[int, int, Role], str],
                 working: set[tuple[int, int, Role, str]],
                 first: dict[tuple[int, int, Role], int] | None = None) -> None:
    """Hint every decision from choices keyed by the model's learner indices.

    ``first`` (a rotation block's first block of its placement, §9.4) also
    hints the placement starts; without it, starts follow from the sites.
    """
    model.clear_hints()
    placed = {i for (i, _, _) in sites}
    base_of = {i: site for (i, _, role), site in sites.items() if role == Role.BASE}
    hinted: set[int] = set()

    def hint(lit: Lit, value: bool) -> None:
        if not isinstance(lit, int) and lit.index not in hinted:
            hinted.add(lit.index)
            model.add_hint(lit, value)

    for i, lit in v.placed.items():
        hint(lit, i in placed)
    for (i, block), lit in v.active.items():
        hint(lit, any((i, block, role) in sites for role in Role))
    for (i, site), lit in v.base.items():
        hint(lit, base_of.get(i) == site)
    for key, lits in v.place.items():
        for site, lit in lits.items():
            hint(lit, sites.get(key) == site)
    if first is not None:
        for i, starts in v.start.items():
            for (site, block), lit in starts.items():
                key = (i, block, Role.ROTATION)
                hint(lit, sites.get(key) == site and first.get(key, block) == block)
    for work_key, lit in v.works.items():
        hint(lit, work_key in working)
    for (i, block, role, site, session), lit in v.at.items():
        hint(lit, sites.get((i, block, role)) == site and (i, block, role, session) in working)


def hint_from(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    model.clear_hints()
    for index in range(len(model.proto.variables)):
        var = model.get_int_var_from_proto_index(index)
        model.add_hint(var, solver.value(var))


__all__ = ["FOUND", "STATUS", "Clock", "Optimised", "Progress", "SolveOptions", "Watcher",
           "floor_of", "hint_choices", "hint_from", "hint_plan", "optimise", "phase_record",
           "run_model", "worst_variable"]
