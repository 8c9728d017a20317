"""Large-neighbourhood search: re-optimise a few learners at a time, the rest fixed.

For regional cohorts the full model is too large to improve within a user's
patience (and its memory grows with learners × sites). Here the incumbent
plan is improved by exact CP-SAT solves over *neighbourhoods*: a few dozen
learners get their full candidate domains back while every other learner is
held at their incumbent sites (their weekly timetables stay free). The
incumbent is always a solution of the neighbourhood model, so the objective
never gets worse; memory is that of the small model.

Neighbourhoods follow displacement chains: a learner whose cost is above
their own capacity-free minimum ("regret") is chosen, weighted by regret;
then the learners who occupy the sites that learner would prefer (same
block), then the sites *those* learners would prefer, and so on, until the
neighbourhood is full. The size adapts: it grows while neighbourhoods are
solved to optimality quickly and shrinks when a solve runs out of time.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rotaplan.models import Scenario
from rotaplan.models.vocabulary import Status
from rotaplan.solver.instance import Instance, Role
from rotaplan.solver.result import SolveResult

Key = tuple[int, int, Role]
SolveOn = Callable[..., SolveResult]

START_SIZE = 40
"""Learners re-optimised per neighbourhood at first."""
MIN_SIZE, MAX_SIZE = 10, 160
EXTRA_SITES = 8
"""Sites added to each neighbourhood at random, beyond the displacement chain."""
SLICE_SECONDS = 8.0
"""Time limit of one neighbourhood solve."""


@dataclass
class SearchLog:
    """What the search did (for summaries and benchmarks).

    Attributes
    ----------
    neighbourhoods
        Neighbourhood solves run.
    improvements
        Solves that improved the incumbent.
    proven
        Solves proven optimal within their neighbourhood.
    size
        Neighbourhood size at the end.
    """

    neighbourhoods: int = 0
    improvements: int = 0
    proven: int = 0
    size: int = START_SIZE

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)


def rank_key(result: SolveResult, penalty: int = 0) -> tuple[float, float]:
    """Order of plans: worst learner first under minimax, then the objective.

    Under minimax a learner left out counts as ``penalty`` (``unplaced_penalty``, §7).
    """
    worst = 0
    if result.stats.fairness == "minimax":
        worst = max(result.worst_learner_cost or 0, penalty if result.unplaced else 0)
    return (float(worst), float(result.objective if result.objective is not None
                                else float("inf")))


class Neighbourhoods:
    """Chooses the learners to free, from the incumbent's sites and costs."""

    def __init__(self, inst: Instance, seed: int) -> None:
        self.inst = inst
        self.rng = random.Random(seed)
        sc = inst.scenario
        self.cost = {
            key: {s: sc.preference_cost(inst.learners[key[0]].learner, sc.site_by_id[s])
                  for s in sites}
            for key, sites in inst.full_options.items()
        }
        self.floor = {info.index: inst.learner_floor(info) for info in inst.learners}

    def choose(self, sites: dict[Key, str], learner_cost: dict[int, int],
               unplaced: set[int], size: int) -> tuple[set[int], set[str]]:
        """A displacement chain from a learner with regret.

        Returns the learners to re-optimise and the sites they may move between
        (the sites the chain passed through, plus a few others for room).
        """
        occupants: dict[tuple[str, int], list[int]] = defaultdict(list)
        for (i, block, _), site in sites.items():
            occupants[(site, block)].append(i)
        regret = {i: learner_cost.get(i, 0) - self.floor[i] for i in self.floor}
        pool = [i for i, r in regret.items() if r > 0] + sorted(unplaced)
        free: set[int] = set(unplaced)
        visited: set[str] = set()
        everyone = list(self.floor)
        frontier: list[tuple[str, int]] = []
        while len(free) < min(size, len(everyone)):
            if not frontier:
                seeds = [i for i in pool if i not in free] or \
                    [i for i in everyone if i not in free]
                weights = [max(1, regret.get(i, 1)) for i in seeds]
                self._add(self.rng.choices(seeds, weights)[0], free, frontier, sites)
                continue
            pair = frontier.pop(self.rng.randrange(len(frontier)))
            visited.add(pair[0])
            people = [i for i in occupants.get(pair, []) if i not in free]
            self.rng.shuffle(people)
            for i in people[: size - len(free)]:
                self._add(i, free, frontier, sites)
        extra = [s.id for s in self.inst.scenario.sites if s.id not in visited]
        visited.update(self.rng.sample(extra, min(len(extra), EXTRA_SITES)))
        return free, visited

    def _add(self, i: int, free: set[int], frontier: list[tuple[str, int]],
             sites: dict[Key, str]) -> None:
        free.add(i)
        info = self.inst.learners[i]
        for block in info.blocks:
            for role in self.inst.roles_of(info):
                key = (i, block, role)
                costs = self.cost[key]
                current = sites.get(key)
                limit = costs.get(current, 10**9) if current is not None else 10**9
                frontier.extend((s, block) for s, c in costs.items()
                                if c < limit and s != current)


