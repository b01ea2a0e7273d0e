"""What the engine moves and schedules: request tokens, people's jobs, and timed calls.

A request token is the engine's slip of paper for one resident's request: where it is, its deadlines,
and the draws that decide its fate. It is not the operators' record of a request (``RequestRecord`` in
the store), which a person reads and acts on; a post played by a person links the two by id.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event

from sim.policies.arrivals import VARIATES

if TYPE_CHECKING:
    from sim.engine.network import Line, Post
    from sim.engine.streams import Streams


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


def call(env: simpy.Environment, delay: float, value: Any, fn: Callable[[Any], None]) -> None:
    """Call ``fn(value)`` ``delay`` hours from now: the engine's one kind of scheduled event. It goes on
    the environment's queue as ``Environment.schedule`` puts an event there (time, priority, a running
    number), so it takes its turn among SimPy's events in the same order, as the pair ``(fn, value)``:
    no event object, the engine schedules several per request. The ``Clock`` carries it out."""
    queue: list[Any] = env._queue  # SimPy's queue, typed for its own events
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), (fn, value)))


class Clock(simpy.Environment):
    """SimPy's environment, carrying out the engine's calls (``call``) itself: each is taken off the
    same queue in the same order (time, priority, insertion) and its function called, without the
    callback list, failure check and method call per event of SimPy's ``step``; anything else on the
    queue (the ``until`` of ``run``, a process) is stepped by SimPy as usual."""

    def step(self) -> None:
        queue: list[Any] = self._queue
        try:
            entry = heappop(queue)
        except IndexError:
            raise EmptySchedule from None
        event = entry[3]
        if event.__class__ is tuple:
            self._now = entry[0]
            event[0](event[1])
        else:
            heappush(queue, entry)  # back in front (it was the earliest): SimPy's own step
            super().step()

    def run(self, until: float | Event | None = None) -> Any:
        """SimPy's ``run`` (to ``until``: a time, or an event's being processed; else until nothing is
        left), with its stepping loop written out."""
        if until is not None:
            if not isinstance(until, Event):
                at = float(until)
                if at <= self._now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self._now)
            elif until.processed:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue: list[Any] = self._queue
        step = super().step
        try:
            while queue:
                entry = heappop(queue)
                event = entry[3]
                if event.__class__ is tuple:
                    self._now = entry[0]
                    event[0](event[1])
                else:
                    heappush(queue, entry)
                    step()
        except StopSimulation as exc:
            return exc.args[0]
        if until is not None:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None

    def pending(self, fn: Callable[[Any], None]) -> list[tuple[float, Any]]:
        """When the calls of ``fn`` still to come are due, and with what value, in no order."""
        queue: list[Any] = self._queue
        return [(t, event[1]) for t, _, _, event in queue if event.__class__ is tuple and event[0] == fn]


class RequestToken:
    """One resident's request, as it moves: where it is, its deadlines, and its fate-deciding draws."""

    __slots__ = (
        "arrived",
        "cat",
        "community",
        "counted",
        "groups",
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
        "office_times",
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
    groups: tuple[Any, ...]
    """A measured request's cohort slices, and its office's response and resolution times (set by the
    KPI observer, ``Measure.arrived``)."""
    office_times: tuple[Any, Any]
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

    def next_variate(self, streams: Streams) -> float:
        """Its next standard normal variate (for the next time drawn for it), more drawn from its own
        stream (``streams.request``, keyed by ``key``) when those drawn at arrival are used up."""
        k = self.used
        self.used = k + 1
        zs = self.variates
        if k < len(zs):
            return zs[k]
        zs.extend(streams.request(self.key, len(zs) // VARIATES).standard_normal(VARIATES).tolist())
        return zs[k]


class Job:
    """One person's work in hand: a request's handling (``took`` hours drawn), or a summoned
    department's hold on a whistle (no ``req``); ``shift_end`` is when the person's shift ends (after it:
    overtime)."""

    __slots__ = ("line", "post", "req", "server", "shift_end", "started", "took")

    def __init__(
        self,
        post: Post,
        line: Line,
        server: int,
        started: float,
        shift_end: float,
        took: float,
        req: RequestToken | None = None,
    ) -> None:
        self.post = post
        self.line = line
        self.server = server
        self.started = started
        self.shift_end = shift_end
        self.took = took
        self.req = req
