"""The experiment harness: replications, paired comparisons and sweeps.

For notebooks, :func:`compare` and :func:`sweep` return pandas DataFrames in the shape of ``results.csv``
(one row per scenario or design point × replication × KPI); the richer results behind the CLI come from
:func:`compare_scenarios` and :func:`run_sweep`. Staffing answers are built on this harness in
:mod:`sim.analysis.staffing` (:func:`~sim.analysis.staffing.staff` for notebooks). Which scenarios a
comparison runs, and under which labels, is decided in one place, :mod:`sim.experiment.plan` (files,
``--set`` overrides for all of them, and variants: ``"no whistle: whistle.enabled=false"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiment.compare import Comparison, compare_scenarios
    from sim.experiment.executors import DaskCluster, Executor, LocalPool, Sequential, executor_for
    from sim.experiment.kpis import KPIS
    from sim.experiment.plan import Plan, Variant, build_plan, parse_variant, plan_entries, unique_labels
    from sim.experiment.sweep import Sweep, run_sweep
    from sim.scenario import Scenario

# The harness pulls in scipy, pandas and pyarrow; load it when first used, not when the CLI starts.
_LAZY = {
    "Comparison": "sim.experiment.compare",
    "compare_scenarios": "sim.experiment.compare",
    "Plan": "sim.experiment.plan",
    "Variant": "sim.experiment.plan",
    "build_plan": "sim.experiment.plan",
    "parse_variant": "sim.experiment.plan",
    "plan_entries": "sim.experiment.plan",
    "unique_labels": "sim.experiment.plan",
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
    "Variant",
    "build_plan",
    "compare",
    "compare_scenarios",
    "executor_for",
    "parse_variant",
    "plan_entries",
    "run_sweep",
    "sweep",
    "unique_labels",
]


def compare(
    scenarios: Sequence[str | Path | Scenario],
    *,
    reps: int = 10,
    days: float | None = None,
    seed: int = 0,
    warmup_days: float | str | None = None,
    overrides: Sequence[str] = (),
    variants: Sequence[str | Variant] = (),
    executor: Executor | None = None,
) -> Any:
    """Run the scenarios (files or loaded scenarios, each with ``overrides``) and the ``variants`` (the
    first scenario with overrides of its own: ``"no whistle: whistle.enabled=false"``) with common random
    numbers; one row per scenario × replication × KPI, the ``scenario`` column holding each one's label."""
    from sim.experiment.compare import compare_scenarios
    from sim.experiment.plan import build_plan

    plan = build_plan(scenarios, overrides, variants, reps=reps, days=days, seed=seed, warmup_days=warmup_days)
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
    variants: Sequence[str | Variant] = (),
    executor: Executor | None = None,
) -> Any:
    """Sweep ``file`` over ``vary`` ("key=v1,v2,..."), and each of ``variants`` over the same points; one
    row per design point × replication × KPI (with variants, a ``variant`` column names the series)."""
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
        variants=variants,
        executor=executor,
        keep_rows=True,
    )
    return result.comparison.collector.frame()
