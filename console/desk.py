"""A person's seat at a post: the queue store they work on, who they are, and the clock they see.

The Operate and Train screens show the same queue and take the same actions; what differs is behind the
desk. ``StoreDesk`` works a real queue in the store on the wall clock; ``ShiftDesk`` works a training
shift, whose clock is the simulation's and whose actions the simulation carries out. Everything here
blocks on SQLite (and, for a shift, on the engine), so the screens call it from worker threads; one lock
per desk keeps those threads off each other's connection.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any

from sim.store import STATUSES, Action, Request, Store

#: Hours are counted from here on the screen (any fixed moment would do).
EPOCH = dt.datetime(2000, 1, 1)


def login_name() -> str:
    """Who is at the keyboard, as the system knows them (the default operator or trainee name)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def to_hours(moment: str | dt.datetime) -> float:
    when = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (when - EPOCH).total_seconds() / 3600.0


class Desk:
    """A post's queue as one operator works it."""

    def __init__(self, store: Store, post: str, operator: str) -> None:
        self.store = store
        self.post = post
        self.operator = operator
        self.lock = threading.RLock()
        self.seen_seq = 0

    @property
    def post_level(self) -> str:
        with self.lock:
            row = self.store.post(self.post)
        return str(row["level"]) if row is not None else ""

    def now(self) -> dt.datetime:
        return dt.datetime.now().replace(microsecond=0)

    def queue(self, show_all: bool = False) -> list[Request]:
        with self.lock:
            if show_all:
                return self.store.queue(self.post, statuses=STATUSES, raised=True)
            return self.store.queue(self.post)

    def history(self, request_id: int) -> list[Action]:
        with self.lock:
            return self.store.history(request_id)

    def get(self, request_id: int) -> Request | None:
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

    def act(self, action: str, request_id: int, *, note: str = "", to: str | Sequence[str] | None = None) -> Request:
        with self.lock:
            request, _ = self.store.act(self.operator, self.post, action, request_id, note=note, to=to)
            return request

    def departments(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(r["id"], r["name_en"]) for r in self.store.departments()]

    def children(self, node: str) -> list[tuple[str, str]]:
        with self.lock:
            return [(r["id"], r["name_en"]) for r in self.store.children(node.split("#", 1)[0])]

    def level_of(self, node: str) -> str:
        with self.lock:
            row = self.store.post(node)
        return str(row["level"]) if row is not None else ""

    def escalate_target(self, request: Request) -> str | None:
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

    def __init__(self, live: Any) -> None:
        super().__init__(live.store, live.shift.post, live.shift.operator)
        self.live = live
        self.lock = live.lock

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.live.shift.iso(self.live.clock_h))

    def act(self, action: str, request_id: int, *, note: str = "", to: str | Sequence[str] | None = None) -> Request:
        request: Request = self.live.act(self.operator, action, request_id, note=note, to=to)
        return request

    def escalate_target(self, request: Request) -> str | None:
        """The simulation's escalation path (a priority's path may skip a level)."""
        with self.lock:
            req = (
                self.live.engine.tracked.get(int(request.source_id))
                if request.source == self.live.shift.source
                else None
            )
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
