"""Who acts: the account the process runs as, never a flag or an environment variable; the store's
operators, their roles and grants; every refusal logged with the account and the reason."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from sim.operations.identity import current_account, full_name
from sim.operations.store import SYSTEM, Refused, Store
from tests.conftest import ROOT
from tests.test_store import CATEGORIES, DEADLINES, ME, POSTS, new, one_error_line, small_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    with small_store(path, operators=()) as s:
        s.add([new(1, "S1/C1/G1"), new(2, "S2/C1")])
    return path


def microgov(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``microgov ARGS`` in a fresh process, with ``env`` added to its environment."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **env},
    )


def refusals(path: Path) -> list[tuple[str, str, str]]:
    with Store(path, create=False) as s:
        return [(a.operator, a.action, a.reason) for a in s.actions() if not a.ok]


# --- identity ------------------------------------------------------------------------------------------


def test_the_account_is_the_processs_real_user():
    assert current_account() == pwd.getpwuid(os.getuid()).pw_name
    assert full_name(ME) and full_name("no-such-account-here") == "no-such-account-here"


def test_logname_and_user_change_nothing(db: Path):
    args = ("queue", "note", "1", "--as", "S1", "--note", "who am i", "--db", str(db))
    result = microgov(*args, LOGNAME="mayor", USER="mayor")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok #1: note added by {ME}"
    with Store(db, create=False) as s:
        noted = s.history(1)[-1]
    assert (noted.operator, noted.action, noted.note) == (ME, "note", "who am i")
    assert "mayor" not in json.dumps([a.as_dict() for a in Store(db, create=False).actions()])


def test_there_is_no_flag_to_act_as_someone_else(cli, db: Path):
    for flag in ("--operator", "--as-account", "--user"):
        result = cli("queue", "note", "1", "--as", "S1", flag, SYSTEM, "--note", "forged", "--db", str(db))
        assert result.code == 2 and "error: no such option" in result.err.lower()
    with Store(db, create=False) as s:
        assert [a.operator for a in s.history(1)] == [SYSTEM]  # its arrival only


# --- grants --------------------------------------------------------------------------------------------


def test_an_account_acts_only_where_a_grant_covers_the_post(db: Path):
    with Store(db, create=False) as s:
        with pytest.raises(Refused, match=r"^eve holds no grant covering S1 \(an admin gives one with: microgov"):
            s.act("eve", "S1", "claim", 1)
        s.grant(ME, "eve", "S1/C1")
        with pytest.raises(Refused, match=r"^eve holds no grant covering S1 "):
            s.act("eve", "S1", "claim", 1)  # the grant covers S1/C1 and below, not the street above it
        request, _ = s.act("eve", "S1/C1", "claim", 1)
        assert request.claimed_by == "eve"
        with pytest.raises(Refused, match="eve holds no grant covering S2/C1"):
            s.read_queue("eve", "S2/C1")
        with pytest.raises(Refused, match="eve holds no grant covering S2"):
            s.sign_in("eve", "S2")
        assert [r.id for r in s.read_queue("eve", "S1/C1/G1")] == [1]
    logged = [(who, what) for who, what, _ in refusals(db)]
    assert logged == [("eve", "claim"), ("eve", "claim"), ("eve", "list"), ("eve", "sign in")]


def test_the_account_that_loads_a_district_first_is_its_admin(tmp_path: Path):
    with Store(tmp_path / "q.db") as s:
        s.load_posts(POSTS, "Small", categories=CATEGORIES, deadlines=DEADLINES, account="ann")
        ann = s.operator("ann")
        assert ann is not None and (ann.role, ann.posts) == ("admin", ("district",))
        with pytest.raises(Refused, match="granting posts is for admins; bob holds no grant here"):
            s.grant("bob", "bob", "district")
        s.grant("ann", "bob", "S1", name="Bob Li")
        with pytest.raises(Refused, match="granting posts is for admins; bob is operator"):
            s.grant("bob", "bob", "district", role="admin")
        with pytest.raises(Refused, match="listing operators is for admins"):
            s.operators("bob")
        assert [(o.account, o.name, o.role, o.posts) for o in s.operators("ann")] == [
            ("ann", full_name("ann"), "admin", ("district",)),
            ("bob", "Bob Li", "operator", ("S1",)),
        ]
        with pytest.raises(Refused, match="'system' cannot be an operator's account"):
            s.grant("ann", SYSTEM, "S1")
        with pytest.raises(Refused, match="role must be one of operator, supervisor, admin"):
            s.grant("ann", "bob", "S1", role="mayor")
        with pytest.raises(Refused, match="ann is the store's last admin"):
            s.revoke("ann", "ann")
        s.grant("ann", "bob", "district", role="admin")
        assert s.revoke("bob", "ann") is None and s.operator("ann") is None
        granted = [(a.operator, a.action, a.target, a.ok) for a in s.actions() if a.action in ("grant", "revoke")]
        assert granted[0] == ("ann", "grant", "ann", True) and granted[-1] == ("bob", "revoke", "ann", True)
        assert s.verify().ok


def test_intake_needs_grants_covering_every_requests_post(db: Path):
    with Store(db, create=False) as s:
        s.grant(ME, "eve", "S1")
        with pytest.raises(Refused, match="eve holds no grant covering S2/C1"):
            s.add([new(3, "S1/C1"), new(4, "S2/C1")], account="eve")
        assert s.count() == 2  # nothing added
        ids, _ = s.add([new(3, "S1/C1")], account="eve")
        assert [a.operator for a in s.history(ids[0])] == ["eve"]
    assert refusals(db)[-1][:2] == ("eve", "intake")


# --- from the command line -----------------------------------------------------------------------------


def test_grant_revoke_operators_and_whoami(cli, db: Path):
    d = ("--db", str(db))
    result = cli("queue", "whoami", *d)
    assert result.code == 0 and result.out.startswith(f"{ME} (") and "admin at district" in result.out
    result = cli("queue", "grant", "ann", "--post", "S1/C1", "--name", "Ann Wang", *d)
    assert result.code == 0 and result.out.strip() == "ok ann (Ann Wang) is operator at S1/C1 (and below)"
    result = cli("queue", "grant", "ann", "--post", "S2", "--role", "supervisor", "--json", *d)
    granted = {"account": "ann", "name": "Ann Wang", "role": "supervisor", "posts": ["S1/C1", "S2"]}
    assert json.loads(result.out) == granted
    listed = json.loads(cli("queue", "operators", "--json", *d).out)["operators"]
    assert [(o["account"], o["role"]) for o in listed] == sorted([(ME, "admin"), ("ann", "supervisor")])
    result = cli("queue", "grant", "ann", "--post", "S7", *d)
    assert one_error_line(result) and "no post 'S7'" in result.err
    result = cli("queue", "revoke", "ann", "--post", "S2", *d)
    assert result.code == 0 and "supervisor at S1/C1" in result.out
    result = cli("queue", "revoke", ME, *d)
    assert one_error_line(result) and "last admin" in result.err
    assert [(who, what) for who, what, _ in refusals(db)] == [(ME, "grant"), (ME, "revoke")]


def test_a_command_without_a_grant_is_refused_and_logged(cli, tmp_path: Path):
    path = tmp_path / "theirs.db"
    with Store(path) as s:  # someone else's store: they loaded it, the account running the tests holds nothing
        s.load_posts(POSTS, "Small", categories=CATEGORIES, deadlines=DEADLINES, account="ann")
        s.add([new(1, "S1")])
    for args in (("note", "1", "--note", "hi"), ("list",), ("show", "1"), ("claim", "1")):
        result = cli("queue", *args, "--as", "S1", "--db", str(path))
        assert one_error_line(result) and result.err.startswith(f"error: {ME} holds no grant covering S1")
    result = cli("queue", "operators", "--db", str(path))
    assert one_error_line(result) and "listing operators is for admins" in result.err
    result = cli("queue", "whoami", "--db", str(path))
    assert result.code == 0 and "holds no grant" in result.out
    assert [what for who, what, _ in refusals(path) if who == ME] == ["note", "list", "show", "claim", "operators"]


def test_hints_are_whole_commands_that_work_when_copied(cli, db: Path):
    """A message that tells its reader what to run gives the whole command: the post and the store."""
    d = ("--db", str(db))
    assert cli("queue", "claim", "1", "--as", "S1", *d).code == 0
    result = cli("queue", "settle", "1", "--as", "S1", "--note", "lamp replaced", *d)
    assert result.code == 0, result.err
    undo = f"microgov queue undo 1 --as S1 --db {db}"
    assert f"({undo} takes it back within 10 s)" in result.out
    result = cli(*undo.split()[1:])
    assert result.code == 0 and "settle undone; claimed again" in result.out, result.out + result.err
    assert cli("queue", "grant", "ann", "--post", "S2", *d).code == 0
    with Store(db) as s, pytest.raises(Refused) as refused:
        s.act("ann", "S1", "note", 1, note="hi")
    assert str(refused.value).endswith(f"(an admin gives one with: microgov queue grant ann --post S1 --db {db})")


def test_a_granted_accounts_name_defaults_as_the_first_admins_does(db: Path):
    """Without --name, an account's shown name is the system's name for it, as for the store's first
    admin; an account the system does not know shows as itself."""
    named = [p for p in pwd.getpwall() if _name_ok(p.pw_name) and full_name(p.pw_name) != p.pw_name]
    with Store(db) as s:
        s.grant(ME, "nosuchacct", "S1")
        assert s.operator("nosuchacct").name == "nosuchacct"
        if named:
            account = named[0].pw_name
            s.grant(ME, account, "S1")
            assert s.operator(account).name == full_name(account)


def _name_ok(account: str) -> bool:
    return account != ME and account.isascii() and account.replace("-", "").replace("_", "").isalnum()
