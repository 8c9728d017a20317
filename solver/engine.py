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

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ortools.sat.python import cp_model

from rotaplan.models import Scenario
from rotaplan.models.vocabulary import Status
from rotaplan.solver import bound as bound_module
from rotaplan.solver import explain, neighbourhood
from rotaplan.solver.bound import LpBound
from rotaplan.solver.build import Formulation, formulate
from rotaplan.solver.columns import ColumnBound, column_bound
from rotaplan.solver.greedy import GreedyPlacement, first_placements, greedy_placements, hint_model
from rotaplan.solver.instance import Instance
from rotaplan.solver.recover import recover, recover_plan
from rotaplan.solver.result import SolveResult, Statistics
from rotaplan.solver.run import (
    STATUS,
    Clock,
    Progress,
    SolveOptions,
    hint_choices,
    hint_plan,
    optimise,
)
from rotaplan.solver.variables import Lit

STAGED_THRESHOLD = 50_000
"""Placement options above which a greedy-sites plan is completed first (L and up):
the full model of a 300-learner cohort (150k variables) did not improve on the
greedy in 120 s, and its bound stayed at the capacity-free one (benchmarks/)."""
AUTO_THRESHOLD = 300_000
"""Placement options above which candidate sites are capped (the XL regime)."""
AUTO_LIMIT = 4
OPTIMA_SHARE = 0.5
"""Share of the time left that learners' own optima may take (version 2, see _own_optima)."""
OWN = "learners' own optima"
"""The phase name of progress from the plan built from learners' own optima."""
COLUMNS = "column generation"
SEARCH = "neighbourhood search"
"""Phase names of progress from column generation's bound and the neighbourhoods."""
COLUMN_SHARE = 0.25
"""Most of the time left that pricing shared places may take before the neighbourhoods
(the 300-learner tier needs 0.5 s; the 2,000-learner tier's 16 rounds fit in 300 s)."""
GREEDY_ROUNDS, GREEDY_SHARE = 8, 0.1
"""Rounds of the first greedy reordered by regret (:func:`first_placements`), within a
share of the time left (at 300 s all 8 of the 2,000-learner tier's, about 3.5 s each)."""
PLAN_SHARE = 0.85
"""Share of the time then left that the plan built from them may take (the rest is CP-SAT's)."""
MAX_LIMIT = 256


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
        with _heap_frozen():
            return _staged(inst, options, clock, result)
    return _whole(inst, options, clock, result)


