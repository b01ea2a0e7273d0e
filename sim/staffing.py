"""Staffing arithmetic from queueing theory: Erlang C, the textbook answer for a pool of people
answering a stream of requests (a call centre, a street's command centre).

For Poisson arrivals at rate ``lam`` per hour, exponential handling at rate ``mu`` per hour per person
and ``c`` people, Erlang C gives the chance a request has to wait, the mean wait, and the share waiting
longer than a target; the engine is checked against these figures, and staffing answers start from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system with offered load ``load`` (Erlangs), by the stable
    recurrence B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that a request must wait in an M/M/c queue (1 when the queue is unstable)."""
    if servers <= 0 or load >= servers:
        return 1.0
    b = erlang_b(servers, load)
    rho = load / servers
    return b / (1.0 - rho * (1.0 - b))


@dataclass(frozen=True)
class MMC:
    """Steady-state figures of an M/M/c queue; times in hours."""

    arrival_rate: float
    service_rate: float
    servers: int

    @property
    def load(self) -> float:
        return self.arrival_rate / self.service_rate

    @property
    def utilisation(self) -> float:
        return self.load / self.servers

    @property
    def stable(self) -> bool:
        return self.utilisation < 1.0

    @property
    def p_wait(self) -> float:
        return erlang_c(self.servers, self.load)

    @property
    def wq_mean(self) -> float:
        if not self.stable:
            return math.inf
        return self.p_wait / (self.servers * self.service_rate - self.arrival_rate)

    def p_wait_longer(self, hours: float) -> float:
        """P(wait > hours): the Erlang C tail C * exp(-(c mu - lam) t)."""
        if not self.stable:
            return 1.0
        return self.p_wait * math.exp(-(self.servers * self.service_rate - self.arrival_rate) * hours)

    def service_level(self, hours: float) -> float:
        """Share of requests picked up within ``hours``."""
        return 1.0 - self.p_wait_longer(hours)


def servers_for(arrival_rate: float, service_rate: float, hours: float, share: float, limit: int = 100_000) -> int:
    """The fewest servers for which at least ``share`` of requests wait no longer than ``hours``."""
    c = max(1, math.floor(arrival_rate / service_rate) + 1)
    while c <= limit:
        if MMC(arrival_rate, service_rate, c).service_level(hours) >= share:
            return c
        c += 1
    return limit
