"""The MIP baseline (benchmarks/mip.py) solves the product's own model to the same optima.

HiGHS runs in a child process (OR-Tools and highspy cannot share one: see
benchmarks/mip.py), so this module must never import highspy itself.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ortools.sat.python import cp_model

from benchmarks.mip import (
    Mip,
    MipResult,
    UnsupportedModelError,
    build_product_model,
    cp_model_to_highs,
    linearise,
    run_mips,
    solve_mip,
)
from rotaplan.models import load_scenario
from tests.helpers import run, scenario_from, tweak

INSTANCES = Path(__file__).resolve().parents[2] / "instances"
DEMO_OPTIMUM = 167  # CP-SAT proves it in about 0.5 s (benchmarks/test_bench_solve.py)
ALL = ["Mon-AM", "Mon-PM", "Tue-AM"]


def _cp_sat(model: cp_model.CpModel, fix: list[float] | None = None) -> tuple[str, float | None]:
    """Solve a model with CP-SAT (optionally with every variable fixed to ``fix``)."""
    if fix is not None:
        model = model.clone()
        for i, value in enumerate(fix):
            var = model.get_int_var_from_proto_index(i)
            model.add(var == round(value))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20.0
    status = solver.solve(model)
    name = solver.status_name(status)
    return name, solver.objective_value if name in ("OPTIMAL", "FEASIBLE") else None


def _assert_cp_feasible(model: cp_model.CpModel, result: MipResult) -> None:
    """HiGHS's solution, fixed into the CP-SAT model, is feasible with the same objective."""
    assert result.values is not None
    assert all(abs(x - round(x)) < 1e-6 for x in result.values)
    status, objective = _cp_sat(model, result.values)
    assert status == "OPTIMAL", status
    assert objective == pytest.approx(result.objective)


# ----- the shipped demo --------------------------------------------------------------------


def test_demo_matches_cp_sat_optimum() -> None:
    """HiGHS on the product's model of the demo finds 167, or brackets it when not proven in time.

    Its solution, fixed into the CP-SAT model, is feasible at the same objective.
    """
    scenario = load_scenario(INSTANCES / "demo.yaml")
    result = solve_mip(scenario, time_limit=60.0, threads=2)
    assert result.columns > 0 and result.rows > 0
    assert result.status in ("OPTIMAL", "FEASIBLE"), result
    if result.status == "OPTIMAL":  # HiGHS proves it in about 3 s
        assert result.objective == DEMO_OPTIMUM
        assert result.best_bound == pytest.approx(DEMO_OPTIMUM)
    else:  # not proven in time: the optimum must still lie between bound and incumbent
        assert result.best_bound is not None and result.objective is not None
        assert result.best_bound <= DEMO_OPTIMUM + 1e-6 <= result.objective + 2e-6
    assert result.first_solution_seconds is not None
    assert result.solutions and result.solutions[-1][1] == pytest.approx(result.objective)
    _assert_cp_feasible(build_product_model(scenario), result)


# ----- tiny scenarios with rooms and part-time supervisors ---------------------------------


def _site(sid: str, sups: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"id": sid, "setting": "acute", "supervisors": sups, **kw}


def _sup(sid: str, capacity: int = 1, **kw: Any) -> dict[str, Any]:
    return {"id": sid, "profession": "nurse", "capacity": capacity, **kw}


