"""Hostile workbooks are refused quickly and cheaply (issue 13.8).

"A 0.5 MB xlsx bomb costs the server 1.4 GB and 131 s and is accepted." The bombs
here are made at test time (the same bytes every run): a workbook with 250,000
shared strings, one with 1.2 million blank rows, one with a million namespaced
cells. Each import must be refused in one located message, within a
few seconds and without the memory its unzipped size would cost.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from rotaplan.io.workbook import (
    MAX_BYTES,
    MAX_CELLS,
    MAX_SHARED_STRINGS,
    read_workbook,
    template_bytes,
)
from tests.helpers import INSTANCES

CONSOLE_SCRIPT = Path(sys.executable).parent / "rotaplan"


def _replace(parts: dict[str, bytes]) -> bytes:
    """The empty template workbook with some parts replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(template_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info.filename, source.read(info))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def _sheet_xml(rows: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
            b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + rows
            + b"</sheetData></worksheet>")


def shared_strings_bomb() -> bytes:
    """About 0.2 MB zipped; its 250,000 shared strings unzip to 41 MB, inside the size
    limit, so only the count of strings stops it."""
    entry = b"<si><t>" + b"A" * 150 + b"</t></si>"
    count = 250_000
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
           b'org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (count, count)
           + entry * count + b"</sst>")
    source = zipfile.ZipFile(io.BytesIO(template_bytes()))
    types = source.read("[Content_Types].xml").replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" /></Types>')
    return _replace({"xl/sharedStrings.xml": xml, "[Content_Types].xml": types})


def blank_rows_bomb() -> bytes:
    """1.2 million empty rows on the Learners sheet (a sheet the import reads)."""
    rows = b"".join(b'<row r="%d"/>' % n for n in range(1, 1_200_001))
    return _replace({"xl/worksheets/sheet7.xml": _sheet_xml(rows)})


def prefixed_cells_bomb() -> bytes:
    """A million empty cells written with a namespace prefix (``<x:c/>``), which a naive
    count of ``<c`` would miss."""
    rows = b"<x:row>" + b"<x:c/>" * 10 + b"</x:row>"
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.'
           b'openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>' + rows * 100_001
           + b"</x:sheetData></x:worksheet>")
    return _replace({"xl/worksheets/sheet7.xml": xml})


BOMBS = {"shared strings": (shared_strings_bomb, f"more than {MAX_SHARED_STRINGS:,}"),
         "blank rows": (blank_rows_bomb, f"more than {MAX_CELLS:,} cells"),
         "prefixed cells": (prefixed_cells_bomb, f"more than {MAX_CELLS:,} cells")}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_refused_quickly_with_one_message(name: str) -> None:
    """Each bomb is refused, with a message saying which limit it passed, in seconds."""
    build, words = BOMBS[name]
    data = build()
    assert len(data) < MAX_BYTES  # a file size the import accepts
    started = time.process_time()
    result = read_workbook(io.BytesIO(data))
    took = time.process_time() - started
    assert not result.ok
    assert any(words in p.message for p in result.errors), [p.render() for p in result.errors]
    assert took < 10.0, took


def test_bomb_costs_little_memory_through_the_command(tmp_path: Path) -> None:
    """``rotaplan import`` on the shared-strings bomb: exit 2, one line, no scenario written,
    and the process stays far below what the strings would cost in memory."""
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(shared_strings_bomb())
    out = tmp_path / "scenario.yaml"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run([str(CONSOLE_SCRIPT), "import", bomb, "--out", out],
                          capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"more than {MAX_SHARED_STRINGS:,}" in done.stderr
    assert not out.exists()
    assert took < 30.0
    assert before > 0 or peak_mb < 400, peak_mb  # the interpreter and libraries: ~250 MB


def test_a_real_workbook_is_far_inside_the_limits() -> None:
    """The demo scenario's template workbook imports (the limits leave room for real data)."""
    from rotaplan.models import load_scenario

    data = template_bytes(load_scenario(INSTANCES / "demo.yaml"))
    result = read_workbook(io.BytesIO(data))
    assert result.ok, [p.render() for p in result.errors]
