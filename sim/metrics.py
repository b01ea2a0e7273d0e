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
class StaffTime:
    """Where the staff time of the measured window came from: the handling times drawn for the jobs
    started in it (``drawn``) and the whistle holds started in it (``held``: travel, waiting for the other
    departments, one joint session per request on the call), plus work carried in from jobs started
    before it, less what was left for after the end and what was not done because the resident gave up.
    On duty plus overtime equals ``drawn + held + carried_in - after_end - stopped`` (work conservation)."""

    drawn: float = 0.0
    held: float = 0.0
    carried_in: float = 0.0
    after_end: float = 0.0
    stopped: float = 0.0


#: How far back from the end of a run every start is remembered with its duration, so that a share
#: "within t" can leave out what started less than t before the end: targets up to two weeks.
NEAR_H = 336.0


class Survival:
    """Times from a start (entering a queue, arriving) to an event (someone picking the request up,
    answering it, fixing it) for requests some of which never had the event: they left without it (gave
    up, were sent up unpicked, were closed unfixed) or were still without it at the end of the run.

    "Within t" is judged on the requests that started at least t before the end: those are known either
    way. A request that left without the event counts against the share; one still waiting at the end
    counts against it once it has waited t (censored at its age). Completed durations also feed the
    usual histogram (mean and quantiles of completed waits). Memory is bounded: the starts of the last
    ``NEAR_H`` hours are kept, the rest only in histograms.
    """

    __slots__ = ("done", "end", "left", "left_near", "near_d", "near_from", "near_s", "open")

    def __init__(self, end_h: float) -> None:
        self.done = Histogram()
        self.end = end_h
        self.near_from = end_h - NEAR_H
        self.near_d: list[float] = []  # durations of completed ones that started within NEAR_H of the end
        self.near_s: list[float] = []  # ... and how long before the end they started
        self.left = 0
        self.left_near: list[float] = []
        self.open = Histogram()  # ages at the end of those still without the event

    def add(self, hours: float, started: float, b: int = -1) -> None:
        """A completed duration, started at ``started``; ``b`` its bin (``bin_of(hours)``) if known."""
        done = self.done
        done.counts[b if b >= 0 else bin_of(hours)] += 1
        done.n += 1
        done.total += hours
        if started >= self.near_from:
            self.near_d.append(hours)
            self.near_s.append(self.end - started)

    def leave(self, started: float) -> None:
        self.left += 1
        if started >= self.near_from:
            self.left_near.append(self.end - started)

    def still_open(self, age: float) -> None:
        self.open.add(age, bin_of(age))

    def merge(self, other: Survival) -> None:
        self.done.merge(other.done)
        self.near_d += other.near_d
        self.near_s += other.near_s
        self.left += other.left
        self.left_near += other.left_near
        self.open.merge(other.open)

    def within(self, hours: float) -> tuple[float | None, int]:
        """The share of the requests started at least ``hours`` before the end that had the event within
        ``hours``, and how many that was (the share is None when none)."""
        if hours > NEAR_H:
            raise ValueError(f"a share within {hours:g} h cannot be judged (at most {NEAR_H:g} h)")
        late_d = [d for d, s in zip(self.near_d, self.near_s, strict=True) if s < hours]
        judged = self.done.n - len(late_d) + self.left - sum(1 for s in self.left_near if s < hours)
        judged_open = self.open.n - round(self.open.cdf(hours) * self.open.n) if self.open.n else 0
        judged += judged_open
        success = self.done.cdf(hours) * self.done.n - sum(1 for d in late_d if d <= hours)
        return (max(0.0, success) / judged if judged else None), judged


def too_short_lines(items: Sequence[dict[str, Any]]) -> list[str]:
    """``too_short`` in words, one line per rate, naming the priorities it cannot judge."""
    lines = []
    for rate in dict.fromkeys(item["rate"] for item in items):
        mine = [i for i in items if i["rate"] == rate]
        each = [f"{i['priority']} ({i['deadline_h']:g} h)" for i in mine]
        names = each[0] if len(each) == 1 else f"{', '.join(each[:-1])} and {each[-1]}"
        days = math.ceil(max(i["deadline_h"] for i in mine) / 24)
        rates, judge = (
            ("resolution and satisfaction rates", "judge") if rate == "resolution" else (f"{rate} rate", "judges")
        )
        lines.append(
            f"the {rates} {judge} no {names} requests: their {rate} deadline is not shorter than the "
            f"{mine[0]['window_h']:g} h measured; measure more than {days} day{'s' if days != 1 else ''} after "
            "warm-up"
        )
    return lines


#: The targets a wait summary judges: picked up within this many hours.
WAIT_TARGETS_H = (0.5, 1.0, 4.0, 24.0)


def wait_summary(w: Survival) -> dict[str, Any]:
    """Completed waits (mean, quantiles, how many), how many left the queue unpicked and were still
    waiting at the end, and the share picked up within each of ``WAIT_TARGETS_H`` with its cohort."""
    within = {}
    for t in WAIT_TARGETS_H:
        share, judged = w.within(t)
        within[f"{t:g}"] = {"share": share, "judged": judged}
    return {
        **w.done.summary(),
        "n": w.done.n,
        "left_unpicked": w.left,
        "still_waiting": w.open.n,
        "within_h": within,
    }


