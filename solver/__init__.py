"""CP-SAT formulation of the rotaplan contract and the solve entry point."""

from rotaplan.models.vocabulary import Status
from rotaplan.solver.build import Formulation, formulate
from rotaplan.solver.engine import Progress, SolveOptions, solve
from rotaplan.solver.result import Conflict, Explanation, Phase, SolveResult, Statistics
from rotaplan.solver.rules import RULES

__all__ = [
    "RULES",
    "Conflict",
    "Explanation",
    "Formulation",
    "Phase",
    "Progress",
    "SolveOptions",
    "SolveResult",
    "Statistics",
    "Status",
    "formulate",
    "solve",
]
