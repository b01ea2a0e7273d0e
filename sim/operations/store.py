"""The operators' queue store: a durable register of requests and of everything anyone did to them.

Like a command centre's case register, it holds every request the posts work on (from intake files or
from a simulated shift) and an append-only log of every action: who, at which post, what, when, and the
request's state before and after, including actions that were refused and why. SQLite in WAL mode: every
action is one transaction, so nothing committed is lost if the process dies, and every write takes the
database's write lock first (``BEGIN IMMEDIATE``), so two consoles on one database can never both claim
or settle the same request.

Who may act: the store keeps its operators (an operating-system account, a display name, a role) and
the posts granted to each; a grant covers the post's jurisdiction (its subtree: node ids spell their
path, ``S1/C2/G3`` is inside ``S1``). Every action names the account taking it and the post it is taken
at, and is refused, and the refusal logged, unless a grant covers that post and the action table
(``sim.policies.actions``) allows it there. A department summoned by a whistle acts on its part of the request
while the summons is open; the summons ends when the department reports done or hands back, or the
request leaves the office (escalated, returned, passed on, settled). The store enforces all of this, not
only the screen.

The log is tamper-evident: each row carries a SHA-256 hash over its own contents and the previous row's
hash, so a row changed or removed breaks the chain after it. Opening a store checks the triggers that
keep the log append-only and the last row's hash; :meth:`Store.verify` checks everything (every hash,
every request and operator against what the log says of them, the district against its last loading).
Files are created owner-only: they hold residents' names, addresses and troubles.

A training shift keeps its clock here too: while one runs, every action is stamped with the shift's
simulated time (``sim_h``), which is what lets a shift be rebuilt exactly after a crash (``sim.training.shift``);
an action on the shift's requests is judged by the shift's simulation as well (a :class:`Referee`), so
the log never holds one the simulation could not replay. Times are ISO 8601 local times
(``2020-06-01T08:30:00``): the simulated calendar during a shift, the wall clock otherwise.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from platformdirs import user_data_dir

from sim.errors import MicrogovError
from sim.policies import actions as table
from sim.policies.actions import ACTIONS, JURISDICTION, OUTSIDE, ROLES, SUMMONED, UNDO_WINDOW_S, Case, Target
from sim.structure.ids import DISTRICT, above, child_towards, in_scope, office_of, post_of

__all__ = ["ACTIONS", "UNDO_WINDOW_S"]

SCHEMA_VERSION = 2
PRIORITIES = ("special", "urgent", "ordinary")
STATUSES = ("open", "claimed", "away", "closed")
#: Actions that change what the simulation does with a request during a shift, in log order.
ENGINE_INPUTS = ("claim", "settle", "undo", "pass", "whistle", "escalate", "return", "confirm")
#: Who the log names for what the store and the simulation do by themselves (arrivals, a settle made
#: final, the simulated district's moves); no account can be granted this name.
SYSTEM = "system"
#: What a refused read or account change is logged as.
READS = ("list", "show", "sign in", "intake", "whoami")

#: The triggers that keep the action log append-only; a store without exactly these is refused.
TRIGGERS = {
    "actions_append_only_update": """CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
            BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END""",
    "actions_append_only_delete": """CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
            BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END""",
}

#: Versioned schema: each entry moves a database from the previous version to this one (its statements,
#: then :data:`UPGRADES`' step of the same version, if any).
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
        *TRIGGERS.values(),
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
    2: (
        # accounts and grants; version 1's typed names become a record of sign-ins
        "ALTER TABLE operators RENAME TO sign_ins",
        """CREATE TABLE operators (
            account TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor', 'admin')),
            since TEXT NOT NULL
        )""",
        """CREATE TABLE grants (
            account TEXT NOT NULL,
            post TEXT NOT NULL,
            since TEXT NOT NULL,
            PRIMARY KEY (account, post)
        )""",
        # a whistle's open summons: department -> the account that took its part up (or null)
        "ALTER TABLE requests ADD COLUMN summons TEXT",
        "ALTER TABLE actions ADD COLUMN hash TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE shifts ADD COLUMN trainee TEXT NOT NULL DEFAULT ''",
    ),
}

#: The request fields actions change, recorded before and after each action in the log.
STATE_FIELDS = (
    "post",
    "status",
    "claimed_by",
    "passed_to",
    "summons",
    "responded_at",
    "closed_at",
    "outcome",
    "needs",
)
#: The fields a request arrives with and keeps, recorded in its ``arrived`` row.
CONTENT_FIELDS = (
    "source",
    "source_id",
    "created_at",
    "category",
    "priority",
    "text",
    "origin",
    "response_due",
    "resolution_due",
)
#: The columns of a log row its hash covers, in order.
HASHED = (
    "seq",
    "request_id",
    "operator",
    "post",
    "action",
    "at",
    "at_wall",
    "sim_h",
    "target",
    "note",
    "before",
    "after",
    "ok",
    "reason",
)
#: What a district's loading and each account's state are logged as.
DISTRICT_ACTIONS = ("init", "migrate")
ACCOUNT_ACTIONS = ("grant", "revoke")
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")


class StoreError(MicrogovError):
    """The queue store cannot be opened or used (not a microgov store, a newer schema, a bad path)."""


class Refused(MicrogovError):
    """An action was refused (out of scope, already claimed, not open, ...). The refusal is in the log."""


class VerifyFailed(StoreError):
    """``queue verify`` found the store's log or tables not as the log says (exit status 1)."""

    exit_code = 1


class Referee(Protocol):
    """What plays a training shift's requests (its simulation): it judges an action on one of them
    before the store logs it, so that the log holds only actions the simulation can replay."""

    def default_target(self, request: RequestRecord, action: str) -> str | None:
        """Where ``action`` sends ``request`` when no target is given (``None``: the store's default)."""

    def refusal(self, request: RequestRecord, action: str, post: str, targets: Sequence[str]) -> str:
        """Why the simulation cannot carry out ``action`` on ``request`` now, or ``""``."""


@dataclass(frozen=True)
class RequestRecord:
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
    summons: dict[str, str | None] = field(default_factory=dict)
    """The departments a whistle summoned and whose part is still open, with who took each part up."""

    def state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in STATE_FIELDS}

    def content(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTENT_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def due(self) -> str:
        """The deadline that matters now: the response deadline until someone answers, then resolution."""
        return self.response_due if self.responded_at is None else self.resolution_due

    def summoned(self) -> list[str]:
        """The departments with an open summons to this request."""
        return list(self.summons)


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
class Operator:
    """An account the store knows: its display name, its role and the posts granted to it."""

    account: str
    name: str
    role: str
    posts: tuple[str, ...]

    def covers(self, post: str) -> bool:
        return any(in_scope(granted, post) for granted in self.posts)

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "name": self.name, "role": self.role, "posts": list(self.posts)}