def cohort(times: Sequence[Survival]) -> Survival:
    """Several slices' times as one."""
    out = Survival(times[0].end if times else math.inf)
    for t in times:
        out.merge(t)
    return out


@dataclass
class Group:
    """Counts and times of one slice of requests (a priority, a category, or all of them).

    Each rate is judged on its own cohort: the requests (arrived after the warm-up) whose deadline fell
    before the end of the run, so that requests still inside their deadline at the end are neither
    successes nor failures. ``*_judged`` are those cohorts' sizes."""

    requests: int = 0
    resolved: int = 0
    abandoned: int = 0
    response_judged: int = 0
    responded_on_time: int = 0
    resolution_judged: int = 0
    resolved_on_time: int = 0
    satisfaction: float = 0.0
    resolution: Histogram = field(default_factory=Histogram)
    response: Histogram = field(default_factory=Histogram)

    COUNTS = (
        "requests",
        "resolved",
        "abandoned",
        "response_judged",
        "responded_on_time",
        "resolution_judged",
        "resolved_on_time",
    )

    def merge(self, other: Group) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.satisfaction += other.satisfaction
        self.resolution.merge(other.resolution)
        self.response.merge(other.response)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "resolved": self.resolved,
            "abandoned": self.abandoned,
            "response_rate": self.responded_on_time / self.response_judged if self.response_judged else None,
            "response_judged": self.response_judged,
            "resolution_rate": self.resolved_on_time / self.resolution_judged if self.resolution_judged else None,
            "resolution_judged": self.resolution_judged,
            "satisfaction_rate": self.satisfaction / self.resolution_judged if self.resolution_judged else None,
            "satisfaction_judged": self.resolution_judged,
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
        deadlines: dict[str, Sequence[float]] | None = None,
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
        self.deadlines = {k: list(v) for k, v in (deadlines or {}).items()}
        self.by_priority = [Group() for _ in priorities]
        self.by_category = [Group() for _ in categories]
        # per street/town office (the requests raised in its area) and priority, for staffing answers
        self.by_office = [[Group() for _ in priorities] for _ in offices]
        self.office_wait = [[Survival(end_h) for _ in priorities] for _ in offices]
        self.office_response = [[Survival(end_h) for _ in priorities] for _ in offices]
        self.office_resolution = [[Survival(end_h) for _ in priorities] for _ in offices]
        self.settled_at = [Histogram() for _ in levels]
        # waits for pickup at each kind of post: completed, left unpicked, still waiting at the end
        self.wait = [Survival(end_h) for _ in kinds]
        self.waited = [0] * len(kinds)  # counted waits longer than zero, for P(wait > 0)
        # staff time in the measured window: on duty (busy) and after a shift ended (overtime)
        self.busy_kind = [0.0] * len(kinds)
        self.busy_post = [0.0] * len(self.tracked)
        self.overtime_kind = [0.0] * len(kinds)
        self.overtime_post = [0.0] * len(self.tracked)
        self.staff = StaffTime()
        self.available_kind = [0.0] * len(kinds)
        self.available_post = [0.0] * len(self.tracked)
        self.grid_types = list(grid_types)
        self.grid_wait = [Survival(end_h) for _ in grid_types]
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

    def work(
        self,
        kind: int,
        tracked: int,
        gtype: int,
        started: float,
        shift_end: float,
        ended: float,
        drawn: float,
        hold: bool = False,
    ) -> None:
        """A person's work on one job, from ``started`` to ``ended``, on duty until ``shift_end`` and
        overtime after it: a request's handling (``drawn`` hours drawn for it, booked when it starts) or a
        summoned department's hold on a whistle (``hold``: booked when it ends, its length then known).
        Counted inside the measured window only; ``tracked`` is the index of a post reported on its own (a
        street or town office, a department), or -1; ``gtype`` a departmental grid's type, or -1."""
        w0, w1 = self.start_h, self.end_h
        lo = started if started > w0 else w0
        hi = ended if ended < shift_end else shift_end
        if hi > w1:
            hi = w1
        if hi > lo:
            self.busy_kind[kind] += hi - lo
            if tracked >= 0:
                self.busy_post[tracked] += hi - lo
            if gtype >= 0:
                self.busy_grid[gtype] += hi - lo
        if ended > shift_end:
            lo = shift_end if shift_end > lo else lo
            hi = ended if ended < w1 else w1
            if hi > lo:
                self.overtime_kind[kind] += hi - lo
                if tracked >= 0:
                    self.overtime_post[tracked] += hi - lo
        staff = self.staff
        if started >= w0:
            if hold:
                staff.held += drawn
            else:
                staff.drawn += drawn
            if ended > w1:
                staff.after_end += ended - (w1 if w1 > started else started)
        elif ended > w0:
            staff.carried_in += (ended if ended < w1 else w1) - w0

    def unbook(self, kind: int, tracked: int, gtype: int, shift_end: float, stopped: float, ended: float) -> None:
        """Take back the part after ``stopped`` of work booked until ``ended`` (the resident gave up and
        the person stopped): it is neither on duty nor overtime, and counts as ``staff.stopped``."""
        w0, w1 = self.start_h, self.end_h
        lo, hi = max(stopped, w0), min(ended, shift_end, w1)
        if hi > lo:
            self.busy_kind[kind] -= hi - lo
            if tracked >= 0:
                self.busy_post[tracked] -= hi - lo
            if gtype >= 0:
                self.busy_grid[gtype] -= hi - lo
        lo, hi = max(stopped, shift_end, w0), min(ended, w1)
        if hi > lo:
            self.overtime_kind[kind] -= hi - lo
            if tracked >= 0:
                self.overtime_post[tracked] -= hi - lo
        if stopped >= w1:
            return
        staff = self.staff
        staff.stopped += min(ended, w1) - stopped
        if ended > w1:
            staff.after_end -= ended - w1

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
        waits = {k: wait_summary(w) for k, w in zip(self.kinds, self.wait, strict=True) if w.done.n or w.open.n}
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
            "response_judged": head["response_judged"],
            "resolution_rate": head["resolution_rate"],
            "resolution_judged": head["resolution_judged"],
            "satisfaction_rate": head["satisfaction_rate"],
            "satisfaction_judged": head["satisfaction_judged"],
            "too_short": self.too_short(),
            "resolution_time_h": head["resolution_time_h"],
            "response_time_h": head["response_time_h"],
            "by_priority": {p: g.summary() for p, g in zip(self.priorities, self.by_priority, strict=True)},
            "by_category": {c: g.summary() for c, g in zip(self.categories, self.by_category, strict=True)},
            "by_level": by_level,
            "waiting_h": waits,
            "utilisation": {"by_post_type": util_kind, "by_office": util_office, "by_department": util_dept},
            "overtime_h": {
                "by_post_type": dict(zip(self.kinds, self.overtime_kind, strict=True)),
                "by_office": dict(zip(self.offices, self.overtime_post[:n_off], strict=True)),
                "by_department": dict(zip(self.departments, self.overtime_post[n_off:], strict=True)),
            },
            "staff_time_h": {
                "on_duty": sum(self.busy_kind),
                "overtime": sum(self.overtime_kind),
                "drawn": self.staff.drawn,
                "whistle_held": self.staff.held,
                "carried_in": self.staff.carried_in,
                "after_end": self.staff.after_end,
                "stopped": self.staff.stopped,
            },
            "escalations_to_district": self.escalations_to_district,
            "auto_escalations": self.auto_escalations,
            "deadlines_missed": {"response": self.missed_response, "resolution": self.missed_resolution},
            **mechanisms,
            **self.extra,
            "littles_law": self.littles_law(),
        }

    def too_short(self) -> list[dict[str, Any]]:
        """The cohorts the run is too short to judge at all: a priority whose deadline is longer than the
        measured window (run length less warm-up), so none of its requests can count in that rate."""
        window = self.end_h - self.start_h
        out = []
        for rate, lengths in self.deadlines.items():
            for prio, length in zip(self.priorities, lengths, strict=True):
                if window <= length < math.inf:
                    out.append({"priority": prio, "rate": rate, "deadline_h": length, "window_h": window})
        return out

    def _grids(self) -> dict[str, Any]:
        kind = self.kinds.index("grid") if "grid" in self.kinds else -1
        out: dict[str, Any] = {"mode": self.grid_mode}
        if kind >= 0:
            out["waiting_h"] = wait_summary(self.wait[kind])
            out["utilisation"] = self.busy_kind[kind] / self.available_kind[kind] if self.available_kind[kind] else None
        out["misrouted"] = self.misrouted
        out["handoffs"] = self.handoffs
        if self.grid_types:
            out["by_type"] = {
                t: {
                    "waiting_h": wait_summary(w),
                    "utilisation": b / a if a else None,
                }
                for t, w, b, a in zip(self.grid_types, self.grid_wait, self.busy_grid, self.available_grid, strict=True)
            }
        return out

    def service_level(
        self, office: int | None, prio: int | None, measure: str, hours: float
    ) -> tuple[float | None, int]:
        """Share of the requests raised in ``office``'s area (every office's, if None; of priority
        ``prio``, or all) that were responded to / resolved within ``hours`` of arriving, or picked up at
        the office within ``hours`` of reaching it; judged on those that arrived (reached the office) at
        least ``hours`` before the end (see ``Survival``). Returns the share (None if none were judged)
        and how many were judged."""
        prios = range(len(self.priorities)) if prio is None else [prio]
        offices = range(len(self.offices)) if office is None else [office]
        table = {"wait": self.office_wait, "response": self.office_response, "resolution": self.office_resolution}
        times = table[measure]
        return cohort([times[o][p] for o in offices for p in prios]).within(hours)

    def backlog(self) -> dict[str, Any]:
        return {
            "sample_h": self.sample_h,
            "t_h": self.series_t,
            "open": self.series_open,
            "by_post_type": {k: s for k, s in zip(self.kinds, self.series_kind, strict=True)},
        }
