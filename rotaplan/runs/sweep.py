"""Parameter sweeps: ``rotaplan sweep SCENARIO --set PATH=V1,V2,... --out DIR``.

Every combination of the ``--set`` values (their cartesian product) is a
*variant*: the scenario document with those edits applied, written to
``DIR/variants/<name>.yaml`` and solved with :func:`rotaplan.runs.batch.run_batch`
(plans in ``DIR/<name>/``, each checked before it is written). A variant the
loader rejects is reported as ``INVALID``, not a crash. ``DIR/variants.csv``
maps each variant name to its values; ``DIR/sweep_summary.csv`` has one row
per variant with its values, status, objective and the plan's KPIs.

PATH syntax (ids are matched against the scenario; an unknown id or field
stops the sweep with exit code 2 before anything is solved):

``programme.FIELD``, ``objective.FIELD``
    e.g. ``objective.fairness=none,minimax``, ``programme.blocks=4,5``.
``tracks.rotation.FIELD``, ``tracks.fellowship.FIELD``
    e.g. ``tracks.fellowship.partner_sessions=1,2``.
``sites.SITE_ID.FIELD``
    e.g. ``sites.bridge-st.rooms=1,2,3``, ``sites.bridge-st.capacity=2,3``.
``sites.SITE_ID.rooms.SESSION``
    Rooms in one session (a room exception), e.g.
    ``sites.bridge-st.rooms.Tue-AM=1,2``; a whole-number ``rooms`` becomes
    ``{default: N, SESSION: V}``. The site must have ``rooms`` (or a
    ``sites.SITE_ID.rooms`` parameter without ``none``).
``sites.SITE_ID.supervisors.SUP_ID.FIELD``
    e.g. ``sites.bridge-st.supervisors.bs-gp.capacity=1,2``.
``learners.LEARNER_ID.FIELD``
    e.g. ``learners.L4.sessions_per_week=6,8``.
``learners.count.PROFESSION`` (rotation track) or ``learners.count.PROFESSION.fellowship``
    The number of learners of that profession and track: identical
    full-time newcomers without preferences are added
    (:func:`rotaplan.models.edits.with_newcomers`, ids ``new-PROFESSION-001``...)
    or the last-listed learners of that kind are dropped.

Values are separated by commas: whole numbers are ints, ``true``/``false``
booleans, ``none``/``null`` remove the key (the contract's default), and
anything else is a string; ``A..B`` is every whole number from A to B. (In a
sweep file, list items keep their YAML types, so a quoted ``'none'`` is text.)

A sweep file holds the same in YAML (``--set`` adds to it and wins for a PATH
given in both)::

    scenario: demo.yaml        # optional if given on the command line;
                               # relative to the sweep file
    set:
      sites.sher-oak-tree.rooms: [1, 2, 3]
      objective.fairness: [none, minimax]
"""

from __future__ import annotations

import csv
import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rotaplan.analysis.kpis import kpis
from rotaplan.exit_codes import ExitCode
from rotaplan.io.cells import csv_cell, csv_row
from rotaplan.io.plan_dir import PlanDirError, read_plan
from rotaplan.models import (
    DEFAULT_SESSIONS,
    FellowshipTrack,
    Learner,
    Objective,
    Programme,
    RotationTrack,
    ScenarioError,
    Site,
    Supervisor,
    load,
    parse_scenario_text,
)
from rotaplan.models import read_document as models_read_document
from rotaplan.models.edits import Newcomer, with_newcomers
from rotaplan.models.loader import decode, read_limited
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.runs.batch import BatchResult, Row, run_batch

MAX_VARIANTS = 500
"""Most variants one sweep may expand to."""
MAX_NAME = 80
"""Longest readable variant name; longer names fall back to ``v01``, ``v02``..."""

KPI_COLUMNS = ["status", "objective", "placed", "learners", "first_choice", "top3_share",
               "worst_learner_cost", "exit_code", "plan_dir"]
"""Columns of ``sweep_summary.csv`` after ``variant`` and one column per PATH."""


class SweepError(ValueError):
    """The sweep is malformed: bad PATH syntax, an unknown id or field, bad values."""


# --------------------------------------------------------------------------- values

