"""CP-SAT formulation of the rotaplan contract and the solve entry point."""

from solver.engine import Progress, SolveOptions, build, solve
from solver.result import Conflict, Explanation, SolveResult
from solver.rules import RULES

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
