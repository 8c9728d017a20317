"""Realistic infeasible scenarios for explanations: the benchmark's cases, which the tests
use too (benchmarks never import tests; tests may import these)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from rotaplan.models import Scenario, parse_scenario_text
from rotaplan.solver.instance import Instance

INSTANCES = Path(__file__).resolve().parent.parent / "instances"


def scenario_of(data: dict[str, Any]) -> Scenario:
    """Validate a scenario dict through the real YAML loader."""
    return parse_scenario_text(yaml.safe_dump(data, sort_keys=False), "<case>").scenario


def demo_data() -> dict[str, Any]:
    """The shipped demo scenario as a plain dict."""
    data: dict[str, Any] = yaml.safe_load((INSTANCES / "demo.yaml").read_text())
    return data


def without_rooms(data: dict[str, Any], site_id: str) -> dict[str, Any]:
    """A copy with one site's rooms cut to 0 (a practice losing its consulting rooms)."""
    out = copy.deepcopy(data)
    next(s for s in out["sites"] if s["id"] == site_id)["rooms"] = 0
    return out


def stranded_fellow(data: dict[str, Any], fellow: str, base: str, block: int) -> dict[str, Any]:
    """A copy where a fellow's base is pinned to ``base`` and every supervisor there who may
    supervise the fellow's profession is on leave in ``block``."""
    out = copy.deepcopy(data)
    sc = scenario_of(out)
    learner = next(x for x in out["learners"] if x["id"] == fellow)
    learner["pinned"] = {1: base}
    for s in out["sites"]:
        if s["id"] == base:
            for u in s["supervisors"]:
                if sc.may_supervise(u["profession"], learner["profession"]):
                    u["unavailable_blocks"] = sorted({*u.get("unavailable_blocks", []), block})
    return out


def ics_rooms_cut(size: int = 300, seed: int = 1) -> tuple[dict[str, Any], str]:
    """A generated ICS-scale scenario with the first practice whose rooms at 0 strand a learner.

    Returns the data and the site. Most practices can lose their rooms (others have room);
    a practice that is the only base or pinned site of someone cannot.
    """
    from rotaplan.generate import generate_scenario
    from rotaplan.solver.explain import empty_domains

    data = generate_scenario(size, seed=seed)
    for s in data["sites"]:
        if s["setting"] != "primary-care" or s.get("rooms") is None:
            continue
        cut = without_rooms(data, s["id"])
        if empty_domains(Instance(Scenario.model_validate(cut))) is not None:
            return cut, s["id"]
    raise AssertionError("no practice strands anyone")  # pragma: no cover


__all__ = ["demo_data", "ics_rooms_cut", "scenario_of", "stranded_fellow", "without_rooms"]
