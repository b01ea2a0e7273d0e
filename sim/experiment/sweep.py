"""Sweeps: one scenario run over a grid (full factorial) or a Latin hypercube of settings.

Any key ``--set`` accepts can be varied; every design point runs the same replications (common random
numbers across points), and each KPI is reported per point with its interval. Variants (the file with
overrides of their own, see :mod:`sim.experiment.plan`) are series: each runs every design point, so
"staff 11 to 50, with and without the whistle" is one sweep with one curve per series.
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
from sim.experiment.compare import Comparison, compare_scenarios
from sim.experiment.errors import ExperimentError
from sim.experiment.executors import Executor
from sim.experiment.kpis import KPIS
from sim.experiment.plan import Entry, Plan, Variant, plan_entries, split_outside
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
    values = tuple(parse_value(v.strip()) for v in split_outside(raw, ","))
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(Problem("a value is listed twice", source=source, found=raw))
    return Vary(key, values)


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
    """A finished sweep: every series (the file, then each variant) run at every design point."""

    comparison: Comparison
    points: list[dict[str, Any]]
    keys: list[str]
    series: list[Entry]
    """The file's scenario first, then each variant: each runs every design point."""

    @property
    def variants(self) -> bool:
        return len(self.series) > 1

    def table(self) -> list[dict[str, Any]]:
        """One row per series × design point: the point's number, its series' label, its values, KPIs."""
        summary = self.comparison.summary()
        rows = [(entry, i, point) for entry in self.series for i, point in enumerate(self.points)]
        return [
            {"point": i, "variant": entry.label, "values": point, "reps": s["reps"], "kpis": s["kpis"]}
            for (entry, i, point), s in zip(rows, summary["scenarios"], strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "file": None,
            "keys": self.keys,
            "variants": [{"label": e.label, "sets": list(e.variant.sets) if e.variant else []} for e in self.series],
            "points": self.table(),
            "reps": c.reps,
            "seed": c.plan.seed,
            "days": c.days,
            "warmup_days": c.warmup_days,
            "failures": c.collector.failures,
            "kpis": [k.name for k in KPIS],
        }


@dataclass
class SweepPlan:
    """What a sweep will run: every series at every design point, as one plan."""

    plan: Plan
    points: list[dict[str, Any]]
    keys: list[str]
    series: list[Entry]


def plan_sweep(
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
    variants: Sequence[str | Variant] = (),
) -> SweepPlan:
    """``file`` (with ``overrides``) at every design point, and each variant (the file with its own
    overrides, labelled) at the same points: one series each, all on the same replications."""
    series = plan_entries([file], overrides, variants)
    points = design(varies, design_kind, samples, seed)
    keys = [v.key for v in varies]
    _refuse_varied(series, keys)
    runs = len(points) * len(series)
    if runs > limits.MAX_POINTS:
        raise ExperimentError(
            f"{len(points):,} design points × {len(series)} series is {runs:,}, more than the "
            f"{limits.MAX_POINTS:,} a sweep takes; fewer values or fewer variants"
        )
    scenarios, columns = [], {}
    for entry in series:
        for i, point in enumerate(points):
            scenario = entry.with_sets([as_set(k, v) for k, v in point.items()])
            values = ", ".join(f"{k}={v}" for k, v in point.items())
            label = f"{entry.label} #{i} {values}" if len(series) > 1 else f"#{i} {values}"
            scenarios.append((label, scenario))
            columns[label] = {"variant": entry.label, "point": i, **point} if len(series) > 1 else {"point": i, **point}
    plan = Plan(scenarios, reps=reps, days=days, seed=seed, warmup_days=warmup_days, columns=columns)
    return SweepPlan(plan, points, keys, series)


def run_planned(
    planned: SweepPlan,
    executor: Executor | None = None,
    *,
    out: Path | None = None,
    keep_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    comparison = compare_scenarios(
        planned.plan, executor, out=out, keep_rows=keep_rows, progress=progress, paired=False
    )
    return Sweep(comparison, planned.points, planned.keys, planned.series)


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
    variants: Sequence[str | Variant] = (),
    executor: Executor | None = None,
    out: Path | None = None,
    keep_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Plan the sweep (:func:`plan_sweep`) and run it."""
    planned = plan_sweep(
        file,
        varies,
        reps=reps,
        design_kind=design_kind,
        samples=samples,
        days=days,
        seed=seed,
        warmup_days=warmup_days,
        overrides=overrides,
        variants=variants,
    )
    return run_planned(planned, executor, out=out, keep_rows=keep_rows, progress=progress)


def _refuse_varied(series: Sequence[Entry], keys: Sequence[str]) -> None:
    """A variant that sets a key the sweep varies (or a table holding it, or a key inside it) would be
    overridden at every point, or override the sweep: refuse it."""
    for entry in series:
        if entry.variant is None:
            continue
        for text in entry.variant.sets:
            mine = text.partition("=")[0].strip()
            for key in keys:
                if mine == key or mine.startswith(key + ".") or key.startswith(mine + "."):
                    raise ScenarioError(
                        Problem(
                            f"sets {mine}, which --vary {key} varies; vary it, or leave it out of the variant",
                            source=entry.variant.source,
                        )
                    )
