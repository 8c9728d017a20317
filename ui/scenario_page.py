"""Scenario page: open, upload or start a scenario, and edit it in tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rotaplan.io import rename, tables
from rotaplan.ui import editors, state, steps
from rotaplan.ui.state import ss

HELP = {
    "settings": "Care settings learners rotate through (stroke, community rehab, primary care…).",
    "sites": "Placement sites. Capacity: learners per block (a number, or block: number pairs "
             "such as '1: 2, 3: 1'). Rooms: clinical rooms per session (blank: no limit); "
             "add exceptions for single sessions in the next table.",
    "rooms": "Rooms in one session at one site, overriding the site's Rooms column. "
             "If the site's Rooms cell is blank, sessions not listed here have no rooms.",
    "supervisors": "Who supervises at each site, how many learners at once, and on which "
                   "sessions (blank: whenever the site is open).",
    "learners": "One row per learner. Preferences: sites or settings, best first. "
                "Pinned: block: site pairs such as '1: market-pcn'.",
    "supervision": "Which professions may supervise a learner profession (by default, "
                   "only their own).",
}

COLUMN_HELP = {
    "accepts": "Professions the site takes, comma separated (blank: all)",
    "capacity": "Learners at once (blank: no limit)",
    "min_learners": "Learners the site needs every block (or block: number pairs)",
    "open_sessions": "Sessions the site is open, comma separated (blank: all)",
    "rooms": "Clinical rooms per session (blank: no limit)",
    "sessions": "Sessions worked, comma separated (blank: all the site's sessions)",
    "unavailable_blocks": "Blocks away, comma separated",
    "sessions_per_week": "Sessions worked each week (blank: all available)",
    "available_sessions": "Sessions the learner can work (blank: all)",
    "blocks": "Blocks in the programme (blank: all)",
    "preferences": "Sites or settings, best first, comma separated",
    "avoid": "Sites or settings never to use",
    "pinned": "Fixed placements, block: site pairs",
    "supervised_by": "Professions that may supervise, comma separated",
}


def render() -> None:
    """Draw the page."""
    _source_bar()
    check = state.validation()
    step_list = steps.steps(ss().tables, check)
    steps.show(step_list)
    _status(check, step_list)
    _programme(check)
    _rename()
    _stale_choices()
    for table in editors.TABLES:
        _table(table, check)
    _tracks()


def _source_bar() -> None:
    left, middle, right = st.columns([2, 3, 2])
    with left:
        names = list(state.SHIPPED)
        choice = st.selectbox("Shipped scenario", names, index=names.index("demo")
                              if "demo" in names else 0, key="shipped_choice")
        cols = st.columns(2)
        if cols[0].button("Open", key="open_shipped", help="Replace the editor with it"):
            state.open_shipped(choice)
            st.rerun()
        if cols[1].button("Start blank", key="open_blank"):
            state.open_blank()
            st.rerun()
    with middle:
        upload = st.file_uploader("Upload a scenario: YAML, or an Excel workbook in the "
                                  "import format (up to 2 MB)", type=["yaml", "yml", "xlsx"],
                                  key="upload")
        if upload is not None and ss().get("uploaded") != upload.file_id:
            ss().uploaded = upload.file_id
            error = state.open_upload(upload.name, upload.getvalue())
            if error:
                st.error(state.plain(error))
            else:
                st.rerun()
        for line in ss().get("upload_problems") or []:
            st.warning(state.plain(line))
    with right:
        st.markdown(f"**Editing:** {state.plain(ss().source)}")
        if ss().scenario_id is not None:
            st.caption(f"Saved as scenario {ss().scenario_id} (every edit is kept; "
                       "see History)")
        else:
            st.caption("Not saved yet: saved on your first edit or solve")
        last = state.undo_label()
        if st.button("Undo", key="undo", disabled=last is None,
                     help=("Put back the tables as they were before: "
                           + state.plain(_short(last))) if last else "Nothing to undo yet"):
            undone = state.undo()
            if undone:
                ss().notice = f"Undone: {_short(undone)}"
            st.rerun()
        st.download_button("Download YAML", tables.to_yaml(ss().tables),
                           file_name=_file_name(), mime="application/x-yaml",
                           key="download_yaml")
        valid = state.validation().scenario
        if valid is not None:
            from rotaplan.io.workbook import template_bytes

            st.download_button("Download as a workbook", template_bytes(valid),
                               file_name=_file_name().replace(".yaml", ".xlsx"),
                               key="download_workbook",
                               mime="application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet",
                               help="Edit it in Excel and upload it again")


def _short(text: str | None, limit: int = 160) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


RENAME_KINDS = {rename.SITE: "Site", rename.SETTING: "Care setting"}


def _rename() -> None:
    """Rename a site or care setting, and every table cell that refers to it."""
    with st.expander("Rename a site or care setting (updates every reference)"):
        cols = st.columns([1, 2, 2, 1])
        kind = cols[0].radio("Rename a", list(RENAME_KINDS), format_func=RENAME_KINDS.get,
                             key="rename_kind")
        names = _names(str(kind))
        old = cols[1].selectbox("Id now", list(names), format_func=names.__getitem__,
                                key=f"rename_old_{kind}", index=None,
                                placeholder="Choose one")
        new = cols[2].text_input("New id", key="rename_new",
                                 help="Letters, digits, '_', '.' and '-'")
        cols[3].markdown("&nbsp;")
        if cols[3].button("Rename", key="rename_go", disabled=not old or not new.strip()):
            try:
                done = rename.rename(ss().tables, str(kind), str(old), new)
            except rename.RenameError as exc:
                st.error(state.plain(f"Not renamed: {exc}."))
                return
            ss().tables = done.tables
            what = f"renamed {kind} {old} to {new.strip()} ({done.cells} cell(s))"
            editors.rebase()  # the grids show the new ids and offer them as choices
            state.changed(what, note=what)
            ss().notice = what[0].upper() + what[1:]
            st.rerun()


def _names(kind: str) -> dict[str, str]:
    frame = ss().tables.frames["sites" if kind == rename.SITE else "settings"]
    out: dict[str, str] = {}
    for ident, name in zip(frame["id"], frame["name"], strict=True):
        ident = str(ident).strip()
        if ident:
            out[ident] = f"{name} ({ident})" if str(name).strip() else ident
    return out


def _file_name() -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in ss().source.split(".")[0])
    return f"{stem or 'scenario'}.yaml"


def _status(check: tables.Validation, step_list: list[steps.Step]) -> None:
    errors = check.errors
    if errors:
        st.error(f"{len(errors)} problem(s) to fix before solving. Each is also shown "
                 "next to its table below.")
        frames = ss().tables.frames
        lines = [f"- **{state.plain(p.where(frames.get(p.table)))}**: {state.plain(p.message)}"
                 for p in errors[:30]]
        if len(errors) > 30:
            lines.append(f"- … and {len(errors) - 30} more")
        st.markdown("\n".join(lines))
    elif check.scenario is not None and not step_list[-1].done:
        wanted = [f"{s.name.lower()} ({s.missing})" for s in step_list[:-1] if not s.done]
        st.info("Not ready to solve yet: " + "; ".join(wanted) + ". Add them in the "
                "tables below; every edit is saved.")
    elif check.scenario is not None:
        sc = check.scenario
        fellows = sum(1 for x in sc.learners if x.track == "fellowship")
        st.success(f"**{state.plain(sc.programme.name)}**: {len(sc.learners)} learners "
                   f"({fellows} fellows), "
                   f"{len(sc.sites)} sites, {len(sc.supervisor_site)} supervisors, "
                   f"{sc.programme.blocks} blocks of {sc.programme.block_weeks} weeks. "
                   "Ready to solve.")
    for p in check.problems:
        if p.severity == "warning":
            st.warning(state.plain(f"{p.where(ss().tables.frames.get(p.table))}: {p.message}"))


def _field_errors(check: tables.Validation, table: str, column: str | None) -> None:
    for p in check.for_table(table):
        if p.column == column and p.severity == "error":
            st.error(state.plain(p.message))


def _programme(check: tables.Validation) -> None:
    st.subheader("Programme")
    prog = ss().tables.programme
    gen = ss().gen.get("forms", 0)
    fields = [("name", "Programme name"), ("start", "Start date (YYYY-MM-DD)"),
              ("blocks", "Blocks in the year"), ("block_weeks", "Weeks per block")]
    cols = st.columns(4)
    for col, (key, label) in zip(cols, fields, strict=True):
        with col:
            st.text_input(label, prog.get(key, ""), key=f"prog-{key}-{gen}",
                          on_change=_set_programme, args=(key, f"prog-{key}-{gen}"))
            _field_errors(check, "programme", key)
    wide = st.columns([3, 2, 2])
    with wide[0]:
        st.text_input("Weekly sessions, in order (blank: Mon-AM … Fri-PM)",
                      prog.get("sessions", ""), key=f"prog-sessions-{gen}",
                      on_change=_set_programme, args=("sessions", f"prog-sessions-{gen}"))
        _field_errors(check, "programme", "sessions")
    with wide[1]:
        st.text_input("Central teaching sessions", prog.get("teaching_sessions", ""),
                      key=f"prog-teaching_sessions-{gen}", on_change=_set_programme,
                      args=("teaching_sessions", f"prog-teaching_sessions-{gen}"))
        _field_errors(check, "programme", "teaching_sessions")
    with wide[2]:
        st.text_input("Professions", ", ".join(ss().tables.professions),
                      key=f"professions-{gen}", on_change=_set_professions,
                      args=(f"professions-{gen}",))
        for p in check.for_table("professions"):
            st.error(state.plain(p.message))
    for p in check.for_table("programme"):
        if p.column not in {"name", "start", "blocks", "block_weeks", "sessions",
                            "teaching_sessions"}:
            st.error(state.plain(p.message))


def _set_programme(field: str, key: str) -> None:
    value = str(ss()[key]).strip()
    if not state.shown("Scenario") or ss().tables.programme.get(field) == value:
        return
    ss().tables.programme[field] = value
    state.changed()


def _set_professions(key: str) -> None:
    value = tables.parse_list(ss()[key]) or []
    if not state.shown("Scenario") or ss().tables.professions == value:
        return
    ss().tables.professions = value
    state.changed()


def _column_config(table: str) -> dict[str, Any]:
    """Column settings of a grid, from its base and the choices it was drawn with.

    Both stay fixed while the grid is on screen: changing either makes a new grid
    in the browser and loses what is being typed (see :mod:`rotaplan.ui.editors`).
    """
    options = editors.frozen_choices()
    frame = editors.base(table)
    config: dict[str, Any] = {}
    for column in tables.COLUMNS[table]:
        help_text = COLUMN_HELP.get(column)
        if table == "supervisors" and column == "capacity":
            help_text = "Learners supervised at once"
        if options.get(column):
            values = list(dict.fromkeys([*options[column], *[v for v in frame[column] if v]]))
            config[column] = st.column_config.SelectboxColumn(column, options=values,
                                                              help=help_text)
        else:
            config[column] = st.column_config.TextColumn(column, help=help_text)
    return config


def _stale_choices() -> None:
    """Offer to bring the grids' drop-down lists up to date after ids were added or renamed."""
    if editors.choices(ss().tables) == editors.frozen_choices():
        return
    cols = st.columns([5, 2])
    cols[0].info("You changed the sites, settings, professions or sessions: the drop-down "
                 "lists in the tables below still offer the earlier ones. Every edit is "
                 "saved.")
    if cols[1].button("Update the lists", key="update_choices",
                      help="Redraw the tables with the current ids as choices"):
        editors.rebase()
        st.rerun()


