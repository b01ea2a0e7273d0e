"""Queueing theory the validation suite sets beside the engine: the textbook answers, computed exactly.

Each function answers one model in steady state (or, for ``mt_infinite_occupancy``, from an empty
start): rates are per hour, times in hours. They are plain formulas with no simulation in them, so a
test can check each against a value printed in a textbook.

- M/M/c (Erlang C) is ``sim.analysis.staffing.MMC``: P(wait > 0), the mean wait, the tail C·e^{−(cμ−λ)t}.
- M/G/1: Pollaczek–Khinchine.
- M/M/c with non-preemptive priority classes and one service rate: Cobham (1954).
- M/M/c+M (Erlang A): the birth–death chain of the number in the system, with the fate of a tagged
  arrival worked out from the number ahead of it.
- M/M/c+D (Barrer, 1957): the M/M/n+G formulas of Zeltyn and Mandelbaum (2005) with a deterministic
  patience (here: the response deadline, at which a request still waiting is sent up).
- Feed-forward networks of M/M/c posts (Jackson): the traffic equations give each post its arrival rate;
  each post is then an M/M/c queue.
- M(t)/M/∞ with a rate constant within each hour (Eick, Massey and Whitt, 1993): the number in the
  system at time t is Poisson with mean m(t) = ∫ λ(t−u) P(S > u) du.
- M(t)/M/c(t) with a daily rota and this engine's shift rule: the continuous-time Markov chain of (the
  number in the system, the people finishing work after their shift ended), solved for its periodic
  steady state; waits from Little's law over a day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import expm_multiply

from sim.analysis.staffing import MMC, erlang_c

__all__ = [
    "MMC",
    "ErlangA",
    "Impatient",
    "RotaQueue",
    "cobham",
    "mmc_deadline",
    "mt_infinite_occupancy",
    "pollaczek_khinchine",
    "rota_queue",
]


def pollaczek_khinchine(arrival_rate: float, mean_h: float, cv: float) -> float:
    """Mean wait in queue of an M/G/1 queue: λ E[S²] / (2(1 − ρ)), with E[S²] = mean² (1 + cv²)."""
    rho = arrival_rate * mean_h
    if rho >= 1.0:
        return math.inf
    return arrival_rate * mean_h * mean_h * (1.0 + cv * cv) / (2.0 * (1.0 - rho))


def cobham(arrival_rates: Sequence[float], service_rate: float, servers: int) -> list[float]:
    """Mean wait in queue of each class (highest priority first) of an M/M/c queue that serves classes
    in priority order without preemption, all with the same service rate:
    W_k = C(c, a) / (c μ) / ((1 − σ_{k−1})(1 − σ_k)), σ_k the load of classes 1..k per server."""
    total = sum(arrival_rates)
    capacity = servers * service_rate
    if total >= capacity:
        return [math.inf] * len(arrival_rates)
    base = erlang_c(servers, total / service_rate) / capacity
    out, sigma = [], 0.0
    for lam in arrival_rates:
        before = sigma
        sigma += lam / capacity
        out.append(base / ((1.0 - before) * (1.0 - sigma)))
    return out


@dataclass(frozen=True)
class Impatient:
    """Steady-state figures of a queue whose waiting requests may leave (give up, or be sent up)."""

    p_wait: float
    """P(wait > 0): the share of arrivals that find every person busy (those who then leave included)."""
    p_abandon: float
    """The share of arrivals that leave the queue before anyone picks them up."""
    wq_served: float
    """Mean wait in queue of the requests that were picked up (zero waits included)."""
    utilisation: float
    """Busy people over people: λ (1 − p_abandon) / (c μ)."""


class ErlangA:
    """M/M/c+M (Erlang A): Poisson arrivals at λ, c people handling at rate μ each, and a waiting request
    leaves at rate θ (exponential patience with mean 1/θ) while nobody has picked it up.

    The number in the system is a birth–death chain: births at λ, deaths at min(n, c) μ + max(n − c, 0) θ.
    An arrival sees its stationary distribution (PASTA). One that finds k requests waiting ahead of it
    reaches a person with probability ∏_{i=0..k} (cμ + iθ) / (cμ + (i+1)θ) (it must outlast each of the
    k + 1 moves of the queue ahead), and on the way spends 1/(cμ + (i+1)θ) on average with i ahead.
    """

    def __init__(self, arrival_rate: float, service_rate: float, servers: int, patience_rate: float) -> None:
        self.lam, self.mu, self.c, self.theta = arrival_rate, service_rate, servers, patience_rate

    def stationary(self, tol: float = 1e-15) -> np.ndarray:
        """P(n in the system), n = 0, 1, ... until the tail is below ``tol``."""
        lam, mu, c, theta = self.lam, self.mu, self.c, self.theta
        if theta <= 0 and lam >= c * mu:
            raise ValueError("an Erlang A queue without abandonment (θ = 0) needs λ < c μ")
        a = lam / mu
        below = [1.0]  # π_n / π_c for n = c, c-1, ..., 0
        for n in range(c, 0, -1):
            below.append(below[-1] * n / a)
        weights = below[::-1]
        term, n = 1.0, c
        total = sum(weights)
        while True:
            n += 1
            term *= lam / (c * mu + (n - c) * theta)
            weights.append(term)
            total += term
            if term < tol * total and lam < c * mu + (n - c) * theta:
                break
            if n - c > 10_000_000:
                raise ValueError("the Erlang A chain does not settle (patience rate too small for the load)")
        return np.asarray(weights) / total

    def figures(self) -> Impatient:
        pi = self.stationary()
        c, mu, theta, lam = self.c, self.mu, self.theta, self.lam
        waiting = pi[c:]
        k = np.arange(len(waiting))
        move = c * mu + k * theta  # rate at which the queue ahead moves with k ahead
        step = move / (move + theta)
        served = np.cumprod(step)  # P(reach a person | k ahead)
        time_if_served = np.cumsum(1.0 / (move + theta))
        p_wait = float(waiting.sum())
        p_abandon = float((waiting * (1.0 - served)).sum())
        wq = float((waiting * served * time_if_served).sum()) / (1.0 - p_abandon)
        return Impatient(p_wait, p_abandon, wq, lam * (1.0 - p_abandon) / (c * mu))

    def mean_queue(self) -> float:
        """E[number waiting]; θ E[L_q] / λ equals P(abandon) (a check on ``figures``)."""
        pi = self.stationary()
        return float((pi[self.c :] * np.arange(len(pi) - self.c)).sum())


def mmc_deadline(arrival_rate: float, service_rate: float, servers: int, deadline_h: float) -> Impatient:
    """M/M/c+D (Barrer): a request nobody has picked up ``deadline_h`` after it arrived leaves the queue
    (here: it is escalated automatically). From the M/M/n+G formulas of Zeltyn and Mandelbaum (2005)
    with deterministic patience D, where the offered wait V has density λ e^{(λ − nμ)x} / (E + λJ) on
    (0, ∞):

        E = Σ_{j<n} (λ/μ)^j / j! ÷ (λ/μ)^{n−1} / (n−1)!,   J = ∫_0^∞ e^{λ min(x, D) − nμx} dx,
        P(wait > 0) = λJ / (E + λJ),   P(leave) = P(V > D) = λ e^{(λ−nμ)D} / (nμ) / (E + λJ).

    Computed with every term scaled by e^{−max(λ−nμ, 0)D}, so an overloaded queue with a long
    deadline does not overflow."""
    lam, mu, n, d = arrival_rate, service_rate, servers, deadline_h
    a = lam / mu
    e_sum, term = 1.0, 1.0
    for m in range(1, n):
        term *= (n - m) / a
        e_sum += term
    beta = lam - n * mu
    scale = math.exp(-max(beta, 0.0) * d)  # every quantity below is multiplied by this
    growth = math.exp(beta * d) * scale  # e^{βD}, scaled
    below_d = (math.expm1(beta * d) / beta if beta != 0 else d) * scale  # ∫_0^D e^{βx} dx, scaled
    j = below_d + growth / (n * mu)
    denominator = e_sum * scale + lam * j
    p_wait = lam * j / denominator
    p_leave = lam * growth / (n * mu) / denominator
    if beta != 0:
        first_moment = (growth * (beta * d - 1.0) + scale) / (beta * beta)  # ∫_0^D x e^{βx} dx, scaled
    else:
        first_moment = d * d / 2.0 * scale
    wq_served = lam * first_moment / denominator / (1.0 - p_leave)
    return Impatient(p_wait, p_leave, wq_served, lam * (1.0 - p_leave) / (n * mu))


def mt_infinite_occupancy(
    hourly_rates: Sequence[float] | np.ndarray, service_rate: float, times_h: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Mean number in an M(t)/M/∞ system started empty at time 0, at each of ``times_h``, when the
    arrival rate is ``hourly_rates[h]`` throughout hour h (Eick, Massey and Whitt):
    m(t) = Σ_h λ_h ∫_{h}^{min(h+1, t)} e^{−μ(t−u)} du. The number in the system is Poisson with this mean."""
    rates = np.asarray(hourly_rates, dtype=float)
    mu = service_rate
    out = np.empty(len(times_h))
    # m at the top of each hour, by the exact recursion m(h+1) = λ_h/μ + (m(h) − λ_h/μ) e^{−μ}
    decay = math.exp(-mu)
    tops = np.empty(len(rates) + 1)
    tops[0] = 0.0
    for h, lam in enumerate(rates):
        tops[h + 1] = lam / mu + (tops[h] - lam / mu) * decay
    for i, t in enumerate(times_h):
        h = min(math.floor(t), len(rates) - 1)
        lam = rates[h]
        out[i] = lam / mu + (tops[h] - lam / mu) * math.exp(-mu * (t - h))
    return out


