"""Where the simulated year's time goes: ``haigang-2020`` for 365 days with the event log on (as in
``bench_engine`` (b)), under cProfile; the top entries by own time (tottime) and by time including callees
(cumtime), with each one's share of the profiled total.

cProfile adds a cost to every Python call, so the profiled run takes several times the plain one and
Python-heavy functions look larger than they are; the shares say where to look, ``bench_engine`` and
``bench_redesign`` measure the effect.

Run: ``.venv/bin/python benchmarks/profile_year.py [--days N] [--top N] [--out FILE] [--stats DUMP]``
(``--stats`` formats a saved ``cProfile`` dump instead of running; ``--save`` keeps this run's dump).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import ROOT

SCENARIO = ROOT / "scenarios" / "haigang-2020.toml"


def where(key: tuple[str, int, str]) -> str:
    """A function's place, with the checkout's and the installed packages' folders left out."""
    path, line, name = key
    for base in (sysconfig.get_paths()["purelib"] + "/", str(ROOT) + "/"):
        if path.startswith(base):
            path = path[len(base) :]
    if not line:
        return name if path == "~" else path
    return f"{path}:{line}({name})"


def table(stats: pstats.Stats, by: str, top: int) -> list[str]:
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    column = 2 if by == "tottime" else 3
    rows = sorted(raw.items(), key=lambda kv: kv[1][column], reverse=True)[:top]
    out = [f"{'ncalls':>10} {'tottime':>9} {'share':>6} {'cumtime':>9} {'share':>6}  function"]
    for key, (_, calls, tt, ct, _) in rows:
        out.append(f"{calls:>10,} {tt:>9.2f} {tt / total:>6.1%} {ct:>9.2f} {ct / total:>6.1%}  {where(key)}")
    return out


def by_module(stats: pstats.Stats, top: int) -> list[str]:
    """Own time summed per source file (built-in functions together), and the event log's writing
    (``EventLog.flush`` with what it calls: converting rows, encoding, compressing)."""
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    sums: dict[str, float] = {}
    flush = 0.0
    for key, (_, _, tt, ct, _) in raw.items():
        name = where((key[0], 0, "<built-in>")) if key[1] else "<built-in functions>"
        sums[name] = sums.get(name, 0.0) + tt
        if key[0].endswith("eventlog.py") and key[2] == "flush":
            flush += ct
    out = [f"{'tottime':>9} {'share':>6}  file"]
    out += [f"{t:>9.2f} {t / total:>6.1%}  {n}" for n, t in sorted(sums.items(), key=lambda kv: -kv[1])[:top]]
    out.append(f"{flush:>9.2f} {flush / total:>6.1%}  (the event log's batches: EventLog.flush, cumulative)")
    return out


def report(stats: pstats.Stats, top: int, header: list[str]) -> str:
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [*header, f"profiled total {total:.1f} s", "", f"top {top} by own time (tottime):"]
    lines += table(stats, "tottime", top)
    lines += ["", f"top {top} by time including callees (cumtime):"]
    lines += table(stats, "cumtime", top)
    lines += ["", "own time by file:"]
    lines += by_module(stats, 8)
    return "\n".join(lines) + "\n"


def profile(days: float, save: Path | None) -> tuple[pstats.Stats, list[str]]:
    from sim.engine import simulate
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        profiler.enable()
        result = simulate(scenario, days=days, events=Path(tmp) / "year.parquet")
        profiler.disable()
        took = time.perf_counter() - start
    if save is not None:
        profiler.dump_stats(save)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    header = [
        f"haigang-2020, {days:g} days, event log on, scenario seed; commit {commit.stdout.strip()}",
        f"{result.kpis['requests']:,} requests, {result.event_rows:,} event rows; {took:.1f} s under cProfile",
    ]
    return pstats.Stats(profiler), header


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=365.0, help="days to simulate (default 365)")
    parser.add_argument("--top", type=int, default=15, help="entries in each table (default 15)")
    parser.add_argument("--out", type=Path, help="write the tables to this file as well")
    parser.add_argument("--stats", type=Path, help="format this cProfile dump instead of running")
    parser.add_argument("--save", type=Path, help="keep this run's cProfile dump in this file")
    parser.add_argument("--note", default="", help="a first line for the report (what was profiled)")
    opts = parser.parse_args([] if argv is None else argv)
    if opts.stats is not None:
        if not opts.stats.is_file():
            parser.error(f"--stats {opts.stats}: no such file")
        stats, header = pstats.Stats(str(opts.stats)), [f"from the cProfile dump {opts.stats.name}"]
    else:
        stats, header = profile(opts.days, opts.save)
    text = report(stats, opts.top, [opts.note, *header] if opts.note else header)
    print(text, end="")
    if opts.out is not None:
        opts.out.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:])
