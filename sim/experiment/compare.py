"""Comparing scenarios: replications with common random numbers, paired differences and verdicts.

"50 staff per street cuts urgent waiting by X hours (95% CI a..b)": every scenario runs the same
replications (replication i sees the same arrivals everywhere), each KPI gets a t-interval per scenario,
and each scenario's per-replication difference from the first gives a paired interval and a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import limits
from sim.experiment.collect import Collector
from sim.experiment.errors import ExperimentError, ScenarioFailed
from sim.experiment.executors import Executor, Sequential
from sim.experiment.kpis import KPI, KPIS, kpi
from sim.experiment.plan import Plan as Plan  # the plan lives in its own module; imported from here too
from sim.experiment.plan import unique_labels as unique_labels
from sim.experiment.replicate import Target, Task, run_replication
from sim.experiment.stats import LEVEL, Running, holm, mser5, mser5_cap, p_value, verdict
from sim.scenario.sense import check_run

MIN_AUTO_REPS = 5


@dataclass
class Comparison:
    """The outcome of a comparison; ``summary()`` is what ``compare --json`` prints."""

    plan: Plan
    collector: Collector
    reps: int
    days: float
    warmup_days: float
    warmup_auto: dict[str, Any] | None

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.plan.scenarios]

    def summary(self) -> dict[str, Any]:
        c = self.collector
        scenarios = []
        for label in self.labels:
            stats = c.stats[label]
            kpis = {k.name: _interval(stats[k.name], k) for k in KPIS}
            for name, n in c.judged[label].items():
                kpis[name]["judged"] = n.mean if n.n else None
            about = {"name": label, **self.plan.origins.get(label, {})}
            scenarios.append(
                {**about, "reps": c.reps_done[label], "kpis": kpis, "too_short": c.too_short.get(label, [])}
            )
        paired = []
        base = self.labels[0]
        for label in self.labels[1:]:
            kpis = paired_differences(c.diffs[label])
            paired.append({"name": label, "vs": base, "kpis": kpis})
        return {
            "scenarios": scenarios,
            "paired": paired,
            "reps": self.reps,
            "seed": self.plan.seed,
            "days": self.days,
            "warmup_days": self.warmup_days,
            "warmup_auto": self.warmup_auto,
            "headline": self.plan.headline,
            "multiplicity": MULTIPLICITY,
            "failures": c.failures,
        }


MULTIPLICITY = (
    "Holm: the verdicts of each comparison (one scenario against the first) keep the chance of any false "
    "'better' or 'worse' among its KPIs at 5%; 'ci' is each KPI's own 95% interval"
)


def paired_differences(diffs: dict[str, Running], alpha: float = 1.0 - LEVEL) -> dict[str, dict[str, Any]]:
    """Each KPI's paired difference, its own 95% interval, its p-value, the Holm-adjusted p-value over
    the KPIs with data (one family per comparison), and the verdict that adjusted value gives."""
    with_data = [k for k in KPIS if diffs[k.name].n]
    adjusted = holm([p_value(diffs[k.name]) for k in with_data])
    out: dict[str, dict[str, Any]] = {}
    for k in KPIS:
        out[k.name] = {"diff": None, "ci": None, "p_value": None, "p_holm": None, "verdict": "no data"}
    for k, p_holm in zip(with_data, adjusted, strict=True):
        r = diffs[k.name]
        lo, hi = r.interval()
        out[k.name] = {
            "diff": _num(r.mean),
            "ci": [_num(lo), _num(hi)],
            "p_value": p_value(r),
            "p_holm": p_holm,
            "verdict": verdict(lo, hi, k.better, significant=p_holm <= alpha),
        }
    return out


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _interval(r: Running, k: KPI) -> dict[str, Any]:
    """Mean and 95% interval of a KPI; the interval is clipped to the values the KPI can take
    (``KPI.bounds``: a share of requests 0..1, a time or a count at least 0)."""
    if not r.n:
        return {"mean": None, "ci": None}
    lo, hi = r.interval()
    least, most = k.bounds
    lo, hi = max(least, lo), min(most, hi)
    return {"mean": _num(r.mean), "ci": [_num(lo), _num(hi)]}


def auto_warmup(plan: Plan, days: float) -> tuple[float, dict[str, Any]]:
    """MSER-5 on the hourly backlog of one pilot replication per scenario; the longest truncation wins."""
    found = {}
    not_steady = []
    for label, scenario in plan.scenarios:
        task = Task(label, 0, 0, scenario.model_dump(mode="python"), plan.seed, days, 0.0, None, plan.offices)
        try:
            pilot = run_replication(task)
        except ScenarioFailed as exc:
            raise ExperimentError("\n".join(f"{label}: {line}" for line in str(exc).splitlines())) from None
        cut = mser5(pilot.backlog)
        found[label] = pilot.backlog_t[cut] / 24.0 if cut < len(pilot.backlog_t) else 0.0
        if cut and cut >= mser5_cap(len(pilot.backlog)):
            not_steady.append(label)
    chosen = math.ceil(max(found.values()) * 10) / 10
    if chosen >= days:
        raise ExperimentError(f"MSER-5 chose a warm-up of {chosen:g} days, not shorter than the run; run longer")
    return chosen, {
        "method": "MSER-5 on the hourly backlog of a pilot replication",
        "days": chosen,
        "by_scenario": found,
        "not_steady": not_steady,
        "warning": not_steady_warning(not_steady),
    }


def not_steady_warning(labels: Sequence[str]) -> str | None:
    """What a user must know when MSER-5 cut as much as it may: the backlog is still trending, there is
    no steady state to measure, and the warm-up it chose is only its cap."""
    if not labels:
        return None
    return (
        f"MSER-5 cut as much as it may (half the pilot run) for {', '.join(labels)}: the backlog is still "
        "trending, so there is no steady state to measure; the KPIs describe this run length, not the long run"
    )


def compare_scenarios(
    plan: Plan,
    executor: Executor | None = None,
    *,
    out: Path | None = None,
    keep_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
    paired: bool = True,
    target: Target | None = None,
) -> Comparison:
    """Run ``plan`` and collect the results (written to ``out`` as they arrive, if given)."""
    if not plan.scenarios:
        raise ExperimentError("nothing to compare: give at least one scenario")
    kpi(plan.headline)
    labels = [label for label, _ in plan.scenarios]
    if len(set(labels)) != len(labels):
        raise ExperimentError(f"two scenarios have the same name: {labels}")
    if plan.reps is not None and not 1 <= plan.reps <= limits.MAX_REPS:
        raise ExperimentError(f"reps: expected 1 to {limits.MAX_REPS:,} replications, found {plan.reps:,}")
    if not 2 <= plan.max_reps <= limits.MAX_REPS:
        raise ExperimentError(f"max_reps: expected 2 to {limits.MAX_REPS:,} replications, found {plan.max_reps:,}")
    runs = (plan.reps or plan.max_reps) * len(labels)
    if runs > limits.MAX_RUNS:
        raise ExperimentError(
            f"{len(labels):,} scenarios × {plan.reps or plan.max_reps:,} replications is {runs:,} runs, more than the "
            f"{limits.MAX_RUNS:,} one experiment takes; fewer replications or design points"
        )
    days = plan.days if plan.days is not None else plan.scenarios[0][1].clock.days
    auto = plan.warmup_days == "auto"
    given = None if auto or plan.warmup_days is None else float(plan.warmup_days)
    for _, scenario in plan.scenarios:  # each must be able to judge something in the window asked for
        check_run(scenario, plan.days, 0.0 if auto else given)
    warmup_auto = None
    if auto:
        warmup, warmup_auto = auto_warmup(plan, days)
    else:
        warmup = given if given is not None else plan.scenarios[0][1].clock.warmup_days
    if warmup >= days:
        raise ExperimentError(f"the warm-up ({warmup:g} days) must be shorter than the run ({days:g} days)")
    columns = plan.columns or {label: {"scenario": label} for label in labels}
    collector = Collector(labels, columns, out=out, keep_rows=keep_rows, paired=paired)
    docs = {label: scenario.model_dump(mode="python") for label, scenario in plan.scenarios}
    executor = executor or Sequential()
    goal = plan.reps if plan.reps is not None else MIN_AUTO_REPS
    done = 0
    finished_ok = False
    try:
        while True:
            tasks = [
                Task(label, i, rep, docs[label], plan.seed, days, warmup, target, plan.offices)
                for rep in range(done, goal)
                for i, label in enumerate(labels)
            ]
            total = goal * len(labels)
            finished = done * len(labels)
            for outcome in executor.run(tasks):
                if outcome.fatal:
                    raise ExperimentError(
                        "\n".join(f"{outcome.task.label}: {line}" for line in (outcome.error or "").splitlines())
                    )
                collector.add(outcome)
                finished += 1
                if progress:
                    progress(finished, total)
            done = goal
            if plan.reps is not None:
                break
            goal = _more_reps(collector, labels, plan, done)
            if goal <= done:
                break
        finished_ok = True
    finally:
        # an experiment that stops part-way leaves no half-written results behind
        collector.close() if finished_ok else collector.abort()
    return Comparison(plan, collector, done, days, warmup, warmup_auto)


def _more_reps(collector: Collector, labels: Sequence[str], plan: Plan, done: int) -> int:
    """How many replications to reach the requested half-width on the headline KPI in every scenario
    (by the usual n ∝ (s / w)² estimate), capped at ``max_reps``."""
    assert plan.ci_width is not None
    need = done
    for label in labels:
        r = collector.stats[label][plan.headline]
        if r.n >= 2 and r.half_width() >= plan.ci_width:
            need = max(need, math.ceil(r.n * (r.half_width() / plan.ci_width) ** 2) + 1)
    return min(need, plan.max_reps)