@dataclass(frozen=True)
class Loaded:
    """What loading a district did: the posts loaded, and what changed (empty: nothing did)."""

    posts: int
    action: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    """What :meth:`Store.verify` found: counts of what it checked, and the problems (first one first)."""

    path: str
    schema_version: int
    actions: int
    head: str
    requests: int
    operators: int
    posts: int
    problems: tuple[tuple[str, str], ...]
    """(where, what) of each problem, in the order found: ``action #57``, ``request #3``, ``triggers``..."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": self.path,
            "ok": self.ok,
            "schema_version": self.schema_version,
            "actions": self.actions,
            "head": self.head,
            "requests": self.requests,
            "operators": self.operators,
            "posts": self.posts,
            "problems": [{"where": w, "problem": p} for w, p in self.problems],
        }


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
class TrainingShift:
    """A training shift's row: what it plays, where its clock is."""

    id: int
    scenario_path: str
    scenario_doc: dict[str, Any]
    post: str
    operator: str
    """The account that plays the shift (whose actions are scored)."""
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
    trainee: str = ""
    """The trainee's name for the report (the account's display name unless the trainer gave one)."""

    @property
    def source(self) -> str:
        return f"shift:{self.id}"

    @property
    def who(self) -> str:
        return self.trainee or self.operator

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


def load_district(
    store: Store, scenario: Any, district: Any, *, account: str = SYSTEM, migrate: bool = False
) -> Loaded:
    """Load a scenario's district into ``store``: its posts, request categories and deadlines (see
    :meth:`Store.load_posts` for who may, and when ``migrate`` is needed)."""
    categories = {
        cid: {"name": c.name, "name_en": c.name_en, "priority": c.priority, "department": c.department}
        for cid, c in scenario.categories.items()
    }
    deadlines = {p: (scenario.deadline(p).response_h, scenario.deadline(p).resolution_h) for p in PRIORITIES}
    return store.load_posts(
        district_posts(district),
        scenario.name,
        categories=categories,
        deadlines=deadlines,
        account=account,
        migrate=migrate,
    )


