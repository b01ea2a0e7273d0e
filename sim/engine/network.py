"""The engine's view of a scenario: posts with duty calendars, where requests come from, category rules.

The governance graph says who answers to whom; this module turns it into the working parts of the
simulation: one post per node (a unit leader, a grid team, a street office, a department), each with its
duty calendar and handling-time samplers, the origins where residents raise requests with their rates,
and each category's triage rule. It also builds the one-post network used to check the engine against
queueing theory.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.calendars import Calendar, Duty
from sim.distributions import Sampler, exponential, sampler
from sim.policies import CategoryRule, DepartmentOutcome, SettleAll, StandardTriage, Triage, settle_by
from sim.scenario.schema import PRIORITIES, SETTLE_LEVELS, Dist, PostSpec, Scenario
from sim.structure import District

KINDS = ("unit", "building", "grid", "community", "street", "department", "district")
UNIT_K, BUILDING_K, GRID_K, COMMUNITY_K, STREET_K, DEPARTMENT_K, DISTRICT_K = range(len(KINDS))
KIND_OF_LEVEL = {
    "unit": UNIT_K,
    "representative": UNIT_K,
    "building": BUILDING_K,
    "committee_member": BUILDING_K,
    "grid": GRID_K,
    "community": COMMUNITY_K,
    "village": COMMUNITY_K,
    "street": STREET_K,
    "town": STREET_K,
    "department": DEPARTMENT_K,
    "district": DISTRICT_K,
}
#: Triage level (index into ``SETTLE_LEVELS``) of each kind; departments do not triage.
TRIAGE_LEVEL = (0, 1, 2, 3, 4, -1, 5)
#: Graph levels as written to the event log's ``level`` column.
GRAPH_LEVELS = tuple(KIND_OF_LEVEL)
ACTOR_OF_LEVEL = {
    "unit": "unit_leader",
    "representative": "representative",
    "building": "building_leader",
    "committee_member": "committee_member",
    "grid": "grid_worker",
    "community": "community_staff",
    "village": "village_staff",
    "street": "street_staff",
    "town": "town_staff",
    "department": "department_staff",
    "district": "district_staff",
}
ACTORS = ("resident", "system", *ACTOR_OF_LEVEL.values())
RESIDENT, SYSTEM = 0, 1
#: Where a request was settled or resolved, as reported in ``by_level``.
OUTCOME_LEVELS = ("unit", "building", "grid", "community", "street", "department", "district")


class Post:
    """One post: a queue per priority, a duty calendar, and the people on duty working through it."""

    __slots__ = (
        "actor",
        "busy",
        "cal",
        "cap",
        "cap_until",
        "delay",
        "free",
        "graph_level",
        "idx",
        "kind",
        "level",
        "next_server",
        "node",
        "office",
        "parent",
        "q",
        "track",
        "up",
        "waiting",
        "wake",
    )

    def __init__(
        self,
        idx: int,
        node: str,
        kind: int,
        graph_level: int,
        cal: Duty,
        actor: int,
        office: int,
        delay: tuple[Sampler, Sampler, Sampler] | None = None,
    ) -> None:
        self.idx = idx
        self.node = node
        self.kind = kind
        self.level = TRIAGE_LEVEL[kind]
        self.graph_level = graph_level
        self.cal = cal
        self.actor = actor
        self.office = office
        self.delay = delay
        self.track = -1
        self.parent: Post | None = None
        self.up: tuple[Post | None, Post | None, Post | None] = (None, None, None)
        self.q: tuple[deque[Any], deque[Any], deque[Any]] = (deque(), deque(), deque())
        self.waiting = 0
        self.busy = 0
        self.free: list[int] = []
        self.next_server = 0
        self.wake = float("inf")
        self.cap = 0
        self.cap_until = -1.0


@dataclass
class CategoryRuntime:
    """A category as the engine uses it: codes, samplers and its triage rule."""

    name: str
    prio: int
    dept: int
    needs: float
    rule: CategoryRule
    handling: list[Sampler]
    lead: Sampler | None


@dataclass
class Network:
    """Everything the engine runs on, with its random streams already attached."""

    posts: list[Post]
    origins: np.ndarray
    weights: np.ndarray
    entry_posts: np.ndarray
    entry_shares: np.ndarray
    """Per category, the chance of landing at the unit's group, the grid, the street office."""
    categories: list[CategoryRuntime]
    shares: np.ndarray
    hour_weights: np.ndarray
    day_weights: np.ndarray
    offset_h: float
    resp_len: tuple[float, float, float]
    res_len: tuple[float, float, float]
    triage: Triage
    outcome: DepartmentOutcome
    auto_escalate: bool
    escalate_top: int
    offices: list[str]
    departments: list[str]
    district: int
    start: dt.datetime
    satisfaction: tuple[float, float, float] = (0.95, 0.8, 1.0)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate_per_h(self) -> float:
        return float(self.weights.sum())


