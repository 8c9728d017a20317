"""Load a scenario YAML file, keeping the position of every key and value.

YAML is read by :func:`rotaplan.models.yaml_format.parse` (ruamel.yaml's
round-trip parser, YAML 1.2: ``NO`` stays a string, duplicate keys are errors)
and no tag is ever constructed into an object. Every problem (syntax, shape,
cross-references, impossible input) is collected and raised at once as
:class:`~rotaplan.models.problems.ScenarioError`.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from rotaplan.models.problems import Path, Problem, ScenarioError
from rotaplan.models.scenario import Scenario
from rotaplan.models.validate import cross_check
from rotaplan.models.yaml_format import parse as parse_yaml

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest scenario file read (bytes), the configurator's upload limit too. Parsing
dominates the time to open a file (ruamel's pure-Python round-trip parser, about
11 µs of CPU per byte here): the generated 2,000-learner scenario (0.76 MB) opens
in 7 s of CPU, and the slowest 2 MB shape measured (cross-reference errors on every
line) in 25 s (benchmarks/test_limits.py). A 20 MB file took over 15 minutes."""


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


class _Gone:
    """Marks a removed part of the document (survives deepcopy as itself)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Gone:
        return self


_GONE = _Gone()
MAX_NODES = 500_000  # values after alias expansion; a guard against alias bombs
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings a scenario may have (it needs 6): Python's
recursion limit is met near 300 levels, in the parser or later."""


class _TooLargeError(Exception):
    pass


def _position(lookup: Any, *args: Any) -> tuple[int, int] | None:
    """A ruamel line/column lookup, or None where ruamel kept none (merged keys)."""
    try:
        line, col = lookup(*args)
    except (KeyError, TypeError, IndexError, AttributeError):
        return None
    return (line + 1, col + 1)


def _explicit_tag(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    return getattr(tag, "value", None) if tag is not None else None


class _Plainer:
    """Turn a ruamel tree into plain Python, recording positions and tags."""

    def __init__(self) -> None:
        self.positions = Positions()
        self.problems: list[Problem] = []
        self.nodes = 0

    def _refuse_tag(self, path: Path) -> Any:
        line, col = self.positions.locate(path)
        self.problems.append(Problem(path, "YAML tags are not allowed", line, col))
        return _GONE

    def convert(self, node: Any, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLargeError
        if len(path) > MAX_DEPTH:
            line, col = self.positions.locate(path)
            self.problems.append(Problem(path[:MAX_DEPTH], f"nested more than {MAX_DEPTH} "
                                         "levels deep", line, col))
            return _GONE
        if isinstance(node, (CommentedMap, CommentedSeq)) and _explicit_tag(node):
            return self._refuse_tag(path)
        if isinstance(node, CommentedMap):
            self.positions.mappings.add(path)
            here = self.positions.locate(path)
            out: dict[Any, Any] = {}
            for key, value in node.items():
                if not (key is None or isinstance(key, (str, int, float, bool))):
                    line, col = _position(node.lc.key, key) or here
                    self.problems.append(Problem(path, "a key must be a single value, not a "
                                                 "list or mapping", line, col))
                    continue
                child = (*path, str(self._plain_key(key)))
                self.positions.keys[child] = _position(node.lc.key, key) or here
                self.positions.values.setdefault(
                    child, _position(node.lc.value, key) or self.positions.keys[child])
                converted = self.convert(value, child)
                if converted is not _GONE:
                    out[self._plain_key(key)] = converted
            return out
        if isinstance(node, CommentedSeq):
            here = self.positions.locate(path)
            items = []
            for index, value in enumerate(node):
                child = (*path, index)
                self.positions.values.setdefault(child, _position(node.lc.item, index) or here)
                items.append(self.convert(value, child))
            return items
        if isinstance(node, (TaggedScalar, bytes, bytearray)):
            return self._refuse_tag(path)
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
    """Locate a parser error where the broken construct starts (a duplicate key at
    the duplicate), and say where the parser gave up."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    duplicate = type(exc).__name__.startswith("DuplicateKey")
    mark = problem if duplicate or context is None else context
    if mark is None:
        mark = problem
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, MarkedYAMLError):
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        if mark is not problem and problem is not None:
            message += f" (at line {problem.line + 1}, column {problem.column + 1})"
    else:
        message = str(exc).splitlines()[0]
    return Problem((), f"YAML syntax: {message}", line, col)


_UNION_NOISE = ("[key]",)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FORMULA_START = "=+-@"
"""Characters that make a spreadsheet read a cell as a formula; ids may not start with one."""
SHOWN = 80
"""Characters of a bad value repeated in a message."""


def _shown(value: Any) -> str:
    """A bad value as a message repeats it: ``repr``, cut to :data:`SHOWN` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN - 3]}... ({len(value):,} characters)"\
        if isinstance(value, str) else text[:SHOWN] + "..."


