"""Statistics for replications: t-intervals, running means and variances, paired differences, MSER-5.

Replications are independent runs of the same model with their own random streams, so each KPI's
replication values are an i.i.d. sample and a t-interval is the standard statement of uncertainty. Running
(Welford) accumulators keep memory flat however many replications are run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of independent replication results."""
    acc = Running()
    for v in values:
        acc.add(v)
    return acc.mean, *acc.interval(level)


@dataclass
class Running:
    """Welford's running mean and variance: exact, numerically stable, constant memory."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def half_width(self, level: float = LEVEL) -> float:
        if self.n < 2:
            return math.inf
        return float(stats.t.ppf(0.5 + level / 2, self.n - 1)) * self.sd / math.sqrt(self.n)

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        h = self.half_width(level)
        if math.isinf(h):
            return self.mean, self.mean
        return self.mean - h, self.mean + h


def p_value(r: Running) -> float:
    """Two-sided p-value of a paired t-test that the mean difference is zero."""
    if r.n < 2:
        return 1.0
    if r.sd == 0.0:
        return 1.0 if r.mean == 0.0 else 0.0
    t = r.mean / (r.sd / math.sqrt(r.n))
    return float(2.0 * stats.t.sf(abs(t), r.n - 1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: rejecting where the adjusted value is at most alpha keeps the
    chance of any false "better" or "worse" among the whole family at most alpha (Holm, 1979)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def verdict(lo: float, hi: float, better: str, significant: bool | None = None) -> str:
    """Better, worse or no significant difference, from a paired difference's interval (or, when
    ``significant`` is given, from a multiplicity-controlled test, the interval giving the direction)
    and which way the KPI is better ("higher", "lower"; anything else only says higher or lower)."""
    if significant is None:
        significant = not lo <= 0 <= hi
    if not significant:
        return "no significant difference"
    up = lo + hi > 0
    if better == "higher":
        return "better" if up else "worse"
    if better == "lower":
        return "worse" if up else "better"
    return "higher" if up else "lower"


def mser5(series: Sequence[float]) -> int:
    """MSER-5 truncation point: the number of leading observations to discard as warm-up.

    The series is averaged in batches of five; for each candidate truncation d (at most half the
    batches) MSER is the variance of what remains divided by its length, and the d with the smallest
    value wins (White, 1997). Returns the truncation in observations of the original series. A cut at
    the cap (``mser5_cap``) means the series did not settle: it is still trending at the end.
    """
    y = np.asarray(series, dtype=float)
    batches = len(y) // 5
    if batches < 4:
        return 0
    means = y[: batches * 5].reshape(batches, 5).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(batches // 2 + 1):
        rest = means[d:]
        value = float(((rest - rest.mean()) ** 2).sum()) / len(rest) ** 2
        if value < best:
            best, best_d = value, d
    return best_d * 5


def mser5_cap(length: int) -> int:
    """The largest truncation ``mser5`` may choose for a series of ``length`` observations."""
    batches = length // 5
    return 0 if batches < 4 else (batches // 2) * 5


class Band:
    """Per time point across replications: running mean, variance and range of a series (the backlog)."""

    def __init__(self) -> None:
        self.n = 0
        self.t: np.ndarray | None = None
        self.sum = np.zeros(0)
        self.sumsq = np.zeros(0)
        self.lo = np.zeros(0)
        self.hi = np.zeros(0)

    def add(self, t: Sequence[float], values: Sequence[float]) -> None:
        v = np.asarray(values, dtype=float)
        if self.t is None or len(v) > len(self.sum):
            self._grow(np.asarray(t, dtype=float), len(v))
        k = len(v)
        self.sum[:k] += v
        self.sumsq[:k] += v * v
        self.lo[:k] = np.minimum(self.lo[:k], v)
        self.hi[:k] = np.maximum(self.hi[:k], v)
        self.n += 1

    def _grow(self, t: np.ndarray, k: int) -> None:
        pad = k - len(self.sum)
        self.t = t
        self.sum = np.concatenate([self.sum, np.zeros(pad)])
        self.sumsq = np.concatenate([self.sumsq, np.zeros(pad)])
        self.lo = np.concatenate([self.lo, np.full(pad, np.inf)])
        self.hi = np.concatenate([self.hi, np.full(pad, -np.inf)])

    def summary(self, level: float = LEVEL) -> dict[str, np.ndarray]:
        n = max(self.n, 1)
        mean = self.sum / n
        var = np.maximum(self.sumsq / n - mean**2, 0.0) * (n / (n - 1) if n > 1 else 0.0)
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * np.sqrt(var / n) if n > 1 else np.zeros_like(mean)
        return {
            "t": self.t if self.t is not None else np.zeros(0),
            "mean": mean,
            "lo": mean - half,
            "hi": mean + half,
            "min": self.lo,
            "max": self.hi,
        }
