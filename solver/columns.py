"""A bound of large cohorts by column generation over learners' schedules.

The learners' floors (:meth:`Instance.learner_floors`) price every learner on
their own, so all that separates them from a plan is the cost of sharing
places. This bound prices the places: the linear relaxation of choosing one
schedule per learner (one site per block, the cover or the fellowship's shape,
as the floors) subject to every ``site-capacity`` and ``supervisor-capacity``
(Hall's condition per profession group) row, solved by column generation.

- The master LP (GLOP) holds the schedules found so far; its duals price each
  site and block.
- Each learner's best schedule at those prices is the floors' dynamic
  programme with the prices added (:func:`~solver.instance.least_choices`, the
  recursion of :func:`~solver.instance.least_cost` with the choices kept). Sites
  of each block and setting are scanned cheapest first and the scan stops at
  the first site that costs more than the best priced one (prices are never
  negative), so most learners look at one or two sites per block.
- Every round gives a valid bound, the Lagrangian one: the learners' priced
  optima less the prices of all places. The duals are smoothed towards the
  best bound's prices (Wentges) so that the bounds rise steadily.

It leaves out the session-level rules (rooms, supervisors present, working
patterns), ``no-repeat-site`` and a fellow's partner differing from the base:
a relaxation of the model, so a valid bound. Measured on the bench tiers (seed
11, 2 cores): the 300-learner tier converges in 17 rounds (about 3 s) at 1,686,
the optimum HiGHS proves (floors 1,675), so the first plan is proven there.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from rotaplan.models.vocabulary import Rule
from rotaplan.solver.instance import (
    BASE,
    PARTNER,
    ROTATION,
    UNREACHABLE,
    Instance,
    Role,
    least_choices,
)

Sites = dict[tuple[int, int, Role], str]
Schedule = tuple[tuple[int, Role, str], ...]
"""A learner's year: (block, role, site) per placement."""
Row = tuple[Rule, str, int, frozenset[str]]
"""(rule, site, block, profession group): a site-capacity or a Hall supervisor-capacity row."""

SMOOTHING = 0.5
"""Weight of the best bound's prices in the prices a round uses (Wentges smoothing)."""
PATIENCE = 10
"""Rounds without a better bound before giving up: on the 2,000-learner tier the bound
never rose above the floors in 120 s (34-48 rounds, smoothing 0, 0.5 or 0.9), while the
300-learner tier improved every few rounds until it converged."""
MAX_ROUNDS = 200
EPSILON = 1e-6


@dataclass
class ColumnBound:
    """What column generation found.

    Attributes
    ----------
    bound
        The best valid bound (rounded up to an integer), or None before any round.
    lp
        The master LP's value when column generation converged (the relaxation's
        optimum, equal to ``bound`` then), else None.
    rounds, columns
        Rounds of pricing, and schedules in the master LP.
    rows_dropped
        Rows the plan broke (kept out, so the bound stays valid whatever the
        rows' reading of the rules; none are expected).
    seconds
        Time taken.
    """

    bound: int | None = None
    lp: float | None = None
    rounds: int = 0
    columns: int = 0
    rows_dropped: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int | None]:
        """Figures for the result's statistics."""
        return {"bound": self.bound, "lp": self.lp, "rounds": self.rounds,
                "columns": self.columns, "rows_dropped": self.rows_dropped,
                "seconds": round(self.seconds, 3)}


def capacity_rows(inst: Instance) -> tuple[dict[Row, int], dict[tuple[str, int, str], list[Row]]]:
    """The capacity rows of the whole instance and, per (site, block, profession), the rows
    a placement there counts in."""
    sc = inst.scenario
    limits: dict[Row, int] = {}
    member: dict[tuple[str, int, str], list[Row]] = defaultdict(list)
    professions = sorted({info.profession for info in inst.learners})
    for site in sc.sites:
        accepted = [p for p in professions if site.accepts_profession(p)]
        if not accepted:
            continue
        for block in sc.programme.block_numbers:
            cap = site.capacity_in(block)
            if cap is not None:
                row: Row = (Rule.SITE_CAPACITY, site.id, block, frozenset(accepted))
                limits[row] = cap
                for p in accepted:
                    member[(site.id, block, p)].append(row)
            for group in inst.hall_groups(site.id, set(accepted)):
                row = (Rule.SUPERVISOR_CAPACITY, site.id, block, group)
                limits[row] = inst.named_capacity(site.id, block, group)
                for p in group:
                    member[(site.id, block, p)].append(row)
    return limits, member


