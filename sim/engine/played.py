"""The post a person plays: a trainee (or an autopilot) at a desk of the simulated district.

Requests reaching the played posts (the desk's share of them) go to the person's queue instead of the
post's in-trays; the person acts on them through the one action table (``sim.policies.actions``), which
refuses in the same words as it does operators; and the person is told what becomes of every request
they have had. The engine carries the person's actions out as it carries out its own policies' decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sim.activities import ESCALATED, PASSED, RETURNED, SETTLED, STARTED
from sim.engine.network import GRAPH_LEVELS, Post
from sim.engine.tokens import RequestToken
from sim.engine.watch import on_desk
from sim.policies.actions import JURISDICTION, OUTSIDE, Case, Target, refusal
from sim.policies.base import (
    AWAY,
    CLOSED,
    DEPARTMENT_K,
    DEPARTMENT_O,
    DISTRICT_K,
    DISTRICT_O,
    HELD,
    HUMAN,
    IN_UNIT_O,
    STREET_K,
    WHISTLE_O,
)
from sim.policies.triage import ESCALATE, PASS, SETTLE
from sim.scenario.schema import SETTLE_LEVELS as SETTLE_LEVEL_NAMES
from sim.structure.ids import post_of


class Hooks(Protocol):
    """What the engine tells the driver of a post played by a person (``Engine.play``)."""

    def handover(self, req: RequestToken, post: Post, why: str) -> None:
        """``req`` has reached the person's desk at ``post`` (for the first time, or again)."""

    def moved(self, req: RequestToken, post: Post, why: str) -> None:
        """A request the person has had moved on to ``post`` without them (an automatic escalation, a
        department sending it on)."""

    def closed(self, req: RequestToken, post: Post, outcome: str) -> None:
        """A request the person has had was resolved or abandoned."""


def own_action(engine: Any, req: RequestToken, post: Post) -> tuple[str, list[Post]]:
    """What the post's own policy does with ``req`` now, as a person's action with its targets:
    ``settle``; ``pass`` to its department; ``whistle`` (a street or town, when the whistle is called
    for) summoning every department it needs; ``escalate`` to the post above for its priority. At a
    department: ``settle`` what it solves, else ``return`` it for study."""
    posts = engine.net.posts
    if post.kind == DEPARTMENT_K:
        return ("settle", []) if post.idx in req.needed and engine.departments.solved(req) else ("return", [])
    decision = engine.triage.decide(req, post)
    if decision == SETTLE:
        return "settle", []
    if decision == PASS:
        if post.kind == STREET_K and engine.whistle.blows(req, engine.now):
            return "whistle", [posts[d] for d in req.needed]
        return "pass", [posts[req.needed[0]]]
    up = post.up[req.prio]
    assert up is not None
    return "escalate", [up]


def assess(net: Any, req: RequestToken, post: Post) -> str:
    """What someone at ``post`` can tell from reading the request: the departments it needs, or the
    lowest level that can settle it."""
    if req.study:
        return "returned for study: the district studies it and passes it back to its department"
    if req.needed:
        names = " and ".join(net.posts[d].node for d in req.needed)
        level = SETTLE_LEVEL_NAMES[net.categories[req.cat].rule.refer_level]
        return f"needs {names} (departments take it from the {level} up)"
    settle_by = net.categories[req.cat].rule.settle_by
    lowest = next((i for i, p in enumerate(settle_by) if req.settle_draw < p), len(settle_by) - 1)
    if post.kind == DEPARTMENT_K:
        return "needs no department"
    if lowest <= post.level:
        return "can be settled here"
    return f"can be settled at the {SETTLE_LEVEL_NAMES[lowest]} level"