def _string_problem(value: Any, is_id: bool) -> str:
    """Why text does not match the pattern of an id or of a name, in plain words."""
    if not isinstance(value, str):
        return "must be text"
    control = _CONTROL.search(value)
    if control is not None:
        what = "ids" if is_id else "names and text"
        return (f"{what} must be one line without control characters (found "
                f"{control.group()!r} at character {control.start() + 1})")
    if not value:
        return "an id must not be empty"
    if "," in value:
        return "ids must not hold commas (ids are listed with commas in CSV files)"
    if value != value.strip():
        return "ids must not start or end with a space"
    if value[0] in FORMULA_START:
        return (f"ids must not start with {value[0]!r} (=, +, - and @ start a formula when "
                "a spreadsheet opens the plan's CSV files)")
    return "not a valid id"


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
        own_message = False
        if kind == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        elif kind == "missing":
            message = f"required key {loc[-1]!r} is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
            own_message = True  # it already shows the value
        elif kind == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            message = _string_problem(err.get("input"), is_id="=+@" in pattern)
        elif kind == "string_unicode":
            message = ("text must be valid Unicode (an escape such as \\ud800 is half of a "
                       "character pair)")
        if kind not in ("missing", "extra_forbidden") and "input" in err and not own_message:
            shown = err["input"]
            if isinstance(shown, (str, int, float, bool)) or shown is None:
                message += f" (got {_shown(shown)})"
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


def _parent(tree: Any, path: Path) -> Any:
    """The node holding the last part of a path, or None if the path is broken."""
    node = tree
    for part in path[:-1]:
        key = _raw_key(node, part)
        if key is None:
            return None
        node = node[key]
    return node


def _remove(tree: Any, path: Path) -> bool:
    """Mark the node at a path as removed; False if it is the whole document."""
    if not path:
        return False
    node = _parent(tree, path)
    last = None if node is None else _raw_key(node, path[-1])
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
    reported = [p.path for p in problems]
    work = copy.deepcopy(data)
    for attempt in range(12):
        index_maps: IndexMaps = {}
        candidate = _filtered(work, (), index_maps)
        try:
            return Scenario.model_validate(candidate), index_maps
        except ValidationError as exc:
            if attempt == 0:
                problems.extend(
                    p for p in _pydantic_problems(exc, positions, index_maps)
                    if not any(p.path[: len(r)] == r for r in reported)
                )
            for path, is_missing in _failed_paths(exc, index_maps, positions.mappings):
                if is_missing:
                    filler = _placeholder(path)
                    if filler is not None and _put(work, path, filler):
                        continue
                    path = path[:-1]
                if not _remove(work, path):
                    return None, index_maps
    return None, {}


