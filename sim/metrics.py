"""Streaming KPIs: the scoreboard a command centre keeps, updated as each request moves, never a list of them.

Counts and sums are exact; quantiles come from log-binned histograms (bins 2% apart, so a reported
percentile is within 1% of the exact one). Memory does not grow with the number of requests: a year of
the whole district keeps a few thousand numbers here. The three rates are defined in the README.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_LO = 1e-4  # hours: anything shorter (0.36 s) lands in the first bin
_RATIO = 1.02
_BINS = 1100  # up to about 5e4 hours (over five years)
_INV_LOG = 1.0 / math.log(_RATIO)


def bin_of(hours: float) -> int:
    if hours <= _LO:
        return 0
    i = int(math.log(hours / _LO) * _INV_LOG) + 1
    return i if i < _BINS else _BINS - 1


class Histogram:
    """Counts of durations in log-spaced bins, with an exact count and sum for the mean."""

    __slots__ = ("counts", "n", "total")

    def __init__(self) -> None:
        self.counts = [0] * _BINS
        self.n = 0
        self.total = 0.0

    def add(self, hours: float, b: int) -> None:
        self.counts[b] += 1
        self.n += 1
        self.total += hours

    def merge(self, other: Histogram) -> None:
        for i, c in enumerate(other.counts):
            if c:
                self.counts[i] += c
        self.n += other.n
        self.total += other.total

    def quantile(self, q: float) -> float | None:
        if not self.n:
            return None
        target = q * self.n
        run = 0
        for i, c in enumerate(self.counts):
            run += c
            if run >= target and c:
                return 0.0 if i == 0 else float(_LO * _RATIO ** (i - 0.5))
        return float(_LO * _RATIO ** (_BINS - 1.5))

    def summary(self) -> dict[str, float | None]:
        return {
            "mean": self.total / self.n if self.n else None,
            "p50": self.quantile(0.5),
            "p90": self.quantile(0.9),
            "p95": self.quantile(0.95),
        }

    def cdf(self, hours: float) -> float:
        """Share of the recorded durations at or below ``hours`` (within a bin, interpolated on a log
        scale), 0 when nothing was recorded."""
        if not self.n:
            return 0.0
        b = bin_of(hours)
        below = sum(self.counts[:b])
        if b == 0:
            return (below + self.counts[0]) / self.n
        lo, hi = _LO * _RATIO ** (b - 1), _LO * _RATIO**b
        frac = min(1.0, max(0.0, math.log(hours / lo) / math.log(hi / lo)))
        return (below + frac * self.counts[b]) / self.n

    def array(self) -> np.ndarray:
        return np.asarray(self.counts, dtype=np.int64)

    @staticmethod
    def edges() -> np.ndarray:
        """Upper edge (hours) of each bin, for plots and for merging across runs."""
        return np.asarray([_LO * _RATIO**i for i in range(_BINS)])


@dataclass
class Group:
    """Counts and times of one slice of requests (a priority, a category, or all of them)."""

    requests: int = 0
    resolved: int = 0
    abandoned: int = 0
    responded_on_time: int = 0
    due_in_run: int = 0
    resolved_on_time: int = 0
    satisfaction: float = 0.0
    resolution: Histogram = field(default_factory=Histogram)
    response: Histogram = field(default_factory=Histogram)

    def merge(self, other: Group) -> None:
        for name in ("requests", "resolved", "abandoned", "responded_on_time", "due_in_run", "resolved_on_time"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.satisfaction += other.satisfaction
        self.resolution.merge(other.resolution)
        self.response.merge(other.response)

    def summary(self) -> dict[str, Any]:
        closed = self.resolved + self.abandoned
        return {
            "requests": self.requests,
            "resolved": self.resolved,
            "abandoned": self.abandoned,
            "response_rate": self.responded_on_time / self.requests if self.requests else None,
            "resolution_rate": self.resolved_on_time / self.due_in_run if self.due_in_run else None,
            "satisfaction_rate": self.satisfaction / closed if closed else None,
            "resolution_time_h": self.resolution.summary(),
            "response_time_h": self.response.summary(),
        }


class Metrics:
    """Everything ``run --json`` reports, accumulated while the engine runs."""

    def __init__(
        self,
        *,
        priorities: Sequence[str],
        categories: Sequence[str],
        levels: Sequence[str],
        kinds: Sequence[str],
        offices: Sequence[str],
        departments: Sequence[str] = (),
        grid_types: Sequence[str] = (),
        start_h: float,
        end_h: float,
        sample_h: float,
    ) -> None:
        self.priorities = list(priorities)
        self.categories = list(categories)
        self.levels = list(levels)
        self.kinds = list(kinds)
        self.offices = list(offices)
        self.departments = list(departments)
        self.tracked = [*self.offices, *self.departments]
        self.start_h = start_h
        self.end_h = end_h
        self.sample_h = sample_h
        self.by_priority = [Group() for _ in priorities]
        self.by_category = [Group() for _ in categories]
        # per street/town office (the requests raised in its area) and priority, for staffing answers
        self.by_office = [[Group() for _ in priorities] for _ in offices]
        self.office_wait = [[Histogram() for _ in priorities] for _ in offices]
        self.settled_at = [Histogram() for _ in levels]
        self.wait = [Histogram() for _ in kinds]
        self.waited = [0] * len(kinds)  # counted waits longer than zero, for P(wait > 0)
        self.busy_kind = [0.0] * len(kinds)
        self.busy_post = [0.0] * len(self.tracked)
        self.available_kind = [0.0] * len(kinds)
        self.available_post = [0.0] * len(self.tracked)
        self.grid_types = list(grid_types)
        self.grid_wait = [Histogram() for _ in grid_types]
        self.busy_grid = [0.0] * len(grid_types)
        self.available_grid = [0.0] * len(grid_types)
        self.grid_mode = "merged"
        self.misrouted = 0
        self.handoffs = 0
        self.whistles = 0
        self.summons = 0
        self.summons_met = 0
        self.problems_by_whistle = 0
        self.repeat_requests = 0
        self.injected = 0
        self.escalations_to_district = 0
        self.auto_escalations = 0
        self.missed_response = 0
        self.missed_resolution = 0
        self.extra: dict[str, float] = {}
        # Little's law over the whole run (all requests, warm-up included): exact area under N(t).
        self.in_system = 0
        self.area = 0.0
        self.last_t = 0.0
        self.arrivals_total = 0
        self.departed_time = 0.0
        self.open_arrival_sum = 0.0
        # backlog sampled every sample_h: open requests, and where they are by post kind
        self.series_t: list[float] = []
        self.series_open: list[int] = []
        self.series_kind: list[list[int]] = [[] for _ in kinds]

    # --- updates (hot path) -----------------------------------------------------------------------

    def enter_system(self, t: float) -> None:
        self.area += self.in_system * (t - self.last_t)
        self.last_t = t
        self.in_system += 1
        self.arrivals_total += 1
        self.open_arrival_sum += t

    def leave_system(self, t: float, arrived: float) -> None:
        self.area += self.in_system * (t - self.last_t)
        self.last_t = t
        self.in_system -= 1
        self.departed_time += t - arrived
        self.open_arrival_sum -= arrived

    def sample(self, t: float, where: Sequence[int]) -> None:
        self.series_t.append(t)
        self.series_open.append(self.in_system)
        for k, n in enumerate(where):
            self.series_kind[k].append(n)

    def busy(self, kind: int, tracked: int, start: float, end: float, gtype: int = -1) -> None:
        """Staff time from ``start`` to ``end`` (booked when the work starts, its length known), counted
        inside the measured window only; ``tracked`` is the index of a post reported on its own (a street
        or town office, a department), or -1."""
        lo = start if start > self.start_h else self.start_h
        hi = end if end < self.end_h else self.end_h
        if hi > lo:
            self.busy_kind[kind] += hi - lo
            if tracked >= 0:
                self.busy_post[tracked] += hi - lo
            if gtype >= 0:
                self.busy_grid[gtype] += hi - lo

    # --- results -----------------------------------------------------------------------------------

    @property
    def all(self) -> Group:
        """Every measured request: the priorities merged (the engine updates only the slices)."""
        total = Group()
        for g in self.by_priority:
            total.merge(g)
        return total

    def littles_law(self) -> dict[str, float]:
        """L (time-average number in system) and lambda * W over [0, end]; equal by construction of the
        sample path, so a gap would mean the engine lost or double-counted a request."""
        end = self.end_h
        area = self.area + self.in_system * (end - self.last_t)
        horizon = end if end > 0 else 1.0
        time_in_system = self.departed_time + self.in_system * end - self.open_arrival_sum
        lam = self.arrivals_total / horizon
        w = time_in_system / self.arrivals_total if self.arrivals_total else 0.0
        return {"L": area / horizon, "lambda_per_h": lam, "W_h": w, "lambda_W": lam * w}

    def summary(self) -> dict[str, Any]:
        everything = self.all
        head = everything.summary()
        settled_total = sum(h.n for h in self.settled_at)
        by_level = {
            lv: {
                "resolved": h.n,
                "share": h.n / settled_total if settled_total else None,
                "resolution_time_h": h.summary(),
            }
            for lv, h in zip(self.levels, self.settled_at, strict=True)
        }
        util_kind = {
            k: (b / a if a else None) for k, b, a in zip(self.kinds, self.busy_kind, self.available_kind, strict=True)
        }
        util_post = [b / a if a else None for b, a in zip(self.busy_post, self.available_post, strict=True)]
        n_off = len(self.offices)
        util_office = dict(zip(self.offices, util_post[:n_off], strict=True))
        util_dept = dict(zip(self.departments, util_post[n_off:], strict=True))
        waits = {k: {**h.summary(), "n": h.n} for k, h in zip(self.kinds, self.wait, strict=True) if h.n}
        open_now = everything.requests - everything.resolved - everything.abandoned
        in_unit = self.settled_at[self.levels.index("in_unit")].n if "in_unit" in self.levels else 0
        mechanisms = {
            "whistles": self.whistles,
            "whistle_report_met_rate": self.summons_met / self.summons if self.summons else None,
            "whistle_summons": self.summons,
            "problems_solved_by_whistle": self.problems_by_whistle,
            "abandoned_to_hotline": everything.abandoned,
            "repeat_requests": self.repeat_requests,
            "settled_in_unit_share": in_unit / everything.requests if everything.requests else None,
            "injected": self.injected,
            "by_grid_mode": self._grids(),
        }
        return {
            "requests": everything.requests,
            "resolved": everything.resolved,
            "open": open_now,
            "abandoned": everything.abandoned,
            "response_rate": head["response_rate"],
            "resolution_rate": head["resolution_rate"],
            "satisfaction_rate": head["satisfaction_rate"],
            "resolution_time_h": head["resolution_time_h"],
            "response_time_h": head["response_time_h"],
            "by_priority": {p: g.summary() for p, g in zip(self.priorities, self.by_priority, strict=True)},
            "by_category": {c: g.summary() for c, g in zip(self.categories, self.by_category, strict=True)},
            "by_level": by_level,
            "waiting_h": waits,
            "utilisation": {"by_post_type": util_kind, "by_office": util_office, "by_department": util_dept},
            "escalations_to_district": self.escalations_to_district,
            "auto_escalations": self.auto_escalations,
            "deadlines_missed": {"response": self.missed_response, "resolution": self.missed_resolution},
            **mechanisms,
            **self.extra,
            "littles_law": self.littles_law(),
        }

    def _grids(self) -> dict[str, Any]:
        kind = self.kinds.index("grid") if "grid" in self.kinds else -1
        out: dict[str, Any] = {"mode": self.grid_mode}
        if kind >= 0:
            h = self.wait[kind]
            out["waiting_h"] = {**h.summary(), "n": h.n}
            out["utilisation"] = self.busy_kind[kind] / self.available_kind[kind] if self.available_kind[kind] else None
        out["misrouted"] = self.misrouted
        out["handoffs"] = self.handoffs
        if self.grid_types:
            out["by_type"] = {
                t: {
                    "waiting_h": {**h.summary(), "n": h.n},
                    "utilisation": b / a if a else None,
                }
                for t, h, b, a in zip(self.grid_types, self.grid_wait, self.busy_grid, self.available_grid, strict=True)
            }
        return out

    def service_level(self, office: int | None, prio: int | None, measure: str, hours: float) -> float | None:
        """Share of the requests raised in ``office``'s area (every office's, if None; of priority
        ``prio``, or all) that were responded to / resolved within ``hours``, or waited at most ``hours``
        for pickup at the office; None if there were none."""
        prios = range(len(self.priorities)) if prio is None else [prio]
        offices = range(len(self.offices)) if office is None else [office]
        if measure == "wait":
            hists = [self.office_wait[o][p] for o in offices for p in prios]
            n = sum(h.n for h in hists)
            return sum(h.cdf(hours) * h.n for h in hists) / n if n else None
        groups = [self.by_office[o][p] for o in offices for p in prios]
        requests = sum(g.requests for g in groups)
        if not requests:
            return None
        hists = [g.response if measure == "response" else g.resolution for g in groups]
        return sum(h.cdf(hours) * h.n for h in hists) / requests

    def backlog(self) -> dict[str, Any]:
        return {
            "sample_h": self.sample_h,
            "t_h": self.series_t,
            "open": self.series_open,
            "by_post_type": {k: s for k, s in zip(self.kinds, self.series_kind, strict=True)},
        }
