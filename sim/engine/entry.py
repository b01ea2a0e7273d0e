"""How requests come onto the floor: arrivals a block of hours at a time, scripted incidents, and
requests raised again, each becoming a request token with its deadlines and its fate-deciding draws.

Like the reception of a service centre, it hands every new request a number, notes its deadlines, and
passes it to the group it was sent to (or to the neighbours, who settle some among themselves).
"""

from __future__ import annotations

import math
from typing import Any

from sim.activities import ARRIVED, RESIDENT, pack_row
from sim.engine.network import Inject
from sim.engine.tokens import RequestToken, call
from sim.policies.arrivals import JOINT_U, MISROUTE_U, NEED_U, REPEAT_U, SETTLE_U, SOLVE_U, Arrivals, describe


class Entry:
    """Raises the requests of one replication on ``engine``'s floor, from ``arrivals`` (generated or
    replayed), up to ``max_arrivals`` if given. (``engine`` is the core's ``Engine``, typed loosely so
    that this module, below the core, does not import it.)"""

    def __init__(self, engine: Any, arrivals: Arrivals, max_arrivals: int | None) -> None:
        self.engine = engine
        self.arrivals = arrivals
        self.max_arrivals = max_arrivals
        self.next_id = 0
        self.scheduled = 0
        self.prio_of = [c.prio for c in engine.net.categories]
        self.live: dict[int, RequestToken] = {}
        """Every request not yet closed, by id (what is open at the end is judged from it)."""
        self.injected: dict[int, str] = {}
        """The scripted incidents raised so far: their text, by request id."""

    def start(self) -> None:
        """Schedule the first block of arrivals and the scripted incidents."""
        engine = self.engine
        call(engine.env, 0.0, 0, self._block)
        for inject in engine.net.injects:
            if inject.at_h < engine.end_h:
                call(engine.env, inject.at_h, inject, self._inject)

    def _block(self, value: Any) -> None:
        """Schedule the arrivals of the next block of simulated hours."""
        engine = self.engine
        env = engine.env
        first = value
        hours = self.arrivals.block_h
        if self.max_arrivals is None:
            hours = max(1, min(hours, math.ceil(engine.end_h) - first))
        arr = self.arrivals.block(first, hours)
        n = len(arr.times)
        if n:
            if self.max_arrivals is not None:
                arr = arr.head(self.max_arrivals - self.scheduled)
                n = len(arr.times)
            now, arrive = env.now, self._arrive
            for rec in self.arrivals.records(arr):
                call(env, rec[0] - now, rec, arrive)
            self.scheduled += n
        more = self.max_arrivals is None or self.scheduled < self.max_arrivals
        if more and first + hours < engine.end_h:
            call(env, first + hours - env.now, first + hours, self._block)
        engine.flush_log()

    def _arrive(self, value: Any) -> None:
        t, cat, origin, entry, office, community, u, u2, urep, uroute, need, joint, neighbours, zp, zs, key = value
        engine = self.engine
        req = self._new(t, cat, self.prio_of[cat], origin, office, community, need, joint, key)
        req.settle_draw, req.solve_draw, req.repeat_draw, req.route_draw, req.variates = u, u2, urep, uroute, zs
        req.patience_at = engine.patience.deadline(req, zp)
        if engine.row:
            engine.row(pack_row(req.id, t, ARRIVED, origin, RESIDENT, -1, cat, req.prio, 0))
        if self.max_arrivals is not None and self.next_id >= self.max_arrivals:
            engine.stop_at(t)
        engine.arm(req)
        post = engine.posts[entry]
        if neighbours:
            engine.where[post.kind] += 1
            engine.neighbours.settle(req, post)
        else:
            engine.enter(req, post)

    def _new(
        self, t: float, cat: int, prio: int, origin: int, office: int, community: int, need: bool, joint: bool, key: int
    ) -> RequestToken:
        engine = self.engine
        net = engine.net
        req = RequestToken()
        req.id = self.next_id
        self.next_id += 1
        req.key = key
        req.used = 0
        req.cat = cat
        req.prio = prio
        req.arrived = t
        req.needs_department = need
        category = net.categories[cat]
        req.needed = ([category.dept, category.joint] if joint else [category.dept]) if need else []
        req.origin = origin
        req.office = office
        req.office_track = net.posts[office].track
        req.community = community
        req.resp_due = t + net.resp_len[prio]
        req.res_due = t + net.res_len[prio]
        req.next_resp = req.resp_due
        req.res_check = req.res_due
        req.counted = t >= engine.warmup_h
        if req.counted:
            engine.measure.arrived(req)
        engine.metrics.enter_system(t)
        self.live[req.id] = req
        return req

    def raise_request(self, cat: int, prio: int, origin: int, office: int, community: int, key: int) -> RequestToken:
        """A request raised now outside the arrival streams (an inject, a repeat): what describes it is
        drawn from its own stream, keyed ``key``."""
        engine = self.engine
        category = engine.net.categories[cat]
        uni, normals = describe(engine.streams.request(key), 1)
        u = uni[0].tolist()
        need = u[NEED_U] < category.needs
        joint = need and u[JOINT_U] < category.joint_share
        req = self._new(engine.env.now, cat, prio, origin, office, community, need, joint, key)
        req.settle_draw, req.solve_draw, req.repeat_draw = u[SETTLE_U], u[SOLVE_U], u[REPEAT_U]
        req.route_draw = u[MISROUTE_U]
        req.variates = normals[0, 1:].tolist()
        req.patience_at = engine.patience.deadline(req, float(normals[0, 0]))
        return req

    def _inject(self, value: Any) -> None:
        inj: Inject = value
        engine = self.engine
        req = self.raise_request(inj.cat, inj.prio, inj.post, inj.office, inj.community, (1 << 63) | inj.index)
        engine.metrics.injected += 1
        self.injected[req.id] = inj.text
        if engine.log is not None:
            det = engine.detail(f"injected: {inj.text}" if inj.text else "injected")
            engine.record(req.id, req.arrived, ARRIVED, inj.post, RESIDENT, -1, req.cat, req.prio, det)
        engine.arm(req)
        engine.enter(req, engine.posts[inj.post])
