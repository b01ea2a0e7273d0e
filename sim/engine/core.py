"""The request-flow engine: residents' requests moving through the posts of the district, in SimPy.

Think of each post as a desk with an in-tray per priority (special, urgent, ordinary; first come first
served within each) and the people on duty at that desk. A request lands in a group (a stair unit's, or
straight with the grid worker, or on the street's hotline), waits until someone on duty picks it up,
takes their time, and is then settled on the spot, passed to its department with a named handler, or
sent up a level. A department fixes it or sends it back up for study at the district. Deadlines run from
arrival: a request still waiting unanswered at its response deadline is escalated automatically.

Requests are small tokens moved by SimPy timeout callbacks rather than one generator process each: a
simulated year of the whole district moves over a million of them, and the callbacks keep the cost per
request close to that of a bare SimPy queue (see ``benchmarks/bench_engine.py``).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, Timeout

from sim.engine.network import (
    DEPARTMENT_K,
    DISTRICT_K,
    KINDS,
    OUTCOME_LEVELS,
    RESIDENT,
    SYSTEM,
    Network,
    Post,
)
from sim.eventlog import ARRIVED, ESCALATED, MISSED, PASSED, QUEUED, RESOLVED, RETURNED, SETTLED, STARTED, EventLog
from sim.metrics import Metrics, bin_of
from sim.policies import ESCALATE, PASS, SETTLE

NOTICING, WAITING, SERVING, AWAY, CLOSED = range(5)
INF = math.inf


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
        "counted",
        "dept",
        "enq",
        "id",
        "missed",
        "office",
        "post",
        "prio",
        "res_due",
        "resp_due",
        "responded",
        "state",
        "study",
        "u",
        "u2",
        "ver",
    )
    id: int
    cat: int
    prio: int
    arrived: float
    u: float
    u2: float
    dept: bool
    office: int
    resp_due: float
    res_due: float
    counted: bool
    enq: float
    state: int

    def __init__(self) -> None:
        self.post: Post | None = None
        self.ver = 0
        self.responded = -1.0
        self.missed = False
        self.study = False


@dataclass(frozen=True)
class Streams:
    """Independent random streams of one run: arrivals (shared across scenarios for common random
    numbers) and handling times."""

    arrivals: np.random.Generator
    handling: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int | np.random.SeedSequence) -> Streams:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        a, h = ss.spawn(2)
        return cls(np.random.default_rng(a), np.random.default_rng(h))


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
    ) -> None:
        self.net = net
        self.env = simpy.Environment()
        self.rng = streams.arrivals
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
            start_h=warmup_h,
            end_h=end_h,
            sample_h=sample_h or 0.0,
        )
        self.where = [0] * len(KINDS)
        self.next_id = 0
        self.scheduled = 0
        self.cum_weights = np.cumsum(net.weights)
        self.cum_shares = np.cumsum(net.shares / net.shares.sum())
        self.cum_entry = np.cumsum(net.entry_shares, axis=1)
        self.needs = np.array([c.needs for c in net.categories])
        self.prio_of = [c.prio for c in net.categories]
        self.hour_rates = self._hour_rates()
        self.block_h = self._block_hours()
        self.details = {"": 0}
        self._row: Callable[[tuple[int, float, int, int, int, int, int, int, int]], None] | None = (
            log.append if log is not None else None
        )
        if log is not None:
            for text in ("response", "resolution", "auto", "study"):
                self.details[text] = log.detail_code(text)

    # --- arrivals --------------------------------------------------------------------------------

    def _hour_rates(self) -> np.ndarray:
        """Expected requests in each hour of the week (0 = Monday 00:00), before category shares."""
        net = self.net
        week = np.arange(168)
        rates: np.ndarray = net.rate_per_h * net.hour_weights[week % 24] * net.day_weights[week // 24]
        return rates

    def hour_multipliers(self, first: int, hours: int) -> np.ndarray | None:
        """Multipliers of each category's arrival rate in simulated hours ``first`` to
        ``first + hours - 1`` (an array of hours × categories), or None when all are 1."""
        return None

    def _block_hours(self) -> int:
        """Hours generated at a time: about 256 expected arrivals, at most a day, at least an hour."""
        peak = float(self.hour_rates.max())
        return int(min(24, max(1, 256 // peak))) if peak > 0 else 24

    def _block(self, ev: Any) -> None:
        """Generate and schedule the arrivals of the next block of simulated hours: Poisson counts per
        hour and category, uniform times within each hour (exact for a rate that is constant within each
        hour), then the origin, channel and fate-deciding draws of each arrival."""
        env, rng, net = self.env, self.rng, self.net
        first = ev._value
        hours = self.block_h
        if self.max_arrivals is None:
            hours = max(1, min(hours, math.ceil(self.end_h) - first))
        week = (np.arange(first, first + hours) + int(net.offset_h)) % 168
        rates = self.hour_rates[week][:, None] * net.shares[None, :]
        mult = self.hour_multipliers(first, hours)
        if mult is not None:
            rates = rates * mult
        counts = rng.poisson(rates)
        n = int(counts.sum())
        if n:
            hour_of = np.repeat(np.arange(first, first + hours), counts.sum(axis=1))
            cats = np.concatenate([np.repeat(np.arange(counts.shape[1]), row) for row in counts])
            times = hour_of + rng.random(n)
            order = np.argsort(times, kind="stable")
            times, cats = times[order], cats[order]
            if self.max_arrivals is not None:
                keep = self.max_arrivals - self.scheduled
                times, cats = times[:keep], cats[:keep]
                n = len(times)
            origin = np.searchsorted(self.cum_weights, rng.random(n) * self.cum_weights[-1], side="right")
            origin = np.minimum(origin, len(self.cum_weights) - 1)
            channel = np.minimum((rng.random(n)[:, None] >= self.cum_entry[cats]).sum(axis=1), 2)
            entry = net.entry_posts[origin, channel]
            office = net.entry_posts[origin, 2]
            u = rng.random(n)
            u2 = rng.random(n)
            need = rng.random(n) < self.needs[cats]
            now = env.now
            arrive = self._arrive
            for rec in zip(
                times.tolist(),
                cats.tolist(),
                net.origins[origin].tolist(),
                entry.tolist(),
                office.tolist(),
                u.tolist(),
                u2.tolist(),
                need.tolist(),
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
        t, cat, origin, entry, office, u, u2, need = ev._value
        net, m = self.net, self.metrics
        req = Request()
        req.id = self.next_id
        self.next_id += 1
        req.cat = cat
        prio = self.prio_of[cat]
        req.prio = prio
        req.arrived = t
        req.u = u
        req.u2 = u2
        req.dept = need
        req.office = office
        req.resp_due = t + net.resp_len[prio]
        req.res_due = t + net.res_len[prio]
        counted = t >= self.warmup_h
        req.counted = counted
        if counted:
            due_in_run = req.res_due <= self.end_h
            for g in (m.by_priority[prio], m.by_category[cat]):
                g.requests += 1
                if due_in_run:
                    g.due_in_run += 1
        m.enter_system(t)
        if self._row:
            self._row((req.id, t, ARRIVED, origin, RESIDENT, -1, cat, prio, 0))
        if net.resp_len[prio] < INF:
            Call(self.env, net.resp_len[prio], req, self._response_due)
        if self.max_arrivals is not None and self.next_id >= self.max_arrivals:
            m.end_h = t
            self.end_h = t
        self._enter(req, net.posts[entry])

    # --- moving between posts ----------------------------------------------------------------------

    def _enter(self, req: Request, post: Post) -> None:
        """``req`` lands at ``post``: logged as queued, noticed after a volunteer's delay, then waits."""
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
        if post.delay is not None:
            req.state = NOTICING
            Call(self.env, post.delay[req.prio](), (req, req.ver), self._noticed)
        else:
            req.state = WAITING
            post.q[req.prio].append((req, req.ver))
            post.waiting += 1
            self._dispatch(post)

    def _noticed(self, ev: Any) -> None:
        req, ver = ev._value
        if req.ver != ver or req.state != NOTICING:
            return
        post = req.post
        req.state = WAITING
        post.q[req.prio].append((req, ver))
        post.waiting += 1
        self._dispatch(post)

    def _dispatch(self, post: Post) -> None:
        """Start as much waiting work as the people on duty allow; if some must wait for the next
        shift, wake the post when more people come on duty."""
        if not post.waiting:
            return
        now = self.env.now
        if now >= post.cap_until:
            post.cap, post.cap_until = post.cal.at(now)
        while post.waiting and post.busy < post.cap:
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
        if post.waiting and post.cap_until < INF and not (now < post.wake < INF):
            rise = post.cal.next_rise(now)
            if rise < INF:
                post.wake = rise
                Call(self.env, rise - now, post, self._wake)

    def _wake(self, ev: Any) -> None:
        post = ev._value
        post.wake = INF
        self._dispatch(post)

    def _start(self, req: Request, post: Post, now: float) -> None:
        server = post.free.pop() if post.free else post.next_server
        if server == post.next_server:
            post.next_server += 1
        post.busy += 1
        req.state = SERVING
        if req.counted:
            w = now - req.enq
            self.metrics.wait[post.kind].add(w, bin_of(w))
            if w > 0:
                self.metrics.waited[post.kind] += 1
        if self._row:
            self._row((req.id, now, STARTED, post.idx, post.actor, server, req.cat, req.prio, 0))
        took = self.net.categories[req.cat].handling[post.kind]()
        self.metrics.busy(post.kind, post.track, now, now + took)
        Call(self.env, took, (req, post, server), self._done)

    def _done(self, ev: Any) -> None:
        req, post, server = ev._value
        now = self.env.now
        post.busy -= 1
        post.free.append(server)
        if post.kind == DEPARTMENT_K:
            lead = self.net.categories[req.cat].lead
            if lead is None:
                self._department_outcome(req, post)
            else:
                req.state = AWAY
                Call(self.env, lead(), (req, post), self._lead_over)
        else:
            self._triage(req, post, server, now)
        self._dispatch(post)

    def _triage(self, req: Request, post: Post, server: int, now: float) -> None:
        net = self.net
        decision = net.triage.decide(req, post.level)
        if decision == ESCALATE and post.parent is None:
            decision = SETTLE
        if decision == SETTLE:
            self._respond(req, now)
            if self._row:
                self._row((req.id, now, SETTLED, post.idx, post.actor, server, req.cat, req.prio, 0))
            self._close(req, post, post.level if post.kind != DISTRICT_K else 6, post.actor, server)
        elif decision == PASS:
            self._respond(req, now)
            if self._row:
                self._row((req.id, now, PASSED, post.idx, post.actor, server, req.cat, req.prio, 0))
            self._enter(req, net.posts[net.categories[req.cat].dept])
        else:
            parent = post.up[req.prio]
            assert parent is not None
            if parent.kind == DISTRICT_K:
                self.metrics.escalations_to_district += req.counted
            if self._row:
                det = self.details["study"] if req.study else 0
                self._row((req.id, now, ESCALATED, post.idx, post.actor, server, req.cat, req.prio, det))
            self._enter(req, parent)

    def _lead_over(self, ev: Any) -> None:
        req, post = ev._value
        self._department_outcome(req, post)

    def _department_outcome(self, req: Request, post: Post) -> None:
        now = self.env.now
        if self.net.outcome.solved(req):
            self._close(req, post, 5, post.actor, -1)
            return
        req.study = True
        if self._row:
            self._row((req.id, now, RETURNED, post.idx, post.actor, -1, req.cat, req.prio, self.details["study"]))
        self._enter(req, self.net.posts[req.office])

    # --- outcomes and deadlines --------------------------------------------------------------------

    def _respond(self, req: Request, now: float) -> None:
        if req.responded >= 0:
            return
        req.responded = now
        if req.counted:
            m = self.metrics
            t = now - req.arrived
            b = bin_of(t)
            on_time = now <= req.resp_due
            for g in (m.by_priority[req.prio], m.by_category[req.cat]):
                h = g.response
                h.counts[b] += 1
                h.n += 1
                h.total += t
                if on_time:
                    g.responded_on_time += 1

    def _close(self, req: Request, post: Post, level: int, actor: int, handler: int) -> None:
        now = self.env.now
        req.state = CLOSED
        self.where[post.kind] -= 1
        m = self.metrics
        m.leave_system(now, req.arrived)
        if self._row:
            self._row((req.id, now, RESOLVED, post.idx, actor, handler, req.cat, req.prio, 0))
        if not req.counted:
            return
        t = now - req.arrived
        b = bin_of(t)
        on_time = now <= req.res_due
        score = self.satisfaction(req, now)
        counts_on_time = on_time and req.res_due <= self.end_h
        for g in (m.by_priority[req.prio], m.by_category[req.cat]):
            g.resolved += 1
            h = g.resolution
            h.counts[b] += 1
            h.n += 1
            h.total += t
            g.satisfaction += score
            if counts_on_time:
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

    def _response_due(self, ev: Any) -> None:
        req = ev._value
        if req.state == CLOSED:
            return
        env, net = self.env, self.net
        if req.responded >= 0:
            self._arm_resolution(req)
            return
        now = env.now
        post = req.post
        if not req.missed:
            req.missed = True
            self.metrics.missed_response += req.counted
            if self._row:
                self._row((req.id, now, MISSED, post.idx, SYSTEM, -1, req.cat, req.prio, self.details["response"]))
        below_top = 0 <= post.level < net.escalate_top
        if net.auto_escalate and below_top and req.state in (NOTICING, WAITING):
            if req.state == WAITING:
                post.waiting -= 1
            req.ver += 1
            self.metrics.auto_escalations += req.counted
            if self._row:
                self._row((req.id, now, ESCALATED, post.idx, SYSTEM, -1, req.cat, req.prio, self.details["auto"]))
            self._enter(req, post.up[req.prio])
            below_top = req.post.level < net.escalate_top
        if net.auto_escalate and below_top:
            Call(env, net.resp_len[req.prio], req, self._response_due)
        else:
            self._arm_resolution(req)

    def _arm_resolution(self, req: Request) -> None:
        wait = req.res_due - self.env.now
        if 0 < wait < INF:
            Call(self.env, wait, req, self._resolution_due)

    def _resolution_due(self, ev: Any) -> None:
        req = ev._value
        if req.state == CLOSED:
            return
        self.metrics.missed_resolution += req.counted
        if self._row:
            d = self.details["resolution"]
            self._row((req.id, self.env.now, MISSED, req.post.idx, SYSTEM, -1, req.cat, req.prio, d))

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

    def _run(self, progress: Callable[[float], None] | None) -> None:
        env = self.env
        Call(env, 0.0, 0, self._block)
        if self.sample_h:
            Call(env, 0.0, None, self._sample)
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

    def _finish(self) -> None:
        m = self.metrics
        end = self.end_h
        if self.sample_h and (not m.series_t or m.series_t[-1] < end) and end < INF:
            m.sample(end, self.where)
        m.end_h = end
        seen: dict[int, float] = {}
        for post in self.net.posts:
            key = id(post.cal)
            if key not in seen:
                seen[key] = post.cal.staff_hours(self.warmup_h, end)
            hours = seen[key]
            m.available_kind[post.kind] += hours
            if post.track >= 0:
                m.available_post[post.track] += hours