_FROZEN = {"depth": 0}
_FROZEN_LOCK = threading.Lock()


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects alive so far out of the garbage collector's full passes.

    A large cohort's index and plans are millions of long-lived objects; each full
    collection walked them all (2,000 learners: 22 full passes of up to 0.65 s in
    120 s, the slowest neighbourhood steps). :func:`freeze` again makes what was built
    since permanent too. Only the outermost of nested (or concurrent) uses unfreezes.
    """
    with _FROZEN_LOCK:
        _FROZEN["depth"] += 1
        gc.freeze()
    try:
        yield
    finally:
        with _FROZEN_LOCK:
            _FROZEN["depth"] -= 1
            if _FROZEN["depth"] == 0:
                gc.unfreeze()


def freeze() -> None:
    """Make every object alive now permanent to the collector, inside :func:`_heap_frozen`."""
    with _FROZEN_LOCK:
        if _FROZEN["depth"]:
            gc.freeze()


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
        # Not for version 2: with placements spanning blocks, precedence and minimums,
        # four candidates per block left MSS I40_24_4 (a published solution exists) with
        # no plan at all, proven in 0.7 s, and each widening rebuilt a 350k-variable model.
        capped = inst.candidate_count() > AUTO_THRESHOLD and not inst.scenario.uses_v2
        limit = AUTO_LIMIT if capped else None
    else:
        limit = None if options.candidate_limit is None else int(options.candidate_limit)
    greedy = greedy_placements(inst, seed=options.seed) \
        if options.hint and not inst.scenario.uses_v2 else None
    optima, start = _own_optima(inst, options, clock, result)
    if optima is not None and start is not None and start.objective(inst) <= optima.bound(inst) \
            and neighbourhood.shortfall(inst, start.site_of) == 0:
        # the learners' own best fit together: proven without the whole model
        return _finish(_from_own(inst, optima, start, result, options, clock), clock)
    while True:
        inst.restrict(limit, greedy.sites if greedy is not None else None)
        result.stats.candidate_limit = limit
        # the floors as cuts only beside the plan built from them: without that plan
        # (sites with minimums) the cuts slowed CP-SAT's search (MSS I40_12_1 at 60 s:
        # c 4060 and 4094 with them, 4116 without); the floors' bound is still reported
        attempt = _solve_model(inst, _no_worse(options, inst, optima, start), clock, result,
                               hint=greedy if greedy is not None else start,
                               floors=optima if start is not None else None)
        if optima is not None and start is not None and attempt.status != Status.INFEASIBLE \
                and (not attempt.has_plan or (attempt.objective or 0) > start.objective(inst)):
            # CP-SAT did not take up the hint in time (MSS Instance_84: the plan built
            # from the learners' own optima had c 5801, CP-SAT's first plan came at 51 s
            # with c 3959): that plan stands, with the better of the two bounds
            cp_sat_bound = attempt.best_bound
            kept = _from_own(inst, optima, start, attempt, options, clock)
            if cp_sat_bound is not None:
                _tighten(kept, cp_sat_bound)
            return _finish(kept, clock)
        if optima is not None and attempt.status != Status.INFEASIBLE and not inst.restricted:
            # with or without a plan, the floors bound the objective (MSS Instance_L60
            # had no plan in 60 s, and its bound was not reported)
            _tighten(attempt, float(optima.bound(inst)))
        widen = attempt.status == Status.INFEASIBLE and inst.restricted
        if widen and clock.exhausted():
            attempt.status = Status.UNKNOWN  # a capped model's infeasibility proves nothing
            return attempt
        if not widen:
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
    floor = inst.learner_floors()
    rounds_end = None if options.deterministic_time is not None else \
        time.perf_counter() + GREEDY_SHARE * max(0.0, clock.left())
    greedy = first_placements(inst, options.seed, floors=floor, rounds=GREEDY_ROUNDS,
                              deadline=rounds_end)
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
    capacity_free = float(inst.relaxed_bound(_penalty(scenario), floor))
    stage.best_bound = capacity_free
    stage.status = Status.FEASIBLE
    _report(options, clock, stage, "first plan")
    log = neighbourhood.SearchLog()
    incumbent = neighbourhood.Incumbent.of_result(inst, stage)
    lp = _start_lp_bound(inst, options, clock)
    latest: dict[str, float] = {"objective": float(stage.objective or 0.0),
                                "bound": capacity_free}
    column = _column_bound(inst, incumbent, options, clock, latest)

    def best_bound() -> float:
        """The best valid bound known: capacity-free, or the LP's once it is in."""
        value = lp.value() if lp is not None else None
        if value is not None and value > latest["bound"]:
            latest["bound"] = value
            event = SolveResult(Status.FEASIBLE, objective=latest["objective"],
                                best_bound=value)
            _report(options, clock, event, "LP bound")
        return latest["bound"]

    def report(found: neighbourhood.Incumbent) -> None:
        latest["objective"] = found.objective(inst)
        event = SolveResult(Status.FEASIBLE, objective=latest["objective"],
                            best_bound=best_bound())
        _report(options, clock, event, SEARCH)
        stage.stats.best_solution_seconds = event.stats.best_solution_seconds

    freeze()  # the first plan, its model's remains and the columns are long-lived too
    if latest["objective"] > latest["bound"] and not clock.exhausted():
        # the search shows its start: it may find nothing better for a long while
        _report(options, clock, SolveResult(Status.FEASIBLE, objective=latest["objective"],
                                            best_bound=latest["bound"]), SEARCH)
    try:
        best = neighbourhood.improve(inst, incumbent, options, clock, floor=floor, log=log,
                                     report=report, target=best_bound)
        bound = best_bound()
    finally:
        if lp is not None:
            lp.stop()
    inst.restrict(None)
    search["neighbourhood_search"] = log.as_dict()
    search["bound"] = {"capacity_free": capacity_free,
                       "columns": column.as_dict() if column is not None else None,
                       "lp": lp.value() if lp is not None else None,
                       "lp_note": lp.note if lp is not None else "not started"}
    result = _from_incumbent(inst, best, stage, options)
    result.stats.search = search
    result.stats.candidate_limit = None
    result.best_bound = bound
    result.status = Status.FEASIBLE
    if result.objective is not None and result.objective <= bound \
            and result.stats.fairness != "minimax":
        result.status = Status.OPTIMAL  # the plan meets a valid bound
    return _finish(result, clock)


