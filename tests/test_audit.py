"""The store's audit trail holds: a hash-chained log that opening checks and ``queue verify`` checks whole,
the export for auditors, a district changed only by a logged migration, owner-only files, and stores of
the first schema brought up to date."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

import sim.operations.store as store_module
from sim.operations.store import MIGRATIONS, TRIGGERS, Refused, Store, StoreError, row_hash
from tests.conftest import SMALL
from tests.test_store import CATEGORIES, DEADLINES, ME, POSTS, new, one_error_line, small_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "queue.db"
    with small_store(path) as s:
        s.add([new(1, "S1/C1/G1"), new(2, "S2/C1"), new(3, "S1/C1")])
        s.act("ann", "S1", "claim", 1)
        s.act("ann", "S1", "settle", 1, note="lamp replaced")
        s.act("bob", "S1", "whistle", 3, to="water")
        s.act("wu", "water", "claim", 3)
    return path


def tamper(path: Path, *sql: str, keep_triggers: bool = True) -> None:
    """What someone with the file can do with ``sqlite3``: lift the triggers, change rows, put them back."""
    with sqlite3.connect(path) as other:
        for name in TRIGGERS:
            other.execute(f"DROP TRIGGER {name}")
        for statement in sql:
            other.execute(statement)
        if keep_triggers:
            for statement in TRIGGERS.values():
                other.execute(statement)
    other.close()


def problems(path: Path) -> list[tuple[str, str]]:
    with Store(path, create=False, check=False) as s:
        return list(s.verify().problems)


# --- the chain ---------------------------------------------------------------------------------------------


def test_each_row_is_hashed_onto_the_one_before(db: Path):
    with Store(db, create=False) as s:
        rows = list(s.db.execute("SELECT * FROM actions ORDER BY seq"))
        previous = ""
        for row in rows:
            assert row["hash"] == row_hash(previous, row)
            previous = row["hash"]
        result = s.verify()
    assert result.ok and result.actions == len(rows) and result.head == previous
    assert (result.requests, result.posts) == (3, len(POSTS))


def test_a_changed_row_is_found_by_verify(cli, db: Path):
    tamper(db, "UPDATE actions SET operator = 'nobody' WHERE seq = 3")
    with Store(db, create=False) as s:  # the triggers are back and the last row is untouched: it opens
        assert s.last_seq() > 3
    result = cli("queue", "verify", "--db", str(db))
    assert result.code == 1 and result.err.count("\n") == 1
    assert result.err.startswith(f"error: {db} fails verification: action #3: its hash does not match")
    shown = json.loads(cli("queue", "verify", "--db", str(db), "--json").out)
    assert not shown["ok"] and shown["problems"][0]["where"] == "action #3"


def test_a_store_whose_triggers_are_gone_is_not_opened(cli, db: Path):
    tamper(db, "UPDATE actions SET note = 'nothing happened' WHERE action = 'settle'", keep_triggers=False)
    result = cli("queue", "list", "--as", "S1", "--db", str(db))
    assert one_error_line(result)
    assert result.err == (
        f"error: {db}: the action log fails its check (trigger actions_append_only_update is missing); "
        f"see microgov queue verify --db {db}\n"
    )
    result = cli("queue", "verify", "--db", str(db))
    assert result.code == 1 and "triggers: trigger actions_append_only_update is missing" in result.err


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("UPDATE actions SET note = 'x' WHERE seq = (SELECT MAX(seq) FROM actions)", "hash does not match"),
        ("DELETE FROM actions WHERE seq = (SELECT MAX(seq) FROM actions)", "were removed from its end"),
    ],
    ids=["last row changed", "last row removed"],
)
def test_opening_checks_the_last_row(db: Path, sql: str, found: str):
    tamper(db, sql)
    with pytest.raises(StoreError, match=found):
        Store(db, create=False)


def test_verify_holds_every_table_to_the_log(db: Path):
    tamper(
        db,
        "UPDATE requests SET status = 'closed', outcome = 'settled at S2' WHERE id = 2",
        "UPDATE requests SET text = 'nothing to see' WHERE id = 3",
        "INSERT INTO grants VALUES ('eve', 'district', '2020-01-01T00:00:00')",
        "UPDATE posts SET parent = 'S2' WHERE id = 'S1/C2'",
    )
    found = dict(problems(db))
    assert found["request #2"].startswith("its status, outcome differ from the log")
    assert found["request #3"].startswith("its text differ from the log")
    assert found["operator eve"] == "holds a grant of district but is no account here"
    assert found["district"].startswith("its posts_sha256 differ from its last loading")


def test_a_forged_account_is_found(db: Path):
    tamper(db, "INSERT INTO operators VALUES ('eve', 'Eve', 'admin', '2020-01-01T00:00:00')")
    assert dict(problems(db))["operator eve"] == "its role or grants differ from the log (no grant in the log)"


# --- the audit export --------------------------------------------------------------------------------------


def test_export_log_writes_every_row_for_admins_only(cli, db: Path, tmp_path: Path):
    out = tmp_path / "audit.csv"
    result = cli("queue", "export-log", str(out), "--db", str(db))
    assert result.code == 0 and result.out.strip().endswith("actions")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    with Store(db, create=False) as s:
        logged = s.actions()
        assert [int(r["seq"]) for r in rows] == [a.seq for a in logged[: len(rows)]]
        assert rows[-1]["hash"] == s.db.execute("SELECT hash FROM actions WHERE seq = ?", (len(rows),)).fetchone()[0]
        with pytest.raises(Refused, match="exporting the audit log is for admins; ann is operator"):
            s.export_log("ann", tmp_path / "mine.csv")
    assert not (tmp_path / "mine.csv").exists()
    result = cli("queue", "export-log", str(db), "--db", str(db))
    assert one_error_line(result) and "that is the store itself" in result.err


# --- changing a live store ---------------------------------------------------------------------------------


def test_init_on_a_store_with_requests_needs_migrate_and_is_logged(cli, tmp_path: Path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL.format(staff=4), encoding="utf-8")
    path = tmp_path / "queue.db"
    assert cli("queue", "init", str(scenario), "--db", str(path)).code == 0
    with Store(path, create=False) as s:
        s.add([new(1, "S1/C1/G1")])
        deadlines = s.deadlines()
    again = cli("queue", "init", str(scenario), "--db", str(path))
    assert again.code == 0 and "already held: nothing changed; 1 requests" in again.out
    result = cli("queue", "init", str(scenario), "--set", "deadlines.urgent.response_h=1", "--db", str(path))
    assert one_error_line(result)
    assert "holds 1 requests; loading Small 4 would change urgent deadlines 2/72 h → 1/72 h" in result.err
    with Store(path, create=False) as s:
        assert s.deadlines() == deadlines
        assert [(a.operator, a.action, a.ok) for a in s.actions()][-1] == (ME, "migrate", False)
    faster = ("--set", "deadlines.urgent.response_h=1")
    result = cli("queue", "init", str(scenario), *faster, "--migrate", "--db", str(path))
    assert result.code == 0 and "migrated (urgent deadlines 2/72 h → 1/72 h)" in result.out
    with Store(path, create=False) as s:
        migrated = s.actions()[-1]
        assert (migrated.operator, migrated.action, migrated.ok) == (ME, "migrate", True)
        assert migrated.note == "urgent deadlines 2/72 h → 1/72 h" and s.deadlines()["urgent"] == (1.0, 72.0)
        assert s.verify().ok


def test_a_migration_never_drops_a_request(db: Path):
    fewer = [p for p in POSTS if not p[0].startswith("S2")]
    with Store(db, create=False) as s:
        with pytest.raises(Refused, match="has no post 'S2/C1', where request #2 is or came from; nothing changed"):
            s.load_posts(fewer, "Smaller", categories=CATEGORIES, deadlines=DEADLINES, account=ME, migrate=True)
        with pytest.raises(Refused, match="changing a live store's district is for admins; ann is operator"):
            s.load_posts(POSTS[:-1], "Small", categories=CATEGORIES, deadlines=DEADLINES, account="ann", migrate=True)
        assert s.posts_count() == len(POSTS)


# --- files ---------------------------------------------------------------------------------------------------


def test_store_files_are_owner_only_and_loose_ones_are_named(cli, db: Path):
    with Store(db, create=False) as s:
        s.act("ann", "S1", "note", 1, note="keep the WAL open")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir()}
        assert s.warnings == []
    assert modes == {"queue.db": 0o600, "queue.db-wal": 0o600, "queue.db-shm": 0o600}
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    os.chmod(db, 0o644)
    result = cli("queue", "list", "--as", "S1", "--db", str(db))
    assert result.code == 0
    files = f"{db} {db}-wal {db}-shm"  # SQLite gives its -wal and -shm the store's mode
    assert (
        result.err
        == f"warning: {db} can be read by other accounts (mode 0644); it holds residents' data: chmod 600 {files}\n"
    )


# --- stores of the first schema -------------------------------------------------------------------------------


def test_a_version_1_store_is_chained_and_its_whistles_become_summons(tmp_path: Path):
    path = tmp_path / "old.db"
    state = {"post": "S1", "status": "open", "claimed_by": None, "passed_to": None, "responded_at": None,
             "closed_at": None, "outcome": None, "needs": ""}  # fmt: skip
    whistled = {**state, "passed_to": "water+transport", "responded_at": "2020-06-01T08:10:00"}
    with sqlite3.connect(path) as old:
        for statement in MIGRATIONS[1]:
            old.execute(statement)
        old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        old.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", POSTS)
        old.execute("INSERT INTO meta VALUES ('scenario', 'Small')")
        old.execute(
            "INSERT INTO requests (source, source_id, created_at, category, priority, origin, post, status,"
            " passed_to, response_due, resolution_due, responded_at) VALUES ('csv', '1', '2020-06-01T08:00:00',"
            " 'noise', 'ordinary', 'S1', 'S1', 'open', 'water+transport', '2020-06-02T08:00:00',"
            " '2020-06-08T08:00:00', '2020-06-01T08:10:00')"
        )
        rows = [("system", "arrived", None, state), ("ann", "whistle", state, whistled)]
        for i, (who, action, before, after) in enumerate(rows):
            old.execute(
                "INSERT INTO actions (request_id, operator, post, action, at, at_wall, before, after, ok)"
                " VALUES (1, ?, 'S1', ?, '2020-06-01T08:10:00', ?, ?, ?, 1)",
                (who, action, 1_591_000_000.0 + i, json.dumps(before) if before else None, json.dumps(after)),
            )
    old.close()
    with Store(path) as s:
        assert s.schema_version == store_module.SCHEMA_VERSION
        request = s.get(1)
        assert request is not None and request.summons == {"water": None, "transport": None}
        assert request.passed_to is None
        assert [a.action for a in s.history(1)] == ["arrived", "whistle", "migrated"]
        assert s.verify().ok
        s.load_posts(POSTS, "Small", account=ME)  # the first to load it since becomes its admin
        assert s.operator(ME) is not None
        s.act(ME, "S1", "note", 1, note="the summons are open")
        with pytest.raises(Refused, match="outside S2's jurisdiction"):
            s.act(ME, "S2", "note", 1, note="not ours")
