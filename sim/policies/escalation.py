"""Deadlines and auto-escalation: what happens to a request nobody has answered by its response deadline.

As on a duty board, the system flags the request as missing its deadline; where the district escalates
automatically, a request still waiting below the top level goes up to the post above, and its clock
starts again there.
"""

from __future__ import annotations

from typing import Any, Protocol

from sim.activities import ESCALATED, MISSED, SYSTEM
from sim.policies.base import CLOSED, HELD, HUMAN, INF, NOTICING, WAITING, Desk, Floor, Token
from sim.policies.patience import Patience


class Escalation(Protocol):
    def check(self, req: Token, post: Desk, now: float) -> None:
        """``req``, at ``post``, has reached its response check at ``now``: decide and act."""


def _missed(floor: Floor, req: Token, post: Desk, now: float) -> None:
    if not req.missed:
        req.missed = True
        floor.metrics.missed_response += req.counted
        floor.record(req.id, now, MISSED, post.idx, SYSTEM, -1, req.cat, req.prio, floor.details["response"])


class EscalateUnanswered:
    """A request unanswered at its deadline and still waiting (not in anyone's hands) goes up a level,
    up to ``top`` (a triage level); its next check is a response deadline later."""

    def __init__(self, floor: Floor, resp_len: tuple[float, float, float], top: int) -> None:
        self.floor = floor
        self.resp_len = resp_len
        self.top = top

    def check(self, req: Token, post: Desk, now: float) -> None:
        if req.responded >= 0:
            req.next_resp = INF
            return
        floor = self.floor
        _missed(floor, req, post, now)
        below_top = 0 <= post.level < self.top
        if below_top and req.state in (NOTICING, WAITING, HUMAN):
            floor.unqueue(req, post)
            req.handoff = None
            floor.metrics.auto_escalations += req.counted
            floor.record(req.id, now, ESCALATED, post.idx, SYSTEM, -1, req.cat, req.prio, floor.details["auto"])
            target = post.up[req.prio]
            assert target is not None
            floor.enter(req, target, "escalated automatically: no response by its deadline")
            below_top = target.level < self.top
        req.next_resp = now + self.resp_len[req.prio] if below_top else INF


class NeverEscalate:
    """A request unanswered at its deadline is flagged as late and stays where it is."""

    def __init__(self, floor: Floor) -> None:
        self.floor = floor

    def check(self, req: Token, post: Desk, now: float) -> None:
        if req.responded < 0:
            _missed(self.floor, req, post, now)
        req.next_resp = INF


class Deadlines:
    """What each request's alarm clock asks when it goes off: its response check (``escalation``
    decides), its resolution deadline (flagged when missed), its resident's patience (``patience``
    decides). The floor sets the alarm (``Floor.arm``) for the first of them."""

    def __init__(self, floor: Floor, escalation: Escalation, patience: Patience) -> None:
        self.floor = floor
        self.escalation = escalation
        self.patience = patience

    def alarm(self, value: Any) -> None:
        """A request's alarm has gone off (``Floor.arm`` set it): decide what each deadline due asks."""
        req = value
        if req.state == CLOSED or req.state == HELD:
            return
        floor = self.floor
        now = floor.now
        if now >= req.next_resp:
            self.escalation.check(req, req.post, now)
        if now >= req.res_check:
            req.res_check = INF
            floor.metrics.missed_resolution += req.counted
            det = floor.details["resolution"]
            floor.record(req.id, now, MISSED, req.post.idx, SYSTEM, -1, req.cat, req.prio, det)
        if now >= req.patience_at:
            req.patience_at = INF
            if self.patience.gives_up(req):
                self.patience.abandon(req, now)
                return
        floor.arm(req)
