"""The request-flow engine: residents' requests moving through the posts of the district, in SimPy.

Think of each post as a desk with an in-tray per priority (special, urgent, ordinary; first come first
served within each) and the people on duty at that desk. A request lands in a group (a stair unit's, or
straight with the grid worker, or on the street's hotline), waits until someone on duty picks it up,
takes their time, and is then settled on the spot, passed to its department with a named handler, or
sent up a level. A department fixes it or sends it back up for study at the district. Deadlines run from
arrival: a request still waiting unanswered at its response deadline is escalated automatically.

The reform's mechanisms live here too: a street may blow the whistle and summon departments, who report
and stay until the matter is done; grids are one comprehensive team or five departmental ones a request
must find its way between; neighbours settle some matters themselves; residents give up after their
patience runs out (and some come back); surges multiply arrivals; trainers inject scripted incidents.

Requests are small tokens moved by SimPy timeout callbacks rather than one generator process each: a
simulated year of the whole district moves over a million of them, and the callbacks keep the cost per
request below that of a bare SimPy queue (see ``benchmarks/bench_engine.py``).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import simpy
from simpy.events import NORMAL, Timeout

from sim.engine.network import (
    DEPARTMENT_K,
    DEPARTMENT_O,
    DISTRICT_K,
    DISTRICT_O,
    GRAPH_LEVELS,
    GRID_K,
    IN_UNIT_O,
    KINDS,
    NEIGHBOURS,
    OUTCOME_LEVELS,
    RESIDENT,
    SPECIAL,
    STREET_K,
    SYSTEM,
    WHISTLE_O,
    Inject,
    Line,
    Network,
    Post,
)
from sim.eventlog import (
    ABANDONED,
    ARRIVED,
    ESCALATED,
    HANDED_OFF,
    MISSED,
    PASSED,
    QUEUED,
    REPORTED,
    RESOLVED,
    RETURNED,
    SETTLED,
    STARTED,
    WHISTLED,
    EventLog,
)
from sim.metrics import Metrics, bin_of
from sim.policies import ESCALATE, PASS, SETTLE
from sim.policies.actions import JURISDICTION, OUTSIDE, Case, Target, refusal
from sim.scenario.schema import SETTLE_LEVELS as SETTLE_LEVEL_NAMES
from sim.structure.ids import post_of

NOTICING, WAITING, SERVING, AWAY, CLOSED, HUMAN, HELD = range(7)
"""Where a request is: noticed by nobody yet, waiting in an in-tray, in someone's hands, away (with a
department, on its way, with the neighbours), closed; or, at a post a person plays (a trainee in the
console), in that person's queue (``HUMAN``) or settled by them and still within their undo window
(``HELD``)."""
INF = math.inf
#: Fixed texts of the event log's ``detail`` column.
DETAILS = (
    "response",
    "resolution",
    "auto",
    "study",
    "whistle",
    "on time",
    "late",
    "hand-off",
    "repeat",
    "next department",
    "wrong department",
    "returned down",
    "not fixed",
)
Row = tuple[int, float, int, int, int, int, int, int, int]


class Call(Timeout):
    """A timeout that calls ``fn(event)`` when it fires: SimPy's Timeout with its callback given up
    front, the engine's one kind of scheduled event."""

    def __init__(self, env: simpy.Environment, delay: float, value: Any, fn: Callable[[Any], None]) -> None:
        self.env = env
        self.callbacks = [fn]
        self._value = value
        self._delay = delay
        self._ok = True
        env.schedule(self, NORMAL, delay)


class Request:
    """One resident's request, as it moves: where it is, its deadlines, and its fate-deciding draws."""

    __slots__ = (
        "arrived",
        "cat",
        "community",
        "counted",
        "dept",
        "enq",
        "handoff",
        "id",
        "impatient",
        "job",
        "k",
        "key",
        "missed",
        "next_resp",
        "office",
        "origin",
        "otrack",
        "patience_at",
        "post",
        "prio",
        "res_check",
        "res_due",
        "resp_due",
        "responded",
        "state",
        "study",
        "todo",
        "u",
        "u2",
        "urep",
        "uroute",
        "ver",
        "zs",
    )
    id: int
    cat: int
    prio: int
    arrived: float
    u: float
    u2: float
    urep: float
    uroute: float
    zs: list[float]
    k: int
    key: int
    dept: bool
    todo: list[int]
    office: int
    otrack: int
    community: int
    origin: int
    resp_due: float
    res_due: float
    next_resp: float
    res_check: float
    patience_at: float
    counted: bool
    enq: float
    state: int

    def __init__(self) -> None:
        self.post: Post | None = None
        self.job: Job | None = None
        self.impatient = False
        self.ver = 0
        self.responded = -1.0
        self.missed = False
        self.study = False
        self.handoff: Post | None = None


class Job:
    """One person's work in hand: a request's handling (``took`` hours drawn), or a summoned
    department's hold on a whistle; ``shift_end`` is when the person's shift ends (after it: overtime)."""

    __slots__ = ("line", "post", "server", "shift_end", "started", "took")

    def __init__(self, post: Post, line: Line, server: int, started: float, shift_end: float, took: float) -> None:
        self.post = post
        self.line = line
        self.server = server
        self.started = started
        self.shift_end = shift_end
        self.took = took


@dataclass
class WhistleCall:
    """One whistle: the requests it covers, the departments summoned, who has reported."""

    id: int
    reqs: list[Request]
    depts: list[int]
    office: Post
    at: float
    reported: int = 0
    holds: list[Job] = field(default_factory=list)
    """The person each summoned department put on the call."""
    covers: bool = True
    """Whether the departments summoned are all the request needs (a person may summon the wrong ones)."""


class Hooks(Protocol):
    """What the engine tells the driver of a post played by a person (``Engine.activate``)."""

    def handover(self, req: Request, post: Post, why: str) -> None:
        """``req`` has reached the person's desk at ``post`` (for the first time, or again)."""

    def moved(self, req: Request, post: Post, why: str) -> None:
        """A request the person has had moved on to ``post`` without them (an automatic escalation, a
        department sending it on)."""

    def closed(self, req: Request, post: Post, outcome: str) -> None:
        """A request the person has had was resolved or abandoned."""


@dataclass(slots=True)
class DeskRecord:
    """One request that reached a watched post (``Engine.watch``): what became of it, for scoring."""

    id: int
    cat: int
    prio: int
    at: float
    resp_due: float
    res_due: float
    answered_before: bool
    waiting_at_start: bool = False
    responded: float = -1.0
    answered_here: bool = False
    """Answered at the watched post while it was watched (by the person playing it, or its policy)."""
    closed: float = -1.0
    fixed: bool = False
    abandoned: bool = False
    key: int = 0
    """The request's key (the same request has the same key in every run on the seed: ``on_desk``)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision taken on a request at a watched post, and whether it was the right one: ``settle``,
    ``pass``, ``whistle``, ``escalate``, ``return``, or ``whistle-missed`` (a pass where the whistle
    was called for)."""

    id: int
    at: float
    kind: str
    right: bool
    person: bool = False
    """Taken by the person playing the post (else by the post's own policy)."""


#: Columns of the uniform draws that describe a request at its arrival (``describe``).
ORIGIN_U, CHANNEL_U, SETTLE_U, SOLVE_U, NEED_U, JOINT_U, NEIGHBOURS_U, REPEAT_U, MISROUTE_U = range(9)
UNIFORMS = 9
#: Standard normal variates drawn for each request at its arrival: its patience, then the times drawn
#: for it as it moves (notice delays, handling, referrals, lead times); more come from its own stream.
VARIATES = 12
#: Purposes of the counter-based streams (the last word of a Philox counter).
_HOUR, _REQUEST = 0, 1
_MASK = (1 << 64) - 1


