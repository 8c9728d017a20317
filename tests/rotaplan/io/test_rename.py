"""Renaming a site or a care setting in the tables updates every reference, and only those."""

from __future__ import annotations

import pytest

from rotaplan.io import rename, tables
from tests.helpers import INSTANCES


@pytest.fixture
def demo() -> tables.ScenarioTables:
    """The demo scenario as tables."""
    return tables.from_text((INSTANCES / "demo.yaml").read_text(encoding="utf-8"))


def _mentions(t: tables.ScenarioTables, word: str) -> int:
    """Cells of every table that hold ``word`` as a whole id."""
    pattern = rename._pattern(word)
    return sum(1 for f in t.frames.values() for col in f.columns for v in f[col]
               if pattern.search(str(v)))


def test_renaming_a_site_updates_supervisors_rooms_and_learners(
        demo: tables.ScenarioTables) -> None:
    """Every cell naming the site names the new id; the scenario stays valid and the
    input tables are left as they were."""
    before = _mentions(demo, "hun-stroke")
    assert before > 3
    done = rename.rename(demo, rename.SITE, "hun-stroke", "hunstanton-stroke")
    assert done.cells == before
    assert _mentions(done.tables, "hun-stroke") == 0
    assert _mentions(done.tables, "hunstanton-stroke") == before
    assert "hunstanton-stroke" in set(done.tables.frames["supervisors"]["site_id"])
    assert not tables.validate(done.tables).errors
    assert _mentions(demo, "hun-stroke") == before  # the input is unchanged


def test_renaming_a_setting_updates_sites_and_tracks(demo: tables.ScenarioTables) -> None:
    """A setting's new id reaches its sites, learners' preferences and the tracks."""
    done = rename.rename(demo, rename.SETTING, "stroke", "stroke-care")
    assert "stroke-care" in set(done.tables.frames["sites"]["setting"])
    assert "stroke" not in set(done.tables.frames["sites"]["setting"])
    assert "stroke-care" in done.tables.tracks["rotation"]["cover"]
    # site ids that merely contain the word are not touched
    assert "gy-stroke-rehab" in set(done.tables.frames["sites"]["id"])
    assert not tables.validate(done.tables).errors


@pytest.mark.parametrize(("old", "new", "why"), [
    ("nowhere", "x", "there is no site"),
    ("hun-stroke", "  ", "blank"),
    ("hun-stroke", "a b", "is not an id"),
    ("hun-stroke", "hun-icu", "already a site"),
    ("hun-stroke", "hun-stroke", "already has that id"),
])
def test_bad_renames_are_refused_in_plain_words(demo: tables.ScenarioTables, old: str,
                                                new: str, why: str) -> None:
    """An unknown id, a blank, malformed or taken new id is refused, saying why."""
    with pytest.raises(rename.RenameError, match=why):
        rename.rename(demo, rename.SITE, old, new)
