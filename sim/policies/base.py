"""What a rule may see and do: the request's states, and the engine's floor a rule acts on.

A rule is like a standing instruction pinned at a desk: it reads the request in hand and tells the floor
what to do with it (enter it at a post, answer it, close it, start a timer), never reaching into how the
floor keeps its in-trays. The engine implements ``Floor``; rules are bound to it once, at build time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import IntEnum
from typing import Any, Protocol

INF = math.inf


class State(IntEnum):
    """Where a request is: noticed by nobody yet, waiting in an in-tray, in someone's hands, away (with a
    department, on its way, with the neighbours), closed; or, at a post a person plays (a trainee in the
    console), in that person's queue (``HUMAN``) or settled by them and still within their undo window
    (``HELD``)."""

    NOTICING = 0
    WAITING = 1
    SERVING = 2
    AWAY = 3
    CLOSED = 4
    HUMAN = 5
    HELD = 6


#: The states' values as plain ints, for the hot path (comparing two IntEnum members costs about twice
#: as much as comparing two ints); ``State(req.state)`` names one.
NOTICING, WAITING, SERVING, AWAY, CLOSED, HUMAN, HELD = (int(s) for s in State)


class Kind(IntEnum):
    """The kinds of post, lowest first; a department stands beside the chain, the district at its top."""

    UNIT = 0
    BUILDING = 1
    GRID = 2
    COMMUNITY = 3
    STREET = 4
    DEPARTMENT = 5
    DISTRICT = 6


UNIT_K, BUILDING_K, GRID_K, COMMUNITY_K, STREET_K, DEPARTMENT_K, DISTRICT_K = (int(k) for k in Kind)


class Outcome(IntEnum):
    """Where a request was closed, as reported in ``by_level``: among the neighbours, at a level of the
    chain (unit to street: 1 to 5), by a department, at the district, or on a whistle."""

    IN_UNIT = 0
    UNIT = 1
    BUILDING = 2
    GRID = 3
    COMMUNITY = 4
    STREET = 5
    DEPARTMENT = 6
    DISTRICT = 7
    WHISTLE = 8


IN_UNIT_O, DEPARTMENT_O, DISTRICT_O, WHISTLE_O = (
    int(Outcome.IN_UNIT),
    int(Outcome.DEPARTMENT),
    int(Outcome.DISTRICT),
    int(Outcome.WHISTLE),
)

SPECIAL, URGENT, ORDINARY = range(3)

#: A request token and a post as rules see them (``sim.engine.tokens.RequestToken``,
#: ``sim.engine.network.Post``): duck-typed, as the engine's hot path keeps them plain slotted objects.
Token = Any
Desk = Any


class Floor(Protocol):
    """What a rule may ask of the engine it is bound to."""

    details: dict[str, int]
    """Event log detail codes of the fixed texts."""
    metrics: Any
    """The KPI observer's counters (``sim.metrics.Metrics``)."""
    posts: list[Any]
    row: Callable[[bytes], None] | None
    """Appends a row packed by ``sim.activities.pack_row`` to the event log (the same for the whole
    run), or None: for rules on the hot path; others call ``record``."""

    @property
    def now(self) -> float: ...

    def call(self, delay: float, value: Any, fn: Callable[[Any], None]) -> None:
        """Call ``fn(value)`` ``delay`` hours from now."""

    def z(self, req: Token) -> float:
        """The request's next standard normal variate."""

    def record(
        self, rid: int, t: float, act: int, post: int, actor: int, handler: int, cat: int, prio: int, det: int
    ) -> None:
        """Write a row to the event log, if there is one: request, time (hours), activity, post, actor,
        handler, category, priority, detail."""

    def detail(self, text: str) -> int:
        """The event log's code for a free detail text."""

    def enter(self, req: Token, post: Desk, why: str = "") -> None: ...

    def respond(self, req: Token, now: float) -> None: ...

    def close(
        self,
        req: Token,
        post: Desk,
        level: int,
        actor: int,
        handler: int,
        det: int = 0,
        at: float | None = None,
        fixed: bool = True,
    ) -> None: ...

    def withdraw(self, req: Token, post: Desk, now: float) -> None:
        """Take ``req`` off the floor as abandoned (closed, logged, told to the observers)."""

    def dispatch(self, post: Desk) -> None: ...

    def person(self, post: Desk) -> Any: ...

    def server(self, post: Desk) -> int: ...

    def release(self, post: Desk, line: Any, now: float) -> None: ...

    def take(self, post: Desk, wanted: Callable[[Token], bool]) -> list[Token]: ...

    def unqueue(self, req: Token, post: Desk) -> None:
        """``req`` leaves ``post``'s in-tray (or its noticing) without being picked up."""

    def end_job(self, req: Token, job: Any, now: float) -> None: ...

    def hold(self, dept: Desk, line: Any, server: int, now: float) -> Any:
        """A person of ``dept`` held on a whistle from ``now`` (their job)."""

    def end_hold(self, hold: Any, now: float) -> None:
        """The person held on a whistle is free again; their time is booked."""

    def book_hold(self, hold: Any, end: float) -> None:
        """Book the time so far of a person still held on a whistle at the end of the run."""

    def picked(self, req: Token, post: Desk, now: float) -> None: ...

    def arm(self, req: Token) -> None: ...

    def raise_request(self, cat: int, prio: int, origin: int, office: int, community: int, key: int) -> Token: ...
