"""One replication as a unit of work: a picklable task, and the function any worker runs on it.

A task carries the resolved scenario, the run length and its replication index; its random streams come
from the master seed and that index alone (``SeedSequence(seed, spawn_key=(rep,))``), so replication i
sees the same arrivals in every scenario (common random numbers) and gives the same result on whichever
executor runs it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import simulate
from sim.errors import MicrogovError
from sim.experiment.errors import ScenarioFailed
from sim.experiment.kpis import cohorts, values
from sim.scenario.schema import PRIORITIES, Scenario
from sim.structure import District, build_district

#: Keys of a replication's per-office results besides the office ids.
DISTRICT_KEY = "(district)"
PICKUP_SUFFIX = ":pickup"
PICKUP_H = 0.25  # share picked up at the office within 15 minutes: is the office itself still a bottleneck?
STRUCTURE_FIELDS = ("seed", "district", "departments", "streets", "towns", "urban", "rural", "staffing")
_DISTRICTS: dict[str, District] = {}  # per worker process: building the district costs about half a second


@dataclass(frozen=True)
class Target:
    """A service-level question asked of every street and town office's area (see ``sim.analysis.staffing``)."""

    priority: str | None
    measure: str
    hours: float


@dataclass(frozen=True)
class Task:
    label: str
    point: int
    rep: int
    doc: dict[str, Any]
    seed: int
    days: float
    warmup_days: float
    target: Target | None = None
    offices: tuple[str, ...] = ()
    """Simulate only these offices' areas (and the departments): see ``District.restricted``."""


@dataclass
class RepResult:
    label: str
    point: int
    rep: int
    kpis: dict[str, float | None]
    backlog_t: list[float]
    backlog: list[int]
    hist: dict[int, int]
    offices: dict[str, float | None] = field(default_factory=dict)
    judged: dict[str, float | None] = field(default_factory=dict)
    too_short: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def district_for(scenario: Scenario, offices: tuple[str, ...] = ()) -> District:
    key = json.dumps({k: scenario.model_dump(mode="json")[k] for k in STRUCTURE_FIELDS}, sort_keys=True)
    key += "|" + ",".join(offices)
    district = _DISTRICTS.get(key)
    if district is None:
        if len(_DISTRICTS) >= 8:
            _DISTRICTS.pop(next(iter(_DISTRICTS)))
        whole = district_for(scenario) if offices else build_district(scenario)
        district = _DISTRICTS[key] = whole.restricted(offices) if offices else whole
    return district


def run_replication(task: Task) -> RepResult:
    """Run one replication of ``task`` (in whatever process or cluster worker this is); a scenario that
    cannot be run as given raises :class:`ScenarioFailed`."""
    start = time.perf_counter()
    scenario = Scenario.model_validate(task.doc)
    seed = np.random.SeedSequence(task.seed, spawn_key=(task.rep,))
    try:
        district = district_for(scenario, task.offices)
        result = simulate(scenario, seed=seed, days=task.days, warmup_days=task.warmup_days, district=district)
    except ScenarioFailed:
        raise
    except MicrogovError as exc:
        raise ScenarioFailed(str(exc)) from None
    m = result.metrics
    counts = np.zeros(0, dtype=np.int64)
    for g in m.by_priority:
        counts = g.resolution.array() if not len(counts) else counts + g.resolution.array()
    offices: dict[str, float | None] = {}
    if task.target is not None:
        t = task.target
        prio = PRIORITIES.index(t.priority) if t.priority else None
        offices[DISTRICT_KEY] = m.service_level(None, prio, t.measure, t.hours)[0]
        for i, office in enumerate(m.offices):
            offices[office] = m.service_level(i, prio, t.measure, t.hours)[0]
            offices[office + PICKUP_SUFFIX] = m.service_level(i, None, "wait", PICKUP_H)[0]
    backlog = m.backlog()
    kpis = values({**result.kpis, "target_share": offices.get(DISTRICT_KEY)})
    return RepResult(
        label=task.label,
        point=task.point,
        rep=task.rep,
        kpis=kpis,
        backlog_t=list(backlog["t_h"]),
        backlog=list(backlog["open"]),
        hist={int(i): int(c) for i, c in enumerate(counts) if c},
        offices=offices,
        judged=cohorts(result.kpis),
        too_short=result.kpis["too_short"],
        seconds=time.perf_counter() - start,
    )
