"""The validation suite: the engine of ``microgov run`` against queueing theory and against Ciw.

Nine cases (``CASES``), each a small scenario run by the very engine of ``run``: the district built from
it, the network builder, the same ``Engine``, with calendars and deadlines where the case has them. Each
replication draws from stream i of the master seed. For every measure the replications give a mean and
a t-interval, and the measure agrees when the theory value lies in the interval.

The intervals of one table are simultaneous: with m tests in it (a measure against theory is one test,
against the peer another), each interval is at level 1 − 0.05/m (Bonferroni), so a correct engine
shows a disagreement somewhere in the table with a chance of at most 5%. ``validate all`` is one table:
its m counts every test of every case.

Two figures are read off a histogram rather than counted: P(wait > t) comes from the waiting-time
survival, whose bins are 2% apart. Where the interval is narrower than the share of waits in the bin
that holds t (the most interpolation within the bin can be off), the interval says less than the
histogram can resolve, and the measure agrees when it is within ``REL_TOL`` (2%) of theory instead;
the output names the rule used. Two simulations (the engine and Ciw) agree when the Welch interval of
their difference contains 0, at the same simultaneous level.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from sim.analysis.validation.cases import CASES, Case, Figure, Settings, Spec
from sim.analysis.validation.models import ValidationError
from sim.experiment.stats import t_interval

__all__ = [
    "CASES",
    "FULL",
    "LEVEL",
    "QUICK",
    "REL_TOL",
    "CaseResult",
    "Measure",
    "Settings",
    "ValidationError",
    "validate",
    "validate_all",
]

LEVEL = 0.95
REL_TOL = 0.02
#: Allowance for rounding when a theory value sits on an interval's end (hours or shares).
EPS = 1e-6
#: ``validate all`` at its defaults (a benchmark) and with ``--quick`` (the test suite).
FULL = Settings(reps=10, customers=200_000, seed=0, warmup=0.1)
QUICK = Settings(reps=10, customers=10_000, seed=0, warmup=0.1)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PeerFigure:
    """The peer's figure for a measure and whether the engine agrees with it."""

    name: str
    sim: float
    ci: tuple[float, float]
    difference_ci: tuple[float, float]
    agrees: bool
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sim": self.sim,
            "ci": list(self.ci),
            "difference_ci": list(self.difference_ci),
            "agrees": self.agrees,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    theory: float
    sim: float
    ci: tuple[float, float]
    theory_agrees: bool
    rule: str
    """``interval`` (theory inside it) or ``within 2%`` (the interval is narrower than the histogram's
    resolution at this point)."""
    peer: PeerFigure | None = None

    @property
    def agrees(self) -> bool:
        """Theory inside the interval (or within the tolerance) and, with a peer, the two simulations
        not significantly different."""
        return self.theory_agrees and (self.peer is None or self.peer.agrees)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "theory": self.theory,
            "sim": self.sim,
            "ci": list(self.ci),
            "agrees": self.agrees,
            "rule": self.rule,
            "peer": self.peer.to_json() if self.peer else None,
        }


@dataclass(frozen=True)
class CaseResult:
    case: str
    title: str
    theory_name: str
    peer_name: str | None
    params: dict[str, Any]
    measures: list[Measure]
    tests: int
    """Tests in the table this case was judged in (its own, or every case's in ``validate all``)."""
    seconds: float
    notes: list[str]

    @property
    def agrees(self) -> bool:
        return all(m.agrees for m in self.measures)

    @property
    def level(self) -> float:
        return 1.0 - (1.0 - LEVEL) / self.tests

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "title": self.title,
            "params": self.params,
            "theory": self.theory_name,
            "peer": self.peer_name,
            "measures": [m.to_json() for m in self.measures],
            "agrees": self.agrees,
            "interval": {
                "level": LEVEL,
                "simultaneous_over": self.tests,
                "each_at": self.level,
                "method": "Bonferroni",
                "histogram_tolerance": REL_TOL,
            },
            "notes": self.notes,
            "seconds": self.seconds,
        }


def validate(
    case: str,
    settings: Settings = FULL,
    *,
    workers: int | None = 1,
    progress: Progress | None = None,
    **params: Any,
) -> CaseResult:
    """Run one case (a name in ``CASES``) with its model ``params`` (the case's defaults for any not
    given) and judge every measure. Raises ``ValidationError`` for parameters that make no valid model."""
    return _run([(case, params)], settings, workers=workers, progress=progress)[0]


def validate_all(
    quick: bool = False, *, workers: int | None = None, progress: Progress | None = None, seed: int | None = None
) -> list[CaseResult]:
    """Every case at its defaults, judged as one table (``FULL``, or ``QUICK`` with ``quick``)."""
    settings = QUICK if quick else FULL
    if seed is not None:
        settings = replace(settings, seed=seed)
    return _run([(name, {}) for name in CASES], settings, workers=workers, progress=progress)


# --- running ---------------------------------------------------------------------------------------


def _case(name: str) -> Case:
    if name not in CASES:
        raise ValidationError(f"unknown case '{name}' (known: {', '.join(CASES)})")
    return CASES[name]


@functools.lru_cache(maxsize=16)
def _spec(name: str, params_json: str, settings: Settings) -> Spec:
    """A case's spec, built once per process (a worker builds each case's model once)."""
    return _case(name).build(settings, **json.loads(params_json))


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


Task = tuple[str, str, Settings, int, bool]
"""(case, its params as JSON, settings, replication, the peer's replication?)"""


