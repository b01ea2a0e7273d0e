"""The nine validation cases: each builds a validation model, says what theory (or Ciw) expects of it, and
reads the same figures off each replication of the engine.

A case is a ``Spec``: its measures with their expected values, and a function that runs one replication
and returns the engine's figure for each measure. ``sim.analysis.validation`` runs the replications and
judges agreement. Every figure is read from what ``microgov run`` itself reports (the waiting-time
survival per post kind, the counts of abandoned and escalated requests, busy and on-duty hours, the
event log, the backlog series), so the suite checks the measurement as well as the model.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim import limits
from sim.analysis.staffing import MMC
from sim.analysis.validation import theory
from sim.analysis.validation.models import (
    ALL_DAY,
    START,
    Model,
    ValidationError,
    check_rate,
    dist,
    exponential,
    model,
)
from sim.analysis.validation.peer import check_peer, ciw_queue
from sim.engine.network import KINDS
from sim.eventlog import read_events
from sim.metrics import Metrics, bin_of
from sim.policies.base import GRID_K, STREET_K
from sim.scenario.loader import defaults_layer
from sim.scenario.schema import PRIORITIES

Figure = tuple[float, float]
"""A replication's figure for one measure and the resolution it was read at (0 for a count or an exact
sum; for a share read off the waiting-time histogram, the share of waits in the bin that holds t: the
most the interpolation within that bin can be off)."""
Replicate = Callable[[np.random.SeedSequence], dict[str, Figure]]
FAMILIES = ("lognormal", "gamma", "fixed", "exponential")


@dataclass(frozen=True)
class Settings:
    """How much to simulate: replications, requests in each, master seed, warm-up share."""

    reps: int = 10
    customers: int = 200_000
    seed: int = 0
    warmup: float = 0.1

    def check(self) -> None:
        if self.reps < 2:
            raise ValidationError(f"--reps: at least 2 replications are needed for an interval, found {self.reps}")
        if self.reps > limits.MAX_REPS:
            raise ValidationError(f"--reps: at most {limits.MAX_REPS:,} replications, found {self.reps:,}")
        if self.customers < 1000:
            raise ValidationError(f"--customers: at least 1,000 requests per replication, found {self.customers:,}")
        if self.customers > 50_000_000:
            raise ValidationError(f"--customers: at most 50,000,000 requests per replication, found {self.customers:,}")
        if not 0 <= self.seed <= limits.MAX_SEED:
            raise ValidationError(f"--seed: expected 0 to {limits.MAX_SEED}, found {self.seed}")
        if not 0.0 <= self.warmup <= 0.9:
            raise ValidationError(f"--warmup: expected a share of the requests from 0 to 0.9, found {self.warmup:g}")

    def seeds(self) -> list[np.random.SeedSequence]:
        """Replication i's streams: stream i of the master seed (as in ``compare``)."""
        return [np.random.SeedSequence(self.seed, spawn_key=(i,)) for i in range(self.reps)]

    def as_params(self) -> dict[str, Any]:
        return {"reps": self.reps, "customers": self.customers, "seed": self.seed, "warmup": self.warmup}


@dataclass
class Spec:
    """One case, ready to run: its measures (name, what it means, the expected value), how to run one
    replication of the engine and, where there is one, of the peer."""

    case: str
    title: str
    theory_name: str
    params: dict[str, Any]
    theory: dict[str, float]
    labels: dict[str, str]
    replicate: Replicate
    peer_name: str | None = None
    peer: Callable[[np.random.SeedSequence], dict[str, float]] | None = None
    peer_measures: tuple[str, ...] = ()
    """The measures the peer reports too."""
    notes: list[str] = field(default_factory=list)
    pooled: Callable[[list[dict[str, Figure]]], list[str]] | None = None
    """Notes computed from every replication's figures at once (the arrivals case's pooled χ² test)."""


