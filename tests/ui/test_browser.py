"""The configurator in a real browser: open the demo, solve it, see the checked plan.

Playwright drives Debian's Chromium against a live ``streamlit run`` server
(fixtures in ``conftest.py``): the Scenario page shows the demo as ready, the
Solve page's button runs a background solve, and the app opens Results with
the key figures and the Gantt chart drawn.

Timeouts: every ``expect`` waits up to :data:`EXPECT_TIMEOUT_MS` (Playwright's
own default is 5 s and ``page.set_default_timeout`` does not apply to
``expect``). On this 2-core machine with two busy loops beside the test, the
first page took over 5 s to show the demo as ready (issue 12 A10), so waits are
generous; a passing wait ends as soon as its condition holds.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import (
    FloatRect,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

if TYPE_CHECKING:
    from tests.ui.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
GANTT_TITLE = "Rotations: where each learner is"
METRICS = ("Placed", "First choice", "Top-3 placements", "Worst-off learner", "Cost")
PAGE_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 60_000
SOLVE_TIMEOUT_MS = 180_000
ROW_HEIGHT = 35
"""Pixels per grid row and for the header row (Streamlit's data editor default)."""
KEY_GAP_MS = 50
"""Pause between a cell's last key and Enter or Tab: a fast typist's gap is about 100 ms.

Playwright presses keys back to back. Measured in Chromium on Streamlit's data
editor (number cells): Enter pressed 0 ms after the last key committed the old
value in 4 of 4 tries; 5 to 80 ms later, it kept the typed value in 9 of 9.
A person cannot type that fast, so the browser stories type at a person's speed.
"""
MIN_SCREENSHOT_BYTES = 20_000
MAX_SCREENSHOT_HEIGHT = 4_000


expect.set_options(timeout=EXPECT_TIMEOUT_MS)


RUN_COUNTER = """
window.__rotaplanRuns = 0;
new MutationObserver((changes) => {
  for (const change of changes) {
    if (change.target.getAttribute("data-test-script-state") === "running") {
      window.__rotaplanRuns += 1;
    }
  }
}).observe(document, {attributes: true, subtree: true,
                      attributeFilter: ["data-test-script-state"]});
"""
"""Counts the app's runs as the browser sees them start (Streamlit marks its root element)."""


@contextlib.contextmanager
def demo_page(chromium_path: str, server: Server, tmp_path: Path, *,
              downloads: bool = False) -> Iterator[Page]:
    """The app in a fresh Chromium page, open on the demo and ready to solve.

    Counts the app's runs (:data:`RUN_COUNTER`); on a failure, saves a full-page
    screenshot and prints where it and the server's log are; always closes the browser.
    """
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=downloads)
        try:
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.add_init_script(RUN_COUNTER)
            page.goto(server.url)
            expect(page.locator('[data-testid="stAlertContentSuccess"]').filter(
                has_text="Ready to solve")).to_be_visible()
            yield page
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure), full_page=True)
            print(f"\nscreenshot at the failure: {failure}; server log: {server.log}")
            raise
        finally:
            browser.close()


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


def _grid(page: Page, index: int) -> Locator:
    """The ``index``-th table grid on the page (0: Care settings, 1: Sites, …)."""
    return page.get_by_test_id("stDataFrame").nth(index)


def _cell(grid: Locator, row: int, column: int) -> Locator:
    """A grid cell in the grid's accessible table (columns count from 1, rows from 0)."""
    return grid.get_by_test_id(f"glide-cell-{column}-{row}")


def _cell_editor(page: Page) -> Locator:
    """The text box a grid opens over a cell being edited."""
    return page.locator("#portal textarea, #portal input")


