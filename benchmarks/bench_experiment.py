"""The experiment harness's cost and scaling, as ratios measured in the same run.

(a) Replications per second with 2 local workers against 1 (target: at least 1.7x on 2 cores).
(b) The harness's time over the bare engine: the same replications run through ``compare_scenarios``
    on one process against calling ``simulate`` in a loop (target: under 5% more).
(c) The orchestrating process's peak memory with 4 and with 16 replications on a local pool
    (streamed aggregation: it should not grow with the number of replications).

Run: ``.venv/bin/python benchmarks/bench_experiment.py [--quick]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _measure import measure

from sim.engine import simulate
from sim.experiment import LocalPool, Sequential
from sim.experiment.compare import Plan, compare_scenarios
from sim.experiment.replicate import district_for
from sim.scenario import load_scenario

SCENARIO = "scenarios/haigang-2020.toml"

PARENT = (
    "import sys; from sim.scenario import load_scenario; from sim.experiment import LocalPool;"
    "from sim.experiment.compare import Plan, compare_scenarios;"
    "s = load_scenario(sys.argv[1]);"
    "pool = LocalPool(2).__enter__();"
    "compare_scenarios(Plan([('a', s)], reps=int(sys.argv[2]), days=float(sys.argv[3])), pool); pool.close()"
)


def timed(plan: Plan, executor: object) -> float:
    start = time.perf_counter()
    with executor:  # type: ignore[attr-defined]
        compare_scenarios(plan, executor)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main(quick: bool = False) -> dict[str, float]:
    scenario = load_scenario(SCENARIO)
    reps, days = (4, 3.0) if quick else (8, 10.0)
    plan = Plan([("2020", scenario)], reps=reps, days=days)
    one = timed(plan, LocalPool(1))
    two = timed(plan, LocalPool(2))
    print(f"experiment: {reps} replications of {days:g} days of haigang-2020 on a local pool")
    print(f"  1 worker  {reps / one:.2f} replications/s")
    print(f"  2 workers {reps / two:.2f} replications/s   {one / two:.2f}x (target ≥ 1.7x)")

    district = district_for(scenario)
    start = time.perf_counter()
    for rep in range(reps):
        simulate(scenario, seed=np.random.SeedSequence(0, spawn_key=(rep,)), days=days, district=district)
    bare = time.perf_counter() - start
    harness = timed(plan, Sequential())
    print(
        f"  bare engine loop {bare:.1f} s, through the harness on one process {harness:.1f} s: "
        f"{harness / bare - 1:+.1%} (target < +5%)"
    )

    short = 1.0
    small = measure(PARENT, SCENARIO, "4", str(short))
    large = measure(PARENT, SCENARIO, "16", str(short))
    print(
        f"  orchestrator peak memory: 4 replications {small.peak_mb:.0f} MB, 16 replications "
        f"{large.peak_mb:.0f} MB ({large.peak_mb / small.peak_mb:.2f}x; flat is 1.0x)"
    )
    return {
        "speedup_2_workers": one / two,
        "harness_overhead": harness / bare - 1,
        "memory_ratio_16_vs_4": large.peak_mb / small.peak_mb,
    }


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