def _column_bound(inst: Instance, incumbent: neighbourhood.Incumbent, options: SolveOptions,
                  clock: Clock, latest: dict[str, float]) -> ColumnBound | None:
    """Price shared places by column generation (:mod:`solver.columns`) before the search.

    It may take ``COLUMN_SHARE`` of the time left and stops once its bound meets the
    plan. Version 1 only (the floors it starts from are exact there), not for minimax
    fairness. Each better bound goes into ``latest`` and is reported.
    """
    sc = inst.scenario
    if sc.uses_v2 or sc.objective.fairness == "minimax":
        return None

    def better(bound: int) -> None:
        if bound > latest["bound"]:
            latest["bound"] = float(bound)
            _report(options, clock, SolveResult(Status.FEASIBLE, objective=latest["objective"],
                                                 best_bound=float(bound)), COLUMNS)

    return column_bound(inst, incumbent.site_of,
                        deadline=time.perf_counter() + COLUMN_SHARE * max(0.0, clock.left()),
                        target=latest["objective"], penalty=_penalty(sc),
                        stop=lambda: options.stop is not None and options.stop.is_set(),
                        on_bound=better)


def _own_optima(inst: Instance, options: SolveOptions, clock: Clock, result: SolveResult
                ) -> tuple[neighbourhood.Optima | None, neighbourhood.Incumbent | None]:
    """Version 2: each learner's best plan on their own (floors), and a plan built from them.

    With placements spanning blocks, pathways and scores, CP-SAT's relaxation of
    the whole model is weak where each learner's own year is hard to arrange:
    MSS Instance_20 (80 students, 6 hospitals) had no plan after 60 s and its
    bound stood at c 6163. Solved one by one (0.1-0.5 s each), the learners'
    floors bound c by 6120, and on Instance_10 and Instance_14 they equal the
    proven optima (2560, 3001, in about 2 s); added as cuts, CP-SAT's bound
    starts there. Their own plans together break site capacities (Instance_10:
    6 students in a ward of 5), so a plan is built from them one learner at a
    time (:func:`~rotaplan.solver.neighbourhood.first_plan`): a learner whose own
    plan fits beside those before keeps it, and only the others are searched.
    The floors may take ``OPTIMA_SHARE`` of the time left and the plan
    ``PLAN_SHARE`` of what is then left; what is not ready by then is not used.
    Not for deterministic budgets (the learners' solves run on the wall clock),
    extensions or minimax fairness.
    """
    sc = inst.scenario
    if not sc.uses_v2 or options.extend is not None or not options.hint \
            or options.deterministic_time is not None or sc.objective.fairness == "minimax":
        return None, None
    started = time.perf_counter()
    end = started + OPTIMA_SHARE * max(0.0, clock.left())
    optima = neighbourhood.learner_optima(inst, options, clock, end=end)
    floors_seconds = time.perf_counter() - started
    if optima is not None and options.on_progress is not None:  # the floors' bound, at once
        options.on_progress(Progress(OWN, "bound", None, float(optima.bound(inst)),
                                     clock.elapsed()))
    start = None
    if optima is not None and not any(site.min_learners for site in sc.sites):
        # Not with minimums: the repair of a plan built learner by learner is slow and
        # poor there (MSS I40_12_1: 22.7 s for c 3831; CP-SAT alone reached 4116 in 60 s).
        # The plan may run past the floors' share: where it is slow, CP-SAT found no plan
        # of the whole model either (MSS Instance_L50, L52, L60: none in 60 s).
        end = time.perf_counter() + PLAN_SHARE * max(0.0, clock.left())
        start = neighbourhood.first_plan(inst, options, clock, batch=1, start=optima, end=end)
    ready = None
    if optima is not None and start is not None:  # shown at once, before CP-SAT runs
        ready = round(clock.elapsed(), 3)
        _report(options, clock, SolveResult(Status.FEASIBLE, objective=start.objective(inst),
                                             best_bound=float(optima.bound(inst))), OWN)
    result.stats.search["own_optima"] = {
        "floors_seconds": round(floors_seconds, 3),
        "bound": None if optima is None else optima.bound(inst),
        "plan_seconds": round(time.perf_counter() - started - floors_seconds, 3),
        "plan_objective": None if start is None else start.objective(inst),
        "plan_ready_seconds": ready}
    return optima, start


