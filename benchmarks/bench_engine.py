"""The engine's speed, as ratios against references measured in the same run.

(a) ``validate mmc`` at 200,000 requests: seconds per request of the engine against a bare SimPy M/M/c
    (one process per customer on a ``simpy.Resource``) and against Ciw, same rates, same size.
    Targets: at most 1.3x bare SimPy, at most 0.5x Ciw.
(b) One simulated year of ``haigang-2020`` with the event log on, in a fresh process: wall time, peak
    memory, requests per second. Targets: at most 60 s on one core, at most 1.5 GB.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--quick]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import simpy
from _measure import measure

from sim.analysis.validation.cases import Settings, mmc
from sim.analysis.validation.peer import ciw_queue

LAM, MU, C, N = 9.35, 1.0, 11, 200_000


def bare_simpy(seed: int, customers: int) -> float:
    """The textbook SimPy M/M/c: a source process and one process per customer on a Resource."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    staff = simpy.Resource(env, C)
    waits: list[float] = []

    def customer(service: float):  # type: ignore[no-untyped-def]
        arrived = env.now
        with staff.request() as turn:
            yield turn
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():  # type: ignore[no-untyped-def]
        for _ in range(customers):
            yield env.timeout(rng.exponential(1 / LAM))
            env.process(customer(rng.exponential(1 / MU)))

    start = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - start


#: The engine's M/M/c of ``validate mmc`` in a child process (argv: customers, seed): the replication's
#: wall and CPU seconds (model built beforehand) and its figures, so two checkouts can be compared.
MMC = (
    "import sys, time, json; from numpy.random import SeedSequence;"
    "from sim.analysis.validation.cases import Settings, mmc;"
    f"spec = mmc(Settings(customers=int(sys.argv[1])), {LAM}, {MU}, {C});"
    "t, c = time.perf_counter(), time.process_time(); figures = spec.replicate(SeedSequence(int(sys.argv[2])));"
    "print(json.dumps({'s': time.perf_counter() - t, 'cpu_s': time.process_time() - c, 'figures': figures}))"
)

YEAR = (
    "import sys, time, json; t, c = time.perf_counter(), time.process_time();"
    "from sim.scenario import load_scenario; from sim.engine import simulate;"
    "r = simulate(load_scenario(sys.argv[1]), days=float(sys.argv[3]), events=sys.argv[2]);"
    "print(json.dumps({'s': time.perf_counter() - t, 'cpu_s': time.process_time() - c,"
    " 'requests': r.kpis['requests'], 'rows': r.event_rows}))"
)


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(quick: bool = False) -> dict[str, float]:
    customers = 50_000 if quick else N
    rounds = 3
    spec = mmc(Settings(customers=customers), LAM, MU, C)  # the model of `validate mmc`, built once
    warm = 0.1 * customers / LAM
    bare, ours, ciw = [], [], []
    for i in range(rounds):
        seed = np.random.SeedSequence(i)
        bare.append(bare_simpy(i, customers))
        ours.append(timed(lambda: spec.replicate(seed)))  # noqa: B023 (called at once)
        ciw.append(timed(lambda: ciw_queue(LAM, MU, C, customers, warm, seed)))  # noqa: B023
    b, o, c = min(bare), min(ours), min(ciw)
    print(f"engine: M/M/{C} at utilisation {LAM / (C * MU):.2f}, {customers:,} requests, best of {rounds}")
    print(f"  bare SimPy   {customers / b:>10,.0f} requests/s")
    print(f"  engine       {customers / o:>10,.0f} requests/s   {o / b:.2f}x bare SimPy's time (target ≤ 1.3x)")
    print(f"  Ciw          {customers / c:>10,.0f} requests/s   engine takes {o / c:.2f}x Ciw's time (target ≤ 0.5x)")
    result = {"vs_simpy": o / b, "vs_ciw": o / c, "engine_per_s": customers / o}
    days = 30.0 if quick else 365.0
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "year.parquet"
        year = measure(YEAR, "scenarios/haigang-2020.toml", str(events), str(days))
        import json

        inner = json.loads(year.stdout)
        size = events.stat().st_size / 1e6
    print(f"engine: haigang-2020 for {days:g} days with the event log, in a fresh process")
    print(
        f"  {inner['requests']:,} requests, {inner['rows']:,} event rows ({size:,.0f} MB Parquet) in "
        f"{inner['s']:.1f} s = {inner['requests'] / inner['s']:,.0f} requests/s"
        + ("" if quick else f"   (target ≤ 60 s: {inner['s'] / 60:.0%} of it)")
    )
    print(f"  peak memory {year.peak_mb:,.0f} MB   (target ≤ 1,536 MB: {year.peak_mb / 1536:.0%} of it)")
    result.update({"year_s": inner["s"], "year_requests": inner["requests"], "year_peak_mb": year.peak_mb})
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
