"""Scenarios: TOML files a policy team or trainer edits by hand, validated into frozen, typed objects."""

from sim.scenario.loader import load_document, load_scenario, parse_override, scenario_from_dict
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "load_document", "load_scenario", "parse_override", "scenario_from_dict"]
