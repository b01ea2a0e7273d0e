"""The action table: who may do what, where, in which state; a whistle's summons, which end; and the same
words from the store, the simulation and the console."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from sim.operations.store import Refused, Store
from sim.policies.actions import ACTIONS, JURISDICTION, OUTSIDE, RULES, SUMMONED, Case, Target, allowed, refusal
from tests.test_store import ME, new, one_error_line, small_store


@pytest.fixture
def store(tmp_path: Path):
    with small_store(tmp_path / "queue.db") as s:
        s.grant(ME, "wu", "water")  # wu works at the water bureau only
        s.revoke(ME, "wu", "district")
        yield s


def whistled(store: Store, post: str = "S1/C1/G1", to: tuple[str, ...] = ("water",)) -> int:
    """A request raised at ``post``, whistled at S1: the departments ``to`` are summoned to it."""
    (rid,), _ = store.add([new(f"w{len(store.actions())}", post)])
    request, _ = store.act("ann", "S1", "whistle", rid, to=list(to))
    assert request.summoned() == list(to) and request.post == "S1"
    return rid


def refused_with(store: Store, account: str, post: str, action: str, rid: int, match: str, **kw: Any) -> None:
    """The action is refused with ``match`` in its reason, and the refusal is the log's last row."""
    with pytest.raises(Refused, match=match):
        store.act(account, post, action, rid, **kw)
    last = store.history(rid)[-1]
    assert (last.operator, last.post, last.action, last.ok) == (account, post, action, False)


# --- the six paths by which a summoned department kept power over a request -------------------------------


def test_a_summons_ends_when_the_request_is_escalated(store: Store):
    rid = whistled(store)
    store.act("ann", "S1", "escalate", rid)
    assert store.get(rid).summons == {}  # type: ignore[union-attr]
    refused_with(
        store, "wu", "water", "settle", rid, "request #1 is at district, outside water's jurisdiction", note="x"
    )
    refused_with(store, "wu", "water", "note", rid, "outside water's jurisdiction", note="still ours?")


def test_a_summons_ends_when_the_request_is_returned_and_the_community_keeps_its_queue(store: Store):
    rid = whistled(store)
    store.act("ann", "S1", "return", rid, to="S1/C1")
    refused_with(store, "wu", "water", "claim", rid, "request #1 is at S1/C1, outside water's jurisdiction")
    request, _ = store.act("carol", "S1/C1", "claim", rid)
    assert (request.status, request.claimed_by) == ("claimed", "carol")


@pytest.mark.parametrize(
    ("action", "to"), [("pass", "transport"), ("escalate", None), ("whistle", ["transport"])], ids=str
)
def test_a_summoned_department_works_on_its_part_only(store: Store, action: str, to: Any):
    rid = whistled(store)
    refused_with(store, "wu", "water", action, rid, f"water was summoned to request #{rid}: .* not {action}$", to=to)
    assert store.get(rid).post == "S1"  # type: ignore[union-attr]


def test_a_summoned_department_returns_nothing_to_another_streets_community(store: Store):
    rid = whistled(store)
    refused_with(store, "wu", "water", "return", rid, "goes back to S1, which summoned it", to="S2/C1")
    store.act("ann", "S1", "escalate", rid)  # at the district now, where S2 is directly below
    refused_with(store, "wu", "water", "return", rid, "outside water's jurisdiction", to="S2")


def test_a_department_reports_its_part_done_and_the_summons_ends(store: Store):
    rid = whistled(store, to=("water", "transport"))
    request, _ = store.act("wu", "water", "claim", rid)  # its part, not the request
    assert request.summons == {"water": "wu", "transport": None} and request.status == "open"
    request, _ = store.act("ann", "S1", "claim", rid)  # the office still works the request itself
    assert (request.claimed_by, request.summons["water"]) == ("ann", "wu")
    refused_with(store, "bob", "water", "settle", rid, "water's part of request #1 is taken up by wu", note="x")
    refused_with(store, "wu", "water", "settle", rid, "reporting water's part of request #1 done needs a note")
    request, done = store.act("wu", "water", "settle", rid, note="main repaired")
    assert request.summons == {"transport": None} and request.status == "claimed" and done.ok
    refused_with(store, "wu", "water", "note", rid, "outside water's jurisdiction", note="anything else?")
    request, _ = store.act("tao", "transport", "return", rid, note="not ours: a private road")
    assert request.summons == {} and request.post == "S1"
    request, _ = store.act("ann", "S1", "settle", rid, note="both parts done")
    assert request.status == "closed"


def test_the_office_settling_ends_every_summons(store: Store):
    rid = whistled(store, to=("water", "transport"))
    request, _ = store.act("ann", "S1", "settle", rid, note="sorted out before they came")
    assert request.summons == {}
    refused_with(store, "tao", "transport", "note", rid, "outside transport's jurisdiction", note="on our way")


def test_a_report_can_be_undone_within_the_window(store: Store):
    rid = whistled(store)
    store.act("wu", "water", "settle", rid, note="repaired")
    request, _ = store.act("wu", "water", "undo", rid)
    assert request.summons == {"water": None}


def test_a_supervisor_releases_a_claim_someone_left_an_operator_does_not(store: Store):
    (rid,), _ = store.add([new("left", "S1/C1")])
    store.act("ann", "S1/C1", "claim", rid)
    refused_with(store, "bob", "S1", "release", rid, "request #1 is not claimed by bob")
    store.grant(ME, "sue", "S1", role="supervisor")
    request, _ = store.act("sue", "S1", "release", rid)
    assert (request.status, request.claimed_by) == ("open", None)


