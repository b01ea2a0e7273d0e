"""The request-flow engine: residents' requests moving through the posts of the district, in SimPy.

Think of each post as a desk with an in-tray per priority (special, urgent, ordinary; first come first
served within each) and the people on duty at that desk. A request lands in a group (a stair unit's, or
straight with the grid worker, or on the street's hotline), waits until someone on duty picks it up,
takes their time, and is then settled on the spot, passed to its department with a named handler, or
sent up a level. A department fixes it or sends it back up for study at the district.

This module is the floor: the event loop, the in-trays, the rota and dispatch. Every rule that decides
something (triage, department outcome, auto-escalation, the whistle, grid routing, the neighbours,
patience and repeats, arrivals) is a small object of ``sim.policies``, chosen by the scenario and bound
here once, when a replication is built; what is measured is told to observers passed in (the KPIs, the
event log, a desk watched for scoring); a post a person plays is a ``PlayedPost``.

Requests are small tokens moved by timed calls on SimPy's queue (``tokens.call``, carried out by the
``Clock``) rather than one generator process each: a simulated year of the whole district moves over a
million of them (see ``benchmarks/bench_engine.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from sim.activities import ABANDONED, QUEUED, RESIDENT, RESOLVED, STARTED, pack_row
from sim.engine.entry import Entry
from sim.engine.measure import Measure, metrics_for
from sim.engine.network import KINDS, Line, Network, Post
from sim.engine.played import Hooks, PlayedPost, own_action
from sim.engine.streams import Streams, repeat_key
from sim.engine.tokens import DETAILS, Clock, Job, RequestToken, call
from sim.engine.watch import DeskWatch
from sim.eventlog import EventLog
from sim.metrics import Metrics
from sim.policies.base import CLOSED, DEPARTMENT_K, GRID_K, INF, NOTICING, SERVING, WAITING
from sim.policies.rules import bind


class Engine:
    """Runs one replication of a network from time 0 to ``end_h`` hours (or until ``max_arrivals``
    requests have arrived and been served). ``metrics`` and ``log`` observe it."""

    def __init__(
        self,
        net: Network,
        streams: Streams,
        *,
        end_h: float,
        warmup_h: float = 0.0,
        sample_h: float | None = 1.0,
        log: EventLog | None = None,
        metrics: Metrics | None = None,
        max_arrivals: int | None = None,
        trace: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.net = net
        self.posts = net.posts
        self.env = Clock(0.0)
        self.streams = streams
        self.end_h = end_h
        self.warmup_h = warmup_h
        self.sample_h = sample_h
        self.log = log
        self.max_arrivals = max_arrivals
        self.metrics = metrics or metrics_for(net, warmup_h=warmup_h, end_h=end_h, sample_h=sample_h)
        self.measure = Measure(self.metrics, net.satisfaction, net.posts)
        self.where = [0] * len(KINDS)
        self.handling = [c.handling for c in net.categories]
        """Per category and post kind, the handling time from a standard normal variate."""
        self.row: Callable[[bytes], None] | None = log.append if log is not None else None
        """Appends a row (``pack_row``) to the event log, the same method all run; None without a log."""
        self.details = {"": 0, **{text: self.detail(text) for text in DETAILS}}
        self.played: PlayedPost | None = None
        self.watching: DeskWatch | None = None
        rules = bind(self, net, streams.hour, repeat_key=repeat_key, trace=trace, end_h=end_h)
        self.triage, self.departments, self.deadlines = rules.triage, rules.departments, rules.deadlines
        self.escalation, self.whistle, self.routing = rules.escalation, rules.whistle, rules.routing
        self.neighbours, self.patience = rules.neighbours, rules.patience
        self.entry = Entry(self, rules.arrivals, max_arrivals)
        self.live, self.injected = self.entry.live, self.entry.injected

    # --- what rules may ask of the floor (``sim.policies.base.Floor``) -----------------------------

    @property
    def now(self) -> float:
        return self.env._now

    def call(self, delay: float, value: Any, fn: Callable[[Any], None]) -> None:
        call(self.env, delay, value, fn)

    def record(
        self, rid: int, t: float, act: int, post: int, actor: int, handler: int, cat: int, prio: int, det: int
    ) -> None:
        if self.row:
            self.row(pack_row(rid, t, act, post, actor, handler, cat, prio, det))

    def detail(self, text: str) -> int:
        return self.log.detail_code(text) if self.log is not None else 0

    def z(self, req: RequestToken) -> float:
        return req.next_variate(self.streams)

    def raise_request(self, cat: int, prio: int, origin: int, office: int, community: int, key: int) -> RequestToken:
        return self.entry.raise_request(cat, prio, origin, office, community, key)

    def flush_log(self) -> None:
        """Let the event log write what it holds (between blocks of arrivals)."""
        if self.log is not None:
            self.log.maybe_flush()

    def stop_at(self, t: float) -> None:
        """The last arrival of a run of ``max_arrivals`` requests came at ``t``: the run's end."""
        self.metrics.end_h = t
        self.end_h = t

    # --- in-trays and dispatch --------------------------------------------------------------------

    def enter(self, req: RequestToken, post: Post, why: str = "") -> None:
        """``req`` lands at ``post``: logged as queued, noticed after a volunteer's delay, then waits.
        At a grid in separate mode it is routed to a departmental grid first (sometimes the wrong one).
        At a post a person plays, it goes to their queue instead (``why`` tells them how it came)."""
        if req.impatient and req.responded < 0:
            self.patience.abandon(req, self.env.now)  # the resident gave up while someone had it in hand
            return
        if post.router is not None:
            post = self.routing.route(req, post)
        old = req.post
        if old is not None:
            self.where[old.kind] -= 1
        self.where[post.kind] += 1
        req.post = post
        req.version += 1
        now = self.env._now
        req.queued_at = now
        if self.row:
            self.row(pack_row(req.id, now, QUEUED, post.idx, post.actor, -1, req.cat, req.prio, 0))
        if self.watching is not None:
            self.watching.entered(req, post.idx, now, self.injected)
        played = self.played
        if played is not None:
            if played.on_desk(req, post):
                played.hand_over(req, post, why)
                return
            played.moved(req, post, why)
        if post.delay is not None:
            req.state = NOTICING
            call(self.env, post.delay[req.prio](self.z(req)), (req, req.version), self._noticed)
        else:
            req.state = WAITING
            post.q[req.prio].append((req, req.version))
            post.waiting += 1
            self.dispatch(post)

    def _noticed(self, value: Any) -> None:
        req, version = value
        if req.version != version or req.state != NOTICING:
            return
        post = req.post
        if self.played is not None and self.played.on_desk(req, post):
            self.played.hand_over(req, post, "")
            return
        req.state = WAITING
        post.q[req.prio].append((req, version))
        post.waiting += 1
        self.dispatch(post)

    def dispatch(self, post: Post) -> None:
        """Start as much waiting work as the people on duty allow (whistle summons first); if some must
        wait for the next shift, wake the post when the next shift starts."""
        if not post.waiting and not post.summons:
            return
        now = self.env._now
        if now >= post.cap_until:
            self._roster(post, now)
        while post.summons and post.avail > 0:
            self.whistle.start(post.summons.popleft(), post, now)
        while post.waiting and post.avail > 0:
            for q in post.q:
                while q:
                    req, version = q.popleft()
                    if req.version == version and req.state == WAITING:
                        break
                else:
                    continue
                break
            post.waiting -= 1
            self._start(req, post, now)
        if (post.waiting or post.summons) and post.cap_until < INF and not (now < post.wake < INF):
            rise = min(
                (ln.duty.next_rise(ln.until if ln.on else now) for ln in post.lines if ln.until != INF), default=INF
            )
            if rise < INF:
                post.wake = rise
                call(self.env, rise - now, post, self._wake)

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

    def _wake(self, value: Any) -> None:
        post = value
        post.wake = INF
        self.dispatch(post)

    def person(self, post: Post) -> Line:
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

    def release(self, post: Post, line: Line, now: float) -> None:
        """A person has finished: free for more work if their shift is on, else they go home."""
        if now >= post.cap_until:
            self._roster(post, now)
        line.busy -= 1
        if line.on:
            post.avail += 1

    def server(self, post: Post) -> int:
        """A handler number at the post for the event log (the lowest free one)."""
        server = post.free.pop() if post.free else post.next_server
        if server == post.next_server:
            post.next_server += 1
        return server

    def _start(self, req: RequestToken, post: Post, now: float) -> None:
        line = self.person(post)
        server = self.server(post)
        req.state = SERVING
        if req.counted:
            self.measure.picked(req, post, now)
        if self.row:
            self.row(pack_row(req.id, now, STARTED, post.idx, post.actor, server, req.cat, req.prio, 0))
        if req.handoff is not None and post.kind == GRID_K:
            took = self.routing.handling(self.z(req))
        else:
            zs, k = req.variates, req.used  # the request's next variate (``z``, inlined on the hottest path)
            if k < len(zs):
                req.used = k + 1
                z = zs[k]
            else:
                z = self.z(req)
            took = self.handling[req.cat][post.kind](z)
        job = Job(post, line, server, now, line.until, took, req)
        req.job = job
        # booked now, its length known: on duty until the person's shift ends, overtime after it
        self.metrics.work(post.kind, post.track, post.gtype, now, line.until, now + took, took)
        call(self.env, took, job, self._done)

    def picked(self, req: RequestToken, post: Post, now: float) -> None:
        self.measure.picked(req, post, now)

    def take(self, post: Post, wanted: Callable[[RequestToken], bool]) -> list[RequestToken]:
        """Remove the waiting requests ``wanted`` picks from ``post``'s in-trays."""
        found = []
        for q in post.q:
            keep = []
            for entry in q:
                other, version = entry
                if other.version == version and other.state == WAITING and wanted(other):
                    other.version += 1
                    post.waiting -= 1
                    found.append(other)
                else:
                    keep.append(entry)
            q.clear()
            q.extend(keep)
        return found

    def unqueue(self, req: RequestToken, post: Post) -> None:
        if req.state == WAITING:
            post.waiting -= 1
        if req.counted and req.state in (NOTICING, WAITING):
            self.measure.unpicked(req, post)
        req.version += 1

    def end_job(self, req: RequestToken, job: Job, now: float) -> None:
        """The person working on ``req`` stops (done, or the resident gave up: then the rest of the time
        booked for it is taken back): free them, and hand the post's waiting work out again."""
        req.job = None
        post = job.post
        if now < job.started + job.took:
            self.metrics.unbook(post.kind, post.track, post.gtype, job.shift_end, now, job.started + job.took)
        self.release(post, job.line, now)
        post.free.append(job.server)

    def hold(self, dept: Post, line: Line, server: int, now: float) -> Job:
        return Job(dept, line, server, now, line.until, 0.0)

    def book_hold(self, hold: Job, end: float) -> None:
        dept = hold.post
        self.metrics.work(dept.kind, dept.track, -1, hold.started, hold.shift_end, end, end - hold.started, True)

    def end_hold(self, hold: Job, now: float) -> None:
        self.book_hold(hold, now)
        self.release(hold.post, hold.line, now)
        hold.post.free.append(hold.server)

    # --- what is done with a request in hand ----------------------------------------------------

    def _done(self, job: Job) -> None:
        req: RequestToken = job.req  # type: ignore[assignment]  # a request's handling, not a hold
        if req.job is not job:
            return  # stopped earlier: the resident gave up
        post = job.post
        now = self.env._now
        self.end_job(req, job, now)
        server = job.server
        if req.state != CLOSED:
            if post.kind == DEPARTMENT_K:
                self.departments.worked(req, post, server)
            elif req.handoff is not None and post.kind == GRID_K:
                self.routing.hand_off(req, post, server)
            else:
                watch = self.watching
                if watch is not None and req.id in watch.records and post.idx in watch.posts:
                    watch.decided(req, now, own_action(self, req, post)[0], True)
                self.triage.handle(req, post, server, now)
        self.dispatch(post)

    # --- answers, closing, deadlines ---------------------------------------------------------------

    def respond(self, req: RequestToken, now: float) -> None:
        if req.responded >= 0:
            return
        req.responded = now
        if self.watching is not None:
            self.watching.responded(req, now)
        if req.counted:
            self.measure.responded(req, now)

    def close(
        self,
        req: RequestToken,
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
        clock = self.env._now
        now = clock if at is None else at
        req.state = CLOSED
        del self.live[req.id]
        self.where[req.post.kind if req.post is not None else post.kind] -= 1
        self.metrics.leave_system(clock, req.arrived)
        if self.row:
            self.row(pack_row(req.id, now, RESOLVED, post.idx, actor, handler, req.cat, req.prio, det))
        if self.played is not None:
            self.played.closed(req, post, level, fixed)
        if self.watching is not None:
            self.watching.closed(req, now, fixed=fixed)
        self.patience.after_close(req, now, fixed)
        if req.counted:
            self.measure.closed(req, now, level, fixed)

    def withdraw(self, req: RequestToken, post: Post, now: float) -> None:
        """``req`` is abandoned: off the floor, logged, told to the observers."""
        req.state = CLOSED
        del self.live[req.id]
        self.where[post.kind] -= 1
        self.metrics.leave_system(now, req.arrived)
        if self.row:
            self.row(pack_row(req.id, now, ABANDONED, post.idx, RESIDENT, -1, req.cat, req.prio, 0))
        if self.played is not None:
            self.played.closed(req, post, abandoned=True)
        if self.watching is not None:
            self.watching.closed(req, now, abandoned=True)
        if req.counted:
            self.measure.abandoned(req)

    def arm(self, req: RequestToken) -> None:
        """Schedule the request's next alarm (``Deadlines.alarm``): response check, resolution deadline
        or patience, whichever comes first."""
        t = min(req.next_resp, req.res_check, req.patience_at)
        if t < INF:
            call(self.env, t - self.env._now, req, self.deadlines.alarm)

    # --- a desk watched or played ------------------------------------------------------------------

    def watch(self, watch: DeskWatch) -> DeskWatch:
        """Record what ``watch`` asks for from now on; requests already waiting at its posts count as
        arrived now."""
        self.watching = watch
        for idx in sorted(watch.posts):
            watch.waiting(self.waiting(self.posts[idx]), self.env.now, self.injected)
        return watch

    def play(self, posts: Iterable[int], hooks: Hooks, share: float = 1.0) -> PlayedPost:
        """From now on a person plays ``posts`` (a share of their requests: their desk): requests reaching
        them, and those waiting there now, go to the person's queue through ``hooks.handover``; the person
        acts through the returned ``PlayedPost``, which tells ``hooks`` what becomes of them."""
        self.played = PlayedPost(self, posts, hooks, share)
        self.played.start()
        return self.played

    def leave(self) -> None:
        """The person leaves: settles still in their undo window are made final, and what is left in their
        queue goes back to the post's own in-trays (oldest first) for the staff on duty."""
        left = self.played.leave() if self.played is not None else []
        self.played = None
        for req, post in sorted(left, key=lambda rp: (rp[0].prio, rp[0].queued_at, rp[0].id)):
            req.state = WAITING
            req.version += 1
            post.q[req.prio].append((req, req.version))
            post.waiting += 1
        for post in {id(p): p for _, p in left}.values():
            self.dispatch(post)

    def waiting(self, post: Post) -> list[RequestToken]:
        """The requests waiting in ``post``'s in-trays, in the order they will be picked up."""
        return [req for q in post.q for req, version in q if req.version == version and req.state == WAITING]

    # --- running -----------------------------------------------------------------------------------

    def _sample(self, value: Any) -> None:
        self.metrics.sample(self.env.now, self.where)
        nxt = self.env.now + (self.sample_h or 1.0)
        if nxt <= self.end_h:
            call(self.env, nxt - self.env.now, None, self._sample)

    def run(self, progress: Callable[[float], None] | None = None) -> Metrics:
        """Run to the end; ``progress`` is called with the fraction done after each simulated day. The
        cyclic garbage collector is paused meanwhile: requests and events form no reference cycles, and
        passes over hundreds of thousands of live objects would otherwise cost a third of the run time."""
        collecting = gc.isenabled()
        gc.disable()
        try:
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
        finally:
            if collecting:
                gc.enable()
        return self.metrics

    def start(self) -> None:
        """Schedule the first block of arrivals, the scripted incidents and the backlog samples; then
        ``advance`` the clock in steps (a live shift), or let ``run`` do both."""
        self.entry.start()
        if self.sample_h:
            call(self.env, 0.0, None, self._sample)

    def advance(self, until: float) -> None:
        """Simulate on to ``until`` hours (at most the end of the run); events at ``until`` itself
        happen on the next step."""
        until = min(until, self.end_h)
        if until > self.env.now:
            self.env.run(until=until)

    def _finish(self) -> None:
        m = self.metrics
        end = self.end_h
        if self.sample_h and (not m.series_t or m.series_t[-1] < end) and end < INF:
            m.sample(end, self.where)
        if end < INF:
            self.whistle.finish(end)
            self.measure.still_open(self.live.values(), end)
        m.end_h = end
        self.measure.staff_hours(self.posts, self.warmup_h, end)
        m.grid_mode = "separate" if self.net.grids is not None and self.net.grids.separate else "merged"