_INT = re.compile(r"[+-]?\d+")
_RANGE = re.compile(r"([+-]?\d+)\.\.([+-]?\d+)")


def parse_value(text: str) -> Any:
    """One ``--set`` value: int, bool, None (``none``/``null``) or string."""
    value = text.strip()
    if _INT.fullmatch(value):
        return int(value)
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return value


def parse_values(text: str) -> list[Any]:
    """Comma-separated values, with ``A..B`` ranges of whole numbers expanded."""
    values: list[Any] = []
    for piece in text.split(","):
        match = _RANGE.fullmatch(piece.strip())
        if match:
            low, high = int(match[1]), int(match[2])
            if high < low or high - low >= MAX_VARIANTS:
                raise SweepError(f"{piece.strip()}: a range goes from low to high "
                                 f"(at most {MAX_VARIANTS} values)")
            values += range(low, high + 1)
        else:
            values.append(parse_value(piece))
    return values


def parse_set(text: str) -> tuple[str, list[Any]]:
    """Split ``PATH=V1,V2,...`` into the path and its values."""
    path, sep, rest = text.partition("=")
    path = path.strip()
    if not sep or not path or not rest.strip():
        raise SweepError(f"--set {text!r}: write PATH=VALUE1,VALUE2,... "
                         "(e.g. sites.bridge-st.rooms=1,2,3)")
    return path, parse_values(rest)


