"""Cross-reference and impossible-input checks (contract §6, last paragraph).

Each check yields a :class:`Problem` whose path points at the offending
reference (for example ``learners[4].preferences[1]``), so the loader can
attach the line and column of that exact value.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator

from rotaplan.models.problems import Path, Problem
from rotaplan.models.scenario import Learner, Requirement, Scenario, Site


def _error(path: Path, message: str, *, at_key: bool = False) -> Problem:
    return Problem(path, message, at_key=at_key)


def _warning(path: Path, message: str) -> Problem:
    return Problem(path, message, severity="warning")


def _empty(value: list[str] | None, path: Path, default: str) -> Iterator[Problem]:
    """An explicit empty list where the key's default is not empty is ambiguous."""
    if value is not None and not value:
        yield _error(path, f"an empty list is ambiguous here: leave '{path[-1]}' out for the "
                     f"default ({default}), or list at least one")


def _duplicates(ids: Iterable[str], where: Iterable[Path], kind: str) -> Iterator[Problem]:
    seen: Counter[str] = Counter()
    for value, path in zip(ids, where, strict=True):
        seen[value] += 1
        if seen[value] == 2:
            yield _error(path, f"duplicate {kind} id {value!r}")


def _unknown(
    values: Iterable[str], known: set[str] | list[str], path: Path, kind: str, hint: str = ""
) -> Iterator[Problem]:
    for index, value in enumerate(values):
        if value not in known:
            yield _error((*path, index), f"unknown {kind} {value!r}{hint}")


def cross_check(scenario: Scenario) -> list[Problem]:
    """Every cross-reference and impossible-input problem of a scenario.

    Parameters
    ----------
    scenario
        A scenario whose shape is already valid.

    Returns
    -------
    list[Problem]
        Errors and warnings; the path of each points at the reference at fault.
    """
    return list(_checks(scenario))


def _checks(sc: Scenario) -> Iterator[Problem]:
    prog = sc.programme
    sessions = list(prog.sessions)
    session_set = set(sessions)
    blocks = set(prog.block_numbers)
    settings = {s.id for s in sc.settings}
    professions = set(sc.professions)
    site_ids = {s.id for s in sc.sites}

    # Programme.
    yield from _duplicates(sessions, [("programme", "sessions", i) for i in range(len(sessions))],
                           "session")
    yield from _unknown(prog.teaching_sessions, session_set, ("programme", "teaching_sessions"),
                        "session", " (teaching sessions must be among programme.sessions)")
    if prog.start is not None and isinstance(prog.start, dt.date) and prog.start.weekday() != 0:
        yield _warning(("programme", "start"),
                       f"{prog.start.isoformat()} is a {prog.start:%A}; blocks usually start "
                       "on a Monday")

    # Ids unique within their kind.
    yield from _duplicates([s.id for s in sc.settings],
                           [("settings", i, "id") for i in range(len(sc.settings))], "setting")
    yield from _duplicates(sc.professions,
                           [("professions", i) for i in range(len(sc.professions))], "profession")
    yield from _duplicates([s.id for s in sc.sites],
                           [("sites", i, "id") for i in range(len(sc.sites))], "site")
    sup_ids = [(u.id, ("sites", i, "supervisors", j, "id"))
               for i, s in enumerate(sc.sites) for j, u in enumerate(s.supervisors)]
    yield from _duplicates([u for u, _ in sup_ids], [p for _, p in sup_ids], "supervisor")
    yield from _duplicates([learner.id for learner in sc.learners],
                           [("learners", i, "id") for i in range(len(sc.learners))], "learner")

    # Supervision rules.
    for learner_prof, allowed in sc.supervision.items():
        if learner_prof not in professions:
            yield _error(("supervision", learner_prof), f"unknown profession {learner_prof!r}",
                         at_key=True)
        yield from _unknown(allowed, professions, ("supervision", learner_prof), "profession")

    # Tracks.
    rot, fel = sc.tracks.rotation, sc.tracks.fellowship
    yield from _unknown(rot.cover, settings, ("tracks", "rotation", "cover"), "setting")
    yield from _duplicates(rot.cover, [("tracks", "rotation", "cover", i)
                                       for i in range(len(rot.cover))], "cover setting")
    yield from _requirement_checks(rot.requirements, ("tracks", "rotation", "requirements"),
                                   settings)
    for k, rule in enumerate(rot.precedence):
        where: Path = ("tracks", "rotation", "precedence", k)
        for end in ("before", "after"):
            if getattr(rule, end) not in settings:
                yield _error((*where, end), f"unknown setting {getattr(rule, end)!r}")
        if rule.before == rule.after:
            yield _error(where, f"{rule.before} cannot come before itself")
    cycle = _precedence_cycle([(r.before, r.after) for r in rot.precedence])
    if cycle:
        yield _error(("tracks", "rotation", "precedence"),
                     f"the precedence rules form a cycle ({' before '.join(cycle)}): no "
                     "learner who needs these settings could ever be placed")
    if fel is not None:
        if fel.base_setting not in settings:
            yield _error(("tracks", "fellowship", "base_setting"),
                         f"unknown setting {fel.base_setting!r}")
        yield from _unknown(fel.partner_settings, settings,
                            ("tracks", "fellowship", "partner_settings"), "setting")
        distinct = len(set(fel.partner_settings))
        if fel.distinct_partner_settings > distinct:
            yield _error(("tracks", "fellowship", "distinct_partner_settings"),
                         f"{fel.distinct_partner_settings} distinct partner settings asked for, "
                         f"but only {distinct} distinct partner settings are listed")
        if not fel.partner_settings:
            yield _error(("tracks", "fellowship", "partner_settings"),
                         "at least one partner setting is needed")

    # Sites and supervisors.
    for i, site in enumerate(sc.sites):
        yield from _site_checks(sc, i, site, settings, professions, session_set, blocks)

    # Learners.
    for i, learner in enumerate(sc.learners):
        yield from _learner_checks(sc, i, learner, settings, professions, session_set, blocks,
                                   site_ids)


