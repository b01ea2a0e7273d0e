"""Exact event counts of fixed-seed runs, and a digest of every row of their event logs: a change to the
engine that alters behaviour (rather than speed, or the shape of the code) must change these on purpose,
and say why in its commit. A refactoring keeps them."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from sim.engine import simulate
from sim.eventlog import read_events
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

#: SHA-256 over each column's name and values, in order (the log's content, not its file's bytes).
DIGESTS = {
    "2019": "e52a3129692da1263c8f1b63bc6324db41aba146e28a6a487c69a8adbbb4b13d",
    "2020": "3919450c637ffc5d5fa9498adeefeb1bffb86229b5e101e569078152603069c8",
}

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
    assert digest(path) == DIGESTS[year]


def digest(path) -> str:  # type: ignore[no-untyped-def]
    table = pq.read_table(path)
    h = hashlib.sha256()
    for name in table.column_names:
        h.update(name.encode())
        h.update(repr(table.column(name).to_pylist()).encode())
    return h.hexdigest()
