"""The whistle (吹哨报到): a street that cannot solve a matter alone summons the departments it needs,
who report to the scene within a set time and stay until the joint work is done.

``blows`` decides when the street blows it (a request needing several departments, a special one, or one
overdue at the office); ``Summons`` carries the call out: other requests of the same kind from the same
place go on the same call, each summoned department puts a person on it ahead of its queue, and when
all have reported the joint work runs, one session per request on the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.activities import REPORTED, RETURNED, STARTED, WHISTLED
from sim.distributions import Transform
from sim.policies.base import AWAY, CLOSED, INF, SPECIAL, WHISTLE_O, Desk, Floor, Token


@dataclass(frozen=True)
class WhistleParams:
    """The scenario's whistle: when it is blown, how fast departments report, what the joint work takes."""

    enabled: bool
    multi_department: bool
    special: bool
    overdue_h: float
    report_within_h: float
    travel: Transform
    joint: Transform
    solves: float
    bundle: str


@dataclass
class WhistleCall:
    """One whistle: the requests it covers, the departments summoned, who has reported."""

    id: int
    reqs: list[Any]
    depts: list[int]
    office: Any
    at: float
    reported: int = 0
    holds: list[Any] = field(default_factory=list)
    """The person each summoned department put on the call (their job)."""
    covers: bool = True
    """Whether the departments summoned are all the request needs (a person may summon the wrong ones)."""


class WhistleRule(Protocol):
    def blows(self, req: Token, now: float) -> bool:
        """Whether a street passing ``req`` on blows the whistle instead."""

    def call(self, req: Token, office: Desk, server: int, now: float, depts: list[int] | None = None) -> None: ...

    def start(self, call: WhistleCall, dept: Desk, now: float) -> None: ...

    def finish(self, end: float) -> None: ...


class NoWhistle:
    """No whistle: the street passes every request to its department the ordinary way. Nothing calls or
    starts one: the action table (``sim.policies.actions``) turns a person's whistle down first."""

    def __init__(self) -> None:
        self.calls: list[WhistleCall] = []

    def blows(self, req: Token, now: float) -> bool:
        return False

    def call(self, req: Token, office: Desk, server: int, now: float, depts: list[int] | None = None) -> None:
        raise RuntimeError("NoWhistle.call: no whistle is bound in this scenario")

    def start(self, call: WhistleCall, dept: Desk, now: float) -> None:
        raise RuntimeError("NoWhistle.start: no whistle is bound in this scenario")

    def finish(self, end: float) -> None:
        return None


class Summons:
    """The whistle in use, with its rule and the calls it has started."""

    def __init__(self, floor: Floor, params: WhistleParams) -> None:
        self.floor = floor
        self.w = params
        self.calls: list[WhistleCall] = []
        self.open: set[int] = set()

    def blows(self, req: Token, now: float) -> bool:
        w = self.w
        if req.study:
            return False
        return (
            (w.multi_department and len(req.needed) >= 2)
            or (w.special and req.prio == SPECIAL)
            or now - req.queued_at >= w.overdue_h
        )

    def call(self, req: Token, office: Desk, server: int, now: float, depts: list[int] | None = None) -> None:
        """The street blows the whistle: every department the request needs is summoned at once (or those
        a person chose); other requests of the same kind from the same place waiting at the office go on
        the same call."""
        floor = self.floor
        summoned = list(req.needed) if depts is None else depts
        bundled = self._bundle(req, office, self.w.bundle, summoned)
        call = WhistleCall(len(self.calls), [req, *bundled], summoned, office, now)
        call.covers = bool(req.needed) and set(req.needed) <= set(summoned)
        self.calls.append(call)
        self.open.add(call.id)
        floor.metrics.whistles += req.counted
        names = "+".join(floor.posts[d].node for d in call.depts)
        det = floor.detail(f"whistle #{call.id}: {names}")
        for r in call.reqs:
            floor.respond(r, now)
            r.state = AWAY
            r.patience_at = INF  # departments are on the case: nobody gives up on a whistle
            floor.record(r.id, now, WHISTLED, office.idx, office.actor, server, r.cat, r.prio, det)
        for d in call.depts:
            dept = floor.posts[d]
            dept.summons.append(call)
            floor.dispatch(dept)

    def _bundle(self, req: Token, office: Desk, scope: str, depts: list[int]) -> list[Token]:
        """Requests the summoned departments settle on the same call: at the office, those of the same
        category from the same place; in the departments' own in-trays, any of theirs from there."""
        if scope == "none":
            return []

        def near(other: Token) -> bool:
            return scope == "street" or bool(other.community == req.community)

        floor = self.floor
        now = floor.now
        found: list[Token] = []
        takes: list[tuple[Desk, Callable[[Token], bool]]] = [
            (office, lambda o: o.cat == req.cat and o.needs_department and near(o))
        ]
        for d in depts:
            takes.append((floor.posts[d], lambda o: near(o) and o.office == req.office and not o.study))
        for post, wanted in takes:
            taken = floor.take(post, wanted)
            for other in taken:
                if other.counted:
                    floor.picked(other, post, now)  # the summoned departments pick it up
            found += taken
        return found

    def start(self, call: WhistleCall, dept: Desk, now: float) -> None:
        """A summoned department puts a person on the call, ahead of its queue: they set out now and
        stay until the joint work is done."""
        floor = self.floor
        line = floor.person(dept)
        server = floor.server(dept)
        call.holds.append(floor.hold(dept, line, server, now))
        head = call.reqs[0]
        floor.record(head.id, now, STARTED, dept.idx, dept.actor, server, head.cat, head.prio, floor.details["whistle"])
        floor.call(self.w.travel(floor.z(head)), (call, dept, server), self._reported)

    def _reported(self, value: Any) -> None:
        call, dept, server = value
        floor, w = self.floor, self.w
        now = floor.now
        met = now - call.at <= w.report_within_h
        head = call.reqs[0]
        floor.metrics.summons += head.counted
        floor.metrics.summons_met += head.counted and met
        det = floor.details["on time" if met else "late"]
        floor.record(head.id, now, REPORTED, dept.idx, dept.actor, server, head.cat, head.prio, det)
        call.reported += 1
        if call.reported == len(call.depts):
            # the joint work: one session per request on the call (the head and each bundled one)
            joint = sum(w.joint(floor.z(r)) for r in call.reqs)
            floor.call(joint, call, self._done)

    def _done(self, value: Any) -> None:
        call: WhistleCall = value
        floor = self.floor
        now = floor.now
        self.open.discard(call.id)
        solved = call.covers and call.reqs[0].solve_draw < self.w.solves
        for r in call.reqs:
            if r.state == CLOSED:
                continue
            if solved:
                r.needed.clear()
                floor.metrics.problems_by_whistle += r.counted
                hold = call.holds[0]
                floor.close(r, hold.post, WHISTLE_O, hold.post.actor, hold.server, floor.details["whistle"])
            else:
                r.study = True
                det = floor.details["study"]
                floor.record(r.id, now, RETURNED, call.office.idx, call.office.actor, -1, r.cat, r.prio, det)
                floor.enter(r, call.office, "the whistle did not solve it: returned for study")
        for hold in call.holds:
            floor.end_hold(hold, now)
        for hold in call.holds:
            floor.dispatch(hold.post)

    def finish(self, end: float) -> None:
        """Book the time of the people still on open calls at the end of the run."""
        for wid in self.open:
            for hold in self.calls[wid].holds:
                self.floor.book_hold(hold, end)