def _table(table: str, check: tables.Validation) -> None:
    st.subheader(tables.TABLE_TITLES[table])
    st.caption(HELP[table])
    # Drawn from a fixed base under a fixed key: the browser keeps every edit in
    # this grid, and each run folds them into the tables (state.fold_edits).
    st.data_editor(editors.base(table), key=editors.key(table), num_rows="dynamic",
                   hide_index=True, column_config=_column_config(table), width="stretch")
    frame = ss().tables.frames[table]
    lines = []
    for p in check.for_table(table):
        if p.severity != "error":
            continue
        if p.row is None:
            st.error(state.plain(p.message))
        else:
            lines.append(f"- **{state.plain(p.where(frame))}**: {state.plain(p.message)}")
    if lines:
        st.error(f"{len(lines)} problem(s) in {tables.TABLE_TITLES[table]} to fix:\n"
                 + "\n".join(lines))


def _tracks() -> None:
    st.subheader("Tracks")
    tracks = ss().tables.tracks
    settings = [s for s in ss().tables.frames["settings"]["id"] if s]
    gen = ss().gen.get("forms", 0)
    rotation = tracks.get("rotation") if isinstance(tracks.get("rotation"), dict) else {}
    fellowship = tracks.get("fellowship") if isinstance(tracks.get("fellowship"), dict) else None
    left, right = st.columns(2)
    with left:
        st.markdown("**Rotation track**: learners who rotate between settings")
        cover = [c for c in rotation.get("cover", []) if isinstance(c, str)]
        st.multiselect("Settings every rotating learner must visit", list(dict.fromkeys(
            [*settings, *cover])), default=cover, key=f"cover-{gen}",
            on_change=_set_track, args=("rotation", "cover", f"cover-{gen}"))
        st.checkbox("Never the same site twice", bool(rotation.get("no_repeat_site", True)),
                    key=f"norepeat-{gen}", on_change=_set_track,
                    args=("rotation", "no_repeat_site", f"norepeat-{gen}"))
    with right:
        st.markdown("**Fellowship track**: a base practice plus protected partner sessions")
        on = st.checkbox("Programme has fellows", fellowship is not None, key=f"fellows-{gen}",
                         on_change=_toggle_fellowship, args=(f"fellows-{gen}",))
        if on and fellowship is not None:
            fgen = f"{gen}.{ss().gen.get('fellowship', 0)}"
            base = fellowship.get("base_setting")
            choices = list(dict.fromkeys([*settings, *([base] if base else [])]))
            st.selectbox("Base setting", choices, index=choices.index(base)
                         if base in choices else None, key=f"base-{fgen}", on_change=_set_track,
                         args=("fellowship", "base_setting", f"base-{fgen}"))
            partners = [c for c in fellowship.get("partner_settings", []) if isinstance(c, str)]
            st.multiselect("Partner settings", list(dict.fromkeys([*settings, *partners])),
                           default=partners, key=f"partners-{fgen}", on_change=_set_track,
                           args=("fellowship", "partner_settings", f"partners-{fgen}"))
            cols = st.columns(2)
            cols[0].number_input("Partner sessions a week", 0, 100,
                                 _int(fellowship.get("partner_sessions"), 0),
                                 key=f"psessions-{fgen}", on_change=_set_track,
                                 args=("fellowship", "partner_sessions", f"psessions-{fgen}"))
            cols[1].number_input("Distinct partner settings over the year", 0, 100,
                                 _int(fellowship.get("distinct_partner_settings"), 0),
                                 key=f"distinct-{fgen}", on_change=_set_track,
                                 args=("fellowship", "distinct_partner_settings",
                                       f"distinct-{fgen}"))
    for p in state.validation().for_table("tracks"):
        if p.severity == "error":
            st.error(state.plain(f"{p.column or 'tracks'}: {p.message}"))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _set_track(track: str, field: str, key: str) -> None:
    if not state.shown("Scenario"):
        return
    tracks = ss().tables.tracks
    section = tracks.get(track)
    if isinstance(section, dict) and field in section and section[field] == ss()[key]:
        return
    if not isinstance(section, dict):
        section = tracks[track] = {}
    section[field] = ss()[key]
    state.changed()


def _toggle_fellowship(key: str) -> None:
    """Add or remove the fellowship track; a track already as asked is left alone."""
    tracks = ss().tables.tracks
    has = isinstance(tracks.get("fellowship"), dict)
    if not state.shown("Scenario") or bool(ss()[key]) == has:
        return
    if ss()[key]:
        tracks["fellowship"] = {"base_setting": "", "partner_settings": [],
                                "partner_sessions": 0}
    else:
        tracks.pop("fellowship", None)
    # the fellowship widgets only: a new key elsewhere would drop what is being typed
    ss().gen["fellowship"] = ss().gen.get("fellowship", 0) + 1
    state.changed()


def frame_of(table: str) -> pd.DataFrame:
    """The current table (for tests and other pages)."""
    return ss().tables.frames[table]
