"""The reform shows because the model says so: same seed, 30 days, 2019 against 2020."""

from __future__ import annotations

import pytest

from sim.engine import simulate
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def both():
    runs = {}
    for year in ("2019", "2020"):
        scenario = load_scenario(SCENARIOS / f"haigang-{year}.toml")
        runs[year] = simulate(scenario, days=30, seed=2020).kpis
    return runs


def test_street_waiting_is_much_shorter_after_the_reform(both):
    before, after = both["2019"]["waiting_h"]["street"], both["2020"]["waiting_h"]["street"]
    assert after["mean"] < before["mean"] / 4
    assert after["p90"] < before["p90"] / 4


def test_response_and_resolution_rates_are_better_after_the_reform(both):
    before, after = both["2019"], both["2020"]
    assert after["response_rate"] > before["response_rate"] + 0.05
    assert after["resolution_rate"] > before["resolution_rate"] + 0.03
    assert after["satisfaction_rate"] > before["satisfaction_rate"]


def test_the_same_requests_arrive_in_both(both):
    """Common random numbers: the residents raise the same requests in both; only repeat requests (of
    abandoned or late ones) differ, and the reform leaves fewer of those."""
    fresh = {year: k["requests"] - k["repeat_requests"] for year, k in both.items()}
    assert fresh["2019"] == fresh["2020"]
    assert both["2020"]["repeat_requests"] < both["2019"]["repeat_requests"]
    assert both["2020"]["abandoned_to_hotline"] < both["2019"]["abandoned_to_hotline"] / 3


def test_the_largest_street_is_overloaded_only_before(both):
    assert both["2019"]["utilisation"]["by_office"]["S1"] > 0.95
    assert both["2020"]["utilisation"]["by_office"]["S1"] < 0.75
