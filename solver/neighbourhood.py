"""Plans built and improved a few learners at a time, on models of those learners only.

For cohorts whose whole model is too large to search well (hundreds to
thousands of learners, or the medical student scheduling benchmark's 96
periods), a plan is held as an :class:`Incumbent` (choices keyed by learner)
and changed by *parts*: the model of a few learners is built on their own
(:meth:`Instance.part <rotaplan.solver.instance.Instance.part>`), with what
everyone else uses taken off each site's capacity, supervisors, rooms and
minimums (a :class:`~rotaplan.solver.load.Load`). The objective is a sum over
learners (§7, §9.3), so a part's objective is exactly the change of the
whole; under fairness the largest cost outside the part is the worst
learner variable's least value.

- :func:`first_plan` places the learners a batch at a time, hardest first,
  letting sites fall short of their minimums (the shortfall minimised first),
  then repairs any shortfall with parts around the short sites.
- :func:`improve` is large-neighbourhood search: a part of learners chosen
  along displacement chains (a learner above their own best; the learners at
  the sites they would rather have) is re-solved with the incumbent as a
  complete hint, and kept when the whole plan gets better. The part's size
  adapts to how quickly parts are proven.

A part's model is as small as its learners make it: at 2,000 learners a
part of 40 builds in tens of milliseconds, where the whole model takes
seconds (measured in ``benchmarks/``).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ortools.sat.python import cp_model

from rotaplan.models.vocabulary import Status
from rotaplan.solver.build import Formulation, formulate
from rotaplan.solver.instance import Instance, Role
from rotaplan.solver.load import Load, Sites, Working
from rotaplan.solver.objective import Term
from rotaplan.solver.recover import choices
from rotaplan.solver.result import Phase, SolveResult
from rotaplan.solver.run import Clock, SolveOptions, hint_choices, optimise
from rotaplan.solver.variables import Lit

START_SIZE = 30
"""Learners per neighbourhood at first."""
MIN_SIZE, MAX_SIZE = 4, 200
BATCH = 12
"""Learners placed per part of the first plan (smaller parts gave worse first plans on
the 300-learner tier; larger ones took longer than the whole first plan may)."""
UNBLOCK_SIZE, UNBLOCK_MAX = 8, 32
"""A learner with no place beside those placed before is re-solved with the 8, then
16 and 32 placed learners most in the way (MSS Instance_L60: a student found no place
beside 44 others, and the first plan, then the whole solve, had none)."""
EXTRA_SITES = 8
"""Sites a neighbourhood may use beyond its displacement chains, drawn at random."""
HOLD = True
"""Hold learners at a neighbourhood's sites with their sessions free (see ``choose``)."""
STEP_DETERMINISTIC = 2.0
"""Deterministic time of one neighbourhood solve (about a second on a quiet core)."""
STEP_SECONDS, STEP_LIMIT = 0.7, 1.0
"""Wall-clock limit of one neighbourhood step's solve, counted from the step's start (its
choice and build included), and the time a step should stay within: a slower step
shrinks the next part. At 2,000 learners (150 s, seed 0) a 5 s limit gave steps of 2.0 s
on average, 93 % over 1 s; 0.8 s gave 0.7 s on average, 4 % over (collector pauses,
since frozen), and as good a plan; at 300 s its longest step was 0.999 s, so 0.7 s
leaves the merge and CP-SAT's overrun their margin."""


