"""Snapshots of every mode at 120×40 and 80×24 (cursor blink off, data from a fixed small run).

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
    monkeypatch.setattr("sim.store._wall_text", lambda now=None: "2030-01-01T08:00:00")
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


def test_train_scenarios_to_choose_from(snap_compare, small_world, tmp_path, monkeypatch):
    from tests.conftest import SCENARIOS

    monkeypatch.setattr("console.screens.train.TRAINING_FOLDER", SCENARIOS / "training")
    monkeypatch.chdir(tmp_path)  # the store's path is shown: keep it the same in every run
    low, _, _ = small_world
    app = MicrogovApp(low, None, "en", mode="train", cursor_blink=False, desk={"db_path": Path("training.db")})

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: pilot.app.screen.query_one("#train-list").option_count > 0)

    assert snap_compare(app, terminal_size=(120, 40), run_before=ready)
