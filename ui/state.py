"""Session state of the configurator: the scenario being edited, its saved versions, solves.

Everything the user types lives in ``st.session_state`` (it survives reruns)
and is saved to the store as a draft version (it survives a refresh: the
address carries ``?scenario=ID&version=N``, the version open in the editor).
A solve belongs to the server, not to the session: it is recorded as a run of
the version solved when it is asked for, runs in the process-wide registry
(:func:`rotaplan.runs.jobs.solves`), and stores its own outcome when it ends,
so every plan can be traced to the scenario that made it, and a refreshed
page finds the solve (while it runs) or its run (once it has ended).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from rotaplan.access import AccessDeniedError
from rotaplan.io import tables
from rotaplan.io.plan_dir import plan_from_text
from rotaplan.models import Plan, Scenario, ScenarioError, parse_scenario_text
from rotaplan.runs.jobs import LIVE, RunStatus, SolveJob, solves
from rotaplan.runs.store import RunInfo, RunPlan, Store, VersionInfo, default_url
from rotaplan.shipped import shipped
from rotaplan.ui import editors, signin

SHIPPED = shipped()
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
PAGES = ["Scenario", "Solve", "Results", "Capacity", "Why no plan?", "History"]


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def store() -> Store:
    """The database of saved scenarios and runs (``ROTAPLAN_DB_URL`` or a local SQLite file),
    answering for the person using this session (:func:`rotaplan.ui.signin.current`)."""
    return _store(default_url()).as_user(signin.current())


_MARKDOWN_SIGNS = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINKS = re.compile(r"(?i)(\\[:@]|www(?=\\\.))")
WORD_JOINER = "\u2060"
"""An invisible character that stops a bare address or e-mail becoming a link."""


def plain(text: object) -> str:
    """Text from a user or a scenario as Markdown that shows exactly that text.

    Streamlit renders Markdown (and Markdown images, links and HTML) in
    ``st.markdown``, captions, alerts, toasts and headings. A scenario's names
    are anyone's text: ``![x](http://host/pixel.png)`` in a programme name would
    make every viewer's browser fetch that address (issue 13 finding 11). Every
    ASCII punctuation sign is backslash-escaped (CommonMark shows an escaped
    sign as itself), and line breaks become spaces. Streamlit's GitHub-style
    Markdown also turns bare ``http://…``, ``www.…`` and e-mail addresses into
    links after escapes are read (measured: escaped ``http\\:\\/\\/…`` still
    showed as a link in Chromium), so an invisible word joiner follows every
    colon and at sign and splits ``www.``; the reader sees the same text.
    """
    one_line = " ".join(str(text).splitlines())
    escaped = _MARKDOWN_SIGNS.sub(r"\\\1", one_line)
    return _AUTOLINKS.sub(lambda m: m.group(1) + WORD_JOINER, escaped)


def ss() -> Any:
    """Streamlit's session state (typed loosely; keys are listed in :func:`init`)."""
    return st.session_state


# --------------------------------------------------------------------------- loading


def init() -> None:
    """Fill the session on its first run: reopen the address's version, or open the demo.

    ``?scenario=ID&version=N`` reopens exactly that version (the one that was
    open in the editor), with the scenario's running solve, if any, and its
    latest finished run.
    """
    if "tables" in ss():
        return
    ss().gen = {}
    ss().revision = 0
    ss().job_run_id = None
    ss().run_id = None
    ss().notice = None
    wanted = st.query_params.get("scenario")
    if wanted and wanted.isdigit():
        try:
            open_version(_version_id(int(wanted), st.query_params.get("version")))
            _attach(int(wanted))
            return
        except KeyError:
            ss().notice = (f"Saved scenario {wanted} was not found (deleted, or not shared "
                           "with you); opened the demo instead.")
    open_shipped("demo" if "demo" in SHIPPED else next(iter(SHIPPED)))


def _version_id(scenario_id: int, number: str | None) -> int:
    """The id of version ``number`` of a scenario (its latest when absent or gone)."""
    if number and number.isdigit():
        found = [v.id for v in store().versions(scenario_id) if v.number == int(number)]
        if found:
            return found[0]
        ss().notice = (f"Version {number} of saved scenario {scenario_id} no longer exists; "
                       "opened its latest version.")
    return store().latest_version(scenario_id).id


