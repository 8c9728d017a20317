"""The configurator in a real browser: open the demo, solve it, see the checked plan.

Playwright drives Debian's Chromium against a live ``streamlit run`` server
(fixtures in ``conftest.py``): the Scenario page shows the demo as ready, the
Solve page's button runs a background solve, and the app opens Results with
the key figures and the Gantt chart drawn.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect, sync_playwright

if TYPE_CHECKING:
    from tests.ui.conftest import Server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
GANTT_TITLE = "Rotations: where each learner is"
METRICS = ("Placed", "First choice", "Top-3 placements", "Worst-off learner", "Cost")
PAGE_TIMEOUT_MS = 30_000
SOLVE_TIMEOUT_MS = 120_000
MIN_SCREENSHOT_BYTES = 20_000
MAX_SCREENSHOT_HEIGHT = 4_000


def _exactly(text: str) -> re.Pattern[str]:
    """A pattern matching exactly ``text`` (Playwright's ``has_text`` is a substring)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def _metric(page: Page, label: str) -> Locator:
    """The metric labelled exactly ``label``."""
    return page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=_exactly(label)))


def _metric_value(page: Page, label: str) -> str:
    """The value shown by the metric labelled ``label``."""
    return _metric(page, label).locator('[data-testid="stMetricValue"]').inner_text().strip()


@pytest.mark.browser
def test_solve_demo_in_browser(chromium_path: str, server: Server, tmp_path: Path,
                               record_property: Callable[[str, object], None]) -> None:
    """Open the demo, solve it, and see an optimal plan with every learner placed."""
    started = time.monotonic()
    shot = tmp_path / "results.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        try:
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(server.url)
            success = page.locator('[data-testid="stAlertContentSuccess"]')

            # 1. The Scenario page: the demo is valid and ready.
            expect(success.filter(has_text="Ready to solve")).to_contain_text("30 learners")

            # 2. The Solve page: start a solve.
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Solve", exact=True).click()
            solve = page.get_by_test_id("stBaseButton-primary").filter(has_text=_exactly("Solve"))
            expect(solve).to_be_enabled()
            solve.click()

            # 3. The app opens Results when the background solve ends. Wait until that
            # run has finished: until then the Solve page's progress (its own cost metric,
            # "Solving…") stays on screen, greyed out and marked data-stale.
            expect(_metric(page, "Placed")).to_be_visible(timeout=SOLVE_TIMEOUT_MS)
            expect(page.locator('[data-stale="true"]')).to_have_count(0)
            expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
            metrics = {label: _metric_value(page, label) for label in METRICS}
            status = success.filter(has_text="independent checker").inner_text().strip()

            # 4. The Gantt chart is drawn: vega-embed renders SVG with a title and bars.
            chart = page.get_by_test_id("stVegaLiteChart").filter(
                has=page.locator(".role-title-text", has_text=GANTT_TITLE))
            expect(chart).to_be_visible()
            expect(chart.locator("svg.marks")).to_be_visible()
            title = (chart.locator(".role-title-text").first.text_content() or "").strip()
            bars = chart.locator("g.mark-rect.role-mark path")
            expect(bars.first).to_be_visible()
            bar_count = bars.count()

            # 5. A full-page screenshot for people to look at. Streamlit scrolls inside
            # its main section, not the document, so grow the viewport to show it all.
            height = page.get_by_test_id("stMain").evaluate("e => e.scrollHeight")
            page.set_viewport_size({"width": VIEWPORT["width"],
                                    "height": min(max(int(height), VIEWPORT["height"]),
                                                  MAX_SCREENSHOT_HEIGHT)})
            expect(chart.locator("svg.marks")).to_be_visible()
            page.screenshot(path=str(shot), full_page=True)
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure), full_page=True)
            print(f"\nscreenshot at the failure: {failure}; server log: {server.log}")
            raise
        finally:
            browser.close()
    seconds = time.monotonic() - started

    size = shot.stat().st_size if shot.exists() else 0
    seen = {"metrics": metrics, "status": status.split(":")[0], "chart_title": title,
            "gantt_bars": bar_count, "screenshot": str(shot), "screenshot_bytes": size,
            "seconds": round(seconds, 1)}
    for key, value in seen.items():
        record_property(key, value)
    print(f"\nbrowser saw: {', '.join(f'{k} {v}' for k, v in metrics.items())}; "
          f"status {seen['status']}; Gantt '{title}' with {bar_count} bars; "
          f"{seconds:.1f} s; screenshot {shot} ({size} bytes)")

    assert metrics["Placed"] == "30/30"
    assert "OPTIMAL" in status
    assert title.startswith(GANTT_TITLE)
    assert bar_count >= 30, "the Gantt chart should draw at least one bar per learner"
    assert size > MIN_SCREENSHOT_BYTES


