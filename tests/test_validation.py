"""The engine against queueing theory (Erlang C) and against Ciw, on the very code path of ``run``."""

from __future__ import annotations

import json
import math

import pytest

from sim.staffing import MMC, erlang_c, servers_for
from sim.validation import ValidationError, validate_mmc


def erlang_c_by_factorials(c: int, a: float) -> float:
    """The classic closed form, computed independently of the recurrence under test."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (11, 5.5), (11, 10.0), (50, 42.5), (50, 47.5)])
def test_erlang_c_matches_the_closed_form(c, a):
    assert erlang_c(c, a) == pytest.approx(erlang_c_by_factorials(c, a), rel=1e-9)


def test_mmc_figures():
    q = MMC(arrival_rate=2.0, service_rate=3.0, servers=1)  # M/M/1: P(wait) = rho, Wq = rho / (mu - lam)
    assert q.p_wait == pytest.approx(2 / 3)
    assert q.wq_mean == pytest.approx((2 / 3) / (3.0 - 2.0))
    assert q.service_level(0.0) == pytest.approx(1 / 3)
    assert MMC(12, 1, 11).wq_mean == math.inf and erlang_c(11, 12.0) == 1.0


def test_servers_for_is_the_smallest_that_meets_the_target():
    c = servers_for(9.35, 1.0, hours=0.5, share=0.9)
    assert MMC(9.35, 1.0, c).service_level(0.5) >= 0.9
    assert MMC(9.35, 1.0, c - 1).service_level(0.5) < 0.9


@pytest.mark.parametrize("servers", [11, 50])
@pytest.mark.parametrize("rho", [0.5, 0.85, 0.95])
def test_engine_agrees_with_erlang_c(servers, rho):
    """What ``microgov validate mmc`` reports with its defaults (200,000 requests, 10 replications,
    seed 0): Erlang C inside the engine's 95% interval."""
    result = validate_mmc(rho * servers, 1.0, servers)
    assert result["agrees"], result
    sim, theory = result["sim"], result["erlang_c"]
    assert sim["utilisation_ci"][0] - 0.01 <= theory["utilisation"] <= sim["utilisation_ci"][1] + 0.01
    assert sim["p_wait"] == pytest.approx(theory["p_wait"], abs=0.02)


def test_ciw_peer_agrees():
    result = validate_mmc(9.35, 1.0, 11, customers=20_000, reps=5, seed=3, peer="ciw")
    peer = result["peer"]
    assert peer["name"] == "ciw"
    lo, hi = peer["wq_ci"]
    assert lo <= result["erlang_c"]["wq_mean"] <= hi
    assert peer["p_wait"] == pytest.approx(result["sim"]["p_wait"], abs=0.05)


def test_unstable_queue_is_refused():
    with pytest.raises(ValidationError, match="unstable"):
        validate_mmc(12.0, 1.0, 11, customers=1000, reps=2)


def test_validate_cli_json_shape(cli):
    result = cli(
        "validate",
        "mmc",
        "--arrival-rate",
        "5.5",
        "--service-rate",
        "1",
        "--servers",
        "11",
        "--customers",
        "5000",
        "--reps",
        "3",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data["sim"]) >= {"wq_mean", "wq_ci", "p_wait", "utilisation"}
    assert set(data["erlang_c"]) >= {"wq_mean", "p_wait", "utilisation"}
    assert data["peer"] is None
    bad = cli("validate", "mmc", "--arrival-rate", "20", "--service-rate", "1", "--servers", "11")
    assert bad.code == 2 and "unstable" in bad.err and bad.err.count("\n") == 1
