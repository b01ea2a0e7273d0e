"""Replaying an event log: the state of every open request at any moment, like rewinding a shift's tape.

An event log is a time-ordered tape of state changes. To answer "what was open, where, at 14:30 on day
3?" without reading the tape from the start, the index keeps a snapshot of the open requests every
``SNAPSHOT_EVERY`` events; seeking restores the nearest snapshot before the moment and plays at most
that many events forward. Headless: the console's Replay mode and scripts use the same index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from sim.activities import ABANDONED, ACTIVITIES, ARRIVED, MISSED, RESOLVED
from sim.eventlog import ANSWERING, EventLogError, read_metadata

SNAPSHOT_EVERY = 20_000

#: What a request is doing, as shown in a queue.
STATES = (
    "new",
    "waiting",
    "in hand",
    "settled",
    "passed on",
    "sent up",
    "returned",
    "closed",
    "closed",
    "waiting",
    "whistled",
    "in hand",
    "handed off",
)
CLOSING = {RESOLVED, ABANDONED}
KEEP_STATE = {MISSED}
ANSWERS = frozenset(ANSWERING)

#: An open request's state: post, priority, category (codes), arrived, since (hours), what it is doing
#: (an activity code), answered (1 once it has had its response, else 0).
State = tuple[int, int, int, float, float, int, int]


@dataclass(frozen=True)
class OpenRequest:
    """One open request at the replay's moment."""

    request_id: int
    post: str
    priority: str
    category: str
    arrived_h: float
    since_h: float
    state: str
    response_due_h: float
    resolution_due_h: float
    answered: bool = False

    @property
    def due_kind(self) -> str:
        """The deadline that is running: the response deadline until the request is answered, then the
        resolution deadline."""
        return "resolution" if self.answered else "response"

    @property
    def due_h(self) -> float:
        return self.resolution_due_h if self.answered else self.response_due_h


