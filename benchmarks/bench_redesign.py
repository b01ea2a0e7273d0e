"""The engine in this checkout against a reference commit (the one before the redesign), side by side.

The reference is extracted with ``git archive`` into a temporary folder (removed at the end). The same
workloads then run in fresh child processes, alternating reference and this checkout round by round,
with the same Python and each tree on ``PYTHONPATH`` (and as the working folder):

(a) the engine's M/M/c of ``validate mmc`` (``bench_engine``'s model and size; the replication's time);
(b) the district ``scenarios/haigang-2020.toml`` for N days with the event log on, the scenario's seed
    (the whole child's time: imports, loading, the run and closing the log).

Each figure is the median of the rounds, as wall seconds and as CPU seconds (all the child's threads; less
disturbed by other work on a shared machine); a ratio is this checkout's median over the reference's (below
1 is faster), and the round ratio the median of each round's own ratio. ``--paired`` runs the two trees of
a round at the same time, one per core, so that both see the same conditions on a machine whose speed
drifts from minute to minute (each still has a core of its own; the event log's writer thread shares it).
Both trees must give the same result: the M/M/c figures equal, and the event logs the same rows (a
SHA-256 over each column's name and values, dictionary columns decoded). A difference is reported and the
script exits with status 1.

``--new COMMIT`` measures that commit (extracted the same way) instead of this checkout as it is.

Run: ``.venv/bin/python benchmarks/bench_redesign.py [--ref COMMIT] [--new COMMIT] [--days N] [--rounds N]
[--paired] [--quick] [--json]``
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _measure import ROOT, measure
from bench_engine import MMC, YEAR, C, N

REF = "21e22af"
SCENARIO = "scenarios/haigang-2020.toml"
#: Run first in every child: the package must come from the tree under test, not from the editable install.
OWN_TREE = (
    "import pathlib, sim;"
    "assert pathlib.Path(sim.__file__).resolve().is_relative_to(pathlib.Path.cwd().resolve()), sim.__file__;"
)


@dataclass
class Workload:
    """One workload's wall seconds and CPU seconds (all the child's threads) per round, for each tree."""

    name: str
    ref_s: list[float] = field(default_factory=list)
    new_s: list[float] = field(default_factory=list)
    ref_cpu_s: list[float] = field(default_factory=list)
    new_cpu_s: list[float] = field(default_factory=list)
    identical: bool | None = None
    evidence: str = ""

    def add(self, side: str, got: dict[str, Any]) -> None:
        (self.ref_s if side == "ref" else self.new_s).append(got["s"])
        (self.ref_cpu_s if side == "ref" else self.new_cpu_s).append(got["cpu_s"])

    def medians(self) -> dict[str, float]:
        m = {name: statistics.median(getattr(self, name)) for name in ("ref_s", "new_s", "ref_cpu_s", "new_cpu_s")}
        return {
            "ref_median_s": m["ref_s"],
            "new_median_s": m["new_s"],
            "ratio": m["new_s"] / m["ref_s"],
            "ref_median_cpu_s": m["ref_cpu_s"],
            "new_median_cpu_s": m["new_cpu_s"],
            "cpu_ratio": m["new_cpu_s"] / m["ref_cpu_s"],
            "round_ratio": statistics.median(n / r for n, r in zip(self.new_s, self.ref_s, strict=True)),
            "best_ratio": min(self.new_s) / min(self.ref_s),
            "best_cpu_ratio": min(self.new_cpu_s) / min(self.ref_cpu_s),
        }

    def row(self) -> dict[str, Any]:
        return {**asdict(self), **self.medians()}


def extract(commit: str, into: Path) -> str:
    """The tree of ``commit`` unpacked into ``into``; returns the full commit id."""
    try:
        full = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except subprocess.CalledProcessError:
        print(f"error: {commit!r}: no such commit in {ROOT}", file=sys.stderr)
        raise SystemExit(2) from None
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", full], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return full


def head() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    changed = " with uncommitted changes" if git("status", "--porcelain") else ""
    return f"this checkout ({git('rev-parse', '--short', 'HEAD')}{changed})"


def run_in(tree: Path, code: str, *args: str) -> dict[str, Any]:
    measured = measure(OWN_TREE + code, *args, env={"PYTHONPATH": str(tree)}, cwd=tree)
    out: dict[str, Any] = json.loads(measured.stdout)
    return out


def log_digest(path: Path) -> tuple[str, int]:
    """SHA-256 over each column's name and values (dictionary columns decoded, strings as UTF-8 with
    their lengths), and the number of rows: equal for two logs with the same rows whatever their files'
    row groups, dictionaries or compression."""
    table = pq.read_table(path)
    h = hashlib.sha256()
    for name in table.column_names:
        h.update(name.encode())
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        array = column.combine_chunks()
        h.update(np.asarray(array.is_null()).tobytes())
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            values = array.to_pylist()
            h.update(np.fromiter((len(v or "") for v in values), dtype=np.int64, count=len(values)).tobytes())
            h.update("".join(v or "" for v in values).encode())
        else:
            h.update(np.ascontiguousarray(array.to_numpy(zero_copy_only=False)).tobytes())
    return h.hexdigest(), table.num_rows


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default=REF, help=f"the reference commit (default {REF})")
    parser.add_argument("--new", default=None, help="a commit to measure instead of this checkout as it is")
    parser.add_argument("--days", type=float, default=None, help="days of the district run (default 80; 10 quick)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running both trees (default 3)")
    parser.add_argument("--paired", action="store_true", help="run the two trees of a round at the same time")
    parser.add_argument("--quick", action="store_true", help="small sizes: 50,000 M/M/c requests, 10 days")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    opts = parser.parse_args([] if argv is None else argv)
    if opts.rounds < 1:
        parser.error("--rounds must be at least 1")
    days = opts.days if opts.days is not None else (10.0 if opts.quick else 80.0)
    if not days > 0:
        parser.error("--days must be more than 0")
    customers = 50_000 if opts.quick else N
    mmc = Workload(f"M/M/{C}, {customers:,} requests (validate mmc)")
    district = Workload(f"haigang-2020, {days:g} days, event log on")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the temporary trees are removed
    with tempfile.TemporaryDirectory(prefix="microgov-bench-ref-") as tmp:
        ref_tree = Path(tmp) / "ref"
        full = extract(opts.ref, ref_tree)
        trees = {"ref": ref_tree, "new": ROOT}
        if opts.new is not None:
            trees["new"] = Path(tmp) / "new"
            new_label = extract(opts.new, trees["new"])[:7]
        else:
            new_label = head()
        for tree in trees.values():  # compile the bytecode first, so that no round pays for it
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "sim")], check=True)
        figures: dict[str, Any] = {}
        digests: dict[str, tuple[str, int]] = {}

        def both(side: str) -> tuple[dict[str, Any], dict[str, Any]]:
            tree = trees[side]
            got = run_in(tree, MMC, str(customers), "1")
            year = run_in(tree, YEAR, str((tree / SCENARIO).resolve()), str(Path(tmp) / f"{side}.parquet"), str(days))
            return got, year

        for r in range(opts.rounds):
            sides = ["ref", "new"] if r % 2 == 0 or not opts.paired else ["new", "ref"]
            if opts.paired:
                with ThreadPoolExecutor(max_workers=2) as pool:
                    done = dict(zip(sides, pool.map(both, sides), strict=True))
            else:
                done = {side: both(side) for side in sides}
            for side in ("ref", "new"):
                got, year = done[side]
                mmc.add(side, got)
                district.add(side, year)
                figures.setdefault(side, got["figures"])
                if side not in digests:
                    digests[side] = log_digest(Path(tmp) / f"{side}.parquet")
                say(f"round {r + 1}/{opts.rounds} {side}: M/M/c {got['s']:.2f} s, district {year['s']:.2f} s")
        mmc.identical = figures["ref"] == figures["new"]
        mmc.evidence = "figures equal" if mmc.identical else f"figures differ: {figures['ref']} vs {figures['new']}"
        district.identical = digests["ref"] == digests["new"]
        (dr, nr), (dn, nn) = digests["ref"], digests["new"]
        district.evidence = (
            f"event log {nr:,} rows, sha256 {dr[:16]}"
            if district.identical
            else f"logs differ: {dr[:16]} ({nr:,} rows) vs {dn[:16]} ({nn:,} rows)"
        )
    result = {
        "ref": full,
        "new": new_label,
        "rounds": opts.rounds,
        "paired": opts.paired,
        "python": sys.version.split()[0],
        "workloads": [w.row() for w in (mmc, district)],
    }
    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        how = "paired (the two at the same time)" if opts.paired else "alternating"
        print(f"engine: {result['new']} against {full[:7]}, median of {opts.rounds} {how} rounds")
        print(
            f"  {'workload':<44} {'ref s':>7} {'new s':>7} {'new/ref':>7}  {'CPU ref':>7} {'CPU new':>7} {'new/ref':>7}"
            f"  {'rounds':>6}"
        )
        for w in (mmc, district):
            m = w.medians()
            print(
                f"  {w.name:<44} {m['ref_median_s']:>7.2f} {m['new_median_s']:>7.2f} {m['ratio']:>7.2f}  "
                f"{m['ref_median_cpu_s']:>7.2f} {m['new_median_cpu_s']:>7.2f} {m['cpu_ratio']:>7.2f}"
                f"  {m['round_ratio']:>6.2f}"
            )
        for w in (mmc, district):
            print(f"  {w.name}: {'the same result' if w.identical else 'DIFFERENT RESULTS'} ({w.evidence})")
    if not (mmc.identical and district.identical):
        raise SystemExit(1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
