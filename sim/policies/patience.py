"""Patience and repeats: when a resident gives up on a request, and when they raise it again.

A resident whose patience runs out gives up and calls the city hotline (12345); some raise the matter
again later, as do some whose request was fixed late, and everyone whose request was closed without
being fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sim.activities import ARRIVED, RESIDENT
from sim.distributions import Transform
from sim.policies.base import HUMAN, INF, NOTICING, WAITING, Desk, Floor, Token

#: Hours after which a resident raises again a request closed unfixed, when the scenario models no
#: patience.
REPEAT_UNFIXED_H = 24.0


@dataclass(frozen=True)
class PatienceParams:
    """The scenario's patience: how long residents wait, and who comes back."""

    enabled: bool
    waiting_only: bool
    by_priority: tuple[Transform, Transform, Transform]
    repeat_after_abandon: float
    repeat_after_late: float
    repeat_delay: Transform


class Patience(Protocol):
    def deadline(self, req: Token, z: float) -> float:
        """When the resident's patience with ``req`` runs out (``z``: its patience variate)."""

    def gives_up(self, req: Token) -> bool:
        """Whether the resident, whose patience has run out, gives up now."""

    def abandon(self, req: Token, now: float) -> None: ...

    def after_close(self, req: Token, now: float, fixed: bool) -> None:
        """Whether and when the resident raises ``req``, just closed, again."""


class _Repeats:
    """Raising a request again: a new request of the same kind from the same place, keyed by the old."""

    def __init__(self, floor: Floor, params: PatienceParams | None, repeat_key: Any) -> None:
        self.floor = floor
        self.params = params
        self.repeat_key = repeat_key

    def _later(self, req: Token) -> None:
        p = self.params
        floor = self.floor
        floor.call(p.repeat_delay(floor.z(req)) if p is not None else REPEAT_UNFIXED_H, req, self.repeat)

    def repeat(self, value: Any) -> None:
        """A resident whose request was abandoned, handled late or not fixed raises it again."""
        old = value
        floor = self.floor
        req = floor.raise_request(old.cat, old.prio, old.origin, old.office, old.community, self.repeat_key(old.key))
        floor.metrics.repeat_requests += req.counted
        floor.record(req.id, req.arrived, ARRIVED, old.origin, RESIDENT, -1, req.cat, req.prio, floor.details["repeat"])
        floor.arm(req)
        floor.enter(req, floor.posts[old.origin])


class NoPatience(_Repeats):
    """Residents wait as long as it takes; they raise again only what was closed without being fixed."""

    def deadline(self, req: Token, z: float) -> float:
        return INF

    def gives_up(self, req: Token) -> bool:
        return False

    def abandon(self, req: Token, now: float) -> None:
        raise ValueError("nobody gives up in this scenario")

    def after_close(self, req: Token, now: float, fixed: bool) -> None:
        if not fixed:
            self._later(req)


class Impatient(_Repeats):
    """Residents give up after a time drawn per priority. With ``patience.while = "unresolved"`` they give
    up on anything not yet fixed; with ``"waiting"`` only on a request nobody has answered, and only
    while it waits in a queue: if someone is handling it, they wait for that, and give up if it comes
    back to a queue still unanswered (``impatient``)."""

    params: PatienceParams

    def deadline(self, req: Token, z: float) -> float:
        return float(req.arrived + self.params.by_priority[req.prio](z))

    def gives_up(self, req: Token) -> bool:
        if not self.params.waiting_only:
            return True
        if req.responded >= 0:
            return False
        if req.state in (NOTICING, WAITING, HUMAN):
            return True
        req.impatient = True
        return False

    def abandon(self, req: Token, now: float) -> None:
        """The resident gives up and calls the city hotline; some will raise the matter again. Nothing
        more is done on the request here: it leaves every queue, and whoever was handling it stops."""
        floor = self.floor
        post: Desk = req.post
        floor.unqueue(req, post)
        job = req.job
        if job is not None:
            floor.end_job(req, job, now)
        floor.withdraw(req, post, now)
        if req.repeat_draw < self.params.repeat_after_abandon:
            self._later(req)
        if job is not None:
            floor.dispatch(job.post)

    def after_close(self, req: Token, now: float, fixed: bool) -> None:
        if not fixed or (now > req.res_due and req.repeat_draw < self.params.repeat_after_late):
            self._later(req)
