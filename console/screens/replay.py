"""Replay mode: a run's event log played back like a tape, with the open queue as it stood at each moment.

Space plays and pauses; ``[`` and ``]`` step one event, ``{`` and ``}`` one hour; ``+`` and ``-`` change
the speed (1×, 10×, 60×, 600× simulated time); ``g`` goes to a typed time. The queue (post, priority,
state, age, and the deadline that is running: the response deadline until the request is answered, then
the resolution deadline) and each office's open requests follow the clock. The screen updates at most
ten times a second, and seeking restores a snapshot instead of re-reading the log. Opening another log
that turns out unreadable leaves the open one where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from console.screens.base import PaletteCommand, QueueScreen
from console.screens.modals import Prompt
from console.widgets import Field, KeyFooter, QueueRow, QueueView, WorkProgress

SPEEDS = (1, 10, 60, 600)
TICK_S = 0.1
EVENT = Binding.Group("event")
HOUR = Binding.Group("hour")
SPEED = Binding.Group("speed")


class ReplayScreen(QueueScreen):
    BINDINGS = [
        Binding("space", "play", "Play", tooltip="Play or pause the replay", id="replay-play"),
        Binding(
            "left_square_bracket",
            "step(-1)",
            "−event",
            tooltip="One event back",
            key_display="[",
            group=EVENT,
            id="replay-event-back",
        ),
        Binding(
            "right_square_bracket",
            "step(1)",
            "+event",
            tooltip="One event on",
            key_display="]",
            group=EVENT,
            id="replay-event-on",
        ),
        Binding(
            "left_curly_bracket",
            "hour(-1)",
            "−hour",
            tooltip="One hour back",
            key_display="{",
            group=HOUR,
            id="replay-hour-back",
        ),
        Binding(
            "right_curly_bracket",
            "hour(1)",
            "+hour",
            tooltip="One hour on",
            key_display="}",
            group=HOUR,
            id="replay-hour-on",
        ),
        Binding(
            "plus,equals_sign",
            "speed(1)",
            "Faster",
            tooltip="Faster: 1×, 10×, 60×, 600×",
            key_display="+",
            group=SPEED,
            id="replay-faster",
        ),
        Binding(
            "minus",
            "speed(-1)",
            "Slower",
            tooltip="Slower: 600×, 60×, 10×, 1×",
            key_display="-",
            group=SPEED,
            id="replay-slower",
        ),
        Binding(
            "g", "seek", "Go to", tooltip="Go to a typed time (36h, day 2 09:30, 2020-06-02 09:30)", id="replay-seek"
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="Filter the queue by post, priority, category or state",
            key_display="/",
            id="replay-filter",
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="replay-clear"),
        Binding("o", "open", "Open", tooltip="Open another event log", id="replay-open"),
    ]

    class ClockMoved(Message):
        """The replay's moment changed."""

        def __init__(self, clock_h: float, position: int, open_requests: int) -> None:
            self.clock_h = clock_h
            self.position = position
            self.open_requests = open_requests
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.clock_h = 0.0
        self.speed = 0
        self.playing = False
        self._built_at = -1
        self._office_keys: set[str] = set()
        self._loading: Path | None = None
        self._edges: tuple[bool, ...] = ()

    @property
    def index(self) -> Any:
        return self.session.replay

    @property
    def ready(self) -> bool:
        """A log is open and shown (keys that move the clock work only then)."""
        return self.index is not None and self._built_at >= 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield self.mode_bar("replay")
        yield Static(id="replay-status")
        yield WorkProgress()
        with Horizontal(id="replay-main"):
            with Vertical(id="queue-pane"):
                yield Static(id="queue-header")
                yield QueueView(id="queue")
                yield Field(placeholder=self.w("filter"), id="queue-filter", classes="hidden")
            table: DataTable[str] = DataTable(id="offices", cursor_type="row", zebra_stripes=True)
            yield table
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.w("no_log")
        table = self.query_one("#offices", DataTable)
        table.add_column(self.w("open_now"), key="open")
        table.add_column(self.w("office"), key="office")
        self.query_one("#queue-filter", Field).cursor_blink = self.console.cursor_blink
        self.timer = self.set_interval(TICK_S, self._tick, pause=True)
        self._show_status()
        if self.index is None and self.session.events_path is not None:
            self.load(self.session.events_path)
        elif self.index is not None:
            self._loaded()

    def on_screen_resume(self) -> None:
        if self.index is None and self.session.events_path is not None:
            self.load(self.session.events_path)
        elif self.index is not None and self._built_at < 0 and self._loading is None:
            self._loaded()  # opened meanwhile elsewhere (a week run from the Structure mode)

    # --- loading ------------------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """Open ``path`` in a worker, unless it is already being opened. The log on screen stays until the
        new one is read: if it cannot be, nothing moves."""
        if self._loading == path:
            return
        self._loading = path
        self.work.start(f"{self.w('reading')} {path.name}")
        self.refresh_bindings()
        self._load(path)

    @work(thread=True, exclusive=True, group="replay-load", name="opening the event log", exit_on_error=False)
    def _load(self, path: Path) -> None:
        opened = False
        try:
            self.session.ensure_district()
            self.session.open_replay(path)
            opened = True
        finally:
            self.app.call_from_thread(self._load_ended, opened)

    def _load_ended(self, opened: bool) -> None:
        self._loading = None
        self.work.stop()
        if opened:
            self._loaded()
        else:
            self.refresh_bindings()

    def _loaded(self) -> None:
        logged = self.index.meta.get("scenario")
        if logged and logged != self.session.name:
            self.notify(f"{self.w('other_log')}: {logged}", severity="warning", timeout=8)
        self.clock_h = 0.0
        self.playing = False
        self.timer.pause()
        self._built_at = -1
        self._office_keys.clear()
        self.query_one("#offices", DataTable).clear()
        self.index.seek_event(0)
        labels = self._labels()
        self.query_one("#queue", QueueView).labels = labels
        self.show_queue_header()
        self._refresh()
        self.refresh_bindings()
        self.query_one("#queue", QueueView).focus()

    def _labels(self) -> dict[str, str]:
        w = self.w
        labels = {k: w(k) for k in ("post", "priority", "category", "state", "age", "deadline", "in", "late")}
        labels.update({"response": w("due response"), "resolution": w("due resolution")})
        from sim.analysis.replay import STATES

        labels.update({state: w(state) for state in STATES})
        labels.update({p: w.priority(p) for p in ("special", "urgent", "ordinary")})
        scenario = self.session.scenario
        if scenario is not None:
            for cid, cat in scenario.categories.items():
                labels[cid] = cat.name if w.lang == "zh" else cat.name_en
        return labels

    # --- moving -------------------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self.playing or not self.ready:
            return
        self.clock_h += SPEEDS[self.speed] * TICK_S / 3600.0
        if self.clock_h >= self.index.end_h:
            self.clock_h = self.index.end_h
            self.playing = False
            self.timer.pause()
        self.index.seek_time(self.clock_h)
        self._refresh()

    def action_play(self) -> None:
        self.playing = not self.playing
        if self.playing:
            self.timer.resume()
        else:
            self.timer.pause()
        self._show_status()
        self.refresh_bindings()

    def action_step(self, events: int) -> None:
        self.index.step(events)
        self.clock_h = self.index.clock_h
        self._refresh()

    def action_hour(self, hours: int) -> None:
        self.clock_h = min(max(0.0, self.clock_h + hours), self.index.end_h)
        self.index.seek_time(self.clock_h)
        self._refresh()

    def action_speed(self, delta: int) -> None:
        self.speed = min(max(0, self.speed + delta), len(SPEEDS) - 1)
        self._show_status()
        self.refresh_bindings()

    def action_seek(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            from sim.analysis.replay import parse_when

            try:
                hours = parse_when(text, self.index.start)
            except (ValueError, IndexError):
                self.notify(f"cannot read '{text}' as a time (36h, day 2 09:30, 2020-06-02 09:30)", severity="error")
                return
            self.go_to(hours)

        self.app.push_screen(Prompt(self.w("seek"), "36h · day 2 09:30 · 2020-06-02 09:30"), done)

    def go_to(self, hours: float) -> None:
        self.clock_h = min(max(0.0, hours), self.index.end_h)
        self.index.seek_time(self.clock_h)
        self._refresh()

    def filtered(self) -> None:
        self._show_status()

    def action_open(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.load(Path(text).expanduser())

        current = str(self.session.events_path or "")
        self.app.push_screen(
            Prompt("event log (Parquet, from microgov run --events)", "out/week.parquet", current), done
        )

    def palette_commands(self) -> Iterator[PaletteCommand]:
        if self.ready:
            yield PaletteCommand("Play / pause", "play or pause the replay", "play")
            yield PaletteCommand("Go to time…", "jump to a typed time", "seek")
            yield PaletteCommand("Faster", "replay faster", "speed", (1,))
            yield PaletteCommand("Slower", "replay slower", "speed", (-1,))
            yield PaletteCommand("Filter the queue", "show only matching requests", "filter")
        yield PaletteCommand("Open event log…", "replay another run's event log", "open")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        w = self.w
        if action == "clear_filter":
            return None
        if action == "open":
            return f"{w('still reading')} {self._loading.name}" if self._loading is not None else None
        if self.index is None:
            return f"{w('still reading')} {self._loading.name}" if self._loading else w("no log: o opens one")
        if not self.ready:
            return f"{w('still reading')} {self._loading.name}" if self._loading else w("no log: o opens one")
        index = self.index
        if action == "speed":
            step = int(str(parameters[0])) if parameters else 0
            if step > 0 and self.speed == len(SPEEDS) - 1:
                return f"{w('fastest')} ({SPEEDS[-1]}×)"
            if step < 0 and self.speed == 0:
                return f"{w('slowest')} ({SPEEDS[0]}×)"
        if action in ("step", "hour"):
            step = int(str(parameters[0])) if parameters else 0
            at_start = index.position == 0 if action == "step" else self.clock_h <= 0.0
            at_end = index.position >= index.events if action == "step" else self.clock_h >= index.end_h
            if step < 0 and at_start:
                return w("at the start")
            if step > 0 and at_end:
                return w("at the end")
        if action == "play" and not self.playing and self.clock_h >= index.end_h:
            return w("at the end")
        return None

    # --- showing ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        index = self.index
        queue = self.query_one("#queue", QueueView)
        if index.position != self._built_at:
            rows = [
                QueueRow(r.request_id, r.post, r.priority, r.category, r.state, r.arrived_h, r.due_h, "", r.due_kind)
                for r in index.requests()
            ]
            queue.set_rows(rows)
            self._built_at = index.position
            self._offices()
        queue.clock_h = self.clock_h
        self.sub_title = f"{index.timestamp(self.clock_h):%Y-%m-%d %H:%M} · day {int(self.clock_h // 24) + 1}"
        self._show_status()
        edges = (index.position == 0, index.position >= index.events, self.clock_h <= 0.0, self.clock_h >= index.end_h)
        if edges != self._edges:  # the keys that work changed (at the start or the end of the tape)
            self._edges = edges
            self.refresh_bindings()
        self.post_message(self.ClockMoved(self.clock_h, index.position, len(index.open)))

    def _offices(self) -> None:
        from sim.structure.ids import office_of

        table = self.query_one("#offices", DataTable)
        counts: dict[str, int] = {}
        for post, n in self.index.open_by_post().items():
            office = office_of(post)
            counts[office] = counts.get(office, 0) + n
        district = self.session.district
        for office in sorted(counts, key=lambda o: (-counts[o], o)):
            if office not in self._office_keys:
                name = office
                if district is not None and office in district:
                    name = f"{office} {self.w.name(district.graph.nodes[office])}"
                table.add_row(f"{counts[office]:>7,}", name, key=office)
                self._office_keys.add(office)
        for office in self._office_keys:
            table.update_cell(office, "open", f"{counts.get(office, 0):>7,}")
        table.sort("open", key=lambda text: -int(str(text).replace(",", "") or 0))

    def _show_status(self) -> None:
        index = self.index
        status = self.query_one("#replay-status", Static)
        if index is None:
            status.update(
                f"[dim]{self.w('no_log')}: o · microgov run FILE --days 7 --events out/week.parquet; "
                "microgov console --events out/week.parquet[/]"
            )
            return
        w = self.w
        state = w("playing") if self.playing else w("paused")
        queue = self.query_one("#queue", QueueView)
        shown = f"{queue.count:,}" + (f" / {len(index.open):,}" if queue.query_text else "")
        status.update(
            f"[b]{index.timestamp(self.clock_h):%Y-%m-%d %H:%M:%S}[/]  {state}  {w('speed')} {SPEEDS[self.speed]}×  "
            f"{w('event')} {index.position:,}/{index.events:,}  {w('open')} {shown}"
        )
