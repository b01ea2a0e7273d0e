"""Sweeps: one scenario run over a grid (full factorial) or a Latin hypercube of settings.

Any key ``--set`` accepts can be varied; every design point runs the same replications (common random
numbers across points), and each KPI is reported per point with its interval.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from scipy.stats import qmc

from sim import limits
from sim.errors import Problem, ScenarioError
from sim.experiment.compare import Comparison, Plan, compare_scenarios
from sim.experiment.errors import ExperimentError
from sim.experiment.executors import Executor
from sim.experiment.kpis import KPIS
from sim.scenario import load_scenario
from sim.scenario.loader import check_path, parse_value


@dataclass(frozen=True)
class Vary:
    key: str
    values: tuple[Any, ...]

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


def parse_vary(text: str) -> Vary:
    """``key=v1,v2,...``: the values are read as TOML, like ``--set`` values."""
    source = f"--vary {text}"
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ScenarioError(Problem("malformed --vary", source=source, expected="key=v1,v2,...", found=f"'{text}'"))
    path = tuple(int(p) if p.isdigit() else p for p in key.split("."))
    check_path(path, source)
    values = tuple(parse_value(v.strip()) for v in _split(raw))
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(Problem("a value is listed twice", source=source, found=raw))
    return Vary(key, values)


def _split(raw: str) -> list[str]:
    """Split at commas that are not inside brackets or quotes (values may be arrays or strings)."""
    out: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in raw:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return [v for v in out if v.strip()]


def design(
    varies: Sequence[Vary], kind: str = "full", samples: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """The design points: every combination (``full``), or a Latin hypercube of ``samples`` points
    (``lhs``: numeric keys sampled across their listed range, other keys among their listed values)."""
    if not varies:
        raise ExperimentError("a sweep needs at least one --vary key=v1,v2,...")
    if kind == "full":
        count = math.prod(len(v.values) for v in varies)
        if count > limits.MAX_POINTS:
            raise ExperimentError(
                f"--design full: {count:,} combinations of the --vary values, more than the {limits.MAX_POINTS:,} "
                "design points a sweep takes; vary fewer values, or use --design lhs --samples N"
            )
        return [
            dict(zip([v.key for v in varies], combo, strict=True))
            for combo in itertools.product(*(v.values for v in varies))
        ]
    if kind != "lhs":
        raise ExperimentError(f"unknown design '{kind}' (full or lhs)")
    if not samples or samples < 2:
        raise ExperimentError("--design lhs needs --samples N (at least 2)")
    unit = qmc.LatinHypercube(d=len(varies), rng=np.random.default_rng(seed)).random(samples)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for v, u in zip(varies, row, strict=True):
            if v.numeric and len(v.values) >= 2:
                lo, hi = min(v.values), max(v.values)
                x = lo + float(u) * (hi - lo)
                point[v.key] = round(x) if all(isinstance(a, int) for a in v.values) else round(x, 6)
            else:
                point[v.key] = v.values[min(int(u * len(v.values)), len(v.values) - 1)]
        points.append(point)
    return points


def as_set(key: str, value: Any) -> str:
    return f"{key}={tomli_w.dumps({'v': value}).strip()[4:]}"


@dataclass
class Sweep:
    comparison: Comparison
    points: list[dict[str, Any]]
    keys: list[str]

    def table(self) -> list[dict[str, Any]]:
        summary = self.comparison.summary()
        return [
            {"point": i, "values": point, "reps": s["reps"], "kpis": s["kpis"]}
            for i, (point, s) in enumerate(zip(self.points, summary["scenarios"], strict=True))
        ]

    def summary(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "file": None,
            "keys": self.keys,
            "points": self.table(),
            "reps": c.reps,
            "seed": c.plan.seed,
            "days": c.days,
            "warmup_days": c.warmup_days,
            "failures": c.collector.failures,
            "kpis": [k.name for k in KPIS],
        }


def run_sweep(
    file: str | Path,
    varies: Sequence[Vary],
    *,
    reps: int,
    design_kind: str = "full",
    samples: int | None = None,
    days: float | None = None,
    seed: int = 0,
    warmup_days: float | str | None = None,
    overrides: Sequence[str] = (),
    executor: Executor | None = None,
    out: Path | None = None,
    keep_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    points = design(varies, design_kind, samples, seed)
    keys = [v.key for v in varies]
    scenarios, columns = [], {}
    for i, point in enumerate(points):
        sets = [as_set(k, v) for k, v in point.items()]
        scenario = load_scenario(file, [*overrides, *sets])
        label = f"#{i} " + ", ".join(f"{k}={v}" for k, v in point.items())
        scenarios.append((label, scenario))
        columns[label] = {"point": i, **point}
    plan = Plan(scenarios, reps=reps, days=days, seed=seed, warmup_days=warmup_days, columns=columns)
    comparison = compare_scenarios(plan, executor, out=out, keep_rows=keep_rows, progress=progress, paired=False)
    return Sweep(comparison, points, keys)
