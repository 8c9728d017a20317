"""``rotaplan compare``: scenario diffs, plan KPI deltas and learner changes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from rotaplan.io import plan_dir
from rotaplan.models import Plan, load
from rotaplan.runs.pipeline import solve_and_write
from rotaplan.solver import SolveOptions
from tests.helpers import INSTANCES, cli, learner, scenario, site, sup

DEMO = INSTANCES / "demo.yaml"


def run_compare(a: Path, b: Path, sc: Path | None, sc_b: Path | None,
                as_json: bool) -> tuple[str, int]:
    """``rotaplan compare`` in-process: what it printed (errors included) and its exit code."""
    args: list[object] = ["compare", a, b]
    if sc is not None:
        args += ["--scenario", sc]
    if sc_b is not None:
        args += ["--scenario-b", sc_b]
    if as_json:
        args.append("--json")
    out, err, code = cli(*args)
    return (out if as_json else out + err), code


def compare(a: Path, b: Path, sc: Path | None = None, sc_b: Path | None = None) -> Any:
    """Run a comparison that must succeed; return its parsed JSON."""
    text, code = run_compare(a, b, sc, sc_b, as_json=True)
    assert code == 0, text
    return json.loads(text)


def compare_text(a: Path, b: Path, sc: Path | None = None, sc_b: Path | None = None) -> str:
    """Run a comparison that must succeed; return its text."""
    text, code = run_compare(a, b, sc, sc_b, as_json=False)
    assert code == 0, text
    return text


def demo_data() -> dict[str, Any]:
    return yaml.safe_load(DEMO.read_text())


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --------------------------------------------------------------------------- scenarios


def test_scenario_diff_finds_rooms_added_learner_and_removed_supervisor(tmp_path: Path) -> None:
    """Comparing scenarios lists a site's changed rooms, a removed supervisor and an added learner.

    The key figures move by one learner, one supervisor and that supervisor's places, and the text
    says each change.
    """
    data = demo_data()
    roomy = next(s for s in data["sites"] if isinstance(s.get("rooms"), int))
    rooms = roomy["rooms"]
    roomy["rooms"] = rooms - 1
    gone = next(s for s in data["sites"] if len(s["supervisors"]) > 2)["supervisors"].pop()
    data["learners"].append(learner("L999", "nurse", preferences=[roomy["id"]]))
    b = write_yaml(tmp_path / "b.yaml", data)

    out = compare(DEMO, b)
    assert out["kind"] == "scenarios"
    changes = {(c["section"], c["id"], c["change"]): c for c in out["changes"]}
    assert set(changes) == {("sites", roomy["id"], "changed"),
                            ("supervisors", gone["id"], "removed"),
                            ("learners", "L999", "added")}
    assert changes["sites", roomy["id"], "changed"]["fields"] == [
        {"field": "rooms", "a": rooms, "b": rooms - 1}]
    assert out["kpis"]["learners"]["delta"] == 1
    assert out["kpis"]["supervisors"]["delta"] == -1
    assert out["kpis"]["supervisor_places"]["delta"] == -gone["capacity"]
    assert out["learner_changes"] == []

    text = compare_text(DEMO, b)
    assert f"rooms: {rooms} → {rooms - 1}" in text
    assert f"removed {gone['id']} ({gone['name']})" in text
    assert "added L999" in text
    assert "3 change(s)" in text


def test_scenario_diff_covers_nested_and_moved_fields(tmp_path: Path) -> None:
    """A scenario diff reports programme, track, objective and preference changes field by field.

    A supervisor moved between sites is one change of its site.
    """
    data = demo_data()
    data["programme"]["block_weeks"] = 12
    data["tracks"]["fellowship"]["distinct_partner_settings"] = 1
    data["objective"] = {"fairness": "minimax"}
    first, second = data["sites"][0], data["sites"][1]
    moved = first["supervisors"].pop(0)
    second["supervisors"].append(moved)
    target = data["learners"][2]
    old_prefs = list(target["preferences"])
    target["preferences"] = old_prefs[::-1]
    b = write_yaml(tmp_path / "b.yaml", data)

    out = compare(DEMO, b)
    got = {(c["section"], c["id"]): c["fields"] for c in out["changes"]}
    assert got == {
        ("programme", None): [{"field": "block_weeks", "a": 13, "b": 12}],
        ("tracks", None): [{"field": "fellowship.distinct_partner_settings", "a": 2, "b": 1}],
        ("supervisors", moved["id"]): [{"field": "site", "a": first["id"], "b": second["id"]}],
        ("learners", target["id"]): [{"field": "preferences", "a": old_prefs,
                                      "b": old_prefs[::-1]}],
        ("objective", None): [{"field": "fairness", "a": "none", "b": "minimax"}],
    }
    text = compare_text(DEMO, b)
    assert f"site: {first['id']} → {second['id']}" in text
    assert f"preferences: {', '.join(old_prefs)} → {', '.join(old_prefs[::-1])}" in text


def test_identical_scenarios_have_no_changes(tmp_path: Path) -> None:
    """Two scenarios with the same content, differently written, have no change and zero deltas."""
    copy = write_yaml(tmp_path / "same.yaml", demo_data())  # same content, other formatting
    out = compare(DEMO, copy)
    assert out["changes"] == []
    assert all(k["delta"] == 0 for k in out["kpis"].values())
    assert "No changes: the two scenarios are the same." in compare_text(DEMO, copy)


def test_invalid_scenario_exits_2_with_its_problems(tmp_path: Path) -> None:
    """Comparing with an invalid scenario exits 2 and prints its located errors."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("programme: {name: x, blocks: 2}\nsettings: [a]\nprofessions: [nurse]\n"
                   "sites: []\nlearners:\n  - {id: L1, profession: nures}\n")
    text, code = run_compare(DEMO, bad, None, None, as_json=False)
    assert code == 2
    assert f"{bad}:6:26: learners[0].profession: unknown profession 'nures'" in text