@dataclass
class Incumbent:
    """A plan as choices keyed by learner index (of the whole instance).

    Attributes
    ----------
    site_of
        (learner, block, role) -> site.
    working
        (learner, block, role, session) worked clinically.
    first
        (learner, block, ROTATION) -> first block of the placement holding it.
    cost
        Placed learner -> their cost (§7, §9.3).
    parts
        Placed learner -> (preference, organisation changes, idle blocks) terms.
    """

    site_of: Sites = field(default_factory=dict)
    working: Working = field(default_factory=set)
    first: dict[tuple[int, int, Role], int] = field(default_factory=dict)
    cost: dict[int, int] = field(default_factory=dict)
    parts: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    _load: Load | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of_result(cls, inst: Instance, result: SolveResult) -> Incumbent:
        """A contract-version-1 result's plan (its costs are preference costs only)."""
        index = {info.id: info.index for info in inst.learners}
        cost = {index[k]: c for k, c in result.learner_costs.items()}
        return cls(dict(result.placements), set(result.working), {}, cost,
                   {i: (c, 0, 0) for i, c in cost.items()})

    @property
    def placed(self) -> set[int]:
        """Learners with a placement."""
        return set(self.cost)

    def merge(self, part: Part) -> Incumbent:
        """This plan with the part's learners replaced by the part's choices."""
        free = set(part.learners)
        out = Incumbent(
            {k: s for k, s in self.site_of.items() if k[0] not in free} | part.site_of,
            {k for k in self.working if k[0] not in free} | part.working,
            {k: b for k, b in self.first.items() if k[0] not in free} | part.first,
            {i: c for i, c in self.cost.items() if i not in free} | part.cost,
            {i: c for i, c in self.parts.items() if i not in free} | part.parts)
        return out

    def load(self, inst: Instance) -> Load:
        """The load of every placed learner, counted once per plan (a plan is not changed
        once made: :meth:`merge` makes a new one)."""
        if self._load is None:
            self._load = Load.of(inst, self.site_of, self.working, self.cost)
        return self._load

    def worst(self, inst: Instance, among: Collection[int] | None = None) -> int | None:
        """The largest learner cost (a learner left out counts ``unplaced_penalty``)."""
        obj = inst.scenario.objective
        among = range(len(inst.learners)) if among is None else among
        values = [self.cost.get(i, obj.unplaced_penalty) for i in among]
        return max(values, default=None)

    def objective(self, inst: Instance) -> float:
        """The contract's objective (§7, §9.3) of the plan."""
        obj = inst.scenario.objective
        total = sum(self.cost.values()) + obj.unplaced_penalty * (
            len(inst.learners) - len(self.cost))
        if obj.fairness == "weighted":
            total += obj.worst_weight * (self.worst(inst) or 0)
        return float(total)

    def rank(self, inst: Instance) -> tuple[float, float, float]:
        """Order of plans: minimum shortfall, then the worst learner under minimax, then
        the objective."""
        worst = self.worst(inst) if inst.scenario.objective.fairness == "minimax" else 0
        return (float(shortfall(inst, self.site_of)), float(worst or 0), self.objective(inst))

    def terms(self, inst: Instance) -> dict[str, float]:
        """The objective's named terms (as the engine reports them)."""
        obj = inst.scenario.objective
        out: dict[str, float] = {}
        if obj.allow_unplaced:
            out["unplaced"] = float(obj.unplaced_penalty * (len(inst.learners) - len(self.cost)))
        out["preference"] = float(sum(p for p, _, _ in self.parts.values()))
        if any(info.index in self.parts and inst.scenario.weight(
                info.learner, "organisation_changes") for info in inst.learners):
            out["organisation_changes"] = float(sum(o for _, o, _ in self.parts.values()))
        if any(info.index in self.parts and inst.scenario.weight(
                info.learner, "idle_blocks") for info in inst.learners):
            out["idle_blocks"] = float(sum(i for _, _, i in self.parts.values()))
        if obj.fairness == "weighted":
            out["worst_learner"] = float(obj.worst_weight * (self.worst(inst) or 0))
        return out


@dataclass
class Part:
    """A part's solution, keyed by the whole instance's learner indices.

    Attributes
    ----------
    learners
        The part's learners.
    site_of, working, first, cost, parts
        As in :class:`Incumbent`, for the part's placed learners.
    proven
        The part was solved to optimality (given everyone else).
    deterministic
        Deterministic time the part's solve used.
    """

    learners: list[int]
    site_of: Sites
    working: Working
    first: dict[tuple[int, int, Role], int]
    cost: dict[int, int]
    parts: dict[int, tuple[int, int, int]]
    proven: bool
    deterministic: float


def shortfall(inst: Instance, site_of: Sites) -> int:
    """Learners missing from site minimums (rule 12) over every site and block."""
    count: Counter[tuple[str, int]] = Counter((s, b) for (_, b, _), s in site_of.items())
    return sum(max(0, site.minimum_in(block) - count[(site.id, block)])
               for site in inst.scenario.sites if site.min_learners
               for block in inst.scenario.programme.block_numbers)


