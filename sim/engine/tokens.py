"""What the engine moves and schedules: request tokens, people's jobs, and timed calls.

A request token is the engine's slip of paper for one resident's request: where it is, its deadlines,
and the draws that decide its fate. It is not the operators' record of a request (``RequestRecord`` in
the store), which a person reads and acts on; a post played by a person links the two by id.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL, Timeout

if TYPE_CHECKING:
    from sim.engine.network import Line, Post


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
#: One event log row: request, time, event, post, actor, handler, category, priority, detail.
Row = tuple[int, float, int, int, int, int, int, int, int]


class Call(Timeout):
    """A timeout that calls ``fn(event)`` when it fires: SimPy's Timeout with its callback given up
    front, the engine's one kind of scheduled event. It goes on the environment's queue as
    ``Environment.schedule`` puts it there (time, priority, a running number, the event), without the
    call: the engine schedules several events per request."""

    def __init__(self, env: simpy.Environment, delay: float, value: Any, fn: Callable[[Any], None]) -> None:
        self.env = env
        self.callbacks = [fn]
        self._value = value
        self._delay = delay
        self._ok = True
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))


class RequestToken:
    """One resident's request, as it moves: where it is, its deadlines, and its fate-deciding draws."""

    __slots__ = (
        "arrived",
        "cat",
        "community",
        "counted",
        "handoff",
        "id",
        "impatient",
        "job",
        "key",
        "missed",
        "needed",
        "needs_department",
        "next_resp",
        "office",
        "office_track",
        "origin",
        "patience_at",
        "post",
        "prio",
        "queued_at",
        "repeat_draw",
        "res_check",
        "res_due",
        "resp_due",
        "responded",
        "route_draw",
        "settle_draw",
        "solve_draw",
        "state",
        "study",
        "used",
        "variates",
        "version",
    )
    id: int
    cat: int
    prio: int
    arrived: float
    settle_draw: float
    """Uniform deciding the lowest level that can settle it (triage)."""
    solve_draw: float
    """Uniform deciding whether a department (or the whistle) solves it."""
    repeat_draw: float
    """Uniform deciding whether the resident raises it again after it was abandoned or late."""
    route_draw: float
    """Uniform deciding whether (and to which wrong grid) separate grids misroute it."""
    variates: list[float]
    """Standard normal variates for the times drawn for it; ``used`` of them are used."""
    used: int
    key: int
    """The same request has the same key in every run on the seed (a repeat's comes from its original)."""
    needs_department: bool
    needed: list[int]
    """Departments (post indices) still needed, the one it is passed to first."""
    office: int
    office_track: int
    community: int
    origin: int
    resp_due: float
    res_due: float
    next_resp: float
    res_check: float
    patience_at: float
    counted: bool
    """Arrived after the warm-up: measured."""
    queued_at: float
    state: int
    """A ``State`` value (as a plain int: see ``sim.policies.base``)."""

    def __init__(self) -> None:
        self.post: Post | None = None
        self.job: Job | None = None
        self.impatient = False
        self.version = 0
        """Bumped each time it moves, so a stale in-tray entry or notice is ignored."""
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
