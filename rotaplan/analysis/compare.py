"""Compare two scenarios or two plans: what changed, and how the key figures moved.

``rotaplan compare A B`` takes either two scenario files (YAML) or two plan
directories (``assignments.csv``, ``timetable.csv``, ``summary.json``).
:func:`compare_inputs` does the whole job and returns a :class:`Comparison`;
:func:`render` and :func:`to_json` turn it into text (bad input raises
:class:`InputError`).

Scenario changes come from a generic field-by-field diff of the validated
models (keyed by id), so a new field in :mod:`rotaplan.models.scenario` is compared
without any change here. Plan figures follow :func:`rotaplan.analysis.kpis.kpis`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rotaplan.analysis.kpis import kpis
from rotaplan.io import plan_dir
from rotaplan.io.plan_dir import PlanDirError, read_summary
from rotaplan.models import Plan, Scenario, ScenarioError, load

Record = dict[str, Any]

SECTION_TITLES = {
    "programme": "Programme", "settings": "Settings", "professions": "Professions",
    "supervision": "Who may supervise whom", "tracks": "Tracks", "sites": "Sites",
    "supervisors": "Supervisors", "learners": "Learners", "objective": "Objective",
}  # fmt: skip


class InputError(Exception):
    """Bad input to a comparison; the message is shown to the user as it is."""


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs: ``field`` is a dotted path such as ``rooms``."""

    field: str
    a: Any
    b: Any


@dataclass(frozen=True)
class Change:
    """One item added, removed or changed between A and B.

    Attributes
    ----------
    section
        Where the item lives (``sites``, ``learners``, ``programme``, ...).
    id
        The item's id; None for a section that is a single object (``programme``).
    change
        ``"added"``, ``"removed"`` or ``"changed"``.
    name
        The item's display name, when it has one.
    fields
        For ``"changed"``: the fields that differ.
    """

    section: str
    id: str | None
    change: str
    name: str | None = None
    fields: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class Kpi:
    """One key figure of A and B, with a label for people."""

    key: str
    label: str
    a: Any
    b: Any

    @property
    def delta(self) -> float | int | None:
        """B − A for numbers; None when either side is missing or not a number."""
        if not (_is_number(self.a) and _is_number(self.b)):
            return None
        diff = self.b - self.a
        return round(diff, 6) if isinstance(diff, float) else diff


@dataclass
class Comparison:
    """Everything a comparison found, ready to render as text or JSON."""

    kind: str
    a: Path
    b: Path
    changes: list[Change]
    kpis: list[Kpi]
    learner_changes: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- entry point


def compare_inputs(a: Path, b: Path, scenario: Path | None = None,
                   scenario_b: Path | None = None) -> Comparison:
    """Compare two scenario files or two plan folders.

    Parameters
    ----------
    a, b
        Two scenario YAML files, or two plan folders.
    scenario
        For plans: the scenario of plan A, also used for B unless ``scenario_b``
        is given. Without it only the summary figures and placements are compared.
    scenario_b
        For plans: the scenario of plan B, when it differs from A's.

    Raises
    ------
    InputError
        When the inputs cannot be compared (missing, unreadable, mixed kinds).
    """
    kind = input_kind(a, b)
    if kind == "scenarios":
        if scenario is not None or scenario_b is not None:
            raise InputError("--scenario and --scenario-b are only for comparing two plans")
        return compare_scenarios(a, b)
    return compare_plans(a, b, scenario, scenario_b)


def input_kind(a: Path, b: Path) -> str:
    """``"scenarios"`` for two files, ``"plans"`` for two directories.

    Raises
    ------
    InputError
        A path is missing, or one is a file and the other a directory.
    """
    for path in (a, b):
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
    if a.is_dir() and b.is_dir():
        return "plans"
    if a.is_file() and b.is_file():
        return "scenarios"
    file, folder = (a, b) if a.is_file() else (b, a)
    raise InputError(
        f"cannot compare a scenario file ({file}) with a plan directory ({folder}): "
        "give two scenario files or two plan directories"
    )


def _load(path: Path) -> Scenario:
    """Load a scenario, turning its problems into an :class:`InputError`."""
    if not path.is_file():
        raise InputError(f"{path}: no such scenario file")
    try:
        return load(path).scenario
    except ScenarioError as exc:
        raise InputError(
            f"{exc.render()}\n{len(exc.errors)} error(s): {path} is not a valid scenario."
        ) from None


