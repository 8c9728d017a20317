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
    """A programme without sessions has the ten weekday half-days, Mon-AM to Fri-PM."""
    sc = from_yaml(MINIMAL)
    assert sc.programme.sessions == TEN_HALF_DAYS
    assert list(DEFAULT_SESSIONS) == TEN_HALF_DAYS


def test_block_weeks_default_13() -> None:
    """A programme without block_weeks has blocks of 13 weeks."""
    assert from_yaml(MINIMAL).programme.block_weeks == 13


def test_blocks_are_numbered_from_one() -> None:
    """A programme of 4 blocks numbers them 1, 2, 3, 4."""
    assert from_yaml(MINIMAL).programme.block_numbers == [1, 2, 3, 4]


def test_teaching_sessions_default_none() -> None:
    """A programme without teaching_sessions has no teaching."""
    assert from_yaml(MINIMAL).programme.teaching_sessions == []


def test_start_is_optional() -> None:
    """A programme may leave out its start date."""
    assert from_yaml(MINIMAL).programme.start is None


# ----- §2 supervision ------------------------------------------------------------------------


def test_supervision_default_same_profession_only() -> None:
    """Without a supervision map a profession is supervised only by its own."""
    sc = scenario_from(base_scenario() | {"professions": ["nurse", "gp"]})
    assert sc.supervision == {}
    assert sc.may_supervise("nurse", "nurse")
    assert not sc.may_supervise("gp", "nurse")
    assert not sc.may_supervise("nurse", "gp")


def test_supervision_map_lists_exactly_the_allowed_professions() -> None:
    """A supervision entry allows exactly the professions it lists, its own only if listed.

    A profession without an entry is still supervised only by its own.
    """
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
    """A site without accepts takes any profession."""
    site = only_site()
    assert site.accepts is None
    assert site.accepts_profession("nurse")
    assert site.accepts_profession("any-profession-at-all")


def test_accepts_list_limits_professions() -> None:
    """A site's accepts list takes only the professions it names."""
    data = base_scenario() | {"professions": ["nurse", "gp"]}
    data["sites"][0]["accepts"] = ["gp"]
    site = scenario_from(data).sites[0]
    assert site.accepts_profession("gp")
    assert not site.accepts_profession("nurse")


def test_capacity_defaults_to_unlimited() -> None:
    """A site without capacity is unlimited."""
    site = only_site()
    assert site.capacity is None
    assert site.capacity_in(1) is None


def test_capacity_int_applies_to_every_block() -> None:
    """An int capacity limits every block to that number."""
    site = from_yaml(MINIMAL.replace("setting: acute}", "setting: acute, capacity: 2}")).sites[0]
    assert [site.capacity_in(b) for b in (1, 2, 3, 4)] == [2, 2, 2, 2]


def test_capacity_map_leaves_unlisted_blocks_unlimited() -> None:
    """A capacity map limits only the blocks it lists (0 included); the others are unlimited."""
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, capacity: {2: 1, 4: 0}}")).sites[0]
    assert [site.capacity_in(b) for b in (1, 2, 3, 4)] == [None, 1, None, 0]


def test_min_learners_defaults_to_zero() -> None:
    """A site without min_learners needs no learners."""
    site = only_site()
    assert site.minimum_in(1) == 0


def test_min_learners_int_applies_to_every_block() -> None:
    """An int min_learners applies to every block."""
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, min_learners: 1}")).sites[0]
    assert [site.minimum_in(b) for b in (1, 2, 3, 4)] == [1, 1, 1, 1]


def test_min_learners_map_leaves_unlisted_blocks_at_zero() -> None:
    """A min_learners map sets only the blocks it lists; the others need 0."""
    site = from_yaml(MINIMAL.replace("setting: acute}",
                                     "setting: acute, min_learners: {3: 1}}")).sites[0]
    assert [site.minimum_in(b) for b in (1, 2, 3, 4)] == [0, 0, 1, 0]


def test_rooms_default_unlimited() -> None:
    """A site without rooms has unlimited rooms."""
    site = only_site()
    assert site.rooms is None
    assert site.rooms_at("Mon-AM") is None


def test_rooms_int_applies_to_every_session() -> None:
    """An int rooms gives that many rooms in every session."""
    site = only_site(rooms=2)
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [2, 2, 2]


def test_rooms_map_with_default() -> None:
    """A rooms map's default gives rooms to the sessions the map does not list."""
    site = only_site(rooms={"default": 1, "Mon-PM": 3})
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [1, 3, 1]


def test_rooms_map_without_default_gives_zero_to_unlisted_sessions() -> None:
    """A rooms map without default gives 0 rooms to the sessions it does not list."""
    site = only_site(rooms={"Mon-PM": 3})
    assert [site.rooms_at(s) for s in ("Mon-AM", "Mon-PM", "Tue-AM")] == [0, 3, 0]


def test_rooms_zero_is_zero_not_unlimited() -> None:
    """rooms: 0 means no room at all, not unlimited."""
    assert only_site(rooms=0).rooms_at("Mon-AM") == 0


def test_open_sessions_default_all_sessions() -> None:
    """A site without open_sessions is open in every programme session."""
    sc = with_site()
    assert sc.sites[0].open_sessions is None
    assert sc.sites[0].open_in(sc.programme) == ["Mon-AM", "Mon-PM", "Tue-AM"]


def test_open_sessions_list_is_used() -> None:
    """A site's open_sessions list is the sessions it is open."""
    sc = with_site(open_sessions=["Mon-PM"])
    assert sc.sites[0].open_in(sc.programme) == ["Mon-PM"]


