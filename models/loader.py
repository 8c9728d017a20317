"""Load a scenario YAML file, keeping the position of every key and value.

YAML is read with ruamel.yaml's round-trip parser (YAML 1.2: ``NO`` stays a
string, duplicate keys are errors) and no tag is ever constructed into an
object. Every problem (syntax, shape, cross-references, impossible input) is
collected and raised at once as :class:`~models.problems.ScenarioError`.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from models.problems import Path, Problem, ScenarioError
from models.scenario import Scenario
from models.validate import cross_check

MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class Positions:
    """1-based (line, column) of each path's value and key in the source."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    mappings: set[Path] = field(default_factory=set)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Best position for a path: itself, else its nearest ancestor."""
        table = self.keys if key else self.values
        for cut in range(len(path), -1, -1):
            prefix = path[:cut]
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)


class _Plainer:
    """Turn a ruamel tree into plain Python, recording positions and tags."""

    def __init__(self) -> None:
        self.positions = Positions()
        self.problems: list[Problem] = []

    def convert(self, node: Any, path: Path) -> Any:
        if isinstance(node, CommentedMap):
            self.positions.mappings.add(path)
            out: dict[Any, Any] = {}
            for key, value in node.items():
                child = (*path, str(self._plain_key(key)))
                line, col = node.lc.key(key)
                self.positions.keys[child] = (line + 1, col + 1)
                vline, vcol = node.lc.value(key)
                self.positions.values.setdefault(child, (vline + 1, vcol + 1))
                out[self._plain_key(key)] = self.convert(value, child)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for index, value in enumerate(node):
                child = (*path, index)
                line, col = node.lc.item(index)
                self.positions.values.setdefault(child, (line + 1, col + 1))
                items.append(self.convert(value, child))
            return items
        if isinstance(node, (TaggedScalar, bytes, bytearray)):
            line, col = self.positions.locate(path)
            self.problems.append(Problem(path, "YAML tags are not allowed", line, col))
            return None
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            return str(node)
        if isinstance(node, (dt.date, dt.datetime)):
            return node
        line, col = self.positions.locate(path)
        self.problems.append(Problem(path, f"unsupported YAML value {node!r}", line, col))
        return None

    @staticmethod
    def _plain_key(key: Any) -> Any:
        if isinstance(key, bool):
            return str(key).lower()
        if isinstance(key, int):
            return int(key)
        return str(key)


def _yaml_problem(exc: YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, MarkedYAMLError):
        message = " ".join(part for part in (exc.context, exc.problem) if part)
    else:
        message = str(exc).splitlines()[0]
    return Problem((), f"YAML syntax: {message}", line, col)


_UNION_NOISE = ("[key]",)