def peer_seed(ss: np.random.SeedSequence) -> np.random.SeedSequence:
    """The peer's streams for a replication: independent of the engine's."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 1))


# --- reading the engine's figures -----------------------------------------------------------------------


def queue_figures(m: Metrics, kind: int, at_h: Sequence[float] = ()) -> dict[str, Figure]:
    """Waits and utilisation at the posts of one kind: the mean wait of the requests picked up, P(wait >
    0) over every measured arrival (those that left the queue unpicked had to wait), P(wait > t) from the
    waiting-time survival, and busy hours over on-duty hours."""
    w = m.wait[kind]
    done = w.done
    if done.n == 0:
        raise ValidationError("no request was measured: add requests (--customers) or lower the warm-up")
    arrived = done.n + w.left
    out: dict[str, Figure] = {
        "wq_h": (done.total / done.n, 0.0),
        "p_wait": ((m.waited[kind] + w.left) / arrived, 0.0),
    }
    for t in at_h:
        share, _ = w.within(t)
        out[wait_tail_name(t)] = (1.0 - (share or 0.0), done.counts[bin_of(t)] / done.n)
    out["utilisation"] = (m.busy_kind[kind] / m.available_kind[kind], 0.0)
    return out


def requests_measured(m: Metrics) -> int:
    return sum(g.requests for g in m.by_priority)


def wait_tail_name(t: float) -> str:
    return f"p_wait_gt_{t:g}h"


def tail_points(arrival_rate: float, service_rate: float, servers: int, at_h: Sequence[float] | None) -> list[float]:
    """The waits P(wait > t) is judged at: as asked, or half, once and twice the mean wait of those who
    wait, 1 / (cμ − λ), to two significant digits."""
    if at_h is not None:
        points = list(at_h)
        if not points or len(points) > 6 or any(not (math.isfinite(t) and t > 0) for t in points):
            raise ValidationError(f"--at-h: expected one to six waits in hours above 0, found {points}")
        return sorted(set(points))
    scale = 1.0 / (servers * service_rate - arrival_rate)
    return [float(f"{k * scale:.2g}") for k in (0.5, 1.0, 2.0)]


def check_servers(servers: int) -> None:
    if servers < 1 or servers > 10_000:
        raise ValidationError(f"--servers: expected 1 to 10,000 people on duty, found {servers}")


def check_stable(load: float, what: str) -> None:
    if load >= 1.0:
        raise ValidationError(
            f"the queue is unstable (utilisation {load:.3f} ≥ 1): {what}; there is no steady state to compare"
        )


def warmup_hours(settings: Settings, arrival_rate: float) -> float:
    return settings.warmup * settings.customers / arrival_rate


def _engine(mdl: Model, settings: Settings, read: Callable[[Metrics], dict[str, Figure]]) -> Replicate:
    warm = warmup_hours(settings, mdl.arrival_rate)

    def replicate(ss: np.random.SeedSequence) -> dict[str, Figure]:
        return read(mdl.run(ss, settings.customers, warm))

    return replicate


def street_post(handling: dict[str, Any], on_duty: Sequence[dict[str, Any]] = ALL_DAY) -> dict[str, Any]:
    return {"on_duty": list(on_duty), "handling": handling}


QUEUE_LABELS = {
    "wq_h": "mean wait in queue (h)",
    "p_wait": "P(wait > 0)",
    "utilisation": "utilisation",
}


def _tail_labels(points: Sequence[float]) -> dict[str, str]:
    return {wait_tail_name(t): f"P(wait > {t:g} h)" for t in points}


# --- the cases ---------------------------------------------------------------------------------------


def mm1(
    settings: Settings, arrival_rate: float = 8.0, service_rate: float = 10.0, at_h: Sequence[float] | None = None
) -> Spec:
    """M/M/1: Wq = ρ / (μ − λ), P(wait > 0) = ρ, P(wait > t) = ρ e^{−(μ−λ)t}."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    check_stable(arrival_rate / service_rate, "lower the arrival rate or raise the service rate")
    points = tail_points(arrival_rate, service_rate, 1, at_h)
    q = MMC(arrival_rate, service_rate, 1)
    rho = arrival_rate / service_rate
    expected = {"wq_h": rho / (service_rate - arrival_rate), "p_wait": rho}
    for t in points:
        expected[wait_tail_name(t)] = rho * math.exp(-(service_rate - arrival_rate) * t)
    expected["utilisation"] = q.utilisation
    mdl = Model(
        model(
            "validation: M/M/1",
            rates=(0, 0, arrival_rate),
            posts={"street": street_post(exponential(service_rate))},
            street_staff=1,
        )
    )
    return Spec(
        "mm1",
        f"M/M/1 at utilisation {rho:.3f}",
        "M/M/1",
        {"arrival_rate": arrival_rate, "service_rate": service_rate, "at_h": points},
        expected,
        {**QUEUE_LABELS, **_tail_labels(points)},
        _engine(mdl, settings, lambda m: queue_figures(m, STREET_K, points)),
    )


