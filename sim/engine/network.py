"""The engine's view of a scenario: posts with duty calendars, where requests come from, the rules.

The governance graph says who answers to whom; this module turns it into the working parts of the
simulation: one post per node (a unit leader, a grid team, a street office, a department), each with its
duty calendar and handling-time distributions, the origins where residents raise requests with their rates,
each category's triage rule, and the settings of the governance mechanisms (the whistle, ordinary
referrals, merged or separate grids, residents' patience, surges, scripted incidents).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.activities import ACTOR_OF_LEVEL, ACTORS
from sim.calendars import Calendar, Duty, allocate, deal
from sim.distributions import Transform, scaled, transform
from sim.errors import Problem, ScenarioError
from sim.policies.arrivals import Surge
from sim.policies.base import (
    BUILDING_K,
    COMMUNITY_K,
    DEPARTMENT_K,
    DISTRICT_K,
    GRID_K,
    STREET_K,
    UNIT_K,
    Kind,
    Outcome,
)
from sim.policies.outcome import DepartmentOutcome
from sim.policies.patience import PatienceParams as Patience
from sim.policies.routing import GridParams as Grids
from sim.policies.triage import CategoryRule, StandardTriage, Triage, settle_by
from sim.policies.whistle import WhistleParams as Whistle
from sim.scenario.schema import GRID_TYPES, PRIORITIES, SETTLE_LEVELS, Dist, PostSpec, Scenario, hours_from_start
from sim.structure import District

KINDS = tuple(k.name.lower() for k in Kind)
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
#: Where a request was closed, as reported in ``by_level``.
OUTCOME_LEVELS = tuple(o.name.lower() for o in Outcome)
SPECIAL, URGENT, ORDINARY = range(3)


class Line:
    """The people of one shift of a post's rota: how many there are, how many are busy (on duty, or
    finishing what they hold after their shift ended), and whether their shift is on now (``on``, until
    ``until``). The shift's calendar is shared by every post of the kind."""

    __slots__ = ("busy", "duty", "n", "on", "until")

    def __init__(self, duty: Duty, n: int) -> None:
        self.duty = duty
        self.n = n
        self.busy = 0
        self.on = False
        self.until = -1.0


class Post:
    """One post: a queue per priority, a duty calendar, and the people on duty working through it.

    Its people are its rota's lines (one per shift). At a shift change the people whose shift ends
    finish what they hold (overtime) and go home; those whose shift starts take waiting work at once;
    those whose shift goes on carry on.

    A grid in separate mode is a router in front of five typed posts (``router``), one per departmental
    grid; requests sent to the grid are routed to one of them.
    """

    __slots__ = (
        "actor",
        "avail",
        "cal",
        "cap_until",
        "delay",
        "free",
        "graph_level",
        "gtype",
        "idx",
        "kind",
        "level",
        "lines",
        "next_server",
        "node",
        "office",
        "parent",
        "q",
        "router",
        "summons",
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
        rota: Rota,
        actor: int,
        office: int,
        delay: tuple[Transform, Transform, Transform] | None = None,
    ) -> None:
        self.idx = idx
        self.node = node
        self.kind = kind
        self.level = TRIAGE_LEVEL[kind]
        self.graph_level = graph_level
        self.cal = rota.total
        self.lines = tuple(Line(duty, n) for duty, n in rota.lines)
        self.actor = actor
        self.office = office
        self.delay = delay
        self.track = -1
        self.gtype = -1
        self.router: tuple[Post, ...] | None = None
        self.parent: Post | None = None
        self.up: tuple[Post | None, Post | None, Post | None] = (None, None, None)
        self.q: tuple[deque[Any], deque[Any], deque[Any]] = (deque(), deque(), deque())
        self.summons: deque[Any] = deque()
        self.waiting = 0
        self.avail = 0
        self.free: list[int] = []
        self.next_server = 0
        self.wake = float("inf")
        self.cap_until = -1.0


