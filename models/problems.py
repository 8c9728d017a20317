"""Problems found in a scenario, with the place in the file they point at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Path) -> str:
    """Render a path as ``learners[3].profession``.

    Parameters
    ----------
    path
        Keys (strings or mapping keys) and list indices (ints inside lists).
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = str(part)
            if not text.isprintable() or not text:  # a key with a line break stays one line
                text = repr(text)
            out += ("." if out else "") + text
    return out or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) with a scenario.

    Attributes
    ----------
    path
        Where in the document, as keys and list indices.
    message
        Plain words saying what is wrong.
    line, column
        1-based position in the file, when known.
    severity
        ``"error"`` stops the solve; ``"warning"`` is only reported.
    at_key
        True when the mapping key is at fault (e.g. an unknown session in ``rooms``).
    """

    path: Path
    message: str
    line: int | None = None
    column: int | None = None
    severity: str = "error"
    at_key: bool = False  # the mapping key at ``path`` is at fault, not its value

    def render(self, file: str) -> str:
        """Format as ``FILE:LINE:COL: path.to.field: message``."""
        where = f"{file}:{self.line or 1}:{self.column or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {format_path(self.path)}: {prefix}{self.message}"


@dataclass
class ScenarioError(Exception):
    """Raised by the loader when a scenario has one or more errors.

    Attributes
    ----------
    file
        The file name used in messages.
    problems
        Every problem found, errors and warnings, in file order.
    """

    file: str
    problems: Sequence[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that are errors (not warnings)."""
        return [p for p in self.problems if p.severity == "error"]

    def render(self, limit: int | None = None) -> str:
        """The problems, one per line, in file order (the first ``limit`` and a count)."""
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [p.render(self.file) for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"... and {len(self.problems) - len(shown)} more problem(s) "
                         "not shown (fix these first: many often share one cause)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{len(self.errors)} error(s) in {self.file}:\n{self.render()}"
