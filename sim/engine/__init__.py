"""The request-flow engine: build a scenario's network, run it, collect KPIs and the event log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.activities import ACTORS
from sim.engine.core import Engine
from sim.engine.network import GRAPH_LEVELS, Network, build_network
from sim.engine.streams import Streams
from sim.eventlog import EventLog
from sim.metrics import Metrics
from sim.scenario.schema import PRIORITIES, Scenario
from sim.structure import District, build_district

__all__ = ["Engine", "RunResult", "Streams", "build_network", "simulate"]


@dataclass
class RunResult:
    """The outcome of one run: its KPIs (as ``run --json`` prints them) and the live metrics object."""

    kpis: dict[str, Any]
    metrics: Metrics
    events: Path | None
    event_rows: int


def open_event_log(path: str | Path, scenario: Scenario, net: Network, seed: int, days: float) -> EventLog:
    start = dt.datetime.combine(scenario.clock.start, dt.time())
    meta = {
        "format": 1,
        "scenario": scenario.name,
        "seed": seed,
        "days": days,
        "start": start.isoformat(),
        "scenario_doc": scenario.model_dump(mode="json"),
    }
    return EventLog(
        path,
        posts=[p.node for p in net.posts],
        post_levels=[p.graph_level for p in net.posts],
        levels=GRAPH_LEVELS,
        actors=ACTORS,
        categories=list(scenario.categories),
        priorities=PRIORITIES,
        start=start,
        metadata=meta,
    )


def simulate(
    scenario: Scenario,
    *,
    seed: int | np.random.SeedSequence | None = None,
    days: float | None = None,
    warmup_days: float | None = None,
    events: str | Path | None = None,
    district: District | None = None,
    progress: Callable[[float], None] | None = None,
    trace: str | Path | None = None,
) -> RunResult:
    """Run ``scenario`` once. ``seed`` defaults to the scenario's, ``days`` to ``clock.days``. With
    ``trace`` (a file written by ``microgov import``) the real arrivals replace the generated ones and
    the run's clock starts on the trace's first day (or ``trace.start``)."""
    seed = scenario.seed if seed is None else seed
    days = scenario.clock.days if days is None else days
    warmup = scenario.clock.warmup_days if warmup_days is None else warmup_days
    replay = None
    if trace is not None:
        from sim.realdata.trace import trace_arrivals

        scenario, replay = trace_arrivals(trace, scenario, days)
    district = district or build_district(scenario)
    streams = Streams.from_seed(seed)
    net = build_network(scenario, district)
    log = open_event_log(events, scenario, net, seed if isinstance(seed, int) else -1, days) if events else None
    engine = Engine(
        net,
        streams,
        end_h=days * 24.0,
        warmup_h=warmup * 24.0,
        sample_h=scenario.clock.sample_h,
        log=log,
        trace=(replay.times_h, replay.categories) if replay is not None else None,
    )
    try:
        metrics = engine.run(progress)
    except BaseException:
        if log is not None:
            log.abort()
        raise
    if log is not None:
        log.close()
    shown = seed if isinstance(seed, int) else f"{seed.entropy}/{'.'.join(map(str, seed.spawn_key))}"
    kpis = {"scenario": scenario.name, "seed": shown, "days": days, "warmup_days": warmup, **metrics.summary()}
    if replay is not None:
        kpis["trace"] = replay.summary()
    return RunResult(kpis, metrics, Path(events) if events else None, log.written if log else 0)


def seed_sequence(seed: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed)
