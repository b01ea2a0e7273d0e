"""A staffing question about one office against the whole district, measured in the same run.

(a) One replication: simulating only an office's area and the departments (``District.restricted``)
    against the whole district, for the largest street (S1, 300,000 of 1,000,000 residents) and a
    middle one (S5).
(b) The whole answer: ``microgov staff --office S5`` against ``microgov staff`` for every office, the
    same target, replications and days (target: the one office at least 3x faster).

Run: ``.venv/bin/python benchmarks/bench_staffing.py [--quick]``
"""

from __future__ import annotations

import sys
import time

from sim.analysis.staffing import ServiceTarget, staff_answer
from sim.engine import simulate
from sim.experiment import Sequential
from sim.experiment.replicate import district_for
from sim.scenario import load_scenario

SCENARIO = "scenarios/haigang-2019.toml"
TARGET = "all.wait<=1h@0.90"


def replication(scenario: object, offices: tuple[str, ...], days: float) -> float:
    district = district_for(scenario, offices)  # type: ignore[arg-type]
    start = time.perf_counter()
    simulate(scenario, days=days, seed=1, district=district)  # type: ignore[arg-type]
    return time.perf_counter() - start


def answer(scenario: object, offices: tuple[str, ...], reps: int, days: float) -> float:
    start = time.perf_counter()
    staff_answer(
        scenario,  # type: ignore[arg-type]
        ServiceTarget.parse(TARGET),
        reps=reps,
        days=days,
        executor=Sequential(),
        offices=offices,
    )
    return time.perf_counter() - start


def main() -> None:
    quick = "--quick" in sys.argv
    scenario = load_scenario(SCENARIO)
    days = 3.0 if quick else 7.0
    whole = replication(scenario, (), days)
    print(f"(a) one replication of {days:g} days of {SCENARIO}: the whole district {whole:.2f} s")
    for office in ("S1", "S5"):
        part = replication(scenario, (office,), days)
        print(f"    {office} only: {part:.2f} s ({whole / part:.1f}x faster)")
    reps, adays = (2, 3.0) if quick else (3, 7.0)
    full = answer(scenario, (), reps, adays)
    one = answer(scenario, ("S5",), reps, adays)
    print(
        f"(b) staff --target '{TARGET}' --reps {reps} --days {adays:g}: every office {full:.1f} s, "
        f"--office S5 {one:.1f} s ({full / one:.1f}x faster; target at least 3x)"
    )


if __name__ == "__main__":
    main()