def default_path(name: str = "queue.db") -> Path:
    return Path(user_data_dir("microgov")) / name


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def row_hash(previous: str, row: Mapping[str, Any]) -> str:
    """The hash of a log row: SHA-256 over the previous row's hash and this row's canonical form (its
    :data:`HASHED` columns as a JSON array, numbers as SQLite gives them back, ASCII only)."""
    values = [
        int(row["seq"]),
        row["request_id"],
        row["operator"],
        row["post"],
        row["action"],
        row["at"],
        float(row["at_wall"]),
        None if row["sim_h"] is None else float(row["sim_h"]),
        row["target"],
        row["note"],
        row["before"],
        row["after"],
        int(row["ok"]),
        row["reason"],
    ]
    text = json.dumps(values, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256((previous + text).encode("ascii")).hexdigest()


def loose_permissions(path: Path) -> list[str]:
    """A warning (one line) if other accounts than the owner may read or write the store's files."""
    loose = []
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose.append((file, mode))
    if not loose:
        return []
    files = " ".join(str(f) for f, _ in loose)
    return [
        f"{loose[0][0]} can be read by other accounts (mode {loose[0][1]:04o}); it holds residents' data: "
        f"chmod 600 {files}"
    ]


def _create_private(path: Path) -> None:
    """Make the store's folder (0700) and an empty store file (0600) before SQLite opens it: SQLite gives
    the ``-wal`` and ``-shm`` files the store file's permissions."""
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _squash(sql: str) -> str:
    return " ".join(sql.split())


def _digest(rows: Iterable[Sequence[Any]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(list(row), ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n")
    return h.hexdigest()


class Store:
    """A queue store in one SQLite file, safe to open from several processes at once.

    ``check`` (default) refuses a store whose log fails the light check (triggers in place, last row's
    hash right); only :meth:`verify` and the audit export open one that fails it. ``warnings`` says
    what is wrong but not fatal (files others can read)."""

    def __init__(
        self, path: str | Path | None = None, *, timeout_s: float = 30.0, create: bool = True, check: bool = True
    ) -> None:
        self.path = Path(path) if path is not None else default_path()
        if not create and not self.path.is_file():
            raise StoreError(
                f"{self.path}: no queue store here (create one with: {table.queue_command('init SCENARIO', self.path)})"
            )
        self._depth = 0
        self._docs: dict[int, dict[str, Any]] = {}  # shifts' scenario documents, parsed once (never rewritten)
        self._departments: tuple[str, ...] | None = None
        try:
            if create:
                _create_private(self.path)
            self.db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the queue store ({exc})") from None
        self.db.row_factory = sqlite3.Row
        try:
            self._recognise(self.db)  # before anything is written to a file that may not be ours
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            if check:
                problem = self.light_check()
                if problem:
                    raise StoreError(
                        f"{self.path}: the action log fails its check ({problem}); "
                        f"see microgov queue verify --db {self.path}"
                    )
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{self.path}: not a microgov queue store ({exc})") from None
        except StoreError:
            self.db.close()
            raise
        self.warnings = loose_permissions(self.path)

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
                upgrade = UPGRADES.get(v)
                if upgrade is not None and version > 0:
                    upgrade(self, db)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(v),))

    def _upgrade_to_2(self, db: sqlite3.Connection) -> None:
        """Version 1 to 2: chain the log so far (its triggers lifted for the moment, inside this
        transaction), move whistles' summoned departments into ``summons`` (each move logged), and log
        the district as loaded, so that :meth:`verify` has what to check the tables against."""
        db.execute("DROP TRIGGER actions_append_only_update")
        previous = ""
        for row in list(db.execute("SELECT * FROM actions ORDER BY seq")):
            previous = row_hash(previous, row)
            db.execute("UPDATE actions SET hash = ? WHERE seq = ?", (previous, row["seq"]))
        db.execute(TRIGGERS["actions_append_only_update"])
        whistled = db.execute(
            "SELECT * FROM requests WHERE passed_to IS NOT NULL AND passed_to != post AND status != 'closed'"
        )
        for before in [_request(r) for r in whistled]:
            summons = dict.fromkeys((before.passed_to or "").split("+"))
            self._change(db, before, {"passed_to": None, "summons": summons}, "migrated", None, note="schema 2")
        if db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]:
            state = self._district_state(db)
            self._log(
                db,
                None,
                SYSTEM,
                "district",
                "migrate",
                None,
                None,
                None,
                target=state["scenario"],
                note="schema version 1 to 2",
                after_doc=state,
            )

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

    def _attempt(
        self,
        account: str,
        post: str,
        action: str,
        work: Callable[[sqlite3.Connection], Any],
        *,
        note: str = "",
        target: str = "",
        subject: Callable[[], RequestRecord | None] | None = None,
    ) -> Any:
        """Run ``work`` in one transaction; if it refuses, undo what it wrote, log the refusal (who,
        where, what, why, and the request it is about: ``subject``, as the work found it) and raise it
        once the refusal is committed (or, inside a caller's transaction, with it)."""
        refusal: Refused | None = None
        with self.transaction() as db:
            db.execute("SAVEPOINT attempt")
            try:
                result = work(db)
            except Refused as exc:
                db.execute("ROLLBACK TO attempt")
                db.execute("RELEASE attempt")
                shift = self.current_shift()
                before = subject() if subject is not None else None
                self._log(
                    db,
                    before.id if before else None,
                    account,
                    post,
                    action,
                    shift.clock_h if shift else None,
                    before,
                    None,
                    target=target,
                    note=note,
                    ok=False,
                    reason=str(exc),
                )
                refusal = exc
            else:
                db.execute("RELEASE attempt")
                return result
        assert refusal is not None
        raise refusal

    # --- the log's integrity -------------------------------------------------------------------------

    def _trigger_problem(self) -> str:
        found = {
            r["name"]: _squash(r["sql"] or "")
            for r in self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        }
        for name, sql in TRIGGERS.items():
            if name not in found:
                return f"trigger {name} is missing"
            if found[name] != _squash(sql):
                return f"trigger {name} was changed"
        extra = sorted(set(found) - set(TRIGGERS))
        return f"an unknown trigger {extra[0]} was added" if extra else ""

    def light_check(self) -> str:
        """What is wrong with the log at a glance (its triggers, its last row's hash, rows removed from
        its end), or ``""``."""
        problem = self._trigger_problem()
        if problem:
            return problem
        rows = list(self.db.execute("SELECT * FROM actions ORDER BY seq DESC LIMIT 2"))
        if rows:
            previous = rows[1]["hash"] if len(rows) > 1 else ""
            if rows[0]["hash"] != row_hash(previous, rows[0]):
                return f"action #{rows[0]['seq']}'s hash does not match its contents"
        top = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'actions'").fetchone()
        last = rows[0]["seq"] if rows else 0
        if top is not None and int(top[0]) > last:
            return f"actions #{last + 1} to #{top[0]} were removed from its end"
        return ""

    def verify(self) -> Verification:
        """Check the whole store: its schema version and triggers, every log row's hash, every request
        against what the log says it is (as it arrived, and after its last action), every operator and
        grant against the log's account changes, and the district against its last loading."""
        problems: list[tuple[str, str]] = []
        version = self.schema_version
        if version != SCHEMA_VERSION:
            problems.append(("schema", f"schema version {version}, expected {SCHEMA_VERSION}"))
        trigger = self._trigger_problem()
        if trigger:
            problems.append(("triggers", trigger))
        previous, count, last_seq = "", 0, 0
        content: dict[int, dict[str, Any]] = {}
        state: dict[int, tuple[int, dict[str, Any]]] = {}
        accounts: dict[str, tuple[int, dict[str, Any] | None]] = {}
        district: tuple[int, dict[str, Any]] | None = None
        for row in self.db.execute("SELECT * FROM actions ORDER BY seq"):
            count += 1
            seq = int(row["seq"])
            expected = row_hash(previous, row)
            if row["hash"] != expected:
                problems.append(
                    (
                        f"action #{seq}",
                        "its hash does not match its contents and the row before it"
                        " (changed, or rows before it removed)",
                    )
                )
                expected = row["hash"]  # report each break once, not every row after it
            previous, last_seq = expected, seq
            if not row["ok"]:
                continue
            after = _json(row["after"])
            if row["request_id"] is not None and after is not None:
                rid = int(row["request_id"])
                if row["action"] == "arrived" and row["before"] is None:
                    content[rid] = after
                state[rid] = (seq, after)
            elif row["action"] in ACCOUNT_ACTIONS:
                accounts[row["target"]] = (seq, after)
            elif row["action"] in DISTRICT_ACTIONS:
                district = (seq, after or {})
        top = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'actions'").fetchone()
        if top is not None and int(top[0]) > last_seq:
            problems.append((f"action #{last_seq + 1}", f"actions #{last_seq + 1} to #{top[0]} were removed"))
        requests = 0
        for row in self.db.execute("SELECT * FROM requests ORDER BY id"):
            requests += 1
            r = _request(row)
            where = f"request #{r.id}"
            if r.id not in state:
                problems.append((where, "it has no entry in the action log"))
                continue
            seq, logged = state.pop(r.id)
            arrived = content.get(r.id, {})
            changed = [k for k in CONTENT_FIELDS if k in arrived and arrived[k] != getattr(r, k)]
            changed += [k for k in STATE_FIELDS if k in logged and logged[k] != getattr(r, k)]
            if changed:
                problems.append((where, f"its {', '.join(changed)} differ from the log (last logged at action #{seq})"))
        for rid, (seq, _) in sorted(state.items()):
            problems.append((f"request #{rid}", f"the log has it (action #{seq}) but the store does not"))
        operators = self._operators_now()
        orphans = self.db.execute(
            "SELECT account, post FROM grants WHERE account NOT IN (SELECT account FROM operators) ORDER BY account"
        )
        for row in orphans:
            problems.append((f"operator {row['account']}", f"holds a grant of {row['post']} but is no account here"))
        for account in sorted(set(operators) | set(accounts)):
            logged_op = accounts.get(account, (0, None))[1]
            if operators.get(account) != logged_op:
                seq = accounts.get(account, (0, None))[0]
                said = f"action #{seq}" if seq else "no grant in the log"
                problems.append((f"operator {account}", f"its role or grants differ from the log ({said})"))
        posts = int(self.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
        if posts or district is not None:
            now = self._district_state(self.db)
            logged_district = district[1] if district else {}
            differ = [k for k in now if logged_district.get(k) != now[k]]
            if differ:
                at = f"action #{district[0]}" if district else "no loading in the log"
                problems.append(("district", f"its {', '.join(differ)} differ from its last loading ({at})"))
        return Verification(str(self.path), version, count, previous, requests, len(operators), posts, tuple(problems))

    def export_log(self, account: str, out: Path) -> int:
        """Write the whole action log to ``out`` (CSV, owner-only), for auditors; admins only. Returns
        the number of rows written. The file is written under a temporary name and renamed into place."""

        def work(db: sqlite3.Connection) -> None:
            self._require_admin(account, "export-log")
            if out.resolve() in {self.path.resolve(), Path(f"{self.path}-wal").resolve()}:
                raise Refused(f"{out}: that is the store itself; give another file")

        self._attempt(account, "district", "export-log", work, target=str(out))
        columns = (
            "seq",
            "at",
            "at_wall",
            "sim_h",
            "operator",
            "post",
            "action",
            "request_id",
            "target",
            "note",
            "ok",
            "reason",
            "before",
            "after",
            "hash",
        )
        part = out.with_name(f".{out.name}.part")
        written = 0
        try:
            fd = os.open(part, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(columns)
                for row in self.db.execute("SELECT * FROM actions ORDER BY seq"):
                    writer.writerow(["" if row[c] is None else row[c] for c in columns])
                    written += 1
            os.replace(part, out)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise StoreError(f"{out}: cannot write the log there ({exc.strerror or exc})") from None
        return written

    # --- posts and the district ----------------------------------------------------------------------

    def load_posts(
        self,
        posts: Iterable[tuple[str, str | None, str, str, str]],
        scenario: str,
        *,
        categories: dict[str, dict[str, Any]] | None = None,
        deadlines: dict[str, tuple[float, float]] | None = None,
        account: str = SYSTEM,
        migrate: bool = False,
    ) -> Loaded:
        """Record the posts of a district (id, parent, level, name, name_en), with the scenario's
        request categories (id: name, name_en, priority, department) and deadlines (priority: response
        and resolution hours), which intake uses for defaults and checks.

        The first loading makes ``account`` the store's admin (with a grant of the whole district).
        Loading again what is there changes nothing. Loading something else is a migration: only an
        admin may, a store holding requests needs ``migrate`` (so that nobody changes the posts and
        deadlines under live requests by accident), a post where a request is or came from can never go,
        and the migration is logged with what changed. ``account`` :data:`SYSTEM` (the library's own
        use) skips the admin checks."""
        rows = sorted(posts, key=lambda p: p[0])

        def work(db: sqlite3.Connection) -> Loaded:
            old = self._district_state(db)
            new = {
                "scenario": scenario,
                "posts": len(rows),
                "posts_sha256": _digest(rows),
                "categories_sha256": old["categories_sha256"] if categories is None else _categories_digest(categories),
                "deadlines": old["deadlines"] if deadlines is None else {p: list(v) for p, v in deadlines.items()},
            }
            loaded = bool(old["posts"])
            action = "migrate" if loaded else "init"
            first_admin = account != SYSTEM and not self._has_admin(db)
            if loaded and {k: old[k] for k in new} == new:
                if first_admin:
                    self._make_admin(db, account)
                return Loaded(len(rows), action, ())
            if account != SYSTEM and not first_admin:
                self._require_admin(account, "migrate" if loaded else "init")
            changes = _district_changes(old, new) if loaded else ()
            held = int(db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
            if loaded and held and not migrate:
                raise Refused(
                    f"{self.path} holds {held:,} requests; loading {scenario} would change "
                    f"{'; '.join(changes)}. Give --migrate to do it (it is logged), or use another --db"
                )
            ids = {p[0] for p in rows}
            lost: dict[int, str] = {}
            for r in db.execute("SELECT id, post, origin, summons FROM requests"):
                for node in (r["post"], r["origin"], *(_json(r["summons"]) or {})):
                    if post_of(node) not in ids:
                        lost.setdefault(int(r["id"]), node)
            if lost:
                more = f" (and {len(lost) - 1:,} more requests)" if len(lost) > 1 else ""
                rid, node = next(iter(lost.items()))
                raise Refused(
                    f"{scenario} has no post '{node}', where request #{rid} is or came from{more}; nothing changed"
                )
            db.execute("DELETE FROM posts")
            db.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('scenario', ?)", (scenario,))
            if categories is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('categories', ?)", (json.dumps(categories),))
            if deadlines is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('deadlines', ?)", (json.dumps(deadlines),))
            self._departments = None
            after = self._district_state(db)
            summary = "; ".join(changes) if changes else f"{len(rows):,} posts"
            self._log(
                db,
                None,
                account,
                "district",
                action,
                None,
                None,
                None,
                target=scenario,
                note=summary,
                before_doc=old if loaded else None,
                after_doc=after,
            )
            if first_admin:
                self._make_admin(db, account)
            return Loaded(len(rows), action, changes)

        result: Loaded = self._attempt(account, "district", "migrate", work, target=scenario)
        return result

    def _district_state(self, db: sqlite3.Connection) -> dict[str, Any]:
        rows = db.execute("SELECT * FROM posts ORDER BY id")
        posts = [(r["id"], r["parent"], r["level"], r["name"], r["name_en"]) for r in rows]
        categories = json.loads(self.meta("categories") or "{}")
        deadlines = json.loads(self.meta("deadlines") or "{}")
        return {
            "scenario": self.meta("scenario") or "",
            "posts": len(posts),
            "posts_sha256": _digest(posts),
            "categories_sha256": _categories_digest(categories),
            "deadlines": {p: list(v) for p, v in deadlines.items()},
        }

    def categories(self) -> dict[str, dict[str, Any]]:
        """The loaded scenario's categories (see :meth:`load_posts`); empty if none were loaded."""
        text = self.meta("categories")
        return dict(json.loads(text)) if text else {}

    def deadlines(self) -> dict[str, tuple[float, float]]:
        """Response and resolution hours per priority of the loaded scenario; empty if none were loaded."""
        text = self.meta("deadlines")
        return {k: (float(v[0]), float(v[1])) for k, v in json.loads(text).items()} if text else {}

    def post(self, post: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute("SELECT * FROM posts WHERE id = ?", (post_of(post),)).fetchone()
        return row

    def posts_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])

    def departments(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM posts WHERE level = 'department' ORDER BY id"))

    def _department_ids(self) -> tuple[str, ...]:
        if self._departments is None:
            self._departments = tuple(r["id"] for r in self.departments())
        return self._departments

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

    # --- operators and grants ------------------------------------------------------------------------

    def operator(self, account: str) -> Operator | None:
        """The account as the store knows it (``None``: it holds no grant here)."""
        row = self.db.execute("SELECT * FROM operators WHERE account = ?", (account,)).fetchone()
        if row is None:
            return None
        posts = tuple(
            r[0] for r in self.db.execute("SELECT post FROM grants WHERE account = ? ORDER BY post", (account,))
        )
        return Operator(row["account"], row["name"], row["role"], posts)

    def _operators_now(self) -> dict[str, dict[str, Any]]:
        return {
            r["account"]: op.as_dict()
            for r in self.db.execute("SELECT account FROM operators ORDER BY account")
            if (op := self.operator(r["account"])) is not None
        }

    def operators(self, account: str) -> list[Operator]:
        """Every account of the store with its role and grants; admins only (a refusal is logged)."""

        def work(db: sqlite3.Connection) -> list[Operator]:
            self._require_admin(account, "operators")
            rows = db.execute("SELECT account FROM operators ORDER BY account")
            return [op for r in rows if (op := self.operator(r["account"])) is not None]

        result: list[Operator] = self._attempt(account, "district", "operators", work)
        return result

    def _has_admin(self, db: sqlite3.Connection) -> bool:
        return db.execute("SELECT 1 FROM operators WHERE role = 'admin' LIMIT 1").fetchone() is not None

    def _require_admin(self, account: str, what: str) -> None:
        op = self.operator(account)
        if op is None or op.role != "admin":
            raise Refused(table.admins_only(what, account, op.role if op else None))

    def _make_admin(self, db: sqlite3.Connection, account: str) -> None:
        """The account loading a store's district first becomes its admin, with the whole district."""
        from sim.operations.identity import full_name

        self._set_operator(db, account, account, "district", "admin", full_name(account), "the store's first admin")

    def _authorise(self, account: str, post: str) -> str:
        """The account's role, if one of its grants covers ``post``; else a refusal."""
        rows = self.db.execute(
            "SELECT o.role, g.post FROM operators o JOIN grants g ON g.account = o.account WHERE o.account = ?",
            (account,),
        ).fetchall()
        if not any(in_scope(row["post"], post) for row in rows):
            raise Refused(table.no_grant(account, post, self.path))
        return str(rows[0]["role"])

    def grant(self, by: str, account: str, post: str, *, role: str | None = None, name: str | None = None) -> Operator:
        """Grant ``account`` the post ``post`` (and so its jurisdiction), adding the account (role
        ``operator`` unless ``role`` says otherwise; ``name`` its display name) or changing its role;
        admins only. Logged, refused or not."""

        from sim.operations.identity import full_name

        def work(db: sqlite3.Connection) -> Operator:
            self._require_admin(by, "grant")
            if account == SYSTEM or not _ACCOUNT_NAME.fullmatch(account):
                raise Refused(
                    f"'{account}' cannot be an operator's account (system accounts only; '{SYSTEM}' is reserved)"
                )
            if role is not None and role not in ROLES:
                raise Refused(f"role must be one of {', '.join(ROLES)}, found '{role}'")
            self.check_post(post)
            old = self.operator(account)
            new_role = role or (old.role if old else "operator")
            if old is not None and old.role == "admin" and new_role != "admin":
                self._keep_an_admin(db, account)
            # the name shown defaults as the first admin's does: the system's name for the account
            shown = (name or "").strip() or (old.name if old else "") or full_name(account)
            self._set_operator(db, by, account, post, new_role, shown, "")
            op = self.operator(account)
            assert op is not None
            return op

        result: Operator = self._attempt(by, post, "grant", work, target=account, note=role or "")
        return result

    def revoke(self, by: str, account: str, post: str | None = None) -> Operator | None:
        """Take ``post`` (or every post) from ``account``; an account left with no post is removed.
        Admins only, and never the last admin. Logged, refused or not."""

        def work(db: sqlite3.Connection) -> Operator | None:
            self._require_admin(by, "revoke")
            old = self.operator(account)
            if old is None:
                raise Refused(f"{account} holds no grant here")
            if post is not None and post not in old.posts:
                raise Refused(f"{account} holds no grant of {post} (it holds {', '.join(old.posts)})")
            left = [p for p in old.posts if post is not None and p != post]
            if old.role == "admin" and not left:
                self._keep_an_admin(db, account)
            if post is None:
                db.execute("DELETE FROM grants WHERE account = ?", (account,))
            else:
                db.execute("DELETE FROM grants WHERE account = ? AND post = ?", (account, post))
            if not left:
                db.execute("DELETE FROM operators WHERE account = ?", (account,))
            after = self.operator(account)
            self._log(
                db,
                None,
                by,
                post or "district",
                "revoke",
                None,
                None,
                None,
                target=account,
                before_doc=old.as_dict(),
                after_doc=after.as_dict() if after else None,
            )
            return after

        result: Operator | None = self._attempt(by, post or "district", "revoke", work, target=account)
        return result

    def _keep_an_admin(self, db: sqlite3.Connection, account: str) -> None:
        others = db.execute("SELECT COUNT(*) FROM operators WHERE role = 'admin' AND account != ?", (account,))
        if not others.fetchone()[0]:
            raise Refused(f"{account} is the store's last admin; make another account admin first")

    def _set_operator(
        self, db: sqlite3.Connection, by: str, account: str, post: str, role: str, name: str, note: str
    ) -> None:
        old = self.operator(account)
        now = _wall_text()
        db.execute(
            "INSERT INTO operators VALUES (?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET name = ?, role = ?",
            (account, name, role, now, name, role),
        )
        db.execute("INSERT OR IGNORE INTO grants VALUES (?, ?, ?)", (account, post, now))
        after = self.operator(account)
        assert after is not None
        self._log(
            db,
            None,
            by,
            post,
            "grant",
            None,
            None,
            None,
            target=account,
            note=note or role,
            before_doc=old.as_dict() if old else None,
            after_doc=after.as_dict(),
        )

    def sign_in(self, account: str, post: str) -> Operator:
        """Sign ``account`` in at ``post``: refused (and logged) unless one of its grants covers it."""

        def work(db: sqlite3.Connection) -> Operator:
            self.check_post(post)
            self._authorise(account, post)
            db.execute("INSERT OR REPLACE INTO sign_ins VALUES (?, ?, ?)", (account, post, _wall_text()))
            op = self.operator(account)
            assert op is not None
            return op

        result: Operator = self._attempt(account, post, "sign in", work)
        return result

    # --- the clock -----------------------------------------------------------------------------------

    def clock(self) -> dt.datetime:
        """Now, as the store's operators see it: a running shift's simulated time, else the wall clock."""
        shift = self.current_shift()
        if shift is not None:
            return shift.when(shift.clock_h)
        return dt.datetime.now().replace(microsecond=0)

    # --- requests in ---------------------------------------------------------------------------------

    def add(self, items: Sequence[NewRequest], *, account: str = SYSTEM) -> tuple[list[int], int]:
        """Add requests in one transaction; those whose (source, source id) is already here are skipped.
        Returns the new store ids and the number of duplicates. An ``account`` other than the system's
        (intake from a file) needs grants covering every request's post, or nothing is added."""

        def work(db: sqlite3.Connection) -> tuple[list[int], int]:
            if account != SYSTEM:
                for post in sorted({r.post for r in items}):
                    self._authorise(account, post)
            ids, duplicates = [], 0
            for r in items:
                rid = self._insert(db, r, account)
                if rid is None:
                    duplicates += 1
                else:
                    ids.append(rid)
            return ids, duplicates

        result: tuple[list[int], int] = self._attempt(
            account, "district", "intake", work, note=f"{len(items):,} requests"
        )
        return result

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
        assert after is not None
        self._log(
            db,
            rid,
            operator,
            r.post,
            "arrived",
            sim_h,
            None,
            None,
            note=r.source,
            after_doc={**after.content(), **after.state()},
        )
        return rid

    def get(self, request_id: int) -> RequestRecord | None:
        return self._get(self.db, request_id)

    def find(self, source: str, source_id: str) -> RequestRecord | None:
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
    ) -> list[RequestRecord]:
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
                else " AND (post = ? OR post LIKE ? OR origin = ? OR origin LIKE ? OR summons LIKE ?)"
            )
            + (" AND source = ?" if source else "")
            + " ORDER BY CASE priority WHEN 'special' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END,"
            " CASE WHEN responded_at IS NULL THEN response_due ELSE resolution_due END, created_at, id"
        )
        args: list[Any] = list(statuses)
        if post != "district":
            args += [post, post + "/%", post, post + "/%", f'%"{post}"%']
        if source:
            args.append(source)
        rows = self.db.execute(sql, args)
        out = []
        for row in rows:
            r = _request(row)
            if in_scope(post, r.post) or post in r.summons or (raised and in_scope(post, r.origin)):
                out.append(r)
        return out

    def read_queue(self, account: str, post: str, **options: Any) -> list[RequestRecord]:
        """:meth:`queue` for ``account``: refused (and logged) unless one of its grants covers ``post``."""

        def work(db: sqlite3.Connection) -> list[RequestRecord]:
            self.check_post(post)
            self._authorise(account, post)
            return self.queue(post, **options)

        result: list[RequestRecord] = self._attempt(account, post, "list", work)
        return result

    def read_request(self, account: str, post: str, request_id: int) -> tuple[RequestRecord, list[Action]]:
        """A request and its history for ``account`` at ``post``: refused (and logged) unless a grant
        covers the post and the request is in its jurisdiction, was raised there, or summons it."""
        seen: dict[str, RequestRecord | None] = {}

        def work(db: sqlite3.Connection) -> tuple[RequestRecord, list[Action]]:
            request = seen["request"] = self._get(db, request_id)
            self.check_post(post)
            self._authorise(account, post)
            if request is None:
                raise Refused(table.no_request(request_id))
            if not (in_scope(post, request.post) or in_scope(post, request.origin) or post in request.summons):
                raise Refused(table.outside(request_id, request.post, post))
            return request, self.history(request_id)

        result: tuple[RequestRecord, list[Action]] = self._attempt(
            account, post, "show", work, subject=lambda: seen.get("request")
        )
        return result

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
        account: str,
        post: str,
        action: str,
        request_id: int,
        *,
        note: str = "",
        to: str | Sequence[str] | None = None,
        referee: Referee | None = None,
    ) -> tuple[RequestRecord, Action]:
        """Carry out one action by ``account`` at ``post`` in one transaction, or refuse it (and log the
        refusal).

        ``claim``, ``release``, ``settle`` (with a note saying how), ``pass`` (to a department),
        ``whistle`` (summon one or more departments; street and town offices only), ``escalate`` (to the
        post above, or a named post further up), ``return`` (down to a post below), ``note``, and
        ``undo`` (this account's settle, within ten seconds); a summoned department's ``claim``,
        ``release``, ``settle`` and ``return`` are about its part (``sim.policies.actions``). The account needs a
        grant covering ``post``. On a request of the training shift under way, ``referee`` (the shift's
        simulation) judges the action too; without one, such an action is refused.
        """
        seen: dict[str, RequestRecord | None] = {}

        def work(db: sqlite3.Connection) -> tuple[RequestRecord, Action]:
            before = seen["before"] = self._get(db, request_id)
            shift = self.current_shift()
            sim_h = shift.clock_h if shift is not None else None
            now = shift.iso(shift.clock_h) if shift is not None else _wall_text()
            if action not in table.RULES:
                raise Refused(table.unknown_action(action))
            here = self.check_post(post)
            role = self._authorise(account, post)
            if before is None:
                raise Refused(table.no_request(request_id))
            in_shift = shift is not None and before.source == shift.source and action in ENGINE_INPUTS
            if in_shift and referee is None:
                assert shift is not None
                raise Refused(table.in_training_shift(request_id, shift.id))
            relation = JURISDICTION if in_scope(post, before.post) else SUMMONED if post in before.summons else OUTSIDE
            if relation == OUTSIDE and action == "undo" and self._reported(before.id, post):
                relation = SUMMONED  # the department takes back the report that ended its summons
            given = to
            if not given and in_shift and referee is not None:
                given = referee.default_target(before, action)
            targets = self._targets(action, relation, before, given)
            case = self._case(action, account, role, post, here, relation, before, note, targets)
            problem = table.refusal(action, case)
            if not problem and in_shift and referee is not None:
                problem = referee.refusal(before, action, post, [t.node for t in targets or ()])
            if problem:
                raise Refused(problem)
            changes, target = self._effect(action, relation, account, post, before, targets or (), now)
            if changes.get("status") == "away" and not in_shift:
                # no simulation plays the post it goes to: people there work it, so it is open there
                changes["status"] = "open"
            if changes:
                if before.responded_at is None and action not in ("note", "release", "undo"):
                    changes.setdefault("responded_at", now)
                self._update(db, request_id, changes)
            after = self._get(db, request_id)
            assert after is not None
            seq = self._log(db, request_id, account, post, action, sim_h, before, after, target=target, note=note)
            return after, self._action_at(db, seq)

        result: tuple[RequestRecord, Action] = self._attempt(
            account, post, action, work, note=note, subject=lambda: seen.get("before")
        )
        return result

    def _targets(
        self, action: str, relation: str, before: RequestRecord, to: str | Sequence[str] | None
    ) -> tuple[Target, ...] | None:
        """The posts ``to`` names, as the action table judges them (the default ones filled in)."""
        rule = table.RULES[action]
        names = [to] if isinstance(to, str) else list(to or [])
        names = [n for n in dict.fromkeys(names) if n]
        if relation == SUMMONED and action == "return" and names:
            return tuple(Target(n) for n in names)  # a summoned department hands back; it sends nothing elsewhere
        if not rule.target or relation != JURISDICTION:
            return None
        here = post_of(before.post)
        if action == "escalate" and not names:
            row = self.post(here)
            names = [row["parent"]] if row is not None and row["parent"] else []
        if action == "return" and not names:
            below = child_towards(here, before.origin) if before.origin else None
            if here == DISTRICT and before.origin:
                names = [office_of(before.origin)]
            elif below is not None:
                names = [below]
        out = []
        for name in names:
            row = self.post(name)
            level = str(row["level"]) if row is not None else ""
            out.append(Target(name, level, above=above(name, here), below=row is not None and row["parent"] == here))
        return tuple(out)

    def _case(
        self,
        action: str,
        account: str,
        role: str,
        post: str,
        here: sqlite3.Row,
        relation: str,
        before: RequestRecord,
        note: str,
        targets: tuple[Target, ...] | None,
    ) -> Case:
        at = post_of(before.post)
        at_row = here if at == post else self.post(at)
        settled_by, ago = None, 0.0
        if action == "undo":
            last = self._last_done(before.id)
            if last is not None and last["action"] == "settle":
                settled_by, ago = str(last["operator"]), time.time() - float(last["at_wall"])
        return Case(
            number=before.id,
            status=before.status,
            at=at,
            at_level=str(at_row["level"]) if at_row is not None else "",
            account=account,
            post=post,
            level=str(here["level"]),
            relation=relation,
            role=role,
            claimed_by=before.claimed_by,
            with_=before.passed_to or "+".join(before.summons) or before.post,
            outcome=before.outcome,
            part_by=before.summons.get(post),
            settled_by=settled_by,
            settled_ago_s=ago,
            note=note,
            targets=targets,
            departments=self._department_ids() if action in ("pass", "whistle") else (),
            below=tuple(r["id"] for r in self.children(at)[:8]) if action == "return" else (),
        )

    def _reported(self, request_id: int, post: str) -> bool:
        """Was the last thing done to the request ``post`` reporting its summoned part done?"""
        last = self._last_done(request_id)
        if last is None or last["action"] != "settle" or last["post"] != post:
            return False
        return post in (json.loads(last["before"] or "{}").get("summons") or {})

    def _last_done(self, request_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM actions WHERE request_id = ? AND ok = 1 ORDER BY seq DESC LIMIT 1", (request_id,)
        ).fetchone()
        return row

    def _effect(
        self,
        action: str,
        relation: str,
        account: str,
        post: str,
        before: RequestRecord,
        targets: tuple[Target, ...],
        now: str,
    ) -> tuple[dict[str, Any], str]:
        """What ``action`` changes on the request (allowed already), and its target as logged."""
        if action == "undo":
            last = self._last_done(before.id)
            assert last is not None
            restored = json.loads(last["before"])
            keys = ("status", "claimed_by", "outcome", "post", "closed_at", "summons")
            return {k: restored.get(k) for k in keys}, f"#{last['seq']}"
        if action == "note":
            return {}, ""
        if relation == SUMMONED:
            part = dict(before.summons)
            if action == "claim":
                part[post] = account
            elif action == "release":
                part[post] = None
            else:  # its part reported done (settle) or handed back (return): the summons ends
                del part[post]
            return {"summons": part}, before.post if action == "return" else ""
        if action == "claim":
            return {"status": "claimed", "claimed_by": account}, ""
        if action == "release":
            return {"status": "open", "claimed_by": None}, ""
        if action == "settle":
            return {
                "status": "closed",
                "claimed_by": account,
                "outcome": f"settled at {post}",
                "closed_at": now,
                "summons": {},
            }, ""
        if action == "pass":
            department = targets[0].node
            return {
                "status": "away",
                "passed_to": department,
                "claimed_by": None,
                "post": department,
                "summons": {},
            }, department
        if action == "whistle":
            summons = {**before.summons, **{t.node: before.summons.get(t.node) for t in targets}}
            return {"status": "away", "claimed_by": None, "post": post, "summons": summons}, "+".join(
                t.node for t in targets
            )
        if action == "escalate":
            return {"status": "away", "claimed_by": None, "post": targets[0].node, "summons": {}}, targets[0].node
        # return
        here = self.post(before.post)
        if here is not None and here["level"] == "department":
            # a department cannot solve it: back to the office it came from, for study
            office = office_of(before.origin)
            if self.post(office) is None:
                raise Refused(f"request #{before.id} came from no street or town office to return it to")
            return {"status": "away", "claimed_by": None, "passed_to": None, "post": office, "summons": {}}, office
        return {"status": "away", "claimed_by": None, "post": targets[0].node, "summons": {}}, targets[0].node

    def _update(self, db: sqlite3.Connection, request_id: int, changes: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in changes)
        values = [_column(k, v) for k, v in changes.items()]
        db.execute(f"UPDATE requests SET {sets}, version = version + 1 WHERE id = ?", (*values, request_id))

    def hand_back(self, shift: TrainingShift, requests: Sequence[RequestRecord], sim_h: float, why: str) -> None:
        """The shift is over: what is left in its person's queue goes back to the post's staff on duty."""
        with self.transaction() as db:
            for request in requests:
                self._change(db, request, {"status": "away", "claimed_by": None}, "handed back", sim_h, note=why)

    def record_outcomes(self, shift: TrainingShift, outcomes: dict[str, tuple[float, str]]) -> int:
        """After a shift: close the requests its person passed on that the simulation closed later
        (source id: when, and how). Returns how many were closed."""
        closed = 0
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM requests WHERE source = ? AND status = 'away'", (shift.source,))
            for request in [_request(r) for r in rows]:
                if request.source_id not in outcomes:
                    continue
                at_h, outcome = outcomes[request.source_id]
                changes: dict[str, Any] = {
                    "status": "closed",
                    "closed_at": shift.iso(at_h),
                    "outcome": outcome,
                    "claimed_by": None,
                    "summons": {},
                }
                self._change(db, request, changes, "closed", at_h, note=outcome)
                closed += 1
        return closed

    def holder_of(self, shift_id: int) -> str | None:
        row = self.db.execute("SELECT holder FROM shifts WHERE id = ?", (shift_id,)).fetchone()
        return str(row[0]) if row is not None and row[0] else None

    def _get(self, db: sqlite3.Connection, request_id: int) -> RequestRecord | None:
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
        before: RequestRecord | None,
        after: RequestRecord | None,
        *,
        target: str = "",
        note: str = "",
        ok: bool = True,
        reason: str = "",
        before_doc: Mapping[str, Any] | None = None,
        after_doc: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a row to the log, chained to the row before it. Returns its seq."""
        last = db.execute("SELECT seq, hash FROM actions ORDER BY seq DESC LIMIT 1").fetchone()
        now = time.time()
        before_doc = before.state() if before is not None else before_doc
        after_doc = after.state() if after is not None else after_doc
        seq = (int(last["seq"]) if last else 0) + 1
        row: dict[str, Any] = {
            "seq": seq,
            "request_id": request_id,
            "operator": operator,
            "post": post,
            "action": action,
            "at": _wall_text(now),
            "at_wall": now,
            "sim_h": sim_h,
            "target": target,
            "note": note,
            "before": json.dumps(before_doc) if before_doc is not None else None,
            "after": json.dumps(after_doc) if after_doc is not None else None,
            "ok": int(ok),
            "reason": reason,
        }
        row["hash"] = row_hash(last["hash"] if last else "", row)
        db.execute(
            f"INSERT INTO actions ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )
        return seq

    def _change(
        self,
        db: sqlite3.Connection,
        before: RequestRecord,
        changes: dict[str, Any],
        action: str,
        sim_h: float | None,
        *,
        note: str = "",
        target: str = "",
    ) -> None:
        """A change the system makes (the simulated district, a settle made final), logged as such."""
        if changes:
            self._update(db, before.id, changes)
        after = self._get(db, before.id)
        self._log(db, before.id, SYSTEM, before.post, action, sim_h, before, after, note=note, target=target)

    # --- shifts ----------------------------------------------------------------------------------------

    def current_shift(self) -> TrainingShift | None:
        """The shift under way (running or paused), if any."""
        row = self.db.execute("SELECT * FROM shifts WHERE status != 'finished' ORDER BY id DESC LIMIT 1").fetchone()
        return self._shift(row) if row else None

    def shift(self, shift_id: int) -> TrainingShift | None:
        row = self.db.execute("SELECT * FROM shifts WHERE id = ?", (shift_id,)).fetchone()
        return self._shift(row) if row else None

    def last_shift(self) -> TrainingShift | None:
        row = self.db.execute("SELECT * FROM shifts ORDER BY id DESC LIMIT 1").fetchone()
        return self._shift(row) if row else None

    def _shift(self, row: sqlite3.Row) -> TrainingShift:
        # read on every action of a shift: the (large) scenario document is parsed once per shift
        doc = self._docs.get(row["id"])
        if doc is None:
            doc = self._docs[row["id"]] = json.loads(row["scenario_doc"])
        shift: TrainingShift = _from_row(
            TrainingShift,
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
        trainee: str = "",
    ) -> TrainingShift:
        self.check_post(post)
        with self.transaction() as db:
            if self.current_shift() is not None:
                raise Refused(f"{self.path}: a shift is already under way here; finish it or use another --db")
            cur = db.execute(
                "INSERT INTO shifts (scenario_path, scenario_doc, post, operator, seed, epoch, speed, start_h, end_h,"
                " clock_h, status, started_at, trainee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
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
                    trainee,
                ),
            )
            db.execute("INSERT OR REPLACE INTO sign_ins VALUES (?, ?, ?)", (operator, post, _wall_text()))
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

    def engine_inputs(self, shift: TrainingShift, after_seq: int = 0) -> list[Action]:
        """The logged actions that steer the shift's simulation, in the order they were taken."""
        marks = ", ".join("?" for _ in ENGINE_INPUTS)
        rows = self.db.execute(
            f"SELECT a.* FROM actions a JOIN requests r ON r.id = a.request_id WHERE a.seq > ? AND a.ok = 1"
            f" AND a.sim_h IS NOT NULL AND r.source = ? AND a.action IN ({marks}) ORDER BY a.seq",
            (after_seq, shift.source, *ENGINE_INPUTS),
        )
        return [_action(r) for r in rows]

    def settles_to_confirm(self, shift: TrainingShift, older_than_s: float | None = None) -> list[RequestRecord]:
        """The shift's settled requests whose undo window (``older_than_s``, default the action table's)
        has passed and that are not yet final."""
        cutoff = time.time() - (table.UNDO_WINDOW_S if older_than_s is None else older_than_s)
        rows = self.db.execute(
            "SELECT r.* FROM requests r JOIN actions a ON a.seq = (SELECT MAX(seq) FROM actions WHERE request_id = r.id"
            " AND ok = 1) WHERE r.source = ? AND r.status = 'closed' AND a.action = 'settle' AND a.at_wall <= ?"
            " ORDER BY a.seq",
            (shift.source, cutoff),
        )
        return [_request(r) for r in rows]

    def confirm(self, shift: TrainingShift, request: RequestRecord, sim_h: float) -> Action:
        """Make a settle final: it can no longer be undone, and the simulation closes the request."""
        with self.transaction() as db:
            self._change(db, request, {}, "confirm", sim_h)
            return self._action_at(db, self.last_seq())

    def apply_feed(self, shift: TrainingShift, events: Sequence[FeedEvent]) -> int:
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
                        "summons": {},
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
                    changes = {"status": "away", "post": ev.post, "claimed_by": None, "summons": {}}
                elif ev.kind == "closed":
                    changes = {"status": "closed", "closed_at": shift.iso(ev.at_h), "outcome": ev.detail, "summons": {}}
                elif ev.kind == "responded":
                    changes = {"responded_at": shift.iso(ev.responded_h if ev.responded_h is not None else ev.at_h)}
                else:
                    raise StoreError(f"unknown feed event '{ev.kind}'")
                self._change(db, existing, changes, ev.kind, ev.at_h, note=ev.detail, target=ev.post)
                written += 1
        return written