def _requirement_checks(requirements: list[Requirement] | None, path: Path,
                        settings: set[str]) -> Iterator[Problem]:
    """Unknown settings, ``count`` with ``min``/``max``, ``min`` above ``max``."""
    for k, rq in enumerate(requirements or []):
        where: Path = (*path, k)
        yield from _unknown(rq.settings, settings, (*where, "settings"), "setting")
        yield from _duplicates(rq.settings, [(*where, "settings", j)
                                             for j in range(len(rq.settings))], "setting")
        if rq.count is not None and (rq.min is not None or rq.max is not None):
            yield _error((*where, "count"), "give count, or min and/or max, not both")
        if rq.min is not None and rq.max is not None and rq.min > rq.max:
            yield _error((*where, "min"), f"min {rq.min} is above max {rq.max}")


def _precedence_cycle(edges: list[tuple[str, str]]) -> list[str] | None:
    """A cycle among before -> after edges, as the settings in order, or None."""
    after: dict[str, list[str]] = {}
    for a, b in edges:
        after.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in after.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for start in list(after):
        if state.get(start) is None:
            found = visit(start)
            if found:
                return found
    return None


def _runs(blocks: list[int]) -> list[list[int]]:
    """Runs of consecutive block numbers."""
    runs: list[list[int]] = []
    for b in sorted(blocks):
        if runs and runs[-1][-1] == b - 1:
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def _starts(blocks: list[int], block: int, length: int) -> bool:
    """Whether some placement of ``length`` blocks inside ``blocks`` covers ``block``."""
    own = set(blocks)
    return any(all(t + j in own for j in range(length))
               for t in range(block - length + 1, block + 1))


def _usable_lengths(sc: Scenario, learner: Learner) -> dict[str, set[int]]:
    """Placement lengths of the sites a rotation learner could use, per setting."""
    out: dict[str, set[int]] = {}
    for site in sc.sites:
        if not site.accepts_profession(learner.profession) or site.id in learner.avoid \
                or site.setting in learner.avoid:
            continue
        out.setdefault(site.setting, set()).add(sc.placement_length(site))
    return out


