"""The experiment harness: replications, paired comparisons, sweeps and staffing answers.

For notebooks, :func:`compare`, :func:`sweep` and :func:`staff` return pandas DataFrames in the shape of
``results.csv`` (one row per scenario or design point × replication × KPI); the richer results behind the
CLI come from :func:`compare_scenarios`, :func:`run_sweep` and :func:`sim.staffing.staff_answer`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiment.compare import Comparison, Plan, compare_scenarios, unique_labels
    from sim.experiment.executors import DaskCluster, Executor, LocalPool, Sequential, executor_for
    from sim.experiment.kpis import KPIS
    from sim.experiment.sweep import Sweep, run_sweep
    from sim.scenario import Scenario

# The harness pulls in scipy, pandas and pyarrow; load it when first used, not when the CLI starts.
_LAZY = {
    "Comparison": "sim.experiment.compare",
    "Plan": "sim.experiment.compare",
    "compare_scenarios": "sim.experiment.compare",
    "unique_labels": "sim.experiment.compare",
    "DaskCluster": "sim.experiment.executors",
    "Executor": "sim.experiment.executors",
    "LocalPool": "sim.experiment.executors",
    "Sequential": "sim.experiment.executors",
    "executor_for": "sim.experiment.executors",
    "KPIS": "sim.experiment.kpis",
    "Sweep": "sim.experiment.sweep",
    "run_sweep": "sim.experiment.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim.experiment' has no attribute {name!r}")


__all__ = [
    "KPIS",
    "Comparison",
    "DaskCluster",
    "Executor",
    "LocalPool",
    "Plan",
    "Sequential",
    "Sweep",
    "compare",
    "compare_scenarios",
    "executor_for",
    "run_sweep",
    "staff",
    "sweep",
    "unique_labels",
]


def _scenario(item: str | Path | Scenario, overrides: Sequence[str]) -> Scenario:
    from sim.scenario import Scenario, load_scenario

    return item if isinstance(item, Scenario) else load_scenario(item, overrides)


def compare(
    scenarios: Sequence[str | Path | Scenario],
    *,
    reps: int = 10,
    days: float | None = None,
    seed: int = 0,
    warmup_days: float | str | None = None,
    overrides: Sequence[str] = (),
    executor: Executor | None = None,
) -> Any:
    """Run the scenarios (files or loaded scenarios) with common random numbers; one row per scenario ×
    replication × KPI."""
    from sim.experiment.compare import Plan, compare_scenarios, unique_labels
    from sim.scenario import Scenario

    loaded = [_scenario(s, overrides) for s in scenarios]
    hints = [Path(s).stem if not isinstance(s, Scenario) else s.name for s in scenarios]
    labels = unique_labels([s.name for s in loaded], hints)
    plan = Plan(list(zip(labels, loaded, strict=True)), reps=reps, days=days, seed=seed, warmup_days=warmup_days)
    return compare_scenarios(plan, executor, keep_rows=True).collector.frame()


def sweep(
    file: str | Path,
    vary: Sequence[str],
    *,
    reps: int = 5,
    design: str = "full",
    samples: int | None = None,
    days: float | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    executor: Executor | None = None,
) -> Any:
    """Sweep ``file`` over ``vary`` ("key=v1,v2,..."); one row per design point × replication × KPI."""
    from sim.experiment.sweep import parse_vary, run_sweep

    result = run_sweep(
        file,
        [parse_vary(v) for v in vary],
        reps=reps,
        design_kind=design,
        samples=samples,
        days=days,
        seed=seed,
        overrides=overrides,
        executor=executor,
        keep_rows=True,
    )
    return result.comparison.collector.frame()


def staff(
    file: str | Path | Scenario,
    target: str,
    *,
    pool: int | None = None,
    reps: int = 5,
    days: float = 14.0,
    seed: int = 0,
    overrides: Sequence[str] = (),
    executor: Executor | None = None,
) -> Any:
    """Answer a staffing question; one row per simulated staffing × replication × KPI (the per-office
    target shares are the rows whose KPI is ``target:<office>``)."""
    import pandas as pd

    from sim.staffing import ServiceTarget, staff_answer

    answer = staff_answer(
        _scenario(file, overrides),
        ServiceTarget.parse(target),
        pool=pool,
        reps=reps,
        days=days,
        seed=seed,
        executor=executor,
        keep_rows=True,
    )
    return pd.DataFrame(answer["rows"], columns=["scenario", "replication", "kpi", "value"])
