"""The operators' queue store: a durable register of requests and of everything anyone did to them.

Like a command centre's case register, it holds every request the posts work on (from intake files or
from a simulated shift) and an append-only log of every action: who, at which post, what, when, and the
request's state before and after, including actions that were refused and why. SQLite in WAL mode: every
action is one transaction, so nothing committed is lost if the process dies, and every write takes the
database's write lock first (``BEGIN IMMEDIATE``), so two consoles on one database can never both claim
or settle the same request.

Scope: an operator signs in as a post and may act only on requests inside that post's jurisdiction (its
subtree: node ids spell their path, ``S1/C2/G3`` is inside ``S1``) or summoned to it by a whistle. The
store enforces this, not only the screen.

A training shift keeps its clock here too: while one runs, every action is stamped with the shift's
simulated time (``sim_h``), which is what lets a shift be rebuilt exactly after a crash (``sim.shift``).
Times are ISO 8601 local times (``2020-06-01T08:30:00``): the simulated calendar during a shift, the
wall clock otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from sim.errors import MicrogovError

SCHEMA_VERSION = 1
UNDO_WINDOW_S = 10.0
PRIORITIES = ("special", "urgent", "ordinary")
STATUSES = ("open", "claimed", "away", "closed")
#: What operators can do (``act``). ``confirm`` is the system making a settle final once it can no
#: longer be undone; the feed's own records (``arrived``, ``back``, ``moved``, ``closed``) are logged
#: by the system too.
ACTIONS = ("claim", "release", "settle", "pass", "whistle", "escalate", "return", "note", "undo")
#: Actions that change what the simulation does with a request during a shift, in log order.
ENGINE_INPUTS = ("claim", "settle", "undo", "pass", "whistle", "escalate", "return", "confirm")
SYSTEM = "system"

#: Versioned schema: each entry moves a database from the previous version to this one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE posts (
            id TEXT PRIMARY KEY,
            parent TEXT,
            level TEXT NOT NULL,
            name TEXT NOT NULL,
            name_en TEXT NOT NULL
        )""",
        "CREATE INDEX posts_parent ON posts (parent)",
        """CREATE TABLE operators (
            name TEXT PRIMARY KEY,
            post TEXT NOT NULL,
            signed_in_at TEXT NOT NULL
        )""",
        """CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            category TEXT NOT NULL,
            priority TEXT NOT NULL CHECK (priority IN ('special', 'urgent', 'ordinary')),
            text TEXT NOT NULL DEFAULT '',
            needs TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL,
            post TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'away', 'closed')),
            claimed_by TEXT,
            passed_to TEXT,
            response_due TEXT NOT NULL,
            resolution_due TEXT NOT NULL,
            responded_at TEXT,
            closed_at TEXT,
            outcome TEXT,
            version INTEGER NOT NULL DEFAULT 0,
            UNIQUE (source, source_id)
        )""",
        "CREATE INDEX requests_post ON requests (status, post)",
        """CREATE TABLE actions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER,
            operator TEXT NOT NULL,
            post TEXT NOT NULL,
            action TEXT NOT NULL,
            at TEXT NOT NULL,
            at_wall REAL NOT NULL,
            sim_h REAL,
            target TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            before TEXT,
            after TEXT,
            ok INTEGER NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX actions_request ON actions (request_id, seq)",
        """CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
            BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END""",
        """CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
            BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END""",
        """CREATE TABLE shifts (
            id INTEGER PRIMARY KEY,
            scenario_path TEXT NOT NULL,
            scenario_doc TEXT NOT NULL,
            post TEXT NOT NULL,
            operator TEXT NOT NULL,
            seed INTEGER NOT NULL,
            epoch TEXT NOT NULL,
            speed REAL NOT NULL,
            start_h REAL NOT NULL,
            end_h REAL NOT NULL,
            clock_h REAL NOT NULL,
            feed_applied INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'finished')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            result TEXT,
            holder TEXT,
            held_until REAL NOT NULL DEFAULT 0
        )""",
    ),
}

#: The request fields actions change, recorded before and after each action in the log.
STATE_FIELDS = ("post", "status", "claimed_by", "passed_to", "responded_at", "closed_at", "outcome", "needs")


class StoreError(MicrogovError):
    """The queue store cannot be opened or used (not a microgov store, a newer schema, a bad path)."""


class Refused(MicrogovError):
    """An action was refused (out of scope, already claimed, not open, ...). The refusal is in the log."""


@dataclass(frozen=True)
class Request:
    id: int
    source: str
    source_id: str
    created_at: str
    category: str
    priority: str
    text: str
    needs: str
    origin: str
    post: str
    status: str
    claimed_by: str | None
    passed_to: str | None
    response_due: str
    resolution_due: str
    responded_at: str | None
    closed_at: str | None
    outcome: str | None
    version: int

    def state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in STATE_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def due(self) -> str:
        """The deadline that matters now: the response deadline until someone answers, then resolution."""
        return self.response_due if self.responded_at is None else self.resolution_due

    def summoned(self) -> list[str]:
        return self.passed_to.split("+") if self.passed_to else []


@dataclass(frozen=True)
class Action:
    seq: int
    request_id: int | None
    operator: str
    post: str
    action: str
    at: str
    at_wall: float
    sim_h: float | None
    target: str
    note: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ok: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class NewRequest:
    """A request entering the store: from an intake file, a simulated shift or a scripted incident."""

    source: str
    source_id: str
    created_at: str
    category: str
    priority: str
    origin: str
    post: str
    response_due: str
    resolution_due: str
    text: str = ""
    needs: str = ""
    responded_at: str | None = None


@dataclass(frozen=True)
class Shift:
    """A training shift's row: what it plays, where its clock is."""

    id: int
    scenario_path: str
    scenario_doc: dict[str, Any]
    post: str
    operator: str
    seed: int
    epoch: dt.datetime
    speed: float
    start_h: float
    end_h: float
    clock_h: float
    feed_applied: int
    status: str
    started_at: str
    finished_at: str | None
    result: dict[str, Any] | None

    @property
    def source(self) -> str:
        return f"shift:{self.id}"

    def when(self, hours: float) -> dt.datetime:
        return self.epoch + dt.timedelta(hours=hours)

    def iso(self, hours: float) -> str:
        return iso(self.when(hours))


