"""Text that spreadsheets must show as text, never run as a formula (issue 13.6).

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``,
``-`` or ``@`` (and, in CSV files, a tab or carriage return before one) as a
formula: ``=HYPERLINK(...)`` in a name becomes a live link. Two defences:

- Workbooks rotaplan writes (:mod:`rotaplan.io.xlsx`, :mod:`rotaplan.io.workbook`):
  such a cell is stored as a string with Excel's *quote prefix* style, so it
  shows exactly as written and stays text when edited.
- CSV summaries people open in a spreadsheet (``batch_summary.csv``,
  ``sweep_summary.csv``, ``variants.csv``): such text gets a leading
  apostrophe, OWASP's advice for CSV injection. Plain numbers (``-3``) are
  left alone.

The plan's own CSV files (contract §8) are never altered: ids must stay exact
for checkers. They cannot hold such text instead, because the models refuse an
id that starts with one of these characters or holds a control character
(:data:`rotaplan.models.scenario.Id`). Names, which are free text, only reach
workbooks and calendars.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(value: Any) -> bool:
    """Whether a value is text a spreadsheet would read as a formula."""
    return (isinstance(value, str) and value.startswith(FORMULA_START)
            and _NUMBER.fullmatch(value) is None)


def csv_cell(value: Any) -> Any:
    """A value for a CSV summary: formula-like text gets a leading apostrophe."""
    return f"'{value}" if is_formula_like(value) else value


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """Every value of a CSV row through :func:`csv_cell`."""
    return {key: csv_cell(value) for key, value in row.items()}


def text_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding formula-like text a quoted text cell; return it."""
    if is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def text_cells(sheet: Any) -> None:
    """:func:`text_cell` on every cell of an openpyxl worksheet."""
    for row in sheet.iter_rows():
        for cell in row:
            text_cell(cell)


__all__ = ["FORMULA_START", "csv_cell", "csv_row", "is_formula_like", "text_cell",
           "text_cells"]