def test_mixed_and_missing_inputs_exit_2(tmp_path: Path) -> None:
    """A scenario against a plan folder, a missing file, or --scenario-b for scenarios exits 2.

    Each gives its reason; with --json the reason is a JSON error.
    """
    for a, b in ((DEMO, tmp_path), (tmp_path, DEMO)):
        text, code = run_compare(a, b, None, None, as_json=False)
        assert code == 2
        assert "cannot compare a scenario file" in text
    text, code = run_compare(DEMO, tmp_path / "nope.yaml", None, None, as_json=True)
    assert code == 2
    assert json.loads(text) == {"error": f"{tmp_path / 'nope.yaml'}: no such file or directory"}
    text, code = run_compare(DEMO, DEMO, DEMO, None, as_json=False)
    assert code == 2
    assert "only for comparing two plans" in text


# --------------------------------------------------------------------------- demo plans


@pytest.fixture(scope="module")
def demo_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plan A of the demo, and plan B of the demo less a supervisor A used."""
    root = tmp_path_factory.mktemp("plans")
    options = SolveOptions(time_limit=10, workers=1, seed=0)
    outcome = solve_and_write(load(DEMO).scenario, root / "A", options)
    assert outcome.exit_code == 0, outcome.result.status
    gone = read_assignments(root / "A")["supervisor_id"].iloc[0]
    data = demo_data()
    for s in data["sites"]:
        s["supervisors"] = [x for x in s["supervisors"] if x["id"] != gone]
    scenario_b = write_yaml(root / "demo-b.yaml", data)
    outcome = solve_and_write(load(scenario_b).scenario, root / "B", options)
    assert outcome.exit_code == 0, outcome.result.status
    return {"a": root / "A", "b": root / "B", "scenario_b": scenario_b, "gone": gone,
            "data_a": demo_data(), "data_b": data}


def read_assignments(plan_dir: Path) -> pd.DataFrame:
    a = pd.read_csv(plan_dir / "assignments.csv", dtype=str, keep_default_na=False)
    a["block"] = a["block"].astype(int)
    return a


def expected_kpis(data: dict[str, Any], plan_dir: Path) -> dict[str, Any]:
    """The plan's key figures, computed here from the CSV files and the scenario dict."""
    a = read_assignments(plan_dir)
    summary = json.loads((plan_dir / "summary.json").read_text())
    setting = {s["id"]: s["setting"] for s in data["sites"]}
    prefs = {x["id"]: x.get("preferences", []) for x in data["learners"]}

    def cost(lid: str, sid: str) -> int:
        p = prefs[lid]
        if sid in p:
            return p.index(sid)
        return p.index(setting[sid]) if setting[sid] in p else len(p)

    def within(lid: str, sid: str, n: int) -> bool:
        """The site or its setting is among the learner's first n entries."""
        return sid in prefs[lid][:n] or setting[sid] in prefs[lid][:n]

    a["cost"] = [cost(lid, sid) for lid, sid in zip(a["learner_id"], a["site_id"], strict=True)]
    a["first"] = [within(lid, sid, 1) for lid, sid in zip(a["learner_id"], a["site_id"],
                                                           strict=True)]
    a["top3"] = [within(lid, sid, 3) for lid, sid in zip(a["learner_id"], a["site_id"],
                                                          strict=True)]
    mine = a[a["learner_id"].map(lambda lid: bool(prefs[lid]))]
    used = available = 0
    blocks = range(1, data["programme"]["blocks"] + 1)
    for s in data["sites"]:
        caps = s.get("capacity")
        per_block = {b: caps for b in blocks} if isinstance(caps, int) else (caps or {})
        for block, cap in per_block.items():
            available += cap
            used += int(((a["site_id"] == s["id"]) & (a["block"] == block)).sum())
    supervisors = sum(len(s["supervisors"]) for s in data["sites"])
    return {
        "status": summary["status"], "objective": summary["objective"],
        "learners": len(data["learners"]), "placed": a["learner_id"].nunique(),
        "unplaced": summary["unplaced"],
        "first_choice": mine[mine["first"]]["learner_id"].nunique(),
        "top3_placements": int(mine["top3"].sum()),
        "preference_cost": summary["preference_cost"],
        "worst_learner_cost": int(a.groupby("learner_id")["cost"].sum().max()),
        "utilisation_pct": round(100 * used / available, 1),
        "supervisor_load": round(int((a["supervisor_id"] != "").sum()) / supervisors, 2),
    }


