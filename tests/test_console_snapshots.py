"""Snapshots of every mode at 120×40 and 80×24 (cursor blink off, data from a fixed small run): at 80×24
each mode must still show what it is for (the queue's state, age and deadline; every scenario, difference
and verdict; the tree's figures; the keys that work now).

Update after an intended change of the screens with ``pytest tests/test_console_snapshots.py
--snapshot-update`` and look at the new pictures in ``tests/__snapshots__``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from console.app import MicrogovApp

SIZES = [(120, 40), (80, 24)]


async def settle(pilot, condition) -> None:  # type: ignore[no-untyped-def]
    for _ in range(600):
        if condition():
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_structure(snap_compare, small_world, size):
    low, _, log = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await settle(pilot, lambda: app.session.stats is not None and app.screen.query_one("#node-kpis").row_count > 2)
        await pilot.press(
            "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down"
        )
        await pilot.press("enter")
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, log, "en", mode="structure", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_replay(snap_compare, small_world, size):
    low, _, log = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await settle(pilot, lambda: app.screen.ready)
        app.screen.go_to(14.5)
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, log, "en", mode="replay", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_help_over_replay(snap_compare, small_world, size):
    low, _, log = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: pilot.app.screen.ready)
        await pilot.press("question_mark")
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, log, "en", mode="replay", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_compare_form(snap_compare, small_world, size):
    low, _, _ = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, None, "en", mode="compare", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_compare_form_with_variants(snap_compare, small_world, size):
    """One file ticked, a variant of it added, and a second one typed with a value of the wrong type."""
    low, _, _ = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        from textual.widgets import SelectionList

        screen = pilot.app.screen
        await settle(pilot, lambda: not screen.checking)
        picker = screen.query_one("#compare-scenarios", SelectionList)
        picker.deselect_all()
        picker.select(str(low))
        await pilot.press("v", *"more staff", "enter", *"staffing.per_office=30", "enter")
        await settle(pilot, lambda: len(screen.variants) == 1)
        await pilot.press(*"no whistle", "enter", *"whistle.enabled=no")
        await settle(pilot, lambda: "invalid value" in str(screen.query_one("#compare-variant-problem").render()))

    assert snap_compare(
        MicrogovApp(low, None, "en", mode="compare", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_operate_sign_in_in_chinese(snap_compare, small_world, size):
    from console.app import make_app

    low, _, _ = small_world
    app = make_app(
        low,
        None,
        "zh",
        mode="operate",
        cursor_blink=False,
        desk={"db_path": Path("missing/queue.db"), "account": "ann"},
    )

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: "missing" in str(pilot.app.screen.query_one("#signin-problem").render()))

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_operate_queue(snap_compare, small_world, tmp_path, monkeypatch, size):
    from console.desk import Desk
    from tests.conftest import fill_queue

    monkeypatch.setattr(Desk, "now", lambda self: dt.datetime(2030, 1, 1, 8, 20))
    monkeypatch.setattr("sim.operations.store._wall_text", lambda now=None: "2030-01-01T08:00:00")
    low, _, _ = small_world
    desk = {"db_path": fill_queue(low, tmp_path / "queue.db"), "post": "S1", "account": "ann"}
    app = MicrogovApp(low, None, "en", mode="operate", cursor_blink=False, desk=desk)

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        await settle(
            pilot,
            lambda: (
                len(screen.requests) == 3
                and screen.categories
                and "history" in str(screen.query_one("#desk-history").render())
            ),
        )

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.fixture(scope="module")
def small_comparison(small_world):
    """What the Compare mode shows after 2 replications of 1 day of the two small scenarios."""
    from console.screens.compare import outcome_of
    from sim.experiment.compare import Plan, compare_scenarios
    from sim.scenario import load_scenario

    low, high, _ = small_world
    plan = Plan([(p.stem, load_scenario(p)) for p in (low, high)], reps=2, days=1.0)
    return outcome_of(compare_scenarios(plan))


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_compare_results(snap_compare, small_world, small_comparison, size):
    low, _, _ = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        await settle(pilot, lambda: not screen.checking)
        screen.show_outcome(small_comparison)
        if size[0] < 100:
            await pilot.press("f")  # narrow: the form out of the way, as a run started here does
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, None, "en", mode="compare", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_train_scenarios_to_choose_from(snap_compare, small_world, tmp_path, monkeypatch, size):
    from tests.conftest import SCENARIOS

    monkeypatch.setattr("console.screens.train.TRAINING_FOLDER", SCENARIOS / "training")
    monkeypatch.chdir(tmp_path)  # the store's path is shown: keep it the same in every run
    low, _, _ = small_world
    app = MicrogovApp(low, None, "en", mode="train", cursor_blink=False, desk={"db_path": Path("training.db")})

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: pilot.app.screen.query_one("#train-list").option_count > 0)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_train_shift_under_way(snap_compare, small_world, tmp_path, monkeypatch, size):
    """A shift paused with requests at the desk, as the console finds it when it comes back."""
    from sim.operations.store import Store
    from sim.scenario import load_scenario
    from sim.training.shift import LiveShift
    from tests.test_console_desk import training_file

    monkeypatch.setattr("sim.operations.store._wall_text", lambda now=None: "2030-01-01T08:00:00")
    path = training_file(small_world, tmp_path)
    db = tmp_path / "training.db"
    with Store(db) as store:
        live = LiveShift.begin(store, load_scenario(path), "ann", scenario_path=path)
        while len(store.queue("S1")) < 3:
            live.tick(5.0)
        live.pause(True)
        live.close()
    low, _, _ = small_world
    app = MicrogovApp(low, None, "en", mode="train", cursor_blink=False, desk={"db_path": db, "account": "ann"})

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        await settle(
            pilot,
            lambda: (
                len(screen.requests) >= 3
                and screen.categories
                and "history" in str(screen.query_one("#desk-history").render())
                and not screen.work.working
            ),
        )

    assert snap_compare(app, terminal_size=size, run_before=ready)