def show(value: Any) -> str:
    """A value as written in ``--set`` (``none``, ``true``, ``3``, text)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- paths

_FIELDS: dict[str, type[BaseModel]] = {
    "programme": Programme, "objective": Objective, "rotation": RotationTrack,
    "fellowship": FellowshipTrack, "site": Site, "supervisor": Supervisor, "learner": Learner,
}
_FIXED = {"site": {"id", "supervisors"}, "supervisor": {"id"}, "learner": {"id"}}

SYNTAX = ("programme.FIELD, objective.FIELD, tracks.rotation.FIELD, tracks.fellowship.FIELD, "
          "sites.SITE_ID.FIELD, sites.SITE_ID.rooms.SESSION, "
          "sites.SITE_ID.supervisors.SUP_ID.FIELD, learners.LEARNER_ID.FIELD, "
          "learners.count.PROFESSION[.fellowship]")


@dataclass(frozen=True)
class Target:
    """What a PATH edits.

    Attributes
    ----------
    path
        The PATH as given.
    kind
        ``programme``, ``objective``, ``track``, ``site``, ``rooms``,
        ``supervisor``, ``learner`` or ``count``.
    ids
        The ids on the way: (track,), (site,), (site, supervisor), (learner,),
        (profession, track).
    field
        The key set (the session for ``rooms``; empty for ``count``).
    """

    path: str
    kind: str
    ids: tuple[str, ...]
    field: str

    def labels(self) -> list[str]:
        """Short to long names for variant names and table headings."""
        if self.kind == "count":
            profession, track = self.ids
            short = f"{profession}s" if track == "rotation" else f"{profession}-fellows"
            return [short, self.path]
        if self.kind == "rooms":
            return [f"rooms-{self.field}", f"{self.ids[0]}.rooms-{self.field}", self.path]
        if self.kind in ("programme", "objective"):
            return [self.field, self.path]
        return [self.field, f"{self.ids[-1]}.{self.field}", self.path]


def _known(what: str, ids: list[str]) -> str:
    shown = ", ".join(ids[:20]) + (", ..." if len(ids) > 20 else "")
    return f"known {what}: {shown}" if ids else f"the scenario has no {what}"


def _split_id(path: str, rest: str, ids: list[str], what: str,
              where: str = "") -> tuple[str, str]:
    """Match the longest known id at the start of ``rest`` (ids may hold dots)."""
    for ident in sorted(ids, key=len, reverse=True):
        if rest.startswith(ident + "."):
            return ident, rest[len(ident) + 1:]
    head = rest.split(".", 1)[0]
    if rest in ids or not head:
        raise SweepError(f"{path}: say which field of {what} {rest!r} to set ({SYNTAX})")
    raise SweepError(f"{path}: unknown {what} id {head!r}{where} "
                     f"({_known(what + ' ids' + where, ids)})")


def _check_field(path: str, kind: str, name: str) -> None:
    model = _FIELDS[kind]
    allowed = [f for f in model.model_fields if f not in _FIXED.get(kind, set())]
    if name not in allowed:
        raise SweepError(f"{path}: {name!r} is not a field a sweep can set on a {kind} "
                         f"(fields: {', '.join(allowed)})")


def _by_id(items: Any, ident: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and str(item.get("id")) == ident:
            return item
    raise KeyError(ident)


def _ids(items: Any) -> list[str]:
    return [str(item["id"]) for item in items or [] if isinstance(item, dict) and "id" in item]


def resolve(doc: dict[str, Any], path: str) -> Target:
    """Check a PATH against the scenario document and say what it edits.

    Raises
    ------
    SweepError
        Bad syntax, an unknown id, or a field a sweep cannot set.
    """
    head, _, rest = path.partition(".")
    if head in ("programme", "objective") and rest and "." not in rest:
        _check_field(path, head, rest)
        return Target(path, head, (), rest)
    if head == "tracks":
        track, _, name = rest.partition(".")
        if track not in ("rotation", "fellowship") or not name or "." in name:
            raise SweepError(f"{path}: write tracks.rotation.FIELD or tracks.fellowship.FIELD")
        if track == "fellowship" and not (doc.get("tracks") or {}).get("fellowship"):
            raise SweepError(f"{path}: the scenario has no fellowship track")
        _check_field(path, track, name)
        return Target(path, "track", (track,), name)
    if head == "sites" and rest:
        sites = doc.get("sites") or []
        site_id, tail = _split_id(path, rest, _ids(sites), "site")
        site = _by_id(sites, site_id)
        if tail.startswith("supervisors."):
            sups = site.get("supervisors") or []
            sup_id, name = _split_id(path, tail[len("supervisors."):], _ids(sups),
                                     "supervisor", f" at {site_id}")
            if "." in name:
                raise SweepError(f"{path}: write sites.SITE_ID.supervisors.SUP_ID.FIELD")
            _check_field(path, "supervisor", name)
            return Target(path, "supervisor", (site_id, sup_id), name)
        if tail.startswith("rooms."):
            session = tail[len("rooms."):]
            sessions = [str(x) for x in (doc.get("programme") or {}).get("sessions")
                        or DEFAULT_SESSIONS]
            if session not in [*sessions, "default"]:
                raise SweepError(f"{path}: unknown session {session!r} "
                                 f"({_known('sessions', [*sessions, 'default'])})")
            return Target(path, "rooms", (site_id,), session)
        if "." in tail:
            raise SweepError(f"{path}: write sites.SITE_ID.FIELD ({SYNTAX})")
        _check_field(path, "site", tail)
        return Target(path, "site", (site_id,), tail)
    if head == "learners" and rest.startswith("count."):
        profession, _, track = rest[len("count."):].partition(".")
        track = track or "rotation"
        professions = [str(p) for p in doc.get("professions") or []]
        if profession not in professions:
            raise SweepError(f"{path}: unknown profession {profession!r} "
                             f"({_known('professions', professions)})")
        if track not in ("rotation", "fellowship"):
            raise SweepError(f"{path}: the track is rotation or fellowship, not {track!r}")
        if track == "fellowship" and not (doc.get("tracks") or {}).get("fellowship"):
            raise SweepError(f"{path}: the scenario has no fellowship track")
        return Target(path, "count", (profession, track), "")
    if head == "learners" and rest:
        learner_id, name = _split_id(path, rest, _ids(doc.get("learners")), "learner")
        if "." in name:
            raise SweepError(f"{path}: write learners.LEARNER_ID.FIELD")
        _check_field(path, "learner", name)
        return Target(path, "learner", (learner_id,), name)
    raise SweepError(f"{path}: unknown PATH; use {SYNTAX}")


def _check_values(targets: dict[str, Target], params: dict[str, list[Any]]) -> None:
    """Values a variant document cannot even express stop the sweep."""
    for path, target in targets.items():
        values = params[path]
        if not values:
            raise SweepError(f"{path}: no values given")
        if target.kind == "count":
            bad = [v for v in values if not isinstance(v, int) or isinstance(v, bool) or v < 0]
            if bad:
                raise SweepError(f"{path}: a learner count is a whole number 0 or more, "
                                 f"not {show(bad[0])!r}")


def _check_rooms(doc: dict[str, Any], targets: dict[str, Target],
                 params: dict[str, list[Any]]) -> None:
    for target in targets.values():
        if target.kind != "rooms":
            continue
        site_id = target.ids[0]
        whole = f"sites.{site_id}.rooms"
        if whole in params:
            if None in params[whole]:
                raise SweepError(f"{target.path}: {whole} includes none (no room limit), "
                                 "which a room exception cannot refine")
        elif _by_id(doc["sites"], site_id).get("rooms") is None:
            raise SweepError(f"{target.path}: site {site_id} has no room limit; set "
                             f"{whole} too (a room exception refines a limit)")


# --------------------------------------------------------------------------- editing

def _put(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def apply_edit(doc: dict[str, Any], target: Target, value: Any) -> None:
    """Apply one edit (not ``count``) to a scenario document in place."""
    if target.kind == "programme":
        _put(doc["programme"], target.field, value)
    elif target.kind == "objective":
        doc["objective"] = dict(doc.get("objective") or {})
        _put(doc["objective"], target.field, value)
    elif target.kind == "track":
        tracks = dict(doc.get("tracks") or {})
        doc["tracks"] = tracks
        tracks[target.ids[0]] = dict(tracks.get(target.ids[0]) or {})
        _put(tracks[target.ids[0]], target.field, value)
    elif target.kind == "site":
        _put(_by_id(doc["sites"], target.ids[0]), target.field, value)
    elif target.kind == "rooms":
        site = _by_id(doc["sites"], target.ids[0])
        rooms = site.get("rooms")
        rooms = dict(rooms) if isinstance(rooms, dict) else {"default": rooms}
        _put(rooms, target.field, value)
        site["rooms"] = rooms
    elif target.kind == "supervisor":
        site = _by_id(doc["sites"], target.ids[0])
        _put(_by_id(site.get("supervisors"), target.ids[1]), target.field, value)
    elif target.kind == "learner":
        _put(_by_id(doc["learners"], target.ids[0]), target.field, value)
    else:
        raise ValueError(f"apply_edit cannot apply {target.kind!r} edits")


def set_count(doc: dict[str, Any], profession: str, track: str, count: int,
              file: str = "<variant>") -> None:
    """Make the document hold ``count`` learners of a profession and track.

    Learners are dropped from the end of the list, or identical newcomers added
    with :func:`rotaplan.models.edits.with_newcomers`. A document the loader rejects
    is left as it is (the batch reports it as invalid).
    """
    learners = list(doc.get("learners") or [])
    mine = [i for i, lr in enumerate(learners) if isinstance(lr, dict)
            and lr.get("profession") == profession and (lr.get("track") or "rotation") == track]
    if count < len(mine):
        dropped = set(mine[count:])
        doc["learners"] = [lr for i, lr in enumerate(learners) if i not in dropped]
        return
    if count == len(mine):
        return
    try:
        scenario = parse_scenario_text(dump_scenario(doc), file).scenario
    except ScenarioError:
        return
    grown, ids = with_newcomers(scenario, Newcomer(profession, track), count - len(mine))
    doc["learners"] = learners + [grown.learner_by_id[i].model_dump(exclude_defaults=True)
                                  for i in ids]


def variant_document(doc: dict[str, Any], targets: dict[str, Target],
                     values: dict[str, Any], file: str = "<variant>") -> dict[str, Any]:
    """A copy of the document with one variant's values applied (counts last)."""
    import copy

    out = copy.deepcopy(doc)
    order = sorted(targets.values(), key=lambda t: (t.kind == "count", t.kind == "rooms"))
    for target in order:
        if target.kind == "count":
            profession, track = target.ids
            set_count(out, profession, track, values[target.path], file)
        else:
            apply_edit(out, target, values[target.path])
    return out