def test_plan_kpi_deltas_match_the_csv_files(demo_plans: dict[str, Any]) -> None:
    """Comparing two plans gives each key figure of both, as recomputed from the CSV files.

    The deltas are B minus A (none for status); one supervisor fewer raises the mean load.
    """
    out = compare(demo_plans["a"], demo_plans["b"], DEMO, demo_plans["scenario_b"])
    assert out["kind"] == "plans"
    ka = expected_kpis(demo_plans["data_a"], demo_plans["a"])
    kb = expected_kpis(demo_plans["data_b"], demo_plans["b"])
    assert list(out["kpis"]) == list(ka)
    for key, got in out["kpis"].items():
        assert (got["a"], got["b"]) == (ka[key], kb[key]), key
        if key == "status":
            assert got["delta"] is None
        else:
            assert got["delta"] == pytest.approx(kb[key] - ka[key], abs=1e-9), key
    # one supervisor fewer for the same placements: the mean load must rise
    assert out["kpis"]["supervisor_load"]["delta"] > 0


def test_plan_learner_and_supervisor_changes_match_the_csv_files(
        demo_plans: dict[str, Any]) -> None:
    """The learner and supervisor changes between two plans are those in their CSV files.

    The text lists the moved learners and the removed supervisor's placements falling to 0.
    """
    out = compare(demo_plans["a"], demo_plans["b"], DEMO, demo_plans["scenario_b"])
    a, b = read_assignments(demo_plans["a"]), read_assignments(demo_plans["b"])
    both = a.merge(b, on=["learner_id", "block", "role"], how="outer", suffixes=("_a", "_b"))
    differ = both[both["site_id_a"] != both["site_id_b"]]
    expected = {(r.learner_id, r.block, r.role, r.site_id_a, r.site_id_b)
                for r in differ.itertuples()}
    got = {(c["learner_id"], c["block"], c["role"], c["a"], c["b"])
           for c in out["learner_changes"]}
    assert got == expected
    assert expected  # removing a supervisor in use moves someone
    assert {c["change"] for c in out["learner_changes"]} == {"moved"}

    ca, cb = Counter(a["supervisor_id"]), Counter(b["supervisor_id"])
    sups = {c["id"]: (c["fields"][0]["a"], c["fields"][0]["b"]) for c in out["changes"]}
    assert sups == {s: (ca[s], cb[s]) for s in ca.keys() | cb.keys() if ca[s] != cb[s]}
    assert sups[demo_plans["gone"]] == (ca[demo_plans["gone"]], 0)

    text = compare_text(demo_plans["a"], demo_plans["b"], DEMO, demo_plans["scenario_b"])
    row = next(r for r in differ.itertuples() if r.role == "rotation")
    assert f"  {row.learner_id} block {row.block}: {row.site_id_a} → {row.site_id_b}" in text
    assert f"  {demo_plans['gone']}: {ca[demo_plans['gone']]} → 0 placements" in text
    assert f"Learners whose placements changed ({differ['learner_id'].nunique()}):" in text