def _steady_box(page: Page, grid: Locator) -> FloatRect:
    """The grid's box once it has stopped moving (the page shifts as messages come and go)."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    for _ in range(50):
        page.wait_for_timeout(100)
        again = grid.bounding_box()
        if again == box and box is not None:
            return box
        box = again
    assert box is not None
    return box


def _select_cell(page: Page, grid: Locator, row: int, column: int) -> None:
    """Select a visible grid cell with the mouse and arrow keys, and check it is selected.

    The grid is a canvas: click the row's first column once the page has stopped
    moving, check the grid's accessible table marks that cell as selected (click
    again if a late layout shift moved it), then move right.
    """
    first = _cell(grid, row, 1)
    expect(first).to_be_attached()  # the grid has drawn this row
    for attempt in range(5):
        box = _steady_box(page, grid)
        page.mouse.click(box["x"] + 60, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2)
        try:
            expect(first).to_have_attribute("aria-selected", "true", timeout=5_000)
            break
        except AssertionError:
            if attempt == 4:
                raise
    for _ in range(column - 1):
        page.keyboard.press("ArrowRight")
    expect(_cell(grid, row, column)).to_have_attribute("aria-selected", "true")


def press_add_row(page: Page, grid: Locator) -> None:
    """Press the grid's Add row button (its toolbar shows while the pointer is on the grid;
    a grid redrawn meanwhile can cover it, so the pointer comes back and tries again:
    a single click timed out after 60 s with two test runs side by side on 2 cores)."""
    for attempt in range(4):
        grid.scroll_into_view_if_needed()
        page.mouse.move(0, 0)
        grid.hover()
        try:
            grid.get_by_role("button", name="Add row").click(timeout=10_000)
            return
        except PlaywrightError:
            if attempt == 3:
                raise


def _type_cell(page: Page, text: str, then: str) -> None:
    """Type ``text`` into the selected cell as a person does, then press ``then`` (Tab, Enter).

    The first key opens the cell's editor; the rest is typed once it has opened,
    and ``then`` is pressed once it holds the whole text (as a person sees it),
    :data:`KEY_GAP_MS` after the last key.
    """
    page.keyboard.type(text[0])
    expect(_cell_editor(page)).to_be_focused()
    page.keyboard.type(text[1:], delay=KEY_GAP_MS)
    expect(_cell_editor(page)).to_have_value(text)
    page.wait_for_timeout(KEY_GAP_MS)
    page.keyboard.press(then)


def _replace_cell(page: Page, text: str) -> None:
    """Open the selected cell's editor, replace its value by ``text`` and commit it (Enter)."""
    page.keyboard.press("Enter")  # open the cell editor
    expect(_cell_editor(page)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=KEY_GAP_MS)
    expect(_cell_editor(page)).to_have_value(text)
    page.wait_for_timeout(KEY_GAP_MS)
    page.keyboard.press("Enter")


@pytest.mark.browser
def test_solve_demo_in_browser(chromium_path: str, server: Server, tmp_path: Path,
                               record_property: Callable[[str, object], None]) -> None:
    """Open the demo, solve it, and see an optimal plan with every learner placed."""
    started = time.monotonic()
    shot = tmp_path / "results.png"
    with demo_page(chromium_path, server, tmp_path) as page:
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
            grid = _grid(page, 1)
            expect(_cell(grid, 7, 1)).to_have_text("att-orchard")
            _select_cell(page, grid, 7, 5)  # rooms is the 5th column
            _replace_cell(page, "1")  # the app saves the edit and says so
            expect(saved).to_be_visible()
            expect(page.locator('[data-stale="true"]')).to_have_count(0)
            expect(success.filter(has_text="Ready to solve")).to_be_visible()
            solve(2)
            assert _metric_value(page, "Cost") == "179"  # one room costs preferences
            page.get_by_role("tab", name="What changed").click()
            # "What changed" is a table: part, item, change, field, before, after
            changes = page.locator('[role="tabpanel"]:visible').get_by_test_id(
                "stDataFrame").first
            expect(changes).to_contain_text("(att-orchard)")
            expect(changes).to_contain_text("rooms.default")
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


def _saved_text(db: Path) -> str:
    """The newest saved version's YAML in the server's database ('' when none)."""
    from rotaplan.runs.store import Store

    store = Store(f"sqlite:///{db}")
    try:
        scenarios = store.list_scenarios()
        return store.latest_version(scenarios[0].id).yaml_text if scenarios else ""
    finally:
        store.close()


def _wait_saved(db: Path, wanted: list[str], seconds: float = EXPECT_TIMEOUT_MS / 1000) -> str:
    """Poll the database until the newest version holds every text in ``wanted``."""
    deadline = time.monotonic() + seconds
    while True:
        text = _saved_text(db)
        if all(w in text for w in wanted) or time.monotonic() > deadline:
            return text
        time.sleep(0.25)


