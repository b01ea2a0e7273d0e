"""The queue store: racing consoles, scope, undo, the append-only log, bad files, rows equal to their log;
and ``microgov queue`` over it."""

from __future__ import annotations

import dataclasses
import itertools
import json
import multiprocessing
import sqlite3
import tempfile
import types
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.operations.store as store_module
from sim.operations.identity import current_account
from sim.operations.store import ACTIONS, STATE_FIELDS, UNDO_WINDOW_S, NewRequest, Refused, Store, StoreError
from sim.scenario import load_scenario
from sim.structure import build_district
from sim.visible import visible
from tests.conftest import SMALL

#: A handful of posts: enough levels for scope, whistles and departments, without building a district.
POSTS = [
    ("district", None, "district", "示范区", "Model District"),
    ("water", "district", "department", "水务局", "Water Affairs Bureau"),
    ("transport", "district", "department", "交通运输局", "Transport Bureau"),
    ("S1", "district", "street", "南昌街街道", "Nanchangjie Street"),
    ("S1/C1", "S1", "community", "沈阳苑社区", "Shenyangyuan Community"),
    ("S1/C1/G1", "S1/C1", "grid", "第1网格", "Grid 1"),
    ("S1/C1/G1/B1", "S1/C1/G1", "building", "1号楼", "Building 1"),
    ("S1/C1/G1/B1/U1", "S1/C1/G1/B1", "unit", "1单元", "Unit 1"),
    ("S1/C2", "S1", "community", "大连苑社区", "Dalianyuan Community"),
    ("S10", "district", "street", "文化路街道", "Wenhualu Street"),
    ("S10/C1", "S10", "community", "北环社区", "Beihuan Community"),
    ("S2", "district", "street", "海滨路街道", "Haibinlu Street"),
    ("S2/C1", "S2", "community", "东山社区", "Dongshan Community"),
    ("T1", "district", "town", "石门寨镇", "Shimenzhai Town"),
    ("T1/V1", "T1", "village", "王庄村", "Wangzhuang Village"),
]
CATEGORIES = {
    "street_light": {
        "name": "路灯不亮",
        "name_en": "Street light out",
        "priority": "ordinary",
        "department": "transport",
    },
    "manhole_cover": {
        "name": "井盖破损",
        "name_en": "Broken manhole cover",
        "priority": "urgent",
        "department": "water",
    },
    "drain_sewage": {"name": "下水道堵塞", "name_en": "Blocked drain", "priority": "urgent", "department": "water"},
    "lost_elderly": {
        "name": "老人走失",
        "name_en": "Lost elderly person",
        "priority": "special",
        "department": "water",
    },
    "noise": {"name": "噪音扰民", "name_en": "Noise", "priority": "ordinary", "department": "transport"},
    "sanitation": {"name": "环境卫生", "name_en": "Sanitation", "priority": "ordinary", "department": "water"},
}
DEADLINES = {"special": (0.5, 24.0), "urgent": (2.0, 72.0), "ordinary": (24.0, 168.0)}
RACE = 1_000
#: The account running the tests: ``microgov`` commands act as it, and it is the small store's admin.
ME = current_account()
#: Accounts the tests play through the library, each granted the whole district (unless a test says).
OPERATORS = ("ann", "bob", "carol", "dan", "sue", "tao", "tim", "wu")


def small_store(path: Path, operators: tuple[str, ...] = OPERATORS) -> Store:
    """A store with the handful of posts above, their categories and deadlines; the account running the
    tests is its admin, and ``operators`` hold the district."""
    store = Store(path)
    store.load_posts(POSTS, "Small test district", categories=CATEGORIES, deadlines=DEADLINES, account=ME)
    for account in operators:
        store.grant(ME, account, "district")
    return store


def new(source_id: object, post: str = "S1/C1/G1", *, origin: str | None = None) -> NewRequest:
    return NewRequest(
        source="test",
        source_id=str(source_id),
        created_at="2020-06-01T08:00:00",
        category="street_light",
        priority="ordinary",
        origin=origin or post,
        post=post,
        response_due="2020-06-02T08:00:00",
        resolution_due="2020-06-08T08:00:00",
        text=f"request {source_id}",
    )


@pytest.fixture
def store(tmp_path: Path):
    with small_store(tmp_path / "queue.db") as s:
        yield s


def one_error_line(result: Any) -> bool:
    return result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1


