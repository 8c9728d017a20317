"""Edits of a scenario as data: newcomers, more rooms, places, supervision, opening, leave.

Capacity questions, explanations and sweeps change scenarios in these few ways;
each edit returns a new, validated :class:`~rotaplan.models.Scenario` and never
changes the one it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rotaplan.models.scenario import Learner, Scenario

Edit = Callable[[dict[str, Any]], None]
"""Changes a scenario's data (``Scenario.model_dump()``) in place."""


class EditError(ValueError):
    """The edit cannot be made (an unknown learner, profession or track)."""


def changed(scenario: Scenario, *edits: Edit) -> Scenario:
    """A copy of the scenario with ``edits`` applied to its data (validated again)."""
    data = scenario.model_dump()
    for edit in edits:
        edit(data)
    return Scenario.model_validate(data)


def more_site_places(site_id: str, count: int = 1) -> Edit:
    """``count`` more places at a site in every block it limits."""
    def edit(data: dict[str, Any]) -> None:
        site = next(s for s in data["sites"] if s["id"] == site_id)
        cap = site["capacity"]
        if isinstance(cap, dict):
            site["capacity"] = {b: int(n) + count for b, n in cap.items()}
        elif cap is not None:
            site["capacity"] = cap + count
    return edit


def more_supervision(sup_id: str, count: int = 1) -> Edit:
    """A supervisor supervising ``count`` more learners at once."""
    def edit(data: dict[str, Any]) -> None:
        for site in data["sites"]:
            for sup in site["supervisors"]:
                if sup["id"] == sup_id:
                    sup["capacity"] += count
    return edit


def more_rooms(site_id: str, session: str | None = None, count: int = 1) -> Edit:
    """``count`` more rooms at a site in one weekly session (every session when None)."""
    def edit(data: dict[str, Any]) -> None:
        site = _site(data, site_id)
        rooms = site["rooms"]
        if session is None:
            if isinstance(rooms, dict):
                site["rooms"] = {k: int(v or 0) + count for k, v in rooms.items()}
                if "default" not in rooms:
                    site["rooms"]["default"] = count
            elif rooms is not None:
                site["rooms"] = int(rooms) + count
            return
        if isinstance(rooms, dict):
            base = int(rooms.get(session, rooms.get("default", 0)) or 0)
            site["rooms"] = rooms | {session: base + count}
        elif rooms is not None:
            site["rooms"] = {"default": rooms, session: int(rooms) + count}
    return edit


def open_sessions(site_id: str, sessions: list[str]) -> Edit:
    """A site open in ``sessions`` as well as its current opening sessions."""
    def edit(data: dict[str, Any]) -> None:
        site = _site(data, site_id)
        current = site.get("open_sessions")
        if current is None:
            return  # open every session already
        every = data["programme"].get("sessions") or list(sessions)
        wanted = set(current) | set(sessions)
        site["open_sessions"] = [d for d in every if d in wanted]
    return edit


def back_from_leave(sup_id: str, block: int) -> Edit:
    """A supervisor available in a block they were to be away."""
    def edit(data: dict[str, Any]) -> None:
        for site in data["sites"]:
            for sup in site["supervisors"]:
                if sup["id"] == sup_id:
                    sup["unavailable_blocks"] = [b for b in sup.get("unavailable_blocks") or []
                                                 if int(b) != block]
    return edit


def fewer_minimum(site_id: str, count: int = 1) -> Edit:
    """A site's ``min_learners`` lowered by ``count`` in every block it sets (not below 0)."""
    def edit(data: dict[str, Any]) -> None:
        site = _site(data, site_id)
        low = site.get("min_learners")
        if isinstance(low, dict):
            site["min_learners"] = {b: max(0, int(n) - count) for b, n in low.items()}
        elif low:
            site["min_learners"] = max(0, int(low) - count)
    return edit


def _site(data: dict[str, Any], site_id: str) -> dict[str, Any]:
    """A site's data by id (EditError when there is none)."""
    for site in data["sites"]:
        if site["id"] == site_id:
            return site
    raise EditError(f"no site {site_id!r}")


@dataclass(frozen=True)
class Newcomer:
    """The kind of learner to add.

    Attributes
    ----------
    profession
        Their profession (must be one of the scenario's).
    track
        ``rotation`` or ``fellowship``.
    like
        Id of an existing learner to copy (everything but the id and name:
        profession, track, pattern, preferences, pins and, in version 2,
        placements, requirements, scores and weights); overrides ``profession``
        and ``track``.
    """

    profession: str | None = None
    track: str = "rotation"
    like: str | None = None

    def template(self, scenario: Scenario) -> Learner:
        """The learner every newcomer is a copy of (id to be replaced).

        Raises
        ------
        EditError
            For an unknown learner or profession, or a fellowship without track.
        """
        if self.like is not None:
            if self.like not in scenario.learner_by_id:
                raise EditError(f"--like {self.like}: no learner with that id")
            return scenario.learner_by_id[self.like]
        if self.profession not in scenario.professions:
            raise EditError(f"profession {self.profession!r} is not in the scenario's "
                            f"professions ({', '.join(scenario.professions)})")
        if self.track == "fellowship" and scenario.tracks.fellowship is None:
            raise EditError("the scenario has no fellowship track")
        if self.track == "fellowship":
            return Learner(id="template", profession=self.profession, track="fellowship")
        return Learner(id="template", profession=self.profession)

    def describe(self, scenario: Scenario) -> str:
        """Plain words: 'nurse learners (full-time, ...)' or 'copies of L017 (...)'."""
        t = self.template(scenario)
        if self.like is not None:
            return f"copies of {self.like} ({t.profession}, {t.track} track)"
        return f"{t.profession} learners (full-time, {t.track} track, every block)"


def with_newcomers(scenario: Scenario, newcomer: Newcomer, count: int
                   ) -> tuple[Scenario, list[str]]:
    """The scenario plus ``count`` copies of the newcomer, and their ids."""
    template = newcomer.template(scenario)
    taken = set(scenario.learner_by_id)
    stem = f"new-{template.profession}"
    ids: list[str] = []
    k = 1
    while len(ids) < count:
        candidate = f"{stem}-{k:03d}"
        if candidate not in taken:
            ids.append(candidate)
        k += 1
    data = scenario.model_dump()
    copy = template.model_dump()
    data["learners"] += [copy | {"id": i, "name": None} for i in ids]
    return Scenario.model_validate(data), ids


__all__ = ["Edit", "EditError", "Newcomer", "back_from_leave", "changed", "fewer_minimum",
           "more_rooms", "more_site_places", "more_supervision", "open_sessions",
           "with_newcomers"]
