"""CP-SAT formulation of the rotaplan contract and the solve entry point."""

from rotaplan.solver.engine import Progress, SolveOptions, build, solve
from rotaplan.solver.result import Conflict, Explanation, SolveResult
from rotaplan.solver.rules import RULES

__all__ = [
    "RULES",
    "Conflict",
    "Explanation",
    "Progress",
    "SolveOptions",
    "SolveResult",
    "build",
    "solve",
]
