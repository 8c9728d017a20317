"""The configurator as a spreadsheet, in a real browser (issue 16 part 3).

Stories: a first-time user builds a three-learner cohort on a blank page and
solves it, rename a site and see every reference follow (then undo it), and
the Excel round trip (download the workbook, edit it as a user would in
Excel, upload it). Playwright drives Debian's Chromium against a live
``streamlit run`` server (fixtures in ``conftest.py``); cells are read from the
grids' accessible tables, and every wait is an ``expect`` (no blind sleeps).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl  # type: ignore[import-untyped]
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from rotaplan.analysis import charts
from tests.ui.test_browser import (
    EXPECT_TIMEOUT_MS,
    KEY_GAP_MS,
    _cell,
    _grid,
    _select_cell,
    _type_cell,
    _wait_saved,
    demo_page,
    press_add_row,
)

if TYPE_CHECKING:
    from tests.ui.conftest import Server

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def _supervisor_sites(page: Page) -> list[str]:
    """The site ids in the first rows of the Supervisors grid (the fourth grid)."""
    grid = _grid(page, 3)
    grid.scroll_into_view_if_needed()
    expect(_cell(grid, 0, 1)).not_to_have_text("")
    return [_cell(grid, row, 1).inner_text().strip() for row in range(8)]


def _runs(page: Page) -> int:
    """How many app runs the browser has seen start since the page opened."""
    return int(page.evaluate("window.__rotaplanRuns || 0"))


def _settle(page: Page, since: int | None = None) -> None:
    """Wait until the app has finished the run an action started.

    ``since`` is :func:`_runs` before the action: the run may start a moment
    after it (the browser sends it first), so wait (at most 2 s: some actions
    start none) for a run after it, then for the app to be still; a cell typed
    while a run redraws the page can be lost in the browser. Counting runs
    instead of waiting 2 s for a spinner that a quick run never shows took the
    blank-page story from 120 s to about half.
    """
    if since is not None:
        with contextlib.suppress(PlaywrightError):  # an action that starts no run
            page.wait_for_function("n => (window.__rotaplanRuns || 0) > n", arg=since,
                                   timeout=2_000)
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state",
                                                          "notRunning")
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    expect(page.locator('[data-stale="true"]')).to_have_count(0)


def _put(page: Page, grid: Locator, row: int, column: int, text: str) -> None:
    """Type ``text`` into one cell, commit it with Enter, wait for the app's run, and
    check the grid shows it (a cell the browser lost fails the story)."""
    _select_cell(page, grid, row, column)
    since = _runs(page)
    _type_cell(page, text, "Enter")
    _settle(page, since)
    expect(_cell(grid, row, column)).to_have_text(text, timeout=10_000)


def _pick(page: Page, grid: Locator, row: int, column: int, text: str) -> None:
    """Choose ``text`` in a drop-down cell: Enter opens its list, typing filters, Enter picks."""
    _select_cell(page, grid, row, column)
    page.keyboard.press("Enter")
    expect(page.get_by_text(text, exact=True).last).to_be_visible()
    page.keyboard.type(text, delay=KEY_GAP_MS)
    page.wait_for_timeout(KEY_GAP_MS)
    since = _runs(page)
    page.keyboard.press("Enter")
    _settle(page, since)
    expect(_cell(grid, row, column)).to_have_text(text)


def _add_row(page: Page, grid: Locator) -> None:
    """Press the grid's Add row button, then wait for the app's run."""
    since = _runs(page)
    press_add_row(page, grid)
    _settle(page, since)


def _update_lists(page: Page) -> None:
    """Press 'Update the lists' so new ids are offered in the drop-downs."""
    button = page.get_by_role("button", name="Update the lists")
    expect(button).to_be_visible()
    _settle(page)
    since = _runs(page)
    button.click()
    expect(button).to_have_count(0)
    _settle(page, since)


@pytest.mark.browser
def test_a_three_learner_cohort_from_a_blank_page_in_browser(
        chromium_path: str, server: Server, tmp_path: Path) -> None:
    """A first-time user presses Start blank: the step bar says what is missing and the page
    never says "Ready to solve"; they add a profession, a start date, a setting, a site, a
    supervisor and three learners (choosing ids from drop-downs), solve, and see a dated
    Gantt chart of three learners, tall enough to read."""
    with demo_page(chromium_path, server, tmp_path) as page:
        page.get_by_role("button", name="Start blank").click()
        expect(page.get_by_text("Not ready to solve yet")).to_be_visible()
        expect(page.get_by_text("needs a learner", exact=True)).to_be_visible()
        expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_have_count(0)
        page.screenshot(path=str(tmp_path / "blank.png"))
        # one block: with one site, 'never the same site twice' allows no more
        for label, value in (("Professions", "nurse"),
                             ("Start date (YYYY-MM-DD)", "2027-09-06"),
                             ("Blocks in the year", "1")):
            box = page.get_by_role("textbox", name=label)
            box.fill(value)
            since = _runs(page)
            box.press("Enter")
            _settle(page, since)
        settings = _grid(page, 0)
        _add_row(page, settings)
        _put(page, settings, 0, 1, "stroke")
        _put(page, settings, 0, 2, "Stroke")
        _update_lists(page)
        sites = _grid(page, 1)
        _add_row(page, sites)
        _put(page, sites, 0, 1, "ward-1")
        _put(page, sites, 0, 2, "Ward one")
        _pick(page, sites, 0, 3, "stroke")
        _put(page, sites, 0, 4, "3")
        _update_lists(page)
        supervisors = _grid(page, 3)
        _add_row(page, supervisors)
        _pick(page, supervisors, 0, 1, "ward-1")
        _put(page, supervisors, 0, 2, "S1")
        _put(page, supervisors, 0, 3, "Sam Lee")
        _pick(page, supervisors, 0, 4, "nurse")
        _put(page, supervisors, 0, 5, "3")
        learners = _grid(page, 4)
        for row in range(3):
            _add_row(page, learners)
            _put(page, learners, row, 1, f"L{row + 1}")
            _pick(page, learners, row, 3, "nurse")
        success = page.locator('[data-testid="stAlertContentSuccess"]')
        expect(success.filter(has_text="Ready to solve")).to_be_visible()
        expect(success.filter(has_text="3 learners")).to_be_visible()
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Solve", exact=True).click()
        page.get_by_test_id("stBaseButton-primary").filter(has_text="Solve").click()
        expect(page.get_by_role("tab", name="Rotations")).to_be_visible()
        expect(page.get_by_text("3 of 3 placed learners shown")).to_be_visible()
        chart = page.get_by_test_id("stVegaLiteChart").first
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        # Streamlit fits the chart into its height: the rows get what title, legend
        # and axes leave (at 180 pixels in all, three rows were squeezed to nothing)
        assert box is not None and box["height"] >= 0.9 * charts.MIN_GANTT_HEIGHT, box
        page.screenshot(path=str(tmp_path / "three-learners.png"))
        print("\nbuilt and solved a 3-learner cohort from a blank page; every typed cell kept")


@pytest.mark.browser
def test_rename_a_site_and_undo_in_browser(chromium_path: str, server: Server,
                                           tmp_path: Path) -> None:
    """Rename the demo's first site from the Scenario page: its supervisors' rows show
    the new id, the draft saved has it; Undo puts the old id back everywhere."""
    with demo_page(chromium_path, server, tmp_path) as page:
        assert "gy-stroke-rehab" in _supervisor_sites(page)
        page.get_by_text("Rename a site or care setting").click()
        # the selectbox of the site kind: a click focuses it, typing filters and opens
        # its list (a click alone left the list shut in 2 of 3 runs)
        page.get_by_label("Id now").click()
        page.keyboard.type("gy-stroke-rehab", delay=KEY_GAP_MS)
        page.get_by_role("option", name=re.compile(r"\(gy-stroke-rehab\)")).click()
        page.get_by_role("textbox", name="New id").fill("yarmouth-stroke")
        page.get_by_role("textbox", name="New id").press("Enter")
        page.get_by_role("button", name="Rename", exact=True).click()
        expect(page.get_by_text(re.compile("Renamed site gy.stroke.rehab to"))).to_be_visible()
        expect(_cell(_grid(page, 3), 0, 1)).to_have_text("yarmouth-stroke")
        assert "gy-stroke-rehab" not in _supervisor_sites(page)
        saved = _wait_saved(tmp_path / "ui.db", ["yarmouth-stroke"])
        # the site's id is gone; supervisors' own ids (gy-stroke-rehab-rn1) are kept
        assert not re.search(r"gy-stroke-rehab(?![\w-])", saved)
        page.screenshot(path=str(tmp_path / "renamed.png"))
        page.get_by_role("button", name="Undo").click()
        expect(page.get_by_text(re.compile("Undone"))).to_be_visible()
        expect(_cell(_grid(page, 3), 0, 1)).to_have_text("gy-stroke-rehab")
        _wait_saved(tmp_path / "ui.db", ["gy-stroke-rehab"])


@pytest.mark.browser
def test_excel_round_trip_in_browser(chromium_path: str, server: Server,
                                     tmp_path: Path) -> None:
    """Download the demo as a workbook (drop-downs, a Lists sheet, upload help), change a
    site's capacity and a learner's name as in Excel, upload it: the edited scenario opens,
    saved, with both changes in its grids."""
    with demo_page(chromium_path, server, tmp_path, downloads=True) as page:
        with page.expect_download() as download:
            page.get_by_role("button", name="Download as a workbook").click()
        path = tmp_path / "demo.xlsx"
        download.value.save_as(path)
        book = openpyxl.load_workbook(path)
        assert "Lists" in book.sheetnames
        assert book["Supervisors"].data_validations.dataValidation
        readme = " ".join(str(c) for r in book["README"].iter_rows(values_only=True)
                          for c in r if c)
        assert "Upload a scenario" in readme
        sites, learners = book["Sites"], book["Learners"]
        assert sites["A2"].value == "gy-stroke-rehab"
        sites["D2"] = 9  # capacity
        learners["B2"] = "Simone Shah-Edited"
        buffer = io.BytesIO()
        book.save(buffer)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files=[{
            "name": "cohort.xlsx", "buffer": buffer.getvalue(),
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }])
        success = page.locator('[data-testid="stAlertContentSuccess"]')
        expect(success.filter(has_text="Ready to solve")).to_be_visible()
        expect(page.get_by_text("Editing: cohort.xlsx")).to_be_visible()
        expect(_cell(_grid(page, 1), 0, 4)).to_have_text("9")
        expect(_cell(_grid(page, 4), 0, 2)).to_have_text("Simone Shah-Edited")
        saved = _wait_saved(tmp_path / "ui.db", ["Simone Shah-Edited", "capacity: 9"])
        assert "Simone Shah-Edited" in saved
        page.screenshot(path=str(tmp_path / "uploaded.png"))