def solve_part(inst: Instance, incumbent: Incumbent, free: Iterable[int], options: SolveOptions,
               clock: Clock, end: float | None, *, sites: Collection[str] | None = None,
               held: Collection[int] = (), soft_minimum: bool = False,
               outside: Collection[int] | None = None,
               cap: float | None = None, floors: dict[int, int] | None = None) -> Part | None:
    """Re-solve a few learners with everyone else where the incumbent has them.

    Parameters
    ----------
    inst
        The whole instance.
    incumbent
        The plan; its choices for the ``free`` learners are the hint.
    free
        Learner indices to re-solve.
    sites
        The sites they may move between (besides where the incumbent has
        them); None for all their candidates.
    held
        Learners also in the model at the incumbent's sites, their weekly
        sessions free (room for the free learners in rooms and supervisors' sessions).
    options
        Workers and seed (progress is not reported: a part's figures are not the plan's).
    clock, end, cap
        Time: the solve's clock, a wall-clock end of this step, a deterministic cap.
    soft_minimum
        Let sites fall short of their minimums, the shortfall minimised first.
    outside
        The learners whose use of sites counts and whose cost counts towards the
        worst learner: by default everyone not free (a learner left out counts
        ``unplaced_penalty``). A first plan passes only the learners placed so far.
    floors
        Learners' least costs on their own (:func:`learner_optima`), added as cuts:
        a part whose hint costs its floors is then proven at once.

    Returns
    -------
    Part or None
        The part's best solution, or None when none was found in time (or none exists).
    """
    sc = inst.scenario
    obj = sc.objective
    free_set = set(free) | set(held)
    if outside is None:
        outside = [i for i in range(len(inst.learners)) if i not in free_set]
    kept = set(outside)
    worst = incumbent.worst(inst, kept) if obj.fairness in ("minimax", "weighted") else None
    # the whole plan's load, counted once per plan, less the placed learners not kept
    others = [i for i in incumbent.cost if i not in kept]
    load = incumbent.load(inst).without(
        Load.of(inst, incumbent.site_of, incumbent.working, others), worst)
    part, chosen = inst.part(free_set, sites, incumbent.site_of, held)
    local = {i: k for k, i in enumerate(chosen)}
    form = formulate(part, load=load, soft_minimum=soft_minimum)
    if floors is not None:
        for i, k in local.items():
            form.model.add(form.costs.total[k] >= floors[i] * form.b.v.placed[k])
    if form.b.shortfall:
        # lexicographic: no change of the learners' costs outweighs one learner short
        spread = sum(form.costs.high[k] - min(0, form.costs.low[k]) for k in local.values())
        weight = spread + obj.unplaced_penalty * len(chosen) + obj.worst_weight * spread + 1
        form.extra.append(Term("minimum_shortfall", weight, sum(form.b.shortfall),
                               "learners missing from site minimums"))
    _hint(form, incumbent, local)
    quiet = SolveOptions(**{**options.__dict__, "on_progress": None, "extend": None})
    phases: list[Phase] = []
    found = optimise(form, quiet, clock, phases, fairness=obj.fairness or "none",
                     worst_weight=obj.worst_weight, whole=False, end=end, cap=cap,
                     tie_break=False)
    det = sum(p.deterministic_time or 0.0 for p in phases)
    if found.source is None:
        return None
    src = found.source

    def value(lit: Lit) -> int:
        return lit if isinstance(lit, int) else int(src.boolean_value(lit))

    site_of, working, first = choices(part, form.b.v, value)
    costs = form.costs
    placed = [k for k in range(len(chosen)) if value(form.b.v.placed[k])]
    return Part(
        chosen,
        {(chosen[k], b, r): s for (k, b, r), s in site_of.items()},
        {(chosen[k], b, r, d) for (k, b, r, d) in working},
        {(chosen[k], b, r): f for (k, b, r), f in first.items()},
        {chosen[k]: int(src.value(costs.total[k])) for k in placed},
        {chosen[k]: (int(src.value(costs.preference[k])),
                     int(src.value(costs.organisation_changes.get(k, 0))),
                     int(src.value(costs.idle_blocks.get(k, 0)))) for k in placed},
        found.proven and all(p.status == Status.OPTIMAL for p in phases), det)


# --------------------------------------------------------------------------- first plan


def first_plan(inst: Instance, options: SolveOptions, clock: Clock, *,
               batch: int = BATCH, start: Optima | None = None,
               end: float | None = None) -> Incumbent | None:
    """A plan built a batch of learners at a time, then repaired to meet minimums.

    Learners with the fewest possible placements go first (ties in a seeded
    random order). Each batch is placed at least cost given the learners
    placed before it, sites allowed to fall short of their minimums (the
    shortfall minimised first). Any shortfall left is repaired by parts of
    learners who could fill the short sites. Returns None when a batch has no
    solution (a learner who cannot be placed where others already are) or the
    shortfall cannot be repaired in time: the caller then solves the whole model.

    With ``start`` (learners' own optima) the plan is built from the learners'
    own plans instead (CP-SAT's probing off for their small models), first with
    every own plan that fits kept
    (:func:`_own_kept_first`, the faster), then, unless that plan meets the
    floors' bound, in order (:func:`_own_in_order`), and the better is kept.
    Neither is better everywhere: on MSS Instance_64, 80, 102 and 124 the
    plan in order met the bound and the other fell 1-10 short; on Instance_24
    it was the other way round (c 6312 against 6317, bound 6318). ``end`` is
    a wall-clock limit of the whole build.
    """
    rng = random.Random(options.seed)
    order = list(range(len(inst.learners)))
    rng.shuffle(order)
    order.sort(key=lambda i: _options_of(inst, i))
    if start is not None:
        best: Incumbent | None = None
        light = SolveOptions(**{**options.__dict__, "probing": False})
        for build in (_own_kept_first, _own_in_order):
            if best is not None and (best.objective(inst) <= start.bound(inst)
                                     or _late(options, clock, end)):
                break  # proven by the floors already, or no time for another
            built = build(inst, start, order, light, clock, end)
            if built is not None:
                built = _repair(inst, built, options, clock, rng)
            if built is not None and (best is None or built.rank(inst) < best.rank(inst)):
                best = built
        return best
    incumbent = Incumbent()
    done: list[int] = []
    for k in range(0, len(order), batch):
        if _late(options, clock, end):
            return None
        group = order[k:k + batch]
        part = _place(inst, incumbent, group, done, options, clock, end, None)
        if part is None:
            return None
        incumbent = incumbent.merge(part)
        done.extend(group)
    return _repair(inst, incumbent, options, clock, rng)


