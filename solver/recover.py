"""Turn a CP-SAT solution into a full plan (sites, supervisors, timetables).

The model decides sites and weekly sessions. Who is the named supervisor of
each placement, and who is present in each clinical session, are b-matchings
per site and block (and per session) that the model's Hall inequalities
guarantee to exist; they are found here with min-cost flows that prefer a
learner's named supervisor to be the one present, and keep a fellow's base
supervisor the same across blocks where they can. Given a reference plan
(re-planning), they first keep its named and present supervisors wherever the
new sites and sessions allow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ortools.graph.python import min_cost_flow

from rotaplan.models import Supervisor
from rotaplan.models.plan import Plan
from rotaplan.models.vocabulary import Activity
from rotaplan.solver.extensions import named_supervisors_of
from rotaplan.solver.instance import BASE, ROTATION, Instance, LearnerInfo, Role
from rotaplan.solver.variables import Lit, Variables


class RecoveryError(RuntimeError):
    """The solution could not be completed into a plan (a solver or model bug)."""


@dataclass(frozen=True)
class _Seat:
    info: LearnerInfo
    role: Role


def _match(
    seats: Sequence[_Seat],
    supervisors: Sequence[Supervisor],
    allowed: Callable[[_Seat, Supervisor], bool],
    cost: Callable[[_Seat, Supervisor], int],
    what: str,
) -> dict[_Seat, str]:
    """Assign each seat a supervisor, at most ``capacity`` seats each, at least cost."""
    if not seats:
        return {}
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    seat_node = {seat: 2 + k for k, seat in enumerate(seats)}
    sup_node = {u.id: 2 + len(seats) + k for k, u in enumerate(supervisors)}
    arcs: list[tuple[int, _Seat, str]] = []
    for seat, node in seat_node.items():
        flow.add_arc_with_capacity_and_unit_cost(source, node, 1, 0)
        for u in supervisors:
            if allowed(seat, u):
                arc = flow.add_arc_with_capacity_and_unit_cost(node, sup_node[u.id], 1,
                                                               cost(seat, u))
                arcs.append((arc, seat, u.id))
    for u in supervisors:
        flow.add_arc_with_capacity_and_unit_cost(sup_node[u.id], sink, u.capacity, 0)
    flow.set_node_supply(source, len(seats))
    flow.set_node_supply(sink, -len(seats))
    if flow.solve_max_flow_with_min_cost() != flow.OPTIMAL:
        raise RecoveryError(f"supervisor matching failed for {what}")
    chosen = {seat: u_id for arc, seat, u_id in arcs if flow.flow(arc) > 0}
    if len(chosen) != len(seats):
        missing = ", ".join(s.info.id for s in seats if s not in chosen)
        raise RecoveryError(f"no supervisor left for {missing} at {what}")
    return chosen


def _reference_supervisors(reference: Plan | None) -> tuple[
        dict[tuple[str, int, str], str], dict[tuple[str, int, str], str]]:
    """A plan's named supervisors by (learner, block, role), present ones by session."""
    if reference is None:
        return {}, {}
    t = reference.timetable
    present = {(str(lid), int(block), str(d)): str(u) for lid, block, d, u in zip(
        t["learner_id"], t["block"], t["session"], t["supervisor_id"], strict=True) if u}
    return named_supervisors_of(reference), present


Choices = tuple[dict[tuple[int, int, Role], str], set[tuple[int, int, Role, str]],
                dict[tuple[int, int, Role], int]]
"""A plan as the model decides it: site per (learner index, block, role), clinical
(learner index, block, role, session), and each rotation block's first block."""


def choices(inst: Instance, v: Variables, value: Callable[[Lit], int]) -> Choices:
    """Sites, clinical sessions and placement starts read off a solution."""
    site_of: dict[tuple[int, int, Role], str] = {}
    for info in inst.learners:
        if not value(v.placed[info.index]):
            continue
        for block in info.blocks:
            if not value(v.active[(info.index, block)]):
                continue  # an idle block (§9.1): no site, supervisor or timetable
            for role in inst.roles_of(info):
                chosen = [s for s, lit in v.place[(info.index, block, role)].items() if value(lit)]
                if len(chosen) != 1:
                    raise RecoveryError(f"{info.id} block {block} {role}: {len(chosen)} sites")
                site_of[(info.index, block, role)] = chosen[0]
    working = {(i, block, role, d) for (i, block, role), _ in site_of.items()
               for d in inst.learners[i].candidates if value(v.works[(i, block, role, d)])}
    return site_of, working, _first_blocks(inst, v, value)


def recover(inst: Instance, v: Variables, value: Callable[[Lit], int],
            reference: Plan | None = None) -> Plan:
    """Build the plan from variable values (see :func:`recover_plan`)."""
    return recover_plan(inst, *choices(inst, v, value), reference=reference)


