"""Binding a scenario's rules to an engine, once, when a replication is built.

Like Ciw's routers, which are wired into the simulation when it is built, each mechanism's rule is
chosen here from what the scenario says (the whistle in use or not, one grid team or departmental ones,
residents' patience modelled or not, automatic escalation or not, arrivals generated or replayed) and
bound to the engine's floor; the engine then calls the chosen rule's decision method with no further
test of which rule is in force.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.policies.arrivals import Arrivals, Entries, Generated, Replayed, block_hours
from sim.policies.base import Floor
from sim.policies.escalation import Deadlines, EscalateUnanswered, Escalation, NeverEscalate
from sim.policies.handling import Handling
from sim.policies.neighbours import NeighbourRule, Neighbours, NoNeighbours
from sim.policies.outcome import Departments
from sim.policies.patience import Impatient, NoPatience, Patience
from sim.policies.routing import DepartmentalGrids, GridRouting, OneTeam
from sim.policies.whistle import NoWhistle, Summons, WhistleRule


@dataclass(frozen=True)
class Rules:
    """The rules in force in one replication, bound to its engine."""

    arrivals: Arrivals
    triage: Handling
    departments: Departments
    escalation: Escalation
    whistle: WhistleRule
    routing: GridRouting
    neighbours: NeighbourRule
    patience: Patience
    deadlines: Deadlines


def bind(
    floor: Floor,
    net: Any,
    hour: Callable[[int], np.random.Generator],
    *,
    repeat_key: Callable[[int], int],
    trace: tuple[np.ndarray, np.ndarray] | None,
    end_h: float,
) -> Rules:
    """The rules ``net`` (the engine's ``Network``) calls for, bound to ``floor``. ``hour`` opens the
    arrival stream of a simulated hour; ``trace`` (times, categories) replays real arrivals instead."""
    cats = net.categories
    entries = Entries(
        origins=net.origins,
        weights=net.weights,
        entry_posts=net.entry_posts,
        entry_shares=net.entry_shares,
        needs=np.array([c.needs for c in cats]),
        joint=np.array([c.joint_share for c in cats]),
        in_unit=np.array([c.in_unit if net.in_unit else 0.0 for c in cats]),
    )
    week = np.arange(168)
    hour_rates = net.rate_per_h * net.hour_weights[week % 24] * net.day_weights[week // 24]
    arrivals: Arrivals
    if trace is None:
        arrivals = Generated(
            hour, entries, hour_rates=hour_rates, shares=net.shares, offset_h=net.offset_h, surges=net.surges
        )
    else:
        times, categories = trace
        arrivals = Replayed(hour, entries, times=times, cats=categories, end_h=end_h, block_h=block_hours(hour_rates))
    whistle: WhistleRule = (
        Summons(floor, net.whistle) if net.whistle is not None and net.whistle.enabled else NoWhistle()
    )
    departments = Departments(floor, net.outcome, [c.lead for c in cats], net.referral)
    escalation: Escalation = (
        EscalateUnanswered(floor, net.resp_len, net.escalate_top) if net.auto_escalate else NeverEscalate(floor)
    )
    grids = net.grids
    routing: GridRouting = (
        DepartmentalGrids(floor, grids, [c.gtype for c in cats]) if grids is not None and grids.separate else OneTeam()
    )
    patience: Patience = (
        Impatient(floor, net.patience, repeat_key)
        if net.patience is not None and net.patience.enabled
        else NoPatience(floor, net.patience, repeat_key)
    )
    return Rules(
        arrivals=arrivals,
        triage=Handling(floor, net.triage, whistle, departments),
        departments=departments,
        escalation=escalation,
        whistle=whistle,
        routing=routing,
        neighbours=Neighbours(floor, [c.in_unit_time for c in cats]) if net.in_unit else NoNeighbours(),
        patience=patience,
        deadlines=Deadlines(floor, escalation, patience),
    )