TINY = {
    # One room at ward; both prefer ward: one moves to clinic (objective 1).
    "rooms": tweak(
        sites=[_site("ward", [_sup("ward-sup", 2)], rooms=1),
               _site("clinic", [_sup("clinic-sup", 2)])],
        learners=[{"id": x, "profession": "nurse", "preferences": ["ward", "clinic"]}
                  for x in ("L1", "L2")]),
    # Part-time supervisor (Mon-AM only) and per-session rooms: who fits at ward depends on
    # the weekly timetables of part-time learners.
    "part-time-supervisors": tweak(
        sites=[_site("ward", [_sup("sup-a"), _sup("sup-b", sessions=["Mon-AM"]),
                              _sup("sup-c", 2, sessions=["Mon-PM", "Tue-AM"])],
                     rooms={"Mon-AM": 2, "Mon-PM": 1, "Tue-AM": 2}),
               _site("clinic", [_sup("clinic-sup", 3)]),
               _site("hub", [_sup("hub-sup", 1, sessions=["Mon-AM", "Tue-AM"])])],
        learners=[{"id": "L1", "profession": "nurse", "preferences": ["ward", "hub", "clinic"]},
                  {"id": "L2", "profession": "nurse", "sessions_per_week": 1,
                   "preferences": ["ward", "hub", "clinic"]},
                  {"id": "L3", "profession": "nurse", "sessions_per_week": 2,
                   "preferences": ["hub", "ward", "clinic"]},
                  {"id": "L4", "profession": "nurse", "sessions_per_week": 2,
                   "available_sessions": ["Mon-AM", "Tue-AM"],
                   "preferences": ["ward", "hub", "clinic"]}]),
    # Two blocks, allow_unplaced: one of three learners cannot fit and pays the penalty.
    "unplaced": tweak(
        programme={"name": "tiny", "blocks": 2, "sessions": ALL, "teaching_sessions": []},
        sites=[_site("ward", [_sup("ward-sup", 1, sessions=["Mon-AM", "Mon-PM"])],
                     rooms={"Mon-AM": 1, "Mon-PM": 1, "Tue-AM": 1}),
               _site("clinic", [_sup("clinic-sup")])],
        learners=[{"id": x, "profession": "nurse", "sessions_per_week": 2,
                   "preferences": ["clinic", "ward"]} for x in ("L1", "L2", "L3")],
        tracks={"rotation": {"cover": [], "no_repeat_site": False}},
        objective={"allow_unplaced": True, "unplaced_penalty": 50}),
}


@pytest.mark.parametrize("name", list(TINY))
def test_tiny_scenarios_match_cp_sat(name: str) -> None:
    """HiGHS proves the same optimum as rotaplan on each tiny scenario, with a CP-SAT-valid plan."""
    scenario = scenario_from(TINY[name])
    expected = run(scenario)
    assert expected.status == "OPTIMAL", expected.status
    result = solve_mip(scenario, time_limit=20.0, threads=1)
    assert result.status == "OPTIMAL", result
    assert result.objective == pytest.approx(expected.objective)
    _assert_cp_feasible(build_product_model(scenario), result)


def test_tiny_scenarios_exercise_enforced_and_session_rules() -> None:
    """The part-time scenario's model has session-level literals and enforced bool_and rows."""
    # The part-time scenario makes session-level at[] literals, tied to the placement and
    # timetable by implications (bool_and with an enforcement literal).
    proto = build_product_model(scenario_from(TINY["part-time-supervisors"])).proto
    assert any(var.name.startswith("at[") for var in proto.variables)
    assert any(ct.has_bool_and() and len(ct.enforcement_literal) for ct in proto.constraints)


def test_minimax_is_out_of_scope() -> None:
    """The MIP baseline answers UNSUPPORTED for minimax fairness, saying why."""
    data = dict(TINY["rooms"], objective={"fairness": "minimax"})
    result = solve_mip(scenario_from(data))
    assert result.status == "UNSUPPORTED"
    assert "minimax" in result.note


# ----- the linearisation on random small CP-SAT models -------------------------------------


def _random_model(rng: random.Random) -> cp_model.CpModel:
    """A handful of Booleans (and one small integer) under mixed constraint kinds."""
    model = cp_model.CpModel()
    xs = [model.new_bool_var(f"x{i}") for i in range(rng.randint(4, 8))]
    y = model.new_int_var(-3, 5, "y")

    def lit() -> Any:
        x = rng.choice(xs)
        return x.Not() if rng.random() < 0.4 else x

    def lits(k: int) -> list[Any]:
        return [lit() for _ in range(k)]

    def expr() -> Any:
        terms = [rng.randint(-3, 3) * x for x in rng.sample(xs, rng.randint(1, len(xs)))]
        if rng.random() < 0.3:
            terms.append(rng.randint(-2, 2) * y)
        return sum(terms)

    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(["le", "ge", "eq", "or", "or-enforced", "and-enforced",
                           "linear-enforced", "implication", "amo", "exactly-one"])
        if kind == "le":
            model.add(expr() <= rng.randint(-1, 4))
        elif kind == "ge":
            model.add(expr() >= rng.randint(-3, 2))
        elif kind == "eq":
            model.add(expr() == rng.randint(-1, 2))
        elif kind == "or":
            model.add_bool_or(lits(rng.randint(1, 3)))
        elif kind == "or-enforced":
            model.add_bool_or(lits(rng.randint(1, 3))).only_enforce_if(lits(rng.randint(1, 2)))
        elif kind == "and-enforced":
            model.add_bool_and(lits(rng.randint(1, 3))).only_enforce_if(lits(rng.randint(1, 2)))
        elif kind == "linear-enforced":
            model.add_linear_constraint(expr(), rng.randint(-4, 0), rng.randint(0, 4)) \
                .only_enforce_if(lits(rng.randint(1, 2)))
        elif kind == "implication":
            model.add_implication(lit(), lit())
        elif kind == "amo":
            model.add_at_most_one(lits(rng.randint(2, 4)))
        else:
            model.add_exactly_one(lits(rng.randint(2, 3)))
    objective = expr() + rng.randint(-5, 5)
    if rng.random() < 0.3:
        model.maximize(objective)  # scaling_factor -1
    else:
        model.minimize(objective)
    return model


