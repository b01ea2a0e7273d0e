"""Operate and Train modes as an operator and a trainee drive them (Pilot): signing in, the queue, the
actions and their confirmations, undo, refusals, another console's actions showing up, a training shift
from start to score, and a shift resumed after its console died."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from console.app import MicrogovApp
from console.desk import Desk
from console.screens.desk import DeskQueue
from console.screens.modals import Briefing, Confirm, Pick, Prompt
from console.screens.operate import OperateScreen
from console.screens.train import TrainScreen
from sim.operations.store import Store
from sim.scenario import load_scenario
from tests.conftest import small_training
from tests.test_console import footer_keys, notices, until


def operate_app(small_world, db: Path, post: str = "S1", operator: str = "ann") -> MicrogovApp:
    low, _, _ = small_world
    desk = {"db_path": db, "post": post, "account": operator}
    return MicrogovApp(low, None, "en", mode="operate", cursor_blink=False, desk=desk)


def keys_of(screen: OperateScreen | TrainScreen) -> list[int]:
    queue = screen.query_one("#desk-queue", DeskQueue)
    return [queue.rows[int(i)].key for i in queue.shown]


async def test_operate_queue_actions_and_undo(small_world, queue_db):
    app = operate_app(small_world, queue_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, OperateScreen)
        await until(pilot, lambda: len(screen.requests) == 3)
        assert keys_of(screen) == [2, 3, 1]  # special, urgent, ordinary; S2's request is not S1's
        await pilot.press("c")
        await until(pilot, lambda: screen.requests[2].status == "claimed")
        assert screen.requests[2].claimed_by == "ann" and screen.requests[2].responded_at is not None
        await pilot.press("s")
        assert isinstance(app.screen, Prompt)
        await pilot.press(*"found at the market", "enter")
        await until(pilot, lambda: 2 not in screen.requests)  # closed: off the open queue
        with Store(queue_db) as store:
            assert store.get(2).status == "closed"  # type: ignore[union-attr]
        await until(pilot, lambda: screen.check_action("undo", ()) is True)
        await pilot.press("u")
        await until(pilot, lambda: 2 in screen.requests and screen.requests[2].status == "claimed")
        await pilot.press("home", "down", "p")  # pass #3 to a department: pick, then confirm
        await until(pilot, lambda: isinstance(app.screen, Pick))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: 3 not in screen.requests)
        with Store(queue_db) as store:
            moved = store.get(3)
            history = [a.action for a in store.history(3)]
        # the department's people have it now (no simulation plays it here): open in their queue
        assert moved is not None and moved.status == "open" and moved.passed_to == moved.post
        assert history == ["arrived", "pass"]
        await pilot.press("a")  # all: the passed-on request shows again
        await until(pilot, lambda: 3 in screen.requests)


async def test_operate_refusals_and_other_consoles(small_world, queue_db):
    app = operate_app(small_world, queue_db)
    app.errors_expected = True  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, OperateScreen)
        await until(pilot, lambda: len(screen.requests) == 3)
        with Store(queue_db) as other:  # another console claims the special request
            other.sign_in("bob", "S1")
            other.act("bob", "S1", "claim", 2)
        await until(pilot, lambda: screen.requests[2].claimed_by == "bob", 10)
        assert not screen.check_action("settle", ())  # not ours: the key is off
        screen.do("claim", 2)
        await until(pilot, lambda: any("claimed by bob" in n.message for n in app._notifications))
        with Store(queue_db) as store:
            refused = [a for a in store.history(2) if not a.ok]
        assert refused and refused[-1].operator == "ann" and "claimed by bob" in refused[-1].reason


async def test_operate_keys_that_cannot_be_used_say_why(small_world, queue_db):
    app = operate_app(small_world, queue_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await until(pilot, lambda: len(screen.requests) == 3 and screen.post_level == "street")
        await until(pilot, lambda: "c" in footer_keys(app))
        assert {"u", "l"}.isdisjoint(footer_keys(app))  # nothing to undo, nothing of ours to release
        await pilot.press("u")
        assert notices(app)[-1] == "nothing to undo: u takes back your last settle"
        with Store(queue_db) as other:  # another console claims the request under the cursor
            other.sign_in("bob", "S1")
            other.act("bob", "S1", "claim", 2)
        await until(pilot, lambda: screen.requests[2].claimed_by == "bob", 10)
        for key, said in (
            ("c", "request #2 cannot be claimed: it is claimed by bob"),
            ("s", "request #2 is claimed by bob"),
            ("l", "request #2 is not claimed by ann"),
        ):
            await pilot.press(key)
            assert notices(app)[-1] == said
        await pilot.press("down", "c")  # #3 is open: ours now
        await until(pilot, lambda: screen.requests[3].status == "claimed")
        await until(pilot, lambda: "l" in footer_keys(app))
        assert "c" not in footer_keys(app)
        await pilot.press("c")
        assert notices(app)[-1] == "request #3 cannot be claimed: it is claimed by ann"


async def test_operate_only_inside_the_jurisdiction(small_world, queue_db):
    app = operate_app(small_world, queue_db, post="S2", operator="wu")
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: len(screen.requests) == 1)
        assert keys_of(screen) == [4]
        assert screen.check_action("whistle", ())  # S2 is a street office: it may blow the whistle


async def test_operate_without_a_store_explains(small_world, tmp_path):
    low, _, _ = small_world
    app = MicrogovApp(low, None, "en", mode="operate", cursor_blink=False, desk={"db_path": tmp_path / "q.db"})
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: "no queue store yet" in str(screen.query_one("#signin-problem").render()))
        await pilot.press("f2")  # set it up from the scenario's district
        await until(pilot, lambda: "posts" in str(screen.query_one("#signin-problem").render()), 30)
        assert (tmp_path / "q.db").is_file()


async def test_the_detail_countdowns_follow_the_clock(small_world, queue_db, monkeypatch):
    clock = [dt.datetime(2030, 1, 1, 8, 20)]
    monkeypatch.setattr(Desk, "now", lambda self: clock[0])
    app = operate_app(small_world, queue_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        detail = screen.query_one("#desk-request")
        await until(pilot, lambda: "response due 01-01 08:35  in 15m" in str(detail.render()))
        await until(pilot, lambda: screen.desk.seen_seq > 0)  # the first look at the store has been taken
        await pilot.pause(1.2)
        clock[0] = dt.datetime(2030, 1, 1, 8, 50)  # nothing new in the store: only the clock moves
        await until(pilot, lambda: "response due 01-01 08:35  late 15m" in str(detail.render()), 5)


def training_file(small_world, folder: Path) -> Path:
    low, _, _ = small_world
    path = folder / "small-training.toml"
    path.write_text(small_training(low.as_posix()), encoding="utf-8")
    return path


async def test_train_shift_from_start_to_score(small_world, tmp_path, monkeypatch):
    import threading

    from sim.training.shift import LiveShift

    go = threading.Event()
    finish = LiveShift.finish

    def held(self, report_dir=None, progress=None):  # type: ignore[no-untyped-def]
        go.wait(60)  # scoring starts when the test has looked at the screen
        return finish(self, report_dir, progress)

    monkeypatch.setattr(LiveShift, "finish", held)
    low, _, _ = small_world
    scenario = training_file(small_world, tmp_path)
    db = tmp_path / "training.db"
    desk = {"db_path": db, "account": "ann", "train_file": scenario, "train_sets": []}
    app = MicrogovApp(low, None, "en", mode="train", cursor_blink=False, desk=desk)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await until(pilot, lambda: screen.live is not None, 60)
        # a new shift opens on its briefing, naming the post played, with the clock stopped until it closes
        await until(pilot, lambda: isinstance(app.screen, Briefing) and bool(app.screen.query("#briefing-text")))
        shown = str(app.screen.query_one("#briefing-text").render())
        assert "Your post: S1" in shown and "Work the S1 queue." in shown
        assert screen.live.paused
        stopped = screen.live.clock_h
        await pilot.pause(0.5)
        assert screen.live.clock_h == stopped
        await pilot.press("escape")
        await until(pilot, lambda: not screen.live.paused)
        await until(pilot, lambda: screen.live.clock_h > stopped)
        await until(pilot, lambda: len(screen.requests) > 0, 60)
        # with requests waiting (the right pane shows the first), b and the palette open the briefing again
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, Briefing) and screen.live.paused)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, Briefing) and not screen.live.paused)
        command = next(c for c in app.get_system_commands(screen) if c.title == "Read the briefing")
        command.callback()
        await until(pilot, lambda: isinstance(app.screen, Briefing) and screen.live.paused)
        await pilot.press("b")
        await until(pilot, lambda: not isinstance(app.screen, Briefing) and not screen.live.paused)
        first = keys_of(screen)[0]
        await pilot.press("c")
        await until(pilot, lambda: first not in screen.requests or screen.requests[first].status == "claimed")
        await pilot.press("space")  # pause: the clock stops
        await until(pilot, lambda: screen.live.paused)
        stopped = screen.live.clock_h
        await pilot.pause(0.5)
        assert screen.live.clock_h == stopped
        await pilot.press("f")  # still paused: a running clock could reach the shift's end first and finish it
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        assert screen.work.working  # scoring takes a while: a labelled progress line, not a frozen screen
        assert "finishing" in str(screen.query_one("#desk-status").render())
        go.set()
        await until(pilot, lambda: screen.result is not None, 60)
        assert not screen.work.working
        result = screen.result
        assert result is not None and Path(result["report"]).is_file() and Path(result["timeline"]).is_file()
        assert screen.query_one("#desk-switcher").current == "train-results"
        assert "finished" in str(screen.query_one("#desk-status").render())
        shown = {b.binding.action for b in screen.active_bindings.values() if screen.check_action(b.binding.action, ())}
        assert "new_shift" in shown and "settle" not in shown and "pause" not in shown
        assert 0 <= result["score"]["total"] <= 100 and set(result["score"]["parts"]) == set(
            result["engine_policy"]["parts"]
        )
    with Store(db) as store:
        shift = store.last_shift()
    assert shift is not None and shift.status == "finished" and shift.result is not None


async def test_train_resumes_a_shift_whose_console_died(small_world, tmp_path):
    from sim.training.shift import LiveShift

    low, _, _ = small_world
    path = training_file(small_world, tmp_path)
    db = tmp_path / "training.db"
    store = Store(db)
    live = LiveShift.begin(store, load_scenario(path), "ann", scenario_path=path)
    for _ in range(40):
        live.tick(1.0)
        if store.queue("S1"):
            break
    waiting = store.queue("S1")
    assert waiting
    live.act("ann", "claim", waiting[0].id)
    clock = live.clock_h
    store.set_shift(live.shift.id, holder="elsewhere:1", held_until=0.0)  # as a killed console leaves it
    store.db.close()  # no goodbye: the process "died" here
    app = MicrogovApp(low, None, "en", mode="train", cursor_blink=False, desk={"db_path": db, "account": "ann"})
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await until(pilot, lambda: screen.live is not None, 60)
        assert screen.live.clock_h >= clock
        assert screen.live.paused  # the trainee finds their feet before the clock runs on
        await until(pilot, lambda: waiting[0].id in screen.requests)
        assert screen.requests[waiting[0].id].status == "claimed"
        assert screen.requests[waiting[0].id].claimed_by == "ann"


async def test_outside_text_is_shown_as_text_not_obeyed(small_world, queue_db):
    hostile = "\x1b[2J\x1b]0;pwned\x07 lamp"
    with Store(queue_db) as store:
        store.act("bob", "S1", "note", 2, note=f"resident says {hostile}")
    app = operate_app(small_world, queue_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: len(screen.requests) == 3)
        history = screen.query_one("#desk-history")
        await until(pilot, lambda: "resident says" in str(history.render()))
        shown = str(history.render())
        assert "\\x1b[2J\\x1b]0;pwned\\x07 lamp" in shown and "\x1b" not in shown and "\x07" not in shown
