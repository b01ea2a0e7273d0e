"""Widgets of the console: the virtualised request queue and small shared pieces.

The queue can hold a hundred thousand open requests. Like a log viewer, it keeps the rows as data and
renders only the lines on screen (Textual's Line API): scrolling and filtering never build a widget per
row, and the age and deadline columns are formatted against the clock only for the visible lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

PRIORITY_RANK = {"special": 0, "urgent": 1, "ordinary": 2}


@dataclass(frozen=True)
class QueueRow:
    """One request in a queue: what the operator or trainer sees and sorts by."""

    key: int
    post: str
    priority: str
    category: str
    state: str
    arrived_h: float
    due_h: float
    text: str = ""


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` terminal cells (Chinese characters take two)."""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (width - used - 1)


def hours(h: float) -> str:
    if abs(h) < 1:
        return f"{h * 60:.0f}m"
    if abs(h) < 48:
        return f"{h:.1f}h"
    return f"{h / 24:.1f}d"


class QueueView(ScrollView, can_focus=True):
    """A sorted, filterable list of requests that renders only what is on screen."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
    ]
    COMPONENT_CLASSES = {"queue--cursor", "queue--late", "queue--soon", "queue--special", "queue--urgent"}
    DEFAULT_CSS = """
    QueueView { height: 1fr; overflow-x: hidden; }
    QueueView > .queue--cursor { background: $accent 40%; }
    QueueView > .queue--late { color: $error; }
    QueueView > .queue--soon { color: $warning; }
    QueueView > .queue--special { color: $error; text-style: bold; }
    QueueView > .queue--urgent { color: $warning; }
    """
    COLUMNS = (("post", 20), ("priority", 9), ("category", 20), ("state", 11), ("age", 8), ("deadline", 11))

    cursor = reactive(0)
    clock_h = reactive(0.0)

    class Highlighted(Message):
        """The cursor is on another request."""

        def __init__(self, key: int | None) -> None:
            self.key = key
            super().__init__()

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[QueueRow] = []
        self.keys = np.zeros(0, dtype=np.int64)
        self.search: list[str] = []
        self._applied = ""
        self.shown = np.zeros(0, dtype=np.int64)
        self.query_text = ""
        self.labels: dict[str, str] = {}

    # --- data ----------------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[QueueRow], labels: dict[str, str] | None = None) -> None:
        """Replace the rows (sorted by priority, then deadline); the cursor stays on its request."""
        key = self.current_key
        if labels is not None:
            self.labels = labels
        rank = np.fromiter((PRIORITY_RANK.get(r.priority, 3) for r in rows), dtype=np.int8, count=len(rows))
        due = np.fromiter((r.due_h for r in rows), dtype=np.float64, count=len(rows))
        order = np.lexsort((due, rank))
        self.rows = [rows[i] for i in order]
        self.keys = np.fromiter((r.key for r in self.rows), dtype=np.int64, count=len(self.rows))
        self.search = [self._search_text(r) for r in self.rows]
        self._applied = ""
        self._apply_filter(keep=key)

    def _search_text(self, r: QueueRow) -> str:
        lab = self.labels
        words = (r.post, r.priority, lab.get(r.priority, ""), r.category, lab.get(r.category, ""), r.state, r.text)
        return f"#{r.key} " + " ".join(words).lower()

    def set_filter(self, text: str) -> None:
        self.query_text = text.strip().lower()
        self._apply_filter(keep=self.current_key)

    def _apply_filter(self, keep: int | None) -> None:
        q = self.query_text
        search = self.search
        if not q:
            self.shown = np.arange(len(self.rows))
        elif self._applied and q.startswith(self._applied):
            # typing on: only what still matched can match the longer text
            self.shown = np.fromiter((i for i in self.shown.tolist() if q in search[i]), dtype=np.int64)
        else:
            self.shown = np.fromiter((i for i, s in enumerate(search) if q in s), dtype=np.int64)
        self._applied = q
        self.virtual_size = Size(self.size.width, len(self.shown))
        last = max(0, len(self.shown) - 1)
        if keep is not None and len(self.shown):
            at = np.flatnonzero(self.keys[self.shown] == keep)
            self.cursor = int(at[0]) if len(at) else min(self.cursor, last)
        else:
            self.cursor = min(self.cursor, last)
        self.refresh()

    @property
    def current_key(self) -> int | None:
        if not len(self.shown) or self.cursor >= len(self.shown):
            return None
        return self.rows[int(self.shown[self.cursor])].key

    @property
    def count(self) -> int:
        return len(self.shown)

    def header(self) -> str:
        return " ".join(fit(self.labels.get(name, name), width) for name, width in self.COLUMNS)

    # --- keys ----------------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        self._move(0 if where == 0 else len(self.shown) - 1)

    def _move(self, row: int) -> None:
        if not len(self.shown):
            return
        self.cursor = max(0, min(row, len(self.shown) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        height = max(1, self.size.height)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self.current_key))

    def watch_clock_h(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        # rows are cut to the width they are drawn at: never wider than the view, so never scrolled sideways
        self.virtual_size = Size(self.size.width, len(self.shown))

    # --- rendering -----------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.size.width
        if index >= len(self.shown):
            return Strip.blank(width)
        row = self.rows[int(self.shown[index])]
        cells = self.cells(row, width)
        base = self.get_component_rich_style("queue--cursor") if index == self.cursor and self.has_focus else Style()
        if index == self.cursor and not self.has_focus:
            base = Style(reverse=False, underline=True)
        segments = []
        for text, klass in cells:
            style = base + self.get_component_rich_style(klass) if klass else base
            segments.append(Segment(text + " ", style))
        strip = Strip(segments)
        return strip.crop_extend(0, width, base)

    def cells(self, row: QueueRow, width: int) -> list[tuple[str, str | None]]:
        """The texts of a row's columns, each with the component class that colours it (if any)."""
        age = self.clock_h - row.arrived_h
        left = row.due_h - self.clock_h
        lab = self.labels
        return [
            (fit(row.post, 20), None),
            (
                fit(lab.get(row.priority, row.priority), 9),
                f"queue--{row.priority}" if row.priority != "ordinary" else None,
            ),
            (fit(lab.get(row.category, row.category), 20), None),
            (fit(lab.get(row.state, row.state), 11), None),
            (fit(hours(age), 8), None),
            (
                fit(
                    f"{lab.get('late', 'late')} {hours(-left)}" if left < 0 else f"{lab.get('in', 'in')} {hours(left)}",
                    11,
                ),
                "queue--late" if left < 0 else ("queue--soon" if left < 2 else None),
            ),
        ]


class ModeBar(Static):
    """The modes and their keys under the header, the current one highlighted."""

    DEFAULT_CSS = """
    ModeBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, current: str, names: Sequence[tuple[str, str]]) -> None:
        text = Text()
        for number, (mode, label) in enumerate(names, start=1):
            style = "bold reverse" if mode == current else ""
            text.append(f" {number} {label} ", style=style)
            text.append(" ")
        super().__init__(text)