@pytest.mark.browser
def test_typed_cells_and_a_new_row_survive_in_browser(chromium_path: str, server: Server,
                                                      tmp_path: Path) -> None:
    """Issue 12 A6: type a value, Tab, the next, Tab, the next; add a row and type two
    cells. Every value is shown in the grid, saved, and there after a refresh.

    Typing goes on at full speed while the app saves each cell: the grids must not
    be redrawn under the user's hands.
    """
    typed = {4: "7", 5: "4", 6: "1"}  # Sites row 1: capacity, rooms, min_learners
    wanted = ["capacity: 7", "rooms: 4", "min_learners: 1", "id: new-setting",
              "name: New setting"]
    with demo_page(chromium_path, server, tmp_path) as page:
        # 1. Three cells in a row of Sites, one after another (Tab between them).
        sites = _grid(page, 1)
        expect(_cell(sites, 0, 1)).to_have_text("gy-stroke-rehab")
        _select_cell(page, sites, 0, 4)
        for column, value in typed.items():
            expect(_cell(sites, 0, column)).to_have_attribute("aria-selected", "true")
            _type_cell(page, value, "Tab" if column < max(typed) else "Enter")

        # 2. A new row in Care settings, two cells typed (Tab between them).
        settings = _grid(page, 0)
        press_add_row(page, settings)
        _select_cell(page, settings, 4, 1)  # the new, empty row
        _type_cell(page, "new-setting", "Tab")
        expect(_cell(settings, 4, 2)).to_have_attribute("aria-selected", "true")
        _type_cell(page, "New setting", "Enter")

        # 3. Everything typed is saved, and the grids still show it.
        saved = _wait_saved(tmp_path / "ui.db", wanted)
        for column, value in typed.items():
            expect(_cell(sites, 0, column)).to_have_text(value)
        expect(_cell(settings, 4, 1)).to_have_text("new-setting")
        expect(_cell(settings, 4, 2)).to_have_text("New setting")

        # 4. A refresh reopens the saved scenario with every value.
        page.reload()
        for column, value in typed.items():
            expect(_cell(_grid(page, 1), 0, column)).to_have_text(value)
        expect(_cell(_grid(page, 0), 4, 1)).to_have_text("new-setting")
        expect(_cell(_grid(page, 0), 4, 2)).to_have_text("New setting")
    missing = [w for w in wanted if w not in saved]
    assert not missing, f"typed but not saved: {missing}"
    print(f"\nbrowser typed {typed} into Sites row 1 and a new Care settings row; all saved")


def _as_read(text: str) -> re.Pattern[str]:
    """``text`` as a reader sees it: the page may hold invisible word joiners in it."""
    return re.compile("\u2060?".join(re.escape(c) for c in text))


class _Counter(http.server.BaseHTTPRequestHandler):
    """Counts every request (a page that shows user text as text makes none)."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # the name http.server calls
        """Record the path and answer with nothing."""
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Stay quiet."""


@pytest.mark.browser
def test_names_with_markdown_and_html_are_shown_as_text_in_browser(
        chromium_path: str, server: Server, tmp_path: Path) -> None:
    """Issue 13 finding 11: a scenario whose programme, site and learner names hold a
    Markdown image, an HTML image and a link to a local server is uploaded and viewed:
    the names are shown as text, the page has no such image or link, and the local
    server is never asked for anything."""
    import yaml

    watcher = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    port = watcher.server_address[1]
    threading.Thread(target=watcher.serve_forever, daemon=True).start()
    _Counter.hits = []
    payload = (f"![pixel](http://127.0.0.1:{port}/md.png) "
               f'<img src="http://127.0.0.1:{port}/html.png"> '
               f"[link](http://127.0.0.1:{port}/link)")
    doc = yaml.safe_load((ROOT / "instances" / "demo.yaml").read_text(encoding="utf-8"))
    doc["programme"]["name"] = payload
    doc["sites"][0]["name"] = payload
    doc["learners"][0]["name"] = payload
    data = yaml.safe_dump(doc, sort_keys=False).encode()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            try:
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                page.goto(server.url)
                success = page.locator('[data-testid="stAlertContentSuccess"]')
                expect(success.filter(has_text="Ready to solve")).to_be_visible()
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files=[{
                    "name": "![file](x.png).yaml", "mimeType": "application/x-yaml",
                    "buffer": data}])
                shown = _as_read(payload)
                expect(success.filter(has_text=shown)).to_contain_text("Ready to solve")
                sidebar = page.locator('[data-testid="stSidebar"]')
                expect(sidebar).to_contain_text("Scenario: ![file](x.png)")
                local = f'[src*="127.0.0.1:{port}"], [href*="127.0.0.1:{port}"]'
                expect(page.locator(local)).to_have_count(0)
                expect(page.locator("img")).to_have_count(0)
                sidebar.get_by_text("History", exact=True).click()
                expect(page.get_by_text("Open this version")).to_be_visible()
                expect(page.locator(local)).to_have_count(0)
                sidebar.get_by_text("Scenario", exact=True).click()
                expect(success.filter(has_text=shown)).to_be_visible()
                expect(page.locator(local)).to_have_count(0)
                page.wait_for_timeout(1_000)  # time for any fetch to arrive
            except Exception:
                failure = tmp_path / "failure.png"
                page.screenshot(path=str(failure), full_page=True)
                print(f"\nscreenshot at the failure: {failure}; server log: {server.log}")
                raise
            finally:
                browser.close()
    finally:
        watcher.shutdown()
        watcher.server_close()
    assert _Counter.hits == [], f"the page fetched {_Counter.hits}"