@dataclass
class FeedEvent:
    """What the simulated district did to a request a post played by a person works on.

    ``arrived``: the request reached the person's desk (first time: added; again: ``back``); ``moved``:
    the simulation moved it on (an automatic escalation); ``closed``: it was resolved or abandoned."""

    kind: str
    source_id: str
    at_h: float
    post: str
    detail: str = ""
    new: NewRequest | None = None
    needs: str = ""
    responded_h: float | None = None


def district_posts(district: Any) -> list[tuple[str, str | None, str, str, str]]:
    """The posts of a district (``sim.structure.District``) as :meth:`Store.load_posts` takes them."""
    graph = district.graph
    rows = []
    for node in district.walk():
        a = graph.nodes[node]
        rows.append(
            (node, district.parent(node), str(a["level"]), str(a.get("name", node)), str(a.get("name_en", node)))
        )
    return rows


def load_district(store: Store, scenario: Any, district: Any) -> int:
    """Load a scenario's district into ``store``: its posts, request categories and deadlines."""
    categories = {
        cid: {"name": c.name, "name_en": c.name_en, "priority": c.priority, "department": c.department}
        for cid, c in scenario.categories.items()
    }
    deadlines = {p: (scenario.deadline(p).response_h, scenario.deadline(p).resolution_h) for p in PRIORITIES}
    return store.load_posts(district_posts(district), scenario.name, categories=categories, deadlines=deadlines)


def default_path(name: str = "queue.db") -> Path:
    return Path(user_data_dir("microgov")) / name


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def in_scope(post: str, node: str) -> bool:
    """Is ``node`` inside ``post``'s jurisdiction? Node ids spell their path from the district down."""
    if post == "district":
        return True
    base = node.split("#", 1)[0]
    return base == post or base.startswith(post + "/")


