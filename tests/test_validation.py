"""The validation suite: the engine of ``run`` against queueing theory and Ciw, and the theory itself
against textbook values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.staffing import MMC, erlang_b, erlang_c, servers_for
from sim.analysis.validation import CASES, Settings, ValidationError, validate, welch
from sim.analysis.validation import _agrees as agrees
from sim.analysis.validation.theory import (
    ErlangA,
    cobham,
    mmc_deadline,
    mt_infinite_occupancy,
    pollaczek_khinchine,
    rota_queue,
)
from tests.conftest import run_microgov

# --- theory against textbook values ------------------------------------------------------------------


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
    assert q.p_wait_longer(0.5) == pytest.approx(2 / 3 * math.exp(-0.5))  # rho e^{-(mu - lam) t}
    assert MMC(12, 1, 11).wq_mean == math.inf and erlang_c(11, 12.0) == 1.0
    # M/M/2 with a = 1: C = 1/3 and Wq = C / (c mu - lam) = 1/3 (Gross and Harris)
    assert MMC(1.0, 1.0, 2).p_wait == pytest.approx(1 / 3)
    assert MMC(1.0, 1.0, 2).wq_mean == pytest.approx(1 / 3)


def test_servers_for_is_the_smallest_that_meets_the_target():
    c = servers_for(9.35, 1.0, hours=0.5, share=0.9)
    assert MMC(9.35, 1.0, c).service_level(0.5) >= 0.9
    assert MMC(9.35, 1.0, c - 1).service_level(0.5) < 0.9


def test_pollaczek_khinchine():
    assert pollaczek_khinchine(0.5, 1.0, 0.0) == pytest.approx(0.5)  # M/D/1 at 0.5: rho / (2 (1 - rho))
    assert pollaczek_khinchine(0.8, 1.0, 1.0) == pytest.approx(0.8 / 0.2)  # M/M/1: rho / (mu - lam)
    assert pollaczek_khinchine(1.0, 1.0, 1.0) == math.inf


def test_cobham_waits_per_class():
    # M/M/1, classes 0.2, 0.3, 0.3 an hour, mu 1: W0 = 0.8, W_k = W0 / ((1 - s_{k-1})(1 - s_k))
    assert cobham([0.2, 0.3, 0.3], 1.0, 1) == pytest.approx([1.0, 2.0, 8.0])
    # Kleinrock's conservation law: the arrival-weighted waits are the FCFS wait, at any number of servers
    rates = [1.0, 2.0, 5.0]
    waits = cobham(rates, 1.0, 10)
    assert sum(r * w for r, w in zip(rates, waits, strict=True)) / sum(rates) == pytest.approx(MMC(8, 1, 10).wq_mean)


def test_erlang_a_special_cases():
    # theta = mu: every request leaves at rate mu, in service or not, so N is Poisson(a) (M/M/inf)
    f = ErlangA(9.0, 1.0, 10, 1.0).figures()
    n = np.arange(10, 400)
    assert f.p_wait == pytest.approx(stats.poisson.sf(9, 9.0), rel=1e-9)
    assert f.p_abandon == pytest.approx(float(((n - 10) * stats.poisson.pmf(n, 9.0)).sum()) / 9.0, rel=1e-9)
    # almost no abandonment: Erlang C
    g = ErlangA(9.0, 1.0, 10, 1e-9).figures()
    assert g.p_wait == pytest.approx(erlang_c(10, 9.0), rel=1e-6)
    assert g.wq_served == pytest.approx(MMC(9.0, 1.0, 10).wq_mean, rel=1e-6)


def test_erlang_a_abandonment_is_theta_times_the_queue():
    """P(abandon) = θ E[L_q] / λ (what leaves the queue per hour over what arrives), overloaded too."""
    for lam, c, theta in ((11.0, 10, 1.0), (30.0, 10, 0.2), (4.0, 5, 3.0)):
        chain = ErlangA(lam, 1.0, c, theta)
        f = chain.figures()
        assert f.p_abandon == pytest.approx(theta * chain.mean_queue() / lam, rel=1e-9)
        assert f.utilisation == pytest.approx(lam * (1 - f.p_abandon) / c)


def test_mmc_deadline_textbook_and_limits():
    lam, mu, d = 0.5, 1.0, 1.0  # M/M/1+D: rho (1 - rho) e^{-mu (1-rho) D} / (1 - rho^2 e^{-mu (1-rho) D})
    x = math.exp(-mu * (1 - lam) * d)
    assert mmc_deadline(lam, mu, 1, d).p_abandon == pytest.approx(lam * (1 - lam) * x / (1 - lam**2 * x))
    assert mmc_deadline(9.0, 1.0, 10, 0.0).p_abandon == pytest.approx(erlang_b(10, 9.0))  # D = 0: Erlang B
    long = mmc_deadline(9.0, 1.0, 10, 500.0)  # D = inf: Erlang C
    assert long.p_wait == pytest.approx(erlang_c(10, 9.0)) and long.p_abandon < 1e-12
    assert long.wq_served == pytest.approx(MMC(9.0, 1.0, 10).wq_mean)
    over = mmc_deadline(15.0, 1.0, 10, 50.0)  # overloaded: the deadline sends up what capacity cannot take
    assert over.p_abandon == pytest.approx(1 / 3, rel=1e-6) and over.utilisation == pytest.approx(1.0)


def test_mt_infinite_occupancy():
    t = np.array([0.5, 1.0, 3.0, 7.25])
    # constant rate from empty: m(t) = (lam / mu)(1 - e^{-mu t})
    assert mt_infinite_occupancy([4.0] * 8, 0.5, t) == pytest.approx(8.0 * (1 - np.exp(-0.5 * t)))
    # one busy hour, then nothing: what arrived in it decays
    m = mt_infinite_occupancy([6.0, 0.0, 0.0, 0.0], 2.0, [1.0, 2.5])
    top = 3.0 * (1 - math.exp(-2.0))
    assert m == pytest.approx([top, top * math.exp(-3.0)])


def test_rota_queue_with_one_shift_is_erlang_c():
    q = rota_queue(9.35, 1.0, [(24.0, 11)])
    assert q.wq == pytest.approx(MMC(9.35, 1.0, 11).wq_mean, rel=1e-6)
    assert q.p_wait == pytest.approx(erlang_c(11, 9.35), rel=1e-6)
    assert q.utilisation == pytest.approx(0.85, rel=1e-6)
    assert q.overtime_h == 0.0  # nobody's shift ends


def test_rota_queue_handover_adds_the_outgoing_people():
    """Two shifts of the same size: at each change the busy people of the ending shift finish in
    overtime while the next shift starts, so requests wait less than with a constant team."""
    q = rota_queue(9.35, 1.0, [(12.0, 11), (12.0, 11)])
    assert 0 < q.wq < MMC(9.35, 1.0, 11).wq_mean
    assert q.utilisation < 0.85  # the overtime work is not the on-duty people's


def test_welch_interval_matches_scipy():
    a, b = [1.0, 2.0, 4.0, 3.5, 2.2], [0.5, 0.9, 1.7, 0.4]
    diff, lo, hi = welch(a, b, 0.95)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert diff == pytest.approx(np.mean(a) - np.mean(b))


def test_agreement_rule():
    """Theory inside the interval; where the interval is narrower than the histogram's resolution at
    the point (a share read off the waiting-time histogram), within 2% of theory instead."""
    assert agrees(0.30, 0.31, 0.29, 0.33, resolution=0.0) == (True, "interval")
    assert agrees(0.28, 0.31, 0.29, 0.33, resolution=0.0) == (False, "interval")
    assert agrees(0.305, 0.31, 0.309, 0.311, resolution=0.004) == (True, "within 2%")
    assert agrees(0.30, 0.31, 0.309, 0.311, resolution=0.004) == (False, "within 2%")
    assert agrees(0.30, math.nan, 0.0, 1.0, resolution=0.0) == (False, "interval")


# --- the engine against theory --------------------------------------------------------------------------

#: The measures each case reports, in order (the issue's names where one fits).
MEASURES = {
    "mm1": ["wq_h", "p_wait", "p_wait_gt_0.25h", "p_wait_gt_0.5h", "p_wait_gt_1h", "utilisation"],
    "mmc": ["wq_h", "p_wait", "p_wait_gt_0.3h", "p_wait_gt_0.61h", "p_wait_gt_1.2h", "utilisation"],
    "mg1": ["wq_h", "p_wait", "utilisation"],
    "priority": ["wq_h_special", "wq_h_urgent", "wq_h_ordinary", "p_wait", "utilisation"],
    "erlang-a": ["p_abandon", "wq_h", "p_wait", "utilisation"],
    "deadline": ["p_escalated", "wq_h", "p_wait", "utilisation"],
    "network": [f"wq_h_{k}" for k in ("unit", "building", "grid", "community", "street")]
    + [f"utilisation_{k}" for k in ("unit", "building", "grid", "community", "street")],
    "arrivals": ["arrival_rate", "count_dispersion", "occupancy_peak", "occupancy_trough", "occupancy_dispersion"],
    "shifts": ["wq_h", "p_wait", "utilisation", "overtime_h_per_day"],
}


@pytest.fixture(scope="module")
def quick() -> list[dict]:
    """``microgov validate all --quick --json``, run once in a fresh process."""
    result = run_microgov("validate", "all", "--quick", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(result.stdout)


def test_validate_all_quick_agrees_on_every_case(quick):
    """Every measure of every case agrees with theory (and Ciw). The table is judged at a family-wise
    5%, so a correct engine fails here for at most one seed in twenty: if an engine change makes it
    fail, run ``microgov validate all --quick --seed N`` for a few N (and the full run) before
    believing either way."""
    assert [c["case"] for c in quick] == list(CASES)
    for case in quick:
        bad = [m for m in case["measures"] if not m["agrees"]]
        assert case["agrees"] and not bad, (case["case"], bad)
        assert [m["name"] for m in case["measures"]] == MEASURES[case["case"]]


def test_validate_all_json_shape(quick):
    tests = sum(len(c["measures"]) + sum(1 for m in c["measures"] if m["peer"]) for c in quick)
    for case in quick:
        assert {"case", "params", "measures", "agrees"} <= set(case)
        assert case["params"]["customers"] == 10_000 and case["params"]["reps"] == 10
        # one table: every interval is simultaneous over every test in it
        assert case["interval"]["simultaneous_over"] == tests
        assert case["interval"]["each_at"] == pytest.approx(1 - 0.05 / tests)
        for m in case["measures"]:
            assert {"name", "theory", "sim", "ci", "agrees"} <= set(m)
            assert len(m["ci"]) == 2 and m["ci"][0] <= m["sim"] <= m["ci"][1]
            assert m["rule"] in ("interval", "within 2%")
    shifts = next(c for c in quick if c["case"] == "shifts")
    assert [m["peer"]["name"] for m in shifts["measures"] if m["peer"]] == ["Ciw", "Ciw"]


def test_ciw_peer_agrees():
    result = validate("mmc", Settings(customers=20_000, reps=5, seed=3), peer="ciw")
    assert result.peer_name == "Ciw" and result.agrees
    wait = next(m for m in result.measures if m.name == "wq_h")
    assert wait.peer is not None and wait.peer.ci[0] <= wait.theory <= wait.peer.ci[1]
    assert all(m.peer is not None and m.peer.agrees for m in result.measures)
    assert result.tests == 2 * len(result.measures)  # each measure against theory and against Ciw


@pytest.mark.parametrize(("servers", "rho"), [(50, 0.7), (50, 0.95)])
def test_mmc_agrees_at_light_and_heavy_load(servers, rho):
    result = validate(
        "mmc", Settings(customers=20_000, reps=10), workers=1, arrival_rate=rho * servers, servers=servers
    )
    assert result.agrees, [(m.name, m.theory, m.ci) for m in result.measures]


def test_a_replication_is_fixed_by_its_seed():
    """Replication i draws from stream i of the seed, whatever ran before; the same seed object used
    twice gives the same figures."""
    from sim.analysis.validation.cases import erlang_a

    settings = Settings(customers=2000, reps=2)
    spec = erlang_a(settings)
    first, second = settings.seeds()
    once = spec.replicate(first)
    assert spec.replicate(second) != once
    assert spec.replicate(first) == once


def test_a_wrong_model_disagrees():
    """The suite can fail: the M/M/c engine judged against Erlang C for one server more."""
    from sim.analysis.validation import _judge
    from sim.analysis.validation.cases import mmc

    settings = Settings(customers=10_000, reps=5)
    spec = mmc(settings, arrival_rate=9.35, servers=11)
    spec.theory["wq_h"] = MMC(9.35, 1.0, 12).wq_mean
    result = _judge(spec, settings, [spec.replicate(s) for s in settings.seeds()], None, len(spec.theory), 0.0)
    assert not result.agrees
    assert [m.name for m in result.measures if not m.agrees] == ["wq_h"]


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["mmc", "--arrival-rate", "12", "--servers", "11"], "unstable"),
        (["mm1", "--arrival-rate", "10", "--service-rate", "10"], "unstable"),
        (["priority", "--arrival-rates", "4,4,4", "--servers", "10"], "unstable"),
        (["network", "--arrival-rate", "200"], "unstable"),
        (["shifts", "--servers", "1,2"], "unstable"),
        (["mg1", "--family", "weibull"], "unknown family 'weibull'"),
        (["mg1", "--family", "fixed", "--cv", "0.5"], "a fixed distribution has cv = 0"),
        (["mg1", "--family", "gamma", "--cv", "-1"], "0 < cv ≤ 20"),
        (["erlang-a", "--patience-rate", "0"], "--patience-rate"),
        (["deadline", "--deadline-h", "-1"], "--deadline-h"),
        (["priority", "--arrival-rates", "1,2"], "three rates"),
        (["priority", "--arrival-rates", "1,x,2"], "expected numbers"),
        (["shifts", "--servers", "2,x"], "expected numbers"),
        (["shifts", "--servers", "1,1,1,1,1,1,1"], "equal shifts"),
        (["mmc", "--peer", "simpy"], "unknown peer 'simpy'"),
        (["mm1", "--reps", "1"], "--reps"),
        (["mm1", "--customers", "10"], "--customers"),
        (["mmc", "--servers", "0"], "--servers"),
        (["arrivals", "--arrival-rate", "5000"], "at most 1,000"),
        (["mm1", "--at-h", "0,1"], "--at-h"),
    ],
)
def test_bad_parameters_are_one_line(cli, args, needle):
    result = cli("validate", *args)
    assert result.code == 2, result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert needle in result.err


def test_validate_case_json_shape(cli):
    result = cli("validate", "mm1", "--customers", "2000", "--reps", "3", "--workers", "1", "--json")
    assert result.code in (0, 1), result.err
    data = json.loads(result.out)
    assert data["case"] == "mm1" and data["params"]["arrival_rate"] == 8.0
    assert [m["name"] for m in data["measures"]] == MEASURES["mm1"]
    assert data["agrees"] == all(m["agrees"] for m in data["measures"])
    assert result.code == (0 if data["agrees"] else 1)


def test_validate_case_table(cli):
    result = cli("validate", "deadline", "--customers", "2000", "--reps", "3", "--workers", "1")
    assert result.code in (0, 1), result.err
    text = " ".join(result.out.split())
    assert "P(escalated" in text and "M/M/c+D (Barrer)" in text
    assert "simultaneous over the table's 4 tests" in text


def test_bad_settings_are_refused():
    with pytest.raises(ValidationError, match="unknown case"):
        validate("mm2")
    with pytest.raises(ValidationError, match="--warmup"):
        validate("mm1", Settings(warmup=0.95))