@dataclass
class CategoryRuntime:
    """A category as the engine uses it: codes, time distributions and its triage rule."""

    name: str
    prio: int
    dept: int
    needs: float
    rule: CategoryRule
    handling: list[Transform]
    lead: Transform | None
    gtype: int = 0
    joint: int = -1
    joint_share: float = 0.0
    in_unit: float = 0.0
    in_unit_time: Transform | None = None


@dataclass(frozen=True)
class Inject:
    at_h: float
    post: int
    office: int
    community: int
    cat: int
    prio: int
    text: str
    index: int


@dataclass
class Network:
    """Everything the engine runs on, with its random streams already attached."""

    posts: list[Post]
    origins: np.ndarray
    weights: np.ndarray
    entry_posts: np.ndarray
    """Per origin: its own group's post, its grid, its street or town office, its community (or -1)."""
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
    whistle: Whistle | None = None
    referral: Transform | None = None
    grids: Grids | None = None
    patience: Patience | None = None
    in_unit: bool = False
    surges: list[Surge] = field(default_factory=list)
    injects: list[Inject] = field(default_factory=list)
    grid_types: tuple[str, ...] = GRID_TYPES
    index: dict[str, int] = field(default_factory=dict)
    """Post index of each node of the graph (a grid in separate mode: its router)."""

    @property
    def rate_per_h(self) -> float:
        return float(self.weights.sum())


@dataclass(frozen=True)
class Rota:
    """A post's people: per shift of its kind's calendar, the shift's on-off calendar and how many work it;
    and the people on duty in all."""

    lines: tuple[tuple[Duty, int], ...]
    total: Duty


class Rotas:
    """The rotas of a scenario's posts, built once per post kind and staff number; the calendars of
    shifts and totals are shared by every post that keeps them."""

    def __init__(self, scenario: Scenario, offset_h: float) -> None:
        self.scenario = scenario
        self.offset_h = offset_h
        self.shifts: dict[int, tuple[Duty, ...]] = {}
        self.totals: dict[tuple[int, tuple[int, ...]], Duty] = {}
        self.cache: dict[tuple[int, int], Rota] = {}

    def _shifts(self, kind: int) -> tuple[Duty, ...]:
        if kind not in self.shifts:
            spec = getattr(self.scenario.posts, KINDS[kind])
            self.shifts[kind] = tuple(Duty(Calendar.from_counts([s], [1], self.offset_h)) for s in spec.on_duty)
        return self.shifts[kind]

    def with_counts(self, kind: int, counts: tuple[int, ...]) -> Rota:
        key = (kind, counts)
        if key not in self.totals:
            spec = getattr(self.scenario.posts, KINDS[kind])
            self.totals[key] = Duty(Calendar.from_counts(spec.on_duty, counts, self.offset_h))
        lines = tuple((duty, n) for duty, n in zip(self._shifts(kind), counts, strict=True) if n)
        return Rota(lines, self.totals[key])

    def counts(self, kind: int, staff: int) -> tuple[int, ...]:
        return allocate(getattr(self.scenario.posts, KINDS[kind]).on_duty, staff)

    def __call__(self, kind: int, staff: int) -> Rota:
        key = (kind, staff)
        if key not in self.cache:
            self.cache[key] = self.with_counts(kind, self.counts(kind, staff))
        return self.cache[key]