@pytest.mark.browser
def test_change_a_room_count_solve_and_see_why_in_browser(chromium_path: str, server: Server,
                                                          tmp_path: Path) -> None:
    """A new user's story: solve the demo, cut a site's rooms in the table, solve
    again, read what changed and why, and download the plan as a workbook."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        try:
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(server.url)
            success = page.locator('[data-testid="stAlertContentSuccess"]')
            expect(success.filter(has_text="Ready to solve")).to_be_visible()
            sidebar = page.locator('[data-testid="stSidebar"]')

            def solve(run: int) -> None:
                sidebar.get_by_text("Solve", exact=True).click()
                page.get_by_test_id("stBaseButton-primary").filter(
                    has_text=_exactly("Solve")).click()
                expect(page.get_by_text(f"Run {run} of demo")).to_be_visible(
                    timeout=SOLVE_TIMEOUT_MS)
                expect(page.locator('[data-stale="true"]')).to_have_count(0)

            solve(1)
            assert _metric_value(page, "Cost") == "167"
            # Sites table (the second editor): att-orchard is row 8; rooms is the 5th column.
            sidebar.get_by_text("Scenario", exact=True).click()
            expect(success.filter(has_text="Ready to solve")).to_be_visible()
            saved = page.get_by_test_id("stToast").filter(has_text="rooms 5 → 1")
            for attempt in range(3):  # the grid is a canvas: retry if a key went astray
                grid = page.get_by_test_id("stDataFrame").nth(1)
                grid.scroll_into_view_if_needed()
                page.wait_for_timeout(800)
                box = grid.bounding_box()
                assert box is not None
                row_height, header = 35, 35
                page.mouse.click(box["x"] + 80,
                                 box["y"] + header + row_height * 7 + row_height / 2)
                for _ in range(4):
                    page.keyboard.press("ArrowRight")
                page.keyboard.press("Enter")  # open the cell editor
                page.wait_for_timeout(300)
                page.keyboard.press("Control+A")
                page.keyboard.type("1")
                page.keyboard.press("Enter")  # commit: the app saves the edit and says so
                try:
                    expect(saved).to_be_visible(timeout=5_000)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            expect(page.locator('[data-stale="true"]')).to_have_count(0)
            expect(success.filter(has_text="Ready to solve")).to_be_visible()
            solve(2)
            assert _metric_value(page, "Cost") == "179"  # one room costs preferences
            page.get_by_role("tab", name="What changed").click()
            changes = page.get_by_test_id("stCode").first
            expect(changes).to_contain_text("att-orchard")
            expect(changes).to_contain_text("rooms.default: 5 → 1")
            page.get_by_role("tab", name="Downloads").click()
            with page.expect_download() as download:
                page.get_by_role("button", name="Excel workbook").click()
            workbook = tmp_path / download.value.suggested_filename
            download.value.save_as(workbook)
            page.screenshot(path=str(tmp_path / "changed.png"), full_page=True)
        finally:
            browser.close()
    assert workbook.suffix == ".xlsx" and workbook.stat().st_size > 10_000
    print(f"\nbrowser saw: cost 167 → 179 after att-orchard rooms 5 → 1; "
          f"downloaded {workbook.name} ({workbook.stat().st_size} bytes)")
