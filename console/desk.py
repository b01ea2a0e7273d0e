"""A person's seat at a post: the queue store they work on, who they are, and the clock they see.

The Operate and Train screens show the same queue and take the same actions; what differs is behind the
desk. ``Desk`` works a real queue in the store on the wall clock; ``ShiftDesk`` works a training shift,
whose clock is the simulation's and whose actions the simulation carries out. Who sits at the desk is
the account the console runs as (``sim.operations.identity``), with the role and grants the store gives it; which
actions the desk offers on a request is the action table's answer (``sim.policies.actions``), the same the store
gives when the action is taken. Everything that reads or writes blocks on SQLite (and, for a shift, on
the engine), so the screens call it from worker threads; one lock per desk keeps those threads off each
other's connection. What the key hints need (levels of posts, the account's role) is read by those
workers and kept here, so the screen can ask without waiting.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any

from sim.operations.store import STATUSES, Action, RequestRecord, Store
from sim.policies.actions import JURISDICTION, OUTSIDE, SUMMONED, Case, refusal
from sim.structure.ids import in_scope, post_of

#: Hours are counted from here on the screen (any fixed moment would do).
EPOCH = dt.datetime(2000, 1, 1)


def to_hours(moment: str | dt.datetime) -> float:
    when = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (when - EPOCH).total_seconds() / 3600.0


class Desk:
    """A post's queue as one operator works it."""

    def __init__(self, store: Store, post: str, account: str, lock: Any = None) -> None:
        self.store = store
        self.post = post
        self.account = account
        self.lock = lock or threading.RLock()
        self.seen_seq = 0
        self.name = account
        self.role = "operator"
        self.levels: dict[str, str] = {}
        """Levels of the posts seen in the queue (read by workers, for the key hints)."""
        self.judge: Any = None
        self.open()

    def open(self) -> None:
        """Read who the account is here and the desk's own post (a desk is made in a worker: this reads
        the store)."""
        with self.lock:
            op = self.store.operator(self.account)
            self.post_level = self.level_of(self.post)
        if op is not None:
            self.name, self.role = op.name, op.role

    @property
    def whistle_in_use(self) -> bool:
        return True

    def now(self) -> dt.datetime:
        return dt.datetime.now().replace(microsecond=0)

    def queue(self, show_all: bool = False) -> list[RequestRecord]:
        with self.lock:
            if show_all:
                rows = self.store.queue(self.post, statuses=STATUSES, raised=True)
            else:
                rows = self.store.queue(self.post)
            for r in rows:
                self.level_of(r.post)
        return rows

    def history(self, request_id: int) -> list[Action]:
        with self.lock:
            return self.store.history(request_id)

    def get(self, request_id: int) -> RequestRecord | None:
        with self.lock:
            return self.store.get(request_id)

    def changed(self) -> bool:
        """Has anyone (this console or another) logged anything since the last look?"""
        with self.lock:
            last = self.store.last_seq()
        if last != self.seen_seq:
            self.seen_seq = last
            return True
        return False

    def act(
        self, action: str, request_id: int, *, note: str = "", to: str | Sequence[str] | None = None
    ) -> RequestRecord:
        with self.lock:
            request, _ = self.store.act(
                self.account, self.post, action, request_id, note=note, to=to, referee=self._referee()
            )
            return request

    def _referee(self) -> Any:
        """The simulation of a training shift under way in this store, to judge actions on its requests
        (rebuilt once, then kept up to date by the store as it asks)."""
        shift = self.store.current_shift()
        if shift is None:
            self.judge = None
        elif self.judge is None or self.judge.shift.id != shift.id:
            from sim.training.shift import referee

            self.judge = referee(self.store)
        return self.judge

    def case(self, request: RequestRecord, action: str) -> Case:
        """``request`` as the action table sees it from this desk (for the key hints: the note and the
        targets are asked for after the key)."""
        post = self.post
        relation = JURISDICTION if in_scope(post, request.post) else SUMMONED if post in request.summons else OUTSIDE
        at = post_of(request.post)
        return Case(
            number=request.id,
            status=request.status,
            at=at,
            at_level=self.levels.get(at, ""),
            account=self.account,
            post=post,
            level=self.post_level,
            relation=relation,
            role=self.role,
            claimed_by=request.claimed_by,
            with_=request.passed_to or request.post,
            outcome=request.outcome,
            part_by=request.summons.get(post),
            whistle_in_use=self.whistle_in_use,
        )

    def in_jurisdiction(self, request: RequestRecord) -> bool:
        return in_scope(self.post, request.post)

    def why_not_undo(self, request_id: int, age_s: float) -> str:
        """Why this desk may not take back its settle of ``request_id``, made ``age_s`` seconds ago, or
        ``""`` if it may (the action table's words)."""
        case = Case(
            number=request_id,
            status="closed",
            at=self.post,
            at_level=self.post_level,
            account=self.account,
            post=self.post,
            level=self.post_level,
            relation=JURISDICTION,
            settled_by=self.account,
            settled_ago_s=age_s,
        )
        return refusal("undo", case)

    def why_not(self, action: str, request: RequestRecord) -> str:
        """Why the action table does not allow ``action`` on ``request`` from this desk, or ``""``."""
        return refusal(action, self.case(request, action))

    def departments(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(r["id"], r["name_en"]) for r in self.store.departments()]

    def children(self, node: str) -> list[tuple[str, str]]:
        with self.lock:
            return [(r["id"], r["name_en"]) for r in self.store.children(post_of(node))]

    def level_of(self, node: str) -> str:
        base = post_of(node)
        if base not in self.levels:
            with self.lock:
                row = self.store.post(base)
            self.levels[base] = str(row["level"]) if row is not None else ""
        return self.levels[base]

    def escalate_target(self, request: RequestRecord) -> str | None:
        """Where ``escalate`` sends ``request``: the post above the one it is at."""
        with self.lock:
            row = self.store.post(request.post)
        if row is None or row["level"] == "department" or not row["parent"]:
            return None
        return str(row["parent"])

    def moment(self, action: Action) -> str:
        """When ``action`` happened, on this desk's clock (ISO text)."""
        return action.at

    def close(self) -> None:
        with self.lock:
            self.store.close()


class ShiftDesk(Desk):
    """The trainee's seat in a training shift: the simulation's clock, actions it carries out."""

    def __init__(self, live: Any, account: str) -> None:
        self.live = live
        super().__init__(live.store, live.shift.post, account, live.lock)

    @property
    def whistle_in_use(self) -> bool:
        whistle = self.live.engine.net.whistle
        return whistle is not None and bool(whistle.enabled)

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.live.shift.iso(self.live.clock_h))

    def act(
        self, action: str, request_id: int, *, note: str = "", to: str | Sequence[str] | None = None
    ) -> RequestRecord:
        request: RequestRecord = self.live.act(self.account, action, request_id, note=note, to=to)
        return request

    def escalate_target(self, request: RequestRecord) -> str | None:
        """The simulation's escalation path (a priority's path may skip a level)."""
        with self.lock:
            req = self.live.tracked(request) if request.source == self.live.shift.source else None
            if req is not None and req.post is not None:
                up = req.post.up[req.prio]
                return up.node if up is not None else None
        return super().escalate_target(request)

    def moment(self, action: Action) -> str:
        if action.sim_h is None:
            return action.at
        return str(self.live.shift.iso(action.sim_h))

    def close(self) -> None:
        with self.lock:  # never under a worker's feet: closing a connection mid-query crashes SQLite
            self.live.close()
            self.live.store.close()