def mmc(
    settings: Settings,
    arrival_rate: float = 9.35,
    service_rate: float = 1.0,
    servers: int = 11,
    at_h: Sequence[float] | None = None,
    peer: str | None = None,
) -> Spec:
    """M/M/c: Erlang C's P(wait > 0) and mean wait, and its tail C e^{−(cμ−λ)t}; optionally Ciw."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    check_servers(servers)
    q = MMC(arrival_rate, service_rate, servers)
    check_stable(q.utilisation, "lower the arrival rate or add servers")
    check_peer(peer)
    points = tail_points(arrival_rate, service_rate, servers, at_h)
    expected = {"wq_h": q.wq_mean, "p_wait": q.p_wait}
    for t in points:
        expected[wait_tail_name(t)] = q.p_wait_longer(t)
    expected["utilisation"] = q.utilisation
    mdl = Model(
        model(
            f"validation: M/M/{servers}",
            rates=(0, 0, arrival_rate),
            posts={"street": street_post(exponential(service_rate))},
            street_staff=servers,
        )
    )
    warm = warmup_hours(settings, arrival_rate)

    def in_ciw(ss: np.random.SeedSequence) -> dict[str, float]:
        return ciw_queue(arrival_rate, service_rate, servers, settings.customers, warm, peer_seed(ss), points)

    return Spec(
        "mmc",
        f"M/M/{servers} at utilisation {q.utilisation:.3f}",
        "Erlang C",
        {"arrival_rate": arrival_rate, "service_rate": service_rate, "servers": servers, "at_h": points, "peer": peer},
        expected,
        {**QUEUE_LABELS, **_tail_labels(points)},
        _engine(mdl, settings, lambda m: queue_figures(m, STREET_K, points)),
        peer_name="Ciw" if peer else None,
        peer=in_ciw if peer else None,
        peer_measures=tuple(expected),
    )


def mg1(
    settings: Settings,
    arrival_rate: float = 7.0,
    family: str = "lognormal",
    mean_h: float = 0.1,
    cv: float | None = None,
) -> Spec:
    """M/G/1: the Pollaczek–Khinchine mean wait λ E[S²] / (2(1 − ρ)); P(wait > 0) = ρ."""
    check_rate(arrival_rate)
    if family not in FAMILIES:
        raise ValidationError(f"--family: unknown family '{family}' (known: {', '.join(FAMILIES)})")
    if not (math.isfinite(mean_h) and 0 < mean_h <= 1000):
        raise ValidationError(f"--mean-h: expected a mean handling time above 0 and at most 1,000 h, found {mean_h:g}")
    spread = {"fixed": 0.0, "exponential": 1.0}.get(family)
    if cv is None:
        cv = spread if spread is not None else 1.5
    if spread is not None and cv != spread:
        raise ValidationError(f"--cv: a {family} distribution has cv = {spread:g}, found {cv:g}")
    if not (math.isfinite(cv) and 0 <= cv <= 20) or (spread is None and cv <= 0):
        raise ValidationError(f"--cv: a {family} distribution needs 0 < cv ≤ 20, found {cv:g}")
    rho = arrival_rate * mean_h
    check_stable(rho, "lower the arrival rate or the mean handling time")
    handling = dist(family, mean_h, None if family == "exponential" else cv)
    mdl = Model(
        model(
            f"validation: M/G/1 ({family})",
            rates=(0, 0, arrival_rate),
            posts={"street": street_post(handling)},
            street_staff=1,
        )
    )
    expected = {"wq_h": theory.pollaczek_khinchine(arrival_rate, mean_h, cv), "p_wait": rho, "utilisation": rho}
    return Spec(
        "mg1",
        f"M/G/1 with {family} handling (mean {mean_h:g} h, cv {cv:g}) at utilisation {rho:.3f}",
        "Pollaczek–Khinchine",
        {"arrival_rate": arrival_rate, "family": family, "mean_h": mean_h, "cv": cv},
        expected,
        dict(QUEUE_LABELS),
        _engine(mdl, settings, lambda m: queue_figures(m, STREET_K)),
    )


def priority(
    settings: Settings,
    arrival_rates: Sequence[float] = (1.0, 2.0, 5.0),
    service_rate: float = 1.0,
    servers: int = 10,
) -> Spec:
    """Special, urgent and ordinary requests at one post that serves them in priority order, first come
    first served within a class, without interrupting work in hand: Cobham's waits per class; Erlang C's
    P(wait > 0) for all (the order of service does not change how many are waiting)."""
    rates = list(arrival_rates)
    if len(rates) != 3 or any(not (math.isfinite(r) and r >= 0) for r in rates):
        raise ValidationError(f"--arrival-rates: expected three rates (special, urgent, ordinary) ≥ 0, found {rates}")
    if min(rates) <= 0:
        raise ValidationError("--arrival-rates: every class needs a rate above 0 (its wait is measured)")
    total = sum(rates)
    check_rate(total, "total arrival rate")
    check_rate(service_rate, "service rate")
    check_servers(servers)
    q = MMC(total, service_rate, servers)
    check_stable(q.utilisation, "lower the arrival rates or add servers")
    waits = theory.cobham(rates, service_rate, servers)
    expected = {f"wq_h_{p}": w for p, w in zip(PRIORITIES, waits, strict=True)}
    expected.update({"p_wait": q.p_wait, "utilisation": q.utilisation})
    mdl = Model(
        model(
            f"validation: M/M/{servers} with priorities",
            rates=rates,
            posts={"street": street_post(exponential(service_rate))},
            street_staff=servers,
        )
    )

    def read(m: Metrics) -> dict[str, Figure]:
        out: dict[str, Figure] = {}
        for p, prio in enumerate(PRIORITIES):
            done = m.office_wait[0][p].done  # the street office is the first tracked post
            out[f"wq_h_{prio}"] = (done.total / done.n if done.n else math.nan, 0.0)
        common = queue_figures(m, STREET_K)
        return {**out, "p_wait": common["p_wait"], "utilisation": common["utilisation"]}

    return Spec(
        "priority",
        f"M/M/{servers} with three priority classes at utilisation {q.utilisation:.3f}",
        "Cobham",
        {"arrival_rates": rates, "service_rate": service_rate, "servers": servers},
        expected,
        {f"wq_h_{p}": f"mean wait in queue, {p} (h)" for p in PRIORITIES}
        | {"p_wait": "P(wait > 0)", "utilisation": "utilisation"},
        _engine(mdl, settings, read),
    )


def erlang_a(
    settings: Settings,
    arrival_rate: float = 11.0,
    service_rate: float = 1.0,
    servers: int = 10,
    patience_rate: float = 1.0,
) -> Spec:
    """M/M/c+M: residents give up while nobody has picked their request up (``patience.while =
    "waiting"``), after an exponential patience with mean 1/θ. Stable at any load."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    check_servers(servers)
    if not (math.isfinite(patience_rate) and 0 < patience_rate <= 1000):
        raise ValidationError(
            f"--patience-rate: expected a rate above 0 and at most 1,000 per hour, found {patience_rate:g}"
        )
    if arrival_rate / patience_rate > 1_000_000:
        raise ValidationError("--patience-rate: too small for the load (the queue would hold millions)")
    figures = theory.ErlangA(arrival_rate, service_rate, servers, patience_rate).figures()
    patience: dict[str, Any] = {
        "enabled": True,
        "while": "waiting",
        **{p: dist("exponential", 1.0 / patience_rate) for p in PRIORITIES},
    }
    mdl = Model(
        model(
            f"validation: M/M/{servers}+M",
            rates=(0, 0, arrival_rate),
            posts={"street": street_post(exponential(service_rate))},
            street_staff=servers,
            patience=patience,
        )
    )

    def read(m: Metrics) -> dict[str, Figure]:
        q = queue_figures(m, STREET_K)
        gave_up = sum(g.abandoned for g in m.by_priority) / requests_measured(m)
        return {"p_abandon": (gave_up, 0.0), "wq_h": q["wq_h"], "p_wait": q["p_wait"], "utilisation": q["utilisation"]}

    return Spec(
        "erlang-a",
        f"M/M/{servers}+M (Erlang A), offered load {arrival_rate / (servers * service_rate):.3f} per person, "
        f"mean patience {1 / patience_rate:g} h",
        "Erlang A",
        {
            "arrival_rate": arrival_rate,
            "service_rate": service_rate,
            "servers": servers,
            "patience_rate": patience_rate,
        },
        {
            "p_abandon": figures.p_abandon,
            "wq_h": figures.wq_served,
            "p_wait": figures.p_wait,
            "utilisation": figures.utilisation,
        },
        {
            "p_abandon": "P(give up)",
            "wq_h": "mean wait in queue of those served (h)",
            "p_wait": "P(wait > 0)",
            "utilisation": "utilisation",
        },
        _engine(mdl, settings, read),
        notes=['patience.while = "waiting": a resident gives up only while nobody has picked the request up'],
    )