class PlayedPost:
    """From its start a person plays ``posts`` (a ``share`` of their requests: their desk). The engine
    (``engine``, typed loosely to keep this module below the core) carries out what they do."""

    def __init__(self, engine: Any, posts: Iterable[int], hooks: Hooks, share: float = 1.0) -> None:
        self.engine = engine
        self.posts = frozenset(posts)
        self.hooks = hooks
        self.share = share
        self.tracked: dict[int, RequestToken] = {}
        """Every request the person has had, by the engine's id."""
        self.quiet = -1
        """The request the person is acting on now (their own store records the move)."""
        self.held: dict[int, float] = {}
        """Settles within the person's undo window, and when they were made."""
        self._actions: dict[str, Callable[[RequestToken, list[Post] | None], None]] = {
            "claim": lambda r, t: self._claim(r),
            "settle": lambda r, t: self._settle(r),
            "undo": lambda r, t: self._undo(r),
            "confirm": lambda r, t: self.confirm(r),
            "pass": lambda r, t: self._pass(r, _one(t)),
            "whistle": lambda r, t: self._whistle(r, list(t or ())),
            "escalate": lambda r, t: self._escalate(r, _one(t)),
            "return": lambda r, t: self._return(r, t[0] if t else None),
        }

    def start(self) -> None:
        """Requests waiting at the played posts now (the desk's share) go to the person's queue."""
        engine = self.engine
        for idx in sorted(self.posts):
            post = engine.posts[idx]
            taken = engine.take(post, lambda r: on_desk(r, self.share, engine.injected))
            for req in sorted(taken, key=lambda r: (r.prio, r.queued_at, r.id)):
                self.hand_over(req, post, "waiting at the start of the shift")

    # --- what the engine tells the person ---------------------------------------------------------

    def on_desk(self, req: RequestToken, post: Post) -> bool:
        return post.idx in self.posts and on_desk(req, self.share, self.engine.injected)

    def hand_over(self, req: RequestToken, post: Post, why: str) -> None:
        req.state = HUMAN
        self.tracked[req.id] = req
        self.hooks.handover(req, post, why)

    def moved(self, req: RequestToken, post: Post, why: str) -> None:
        if req.id in self.tracked and req.id != self.quiet:
            self.hooks.moved(req, post, why)

    def closed(
        self, req: RequestToken, post: Post, level: int = -1, fixed: bool = True, *, abandoned: bool = False
    ) -> None:
        if req.id in self.tracked and (abandoned or req.id != self.quiet):
            if abandoned:
                outcome = "abandoned: the resident gave up and called the city hotline"
            else:
                outcome = self.outcome(post, level, fixed)
            self.hooks.closed(req, post, outcome)

    # --- what the person does ---------------------------------------------------------------------

    def act(self, action: str, req: RequestToken, target: list[Post] | None = None) -> None:
        """Carry out a person's action on ``req`` (in their queue) now: ``claim``, ``settle``, ``undo``,
        ``confirm`` (a settle made final), ``pass`` (target: a department), ``whistle`` (target: the
        departments), ``escalate`` (target: a post above), ``return`` (target: a post below; from a
        department: back to the office for study). The person's own store records the move, so the
        hooks are not told about this request (except what follows a settle made final)."""
        problem = self.cannot(action, req, target)
        if problem:
            raise ValueError(problem)
        self.quiet = req.id if action != "confirm" else -1
        try:
            self._actions[action](req, target)
        finally:
            self.quiet = -1

    def cannot(
        self, action: str, req: RequestToken, target: list[Post] | None = None, number: int | None = None
    ) -> str:
        """Why the person cannot do ``action`` on ``req`` now, or ``""``: the action table's rules applied
        to the simulation's view of the request, as the post the person plays would take it. ``number``
        is the request's number as the person knows it (their store's)."""
        if action == "confirm":
            return "" if req.state == HELD else f"request {req.id} is not awaiting a settle's confirmation"
        if action not in self._actions:
            return f"no such action: {action}"
        return refusal(action, self._case(req, target, req.id if number is None else number))

    def _case(self, req: RequestToken, target: list[Post] | None, number: int) -> Case:
        post = req.post
        engine = self.engine
        played = engine.net.posts[min(self.posts)] if self.posts else post
        mine = req.state in (HUMAN, HELD) and post is not None and post.idx in self.posts
        status = "open" if req.state == HUMAN else "closed" if req.state in (HELD, CLOSED) else "away"
        node = post_of(post.node) if post is not None else ""
        return Case(
            number=number,
            status=status,
            at=node,
            at_level=GRAPH_LEVELS[post.graph_level] if post is not None else "",
            account="",
            post=post_of(played.node) if played is not None else node,
            level=GRAPH_LEVELS[played.graph_level] if played is not None else "",
            relation=JURISDICTION if mine or status != "open" else OUTSIDE,
            with_=node,
            outcome="settled, within its undo window" if req.state == HELD else None,
            settled_by="" if req.state == HELD else None,
            targets=tuple(
                Target(
                    post_of(t.node),
                    GRAPH_LEVELS[t.graph_level],
                    above=post is not None and post.kind != DEPARTMENT_K and t.level > post.level,
                    below=t.parent is post,
                )
                for t in target or ()
            ),
            departments=tuple(engine.net.departments),
            whistle_in_use=engine.net.whistle is not None and engine.net.whistle.enabled,
        )

    def assess(self, req: RequestToken, post: Post) -> str:
        return assess(self.engine.net, req, post)

    def own_action(self, req: RequestToken, post: Post) -> tuple[str, list[Post]]:
        return own_action(self.engine, req, post)

    @staticmethod
    def outcome(post: Post, level: int, fixed: bool = True) -> str:
        """How a request closed, in words, for the person's queue."""
        if level == WHISTLE_O:
            return f"resolved on the whistle ({post.node})"
        if level == IN_UNIT_O:
            return "settled among the neighbours"
        if not fixed:
            return f"settled at {post.node}, not fixed"
        return f"resolved by {post.node}" if post.kind == DEPARTMENT_K else f"settled at {post.node}"

    def _decide(self, req: RequestToken, at: float, kind: str, right: bool) -> None:
        watch = self.engine.watching
        if watch is not None:
            watch.decided(req, at, kind, right, person=True)

    def _claim(self, req: RequestToken) -> None:
        """Someone at the desk took the request up: that is its response."""
        engine = self.engine
        now = engine.now
        post = req.post
        assert post is not None
        engine.respond(req, now)
        engine.record(req.id, now, STARTED, post.idx, post.actor, 0, req.cat, req.prio, 0)

    def _settle(self, req: RequestToken) -> None:
        """Settled at the desk: held for the person's undo window, then made final by ``confirm``."""
        now = self.engine.now
        req.state = HELD
        self.held[req.id] = now
        self.engine.respond(req, now)

    def _undo(self, req: RequestToken) -> None:
        req.state = HUMAN
        del self.held[req.id]
        self.engine.arm(req)

    def confirm(self, req: RequestToken) -> None:
        """The settle is final: the request closes as of when it was settled. A department settling is
        fixing it (the next department gets it if one is needed); a post settling what it could not
        (it needed a department or a higher level) closes it unfixed, and the resident raises it again."""
        engine = self.engine
        at = self.held.pop(req.id)
        post = req.post
        assert post is not None
        if post.kind == DEPARTMENT_K:
            fixed = post.idx in req.needed and engine.departments.solved(req)
        else:
            fixed = engine.triage.decide(req, post) == SETTLE and not req.study
        self._decide(req, at, "settle", fixed)
        engine.record(req.id, at, SETTLED, post.idx, post.actor, 0, req.cat, req.prio, 0)
        if post.kind == DEPARTMENT_K and fixed:
            req.needed.remove(post.idx)
            if req.needed:
                req.state = AWAY
                det = engine.details["next department"]
                engine.record(req.id, at, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det)
                engine.enter(req, engine.net.posts[req.office], "next department")
                return
            engine.close(req, post, DEPARTMENT_O, post.actor, 0, 0, at)
            return
        level = DEPARTMENT_O if post.kind == DEPARTMENT_K else DISTRICT_O if post.kind == DISTRICT_K else post.level + 1
        det = 0 if fixed else engine.details["not fixed"]
        engine.close(req, post, level, post.actor, 0, det, at, fixed)

    def _pass(self, req: RequestToken, dept: Post) -> None:
        engine = self.engine
        now = engine.now
        post = req.post
        assert post is not None
        engine.respond(req, now)
        right = dept.idx in req.needed
        self._decide(req, now, "pass", right)
        if post.kind == STREET_K and engine.whistle.blows(req, now) and req.needed:
            self._decide(req, now, "whistle-missed", False)
        if right:
            req.needed.remove(dept.idx)
            req.needed.insert(0, dept.idx)
        else:
            engine.departments.misdirect(req, dept, post)
        engine.record(req.id, now, PASSED, post.idx, post.actor, 0, req.cat, req.prio, 0)
        engine.departments.refer(req, dept)

    def _whistle(self, req: RequestToken, depts: list[Post]) -> None:
        engine = self.engine
        now = engine.now
        post = req.post
        assert post is not None
        chosen = [d.idx for d in depts]
        right = bool(req.needed) and set(req.needed) <= set(chosen) and engine.whistle.blows(req, now)
        self._decide(req, now, "whistle", right)
        engine.whistle.call(req, post, 0, now, chosen)

    def _escalate(self, req: RequestToken, target: Post) -> None:
        engine = self.engine
        now = engine.now
        post = req.post
        assert post is not None
        self._decide(req, now, "escalate", engine.triage.decide(req, post) == ESCALATE)
        if target.kind == DISTRICT_K:
            engine.metrics.escalations_to_district += req.counted
        det = engine.details["study"] if req.study else 0
        engine.record(req.id, now, ESCALATED, post.idx, post.actor, 0, req.cat, req.prio, det)
        req.state = AWAY
        engine.enter(req, target)

    def _return(self, req: RequestToken, target: Post | None) -> None:
        """Send a request down to ``target``; at a department, back to the office as not solvable there."""
        engine = self.engine
        now = engine.now
        post = req.post
        assert post is not None
        req.state = AWAY
        if post.kind == DEPARTMENT_K:
            self._decide(req, now, "return", post.idx not in req.needed or not engine.departments.solved(req))
            if post.idx in req.needed:
                req.study = True
            det = engine.details["study"]
            engine.record(req.id, now, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det)
            engine.enter(req, engine.net.posts[req.office], "returned for study")
            return
        assert target is not None
        self._decide(req, now, "return", not req.needed and engine.triage.decide(req, target) == SETTLE)
        det = engine.details["returned down"]
        engine.record(req.id, now, RETURNED, post.idx, post.actor, 0, req.cat, req.prio, det)
        engine.enter(req, target, "returned down")

    def leave(self) -> list[tuple[RequestToken, Post]]:
        """The person leaves: settles still in their undo window are made final; what is left in their
        queue is returned, for the post's own in-trays."""
        for req in list(self.tracked.values()):
            if req.state == HELD:
                self.confirm(req)
        return [(r, r.post) for r in self.tracked.values() if r.state == HUMAN and r.post is not None]


def _one(target: list[Post] | None) -> Post:
    assert target, "this action needs a target"
    return target[0]
