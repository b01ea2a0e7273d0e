"""One authority for training stores: whatever the entry point (the console playing the shift, ``microgov
queue`` on its store, another console's Operate mode), an action on a shift's request is judged by the
shift's simulation, refused and logged if it would refuse it, and the shift resumes after every action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.operations.identity import current_account
from sim.operations.store import Refused, RequestRecord, Store
from sim.policies import actions
from sim.scenario import load_scenario
from sim.training.shift import LiveShift, referee
from tests.test_shift import assert_agrees, engine_state

ME = current_account()
SHIFT = """extends = "{base}"
name = "Small shift"
[whistle]
enabled = true
[training]
post = "{post}"
start = "day 1 08:00"
hours = 8.0
speed = 600.0
desk_share = 1.0
follow_up_days = 0.5
"""


def begin(small_world: Any, folder: Path, post: str, at_least: int = 6) -> tuple[Path, LiveShift]:
    """A shift at ``post`` of the small district, played by the account running the tests, with at least
    ``at_least`` requests at its desk."""
    low, _, _ = small_world
    path = folder / "shift.toml"
    path.write_text(SHIFT.format(base=low.as_posix(), post=post), encoding="utf-8")
    db = folder / "training.db"
    live = LiveShift.begin(Store(db), load_scenario(path), ME, scenario_path=path)
    for _ in range(200):
        if len(live.store.queue(post, source=live.shift.source)) >= at_least:
            break
        live.tick(1.0)
    assert len(live.store.queue(post, source=live.shift.source)) >= at_least
    return db, live


def resumed_as_played(live: LiveShift, db: Path) -> LiveShift:
    """Let the console playing ``live`` take in what was logged, then kill it and resume the shift from its
    store: it must rebuild, and be the shift that was played."""
    live.tick(0.0)
    played = engine_state(live)
    live.close()
    live.store.close()
    again = LiveShift.resume(Store(db))
    assert again is not None
    assert engine_state(again) == played
    assert_agrees(again, again.store)
    return again


def queue_of(live: LiveShift) -> list[RequestRecord]:
    return live.store.queue(live.shift.post, source=live.shift.source)


def department_for(request: RequestRecord, store: Store) -> str:
    departments = [r["id"] for r in store.departments()]
    return next((d for d in departments if d in request.needs), departments[0])


def test_every_action_kind_from_the_command_line_replays(
    cli: Any, small_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each step rebuilds the shift from its store, which can take longer than the undo window on a busy
    # machine: the window is widened so the undo after the settle is judged on the rules, not the load
    monkeypatch.setattr(actions, "UNDO_WINDOW_S", 3600.0)
    db, live = begin(small_world, tmp_path, "S1")
    d = ("--as", "S1", "--db", str(db))
    departments = [r["id"] for r in live.store.departments()]
    first, second, third, fourth, fifth, sixth = (r.id for r in queue_of(live)[:6])

    def run(*args: str) -> None:
        nonlocal live
        result = cli("queue", *args, *d)
        assert result.code == 0, result.err
        live = resumed_as_played(live, db)

    run("claim", str(first))
    run("release", str(first))
    run("note", str(first), "--note", "called the resident back")
    run("claim", str(first))
    run("settle", str(first), "--note", "explained on the phone")
    run("undo", str(first))
    request = live.store.get(second)
    assert request is not None
    run("pass", str(second), "--to", department_for(request, live.store))
    run("whistle", str(third), "--to", departments[0], "--to", departments[1])
    run("escalate", str(fourth))
    run("return", str(fifth))
    run("settle", str(sixth), "--note", "sorted out")
    kinds = {a.action for a in live.store.actions() if a.ok and a.operator == ME}
    assert kinds >= {"claim", "release", "note", "settle", "undo", "pass", "whistle", "escalate", "return"}
    live.close()


def test_the_bricking_whistle_is_refused_and_logged_and_the_shift_resumes(
    cli: Any, small_world: Any, tmp_path: Path
) -> None:
    # the finding: a whistle blown at S1 on a request of a shift played at a community below it was logged
    # as done, and every later resume failed with "action #2 does not replay"
    db, live = begin(small_world, tmp_path, "S1/C1", at_least=1)
    request = queue_of(live)[0]
    result = cli("queue", "whistle", str(request.id), "--as", "S1", "--to", "water", "--db", str(db))
    said = "only a street or town office can blow the whistle (training shift 1 plays S1/C1, which would take it)"
    assert result.code == 2 and result.err == f"error: {said}\n"
    refused = live.store.history(request.id)[-1]
    assert (refused.operator, refused.action, refused.ok, refused.reason) == (ME, "whistle", False, said)
    live = resumed_as_played(live, db)
    # what the simulation can do, from the post above, is carried out and replays
    result = cli("queue", "escalate", str(request.id), "--as", "S1", "--db", str(db))
    assert result.code == 0, result.err
    live = resumed_as_played(live, db)
    live.close()


def test_the_store_refuses_a_shifts_request_without_its_simulation(small_world: Any, tmp_path: Path) -> None:
    db, live = begin(small_world, tmp_path, "S1")
    request = queue_of(live)[0]
    with pytest.raises(Refused, match=rf"request #{request.id} is in training shift 1: only its simulation"):
        live.store.act(ME, "S1", "claim", request.id)
    assert not live.store.history(request.id)[-1].ok
    live.store.act(ME, "S1", "note", request.id, note="a note changes nothing the simulation plays")
    # a referee built from the store judges as the console playing the shift does, and follows it
    judge = referee(Store(db))
    assert judge is not None and judge.observing
    live.act(ME, "claim", request.id)
    assert judge.refusal(request, "claim", "S1", []) == ""
    live.act(ME, "settle", request.id, note="done")
    settled = live.store.get(request.id)
    assert settled is not None
    assert judge.refusal(settled, "pass", "S1", ["water"]).startswith(f"request #{request.id} is closed already")
    live.close()


def test_the_engine_and_the_store_refuse_in_the_same_words(small_world: Any, tmp_path: Path) -> None:
    _, live = begin(small_world, tmp_path, "S1/C1", at_least=1)
    request = queue_of(live)[0]
    req = live.played.tracked[int(request.source_id)]
    problem = live.played.cannot("whistle", req, [live.engine.net.posts[live.engine.net.index["water"]]], request.id)
    with pytest.raises(Refused) as store_says:
        live.store.act(ME, "S1/C1", "whistle", request.id, to="water", referee=live)
    assert problem == str(store_says.value) == "only a street or town office can blow the whistle"
    live.close()
