"""What learners outside a model already use: a neighbourhood's fixed part.

Neighbourhood search and the sequential first plan solve models of a few
learners while everyone else stays where they are. Only the few are in the
model; the others' use of each site, supervisor and room is a :class:`Load`,
taken off every limit (site capacity, Hall groups of named supervisors, rooms
and supervisors present per session) and off every minimum. A model of 40
learners out of 2,000 is then as small as 40 learners make it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rotaplan.solver.instance import Instance, Role

Sites = dict[tuple[int, int, Role], str]
"""(learner index, block, role) -> site: where a plan puts each learner."""
Working = set[tuple[int, int, Role, str]]
"""(learner index, block, role, session) worked clinically."""


@dataclass
class Load:
    """Use of sites, supervisors and rooms by learners who are not in the model.

    Attributes
    ----------
    placed
        (site, block) -> learners there.
    professions
        (site, block) -> profession -> learners there.
    clinical
        (site, block, session) -> clinical sessions held there.
    clinical_professions
        (site, block, session) -> profession -> clinical sessions held there.
    worst
        The largest cost of a learner outside the model (fairness), or None.
    """

    placed: Counter[tuple[str, int]] = field(default_factory=Counter)
    professions: defaultdict[tuple[str, int], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter))
    clinical: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    clinical_professions: defaultdict[tuple[str, int, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter))
    worst: int | None = None

    def __bool__(self) -> bool:
        return bool(self.placed) or self.worst is not None

    @classmethod
    def of(cls, inst: Instance, site_of: Sites, working: Working, learners: Iterable[int],
           worst: int | None = None) -> Load:
        """The load of the given learners (indices in ``inst``) in a plan's sites and sessions."""
        mine = set(learners)
        out = cls(worst=worst)
        for (i, block, _), site in site_of.items():
            if i in mine:
                out.placed[(site, block)] += 1
                out.professions[(site, block)][inst.learners[i].profession] += 1
        for i, block, role, session in working:
            if i not in mine:
                continue
            site = site_of[(i, block, role)]
            out.clinical[(site, block, session)] += 1
            out.clinical_professions[(site, block, session)][inst.learners[i].profession] += 1
        return out

    def count(self, site: str, block: int, professions: Iterable[str] | None = None) -> int:
        """Learners at a site in a block (of the given professions)."""
        if professions is None:
            return self.placed.get((site, block), 0)
        counts = self.professions.get((site, block))
        return 0 if counts is None else sum(counts.get(p, 0) for p in professions)

    def sessions(self, site: str, block: int, session: str,
                 professions: Iterable[str] | None = None) -> int:
        """Clinical sessions held at a site in a block and session (of the professions)."""
        if professions is None:
            return self.clinical.get((site, block, session), 0)
        counts = self.clinical_professions.get((site, block, session))
        return 0 if counts is None else sum(counts.get(p, 0) for p in professions)

    def professions_at(self, site: str, block: int) -> set[str]:
        """Professions of the learners outside the model at a site in a block."""
        counts = self.professions.get((site, block))
        return set() if counts is None else {p for p, n in counts.items() if n}

    def professions_in(self, site: str, block: int, session: str) -> set[str]:
        """Professions of learners outside the model clinical at a site then."""
        counts = self.clinical_professions.get((site, block, session))
        return set() if counts is None else {p for p, n in counts.items() if n}


__all__ = ["Load", "Sites", "Working"]