def _rotation_fit(sc: Scenario, here: Path, learner: Learner,
                  own_blocks: list[int]) -> Iterator[Problem]:
    """Placements that can never fit the learner's blocks (rules 9, 13, 14)."""
    cover = list(dict.fromkeys(sc.tracks.rotation.cover))
    at: Path = (*here, "blocks") if learner.blocks is not None else (*here, "id")
    lengths_by_setting = _usable_lengths(sc, learner)
    lengths = set().union(*lengths_by_setting.values()) if lengths_by_setting else {1}
    runs = _runs(own_blocks)
    most = sum(len(run) // min(lengths) for run in runs)  # placements that fit at most
    if learner.placements is not None:
        if learner.placements < len(cover):
            yield _error((*here, "placements"),
                         f"{learner.placements} placement(s) cannot cover {len(cover)} "
                         f"settings ({', '.join(cover)})")
        if learner.placements > most:
            yield _error((*here, "placements"),
                         f"{learner.placements} placements cannot fit in the learner's "
                         f"blocks ({len(own_blocks)} block(s), placements of "
                         f"{min(lengths)}+ blocks)")
    elif most < len(cover):
        held = "" if min(lengths) == 1 else \
            f" hold at most {most} placement(s) of {min(lengths)}+ blocks and"
        yield _error(at, f"{len(own_blocks)} block(s){held} cannot cover {len(cover)} "
                     f"settings ({', '.join(cover)})")
    if learner.placements is None and not all(_tiles(len(run), lengths) for run in runs):
        bad = next(run for run in runs if not _tiles(len(run), lengths))
        yield _error(at, f"blocks {bad[0]}-{bad[-1]} cannot be filled with placements of "
                     f"{', '.join(map(str, sorted(lengths)))} block(s) (every block is "
                     "placed unless the learner has 'placements')")
    longest = max((len(run) for run in runs), default=0)
    for setting in cover:
        fits = {k for k in lengths_by_setting.get(setting, set()) if k <= longest}
        if setting in lengths_by_setting and not fits:
            yield _error(at, f"no placement in {setting} fits the learner's blocks "
                         f"(placements there last {min(lengths_by_setting[setting])}+ "
                         f"blocks; the longest run of the learner's blocks is {longest})")
    if sc.tracks.rotation.no_repeat_site:
        first: dict[str, int] = {}
        for block, site_id in sorted(learner.pinned.items()):
            site = sc.site_by_id.get(site_id)
            if site is None:
                continue
            if site_id in first and block - first[site_id] >= sc.placement_length(site):
                yield _error((*here, "pinned"), f"{site_id} is pinned in blocks "
                             f"{first[site_id]} and {block}, two placements, but "
                             "no_repeat_site is true")
            first.setdefault(site_id, block)


def _tiles(size: int, lengths: set[int]) -> bool:
    """Whether ``size`` consecutive blocks can be split into placements of these lengths."""
    ok = [True] + [False] * size
    for n in range(1, size + 1):
        ok[n] = any(k <= n and ok[n - k] for k in lengths)
    return ok[size]


FELLOW_KEYS = ("placements", "requirements", "completed", "weights")
"""Learner keys of §9 that apply to rotation learners only."""


def _v2_learner_checks(sc: Scenario, here: Path, learner: Learner, settings: set[str],
                       site_ids: set[str]) -> Iterator[Problem]:
    """§9 keys of one learner: fellows' keys, scores, requirements, completed."""
    if learner.track == "fellowship":
        for key in FELLOW_KEYS:
            if key in learner.model_fields_set:
                yield _error((*here, key), f"'{key}' applies to rotation learners only "
                             "(contract §9), not to a fellow")
    yield from _unknown(learner.completed, settings, (*here, "completed"), "setting")
    yield from _requirement_checks(learner.requirements, (*here, "requirements"), settings)
    organisations = sc.organisations
    for key in learner.scores:
        kinds = [kind for kind, ids in (("site", site_ids), ("setting", settings),
                                        ("organisation", organisations)) if key in ids]
        if len(kinds) == 1:
            continue
        what = " and ".join(kinds) if kinds else "no site, setting or organisation"
        yield _error((*here, "scores", key), f"{key!r} names {what}: a score key must name "
                     "exactly one site, setting or organisation", at_key=True)


def _site_checks(sc: Scenario, i: int, site: Site, settings: set[str], professions: set[str],
                 sessions: set[str], blocks: set[int]) -> Iterator[Problem]:
    here: Path = ("sites", i)
    yield from _empty(site.accepts, (*here, "accepts"), "every profession")
    yield from _empty(site.open_sessions, (*here, "open_sessions"), "every session")
    if site.setting not in settings:
        yield _error((*here, "setting"), f"unknown setting {site.setting!r}")
    if site.accepts is not None:
        yield from _unknown(site.accepts, professions, (*here, "accepts"), "profession")
    if site.open_sessions is not None:
        yield from _unknown(site.open_sessions, sessions, (*here, "open_sessions"), "session")
    for name in ("capacity", "min_learners"):
        value = getattr(site, name)
        if isinstance(value, dict):
            for block in value:
                if block not in blocks:
                    yield _error((*here, name, block),
                                 f"block {block} is not in the programme (1..{len(blocks)})",
                                 at_key=True)
    for block in sorted(blocks):
        cap, low = site.capacity_in(block), site.minimum_in(block)
        if cap is not None and low > cap:
            yield _error((*here, "min_learners"),
                         f"min_learners {low} exceeds capacity {cap} in block {block}")
    if isinstance(site.rooms, dict):
        for key in site.rooms:
            if key != "default" and key not in sessions:
                yield _error((*here, "rooms", key), f"unknown session {key!r}", at_key=True)
    open_set = set(site.open_in(sc.programme))
    for j, sup in enumerate(site.supervisors):
        where: Path = (*here, "supervisors", j)
        yield from _empty(sup.sessions, (*where, "sessions"), "the site's open sessions")
        if sup.profession not in professions:
            yield _error((*where, "profession"), f"unknown profession {sup.profession!r}")
        if sup.sessions is not None:
            yield from _unknown(sup.sessions, sessions, (*where, "sessions"), "session")
            closed = [d for d in sup.sessions if d in sessions and d not in open_set]
            if closed:
                yield _warning((*where, "sessions"),
                               f"works {', '.join(closed)} when {site.id} is closed")
        for k, block in enumerate(sup.unavailable_blocks):
            if block not in blocks:
                yield _error((*where, "unavailable_blocks", k),
                             f"block {block} is not in the programme (1..{len(blocks)})")


def _learner_checks(sc: Scenario, i: int, learner: Learner, settings: set[str],
                    professions: set[str], sessions: set[str], blocks: set[int],
                    site_ids: set[str]) -> Iterator[Problem]:
    here: Path = ("learners", i)
    prog = sc.programme
    yield from _empty(learner.available_sessions, (*here, "available_sessions"),
                      "every session")
    if learner.profession not in professions:
        yield _error((*here, "profession"), f"unknown profession {learner.profession!r}")
    if learner.available_sessions is not None:
        yield from _unknown(learner.available_sessions, sessions,
                            (*here, "available_sessions"), "session")
        yield from _duplicates(learner.available_sessions,
                               [(*here, "available_sessions", k)
                                for k in range(len(learner.available_sessions))], "session")
    available = set(learner.available_in(prog))
    per_week = learner.working_sessions_per_week(prog)
    teaching = set(prog.teaching_sessions) & available
    if per_week > len(available):
        yield _error((*here, "sessions_per_week"),
                     f"{per_week} sessions a week but only {len(available)} available sessions")
    if per_week < len(teaching):
        yield _error((*here, "sessions_per_week"),
                     f"{per_week} sessions a week cannot include the {len(teaching)} teaching "
                     "session(s) in available_sessions")
    if learner.blocks is not None:
        if not learner.blocks:
            yield _error((*here, "blocks"), "a learner needs at least one block")
        for k, block in enumerate(learner.blocks):
            if block not in blocks:
                yield _error((*here, "blocks", k),
                             f"block {block} is not in the programme (1..{len(blocks)})")
        yield from _duplicates([str(b) for b in learner.blocks],
                               [(*here, "blocks", k) for k in range(len(learner.blocks))],
                               "block")
    own_blocks = learner.blocks_in(prog)
    known_prefs = site_ids | settings
    yield from _unknown(learner.preferences, known_prefs, (*here, "preferences"),
                        "site or setting")
    yield from _unknown(learner.avoid, site_ids | settings, (*here, "avoid"), "site or setting")
    yield from _v2_learner_checks(sc, here, learner, settings, site_ids)
    for block, site_id in learner.pinned.items():
        where: Path = (*here, "pinned", block)
        if block not in own_blocks:
            yield _error(where, f"block {block} is not one of the learner's blocks", at_key=True)
        site = sc.site_by_id.get(site_id)
        if site is None:
            yield _error(where, f"unknown site {site_id!r}")
            continue
        if not site.accepts_profession(learner.profession):
            yield _error(where, f"{site_id} does not accept {learner.profession}")
        if site_id in learner.avoid:
            yield _error(where, f"{site_id} is both pinned and avoided")
        if site.setting in learner.avoid:
            yield _error(where, f"{site_id} is in {site.setting}, which the learner avoids")
        if learner.track == "rotation" and block in own_blocks:
            length = sc.placement_length(site)
            if not _starts(own_blocks, block, length):
                yield _error(where, f"block {block} cannot start or continue a {length}-block "
                             f"placement at {site_id} within the learner's blocks")
    if learner.track == "rotation":
        yield from _rotation_fit(sc, here, learner, own_blocks)
        return
    fel = sc.tracks.fellowship
    if fel is None:
        yield _error((*here, "track"), "track 'fellowship' needs tracks.fellowship in the scenario")
        return
    pins = set(learner.pinned.values())
    if len(pins) > 1:
        yield _error((*here, "pinned"),
                     f"a fellow's pins fix the base site, which is the same every block; "
                     f"got {', '.join(sorted(pins))}")
    for block, site_id in learner.pinned.items():
        site = sc.site_by_id.get(site_id)
        if site is not None and site.setting != fel.base_setting:
            yield _error((*here, "pinned", block),
                         f"{site_id} is in {site.setting}, not the base setting "
                         f"{fel.base_setting}")
    clinical = per_week - len(teaching)
    if 0 <= clinical < fel.partner_sessions:
        yield _error((*here, "sessions_per_week") if learner.sessions_per_week is not None
                     else (*here, "id"),
                     f"{clinical} clinical session(s) a week cannot hold "
                     f"{fel.partner_sessions} partner sessions")
    if len(own_blocks) < fel.distinct_partner_settings:
        yield _error((*here, "blocks") if learner.blocks is not None else (*here, "id"),
                     f"{len(own_blocks)} block(s) cannot cover "
                     f"{fel.distinct_partner_settings} distinct partner settings")