def _own_kept_first(inst: Instance, start: Optima, order: list[int], options: SolveOptions,
                    clock: Clock, end: float | None) -> Incumbent | None:
    """Learners' own plans kept where they fit, the others placed around them.

    First every learner, in ``order``, whose own plan fits beside those kept
    before keeps it (:func:`_fits`). Then the others are placed one at a
    time, each at least cost beside everyone placed, hinted with their own
    plan and cut by their floor; ``options.workers`` of them are solved at
    once, one CP-SAT worker each, against the same plan, and a learner whose
    solution no longer fits beside the one merged before is solved again (on
    MSS Instance_L72 about 40 of 80 students need a solve of about 0.9 s,
    each as fast with one worker and the full linear relaxation as with two;
    the build took 36 s one at a time, 25 s two at a time). CP-SAT's probing
    is off for these small models (L60's slowest took 1.8 s with it, 0.35 s
    without).
    """
    incumbent = start.plan
    done: list[int] = []
    misfits: list[int] = []
    for i in order:
        if _late(options, clock, end):
            return None
        if _fits(inst, start.plan, [i], done, incumbent):
            done.append(i)  # their own plan is already the incumbent's choice
        else:
            misfits.append(i)
    width = max(1, options.workers)
    alone = SolveOptions(**{**options.__dict__, "workers": 1})
    with ThreadPoolExecutor(max_workers=width) as pool:
        while misfits:
            if _late(options, clock, end):
                return None
            group, misfits = misfits[:width], misfits[width:]
            snapshot = incumbent
            parts = list(pool.map(partial(_alone_beside, inst, snapshot, list(done), alone,
                                          clock, end, start.floor), group))
            for n, (i, part) in enumerate(zip(group, parts, strict=True)):
                if part is not None and n and not _fits(inst, snapshot.merge(part), [i],
                                                        done, incumbent):
                    misfits.insert(0, i)  # its place went to a learner merged before it
                    continue
                if part is None:
                    part = _place(inst, incumbent, [i], done, options, clock, end,
                                  start.floor, again=True)
                if part is None:
                    return None
                incumbent = incumbent.merge(part)
                done.append(i)
    return incumbent


def _own_in_order(inst: Instance, start: Optima, order: list[int], options: SolveOptions,
                  clock: Clock, end: float | None) -> Incumbent | None:
    """Learners in ``order``, each keeping their own plan where it fits beside those
    before, otherwise placed at least cost beside them (hinted with their own plan and
    cut by their floor; 11 s on MSS Instance_64 where :func:`_own_kept_first` took 7 s).
    """
    incumbent = start.plan
    done: list[int] = []
    for i in order:
        if _late(options, clock, end):
            return None
        if not _fits(inst, start.plan, [i], done, incumbent):
            part = _place(inst, incumbent, [i], done, options, clock, end, start.floor)
            if part is None:
                return None
            incumbent = incumbent.merge(part)
        done.append(i)  # an own plan that fits is already the incumbent's choice
    return incumbent


def _alone_beside(inst: Instance, incumbent: Incumbent, done: list[int], options: SolveOptions,
                  clock: Clock, end: float | None, floors: dict[int, int], i: int
                  ) -> Part | None:
    """Learner ``i`` alone at least cost beside the ``done`` learners, in one step."""
    return solve_part(inst, incumbent, [i], options, clock, end, soft_minimum=True,
                      outside=done, cap=STEP_DETERMINISTIC, floors=floors)