def _no_worse(options: SolveOptions, inst: Instance, optima: neighbourhood.Optima | None,
              start: neighbourhood.Incumbent | None) -> SolveOptions:
    """Options whose progress never shows a worse plan or bound than those already shown.

    CP-SAT's first plans may be worse than the one built from learners' own optima,
    and its first bounds weaker than their floors; both of those stay valid (the
    result keeps the better of each), so progress keeps showing them.
    """
    report = options.on_progress
    if report is None or optima is None:
        return options
    shown: dict[str, float | None] = {
        "objective": None if start is None else start.objective(inst),
        "bound": float(optima.bound(inst))}

    def no_worse(event: Progress) -> None:
        best, bound = shown["objective"], shown["bound"]
        if event.objective is not None and (best is None or event.objective < best):
            shown["objective"] = best = event.objective
        if event.bound is not None and (bound is None or event.bound > bound):
            shown["bound"] = bound = event.bound
        report(Progress(event.phase, event.kind, best, bound, event.seconds))

    return SolveOptions(**{**options.__dict__, "on_progress": no_worse})


def _tighten(result: SolveResult, bound: float) -> None:
    """Report the better of CP-SAT's bound and the learners' floors (both valid)."""
    if result.best_bound is None or bound > result.best_bound:
        result.best_bound = bound
    if result.objective is not None and result.objective <= result.best_bound \
            and result.stats.fairness != "minimax":
        result.status = Status.OPTIMAL


def _from_own(inst: Instance, optima: neighbourhood.Optima, start: neighbourhood.Incumbent,
              result: SolveResult, options: SolveOptions, clock: Clock) -> SolveResult:
    """The plan built from learners' own optima as a result, bounded by their floors.

    OPTIMAL when it meets every minimum and costs no more than the floors' bound.
    """
    bound = float(optima.bound(inst))
    out = _from_incumbent(inst, start, result, options)
    out.best_bound = bound
    met = neighbourhood.shortfall(inst, start.site_of) == 0
    out.status = Status.OPTIMAL if met and out.objective is not None \
        and out.objective <= bound else Status.FEASIBLE
    ready = out.stats.search.get("own_optima", {}).get("plan_ready_seconds")
    if ready is None:
        ready = round(clock.elapsed(), 3)
    first = out.stats.first_solution_seconds
    out.stats.first_solution_seconds = ready if first is None else min(first, ready)
    if out.status == Status.OPTIMAL:  # proven here: say so (it was shown as it was built)
        _report(options, clock, out, OWN)
    out.stats.best_solution_seconds = ready  # the plan kept is the one built then
    return out


