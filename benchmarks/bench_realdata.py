"""Import and fit the whole Boston 2015 year (121,145 rows), in fresh processes, against the 10 s target.

(a) ``microgov import`` then ``microgov fit`` as a user runs them (two commands, two processes): wall time
    of each and of both together. Target: both together at most 10 s on the 2-core machine.
(b) The same work in one process, timed inside it (reading, normalising and writing the trace; fitting),
    beside a bare ``pandas.read_csv`` of the file measured in the same run, as a reference for what
    reading the file alone costs.

Run: ``.venv/bin/python benchmarks/bench_realdata.py``
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from _measure import ROOT, best_of, measure

BOSTON = ROOT.parent / "shared" / "data" / "boston-311-2015.csv.gz"
TARGET_S = 10.0

IMPORT_CLI = "import sys; from sim.cli import main; main(sys.argv[1:])"
IN_PROCESS = (
    "import sys, time, json; t0 = time.perf_counter();"
    "from sim.realdata import import_log, read_trace, fit_trace;"
    "from sim.scenario import scenario_from_dict; t1 = time.perf_counter();"
    "r = import_log(sys.argv[1], 'boston', sys.argv[2]); t2 = time.perf_counter();"
    "f = fit_trace(read_trace(sys.argv[2]), scenario_from_dict({})); t3 = time.perf_counter();"
    "print(json.dumps({'libs': t1 - t0, 'import': t2 - t1, 'fit': t3 - t2, 'kept': r.rows_kept,"
    " 'skipped': r.skipped_by_reason}))"
)
BARE_READ = (
    "import sys, time; t = time.perf_counter(); import pandas as pd;"
    "df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False); print(time.perf_counter() - t, len(df))"
)


def main() -> dict[str, float]:
    if not BOSTON.is_file():
        print(f"realdata: {BOSTON} not found; nothing measured")
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        trace, fragment = str(Path(tmp) / "boston.parquet"), str(Path(tmp) / "fit.toml")
        imp = best_of(3, IMPORT_CLI, "import", str(BOSTON), "--format", "boston", "--out", trace, "--json")
        fit = best_of(3, IMPORT_CLI, "fit", trace, "--out", fragment, "--json")
        inner = measure(IN_PROCESS, str(BOSTON), str(Path(tmp) / "inner.parquet"))
        bare = best_of(3, BARE_READ, str(BOSTON))
    figures = json.loads(inner.stdout)
    kept = json.loads(imp.stdout)
    bare_s = float(bare.stdout.split()[0])
    both = imp.seconds + fit.seconds
    print("realdata: import and fit the Boston 2015 year (121,145 rows)")
    print(
        f"  rows kept / skipped        {kept['rows_kept']:,} / {kept['rows_skipped']:,} "
        f"({', '.join(f'{k}: {v:,}' for k, v in kept['skipped_by_reason'].items() if v)})"
    )
    print(f"  microgov import            {imp.seconds:.2f} s  (peak {imp.peak_mb:.0f} MB)")
    print(f"  microgov fit               {fit.seconds:.2f} s  (peak {fit.peak_mb:.0f} MB)")
    print(f"  both, as two commands      {both:.2f} s   target ≤ {TARGET_S:g} s ({both / TARGET_S:.0%} of target)")
    print(
        f"  in one process             {inner.seconds:.2f} s   (libraries {figures['libs']:.2f} s, import "
        f"{figures['import']:.2f} s, fit {figures['fit']:.2f} s)"
    )
    print(
        f"  bare pandas.read_csv       {bare_s:.2f} s   (import within the process: "
        f"{figures['import'] / bare_s:.1f}× a bare read of the file)"
    )
    return {
        "import_s": imp.seconds,
        "fit_s": fit.seconds,
        "both_s": both,
        "in_process_s": inner.seconds,
        "bare_read_s": bare_s,
    }


if __name__ == "__main__":
    main()