# --------------------------------------------------------------------------- variants

@dataclass(frozen=True)
class Variant:
    """One combination of values.

    Attributes
    ----------
    name
        Readable, filename-safe name (``rooms=1_nurses=12``) or ``v01``...
    values
        PATH -> value.
    file
        The variant's scenario file (``DIR/variants/<name>.yaml``).
    """

    name: str
    values: dict[str, Any]
    file: Path


def labels(targets: list[Target]) -> list[str]:
    """A distinct short label per target (longer only where short ones clash)."""
    options = [t.labels() for t in targets]
    level = [0] * len(targets)
    while True:
        chosen = [opts[min(lv, len(opts) - 1)] for opts, lv in zip(options, level, strict=True)]
        clashes = {x for x in chosen if chosen.count(x) > 1}
        if not clashes:
            return chosen
        for i, label in enumerate(chosen):
            if label in clashes:
                level[i] += 1


def _token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text) or "x"


def variant_names(label_list: list[str], combos: list[tuple[Any, ...]]) -> list[str]:
    """Readable names ``label=value_label=value``, or ``v01``... when too long or clashing."""
    names = ["_".join(f"{_token(label)}={_token(show(v))}"
                      for label, v in zip(label_list, combo, strict=True)) for combo in combos]
    folded = [n.lower() for n in names]
    if len(set(folded)) == len(names) and all(len(n) <= MAX_NAME for n in names):
        return names
    width = max(2, len(str(len(combos))))
    return [f"v{i:0{width}d}" for i in range(1, len(combos) + 1)]


