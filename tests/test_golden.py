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
        "requests": 7161,
        "rows": 77994,
        "activities": {
            "abandoned": 23,
            "arrived": 7161,
            "deadline missed": 630,
            "escalated": 13624,
            "handed off": 726,
            "passed": 2026,
            "queued": 23152,
            "resolved": 4991,
            "returned": 15,
            "settled": 3957,
            "started": 21689,
        },
    },
    "2020": {
        "requests": 7161,
        "rows": 77725,
        "activities": {
            "abandoned": 14,
            "arrived": 7161,
            "deadline missed": 237,
            "escalated": 13699,
            "passed": 2424,
            "queued": 22909,
            "reported": 5,
            "resolved": 5280,
            "returned": 20,
            "settled": 4106,
            "started": 21866,
            "whistled": 4,
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
