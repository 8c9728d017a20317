"""Pure-data models of a rotaplan scenario, validated once on load."""

from rotaplan.models.loader import Loaded, load, load_scenario, parse_scenario_text, read_document
from rotaplan.models.problems import Problem, ScenarioError, format_path
from rotaplan.models.scenario import (
    DEFAULT_SESSIONS,
    FellowshipTrack,
    Learner,
    Objective,
    Programme,
    RotationTrack,
    Scenario,
    Setting,
    Site,
    Supervisor,
    Tracks,
)

__all__ = [
    "DEFAULT_SESSIONS",
    "FellowshipTrack",
    "Learner",
    "Loaded",
    "Objective",
    "Problem",
    "Programme",
    "RotationTrack",
    "Scenario",
    "ScenarioError",
    "Setting",
    "Site",
    "Supervisor",
    "Tracks",
    "format_path",
    "load",
    "load_scenario",
    "parse_scenario_text",
    "read_document",
]

from rotaplan.models.plan import (
    ASSIGNMENT_COLUMNS,
    PLAN_FILES,
    START_BLOCK,
    TIMETABLE_COLUMNS,
    Plan,
)

__all__ += ["ASSIGNMENT_COLUMNS", "PLAN_FILES", "START_BLOCK", "TIMETABLE_COLUMNS", "Plan"]
