"""The contract's defaults and value semantics (scenario.md §1-§4, §7), one test each.

Scenarios are written as YAML text or built from ``tests.conftest.base_scenario``
(one block, sessions Mon-AM, Mon-PM, Tue-AM, one site ``ward``, one learner
``L1``) and go through the real loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rotaplan.models import (
    DEFAULT_SESSIONS,
    Learner,
    Scenario,
    Site,
    Supervisor,
    load,
    parse_scenario_text,
)
from tests.helpers import SHARED_EXAMPLE, base_scenario, needs_shared, scenario_from

TEN_HALF_DAYS = ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM",
                 "Wed-PM", "Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM"]


def with_site(**fields: Any) -> Scenario:
    """The base scenario with extra fields on its one site."""
    data = base_scenario()
    data["sites"][0].update(fields)
    return scenario_from(data)


def only_site(**fields: Any) -> Site:
    return with_site(**fields).sites[0]


def with_learner(**fields: Any) -> Scenario:
    """The base scenario with extra fields on its one learner."""
    data = base_scenario()
    data["learners"][0].update(fields)
    return scenario_from(data)


def only_learner(**fields: Any) -> Learner:
    return with_learner(**fields).learners[0]


def from_yaml(text: str) -> Scenario:
    return parse_scenario_text(text, "<test>").scenario


MINIMAL = """\
programme: {name: tiny, blocks: 4}
settings: [acute]
professions: [nurse]
sites: [{id: ward, setting: acute}]
learners: [{id: L1, profession: nurse}]
"""


# ----- §1 time -------------------------------------------------------------------------------


def test_default_sessions_are_the_ten_half_days() -> None:
    sc = from_yaml(MINIMAL)
    assert sc.programme.sessions == TEN_HALF_DAYS
    assert list(DEFAULT_SESSIONS) == TEN_HALF_DAYS


def test_block_weeks_default_13() -> None:
    assert from_yaml(MINIMAL).programme.block_weeks == 13


def test_blocks_are_numbered_from_one() -> None:
    assert from_yaml(MINIMAL).programme.block_numbers == [1, 2, 3, 4]


def test_teaching_sessions_default_none() -> None:
    assert from_yaml(MINIMAL).programme.teaching_sessions == []


def test_start_is_optional() -> None:
    assert from_yaml(MINIMAL).programme.start is None


# ----- §2 supervision ------------------------------------------------------------------------


def test_supervision_default_same_profession_only() -> None:
    sc = scenario_from(base_scenario() | {"professions": ["nurse", "gp"]})
    assert sc.supervision == {}
    assert sc.may_supervise("nurse", "nurse")
    assert not sc.may_supervise("gp", "nurse")
    assert not sc.may_supervise("nurse", "gp")


def test_supervision_map_lists_exactly_the_allowed_professions() -> None:
    sc = scenario_from(base_scenario() | {
        "professions": ["nurse", "paramedic", "gp"],
        "supervision": {"paramedic": ["paramedic", "nurse"], "gp": ["nurse"]}})
    assert sc.may_supervise("paramedic", "paramedic")
    assert sc.may_supervise("nurse", "paramedic")
    assert not sc.may_supervise("gp", "paramedic")
    assert sc.may_supervise("nurse", "gp")
    assert not sc.may_supervise("gp", "gp")  # listed: only what the list says
    assert not sc.may_supervise("paramedic", "nurse")  # unlisted: same profession only


# ----- §3 sites and supervisors --------------------------------------------------------------


def test_accepts_defaults_to_every_profession() -> None:
    site = only_site()
    assert site.accepts is None
    assert site.accepts_profession("nurse")
    assert site.accepts_profession("any-profession-at-all")


def test_accepts_list_limits_professions() -> None:
    data = base_scenario() | {"professions": ["nurse", "gp"]}
    data["sites"][0]["accepts"] = ["gp"]
    site = scenario_from(data).sites[0]
    assert site.accepts_profession("gp")
    assert not site.accepts_profession("nurse")


def test_capacity_defaults_to_unlimited() -> None:
    site = only_site()
    assert site.capacity is None
    assert site.capacity_in(1) is None


def test_capacity_int_applies_to_every_block() -> None:
    site = from_yaml(MINIMAL.replace("setting: acute}", "setting: acute, capacity: 2}")).sites[0]
    assert [site.capacity_in(b) for b in (1, 2, 3, 4)] == [2, 2, 2, 2]


def test_capacity_map_leaves_unlisted_blocks_unlimited() -> None:
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, capacity: {2: 1, 4: 0}}")).sites[0]
    assert [site.capacity_in(b) for b in (1, 2, 3, 4)] == [None, 1, None, 0]


def test_min_learners_defaults_to_zero() -> None:
    site = only_site()
    assert site.minimum_in(1) == 0


def test_min_learners_int_applies_to_every_block() -> None:
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, min_learners: 1}")).sites[0]
    assert [site.minimum_in(b) for b in (1, 2, 3, 4)] == [1, 1, 1, 1]


def test_min_learners_map_leaves_unlisted_blocks_at_zero() -> None:
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, min_learners: {3: 1}}")).sites[0]
    assert [site.minimum_in(b) for b in (1, 2, 3, 4)] == [0, 0, 1, 0]


def test_rooms_default_unlimited() -> None:
    site = only_site()
    assert site.rooms is None
    assert site.rooms_at("Mon-AM") is None


def test_rooms_int_applies_to_every_session() -> None:
    site = only_site(rooms=2)
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [2, 2, 2]


def test_rooms_map_with_default() -> None:
    site = only_site(rooms={"default": 1, "Mon-PM": 3})
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [1, 3, 1]


def test_rooms_map_without_default_gives_zero_to_unlisted_sessions() -> None:
    site = only_site(rooms={"Mon-PM": 3})
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [0, 3, 0]


def test_rooms_zero_is_zero_not_unlimited() -> None:
    assert only_site(rooms=0).rooms_at("Mon-AM") == 0


def test_open_sessions_default_all_sessions() -> None:
    sc = with_site()
    assert sc.sites[0].open_sessions is None
    assert sc.sites[0].open_in(sc.programme) == ["Mon-AM", "Mon-PM", "Tue-AM"]


def test_open_sessions_list_is_used() -> None:
    sc = with_site(open_sessions=["Mon-PM"])
    assert sc.sites[0].open_in(sc.programme) == ["Mon-PM"]


def test_supervisor_defaults() -> None:
    data = base_scenario()
    data["sites"][0]["supervisors"] = [{"id": "sup", "profession": "nurse"}]
    sup = scenario_from(data).sites[0].supervisors[0]
    assert isinstance(sup, Supervisor)
    assert sup.capacity == 1
    assert sup.sessions is None
    assert sup.unavailable_blocks == []


def test_supervisor_sessions_default_to_the_sites_open_sessions() -> None:
    sc = with_site(open_sessions=["Mon-AM", "Tue-AM"])
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-AM", "Tue-AM"]


def test_supervisor_sessions_default_to_all_sessions_when_site_always_open() -> None:
    sc = with_site()
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-AM", "Mon-PM", "Tue-AM"]


def test_supervisor_sessions_explicit() -> None:
    data = base_scenario()
    data["sites"][0]["supervisors"][0]["sessions"] = ["Mon-PM"]
    sc = scenario_from(data)
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-PM"]


# ----- §4 learners and tracks ----------------------------------------------------------------


def test_learner_defaults() -> None:
    sc = from_yaml(MINIMAL)
    learner = sc.learners[0]
    assert learner.track == "rotation"
    assert learner.available_in(sc.programme) == TEN_HALF_DAYS
    assert learner.working_sessions_per_week(sc.programme) == 10
    assert learner.blocks_in(sc.programme) == [1, 2, 3, 4]
    assert learner.preferences == []
    assert learner.avoid == []
    assert learner.pinned == {}


def test_sessions_per_week_defaults_to_all_available_sessions() -> None:
    sc = with_learner(available_sessions=["Mon-AM", "Tue-AM"])
    learner = sc.learners[0]
    assert learner.sessions_per_week is None
    assert learner.available_in(sc.programme) == ["Mon-AM", "Tue-AM"]
    assert learner.working_sessions_per_week(sc.programme) == 2


def test_sessions_per_week_explicit() -> None:
    sc = with_learner(sessions_per_week=1)
    assert sc.learners[0].working_sessions_per_week(sc.programme) == 1


def test_learner_blocks_explicit_are_sorted() -> None:
    sc = from_yaml(MINIMAL.replace("profession: nurse}", "profession: nurse, blocks: [3, 1]}"))
    assert sc.learners[0].blocks_in(sc.programme) == [1, 3]


def test_pinned_keys_are_block_numbers() -> None:
    sc = from_yaml(MINIMAL.replace("profession: nurse}", "profession: nurse, pinned: {2: ward}}"))
    assert sc.learners[0].pinned == {2: "ward"}


def test_tracks_default() -> None:
    tracks = from_yaml(MINIMAL).tracks
    assert tracks.rotation.cover == []
    assert tracks.rotation.no_repeat_site is True
    assert tracks.fellowship is None


def test_no_repeat_site_default_true_when_rotation_given() -> None:
    sc = scenario_from(base_scenario() | {"tracks": {"rotation": {"cover": ["acute"]}}})
    assert sc.tracks.rotation.no_repeat_site is True


def test_distinct_partner_settings_default_zero() -> None:
    data = base_scenario() | {"tracks": {"fellowship": {
        "base_setting": "acute", "partner_settings": ["acute"], "partner_sessions": 1}}}
    fellowship = scenario_from(data).tracks.fellowship
    assert fellowship is not None
    assert fellowship.distinct_partner_settings == 0


# ----- §7 objective --------------------------------------------------------------------------


def test_objective_defaults() -> None:
    objective = from_yaml(MINIMAL).objective
    assert objective.allow_unplaced is False
    assert objective.unplaced_penalty == 1000
    assert objective.fairness == "none"


PREFS_YAML = """\
programme: {name: tiny, blocks: 1}
settings: [acute, community, primary]
professions: [nurse]
sites:
  - {id: a1, setting: acute}
  - {id: a2, setting: acute}
  - {id: c1, setting: community}
  - {id: c2, setting: community}
  - {id: p1, setting: primary}
