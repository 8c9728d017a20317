"""Linear relaxations and MIPs of CP-SAT models, solved by HiGHS in a child process.

:func:`linearise` turns a ``CpModelProto`` into a :class:`Mip`:

* every proto variable becomes an integer column with the same bounds
  (column ``i`` is proto variable ``i``; Booleans are 0/1 integers);
* ``linear`` constraints become rows (their domain gives the row bounds);
* ``bool_or`` becomes ``sum(lits) >= 1``, ``bool_and`` one row ``lit >= 1`` per
  literal, ``at_most_one`` / ``exactly_one`` ``sum(lits) <= 1`` / ``== 1``, where
  a negated literal (proto index ``r < 0``, the NOT of variable ``-r - 1``) is
  ``1 - x``;
* enforcement literals ``e_1..e_k`` (the constraint must hold when all are
  true) relax each side of a row by big-M times ``sum(1 - e_j)``, ``M`` being
  how far the row's activity can pass that side over the column bounds;
* the objective is ``scaling_factor * (sum(coeffs * vars) + offset)``.

Anything else (domains with holes, other constraint kinds, floating-point
objectives, assumptions) raises :class:`UnsupportedModelError`.

HiGHS runs in a child process (:func:`solve_in_child`). OR-Tools 9.15 bundles its
own HiGHS (1.12) as ``libhighs.so.1``, the SONAME of highspy's library too, so the
dynamic loader shares one copy and whichever of ``ortools`` / ``highspy`` is
imported second fails with an undefined symbol. This module therefore imports
neither at top level (``rotaplan/__init__`` imports neither either), and the child
(``python -m rotaplan.lp IN OUT``) loads highspy and never OR-Tools. Never import
highspy in a process that builds CP-SAT models.

Used by the product for the LP bound of large cohorts (:mod:`solver.bound`) and by
the MIP baseline of the benchmarks (``benchmarks/mip.py``).
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # neither is imported at run time here: see the module docstring
    import highspy
    from ortools.sat.python import cp_model

INF = math.inf
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
BIG_M_LIMIT = 1e9
"""Largest big-M accepted; beyond it the relaxation is numerically meaningless."""

_SUPPORTED = ("linear", "bool_or", "bool_and", "at_most_one", "exactly_one")

Affine = tuple[dict[int, float], float]
"""``(coefficients by column, constant)``: the expression ``sum(c * x) + constant``."""


class UnsupportedModelError(ValueError):
    """The CP-SAT model uses something this linearisation does not handle."""



@dataclass
class Mip:
    """A linearised CP-SAT model: ``min cost.x + offset`` s.t. row bounds, integer columns.

    The matrix is row-wise (``start``, ``index``, ``value``). The CP-SAT
    objective value of a solution is ``scale * (cost.x + offset)``.
    """

    col_lower: list[float]
    col_upper: list[float]
    cost: list[float]
    offset: float
    scale: float
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    start: list[int] = field(default_factory=lambda: [0])
    index: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.row_lower)

    @property
    def columns(self) -> int:
        return len(self.col_lower)

    def activity(self, terms: dict[int, float]) -> tuple[float, float]:
        """Least and greatest value of ``sum(c * x)`` over the column bounds."""
        lo = hi = 0.0
        for col, coef in terms.items():
            a, b = coef * self.col_lower[col], coef * self.col_upper[col]
            lo += min(a, b)
            hi += max(a, b)
        return lo, hi

    def add_row(self, expr: Affine, lower: float, upper: float) -> None:
        """Add the row ``lower <= expr <= upper``."""
        terms, const = expr
        self.row_lower.append(lower - const)
        self.row_upper.append(upper - const)
        for col, coef in sorted(terms.items()):
            if coef != 0.0:
                self.index.append(col)
                self.value.append(coef)
        self.start.append(len(self.index))

    def add_enforced(self, expr: Affine, lower: float, upper: float,
                     enforcement: list[int], what: str) -> None:
        """Add ``lower <= expr <= upper``, required only when every enforcement literal is true.

        With ``F = sum(1 - e_j)`` (how many enforcement literals are false) the
        rows are ``expr - M_u * F <= upper`` and ``expr + M_l * F >= lower``,
        where ``M_u = max(expr) - upper`` and ``M_l = lower - min(expr)``; a side
        with ``M <= 0`` holds anyway and is left out.
        """
        if not enforcement:
            self.add_row(expr, lower, upper)
            return
        terms, const = expr
        lo, hi = self.activity(terms)
        false_terms: dict[int, float] = {}
        false_const = 0.0
        for ref in enforcement:  # F = sum(1 - e)
            t, c = _literal(ref)
            _add(false_terms, t, -1.0)
            false_const += 1.0 - c
        for side, limit in (("upper", upper), ("lower", lower)):
            if math.isinf(limit):
                continue
            big_m = hi + const - limit if side == "upper" else limit - lo - const
            if big_m <= 0:
                continue
            if big_m > BIG_M_LIMIT:
                raise UnsupportedModelError(f"{what}: big-M {big_m:g} (huge variable bounds)")
            sign = -1.0 if side == "upper" else 1.0
            row = dict(terms)
            _add(row, false_terms, sign * big_m)
            row_expr = (row, const + sign * big_m * false_const)
            if side == "upper":
                self.add_row(row_expr, -INF, limit)
            else:
                self.add_row(row_expr, limit, INF)


# ----- linearisation ------------------------------------------------------------------------


def _literal(ref: int) -> Affine:
    """A literal as an affine expression: ``x``, or ``1 - x`` for a negated ref."""
    if ref >= 0:
        return {ref: 1.0}, 0.0
    return {-ref - 1: -1.0}, 1.0


def _add(into: dict[int, float], terms: dict[int, float], scale: float = 1.0) -> None:
    for col, coef in terms.items():
        into[col] = into.get(col, 0.0) + scale * coef


def _sum_literals(refs: Any) -> Affine:
    terms: dict[int, float] = {}
    const = 0.0
    for ref in refs:
        t, c = _literal(ref)
        _add(terms, t)
        const += c
    return terms, const


def _bound(value: int) -> float:
    """An int64 bound of a proto domain; the int64 extremes mean unbounded."""
    if value <= INT64_MIN:
        return -INF
    if value >= INT64_MAX:
        return INF
    return float(value)


def _interval(domain: list[int], what: str) -> tuple[float, float]:
    if len(domain) != 2:
        raise UnsupportedModelError(f"{what}: domain with holes {domain}")
    return _bound(domain[0]), _bound(domain[1])


def _kind(ct: Any) -> str | None:
    """The constraint kind set in a ConstraintProto (None if empty)."""
    for name in _SUPPORTED:
        if getattr(ct, f"has_{name}")():
            return name
    for attr in dir(ct):
        if attr.startswith("has_") and getattr(ct, attr)():
            return attr[4:]
    return None


def linearise(model: cp_model.CpModel) -> Mip:
    """Linearise a CP-SAT model (see the module docstring); column ``i`` is variable ``i``.

    Raises
    ------
    UnsupportedModelError
        For domains with holes, constraint kinds other than linear, bool_or,
        bool_and, at_most_one and exactly_one, floating-point objectives,
        objective domains with holes, assumptions, or big-M beyond 1e9.
    """
    proto = model.proto
    if len(proto.assumptions):
        raise UnsupportedModelError("assumptions (explanation mode)")
    if proto.has_floating_point_objective():
        raise UnsupportedModelError("floating-point objective")

    lower: list[float] = []
    upper: list[float] = []
    for i, var in enumerate(proto.variables):
        lo, hi = _interval(list(var.domain), f"variable {i} ({var.name!r})")
        lower.append(lo)
        upper.append(hi)
    cost = [0.0] * len(lower)
    offset, scale = 0.0, 1.0
    objective: dict[int, float] = {}
    if proto.has_objective():
        obj = proto.objective
        for ref, coef in zip(obj.vars, obj.coeffs, strict=True):
            # In linear expressions a negative reference is the negation -x.
            _add(objective, {ref: coef} if ref >= 0 else {-ref - 1: -coef})
        for col, coef in objective.items():
            cost[col] = coef
        offset = float(obj.offset)
        scale = float(obj.scaling_factor) or 1.0
    mip = Mip(lower, upper, cost, offset, scale)

    for n, ct in enumerate(proto.constraints):
        kind = _kind(ct)
        what = f"constraint {n} ({kind})"
        enforcement = list(ct.enforcement_literal)
        if kind is None:
            if enforcement:
                raise UnsupportedModelError(f"{what}: empty constraint with enforcement literals")
            continue
        if kind == "linear":
            terms: dict[int, float] = {}
            for ref, coef in zip(ct.linear.vars, ct.linear.coeffs, strict=True):
                _add(terms, {ref: coef} if ref >= 0 else {-ref - 1: -coef})
            lo, hi = _interval(list(ct.linear.domain), what)
            mip.add_enforced((terms, 0.0), lo, hi, enforcement, what)
        elif kind == "bool_or":
            mip.add_enforced(_sum_literals(ct.bool_or.literals), 1.0, INF, enforcement, what)
        elif kind == "bool_and":
            for ref in ct.bool_and.literals:
                mip.add_enforced(_literal(ref), 1.0, INF, enforcement, what)
        elif kind == "at_most_one":
            mip.add_enforced(_sum_literals(ct.at_most_one.literals), -INF, 1.0,
                             enforcement, what)
        elif kind == "exactly_one":
            mip.add_enforced(_sum_literals(ct.exactly_one.literals), 1.0, 1.0,
                             enforcement, what)
        else:
            raise UnsupportedModelError(f"{what}: constraint kind {kind!r}")

    if proto.has_objective() and len(proto.objective.domain):
        lo, hi = _interval(list(proto.objective.domain), "objective")
        mip.add_row((objective, 0.0), lo, hi)
    return mip


# ----- HiGHS (only in a process without OR-Tools) ---------------------------------------------


def _import_highspy() -> Any:
    if "ortools.sat.python.cp_model_helper" in sys.modules:
        raise ImportError(
            "highspy cannot be loaded in a process that has loaded OR-Tools: both ship "
            "libhighs.so.1 (ortools 9.15 bundles HiGHS 1.12) and the loader shares one copy. "
            "Use run_mip / solve_mip, which run HiGHS in a child process.")
    import highspy

    return highspy


def to_highs(mip: Mip, relax: bool = False) -> highspy.Highs:
    """A silent HiGHS instance holding the MIP, or with ``relax`` its LP relaxation (in a
    process without OR-Tools)."""
    highspy = _import_highspy()
    lp = highspy.HighsLp()
    lp.num_col_ = mip.columns
    lp.num_row_ = mip.rows
    lp.col_cost_ = mip.cost
    lp.col_lower_ = mip.col_lower
    lp.col_upper_ = mip.col_upper
    lp.row_lower_ = mip.row_lower
    lp.row_upper_ = mip.row_upper
    lp.offset_ = mip.offset
    lp.sense_ = highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = mip.columns
    lp.a_matrix_.num_row_ = mip.rows
    lp.a_matrix_.start_ = mip.start
    lp.a_matrix_.index_ = mip.index
    lp.a_matrix_.value_ = mip.value
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * mip.columns
    highs = highspy.Highs()
    highs.silent()
    if highs.passModel(lp) == highspy.HighsStatus.kError:
        raise UnsupportedModelError("HiGHS rejected the linearised model")
    return highs


def cp_model_to_highs(model: cp_model.CpModel) -> highspy.Highs:
    """Linearise a CP-SAT model into a HiGHS MIP.

    Only usable where highspy and OR-Tools can share a process, which is not
    the case with ortools 9.15 and highspy 1.15 (it raises ImportError there,
    before loading anything): use :func:`linearise` with :func:`solve_in_child`.
    """
    mip = linearise(model)
    return to_highs(mip)


def run_highs(mip: Mip, time_limit: float, threads: int, seed: int,
              relax: bool = False) -> dict[str, Any]:
    """Solve with HiGHS in this process (never one with OR-Tools); a plain dict.

    With ``relax`` the columns are continuous: the LP relaxation, whose optimum
    is reported as ``best_bound`` (rounded up when the objective is integral).
    """
    highspy = _import_highspy()
    highs = to_highs(mip, relax=relax)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", int(threads))
    highs.setOptionValue("random_seed", int(seed))
    highs.setOptionValue("mip_rel_gap", 0.0)  # prove optimality, as CP-SAT does
    solutions: list[tuple[float, float]] = []
    # An integral objective (integer columns, integer costs and offset) is reported as an
    # integer, and the dual bound rounded up to one, as CP-SAT reports them.
    integral = all(float(c).is_integer() for c in (*mip.cost, mip.offset))

    def value(x: float) -> float:
        return float(round(x)) if integral and abs(x - round(x)) < 1e-6 else x

    def improving(event: Any) -> None:
        out = event.data_out
        solutions.append((float(out.running_time),
                          mip.scale * value(float(out.objective_function_value))))

    highs.cbMipImprovingSolution.subscribe(improving)
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "OPTIMAL"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "INFEASIBLE"
    else:
        status = "FEASIBLE" if has_solution else "UNKNOWN"
    if relax:  # the LP optimum is the bound; a relaxed solution is no plan
        bound = info.objective_function_value if status == "OPTIMAL" else -INF
        has_solution = False
        status = status if status != "FEASIBLE" else "UNKNOWN"
    else:
        bound = info.mip_dual_bound
    if integral and not math.isinf(bound):
        bound = float(math.ceil(bound - 1e-6))
    return {
        "status": status,
        "objective": mip.scale * value(info.objective_function_value) if has_solution else None,
        "best_bound": None if status == "INFEASIBLE" or math.isinf(bound) else mip.scale * bound,
        "first_solution_seconds": solutions[0][0] if solutions else None,
        "solve_seconds": seconds,
        "note": "" if status in ("OPTIMAL", "INFEASIBLE") else
        f"HiGHS model status: {highs.modelStatusToString(model_status)}",
        "solutions": solutions,
        "values": list(highs.getSolution().col_value) if has_solution else None,
    }


def solve_in_child(mips: list[Mip], *, time_limit: float = 60.0, threads: int = 2,
                   seed: int = 0, relax: bool = False,
                   timeout: float | None = None) -> list[dict[str, Any]]:
    """Solve several linearised models one after the other in one child process.

    ``time_limit`` applies to each model; the outcomes are :func:`run_highs`'s dicts.

    Raises
    ------
    RuntimeError
        When the child fails or ends without an answer.
    """
    with tempfile.TemporaryDirectory(prefix="rotaplan-lp-") as tmp:
        src, dst = Path(tmp, "mip.pkl"), Path(tmp, "result.pkl")
        src.write_bytes(pickle.dumps({"mips": [asdict(m) for m in mips],
                                      "time_limit": time_limit, "threads": threads,
                                      "seed": seed, "relax": relax}))
        proc = subprocess.run([sys.executable, "-m", "rotaplan.lp", str(src), str(dst)],
                              env=os.environ, capture_output=True, text=True,
                              timeout=timeout or len(mips) * (time_limit + 60) + 60)
        if proc.returncode != 0 or not dst.exists():
            raise RuntimeError(f"HiGHS child process failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        outs: list[dict[str, Any]] = pickle.loads(dst.read_bytes())
    return outs


def _child(src: str, dst: str) -> None:
    """Child process entry: solve the pickled models, pickle plain-dict outcomes."""
    job = pickle.loads(Path(src).read_bytes())
    outs = [run_highs(Mip(**m), job["time_limit"], job["threads"], job["seed"],
                      job.get("relax", False)) for m in job["mips"]]
    Path(dst).write_bytes(pickle.dumps(outs))


__all__ = ["Mip", "UnsupportedModelError", "cp_model_to_highs", "linearise", "run_highs",
           "solve_in_child", "to_highs"]

if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
