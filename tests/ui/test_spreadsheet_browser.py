"""The configurator as a spreadsheet, in a real browser (issue 16 part 3).

Stories: rename a site and see every reference follow (then undo it), and
the Excel round trip (download the workbook, edit it as a user would in
Excel, upload it). Playwright drives Debian's Chromium against a live
``streamlit run`` server (fixtures in ``conftest.py``); cells are read from the
grids' accessible tables, and every wait is an ``expect`` (no blind sleeps).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl  # type: ignore[import-untyped]
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.ui.test_browser import (
    CHROMIUM_ARGS,
    EXPECT_TIMEOUT_MS,
    PAGE_TIMEOUT_MS,
    VIEWPORT,
    _cell,
    _grid,
    _wait_saved,
)

if TYPE_CHECKING:
    from tests.ui.conftest import Server

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def _open(page: Page, server: Server) -> None:
    """Open the app on the demo, ready to solve."""
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(server.url)
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    expect(success.filter(has_text="Ready to solve")).to_be_visible()


def _supervisor_sites(page: Page) -> list[str]:
    """The site ids in the first rows of the Supervisors grid (the fourth grid)."""
    grid = _grid(page, 3)
    grid.scroll_into_view_if_needed()
    expect(_cell(grid, 0, 1)).not_to_have_text("")
    return [_cell(grid, row, 1).inner_text().strip() for row in range(8)]


@pytest.mark.browser
def test_rename_a_site_and_undo_in_browser(chromium_path: str, server: Server,
                                           tmp_path: Path) -> None:
    """Rename the demo's first site from the Scenario page: its supervisors' rows show
    the new id, the draft saved has it; Undo puts the old id back everywhere."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        try:
            _open(page, server)
            assert "gy-stroke-rehab" in _supervisor_sites(page)
            page.get_by_text("Rename a site or care setting").click()
            page.get_by_label("Id now").click()  # the selectbox of the site kind
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
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"\nscreenshot at the failure: {tmp_path / 'failure.png'}; "
                  f"server log: {server.log}")
            raise
        finally:
            browser.close()


@pytest.mark.browser
def test_excel_round_trip_in_browser(chromium_path: str, server: Server,
                                     tmp_path: Path) -> None:
    """Download the demo as a workbook (drop-downs, a Lists sheet, upload help), change a
    site's capacity and a learner's name as in Excel, upload it: the edited scenario opens,
    saved, with both changes in its grids."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        try:
            _open(page, server)
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
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"\nscreenshot at the failure: {tmp_path / 'failure.png'}; "
                  f"server log: {server.log}")
            raise
        finally:
            browser.close()