learners:
  - {id: L1, profession: nurse, preferences: [c1, acute, community]}
  - {id: L2, profession: nurse, preferences: [community, c2]}
  - {id: L3, profession: nurse}
"""


@pytest.mark.parametrize(("learner_id", "site_id", "cost"), [
    ("L1", "c1", 0),   # the site itself is listed first
    ("L1", "a1", 1),   # not listed; its setting is at index 1
    ("L1", "a2", 1),
    ("L1", "c2", 2),   # not listed; its setting is at index 2
    ("L1", "p1", 3),   # neither listed: len(P)
    ("L2", "c2", 1),   # a listed site uses its own index, even after its setting
    ("L2", "c1", 0),
    ("L2", "a1", 2),
    ("L3", "a1", 0),   # no preferences: 0 everywhere
    ("L3", "p1", 0),
])
def test_preference_cost(learner_id: str, site_id: str, cost: int) -> None:
    sc = from_yaml(PREFS_YAML)
    assert sc.preference_cost(sc.learner_by_id[learner_id], sc.site_by_id[site_id]) == cost


# ----- YAML 1.2, warnings, schema ------------------------------------------------------------


def test_yaml_1_2_keeps_no_yes_on_off_as_strings() -> None:
    sc = from_yaml("""\
programme: {name: tiny, blocks: 2}
settings: [on, off]
professions: [yes, no]
sites:
  - {id: NO, setting: on, accepts: [yes]}
  - {id: Off, setting: off}
