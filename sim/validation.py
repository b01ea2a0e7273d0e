"""Checking the engine against queueing theory (Erlang C) and against another simulator (Ciw).

``validate_mmc`` configures the very engine that runs the district as a single post (Poisson arrivals,
exponential handling, ``c`` staff on duty around the clock, first come first served, every request
settled, no deadlines) and runs independent replications. Each reports the mean wait in queue,
P(wait > 0) and utilisation after a warm-up; the replications give 95% t-intervals to set beside the
Erlang C values and, optionally, the same model in Ciw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.engine.core import Engine, Streams
from sim.engine.network import STREET_K, single_post_network
from sim.errors import MicrogovError
from sim.staffing import MMC

PEERS = ("ciw",)
#: Agreement allows this much (3.6 ms) beyond the interval: at low load every simulated wait can be
#: exactly zero, so the interval is a point while Erlang C gives a wait of a few nanoseconds.
TOLERANCE_H = 1e-6


class ValidationError(MicrogovError):
    """A validation model is not valid (an unstable queue, a missing peer)."""


@dataclass(frozen=True)
class RepResult:
    wq_mean: float
    p_wait: float
    utilisation: float
    customers: int
    seconds: float


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of independent replication results."""
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, len(arr) - 1) * arr.std(ddof=1) / np.sqrt(len(arr)))
    return mean, mean - half, mean + half


def run_engine_mmc(
    arrival_rate: float, service_rate: float, servers: int, customers: int, warmup: float, seed: np.random.SeedSequence
) -> RepResult:
    """One replication through the engine; the first ``warmup`` share of customers is not measured."""
    streams = Streams.from_seed(seed)
    net = single_post_network(arrival_rate, service_rate, servers)
    engine = Engine(
        net,
        streams,
        end_h=float("inf"),
        warmup_h=warmup * customers / arrival_rate,
        sample_h=None,
        max_arrivals=customers,
    )
    start = time.perf_counter()
    m = engine.run()
    seconds = time.perf_counter() - start
    wait = m.wait[STREET_K].done
    return RepResult(
        wq_mean=wait.total / wait.n if wait.n else 0.0,
        p_wait=m.waited[STREET_K] / wait.n if wait.n else 0.0,
        utilisation=m.busy_kind[STREET_K] / m.available_kind[STREET_K] if m.available_kind[STREET_K] else 0.0,
        customers=customers,
        seconds=seconds,
    )


def run_ciw_mmc(
    arrival_rate: float, service_rate: float, servers: int, customers: int, warmup: float, seed: int
) -> RepResult:
    """The same replication in Ciw (the ``validation`` extra)."""
    try:
        import ciw
    except ImportError:
        raise ValidationError("the Ciw peer needs the validation extra: pip install 'microgov[validation]'") from None
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=service_rate)],
        number_of_servers=[servers],
    )
    start = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Arrive")
    seconds = time.perf_counter() - start
    records = sim.get_all_records()
    warm = warmup * customers / arrival_rate
    last = max(r.arrival_date for r in records)
    measured = [r for r in records if r.arrival_date >= warm]
    waits = np.array([r.waiting_time for r in measured])
    busy = sum(max(0.0, min(r.service_end_date, last) - max(r.service_start_date, warm)) for r in records)
    return RepResult(
        wq_mean=float(waits.mean()) if len(waits) else 0.0,
        p_wait=float((waits > 0).mean()) if len(waits) else 0.0,
        utilisation=busy / (servers * (last - warm)) if last > warm else 0.0,
        customers=customers,
        seconds=seconds,
    )


def _summary(reps: Sequence[RepResult]) -> dict[str, Any]:
    wq, wq_lo, wq_hi = t_interval([r.wq_mean for r in reps])
    pw, pw_lo, pw_hi = t_interval([r.p_wait for r in reps])
    ut, ut_lo, ut_hi = t_interval([r.utilisation for r in reps])
    seconds = sum(r.seconds for r in reps)
    return {
        "wq_mean": wq,
        "wq_ci": [wq_lo, wq_hi],
        "p_wait": pw,
        "p_wait_ci": [pw_lo, pw_hi],
        "utilisation": ut,
        "utilisation_ci": [ut_lo, ut_hi],
        "customers_per_s": sum(r.customers for r in reps) / seconds if seconds else None,
    }


def validate_mmc(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    *,
    customers: int = 200_000,
    reps: int = 10,
    seed: int = 0,
    warmup: float = 0.1,
    peer: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the M/M/c validation; see the module docstring. Rates are per hour, times in hours."""
    theory = MMC(arrival_rate, service_rate, servers)
    if arrival_rate <= 0 or service_rate <= 0 or servers < 1:
        raise ValidationError("arrival rate and service rate must be above 0, servers at least 1")
    if not theory.stable:
        raise ValidationError(
            f"the queue is unstable (utilisation {theory.utilisation:.3f} ≥ 1): waits grow without bound, "
            "there is no steady state to compare; lower the arrival rate or add servers"
        )
    if peer is not None and peer not in PEERS:
        raise ValidationError(f"unknown peer '{peer}' (known: {', '.join(PEERS)})")
    if reps < 2:
        raise ValidationError("at least 2 replications are needed for a confidence interval")
    seeds = np.random.SeedSequence(seed).spawn(reps)
    total = reps * (2 if peer else 1)
    done = 0
    ours = []
    for ss in seeds:
        ours.append(run_engine_mmc(arrival_rate, service_rate, servers, customers, warmup, ss))
        done += 1
        if progress:
            progress(done, total)
    theirs = []
    if peer == "ciw":
        for ss in seeds:
            theirs.append(
                run_ciw_mmc(arrival_rate, service_rate, servers, customers, warmup, int(ss.generate_state(1)[0]))
            )
            done += 1
            if progress:
                progress(done, total)
    sim = _summary(ours)
    erlang = {"wq_mean": theory.wq_mean, "p_wait": theory.p_wait, "utilisation": theory.utilisation}
    result: dict[str, Any] = {
        "model": {
            "arrival_rate": arrival_rate,
            "service_rate": service_rate,
            "servers": servers,
            "customers": customers,
            "reps": reps,
            "seed": seed,
            "warmup_share": warmup,
        },
        "sim": sim,
        "erlang_c": erlang,
        "peer": ({"name": peer, **_summary(theirs)} if theirs else None),
    }
    lo, hi = sim["wq_ci"]
    result["agrees"] = lo - TOLERANCE_H <= erlang["wq_mean"] <= hi + TOLERANCE_H
    return result


__all__ = ["ValidationError", "validate_mmc"]
