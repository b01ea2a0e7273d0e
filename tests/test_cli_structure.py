"""``microgov check`` and ``microgov structure`` as a user runs them."""

from __future__ import annotations

import json

from sim.analysis import brief
from tests.conftest import SCENARIOS

FILE_2020 = str(SCENARIOS / "haigang-2020.toml")


def within(value: float, reported: float) -> bool:
    return abs(value / reported - 1) <= brief.TOLERANCE


def test_structure_json_is_within_the_brief(cli):
    result = cli("structure", FILE_2020, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert within(data["residents"], brief.RESIDENTS)
    streets = [o for o in data["offices"] if o["level"] == "street"]
    assert within(sum(o["residents"] for o in streets) / len(streets), brief.RESIDENTS_PER_STREET)
    assert within(max(o["residents"] for o in streets), brief.LARGEST_STREET)
    assert within(data["groups"]["urban"], brief.GROUPS_URBAN)
    assert within(data["groups"]["rural"], brief.GROUPS_RURAL)
    assert data["levels"]["department"] == brief.DEPARTMENTS
    assert set(data["staff"]) == {o["id"] for o in data["offices"]}
    assert min(data["staff"].values()) >= brief.STAFF_AFTER_MIN
    assert data["residents_per_staff"]["S1"] == round(300_000 / 51, 1)
    assert data["households"] > 0 and all(f["within_15pct"] is not False for f in data["brief"])


def test_structure_table_names_the_figures(cli):
    result = cli("structure", FILE_2020)
    assert result.code == 0
    for text in ("Beside the brief", "groups under the streets", "Street and town offices", "S1", "601"):
        assert text in result.out


def test_check_reports_ok_and_set_is_applied(cli):
    result = cli("check", FILE_2020, "--set", "staffing.per_office=60", "--json")
    assert result.code == 0 and json.loads(result.out)["valid"] is True
    result = cli("structure", FILE_2020, "--set", "staffing.per_office=60", "--json")
    assert json.loads(result.out)["staff"]["S2"] == 60


def test_structure_error_is_one_line(cli):
    result = cli("structure", FILE_2020, "--set", "streets.S1.residents=900")
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")


def test_help_lists_commands_with_examples(cli):
    result = cli("--help")
    assert result.code == 0
    assert "check" in result.out and "structure" in result.out
    result = cli("structure", "--help")
    assert "Example" in result.out and "--set" in result.out