def build_network(scenario: Scenario, district: District) -> Network:
    """The posts, origins and rules of ``scenario`` on ``district``, with the time distributions as
    transforms of the standard normal variates each request carries."""
    with _collector_paused():
        return _build(scenario, district)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A build allocates tens of thousands of objects that all live as long as the run, so the cyclic
    garbage collector's passes during it (half the build's time on a district) find nothing to free:
    pause them. They resume afterwards, with these objects counted as usual."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _build(scenario: Scenario, district: District) -> Network:
    g = district.graph
    start = dt.datetime.combine(scenario.clock.start, dt.time())
    offset_h = start.weekday() * 24.0
    calendar = Rotas(scenario, offset_h)
    offices = district.offices()
    office_index = {o: i for i, o in enumerate(offices)}
    level_index = {lv: i for i, lv in enumerate(GRAPH_LEVELS)}
    actor_index = {a: i for i, a in enumerate(ACTORS)}
    delays = {k: _delays(getattr(scenario.posts, KINDS[k])) for k in range(len(KINDS))}
    separate = scenario.grids.mode == "separate"
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
        if separate and kind == GRID_K and not a.get("special"):
            post.router = tuple(_typed_grids(post, staff, posts, calendar))
            post.lines = ()  # the grid's people work in its departmental grids
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
            transform(_handling_dist(scenario, cat.handling, k, cat.department_handling)) for k in range(len(KINDS))
        ]
        cats.append(
            CategoryRuntime(
                name=cat.name_en,
                prio=PRIORITIES.index(cat.priority),
                dept=index.get(cat.department, -1),
                needs=cat.needs_department,
                rule=rule,
                handling=handling,
                lead=transform(cat.department_lead) if cat.department_lead else None,
                gtype=GRID_TYPES.index(cat.grid),
                joint=index[cat.joint_department] if cat.joint_department else -1,
                joint_share=cat.joint_share,
                in_unit=cat.in_unit,
                in_unit_time=transform(cat.in_unit_time) if cat.in_unit_time else None,
            )
        )
    hours = np.asarray(scenario.arrivals.hour_profile, dtype=float)
    days = np.asarray(scenario.arrivals.weekday_profile, dtype=float)
    dl = scenario.deadlines
    esc = scenario.escalation
    wh = scenario.whistle
    pa = scenario.patience
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
        whistle=Whistle(
            enabled=wh.enabled,
            multi_department=wh.rules.multi_department,
            special=wh.rules.special,
            overdue_h=wh.rules.overdue_at_street_h if wh.rules.overdue_at_street_h is not None else float("inf"),
            report_within_h=wh.report_within_min / 60.0,
            travel=transform(wh.travel),
            joint=transform(wh.joint_handling),
            solves=wh.solves,
            bundle=wh.bundle,
        ),
        referral=transform(scenario.referral.delay),
        grids=Grids(
            separate=separate,
            misroute=scenario.grids.misroute,
            handoff_delay=transform(scenario.grids.handoff_delay),
            handoff_handling=transform(scenario.grids.handoff_handling),
        ),
        patience=Patience(
            enabled=pa.enabled,
            waiting_only=pa.while_ == "waiting",
            by_priority=(transform(pa.special), transform(pa.urgent), transform(pa.ordinary)),
            repeat_after_abandon=pa.repeat_after_abandon,
            repeat_after_late=pa.repeat_after_late,
            repeat_delay=transform(pa.repeat_delay),
        ),
        in_unit=scenario.in_unit.enabled,
        surges=_surges(scenario),
        injects=_injects(scenario, district, posts, index),
        index=index,
    )


def _typed_grids(base: Post, staff: int, posts: list[Post], rotas: Rotas) -> list[Post]:
    """The five departmental grids behind ``base``: the grid team's own rota dealt out person by person
    (``calendars.deal``), so at every minute as many people are on duty as in the merged team."""
    typed = []
    shares = deal(rotas.counts(GRID_K, staff), len(GRID_TYPES))
    for gtype, (name, counts) in enumerate(zip(GRID_TYPES, shares, strict=True)):
        post = Post(
            len(posts),
            f"{base.node}#{name}",
            GRID_K,
            base.graph_level,
            rotas.with_counts(GRID_K, counts),
            base.actor,
            base.office,
        )
        post.parent = base.parent
        post.gtype = gtype
        posts.append(post)
        typed.append(post)
    return typed


