"""``microgov run`` as a user runs it: tables, --json with the documented keys, --events, bad input."""

from __future__ import annotations

import json

from sim.eventlog import read_events
from tests.conftest import SCENARIOS

FILE = str(SCENARIOS / "haigang-2020.toml")


def test_run_json_has_the_documented_keys(cli):
    result = cli("run", FILE, "--days", "1", "--seed", "3", "--json")
    assert result.code == 0, result.err
    k = json.loads(result.out)
    for key in (
        "requests",
        "resolved",
        "open",
        "abandoned",
        "response_rate",
        "resolution_rate",
        "satisfaction_rate",
        "resolution_time_h",
        "by_priority",
        "by_level",
        "utilisation",
        "escalations_to_district",
        "seed",
        "days",
    ):
        assert key in k
    assert set(k["resolution_time_h"]) == {"mean", "p50", "p90", "p95"}
    assert k["seed"] == 3 and k["days"] == 1
    assert 0 <= k["response_rate"] <= 1
    assert k["requests"] == k["resolved"] + k["open"] + k["abandoned"]
    assert len(k["backlog"]["open"]) == 24 + 1


def test_every_rate_in_json_has_its_cohort_beside_it(cli):
    result = cli("run", FILE, "--days", "2", "--json")
    k = json.loads(result.out)
    slices = [k, *k["by_priority"].values(), *k["by_category"].values()]
    for g in slices:
        for rate in ("response", "resolution", "satisfaction"):
            judged = g[f"{rate}_judged"]
            assert isinstance(judged, int) and 0 <= judged <= g["requests"]
            assert (g[f"{rate}_rate"] is None) == (judged == 0)
    # two days judge no urgent or ordinary request's resolution, and say so
    assert {(t["priority"], t["rate"]) for t in k["too_short"]} == {
        ("urgent", "resolution"),
        ("ordinary", "resolution"),
    }
    assert k["by_priority"]["ordinary"]["resolution_rate"] is None
    result = cli("run", FILE, "--days", "2")
    said = "warning: the resolution and satisfaction rates judge no urgent (72 h) and ordinary (168 h) requests"
    assert said in result.err


def test_run_tables_and_events(cli, tmp_path):
    path = tmp_path / "out" / "week.parquet"
    result = cli("run", FILE, "--days", "0.5", "--events", str(path))
    assert result.code == 0, result.err
    for text in (
        "The three rates",
        "By priority",
        "Where requests were resolved",
        "Waiting for pickup",
        "Staff time",
        "event log",
    ):
        assert text in result.out
    assert len(read_events(path)) > 1000
    assert not list(path.parent.glob(".*.part"))


def test_run_bad_input_is_one_line(cli, tmp_path):
    result = cli("run", FILE, "--set", "clock.days=-1")
    assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1
    result = cli("run", FILE, "--days", "0")
    assert result.code == 2
    result = cli("run", str(tmp_path / "missing.toml"))
    assert result.code == 2 and "no such scenario file" in result.err
    result = cli("run", FILE, "--events", str(tmp_path))
    assert result.code == 2


def test_check_dump_prints_the_resolved_scenario(cli):
    result = cli("check", FILE, "--dump")
    assert result.code == 0
    assert "[categories.street_light]" in result.out and "per_office = 50" in result.out
