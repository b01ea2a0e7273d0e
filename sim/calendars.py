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

from sim.scenario.schema import Shift

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


def on_duty(shift: Shift, staff: int) -> int:
    if shift.count is not None:
        return shift.count
    if not staff or not shift.share:
        return 0
    return max(1, math.floor(shift.share * staff + 0.5))


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
    def from_shifts(cls, shifts: Sequence[Shift], staff: int, offset_h: float = 0.0) -> Calendar:
        minutes = [0] * (7 * 1440 + 1)
        for shift in shifts:
            n = on_duty(shift, staff)
            if not n:
                continue
            start, end = parse_hours(shift.hours)
            for day in parse_days(shift.days):
                a, b = day * 1440 + start, day * 1440 + end
                for lo, hi in ((a, min(b, 7 * 1440)), (0, b - 7 * 1440)):
                    if hi > lo:
                        minutes[lo] += n
                        minutes[hi] -= n
        starts: list[float] = []
        counts: list[int] = []
        level = 0
        for minute in range(7 * 1440):
            level += minutes[minute]
            if not counts or counts[-1] != level:
                starts.append(minute / 60)
                counts.append(level)
        return cls(tuple(starts), tuple(counts), offset_h)

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