class _Pricing:
    """Each learner's least-cost schedule at given prices of (site, block, profession)."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        sc = inst.scenario
        cost_of = sc.preference_cost
        self.cover = list(dict.fromkeys(sc.tracks.rotation.cover))
        fel = sc.tracks.fellowship
        self.partner_settings = list(dict.fromkeys(fel.partner_settings)) if fel else []
        self.distinct = fel.distinct_partner_settings if fel else 0
        # (learner, block, role) -> setting kind -> [(cost, site)] cheapest first
        self.sorted: dict[tuple[int, int, Role], dict[int | None, list[tuple[int, str]]]] = {}
        self.bases: dict[int, list[tuple[int, str]]] = {}
        for info in inst.learners:
            roles = (PARTNER,) if info.is_fellow else (ROTATION,)
            kinds = self.partner_settings if info.is_fellow else self.cover
            kind = {t: k for k, t in enumerate(kinds)}
            for role in roles:
                for b in info.blocks:
                    lists: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
                    for s in inst.full_options[(info.index, b, role)]:
                        site = sc.site_by_id[s]
                        lists[kind.get(site.setting)].append((cost_of(info.learner, site), s))
                    for entries in lists.values():
                        entries.sort()
                    self.sorted[(info.index, b, role)] = dict(lists)
            if info.is_fellow:
                bases = []
                for site in sc.sites:
                    if all(site.id in inst.full_options[(info.index, b, BASE)]
                           for b in info.blocks):
                        c = cost_of(info.learner, site)
                        bases.append((c * len(info.blocks), site.id))
                bases.sort()
                self.bases[info.index] = bases

    def best(self, i: int, price: Callable[[str, int], float]
             ) -> tuple[float, int, Schedule] | None:
        """Learner ``i``'s least priced schedule: (priced cost, cost, schedule), or None."""
        info = self.inst.learners[i]
        if info.is_fellow:
            return self._fellow(i, price)
        return self._path(i, ROTATION, len(self.cover), len(self.cover), price)

    def _path(self, i: int, role: Role, kinds: int, distinct: int,
              price: Callable[[str, int], float]) -> tuple[float, int, Schedule] | None:
        info = self.inst.learners[i]
        blocks: list[dict[int | None, tuple[float, tuple[int, int, Role, str]]]] = []
        for b in info.blocks:
            least: dict[int | None, tuple[float, tuple[int, int, Role, str]]] = {}

            def at(s: str, b: int = b) -> float:
                return price(s, b)

            for k, entries in self.sorted[(i, b, role)].items():
                best = _cheapest(entries, at)
                if best is not None:
                    least[k] = (best[0], (best[1], b, role, best[2]))
            blocks.append(least)
        found = least_choices(blocks, kinds, distinct)
        if found is None:
            return None
        return (found[0], sum(c for c, _, _, _ in found[1]),
                tuple((b, r, s) for _, b, r, s in found[1]))

    def _fellow(self, i: int, price: Callable[[str, int], float]
                ) -> tuple[float, int, Schedule] | None:
        info = self.inst.learners[i]
        partners = self._path(i, PARTNER, len(self.partner_settings), self.distinct, price)
        if partners is None:
            return None
        best = _cheapest(self.bases[i], lambda s: sum(price(s, b) for b in info.blocks))
        if best is None:
            return None
        base: Schedule = tuple((b, BASE, best[2]) for b in info.blocks)
        return best[0] + partners[0], best[1] + partners[1], base + partners[2]


def _cheapest(entries: list[tuple[int, str]], price: Callable[[str], float]
              ) -> tuple[float, int, str] | None:
    """The least priced of ``entries`` (cost, site), cheapest first: (priced, cost, site).

    Prices are never negative, so the scan stops at the first cost above the best
    priced one (most learners look at one or two sites).
    """
    best: tuple[float, int, str] | None = None
    for c, s in entries:
        if best is not None and c >= best[0]:
            break
        v = c + price(s)
        if best is None or v < best[0]:
            best = (v, c, s)
    return best