# --------------------------------------------------------------------------- scenarios


def compare_scenarios(a: Path, b: Path) -> Comparison:
    """Load two scenario files and list what changed between them."""
    sa, sb = _load(a), _load(b)
    figures = [Kpi(key, label, fa, fb) for (key, label, fa), (_, _, fb)
               in zip(_size(sa), _size(sb), strict=True)]
    return Comparison("scenarios", a, b, diff_scenarios(sa, sb), figures)


def _size(sc: Scenario) -> list[tuple[str, str, int]]:
    """Headline sizes of a scenario as (key, label, value)."""
    sups = [s for site in sc.sites for s in site.supervisors]
    return [
        ("blocks", "Blocks", sc.programme.blocks),
        ("learners", "Learners", len(sc.learners)),
        ("sites", "Sites", len(sc.sites)),
        ("supervisors", "Supervisors", len(sups)),
        ("supervisor_places", "Supervisor places per block", sum(s.capacity for s in sups)),
    ]


def _dump(sc: Scenario) -> dict[str, Any]:
    """The scenario as plain data, with supervisors lifted out of their sites."""
    data = sc.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value
        if key == "sites":
            out[key] = [{k: v for k, v in s.items() if k != "supervisors"} for s in value]
            out["supervisors"] = [{**sup, "site": s["id"]}
                                  for s in value for sup in s["supervisors"]]
    return out


def diff_scenarios(a: Scenario, b: Scenario) -> list[Change]:
    """Every difference between two scenarios, section by section.

    Lists of items with ids (sites, supervisors, learners, settings) are matched
    by id; plain lists of ids (professions) by value; single objects
    (programme, tracks, objective, supervision) field by field.
    """
    da, db = _dump(a), _dump(b)
    changes: list[Change] = []
    for section in dict.fromkeys([*da, *db]):
        va, vb = da.get(section), db.get(section)
        if isinstance(va, list) or isinstance(vb, list):
            changes += _keyed_diff(section, va or [], vb or [])
        else:
            fields = field_changes(va or {}, vb or {})
            if fields:
                changes.append(Change(section, None, "changed", fields=fields))
    return changes


def _by_id(items: Iterable[Any]) -> dict[str, Record]:
    """Items keyed by id; a plain string is its own id."""
    return {x if isinstance(x, str) else x["id"]: ({} if isinstance(x, str) else x)
            for x in items}


def _keyed_diff(section: str, a: list[Any], b: list[Any]) -> list[Change]:
    """Removed, changed (in A's order), then added (in B's order) items of a section."""
    ma, mb = _by_id(a), _by_id(b)
    out: list[Change] = []
    for key, item in ma.items():
        if key not in mb:
            out.append(Change(section, key, "removed", item.get("name")))
        elif fields := field_changes(item, mb[key]):
            out.append(Change(section, key, "changed", mb[key].get("name"), fields))
    out += [Change(section, key, "added", item.get("name"))
            for key, item in mb.items() if key not in ma]
    return out