@pytest.mark.browser
def test_a_refresh_during_a_solve_keeps_the_version_and_the_solve_in_browser(
        chromium_path: str, server: Server, tmp_path: Path) -> None:
    """Issue 12 A7: start a long solve, refresh the page: the address names the version
    that was open, the refreshed page reopens it, finds the running solve (progress
    and Cancel), and Cancel there ends it with its plan stored against that run.

    Also: pressing Cancel after the Scenario page was shown leaves the scenario as it
    was (it once reset the fellowship track, through a stale checkbox callback).
    """
    with demo_page(chromium_path, server, tmp_path) as page:
        success = page.locator('[data-testid="stAlertContentSuccess"]')
        shipped = page.get_by_test_id("stSelectbox").filter(has_text="Shipped scenario")
        shipped.locator("[role=combobox]").click()
        page.get_by_role("option", name="medium", exact=True).click()
        page.locator(".st-key-open_shipped button:visible").click()  # one is a hidden copy
        expect(success.filter(has_text="80 learners")).to_be_visible()
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Solve", exact=True).click()
        page.get_by_test_id("stBaseButton-primary").filter(has_text=_exactly("Solve")).click()
        expect(page.get_by_role("button", name="Cancel")).to_be_visible()
        expect(page).to_have_url(re.compile(r"\?scenario=1&version=1$"))

        page.reload()  # the refresh: a new session at the same address
        expect(sidebar).to_contain_text("Solving…")
        expect(page.get_by_text("Editing: medium v1")).to_be_visible()
        fellows = page.get_by_test_id("stCheckbox").filter(has_text="Programme has fellows")
        expect(fellows.locator("input")).to_be_checked()  # the whole page is drawn
        sidebar.get_by_text("Solve", exact=True).click()
        expect(page.get_by_test_id("stProgress")).to_contain_text("Solving…")
        expect(_metric(page, "Best plan (cost)").locator(
            '[data-testid="stMetricValue"]')).not_to_have_text("—")
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("Run 1 of medium version 1")).to_be_visible(
            timeout=SOLVE_TIMEOUT_MS)
        expect(page.get_by_text("Stopped by Cancel")).to_be_visible()
        expect(_metric(page, "Placed")).to_contain_text("80/80")
        # Cancel (a button in a live fragment) changed nothing in the scenario: the
        # Scenario page's widgets, no longer on screen, fired no callbacks
        expect(sidebar).to_contain_text("valid: 80 learners")
        expect(page).to_have_url(re.compile(r"\?scenario=1&version=1$"))
    from rotaplan.runs.store import Store

    store = Store(f"sqlite:///{tmp_path}/ui.db")
    runs = store.runs()
    versions = store.versions(1)
    store.close()
    assert [v.number for v in versions] == [1]
    assert [(r.id, r.version_number) for r in runs] == [(1, 1)]
    assert runs[0].status in ("FEASIBLE", "OPTIMAL") and runs[0].has_plan
