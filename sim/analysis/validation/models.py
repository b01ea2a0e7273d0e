"""Validation models: small scenarios, written in code, whose queueing behaviour has a textbook answer.

Each model is an ordinary scenario (``scenario_from_dict`` over the built-in defaults) that the engine
runs exactly as ``microgov run`` does: the district is built from it, the network builder turns it into
posts with duty calendars and time distributions, and the same ``Engine`` moves the requests. What makes
a model textbook-simple is only what the scenario says: one street, requests that all land at one post
(or climb the hierarchy with fixed chances), exponential or named handling times, people on duty
around the clock (or a daily rota), no whistle, no neighbours, no repeat requests, and automatic
escalation at a deadline or residents' patience only where the case is about them.

The default categories are kept with a share of 0 (a scenario extends the defaults and cannot remove
a table) and the model's own categories carry every request: one per priority, settled at every level
they reach unless the model gives chances per level.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine import Engine, Streams, build_network, simulate
from sim.errors import MicrogovError
from sim.metrics import Metrics
from sim.scenario import Scenario, scenario_from_dict
from sim.scenario.loader import defaults_layer
from sim.scenario.schema import PRIORITIES, SETTLE_LEVELS
from sim.structure import District, build_district


class ValidationError(MicrogovError):
    """A validation case cannot be run as asked (an unstable queue, a bad parameter, a missing peer)."""


#: Monday 00:00, so hour h of a run is hour h of the week.
START = dt.date(2020, 6, 1)
#: Residents of the model's one street: enough that every arrival rate up to ``MAX_ARRIVAL_RATE`` is a
#: valid ``requests_per_resident_year``, few enough that the street has one grid in one community.
RESIDENTS = 9000
MAX_ARRIVAL_RATE = 1000.0
HOURS_PER_YEAR = 365.0 * 24.0
ALL_DAY = ({"days": "mon-sun", "hours": "00:00-24:00", "share": 1.0},)
FLAT_HOURS = (1.0,) * 24
FLAT_DAYS = (1.0,) * 7


def dist(family: str, mean_h: float, cv: float | None = None) -> dict[str, Any]:
    """A scenario distribution table."""
    out: dict[str, Any] = {"family": family, "mean_h": float(mean_h)}
    if cv is not None:
        out["cv"] = float(cv)
    return out


def exponential(rate: float) -> dict[str, Any]:
    return dist("exponential", 1.0 / rate)


def model(
    name: str,
    *,
    rates: Sequence[float],
    posts: Mapping[str, Mapping[str, Any]],
    street_staff: int,
    entry: str = "street",
    settle: Mapping[str, float] | None = None,
    urban: Mapping[str, Any] | None = None,
    residents: int = RESIDENTS,
    deadline_h: float | None = None,
    escalate_to: str = "street",
    patience: Mapping[str, Any] | None = None,
    hour_profile: Sequence[float] = FLAT_HOURS,
    weekday_profile: Sequence[float] = FLAT_DAYS,
) -> Scenario:
    """A one-street scenario whose residents raise ``rates[p]`` requests an hour of each priority
    (special, urgent, ordinary; a mean, shaped by the profiles), all landing at ``entry``.

    ``posts`` overrides post kinds (``on_duty``, ``handling``, ``staff``, ...); ``settle`` gives each
    level's chance of settling what reaches it (default: every level settles everything). With
    ``deadline_h`` every priority's response deadline is that long and a request still waiting
    unanswered at it is sent up (to ``escalate_to`` at most); without, the default deadlines only
    count misses. ``patience`` is the ``[patience]`` table (default: residents never give up)."""
    total = float(sum(rates))
    if total <= 0:
        raise ValidationError("the arrival rate must be above 0")
    per_resident = total * HOURS_PER_YEAR / residents
    categories: dict[str, Any] = {cid: {"share": 0.0} for cid in defaults_layer().data["categories"]}
    levels = dict.fromkeys(SETTLE_LEVELS, 1.0) if settle is None else {lv: settle.get(lv, 0.0) for lv in SETTLE_LEVELS}
    for prio, rate in zip(PRIORITIES, rates, strict=True):
        categories[f"validation_{prio}"] = {
            "name": f"验证请求（{prio}）",
            "name_en": f"Validation request ({prio})",
            "share": rate / total,
            "priority": prio,
            "department": "urban_management",
            "needs_department": 0.0,
            "settle": levels,
            "department_handling": dist("exponential", 1.0),
            "department_solves": 1.0,
            "grid": "urban_management",
        }
    # Without a case's own deadline the default deadlines stand, but nothing happens at them (no
    # automatic escalation, no repeat requests): they only count misses. (A deadline far beyond the run
    # would keep every request's alarm, and so the request, in memory until the end.)
    if deadline_h is not None:
        deadlines = {p: {"response_h": deadline_h, "resolution_h": deadline_h} for p in PRIORITIES}
    data: dict[str, Any] = {
        "name": name,
        "seed": 0,
        "streets": {"S1": {"residents": residents, "staff": street_staff}},
        "staffing": {"allocation": "flat", "per_office": street_staff},
        "urban": {
            "households_per_grid": [1, 5000],
            "grids_per_community": [1, 12],
            "special_grids_per_100k": 0.0,
            **(urban or {}),
        },
        "clock": {"start": START, "days": 1.0, "warmup_days": 0.0, "sample_h": 1.0},
        "arrivals": {
            "requests_per_resident_year": per_resident,
            "requests_per_member_year": 0.0,
            "hour_profile": list(hour_profile),
            "weekday_profile": list(weekday_profile),
            "entry": {level: 1.0 if level == entry else 0.0 for level in ("unit", "grid", "street")},
        },
        "categories": categories,
        "posts": {kind: dict(spec) for kind, spec in posts.items()},
        **({"deadlines": deadlines} if deadline_h is not None else {}),
        "escalation": {"auto": deadline_h is not None, "auto_top": escalate_to},
        "whistle": {"enabled": False},
        "grids": {"mode": "merged"},
        "in_unit": {"enabled": False},
        "patience": {
            "enabled": False,
            "repeat_after_abandon": 0.0,
            "repeat_after_late": 0.0,
            **(patience or {}),
        },
    }
    return scenario_from_dict(data)


def check_rate(rate: float, what: str = "arrival rate") -> None:
    if not math.isfinite(rate) or rate <= 0:
        raise ValidationError(f"the {what} must be a number above 0, found {rate:g}")
    if rate > MAX_ARRIVAL_RATE:
        raise ValidationError(
            f"the {what} is at most {MAX_ARRIVAL_RATE:,.0f} requests an hour in a validation model, found "
            f"{rate:g} (scale time instead: rates are per hour, any unit of time gives the same queue)"
        )


class Model:
    """A validation scenario with its district built once; each replication builds a fresh network
    from them (posts hold their queues) and runs the engine on its own random streams."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.district: District = build_district(scenario)

    def run(self, seed: np.random.SeedSequence, customers: int, warmup_h: float) -> Metrics:
        """Run until ``customers`` requests have arrived and every one of them is done; requests that
        arrived before ``warmup_h`` are simulated but not measured."""
        net = build_network(self.scenario, self.district)
        engine = Engine(
            net, Streams.from_seed(seed), end_h=math.inf, warmup_h=warmup_h, sample_h=None, max_arrivals=customers
        )
        return engine.run()

    def run_days(self, seed: np.random.SeedSequence, days: float, events: Path | None = None) -> Metrics:
        """Run for ``days`` from an empty start, as ``microgov run`` does (backlog sampled every hour,
        optionally the event log)."""
        return simulate(
            self.scenario, seed=seed, days=days, warmup_days=0.0, district=self.district, events=events
        ).metrics

    @property
    def arrival_rate(self) -> float:
        """Requests per hour, on average over the week."""
        residents = sum(street.residents for street in self.scenario.streets.values())
        return self.scenario.arrivals.requests_per_resident_year * residents / HOURS_PER_YEAR