def _calendar_cache(scenario: Scenario, offset_h: float) -> Any:
    cache: dict[tuple[int, int], Duty] = {}

    def get(kind: int, staff: int) -> Duty:
        key = (kind, staff)
        if key not in cache:
            spec = getattr(scenario.posts, KINDS[kind])
            cache[key] = Duty(Calendar.from_shifts(spec.on_duty, staff, offset_h))
        return cache[key]

    return get


def build_network(scenario: Scenario, district: District, rng: np.random.Generator) -> Network:
    """The posts, origins and rules of ``scenario`` on ``district``; samplers draw from ``rng``."""
    g = district.graph
    start = dt.datetime.combine(scenario.clock.start, dt.time())
    offset_h = start.weekday() * 24.0
    calendar = _calendar_cache(scenario, offset_h)
    offices = district.offices()
    office_index = {o: i for i, o in enumerate(offices)}
    level_index = {lv: i for i, lv in enumerate(GRAPH_LEVELS)}
    actor_index = {a: i for i, a in enumerate(ACTORS)}
    delays = {k: _delays(getattr(scenario.posts, KINDS[k]), rng) for k in range(len(KINDS))}
    posts: list[Post] = []
    index: dict[str, int] = {}
    for node in district.walk():
        a = g.nodes[node]
        level = str(a["level"])
        kind = KIND_OF_LEVEL[level]
        spec = getattr(scenario.posts, KINDS[kind])
        staff = int(a["staff"]) if "staff" in a else int(spec.staff or 0)
        parent = district.parent(node)
        if node in office_index:
            office = office_index[node]
        else:
            office = posts[index[parent]].office if parent is not None else -1
        post = Post(
            len(posts),
            node,
            kind,
            level_index[level],
            calendar(kind, staff),
            actor_index[ACTOR_OF_LEVEL[level]],
            office,
            delays.get(kind),
        )
        if parent is not None and kind != DEPARTMENT_K:
            post.parent = posts[index[parent]]
        index[node] = post.idx
        posts.append(post)
    departments = district.departments()
    for i, node in enumerate([*offices, *departments]):
        posts[index[node]].track = i
    _escalation_targets(scenario, posts)

    origins, weights, entries = _origins(scenario, district, posts, index)
    shares = np.array([c.share for c in scenario.categories.values()], dtype=float)
    rules, cats = [], []
    for cat in scenario.categories.values():
        rule = CategoryRule(
            settle_by=settle_by([cat.settle.get(lv, 0.0) for lv in SETTLE_LEVELS]),
            refer_level=SETTLE_LEVELS.index(cat.refer_from),
            solves=cat.department_solves,
        )
        rules.append(rule)
        handling = [
            sampler(_handling_dist(scenario, cat.handling, k, cat.department_handling), rng) for k in range(len(KINDS))
        ]
        cats.append(
            CategoryRuntime(
                name=cat.name_en,
                prio=PRIORITIES.index(cat.priority),
                dept=index.get(cat.department, -1),
                needs=cat.needs_department,
                rule=rule,
                handling=handling,
                lead=sampler(cat.department_lead, rng) if cat.department_lead else None,
            )
        )
    hours = np.asarray(scenario.arrivals.hour_profile, dtype=float)
    days = np.asarray(scenario.arrivals.weekday_profile, dtype=float)
    dl = scenario.deadlines
    esc = scenario.escalation
    return Network(
        posts=posts,
        origins=origins,
        weights=weights,
        entry_posts=entries,
        entry_shares=np.array([_entry(c.entry or scenario.arrivals.entry) for c in scenario.categories.values()]),
        categories=cats,
        shares=shares,
        hour_weights=hours / hours.mean(),
        day_weights=days / days.mean(),
        offset_h=offset_h,
        resp_len=(dl.special.response_h, dl.urgent.response_h, dl.ordinary.response_h),
        res_len=(dl.special.resolution_h, dl.urgent.resolution_h, dl.ordinary.resolution_h),
        triage=StandardTriage(rules),
        outcome=DepartmentOutcome(rules),
        auto_escalate=esc.auto,
        escalate_top=SETTLE_LEVELS.index(esc.auto_top),
        offices=offices,
        departments=departments,
        district=index["district"],
        start=start,
        satisfaction=(
            scenario.satisfaction.on_time,
            scenario.satisfaction.late_response_factor,
            scenario.satisfaction.half_life_deadlines,
        ),
    )


def _entry(shares: Mapping[Any, float]) -> list[float]:
    return [shares.get("unit", 0.0), shares.get("grid", 0.0), shares.get("street", 0.0)]


