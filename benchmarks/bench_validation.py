"""The validation suite as a benchmark: ``microgov validate all`` at its defaults (10 replications of
200,000 requests per case) and with ``--quick`` (10,000), each in a fresh process on a local pool of
one worker per core, against a bare SimPy M/M/c measured in the same run.

Prints every case's measures (theory, the engine's mean and simultaneous interval, agreement), the wall
time of each run, and the suite's simulation time per request as a multiple of the bare SimPy queue's.
Targets: every case agrees at the defaults; ``--quick`` well under a minute on two cores.

Run: ``.venv/bin/python benchmarks/bench_validation.py [--quick]`` (``--quick`` skips the full run).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from _measure import measure
from bench_engine import bare_simpy

RUN = (
    "import sys, json, time; t = time.perf_counter();"
    "from sim.analysis.validation import validate_all;"
    "r = validate_all(quick=sys.argv[1] == 'quick');"
    "print(json.dumps({'s': time.perf_counter() - t, 'cases': [c.to_json() for c in r]}))"
)
REFERENCE = 200_000


def requests_in(cases: list[dict[str, Any]]) -> int:
    """Requests the engine simulated (warm-up included; the peer's not)."""
    return sum(c["params"]["reps"] * c["params"]["customers"] for c in cases)


def show(label: str, run: Any, per_request_ref: float) -> dict[str, Any]:
    data = json.loads(run.stdout)
    cases = data["cases"]
    worker_s = sum(c["seconds"] for c in cases)
    n = requests_in(cases)
    print(f"validate all {label}: {run.seconds:.1f} s wall ({data['s']:.1f} s inside), peak {run.peak_mb:,.0f} MB")
    print(
        f"  {worker_s:,.0f} s of replications in the workers for {n:,} requests (Ciw's included): "
        f"{worker_s / n / per_request_ref:.2f}x a bare SimPy M/M/c's time per request"
    )
    for case in cases:
        verdict = "agrees" if case["agrees"] else "DISAGREES"
        print(f"  {case['case']:<9} {verdict:<10} {case['seconds']:6.1f} s   {case['title']}")
        for m in case["measures"]:
            peer = m["peer"]
            extra = ""
            if peer:
                lo, hi = peer["difference_ci"]
                extra = f"   {peer['name']} {peer['sim']:.4g}, difference {lo:+.4g} to {hi:+.4g}"
            print(
                f"      {m['name']:<22} theory {m['theory']:<10.4g} engine {m['sim']:<10.4g} "
                f"[{m['ci'][0]:.4g}, {m['ci'][1]:.4g}] {'✓' if m['agrees'] else '✗'} {m['rule']}{extra}"
            )
        for note in case["notes"]:
            print(f"      ({note})")
    level = cases[0]["interval"]
    print(f"  intervals simultaneous over {level['simultaneous_over']} tests, each at {level['each_at']:.4%}")
    return {"s": run.seconds, "agrees": all(c["agrees"] for c in cases), "cases": cases}


def main(quick: bool = False) -> dict[str, Any]:
    start = time.perf_counter()
    ref = min(bare_simpy(i, REFERENCE) for i in range(3)) / REFERENCE
    print(f"reference: bare SimPy M/M/11, {1 / ref:,.0f} requests/s (best of 3 runs of {REFERENCE:,})")
    result = {"quick": show("--quick", measure(RUN, "quick"), ref)}
    if not quick:
        result["full"] = show("(defaults)", measure(RUN, "full"), ref)
    print(f"benchmark took {time.perf_counter() - start:,.0f} s")
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