#: Version upgrades that need more than statements, by the version they lead to.
UPGRADES: dict[int, Callable[[Store, sqlite3.Connection], None]] = {2: Store._upgrade_to_2}


def _district_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """What loading ``new`` over ``old`` changes, in words."""
    changes = []
    if old["scenario"] != new["scenario"]:
        changes.append(f"the scenario {old['scenario']} → {new['scenario']}")
    if old["posts"] != new["posts"]:
        changes.append(f"posts {old['posts']:,} → {new['posts']:,}")
    elif old["posts_sha256"] != new["posts_sha256"]:
        changes.append(f"the posts (still {new['posts']:,})")
    if old["categories_sha256"] != new["categories_sha256"]:
        changes.append("the categories")
    for priority in PRIORITIES:
        was, now = old["deadlines"].get(priority), new["deadlines"].get(priority)
        if was != now:
            shown = [f"{x:g}" for x in now] if now else ["–"]
            before = [f"{x:g}" for x in was] if was else ["–"]
            changes.append(f"{priority} deadlines {'/'.join(before)} h → {'/'.join(shown)} h")
    return tuple(changes)


def _categories_digest(categories: Mapping[str, Any]) -> str:
    return _digest(sorted((k, json.dumps(v, sort_keys=True)) for k, v in categories.items()))


def _column(key: str, value: Any) -> Any:
    """A request field's value as its column holds it (summons: JSON, or NULL when none is open)."""
    if key == "summons":
        return json.dumps(value) if value else None
    return value


def _from_row(cls: Any, row: sqlite3.Row, **decoded: Any) -> Any:
    """A dataclass from a row: its fields by name, with the ``decoded`` ones given."""
    return cls(**{k: decoded[k] if k in decoded else row[k] for k in cls.__dataclass_fields__})


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _request(row: sqlite3.Row) -> RequestRecord:
    request: RequestRecord = _from_row(RequestRecord, row, summons=_json(row["summons"]) or {})
    return request


def _action(row: sqlite3.Row) -> Action:
    action: Action = _from_row(Action, row, before=_json(row["before"]), after=_json(row["after"]), ok=bool(row["ok"]))
    return action


def holder_id() -> str:
    """This process, as the holder of a shift: ``host:pid``."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(holder: str) -> bool:
    """Is the process ``host:pid`` still running? (Another machine's: assumed so, until its lease ends.)"""
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
