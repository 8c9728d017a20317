"""Fixtures for the browser test: a Chromium binary and a live Streamlit server.

The browser test drives the real app in Debian's Chromium through Playwright.
``chromium_path`` installs Chromium with apt when it is missing (CI runs on a
clean machine) and skips, with the reason, when it cannot. ``server`` starts
``streamlit run ui/app.py`` on a free port with its own SQLite database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HEALTH_TIMEOUT = 60.0
INSTALL_TIMEOUT = 900.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``browser`` marker (tests that drive a real Chromium)."""
    config.addinivalue_line("markers", "browser: drives the app in a real Chromium browser")


def _tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of ``text``, stripped."""
    return "\n".join(text.strip().splitlines()[-lines:])


def _install_chromium(log: Path) -> str | None:
    """Install Chromium with apt; return why it failed, or None when it worked."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            return "not root and sudo is not available"
        prefix = ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        full = prefix + command
        try:
            done = subprocess.run(full, env=env, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{' '.join(full)}` failed: {exc}"
        with log.open("a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(full)}\n{done.stdout}\n{done.stderr}\n")
        if done.returncode != 0:
            return (f"`{' '.join(full)}` exited with {done.returncode}: "
                    f"{_tail(done.stderr, 10) or _tail(done.stdout, 10)}")
    return None


@pytest.fixture(scope="session")
def chromium_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Debian's Chromium, installed with apt when missing (skips when it cannot be)."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    log = tmp_path_factory.mktemp("chromium") / "apt-install.log"
    failure = _install_chromium(log)
    if failure is not None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM} and could not be installed "
                    f"(log: {log}): {failure}")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is missing (log: {log})")
    return CHROMIUM


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running Streamlit server: its URL and log file."""

    url: str
    log: Path


def _healthy(url: str) -> bool:
    """True when Streamlit's health endpoint answers ``ok``."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.read().decode().strip() == "ok")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group; kill it when it does not stop."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``streamlit run ui/app.py`` on a free port, with a fresh SQLite database."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "streamlit.log"
    env = os.environ | {"ROTAPLAN_DB_URL": f"sqlite:///{tmp_path}/ui.db",
                        "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "ui/app.py",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode} before it was "
                            f"healthy:\n{_tail(log.read_text(errors='replace'))}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit was not healthy at {url} within {HEALTH_TIMEOUT:.0f} s:"
                            f"\n{_tail(log.read_text(errors='replace'))}")
            time.sleep(0.2)
        yield Server(url, log)
    finally:
        _stop(process)
