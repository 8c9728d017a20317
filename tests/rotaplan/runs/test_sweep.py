"""``rotaplan sweep``: variants from PATH=VALUES, each edit in the right place, KPIs per plan."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rotaplan.checker import check_plan_dir
from rotaplan.cli import app
from rotaplan.models import load_scenario
from rotaplan.runs.sweep import (
    KPI_COLUMNS,
    SweepError,
    parse_set,
    parse_value,
    parse_values,
    read_sweep_file,
    run_sweep,
    write_variants,
)
from tests.helpers import INSTANCES, NO_SHARED, SHARED_CHECKER, SHARED_EXAMPLE, shared_check

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["sweep", *args], catch_exceptions=False)


EXAMPLE = Path(__file__).parents[2] / "data" / "sweep" / "example.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the contract's example scenario, shipped in tests/data/sweep."""
    path = tmp_path / "example.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def test_the_shipped_example_matches_the_contracts() -> None:
    """The sweep tests' copy of the example is the same scenario as the contract's example."""
    if not SHARED_EXAMPLE.exists():
        pytest.skip(NO_SHARED)
    assert load_scenario(EXAMPLE) == load_scenario(SHARED_EXAMPLE)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_values_are_typed() -> None:
    """Sweep values read as ints, booleans, none or text; lists and low..high ranges expand.

    A setting without =VALUES, or a range from high to low, is refused with the expected form.
    """
    assert [parse_value(x) for x in ("3", "-1", "true", "False", "none", "NULL", "minimax")] \
        == [3, -1, True, False, None, None, "minimax"]
    assert parse_values("1, 2,none") == [1, 2, None]
    assert parse_values("12..15") == [12, 13, 14, 15]
    assert parse_set("sites.a.rooms=1,2") == ("sites.a.rooms", [1, 2])
    with pytest.raises(SweepError, match="PATH=VALUE1"):
        parse_set("sites.a.rooms")
    with pytest.raises(SweepError, match="low to high"):
        parse_values("5..1")


def test_product_names_and_variants_csv(example: Path, tmp_path: Path) -> None:
    """Two parameters give one variant per combination, named by short labels, in order.

    Each variant file holds its values, and variants.csv maps every name to them.
    """
    params = {"sites.bridge-st.capacity": [2, 3], "sites.market-pcn.rooms": [1, 2, 3]}
    variants, labels, mapping = write_variants(example, params, tmp_path / "out")
    assert [v.name for v in variants] == [
        "capacity=2_rooms=1", "capacity=2_rooms=2", "capacity=2_rooms=3",
        "capacity=3_rooms=1", "capacity=3_rooms=2", "capacity=3_rooms=3"]
    assert labels == {"sites.bridge-st.capacity": "capacity", "sites.market-pcn.rooms": "rooms"}
    assert all(v.file == tmp_path / "out" / "variants" / f"{v.name}.yaml" for v in variants)
    rows = read_csv(mapping)
    assert len(rows) == 6
    assert rows[4] == {"variant": "capacity=3_rooms=2", "sites.bridge-st.capacity": "3",
                       "sites.market-pcn.rooms": "2"}
    last = load_scenario(variants[-1].file)
    assert last.site_by_id["bridge-st"].capacity == 3
    assert last.site_by_id["market-pcn"].rooms == 3


def test_clashing_labels_are_lengthened(example: Path, tmp_path: Path) -> None:
    """Parameters whose short labels clash are labelled by site and field instead."""
    params = {"sites.bridge-st.rooms": [1], "sites.market-pcn.rooms": [1, 2]}
    variants, labels, _ = write_variants(example, params, tmp_path)
    assert list(labels.values()) == ["bridge-st.rooms", "market-pcn.rooms"]
    assert variants[1].name == "bridge-st.rooms=1_market-pcn.rooms=2"