def test_supervisor_defaults() -> None:
    """A supervisor without options has capacity 1, default sessions, and no unavailable block."""
    data = base_scenario()
    data["sites"][0]["supervisors"] = [{"id": "sup", "profession": "nurse"}]
    sup = scenario_from(data).sites[0].supervisors[0]
    assert isinstance(sup, Supervisor)
    assert sup.capacity == 1
    assert sup.sessions is None
    assert sup.unavailable_blocks == []


def test_supervisor_sessions_default_to_the_sites_open_sessions() -> None:
    """A supervisor without sessions works the site's open sessions."""
    sc = with_site(open_sessions=["Mon-AM", "Tue-AM"])
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-AM", "Tue-AM"]


def test_supervisor_sessions_default_to_all_sessions_when_site_always_open() -> None:
    """A supervisor without sessions at an always-open site works every session."""
    sc = with_site()
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-AM", "Mon-PM", "Tue-AM"]


def test_supervisor_sessions_explicit() -> None:
    """A supervisor's sessions list is the sessions they work."""
    data = base_scenario()
    data["sites"][0]["supervisors"][0]["sessions"] = ["Mon-PM"]
    sc = scenario_from(data)
    site = sc.sites[0]
    assert sc.supervisor_sessions(site, site.supervisors[0]) == ["Mon-PM"]


# ----- §4 learners and tracks ----------------------------------------------------------------


def test_learner_defaults() -> None:
    """A learner with only id and profession rotates, works every session of every block.

    They have no preferences, avoided sites or pins.
    """
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
    """Without sessions_per_week a learner works every available session."""
    sc = with_learner(available_sessions=["Mon-AM", "Tue-AM"])
    learner = sc.learners[0]
    assert learner.sessions_per_week is None
    assert learner.available_in(sc.programme) == ["Mon-AM", "Tue-AM"]
    assert learner.working_sessions_per_week(sc.programme) == 2


def test_sessions_per_week_explicit() -> None:
    """A learner's sessions_per_week is the number of sessions they work."""
    sc = with_learner(sessions_per_week=1)
    assert sc.learners[0].working_sessions_per_week(sc.programme) == 1


def test_learner_blocks_explicit_are_sorted() -> None:
    """A learner's blocks are used in block order, whatever order they are written in."""
    sc = from_yaml(MINIMAL.replace("profession: nurse}", "profession: nurse, blocks: [3, 1]}"))
    assert sc.learners[0].blocks_in(sc.programme) == [1, 3]


def test_pinned_keys_are_block_numbers() -> None:
    """A pinned map's keys are read as block numbers."""
    sc = from_yaml(MINIMAL.replace("profession: nurse}", "profession: nurse, pinned: {2: ward}}"))
    assert sc.learners[0].pinned == {2: "ward"}


def test_tracks_default() -> None:
    """Without tracks, rotation covers nothing, never repeats a site, and there is no fellowship."""
    tracks = from_yaml(MINIMAL).tracks
    assert tracks.rotation.cover == []
    assert tracks.rotation.no_repeat_site is True
    assert tracks.fellowship is None


def test_no_repeat_site_default_true_when_rotation_given() -> None:
    """A rotation track that leaves out no_repeat_site forbids repeating a site."""
    sc = scenario_from(base_scenario() | {"tracks": {"rotation": {"cover": ["acute"]}}})
    assert sc.tracks.rotation.no_repeat_site is True


def test_distinct_partner_settings_default_zero() -> None:
    """A fellowship without distinct_partner_settings asks for 0 distinct settings."""
    data = base_scenario() | {"tracks": {"fellowship": {
        "base_setting": "acute", "partner_settings": ["acute"], "partner_sessions": 1}}}
    fellowship = scenario_from(data).tracks.fellowship
    assert fellowship is not None
    assert fellowship.distinct_partner_settings == 0


# ----- §7 objective --------------------------------------------------------------------------


def test_objective_defaults() -> None:
    """Without objective, no learner may be left out, the penalty is 1000 and fairness is none."""
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
    """A site costs its index in the preferences, else its setting's index, else len(P).

    A learner without preferences costs 0 everywhere.
    """
    sc = from_yaml(PREFS_YAML)
    assert sc.preference_cost(sc.learner_by_id[learner_id], sc.site_by_id[site_id]) == cost


# ----- YAML 1.2, warnings, schema ------------------------------------------------------------


def test_yaml_1_2_keeps_no_yes_on_off_as_strings() -> None:
    """YAML 1.2 reading keeps yes, no, on, off (any case) as strings, in ids and references."""
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
    """A start date that is not a Monday loads, with a warning at its line naming the weekday."""
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
    """A start date on a Monday gives no warning."""
    path = tmp_path / "monday.yaml"
    path.write_text(MINIMAL.replace("blocks: 4}", "blocks: 4, start: 2027-09-06}"))
    assert load(path).warnings == []


def test_json_schema() -> None:
    """The JSON schema requires the five top-level keys and documents the defaults."""
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
    """The shared example scenario loads without warnings: 8 sites, 6 learners (2 fellows)."""
    loaded = load(SHARED_EXAMPLE)
    sc = loaded.scenario
    assert loaded.warnings == []
    assert (len(sc.settings), len(sc.sites), len(sc.learners)) == (4, 8, 6)
    assert sum(1 for learner in sc.learners if learner.track == "fellowship") == 2
