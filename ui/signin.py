"""Who is using the app: local mode's loopback check, or sign-in for shared mode.

:func:`gate` runs first on every run of the app. In local mode (the default) it
lets only this computer in (a browser on loopback) and acts for
:data:`~rotaplan.access.LOCAL`. In shared mode (``ROTAPLAN_MODE=shared`` or
``mode = "shared"`` under ``[rotaplan]`` in ``.streamlit/secrets.toml``) it asks
people to sign in with Streamlit's OpenID Connect (``st.login``, configured by
the ``[auth]`` section), and builds their :class:`~rotaplan.access.Identity`
from the ``[rotaplan.teams]`` lists. The store then answers every query for
that identity (:func:`rotaplan.ui.state.store`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import streamlit as st

from rotaplan.access import LOCAL, Identity, identity_for, mode

# Claims that carry a person's email address, in the order tried: Entra ID puts
# the sign-in name (usually the email address) in preferred_username, and email
# only when it is added as an optional claim.
USER_CLAIMS = ("email", "preferred_username", "upn")


def _plain(value: Any) -> Any:
    """A secrets section as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _secrets(section: str) -> dict[str, Any]:
    """A section of ``secrets.toml`` (empty when there is none, or no file at all)."""
    try:
        found = st.secrets.get(section)
    except (FileNotFoundError, KeyError, OSError):  # no secrets file: local use
        return {}
    return _plain(found) if isinstance(found, Mapping) else {}


def settings() -> dict[str, Any]:
    """The ``[rotaplan]`` settings: ``mode``, ``teams``, ``user_claim``."""
    return _secrets("rotaplan")


def _user_of(claims: Mapping[str, Any], wanted: str | None) -> str:
    """The signed-in person's email address from their ID token's claims."""
    for claim in ([wanted] if wanted else USER_CLAIMS):
        value = claims.get(claim)
        if isinstance(value, str) and "@" in value:
            return value
    return ""


def _forget_other_person(user: str) -> None:
    """Empty the session when another person signs in to it (nothing of theirs stays)."""
    who = st.session_state.get("who")
    if who is not None and who.user != user:
        for key in list(st.session_state.keys()):
            del st.session_state[key]


def on_this_computer(ip: object) -> bool:
    """True unless ``ip`` is the address of a browser on another computer.

    Streamlit gives None for loopback; AppTest gives a stand-in object, not an
    address. Only a real address that is not loopback (127.0.0.0/8, ::1, or
    IPv4-mapped loopback) is another computer.
    """
    if not isinstance(ip, str) or not ip:
        return True
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def gate() -> Identity:
    """Return the person using this session, or stop the run with what they must do.

    Returns
    -------
    Identity
        :data:`~rotaplan.access.LOCAL` in local mode; the signed-in person in
        shared mode. It is also kept in the session as ``who``.
    """
    config = settings()
    try:
        chosen = mode(config)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    if chosen == "local":
        if not on_this_computer(st.context.ip_address):
            st.error("This rotaplan runs in local mode: it serves this computer only, "
                     "with no sign-in. To share it, set it up in shared mode (README: "
                     "Shared use).")
            st.stop()
        st.session_state.who = LOCAL
        return LOCAL
    if not _secrets("auth"):
        st.error("Shared mode needs sign-in: add an [auth] section to "
                 ".streamlit/secrets.toml (README: Shared use).")
        st.stop()
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):  # absent, not False, when Streamlit sees no [auth]
        st.title("rotaplan")
        st.write("Sign in with your organisation account to see your team's scenarios.")
        st.button("Sign in", type="primary", key="signin", on_click=st.login)
        st.stop()
    user = _user_of(claims, config.get("user_claim"))
    if not user:
        st.error("Your sign-in did not say your email address, so rotaplan cannot find "
                 "your teams. Ask the administrator to add the email claim.")
        st.button("Sign out", key="signout", on_click=st.logout)
        st.stop()
    _forget_other_person(user.strip().lower())
    try:
        who = identity_for(user, str(claims.get("name") or user), config.get("teams"),
                           home=st.session_state.get("home_team"))
    except ValueError as exc:
        st.error(f"The team settings are wrong: {exc}")
        st.stop()
    st.session_state.who = who
    return who


def current() -> Identity:
    """The person this session acts for (set by :func:`gate` at the start of each run).

    Raises
    ------
    RuntimeError
        When no one has passed the gate in this session.
    """
    who = st.session_state.get("who")
    if not isinstance(who, Identity):
        raise RuntimeError("nobody is signed in to this session")
    return who


def sidebar(who: Identity) -> None:
    """Who is signed in, the team new scenarios go to, and Sign out (shared mode only)."""
    if who == LOCAL:
        return
    shown = who.user if who.name == who.user else f"{who.name} ({who.user})"
    st.text(f"Signed in as {shown}")  # text, not markdown: a name is not markup
    teams = who.editable_teams()
    if len(teams) > 1:
        labels = {t: "just me" if t.startswith("user:") else t for t in teams}
        st.selectbox("New scenarios go to", teams, format_func=labels.__getitem__,
                     index=teams.index(who.home), key="home_team")
    st.button("Sign out", key="signout", on_click=st.logout)
