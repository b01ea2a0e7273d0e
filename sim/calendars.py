"""Duty calendars: who is on duty at a post at any hour of the week, like a staff rota on the wall.

A calendar is a step function over the 168 hours of a week, compiled from a post kind's shifts and the
number of staff at one post. The engine asks it two things: how many people are on duty now (and until
when that holds), and when the number next goes up (so waiting work is picked up the moment someone
comes on duty, without a clock event per post per shift change).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import DutyBlock

WEEK_H = 168.0
_DAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def parse_days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        a, b = _DAY[first], _DAY[last or first]
        days += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    return sorted(set(days))


def parse_hours(text: str) -> tuple[int, int]:
    """Minutes from midnight of a shift's start and end; an end at or before the start means next day."""
    start, end = text.split("-")
    s = int(start[:2]) * 60 + int(start[3:])
    e = int(end[:2]) * 60 + int(end[3:])
    return s, (e if e > s else e + 1440)


WEEK_MIN = 7 * 1440


def minutes(shift: DutyBlock) -> list[tuple[int, int]]:
    """The minutes of the week (0 = Monday 00:00) a shift covers, as [start, end) intervals."""
    start, end = parse_hours(shift.hours)
    out = []
    for day in parse_days(shift.days):
        a, b = day * 1440 + start, day * 1440 + end
        out += [(lo, hi) for lo, hi in ((a, min(b, WEEK_MIN)), (0, b - WEEK_MIN)) if hi > lo]
    return out


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5 + 1e-9)


def allocate(shifts: Sequence[DutyBlock], staff: int) -> tuple[int, ...]:
    """How many of a post's ``staff`` people work each shift of its rota, never more on duty at any
    minute than there are staff.

    A ``count`` is taken as it is, up to what the staff allow. The ``share`` shifts are apportioned by
    largest remainder within each group of shifts that overlap in time (the grid's two day shifts are
    one group; office hours and the night roster are separate groups): each shift's quota is
    ``share * staff``; the group's people are its quotas' sum rounded to the nearest whole number; each
    shift gets its quota rounded down, and the people left over go to the shifts with the largest
    remainders (the earlier shift on a tie), skipping any that would put more people on duty than there
    are staff. So the week's person-hours are those the shares ask for, to within one shift. A group
    whose shares round to nobody still gets one person where the staff allow it (a night roster of 5%
    of eleven staff is one person, not none).
    """
    spans = [minutes(s) for s in shifts]
    load = np.zeros(WEEK_MIN + 1, dtype=np.int64)
    counts = [0] * len(shifts)

    def room(i: int) -> int:
        """People that can still be put on shift ``i`` without exceeding the staff at any minute."""
        busiest = max((int(load[lo:hi].max()) for lo, hi in spans[i]), default=0)
        return max(0, staff - busiest)

    def add(i: int, n: int) -> None:
        counts[i] += n
        for lo, hi in spans[i]:
            load[lo:hi] += n

    for i, shift in enumerate(shifts):
        if shift.count is not None and spans[i]:
            add(i, min(shift.count, room(i)))
    shared = [i for i, s in enumerate(shifts) if s.share is not None and s.share > 0 and spans[i]]
    quota = {i: (shifts[i].share or 0.0) * staff for i in shared}
    for group in _overlapping(shared, spans):
        for i in group:
            add(i, min(math.floor(quota[i] + 1e-9), room(i)))
        seats = max(1, _round_half_up(sum(quota[i] for i in group)))
        left = seats - sum(counts[i] for i in group)
        for i in sorted(group, key=lambda j: (-(quota[j] - math.floor(quota[j] + 1e-9)), j)):
            if left <= 0:
                break
            if counts[i] < max(1, math.ceil(quota[i] - 1e-9)) and room(i) > 0:
                add(i, 1)
                left -= 1
    return tuple(counts)


def _overlapping(items: Sequence[int], spans: Sequence[list[tuple[int, int]]]) -> list[list[int]]:
    """``items`` grouped so that shifts that overlap in time (directly or through others) share a group."""
    groups: list[list[int]] = []
    for i in items:
        touching = [g for g in groups if any(_overlap(spans[i], spans[j]) for j in g)]
        merged = [i]
        for g in touching:
            merged = g + merged
            groups.remove(g)
        groups.append(sorted(merged))
    return sorted(groups)


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(lo < h and l2 < hi for lo, hi in a for l2, h in b)