def improve(
    inst: Instance, scenario: Scenario, incumbent: SolveResult, sites: dict[Key, str],
    *, solve_on: SolveOn, options: Any, clock: Any, seed: int,
    log: SearchLog | None = None, report: Callable[[SolveResult], None] | None = None,
    target: float | None = None,
) -> tuple[SolveResult, dict[Key, str]]:
    """Improve a plan by neighbourhood solves until the clock runs out.

    Parameters
    ----------
    inst
        The instance (its domains are changed per neighbourhood and restored to
        the full domains at the end).
    scenario
        The scenario.
    incumbent, sites
        The plan to improve and its sites per (learner, block, role).
    solve_on
        The engine's neighbourhood solve: ``(inst, options, clock, incumbent,
        end) -> SolveResult`` on the instance's focused domains.
    options
        The engine's solve options (``stop`` is honoured between solves).
    clock
        The engine's clock (wall and deterministic time left).
    seed
        Seed of the neighbourhood choice.
    log
        Filled with counts of what the search did.
    report
        Called with each improved result.
    target
        A valid lower bound: the search stops when the objective reaches it.

    Returns
    -------
    tuple
        The best result and its sites.
    """
    log = log if log is not None else SearchLog()
    chooser = Neighbourhoods(inst, seed)
    best, best_sites = incumbent, dict(sites)
    stop = getattr(options, "stop", None)
    size = min(log.size, len(inst.learners))
    index_of = {info.id: info.index for info in inst.learners}
    everyone = set(index_of.values())
    penalty = scenario.objective.unplaced_penalty if scenario.objective.allow_unplaced else 0
    while True:
        left = clock.left()
        if left < 1.0 or clock.exhausted() or (stop is not None and stop.is_set()):
            break
        if target is not None and best.objective is not None and best.objective <= target:
            break
        costs = {index_of[k]: c for k, c in best.learner_costs.items()}
        placed = {i for (i, _, _) in best_sites}
        unplaced = everyone - placed
        free, allowed = chooser.choose(best_sites, costs, unplaced, size)
        inst.focus(free, best_sites, allowed)
        slice_end = time.perf_counter() + min(SLICE_SECONDS, left)
        attempt = solve_on(inst, options, clock, best, slice_end)
        log.neighbourhoods += 1
        proven = bool(attempt.stats.phases) and all(
            p.status == Status.OPTIMAL for p in attempt.stats.phases)
        quick = time.perf_counter() < slice_end - SLICE_SECONDS / 2
        if proven:
            log.proven += 1
            if quick:
                size = min(MAX_SIZE, len(inst.learners), int(size * 1.25) + 1)
        else:
            size = max(MIN_SIZE, int(size * 0.7))
        if attempt.has_plan and rank_key(attempt, penalty) < rank_key(best, penalty):
            log.improvements += 1
            attempt.stats.first_solution_seconds = incumbent.stats.first_solution_seconds
            attempt.best_bound = incumbent.best_bound  # a neighbourhood's bound is not global
            best, best_sites = attempt, dict(attempt.placements)
            if report is not None:
                report(best)
    log.size = size
    inst.restrict(None)
    return best, best_sites