# --- the table itself ------------------------------------------------------------------------------------

#: What a summoned department may do, and what a post may do in its own jurisdiction.
SUMMONED_MAY = {"claim", "release", "settle", "return", "note", "undo"}


def case(relation: str, **kw: Any) -> Case:
    base = Case(
        number=7, status="open", at="S1", at_level="street", account="ann", post="water", level="department",
        relation=relation, note="a note",
    )  # fmt: skip
    return dataclasses.replace(base, **kw)


def test_the_table_names_what_a_summoned_department_may_do():
    free = {a for a in ACTIONS if allowed(a, case(SUMMONED))}
    taken = {a for a in ACTIONS if allowed(a, case(SUMMONED, part_by="ann", settled_by="ann"))}
    assert free | taken == SUMMONED_MAY == {a for a, r in RULES.items() if r.summoned}
    assert "release" not in free and "claim" not in taken  # a part is taken up once, let go by whoever took it
    assert not any(allowed(a, case(OUTSIDE)) for a in ACTIONS)
    assert refusal("claim", case(OUTSIDE)) == "request #7 is at S1, outside water's jurisdiction"


def test_the_table_judges_posts_states_and_targets():
    street = case(JURISDICTION, post="S1", level="street")
    assert allowed("whistle", street) and not allowed("whistle", dataclasses.replace(street, level="community"))
    assert refusal("whistle", dataclasses.replace(street, whistle_in_use=False)) == (
        "the whistle is not in use in this scenario"
    )
    claimed = dataclasses.replace(street, status="claimed", claimed_by="bob")
    assert [a for a in ACTIONS if allowed(a, claimed)] == ["note"]
    assert refusal("settle", claimed) == "request #7 is claimed by bob"
    assert allowed("release", dataclasses.replace(claimed, role="supervisor"))
    away = dataclasses.replace(street, status="away", with_="water")
    assert refusal("pass", away) == "request #7 is with water, not in a queue"
    above = Target("district", "district", above=True)
    assert allowed("escalate", dataclasses.replace(street, targets=(above,)))
    assert refusal("escalate", dataclasses.replace(street, targets=(Target("S1/C1", "community"),))) == (
        "escalate goes up: 'S1/C1' is not above S1"
    )
    assert refusal("pass", dataclasses.replace(street, targets=(Target("S2", "street"),), departments=("water",))) == (
        "pass needs one department (one of: water)"
    )
    late = dataclasses.replace(street, status="closed", settled_by="ann", settled_ago_s=11.0)
    assert refusal("undo", late) == "too late to undo: the settle was 11 s ago (undo works for 10 s)"


# --- the console offers what the table allows ------------------------------------------------------------


async def test_the_console_offers_a_summoned_department_the_keys_of_its_part(small_world, tmp_path: Path):
    from console.app import MicrogovApp
    from tests.test_console import until
    from tests.test_console_desk import keys_of

    low, _, _ = small_world
    db = tmp_path / "queue.db"
    from tests.conftest import fill_queue

    fill_queue(low, db)
    with Store(db) as s:
        s.act("ann", "S1", "whistle", 2, to=["water"])
    desk = {"db_path": db, "post": "water", "account": "wu"}
    app = MicrogovApp(low, None, "en", mode="operate", cursor_blink=False, desk=desk)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: keys_of(screen) == [2])
        keys = ("settle", "pass_on", "whistle", "escalate", "return_down", "note")
        offered = {k for k in keys if screen.check_action(k, ())}
        assert offered == {"settle", "return_down", "note"}
        assert screen.check_action("act", ("claim",)) and not screen.check_action("act", ("release",))
        await pilot.press("c")
        await until(pilot, lambda: screen.requests[2].summons == {"water": "wu"})
        assert screen.check_action("act", ("release",))


def test_a_refusal_from_the_command_line_names_the_summons(cli, tmp_path: Path):
    path = tmp_path / "queue.db"
    with small_store(path) as s:
        s.add([new(1, "S1/C1/G1")])
        s.act("ann", "S1", "whistle", 1, to=["water"])
    result = cli("queue", "escalate", "1", "--as", "water", "--db", str(path))
    assert one_error_line(result) and result.err.startswith("error: water was summoned to request #1:")
    result = cli("queue", "claim", "1", "--as", "water", "--db", str(path))
    assert result.code == 0 and result.out.strip() == f"ok #1: water's part taken up by {ME}"
    result = cli("queue", "settle", "1", "--as", "water", "--note", "valve shut", "--db", str(path))
    assert result.code == 0 and result.out.strip() == f"ok #1: water's part reported done by {ME}; the summons ends"


def test_each_refusal_is_written_once_in_the_code() -> None:
    """Every message the action table refuses with (each ``return`` of a text in
    ``sim/policies/actions.py``, known by its longest literal part) is written once in ``sim`` and
    ``console``: the store, the simulation and the console all take it from the table."""
    import ast

    root = Path(__file__).resolve().parents[1]
    table = root / "sim" / "policies" / "actions.py"
    keys: set[str] = set()
    for node in ast.walk(ast.parse(table.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            pieces = node.value.values if isinstance(node.value, ast.JoinedStr) else [node.value]
            texts = [p.value for p in pieces if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            if texts and len(key := max(texts, key=len)) >= 20:
                keys.add(key)
    assert len(keys) >= 15
    code = [p.read_text(encoding="utf-8") for d in ("sim", "console") for p in (root / d).rglob("*.py")]
    counts = {key: sum(text.count(key) for text in code) for key in keys}
    assert {key: n for key, n in counts.items() if n != 1} == {}