def column_bound(inst: Instance, plan: Sites, *, deadline: float,
                 target: float | None = None, penalty: int | None = None,
                 stop: Callable[[], bool] | None = None,
                 on_bound: Callable[[int], None] | None = None) -> ColumnBound:
    """Column generation's bound of the preference cost, until ``deadline`` (perf_counter).

    Parameters
    ----------
    inst
        A version-1 instance (full domains).
    plan
        A feasible plan's sites, (learner, block, role) -> site: its schedules
        start the master LP, and rows it breaks are left out.
    deadline
        ``time.perf_counter()`` time to stop by.
    target
        Stop once the bound reaches it (the plan's objective: proven).
    penalty
        ``unplaced_penalty`` when learners may be left out (each learner then
        costs at most it), else None.
    stop
        Polled each round; True ends the search.
    on_bound
        Called with each better bound.

    Returns
    -------
    ColumnBound
        The best bound found and how the search went.
    """
    started = time.perf_counter()
    out = ColumnBound()
    limits, member = capacity_rows(inst)
    schedules: dict[int, list[tuple[int, Role, str]]] = defaultdict(list)
    for (i, b, role), s in plan.items():
        schedules[i].append((b, role, s))

    def rows_of(i: int, schedule: Iterable[tuple[int, Role, str]]) -> Counter[Row]:
        """How many of learner ``i``'s placements each row counts."""
        prof = inst.learners[i].profession
        return Counter(row for b, _, s in schedule for row in member.get((s, b, prof), ()))

    use: Counter[Row] = Counter()
    for i, sched in schedules.items():
        use.update(rows_of(i, sched))
    broken = {row for row, n in use.items() if n > limits[row]}
    out.rows_dropped = len(broken)
    rows = [row for row in limits if row not in broken]
    if not rows:
        return out
    pricing = _Pricing(inst)
    cost_of = inst.scenario.preference_cost

    lp = pywraplp.Solver.CreateSolver("GLOP")
    n = len(inst.learners)
    convex = [lp.Constraint(1.0, 1.0) for _ in range(n)]
    capacity = {row: lp.Constraint(-lp.infinity(), float(limits[row])) for row in rows}
    objective = lp.Objective()
    objective.SetMinimization()
    seen: set[tuple[int, Schedule]] = set()

    def add(i: int, cost: float, schedule: Schedule) -> bool:
        if (i, schedule) in seen:
            return False
        seen.add((i, schedule))
        x = lp.NumVar(0.0, lp.infinity(), "")
        objective.SetCoefficient(x, cost)
        convex[i].SetCoefficient(x, 1.0)
        for row, k in rows_of(i, schedule).items():
            if row in capacity:
                capacity[row].SetCoefficient(x, float(k))
        return True

    for i in range(n):
        info = inst.learners[i]
        if i in schedules:
            kept: Schedule = tuple(sorted(schedules[i]))
            add(i, sum(cost_of(info.learner, inst.scenario.site_by_id[s])
                       for _, _, s in kept), kept)
        elif not info.blocks:
            add(i, 0.0, ())  # in no block of the programme: nothing to place
        elif penalty is None:
            return out  # a learner left out where none may be: nothing to bound
        if penalty is not None:  # leaving the learner out
            x = lp.NumVar(0.0, 1.0, "")
            objective.SetCoefficient(x, float(penalty))
            convex[i].SetCoefficient(x, 1.0)

    def lagrangian(ys: dict[Row, float]
                   ) -> tuple[float, list[tuple[float, int, Schedule] | None]]:
        """The Lagrangian bound at row prices ``ys`` and each learner's priced best."""
        prices = prices_of(ys)
        total = -sum(y * limits[row] for row, y in ys.items())
        found = []
        for info in inst.learners:
            prof = info.profession

            def price(s: str, b: int, prof: str = prof) -> float:
                return prices.get((s, b, prof), 0.0)

            best = pricing.best(info.index, price)
            found.append(best)
            least = UNREACHABLE if best is None else best[0]
            if penalty is not None:
                least = min(least, penalty)
            if least >= UNREACHABLE:
                continue  # no schedule: only a plan leaving them out exists
            total += least
        return total, found

    def prices_of(ys: dict[Row, float]) -> dict[tuple[str, int, str], float]:
        out_prices: dict[tuple[str, int, str], float] = defaultdict(float)
        for (_, site, block, group), y in ys.items():
            for p in group:
                out_prices[(site, block, p)] += y
        return out_prices

    best_y: dict[Row, float] = {}
    best_value = -math.inf
    alpha = SMOOTHING
    last_better = 0
    while time.perf_counter() < deadline and not (stop is not None and stop()) \
            and out.rounds < MAX_ROUNDS and out.rounds - last_better <= PATIENCE:
        if lp.Solve() != pywraplp.Solver.OPTIMAL:
            break
        master = objective.Value()
        y_master = {row: max(0.0, -capacity[row].dual_value()) for row in rows}
        mu = [convex[i].dual_value() for i in range(n)]
        y_master = {row: y for row, y in y_master.items() if y > EPSILON}
        keys = set(y_master) | set(best_y)
        row_prices = {row: alpha * best_y.get(row, 0.0) + (1 - alpha) * y_master.get(row, 0.0)
                      for row in keys} if out.rounds else {}
        value, found = lagrangian(row_prices)
        out.rounds += 1
        if value > best_value + EPSILON:
            best_value, best_y, last_better = value, row_prices, out.rounds
            bound = math.ceil(value - EPSILON)
            if out.bound is None or bound > out.bound:
                out.bound = bound
                if on_bound is not None:
                    on_bound(bound)
        added = 0
        master_prices = prices_of(y_master)
        for i, best in enumerate(found):
            if best is None:
                continue
            schedule = tuple(sorted(best[2]))
            priced = best[1] + sum(master_prices.get((s, b, inst.learners[i].profession), 0.0)
                                   for b, _, s in schedule)
            if priced - mu[i] < -EPSILON and add(i, float(best[1]), schedule):
                added += 1
        if target is not None and out.bound is not None and out.bound >= target - EPSILON:
            break
        if added == 0:
            if alpha > 0 and out.rounds > 1:
                alpha = 0.0  # smoothed prices found nothing: price at the master's own
                continue
            out.lp = master  # converged: the relaxation's optimum
            out.bound = max(out.bound or 0, math.ceil(master - EPSILON))
            break
        alpha = SMOOTHING if alpha == 0.0 else alpha
    out.columns = lp.NumVariables()
    out.seconds = time.perf_counter() - started
    return out


__all__ = ["ColumnBound", "Row", "capacity_rows", "column_bound"]