def test_random_models_same_optimum_as_cp_sat() -> None:
    """On 40 random models HiGHS gives CP-SAT's status and optimum, with feasible solutions.

    Both optimal and infeasible models occur.
    """
    rng = random.Random(20270906)
    models = [_random_model(rng) for _ in range(40)]
    results = run_mips([linearise(m) for m in models], time_limit=10.0, threads=1)
    statuses = set()
    for n, (model, result) in enumerate(zip(models, results, strict=True)):
        status, objective = _cp_sat(model)
        statuses.add(status)
        assert result.status == status, (n, result, status)
        if status == "OPTIMAL":
            assert result.objective == pytest.approx(objective), (n, result, objective)
            assert result.best_bound == pytest.approx(objective), (n, result)
            _assert_cp_feasible(model, result)
    assert statuses == {"OPTIMAL", "INFEASIBLE"}  # both outcomes are exercised


def test_enforced_linear_big_m_rows() -> None:
    """An enforced equality becomes two big-M rows, each with the smallest valid M."""
    # 2 <= a + b + c <= 2 enforced by e: the upper side gets M = 1, the lower side M = 2.
    model = cp_model.CpModel()
    a, b, c, e = (model.new_bool_var(n) for n in "abce")
    model.add(a + b + c == 2).only_enforce_if(e)
    mip = linearise(model)
    rows = [(dict(zip(mip.index[s:t], mip.value[s:t], strict=True)), lo, hi)
            for s, t, lo, hi in zip(mip.start[:-1], mip.start[1:], mip.row_lower, mip.row_upper,
                                    strict=True)]
    assert rows == [({0: 1, 1: 1, 2: 1, 3: 1}, -float("inf"), 3.0),  # a+b+c <= 2 + (1-e)
                    ({0: 1, 1: 1, 2: 1, 3: -2}, 0.0, float("inf"))]  # a+b+c >= 2 - 2(1-e)


def test_unsupported_parts_fail_clearly() -> None:
    """Domains with holes, != and products are refused by name instead of linearised wrongly."""
    model = cp_model.CpModel()
    x = model.new_int_var_from_domain(cp_model.Domain.from_values([0, 2, 5]), "x")
    with pytest.raises(UnsupportedModelError, match="holes"):
        linearise(model)
    model = cp_model.CpModel()
    x, y = model.new_int_var(0, 3, "x"), model.new_int_var(0, 3, "y")
    model.add(x != y)
    with pytest.raises(UnsupportedModelError, match="holes"):
        linearise(model)
    model = cp_model.CpModel()
    x, y = model.new_int_var(0, 3, "x"), model.new_int_var(0, 3, "y")
    model.add_multiplication_equality(x, [y, y])
    with pytest.raises(UnsupportedModelError, match="int_prod"):
        linearise(model)


def test_highspy_is_refused_in_an_or_tools_process() -> None:
    """Building a HiGHS model inside an OR-Tools process is refused; linearising still works."""
    model = cp_model.CpModel()
    model.new_bool_var("x")
    assert isinstance(linearise(model), Mip)
    with pytest.raises(ImportError, match="libhighs"):
        cp_model_to_highs(model)