def test_identical_plans_have_no_changes_and_zero_deltas(demo_plans: dict[str, Any]) -> None:
    """A plan compared with itself has no changes, all 11 key figures equal, and zero deltas."""
    out = compare(demo_plans["a"], demo_plans["a"], DEMO)
    assert out["changes"] == [] and out["learner_changes"] == []
    assert len(out["kpis"]) == 11
    for key, k in out["kpis"].items():
        assert k["a"] == k["b"], key
        assert k["delta"] == (None if key == "status" else 0), key
    text = compare_text(demo_plans["a"], demo_plans["a"], DEMO)
    assert "No changes: every learner has the same placements in both plans." in text


def test_plans_without_scenario_compare_summary_and_placements(
        demo_plans: dict[str, Any]) -> None:
    """Without scenarios two plans compare on summary figures and placements only.

    The learner changes are the same as with the scenarios, and the text suggests --scenario.
    """
    out = compare(demo_plans["a"], demo_plans["b"])
    assert set(out["kpis"]) == {"status", "objective", "placed", "unplaced", "preference_cost"}
    full = compare(demo_plans["a"], demo_plans["b"], DEMO, demo_plans["scenario_b"])
    assert out["learner_changes"] == full["learner_changes"]
    assert "add --scenario" in compare_text(demo_plans["a"], demo_plans["b"])


def test_plan_against_the_wrong_scenario_exits_2(
        demo_plans: dict[str, Any], tmp_path: Path) -> None:
    """Plans with a scenario that lacks their learners, or a scenario for B only, exit 2."""
    tiny = write_yaml(tmp_path / "tiny.yaml", tiny_scenario())
    text, code = run_compare(demo_plans["a"], demo_plans["b"], tiny, None, as_json=False)
    assert code == 2
    assert "names learner(s) not in its scenario" in text
    text, code = run_compare(demo_plans["a"], demo_plans["b"], None, tiny, as_json=False)
    assert code == 2
    assert "give --scenario for plan A too" in text


# --------------------------------------------------------------------------- hand-made plans


def tiny_scenario() -> dict[str, Any]:
    sites = [site("ward", capacity=2, sups=[sup("ward-sup", capacity=2)]),
             site("clinic", "community", sups=[sup("clinic-sup", capacity=2)]),
             site("home", "primary", sups=[sup("home-sup", capacity=2)])]
    learners = [learner("L1", preferences=["clinic"]), learner("L2", preferences=["ward"]),
                learner("L3", preferences=["home"])]
    return scenario(sites, learners, blocks=2, objective={"allow_unplaced": True})


def write_plan(path: Path, rows: list[tuple[str, int, str]], unplaced: int) -> Path:
    """A plan with rotation placements (learner, block, site) at each site's supervisor."""
    plan = Plan.from_rows([(lid, b, "rotation", s, f"{s}-sup") for lid, b, s in rows], [])
    plan_dir.write_plan(path, plan, {"status": "FEASIBLE", "objective": 1000 * unplaced,
                      "preference_cost": 0, "unplaced": unplaced})
    return path


def test_placed_and_left_out_learners_and_capacity_use(tmp_path: Path) -> None:
    """Learners moved, left out or newly placed are listed, with first choices, costs and use.

    The text names each change and the supervisor's placements in both plans.
    """
    sc = write_yaml(tmp_path / "tiny.yaml", tiny_scenario())
    a = write_plan(tmp_path / "A", [("L1", 1, "ward"), ("L1", 2, "clinic"),
                                    ("L2", 1, "clinic"), ("L2", 2, "home")], 1)
    b = write_plan(tmp_path / "B", [("L1", 1, "clinic"), ("L1", 2, "ward"),
                                    ("L3", 1, "ward"), ("L3", 2, "home")], 1)
    out = compare(a, b, sc)
    assert out["learner_changes"] == [
        {"learner_id": "L1", "change": "moved", "block": 1, "role": "rotation",
         "a": "ward", "b": "clinic"},
        {"learner_id": "L1", "change": "moved", "block": 2, "role": "rotation",
         "a": "clinic", "b": "ward"},
        {"learner_id": "L2", "change": "left out", "block": None, "role": None,
         "a": None, "b": None},
        {"learner_id": "L3", "change": "placed", "block": None, "role": None,
         "a": None, "b": None},
    ]
    k = {key: (v["a"], v["b"], v["delta"]) for key, v in out["kpis"].items()}
    assert k["placed"] == (2, 2, 0)
    assert k["first_choice"] == (1, 2, 1)  # L1 in A; L1 and L3 in B
    assert k["worst_learner_cost"] == (2, 1, -1)  # L2 at clinic and home; L1 at ward
    assert k["utilisation_pct"] == (25.0, 50.0, 25.0)  # ward: 2 places x 2 blocks
    assert k["supervisor_load"] == (1.33, 1.33, 0)
    text = compare_text(a, b, sc)
    assert "L2 is left out in B (placed in A)" in text
    assert "L3 is placed in B (left out in A)" in text
    assert "L1 block 1: ward → clinic" in text
    assert "ward-sup: 1 → 2 placements" in text


