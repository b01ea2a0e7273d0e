"""Arrivals: where residents' requests come from, a block of simulated hours at a time.

Requests are generated from the scenario's rates (an hourly and weekly profile, category shares, surges
multiplying some categories' rates for a while), or replayed from a real log's trace (``microgov
import``): the trace's times and categories, with the rest of each request drawn as for a generated one.
Each simulated hour draws from its own stream, so a surge in one hour leaves every other hour's
arrivals as they were; and everything that describes each request (origin, channel, the uniforms that
decide its fate, its patience and a first block of variates) is drawn there too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: Columns of the uniform draws that describe a request at its arrival (``describe``).
ORIGIN_U, CHANNEL_U, SETTLE_U, SOLVE_U, NEED_U, JOINT_U, NEIGHBOURS_U, REPEAT_U, MISROUTE_U = range(9)
UNIFORMS = 9
#: Standard normal variates drawn for each request at its arrival: its patience, then the times drawn
#: for it as it moves (notice delays, handling, referrals, lead times); more come from its own stream.
VARIATES = 12


def describe(gen: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws that describe ``n`` requests: uniforms (columns ``ORIGIN_U`` ...) and standard normal
    variates (column 0 their patience, then ``VARIATES`` for the times drawn as they move)."""
    return gen.random((n, UNIFORMS)), gen.standard_normal((n, VARIATES + 1))


@dataclass(frozen=True)
class Surge:
    start_h: float
    end_h: float
    multiplier: float
    categories: np.ndarray  # bool mask over categories


@dataclass(frozen=True)
class ArrivalBlock:
    """A block of arrivals in time order: times, categories, what describes each, and their keys."""

    times: np.ndarray
    cats: np.ndarray
    uniforms: np.ndarray
    normals: np.ndarray
    keys: np.ndarray

    @classmethod
    def empty(cls) -> ArrivalBlock:
        return cls(
            np.empty(0),
            np.empty(0, dtype=np.int64),
            np.empty((0, UNIFORMS)),
            np.empty((0, VARIATES + 1)),
            np.empty(0, dtype=np.int64),
        )

    def head(self, n: int) -> ArrivalBlock:
        return ArrivalBlock(self.times[:n], self.cats[:n], self.uniforms[:n], self.normals[:n], self.keys[:n])


@dataclass(frozen=True)
class Entries:
    """Where requests enter: per origin its weight, its own group's post, its grid, its office and its
    community; per category its channel shares and the chances it needs a department, a second one
    jointly, and that the neighbours settle it."""

    origins: np.ndarray
    weights: np.ndarray
    entry_posts: np.ndarray
    entry_shares: np.ndarray
    needs: np.ndarray
    joint: np.ndarray
    in_unit: np.ndarray


class Arrivals(Protocol):
    block_h: int
    """Hours generated at a time."""

    def block(self, first: int, hours: int) -> ArrivalBlock:
        """The arrivals of simulated hours ``first`` to ``first + hours - 1``."""

    def records(self, arr: ArrivalBlock) -> Any:
        """Each arrival of ``arr`` as the engine schedules it (see ``Source.records``)."""