def _placeholder(path: Path) -> Any:
    """A stand-in for a missing required value, so the rest can still be checked.

    The stand-in only lets validation go on; errors at its own path are already
    reported. For an int the field's upper bound is used (``programme.blocks``
    becomes 52), so block numbers elsewhere are not wrongly reported.
    """
    annotation: Any = Scenario
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(part, int) or get_origin(annotation) in (list, dict):
            args = get_args(annotation)
            annotation = args[-1] if args else Any
            continue
        fields = getattr(annotation, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        annotation = info.annotation
        if part == path[-1]:
            bounds = [m.le for m in info.metadata if getattr(m, "le", None) is not None]
            base = _unwrap(annotation)
            if base is int:
                return max(bounds, default=1)
            if base is str:
                return "?"
            if get_origin(base) is list:
                return []
            return None
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional wrappers from a type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (UnionType, Union) and len(args) == 1:
        return _unwrap(args[0])
    return annotation


def _put(tree: Any, path: Path, value: Any) -> bool:
    """Set a missing key in a plain tree; False if its parent is not a mapping."""
    node = _parent(tree, path)
    if not isinstance(node, dict) or node.get(path[-1], _GONE) is not _GONE:
        return False
    node[path[-1]] = value
    return True


def _failed_paths(
    exc: ValidationError, index_maps: IndexMaps, mappings: set[Path]
) -> list[tuple[Path, bool]]:
    """Original paths of a validation error's failures, and whether each is 'missing'."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(part for part in err["loc"] if part not in _UNION_NOISE)
        out.append((_to_original(loc, index_maps, mappings), err["type"] == "missing"))
    return out


_OPENS = ("BlockMappingStartToken", "BlockSequenceStartToken", "FlowMappingStartToken",
          "FlowSequenceStartToken")
_CLOSES = ("BlockEndToken", "FlowMappingEndToken", "FlowSequenceEndToken")


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where lists and mappings first nest more than :data:`MAX_DEPTH` deep, or None.

    ruamel's pure-Python scanner spends time proportional to the nesting depth
    on every token, so nesting costs the square of its depth before any
    recursion limit is met (measured: 1,600 levels 5 s, 5,000 levels 23 s, for
    a 10 kB file). This guard reads only the token stream, with libyaml's C
    scanner (linear: 0.17 s for the 0.76 MB 2,000-learner scenario), and stops
    at the first token too deep. It parses nothing: the values are read by
    :func:`rotaplan.models.yaml_format.parse` alone, which also reports any
    syntax error this scan meets.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:  # PyYAML without libyaml: no linear scanner to ask
        return None
    depth = 0
    try:
        for token in yaml.scan(text, Loader=loader):
            kind = type(token).__name__
            if kind in _OPENS:
                depth += 1
                if depth > MAX_DEPTH:
                    return token.start_mark.line + 1, token.start_mark.column + 1
            elif kind in _CLOSES:
                depth -= 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if "nesting depth" in str(exc) and mark is not None:  # libyaml's own limit
            return mark.line + 1, mark.column + 1
    except (UnicodeError, ValueError):  # text libyaml cannot take: ruamel says what is wrong
        pass
    return None


def _plain_document(text: str, file: str) -> tuple[dict[str, Any], _Plainer]:
    """Parse YAML text into a plain mapping, recording positions (the one YAML parser).

    Raises
    ------
    ScenarioError
        On a syntax error, a tag, an alias bomb or a document that is not a mapping.
    """
    deep = _too_deep(text)
    if deep is not None:
        message = f"lists and mappings are nested more than {MAX_DEPTH} levels deep"
        raise ScenarioError(file, [Problem((), message, *deep)])
    try:
        tree = parse_yaml(text)
    except YAMLError as exc:
        problem = _yaml_problem(exc)
        offset = getattr(exc, "position", None)  # a reader error: a character is refused
        if isinstance(offset, int) and getattr(exc, "problem_mark", None) is None:
            line = text.count("\n", 0, offset) + 1
            problem = Problem((), problem.message, line, offset - text.rfind("\n", 0, offset))
        raise ScenarioError(file, [problem]) from None
    except RecursionError:
        message = f"the document is nested too deeply (at most {MAX_DEPTH} levels)"
        raise ScenarioError(file, [Problem((), message, 1, 1)]) from None
    except Exception as exc:  # ruamel raises a few non-YAMLError types on odd input
        raise ScenarioError(file, [Problem((), f"YAML syntax: {exc}", 1, 1)]) from None
    plainer = _Plainer()
    if tree is not None:
        root = _position(lambda: (tree.lc.line, tree.lc.col))
        plainer.positions.values[()] = root or (1, 1)
    try:
        data = plainer.convert(tree, ())
    except _TooLargeError:
        message = (f"the document expands to more than {MAX_NODES:,} values "
                   "(deeply nested YAML aliases?)")
        raise ScenarioError(file, [Problem((), message, 1, 1)]) from None
    if not isinstance(data, dict):
        line, col = plainer.positions.locate(())
        problems = [*plainer.problems, Problem(
            (), "the scenario must be a YAML mapping (key: value)", line, col)]
        raise ScenarioError(file, problems)
    return data, plainer


def read_document(text: str, file: str = "<scenario>") -> dict[str, Any]:
    """The plain data of a YAML document that may not (yet) be a valid scenario.

    The same parser as :func:`parse_scenario_text` (YAML 1.2, so ``NO`` stays a
    string; duplicate keys and tags are errors; an alias budget), without the
    scenario validation. Dates are left as text.

    Raises
    ------
    ScenarioError
        On a syntax error, a tag, an alias bomb or a document that is not a mapping.
    """
    data, plainer = _plain_document(text, file)
    errors = [p for p in plainer.problems if p.severity == "error"]
    if errors:
        raise ScenarioError(file, errors)
    return _filtered(data, (), {})


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
    data, plainer = _plain_document(text, file)
    problems = list(plainer.problems)
    scenario, index_maps = _validate_with_repairs(data, plainer.positions, problems)
    if scenario is not None:
        already = {p.path for p in problems}
        for problem in cross_check(scenario):
            path = _to_original(problem.path, index_maps, plainer.positions.mappings)
            if path in already:  # a shape error (or its stand-in) is already reported here
                continue
            line, col = plainer.positions.locate(path, key=problem.at_key)
            problems.append(Problem(path, problem.message, line, col, problem.severity))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(file, problems)
    assert scenario is not None
    return Loaded(scenario, problems)


def read_limited(path: str | FsPath, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file of at most ``limit`` bytes, never reading more than that.

    A regular file's size is checked before it is read; anything else (a pipe,
    a device such as ``/dev/zero``) is read up to ``limit + 1`` bytes.

    Raises
    ------
    ScenarioError
        If the file cannot be read or holds more than ``limit`` bytes.
    """
    file = str(path)
    too_large = Problem((), f"file is larger than {limit // (1024 * 1024)} MB, the largest "
                        "scenario rotaplan reads", 1, 1)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(21, "Is a directory")
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise ScenarioError(file, [too_large])
            raw = handle.read(limit + 1)
    except OSError as exc:
        problem = Problem((), f"cannot read file: {exc.strerror or exc}", 1, 1)
        raise ScenarioError(file, [problem]) from None
    if len(raw) > limit:
        raise ScenarioError(file, [too_large])
    return raw


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text of a file's bytes.

    Raises
    ------
    ScenarioError
        Located at the first byte that is not UTF-8.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = Problem((), f"file is not UTF-8 text: {exc.reason}", line, col)
        raise ScenarioError(file, [problem]) from None


def load(path: str | FsPath) -> Loaded:
    """Read, parse and validate a scenario file, keeping warnings.

    Parameters
    ----------
    path
        A YAML file in the contract's format, at most :data:`MAX_FILE_BYTES`.

    Raises
    ------
    ScenarioError
        If the file cannot be read, is too large or holds any error.
    """
    file = str(path)
    return parse_scenario_text(decode(read_limited(path), file), file)


def load_scenario(path: str | FsPath) -> Scenario:
    """Read, parse and validate a scenario file.

    Raises
    ------
    ScenarioError
        If the file cannot be read or holds any error.
    """
    return load(path).scenario
