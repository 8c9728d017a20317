"""Exit codes of every ``rotaplan`` command, in one place (contract §8 and beyond).

Library functions return these values (a batch row records the code of its
solve); only :mod:`rotaplan.cli` exits with them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means.

    ``OK``, ``INVALID``, ``INFEASIBLE`` and ``NO_PLAN`` are the contract's
    (§8). The others are rotaplan's own.
    """

    OK = 0
    """A plan was written (solve), the file is valid (validate), the plan is valid (check)."""
    VIOLATIONS = 1
    """``check`` found rule violations."""
    INVALID = 2
    """The input (scenario, plan, option or path) is invalid; nothing was solved."""
    INFEASIBLE = 3
    """The scenario is proven infeasible; the explanation is printed and written."""
    NO_PLAN = 4
    """No plan was found within the time limit."""
    CHECK_FAILED = 5
    """A plan was found but failed verification (a bug); it is kept under ``rejected/``."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT) or SIGTERM; the best verified plan so far, if any, was
    written and ``summary.json`` says ``"interrupted": true``."""

    @classmethod
    def worst(cls, codes: list[int]) -> ExitCode:
        """The most serious of several codes (a batch's code).

        Order: interrupted > check failed > no plan > infeasible > invalid > violations > ok.
        """
        order = [cls.OK, cls.VIOLATIONS, cls.INVALID, cls.INFEASIBLE, cls.NO_PLAN,
                 cls.CHECK_FAILED, cls.INTERRUPTED]
        rank = {code: n for n, code in enumerate(order)}
        return max((cls(c) for c in codes), key=lambda c: rank[c], default=cls.OK)


__all__ = ["ExitCode"]