def field_changes(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[
        FieldChange]:
    """Fields whose values differ; nested mappings give dotted names (``rooms.Mon-AM``)."""
    out: list[FieldChange] = []
    for key in dict.fromkeys([*a, *b]):
        va, vb = a.get(key), b.get(key)
        name = f"{prefix}{key}"
        if isinstance(va, dict) and isinstance(vb, dict):
            out += field_changes(va, vb, f"{name}.")
        elif va != vb:
            out.append(FieldChange(name, va, vb))
    return out


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class PlanData:
    """A plan directory as read: the placements and ``summary.json``."""

    path: Path
    plan: Plan
    summary: dict[str, Any]


def read_plan(path: Path) -> PlanData:
    """Read a plan folder; a plan without CSV files (e.g. infeasible) has no placements."""
    try:
        summary = read_summary(path)
        if summary is None:
            raise InputError(f"{path}: not a plan folder (there is no summary.json)")
        has_csv = (path / "assignments.csv").is_file() and (path / "timetable.csv").is_file()
        plan = plan_dir.read_plan(path) if has_csv else Plan.empty()
    except PlanDirError as exc:
        raise InputError(str(exc)) from None
    return PlanData(path, plan, summary)


def _check_matches(data: PlanData, sc: Scenario, label: str) -> None:
    """Raise when a plan names learners, sites or supervisors its scenario lacks."""
    a = data.plan.assignments
    known = {"learner": set(sc.learner_by_id), "site": set(sc.site_by_id),
             "supervisor": set(sc.supervisor_site) | {""}}
    for what, ids in known.items():
        unknown = sorted(set(a[f"{what}_id"]) - ids)
        if unknown:
            raise InputError(
                f"plan {label} ({data.path}) names {what}(s) not in its scenario: "
                f"{', '.join(unknown[:5])}; is --scenario{'-b' if label == 'B' else ''} right?"
            )


def compare_plans(
    a: Path, b: Path, scenario: Path | None, scenario_b: Path | None
) -> Comparison:
    """Read two plan directories and compare their figures and placements."""
    if scenario is None and scenario_b is not None:
        raise InputError("--scenario-b is the scenario of plan B: give --scenario for plan A too")
    pa, pb = read_plan(a), read_plan(b)
    sa = _load(scenario) if scenario is not None else None
    sb = _load(scenario_b) if scenario_b is not None else sa
    if sa is not None and sb is not None:
        _check_matches(pa, sa, "A")
        _check_matches(pb, sb, "B")
    ka, kb = plan_kpis(pa, sa), plan_kpis(pb, sb)
    figures = [Kpi(key, label, va, kb[key][1]) for key, (label, va) in ka.items()]
    result = Comparison("plans", a, b, supervisor_changes(pa.plan, pb.plan), figures,
                        learner_changes(pa.plan, pb.plan))
    if sa is None:
        result.notes.append("First choices, fairness, site use and supervisor load need the "
                            "scenario: add --scenario (and --scenario-b if plan B used another).")
    return result


def plan_kpis(data: PlanData, sc: Scenario | None) -> dict[str, tuple[str, Any]]:
    """Key figures of one plan as ``{key: (label, value)}``; more with a scenario."""
    s, plan = data.summary, data.plan
    k = kpis(sc, plan) if sc is not None else None
    rows: list[tuple[str, str, Any, bool]] = [  # key, label, value, needs the scenario
        ("status", "Plan status", s.get("status"), False),
        ("objective", "Objective (lower is better)", s.get("objective"), False),
        ("learners", "Learners in the scenario", k and k.learners, True),
        ("placed", "Learners placed", int(plan.assignments["learner_id"].nunique()), False),
        ("unplaced", "Learners left out", s.get("unplaced"), False),
        ("first_choice", "Learners who got their first choice", k and k.first_choice, True),
        ("top3_placements", "Placements within the learner's top 3",
         k and k.top3_placements, True),
        ("preference_cost", "Total preference cost", s.get("preference_cost"), False),
        ("worst_learner_cost", "Fairness: worst-off learner's preference cost",
         k and k.worst_learner_cost, True),
        ("utilisation_pct", "Site places used (%)", sc and utilisation(sc, plan), True),
        ("supervisor_load", "Placements per supervisor (mean)",
         sc and supervisor_load(sc, plan), True),
    ]
    return {key: (label, value) for key, label, value, needs in rows if sc is not None or not needs}


def utilisation(sc: Scenario, plan: Plan) -> float | None:
    """Used place-blocks over available place-blocks at sites with a capacity, in %.

    For every site and block where the site has a capacity, the available
    places are that capacity and the used places are the placements there
    (rotation, fellowship base and partner alike). None when no site has a capacity.
    """
    used_at = plan.assignments.groupby(["site_id", "block"]).size()
    used = available = 0
    for site in sc.sites:
        for block in sc.programme.block_numbers:
            cap = site.capacity_in(block)
            if cap is not None:
                available += cap
                used += int(used_at.get((site.id, block), 0))
    return round(100 * used / available, 1) if available else None


def supervisor_load(sc: Scenario, plan: Plan) -> float | None:
    """Mean placements per supervisor over the year (all supervisors in the scenario)."""
    supervisors = len(sc.supervisor_site)
    named = int((plan.assignments["supervisor_id"] != "").sum())
    return round(named / supervisors, 2) if supervisors else None


def _sites(plan: Plan) -> dict[str, dict[tuple[int, str], str]]:
    """Each learner's site by (block, role)."""
    out: dict[str, dict[tuple[int, str], str]] = {}
    a = plan.assignments
    for lid, block, role, site in zip(a["learner_id"], a["block"], a["role"], a["site_id"],
                                      strict=True):
        out.setdefault(lid, {})[(int(block), role)] = site
    return out


def learner_changes(a: Plan, b: Plan) -> list[Record]:
    """Learners newly placed, newly left out, or at another site in some block.

    Returns
    -------
    list[dict]
        One record per learner placed in only one plan (``change`` is ``"placed"``
        or ``"left out"``, meaning in B), and one per learner, block and role whose
        site differs (``change`` ``"moved"``, with sites ``a`` and ``b``).
    """
    sa, sb = _sites(a), _sites(b)
    out: list[Record] = []
    for lid in sorted(sa.keys() | sb.keys()):
        if lid not in sa or lid not in sb:
            change = "placed" if lid in sb else "left out"
            out.append({"learner_id": lid, "change": change, "block": None, "role": None,
                        "a": None, "b": None})
            continue
        for block, role in sorted(sa[lid].keys() | sb[lid].keys()):
            site_a, site_b = sa[lid].get((block, role)), sb[lid].get((block, role))
            if site_a != site_b:
                out.append({"learner_id": lid, "change": "moved", "block": block,
                            "role": role, "a": site_a, "b": site_b})
    return out


def supervisor_changes(a: Plan, b: Plan) -> list[Change]:
    """Supervisors whose number of placements (as named supervisor) differs."""
    ca, cb = (Counter(x for x in p.assignments["supervisor_id"] if x) for p in (a, b))
    return [Change("supervisors", sid, "changed",
                   fields=[FieldChange("placements", ca[sid], cb[sid])])
            for sid in sorted(ca.keys() | cb.keys()) if ca[sid] != cb[sid]]


# --------------------------------------------------------------------------- output


def to_json(result: Comparison) -> str:
    """The comparison as one JSON object (kind, changes, kpis, learner_changes)."""
    return json.dumps({
        "kind": result.kind,
        "a": str(result.a),
        "b": str(result.b),
        "changes": [asdict(c) for c in result.changes],
        "kpis": {k.key: {"label": k.label, "a": k.a, "b": k.b, "delta": k.delta}
                 for k in result.kpis},
        "learner_changes": result.learner_changes,
        "notes": result.notes,
    }, indent=2, default=str)


def show(value: Any) -> str:
    """A value in plain words: lists comma-separated, maps as ``key: value``."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items()) if value else "none"
    return str(value)


def render(result: Comparison) -> str:
    """The comparison as text for people."""
    what = "scenarios" if result.kind == "scenarios" else "plans"
    lines = [f"Comparing two {what}", f"  A: {result.a}", f"  B: {result.b}", ""]
    lines += _kpi_table(result.kpis)
    if result.kind == "scenarios":
        lines += ["", *scenario_change_lines(result.changes)]
    else:
        lines += ["", *learner_change_lines(result.learner_changes)]
        lines += ["", *_supervisor_lines(result.changes)]
    if result.notes:
        lines += ["", *result.notes]
    return "\n".join(lines)


def _kpi_table(figures: list[Kpi]) -> list[str]:
    """The ``KPI | A | B | change`` table."""
    rows = [("Key figure", "A", "B", "change (B - A)")]
    for k in figures:
        if k.delta is not None:
            change = f"{k.delta:+g}" if k.delta else "0"
        else:
            change = "same" if k.a == k.b else "changed"
        rows.append((k.label, _cell(k.a), _cell(k.b), change))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()
            for r in rows]


def _cell(value: Any) -> str:
    return "-" if value is None else show(value)


def _title(change: Change) -> str:
    label = f"{change.id} ({change.name})" if change.name else str(change.id)
    return f"{change.change} {label}" if change.change != "changed" else label


def _heading(section: str) -> str:
    return SECTION_TITLES.get(section, section.capitalize())


def scenario_change_lines(changes: list[Change]) -> list[str]:
    """Changes grouped under a heading per section."""
    if not changes:
        return ["No changes: the two scenarios are the same."]
    counts = Counter((c.section, c.change) for c in changes)
    parts = [f"{_heading(s)}: {n} {c}" for (s, c), n in counts.items()]
    lines = [f"{len(changes)} change(s). {'; '.join(parts)}."]
    section = None
    for c in changes:
        if c.section != section:
            section = c.section
            lines += ["", _heading(section)]
        if c.id is None:
            lines += [f"  {f.field}: {show(f.a)} → {show(f.b)}" for f in c.fields]
            continue
        lines.append(f"  {_title(c)}" + (":" if c.fields else ""))
        lines += [f"      {f.field}: {show(f.a)} → {show(f.b)}" for f in c.fields]
    return lines


def learner_change_lines(changes: list[Record]) -> list[str]:
    """One line per learner change, in plain words."""
    if not changes:
        return ["No changes: every learner has the same placements in both plans."]
    learners = len({c["learner_id"] for c in changes})
    lines = [f"Learners whose placements changed ({learners}):"]
    for c in changes:
        lid = c["learner_id"]
        if c["change"] == "placed":
            lines.append(f"  {lid} is placed in B (left out in A)")
        elif c["change"] == "left out":
            lines.append(f"  {lid} is left out in B (placed in A)")
        else:
            role = "" if c["role"] == "rotation" else f" ({c['role']} site)"
            lines.append(f"  {lid} block {c['block']}{role}: "
                         f"{c['a'] or 'not placed'} → {c['b'] or 'not placed'}")
    return lines


def _supervisor_lines(changes: list[Change]) -> list[str]:
    """Supervisors whose number of placements changed."""
    if not changes:
        return ["Every supervisor has the same number of placements in both plans."]
    lines = [f"Supervisors whose number of placements changed ({len(changes)}):"]
    for c in changes:
        f = c.fields[0]
        lines.append(f"  {c.id}: {f.a} → {f.b} placements")
    return lines


# --------------------------------------------------------------------------- tables

SCENARIO_CHANGE_COLUMNS = ["Part", "Item", "Change", "Field", "Before", "After"]
LEARNER_CHANGE_COLUMNS = ["Learner", "Block", "Role", "Before", "After", "Change"]


def _named(name: str | None, ident: str) -> str:
    return f"{name} ({ident})" if name else ident


def scenario_change_table(changes: list[Change]) -> pd.DataFrame:
    """Scenario changes as a table: one row per field changed, item added or item removed.

    Parameters
    ----------
    changes
        From :func:`diff_scenarios`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCENARIO_CHANGE_COLUMNS`; items as ``Name (id)``, values in
        plain words (:func:`show`). Empty when nothing changed.
    """
    rows = []
    for c in changes:
        item = "" if c.id is None else _named(c.name, c.id)
        if c.change != "changed" or not c.fields:
            rows.append([_heading(c.section), item, c.change, "", "", ""])
            continue
        rows += [[_heading(c.section), item, c.change, f.field, show(f.a), show(f.b)]
                 for f in c.fields]
    return pd.DataFrame(rows, columns=SCENARIO_CHANGE_COLUMNS)


def learner_change_table(changes: list[Record], before: Scenario | None = None,
                         after: Scenario | None = None) -> pd.DataFrame:
    """Learner changes as a table: one row per learner, block and role whose site changed.

    Parameters
    ----------
    changes
        From :func:`learner_changes`.
    before, after
        The scenarios of the two plans, for learners' and sites' names (ids alone
        when None).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEARNER_CHANGE_COLUMNS`; learners and sites as
        ``Name (id)``; ``Block`` blank for a learner newly placed or left out.
    """
    learners: dict[str, str | None] = {}
    sites: dict[str, str | None] = {}
    for sc in (before, after):
        if sc is not None:
            learners |= {x.id: x.name for x in sc.learners}
            sites |= {x.id: x.name for x in sc.sites}

    def site(ident: str | None) -> str:
        return "not placed" if not ident else _named(sites.get(ident), ident)

    rows = []
    for c in changes:
        lid = str(c["learner_id"])
        rows.append([_named(learners.get(lid), lid),
                     "" if c["block"] is None else str(c["block"]), c["role"] or "",
                     site(c["a"]) if c["change"] == "moved" else (
                         "placed" if c["change"] == "left out" else "left out"),
                     site(c["b"]) if c["change"] == "moved" else (
                         "placed" if c["change"] == "placed" else "left out"),
                     c["change"]])
    return pd.DataFrame(rows, columns=LEARNER_CHANGE_COLUMNS)
