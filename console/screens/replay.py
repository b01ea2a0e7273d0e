"""Replay mode: a run's event log played back like a tape, with the open queue as it stood at each moment.

Space plays and pauses; ``[`` and ``]`` step one event, ``{`` and ``}`` one hour; ``+`` and ``-`` change
the speed (1×, 10×, 60×, 600× simulated time); ``g`` goes to a typed time. The queue (post, priority,
age, deadline) and each office's open requests follow the clock. The screen updates at most ten times a
second, and seeking restores a snapshot instead of re-reading the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static

from console.screens.base import QueueScreen
from console.screens.modals import Prompt
from console.widgets import QueueRow, QueueView

SPEEDS = (1, 10, 60, 600)
TICK_S = 0.1


class ReplayScreen(QueueScreen):
    BINDINGS = [
        Binding("space", "play", "Play", tooltip="Play or pause the replay", id="replay-play"),
        Binding(
            "left_square_bracket",
            "step(-1)",
            "−event",
            tooltip="One event back",
            key_display="[",
            id="replay-event-back",
        ),
        Binding(
            "right_square_bracket", "step(1)", "+event", tooltip="One event on", key_display="]", id="replay-event-on"
        ),
        Binding(
            "left_curly_bracket", "hour(-1)", "−hour", tooltip="One hour back", key_display="{", id="replay-hour-back"
        ),
        Binding("right_curly_bracket", "hour(1)", "+hour", tooltip="One hour on", key_display="}", id="replay-hour-on"),
        Binding(
            "plus,equals_sign",
            "speed(1)",
            "Faster",
            tooltip="Faster: 1×, 10×, 60×, 600×",
            key_display="+",
            id="replay-faster",
        ),
        Binding(
            "minus", "speed(-1)", "Slower", tooltip="Slower: 600×, 60×, 10×, 1×", key_display="-", id="replay-slower"
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
        with Horizontal():
            with Vertical(id="queue-pane"):
                yield Static(id="queue-header")
                yield QueueView(id="queue")
                yield Input(placeholder=self.w("filter"), id="queue-filter", classes="hidden")
            table: DataTable[str] = DataTable(id="offices", cursor_type="row", zebra_stripes=True)
            yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.w("no_log")
        table = self.query_one("#offices", DataTable)
        table.add_column(self.w("open_now"), key="open")
        table.add_column(self.w("office"), key="office")
        self.query_one("#queue-filter", Input).cursor_blink = self.console.cursor_blink
        self.timer = self.set_interval(TICK_S, self._tick, pause=True)
        self._show_status()
        if self.index is None and self.session.events_path is not None:
            self.load(self.session.events_path)
        elif self.index is not None:
            self._loaded()

    def on_screen_resume(self) -> None:
        if self.index is None and self.session.events_path is not None:
            self.load(self.session.events_path)
        elif self.index is not None and self._built_at < 0:
            self._loaded()  # opened meanwhile elsewhere (a week run from the Structure mode)

    # --- loading ------------------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """Open ``path`` in a worker, unless it is already being opened."""
        if self._loading == path:
            return
        self._loading = path
        self._built_at = -1
        self.refresh_bindings()
        self._load(path)

    @work(thread=True, exclusive=True, group="replay-load", name="opening the event log", exit_on_error=False)
    def _load(self, path: Path) -> None:
        try:
            self.session.open_replay(path)
            self.session.ensure_district()
        finally:
            self._loading = None
        self.app.call_from_thread(self._loaded)

    def _loaded(self) -> None:
        logged = self.index.meta.get("scenario")
        if logged and logged != self.session.name:
            self.notify(f"{self.w('other_log')}: {logged}", severity="warning", timeout=8)
        self.clock_h = 0.0
        self._built_at = -1
        self.index.seek_event(0)
        labels = self._labels()
        self.query_one("#queue", QueueView).labels = labels
        self.query_one("#queue-header", Static).update(self.query_one("#queue", QueueView).header())
        self._refresh()
        self.refresh_bindings()
        self.query_one("#queue", QueueView).focus()

    def _labels(self) -> dict[str, str]:
        w = self.w
        labels = {k: w(k) for k in ("post", "priority", "category", "state", "age", "deadline", "in", "late")}
        from sim.replay import STATES

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

    def action_seek(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            from sim.replay import parse_when

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "clear_filter"):
            return True
        return True if self.ready else None

    # --- showing ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        index = self.index
        queue = self.query_one("#queue", QueueView)
        if index.position != self._built_at:
            rows = [
                QueueRow(r.request_id, r.post, r.priority, r.category, r.state, r.arrived_h, r.resolution_due_h)
                for r in index.requests()
            ]
            queue.set_rows(rows)
            self._built_at = index.position
            self._offices()
        queue.clock_h = self.clock_h
        self.sub_title = f"{index.timestamp(self.clock_h):%Y-%m-%d %H:%M} · day {int(self.clock_h // 24) + 1}"
        self._show_status()
        self.post_message(self.ClockMoved(self.clock_h, index.position, len(index.open)))

    def _offices(self) -> None:
        from sim.replay import office_of

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