def _place(inst: Instance, incumbent: Incumbent, group: list[int], done: list[int],
           options: SolveOptions, clock: Clock, end: float | None,
           floors: dict[int, int] | None, *, again: bool = False) -> Part | None:
    """A group placed at least cost beside the ``done`` learners (None: not in time).

    With ``again`` (a first solve found nothing), the solve may take four
    steps' time. Where no place is found beside those placed, the placed
    learners most in the way (:func:`_blockers`) are re-solved with the group.
    """
    part = None
    if not again:
        part = solve_part(inst, incumbent, group, options, clock, end, soft_minimum=True,
                          outside=done, cap=STEP_DETERMINISTIC, floors=floors)
    if part is None:  # a place beside those placed can take longer to find
        part = solve_part(inst, incumbent, group, options, clock, end, soft_minimum=True,
                          outside=done, cap=4 * STEP_DETERMINISTIC, floors=floors)
    size = UNBLOCK_SIZE
    while part is None and not _late(options, clock, end):
        # no room beside those placed: move the placed learners most in the way too
        movers = _blockers(inst, incumbent, group, done, size)
        if not movers:
            break
        part = solve_part(inst, incumbent, group + movers, options, clock, end,
                          soft_minimum=True, outside=[i for i in done if i not in movers],
                          cap=4 * STEP_DETERMINISTIC, floors=floors)
        if len(movers) < size or size >= UNBLOCK_MAX:
            break  # nobody else holds the places the group could take
        size *= 2
    return part


def _late(options: SolveOptions, clock: Clock, end: float | None) -> bool:
    """Out of time (the clock or ``end``) or asked to stop."""
    return clock.exhausted() or _stopped(options) or \
        (end is not None and time.perf_counter() >= end)


def _blockers(inst: Instance, incumbent: Incumbent, group: list[int], done: Collection[int],
              size: int) -> list[int]:
    """The ``size`` placed learners holding most of the places the group could take."""
    wanted = {(s, b) for i in group for b in inst.learners[i].blocks
              for r in inst.roles_of(inst.learners[i]) for s in inst.full_options[(i, b, r)]}
    held: Counter[int] = Counter(i for (i, b, _), s in incumbent.site_of.items()
                                 if (s, b) in wanted)
    ranked = sorted((i for i in done if held[i]), key=lambda i: (-held[i], i))
    return ranked[:size]


