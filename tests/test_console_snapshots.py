"""Snapshots of every mode at 120×40 and 80×24 (cursor blink off, data from a fixed small run).

Update after an intended change of the screens with ``pytest tests/test_console_snapshots.py
--snapshot-update`` and look at the new pictures in ``tests/__snapshots__``.
"""

from __future__ import annotations

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
        await settle(pilot, lambda: app.screen.index is not None)
        app.screen.go_to(14.5)
        await settle(pilot, lambda: True)

    assert snap_compare(
        MicrogovApp(low, log, "en", mode="replay", cursor_blink=False), terminal_size=size, run_before=ready
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_help_over_replay(snap_compare, small_world, size):
    low, _, log = small_world

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: pilot.app.screen.index is not None)
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
def test_operate_in_chinese(snap_compare, small_world, size):
    from console.app import make_app

    low, _, _ = small_world
    assert snap_compare(make_app(low, None, "zh", mode="operate", cursor_blink=False), terminal_size=size)