def block_hours(hour_rates: np.ndarray) -> int:
    """Hours generated at a time: about 256 expected arrivals, at most a day, at least an hour."""
    peak = float(hour_rates.max())
    return int(min(24, max(1, 256 // peak))) if peak > 0 else 24


class Source:
    """What generated and replayed arrivals share: the hour streams and what describes each request."""

    block_h = 24

    def __init__(self, hour: Callable[[int], np.random.Generator], entries: Entries) -> None:
        self.hour = hour
        e = entries
        self.entries = e
        self.cum_weights = np.cumsum(e.weights)
        self.cum_entry = np.cumsum(e.entry_shares, axis=1)

    def _hour(self, h: int, gen: np.random.Generator, rates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """Hour ``h``'s arrival times and categories (``rates``: its expected arrivals per category)."""
        raise NotImplementedError

    def _rates(self, first: int, hours: int) -> np.ndarray | None:
        return None

    def block(self, first: int, hours: int) -> ArrivalBlock:
        """The arrivals of simulated hours ``first`` to ``first + hours - 1``, each hour from its own
        stream, then what describes each."""
        rates = self._rates(first, hours)
        parts = []
        for i, h in enumerate(range(first, first + hours)):
            gen = self.hour(h)
            got = self._hour(h, gen, None if rates is None else rates[i])
            if got is None:
                continue
            times, cats = got
            n = len(times)
            uniforms, normals = describe(gen, n)
            keys = (h << 24) + np.arange(n, dtype=np.int64)
            parts.append((times, cats, uniforms, normals, keys))
        if not parts:
            return ArrivalBlock.empty()
        return ArrivalBlock(*(np.concatenate(col) for col in zip(*parts, strict=True)))

    def records(self, arr: ArrivalBlock) -> Any:
        """Each arrival as a tuple: time, category, origin, entry post, office, community, its settle,
        solve, repeat and misroute uniforms, whether it needs a department, a joint one, whether the
        neighbours take it, its patience variate, its other variates, its key."""
        e = self.entries
        n = len(arr.times)
        cats, uni = arr.cats, arr.uniforms
        origin = np.searchsorted(self.cum_weights, uni[:, ORIGIN_U] * self.cum_weights[-1], side="right")
        origin = np.minimum(origin, len(self.cum_weights) - 1)
        channel = np.minimum((uni[:, CHANNEL_U][:, None] >= self.cum_entry[cats]).sum(axis=1), 2)
        where = e.entry_posts[origin]
        entry = where[np.arange(n), channel]
        need = uni[:, NEED_U] < e.needs[cats]
        joint = need & (uni[:, JOINT_U] < e.joint[cats])
        neighbours = (channel == 0) & (uni[:, NEIGHBOURS_U] < e.in_unit[cats])
        return zip(
            arr.times.tolist(),
            cats.tolist(),
            e.origins[origin].tolist(),
            entry.tolist(),
            where[:, 2].tolist(),
            where[:, 3].tolist(),
            uni[:, SETTLE_U].tolist(),
            uni[:, SOLVE_U].tolist(),
            uni[:, REPEAT_U].tolist(),
            uni[:, MISROUTE_U].tolist(),
            need.tolist(),
            joint.tolist(),
            neighbours.tolist(),
            arr.normals[:, 0].tolist(),
            arr.normals[:, 1:].tolist(),
            arr.keys.tolist(),
            strict=True,
        )


class Generated(Source):
    """Poisson arrivals per category and hour at the scenario's rates (an hour-of-day and day-of-week
    profile, surges multiplying some categories' rates), at uniform times within the hour: exact for a
    rate that is constant within each hour."""

    def __init__(
        self,
        hour: Callable[[int], np.random.Generator],
        entries: Entries,
        *,
        hour_rates: np.ndarray,
        shares: np.ndarray,
        offset_h: float,
        surges: list[Surge],
    ) -> None:
        super().__init__(hour, entries)
        self.hour_rates = hour_rates
        """Expected requests in each hour of the week (0 = Monday 00:00), before category shares."""
        self.shares = shares
        self.offset_h = offset_h
        self.surges = surges
        self.block_h = block_hours(hour_rates)

    def hour_multipliers(self, first: int, hours: int) -> np.ndarray | None:
        """Multipliers of each category's arrival rate in simulated hours ``first`` to
        ``first + hours - 1`` (hours × categories), or None when no surge touches them. A surge that
        covers part of an hour raises that hour's rate in proportion."""
        mult = None
        for surge in self.surges:
            if surge.end_h <= first or surge.start_h >= first + hours:
                continue
            if mult is None:
                mult = np.ones((hours, len(self.shares)))
            lo = np.arange(first, first + hours, dtype=float)
            overlap = np.clip(np.minimum(lo + 1, surge.end_h) - np.maximum(lo, surge.start_h), 0.0, 1.0)
            factor = 1.0 + (surge.multiplier - 1.0) * overlap
            mult[:, surge.categories] *= factor[:, None]
        return mult

    def _rates(self, first: int, hours: int) -> np.ndarray:
        week = (np.arange(first, first + hours) + int(self.offset_h)) % 168
        rates: np.ndarray = self.hour_rates[week][:, None] * self.shares[None, :]
        mult = self.hour_multipliers(first, hours)
        return rates * mult if mult is not None else rates

    def _hour(self, h: int, gen: np.random.Generator, rates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        assert rates is not None
        counts = gen.poisson(rates)
        n = int(counts.sum())
        if not n:
            return None
        cats = np.repeat(np.arange(len(counts)), counts)
        times = h + gen.random(n)
        order = np.argsort(times, kind="stable")
        return times[order], cats[order]


class Replayed(Source):
    """A real log's arrivals (times in hours from the start, categories), those in ``[0, end_h)``."""

    def __init__(
        self,
        hour: Callable[[int], np.random.Generator],
        entries: Entries,
        *,
        times: np.ndarray,
        cats: np.ndarray,
        end_h: float,
        block_h: int,
    ) -> None:
        super().__init__(hour, entries)
        order = np.argsort(times, kind="stable")
        t, c = np.asarray(times, dtype=float)[order], np.asarray(cats, dtype=np.int64)[order]
        keep = (t >= 0.0) & (t < end_h)
        self.times, self.cats = t[keep], c[keep]
        self.block_h = block_h

    def _hour(self, h: int, gen: np.random.Generator, rates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        lo, hi = np.searchsorted(self.times, [h, h + 1], side="left")
        if hi <= lo:
            return None
        return self.times[lo:hi], self.cats[lo:hi]
