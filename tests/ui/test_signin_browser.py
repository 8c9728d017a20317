"""Shared mode end to end: people sign in through a real OpenID Connect provider and
see only their teams' scenarios.

An OIDC provider (``oidc-provider-mock``, on loopback) stands in for Microsoft
Entra ID: Streamlit's ``st.login`` sends the browser to its authorisation page,
where the test signs in as a person by email, and back with an ID token.
Three people in separate browser contexts (separate cookies) use one app at
once: Alice and Carol share the team ``north`` (Carol as a viewer), Bob is in
``south``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from rotaplan.access import identity_for
from rotaplan.runs.store import Store
from tests.ui.conftest import HEALTH_TIMEOUT, ROOT, _free_port, _healthy, _stop, _tail

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000  # a loaded 2-core machine; most steps take 1-3 s
ALICE, BOB, CAROL = "alice@north.nhs.uk", "bob@south.nhs.uk", "carol@north.nhs.uk"
TEAMS = {"north": {"editors": [ALICE], "viewers": [CAROL]}, "south": {"editors": [BOB]}}
SECRETS = """
[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "a-test-cookie-secret-of-some-length-0123456789"
client_id = "rotaplan-test"
client_secret = "rotaplan-test-secret"
server_metadata_url = "http://localhost:{provider}/.well-known/openid-configuration"

[rotaplan]
mode = "shared"

[rotaplan.teams.north]
editors = ["{alice}"]
viewers = ["{carol}"]

[rotaplan.teams.south]
editors = ["{bob}"]
"""


@dataclass(frozen=True)
class SharedApp:
    """A shared-mode app, its provider's port, its log and the scenarios saved in it."""

    url: str
    provider: int
    log: Path
    north: int
    south: int
    alice_own: int


@pytest.fixture
def shared_app(tmp_path: Path) -> Iterator[SharedApp]:
    """An OIDC provider on loopback and ``streamlit run`` in shared mode using it, with
    one scenario in each team and one in Alice's personal team."""
    db = f"sqlite:///{tmp_path}/shared.db"
    store = Store(db)
    north = store.as_user(identity_for(ALICE, "Alice", TEAMS, home="north")).create_scenario(
        "North rotations", "programme:\n  name: North\n")
    south = store.as_user(identity_for(BOB, "Bob", TEAMS, home="south")).create_scenario(
        "South rotations", "programme:\n  name: South\n")
    own = store.as_user(identity_for(ALICE, "Alice", TEAMS)).create_scenario(
        "Alice private", "programme:\n  name: Mine\n")
    store.close()
    with oidc_provider_mock.run_server_in_thread() as provider:
        port = _free_port()
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(SECRETS.format(port=port, provider=provider.server_port,
                                          alice=ALICE, bob=BOB, carol=CAROL))
        log = tmp_path / "streamlit.log"
        env = os.environ | {"ROTAPLAN_DB_URL": db, "PYTHONUNBUFFERED": "1"}
        env.pop("ROTAPLAN_MODE", None)
        command = [sys.executable, "-m", "streamlit", "run", "ui/app.py",
                   "--server.address", "127.0.0.1", "--server.port", str(port),
                   "--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--secrets.files", str(secrets)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + HEALTH_TIMEOUT
            while not _healthy(f"http://127.0.0.1:{port}"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start:\n{_tail(log.read_text())}")
                time.sleep(0.2)
            yield SharedApp(url, provider.server_port, log, north.scenario_id,
                            south.scenario_id, own.scenario_id)
        finally:
            _stop(process)


def sign_in(browser: Browser, app: SharedApp, email: str, path: str = "") -> Page:
    """A new browser context (its own cookies) signed in as ``email``."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(app.url + path)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"localhost:{app.provider}/oauth2/authorize"))
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {email}")).to_be_visible()
    return page


def scenario_picker(page: Page) -> Locator:
    """The History page's Scenario picker."""
    return page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text("Scenario", exact=True))


def saved_names(page: Page) -> set[str]:
    """The scenarios the History page offers (its Scenario picker's options)."""
    page.locator('[data-testid="stSidebar"]').get_by_text("History", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator('[data-stale="true"]')).to_have_count(0)
    nothing = main.get_by_text("Nothing saved yet")
    picker = scenario_picker(page)
    expect(nothing.or_(picker)).to_be_visible()
    if nothing.is_visible():
        return set()
    picker.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    names = {re.sub(r"^\d+ · ", "", t.strip()) for t in options.all_inner_texts()}
    page.keyboard.press("Escape")
    return names


@pytest.mark.browser
def test_people_see_only_their_teams_scenarios(chromium_path: str,
                                               shared_app: SharedApp) -> None:
    """Alice (north) and Bob (south), signed in at once, never see each other's
    scenarios, and Bob's address bar cannot open Alice's by id; Carol, who shares
    Alice's team, sees its scenarios (a copy Alice makes too) but not Alice's own."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            alice = sign_in(browser, shared_app, ALICE)
            bob = sign_in(browser, shared_app, BOB)
            assert saved_names(alice) == {"North rotations", "Alice private"}
            assert saved_names(bob) == {"South rotations"}

            # Bob types the id of Alice's scenario into the address bar
            bob.goto(f"{shared_app.url}/?scenario={shared_app.north}")
            expect(bob.get_by_text(f"Saved scenario {shared_app.north} was not found")) \
                .to_be_visible()
            expect(bob.get_by_text("North")).to_have_count(0)
            assert saved_names(bob) == {"South rotations"}

            # Alice opens the north scenario and copies it: the copy stays in north
            scenario_picker(alice).click()
            alice.get_by_role("option", name=re.compile("North rotations")).click()
            alice.get_by_role("button", name="Duplicate").click()
            expect(alice.locator('[data-testid="stSidebar"]')
                   .get_by_text("North rotations (copy)")).to_be_visible()

            carol = sign_in(browser, shared_app, CAROL)
            assert saved_names(carol) == {"North rotations", "North rotations (copy)"}
            assert saved_names(bob) == {"South rotations"}
            carol.screenshot(path=str(shared_app.log.with_name("carol-history.png")))
        except Exception:
            for name, page in (("alice", locals().get("alice")), ("bob", locals().get("bob")),
                               ("carol", locals().get("carol"))):
                if page is not None:
                    shot = shared_app.log.with_name(f"{name}.png")
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"\nscreenshot: {shot}")
            print(f"server log: {shared_app.log}\n{_tail(shared_app.log.read_text())}")
            raise
        finally:
            browser.close()
