"""Watching a desk for scoring: the requests that reach the posts a trainee plays (or whose playing is
the yardstick) and every decision taken on them there, with what became of them.

An observer passed to the engine (``Engine.watch``), as a referee watches one desk on the floor: it does
not change what happens, it writes it down for the after-action report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.engine.streams import _MASK

if TYPE_CHECKING:
    from sim.engine.tokens import RequestToken


@dataclass(slots=True)
class DeskRecord:
    """One request that reached a watched post: what became of it, for scoring."""

    id: int
    cat: int
    prio: int
    at: float
    resp_due: float
    res_due: float
    answered_before: bool
    waiting_at_start: bool = False
    responded: float = -1.0
    answered_here: bool = False
    """Answered at the watched post while it was watched (by the person playing it, or its policy)."""
    closed: float = -1.0
    fixed: bool = False
    abandoned: bool = False
    key: int = 0
    """The request's key (the same request has the same key in every run on the seed: ``on_desk``)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision taken on a request at a watched post, and whether it was the right one: ``settle``,
    ``pass``, ``whistle``, ``escalate``, ``return``, or ``whistle-missed`` (a pass where the whistle
    was called for)."""

    id: int
    at: float
    kind: str
    right: bool
    person: bool = False
    """Taken by the person playing the post (else by the post's own policy)."""


def on_desk(req: RequestToken, share: float, injected: dict[int, str]) -> bool:
    """Is ``req`` on the desk (a fixed ``share`` of the post's requests)? Picked by the request's key,
    not its id: ids are handed out in the order requests are raised, so one repeat request more in one
    run (a settle that did not fix it) shifts every later id, whereas an arrival's key is the same in
    every run on the same seed and a repeat's comes from the request it repeats; so the trainee's run
    and the engine's yardstick run have the same requests at the desk. Scripted incidents are always
    the desk's: they are written for the person at it."""
    if share >= 1.0 or req.id in injected:
        return True
    # Fibonacci hashing: the key times 2**64 over the golden ratio, modulo 2**64, spreads keys evenly
    return ((req.key * 0x9E3779B97F4A7C15) & _MASK) < share * 2.0**64


class DeskWatch:
    """Records, until ``until``, the requests reaching ``posts`` (on the desk's ``share``) and every
    decision taken on them there (``records``, ``decisions``)."""

    def __init__(self, posts: Iterable[int], until: float, share: float = 1.0) -> None:
        self.posts = frozenset(posts)
        self.until = until
        self.share = share
        self.records: dict[int, DeskRecord] = {}
        self.decisions: list[Decision] = []

    def entered(self, req: RequestToken, post: int, now: float, injected: dict[int, str]) -> None:
        """``req`` has entered post ``post`` at ``now``: recorded if it is a watched desk's."""
        if post in self.posts and now < self.until and on_desk(req, self.share, injected):
            self.arrived(req, now, waiting=False)

    def waiting(self, requests: Iterable[RequestToken], now: float, injected: dict[int, str]) -> None:
        """``requests`` were waiting at a watched post when the watch began: they count as arrived now."""
        for req in requests:
            if on_desk(req, self.share, injected):
                self.arrived(req, now, waiting=True)

    def arrived(self, req: RequestToken, now: float, *, waiting: bool) -> None:
        if req.id not in self.records:
            self.records[req.id] = DeskRecord(
                req.id, req.cat, req.prio, now, req.resp_due, req.res_due, req.responded >= 0, waiting, key=req.key
            )

    def responded(self, req: RequestToken, now: float) -> None:
        record = self.records.get(req.id)
        if record is not None:
            record.responded = now
            here = req.post is not None and req.post.idx in self.posts
            record.answered_here = here and now <= self.until

    def closed(self, req: RequestToken, now: float, *, fixed: bool = True, abandoned: bool = False) -> None:
        record = self.records.get(req.id)
        if record is not None:
            record.closed = now
            if abandoned:
                record.abandoned = True
            else:
                record.fixed = fixed

    def decided(self, req: RequestToken, at: float, kind: str, right: bool, *, person: bool = False) -> None:
        if req.id in self.records:
            self.decisions.append(Decision(req.id, at, kind, right, person))
