"""The scenario's table grids: what each grid shows, and how its edits reach the tables.

A Streamlit data editor keeps the user's edits in the browser as one change set
(``edited_rows``, ``added_rows``, ``deleted_rows``) relative to the data it was
drawn with, and sends the whole set after every committed cell. The widget's
identity is a hash of that data and of its column settings (Streamlit 1.67,
``data_editor.py``: for ``num_rows="dynamic"`` the id covers the full Arrow
data), so drawing it with other data, other choices or another key makes a new,
empty grid in the browser, and what the user typed meanwhile, in a cell or in
a new row, is thrown away (issue 12 A6).

So a grid is drawn from a fixed *base* (the table as it was when the grid was
made) under a fixed key, with fixed column choices, for as long as it is on
screen. Every run folds the grid's change set into the tables
(:func:`fold`): the table is rebuilt from the base and the whole change set,
so folding is idempotent and never depends on which runs the browser's
messages arrived in. The grids are remade from the tables (:func:`rebase`) only
when nothing can be typed into them: a scenario is opened, or the Scenario page
is entered again (Streamlit drops a grid's change set once it is not drawn), or
the user asks for new choices with a button.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import streamlit as st

from rotaplan.io import tables
from rotaplan.models import DEFAULT_SESSIONS

TABLES = tuple(tables.COLUMNS)
"""The tables shown as grids, in page order."""

CHANGE_KEYS = ("edited_rows", "added_rows", "deleted_rows")


def _ss() -> Any:
    return st.session_state


def key(table: str) -> str:
    """The widget key of a table's grid (stable until :func:`rebase`)."""
    return f"editor-{table}-{_ss().gen.get(table, 0)}"


def base(table: str) -> pd.DataFrame:
    """The data a table's grid is drawn with (fixed until :func:`rebase`)."""
    return _ss().editor_base[table]


def choices(scenario_tables: tables.ScenarioTables) -> dict[str, list[str]]:
    """Drop-down choices of the grids' id columns, from the tables as they are now."""
    frames = scenario_tables.frames
    settings = [s for s in frames["settings"]["id"] if s]
    sites = [s for s in frames["sites"]["id"] if s]
    professions = list(scenario_tables.professions)
    sessions = [str(x) for x in tables.parse_list(scenario_tables.programme.get("sessions"))
                or DEFAULT_SESSIONS]
    return {"setting": settings, "site_id": sites, "profession": professions,
            "learner_profession": professions, "track": ["rotation", "fellowship"],
            "session": sessions}


def frozen_choices() -> dict[str, list[str]]:
    """The drop-down choices the grids on screen were drawn with."""
    return dict(_ss().editor_choices)


def rebase() -> None:
    """Draw every grid afresh from the tables: new keys, no pending changes, new choices.

    Call only when no grid is on screen to type into (a scenario was opened, the
    page is being entered) or when the user asked for it: the browser's grids are
    replaced.
    """
    state = _ss()
    state.setdefault("gen", {})
    state.editor_base = {}
    state.editor_applied = {}
    for table in TABLES:
        state.editor_base[table] = state.tables.frames[table].copy()
        state.editor_applied[table] = empty_changes()
        state.gen[table] = state.gen.get(table, 0) + 1
    state.editor_choices = choices(state.tables)


def empty_changes() -> dict[str, Any]:
    """A change set that changes nothing."""
    return {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def plain_changes(raw: Any) -> dict[str, Any]:
    """A grid's change set as plain, comparable Python values (row positions as ints)."""
    out = empty_changes()
    if not hasattr(raw, "get"):
        return out
    out["edited_rows"] = {int(pos): dict(cells) for pos, cells
                          in dict(raw.get("edited_rows") or {}).items()}
    out["added_rows"] = [dict(row) for row in raw.get("added_rows") or []]
    out["deleted_rows"] = sorted(int(pos) for pos in raw.get("deleted_rows") or [])
    return copy.deepcopy(out)


def fold() -> list[str]:
    """Fold every grid's change set into the tables; the grids themselves are left alone.

    Returns
    -------
    list of str
        One line per table that changed since the last fold, in a few words
        (empty when nothing changed).
    """
    state = _ss()
    notes = []
    for table in TABLES:
        raw = state.get(key(table))
        if raw is None:  # never drawn, or dropped by Streamlit: already folded
            continue
        changes = plain_changes(raw)
        before = state.editor_applied.get(table) or empty_changes()
        if changes == before:
            continue
        frame = base(table)
        try:
            state.tables.frames[table] = tables.apply_editor_changes(frame, changes)
        except (IndexError, KeyError, ValueError, TypeError) as exc:  # not sent by 1.67: no crash
            notes.append(f"{tables.TABLE_TITLES[table]}: an edit could not be read ({exc}); "
                         "please check the table")
            continue
        state.editor_applied[table] = changes
        notes.append(describe(table, frame, before, changes))
    return notes


def describe(table: str, frame: pd.DataFrame, before: dict[str, Any],
             after: dict[str, Any]) -> str:
    """What one change set adds to the previous one, in a few words.

    ``Sites row 8 (att-orchard): rooms 5 → 1``; ``1 row added to Care settings``.
    Positions are the grid's rows as drawn (the base).
    """
    title = tables.TABLE_TITLES[table]
    parts = []
    old_cells = before.get("edited_rows") or {}
    for row, cells in sorted((after.get("edited_rows") or {}).items()):
        ident = frame.iloc[row]["id"] if "id" in frame.columns and row < len(frame) else ""
        where = f"{title} row {row + 1}" + (f" ({ident})" if ident else "")
        for column, value in cells.items():
            was = old_cells.get(row, {}).get(column, frame.iloc[row][column]
                                              if row < len(frame) and column in frame.columns
                                              else "")
            if tables.cell_text(value) == tables.cell_text(was):
                continue
            parts.append(f"{where}: {column} {tables.cell_text(was) or 'blank'} → "
                         f"{tables.cell_text(value) or 'blank'}")
    added, was_added = after.get("added_rows") or [], before.get("added_rows") or []
    if len(added) > len(was_added):
        parts.append(f"{len(added) - len(was_added)} row(s) added to {title}")
    elif added != was_added:
        parts.append(f"new rows of {title} edited" if len(added) == len(was_added)
                     else f"{len(was_added) - len(added)} new row(s) removed from {title}")
    deleted = set(after.get("deleted_rows") or []) - set(before.get("deleted_rows") or [])
    if deleted:
        parts.append(f"{len(deleted)} row(s) deleted from {title}")
    return "; ".join(parts) or f"{title} changed"
