"""Who is asking, and what they may do: identities, teams and roles for the store.

rotaplan runs in one of two modes:

- **local** (the default): one person on one computer. The app serves loopback
  clients only and nobody signs in; the caller is :data:`LOCAL`, admin of the
  team ``local``.
- **shared**: people sign in (OpenID Connect, e.g. Microsoft Entra ID) and every
  scenario and run belongs to an owner and a team. What a person may do with a
  team's scenarios depends on their role in that team (:class:`Role`). Everyone
  also has a personal team, ``user:<email>``, that only they belong to.

The store (:mod:`rotaplan.runs.store`) checks every query against the caller's
:class:`Identity`; the pages only decide what to offer. Teams and roles come
from configuration (the ``[rotaplan.teams]`` table of Streamlit's
``secrets.toml``)::

    [rotaplan]
    mode = "shared"

    [rotaplan.teams.north-foundation]
    admins = ["lead@trust.nhs.uk"]
    editors = ["planner@trust.nhs.uk"]
    viewers = ["tutor@trust.nhs.uk"]

This module has no Streamlit in it: the sign-in pages give it plain mappings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

MODE_ENV_VAR = "ROTAPLAN_MODE"
LOCAL_TEAM = "local"
PERSONAL_PREFIX = "user:"

__all__ = [
    "LOCAL",
    "LOCAL_TEAM",
    "MODE_ENV_VAR",
    "AccessDeniedError",
    "Identity",
    "Role",
    "identity_for",
    "mode",
    "personal_team",
    "teams_for",
]


class Role(IntEnum):
    """A person's role in a team; each role may do what the ones below it may.

    - ``VIEWER``: list and open the team's scenarios, versions, runs and plans;
    - ``EDITOR``: also create scenarios in the team, edit and solve them, rename
      them, and delete the ones they own;
    - ``ADMIN``: also delete any of the team's scenarios.
    """

    VIEWER = 1
    EDITOR = 2
    ADMIN = 3


class AccessDeniedError(PermissionError):
    """The caller can see a scenario but their role does not allow this change."""


def personal_team(user: str) -> str:
    """The team only ``user`` belongs to (their own scenarios)."""
    return f"{PERSONAL_PREFIX}{user}"


@dataclass(frozen=True)
class Identity:
    """The person a store call is made for.

    Parameters
    ----------
    user : str
        A stable id: the signed-in email address, lower-cased, or ``local``.
    name : str
        How to show them.
    teams : Mapping[str, Role]
        Their role in each team they belong to.
    home : str
        The team their new scenarios go to (one where they are at least editor).
    """

    user: str
    name: str
    teams: Mapping[str, Role] = field(hash=False)
    home: str

    def role_in(self, team: str) -> Role | None:
        """Their role in ``team``, or None when they are not in it."""
        return self.teams.get(team)

    def can(self, team: str, needed: Role) -> bool:
        """True when their role in ``team`` is at least ``needed``."""
        role = self.role_in(team)
        return role is not None and role >= needed

    def can_delete(self, team: str, owner: str) -> bool:
        """Admins delete any of the team's scenarios; editors delete their own."""
        return self.can(team, Role.ADMIN) or (owner == self.user and self.can(team, Role.EDITOR))

    def editable_teams(self) -> list[str]:
        """Teams they may create scenarios in: their home team first, then by name."""
        teams = sorted(t for t, r in self.teams.items() if r >= Role.EDITOR)
        return sorted(teams, key=lambda t: t != self.home)

    def with_home(self, team: str) -> Identity:
        """The same person with new scenarios going to ``team``.

        Raises
        ------
        AccessDeniedError
            When they may not create scenarios in ``team``.
        """
        if not self.can(team, Role.EDITOR):
            raise AccessDeniedError(f"{self.user} may not create scenarios in team {team}")
        return Identity(self.user, self.name, self.teams, team)


LOCAL = Identity(user="local", name="this computer", teams={LOCAL_TEAM: Role.ADMIN},
                 home=LOCAL_TEAM)
"""The one person of local mode (and the owner of anything saved before sign-in)."""


def mode(settings: Mapping[str, Any] | None = None) -> str:
    """The mode to run in: ``ROTAPLAN_MODE``, else ``settings['mode']``, else ``local``.

    Raises
    ------
    ValueError
        For a mode other than ``local`` or ``shared``.
    """
    value = (os.environ.get(MODE_ENV_VAR, "").strip()
             or str((settings or {}).get("mode", "")).strip() or "local").lower()
    if value not in {"local", "shared"}:
        raise ValueError(f"{MODE_ENV_VAR} (or [rotaplan] mode) must be 'local' or 'shared'; "
                         f"it is {value!r}")
    return value


_ROLE_KEYS = {"admins": Role.ADMIN, "editors": Role.EDITOR, "viewers": Role.VIEWER}


def teams_for(user: str, teams: Mapping[str, Any] | None) -> dict[str, Role]:
    """A user's role in each configured team (their highest, if listed twice).

    Parameters
    ----------
    user : str
        Their email address (compared without regard to case).
    teams : Mapping
        ``{team: {"admins": [...], "editors": [...], "viewers": [...]}}``.

    Raises
    ------
    ValueError
        For a team entry that is not laid out like that.
    """
    found: dict[str, Role] = {}
    wanted = user.strip().lower()
    for team, members in (teams or {}).items():
        if not isinstance(members, Mapping):
            raise ValueError(f"[rotaplan.teams.{team}] must list admins, editors and viewers")
        unknown = set(members) - set(_ROLE_KEYS)
        if unknown:
            raise ValueError(f"[rotaplan.teams.{team}] has {sorted(unknown)}; "
                             f"use admins, editors and viewers")
        if str(team).startswith(PERSONAL_PREFIX) or str(team) == LOCAL_TEAM:
            raise ValueError(f"team name {team!r} is reserved")
        for key, role in _ROLE_KEYS.items():
            people = members.get(key, [])
            if isinstance(people, str) or not all(isinstance(p, str) for p in people):
                raise ValueError(f"[rotaplan.teams.{team}] {key} must be a list of emails")
            if wanted in {p.strip().lower() for p in people}:
                found[str(team)] = max(role, found.get(str(team), role))
    return found


def identity_for(user: str, name: str, teams: Mapping[str, Any] | None,
                 home: str | None = None) -> Identity:
    """The identity of a signed-in person: their configured teams and a personal team.

    Parameters
    ----------
    user : str
        Their email address; it is lower-cased to be their id.
    name : str
        How to show them (their name from the sign-in, or the address).
    teams : Mapping
        The ``[rotaplan.teams]`` configuration (see :func:`teams_for`).
    home : str, optional
        The team their new scenarios go to; defaults to their personal team.
    """
    uid = user.strip().lower()
    if not uid:
        raise ValueError("a signed-in user needs an email address")
    roles = teams_for(uid, teams) | {personal_team(uid): Role.ADMIN}
    chosen = home if home is not None and roles.get(home, Role.VIEWER) >= Role.EDITOR \
        else personal_team(uid)
    return Identity(uid, name or uid, roles, chosen)