# --- (a) two consoles racing for the same requests -----------------------------------------------------


def _claim_all(path: str, operator: str, ready: Any, results: Any) -> None:
    """One console: try to claim every request, at the same moment as the other console tries it."""
    won = 0
    with Store(path) as store:
        for request_id in range(1, RACE + 1):
            ready.wait(timeout=60)  # both start on this request together, so each claim is a real race
            try:
                store.act(operator, "S1", "claim", request_id)
                won += 1
            except Refused:
                pass
    results.put((operator, won))


def test_two_processes_racing_to_claim_never_both_win(tmp_path: Path):
    path = tmp_path / "race.db"
    with small_store(path) as s:
        ids, _ = s.add([new(i) for i in range(RACE)])
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(2), context.Queue()
    consoles = [context.Process(target=_claim_all, args=(str(path), name, ready, results)) for name in ("ann", "bob")]
    for p in consoles:
        p.start()
    won = dict(results.get(timeout=120) for _ in consoles)
    for p in consoles:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert won["ann"] + won["bob"] == RACE
    assert min(won.values()) > 0  # each request was raced for, and each console won some of the races
    with Store(path) as s:
        claims = [a for a in s.actions() if a.action == "claim"]
        granted = [a for a in claims if a.ok]
        assert len(granted) == RACE and len(claims) - len(granted) == RACE
        assert Counter(a.operator for a in claims) == {"ann": RACE, "bob": RACE}  # both tried every one
        assert Counter(a.request_id for a in granted) == Counter(ids)  # every request claimed exactly once
        assert Counter(a.operator for a in granted) == Counter(won)
        assert all("cannot be claimed: it is claimed by" in a.reason for a in claims if not a.ok)
        winner = {a.request_id: a.operator for a in granted}
        for request_id in ids:
            r = s.get(request_id)
            assert r is not None and r.status == "claimed" and r.claimed_by == winner[request_id]
        assert s.verify().ok  # two writers, one chain


# --- (b) scope ------------------------------------------------------------------------------------------


def test_a_post_cannot_act_outside_its_jurisdiction_and_the_refusal_is_logged(store: Store):
    (rid, other), _ = store.add([new(1, "S1/C1/G1"), new(2, "S10/C1")])
    with pytest.raises(Refused, match=r"request #1 is at S1/C1/G1, outside S2's jurisdiction"):
        store.act("ann", "S2", "claim", rid)
    refused = store.history(rid)[-1]
    assert (refused.operator, refused.post, refused.action, refused.ok) == ("ann", "S2", "claim", False)
    assert "outside S2's jurisdiction" in refused.reason and refused.after is None
    unchanged = store.get(rid)
    assert unchanged is not None and unchanged.status == "open"
    # S10 starts with "S1" but is not below it
    with pytest.raises(Refused, match="outside S1's jurisdiction"):
        store.act("ann", "S1", "claim", other)
    # the posts above may act; so may the district, anywhere
    store.act("ann", "S1/C1", "claim", rid)
    store.act("dan", "district", "claim", other)


def test_a_department_acts_on_what_was_passed_to_it_and_no_other(store: Store):
    (rid,), _ = store.add([new(1, "S1/C1/G1")])
    with pytest.raises(Refused, match="outside water's jurisdiction"):
        store.act("wu", "water", "note", rid, note="not ours yet")
    store.act("ann", "S1", "pass", rid, to="water", note="burst main")
    passed = store.get(rid)
    # no simulation plays the department: its people have it in their open queue, and can act on it
    assert passed is not None and (passed.post, passed.status, passed.passed_to) == ("water", "open", "water")
    assert [r.id for r in store.queue("water")] == [rid]
    request, action = store.act("wu", "water", "note", rid, note="crew on the way")
    assert action.ok and action.post == "water" and request.post == "water"
    request, action = store.act("wu", "water", "settle", rid, note="main repaired")
    assert action.ok and request.status == "closed" and request.outcome == "settled at water"
    with pytest.raises(Refused, match="outside transport's jurisdiction"):
        store.act("tao", "transport", "note", rid, note="ours?")
    assert not store.history(rid)[-1].ok
    with pytest.raises(Refused, match="pass needs one department"):
        store.act("ann", "S1", "pass", store.add([new(2)])[0][0], to="S2")


