"""Exact event counts of fixed-seed runs: a change to the engine that alters behaviour (rather than speed)
must change these numbers on purpose, and say why in its commit."""

from __future__ import annotations

import pytest

from sim.engine import simulate
from sim.eventlog import read_events
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

GOLDEN = {
    "2019": {
        "requests": 7106,
        "rows": 75886,
        "activities": {
            "abandoned": 9,
            "arrived": 7106,
            "deadline missed": 931,
            "escalated": 13207,
            "handed off": 673,
            "passed": 1904,
            "queued": 22511,
            "resolved": 4896,
            "returned": 14,
            "settled": 3929,
            "started": 20706,
        },
    },
    "2020": {
        "requests": 7106,
        "rows": 76745,
        "activities": {
            "abandoned": 12,
            "arrived": 7106,
            "deadline missed": 203,
            "escalated": 13423,
            "passed": 2340,
            "queued": 22487,
            "reported": 2,
            "resolved": 5370,
            "returned": 17,
            "settled": 4195,
            "started": 21588,
            "whistled": 2,
        },
    },
}


@pytest.mark.parametrize("year", ["2019", "2020"])
def test_exact_event_counts(year, tmp_path):
    path = tmp_path / "g.parquet"
    result = simulate(load_scenario(SCENARIOS / f"haigang-{year}.toml"), days=2, seed=11, events=path)
    counts = read_events(path)["activity"].astype(str).value_counts().to_dict()
    assert result.kpis["requests"] == GOLDEN[year]["requests"]
    assert result.event_rows == GOLDEN[year]["rows"]
    assert counts == GOLDEN[year]["activities"]