def test_each_path_kind_edits_the_right_thing(example: Path, tmp_path: Path) -> None:
    """Each kind of path edits exactly its field: programme, objective, tracks, sites, learners.

    Rooms edits keep the other sessions, none restores the contract default, and the rest of the
    scenario is unchanged.
    """
    params: dict[str, list[Any]] = {
        "programme.block_weeks": [10],
        "objective.fairness": ["minimax"],
        "objective.allow_unplaced": [True],
        "tracks.fellowship.partner_sessions": [1],
        "tracks.rotation.no_repeat_site": [False],
        "sites.city-stroke.capacity": [None],
        "sites.bridge-st.rooms.Mon-AM": [2],
        "sites.market-pcn.rooms.Tue-AM": [1],
        "sites.bridge-st.supervisors.bs-gp.capacity": [1],
        "learners.L4.sessions_per_week": [5],
        "learners.F2.pinned": [None],
    }
    variants, _, _ = write_variants(example, params, tmp_path)
    assert len(variants) == 1
    base, sc = load_scenario(example), load_scenario(variants[0].file)
    assert (sc.programme.block_weeks, base.programme.block_weeks) == (10, 13)
    assert sc.objective.fairness == "minimax" and sc.objective.allow_unplaced
    assert sc.tracks.fellowship is not None and sc.tracks.fellowship.partner_sessions == 1
    assert sc.tracks.fellowship.base_setting == "primary-care"
    assert sc.tracks.rotation.no_repeat_site is False
    assert sc.tracks.rotation.cover == base.tracks.rotation.cover
    assert base.site_by_id["city-stroke"].capacity == 2
    assert sc.site_by_id["city-stroke"].capacity is None  # none: the contract default
    assert sc.site_by_id["bridge-st"].rooms == {"default": 1, "Tue-AM": 2, "Tue-PM": 2,
                                                "Mon-AM": 2}
    assert sc.site_by_id["market-pcn"].rooms == {"default": 2, "Tue-AM": 1}
    bs_gp = next(s for s in sc.site_by_id["bridge-st"].supervisors if s.id == "bs-gp")
    assert bs_gp.capacity == 1
    assert sc.learner_by_id["L4"].sessions_per_week == 5
    assert sc.learner_by_id["F2"].pinned == {} and base.learner_by_id["F2"].pinned
    # nothing else changed
    assert [x.id for x in sc.learners] == [x.id for x in base.learners]
    assert sc.site_by_id["rehab-north"] == base.site_by_id["rehab-north"]


def test_learner_counts_add_and_drop(example: Path, tmp_path: Path) -> None:
    """A learner count drops the last learners of a profession and track, or adds newcomers.

    Newcomers are rotation learners of that profession without preferences.
    """
    params = {"learners.count.nurse": [1, 2, 4], "learners.count.gp.fellowship": [1]}
    variants, _, _ = write_variants(example, params, tmp_path)
    assert [v.name for v in variants] == ["nurses=1_gp-fellows=1", "nurses=2_gp-fellows=1",
                                          "nurses=4_gp-fellows=1"]
    fewer, same, more = (load_scenario(v.file) for v in variants)
    assert [x.id for x in fewer.learners] == ["L1", "L2", "L3", "F1"]  # L4 and F2 dropped
    assert [x.id for x in same.learners] == ["L1", "L2", "L3", "L4", "F1"]
    assert [x.id for x in more.learners][-2:] == ["new-nurse-001", "new-nurse-002"]
    newcomer = more.learner_by_id["new-nurse-002"]
    assert (newcomer.profession, newcomer.track, newcomer.preferences) == ("nurse", "rotation",
                                                                           [])
    nurses = [x for x in more.learners if x.profession == "nurse" and x.track == "rotation"]
    assert len(nurses) == 4


@pytest.mark.parametrize(("setting", "words"), [
    ("sites.nope.rooms=1", ["sites.nope.rooms: unknown site id 'nope'", "city-stroke"]),
    ("sites.bridge-st.supervisors.zz.capacity=1",
     ["unknown supervisor id 'zz' at bridge-st", "bs-gp, bs-nurse"]),
    ("learners.L9.blocks=1", ["unknown learner id 'L9'", "L1, L2, L3, L4, F1, F2"]),
    ("learners.count.surgeon=3", ["unknown profession 'surgeon'", "nurse, physiotherapist"]),
    ("sites.bridge-st.roms=1", ["'roms' is not a field", "rooms"]),
    ("sites.bridge-st.rooms.Sat-AM=1", ["unknown session 'Sat-AM'", "Mon-AM"]),
    ("sites.coast-stroke.rooms.Mon-AM=1", ["site coast-stroke has no room limit"]),
    ("learners.count.nurse=two", ["a learner count is a whole number"]),
    ("staff.x=1", ["unknown PATH", "sites.SITE_ID.FIELD"]),
])
def test_bad_paths_exit_2_before_solving(example: Path, tmp_path: Path, setting: str,
                                         words: list[str]) -> None:
    """An unknown path, id, field, session or value exits 2 naming it and the valid choices.

    No variant is written and no traceback shown.
    """
    out = tmp_path / "out"
    result = invoke(str(example), "--set", setting, "--out", str(out))
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.output
    assert not (out / "variants").exists()