def test_only_a_street_or_town_office_blows_the_whistle(store: Store):
    (rid, rural), _ = store.add([new(1, "S1/C1/G1"), new(2, "T1/V1")])
    for post in ("S1/C1", "district"):
        with pytest.raises(Refused, match="only a street or town office can blow the whistle"):
            store.act("ann", post, "whistle", rid, to=["water"])
        assert store.history(rid)[-1].reason.startswith("only a street or town office")
    request, _ = store.act("ann", "S1", "whistle", rid, to=["water", "transport"])
    assert request.summoned() == ["water", "transport"] and request.post == "S1"
    store.act("tao", "transport", "note", rid, note="on our way")  # summoned: in scope
    with pytest.raises(Refused, match="outside S2's jurisdiction"):
        store.act("sue", "S2", "note", rid, note="not ours")
    request, _ = store.act("tim", "T1", "whistle", rural, to="water")
    assert request.summoned() == ["water"]


# --- (c) undo -------------------------------------------------------------------------------------------


def test_undo_takes_back_your_own_settle_within_the_window_only(store: Store, monkeypatch: pytest.MonkeyPatch):
    now = [1_600_000_000.0]
    monkeypatch.setattr(store_module, "time", types.SimpleNamespace(time=lambda: now[0]))
    (rid,), _ = store.add([new(1)])
    with pytest.raises(Refused, match="nothing of yours to undo"):
        store.act("ann", "S1", "undo", rid)
    store.act("ann", "S1", "claim", rid)
    claimed = store.get(rid)
    store.act("ann", "S1", "settle", rid, note="lamp replaced")
    now[0] += UNDO_WINDOW_S - 1
    with pytest.raises(Refused, match="nothing of yours to undo"):
        store.act("bob", "S1", "undo", rid)  # not bob's settle
    request, action = store.act("ann", "S1", "undo", rid)
    assert action.ok and claimed is not None
    assert (request.status, request.claimed_by, request.closed_at, request.outcome) == ("claimed", "ann", None, None)
    with pytest.raises(Refused, match="nothing of yours to undo"):
        store.act("ann", "S1", "undo", rid)  # undone already: the last action is the undo
    store.act("ann", "S1", "settle", rid, note="lamp replaced, for real")
    now[0] += UNDO_WINDOW_S + 1
    with pytest.raises(Refused, match="too late to undo"):
        store.act("ann", "S1", "undo", rid)
    final = store.get(rid)
    assert final is not None and final.status == "closed" and final.outcome == "settled at S1"
    assert [a.ok for a in store.history(rid) if a.action == "undo"] == [False, False, True, False, False]


# --- (d) the action log is append-only ------------------------------------------------------------------


def test_the_action_log_cannot_be_changed_or_deleted(store: Store):
    (rid,), _ = store.add([new(1)])
    store.act("ann", "S1", "claim", rid)
    logged = store.actions()
    with sqlite3.connect(store.path) as other:  # any program, not only the store's own connection
        for sql in ("UPDATE actions SET operator = 'mallory'", "DELETE FROM actions WHERE seq = 1"):
            with pytest.raises(sqlite3.DatabaseError, match="the action log is append-only"):
                other.execute(sql)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM actions")
    assert store.actions() == logged


# --- (e) files that are not a store we can use ----------------------------------------------------------


def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path):
    path = tmp_path / "people.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    db.close()
    with pytest.raises(StoreError, match=r"people\.db: an SQLite file, but not a microgov queue store"):
        Store(path)
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert tables == {"people"}


def test_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "queue.db"
    small_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(
        StoreError, match=rf"schema version 99 is newer than this microgov's \({store_module.SCHEMA_VERSION}\)"
    ):
        Store(path)


