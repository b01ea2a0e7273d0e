"""The console's modes as a user drives them (Pilot): structure, replay of a real run's log, compare,
help and the command palette, languages, and a failed worker that must not stop the app."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input, SelectionList, Tree

from console.app import MicrogovApp, make_app
from console.screens.compare import CompareScreen
from console.screens.modals import HelpScreen
from console.screens.replay import ReplayScreen
from console.screens.structure import StructureScreen
from console.widgets import QueueRow, QueueView, due_style


class Recorder(MicrogovApp):
    """The console, keeping every message its screens post to it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[object] = []

    def on_structure_screen_node_shown(self, message: StructureScreen.NodeShown) -> None:
        self.seen.append(message)

    def on_structure_screen_stats_ready(self, message: StructureScreen.StatsReady) -> None:
        self.seen.append(message)

    def on_replay_screen_clock_moved(self, message: ReplayScreen.ClockMoved) -> None:
        self.seen.append(message)

    def on_compare_screen_finished(self, message: CompareScreen.Finished) -> None:
        self.seen.append(message)


async def until(pilot, condition, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait (on the app's own clock, not sleeping the test) until ``condition()`` holds."""
    steps = int(seconds / 0.05)
    for _ in range(steps):
        if condition():
            return
        errors = [n.message for n in pilot.app._notifications if n.severity == "error"]
        if errors and not getattr(pilot.app, "errors_expected", False):
            raise AssertionError(f"the console reported an error: {errors}")
        await pilot.pause(0.05)
    raise AssertionError("the console did not get there in time")


async def test_structure_tree_details_and_last_run(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="structure", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.screen.query_one("#tree", Tree)
        await until(pilot, lambda: len(tree.root.children) > 0)
        kids = [node.data for node in tree.root.children]
        assert kids[-3:] == ["S1", "S2", "T1"] and "water" in kids
        s1 = tree.root.children[kids.index("S1")]
        assert not s1.children  # not loaded before it is opened
        s1.expand()
        await pilot.pause()
        assert s1.children and all(str(c.data).startswith("S1/C") for c in s1.children)
        await until(pilot, lambda: any(isinstance(m, StructureScreen.StatsReady) for m in app.seen))
        assert "backlog" in str(s1.label)
        tree.select_node(s1)
        tree.move_cursor(s1)
        await until(pilot, lambda: any(isinstance(m, StructureScreen.NodeShown) and m.node == "S1" for m in app.seen))
        shown = next(m for m in app.seen if isinstance(m, StructureScreen.NodeShown) and m.node == "S1")
        assert shown.kpis is not None and shown.kpis["requests"] > 0
        table = app.screen.query_one("#node-kpis", DataTable)
        assert table.row_count >= 5
        assert "last run" in app.screen.sub_title


async def test_structure_runs_a_week_in_a_worker(small_world, tmp_path, monkeypatch):
    import threading

    from console.session import Session

    low, _, _ = small_world
    monkeypatch.setattr("console.session.user_cache_dir", lambda name: str(tmp_path))
    go = threading.Event()
    run = Session.run_for_stats

    def held(self, days, progress=None):  # type: ignore[no-untyped-def]
        go.wait(60)  # the run starts when the test has looked at the screen
        return run(self, days, progress)

    monkeypatch.setattr(Session, "run_for_stats", held)
    app = Recorder(low, None, "en", mode="structure", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.district is not None)
        assert app.session.stats is None
        await pilot.press("r")
        assert app.screen.work.working and app.screen.work.label == "simulating 7 days: Small 4"
        await pilot.press("r")
        assert "already running: wait for it to finish" in notices(app)
        go.set()
        await until(pilot, lambda: any(isinstance(m, StructureScreen.StatsReady) for m in app.seen), 60)
        assert not app.screen.work.working
        assert app.session.events_path is not None and app.session.events_path.is_file()
        assert app.session.stats.nodes["district"].load_total > 0  # type: ignore[union-attr]


async def test_replay_keys_move_the_clock(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await until(pilot, lambda: screen.ready)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: any(isinstance(m, ReplayScreen.ClockMoved) and m.position == 1 for m in app.seen))
        first = screen.clock_h
        assert first == pytest.approx(float(screen.index.time[0]))
        await pilot.press("right_curly_bracket", "right_curly_bracket")
        assert screen.clock_h == pytest.approx(first + 2.0)
        position = screen.index.position
        assert position == int(screen.index.time.searchsorted(first + 2.0, side="right"))
        await pilot.press("left_square_bracket")
        assert screen.index.position == position - 1
        await pilot.press("plus", "plus")
        assert screen.speed == 2
        await pilot.press("minus")
        assert screen.speed == 1
        await pilot.press("g")
        await pilot.pause()
        prompt = app.screen.query_one(Input)
        prompt.value = "day 1 18:30"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.clock_h == pytest.approx(18.5)
        queue = screen.query_one("#queue", QueueView)
        assert queue.count == len(screen.index.open) > 0
        await pilot.press("slash")
        for key in "urgent":
            await pilot.press(key)
        assert 0 < queue.count < len(screen.index.open)
        await pilot.press("escape")
        assert queue.count == len(screen.index.open)
        assert app.sub_title or screen.sub_title.startswith("2020-06-01 18:30")


async def test_replay_plays_at_most_ten_updates_a_second(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.ready)
        await pilot.press("plus", "plus", "plus")  # 600×
        before = len(app.seen)
        started = time.monotonic()
        await pilot.press("space")
        await pilot.pause(1.0)
        await pilot.press("space")
        elapsed = time.monotonic() - started  # more than a second on a loaded machine
        ticks = len(app.seen) - before
        assert 3 <= ticks <= 10 * elapsed + 2
        assert screen.clock_h == pytest.approx(ticks * 600 * 0.1 / 3600, rel=0.5)
        assert not screen.playing


async def test_replay_failed_open_shows_a_notice_and_keeps_running(small_world, tmp_path):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    app.errors_expected = True
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.ready)
        bad = tmp_path / "not-a-log.parquet"
        bad.write_text("hello", encoding="utf-8")
        screen.load(bad)
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert app.is_running and isinstance(app.screen, ReplayScreen)
        assert screen.index is not None  # the open log is kept


def footer_keys(app: MicrogovApp) -> set[str]:
    """The keys the footer shows now."""
    from textual.widgets._footer import FooterKey

    return {key.key for key in app.screen.query(FooterKey)}


def notices(app: MicrogovApp) -> list[str]:
    return [n.message for n in app._notifications]


FRAGMENT = 'name = "Fragment"\n[arrivals]\nrequests_per_resident_year = 1.2\n'


async def test_compare_lists_what_can_run_and_keeps_results_when_a_scenario_fails(small_world, tmp_path):
    low, high, _ = small_world
    for path in (low, high):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "small-broken.toml"
    broken.write_text(low.read_text(encoding="utf-8").replace("Small 4", "Small broken"), encoding="utf-8")
    (tmp_path / "boston-fit.toml").write_text(FRAGMENT, encoding="utf-8")
    app = Recorder(tmp_path / low.name, None, "en", mode="compare", cursor_blink=False)
    app.errors_expected = True  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await until(pilot, lambda: not screen.checking)
        picker = screen.query_one("#compare-scenarios", SelectionList)
        options = {str(picker.get_option_at_index(i).value): picker.get_option_at_index(i) for i in range(4)}
        assert options[str(tmp_path / "boston-fit.toml")].disabled  # a fragment: marked, cannot be ticked
        assert "boston-fit: cannot run on its own (the scenario has no streets and no towns)" in str(
            screen.query_one("#compare-skipped").render()
        )
        picker.deselect_all()
        for name in (low.name, high.name, broken.name):
            picker.select(str(tmp_path / name))
        screen.query_one("#compare-reps", Input).value = "2"
        screen.query_one("#compare-days", Input).value = "1"
        broken.write_text("name = [", encoding="utf-8")  # broken after it was listed
        await pilot.press("ctrl+r")
        assert screen.work.working and screen.work.label == "comparing 3 scenarios × 2 × 1 days"
        assert screen.work.unit == "replications" and screen.work.total == 6
        await pilot.press("ctrl+r")  # once is enough: the second says why not
        await until(pilot, lambda: any(n.startswith("a comparison is running") for n in notices(app)))
        await until(pilot, lambda: any(isinstance(m, CompareScreen.Finished) for m in app.seen), 120)
        summary = next(m for m in app.seen if isinstance(m, CompareScreen.Finished)).summary
        assert [s["name"] for s in summary["scenarios"]] == ["Small 4", "Small 30"]  # the others' results kept
        assert summary["paired"][0]["kpis"]["street_wait_mean_h"]["diff"] < 0
        assert any("small-broken.toml" in n for n in notices(app))
        table = screen.query_one("#compare-kpis", DataTable)
        assert table.row_count > 10 and "response_rate" in {str(k.value) for k in table.rows}
        headers = [" ".join(str(c.label).split()) for c in table.ordered_columns]
        assert headers == ["KPI", "Small 4", "Small 30", "Δ Small 30", "verdict"]
        assert not screen.running and not screen.work.working


async def test_compare_variants_are_added_by_key_checked_as_typed_and_run(small_world, tmp_path):
    from sim.experiment.plan import Variant

    low, high, _ = small_world
    for path in (low, high):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    app = Recorder(tmp_path / low.name, None, "en", mode="compare", cursor_blink=False)
    app.errors_expected = True  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await until(pilot, lambda: not screen.checking)
        picker = screen.query_one("#compare-scenarios", SelectionList)
        picker.deselect_all()
        picker.select(str(tmp_path / low.name))
        await pilot.pause()
        assert str(screen.query_one("#compare-variants-label").render()) == "variants of small-low"
        label = screen.query_one("#compare-variant-label", Input)
        changes = screen.query_one("#compare-variant-sets", Input)

        def problem() -> str:
            return str(screen.query_one("#compare-variant-problem").render())

        await pilot.press("v")  # the key puts the cursor in the variant's label
        assert app.focused is label
        await pilot.press(*"more staff", "enter")  # enter goes on to the changes
        assert app.focused is changes
        await pilot.press(*"staffing.per_office=lots")
        await until(pilot, lambda: "invalid value" in problem())
        assert problem() == 'staffing.per_office: invalid value: expected an integer, found "lots"'
        await pilot.press("ctrl+r")  # a variant typed but not added is not silently left out
        assert notices(app)[-1].startswith("the variant typed is not added yet") and not screen.running
        await pilot.press("enter")  # nor added while it is wrong
        await pilot.pause(0.3)
        assert screen.variants == []
        changes.value = "staffing.per_office=30"
        await until(pilot, lambda: problem() == "enter adds the variant")
        await pilot.press("enter")
        await until(pilot, lambda: screen.variants == [Variant("more staff", ("staffing.per_office=30",))])
        assert label.value == changes.value == "" and app.focused is label
        listing = screen.query_one("#compare-variants")
        assert listing.display and listing.option_count == 1
        # the same checks as microgov compare: a variant that changes nothing, a label already used
        label.value, changes.value = "same", "staffing.per_office=4"
        await until(pilot, lambda: "the same scenario" in problem())
        assert problem().startswith('"Small 4" and "same" are the same scenario after every override')
        label.value, changes.value = "More staff", "whistle.enabled=true"
        await until(pilot, lambda: "label" in problem())
        assert problem() == "two variants have this label; give each its own"
        label.value = changes.value = ""
        screen.query_one("#compare-reps", Input).value = "2"
        screen.query_one("#compare-days", Input).value = "1"
        await pilot.press("escape", "ctrl+r")
        assert screen.work.label == "comparing 2 scenarios × 2 × 1 days"
        await until(pilot, lambda: any(isinstance(m, CompareScreen.Finished) for m in app.seen), 120)
        summary = next(m for m in app.seen if isinstance(m, CompareScreen.Finished)).summary
        assert [s["name"] for s in summary["scenarios"]] == ["Small 4", "more staff"]
        assert summary["paired"][0]["kpis"]["street_wait_mean_h"]["diff"] < 0
        table = screen.query_one("#compare-kpis", DataTable)
        headers = [" ".join(str(c.label).split()) for c in table.ordered_columns]
        assert headers == ["KPI", "Small 4", "more staff", "Δ more staff", "verdict"]
        await pilot.press("delete")  # only in the list of variants
        assert screen.variants and notices(app)[-1] == "pick the variant to remove in the list first"
        listing.focus()
        await pilot.press("delete")
        assert screen.variants == [] and not listing.display


async def test_compare_fields_give_the_keys_back_and_name_a_bad_value(small_world):
    low, _, _ = small_world
    app = Recorder(low, None, "en", mode="compare", cursor_blink=False)
    app.errors_expected = True  # type: ignore[attr-defined]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await until(pilot, lambda: not screen.checking)
        days = screen.query_one("#compare-days", Input)
        assert app.focused is not days  # nothing that types is focused on arrival: 1-5 switch modes
        days.focus()
        await pilot.press(*"1e-202033")
        assert days.value == "1e-202033"
        problem = str(screen.query_one("#compare-problem").render())
        assert problem == "days: more than 0 and at most 3660, found 1e-202033"
        assert "ctrl+r" not in footer_keys(app)
        await pilot.press("escape")
        assert app.focused is None
        await pilot.press("ctrl+r")  # refused, and says why
        assert notices(app)[-1] == problem and not screen.running
        await pilot.press("3")  # a mode key reaches the app once the field is left
        assert app.current_mode == "replay"


async def test_replay_keys_that_cannot_be_used_say_why(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.ready and "space" in footer_keys(app))
        assert {"minus", "left_square_bracket"}.isdisjoint(footer_keys(app))  # at 1× and at the start
        assert {"space", "plus", "right_square_bracket", "g", "o"} <= footer_keys(app)
        await pilot.press("minus")
        assert notices(app)[-1] == "already the slowest (1×)"
        await pilot.press("left_square_bracket")
        assert notices(app)[-1] == "already at the start"
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-keys").render())
        assert "One event back  (not now: already at the start)" in text


async def test_a_log_that_cannot_be_opened_leaves_the_replay_where_it_was(small_world, tmp_path):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    app.errors_expected = True  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.ready)
        screen.go_to(18.5)
        position = screen.index.position
        await pilot.press("o")
        prompt = app.screen.query_one(Input)
        prompt.value = str(tmp_path / "missing.parquet")
        await pilot.press("enter")
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        await until(pilot, lambda: screen._loading is None)
        await pilot.press("question_mark", "escape")  # the screen is shown again: still where it was
        assert screen.clock_h == pytest.approx(18.5) and screen.index.position == position
        assert screen.ready and screen.index.path == log


async def test_the_replay_queue_shows_the_deadline_that_is_running(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.ready)
        screen.go_to(30.0)
        queue = screen.query_one("#queue", QueueView)
        kinds = {row.due_kind for row in queue.rows}
        assert kinds == {"response", "resolution"}
        cells = [text for row in queue.rows[:40] for text, _ in queue.cells(row, 80)]
        assert any(text.startswith("resp ") for text in cells) and any(text.startswith("resol ") for text in cells)
        header = str(screen.query_one("#queue-header").render())
        for column in ("post", "priority", "category", "state", "age", "deadline"):
            assert column in header  # every column at 80 columns


async def test_help_lists_the_keys_bound_here(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.ready)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys").render())
        for phrase in ("Play or pause the replay", "One hour on", "Go to a typed time", "Structure", "Quit"):
            assert phrase in text
        assert "Run a week" not in text  # a Structure key, not bound here
        await pilot.press("escape")
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_palette_commands_fit_the_mode(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="replay", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.ready)
        replay = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to time…" in replay and "Run a week" not in replay and "Theme" in replay
        await pilot.press("5")
        await until(pilot, lambda: app.session.district is not None)
        structure = [c.title for c in app.get_system_commands(app.screen)]
        assert "Run a week" in structure and "Go to time…" not in structure
        await pilot.press("4")
        await until(pilot, lambda: not app.screen.checking)
        app.screen.query_one("#compare-days", Input).value = "0"
        run = next(c for c in app.get_system_commands(app.screen) if c.title == "Run comparison")
        run.callback()  # from the palette as from its key: refused, with why
        await pilot.pause()
        assert notices(app)[-1] == "days: more than 0 and at most 3660, found 0" and not app.screen.running


async def test_modes_switch_with_number_keys(small_world):
    low, _, log = small_world
    app = Recorder(low, log, "en", mode="structure", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for key, mode in (("1", "operate"), ("2", "train"), ("3", "replay"), ("4", "compare"), ("5", "structure")):
            await pilot.press(key)
            assert app.current_mode == mode
        await pilot.press("1")
        assert "Work your post's live queue" in str(app.screen.query_one("#signin-what").render())


async def test_chinese_labels(small_world):
    low, _, log = small_world
    app = make_app(low, log, "zh", mode="replay", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.ready)
        descriptions = {b.binding.description for b in app.screen.active_bindings.values()}
        assert {"播放", "跳转", "筛选", "帮助", "退出"} <= descriptions
        assert "回放" in str(app.screen.query_one("ModeBar").render())
        assert "类别" in str(app.screen.query_one("#queue-header").render())


def test_a_deadline_is_due_soon_in_its_last_quarter_in_every_queue():
    """The README's rule (yellow in the last quarter of the deadline, red when late), one function for
    Replay's queue and the operators' desk: an urgent request's 2 h response is soon in its last 30
    minutes; a special one's 30 minutes in its last 15 (the floor); a week's resolution in its last 42 h."""

    def row(arrived: float, due: float) -> QueueRow:
        return QueueRow(1, "S1", "urgent", "blocked_drain", "waiting", arrived, due)

    assert due_style(row(0.0, 2.0), 1.4) is None
    assert due_style(row(0.0, 2.0), 1.6) == "queue--soon"
    assert due_style(row(0.0, 0.5), 0.2) is None and due_style(row(0.0, 0.5), 0.3) == "queue--soon"
    assert due_style(row(0.0, 168.0), 125.0) is None and due_style(row(0.0, 168.0), 127.0) == "queue--soon"
    assert due_style(row(0.0, 2.0), 2.01) == "queue--late"
