"""Neighbours settling a matter among themselves (邻里自治), with no staff time.

They agree on it as soon as the group notices the message (the response), and it is fixed the
category's in-unit time after arrival (the resolution), as with the blocked drain in the brief: agreed
at once, repaired in half a day. Which requests the neighbours take is decided at arrival (a category's
in-unit share, for messages to the unit's own group).
"""

from __future__ import annotations

from typing import Any, Protocol

from sim.activities import NEIGHBOURS, SETTLED
from sim.distributions import Transform
from sim.policies.base import AWAY, CLOSED, IN_UNIT_O, Desk, Floor, Token


class NeighbourRule(Protocol):
    def settle(self, req: Token, unit: Desk) -> None:
        """The neighbours at ``unit`` take ``req`` on."""


class NoNeighbours:
    """Neighbours settle nothing among themselves (``in_unit.enabled = false``): arrivals never mark a
    request for them."""

    def settle(self, req: Token, unit: Desk) -> None:
        raise ValueError("neighbours settling among themselves is not in use in this scenario")


class Neighbours:
    """Neighbours settle the requests marked for them at arrival (``in_unit.enabled``)."""

    def __init__(self, floor: Floor, in_unit_time: list[Transform | None]) -> None:
        self.floor = floor
        self.in_unit_time = in_unit_time
        """Per category, how long the neighbours take to fix it (None: at once)."""

    def settle(self, req: Token, unit: Desk) -> None:
        """The neighbours at ``unit`` take ``req`` on: when they agree, and when it is fixed."""
        floor = self.floor
        req.post = unit
        req.state = AWAY
        agree = unit.delay[req.prio](floor.z(req)) if unit.delay is not None else 0.0
        took = self.in_unit_time[req.cat]
        fixed = max(agree, took(floor.z(req)) if took else 0.0)
        floor.call(agree, req, self._agree)
        floor.call(fixed, req, self._done)

    def _agree(self, value: Any) -> None:
        req = value
        if req.state == CLOSED:
            return
        floor = self.floor
        now = floor.now
        floor.respond(req, now)
        floor.record(req.id, now, SETTLED, req.post.idx, NEIGHBOURS, -1, req.cat, req.prio, 0)

    def _done(self, value: Any) -> None:
        req = value
        if req.state == CLOSED:
            return
        self.floor.close(req, req.post, IN_UNIT_O, NEIGHBOURS, -1)
