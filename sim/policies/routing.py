"""Grid routing: where a request sent to a grid lands.

A grid is one comprehensive team (every matter goes to the grid worker) or five departmental ones
(公安, 城管, ...): then a request must find the right one, some land at the wrong one first, and that one
hands it on after a delay, which costs the right grid extra handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sim.activities import HANDED_OFF
from sim.distributions import Transform
from sim.policies.base import AWAY, CLOSED, Desk, Floor, Token


@dataclass(frozen=True)
class GridParams:
    """The scenario's grids: one team or departmental ones, and what a wrong landing costs."""

    separate: bool
    misroute: float
    handoff_delay: Transform
    handoff_handling: Transform


class GridRouting(Protocol):
    def route(self, req: Token, grid: Desk) -> Desk:
        """The post at which ``req``, sent to ``grid``, lands."""

    def hand_off(self, req: Token, post: Desk, server: int) -> None: ...

    def handling(self, z: float) -> float: ...


class OneTeam:
    """Merged grids: the grid is one team, and a request lands where it is sent."""

    def route(self, req: Token, grid: Desk) -> Desk:
        return grid

    def hand_off(self, req: Token, post: Desk, server: int) -> None:
        raise ValueError("a merged grid hands nothing off")

    def handling(self, z: float) -> float:
        raise ValueError("a merged grid hands nothing off")


class DepartmentalGrids:
    """Separate grids: a request goes to the grid of its category's type, or with the misroute chance
    (decided by the request's own uniform) to one of the others, picked uniformly."""

    def __init__(self, floor: Floor, params: GridParams, gtypes: list[int]) -> None:
        self.floor = floor
        self.params = params
        self.gtypes = gtypes
        """The grid type of each category."""

    def route(self, req: Token, grid: Desk) -> Desk:
        router = grid.router
        right = router[self.gtypes[req.cat]]
        misroute = self.params.misroute
        if req.route_draw < misroute:
            # the same uniform, below the misroute chance, picks which wrong grid (uniformly)
            others = [p for p in router if p is not right]
            wrong = others[min(len(others) - 1, int(req.route_draw / misroute * len(others)))]
            req.handoff = right
            self.floor.metrics.misrouted += req.counted
            return wrong
        return right

    def handling(self, z: float) -> float:
        """Handling time at the right grid of a request handed on to it."""
        return float(self.params.handoff_handling(z))

    def hand_off(self, req: Token, post: Desk, server: int) -> None:
        """A departmental grid that got a request meant for another hands it on."""
        floor = self.floor
        target, req.handoff = req.handoff, None
        now = floor.now
        floor.metrics.handoffs += req.counted
        floor.record(
            req.id, now, HANDED_OFF, post.idx, post.actor, server, req.cat, req.prio, floor.details["hand-off"]
        )
        req.state = AWAY
        floor.call(self.params.handoff_delay(floor.z(req)), (req, target), self._arrive)

    def _arrive(self, value: Any) -> None:
        req, post = value
        if req.state != CLOSED:
            self.floor.enter(req, post)