def _delays(spec: PostSpec, rng: np.random.Generator) -> tuple[Sampler, Sampler, Sampler] | None:
    """A volunteer's notice delay per priority: one stream of draws, scaled by the priority's factor."""
    if spec.response_delay is None:
        return None
    draw = sampler(spec.response_delay, rng)
    out = []
    for p in PRIORITIES:
        factor = spec.response_delay_factor.get(p, 1.0)
        out.append(draw if factor == 1.0 else (lambda f=factor: f * draw()))
    return (out[0], out[1], out[2])


def _escalation_targets(scenario: Scenario, posts: list[Post]) -> None:
    """For every post and priority, the post a request goes to when sent up: the next level above on
    the priority's escalation path, or the district above the street."""
    paths = {
        p: {SETTLE_LEVELS.index(lv) for lv in scenario.escalation.path.get(p, SETTLE_LEVELS[:5])} for p in PRIORITIES
    }
    for post in posts:
        if post.parent is None or post.kind == DEPARTMENT_K:
            continue
        targets = []
        for p in PRIORITIES:
            target = post.parent
            while target.parent is not None and target.level not in paths[p] and target.kind != DISTRICT_K:
                target = target.parent
            targets.append(target)
        post.up = (targets[0], targets[1], targets[2])


def _handling_dist(scenario: Scenario, own: Mapping[Any, Dist], kind: int, department: Dist) -> Dist:
    if kind == DEPARTMENT_K:
        return department
    level = SETTLE_LEVELS[TRIAGE_LEVEL[kind]]
    spec: Dist = own.get(level) or getattr(scenario.posts, KINDS[kind]).handling
    return spec


def _origins(
    scenario: Scenario, district: District, posts: list[Post], index: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posts where residents raise requests, their expected requests per hour, and their entry posts
    (the unit's own group, its grid, its street or town office)."""
    g = district.graph
    per_resident = scenario.arrivals.requests_per_resident_year / (365.0 * 24.0)
    per_member = scenario.arrivals.requests_per_member_year / (365.0 * 24.0)
    origins: list[int] = []
    weights: list[float] = []
    entries: list[tuple[int, int, int]] = []
    for node in district.at_level("unit", "representative", "grid"):
        a = g.nodes[node]
        post = posts[index[node]]
        if a["level"] == "grid":
            if not a.get("special"):
                continue
            rate = int(a["members"]) * per_member
            grid = post
        else:
            rate = int(a["residents"]) * per_resident
            grid = post
            while grid.kind != GRID_K and grid.parent is not None:
                grid = grid.parent
        if rate <= 0:
            continue
        office = grid
        while office.kind != STREET_K and office.parent is not None:
            office = office.parent
        origins.append(post.idx)
        weights.append(rate)
        entries.append((post.idx, grid.idx, office.idx))
    return (
        np.asarray(origins, dtype=np.int64),
        np.asarray(weights, dtype=float),
        np.asarray(entries, dtype=np.int64).reshape(-1, 3),
    )


def single_post_network(arrival_rate: float, service_rate: float, servers: int, rng: np.random.Generator) -> Network:
    """An M/M/c queue in the engine's terms: one post, ``servers`` staff on duty around the clock,
    Poisson arrivals, exponential handling, first come first served, every request settled, no deadlines."""
    post = Post(0, "post", STREET_K, GRAPH_LEVELS.index("street"), Duty(Calendar.always(servers)), 2, 0)
    post.track = 0
    rule = CategoryRule(settle_by=(1.0,) * len(SETTLE_LEVELS), refer_level=len(SETTLE_LEVELS), solves=1.0)
    handling = exponential(1.0 / service_rate, rng)
    category = CategoryRuntime("request", PRIORITIES.index("ordinary"), -1, 0.0, rule, [handling] * len(KINDS), None)
    inf = float("inf")
    return Network(
        posts=[post],
        origins=np.zeros(1, dtype=np.int64),
        weights=np.array([arrival_rate]),
        entry_posts=np.zeros((1, 3), dtype=np.int64),
        entry_shares=np.array([[1.0, 0.0, 0.0]]),
        categories=[category],
        shares=np.ones(1),
        hour_weights=np.ones(24),
        day_weights=np.ones(7),
        offset_h=0.0,
        resp_len=(inf, inf, inf),
        res_len=(inf, inf, inf),
        triage=SettleAll(),
        outcome=DepartmentOutcome([rule]),
        auto_escalate=False,
        escalate_top=0,
        offices=["post"],
        departments=[],
        district=0,
        start=dt.datetime(2020, 1, 6),
    )


def names(seq: Sequence[Post]) -> list[str]:
    return [p.node for p in seq]