def _start_lp_bound(inst: Instance, options: SolveOptions, clock: Clock) -> LpBound | None:
    """The whole model's LP bound, started in other processes where it can finish in time.

    Not for deterministic runs: when it arrives depends on the wall clock, and a
    deterministic run must not depend on it.
    """
    if options.deterministic_time is not None or not options.lp_bound:
        return None
    if not bound_module.wanted(inst.scenario, inst.candidate_count(), clock.left()):
        return None
    return LpBound(inst.scenario, max(1.0, clock.left()))


def _from_incumbent(inst: Instance, found: neighbourhood.Incumbent, base: SolveResult,
                    options: SolveOptions) -> SolveResult:
    """The result of a plan held as choices: the plan recovered, its figures summed."""
    result = base
    result.plan = recover_plan(inst, found.site_of, found.working, found.first,
                               reference=options.reference)
    result.placements = dict(found.site_of)
    result.working = set(found.working)
    result.terms = found.terms(inst)
    result.objective = found.objective(inst)
    result.learner_costs = {inst.learners[i].id: c for i, c in sorted(found.cost.items())}
    result.preference_cost = sum(p for p, _, _ in found.parts.values())
    result.worst_learner_cost = max(found.cost.values(), default=0)
    result.unplaced_ids = [info.id for info in inst.learners if info.index not in found.cost]
    result.unplaced = len(result.unplaced_ids)
    return result


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
                 *, hint: GreedyPlacement | SolveResult | neighbourhood.Incumbent | None,
                 whole: bool = True, end: float | None = None, first_only: bool = False,
                 floors: neighbourhood.Optima | None = None) -> SolveResult:
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
    elif isinstance(hint, neighbourhood.Incumbent):
        hint_choices(form.model, form.b.v, hint.site_of, hint.working, hint.first)
    elif hint is not None:
        hint_model(form.model, form.b.v, inst, hint)
    if floors is not None:  # valid cuts: no learner costs less than on their own
        for i, least in floors.floor.items():
            form.model.add(form.costs.total[i] >= least * form.b.v.placed[i])
    result.stats.model_size = form.size()
    problem = form.model.validate()
    if problem:
        result.status = Status.INVALID
        result.explanation = explain.internal(f"CP-SAT rejected the model: {problem}")
        return _finish(result, clock)
    result.stats.build_seconds += time.perf_counter() - built
    found = optimise(form, options, clock, result.stats.phases,
                     fairness=result.stats.fairness,
                     worst_weight=scenario.objective.worst_weight, whole=whole, end=end,
                     tie_break=not first_only)
    if found.infeasible:
        if inst.restricted:  # capped or focused domains: the caller widens or falls back
            result.status = Status.INFEASIBLE
            return _finish(result, clock)
        return _infeasible(result, inst, clock, options)
    result.stats.first_solution_seconds = found.first
    if found.source is None:
        result.status = STATUS.get(found.status, Status.UNKNOWN)
        if options.extend is not None:
            result.stats.search |= {"extended": {"status": result.status}}
        return _finish(result, clock)
    if found.bound is not None:
        result.stats.best_solution_seconds = found.last
        if whole and options.extend is None:
            result.best_bound = found.bound
    _assemble(result, form, found.source, options)
    proven = found.proven and whole
    result.status = Status.OPTIMAL if proven else Status.FEASIBLE
    if options.extend is not None:
        _extended_figures(result, form, found.source, found.bound)
    elif not whole:
        result.best_bound = None  # a restricted model's bound is not the problem's
        if inst.restricted and inst.candidate_limit:  # a cap: report the valid bound
            result.best_bound = float(inst.relaxed_bound(_penalty(scenario)))
    return _finish(result, clock)


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
    if "worst_learner" in result.terms:
        # the worst-cost variable is only bounded below by each learner's cost: before
        # the search ends it may lie above them all, so the term is the plan's own maximum
        obj = inst.scenario.objective
        worst = max([*per_learner.values(),
                     *([obj.unplaced_penalty] if result.unplaced else [])], default=0)
        result.terms["worst_learner"] = float(obj.worst_weight * worst)
        result.objective = float(sum(result.terms.values()))


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


__all__ = ["Progress", "SolveOptions", "solve", "solve_focused"]
