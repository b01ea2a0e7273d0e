"""The same queue in another simulator, Ciw (the ``validation`` extra): a second opinion where theory
has none that is simple, and a check that two independent implementations read a model the same way.

A Ciw replication serves exactly ``customers`` Poisson arrivals (drawn here, from the replication's own
seed; the gap after the last one is too long to matter) with exponential service and either a constant
number of servers or a daily schedule with Ciw's non-preemptive shift changes (``preemption=False``:
servers whose shift ends finish their customer, the next shift's servers start at once). It runs until
every one of them is served, like the engine's ``max_arrivals`` runs, and measures the customers that
arrived after the warm-up.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.analysis.validation.models import ValidationError

PEERS = ("ciw",)
_NEVER = 1e15  # hours: the gap after the last arrival


def _ciw() -> Any:
    try:
        import ciw
    except ImportError:
        raise ValidationError("the Ciw peer needs the validation extra: pip install 'microgov[validation]'") from None
    return ciw


def check_peer(peer: str | None) -> None:
    if peer is not None and peer not in PEERS:
        raise ValidationError(f"unknown peer '{peer}' (known: {', '.join(PEERS)})")
    if peer == "ciw":
        _ciw()


def ciw_queue(
    arrival_rate: float,
    service_rate: float,
    servers: int | Sequence[tuple[float, int]],
    customers: int,
    warmup_h: float,
    seed: np.random.SeedSequence,
    at_h: Sequence[float] = (),
) -> dict[str, float]:
    """One Ciw replication; returns ``wq_h``, ``p_wait``, ``p_wait_gt_<t>h`` and, with constant
    servers, ``utilisation`` (busy time over server time between the warm-up and the last arrival).
    ``servers`` is a number, or the day's (hours, servers) shifts from midnight."""
    ciw = _ciw()
    rng = np.random.default_rng(seed)
    gaps = [*rng.exponential(1.0 / arrival_rate, customers).tolist(), _NEVER]
    ciw.seed(int(seed.generate_state(1)[0]) % 2**31)
    if isinstance(servers, int):
        staffing: Any = servers
    else:
        ends = list(itertools.accumulate(h for h, _ in servers))
        staffing = ciw.Schedule(numbers_of_servers=[c for _, c in servers], shift_end_dates=ends, preemption=False)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential(gaps)],
        service_distributions=[ciw.dists.Exponential(rate=service_rate)],
        number_of_servers=[staffing],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Complete")
    records = sim.get_all_records()
    last = max(r.arrival_date for r in records)
    measured = [r for r in records if r.arrival_date >= warmup_h]
    waits = np.array([r.waiting_time for r in measured])
    out = {"wq_h": float(waits.mean()), "p_wait": float((waits > 0).mean())}
    for t in at_h:
        out[f"p_wait_gt_{t:g}h"] = float((waits > t).mean())
    if isinstance(servers, int) and last > warmup_h:
        busy = sum(max(0.0, min(r.service_end_date, last) - max(r.service_start_date, warmup_h)) for r in records)
        out["utilisation"] = busy / (servers * (last - warmup_h))
    return out