def read_document(path: Path) -> dict[str, Any]:
    """A valid scenario file as plain data (dates kept as text, YAML 1.2).

    Raises
    ------
    SweepError
        With every problem when the scenario is invalid.
    """
    try:
        text = decode(read_limited(path), str(path))
        parse_scenario_text(text, str(path))
        return models_read_document(text, str(path))
    except ScenarioError as exc:
        raise SweepError(f"{exc.render()}\n{len(exc.errors)} error(s): the scenario is "
                         "invalid.") from None


def read_sweep_file(path: Path) -> tuple[Path | None, dict[str, list[Any]]]:
    """The scenario (resolved against the file's folder) and PATH -> values of a sweep file.

    Raises
    ------
    SweepError
        When the file cannot be read or has the wrong shape.
    """
    try:
        data = models_read_document(decode(read_limited(path), str(path)), str(path))
    except ScenarioError as exc:
        raise SweepError(f"{path}: cannot read the sweep file:\n{exc.render()}") from None
    if not isinstance(data, dict) or not set(data) <= {"scenario", "set"}:
        raise SweepError(f"{path}: a sweep file is a mapping with keys scenario (optional) "
                         "and set: {PATH: [values...]}")
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise SweepError(f"{path}: scenario must be a file name")
    sets = data.get("set") or {}
    if not isinstance(sets, dict):
        raise SweepError(f"{path}: set must map PATH to a list of values")
    params: dict[str, list[Any]] = {}
    for key, values in sets.items():
        if isinstance(values, list):
            params[str(key)] = list(values)
        elif isinstance(values, str):
            params[str(key)] = parse_values(values)
        else:
            params[str(key)] = [values]
    where = (path.parent / scenario) if scenario is not None else None
    return where, params


def write_variants(scenario: Path, params: dict[str, list[Any]], out: Path) -> tuple[
        list[Variant], dict[str, str], Path]:
    """Check the sweep, write every variant and ``variants.csv``.

    Returns
    -------
    tuple
        The variants (in product order), the label of each PATH, and the path
        of ``variants.csv``.

    Raises
    ------
    SweepError
        An invalid scenario, unknown PATH, id or field, or too many variants.
    """
    if not params:
        raise SweepError("nothing to sweep: give --set PATH=V1,V2,... or --sweep FILE")
    doc = read_document(scenario)
    targets = {path: resolve(doc, path) for path in params}
    _check_values(targets, params)
    _check_rooms(doc, targets, params)
    total = 1
    for options in params.values():
        total *= len(options)
    if total > MAX_VARIANTS:
        raise SweepError(f"the sweep has {total} variants; at most {MAX_VARIANTS} are allowed")
    paths = list(params)
    label_list = labels([targets[p] for p in paths])
    combos = list(itertools.product(*(params[p] for p in paths)))
    names = variant_names(label_list, combos)
    folder = out / "variants"
    folder.mkdir(parents=True, exist_ok=True)
    variants = []
    for name, combo in zip(names, combos, strict=True):
        values = dict(zip(paths, combo, strict=True))
        file = folder / f"{name}.yaml"
        data = variant_document(doc, targets, values, str(file))
        edits = "\n".join(f"  {p} = {show(v)}" for p, v in values.items())
        header = f"Sweep variant {name} of {scenario} (written by rotaplan sweep):\n{edits}"
        file.write_text(dump_scenario(data, header), encoding="utf-8")
        variants.append(Variant(name, values, file))
    mapping = out / "variants.csv"
    with mapping.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([csv_cell(p) for p in ["variant", *paths]])
        for variant in variants:
            writer.writerow([csv_cell(x) for x in
                             [variant.name, *(show(variant.values[p]) for p in paths)]])
    return variants, dict(zip(paths, label_list, strict=True)), mapping