def _attach(scenario_id: int) -> None:
    """Watch the scenario's live solve this person started (a refresh during a solve), and
    show its latest run."""
    live = solves().live(scenario_id, user=store().who.user)
    ss().job_run_id = max(live) if live else None
    runs = [solves().settle(store(), r) for r in store().runs(scenario_id=scenario_id)]
    done = [r for r in runs if r.status not in LIVE]
    ss().run_id = done[0].id if done else None


def _set_tables(opened: tables.ScenarioTables, source: str) -> None:
    ss().undo_stack = []  # another scenario: nothing of the last one to undo
    ss().tables = opened
    ss().source = source
    ss().saved_yaml = tables.to_yaml(opened)  # what the opened version says, as tables
    ss().gen["forms"] = ss().gen.get("forms", 0) + 1  # form widgets show the new values
    ss().revision = ss().get("revision", 0) + 1
    ss().before_tables = opened.copy()
    editors.rebase()


def open_shipped(name: str) -> None:
    """Open a scenario shipped in ``instances/`` (saved once the user edits or solves it)."""
    _set_tables(tables.from_text(SHIPPED[name].read_text(encoding="utf-8")), f"{name}.yaml")
    ss().scenario_id = None
    ss().version_id = None
    ss().original_text = SHIPPED[name].read_text(encoding="utf-8")
    st.query_params.clear()


def open_blank() -> None:
    """Start a new, empty scenario."""
    _set_tables(tables.empty_tables(), "new scenario")
    ss().scenario_id = None
    ss().version_id = None
    ss().original_text = None
    st.query_params.clear()