class Store:
    """A queue store in one SQLite file, safe to open from several processes at once."""

    def __init__(self, path: str | Path | None = None, *, timeout_s: float = 30.0, create: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
        if not create and not self.path.is_file():
            raise StoreError(f"{self.path}: no queue store here (create one with microgov queue init)")
        self._depth = 0
        self._docs: dict[int, dict[str, Any]] = {}  # shifts' scenario documents, parsed once (never rewritten)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the queue store ({exc})") from None
        self.db.row_factory = sqlite3.Row
        try:
            self._recognise(self.db)  # before anything is written to a file that may not be ours
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{self.path}: not a microgov queue store ({exc})") from None
        except StoreError:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ------------------------------------------------------------------------------------

    def _recognise(self, db: sqlite3.Connection) -> int:
        """The file's schema version (0: empty), or a clear error if it is not a store this code can use."""
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = 0
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
        elif tables - {"sqlite_sequence"}:
            raise StoreError(f"{self.path}: an SQLite file, but not a microgov queue store")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this microgov's ({SCHEMA_VERSION}); upgrade"
            )
        return version

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = self._recognise(db)
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[v]:
                    db.execute(statement)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(v),))

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version") or 0)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock at once (``BEGIN IMMEDIATE``): all of it lands
        or none of it. Nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        self.db.execute("COMMIT")

    # --- posts and operators -----------------------------------------------------------------------

    def load_posts(
        self,
        posts: Iterable[tuple[str, str | None, str, str, str]],
        scenario: str,
        *,
        categories: dict[str, dict[str, Any]] | None = None,
        deadlines: dict[str, tuple[float, float]] | None = None,
    ) -> int:
        """Record the posts of a district (id, parent, level, name, name_en), replacing those there, with
        the scenario's request categories (id: name, name_en, priority, department) and deadlines
        (priority: response and resolution hours), which intake uses for defaults and checks."""
        rows = list(posts)
        with self.transaction() as db:
            db.execute("DELETE FROM posts")
            db.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('scenario', ?)", (scenario,))
            if categories is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('categories', ?)", (json.dumps(categories),))
            if deadlines is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('deadlines', ?)", (json.dumps(deadlines),))
        return len(rows)

    def categories(self) -> dict[str, dict[str, Any]]:
        """The loaded scenario's categories (see :meth:`load_posts`); empty if none were loaded."""
        text = self.meta("categories")
        return dict(json.loads(text)) if text else {}

    def deadlines(self) -> dict[str, tuple[float, float]]:
        """Response and resolution hours per priority of the loaded scenario; empty if none were loaded."""
        text = self.meta("deadlines")
        return {k: (float(v[0]), float(v[1])) for k, v in json.loads(text).items()} if text else {}

    def post(self, post: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM posts WHERE id = ?", (post.split("#", 1)[0],)
        ).fetchone()
        return row

    def posts_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])

    def departments(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM posts WHERE level = 'department' ORDER BY id"))

    def children(self, post: str) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM posts WHERE parent = ? ORDER BY id", (post,)))

    def check_post(self, post: str) -> sqlite3.Row:
        """The post's row, or a clear refusal: no district loaded, or no such post in it."""
        row = self.post(post)
        if row is None:
            if not self.posts_count():
                raise Refused(f"{self.path}: no district loaded (microgov queue init SCENARIO --db {self.path})")
            raise Refused(f"no post '{post}' in the district of {self.meta('scenario')}")
        return row

    def sign_in(self, operator: str, post: str) -> None:
        """Sign ``operator`` in at ``post`` (a node of the district loaded with :meth:`load_posts`)."""
        if not operator.strip():
            raise Refused("an operator needs a name")
        self.check_post(post)
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO operators VALUES (?, ?, ?)", (operator, post, _wall_text()))

    # --- the clock -----------------------------------------------------------------------------------

    def clock(self) -> dt.datetime:
        """Now, as the store's operators see it: a running shift's simulated time, else the wall clock."""
        shift = self.current_shift()
        if shift is not None:
            return shift.when(shift.clock_h)
        return dt.datetime.now().replace(microsecond=0)

    # --- requests in ---------------------------------------------------------------------------------

    def add(self, items: Sequence[NewRequest]) -> tuple[list[int], int]:
        """Add requests in one transaction; those whose (source, source id) is already here are skipped.
        Returns the new store ids and the number of duplicates."""
        ids, duplicates = [], 0
        with self.transaction() as db:
            for r in items:
                rid = self._insert(db, r)
                if rid is None:
                    duplicates += 1
                else:
                    ids.append(rid)
        return ids, duplicates

    def _insert(
        self, db: sqlite3.Connection, r: NewRequest, operator: str = SYSTEM, sim_h: float | None = None
    ) -> int | None:
        if r.priority not in PRIORITIES:
            raise StoreError(f"priority must be one of {', '.join(PRIORITIES)}, found '{r.priority}'")
        cur = db.execute(
            "INSERT OR IGNORE INTO requests (source, source_id, created_at, category, priority, text, needs, origin,"
            " post, status, response_due, resolution_due, responded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
            (
                r.source,
                r.source_id,
                r.created_at,
                r.category,
                r.priority,
                r.text,
                r.needs,
                r.origin,
                r.post,
                r.response_due,
                r.resolution_due,
                r.responded_at,
            ),
        )
        if not cur.rowcount:
            return None
        rid = int(cur.lastrowid or 0)
        after = self._get(db, rid)
        self._log(db, rid, operator, r.post, "arrived", sim_h, None, after, note=r.source)
        return rid

    def get(self, request_id: int) -> Request | None:
        return self._get(self.db, request_id)

    def find(self, source: str, source_id: str) -> Request | None:
        row = self.db.execute(
            "SELECT * FROM requests WHERE source = ? AND source_id = ?", (source, source_id)
        ).fetchone()
        return _request(row) if row else None

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def queue(
        self,
        post: str,
        *,
        statuses: Sequence[str] = ("open", "claimed"),
        source: str | None = None,
        raised: bool = False,
    ) -> list[Request]:
        """Requests at ``post`` or below it, or summoned to it by a whistle (with ``raised``: also those
        raised in its jurisdiction and now elsewhere, as passed on or closed); by priority, then the
        deadline that matters now (response until answered, then resolution), then age."""
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise Refused(f"unknown status '{unknown[0]}' (known: {', '.join(STATUSES)})")
        marks = ", ".join("?" for _ in statuses)
        sql = (
            f"SELECT * FROM requests WHERE status IN ({marks})"
            + (
                ""
                if post == "district"
                else " AND (post = ? OR post LIKE ? OR origin = ? OR origin LIKE ? OR passed_to LIKE ?)"
            )
            + (" AND source = ?" if source else "")
            + " ORDER BY CASE priority WHEN 'special' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END,"
            " CASE WHEN responded_at IS NULL THEN response_due ELSE resolution_due END, created_at, id"
        )
        args: list[Any] = list(statuses)
        if post != "district":
            args += [post, post + "/%", post, post + "/%", f"%{post}%"]
        if source:
            args.append(source)
        rows = self.db.execute(sql, args)
        out = []
        for row in rows:
            r = _request(row)
            if in_scope(post, r.post) or post in r.summoned() or (raised and in_scope(post, r.origin)):
                out.append(r)
        return out

    def history(self, request_id: int) -> list[Action]:
        rows = self.db.execute("SELECT * FROM actions WHERE request_id = ? ORDER BY seq", (request_id,))
        return [_action(r) for r in rows]

    def actions(self, after_seq: int = 0, *, limit: int | None = None) -> list[Action]:
        sql = "SELECT * FROM actions WHERE seq > ? ORDER BY seq" + (f" LIMIT {int(limit)}" if limit else "")
        return [_action(r) for r in self.db.execute(sql, (after_seq,))]

    def last_seq(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM actions").fetchone()[0])

    # --- acting ----------------------------------------------------------------------------------------

    def act(
        self,
        operator: str,
        post: str,
        action: str,
        request_id: int,
        *,
        note: str = "",
        to: str | Sequence[str] | None = None,
    ) -> tuple[Request, Action]:
        """Carry out one operator action in one transaction, or refuse it (and log the refusal).

        ``claim``, ``release``, ``settle`` (with a note saying how), ``pass`` (to a department),
        ``whistle`` (summon one or more departments; street and town offices only), ``escalate`` (to the
        post above, or a named post further up), ``return`` (down to a post below), ``note``, and
        ``undo`` (this operator's settle, within ten seconds).
        """
        handler = _HANDLERS.get(action)
        if handler is None:
            raise Refused(f"unknown action '{action}' (known: {', '.join(ACTIONS)})")
        with self.transaction() as db:
            shift = self.current_shift()
            sim_h = shift.clock_h if shift is not None else None
            now = shift.iso(shift.clock_h) if shift is not None else _wall_text()
            before = self._get(db, request_id)
            try:
                self.check_post(post)
                if before is None:
                    raise Refused(f"no request #{request_id}")
                if not (in_scope(post, before.post) or post in before.summoned()):
                    raise Refused(f"request #{request_id} is at {before.post}, outside {post}'s jurisdiction")
                changes, target = handler(self, operator, post, before, note, to, now)
                if changes.get("status") == "away" and (shift is None or before.source != shift.source):
                    # no simulation plays the post it goes to: people there work it, so it is open there
                    changes["status"] = "open"
            except Refused as exc:
                seq = self._log(
                    db,
                    request_id if before else None,
                    operator,
                    post,
                    action,
                    sim_h,
                    before,
                    None,
                    note=note,
                    ok=False,
                    reason=str(exc),
                )
                refusal: Refused = exc
            else:
                if changes:
                    if before.responded_at is None and action not in ("note", "release", "undo"):
                        changes.setdefault("responded_at", now)
                    sets = ", ".join(f"{k} = ?" for k in changes)
                    db.execute(
                        f"UPDATE requests SET {sets}, version = version + 1 WHERE id = ?",
                        (*changes.values(), request_id),
                    )
                after = self._get(db, request_id)
                assert after is not None
                seq = self._log(db, request_id, operator, post, action, sim_h, before, after, target=target, note=note)
                return after, self._action_at(db, seq)
        del seq
        raise refusal

    def refuse(self, operator: str, post: str, action: str, request_id: int, reason: str, note: str = "") -> Refused:
        """Log a refusal decided outside the store (the simulation cannot do it) and return the error."""
        with self.transaction() as db:
            shift = self.current_shift()
            before = self._get(db, request_id)
            self._log(
                db,
                request_id if before else None,
                operator,
                post,
                action,
                shift.clock_h if shift else None,
                before,
                None,
                note=note,
                ok=False,
                reason=reason,
            )
        return Refused(reason)

    def hand_back(self, shift: Shift, requests: Sequence[Request], sim_h: float, why: str) -> None:
        """The shift is over: what is left in its person's queue goes back to the post's staff on duty."""
        with self.transaction() as db:
            for request in requests:
                self._change(db, request, {"status": "away", "claimed_by": None}, "handed back", sim_h, note=why)

    def record_outcomes(self, shift: Shift, outcomes: dict[str, tuple[float, str]]) -> int:
        """After a shift: close the requests its person passed on that the simulation closed later
        (source id: when, and how). Returns how many were closed."""
        closed = 0
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM requests WHERE source = ? AND status = 'away'", (shift.source,))
            for request in [_request(r) for r in rows]:
                if request.source_id not in outcomes:
                    continue
                at_h, outcome = outcomes[request.source_id]
                changes = {"status": "closed", "closed_at": shift.iso(at_h), "outcome": outcome, "claimed_by": None}
                self._change(db, request, changes, "closed", at_h, note=outcome)
                closed += 1
        return closed

    def holder_of(self, shift_id: int) -> str | None:
        row = self.db.execute("SELECT holder FROM shifts WHERE id = ?", (shift_id,)).fetchone()
        return str(row[0]) if row is not None and row[0] else None

    def _get(self, db: sqlite3.Connection, request_id: int) -> Request | None:
        row = db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        return _request(row) if row else None

    def _action_at(self, db: sqlite3.Connection, seq: int) -> Action:
        return _action(db.execute("SELECT * FROM actions WHERE seq = ?", (seq,)).fetchone())

    def _log(
        self,
        db: sqlite3.Connection,
        request_id: int | None,
        operator: str,
        post: str,
        action: str,
        sim_h: float | None,
        before: Request | None,
        after: Request | None,
        *,
        target: str = "",
        note: str = "",
        ok: bool = True,
        reason: str = "",
    ) -> int:
        now = time.time()
        cur = db.execute(
            "INSERT INTO actions (request_id, operator, post, action, at, at_wall, sim_h, target, note, before, after,"
            " ok, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                operator,
                post,
                action,
                _wall_text(now),
                now,
                sim_h,
                target,
                note,
                json.dumps(before.state()) if before else None,
                json.dumps(after.state()) if after else None,
                int(ok),
                reason,
            ),
        )
        return int(cur.lastrowid or 0)

    def _change(
        self,
        db: sqlite3.Connection,
        before: Request,
        changes: dict[str, Any],
        action: str,
        sim_h: float | None,
        *,
        note: str = "",
        target: str = "",
    ) -> None:
        """A change the system makes (the simulated district, a settle made final), logged as such."""
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            db.execute(
                f"UPDATE requests SET {sets}, version = version + 1 WHERE id = ?",
                (*changes.values(), before.id),
            )
        after = self._get(db, before.id)
        self._log(db, before.id, SYSTEM, before.post, action, sim_h, before, after, note=note, target=target)

    # --- shifts ----------------------------------------------------------------------------------------

    def current_shift(self) -> Shift | None:
        """The shift under way (running or paused), if any."""
        row = self.db.execute("SELECT * FROM shifts WHERE status != 'finished' ORDER BY id DESC LIMIT 1").fetchone()
        return self._shift(row) if row else None

    def shift(self, shift_id: int) -> Shift | None:
        row = self.db.execute("SELECT * FROM shifts WHERE id = ?", (shift_id,)).fetchone()
        return self._shift(row) if row else None

    def last_shift(self) -> Shift | None:
        row = self.db.execute("SELECT * FROM shifts ORDER BY id DESC LIMIT 1").fetchone()
        return self._shift(row) if row else None

    def _shift(self, row: sqlite3.Row) -> Shift:
        # read on every action of a shift: the (large) scenario document is parsed once per shift
        doc = self._docs.get(row["id"])
        if doc is None:
            doc = self._docs[row["id"]] = json.loads(row["scenario_doc"])
        shift: Shift = _from_row(
            Shift,
            row,
            scenario_doc=doc,
            epoch=dt.datetime.fromisoformat(row["epoch"]),
            result=_json(row["result"]),
        )
        return shift

    def start_shift(
        self,
        *,
        scenario_path: str,
        scenario_doc: dict[str, Any],
        post: str,
        operator: str,
        seed: int,
        epoch: dt.datetime,
        speed: float,
        start_h: float,
        end_h: float,
    ) -> Shift:
        self.check_post(post)
        with self.transaction() as db:
            if self.current_shift() is not None:
                raise Refused(f"{self.path}: a shift is already under way here; finish it or use another --db")
            cur = db.execute(
                "INSERT INTO shifts (scenario_path, scenario_doc, post, operator, seed, epoch, speed, start_h, end_h,"
                " clock_h, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
                (
                    scenario_path,
                    json.dumps(scenario_doc, default=str),
                    post,
                    operator,
                    seed,
                    iso(epoch),
                    speed,
                    start_h,
                    end_h,
                    start_h,
                    _wall_text(),
                ),
            )
            db.execute("INSERT OR REPLACE INTO operators VALUES (?, ?, ?)", (operator, post, _wall_text()))
            shift = self.shift(int(cur.lastrowid or 0))
        assert shift is not None
        return shift

    def set_shift(self, shift_id: int, **fields: Any) -> None:
        """Change a shift's clock, speed, status or result (inside the caller's transaction, if any)."""
        allowed = {"clock_h", "speed", "status", "feed_applied", "result", "finished_at", "holder", "held_until"}
        bad = set(fields) - allowed
        if bad:
            raise StoreError(f"cannot set {', '.join(sorted(bad))} of a shift")
        if "result" in fields and fields["result"] is not None:
            fields["result"] = json.dumps(fields["result"], default=str)
        if fields.get("status") == "finished":
            fields.setdefault("finished_at", _wall_text())
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE shifts SET {sets} WHERE id = ?", (*fields.values(), shift_id))

    def hold(self, shift_id: int, holder: str, lease_s: float = 15.0) -> None:
        """Take (or renew) the right to drive a shift: only one process plays its simulation at a time. A
        holder whose process is gone (same machine) or whose lease ran out is replaced."""
        with self.transaction() as db:
            row = db.execute("SELECT holder, held_until FROM shifts WHERE id = ?", (shift_id,)).fetchone()
            if row is None:
                raise StoreError(f"no shift {shift_id}")
            other, until = row["holder"], float(row["held_until"])
            if other and other != holder and until > time.time() and _alive(other):
                raise Refused(f"{self.path}: shift {shift_id} is being played by another console ({other})")
            db.execute(
                "UPDATE shifts SET holder = ?, held_until = ? WHERE id = ?", (holder, time.time() + lease_s, shift_id)
            )

    def engine_inputs(self, shift: Shift, after_seq: int = 0) -> list[Action]:
        """The logged actions that steer the shift's simulation, in the order they were taken."""
        marks = ", ".join("?" for _ in ENGINE_INPUTS)
        rows = self.db.execute(
            f"SELECT a.* FROM actions a JOIN requests r ON r.id = a.request_id WHERE a.seq > ? AND a.ok = 1"
            f" AND a.sim_h IS NOT NULL AND r.source = ? AND a.action IN ({marks}) ORDER BY a.seq",
            (after_seq, shift.source, *ENGINE_INPUTS),
        )
        return [_action(r) for r in rows]

    def settles_to_confirm(self, shift: Shift, older_than_s: float = UNDO_WINDOW_S) -> list[Request]:
        """The shift's settled requests whose undo window has passed and that are not yet final."""
        cutoff = time.time() - older_than_s
        rows = self.db.execute(
            "SELECT r.* FROM requests r JOIN actions a ON a.seq = (SELECT MAX(seq) FROM actions WHERE request_id = r.id"
            " AND ok = 1) WHERE r.source = ? AND r.status = 'closed' AND a.action = 'settle' AND a.at_wall <= ?"
            " ORDER BY a.seq",
            (shift.source, cutoff),
        )
        return [_request(r) for r in rows]

    def confirm(self, shift: Shift, request: Request, sim_h: float) -> Action:
        """Make a settle final: it can no longer be undone, and the simulation closes the request."""
        with self.transaction() as db:
            self._change(db, request, {}, "confirm", sim_h)
            return self._action_at(db, self.last_seq())

    def apply_feed(self, shift: Shift, events: Sequence[FeedEvent]) -> int:
        """Write what the simulated district did to the requests the shift's person works on. Returns
        how many were written (a request the store does not have is skipped: it was never handed over)."""
        written = 0
        with self.transaction() as db:
            for ev in events:
                if ev.kind == "arrived":
                    existing = self.find(shift.source, ev.source_id)
                    if existing is None:
                        if ev.new is not None:
                            self._insert(db, ev.new, sim_h=ev.at_h)
                            written += 1
                        continue
                    changes: dict[str, Any] = {
                        "status": "open",
                        "post": ev.post,
                        "claimed_by": None,
                        "passed_to": None,
                        "closed_at": None,
                        "outcome": None,
                        "needs": ev.needs,
                    }
                    self._change(db, existing, changes, "back", ev.at_h, note=ev.detail)
                    written += 1
                    continue
                existing = self.find(shift.source, ev.source_id)
                if existing is None:
                    continue
                if ev.kind == "moved":
                    changes = {"status": "away", "post": ev.post, "claimed_by": None}
                elif ev.kind == "closed":
                    changes = {"status": "closed", "closed_at": shift.iso(ev.at_h), "outcome": ev.detail}
                elif ev.kind == "responded":
                    changes = {"responded_at": shift.iso(ev.responded_h if ev.responded_h is not None else ev.at_h)}
                else:
                    raise StoreError(f"unknown feed event '{ev.kind}'")
                self._change(db, existing, changes, ev.kind, ev.at_h, note=ev.detail, target=ev.post)
                written += 1
        return written


# --- the actions ---------------------------------------------------------------------------------------

Changes = tuple[dict[str, Any], str]


def _workable(operator: str, before: Request) -> None:
    if before.status == "closed":
        raise Refused(f"request #{before.id} is closed already ({before.outcome})")
    if before.status == "away":
        raise Refused(f"request #{before.id} is with {before.passed_to or before.post}, not in a queue")
    if before.status == "claimed" and before.claimed_by != operator:
        raise Refused(f"request #{before.id} is claimed by {before.claimed_by}")


def _claim(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    if before.status != "open":
        owner = f" by {before.claimed_by}" if before.claimed_by else ""
        raise Refused(f"request #{before.id} cannot be claimed: it is {before.status}{owner}")
    return {"status": "claimed", "claimed_by": operator}, ""


def _release(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    if before.status != "claimed" or before.claimed_by != operator:
        raise Refused(f"request #{before.id} is not claimed by {operator}")
    return {"status": "open", "claimed_by": None}, ""


def _settle(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    _workable(operator, before)
    if not note.strip():
        raise Refused("settling needs a note saying how it was settled")
    return {"status": "closed", "claimed_by": operator, "outcome": f"settled at {post}", "closed_at": now}, ""


def _pass(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    _workable(operator, before)
    department = to if isinstance(to, str) else (to[0] if to and len(to) == 1 else None)
    row = store.post(department) if department else None
    if row is None or row["level"] != "department":
        raise Refused(f"pass needs one department (one of: {_department_list(store)})")
    return {"status": "away", "passed_to": department, "claimed_by": None, "post": department}, str(department)


def _whistle(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    _workable(operator, before)
    here = store.post(post)
    if here is None or here["level"] not in ("street", "town"):
        raise Refused("only a street or town office can blow the whistle")
    chosen = [to] if isinstance(to, str) else list(dict.fromkeys(to or []))
    known = {r["id"] for r in store.departments()}
    if not chosen or any(d not in known for d in chosen):
        raise Refused(f"the whistle summons one or more departments (of: {_department_list(store)})")
    summoned = "+".join(chosen)
    return {"status": "away", "passed_to": summoned, "claimed_by": None, "post": post}, summoned


def _escalate(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    _workable(operator, before)
    here = before.post.split("#", 1)[0]
    row = store.post(here)
    parent = row["parent"] if row is not None else None
    if not parent or (row is not None and row["level"] == "department"):
        raise Refused(f"request #{before.id} is at {here}: there is no post above to escalate to")
    target = to if isinstance(to, str) and to else parent
    if target != parent and not (target == "district" or here.startswith(target + "/")):
        raise Refused(f"escalate goes up: '{target}' is not above {here}")
    if store.post(target) is None:
        raise Refused(f"no post '{target}' in the district")
    return {"status": "away", "claimed_by": None, "post": target}, target


def _return(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    _workable(operator, before)
    here = before.post.split("#", 1)[0]
    here_row = store.post(here)
    if here_row is not None and here_row["level"] == "department":
        # a department cannot solve it: back to the office it came from, for study
        office = before.origin.split("/", 1)[0]
        if store.post(office) is None:
            raise Refused(f"request #{before.id} came from no street or town office to return it to")
        return {"status": "away", "claimed_by": None, "passed_to": None, "post": office}, office
    target = to if isinstance(to, str) and to else None
    if target is None:
        # one level down towards where the request was raised
        rest = before.origin[len(here) + 1 :].split("/") if before.origin.startswith(here + "/") else []
        target = f"{here}/{rest[0]}" if here != "district" and rest and rest[0] else None
        if here == "district" and before.origin:
            target = before.origin.split("/", 1)[0]
    row = store.post(target) if target else None
    if row is None or row["parent"] != here:
        below = ", ".join(r["id"] for r in store.children(here)[:8])
        raise Refused(f"return needs a post directly below {here}" + (f" (e.g. {below})" if below else ""))
    return {"status": "away", "claimed_by": None, "post": target}, str(target)


def _note(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    if not note.strip():
        raise Refused("a note needs text")
    return {}, ""


def _undo(store: Store, operator: str, post: str, before: Request, note: str, to: Any, now: str) -> Changes:
    last = store.db.execute(
        "SELECT * FROM actions WHERE request_id = ? AND ok = 1 ORDER BY seq DESC LIMIT 1", (before.id,)
    ).fetchone()
    if last is None or last["action"] != "settle" or last["operator"] != operator:
        raise Refused(f"nothing of yours to undo on request #{before.id} (undo takes back your last settle)")
    age = time.time() - float(last["at_wall"])
    if age > UNDO_WINDOW_S:
        raise Refused(f"too late to undo: the settle was {age:.0f} s ago (undo works for {UNDO_WINDOW_S:.0f} s)")
    restored = json.loads(last["before"])
    return {k: restored[k] for k in ("status", "claimed_by", "outcome", "post", "closed_at")}, f"#{last['seq']}"


_HANDLERS = {
    "claim": _claim,
    "release": _release,
    "settle": _settle,
    "pass": _pass,
    "whistle": _whistle,
    "escalate": _escalate,
    "return": _return,
    "note": _note,
    "undo": _undo,
}


def _department_list(store: Store) -> str:
    return ", ".join(r["id"] for r in store.departments()) or "none loaded"


def _from_row(cls: Any, row: sqlite3.Row, **decoded: Any) -> Any:
    """A dataclass from a row: its fields by name, with the ``decoded`` ones given."""
    return cls(**{k: decoded[k] if k in decoded else row[k] for k in cls.__dataclass_fields__})


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _request(row: sqlite3.Row) -> Request:
    request: Request = _from_row(Request, row)
    return request


def _action(row: sqlite3.Row) -> Action:
    action: Action = _from_row(Action, row, before=_json(row["before"]), after=_json(row["after"]), ok=bool(row["ok"]))
    return action


def holder_id() -> str:
    """This process, as the holder of a shift: ``host:pid``."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(holder: str) -> bool:
    """Is the process ``host:pid`` still running? (Another machine's: assumed so, until its lease ends.)"""
    import os
    import socket

    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wall_text(now: float | None = None) -> str:
    return dt.datetime.fromtimestamp(now if now is not None else time.time()).isoformat(timespec="seconds")