def test_plan_without_placement_files_counts_as_nobody_placed(tmp_path: Path) -> None:
    """A plan folder with only a summary counts as nobody placed; an empty folder exits 2."""
    sc = write_yaml(tmp_path / "tiny.yaml", tiny_scenario())
    a = tmp_path / "A"
    a.mkdir()
    (a / "summary.json").write_text(json.dumps({"status": "INFEASIBLE", "objective": None,
                                                "preference_cost": None, "unplaced": None}))
    b = write_plan(tmp_path / "B", [("L1", 1, "clinic"), ("L1", 2, "ward")], 2)
    out = compare(a, b, sc)
    assert out["kpis"]["status"] == {"label": "Plan status", "a": "INFEASIBLE",
                                     "b": "FEASIBLE", "delta": None}
    assert out["kpis"]["placed"]["delta"] == 1
    assert out["kpis"]["objective"]["delta"] is None
    assert [(c["learner_id"], c["change"]) for c in out["learner_changes"]] == [("L1", "placed")]
    empty = tmp_path / "empty"
    empty.mkdir()
    text, code = run_compare(a, empty, None, None, as_json=False)
    assert code == 2
    assert "not a plan folder" in text


# --------------------------------------------------------------------------- tables


def test_scenario_change_table_has_a_row_per_field_and_item(tmp_path: Path) -> None:
    """The scenario change table has one row per changed field, added and removed item,
    with items named beside their ids and values in plain words."""
    from rotaplan.analysis.compare import SCENARIO_CHANGE_COLUMNS, scenario_change_table

    data = demo_data()
    roomy = next(s for s in data["sites"] if isinstance(s.get("rooms"), int))
    rooms = roomy["rooms"]
    roomy["rooms"] = rooms - 1
    data["learners"].append(learner("L999", "nurse"))
    before = load(DEMO).scenario
    after = load(write_yaml(tmp_path / "b.yaml", data)).scenario
    from rotaplan.analysis.compare import diff_scenarios

    table = scenario_change_table(diff_scenarios(before, after))
    assert list(table.columns) == SCENARIO_CHANGE_COLUMNS
    rows = {tuple(r) for r in table.itertuples(index=False)}
    item = f"{roomy['name']} ({roomy['id']})" if roomy.get("name") else roomy["id"]
    assert ("Sites", item, "changed", "rooms", str(rooms), str(rooms - 1)) in rows
    assert ("Learners", "L999", "added", "", "", "") in rows
    assert len(scenario_change_table([])) == 0


def test_learner_change_table_names_learners_and_sites(demo_plans: dict[str, Any]) -> None:
    """The learner change table names learners and sites, one row per move, and says who
    was newly placed or left out."""
    from rotaplan.analysis.compare import (
        LEARNER_CHANGE_COLUMNS,
        learner_change_table,
        learner_changes,
    )

    sc = load(DEMO).scenario
    changes = learner_changes(plan_dir.read_plan(demo_plans["a"]),
                              plan_dir.read_plan(demo_plans["b"]))
    assert changes
    table = learner_change_table(changes, sc, sc)
    assert list(table.columns) == LEARNER_CHANGE_COLUMNS and len(table) == len(changes)
    for rec, row in zip(changes, table.itertuples(index=False), strict=True):
        person = sc.learner_by_id.get(rec["learner_id"])
        assert row.Learner.endswith(f"({rec['learner_id']})" if person and person.name
                                    else rec["learner_id"])
        if rec["change"] == "moved" and rec["b"]:
            assert row.After.endswith(f"({rec['b']})") or row.After == rec["b"]
    gone = learner_change_table([{"learner_id": "L001", "change": "left out", "block": None,
                                  "role": None, "a": None, "b": None}], sc, sc)
    assert (gone.iloc[0]["Before"], gone.iloc[0]["After"]) == ("placed", "left out")
