"""Renaming a site or a care setting everywhere it is referred to, in the scenario's tables.

A site's id appears in the Sites table and in the rooms, supervisors and
learners (preferences, avoid, pinned, completed, scores) that name it; a
setting's id in the Care settings table, the sites of that setting, learners'
preferences and requirements, and the tracks. :func:`rename` changes every
whole-word occurrence in those places, and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rotaplan.io.tables import ScenarioTables

SITE, SETTING = "site", "setting"
KINDS = (SITE, SETTING)

_LEARNER_REFERENCES = ("preferences", "avoid", "pinned", "completed", "scores", "requirements")
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    SITE: {"sites": ("id",), "rooms": ("site_id",), "supervisors": ("site_id",),
           "learners": _LEARNER_REFERENCES},
    SETTING: {"settings": ("id",), "sites": ("setting",), "learners": _LEARNER_REFERENCES},
}
"""Per kind of id, the table columns whose cells may refer to it."""

_ID_CHARS = r"A-Za-z0-9_.\-"


class RenameError(ValueError):
    """A rename that cannot be made; the message says why in plain words."""


@dataclass(frozen=True)
class Renamed:
    """The outcome of :func:`rename`.

    Attributes
    ----------
    tables
        The renamed tables (a copy; the input is left as it was).
    cells
        How many table cells (and track fields) changed.
    """

    tables: ScenarioTables
    cells: int


def _pattern(old: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![{_ID_CHARS}]){re.escape(old)}(?![{_ID_CHARS}])")


def ids(scenario_tables: ScenarioTables, kind: str) -> list[str]:
    """The ids of one kind (:data:`KINDS`) in the tables, in table order."""
    frame = scenario_tables.frames["sites" if kind == SITE else "settings"]
    return [str(v).strip() for v in frame["id"] if str(v).strip()]


def rename(scenario_tables: ScenarioTables, kind: str, old: str, new: str) -> Renamed:
    """Rename a site or a setting, and every reference to it.

    Parameters
    ----------
    scenario_tables
        The tables (not changed).
    kind
        :data:`SITE` or :data:`SETTING`.
    old, new
        The id now, and the id wanted.

    Returns
    -------
    Renamed
        The new tables and how many cells changed.

    Raises
    ------
    RenameError
        When ``old`` is not an id of that kind, ``new`` is blank, not an id
        (letters, digits, ``_``, ``.`` and ``-``), or already used.
    """
    if kind not in KINDS:
        raise RenameError(f"only a site or a care setting can be renamed, not a {kind}")
    new = new.strip()
    known = ids(scenario_tables, kind)
    if old not in known:
        raise RenameError(f"there is no {kind} '{old}'")
    if not new:
        raise RenameError("the new id is blank")
    if not re.fullmatch(rf"[{_ID_CHARS}]+", new):
        raise RenameError(f"'{new}' is not an id: use letters, digits, '_', '.' and '-'")
    if new == old:
        raise RenameError(f"'{old}' already has that id")
    if new in known:
        raise RenameError(f"there is already a {kind} '{new}'")
    pattern = _pattern(old)
    out = scenario_tables.copy()
    cells = 0
    for table, columns in REFERENCES[kind].items():
        frame = out.frames[table]
        for column in columns:
            if column not in frame.columns:
                continue
            values = [str(v) for v in frame[column]]
            renamed = [pattern.sub(new, v) for v in values]
            cells += sum(1 for a, b in zip(values, renamed, strict=True) if a != b)
            frame[column] = renamed
    if kind == SETTING:
        out.tracks, moved = _rename_in(out.tracks, old, new)
        cells += moved
    return Renamed(out, cells)


def _rename_in(value: Any, old: str, new: str) -> tuple[Any, int]:
    """A document with every string equal to ``old`` replaced (and how many were)."""
    if isinstance(value, str):
        return (new, 1) if value == old else (value, 0)
    if isinstance(value, list):
        parts = [_rename_in(v, old, new) for v in value]
        return [p[0] for p in parts], sum(p[1] for p in parts)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        count = 0
        for k, v in value.items():
            out[k], n = _rename_in(v, old, new)
            count += n
        return out, count
    return value, 0