def test_garbage_and_missing_files_are_refused(tmp_path: Path):
    garbage = tmp_path / "queue.db"
    garbage.write_bytes(b"\x89 not a database at all " * 200)
    with pytest.raises(StoreError, match=r"queue\.db: not a microgov queue store \(file is not a database\)"):
        Store(garbage)
    assert garbage.read_bytes() == b"\x89 not a database at all " * 200
    with pytest.raises(StoreError, match="no queue store here"):
        Store(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


# --- (f) every row is what its log says -----------------------------------------------------------------

#: Where the requests start (post, raised at): at their origin, and one raised at a unit but addressed to its street.
START = (
    ("S1/C1/G1/B1/U1", None),
    ("S1/C1/G1", None),
    ("S1", "S1/C1/G1/B1/U1"),
    ("S1/C2", None),
    ("S2/C1", None),
    ("T1/V1", None),
)
PARENT = {post: parent for post, parent, *_ in POSTS}


def _above(post: str) -> list[str]:
    """The post and every post above it."""
    chain = [post.split("#", 1)[0]]
    while PARENT.get(chain[-1]):
        chain.append(str(PARENT[chain[-1]]))
    return chain


def _act_and_check(store: Store, operator: str, post: str, action: str, rid: int, note: str, to: Any) -> bool:
    """Act, then check the log against the row: True if the action was carried out."""
    before = store.get(rid)
    assert before is not None
    try:
        after, logged = store.act(operator, post, action, rid, note=note, to=to)
    except Refused as exc:
        logged = store.history(rid)[-1]
        assert not logged.ok and logged.reason == str(exc) and logged.after is None
        assert store.get(rid) == before
    else:
        assert logged.ok and logged.after == after.state()
        assert after.version >= before.version
    assert logged.before == before.state() and (logged.operator, logged.action) == (operator, action)
    row = store.get(rid)
    assert row is not None and row.state() == _state([a for a in store.history(rid) if a.ok][-1].after)
    return logged.ok


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_action_leaves_the_row_as_its_last_logged_action_says(data: st.DataObject):
    frozen = types.SimpleNamespace(time=lambda: 1_600_000_000.0)  # every undo falls inside its window
    with (
        tempfile.TemporaryDirectory() as folder,
        mock.patch.object(store_module, "time", frozen),
        small_store(Path(folder) / "queue.db") as store,
    ):
        ids, _ = store.add([new(i, post, origin=origin) for i, (post, origin) in enumerate(START)])
        for _ in range(data.draw(st.integers(1, 25), label="steps")):
            rid = data.draw(st.sampled_from(ids), label="request")
            here = store.get(rid)
            assert here is not None
            action = data.draw(st.sampled_from(ACTIONS), label="action")
            # mostly posts that may act on it, sometimes one that may not
            post = data.draw(st.sampled_from([*_above(here.post), *here.summoned(), "S2", "water"]), label="at")
            below = [p for p, parent, *_ in POSTS if parent == here.post]
            targets: dict[str, list[Any]] = {
                "pass": ["water", "transport", "S9"],
                "whistle": [["water"], ["water", "transport"], ["S9"]],
                "escalate": [None, *_above(here.post)[1:], "S9"],
                "return": [None, *below, "S9"],
            }
            to = data.draw(st.sampled_from(targets.get(action, [None])), label="to")
            operator = data.draw(st.sampled_from(("ann", "bob")), label="operator")
            note = data.draw(st.sampled_from(("done", "")), label="note")
            done = _act_and_check(store, operator, post, action, rid, note, to)
            # what tends to come next, by whoever: a claim settled or released, a settle taken back
            while done and (then := data.draw(st.sampled_from((None, "settle", "release", "undo")), label="then")):
                operator = data.draw(st.sampled_from((operator, "ann", "bob")), label="then operator")
                done = _act_and_check(store, operator, post, then, rid, "done", None)
        for rid in ids:
            carried_out = [a for a in store.history(rid) if a.ok]
            assert carried_out[0].action == "arrived" and carried_out[0].before is None
            assert all(b.before == _state(a.after) for a, b in itertools.pairwise(carried_out))
        assert store.verify().ok


def _state(logged: dict[str, Any] | None) -> dict[str, Any]:
    """The request's state as a log row has it (an ``arrived`` row also has what the request came with)."""
    assert logged is not None
    return {k: logged[k] for k in STATE_FIELDS}


# --- microgov queue -------------------------------------------------------------------------------------


def test_queue_init_loads_a_scenarios_district(cli, tmp_path: Path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL.format(staff=4), encoding="utf-8")
    db = tmp_path / "queue.db"
    result = cli("queue", "init", str(scenario), "--db", str(db), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    sc = load_scenario(scenario)
    graph = build_district(sc).graph
    assert data["posts"] == graph.number_of_nodes() and data["scenario"] == "Small 4"
    assert data["levels"]["department"] == len(sc.departments) and data["levels"]["district"] == 1
    with Store(db, create=False) as s:
        assert s.posts_count() == graph.number_of_nodes()
        unit = next(n for n, a in graph.nodes(data=True) if a["level"] == "unit")
        row = s.post(unit)
        assert row is not None and row["parent"] == next(iter(graph.pred[unit]))
        assert row["name_en"] == graph.nodes[unit]["name_en"]
        assert s.categories()["lost_elderly"] == {
            "name": "老人走失",
            "name_en": "Lost elderly person",
            "priority": "special",
            "department": "public_security",
        }
        assert s.deadlines() == {
            p: (getattr(sc.deadlines, p).response_h, getattr(sc.deadlines, p).resolution_h)
            for p in ("special", "urgent", "ordinary")
        }
    again = cli("queue", "init", str(scenario), "--db", str(db))
    assert again.code == 0 and "posts" in again.out and "Deadlines" in again.out and "ok " in again.out


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    with small_store(path) as s:
        s.add([new(1, "S1/C1/G1"), new(2, "S2/C1"), new(3, "S1/C1/G1/B1/U1"), new(4, "S2/C1")])
    return path


def test_queue_actions_from_the_command_line(cli, db: Path):
    d = ("--db", str(db))
    me = ME
    result = cli("queue", "claim", "1", "--as", "S1", *d)
    assert result.code == 0 and result.out.strip() == f"ok #1 claimed by {me}"
    with (
        Store(db, create=False) as s,
        pytest.raises(Refused, match=f"request #1 cannot be claimed: it is claimed by {me}"),
    ):
        s.act("dan", "S1", "claim", 1)
    result = cli("queue", "settle", "1", "--as", "S1", *d)
    assert one_error_line(result) and result.err == "error: settling needs a note saying how it was settled\n"
    result = cli("queue", "settle", "1", "--as", "S1", "--note", "lamp replaced", "--json", *d)
    assert result.code == 0, result.err
    settled = json.loads(result.out)
    assert (settled["id"], settled["status"], settled["claimed_by"]) == (1, "closed", me)
    assert settled["due"] == settled["resolution_due"] and settled["left_h"] < 0
    result = cli("queue", "undo", "1", "--as", "S1", *d)
    assert result.code == 0 and "settle undone; claimed again" in result.out
    result = cli("queue", "whistle", "3", "--as", "S1", "--to", "water", "--to", "transport", *d)
    assert result.code == 0 and "summoning water, transport" in result.out
    result = cli("queue", "whistle", "2", "--as", "S2/C1", "--to", "water", *d)
    assert one_error_line(result) and "only a street or town office" in result.err
    result = cli("queue", "escalate", "2", "--as", "S2/C1", *d)
    assert result.code == 0 and result.out.strip() == f"ok #2 escalated to S2 by {me}"
    result = cli("queue", "return", "1", "--as", "S1/C1", "--to", "S2", *d)
    assert one_error_line(result) and "return needs a post directly below S1/C1/G1 (e.g. S1/C1/G1/B1)" in result.err
    result = cli("queue", "return", "1", "--as", "S1/C1", "--to", "S1/C1/G1/B1", *d)
    assert result.code == 0 and result.out.strip() == f"ok #1 returned to S1/C1/G1/B1 by {me}"
    result = cli("queue", "pass", "4", "--as", "S2", "--to", "water", "--note", "burst main", *d)
    assert result.code == 0 and result.out.strip() == f"ok #4 passed to water by {me}"
    listed = json.loads(cli("queue", "list", "--as", "water", "--json", *d).out)
    assert [(r["id"], r["passed_to"], r["summons"]) for r in listed["requests"]] == [
        (3, None, {"water": None, "transport": None}),
        (4, "water", {}),
    ]
    result = cli("queue", "note", "4", "--as", "S1", "--note", "ours?", *d)
    assert one_error_line(result) and result.err == "error: request #4 is at water, outside S1's jurisdiction\n"
    result = cli("queue", "claim", "99", "--as", "S1", *d)
    assert one_error_line(result) and "no request #99" in result.err
    with Store(db, create=False) as s:
        refused = [(a.operator, a.action) for a in s.actions() if not a.ok]
    assert refused == [("dan", "claim"), (me, "settle"), (me, "whistle"), (me, "return"), (me, "note"), (me, "claim")]


def test_queue_list_and_show(cli, db: Path):
    d = ("--db", str(db))
    assert cli("queue", "claim", "3", "--as", "S1/C1", *d).code == 0
    with Store(db, create=False) as s, pytest.raises(Refused):
        s.act("bob", "S1/C1", "claim", 3)
    result = cli("queue", "list", "--as", "S1", "--json", *d)
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    assert [r["id"] for r in listed["requests"]] == [1, 3] and listed["statuses"] == ["open", "claimed"]
    assert all(r["left_h"] < 0 for r in listed["requests"])  # due in 2020
    assert [
        r["id"]
        for r in json.loads(cli("queue", "list", "--as", "S1/C1", "--status", "claimed", "--json", *d).out)["requests"]
    ] == [3]
    result = cli("queue", "list", "--as", "S1", *d)
    assert result.code == 0
    row = next(line for line in result.out.splitlines() if line.split()[:1] == ["3"])
    assert row.split()[:6] == ["3", "ordinary", "street_light", "S1/C1/G1/B1/U1", "claimed", ME]
    assert "2020-06-08 08:00" in row and " -" in row and row.rstrip().endswith("request 3")  # claimed: resolution due
    assert "S2/C1" not in result.out
    result = cli("queue", "list", "--as", "S1", "--all", "--status", "open", *d)
    assert one_error_line(result)
    result = cli("queue", "show", "3", "--as", "S1", *d)
    assert result.code == 0
    assert f"claimed by {ME}" in result.out and "arrived; added" in result.out
    assert f"bob at S1/C1: claim; refused: request #3 cannot be claimed: it is claimed by {ME}" in result.out
    shown = json.loads(cli("queue", "show", "3", "--as", "S1", "--json", *d).out)
    assert [(a["action"], a["ok"]) for a in shown["history"]] == [("arrived", True), ("claim", True), ("claim", False)]
    result = cli("queue", "show", "2", "--as", "S1", *d)
    assert one_error_line(result) and "outside S1's jurisdiction" in result.err


def test_queue_commands_say_what_is_missing(cli, tmp_path: Path):
    missing = tmp_path / "nowhere.db"
    for args in (("list", "--as", "S1"), ("show", "1", "--as", "S1"), ("claim", "1", "--as", "S1")):
        result = cli("queue", *args, "--db", str(missing))
        assert one_error_line(result) and "no queue store here" in result.err and "microgov queue init" in result.err
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    Store(empty).close()
    result = cli("queue", "list", "--as", "S1", "--db", str(empty))
    assert one_error_line(result) and "no district loaded (microgov queue init SCENARIO" in result.err
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database " * 100, encoding="utf-8")
    result = cli("queue", "list", "--as", "S1", "--db", str(garbage))
    assert one_error_line(result) and "not a microgov queue store" in result.err
    small_store(empty).close()
    result = cli("queue", "list", "--as", "S7", "--db", str(empty))
    assert one_error_line(result) and "no post 'S7'" in result.err


# --- outside text on the terminal ----------------------------------------------------------------------

#: A resident's text that would clear the screen, retitle the window and plant a link if printed raw.
HOSTILE = "drilling \x1b[2J\x1b]0;pwned\x07 \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\r\nnext line\u202e"


def test_control_characters_from_outside_are_shown_as_text(cli, tmp_path: Path):
    path = tmp_path / "queue.db"
    with small_store(path) as s:
        s.add([dataclasses.replace(new(1, "S1/C1"), text=HOSTILE)])
    d = ("--as", "S1", "--db", str(path))
    assert cli("queue", "note", "1", "--note", "ESC \x1b[31m red", *d).code == 0
    shown = cli("queue", "show", "1", *d).out
    listed = cli("queue", "list", *d).out
    for out in (shown, listed):
        assert not any(ch in out for ch in "\x1b\x07\r\u202e")
        assert "drilling \\x1b[2J\\x1b]0;pwned\\x07 \\x1b]8;;http://evil.example/\\x07click" in out
    assert "\\x0d\\x0anext line\\u202e" in shown and '"ESC \\x1b[31m red"' in shown
    as_json = json.loads(cli("queue", "show", "1", *d, "--json").out)
    assert as_json["request"]["text"] == HOSTILE and as_json["history"][-1]["note"] == "ESC \x1b[31m red"
    with Store(path, create=False) as s:
        stored = s.get(1)
    assert stored is not None and stored.text == HOSTILE  # kept as written


@given(st.text())
def test_visible_text_holds_no_control_character_and_leaves_the_rest(text: str):
    shown = visible(text)
    assert not any(unicodedata.category(ch) == "Cc" or 0x202A <= ord(ch) <= 0x202E for ch in shown)
    assert visible(shown) == shown
    if all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        assert shown == text