class ReplayIndex:
    """An event log loaded for random access in time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta = read_metadata(path)
        columns = ["case:concept:name", "concept:name", "org:resource", "time_h", "priority", "category"]
        try:
            table = pq.read_table(self.path, columns=columns)
        except Exception as exc:  # any Arrow error: the file is not a readable microgov log
            raise EventLogError(f"{self.path}: cannot read the event log ({exc})") from None
        act = table.column("concept:name").combine_chunks()
        post = table.column("org:resource").combine_chunks()
        prio = table.column("priority").combine_chunks()
        cat = table.column("category").combine_chunks()
        self.request = table.column("case:concept:name").to_numpy()
        self.time = table.column("time_h").to_numpy()
        self.activity = _codes(act, ACTIVITIES)
        self.post = post.indices.to_numpy().astype(np.int32)
        self.posts = [str(p) for p in post.dictionary.to_pylist()]
        self.priority = prio.indices.to_numpy().astype(np.int8)
        self.priorities = [str(p) for p in prio.dictionary.to_pylist()]
        self.category = cat.indices.to_numpy().astype(np.int16)
        self.categories = [str(c) for c in cat.dictionary.to_pylist()]
        self.start = dt.datetime.fromisoformat(self.meta["start"])
        doc = self.meta.get("scenario_doc", {})
        deadlines = doc.get("deadlines", {})
        self.response_h = {p: float(deadlines.get(p, {}).get("response_h", float("inf"))) for p in self.priorities}
        self.resolution_h = {p: float(deadlines.get(p, {}).get("resolution_h", float("inf"))) for p in self.priorities}
        self.snapshots: list[dict[int, State]] = []
        self._build_snapshots()
        self.position = 0
        self.open: dict[int, State] = {}

    @property
    def events(self) -> int:
        return len(self.time)

    @property
    def end_h(self) -> float:
        return float(self.meta.get("days", 0.0)) * 24.0 or (float(self.time[-1]) if self.events else 0.0)

    def _build_snapshots(self) -> None:
        state: dict[int, State] = {}
        for i in range(self.events):
            if i % SNAPSHOT_EVERY == 0:
                self.snapshots.append(dict(state))
            self._apply(state, i)

    def _apply(self, state: dict[int, State], i: int) -> None:
        """Play event ``i`` onto ``state`` (request id → its :data:`State`)."""
        rid = int(self.request[i])
        act = int(self.activity[i])
        if act in CLOSING:
            state.pop(rid, None)
            return
        t = float(self.time[i])
        old = state.get(rid)
        answered = int(act in ANSWERS)
        if act == ARRIVED or old is None:
            state[rid] = (int(self.post[i]), int(self.priority[i]), int(self.category[i]), t, t, act, answered)
        elif act not in KEEP_STATE:
            state[rid] = (int(self.post[i]), old[1], old[2], old[3], t, act, old[6] | answered)

    def seek_event(self, position: int) -> None:
        """Move to just after the first ``position`` events (0: before anything happened)."""
        position = max(0, min(position, self.events))
        if not (self.position <= position and position - self.position <= SNAPSHOT_EVERY):
            base = position // SNAPSHOT_EVERY
            self.open = dict(self.snapshots[base]) if self.snapshots else {}
            self.position = base * SNAPSHOT_EVERY
        for i in range(self.position, position):
            self._apply(self.open, i)
        self.position = position

    def seek_time(self, hours: float) -> None:
        """Move to the moment ``hours`` after the start: every event up to and including it has happened."""
        self.seek_event(int(np.searchsorted(self.time, hours, side="right")))

    @property
    def clock_h(self) -> float:
        """The replay's moment: the time of the last event played (0 before the first)."""
        return float(self.time[self.position - 1]) if self.position else 0.0

    def timestamp(self, hours: float | None = None) -> dt.datetime:
        return self.start + dt.timedelta(hours=self.clock_h if hours is None else hours)

    def step(self, events: int) -> None:
        self.seek_event(self.position + events)

    def requests(self) -> Iterator[OpenRequest]:
        """The open requests at the moment, in no particular order."""
        for rid, (post, prio, cat, arrived, since, act, answered) in self.open.items():
            p = self.priorities[prio]
            yield OpenRequest(
                rid,
                self.posts[post],
                p,
                self.categories[cat],
                arrived,
                since,
                STATES[act],
                arrived + self.response_h[p],
                arrived + self.resolution_h[p],
                bool(answered),
            )

    def open_by_post(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for post, *_ in self.open.values():
            name = self.posts[post]
            counts[name] = counts.get(name, 0) + 1
        return counts

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "scenario": self.meta.get("scenario"),
            "seed": self.meta.get("seed"),
            "days": self.meta.get("days"),
            "events": self.events,
        }


def _codes(column: Any, names: tuple[str, ...]) -> np.ndarray:
    """Activity codes in the project's fixed order, whatever order the file's dictionary has."""
    mapping = np.array([names.index(str(v)) for v in column.dictionary.to_pylist()], dtype=np.int8)
    codes: np.ndarray = mapping[column.indices.to_numpy()]
    return codes


def parse_when(text: str, start: dt.datetime) -> float:
    """A moment typed by a person, in hours from the start: ``36`` or ``36h`` (hours), ``day 2 09:30``,
    ``2020-06-02 09:30`` or ``09:30`` (on the first day)."""
    text = text.strip().lower()
    if not text:
        raise ValueError("type a time: 36h, day 2 09:30, 2020-06-02 09:30 or 09:30")
    try:
        return float(text.removesuffix("h"))
    except ValueError:
        pass
    if text.startswith("day"):
        parts = text.split()
        day = int(parts[1])
        hh, mm = [*parts[2].split(":"), "0"][:2] if len(parts) > 2 else ("0", "0")
        return (day - 1) * 24 + int(hh) + int(mm) / 60
    if ":" in text and len(text) <= 5:
        hh, mm = text.split(":")
        return int(hh) + int(mm) / 60
    when = dt.datetime.fromisoformat(text.replace(" ", "T"))
    return (when - start).total_seconds() / 3600


__all__ = ["OpenRequest", "ReplayIndex", "parse_when"]