def deadline(
    settings: Settings,
    arrival_rate: float = 9.5,
    service_rate: float = 1.0,
    servers: int = 10,
    deadline_h: float = 0.5,
) -> Spec:
    """M/M/c+D at a grid: a request nobody has picked up by its response deadline is escalated to the
    community automatically (``escalation.auto``), Barrer's deterministic patience."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    check_servers(servers)
    if not (math.isfinite(deadline_h) and 0 < deadline_h <= 10_000):
        raise ValidationError(
            f"--deadline-h: expected a response deadline above 0 and at most 10,000 h, found {deadline_h:g}"
        )
    figures = theory.mmc_deadline(arrival_rate, service_rate, servers, deadline_h)
    posts = {
        "grid": street_post(exponential(service_rate)),
        # where escalated requests go: quick and ample, so they never hold the run up
        "community": street_post(dist("fixed", 0.01)),
    }
    mdl = Model(
        model(
            f"validation: M/M/{servers}+D",
            rates=(0, 0, arrival_rate),
            posts=posts,
            street_staff=1,
            entry="grid",
            urban={"grid_staff": servers, "community_staff": 10},
            deadline_h=deadline_h,
            escalate_to="community",
        )
    )

    def read(m: Metrics) -> dict[str, Figure]:
        q = queue_figures(m, GRID_K)
        sent_up = m.auto_escalations / requests_measured(m)
        return {
            "p_escalated": (sent_up, 0.0),
            "wq_h": q["wq_h"],
            "p_wait": q["p_wait"],
            "utilisation": q["utilisation"],
        }

    return Spec(
        "deadline",
        f"M/M/{servers}+D at a grid, offered load {arrival_rate / (servers * service_rate):.3f} per person, "
        f"response deadline {deadline_h:g} h",
        "M/M/c+D (Barrer)",
        {"arrival_rate": arrival_rate, "service_rate": service_rate, "servers": servers, "deadline_h": deadline_h},
        {
            "p_escalated": figures.p_abandon,
            "wq_h": figures.wq_served,
            "p_wait": figures.p_wait,
            "utilisation": figures.utilisation,
        },
        {
            "p_escalated": "P(escalated at the deadline)",
            "wq_h": "mean wait in queue of those picked up (h)",
            "p_wait": "P(wait > 0)",
            "utilisation": "utilisation",
        },
        _engine(mdl, settings, read),
        notes=["escalation.auto: a request still waiting unanswered at its response deadline is sent up"],
    )


#: The network case's hierarchy: per post kind, the chance of settling what reaches it, people on duty
#: at each post and the mean handling time (exponential).
NETWORK_KINDS = ("unit", "building", "grid", "community", "street")
NETWORK_SETTLE = {"unit": 0.5, "building": 0.5, "grid": 0.5, "community": 0.5, "street": 1.0}
NETWORK_STAFF = {"unit": 1, "building": 1, "grid": 2, "community": 2, "street": 5}
NETWORK_MEAN_H = {"unit": 1.5, "building": 0.8, "grid": 0.8, "community": 0.5, "street": 1.0}
NETWORK_RESIDENTS = 10_000


def network(settings: Settings, arrival_rate: float = 60.0) -> Spec:
    """The district's hierarchy (units, buildings, grids, communities, the street office) as a network of
    M/M/c posts: every request arrives at its stair unit's group, and each level settles it with a fixed
    chance or sends it up. Traffic equations give each post's arrival rate; each post is then an M/M/c
    queue (Jackson), and a kind's mean wait is its posts' Erlang C waits weighted by their arrivals."""
    check_rate(arrival_rate)
    posts = {
        kind: {
            "on_duty": list(ALL_DAY),
            "handling": dist("exponential", NETWORK_MEAN_H[kind]),
            **(
                {"staff": NETWORK_STAFF[kind], "response_delay": dist("fixed", 0.0)}
                if kind in ("unit", "building")
                else {}
            ),
        }
        for kind in NETWORK_KINDS
    }
    scenario = model(
        "validation: the hierarchy as a network of M/M/c posts",
        rates=(0, 0, arrival_rate),
        posts=posts,
        street_staff=NETWORK_STAFF["street"],
        entry="unit",
        settle=NETWORK_SETTLE,
        residents=NETWORK_RESIDENTS,
        urban={
            "households_per_grid": [300, 500],
            "grids_per_community": [2, 4],
            "units_per_building": [1, 5],
            "grid_staff": NETWORK_STAFF["grid"],
            "community_staff": NETWORK_STAFF["community"],
        },
    )
    mdl = Model(scenario)
    expected, busiest = _network_theory(mdl, arrival_rate)
    labels = {}
    for kind in NETWORK_KINDS:
        labels[f"wq_h_{kind}"] = f"mean wait at {kind} posts (h)"
    for kind in NETWORK_KINDS:
        labels[f"utilisation_{kind}"] = f"utilisation of {kind} posts"

    def read(m: Metrics) -> dict[str, Figure]:
        out: dict[str, Figure] = {}
        for kind in NETWORK_KINDS:
            done = m.wait[KINDS.index(kind)].done
            out[f"wq_h_{kind}"] = (done.total / done.n if done.n else math.nan, 0.0)
        for kind in NETWORK_KINDS:
            k = KINDS.index(kind)
            out[f"utilisation_{kind}"] = (m.busy_kind[k] / m.available_kind[k], 0.0)
        return out

    return Spec(
        "network",
        f"the hierarchy of one street ({NETWORK_RESIDENTS:,} residents) as a network of M/M/c posts",
        "traffic equations + Erlang C",
        {
            "arrival_rate": arrival_rate,
            "settle": NETWORK_SETTLE,
            "staff": NETWORK_STAFF,
            "mean_h": NETWORK_MEAN_H,
            "residents": NETWORK_RESIDENTS,
            "busiest_post_utilisation": busiest,
        },
        {name: expected[name] for name in labels},
        labels,
        _engine(mdl, settings, read),
        notes=[f"posts per kind, on duty around the clock: {_staff_note()}; busiest post at {busiest:.0%}"],
    )


def _staff_note() -> str:
    return ", ".join(
        f"{k} {NETWORK_STAFF[k]} × exp({NETWORK_MEAN_H[k]:g} h), settles {NETWORK_SETTLE[k]:.0%}" for k in NETWORK_KINDS
    )


def _network_theory(mdl: Model, arrival_rate: float) -> tuple[dict[str, float], float]:
    """Each post's arrival rate from the traffic equations (a unit's residents' requests; every other
    post what its children did not settle), then Erlang C per post."""
    district = mdl.district
    g = district.graph
    residents = sum(int(g.nodes[u]["residents"]) for u in district.at_level("unit"))
    flow: dict[str, float] = {}
    for unit in district.at_level("unit"):
        flow[unit] = arrival_rate * int(g.nodes[unit]["residents"]) / residents
    for kind in NETWORK_KINDS[:-1]:
        for node in district.at_level(kind):
            parent = district.parent(node)
            assert parent is not None
            flow[parent] = flow.get(parent, 0.0) + (1.0 - NETWORK_SETTLE[kind]) * flow.get(node, 0.0)
    out: dict[str, float] = {}
    busiest = 0.0
    for kind in NETWORK_KINDS:
        mu, c = 1.0 / NETWORK_MEAN_H[kind], NETWORK_STAFF[kind]
        nodes = district.at_level(kind)
        lam = [flow.get(n, 0.0) for n in nodes]
        for node, rate in zip(nodes, lam, strict=True):
            q = MMC(rate, mu, c)
            busiest = max(busiest, q.utilisation)
            check_stable(q.utilisation, f"{node} gets {rate:.3f} requests an hour; lower the arrival rate")
        total = sum(lam)
        out[f"wq_h_{kind}"] = sum(r * MMC(r, mu, c).wq_mean for r in lam if r > 0) / total
        out[f"utilisation_{kind}"] = total / mu / (c * len(nodes))
    return out, busiest


def arrivals(settings: Settings, arrival_rate: float = 20.0, service_rate: float = 1.0) -> Spec:
    """The non-homogeneous arrival generator: requests follow the default hour-of-day and day-of-week
    profiles at a mean of λ an hour and are handled at once by a post with more people than can ever be
    busy (M(t)/M/∞). Each hour's count is Poisson with that hour's rate, and the number in the system at
    time t is Poisson with the Eick–Massey–Whitt mean m(t), from an empty start at time 0."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    defaults = defaults_layer().data["arrivals"]
    hour_profile = np.asarray(defaults["hour_profile"], dtype=float)
    day_profile = np.asarray(defaults["weekday_profile"], dtype=float)
    days = max(1, math.ceil(settings.customers / (arrival_rate * 24.0)))
    hours = days * 24
    week = (np.arange(hours) + START.weekday() * 24) % 168
    rates = (
        arrival_rate * (hour_profile / hour_profile.mean())[week % 24] * (day_profile / day_profile.mean())[week // 24]
    )
    samples = np.arange(1, hours + 1, dtype=float)
    mean_occupancy = theory.mt_infinite_occupancy(rates, service_rate, samples)
    staff = 10_000
    if mean_occupancy.max() + 12 * math.sqrt(mean_occupancy.max()) > staff:
        raise ValidationError(
            f"the arrival rate over the service rate is too high for {staff:,} people to be 'infinitely many'; "
            "lower the arrival rate or raise the service rate"
        )
    # the backlog is sampled at the top of every hour: t = 1, 2, ... (hour h of a day: t = h, h + 24, ...)
    hour_of_sample = np.arange(1, hours + 1) % 24
    daily = np.array([mean_occupancy[hour_of_sample == h].mean() for h in range(24)])
    peak, trough = int(np.argmax(daily)), int(np.argmin(daily))
    expected = {
        "arrival_rate": float(rates.mean()),
        "count_dispersion": 1.0,
        "occupancy_peak": float(mean_occupancy[hour_of_sample == peak].mean()),
        "occupancy_trough": float(mean_occupancy[hour_of_sample == trough].mean()),
        "occupancy_dispersion": 1.0,
    }
    scenario = model(
        "validation: M(t)/M/∞",
        rates=(0, 0, arrival_rate),
        posts={"street": street_post(exponential(service_rate))},
        street_staff=staff,
        hour_profile=hour_profile.tolist(),
        weekday_profile=day_profile.tolist(),
    )
    mdl = Model(scenario)
    positive = rates > 0

    def replicate(ss: np.random.SeedSequence) -> dict[str, Figure]:
        with tempfile.TemporaryDirectory(prefix="microgov-validate-") as tmp:
            events = Path(tmp) / "events.parquet"
            m = mdl.run_days(ss, float(days), events=events)
            log = read_events(events, columns=["concept:name", "time_h"], friendly=False)
        times = log["time_h"].to_numpy()[(log["concept:name"] == "arrived").to_numpy()]
        counts = np.bincount(np.floor(times).astype(np.int64), minlength=hours)[:hours]
        if np.any(counts[~positive]):
            raise ValidationError("requests arrived in an hour whose rate is 0")
        chi2 = float((((counts - rates) ** 2)[positive] / rates[positive]).sum())
        t = np.asarray(m.series_t)
        occupied = np.asarray(m.series_kind[STREET_K], dtype=float)
        at = {round(x): n for x, n in zip(t, occupied, strict=True) if abs(x - round(x)) < 1e-9}
        occ = np.array([at[round(s)] for s in samples])
        return {
            "arrival_rate": (counts.sum() / hours, 0.0),
            "count_dispersion": (chi2 / int(positive.sum()), 0.0),
            "occupancy_peak": (float(occ[hour_of_sample == peak].mean()), 0.0),
            "occupancy_trough": (float(occ[hour_of_sample == trough].mean()), 0.0),
            "occupancy_dispersion": (float(((occ - mean_occupancy) ** 2 / mean_occupancy).mean()), 0.0),
            "_chi2": (chi2, 0.0),
        }

    def pooled(reps: list[dict[str, Figure]]) -> list[str]:
        total = sum(r["_chi2"][0] for r in reps)
        df = int(positive.sum()) * len(reps)
        p = float(stats.chi2.sf(total, df))
        return [
            f"every hourly count of every replication against its Poisson mean: χ² = {total:,.0f} on {df:,} "
            f"degrees of freedom, p = {p:.3f}"
        ]

    return Spec(
        "arrivals",
        f"M(t)/M/∞: the default hour and weekday profiles at a mean of {arrival_rate:g} an hour, "
        f"{days} days from empty",
        "Poisson counts, Eick–Massey–Whitt",
        {
            "arrival_rate": arrival_rate,
            "service_rate": service_rate,
            "days": days,
            "peak_hour": peak,
            "trough_hour": trough,
            "warmup": 0.0,  # from empty: the theory covers the start
        },
        expected,
        {
            "arrival_rate": "arrivals per hour",
            "count_dispersion": "hourly counts: Σ (N − λ)² / λ per hour",
            "occupancy_peak": f"mean number in the system at {peak:02d}:00 (peak)",
            "occupancy_trough": f"mean number in the system at {trough:02d}:00 (trough)",
            "occupancy_dispersion": "number in the system: Σ (N − m)² / m per hourly sample",
        },
        replicate,
        notes=[
            "a Poisson count N with mean λ has E[(N − λ)² / λ] = 1 at every λ: both dispersions are 1 when "
            "the means are right and the counts Poisson"
        ],
        pooled=pooled,
    )


def shifts(
    settings: Settings,
    arrival_rate: float = 3.5,
    service_rate: float = 1.0,
    servers: Sequence[int] = (2, 6),
    peer: str | None = "ciw",
) -> Spec:
    """M(t)/M/c(t): a daily rota of equal shifts from midnight (2 people 00–12, 6 people 12–24 by
    default) with the engine's shift rule, against the continuous-time Markov chain of that rule and
    against Ciw's non-preemptive schedule."""
    check_rate(arrival_rate)
    check_rate(service_rate, "service rate")
    counts = list(servers)
    if not counts or len(counts) > 24 or 1440 % len(counts) or any(c < 0 or c > 100 for c in counts):
        raise ValidationError(
            f"--servers: expected people on duty per shift (1, 2, 3, 4, 6, 8, 12 or 24 equal shifts from "
            f"midnight, 0 to 100 each), found {counts}"
        )
    check_peer(peer)
    hours = 24.0 / len(counts)
    rota = [(hours, c) for c in counts]
    capacity = sum(c for c in counts) * hours * service_rate / 24.0
    check_stable(arrival_rate / capacity, "lower the arrival rate or put more people on the rota")
    chain = theory.rota_queue(arrival_rate, service_rate, rota)
    minutes = 1440 // len(counts)
    on_duty = [
        {"days": "mon-sun", "hours": f"{_clock(i * minutes)}-{_clock((i + 1) * minutes)}", "count": c}
        for i, c in enumerate(counts)
        if c
    ]
    mdl = Model(
        model(
            "validation: M(t)/M/c(t)",
            rates=(0, 0, arrival_rate),
            posts={"street": street_post(exponential(service_rate), on_duty)},
            street_staff=max(counts),
        )
    )
    # warm-up in whole days, so the measured requests cover the day evenly
    warm = round(warmup_hours(settings, arrival_rate) / 24.0) * 24.0

    def replicate(ss: np.random.SeedSequence) -> dict[str, Figure]:
        m = mdl.run(ss, settings.customers, warm)
        overtime = m.overtime_kind[STREET_K] * 24.0 / (m.end_h - m.start_h)
        return {**queue_figures(m, STREET_K), "overtime_h_per_day": (overtime, 0.0)}

    def in_ciw(ss: np.random.SeedSequence) -> dict[str, float]:
        out = ciw_queue(arrival_rate, service_rate, rota, settings.customers, warm, peer_seed(ss))
        return {k: v for k, v in out.items() if k in ("wq_h", "p_wait")}

    shown = ", ".join(f"{_clock(i * minutes)}–{_clock((i + 1) * minutes)} {c}" for i, c in enumerate(counts))
    return Spec(
        "shifts",
        f"M(t)/M/c(t): λ {arrival_rate:g}/h, μ {service_rate:g}/h, on duty {shown}",
        "Markov chain",
        {
            "arrival_rate": arrival_rate,
            "service_rate": service_rate,
            "servers": counts,
            "shift_h": hours,
            "peer": peer,
            "warmup_h": warm,
        },
        {
            "wq_h": chain.wq,
            "p_wait": chain.p_wait,
            "utilisation": chain.utilisation,
            "overtime_h_per_day": chain.overtime_h,
        },
        {**QUEUE_LABELS, "overtime_h_per_day": "overtime: hours a day of work finished after a shift ended"},
        replicate,
        peer_name="Ciw" if peer else None,
        peer=in_ciw if peer else None,
        peer_measures=("wq_h", "p_wait"),
        notes=[
            "shift rule: at a shift change the people whose shift ends finish what they hold (overtime) and "
            "the next shift takes waiting work at once (Ciw: Schedule(preemption=False))",
            "utilisation is of the people on duty; work finished after a shift ended is overtime",
        ],
    )


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


Builder = Callable[..., Spec]


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    summary: str


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case("mm1", mm1, "M/M/1: mean wait and P(wait > t) at three t"),
        Case("mmc", mmc, "M/M/c: Erlang C's mean wait, P(wait > 0) and tail"),
        Case("mg1", mg1, "M/G/1: Pollaczek–Khinchine with lognormal, gamma or fixed handling"),
        Case("priority", priority, "non-preemptive priority M/M/c: Cobham's waits per class"),
        Case("erlang-a", erlang_a, "M/M/c+M: giving up while waiting, from the birth–death chain"),
        Case("deadline", deadline, "M/M/c+D: escalation at the response deadline (Barrer)"),
        Case("network", network, "the hierarchy: traffic equations and Erlang C per post kind"),
        Case("arrivals", arrivals, "hourly counts (χ²) and M(t)/M/∞ occupancy (Eick–Massey–Whitt)"),
        Case("shifts", shifts, "M(t)/M/c(t) with the shift rule: its Markov chain and Ciw"),
    )
}
