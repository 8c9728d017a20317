"""Formula-like text is text in every spreadsheet rotaplan writes (issue 13.6).

Names are free text, so ``=HYPERLINK(...)`` is a valid learner name; the
workbooks must store it as a quoted string, and the CSV summaries people open
in Excel must neutralise it. Ids cannot start with a formula character at all
(tests/models/test_hostile_inputs.py), which keeps the plan CSVs exact.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from rotaplan.io.cells import csv_cell, is_formula_like
from rotaplan.io.workbook import template_bytes
from rotaplan.io.xlsx import xlsx_bytes
from rotaplan.runs.batch import empty_row, write_summary
from tests.helpers import learner, run, scenario, scenario_from, site, sup

HOSTILE_NAMES = ['=HYPERLINK("http://example.invalid";"click")', "+1+2", "-2+3", "@SUM(A1)"]


@pytest.fixture(scope="module")
def hostile() -> tuple[object, object]:
    """A two-learner scenario whose names are formulas, and its plan."""
    data = scenario(
        [site("ward", sups=[sup("w-1", name=HOSTILE_NAMES[2], capacity=2)],
              name=HOSTILE_NAMES[1], locality=HOSTILE_NAMES[3])],
        [learner("L1", name=HOSTILE_NAMES[0]), learner("L2", name=HOSTILE_NAMES[3])])
    data["programme"]["name"] = HOSTILE_NAMES[0]
    sc = scenario_from(data)
    result = run(sc)
    assert result.plan is not None
    return sc, result.plan


def _formula_cells(data: bytes) -> list[tuple[str, str, object, str, bool]]:
    """Every cell of a workbook holding formula-like text: sheet, cell, value, type, quoted."""
    book = load_workbook(io.BytesIO(data))
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    found.append((sheet.title, cell.coordinate, cell.value, cell.data_type,
                                  bool(cell.quotePrefix)))
    return found


def test_export_workbook_writes_formula_names_as_quoted_text(hostile: tuple) -> None:
    """Every formula-like name in the plan workbook is a string cell with a quote prefix."""
    sc, plan = hostile
    cells = _formula_cells(xlsx_bytes(sc, plan))
    assert {c[2] for c in cells} >= set(HOSTILE_NAMES)
    live = [c for c in cells if c[3] != "s" or not c[4]]
    assert not live, live


def test_template_workbook_writes_formula_names_as_quoted_text(hostile: tuple) -> None:
    """The import template filled from a scenario stores formula-like names as text too."""
    sc, _ = hostile
    cells = _formula_cells(template_bytes(sc))
    assert {c[2] for c in cells} >= set(HOSTILE_NAMES)
    live = [c for c in cells if c[3] != "s" or not c[4]]
    assert not live, live


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("-3", "-3"), ("+2.5", "+2.5"), ("-1e3", "-1e3"), (-3, -3),
    ("ward", "ward"), (None, None)])
def test_csv_cells_neutralise_formulas_but_not_numbers(value: object, expected: object) -> None:
    """A CSV summary cell gets an apostrophe before formula-like text, never before a number."""
    assert csv_cell(value) == expected
    assert is_formula_like(value) == (expected != value)


def test_batch_summary_neutralises_formula_text(tmp_path: Path) -> None:
    """batch_summary.csv writes formula-like text (a name, a folder) with an apostrophe."""
    rows = [empty_row("=HYPERLINK(\"x\")", "INVALID", "@plans/x", 2)]
    path = write_summary(rows, tmp_path / "batch_summary.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["scenario"] == "'=HYPERLINK(\"x\")"
    assert row["plan_dir"] == "'@plans/x"
    assert row["exit_code"] == "2"


def test_sweep_variants_csv_neutralises_formula_values(tmp_path: Path) -> None:
    """A sweep over a name writes formula-like values with an apostrophe in variants.csv."""
    from rotaplan.runs.sweep import write_variants

    source = tmp_path / "s.yaml"
    source.write_text(
        "programme: {name: x, blocks: 1}\nsettings: [acute]\nprofessions: [nurse]\n"
        "sites:\n  - {id: ward, setting: acute, supervisors: [{id: s1, profession: nurse}]}\n"
        "learners:\n  - {id: L1, profession: nurse}\n", encoding="utf-8")
    _, _, mapping = write_variants(source, {"sites.ward.name": ["=1+1", "@x"]}, tmp_path / "o")
    rows = list(csv.reader(mapping.read_text(encoding="utf-8").splitlines()))
    assert [r[1] for r in rows[1:]] == ["'=1+1", "'@x"]
