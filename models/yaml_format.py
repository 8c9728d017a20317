"""Scenario YAML as text: the one parser and the one writer (ruamel.yaml).

:func:`parse` reads YAML 1.2 with ruamel's round-trip parser, keeping the line
and column of every node: ``NO`` stays a string, duplicate keys are errors, and
timestamps stay text (the models parse dates, so a bad date is an error with a
position). :mod:`rotaplan.models.loader` turns the tree into a validated
scenario, or into the plain document of a file that is not valid yet.

:func:`dump_scenario` writes the layout people read: block structure, flow-style
leaves, a blank line between sections.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor


def parse(text: str) -> Any:
    """The round-trip tree of YAML text (raises ruamel's errors on bad YAML)."""
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    yaml.constructor.add_constructor("tag:yaml.org,2002:timestamp",
                                     RoundTripConstructor.construct_yaml_str)
    return yaml.load(text)


_FLOW_LEARNER_KEYS = {"id", "name", "profession", "track", "preferences"}


def _flow(obj: Any) -> Any:
    if isinstance(obj, dict):
        m = CommentedMap((k, _flow(v)) for k, v in obj.items())
        m.fa.set_flow_style()
        return m
    if isinstance(obj, list):
        q = CommentedSeq(_flow(v) for v in obj)
        q.fa.set_flow_style()
        return q
    return obj


def _block(obj: Any, path: tuple[str, ...] = ()) -> Any:
    """Block style for structure, flow style for leaves (lists, small maps, supervisors)."""
    if isinstance(obj, dict):
        if path and path[-1] in ("settings", "supervisors"):
            return _flow(obj)
        if path and path[-1] in ("capacity", "rooms", "min_learners", "pinned"):
            return _flow(obj)
        if path and path[-1] == "learners" and set(obj) <= _FLOW_LEARNER_KEYS:
            return _flow(obj)
        m = CommentedMap()
        for k, v in obj.items():
            if path == ("programme",) and k == "start" and isinstance(v, str) \
                    and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                with contextlib.suppress(ValueError):  # not a real date: the loader says why
                    v = datetime.date.fromisoformat(v)
            m[k] = _block(v, (*path, str(k)))
        return m
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return _flow(obj)
        q = CommentedSeq()
        for v in obj:
            q.append(_block(v, path))
        return q
    return obj


def dump_scenario(data: dict[str, Any], header: str | None = None) -> str:
    """YAML text of a scenario dict: block structure, flow leaves, optional # header."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(_block(data), buf)
    lines = buf.getvalue().splitlines()
    out: list[str] = []
    if header:
        out += [f"# {ln}".rstrip() for ln in header.strip("\n").splitlines()]
        out.append("")
    section = ""
    for i, ln in enumerate(lines):
        if ln and not ln[0].isspace() and not ln.startswith("#"):
            section = ln.split(":")[0]
            if i:
                out.append("")  # a blank line before each top-level section
        elif section == "sites" and ln.startswith("  - id:") and not lines[i - 1].endswith(":"):
            out.append("")  # and between sites
        out.append(ln)
    return "\n".join(out) + "\n"


__all__ = ["dump_scenario", "parse"]