def open_upload(name: str, data: bytes) -> str | None:
    """Open an uploaded YAML file or workbook and save it.

    Returns an error in plain words, or None. A workbook's sheet-level problems
    (unknown columns, missing sheets) go to ``upload_problems``; cell problems
    then show on the table rows as for any edit.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        return (f"{name} is {len(data) / 1e6:.1f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Upload a smaller scenario file.")
    ss().upload_problems = []
    if name.lower().endswith(".xlsx"):
        return _open_workbook(name, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{name} is not UTF-8 text; save it as UTF-8 YAML and upload it again."
    try:
        opened = tables.from_text(text)
    except ValueError as exc:
        return f"{name} could not be read: {exc}"
    _set_tables(opened, name)
    version = store().create_scenario(Path(name).stem, text, note=f"uploaded {name}")
    _adopt(version)
    ss().original_text = text
    return None


def _open_workbook(name: str, data: bytes) -> str | None:
    """Open an uploaded workbook in the import format (see ``rotaplan import``)."""
    from rotaplan.io.workbook import read_workbook

    found = read_workbook(io.BytesIO(data))
    if found.tables is None:
        return f"{name} could not be read: " + "; ".join(p.render() for p in found.errors)
    ss().upload_problems = [p.render() for p in found.problems] + list(found.notes)
    _set_tables(found.tables, name)
    text = found.yaml_text()
    version = store().create_scenario(Path(name).stem, text, note=f"imported {name}")
    _adopt(version)
    ss().original_text = text
    return None


def open_version(version_id: int) -> None:
    """Open a saved version into the editor."""
    version = store().version(version_id)
    name = next((s.name for s in store().list_scenarios() if s.id == version.scenario_id), "")
    try:
        opened = tables.from_text(version.yaml_text)
    except ValueError:
        opened = tables.empty_tables()
    _set_tables(opened, f"{name} v{version.number}")
    _adopt(version)
    ss().original_text = version.yaml_text


def _adopt(version: VersionInfo) -> None:
    """Make ``version`` the one open in the editor, and say so in the address."""
    ss().scenario_id = version.scenario_id
    ss().version_id = version.id
    ss().version_revision = version.revision  # the draft revision this session last saw
    st.query_params["scenario"] = str(version.scenario_id)
    st.query_params["version"] = str(version.number)


def persist(note: str = "edited") -> int:
    """Save the tables as the current draft version; return its id.

    A version is stored only when the tables say something new, so solving a
    scenario just opened runs against the version that was opened. A scenario
    not saved yet (a shipped file, a blank one) becomes a new saved scenario of
    this session: its first version is the text as opened.
    """
    text = tables.to_yaml(ss().tables)
    if ss().scenario_id is None:
        # Always a new scenario of this session's own: never adopt a saved one by
        # name or text, which may be another session's work (issue 13 finding 1).
        name = Path(ss().source).stem or "scenario"
        original = ss().original_text or text
        first = store().create_scenario(name, original, note=f"opened {ss().source}")
        _adopt(first)
    if text == ss().saved_yaml and ss().version_id is not None:
        return int(ss().version_id)
    job = current_job()
    solving = job is not None and job.meta.get("version_id") == ss().version_id
    # fold into the open version only: never into one being solved or a newer draft
    # (a version with a run, even a queued one, is never folded into by the store)
    fold_into = -1 if solving or ss().version_id is None else int(ss().version_id)
    # the revision this session last saw: a draft another session changed since is
    # kept, and these edits become a new version beside it
    try:
        version = store().save_draft(ss().scenario_id, text, note, fold_into=fold_into,
                                     revision=ss().get("version_revision"))
    except AccessDeniedError:  # a viewer's edits are kept as their own copy
        name = re.sub(r" v\d+$", "", Path(ss().source).stem) or "scenario"
        version = store().create_scenario(f"{name} (my copy)", text,
                                          note=f"edited copy of {ss().source}")
        ss().notice = (f"You may view but not change {ss().source}, so your edits are "
                       f"saved as your own copy, '{name} (my copy)'.")
    if version.conflict_with is not None:
        ss().notice = (f"This scenario's draft (version {version.conflict_with}) was changed in "
                       f"another session. Both are kept: your edits are version "
                       f"{version.number}; see History for the other.")
    ss().saved_yaml = text
    _adopt(version)
    return version.id


def replace_scenario(text: str, note: str) -> None:
    """Replace the scenario being edited by ``text`` (a page's fix) and save it as a draft."""
    _set_tables(tables.from_text(text), ss().source)
    persist(note)


MAX_UNDO = 30
"""How many earlier states of the tables Undo keeps."""


def changed(what: str = "edited", note: str = "edited") -> None:
    """Note that the tables changed (validation is redone) and save them as a draft.

    The tables as they were before (as last saved) are kept for :func:`undo`,
    with ``what`` changed; ``note`` is the saved version's note. Widget keys are
    left alone: a new key would make a new, empty widget in the browser and lose
    what the user is typing (issue 12 A6).
    """
    before = ss().get("saved_yaml")
    if before is not None and before != tables.to_yaml(ss().tables):
        stack = ss().setdefault("undo_stack", [])
        stack.append((before, ss().get("before_tables"), what))
        del stack[:-MAX_UNDO]
    ss().revision = ss().get("revision", 0) + 1
    persist(note)
    ss().before_tables = ss().tables.copy()


def undo_label() -> str | None:
    """What Undo would undo, in a few words (None when there is nothing to undo)."""
    stack = ss().get("undo_stack") or []
    return stack[-1][2] if stack else None


def undo() -> str | None:
    """Put the tables back as they were before the last change; return what was undone.

    The grids are drawn afresh from the tables, and the result is saved as a
    new draft (every version stays in History, so nothing is lost).
    """
    stack = ss().get("undo_stack") or []
    if not stack:
        return None
    text, copy, what = stack.pop()
    ss().tables = copy.copy() if copy is not None else tables.from_text(text)
    ss().gen["forms"] = ss().gen.get("forms", 0) + 1  # form widgets show the old values
    editors.rebase()
    ss().revision = ss().get("revision", 0) + 1
    persist(f"undo: {what}")
    ss().before_tables = ss().tables.copy()
    return str(what)


def fold_edits() -> None:
    """Fold the grids' edits into the tables and save them (call before drawing anything)."""
    notes = editors.fold()
    if notes:
        ss().edit_note = "; ".join(notes)
        changed(ss().edit_note)


def enter_page(page: str) -> None:
    """Start drawing ``page``: entering the Scenario page draws its grids afresh.

    Streamlit drops a grid's change set once a run has not drawn it, so grids
    left on another page are remade from the tables (their edits were folded
    into the tables run by run).
    """
    if page == "Scenario" and ss().get("shown_page") != "Scenario":
        editors.rebase()
    ss().shown_page = page


def shown(page: str) -> bool:
    """Whether ``page`` was the page on screen (for widget callbacks, which run first).

    Streamlit can run the callback of a widget that is no longer on screen with a
    stale value: pressing Cancel in the Solve page's live progress once ran the
    Scenario page's 'Programme has fellows' callback, resetting the fellowship
    track (measured in Chromium, Streamlit 1.67). A page's callbacks act only
    when that page was shown.
    """
    return bool(ss().get("shown_page") == page)


def go(page: str) -> None:
    """Switch to another page (applied before the page selector is drawn)."""
    ss().goto = page
    st.rerun()


# --------------------------------------------------------------------------- validation


def validation() -> tables.Validation:
    """The current tables validated (memoised per revision of the tables)."""
    key = ss().get("revision", 0)
    cached = ss().get("validation")
    if cached is not None and cached[0] == key:
        return cached[1]
    result = tables.validate(ss().tables)
    ss().validation = (key, result)
    return result


# --------------------------------------------------------------------------- solves


def current_job() -> SolveJob | None:
    """The live solve (queued or running) this session is watching, or None."""
    return solves().get(ss().get("job_run_id"))


def start_job(scenario: Scenario, options: Any, extra: dict[str, Any] | None = None) -> None:
    """Save the version being solved, record its run, and start (or queue) the solve.

    ``extra`` settings are recorded with the run's options (JSON values).
    """
    version_id = persist()
    run = solves().start(store(), version_id, scenario, options, settings={
        "time_limit": options.time_limit, "workers": options.workers, "seed": options.seed,
        **(extra or {})})
    ss().job_run_id = run.id


def finish_job() -> bool:
    """Once the watched solve has ended, open its run; True when one was opened now.

    The solve stored its outcome itself (:mod:`rotaplan.runs.jobs`); here the
    session only finds it.
    """
    run_id = ss().get("job_run_id")
    if run_id is None or solves().get(run_id) is not None:
        return False
    ss().job_run_id = None
    try:
        run = solves().settle(store(), store().run(run_id))
    except KeyError:  # the scenario was deleted while it was being solved
        ss().notice = "A solve finished, but its scenario had been deleted; the run is not kept."
        return False
    ss().run_id = run.id
    if run.status == RunStatus.CANCELLED:
        ss().notice = "The solve was cancelled while it waited for a free solver."
    elif ss().get("page", "Solve") == "Solve":
        ss().goto = "Results"
    else:  # never switch away from a page the user is working on (an edit would be lost)
        ss().notice = f"The solve finished ({run.status}): see the Results page."
    return True


@dataclass(frozen=True)
class RunView:
    """A recorded run with its scenario and plan rebuilt for display."""

    run: RunInfo
    scenario: Scenario | None
    plan: Plan | None
    yaml_text: str
    tables: RunPlan | None  # the plan's CSV text, as the solve wrote it


def run_view(run_id: int) -> RunView:
    """A run, its scenario version and its plan (memoised in the session once ended)."""
    cache: dict[int, RunView] = ss().setdefault("run_views", {})
    if run_id in cache:
        return cache[run_id]
    run = solves().settle(store(), store().run(run_id))
    text = store().version(run.version_id).yaml_text
    try:
        scenario: Scenario | None = parse_scenario_text(text, "scenario").scenario
    except ScenarioError:
        scenario = None
    plan = None
    tables_csv = store().run_plan(run_id) if run.has_plan else None
    if tables_csv is not None:
        plan = plan_from_text(tables_csv.assignments_csv, tables_csv.timetable_csv,
                              f"run {run_id}")
    view = RunView(run, scenario, plan, text, tables_csv)
    if run.status not in LIVE:
        cache[run_id] = view
    return view


def progress_bar(job: Any, label: str, limit: float) -> bool:
    """Draw a background job's progress bar; once it has ended, rerun the whole app.

    Returns True while the job runs (the caller draws the rest of its progress).
    """
    if not job.running:
        st.rerun(scope="app")  # the page draws the finished job's result
        return False
    st.progress(min(1.0, job.elapsed / limit),
                text=f"{label}… {job.elapsed:.0f} s of at most {limit:.0f} s"
                     + (" (stopping…)" if job.cancelled else ""))
    return True


def learner_label(scenario: Scenario, learner_id: str) -> str:
    """A learner as people know them: ``Alex Green (L001)``, or the id alone."""
    learner = scenario.learner_by_id.get(learner_id)
    name = learner.name if learner is not None else None
    return f"{name} ({learner_id})" if name else learner_id