@dataclass(frozen=True)
class RotaQueue:
    """Figures of a queue whose people on duty follow a daily rota, over the day in periodic steady state."""

    wq: float
    """Mean wait in queue per arrival (Little's law over a day: mean number waiting / λ)."""
    p_wait: float
    """The share of arrivals that find everyone on duty busy (PASTA, averaged over the day)."""
    utilisation: float
    """People on duty who are busy, over people on duty, over the day (overtime not counted)."""
    overtime_h: float
    """Hours a day of work finished by people whose shift had ended."""


def rota_queue(
    arrival_rate: float,
    service_rate: float,
    shifts: Sequence[tuple[float, int]],
    max_in_system: int | None = None,
) -> RotaQueue:
    """An M/M/c(t) queue whose people on duty change at shift changes, ``shifts`` being the day's
    (hours, people) in order from midnight (hours adding up to 24), with the shift rule of the engine
    (and of Ciw's non-preemptive schedules): at a shift change the people whose shift ends finish what
    they hold, as overtime, and take nothing new; the people whose shift starts take waiting work at once.

    The state is (n, k): n requests in the system, k of them in the hands of people in overtime. Within
    a shift with c on duty: arrivals at λ; the people on duty finish at min(n − k, c) μ; those in
    overtime at k μ (and go home). At the change to the next shift, the busy people of the ending shift
    join those in overtime: k becomes k + min(n − k, c). The chain's distribution at midnight is the
    fixed point of the day's map; the day's means come from the integral of the transient over each
    shift (the matrix exponential of the generator augmented with the identity, applied to a vector).
    """
    lam, mu = arrival_rate, service_rate
    overtime_cap = sum(c for _, c in shifts)  # more would need people of two past shifts still at work
    nmax = max_in_system or _rota_truncation(lam, mu, shifts)
    states = [(n, k) for n in range(nmax + 1) for k in range(min(n, overtime_cap) + 1)]
    index = {s: i for i, s in enumerate(states)}
    size = len(states)

    def generator(c: int) -> sparse.csr_matrix:
        rows, cols, rates = [], [], []
        for (n, k), i in index.items():
            moves = []
            if n < nmax:
                moves.append((index[(n + 1, k)], lam))
            on = min(n - k, c)
            if on > 0:
                moves.append((index[(n - 1, min(k, n - 1))], on * mu))
            if k > 0:
                moves.append((index[(n - 1, k - 1)], k * mu))
            for j, rate in moves:
                rows += [i, i]
                cols += [j, i]
                rates += [rate, -rate]
        return sparse.csr_matrix((rates, (rows, cols)), shape=(size, size))

    def change(c_old: int) -> sparse.csr_matrix:
        if len(shifts) == 1:  # one shift all day: nobody comes or goes
            return sparse.identity(size, format="csr")
        cols = [index[(n, min(k + min(n - k, c_old), overtime_cap, n))] for n, k in states]
        return sparse.csr_matrix((np.ones(size), (np.arange(size), cols)), shape=(size, size))

    def waiting(c: int) -> np.ndarray:
        return np.array([max(n - k - c, 0) for n, k in states], dtype=float)

    def blocked(c: int) -> np.ndarray:
        return np.array([1.0 if n - k >= c else 0.0 for n, k in states])

    def busy(c: int) -> np.ndarray:
        return np.array([min(n - k, c) for n, k in states], dtype=float)

    overtime = np.array([k for _, k in states], dtype=float)

    steps = []
    for hours, c in shifts:
        q = generator(c)
        # d/dt [x, y] = [x, y] [[Q, I], [0, 0]]: x the distribution, y its integral since the shift began
        aug = sparse.bmat([[q, sparse.identity(size)], [None, sparse.csr_matrix((size, size))]])
        steps.append((q.T.tocsr() * hours, aug.T.tocsr() * hours, change(c).T.tocsr()))

    def handed_over(p: np.ndarray, change_t: sparse.csr_matrix) -> np.ndarray:
        p = change_t @ np.maximum(p, 0.0)
        return np.asarray(p / p.sum())

    p = np.zeros(size)
    p[0] = 1.0
    for _ in range(10_000):  # the distribution at midnight, day after day, until it repeats
        start = p
        for q_t, _, change_t in steps:
            p = handed_over(expm_multiply(q_t, p), change_t)
        if np.abs(p - start).sum() < 1e-11:
            break
    area_wait = area_blocked = area_busy = area_overtime = staff_hours = 0.0
    for (hours, c), (_, aug_t, change_t) in zip(shifts, steps, strict=True):
        xy = expm_multiply(aug_t, np.concatenate([p, np.zeros(size)]))
        spent = xy[size:]  # expected hours in each state during the shift
        area_wait += float(spent @ waiting(c))
        area_blocked += float(spent @ blocked(c))
        area_busy += float(spent @ busy(c))
        area_overtime += float(spent @ overtime)
        staff_hours += c * hours
        p = handed_over(xy[:size], change_t)
    day = sum(h for h, _ in shifts)
    return RotaQueue(
        wq=area_wait / day / lam,
        p_wait=area_blocked / day,
        utilisation=area_busy / staff_hours,
        overtime_h=area_overtime * 24.0 / day,
    )


def _rota_truncation(lam: float, mu: float, shifts: Sequence[tuple[float, int]]) -> int:
    """A bound on the number in the system the chain needs: the largest backlog a day can build up
    (arrivals beyond capacity in the leanest stretch), room for the Poisson spread, and the length over
    which the queue's geometric tail at full staffing falls below 1e-12."""
    growth = sum(max(lam - c * mu, 0.0) * h for h, c in shifts)
    peak = lam / mu + growth
    ratio = min(lam / (max(c for _, c in shifts) * mu), 0.995)
    tail = math.log(1e-12) / math.log(ratio)
    return math.ceil(peak + 6.0 * math.sqrt(peak + 1.0) + tail)
