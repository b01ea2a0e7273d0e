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
        "rows": 77152,
        "activities": {
            "abandoned": 13,
            "arrived": 7106,
            "deadline missed": 626,
            "escalated": 13359,
            "handed off": 769,
            "passed": 1958,
            "queued": 22804,
            "resolved": 5021,
            "returned": 16,
            "settled": 4032,
            "started": 21448,
        },
    },
    "2020": {
        "requests": 7106,
        "rows": 76662,
        "activities": {
            "abandoned": 13,
            "arrived": 7106,
            "deadline missed": 215,
            "escalated": 13422,
            "passed": 2335,
            "queued": 22478,
            "reported": 2,
            "resolved": 5345,
            "returned": 16,
            "settled": 4190,
            "started": 21538,
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
