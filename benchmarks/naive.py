"""The naive baseline: the contract modelled the way a newcomer would write it.

This is *not* rotaplan's formulation. It exists only so benchmarks can show,
side by side, what the product's aggregated model (``solver/``) buys over the
obvious encoding. It states every rule of the contract (§5-§7 of
``shared/spec/scenario.md``) directly on one big grid of Booleans:

``z[l, b, u, d]``
    learner ``l`` is clinical in block ``b``, session ``d``, with supervisor
    ``u`` present — made for EVERY learner x block x supervisor x session,
    whether or not it could ever be 1;
``named[l, b, r, u]``
    ``u`` is the named supervisor of ``l``'s placement in role ``r`` (``rotation``,
    or ``base``/``partner`` for fellows) in block ``b`` — for every supervisor;
``site[l, b, s]`` / ``base[l, s]`` / ``partner[l, b, s]``
    the rotation site, the fellow's base (same every block) and partner site —
    for every site;
``placed[l]``
    whether the learner is placed at all (fixed to 1 without ``allow_unplaced``).

Impossibilities (closed sessions, ineligible sites, off-duty supervisors) are
written as ``x == 0`` constraints and links as plain implications, and CP-SAT
runs with its default parameters apart from the time limit, worker count and
seed. Teaching sessions are fixed (always worked when available), so only the
clinical sessions are decided. The optimum equals the contract's (and the
product's); only the speed differs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from rotaplan.models import Learner, Scenario, Site, Supervisor

_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.UNKNOWN: "UNKNOWN",
    cp_model.MODEL_INVALID: "INVALID",
}

ROTATION, BASE, PARTNER = "rotation", "base", "partner"


@dataclass
class NaiveResult:
    """Outcome of a naive solve (minimax: the second, total-cost phase).

    Attributes
    ----------
    status
        ``OPTIMAL`` (every phase proven), ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN``
        or ``INVALID``.
    objective, best_bound
        The contract objective found and CP-SAT's bound on it (None without a plan).
    first_solution_seconds
        Seconds from the start of the solve to the first plan (None if none).
    solve_seconds, build_seconds
        Wall time of the solve phase(s) and of building the model.
    variables, constraints
        Size of the CP-SAT model as built (before presolve).
    """

    status: str
    objective: float | None
    best_bound: float | None
    first_solution_seconds: float | None
    solve_seconds: float
    build_seconds: float
    variables: int
    constraints: int


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Records when the first solution arrives."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.started


@dataclass
class _Naive:
    """The naive model and the expressions the solve needs."""

    model: cp_model.CpModel
    total: cp_model.LinearExprT
    learner_costs: list[cp_model.LinearExprT]
    worst_possible: int


def _roles(learner: Learner) -> tuple[str, ...]:
    return (BASE, PARTNER) if learner.track == "fellowship" else (ROTATION,)


def build_naive(scenario: Scenario) -> _Naive:
    """Build the naive CP-SAT model of a scenario (objective not yet set)."""
    sc = scenario
    prog = sc.programme
    fel = sc.tracks.fellowship
    m = cp_model.CpModel()
    sessions = list(prog.sessions)
    teaching = set(prog.teaching_sessions)
    sites = sc.sites
    sups: list[tuple[Site, Supervisor]] = [(s, u) for s in sites for u in s.supervisors]

    placed: dict[str, cp_model.IntVar] = {}
    site: dict[tuple[str, int, str, str], cp_model.IntVar] = {}  # (l, b, role, s)
    base: dict[tuple[str, str], cp_model.IntVar] = {}
    named: dict[tuple[str, int, str, str], cp_model.IntVar] = {}  # (l, b, role, u)
    z: dict[tuple[str, int, str, str], cp_model.IntVar] = {}  # (l, b, u, d)

    # ----- variables: everything, everywhere ---------------------------------------------
    for lr in sc.learners:
        placed[lr.id] = m.new_bool_var(f"placed[{lr.id}]")
        if not sc.objective.allow_unplaced:
            m.add(placed[lr.id] == 1)  # §5: everyone is placed
        if lr.track == "fellowship":
            for s in sites:
                base[(lr.id, s.id)] = m.new_bool_var(f"base[{lr.id},{s.id}]")
        for b in lr.blocks_in(prog):
            for role in _roles(lr):
                for s in sites:
                    if role == BASE:
                        site[(lr.id, b, role, s.id)] = base[(lr.id, s.id)]
                    else:
                        site[(lr.id, b, role, s.id)] = m.new_bool_var(
                            f"site[{lr.id},{b},{role},{s.id}]")
                for _, u in sups:
                    named[(lr.id, b, role, u.id)] = m.new_bool_var(
                        f"named[{lr.id},{b},{role},{u.id}]")
            for _, u in sups:
                for d in sessions:
                    z[(lr.id, b, u.id, d)] = m.new_bool_var(f"z[{lr.id},{b},{u.id},{d}]")

    # ----- §5 placement, eligibility, supervisor-match -----------------------------------
    for lr in sc.learners:
        pin_sites = set(lr.pinned.values())
        for b in lr.blocks_in(prog):
            for role in _roles(lr):
                # one site per block and role (the base once: it is the same var each block)
                m.add(sum(site[(lr.id, b, role, s.id)] for s in sites) == placed[lr.id])
                for s in sites:
                    x = site[(lr.id, b, role, s.id)]
                    ok = s.accepts_profession(lr.profession) and s.id not in lr.avoid
                    if role == ROTATION and b in lr.pinned and lr.pinned[b] != s.id:
                        ok = False
                    if role == BASE and pin_sites and s.id not in pin_sites:
                        ok = False
                    if role == BASE and fel is not None and s.setting != fel.base_setting:
                        ok = False
                    if (role == PARTNER and fel is not None
                            and s.setting not in fel.partner_settings):
                        ok = False
                    if not ok:
                        m.add(x == 0)
                # one named supervisor per placement, at its site, allowed and available
                m.add(sum(named[(lr.id, b, role, u.id)] for _, u in sups) == placed[lr.id])
                for s, u in sups:
                    n = named[(lr.id, b, role, u.id)]
                    m.add_implication(n, site[(lr.id, b, role, s.id)])
                    if (not sc.may_supervise(u.profession, lr.profession)
                            or b in u.unavailable_blocks):
                        m.add(n == 0)

    # ----- site-capacity and site-minimum ------------------------------------------------
    for s in sites:
        for b in prog.block_numbers:
            here = [site[(lr.id, b, role, s.id)] for lr in sc.learners
                    if b in lr.blocks_in(prog) for role in _roles(lr)]
            cap = s.capacity_in(b)
            if cap is not None:
                m.add(sum(here) <= cap)
            need = s.minimum_in(b)
            if need > 0:
                m.add(sum(here) >= need)

    # ----- supervisor-capacity -----------------------------------------------------------
    for _, u in sups:
        for b in prog.block_numbers:
            mine = [named[(lr.id, b, role, u.id)] for lr in sc.learners
                    if b in lr.blocks_in(prog) for role in _roles(lr)]
            m.add(sum(mine) <= u.capacity)

    # ----- working-pattern, site-open, supervisor-present, fellowship sessions -----------
    for lr in sc.learners:
        available = set(lr.available_in(prog))
        attends = len(available & teaching)  # teaching is fixed: always worked
        clinical = lr.working_sessions_per_week(prog) - attends
        fellow = lr.track == "fellowship"
        for b in lr.blocks_in(prog):
            for d in sessions:
                here = [z[(lr.id, b, u.id, d)] for _, u in sups]
                if d not in available or d in teaching:
                    for x in here:
                        m.add(x == 0)
                m.add(sum(here) <= 1)  # one place and one supervisor present per session
            m.add(sum(z[(lr.id, b, u.id, d)] for _, u in sups for d in sessions)
                  == clinical * placed[lr.id])
            for s, u in sups:
                works = set(sc.supervisor_sessions(s, u))
                open_ = set(s.open_in(prog))
                allowed = (sc.may_supervise(u.profession, lr.profession)
                           and b not in u.unavailable_blocks and u.capacity > 0)
                for d in sessions:
                    x = z[(lr.id, b, u.id, d)]
                    if d not in open_:
                        m.add(x == 0)  # site-open
                    if d not in works or not allowed:
                        m.add(x == 0)  # supervisor-present: works d, may supervise
                    if fellow:
                        m.add_bool_or([x.Not(), base[(lr.id, s.id)],
                                       site[(lr.id, b, PARTNER, s.id)]])
                    else:
                        m.add_implication(x, site[(lr.id, b, ROTATION, s.id)])
            if fellow and fel is not None:
                for s in sites:
                    at_s = sum(z[(lr.id, b, u.id, d)] for u in s.supervisors for d in sessions)
                    m.add(at_s == fel.partner_sessions).only_enforce_if(
                        site[(lr.id, b, PARTNER, s.id)])
                    m.add(at_s == clinical - fel.partner_sessions).only_enforce_if(
                        base[(lr.id, s.id)])

    # supervisor-present: a supervisor oversees at most `capacity` learners at once
    for _, u in sups:
        for b in prog.block_numbers:
            for d in sessions:
                m.add(sum(z[(lr.id, b, u.id, d)] for lr in sc.learners
                          if b in lr.blocks_in(prog)) <= u.capacity)

    # ----- rooms -------------------------------------------------------------------------
    for s in sites:
        if s.rooms is None:
            continue
        for b in prog.block_numbers:
            for d in sessions:
                rooms = s.rooms_at(d)
                if rooms is None:
                    continue
                m.add(sum(z[(lr.id, b, u.id, d)] for lr in sc.learners
                          if b in lr.blocks_in(prog) for u in s.supervisors) <= rooms)

    # ----- cover, no-repeat-site ---------------------------------------------------------
    rot = sc.tracks.rotation
    for lr in sc.learners:
        if lr.track == "fellowship":
            continue
        for setting in rot.cover:
            m.add(sum(site[(lr.id, b, ROTATION, s.id)] for b in lr.blocks_in(prog)
                      for s in sites if s.setting == setting) >= placed[lr.id])
        if rot.no_repeat_site:
            for s in sites:
                m.add(sum(site[(lr.id, b, ROTATION, s.id)] for b in lr.blocks_in(prog)) <= 1)

    # ----- fellowship: partner is not the base; distinct partner settings --------------
    if fel is not None:
        for lr in sc.learners:
            if lr.track != "fellowship":
                continue
            for b in lr.blocks_in(prog):
                for s in sites:
                    m.add(site[(lr.id, b, PARTNER, s.id)] + base[(lr.id, s.id)] <= 1)
            if fel.distinct_partner_settings > 0:
                seen = []
                for setting in fel.partner_settings:
                    flag = m.new_bool_var(f"covers[{lr.id},{setting}]")
                    m.add(flag <= sum(site[(lr.id, b, PARTNER, s.id)]
                                      for b in lr.blocks_in(prog)
                                      for s in sites if s.setting == setting))
                    seen.append(flag)
                m.add(sum(seen) >= fel.distinct_partner_settings * placed[lr.id])

    # ----- §7 objective ------------------------------------------------------------------
    costs: list[cp_model.LinearExprT] = []
    worst = 0
    for lr in sc.learners:
        terms: list[cp_model.LinearExprT] = []
        most = 0
        for b in lr.blocks_in(prog):
            for role in _roles(lr):  # a fellow's base counts once per block
                worst_here = 0
                for s in sites:
                    c = sc.preference_cost(lr, s)
                    terms.append(c * site[(lr.id, b, role, s.id)])
                    worst_here = max(worst_here, c)
                most += worst_here
        costs.append(cp_model.LinearExpr.sum(terms))
        worst = max(worst, most)
    total = cp_model.LinearExpr.sum(costs)
    if sc.objective.allow_unplaced:
        left_out = [1 - placed[lr.id] for lr in sc.learners]
        total += sc.objective.unplaced_penalty * cp_model.LinearExpr.sum(left_out)
    return _Naive(m, total, costs, worst)


def _solver(seconds: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, seconds)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    return solver


def solve_naive(
    scenario: Scenario, *, time_limit: float = 60.0, workers: int = 2, seed: int = 0
) -> NaiveResult:
    """Build and solve the naive model with CP-SAT's default parameters.

    With ``objective.fairness: minimax`` it solves in two phases, as the
    contract says: first the largest per-learner preference cost (half the time
    limit), then — with that bound fixed — the total. The result reports the
    total (the contract objective) of the second phase.
    """
    started = time.perf_counter()
    naive = build_naive(scenario)
    model = naive.model
    build_seconds = time.perf_counter() - started
    solve_started = time.perf_counter()
    first: float | None = None
    statuses: list[cp_model.CpSolverStatus] = []

    def result(status: str, solver: cp_model.CpSolver | None) -> NaiveResult:
        return NaiveResult(
            status=status,
            objective=None if solver is None else solver.objective_value,
            best_bound=None if solver is None else solver.best_objective_bound,
            first_solution_seconds=first,
            solve_seconds=time.perf_counter() - solve_started,
            build_seconds=build_seconds,
            variables=len(model.proto.variables),
            constraints=len(model.proto.constraints),
        )

    if (scenario.objective.fairness or "none") == "minimax":
        worst = model.new_int_var(0, naive.worst_possible, "worst_learner_cost")
        for cost in naive.learner_costs:
            model.add(worst >= cost)
        model.minimize(worst)
        solver = _solver(time_limit / 2, workers, seed)
        watcher = _FirstSolution(solve_started)
        status = solver.solve(model, watcher)
        statuses.append(status)
        first = watcher.first
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return result(_STATUS.get(status, "UNKNOWN"), None)
        model.add(worst <= round(solver.objective_value))

    model.minimize(naive.total)
    remaining = time_limit - (time.perf_counter() - solve_started)
    solver = _solver(remaining, workers, seed)
    watcher = _FirstSolution(solve_started)
    status = solver.solve(model, watcher)
    statuses.append(status)
    if first is None:
        first = watcher.first
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return result(_STATUS.get(status, "UNKNOWN"), None)
    proven = all(s == cp_model.OPTIMAL for s in statuses)
    return result("OPTIMAL" if proven else "FEASIBLE", solver)
