"""The contract's words as types: statuses, roles, activities and rule names.

They are :class:`~enum.StrEnum` members, so they are written to CSV and JSON as
the contract spells them (``OPTIMAL``, ``rotation``, ``site-capacity``) and
compare equal to those strings when read back.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """``summary.json`` ``status`` (contract §8)."""

    OPTIMAL = "OPTIMAL"
    """A plan no plan beats (proven)."""
    FEASIBLE = "FEASIBLE"
    """A plan, not proven best; ``gap`` says how far it could be."""
    INFEASIBLE = "INFEASIBLE"
    """No plan exists (proven); the explanation says why."""
    UNKNOWN = "UNKNOWN"
    """Neither a plan nor a proof that none exists within the time limit."""
    INVALID = "INVALID"
    """The input is invalid."""

    @property
    def has_plan(self) -> bool:
        """Whether the status comes with a plan."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class Role(StrEnum):
    """A placement's ``role`` in ``assignments.csv`` (contract §5, §8)."""

    ROTATION = "rotation"
    BASE = "base"
    PARTNER = "partner"


class Activity(StrEnum):
    """A session's ``activity`` in ``timetable.csv``."""

    CLINICAL = "clinical"
    TEACHING = "teaching"


class Track(StrEnum):
    """A learner's ``track``."""

    ROTATION = "rotation"
    FELLOWSHIP = "fellowship"


class Rule(StrEnum):
    """The rules by the names the contract gives them (§6, §9.2).

    ``PLACEMENT`` is rotaplan's name for §5 itself (every learner placed in each
    of their blocks); explanations use it for a learner left with no option.
    """

    PLACEMENT = "placement"
    ELIGIBILITY = "eligibility"
    SITE_CAPACITY = "site-capacity"
    SUPERVISOR_MATCH = "supervisor-match"
    SUPERVISOR_CAPACITY = "supervisor-capacity"
    WORKING_PATTERN = "working-pattern"
    SITE_OPEN = "site-open"
    SUPERVISOR_PRESENT = "supervisor-present"
    ROOMS = "rooms"
    COVER = "cover"
    NO_REPEAT_SITE = "no-repeat-site"
    FELLOWSHIP = "fellowship"
    SITE_MINIMUM = "site-minimum"
    PLACEMENT_LENGTH = "placement-length"
    PLACEMENT_COUNT = "placement-count"
    REQUIREMENTS = "requirements"
    NO_REPEAT_SETTING = "no-repeat-setting"
    PRECEDENCE = "precedence"
    ORGANISATION_CAP = "organisation-cap"


__all__ = ["Activity", "Role", "Rule", "Status", "Track"]