def _pydantic_problems(
    exc: ValidationError, positions: Positions, index_maps: IndexMaps
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Path, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _to_original(
            tuple(part for part in err["loc"] if part not in _UNION_NOISE),
            index_maps,
            positions.mappings,
        )
        is_key = "[key]" in err["loc"]
        kind = err["type"]
        message = err["msg"]
        if kind == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        elif kind == "missing":
            message = f"required key {loc[-1]!r} is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        elif kind == "string_pattern_mismatch":
            message = "ids must be non-empty, without commas or leading/trailing spaces"
        if kind not in ("missing",) and "input" in err and kind not in ("extra_forbidden",):
            shown = err["input"]
            if isinstance(shown, (str, int, float, bool)) or shown is None:
                message += f" (got {shown!r})"
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        target = loc[:-1] if kind == "missing" else loc
        line, col = positions.locate(target, key=is_key or kind == "extra_forbidden")
        problems.append(Problem(loc, message, line, col))
    return problems


@dataclass(frozen=True)
class Loaded:
    """A valid scenario and the warnings found while loading it."""

    scenario: Scenario
    warnings: list[Problem]


_GONE = object()
IndexMaps = dict[Path, list[int]]


def _filtered(node: Any, path: Path, index_maps: IndexMaps) -> Any:
    """Copy of a plain tree without removed parts, recording list index shifts."""
    if isinstance(node, dict):
        return {k: _filtered(v, (*path, k), index_maps) for k, v in node.items() if v is not _GONE}
    if isinstance(node, list):
        kept = [i for i, v in enumerate(node) if v is not _GONE]
        if len(kept) != len(node):
            index_maps[path] = kept
        return [_filtered(node[i], (*path, i), index_maps) for i in kept]
    return node


def _to_original(path: Path, index_maps: IndexMaps, mappings: set[Path]) -> Path:
    """Map a path in a filtered tree back to the document's own indices.

    Mapping keys become strings (``pinned.5``); list indices stay ints.
    """
    out: list[Any] = []
    for part in path:
        here = tuple(out)
        if here in index_maps and isinstance(part, int):
            if part < len(index_maps[here]):
                part = index_maps[here][part]
        elif isinstance(part, int) and here in mappings:
            part = str(part)
        out.append(part)
    return tuple(out)


def _remove(tree: Any, path: Path) -> bool:
    """Mark the node at a path as removed; False if it is the whole document."""
    if not path:
        return False
    node = tree
    for part in path[:-1]:
        key = _raw_key(node, part)
        if key is None:
            return True
        node = node[key]
    last = _raw_key(node, path[-1])
    if last is not None:
        node[last] = _GONE
    return True


def _raw_key(node: Any, part: Any) -> Any:
    """The key or index of a plain node that a path part names, or None."""
    if isinstance(node, list):
        return part if isinstance(part, int) and 0 <= part < len(node) else None
    if isinstance(node, dict):
        if part in node:
            return part
        for key in node:
            if str(key) == str(part):
                return key
    return None


def _validate_with_repairs(
    data: dict[str, Any], positions: Positions, problems: list[Problem]
) -> tuple[Scenario | None, IndexMaps]:
    """Validate; on errors, report them, cut the bad parts out and try again.

    The repaired scenario lets the cross-reference checks run too, so one
    pass reports every problem. Only the first round's errors are reported:
    later rounds see gaps the cutting itself made.
    """
    work = copy.deepcopy(data)
    for attempt in range(8):
        index_maps: IndexMaps = {}
        candidate = _filtered(work, (), index_maps)
        try:
            return Scenario.model_validate(candidate), index_maps
        except ValidationError as exc:
            found = _pydantic_problems(exc, positions, index_maps)
            if attempt == 0:
                problems.extend(found)
            for problem, is_missing in _failed_paths(exc, index_maps, positions.mappings):
                target = problem[:-1] if is_missing else problem
                if not _remove(work, target):
                    return None, index_maps
    return None, {}


def _failed_paths(
    exc: ValidationError, index_maps: IndexMaps, mappings: set[Path]
) -> list[tuple[Path, bool]]:
    """Original paths of a validation error's failures, and whether each is 'missing'."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(part for part in err["loc"] if part not in _UNION_NOISE)
        out.append((_to_original(loc, index_maps, mappings), err["type"] == "missing"))
    return out


def parse_scenario_text(text: str, file: str = "<scenario>") -> Loaded:
    """Parse and validate scenario YAML text.

    Parameters
    ----------
    text
        The YAML document.
    file
        Name used in error messages.

    Returns
    -------
    Loaded
        The validated scenario and any warnings.

    Raises
    ------
    ScenarioError
        With every problem found, each with line and column.
    """
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except YAMLError as exc:
        raise ScenarioError(file, [_yaml_problem(exc)]) from None
    except Exception as exc:  # ruamel raises a few non-YAMLError types on odd input
        raise ScenarioError(file, [Problem((), f"YAML syntax: {exc}", 1, 1)]) from None
    plainer = _Plainer()
    data = plainer.convert(tree, ())
    problems = list(plainer.problems)
    if not isinstance(data, dict):
        problems.append(Problem((), "the scenario must be a YAML mapping (key: value)", 1, 1))
        raise ScenarioError(file, problems)
    scenario, index_maps = _validate_with_repairs(data, plainer.positions, problems)
    if scenario is not None:
        for problem in cross_check(scenario):
            path = _to_original(problem.path, index_maps, plainer.positions.mappings)
            line, col = plainer.positions.locate(path)
            problems.append(Problem(path, problem.message, line, col, problem.severity))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(file, problems)
    assert scenario is not None
    return Loaded(scenario, problems)


def load(path: str | FsPath) -> Loaded:
    """Read, parse and validate a scenario file, keeping warnings.

    Parameters
    ----------
    path
        A YAML file in the contract's format.

    Raises
    ------
    ScenarioError
        If the file cannot be read or holds any error.
    """
    file = str(path)
    try:
        raw = FsPath(path).read_bytes()
    except OSError as exc:
        problem = Problem((), f"cannot read file: {exc.strerror}", 1, 1)
        raise ScenarioError(file, [problem]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(file, [Problem((), "file is larger than 20 MB", 1, 1)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem((), f"file is not UTF-8 text: {exc.reason}", 1, 1)
        raise ScenarioError(file, [problem]) from None
    return parse_scenario_text(text, file)


def load_scenario(path: str | FsPath) -> Scenario:
    """Read, parse and validate a scenario file.

    Raises
    ------
    ScenarioError
        If the file cannot be read or holds any error.
    """
    return load(path).scenario
