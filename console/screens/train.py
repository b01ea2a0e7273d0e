"""Train mode: a trainee works one post's queue while the simulation plays the rest of the district.

Pick a training scenario (``scenarios/training/``), name the trainee, start: the district runs at full
speed to the shift's start, then in scaled real time (space pauses, + and - change the speed), its
arrivals and outcomes written into the training store as they happen. Kill the console at any moment
and start it again on the same store: the shift resumes where it was. At the end (or ``f``) the trainee's
score is shown beside the engine's own policy's, and the after-action report is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.desk import ShiftDesk
from console.screens.base import PaletteCommand
from console.screens.desk import DeskScreen
from console.screens.modals import Briefing, Confirm
from console.widgets import Field
from sim.errors import MicrogovError
from sim.operations.identity import full_name

SPEEDS = (1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TICK_S = 0.25
TRAINING_FOLDER = Path("scenarios/training")


class TrainScreen(DeskScreen):
    BINDINGS = [
        *DeskScreen.BINDINGS,
        Binding("space", "pause", "Pause", tooltip="Pause or resume the simulated clock", id="train-pause"),
        Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+", id="train-faster"),
        Binding("minus", "speed(-1)", "Slower", key_display="-", id="train-slower"),
        Binding("f", "finish", "Finish", tooltip="End the shift now: score it and write the report", id="train-finish"),
        Binding("N", "new_shift", "New shift", tooltip="Back to the training scenarios", id="train-new"),
        Binding(
            "b",
            "briefing",
            "Briefing",
            tooltip="Read the shift's briefing (the clock stops meanwhile)",
            id="train-briefing",
        ),
    ]
    mode = "train"

    def __init__(self) -> None:
        super().__init__()
        self.live: Any = None
        self.files: list[Path] = []
        self.briefs: dict[str, str] = {}
        self.last_tick = time.monotonic()
        self.ticking = False
        self.finishing = False
        self.result: dict[str, Any] | None = None
        self.speed = 1.0

    def compose_intro(self) -> ComposeResult:
        yield Label(self.w("training scenarios"))
        with Horizontal(id="train-pick"):
            yield OptionList(id="train-list")
            yield Static(id="train-brief")
        with Horizontal(id="train-row"):
            yield Field(placeholder=self.w("trainee"), id="train-name")
            yield Button(self.w("start shift"), id="train-start", variant="primary")
        yield Static(id="train-problem")

    def compose_extra(self) -> ComposeResult:
        with Vertical(id="train-results"):
            yield Static(id="train-score")

    def on_mount(self) -> None:
        super().on_mount()
        session = self.session
        name = self.query_one("#train-name", Field)
        name.value = session.trainee or full_name(session.account)
        name.cursor_blink = self.console.cursor_blink
        self.set_interval(TICK_S, self._tick)
        self.work.start(self.w("opening the training store"))
        self.open_store()

    # --- starting, resuming --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="train-open", name="opening the training store", exit_on_error=False)
    def open_store(self) -> None:
        """Resume the shift under way in the training store, or start the one asked for, or list the
        training scenarios to choose from."""
        from sim.operations.store import Store
        from sim.training.shift import LiveShift

        session = self.session
        try:
            store = Store(session.store_path("train"))
            try:
                live = LiveShift.resume(store, progress=self._stage)
            except BaseException:
                store.close()
                raise
            if live is not None:
                if not live.paused:  # back from a crash: let the trainee find their feet before the clock runs
                    live.pause(True)
                self.app.call_from_thread(self._opened, live, ShiftDesk(live, session.account), True)
                return
            store.close()
            if session.train_file is not None:
                self._begin(session.train_file, session.trainee, session.train_sets, session.train_post)
                return
            self._list()
        finally:
            self.app.call_from_thread(self.work.stop)

    class Stage(Message):
        """A slow step of starting, resuming or finishing a shift got this far."""

        def __init__(self, label: str, fraction: float | None) -> None:
            self.label = label
            self.fraction = fraction
            super().__init__()

    def _stage(self, label: str, fraction: float | None) -> None:
        """Called from a worker that may hold the shift's lock: posts (never waits for the screen)."""
        self.post_message(self.Stage(label, fraction))

    def on_train_screen_stage(self, event: Stage) -> None:
        if self.work.working:
            self.work.stage(event.label, event.fraction)

    def _list(self) -> None:
        from sim.scenario import load_scenario

        files = sorted(TRAINING_FOLDER.glob("*.toml")) if TRAINING_FOLDER.is_dir() else []
        if self.session.train_file is not None and self.session.train_file not in files:
            files.insert(0, self.session.train_file)
        entries = []
        for path in files:
            try:
                scenario = load_scenario(path)
            except MicrogovError as exc:
                entries.append((path, f"{path.name}: {exc}", ""))
                continue
            spec = scenario.training
            if spec is None:
                continue
            label = f"{scenario.name} · {spec.post} · {spec.hours:g} h at {spec.speed:g}×"
            brief = f"[b]{escape(scenario.name)}[/]\n{escape(scenario.description)}\n\n{escape(spec.briefing)}"
            entries.append((path, label, brief))
        self.app.call_from_thread(self._show_list, entries)

    def _show_list(self, entries: list[tuple[Path, str, str]]) -> None:
        listing = self.query_one("#train-list", OptionList)
        listing.clear_options()
        self.files = [path for path, _, _ in entries]
        self.briefs = {str(path): brief for path, _, brief in entries}
        listing.add_options([Option(escape(label), id=str(path)) for path, label, _ in entries])
        problem = self.query_one("#train-problem", Static)
        if not entries:
            problem.update(f"{self.w('no training')} ({TRAINING_FOLDER}/*.toml)")
        else:
            problem.update(f"[dim]{self.w('store')}: {escape(str(self.session.store_path('train')))}[/]")
            listing.highlighted = 0
            listing.focus()

    @on(OptionList.OptionHighlighted, "#train-list")
    def _brief(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#train-brief", Static).update(self.briefs.get(event.option_id or "", ""))

    @on(OptionList.OptionSelected, "#train-list")
    @on(Button.Pressed, "#train-start")
    @on(Input.Submitted, "#train-name")
    def _start(self) -> None:
        listing = self.query_one("#train-list", OptionList)
        if listing.highlighted is None or not self.files:
            return
        name = self.query_one("#train-name", Input).value.strip() or full_name(self.session.account)
        path = self.files[listing.highlighted]
        self.work.start(f"{self.w('warming up')} ({path.name})")
        self.begin(path, name)

    @work(thread=True, exclusive=True, group="train-open", name="starting the shift", exit_on_error=False)
    def begin(self, path: Path, trainee: str) -> None:
        try:
            self._begin(path, trainee, [])
        finally:
            self.app.call_from_thread(self.work.stop)

    def _begin(self, path: Path, trainee: str, sets: list[str], post: str | None = None) -> None:
        from sim.operations.store import Store
        from sim.scenario import load_scenario
        from sim.structure import build_district
        from sim.training.shift import LiveShift, play_at

        self._stage(f"{self.w('warming up')} ({path.name})", None)
        scenario = load_scenario(path, sets)
        district = build_district(scenario)
        if post is not None:
            scenario = play_at(scenario, post, district)
        store = Store(self.session.store_path("train"))
        try:
            account = self.session.account
            live = LiveShift.begin(
                store, scenario, account, trainee=trainee, scenario_path=path, district=district, progress=self._stage
            )
            live.pause(True)  # the clock starts when the trainee has read the briefing
            desk = ShiftDesk(live, account)
        except BaseException:
            store.close()
            raise
        self.app.call_from_thread(self._opened, live, desk, False)

    def _opened(self, live: Any, desk: ShiftDesk, resumed: bool) -> None:
        self.live = live
        self.speed = live.speed
        self.result = None
        self.last_tick = time.monotonic()
        self.open_desk(desk)
        self.title = live.scenario.name  # the shift's scenario, whichever the console was opened on
        if resumed:
            self.notify(
                f"{self.w('resumed')} {live.shift.id}: {live.now:%H:%M}. {self.w('paused to resume')}", timeout=8
            )
        else:
            self._show_briefing(resume=True)  # a new shift opens on its briefing, the clock stopped until it closes

    # --- the clock -----------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        if self.live is None or self.ticking or self.finishing or self.result is not None:
            self.last_tick = now
            return
        wall = now - self.last_tick
        self.last_tick = now
        self.ticking = True
        self.tick(wall)

    @work(thread=True, group="train-tick", name="playing the district", exit_on_error=False)
    def tick(self, wall: float) -> None:
        from sim.training.shift import ShiftError

        live = self.live
        try:
            info = live.tick(wall)
            changed = self.desk.changed() if self.desk is not None else False
        except ShiftError as exc:  # taken over by another console: stop playing it here
            self.app.call_from_thread(self._lost, str(exc))
            return
        finally:
            self.ticking = False
        self.app.call_from_thread(self._ticked, info, changed)

    def _lost(self, message: str) -> None:
        self.live = None
        self.notify(message, severity="error", timeout=20)

    def _ticked(self, info: Any, changed: bool) -> None:
        if self.live is None or self.result is not None:
            return
        if changed:
            self.reload()
        self.set_clock(self.live.now)
        if info.at_end and not self.finishing:
            self.finish()

    def status_extra(self) -> list[str]:
        live = self.live
        if live is None:
            return []
        done = live.clock_h - live.shift.start_h
        total = live.shift.end_h - live.shift.start_h
        if self.result is not None:
            state = f"[green]{self.w('finished')}[/]"
        elif self.finishing:
            state = f"[yellow]{self.w('finishing')}…[/]"
        else:
            state = f"[yellow]{self.w('paused')}[/]" if live.paused else f"▶ {self.speed:g}×"
        return [state, f"{_hm(done)} / {_hm(total)}"]

    def action_pause(self) -> None:
        if self.live is not None:
            self._pause(not self.live.paused)

    @work(thread=True, group="train-control", name="pausing", exit_on_error=False)
    def _pause(self, paused: bool) -> None:
        self.live.pause(paused)
        self.app.call_from_thread(self.show_status)

    def action_speed(self, step: int) -> None:
        if self.live is None:
            return
        faster = [s for s in SPEEDS if s > self.speed]
        slower = [s for s in SPEEDS if s < self.speed]
        if step > 0 and faster:
            self.speed = faster[0]
        elif step < 0 and slower:
            self.speed = slower[-1]
        else:
            return
        self._speed(self.speed)
        self.refresh_bindings()

    def idle_text(self) -> Text:
        if self.live is None:
            return super().idle_text()
        text = Text(f"{self.w('briefing')}\n", style="bold")
        text.append(unwrap(self.live.briefing))
        return text

    def action_briefing(self) -> None:
        self._show_briefing(resume=self.live is not None and not self.live.paused and self.result is None)

    def _show_briefing(self, *, resume: bool) -> None:
        """Show the briefing; with ``resume``, the clock stops while it is open and runs again after."""
        live = self.live
        if live is None or isinstance(self.app.screen, Briefing):
            return
        if resume and not live.paused:
            self._pause(True)

        def closed(_: None) -> None:
            if resume and self.live is live and self.result is None and not self.finishing:
                self._pause(False)

        title = f"{self.w('briefing')}: {live.scenario.name}"
        self.app.push_screen(Briefing(title, unwrap(live.briefing), self.w("briefing close")), closed)

    @work(thread=True, group="train-control", name="changing the speed", exit_on_error=False)
    def _speed(self, speed: float) -> None:
        self.live.set_speed(speed)
        self.app.call_from_thread(self.show_status)

    # --- the end -------------------------------------------------------------------------------------

    def action_finish(self) -> None:
        if self.live is None or self.finishing:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.finish()

        self.app.push_screen(Confirm(self.w("finish now"), self.w("yes"), self.w("no")), answered)

    def finish(self) -> None:
        self.finishing = True
        self.work.start(self.w("scoring"))
        self.show_status()
        self.refresh_bindings()
        self._finish()

    @work(thread=True, exclusive=True, group="train-finish", name="scoring the shift", exit_on_error=False)
    def _finish(self) -> None:
        try:
            result = self.live.finish(progress=self._stage)
        finally:
            self.finishing = False
            self.app.call_from_thread(self._finish_ended)
        self.app.call_from_thread(self._finished, result)

    def _finish_ended(self) -> None:
        self.work.stop()
        self.show_status()
        self.refresh_bindings()

    def _finished(self, result: dict[str, Any]) -> None:
        self.result = result
        self.query_one("#train-score", Static).update(self._score_view(result))
        self.query_one("#desk-switcher", ContentSwitcher).current = "train-results"
        self.show_status()
        self.refresh_bindings()

    def _score_view(self, result: dict[str, Any]) -> Any:
        from rich.console import Group

        mine, theirs = result["score"], result["engine_policy"]
        table = Table(title=f"{self.w('score')}: {escape(result['trainee'])} @ {escape(result['post'])}")
        table.add_column(self.w("part"))
        table.add_column(self.w("trainee"), justify="right")
        table.add_column(self.w("engine policy"), justify="right")
        table.add_column(self.w("weight"), justify="right")
        for name, part in mine["parts"].items():
            other = theirs["parts"][name]
            table.add_row(self.w(name), _share(part), _share(other), f"{part['weight']:g}")
        table.add_row(
            Text(self.w("total"), style="bold"),
            Text(f"{mine['total']:.0f} / 100", style="bold"),
            Text(f"{theirs['total']:.0f} / 100", style="bold"),
            "",
        )
        report = Text("\n")
        for point in result.get("lessons", []):
            report.append(f"• {point}\n")
        report.append(f"\n{self.w('report')}: {result['report']}\n{self.w('timeline')}: {result['timeline']}\n")
        report.append(f"\n{self.w('new shift')}: N", style="dim")
        return Group(table, report)

    def action_new_shift(self) -> None:
        if self.live is None or self.result is None:
            return
        desk = self.desk
        self.live = None
        self.desk = None
        self.result = None
        if desk is not None:
            desk.close()
        self.session.train_file = None
        self.title = None
        self.query_one("#desk-switcher", ContentSwitcher).current = "desk-intro"
        self.query_one("#desk-status", Static).update("")
        self.open_store()

    def no_desk(self) -> str:
        return self.w("start a shift first")

    def palette_commands(self) -> Iterator[PaletteCommand]:
        if self.live is not None and self.result is None:
            yield PaletteCommand("Pause / resume the shift", "stop or restart the simulated clock", "pause")
            yield PaletteCommand("Faster", "run the shift faster", "speed", (1,))
            yield PaletteCommand("Slower", "run the shift slower", "speed", (-1,))
            yield PaletteCommand("Finish the shift", "end it now, score it, write the report", "finish")
        if self.live is not None:
            yield PaletteCommand(
                "Read the briefing", "what the shift is about (b); the clock stops while it is open", "briefing"
            )
        yield from super().palette_commands()

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        w = self.w
        if action == "new_shift":
            if self.result is not None:
                return None
            return w("finish first") if self.live is not None else w("start a shift first")
        if self.result is not None and action in (
            *("pause", "speed", "finish", "act", "settle", "pass_on", "whistle", "escalate", "return_down"),
            *("note", "undo", "filter", "clear_filter", "toggle_all"),
        ):
            return w("the shift is over")
        if self.finishing and action not in ("filter", "clear_filter"):
            return f"{w('scoring')}…"
        if action == "briefing":
            return None if self.live is not None else w("start a shift first")
        if action in ("pause", "speed", "finish"):
            if self.live is None:
                return w("start a shift first")
            if self.finishing:
                return f"{w('scoring')}…"
            if action == "speed":
                step = int(str(parameters[0])) if parameters else 0
                if step > 0 and self.speed >= SPEEDS[-1]:
                    return f"{w('fastest')} ({SPEEDS[-1]:g}×)"
                if step < 0 and self.speed <= SPEEDS[0]:
                    return f"{w('slowest')} ({SPEEDS[0]:g}×)"
            return None
        return super().refusal(action, parameters)

    def on_unmount(self) -> None:
        if self.desk is not None:
            self.desk.close()


def unwrap(text: str) -> str:
    """Paragraphs of a TOML multi-line string, with the file's line breaks taken out."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in text.strip().split("\n\n")]
    return "\n\n".join(paragraphs)


def _share(part: dict[str, Any]) -> str:
    if not part["judged"]:
        return "–"
    return f"{part['right']}/{part['judged']} ({100 * part['rate']:.0f}%)"


def _hm(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60}:{minutes % 60:02d}"