class Streams:
    """The random streams of one replication, one per purpose, so that a change to one part of a
    scenario leaves every other part's draws where they were (common random numbers).

    Each simulated hour's arrivals come from a stream of their own (a surge in one hour leaves every
    other hour's arrivals as they were), and draw everything that describes each request (origin,
    channel, the uniforms that decide its fate, its patience, its repeat decision and a first block of
    variates for the times drawn as it moves). A request that needs more variates, and a request raised
    outside the arrival streams (an inject, a repeat), draw from a stream keyed by the request itself.
    So a request's k-th time is the same number whichever post draws it, in whatever order: changing
    one office's staff leaves every other office's draws unchanged.

    The streams are Philox counter-based streams under one key derived from the seed: a stream is a
    counter prefix (its purpose and its id), so opening one costs a state reset, not a new generator.
    ``from_seed`` does not touch the seed it is given: the same seed gives the same streams, always.
    """

    __slots__ = ("_bits", "_gen", "_state", "entropy")

    def __init__(self, key: np.ndarray, entropy: str = "") -> None:
        self._bits = np.random.Philox(key=key)
        self._gen = np.random.Generator(self._bits)
        self._state: Any = self._bits.state
        self.entropy = entropy

    @classmethod
    def from_seed(cls, seed: int | np.random.SeedSequence) -> Streams:
        if isinstance(seed, np.random.SeedSequence):
            # a fresh copy: SeedSequence.spawn counts its children, generate_state does not
            ss = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        else:
            ss = np.random.SeedSequence(seed)
        return cls(ss.generate_state(2, np.uint64), f"{ss.entropy}/{ss.spawn_key}")

    def _open(self, purpose: int, ident: int, chunk: int = 0) -> np.random.Generator:
        state = self._state
        state["state"]["counter"] = np.array([0, chunk, ident & _MASK, purpose], dtype=np.uint64)
        state["buffer_pos"] = 4
        state["has_uint32"] = 0
        self._bits.state = state
        return self._gen

    def hour(self, h: int) -> np.random.Generator:
        """The stream of simulated hour ``h``'s arrivals (valid until another stream is opened)."""
        return self._open(_HOUR, h)

    def request(self, key: int, chunk: int = 0) -> np.random.Generator:
        """The stream of the request keyed ``key``: chunk 0 describes a request raised outside the
        arrival streams; chunks 1, 2, ... are more variates for any request."""
        return self._open(_REQUEST, key, chunk)