def _replicate(task: Task) -> tuple[dict[str, Figure], float]:
    name, params_json, settings, rep, on_peer = task
    spec = _spec(name, params_json, settings)
    seed = settings.seeds()[rep]
    start = time.perf_counter()
    if on_peer:
        assert spec.peer is not None
        figures = {k: (v, 0.0) for k, v in spec.peer(seed).items()}
    else:
        figures = spec.replicate(seed)
    return figures, time.perf_counter() - start


def _pool(workers: int) -> ProcessPoolExecutor:
    method = "fork" if sys.platform == "linux" else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def _outcomes(
    tasks: list[Task], workers: int, progress: Progress | None
) -> Iterator[tuple[Task, tuple[dict[str, Figure], float]]]:
    """Each task's figures as they come. On Linux the pool's workers are forked before ``progress`` is
    first called (a progress bar starts a thread), and inherit the specs already built here."""
    if workers <= 1 or len(tasks) <= 1:
        if progress:
            progress(0, len(tasks))
        for task in tasks:
            yield task, _replicate(task)
        return
    pool = _pool(min(workers, len(tasks)))
    try:
        futures = {pool.submit(_replicate, task): task for task in tasks}
        if progress:
            progress(0, len(tasks))
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # on an error or an interrupt, drop what has not started
        pool.shutdown(cancel_futures=True)


def _run(
    cases: Sequence[tuple[str, dict[str, Any]]],
    settings: Settings,
    *,
    workers: int | None,
    progress: Progress | None,
) -> list[CaseResult]:
    settings.check()
    if workers is not None and workers < 1:
        raise ValidationError(f"--workers: expected at least 1, found {workers}")
    n_workers = workers or multiprocessing.cpu_count() or 1
    specs = [_spec(name, _key(params), settings) for name, params in cases]
    tests = sum(len(s.theory) + (len(s.peer_measures) if s.peer else 0) for s in specs)
    tasks: list[Task] = []
    for (name, params), spec in zip(cases, specs, strict=True):
        for rep in range(settings.reps):
            tasks.append((name, _key(params), settings, rep, False))
            if spec.peer is not None:
                tasks.append((name, _key(params), settings, rep, True))
    ours: dict[tuple[str, int], dict[str, Figure]] = {}
    theirs: dict[tuple[str, int], dict[str, Figure]] = {}
    seconds: dict[str, float] = {}
    for done, (task, (figures, took)) in enumerate(_outcomes(tasks, n_workers, progress), start=1):
        name, _, _, rep, on_peer = task
        (theirs if on_peer else ours)[(name, rep)] = figures
        seconds[name] = seconds.get(name, 0.0) + took
        if progress:
            progress(done, len(tasks))
    results = []
    for (name, _), spec in zip(cases, specs, strict=True):
        engine = [ours[(name, r)] for r in range(settings.reps)]
        peer = [theirs[(name, r)] for r in range(settings.reps)] if spec.peer else None
        results.append(_judge(spec, settings, engine, peer, tests, seconds.get(name, 0.0)))
    return results


# --- judging -----------------------------------------------------------------------------------------


def _judge(
    spec: Spec,
    settings: Settings,
    engine: list[dict[str, Figure]],
    peer: list[dict[str, Figure]] | None,
    tests: int,
    seconds: float,
) -> CaseResult:
    level = 1.0 - (1.0 - LEVEL) / tests
    measures = []
    for name, expected in spec.theory.items():
        values = [rep[name][0] for rep in engine]
        resolution = float(np.mean([rep[name][1] for rep in engine]))
        mean, lo, hi = t_interval(values, level)
        agrees, rule = _agrees(expected, mean, lo, hi, resolution)
        figure = None
        if peer is not None and name in peer[0]:
            figure = _compare(spec.peer_name or "peer", values, [rep[name][0] for rep in peer], level, resolution)
        measures.append(
            Measure(
                name,
                spec.labels[name],
                expected,
                mean,
                (lo, hi),
                agrees,
                rule,
                figure,
            )
        )
    notes = list(spec.notes)
    if spec.pooled is not None:
        notes += spec.pooled(engine)
    return CaseResult(
        spec.case,
        spec.title,
        spec.theory_name,
        spec.peer_name,
        {**settings.as_params(), **spec.params},  # a case may say it uses no warm-up
        measures,
        tests,
        seconds,
        notes,
    )


def _agrees(expected: float, mean: float, lo: float, hi: float, resolution: float) -> tuple[bool, str]:
    if not all(math.isfinite(x) for x in (expected, mean, lo, hi)):
        return False, "interval"
    if (hi - lo) / 2.0 >= resolution:
        return lo - EPS <= expected <= hi + EPS, "interval"
    return abs(mean - expected) <= REL_TOL * abs(expected) + EPS, f"within {REL_TOL:.0%}"


def welch(a: Sequence[float], b: Sequence[float], level: float) -> tuple[float, float, float]:
    """Difference of two independent samples' means and its Welch t-interval."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0.0:
        return diff, diff, diff
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    return diff, diff - half, diff + half


def _compare(name: str, ours: list[float], theirs: list[float], level: float, resolution: float) -> PeerFigure:
    mean, lo, hi = t_interval(theirs, level)
    diff, dlo, dhi = welch(ours, theirs, level)
    if not all(math.isfinite(v) for v in (diff, dlo, dhi)):
        return PeerFigure(name, mean, (lo, hi), (dlo, dhi), False, "interval")
    if (dhi - dlo) / 2.0 >= resolution:
        agrees, rule = dlo - EPS <= 0.0 <= dhi + EPS, "interval"
    else:
        agrees, rule = abs(diff) <= REL_TOL * abs(mean) + EPS, f"within {REL_TOL:.0%}"
    return PeerFigure(name, mean, (lo, hi), (dlo, dhi), agrees, rule)