def deal(counts: Sequence[int], groups: int) -> list[tuple[int, ...]]:
    """A rota's people dealt in turn over ``groups`` sub-posts (the five departmental grids of one grid
    team): person 1 to the first, person 2 to the second, and so on, going through the shifts in order.
    Returns each sub-post's people per shift; at every minute they add up to the whole rota's."""
    out = [[0] * len(counts) for _ in range(groups)]
    person = 0
    for i, n in enumerate(counts):
        for _ in range(n):
            out[person % groups][i] += 1
            person += 1
    return [tuple(row) for row in out]


@dataclass(frozen=True)
class Calendar:
    """A weekly step function of people on duty; simulated time 0 is ``offset_h`` hours into the week."""

    starts: tuple[float, ...]
    counts: tuple[int, ...]
    offset_h: float = 0.0

    @classmethod
    def always(cls, count: int) -> Calendar:
        return cls((0.0,), (count,))

    @classmethod
    def from_shifts(cls, shifts: Sequence[DutyBlock], staff: int, offset_h: float = 0.0) -> Calendar:
        """The people on duty of a post with ``staff`` people working ``shifts`` (see ``allocate``)."""
        return cls.from_counts(shifts, allocate(shifts, staff), offset_h)

    @classmethod
    def from_counts(cls, shifts: Sequence[DutyBlock], counts: Sequence[int], offset_h: float = 0.0) -> Calendar:
        """The people on duty when ``counts[i]`` people work ``shifts[i]``."""
        steps = np.zeros(WEEK_MIN + 1, dtype=np.int64)
        for shift, n in zip(shifts, counts, strict=True):
            for lo, hi in minutes(shift) if n else ():
                steps[lo] += n
                steps[hi] -= n
        level = np.cumsum(steps[:WEEK_MIN])
        change = np.flatnonzero(np.diff(level, prepend=level[0] - 1))
        return cls(tuple((change / 60).tolist()), tuple(level[change].tolist()), offset_h)

    @property
    def constant(self) -> bool:
        return len(self.counts) == 1

    @property
    def peak(self) -> int:
        return max(self.counts)

    def at(self, t: float) -> tuple[int, float]:
        """People on duty at simulated time ``t`` and the time until which that number holds."""
        return self.segment(t)[:2]

    def segment(self, t: float) -> tuple[int, float, float]:
        """People on duty at ``t``, and the times until and since which that number holds."""
        if len(self.counts) == 1:
            return self.counts[0], math.inf, -math.inf
        week, h = divmod(t + self.offset_h, WEEK_H)
        i = bisect.bisect_right(self.starts, h) - 1
        nxt = self.starts[i + 1] if i + 1 < len(self.starts) else WEEK_H
        base = week * WEEK_H - self.offset_h
        return self.counts[i], base + nxt, base + self.starts[i]

    def next_rise(self, t: float) -> float:
        """The first time after ``t`` when more people are on duty than at ``t`` (inf if never)."""
        now, until = self.at(t)
        if math.isinf(until):
            return math.inf
        for _ in range(len(self.counts) + 1):
            n, nxt = self.at(until)
            if n > now:
                return until
            until = nxt
        return math.inf

    def staff_hours(self, t0: float, t1: float) -> float:
        """Person-hours on duty between simulated times ``t0`` and ``t1``."""
        if len(self.counts) == 1:
            return self.counts[0] * max(0.0, t1 - t0)
        total, t = 0.0, t0
        while t < t1:
            n, until = self.at(t)
            end = min(until, t1)
            total += n * (end - t)
            t = end
        return total


class Duty:
    """A calendar with a memory of the segment last asked for, shared by every post that keeps the same
    rota: the simulated clock only moves forward, so most lookups are answered without a search."""

    __slots__ = ("cal", "count", "since", "until")

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.count = 0
        self.since = math.inf
        self.until = -math.inf

    def at(self, t: float) -> tuple[int, float]:
        if not self.since <= t < self.until:
            self.count, self.until, self.since = self.cal.segment(t)
        return self.count, self.until

    def next_rise(self, t: float) -> float:
        return self.cal.next_rise(t)

    def staff_hours(self, t0: float, t1: float) -> float:
        return self.cal.staff_hours(t0, t1)

    @property
    def peak(self) -> int:
        return self.cal.peak