def describe(gen: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws that describe ``n`` requests: uniforms (columns ``ORIGIN_U`` ...) and standard normal
    variates (column 0 their patience, then ``VARIATES`` for the times drawn as they move)."""
    return gen.random((n, UNIFORMS)), gen.standard_normal((n, VARIATES + 1))


@dataclass(frozen=True)
class Arrivals:
    """A block of arrivals in time order: times, categories, what describes each, and their keys."""

    times: np.ndarray
    cats: np.ndarray
    uniforms: np.ndarray
    normals: np.ndarray
    keys: np.ndarray

    @classmethod
    def empty(cls) -> Arrivals:
        return cls(
            np.empty(0),
            np.empty(0, dtype=np.int64),
            np.empty((0, UNIFORMS)),
            np.empty((0, VARIATES + 1)),
            np.empty(0, dtype=np.int64),
        )

    def head(self, n: int) -> Arrivals:
        return Arrivals(self.times[:n], self.cats[:n], self.uniforms[:n], self.normals[:n], self.keys[:n])


def repeat_key(key: int) -> int:
    """The key of a repeat request, from the key of the request it repeats (an odd multiplier makes it
    a bijection of 64-bit keys)."""
    return (key * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK


class Engine:
    """Runs one replication of a network from time 0 to ``end_h`` hours (or until ``max_arrivals``
    requests have arrived and been served)."""

    def __init__(
        self,
        net: Network,
        streams: Streams,
        *,
        end_h: float,
        warmup_h: float = 0.0,
        sample_h: float | None = 1.0,
        log: EventLog | None = None,
        max_arrivals: int | None = None,
        trace: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.net = net
        self.env = simpy.Environment()
        self.streams = streams
        self.end_h = end_h
        self.warmup_h = warmup_h
        self.sample_h = sample_h
        self.log = log
        self.max_arrivals = max_arrivals
        self.metrics = Metrics(
            priorities=("special", "urgent", "ordinary"),
            categories=[c.name for c in net.categories],
            levels=OUTCOME_LEVELS,
            kinds=KINDS,
            offices=net.offices,
            departments=net.departments,
            grid_types=net.grid_types if net.grids and net.grids.separate else (),
            start_h=warmup_h,
            end_h=end_h,
            sample_h=sample_h or 0.0,
            deadlines={"response": net.resp_len, "resolution": net.res_len},
        )
        self.where = [0] * len(KINDS)
        self.next_id = 0
        self.scheduled = 0
        self.cum_weights = np.cumsum(net.weights)
        self.cum_shares = np.cumsum(net.shares / net.shares.sum())
        self.cum_entry = np.cumsum(net.entry_shares, axis=1)
        self.needs = np.array([c.needs for c in net.categories])
        self.joint = np.array([c.joint_share for c in net.categories])
        self.in_unit = np.array([c.in_unit if net.in_unit else 0.0 for c in net.categories])
        self.prio_of = [c.prio for c in net.categories]
        if trace is not None:
            order = np.argsort(trace[0], kind="stable")
            times, cats = np.asarray(trace[0], dtype=float)[order], np.asarray(trace[1], dtype=np.int64)[order]
            keep = (times >= 0.0) & (times < end_h)
            trace = (times[keep], cats[keep])
        self.trace = trace
        self.hour_rates = self._hour_rates()
        self.block_h = self._block_hours()
        self.whistles: list[WhistleCall] = []
        self.live: dict[int, Request] = {}
        """Every request not yet closed, by id (what is open at the end is judged from it)."""
        self.open_whistles: set[int] = set()
        self._row: Callable[[Row], None] | None = log.append if log is not None else None
        self.details = {"": 0}
        for text in DETAILS:
            self.details[text] = log.detail_code(text) if log is not None else 0
        # posts played by a person (a trainee in the console): see ``activate``
        self.human: frozenset[int] = frozenset()
        self.hooks: Hooks | None = None
        self.desk_share = 1.0
        self.tracked: dict[int, Request] = {}
        self.quiet = -1
        self.wrong: dict[int, tuple[int, Post]] = {}
        self.held: dict[int, float] = {}
        # posts whose requests and decisions are recorded for scoring: see ``watch``
        self.injected: dict[int, str] = {}
        self.watched: frozenset[int] = frozenset()
        self.watch_until = INF
        self.desk: dict[int, DeskRecord] = {}
        self.decisions: list[Decision] = []

    def _detail(self, text: str) -> int:
        if self.log is None:
            return 0
        return self.log.detail_code(text)

    # --- arrivals --------------------------------------------------------------------------------

    def _hour_rates(self) -> np.ndarray:
        """Expected requests in each hour of the week (0 = Monday 00:00), before category shares."""
        net = self.net
        week = np.arange(168)
        rates: np.ndarray = net.rate_per_h * net.hour_weights[week % 24] * net.day_weights[week // 24]
        return rates

    def hour_multipliers(self, first: int, hours: int) -> np.ndarray | None:
        """Multipliers of each category's arrival rate in simulated hours ``first`` to
        ``first + hours - 1`` (hours × categories), or None when no surge touches them. A surge that
        covers part of an hour raises that hour's rate in proportion."""
        mult = None
        for surge in self.net.surges:
            if surge.end_h <= first or surge.start_h >= first + hours:
                continue
            if mult is None:
                mult = np.ones((hours, len(self.net.categories)))
            lo = np.arange(first, first + hours, dtype=float)
            overlap = np.clip(np.minimum(lo + 1, surge.end_h) - np.maximum(lo, surge.start_h), 0.0, 1.0)
            factor = 1.0 + (surge.multiplier - 1.0) * overlap
            mult[:, surge.categories] *= factor[:, None]
        return mult

    def _block_hours(self) -> int:
        """Hours generated at a time: about 256 expected arrivals, at most a day, at least an hour."""
        peak = float(self.hour_rates.max())
        return int(min(24, max(1, 256 // peak))) if peak > 0 else 24

    def _generate(self, first: int, hours: int) -> Arrivals:
        """The arrivals of simulated hours ``first`` to ``first + hours - 1``, each hour from its own
        stream: Poisson counts per category, uniform times within the hour (exact for a rate that is
        constant within each hour), or the trace's arrivals in that hour; then what describes each."""
        net = self.net
        week = (np.arange(first, first + hours) + int(net.offset_h)) % 168
        rates = self.hour_rates[week][:, None] * net.shares[None, :]
        mult = self.hour_multipliers(first, hours) if self.trace is None else None
        if mult is not None:
            rates = rates * mult
        parts = []
        for i, h in enumerate(range(first, first + hours)):
            gen = self.streams.hour(h)
            if self.trace is None:
                counts = gen.poisson(rates[i])
                n = int(counts.sum())
                if not n:
                    continue
                cats = np.repeat(np.arange(len(counts)), counts)
                times = h + gen.random(n)
                order = np.argsort(times, kind="stable")
                times, cats = times[order], cats[order]
            else:
                lo, hi = np.searchsorted(self.trace[0], [h, h + 1], side="left")
                times, cats = self.trace[0][lo:hi], self.trace[1][lo:hi]
                n = len(times)
                if not n:
                    continue
            uniforms, normals = describe(gen, n)
            keys = (h << 24) + np.arange(n, dtype=np.int64)
            parts.append((times, cats, uniforms, normals, keys))
        if not parts:
            return Arrivals.empty()
        return Arrivals(*(np.concatenate(col) for col in zip(*parts, strict=True)))

    def _block(self, ev: Any) -> None:
        """Schedule the arrivals of the next block of simulated hours (generated, or replayed from a
        trace), with the origin, channel and fate-deciding draws of each."""
        env, net = self.env, self.net
        first = ev._value
        hours = self.block_h
        if self.max_arrivals is None:
            hours = max(1, min(hours, math.ceil(self.end_h) - first))
        arr = self._generate(first, hours)
        n = len(arr.times)
        if n:
            if self.max_arrivals is not None:
                arr = arr.head(self.max_arrivals - self.scheduled)
                n = len(arr.times)
            cats, uni = arr.cats, arr.uniforms
            origin = np.searchsorted(self.cum_weights, uni[:, ORIGIN_U] * self.cum_weights[-1], side="right")
            origin = np.minimum(origin, len(self.cum_weights) - 1)
            channel = np.minimum((uni[:, CHANNEL_U][:, None] >= self.cum_entry[cats]).sum(axis=1), 2)
            where = net.entry_posts[origin]
            entry = where[np.arange(n), channel]
            need = uni[:, NEED_U] < self.needs[cats]
            joint = need & (uni[:, JOINT_U] < self.joint[cats])
            neighbours = (channel == 0) & (uni[:, NEIGHBOURS_U] < self.in_unit[cats])
            now = env.now
            arrive = self._arrive
            for rec in zip(
                arr.times.tolist(),
                cats.tolist(),
                net.origins[origin].tolist(),
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
            ):
                Call(env, rec[0] - now, rec, arrive)
            self.scheduled += n
        more = self.max_arrivals is None or self.scheduled < self.max_arrivals
        if more and first + hours < self.end_h:
            Call(env, first + hours - env.now, first + hours, self._block)
        if self.log is not None:
            self.log.maybe_flush()
            self._row = self.log.append

    def _arrive(self, ev: Any) -> None:
        t, cat, origin, entry, office, community, u, u2, urep, uroute, need, joint, neighbours, zp, zs, key = ev._value
        req = self._new(t, cat, self.prio_of[cat], origin, office, community, need, joint, key)
        req.u, req.u2, req.urep, req.uroute, req.zs = u, u2, urep, uroute, zs
        self._patience(req, zp)
        if self._row:
            self._row((req.id, t, ARRIVED, origin, RESIDENT, -1, cat, req.prio, 0))
        if self.max_arrivals is not None and self.next_id >= self.max_arrivals:
            self.metrics.end_h = t
            self.end_h = t
        self._arm(req)
        if neighbours:
            self._neighbours(req, self.net.posts[entry])
        else:
            self._enter(req, self.net.posts[entry])

    def _new(
        self,
        t: float,
        cat: int,
        prio: int,
        origin: int,
        office: int,
        community: int,
        need: bool,
        joint: bool,
        key: int,
    ) -> Request:
        net, m = self.net, self.metrics
        req = Request()
        req.id = self.next_id
        self.next_id += 1
        req.key = key
        req.k = 0
        req.cat = cat
        req.prio = prio
        req.arrived = t
        req.dept = need
        category = net.categories[cat]
        req.todo = ([category.dept, category.joint] if joint else [category.dept]) if need else []
        req.origin = origin
        req.office = office
        otrack = net.posts[office].track
        req.otrack = otrack
        req.community = community
        req.resp_due = t + net.resp_len[prio]
        req.res_due = t + net.res_len[prio]
        req.next_resp = req.resp_due
        req.res_check = req.res_due
        counted = t >= self.warmup_h
        req.counted = counted
        if counted:
            respond_by = req.resp_due <= self.end_h
            resolve_by = req.res_due <= self.end_h
            for g in (m.by_priority[prio], m.by_category[cat], m.by_office[otrack][prio]):
                g.requests += 1
                g.response_judged += respond_by
                g.resolution_judged += resolve_by
        m.enter_system(t)
        self.live[req.id] = req
        return req

    def _patience(self, req: Request, z: float) -> None:
        patience = self.net.patience
        enabled = patience is not None and patience.enabled
        req.patience_at = req.arrived + patience.by_priority[req.prio](z) if enabled else INF  # type: ignore[union-attr]

    def _raise(self, cat: int, prio: int, origin: int, office: int, community: int, key: int) -> Request:
        """A request raised now outside the arrival streams (an inject, a repeat): what describes it is
        drawn from its own stream, keyed ``key``."""
        category = self.net.categories[cat]
        uni, normals = describe(self.streams.request(key), 1)
        u = uni[0].tolist()
        need = u[NEED_U] < category.needs
        joint = need and u[JOINT_U] < category.joint_share
        req = self._new(self.env.now, cat, prio, origin, office, community, need, joint, key)
        req.u, req.u2, req.urep, req.uroute = u[SETTLE_U], u[SOLVE_U], u[REPEAT_U], u[MISROUTE_U]
        req.zs = normals[0, 1:].tolist()
        self._patience(req, float(normals[0, 0]))
        return req

    def _z(self, req: Request) -> float:
        """The request's next standard normal variate (for the next time drawn for it)."""
        k = req.k
        req.k = k + 1
        zs = req.zs
        if k < len(zs):
            return zs[k]
        chunk = len(zs) // VARIATES
        zs.extend(self.streams.request(req.key, chunk).standard_normal(VARIATES).tolist())
        return zs[k]

    def _inject(self, ev: Any) -> None:
        inj: Inject = ev._value
        net = self.net
        req = self._raise(inj.cat, inj.prio, inj.post, inj.office, inj.community, (1 << 63) | inj.index)
        self.metrics.injected += 1
        self.injected[req.id] = inj.text
        if self._row:
            det = self._detail(f"injected: {inj.text}" if inj.text else "injected")
            self._row((req.id, req.arrived, ARRIVED, inj.post, RESIDENT, -1, req.cat, req.prio, det))
        self._arm(req)
        self._enter(req, net.posts[inj.post])

    def _repeat(self, ev: Any) -> None:
        """A resident whose request was abandoned or handled late raises it again."""
        old: Request = ev._value
        req = self._raise(old.cat, old.prio, old.origin, old.office, old.community, repeat_key(old.key))
        self.metrics.repeat_requests += req.counted
        if self._row:
            self._row(
                (req.id, req.arrived, ARRIVED, old.origin, RESIDENT, -1, req.cat, req.prio, self.details["repeat"])
            )
        self._arm(req)
        entry = self.net.posts[old.origin]
        self._enter(req, entry)

    # --- moving between posts ----------------------------------------------------------------------

    def _enter(self, req: Request, post: Post, why: str = "") -> None:
        """``req`` lands at ``post``: logged as queued, noticed after a volunteer's delay, then waits.
        At a grid in separate mode it is routed to a departmental grid first (sometimes the wrong one).
        At a post a person plays, it goes to their queue instead (``why`` tells them how it came)."""
        if req.impatient and req.responded < 0:
            self._abandon(req, self.env.now)  # the resident gave up while someone had it in hand
            return
        if post.router is not None:
            post = self._route(req, post)
        old = req.post
        if old is not None:
            self.where[old.kind] -= 1
        self.where[post.kind] += 1
        req.post = post
        req.ver += 1
        now = self.env.now
        req.enq = now
        if self._row:
            self._row((req.id, now, QUEUED, post.idx, post.actor, -1, req.cat, req.prio, 0))
        if self.watched and post.idx in self.watched and now < self.watch_until and self.on_desk(req):
            self._desk_in(req, now, waiting=False)
        if self.human:
            if post.idx in self.human and self.on_desk(req):
                self._hand_over(req, post, why)
                return
            if req.id in self.tracked and req.id != self.quiet:
                assert self.hooks is not None
                self.hooks.moved(req, post, why)
        if post.delay is not None:
            req.state = NOTICING
            Call(self.env, post.delay[req.prio](self._z(req)), (req, req.ver), self._noticed)
        else:
            req.state = WAITING
            post.q[req.prio].append((req, req.ver))
            post.waiting += 1
            self._dispatch(post)

    def _route(self, req: Request, grid: Post) -> Post:
        assert grid.router is not None and self.net.grids is not None
        right = grid.router[self.net.categories[req.cat].gtype]
        misroute = self.net.grids.misroute
        if req.uroute < misroute:
            # the same uniform, below the misroute chance, picks which wrong grid (uniformly)
            others = [p for p in grid.router if p is not right]
            wrong = others[min(len(others) - 1, int(req.uroute / misroute * len(others)))]
            req.handoff = right
            self.metrics.misrouted += req.counted
            return wrong
        return right

    def _noticed(self, ev: Any) -> None:
        req, ver = ev._value
        if req.ver != ver or req.state != NOTICING:
            return
        post = req.post
        if post.idx in self.human and self.on_desk(req):
            self._hand_over(req, post, "")
            return
        req.state = WAITING
        post.q[req.prio].append((req, ver))
        post.waiting += 1
        self._dispatch(post)

    def _dispatch(self, post: Post) -> None:
        """Start as much waiting work as the people on duty allow (whistle summons first); if some must
        wait for the next shift, wake the post when the next shift starts."""
        if not post.waiting and not post.summons:
            return
        now = self.env.now
        if now >= post.cap_until:
            self._roster(post, now)
        while post.summons and post.avail > 0:
            self._start_summons(post.summons.popleft(), post, now)
        while post.waiting and post.avail > 0:
            for q in post.q:
                while q:
                    req, ver = q.popleft()
                    if req.ver == ver and req.state == WAITING:
                        break
                else:
                    continue
                break
            post.waiting -= 1
            self._start(req, post, now)
        if (post.waiting or post.summons) and post.cap_until < INF and not (now < post.wake < INF):
            rise = self._next_start(post, now)
            if rise < INF:
                post.wake = rise
                Call(self.env, rise - now, post, self._wake)

    def _roster(self, post: Post, now: float) -> None:
        """Bring the post's rota up to ``now`` (a shift has started or ended since it was last asked):
        whose shift is on, and how many of them are free. People whose shift has ended stay busy with
        what they hold, as overtime, and take nothing new."""
        avail, until = 0, INF
        for line in post.lines:
            n, line.until = line.duty.at(now)
            line.on = n > 0
            if line.on:
                avail += line.n - line.busy
            if line.until < until:
                until = line.until
        post.avail = avail
        post.cap_until = until

    @staticmethod
    def _next_start(post: Post, now: float) -> float:
        """When a shift of the post next starts."""
        first = INF
        for line in post.lines:
            if line.until == INF:
                continue
            rise = line.duty.next_rise(line.until if line.on else now)
            if rise < first:
                first = rise
        return first

    def _wake(self, ev: Any) -> None:
        post = ev._value
        post.wake = INF
        self._dispatch(post)

    def _person(self, post: Post) -> Line:
        """A free person on duty (of the shift that goes on longest, so the least work runs into
        overtime), now busy."""
        lines = post.lines
        best = lines[0]
        if len(lines) > 1 or not (best.on and best.busy < best.n):
            until = -INF
            for line in lines:
                if line.on and line.busy < line.n and line.until > until:
                    best, until = line, line.until
        best.busy += 1
        post.avail -= 1
        return best

    def _release(self, post: Post, line: Line, now: float) -> None:
        """A person has finished: free for more work if their shift is on, else they go home."""
        if now >= post.cap_until:
            self._roster(post, now)
        line.busy -= 1
        if line.on:
            post.avail += 1

    def _server(self, post: Post) -> int:
        """A handler number at the post for the event log (the lowest free one)."""
        server = post.free.pop() if post.free else post.next_server
        if server == post.next_server:
            post.next_server += 1
        return server

    def _start(self, req: Request, post: Post, now: float) -> None:
        line = self._person(post)
        server = self._server(post)
        req.state = SERVING
        if req.counted:
            self._picked(req, post, now)
        if self._row:
            self._row((req.id, now, STARTED, post.idx, post.actor, server, req.cat, req.prio, 0))
        if req.handoff is not None and post.kind == GRID_K:
            assert self.net.grids is not None
            took = self.net.grids.handoff_handling(self._z(req))
        else:
            zs, k = req.zs, req.k  # the request's next variate (``_z``, inlined on the hottest path)
            if k < len(zs):
                req.k = k + 1
                z = zs[k]
            else:
                z = self._z(req)
            took = self.net.categories[req.cat].handling[post.kind](z)
        job = Job(post, line, server, now, line.until, took)
        req.job = job
        # booked now, its length known: on duty until the person's shift ends, overtime after it
        self.metrics.work(post.kind, post.track, post.gtype, now, line.until, now + took, took)
        Call(self.env, took, (req, job), self._done)

    def _picked(self, req: Request, post: Post, now: float) -> None:
        """Record the wait of a (measured) request picked up at ``post`` now."""
        w = now - req.enq
        m = self.metrics
        m.wait[post.kind].add(w, req.enq)
        if w > 0:
            m.waited[post.kind] += 1
        if post.gtype >= 0:
            m.grid_wait[post.gtype].add(w, req.enq)
        elif post.kind == STREET_K and post.track >= 0:
            m.office_wait[post.track][req.prio].add(w, req.enq)

    def _unpicked(self, req: Request, post: Post) -> None:
        """Record a (measured) request that left ``post``'s queue without being picked up (sent up at its
        deadline, given up on)."""
        m = self.metrics
        m.wait[post.kind].leave(req.enq)
        if post.gtype >= 0:
            m.grid_wait[post.gtype].leave(req.enq)
        elif post.kind == STREET_K and post.track >= 0:
            m.office_wait[post.track][req.prio].leave(req.enq)

    def _end_job(self, req: Request, job: Job, now: float) -> None:
        """The person working on ``req`` stops (done, or the resident gave up: then the rest of the time
        booked for it is taken back): free them, and hand the post's waiting work out again."""
        req.job = None
        post = job.post
        if now < job.started + job.took:
            self.metrics.unbook(post.kind, post.track, post.gtype, job.shift_end, now, job.started + job.took)
        line = job.line
        if now >= post.cap_until:
            self._roster(post, now)
        line.busy -= 1
        if line.on:
            post.avail += 1
        post.free.append(job.server)

    def _done(self, ev: Any) -> None:
        req, job = ev._value
        if req.job is not job:
            return  # stopped earlier: the resident gave up
        post = job.post
        self._end_job(req, job, self.env.now)
        server = job.server
        if req.state != CLOSED:
            if self.wrong and req.id in self.wrong and self.wrong[req.id][0] == post.idx:
                self._wrong_department(req, post, server)
            elif post.kind == DEPARTMENT_K:
                lead = self.net.categories[req.cat].lead
                if lead is None:
                    self._department_outcome(req, post)
                else:
                    req.state = AWAY
                    Call(self.env, lead(self._z(req)), (req, post), self._lead_over)
            elif req.handoff is not None and post.kind == GRID_K:
                self._hand_off(req, post, server)
            else:
                self._triage(req, post, server, self.env.now)
        self._dispatch(post)

    def truth(self, req: Request, post: Post) -> int:
        """What the post's standard policy does with ``req``: settle, pass or escalate."""
        decision = self.net.triage.decide(req, post.level)
        if decision == ESCALATE and post.up[req.prio] is None:
            decision = SETTLE
        if decision == PASS and not req.todo:
            decision = SETTLE
        return decision

    def policy(self, req: Request, post: Post) -> tuple[str, list[Post]]:
        """What the post's own policy does with ``req`` now, as a person's action with its targets:
        ``settle``; ``pass`` to its department; ``whistle`` (a street or town, when the whistle is
        called for) summoning every department it needs; ``escalate`` to the post above for its
        priority. At a department: ``settle`` what it solves, else ``return`` it for study."""
        net = self.net
        if post.kind == DEPARTMENT_K:
            return ("settle", []) if post.idx in req.todo and net.outcome.solved(req) else ("return", [])
        decision = self.truth(req, post)
        if decision == SETTLE:
            return "settle", []
        if decision == PASS:
            if post.kind == STREET_K and self._whistle_rule(req, self.env.now):
                return "whistle", [net.posts[d] for d in req.todo]
            return "pass", [net.posts[req.todo[0]]]
        up = post.up[req.prio]
        assert up is not None
        return "escalate", [up]

    def _triage(self, req: Request, post: Post, server: int, now: float) -> None:
        net = self.net
        decision = self.truth(req, post)
        if self.desk and req.id in self.desk and post.idx in self.watched:
            self.decisions.append(Decision(req.id, now, self.policy(req, post)[0], True))
        if decision == SETTLE:
            self._respond(req, now)
            if self._row:
                self._row((req.id, now, SETTLED, post.idx, post.actor, server, req.cat, req.prio, 0))
            self._close(req, post, post.level + 1 if post.kind != DISTRICT_K else DISTRICT_O, post.actor, server)
        elif decision == PASS:
            self._respond(req, now)
            if post.kind == STREET_K and self._whistle_rule(req, now):
                self._whistle(req, post, server, now)
                return
            if self._row:
                self._row((req.id, now, PASSED, post.idx, post.actor, server, req.cat, req.prio, 0))
            self._refer(req, net.posts[req.todo[0]])
        else:
            parent = post.up[req.prio]
            assert parent is not None
            if parent.kind == DISTRICT_K:
                self.metrics.escalations_to_district += req.counted
            if self._row:
                det = self.details["study"] if req.study else 0
                self._row((req.id, now, ESCALATED, post.idx, post.actor, server, req.cat, req.prio, det))
            self._enter(req, parent)

    def _refer(self, req: Request, dept: Post) -> None:
        """An ordinary referral: the department gets the request through the platform after a delay."""
        req.state = AWAY
        referral = self.net.referral
        if referral is None:
            self._enter(req, dept)
        else:
            Call(self.env, referral(self._z(req)), (req, dept), self._arrive_at)

    def _arrive_at(self, ev: Any) -> None:
        req, post = ev._value
        if req.state != CLOSED:
            self._enter(req, post)

    def _wrong_department(self, req: Request, post: Post, server: int) -> None:
        """A department that was passed a request it does not deal with sends it back to who passed it."""
        _, back = self.wrong.pop(req.id)
        if self._row:
            det = self.details["wrong department"]
            self._row((req.id, self.env.now, RETURNED, post.idx, post.actor, server, req.cat, req.prio, det))
        req.state = AWAY
        self._enter(req, back, "wrong department")

    def _hand_off(self, req: Request, post: Post, server: int) -> None:
        """A departmental grid that got a request meant for another hands it on."""
        assert self.net.grids is not None
        target, req.handoff = req.handoff, None
        now = self.env.now
        self.metrics.handoffs += req.counted
        if self._row:
            self._row(
                (req.id, now, HANDED_OFF, post.idx, post.actor, server, req.cat, req.prio, self.details["hand-off"])
            )
        req.state = AWAY
        Call(self.env, self.net.grids.handoff_delay(self._z(req)), (req, target), self._arrive_at)

    def _lead_over(self, ev: Any) -> None:
        req, post = ev._value
        if req.state != CLOSED:
            self._department_outcome(req, post)

    def _department_outcome(self, req: Request, post: Post) -> None:
        now = self.env.now
        if self.net.outcome.solved(req):
            if req.todo and req.todo[0] == post.idx:
                req.todo.pop(0)
            if not req.todo:
                self._close(req, post, 6, post.actor, -1)
                return
            # another department is needed: back to the office for the next ordinary referral
            if self._row:
                det = self.details["next department"]
                self._row((req.id, now, RETURNED, post.idx, post.actor, -1, req.cat, req.prio, det))
            self._enter(req, self.net.posts[req.office], "next department")
            return
        req.study = True
        if self._row:
            self._row((req.id, now, RETURNED, post.idx, post.actor, -1, req.cat, req.prio, self.details["study"]))
        self._enter(req, self.net.posts[req.office], "returned for study")

    # --- the whistle ------------------------------------------------------------------------------

    def _whistle_rule(self, req: Request, now: float) -> bool:
        w = self.net.whistle
        if w is None or not w.enabled or req.study:
            return False
        return (
            (w.multi_department and len(req.todo) >= 2)
            or (w.special and req.prio == SPECIAL)
            or now - req.enq >= w.overdue_h
        )

    def _whistle(self, req: Request, office: Post, server: int, now: float, depts: list[int] | None = None) -> None:
        """The street blows the whistle: every department the request needs is summoned at once (or those
        a person chose); other requests of the same kind from the same place waiting at the office go on
        the same call."""
        w = self.net.whistle
        assert w is not None
        summoned = list(req.todo) if depts is None else depts
        bundled = self._bundle(req, office, w.bundle, summoned)
        call = WhistleCall(len(self.whistles), [req, *bundled], summoned, office, now)
        call.covers = bool(req.todo) and set(req.todo) <= set(summoned)
        self.whistles.append(call)
        self.open_whistles.add(call.id)
        self.metrics.whistles += req.counted
        names = "+".join(self.net.posts[d].node for d in call.depts)
        det = self._detail(f"whistle #{call.id}: {names}")
        for r in call.reqs:
            self._respond(r, now)
            r.state = AWAY
            r.patience_at = INF  # departments are on the case: nobody gives up on a whistle
            if self._row:
                self._row((r.id, now, WHISTLED, office.idx, office.actor, server, r.cat, r.prio, det))
        for d in call.depts:
            dept = self.net.posts[d]
            dept.summons.append(call)
            self._dispatch(dept)

    def _bundle(self, req: Request, office: Post, scope: str, depts: list[int]) -> list[Request]:
        """Requests the summoned departments settle on the same call: at the office, those of the same
        category from the same place; in the departments' own in-trays, any of theirs from there."""
        if scope == "none":
            return []

        def near(other: Request) -> bool:
            return scope == "street" or other.community == req.community

        now = self.env.now
        found = []
        takes = [(office, lambda o: o.cat == req.cat and o.dept and near(o))]
        for d in depts:
            takes.append((self.net.posts[d], lambda o: near(o) and o.office == req.office and not o.study))
        for post, wanted in takes:
            taken = self._take(post, wanted)
            for other in taken:
                if other.counted:
                    self._picked(other, post, now)  # the summoned departments pick it up
            found += taken
        return found

    def _take(self, post: Post, wanted: Callable[[Request], bool]) -> list[Request]:
        """Remove the waiting requests ``wanted`` picks from ``post``'s in-trays."""
        found = []
        for q in post.q:
            keep = []
            for entry in q:
                other, ver = entry
                if other.ver == ver and other.state == WAITING and wanted(other):
                    other.ver += 1
                    post.waiting -= 1
                    found.append(other)
                else:
                    keep.append(entry)
            q.clear()
            q.extend(keep)
        return found

    def _start_summons(self, call: WhistleCall, dept: Post, now: float) -> None:
        """A summoned department puts a person on the call, ahead of its queue: they set out now and
        stay until the joint work is done."""
        w = self.net.whistle
        assert w is not None
        line = self._person(dept)
        server = self._server(dept)
        call.holds.append(Job(dept, line, server, now, line.until, 0.0))
        head = call.reqs[0]
        if self._row:
            det = self.details["whistle"]
            self._row((head.id, now, STARTED, dept.idx, dept.actor, server, head.cat, head.prio, det))
        Call(self.env, w.travel(self._z(head)), (call, dept, server), self._reported)

    def _reported(self, ev: Any) -> None:
        call, dept, server = ev._value
        w = self.net.whistle
        assert w is not None
        now = self.env.now
        met = now - call.at <= w.report_within_h
        head = call.reqs[0]
        self.metrics.summons += head.counted
        self.metrics.summons_met += head.counted and met
        if self._row:
            det = self.details["on time" if met else "late"]
            self._row((head.id, now, REPORTED, dept.idx, dept.actor, server, head.cat, head.prio, det))
        call.reported += 1
        if call.reported == len(call.depts):
            # the joint work: one session per request on the call (the head and each bundled one)
            joint = sum(w.joint(self._z(r)) for r in call.reqs)
            Call(self.env, joint, call, self._whistle_done)

    def _whistle_done(self, ev: Any) -> None:
        call: WhistleCall = ev._value
        w = self.net.whistle
        assert w is not None
        now = self.env.now
        self.open_whistles.discard(call.id)
        solved = call.covers and call.reqs[0].u2 < w.solves
        for r in call.reqs:
            if r.state == CLOSED:
                continue
            if solved:
                r.todo.clear()
                self.metrics.problems_by_whistle += r.counted
                hold = call.holds[0]
                self._close(r, hold.post, WHISTLE_O, hold.post.actor, hold.server, self.details["whistle"])
            else:
                r.study = True
                if self._row:
                    det = self.details["study"]
                    self._row((r.id, now, RETURNED, call.office.idx, call.office.actor, -1, r.cat, r.prio, det))
                self._enter(r, call.office, "the whistle did not solve it: returned for study")
        for hold in call.holds:
            self._end_hold(hold, now)
        for hold in call.holds:
            self._dispatch(hold.post)

    def _end_hold(self, hold: Job, now: float) -> None:
        dept = hold.post
        self.metrics.work(dept.kind, dept.track, -1, hold.started, hold.shift_end, now, now - hold.started, True)
        self._release(dept, hold.line, now)
        dept.free.append(hold.server)

    # --- outcomes, deadlines, patience --------------------------------------------------------------

    def _neighbours(self, req: Request, unit: Post) -> None:
        """Neighbours settle the matter among themselves, with no staff time: they agree on it as soon
        as the group notices the message (the response), and it is fixed ``in_unit_time`` after arrival
        (the resolution), as with the blocked drain in the brief: agreed at once, repaired in half a day."""
        self.where[unit.kind] += 1
        req.post = unit
        req.state = AWAY
        agree = unit.delay[req.prio](self._z(req)) if unit.delay is not None else 0.0
        took = self.net.categories[req.cat].in_unit_time
        fixed = max(agree, took(self._z(req)) if took else 0.0)
        Call(self.env, agree, req, self._neighbours_agree)
        Call(self.env, fixed, req, self._neighbours_done)

    def _neighbours_agree(self, ev: Any) -> None:
        req = ev._value
        if req.state == CLOSED:
            return
        now = self.env.now
        self._respond(req, now)
        if self._row:
            self._row((req.id, now, SETTLED, req.post.idx, NEIGHBOURS, -1, req.cat, req.prio, 0))

    def _neighbours_done(self, ev: Any) -> None:
        req = ev._value
        if req.state == CLOSED:
            return
        self._close(req, req.post, IN_UNIT_O, NEIGHBOURS, -1)

    def _respond(self, req: Request, now: float) -> None:
        if req.responded >= 0:
            return
        req.responded = now
        if self.desk and req.id in self.desk:
            record = self.desk[req.id]
            record.responded = now
            here = req.post is not None and req.post.idx in self.watched
            record.answered_here = here and now <= self.watch_until
        if req.counted:
            m = self.metrics
            t = now - req.arrived
            b = bin_of(t)
            on_time = now <= req.resp_due <= self.end_h
            m.office_response[req.otrack][req.prio].add(t, req.arrived)
            for g in (m.by_priority[req.prio], m.by_category[req.cat], m.by_office[req.otrack][req.prio]):
                h = g.response
                h.counts[b] += 1
                h.n += 1
                h.total += t
                if on_time:
                    g.responded_on_time += 1

    def _close(
        self,
        req: Request,
        post: Post,
        level: int,
        actor: int,
        handler: int,
        det: int = 0,
        at: float | None = None,
        fixed: bool = True,
    ) -> None:
        """Close ``req`` (at ``at``, a person's settle made final later, else now). A request closed
        without its problem fixed (a person settled what they could not) comes back from the resident."""
        now = self.env.now if at is None else at
        req.state = CLOSED
        del self.live[req.id]
        self.where[req.post.kind if req.post is not None else post.kind] -= 1
        m = self.metrics
        m.leave_system(self.env.now, req.arrived)
        if self._row:
            self._row((req.id, now, RESOLVED, post.idx, actor, handler, req.cat, req.prio, det))
        if self.human and req.id in self.tracked and req.id != self.quiet:
            assert self.hooks is not None
            self.hooks.closed(req, post, self.outcome(post, level, fixed))
        if self.desk and req.id in self.desk:
            record = self.desk[req.id]
            record.closed, record.fixed = now, fixed
        patience = self.net.patience
        late = now > req.res_due
        if not fixed:
            Call(self.env, patience.repeat_delay(self._z(req)) if patience is not None else 24.0, req, self._repeat)
        elif late and patience is not None and patience.enabled and req.urep < patience.repeat_after_late:
            Call(self.env, patience.repeat_delay(self._z(req)), req, self._repeat)
        if not req.counted:
            return
        t = now - req.arrived
        b = bin_of(t)
        judged = req.res_due <= self.end_h
        score = self.satisfaction(req, now) if fixed and judged else 0.0
        on_time = fixed and judged and not late
        if fixed:
            m.office_resolution[req.otrack][req.prio].add(t, req.arrived)
        else:
            m.office_resolution[req.otrack][req.prio].leave(req.arrived)
        for g in (m.by_priority[req.prio], m.by_category[req.cat], m.by_office[req.otrack][req.prio]):
            g.resolved += 1
            h = g.resolution
            h.counts[b] += 1
            h.n += 1
            h.total += t
            g.satisfaction += score
            if on_time:
                g.resolved_on_time += 1
        m.settled_at[level].add(t, b)

    def satisfaction(self, req: Request, now: float) -> float:
        """The documented satisfaction model: full score on time, halving per deadline-length late,
        reduced when the response itself was late."""
        on_time, late_response, half_life = self.net.satisfaction
        score = on_time
        if now > req.res_due:
            length = req.res_due - req.arrived
            score *= 0.5 ** ((now - req.res_due) / (half_life * length))
        if req.responded > req.resp_due:
            score *= late_response
        return score

    def _arm(self, req: Request) -> None:
        """Schedule the request's next alarm: its response check, resolution deadline or patience."""
        t = min(req.next_resp, req.res_check, req.patience_at)
        if t < INF:
            Call(self.env, t - self.env.now, req, self._alarm)

    def _alarm(self, ev: Any) -> None:
        req = ev._value
        if req.state == CLOSED or req.state == HELD:
            return
        now = self.env.now
        if now >= req.next_resp:
            self._response_check(req, now)
        if now >= req.res_check:
            req.res_check = INF
            self.metrics.missed_resolution += req.counted
            if self._row:
                d = self.details["resolution"]
                self._row((req.id, now, MISSED, req.post.idx, SYSTEM, -1, req.cat, req.prio, d))
        if now >= req.patience_at:
            req.patience_at = INF
            if self._gives_up(req):
                self._abandon(req, now)
                return
        self._arm(req)

    def _gives_up(self, req: Request) -> bool:
        """Whether a resident whose patience has run out gives up now. With ``patience.while =
        "unresolved"`` they give up on anything not yet fixed; with ``"waiting"`` only on a request
        nobody has answered, and only while it waits in a queue: if someone is handling it, they wait
        for that, and give up if it comes back to a queue still unanswered (``impatient``)."""
        patience = self.net.patience
        assert patience is not None
        if not patience.waiting_only:
            return True
        if req.responded >= 0:
            return False
        if req.state in (NOTICING, WAITING, HUMAN):
            return True
        req.impatient = True
        return False

    def _response_check(self, req: Request, now: float) -> None:
        net = self.net
        if req.responded >= 0:
            req.next_resp = INF
            return
        post = req.post
        assert post is not None
        if not req.missed:
            req.missed = True
            self.metrics.missed_response += req.counted
            if self._row:
                self._row((req.id, now, MISSED, post.idx, SYSTEM, -1, req.cat, req.prio, self.details["response"]))
        below_top = 0 <= post.level < net.escalate_top
        if net.auto_escalate and below_top and req.state in (NOTICING, WAITING, HUMAN):
            if req.state == WAITING:
                post.waiting -= 1
            if req.counted and req.state != HUMAN:
                self._unpicked(req, post)
            req.ver += 1
            req.handoff = None
            self.metrics.auto_escalations += req.counted
            if self._row:
                self._row((req.id, now, ESCALATED, post.idx, SYSTEM, -1, req.cat, req.prio, self.details["auto"]))
            target = post.up[req.prio]
            assert target is not None
            self._enter(req, target, "escalated automatically: no response by its deadline")
            below_top = target.level < net.escalate_top
        req.next_resp = now + net.resp_len[req.prio] if net.auto_escalate and below_top else INF

    def _abandon(self, req: Request, now: float) -> None:
        """The resident gives up and calls the city hotline; some will raise the matter again. Nothing
        more is done on the request here: it leaves every queue, and whoever was handling it stops."""
        post = req.post
        assert post is not None
        if req.state == WAITING:
            post.waiting -= 1
        job = req.job
        if job is not None:
            self._end_job(req, job, now)
        if req.counted and req.state in (NOTICING, WAITING):
            self._unpicked(req, post)
        req.ver += 1
        req.state = CLOSED
        del self.live[req.id]
        self.where[post.kind] -= 1
        m = self.metrics
        m.leave_system(now, req.arrived)
        if self._row:
            self._row((req.id, now, ABANDONED, post.idx, RESIDENT, -1, req.cat, req.prio, 0))
        if self.human and req.id in self.tracked:
            assert self.hooks is not None
            self.hooks.closed(req, post, "abandoned: the resident gave up and called the city hotline")
        if self.desk and req.id in self.desk:
            record = self.desk[req.id]
            record.closed, record.abandoned = now, True
        if req.counted:
            m.by_priority[req.prio].abandoned += 1
            m.by_category[req.cat].abandoned += 1
            m.by_office[req.otrack][req.prio].abandoned += 1
            if req.responded < 0:
                m.office_response[req.otrack][req.prio].leave(req.arrived)
            m.office_resolution[req.otrack][req.prio].leave(req.arrived)
        patience = self.net.patience
        assert patience is not None
        if req.urep < patience.repeat_after_abandon:
            Call(self.env, patience.repeat_delay(self._z(req)), req, self._repeat)
        if job is not None:
            self._dispatch(job.post)

    # --- posts played by a person ---------------------------------------------------------------------

    def on_desk(self, req: Request) -> bool:
        """Is ``req`` for the desk being watched or played (a fixed share of the post's requests)?
        Picked by the request's key, not its id: ids are handed out in the order requests are raised,
        so one repeat request more in one run (a settle that did not fix it) shifts every later id,
        whereas an arrival's key is the same in every run on the same seed and a repeat's comes from
        the request it repeats; so the trainee's run and the engine's yardstick run have the same
        requests at the desk. Scripted incidents are always the desk's: they are written for the
        person at it."""
        if self.desk_share >= 1.0 or req.id in self.injected:
            return True
        # Fibonacci hashing: the key times 2**64 over the golden ratio, modulo 2**64, spreads keys evenly
        return ((req.key * 0x9E3779B97F4A7C15) & _MASK) < self.desk_share * 2.0**64

    def watch(self, posts: Iterable[int], until: float, share: float = 1.0) -> None:
        """Record, from now until ``until``, the requests reaching ``posts`` (on the desk's ``share``)
        and every decision taken on them there, with what became of them (``desk``, ``decisions``).
        Requests already waiting at those posts count as arrived now."""
        self.watched = frozenset(posts)
        self.watch_until = until
        self.desk_share = share
        now = self.env.now
        for idx in sorted(self.watched):
            post = self.net.posts[idx]
            for q in post.q:
                for req, ver in q:
                    if req.ver == ver and req.state == WAITING and self.on_desk(req):
                        self._desk_in(req, now, waiting=True)

    def _desk_in(self, req: Request, now: float, *, waiting: bool) -> None:
        if req.id not in self.desk:
            self.desk[req.id] = DeskRecord(
                req.id, req.cat, req.prio, now, req.resp_due, req.res_due, req.responded >= 0, waiting, key=req.key
            )

    def activate(self, posts: Iterable[int], hooks: Hooks, share: float = 1.0) -> None:
        """From now on a person plays ``posts`` (a share of their requests: their desk): requests reaching
        them, and those waiting there now, go to the person's queue through ``hooks.handover``; the person
        acts through ``act``. The engine tells ``hooks`` what becomes of every request handed over."""
        self.human = frozenset(posts)
        self.hooks = hooks
        self.desk_share = share
        for idx in sorted(self.human):
            post = self.net.posts[idx]
            for req in sorted(self._take(post, self.on_desk), key=lambda r: (r.prio, r.enq, r.id)):
                self._hand_over(req, post, "waiting at the start of the shift")

    def deactivate(self) -> None:
        """The person leaves: settles still in their undo window are made final, and what is left in their
        queue goes back to the post's own in-trays for the staff on duty."""
        for req in list(self.tracked.values()):
            if req.state == HELD:
                self.human_confirm(req)
        left = [r for r in self.tracked.values() if r.state == HUMAN]
        self.human = frozenset()
        self.hooks = None
        self.tracked = {}
        for req in sorted(left, key=lambda r: (r.prio, r.enq, r.id)):
            post = req.post
            assert post is not None
            req.state = WAITING
            req.ver += 1
            post.q[req.prio].append((req, req.ver))
            post.waiting += 1
        for post in {id(r.post): r.post for r in left}.values():
            assert post is not None
            self._dispatch(post)

    def _hand_over(self, req: Request, post: Post, why: str) -> None:
        req.state = HUMAN
        self.tracked[req.id] = req
        assert self.hooks is not None
        self.hooks.handover(req, post, why)

    def assess(self, req: Request, post: Post) -> str:
        """What someone at ``post`` can tell from reading the request: the departments it needs, or the
        lowest level that can settle it."""
        net = self.net
        if req.study:
            return "returned for study: the district studies it and passes it back to its department"
        if req.todo:
            names = " and ".join(net.posts[d].node for d in req.todo)
            level = SETTLE_LEVEL_NAMES[net.categories[req.cat].rule.refer_level]
            return f"needs {names} (departments take it from the {level} up)"
        settle_by = net.categories[req.cat].rule.settle_by
        lowest = next((i for i, p in enumerate(settle_by) if req.u < p), len(settle_by) - 1)
        if post.kind == DEPARTMENT_K:
            return "needs no department"
        if lowest <= post.level:
            return "can be settled here"
        return f"can be settled at the {SETTLE_LEVEL_NAMES[lowest]} level"

    def act(self, action: str, req: Request, target: list[Post] | None = None) -> None:
        """Carry out a person's action on ``req`` (in their queue) now: ``claim``, ``settle``, ``undo``,
        ``confirm`` (a settle made final), ``pass`` (target: a department), ``whistle`` (target: the
        departments), ``escalate`` (target: a post above), ``return`` (target: a post below; from a
        department: back to the office for study). The person's own store records the move, so the
        hooks are not told about this request (except what follows a settle made final)."""
        problem = self.cannot(action, req, target)
        if problem:
            raise ValueError(problem)
        self.quiet = req.id if action != "confirm" else -1
        try:
            if action == "claim":
                self.human_claim(req)
            elif action == "settle":
                self.human_settle(req)
            elif action == "undo":
                self.human_undo(req)
            elif action == "confirm":
                self.human_confirm(req)
            elif action == "pass":
                assert target
                self.human_pass(req, target[0])
            elif action == "whistle":
                assert target
                self.human_whistle(req, target)
            elif action == "escalate":
                assert target
                self.human_escalate(req, target[0])
            elif action == "return":
                self.human_return(req, target[0] if target else None)
        finally:
            self.quiet = -1

    def cannot(self, action: str, req: Request, target: list[Post] | None = None, number: int | None = None) -> str:
        """Why the person cannot do ``action`` on ``req`` now, or ``""``: the action table's rules
        (``sim.policies.actions``) applied to the simulation's view of the request, as the post the person plays
        would take it. ``number`` is the request's number as the person knows it (their store's)."""
        if action == "confirm":
            return "" if req.state == HELD else f"request {req.id} is not awaiting a settle's confirmation"
        return refusal(action, self._case(req, target, req.id if number is None else number))

    def _case(self, req: Request, target: list[Post] | None, number: int) -> Case:
        post = req.post
        played = self.net.posts[min(self.human)] if self.human else post
        mine = req.state in (HUMAN, HELD) and post is not None and post.idx in self.human
        status = "open" if req.state == HUMAN else "closed" if req.state in (HELD, CLOSED) else "away"
        node = post_of(post.node) if post is not None else ""
        return Case(
            number=number,
            status=status,
            at=node,
            at_level=GRAPH_LEVELS[post.graph_level] if post is not None else "",
            account="",
            post=post_of(played.node) if played is not None else node,
            level=GRAPH_LEVELS[played.graph_level] if played is not None else "",
            relation=JURISDICTION if mine or status != "open" else OUTSIDE,
            with_=node,
            outcome="settled, within its undo window" if req.state == HELD else None,
            settled_by="" if req.state == HELD else None,
            targets=tuple(
                Target(
                    post_of(t.node),
                    GRAPH_LEVELS[t.graph_level],
                    above=post is not None and post.kind != DEPARTMENT_K and t.level > post.level,
                    below=t.parent is post,
                )
                for t in target or ()
            ),
            departments=tuple(self.net.departments),
            whistle_in_use=self.net.whistle is not None and self.net.whistle.enabled,
        )

    def human_claim(self, req: Request) -> None:
        """Someone at the desk took the request up: that is its response."""
        now = self.env.now
        post = req.post
        assert post is not None
        self._respond(req, now)
        if self._row:
            self._row((req.id, now, STARTED, post.idx, post.actor, 0, req.cat, req.prio, 0))

    def human_settle(self, req: Request) -> None:
        """Settled at the desk: held for the person's undo window, then made final by ``human_confirm``."""
        now = self.env.now
        req.state = HELD
        self.held[req.id] = now
        self._respond(req, now)

    def human_undo(self, req: Request) -> None:
        req.state = HUMAN
        del self.held[req.id]
        self._arm(req)

    def human_confirm(self, req: Request) -> None:
        """The settle is final: the request closes as of when it was settled. A department settling is
        fixing it (the next department gets it if one is needed); a post settling what it could not
        (it needed a department or a higher level) closes it unfixed, and the resident raises it again."""
        at = self.held.pop(req.id)
        post = req.post
        assert post is not None
        if post.kind == DEPARTMENT_K:
            fixed = post.idx in req.todo and self.net.outcome.solved(req)
        else:
            fixed = self.truth(req, post) == SETTLE and not req.study
        self._decide(req, at, "settle", fixed)
        if self._row:
            self._row((req.id, at, SETTLED, post.idx, post.actor, 0, req.cat, req.prio, 0))
        if post.kind == DEPARTMENT_K and fixed:
            req.todo.remove(post.idx)
            if req.todo:
                req.state = AWAY
                if self._row:
                    det = self.details["next department"]
                    self._row((req.id, at, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det))
                self._enter(req, self.net.posts[req.office], "next department")
                return
            self._close(req, post, DEPARTMENT_O, post.actor, 0, 0, at)
            return
        level = DEPARTMENT_O if post.kind == DEPARTMENT_K else DISTRICT_O if post.kind == DISTRICT_K else post.level + 1
        det = 0 if fixed else self.details["not fixed"]
        self._close(req, post, level, post.actor, 0, det, at, fixed)

    def human_pass(self, req: Request, dept: Post) -> None:
        now = self.env.now
        post = req.post
        assert post is not None
        self._respond(req, now)
        right = dept.idx in req.todo
        self._decide(req, now, "pass", right)
        if post.kind == STREET_K and self._whistle_rule(req, now) and req.todo:
            self._decide(req, now, "whistle-missed", False)
        if right:
            req.todo.remove(dept.idx)
            req.todo.insert(0, dept.idx)
        else:
            self.wrong[req.id] = (dept.idx, post)
        if self._row:
            self._row((req.id, now, PASSED, post.idx, post.actor, 0, req.cat, req.prio, 0))
        self._refer(req, dept)

    def human_whistle(self, req: Request, depts: list[Post]) -> None:
        now = self.env.now
        post = req.post
        assert post is not None
        chosen = [d.idx for d in depts]
        right = bool(req.todo) and set(req.todo) <= set(chosen) and self._whistle_rule(req, now)
        self._decide(req, now, "whistle", right)
        self._whistle(req, post, 0, now, chosen)

    def human_escalate(self, req: Request, target: Post) -> None:
        now = self.env.now
        post = req.post
        assert post is not None
        self._decide(req, now, "escalate", self.truth(req, post) == ESCALATE)
        if target.kind == DISTRICT_K:
            self.metrics.escalations_to_district += req.counted
        if self._row:
            det = self.details["study"] if req.study else 0
            self._row((req.id, now, ESCALATED, post.idx, post.actor, 0, req.cat, req.prio, det))
        req.state = AWAY
        self._enter(req, target)

    def human_return(self, req: Request, target: Post | None) -> None:
        """Send a request down to ``target``; at a department, back to the office as not solvable there."""
        now = self.env.now
        post = req.post
        assert post is not None
        req.state = AWAY
        if post.kind == DEPARTMENT_K:
            self._decide(req, now, "return", post.idx not in req.todo or not self.net.outcome.solved(req))
            if post.idx in req.todo:
                req.study = True
            if self._row:
                det = self.details["study"]
                self._row((req.id, now, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det))
            self._enter(req, self.net.posts[req.office], "returned for study")
            return
        assert target is not None
        self._decide(req, now, "return", not req.todo and self.truth(req, target) == SETTLE)
        if self._row:
            det = self.details["returned down"]
            self._row((req.id, now, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det))
        self._enter(req, target, "returned down")

    def _decide(self, req: Request, at: float, kind: str, right: bool) -> None:
        if req.id in self.desk:
            self.decisions.append(Decision(req.id, at, kind, right, person=True))

    def outcome(self, post: Post, level: int, fixed: bool = True) -> str:
        """How a request closed, in words, for the person's queue."""
        if level == WHISTLE_O:
            return f"resolved on the whistle ({post.node})"
        if level == IN_UNIT_O:
            return "settled among the neighbours"
        if not fixed:
            return f"settled at {post.node}, not fixed"
        return f"resolved by {post.node}" if post.kind == DEPARTMENT_K else f"settled at {post.node}"

    # --- running -----------------------------------------------------------------------------------

    def _sample(self, ev: Any) -> None:
        self.metrics.sample(self.env.now, self.where)
        nxt = self.env.now + (self.sample_h or 1.0)
        if nxt <= self.end_h:
            Call(self.env, nxt - self.env.now, None, self._sample)

    def run(self, progress: Callable[[float], None] | None = None) -> Metrics:
        """Run to the end; ``progress`` is called with the fraction done after each simulated day.

        The cyclic garbage collector is paused while the engine runs: requests and events form no
        reference cycles (reference counting frees them), and a collection pass over hundreds of
        thousands of live objects every few thousand allocations would otherwise cost a third of the
        run time.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._run(progress)
        finally:
            if collecting:
                gc.enable()
        return self.metrics

    def start(self) -> None:
        """Schedule the first block of arrivals, the scripted incidents and the backlog samples; then
        ``advance`` the clock in steps (a live shift), or let ``run`` do both."""
        env = self.env
        Call(env, 0.0, 0, self._block)
        for inject in self.net.injects:
            if inject.at_h < self.end_h:
                Call(env, inject.at_h, inject, self._inject)
        if self.sample_h:
            Call(env, 0.0, None, self._sample)

    @property
    def now(self) -> float:
        return float(self.env.now)

    def advance(self, until: float) -> None:
        """Simulate on to ``until`` hours (at most the end of the run); events at ``until`` itself
        happen on the next step."""
        until = min(until, self.end_h)
        if until > self.env.now:
            self.env.run(until=until)

    def _run(self, progress: Callable[[float], None] | None) -> None:
        env = self.env
        self.start()
        if self.max_arrivals is None:
            day = 0.0
            while day < self.end_h:
                day = min(day + 24.0, self.end_h)
                env.run(until=day)
                if progress:
                    progress(day / self.end_h)
        else:
            env.run()
            self.end_h = self.metrics.end_h
        self._finish()

    def _judge_open(self, end: float) -> None:
        """What the requests still open at the end count for: their waits so far (censored at their age),
        not yet answered or fixed (censored), and, where their resolution deadline has passed, the
        satisfaction they would score if fixed at the end (an upper bound: they can only get later)."""
        m = self.metrics
        late_response = self.net.satisfaction[1]
        for req in self.live.values():
            if not req.counted:
                continue
            post = req.post
            if post is not None and req.state in (NOTICING, WAITING):
                age = end - req.enq
                m.wait[post.kind].still_open(age)
                if post.gtype >= 0:
                    m.grid_wait[post.gtype].still_open(age)
                elif post.kind == STREET_K and post.track >= 0:
                    m.office_wait[post.track][req.prio].still_open(age)
            age = end - req.arrived
            if req.responded < 0:
                m.office_response[req.otrack][req.prio].still_open(age)
            m.office_resolution[req.otrack][req.prio].still_open(age)
            if req.res_due <= end:
                score = self.satisfaction(req, end)
                if req.responded < 0 < end - req.resp_due:
                    score *= late_response
                for g in (m.by_priority[req.prio], m.by_category[req.cat], m.by_office[req.otrack][req.prio]):
                    g.satisfaction += score

    def _finish(self) -> None:
        m = self.metrics
        end = self.end_h
        if self.sample_h and (not m.series_t or m.series_t[-1] < end) and end < INF:
            m.sample(end, self.where)
        if end < INF:
            for wid in self.open_whistles:
                for hold in self.whistles[wid].holds:
                    dept = hold.post
                    m.work(dept.kind, dept.track, -1, hold.started, hold.shift_end, end, end - hold.started, True)
            self._judge_open(end)
        m.end_h = end
        seen: dict[int, float] = {}
        for post in self.net.posts:
            if post.router is not None:
                continue
            key = id(post.cal)
            if key not in seen:
                seen[key] = post.cal.staff_hours(self.warmup_h, end)
            hours = seen[key]
            m.available_kind[post.kind] += hours
            if post.track >= 0:
                m.available_post[post.track] += hours
            if post.gtype >= 0:
                m.available_grid[post.gtype] += hours
        m.grid_mode = "separate" if self.net.grids is not None and self.net.grids.separate else "merged"