def test_invalid_value_is_an_invalid_row(example: Path, tmp_path: Path) -> None:
    """A value the loader refuses gives an INVALID row with its error, the others solve; exit 2."""
    result = run_sweep(example, {"sites.market-pcn.rooms": [-1, 2]}, tmp_path, jobs=1,
                       time_limit=20)
    assert [(r["variant"], r["status"]) for r in result.rows] == [("rooms=-1", "INVALID"),
                                                                   ("rooms=2", "OPTIMAL")]
    assert result.exit_code == 2
    assert result.batch is not None
    assert "rooms must be 0 or more" in result.batch.rows[0]["errors"][0]


def test_sweep_file_matches_set(example: Path, tmp_path: Path) -> None:
    """A sweep file gives the same variants as the same --set options; --set adds to it."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("scenario: example.yaml\nset:\n  sites.market-pcn.rooms: [1, 2]\n"
                     "  objective.fairness: none, minimax\n  learners.L1.avoid: null\n")
    scenario, params = read_sweep_file(sweep)
    assert scenario == example
    assert params == {"sites.market-pcn.rooms": [1, 2],
                      "objective.fairness": [None, "minimax"],  # none: the default
                      "learners.L1.avoid": [None]}
    from_file, _, _ = write_variants(scenario, params, tmp_path / "file")
    from_set, _, _ = write_variants(example, dict(parse_set(x) for x in (
        "sites.market-pcn.rooms=1,2", "objective.fairness=none,minimax",
        "learners.L1.avoid=none")), tmp_path / "set")
    assert [v.name for v in from_file] == [v.name for v in from_set]
    for a, b in zip(from_file, from_set, strict=True):
        assert load_scenario(a.file) == load_scenario(b.file)

    sweep.write_text("scenario: example.yaml\nset:\n  objective.fairness: [none]\n")
    out = tmp_path / "cli"
    result = invoke("--sweep", str(sweep), "--set", "sites.market-pcn.rooms=2", "--out",
                    str(out), "--jobs", "1", "--time-limit", "20", "-q")
    assert result.exit_code == 0, result.output
    assert [r["variant"] for r in read_csv(out / "sweep_summary.csv")] == \
        ["fairness=none_rooms=2"]


def test_rooms_sweep_end_to_end(tmp_path: Path) -> None:
    """Sweeping a site's rooms 1-3 solves each variant to a checked optimum, tabled with KPIs.

    Fewer rooms never lower the objective, and here one room costs more than three.
    """
    scenario = INSTANCES / "demo.yaml"
    out = tmp_path / "out"
    result = invoke(str(scenario), "--set", "sites.att-orchard.rooms=1,2,3", "--out", str(out),
                    "--jobs", "1", "--workers", "1", "--time-limit", "20", "-q")
    assert result.exit_code == 0, result.output
    for heading in ("variant", "rooms", "status", "objective", "placed", "1st choice",
                    "top-3", "worst-off"):
        assert heading in result.stdout
    rows = read_csv(out / "sweep_summary.csv")
    assert list(rows[0]) == ["variant", "sites.att-orchard.rooms", *KPI_COLUMNS]
    assert [r["variant"] for r in rows] == ["rooms=1", "rooms=2", "rooms=3"]
    assert all(r["status"] == "OPTIMAL" for r in rows)
    objectives = [int(r["objective"]) for r in rows]
    assert objectives[0] >= objectives[1] >= objectives[2]  # fewer rooms never help
    assert objectives[0] > objectives[2]  # and here they cost
    for row in rows:
        assert 0 < float(row["top3_share"]) <= 1 and row["worst_learner_cost"]
        variant = out / "variants" / f"{row['variant']}.yaml"
        report = check_plan_dir(load_scenario(variant), row["plan_dir"])
        assert report.ok, report.render()
        if SHARED_CHECKER.exists():
            shared_check(variant, Path(row["plan_dir"]))