learners:
  - {id: ON, profession: yes, pinned: {1: NO}, avoid: [Off], preferences: [NO, off]}
""")
    assert [s.id for s in sc.settings] == ["on", "off"]
    assert sc.professions == ["yes", "no"]
    assert list(sc.site_by_id) == ["NO", "Off"]
    assert sc.sites[0].setting == "on"
    learner = sc.learner_by_id["ON"]
    assert learner.profession == "yes"
    assert learner.pinned == {1: "NO"}
    assert learner.avoid == ["Off"]
    assert learner.preferences == ["NO", "off"]


def test_start_not_a_monday_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "tuesday.yaml"
    path.write_text(MINIMAL.replace("blocks: 4}", "blocks: 4, start: 2027-09-07}"))
    loaded = load(path)
    assert loaded.scenario.programme.start is not None
    assert loaded.scenario.programme.start.isoformat() == "2027-09-07"
    assert [(w.path, w.severity, w.line) for w in loaded.warnings] == [
        (("programme", "start"), "warning", 1)]
    assert "Tuesday" in loaded.warnings[0].message
    assert ": programme.start: warning: " in loaded.warnings[0].render(path.name)


def test_start_on_a_monday_gives_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "monday.yaml"
    path.write_text(MINIMAL.replace("blocks: 4}", "blocks: 4, start: 2027-09-06}"))
    assert load(path).warnings == []


def test_json_schema() -> None:
    schema = Scenario.model_json_schema()
    assert {"programme", "settings", "professions", "sites", "learners"} <= set(
        schema["required"])
    assert {"supervision", "tracks", "objective"} <= set(schema["properties"])
    defs = schema["$defs"]
    assert defs["Programme"]["properties"]["block_weeks"]["default"] == 13
    assert defs["Objective"]["properties"]["unplaced_penalty"]["default"] == 1000
    assert defs["Supervisor"]["properties"]["capacity"]["default"] == 1


@needs_shared
def test_shared_example_loads_without_errors_or_warnings() -> None:
    loaded = load(SHARED_EXAMPLE)
    sc = loaded.scenario
    assert loaded.warnings == []
    assert (len(sc.settings), len(sc.sites), len(sc.learners)) == (4, 8, 6)
    assert sum(1 for learner in sc.learners if learner.track == "fellowship") == 2
