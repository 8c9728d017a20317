"""The store answers every query for a person: teams decide what they see, roles what
they may change, and no id reaches another team's data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rotaplan.access import LOCAL, AccessDeniedError, Identity, Role, identity_for, personal_team
from rotaplan.runs.store import Store

TEAMS = {
    "north": {"admins": ["erin@nhs.net"], "editors": ["alice@nhs.net", "dave@nhs.net"],
              "viewers": ["carol@nhs.net"]},
    "south": {"editors": ["bob@nhs.net"]},
}


def person(email: str, home: str | None = "north") -> Identity:
    """A signed-in person with the test's team configuration."""
    return identity_for(email, email.split("@")[0].title(), TEAMS, home=home)


def run_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``record_run`` with a small plan."""
    return {"status": "OPTIMAL", "objective": 1.0, "bound": 1.0, "seconds": 0.1,
            "options": {}, "summary": {}, "assignments_csv": "a\n", "timetable_csv": "t\n"}


@pytest.fixture
def base(tmp_path: Path) -> Store:
    """A store on a fresh database (acting for local mode's user)."""
    return Store(f"sqlite:///{tmp_path}/t.db")


def test_another_teams_scenario_does_not_exist_for_a_caller(base: Store) -> None:
    """Bob (team south) cannot list, open, change or delete Alice's team-north
    scenario by any id: every call answers as for a missing id."""
    alice, bob = base.as_user(person("alice@nhs.net")), base.as_user(person("bob@nhs.net",
                                                                            "south"))
    v = alice.create_scenario("north plan", "learners: [Ann Example]\n")
    run = alice.record_run(v.id, **run_kwargs())
    mine = bob.create_scenario("south plan", "b: 1\n")
    assert [s.name for s in bob.list_scenarios()] == ["south plan"]
    assert [s.name for s in alice.list_scenarios()] == ["north plan"]
    assert bob.runs() == [] and [r.id for r in alice.runs()] == [run.id]
    sid = v.scenario_id
    calls: list[Callable[[], object]] = [
        lambda: bob.latest_version(sid), lambda: bob.versions(sid), lambda: bob.version(v.id),
        lambda: bob.run(run.id), lambda: bob.run_plan(run.id),
        lambda: bob.save_version(sid, "x: 1\n"), lambda: bob.save_draft(sid, "x: 2\n"),
        lambda: bob.rename(sid, "mine now"), lambda: bob.duplicate(sid),
        lambda: bob.delete_scenario(sid), lambda: bob.record_run(v.id, **run_kwargs()),
    ]
    for call in calls:
        with pytest.raises(KeyError, match="no "):
            call()
    assert bob.runs(scenario_id=sid) == [] and bob.runs(version_id=v.id) == []
    assert alice.latest_version(sid).yaml_text == "learners: [Ann Example]\n"
    with pytest.raises(KeyError):
        alice.latest_version(mine.scenario_id)


def test_roles_decide_who_may_view_edit_and_delete(base: Store) -> None:
    """In one team a viewer only looks (and may copy into their own team), editors
    edit and solve and delete their own scenarios, and admins delete any."""
    alice = base.as_user(person("alice@nhs.net"))
    carol = base.as_user(person("carol@nhs.net"))
    dave = base.as_user(person("dave@nhs.net"))
    erin = base.as_user(person("erin@nhs.net"))
    v = alice.create_scenario("north plan", "a: 1\n")
    sid = v.scenario_id
    [seen] = carol.list_scenarios()
    assert (seen.owner, seen.team, seen.role, seen.may_delete) == (
        "alice@nhs.net", "north", Role.VIEWER, False)
    assert carol.run_plan(alice.record_run(v.id, **run_kwargs()).id) is not None
    for change in (lambda: carol.save_version(sid, "a: 2\n"),
                   lambda: carol.save_draft(sid, "a: 2\n"), lambda: carol.rename(sid, "x"),
                   lambda: carol.record_run(v.id, **run_kwargs()),
                   lambda: carol.delete_scenario(sid),
                   lambda: carol.create_scenario("new", "a: 1\n", team="north")):
        with pytest.raises(AccessDeniedError):
            change()
    copy = carol.duplicate(sid)  # a viewer's copy goes to their personal team
    assert [s.team for s in carol.list_scenarios() if s.id == copy.scenario_id] == [
        personal_team("carol@nhs.net")]
    assert dave.save_version(sid, "a: 3\n").number == 2  # editors edit anyone's
    dave.rename(sid, "renamed by dave")
    with pytest.raises(AccessDeniedError, match="admins and its owner"):
        dave.delete_scenario(sid)
    own = dave.create_scenario("dave's", "d: 1\n")
    dave.delete_scenario(own.scenario_id)  # ... and delete their own
    erin.delete_scenario(sid)  # admins delete any
    assert alice.list_scenarios() == []


def test_a_personal_team_is_seen_by_its_owner_only(base: Store) -> None:
    """Someone in no configured team works in their personal team, which nobody
    else (not even another team's admin) can see."""
    zoe = base.as_user(identity_for("Zoe@NHS.net", "Zoe", TEAMS))
    v = zoe.create_scenario("private", "z: 1\n")
    assert zoe.who.user == "zoe@nhs.net" and zoe.who.home == personal_team("zoe@nhs.net")
    for other in ("alice@nhs.net", "erin@nhs.net", "bob@nhs.net"):
        assert base.as_user(person(other, None)).list_scenarios() == []
    assert base.list_scenarios() == []  # nor local mode's user
    assert [s.id for s in zoe.list_scenarios()] == [v.scenario_id]


def test_local_mode_owns_what_was_saved_before_sign_in(base: Store) -> None:
    """Local mode's user owns its scenarios in team ``local``; a signed-in person
    not configured into that team never sees them."""
    v = base.create_scenario("on my laptop", "a: 1\n")
    [info] = base.list_scenarios()
    assert (info.owner, info.team, base.who) == ("local", "local", LOCAL)
    assert base.as_user(person("erin@nhs.net")).list_scenarios() == []
    with pytest.raises(KeyError):
        base.as_user(person("erin@nhs.net")).version(v.id)


def test_identity_from_team_configuration() -> None:
    """A person's roles come from the team lists (highest wins, emails compared
    without case), plus admin of their personal team; bad lists are errors."""
    from rotaplan.access import teams_for

    twice = {"north": {"viewers": ["A@x.org"], "editors": ["a@x.org"]}}
    assert teams_for("a@X.org", twice) == {"north": Role.EDITOR}
    who = identity_for("a@x.org", "", twice, home="north")
    assert who.teams == {"north": Role.EDITOR, "user:a@x.org": Role.ADMIN}
    assert (who.home, who.name, who.editable_teams()) == ("north", "a@x.org",
                                                          ["north", "user:a@x.org"])
    assert identity_for("a@x.org", "A", twice, home="south").home == "user:a@x.org"
    for bad in ({"t": ["a@x.org"]}, {"t": {"owners": ["a@x.org"]}},
                {"t": {"editors": "a@x.org"}}, {"local": {"editors": ["a@x.org"]}}):
        with pytest.raises(ValueError):
            teams_for("a@x.org", bad)
    with pytest.raises(AccessDeniedError):
        who.with_home("south")


def test_mode_comes_from_the_environment_or_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ROTAPLAN_MODE`` wins over ``[rotaplan] mode``; local is the default; any other
    word is an error."""
    from rotaplan.access import MODE_ENV_VAR, mode

    monkeypatch.delenv(MODE_ENV_VAR, raising=False)
    assert mode() == "local" and mode({"mode": "shared"}) == "shared"
    monkeypatch.setenv(MODE_ENV_VAR, "LOCAL")
    assert mode({"mode": "shared"}) == "local"
    monkeypatch.setenv(MODE_ENV_VAR, "open")
    with pytest.raises(ValueError, match="local' or 'shared"):
        mode()