def _fits(inst: Instance, own: Incumbent, group: list[int], done: Collection[int],
          incumbent: Incumbent) -> bool:
    """Whether the group's own plans keep every rule beside the ``done`` learners.

    Their model is built with the others' load and solved with its choices
    fixed to their own plans (CP-SAT's ``fix_variables_to_their_hinted_value``):
    only auxiliary variables (sessions, pathway counts) are left to find. Where
    capacities are all learners share (:attr:`Instance.capacities_only`), the
    capacity check alone decides.
    """
    if any(i not in own.cost for i in group):
        return False
    fixed = [i for i in done if i in incumbent.cost]
    mine = set(group)
    wanted = Counter((s, b) for (i, b, _), s in own.site_of.items() if i in mine)
    if not _room_for(inst, wanted, incumbent.site_of, fixed):
        return False  # a full site: no model needed (most of the misfits on MSS)
    if inst.capacities_only:
        # own plans keep every rule of their own, and capacities are all they share
        # (MSS A&M: 0.07 s a learner for the model, 12.6 s of Instance_L80's plan)
        return True
    load = Load.of(inst, incumbent.site_of, incumbent.working, fixed)
    part, chosen = inst.part(group)
    local = {i: k for k, i in enumerate(chosen)}
    form = formulate(part, load=load, soft_minimum=True)
    _hint(form, own, local)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 1.0
    return solver.solve(form.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def _room_for(inst: Instance, wanted: Counter[tuple[str, int]], site_of: Sites,
              fixed: Collection[int]) -> bool:
    """Whether sites' capacities (rule 1) leave the ``wanted`` places beside ``fixed``."""
    held = set(fixed)
    taken = Counter((s, b) for (i, b, _), s in site_of.items()
                    if i in held and (s, b) in wanted)
    sites = inst.scenario.site_by_id
    for (s, b), n in wanted.items():
        cap = sites[s].capacity_in(b)
        if cap is not None and taken[(s, b)] + n > cap:
            return False
    return True


def _hint(form: Formulation, plan: Incumbent, local: dict[int, int]) -> None:
    """Hint a part's model with a plan's choices for its learners (``local``: whole
    instance index -> the part's index)."""
    hint_choices(form.model, form.b.v,
                 {(local[i], b, r): s for (i, b, r), s in plan.site_of.items() if i in local},
                 {(local[i], b, r, d) for (i, b, r, d) in plan.working if i in local},
                 {(local[i], b, r): f for (i, b, r), f in plan.first.items() if i in local})


def _options_of(inst: Instance, i: int) -> int:
    """Candidate sites over a learner's blocks and roles (fewest first: hardest to place)."""
    info = inst.learners[i]
    return sum(len(inst.full_options[(i, b, r)]) for b in info.blocks
               for r in inst.roles_of(info))


def _stopped(options: SolveOptions) -> bool:
    return options.stop is not None and options.stop.is_set()


def _repair(inst: Instance, incumbent: Incumbent, options: SolveOptions, clock: Clock,
            rng: random.Random) -> Incumbent | None:
    """Parts around short sites until every minimum is met (None: not in time)."""
    size = START_SIZE
    while shortfall(inst, incumbent.site_of):
        if clock.exhausted() or _stopped(options):
            return None
        short = _short_sites(inst, incumbent.site_of)
        site, block = short[rng.randrange(len(short))]
        movers = [info.index for info, _ in inst.candidates_at(site, block)]
        rng.shuffle(movers)
        free = set(movers[:size])
        part = solve_part(inst, incumbent, free, options, clock, None, soft_minimum=True,
                          cap=STEP_DETERMINISTIC)
        if part is None:
            size = max(MIN_SIZE, size // 2)
            continue
        merged = incumbent.merge(part)
        if merged.rank(inst) < incumbent.rank(inst):
            incumbent = merged
        else:
            size = min(MAX_SIZE, len(inst.learners), size * 2)
    return incumbent


def _short_sites(inst: Instance, site_of: Sites) -> list[tuple[str, int]]:
    count: Counter[tuple[str, int]] = Counter((s, b) for (_, b, _), s in site_of.items())
    return [(site.id, block) for site in inst.scenario.sites if site.min_learners
            for block in inst.scenario.programme.block_numbers
            if site.minimum_in(block) > count[(site.id, block)]]


# --------------------------------------------------------------------------- search


@dataclass
class SearchLog:
    """What the search did (for summaries and benchmarks).

    Attributes
    ----------
    neighbourhoods
        Parts solved.
    improvements
        Parts that improved the plan.
    proven
        Parts proven optimal given everyone else.
    size
        Part size at the end.
    seconds
        Wall-clock seconds of each step: choosing, building, solving and merging a part.
    """

    neighbourhoods: int = 0
    improvements: int = 0
    proven: int = 0
    size: int = START_SIZE
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the counts, and the steps' mean, 90th percentile and
        longest time (``step_seconds``, None before any step)."""
        out: dict[str, Any] = {name: getattr(self, name)
                               for name in ("neighbourhoods", "improvements", "proven", "size")}
        times = sorted(self.seconds)
        out["step_seconds"] = None if not times else {
            "mean": round(sum(times) / len(times), 3),
            "p90": round(times[min(len(times) - 1, int(0.9 * len(times)))], 3),
            "max": round(times[-1], 3)}
        return out


class Chooser:
    """Chooses neighbourhoods along displacement chains, guided by regret.

    A learner's regret is their cost above their own best (``floor``, capacities
    ignored). A chain starts at a learner drawn by regret, then takes learners
    at the sites (same block) that learner would rather have, and so on.
    """

    def __init__(self, inst: Instance, floor: dict[int, int], seed: int) -> None:
        self.inst = inst
        self.floor = floor
        self.rng = random.Random(seed)
        sc = inst.scenario
        self.cost = {key: {s: sc.placement_cost(inst.learners[key[0]].learner,
                                                sc.site_by_id[s]) for s in sites}
                     for key, sites in inst.full_options.items()}

    def choose(self, incumbent: Incumbent, size: int
               ) -> tuple[set[int], set[str], set[int]]:
        """A neighbourhood of about ``size`` learners, the sites they may move between,
        and learners held at those sites with their sessions free.

        The sites are those the chains passed through, plus ``EXTRA_SITES`` others
        at random (room to move). Up to ``size`` other learners at those sites
        are held (their sessions make room in rooms and supervisors' sessions).
        """
        n = len(self.inst.learners)
        occupants: dict[tuple[str, int], list[int]] = defaultdict(list)
        for (i, block, _), site in incumbent.site_of.items():
            occupants[(site, block)].append(i)
        penalty = self.inst.scenario.objective.unplaced_penalty
        regret = {i: incumbent.cost.get(i, penalty) - self.floor.get(i, 0) for i in range(n)}
        pool = [i for i, r in regret.items() if r > 0]
        free: set[int] = set()
        visited: set[str] = set()
        frontier: list[tuple[str, int]] = []
        target = min(size, n)
        while len(free) < target:
            if not frontier:
                seeds = [i for i in pool if i not in free] or \
                    [i for i in range(n) if i not in free]
                weights = [max(1, regret[i]) for i in seeds]
                self._add(self.rng.choices(seeds, weights)[0], free, frontier, incumbent)
                continue
            pair = frontier.pop(self.rng.randrange(len(frontier)))
            visited.add(pair[0])
            people = [i for i in occupants.get(pair, []) if i not in free]
            self.rng.shuffle(people)
            for i in people[: target - len(free)]:
                self._add(i, free, frontier, incumbent)
        others = [s.id for s in self.inst.scenario.sites if s.id not in visited]
        visited.update(self.rng.sample(others, min(len(others), EXTRA_SITES)))
        held: set[int] = set()
        if HOLD:
            near = sorted({i for (site, _), people in occupants.items() if site in visited
                           for i in people if i not in free})
            held = set(self.rng.sample(near, min(len(near), target)))
        return free, visited, held

    def _add(self, i: int, free: set[int], frontier: list[tuple[str, int]],
             incumbent: Incumbent) -> None:
        free.add(i)
        info = self.inst.learners[i]
        for block in info.blocks:
            for role in self.inst.roles_of(info):
                key = (i, block, role)
                costs = self.cost[key]
                current = incumbent.site_of.get(key)
                limit = costs.get(current, 10**9) if current is not None else 10**9
                frontier.extend((s, block) for s, c in costs.items()
                                if c < limit and s != current)


def improve(inst: Instance, incumbent: Incumbent, options: SolveOptions, clock: Clock, *,
            floor: dict[int, int], log: SearchLog | None = None,
            report: Callable[[Incumbent], None] | None = None,
            target: float | Callable[[], float | None] | None = None) -> Incumbent:
    """Improve a plan part by part until the clock runs out, ``stop`` is set or the
    objective reaches ``target`` (a valid bound, or a function giving the best one known
    so far, polled before each part).

    With one worker and a deterministic budget the search repeats exactly:
    each part is capped in deterministic time and the part size adapts to
    deterministic time, never to the wall clock.
    """
    log = log if log is not None else SearchLog()
    chooser = Chooser(inst, floor, options.seed)
    size = min(log.size, len(inst.learners))
    best_rank = incumbent.rank(inst)
    while not clock.exhausted() and not _stopped(options) and clock.left() > 0.2:
        goal = target() if callable(target) else target
        if goal is not None and best_rank[0] == 0 and best_rank[2] <= goal:
            break
        started = time.perf_counter()
        free, sites, held = chooser.choose(incumbent, size)
        end = clock.deadline if clock.deterministic is not None else \
            min(clock.deadline, started + STEP_SECONDS)
        part = solve_part(inst, incumbent, free, options, clock, end, sites=sites,
                          held=held, cap=STEP_DETERMINISTIC)
        log.neighbourhoods += 1
        if part is None:
            size = max(MIN_SIZE, int(size * 0.7))
            log.seconds.append(time.perf_counter() - started)
            continue
        slow = clock.deterministic is None and time.perf_counter() - started > STEP_LIMIT
        if part.proven:
            log.proven += 1
        if part.proven and not slow:
            if part.deterministic < STEP_DETERMINISTIC / 4:
                size = min(MAX_SIZE, len(inst.learners), int(size * 1.25) + 1)
        else:
            size = max(MIN_SIZE, int(size * 0.8))
        merged = incumbent.merge(part)
        rank = merged.rank(inst)
        improved = rank < best_rank
        if improved:
            log.improvements += 1
            incumbent, best_rank = merged, rank
        log.seconds.append(time.perf_counter() - started)
        if improved and report is not None:
            report(incumbent)
    log.size = size
    return incumbent


def learner_floors(inst: Instance, options: SolveOptions, clock: Clock,
                   indices: Iterable[int] | None = None) -> dict[int, int] | None:
    """Each learner's least cost on their own, capacities and minimums ignored.

    Solved exactly per learner (learners alike share one solve); with
    ``allow_unplaced`` a learner's floor is at most ``unplaced_penalty``. The
    floors' sum is a valid bound of the objective without fairness terms.
    None when time ran out first.
    """
    found = learner_optima(inst, options, clock, indices)
    return None if found is None else found.floor


@dataclass
class Optima:
    """Each learner's best plan on their own (capacities, rooms and minimums ignored).

    Attributes
    ----------
    floor
        Learner index -> least cost on their own: a valid lower bound of their
        cost in any plan (at most ``unplaced_penalty`` with ``allow_unplaced``).
    plan
        The learners' own best choices together, keyed by the whole instance's
        indices (a learner better left out is not in it). It is a plan of the
        problem when it keeps every shared limit.
    """

    floor: dict[int, int]
    plan: Incumbent

    def bound(self, inst: Instance) -> int:
        """The objective's lower bound these floors give (§7, §9.3).

        The sum of floors, plus ``worst_weight`` times the largest floor under
        ``weighted`` fairness (the worst learner costs at least that).
        """
        obj = inst.scenario.objective
        total = sum(self.floor.values())
        if obj.fairness == "weighted":
            total += obj.worst_weight * max(self.floor.values(), default=0)
        return total


def learner_optima(inst: Instance, options: SolveOptions, clock: Clock,
                   indices: Iterable[int] | None = None, *,
                   end: float | None = None) -> Optima | None:
    """Each learner's best plan on their own, solved exactly (learners alike share one solve).

    A learner's model is the part of that learner alone, with no load and
    minimums soft and unweighted: only the learner's own rules bind. The
    learners are solved ``options.workers`` at a time, one CP-SAT worker each
    (CP-SAT releases the interpreter while it searches: MSS Instance_20's 80
    students took 15.0 s one at a time and 8.5 s two at a time on 2 cores).
    Each solve is seeded and alone, so the result does not depend on the
    order. None when the clock, ``end`` (wall clock) or a stop request came
    first, or a learner's solve found nothing in its 5 s (a plan found but not
    proven keeps its proven bound as the floor).
    """
    sc = inst.scenario
    alike: dict[tuple[object, ...], list[int]] = {}
    for i in (range(len(inst.learners)) if indices is None else indices):
        info = inst.learners[i]
        alike.setdefault((info.learner.model_dump_json(exclude={"id"}), info.blocks),
                         []).append(i)

    def alone(i: int) -> tuple[int, Part | None] | None:
        left = clock.left() if end is None else min(clock.left(), end - time.perf_counter())
        if clock.exhausted() or _stopped(options) or left <= 0:
            return None
        part, _ = inst.part([i])
        form = formulate(part, load=Load(), soft_minimum=True)
        model = form.model
        placed = form.b.v.placed[0]
        if not isinstance(placed, int):
            model.add(placed == 1)
        model.minimize(form.costs.total[0])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        # the full linear relaxation: MSS Instance_20's students took 6.4 s for 40
        # with it, 22.2 s (one unproven in 5 s) with CP-SAT's default level
        solver.parameters.linearization_level = 2
        # no probing in presolve: L60's slowest students took 2.6 s with it, 1.3 s without
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.random_seed = options.seed
        solver.parameters.max_time_in_seconds = max(0.05, min(5.0, left))
        status = solver.solve(model)
        own: Part | None = None
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            value = round(solver.objective_value) if status == cp_model.OPTIMAL \
                else math.floor(solver.best_objective_bound + 1e-6)
            own = _alone(part, form, solver, i)
        elif status == cp_model.INFEASIBLE:
            value = sc.objective.unplaced_penalty
        elif time.perf_counter() < (end or math.inf) and not clock.exhausted():
            # nothing found in the learner's 5 s: their proven bound is still a floor
            value = math.floor(solver.best_objective_bound + 1e-6)
        else:
            return None
        if sc.objective.allow_unplaced and value >= sc.objective.unplaced_penalty:
            value, own = sc.objective.unplaced_penalty, None
        return value, own

    firsts = [members[0] for members in alike.values()]
    with ThreadPoolExecutor(max_workers=max(1, min(options.workers, len(firsts)))) as pool:
        solved = list(pool.map(alone, firsts))
    floor: dict[int, int] = {}
    plan = Incumbent()
    for members, found in zip(alike.values(), solved, strict=True):
        if found is None:
            return None
        value, own = found
        for i in members:
            floor[i] = value
            if own is None:
                continue
            moved = _moved(own, i)
            plan.site_of.update(moved.site_of)
            plan.working.update(moved.working)
            plan.first.update(moved.first)
            plan.cost.update(moved.cost)
            plan.parts.update(moved.parts)
    return Optima(dict(sorted(floor.items())), plan)


def _alone(part: Instance, form: Formulation, src: cp_model.CpSolver, i: int) -> Part:
    """The solution of learner ``i``'s model on their own, keyed by ``i``."""

    def value(lit: Lit) -> int:
        return lit if isinstance(lit, int) else int(src.boolean_value(lit))

    site_of, working, first = choices(part, form.b.v, value)
    costs = form.costs
    return Part([i], {(i, b, r): s for (_, b, r), s in site_of.items()},
                {(i, b, r, d) for (_, b, r, d) in working},
                {(i, b, r): f for (_, b, r), f in first.items()},
                {i: int(src.value(costs.total[0]))},
                {i: (int(src.value(costs.preference[0])),
                     int(src.value(costs.organisation_changes.get(0, 0))),
                     int(src.value(costs.idle_blocks.get(0, 0))))}, True,
                src.deterministic_time)


def _moved(part: Part, i: int) -> Part:
    """A lone learner's part given to learner ``i`` (a learner alike)."""
    return Part([i], {(i, b, r): s for (_, b, r), s in part.site_of.items()},
                {(i, b, r, d) for (_, b, r, d) in part.working},
                {(i, b, r): f for (_, b, r), f in part.first.items()},
                {i: part.cost[part.learners[0]]}, {i: part.parts[part.learners[0]]}, True, 0.0)


__all__ = ["Chooser", "Incumbent", "Optima", "Part", "SearchLog", "first_plan", "improve",
           "learner_floors", "learner_optima", "shortfall", "solve_part"]