def recover_plan(inst: Instance, site_of: dict[tuple[int, int, Role], str],
                 working: set[tuple[int, int, Role, str]],
                 first_block: dict[tuple[int, int, Role], int], *,
                 reference: Plan | None = None) -> Plan:
    """Build the full plan (named and present supervisors, timetables) from choices.

    Parameters
    ----------
    inst
        The scenario index (every learner of the plan).
    site_of, working, first_block
        Sites per (learner index, block, role), clinical sessions, and the
        first block of each rotation block's placement.
    reference
        A plan whose supervisors are kept where possible (costs outrank the
        other preferences of the matchings).
    """
    sc = inst.scenario
    old_named, old_present = _reference_supervisors(reference)

    # Named supervisors: one b-matching per site and block.
    by_site_block: dict[tuple[str, int], list[_Seat]] = defaultdict(list)
    for (i, block, role), site_id in site_of.items():
        by_site_block[(site_id, block)].append(_Seat(inst.learners[i], role))
    named: dict[tuple[int, int, Role], str] = {}
    previous_base: dict[int, str] = {}
    for (site_id, block) in sorted(by_site_block, key=lambda k: (k[1], k[0])):
        seats = by_site_block[(site_id, block)]
        profs = frozenset(seat.info.profession for seat in seats)
        sups = inst.named_supervisors(site_id, block, profs)

        def keep_base(seat: _Seat, u: Supervisor, block: int = block) -> int:
            same = seat.role == BASE and previous_base.get(seat.info.index) == u.id
            kept = old_named.get((seat.info.id, block, seat.role), u.id) == u.id
            return (0 if kept else 2) + (0 if same else 1)

        match = _match(seats, sups,
                       lambda seat, u: sc.may_supervise(u.profession, seat.info.profession),
                       keep_base, f"{site_id} block {block}")
        for seat, u_id in match.items():
            named[(seat.info.index, block, seat.role)] = u_id
            if seat.role == BASE:
                previous_base[seat.info.index] = u_id

    # Weekly timetables and the supervisor present in each clinical session.
    clinical: dict[tuple[str, int, str], list[_Seat]] = defaultdict(list)
    sessions_of: dict[tuple[int, int], list[tuple[str, Role]]] = defaultdict(list)
    for (i, block, role), site_id in site_of.items():
        info = inst.learners[i]
        for d in info.candidates:
            if (i, block, role, d) in working:
                clinical[(site_id, block, d)].append(_Seat(info, role))
                sessions_of[(i, block)].append((d, role))
    present: dict[tuple[int, int, str], str] = {}
    for (site_id, block, d), seats in sorted(clinical.items()):
        site = sc.site_by_id[site_id]
        sups = [u for u in site.supervisors
                if d in sc.supervisor_sessions(site, u) and block not in u.unavailable_blocks
                and u.capacity > 0]
        def prefer_named(seat: _Seat, u: Supervisor, block: int = block, d: str = d) -> int:
            kept = old_present.get((seat.info.id, block, d), u.id) == u.id
            same = named[(seat.info.index, block, seat.role)] == u.id
            return (0 if kept else 2) + (0 if same else 1)

        match = _match(
            seats, sups,
            lambda seat, u: sc.may_supervise(u.profession, seat.info.profession),
            prefer_named,
            f"{site_id} block {block} {d}",
        )
        for seat, u_id in match.items():
            present[(seat.info.index, block, d)] = u_id

    spans = sc.uses_v2  # §9.4: start_block, required once a placement is longer than a block
    placed = {i for (i, _, _) in site_of}
    assignments: list[tuple[object, ...]] = []
    timetable: list[tuple[str, int, str, str, str, str]] = []
    order = {d: k for k, d in enumerate(sc.programme.sessions)}
    for info in inst.learners:
        if info.index not in placed:
            continue
        for block in info.blocks:
            if (info.index, block, inst.roles_of(info)[0]) not in site_of:
                continue  # idle
            for role in inst.roles_of(info):
                key = (info.index, block, role)
                row: tuple[object, ...] = (info.id, block, role, site_of[key], named[key])
                if spans:
                    row += (first_block.get(key, block),)
                assignments.append(row)
            rows = [(d, Activity.TEACHING, "", "") for d in info.teaching]
            for d, role in sessions_of[(info.index, block)]:
                site_id = site_of[(info.index, block, role)]
                rows.append((d, Activity.CLINICAL, site_id, present[(info.index, block, d)]))
            rows.sort(key=lambda r: order[r[0]])
            timetable.extend((info.id, block, *row) for row in rows)
    return Plan.from_rows(assignments, timetable, start_block=spans)


def _first_blocks(inst: Instance, v: Variables, value: Callable[[Lit], int]
                  ) -> dict[tuple[int, int, Role], int]:
    """The first block of the placement holding each rotation block (§9.4 ``start_block``)."""
    out: dict[tuple[int, int, Role], int] = {}
    for i, starts in v.start.items():
        for (site, first), lit in starts.items():
            if value(lit):
                for block in range(first, first + inst.length(site)):
                    out[(i, block, ROTATION)] = first
    return out


__all__ = ["Choices", "RecoveryError", "choices", "recover", "recover_plan"]
