"""Measure a Python snippet in a fresh child process: wall seconds and peak resident memory (MB)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    stdout: str


def measure(code: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Measured:
    """Run ``python -c code args`` once in ``cwd``; the child's own rusage gives its peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed with exit status {proc.returncode}")
    return Measured(elapsed, usage.ru_maxrss / 1024, out)


def best_of(n: int, code: str, *args: str) -> Measured:
    runs = [measure(code, *args) for _ in range(n)]
    return min(runs, key=lambda m: m.seconds)
