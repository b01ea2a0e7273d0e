"""Build the full default district: time and peak memory, beside the cost of just importing the library.

Target (issue: foundation): under 5 s and under 500 MB peak on a 2-core machine.
Run: ``.venv/bin/python benchmarks/bench_structure.py``
"""

from __future__ import annotations

from _measure import best_of

IMPORT_ONLY = "import sim.scenario, sim.structure"
BUILD = (
    "import sys, time; t = time.perf_counter();"
    "from sim.scenario import load_scenario; from sim.structure import build_district;"
    "d = build_district(load_scenario(sys.argv[1]));"
    "print(time.perf_counter() - t, d.graph.number_of_nodes())"
)


def main() -> dict[str, float]:
    scenario = "scenarios/haigang-2020.toml"
    base = best_of(3, IMPORT_ONLY)
    full = best_of(3, BUILD, scenario)
    inner, nodes = full.stdout.split()
    result = {
        "nodes": int(nodes),
        "build_s": float(inner),
        "process_s": full.seconds,
        "peak_mb": full.peak_mb,
        "import_only_s": base.seconds,
        "import_only_peak_mb": base.peak_mb,
    }
    print("structure: build the default district (haigang-2020)")
    print(f"  nodes                      {result['nodes']:,}")
    print(
        f"  build (import to graph)    {result['build_s']:.2f} s   target ≤ 5 s ({result['build_s'] / 5:.0%} of target)"
    )
    print(
        f"  whole process              {full.seconds:.2f} s   (import only: {base.seconds:.2f} s, "
        f"ratio {full.seconds / base.seconds:.1f}×)"
    )
    print(
        f"  peak memory                {full.peak_mb:.0f} MB  target ≤ 500 MB ({full.peak_mb / 500:.0%} of target; "
        f"import only: {base.peak_mb:.0f} MB)"
    )
    return result


if __name__ == "__main__":
    main()
