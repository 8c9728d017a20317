"""The app's entry gate (AppTest): local mode for this computer, sign-in in shared mode,
and what a person sees of saved work depends on their teams."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rotaplan.access import LOCAL
from rotaplan.runs.store import Store
from rotaplan.ui.signin import _user_of, on_this_computer

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "ui" / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "rotaplan", "client_secret": "secret",
        "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration"}


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for the app under test, in no particular mode."""
    url = f"sqlite:///{tmp_path}/ui.db"
    monkeypatch.setenv("ROTAPLAN_DB_URL", url)
    monkeypatch.delenv("ROTAPLAN_MODE", raising=False)
    return url


def test_only_loopback_is_this_computer() -> None:
    """Local mode serves loopback browsers (Streamlit reports those as None) and
    refuses any other address."""
    for here in (None, "127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"):
        assert on_this_computer(here), here
    for there in ("10.0.0.7", "192.168.1.20", "2001:db8::1", "::ffff:10.0.0.7", "junk"):
        assert not on_this_computer(there), there


def test_email_claim_as_entra_id_sends_it() -> None:
    """The person's address comes from ``email``, else Entra ID's
    ``preferred_username``; a configured claim is the only one read."""
    assert _user_of({"email": "a@x.org", "preferred_username": "b@x.org"}, None) == "a@x.org"
    assert _user_of({"preferred_username": "b@x.org", "oid": "1234"}, None) == "b@x.org"
    assert _user_of({"upn": "c@x.org"}, "upn") == "c@x.org"
    assert _user_of({"email": "a@x.org"}, "upn") == "" and _user_of({"sub": "42"}, None) == ""


def test_local_mode_opens_without_sign_in_and_saves_as_local(db_url: str) -> None:
    """Without settings the app opens on the demo with no sign-in, and what it saves
    belongs to local mode's user."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["who"] == LOCAL
    at.sidebar.radio(key="page").set_value("Solve").run()
    assert [b for b in at.button if b.key == "signin"] == []


def test_shared_mode_shows_nothing_before_sign_in(db_url: str) -> None:
    """In shared mode a person who has not signed in sees a Sign in button and no
    scenario, page or saved work; an id in the address reaches nothing."""
    saved = Store(db_url).create_scenario("north", "learners: [Ann Example]\n")
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = AUTH
    at.secrets["rotaplan"] = {"mode": "shared"}
    at.query_params["scenario"] = str(saved.scenario_id)
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "tables" not in at.session_state and len(at.sidebar.radio) == 0
    assert "Ann Example" not in str([e.value for e in at.markdown])


def test_shared_mode_without_sign_in_settings_is_refused(db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared mode without an ``[auth]`` section stops with what to add, rather than
    falling back to an open app."""
    monkeypatch.setenv("ROTAPLAN_MODE", "shared")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert "[auth]" in at.error[0].value
    assert "tables" not in at.session_state


ALICE, BOB, CAROL = "alice@north.nhs.uk", "bob@south.nhs.uk", "carol@north.nhs.uk"
TEAMS = {"north": {"editors": [ALICE], "viewers": [CAROL]}, "south": {"editors": [BOB]}}


def signed_in(email: str, scenario_id: int | None = None) -> AppTest:
    """The app in shared mode with ``email`` signed in (AppTest's stand-in for st.login)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = AUTH
    at.secrets["rotaplan"] = {"mode": "shared", "teams": TEAMS}
    at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0].title()}
    if scenario_id is not None:
        at.query_params["scenario"] = str(scenario_id)
    at.run()
    assert not at.exception, at.exception
    return at


def north_scenario(db_url: str) -> int:
    """Alice's team-north scenario (the demo's text); its id."""
    from rotaplan.access import identity_for
    from rotaplan.shipped import shipped

    alice = Store(db_url).as_user(identity_for(ALICE, "Alice", TEAMS, home="north"))
    text = shipped()["demo"].read_text(encoding="utf-8")
    return alice.create_scenario("North rotations", text).scenario_id


def test_a_viewers_edit_is_kept_as_their_own_copy(db_url: str) -> None:
    """Carol views team north's scenario; her edit is not written into it (she is a
    viewer) but saved as her own copy in her personal team, and she is told so."""
    from rotaplan.access import identity_for
    from tests.ui.test_app import edit

    sid = north_scenario(db_url)
    carol = signed_in(CAROL, sid)
    assert carol.session_state["scenario_id"] == sid
    edit(carol, "learners", {"edited_rows": {0: {"name": "Carol Edit"}}})
    assert "your own copy" in "\n".join(str(i.value) for i in carol.info)
    store = Store(db_url)
    north = store.as_user(identity_for(ALICE, "Alice", TEAMS))
    assert [v.number for v in north.versions(sid)] == [1]
    mine = store.as_user(identity_for(CAROL, "Carol", TEAMS)).list_scenarios()
    copy = next(s for s in mine if s.id == carol.session_state["scenario_id"])
    assert (copy.name, copy.team) == ("North rotations (my copy)", "user:" + CAROL)
    assert "Carol Edit" in store.as_user(identity_for(CAROL, "", TEAMS)).latest_version(
        copy.id).yaml_text


def test_another_person_in_the_same_session_starts_empty(db_url: str) -> None:
    """When Bob signs in to a browser session Alice used, nothing of Alice's stays in
    it: her open scenario is gone and his own start page opens."""
    sid = north_scenario(db_url)
    at = signed_in(ALICE, sid)
    assert at.session_state["scenario_id"] == sid
    at.user = {"is_logged_in": True, "email": BOB, "name": "Bob"}
    at.query_params.clear()
    at.run()
    assert not at.exception
    assert at.session_state["who"].user == BOB
    assert at.session_state["scenario_id"] is None and at.session_state["source"] == "demo.yaml"