def _entry(shares: Mapping[Any, float]) -> list[float]:
    return [shares.get("unit", 0.0), shares.get("grid", 0.0), shares.get("street", 0.0)]


def _delays(spec: PostSpec) -> tuple[Transform, Transform, Transform] | None:
    """A volunteer's notice delay per priority: one distribution, scaled by the priority's factor."""
    if spec.response_delay is None:
        return None
    draw = transform(spec.response_delay)
    out = [scaled(spec.response_delay_factor.get(p, 1.0), draw) for p in PRIORITIES]
    return (out[0], out[1], out[2])


def _escalation_targets(scenario: Scenario, posts: list[Post]) -> None:
    """For every post and priority, the post a request goes to when sent up: the next level above on
    the priority's escalation path, or the district above the street."""
    default = SETTLE_LEVELS[:5]
    paths = {p: {SETTLE_LEVELS.index(lv) for lv in scenario.escalation.path.get(p, default)} for p in PRIORITIES}
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


def _ancestor(post: Post, kind: int) -> Post | None:
    while post.kind != kind and post.parent is not None:
        post = post.parent
    return post if post.kind == kind else None


def _origins(
    scenario: Scenario, district: District, posts: list[Post], index: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posts where residents raise requests, their expected requests per hour, and per origin the posts
    a request can land at (its own group, its grid, its street or town office) and its community."""
    g = district.graph
    per_resident = scenario.arrivals.requests_per_resident_year / (365.0 * 24.0)
    per_member = scenario.arrivals.requests_per_member_year / (365.0 * 24.0)
    origins: list[int] = []
    weights: list[float] = []
    entries: list[tuple[int, int, int, int]] = []
    for node in district.at_level("unit", "representative", "grid"):
        a = g.nodes[node]
        post = posts[index[node]]
        if a["level"] == "grid":
            if not a.get("special"):
                continue
            rate = int(a["members"]) * per_member
        else:
            rate = int(a["residents"]) * per_resident
        if rate <= 0:
            continue
        grid, office, community = _ancestor(post, GRID_K), _ancestor(post, STREET_K), _ancestor(post, COMMUNITY_K)
        assert grid is not None and office is not None
        origins.append(post.idx)
        weights.append(rate)
        entries.append((post.idx, grid.idx, office.idx, community.idx if community else -1))
    return (
        np.asarray(origins, dtype=np.int64),
        np.asarray(weights, dtype=float),
        np.asarray(entries, dtype=np.int64).reshape(-1, 4),
    )


def _surges(scenario: Scenario) -> list[Surge]:
    names = list(scenario.categories)
    out = []
    for surge in scenario.surges:
        mask = np.array([not surge.categories or c in surge.categories for c in names])
        out.append(
            Surge(
                hours_from_start(surge.start, scenario.clock.start),
                hours_from_start(surge.end, scenario.clock.start),
                surge.multiplier,
                mask,
            )
        )
    return out


def _injects(scenario: Scenario, district: District, posts: list[Post], index: dict[str, int]) -> list[Inject]:
    names = list(scenario.categories)
    out = []
    for i, inject in enumerate(scenario.injects):
        post = posts[index[inject.node]] if inject.node in index else None
        if post is None or post.kind in (DEPARTMENT_K, DISTRICT_K):
            hint = "no such node" if post is None else "not a neighbourhood post (a department or the district)"
            problem = f"'{inject.node}': {hint}; use a node id such as 'S1/C1/G1/B1/U1'"
            raise ScenarioError(Problem(problem, path=f"injects.{i}.node"))
        office, community = _ancestor(post, STREET_K), _ancestor(post, COMMUNITY_K)
        assert office is not None
        cat = names.index(inject.category)
        prio = PRIORITIES.index(inject.priority or scenario.categories[inject.category].priority)
        at = hours_from_start(inject.at, scenario.clock.start)
        out.append(Inject(at, post.idx, office.idx, community.idx if community else -1, cat, prio, inject.text, i))
    return out