# --------------------------------------------------------------------------- the sweep

@dataclass
class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    rows
        One row per variant in product order: ``variant``, one key per PATH
        (its value as written), then :data:`KPI_COLUMNS`.
    exit_code
        The worst variant's exit code.
    summary_csv, variants_csv
        Paths of ``sweep_summary.csv`` and ``variants.csv``.
    labels
        PATH -> short label (table headings, variant names).
    batch
        The underlying batch result.
    """

    rows: list[dict[str, Any]]
    exit_code: ExitCode
    summary_csv: Path
    variants_csv: Path
    labels: dict[str, str]
    batch: BatchResult | None = field(default=None, repr=False)


def _kpi_row(variant: Variant, row: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {"first_choice": None, "top3_share": None,
                               "worst_learner_cost": None}
    if row["exit_code"] == ExitCode.OK:
        try:
            scenario = load(variant.file).scenario
            found = kpis(scenario, read_plan(row["plan_dir"]))
        except (OSError, ValueError, KeyError, ScenarioError, PlanDirError):
            pass  # plans written on a remote cluster's file system
        else:
            figures = {"first_choice": found.first_choice,
                       "top3_share": None if found.top3_share is None
                       else round(found.top3_share, 4),
                       "worst_learner_cost": found.worst_learner_cost}
    return {"variant": variant.name, **{p: show(v) for p, v in variant.values.items()},
            "status": row["status"], "objective": row["objective"], "placed": row["placed"],
            "learners": row["learners"], **figures, "exit_code": row["exit_code"],
            "plan_dir": row["plan_dir"]}


def run_sweep(scenario: Path, params: dict[str, list[Any]], out: Path, *,
              jobs: int | None = None, workers: int = 1, time_limit: float = 60.0,
              seed: int = 0, dask: str | None = None,
              on_start: Callable[[int], None] | None = None,
              on_row: Callable[[Row], None] | None = None,
              on_warning: Callable[[str], None] | None = None,
              stop: threading.Event | None = None) -> SweepResult:
    """Write every variant of a scenario, solve them as a batch and summarise the plans.

    Parameters
    ----------
    scenario
        The scenario YAML to vary.
    params
        PATH -> values (see the module docstring for PATH syntax).
    out
        Output directory: ``variants/``, one plan directory per variant,
        ``variants.csv``, ``batch_summary.csv`` and ``sweep_summary.csv``.
    jobs, workers, time_limit, seed, dask, on_start, on_row, on_warning, stop
        As for :func:`rotaplan.runs.batch.run_batch`.

    Raises
    ------
    SweepError
        A malformed sweep (nothing is solved).
    BatchError
        The batch cannot start (e.g. the Dask scheduler is unreachable).
    """
    variants, label_map, mapping = write_variants(scenario, params, out)
    batch = run_batch([v.file for v in variants], out, jobs=jobs, workers=workers,
                      time_limit=time_limit, seed=seed, dask=dask, on_start=on_start,
                      on_row=on_row, on_warning=on_warning, stop=stop)
    by_name = {row["scenario"]: row for row in batch.rows}
    rows = [_kpi_row(v, by_name[v.name]) for v in variants]
    summary = out / "sweep_summary.csv"
    with summary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["variant", *params, *KPI_COLUMNS],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(row) for row in rows)  # opened in spreadsheets
    return SweepResult(rows, batch.exit_code, summary, mapping, label_map, batch)
