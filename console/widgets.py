"""Widgets of the console: the virtualised request queue and small shared pieces.

The queue can hold a hundred thousand open requests. Like a log viewer, it keeps the rows as data and
renders only the lines on screen (Textual's Line API): scrolling and filtering never build a widget per
row, and the age and deadline columns are formatted against the clock only for the visible lines. Its
columns narrow with the terminal, the widest text first, so at 80 columns every column still shows.

The shared pieces: the mode bar, a text field that gives the keys back on escape, a labelled progress
line for work that takes more than a moment, a footer that shows the keys that work now (as many as fit),
and the district tree, whose labels keep their figures in view however deep and narrow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Label, ProgressBar, Static, Tree
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup
from textual.widgets.tree import TreeNode

PRIORITY_RANK = {"special": 0, "urgent": 1, "ordinary": 2}
TOGGLE_STYLE = Style.from_meta({"toggle": True})  # what Tree marks its expand icon with (a click toggles)


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
    due_kind: str = ""
    """Which deadline ``due_h`` is (``response`` until the request is answered, then ``resolution``);
    empty when the queue shows one kind only."""


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


def due_style(row: QueueRow, clock_h: float) -> str | None:
    """How a row's deadline countdown is coloured: late once the deadline has passed, soon in the last
    quarter of the time the request was given for it (at least its last 15 minutes); the one rule every
    queue uses."""
    left = row.due_h - clock_h
    if left < 0:
        return "queue--late"
    return "queue--soon" if left < max(0.25, 0.25 * max(row.due_h - row.arrived_h, 0.0)) else None


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
    COLUMNS: tuple[tuple[str, int, int], ...] = (
        ("post", 20, 10),
        ("priority", 9, 8),
        ("category", 20, 12),
        ("state", 11, 9),
        ("age", 8, 6),
        ("deadline", 16, 15),
    )
    """Each column's name, width when there is room, and the narrowest it may get."""

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
        self._widths: tuple[int, dict[str, int]] = (-1, {})

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

    def widths(self, width: int | None = None) -> dict[str, int]:
        """Each column's width in ``width`` cells (default: the view's): as declared when they fit, else
        the column with the most room above its minimum narrowed first, one cell at a time."""
        width = self.size.width if width is None else width
        if self._widths[0] == width:
            return self._widths[1]
        want = {name: wide for name, wide, *_ in self.COLUMNS}
        least = {name: (rest[0] if rest else wide) for name, wide, *rest in self.COLUMNS}
        over = sum(want.values()) + len(want) - width  # a space after each column
        while over > 0:
            name = max(want, key=lambda n: want[n] - least[n])
            if want[name] <= least[name]:
                break
            want[name] -= 1
            over -= 1
        self._widths = (width, want)
        return want

    def header(self) -> str:
        widths = self.widths()
        return " ".join(fit(self.labels.get(name, name), widths[name]) for name, *_ in self.COLUMNS)

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

    class Resized(Message):
        """The view's width changed: its columns were laid out again (the header must follow)."""

    def on_resize(self) -> None:
        # rows are cut to the width they are drawn at: never wider than the view, so never scrolled sideways
        self.virtual_size = Size(self.size.width, len(self.shown))
        self.post_message(self.Resized())

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
        w = self.widths(width)
        countdown = f"{lab.get('late', 'late')} {hours(-left)}" if left < 0 else f"{lab.get('in', 'in')} {hours(left)}"
        if row.due_kind:
            countdown = f"{lab.get(row.due_kind, row.due_kind)} {countdown}"
        return [
            (fit(row.post, w["post"]), None),
            (
                fit(lab.get(row.priority, row.priority), w["priority"]),
                f"queue--{row.priority}" if row.priority != "ordinary" else None,
            ),
            (fit(lab.get(row.category, row.category), w["category"]), None),
            (fit(lab.get(row.state, row.state), w["state"]), None),
            (fit(hours(age), w["age"]), None),
            (fit(countdown, w["deadline"]), due_style(row, self.clock_h)),
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


class Field(Input):
    """A text field that gives the keys back: escape leaves it (nothing is focused after, so the mode's
    keys and ``1``–``5`` work again) and says so with :class:`Field.Left`."""

    BINDINGS = [Binding("escape", "leave", "Leave the field", show=False)]

    class Left(Message):
        """The person left ``field`` with escape."""

        def __init__(self, field: Field) -> None:
            self.field = field
            super().__init__()

        @property
        def control(self) -> Field:
            return self.field

    def action_leave(self) -> None:
        self.screen.set_focus(None)
        self.post_message(self.Left(self))


class WorkProgress(Horizontal):
    """One line saying what is being done and how far it got: a bar with a count when the amount of work
    is known, a moving bar when it is not, and the time so far. Hidden when nothing is under way; shown
    only once the work has taken a moment, so quick work does not flicker."""

    DEFAULT_CSS = """
    WorkProgress { height: 1; padding: 0 1; background: $boost; display: none; }
    WorkProgress.-shown { display: block; }
    WorkProgress > #work-label { width: auto; text-style: bold; }
    WorkProgress > ProgressBar { width: auto; margin-left: 2; }
    WorkProgress > ProgressBar > Bar { width: 20; }
    WorkProgress > #work-count { width: auto; margin-left: 1; color: $text-muted; }
    """
    SHOW_AFTER_S = 0.3

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.working = False
        self.label = ""
        self.unit = ""
        self.started = 0.0
        self.done = 0.0
        self.total: float | None = None
        self.number = 0

    def compose(self) -> ComposeResult:
        yield Label(id="work-label")
        # a bar of unknown length animates (15 frames a second): only while work is under way
        yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="work-bar")
        yield Label(id="work-count")

    def on_mount(self) -> None:
        self._clock = self.set_interval(1.0, self._show_count, pause=True)

    def start(self, label: str, total: float | None = None, unit: str = "") -> int:
        """Work called ``label`` began; ``total`` units of it (``None``: unknown). Returns the work's
        number, for :meth:`stop` (work started later is not stopped by an earlier one's end)."""
        self.number += 1
        self.working = True
        self.label, self.unit, self.total, self.done = label, unit, total, 0.0
        self.started = time.monotonic()
        self.query_one("#work-label", Label).update(label)
        self.query_one("#work-bar", ProgressBar).update(total=total, progress=0)
        self._show_count()
        self.set_timer(self.SHOW_AFTER_S, self._reveal)
        self._clock.resume()
        return self.number

    def advance(self, done: float, total: float | None = None, label: str | None = None) -> None:
        """``done`` units are done (of ``total``, if it changed); ``label`` renames the stage."""
        if not self.working:
            return
        if label is not None and label != self.label:
            self.label = label
            self.query_one("#work-label", Label).update(label)
        if total is not None:
            self.total = total
        self.done = done
        self.query_one("#work-bar", ProgressBar).update(total=self.total, progress=done)
        self._show_count()

    def stage(self, label: str, fraction: float | None) -> None:
        """A step of the work called ``label``, ``fraction`` of the way through it (``None``: unknown)."""
        if not self.working:
            self.start(label)
        self.label, self.unit, self.total = label, "", (1.0 if fraction is not None else None)
        self.done = fraction or 0.0
        self.query_one("#work-label", Label).update(label)
        self.query_one("#work-bar", ProgressBar).update(total=self.total, progress=self.done)
        self._show_count()

    def stop(self, number: int | None = None) -> None:
        """The work ended (``number``: only if it is still the work under way)."""
        if number is not None and number != self.number:
            return
        self.working = False
        self._clock.pause()
        self.remove_class("-shown")
        self.query_one("#work-bar", ProgressBar).update(total=1, progress=0)

    def _reveal(self) -> None:
        if self.working:
            self.add_class("-shown")

    def _show_count(self) -> None:
        elapsed = time.monotonic() - self.started
        parts = []
        if self.total is not None:
            if self.unit:
                parts.append(f"{self.done:,.0f}/{self.total:,.0f} {self.unit}")
            else:
                parts.append(f"{self.done / self.total:.0%}" if self.total else "")
        parts.append(f"{elapsed:.0f} s")
        self.query_one("#work-count", Label).update(" · ".join(p for p in parts if p))


class KeyFooter(Footer):
    """The footer: the keys that work now, in the order the mode declares them, as many as fit the width
    (``?`` always, since it lists them all); keys that cannot be used now are left out, not dimmed."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        by_action: dict[str, list[tuple[Binding, str]]] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show and enabled:
                by_action.setdefault(binding.action, []).append((binding, tooltip or ""))
        items: list[tuple[Binding.Group | None, list[tuple[Binding, str]]]] = []
        for pairs in by_action.values():
            group = pairs[0][0].group
            if group is not None and items and items[-1][0] == group:
                items[-1][1].append(pairs[0])
            else:
                items.append((group, [pairs[0]]))
        budget = self.app.size.width
        palette = active.get(self.app.COMMAND_PALETTE_BINDING) if self.app.ENABLE_COMMAND_PALETTE else None
        widths = [self._width(group, pairs) for group, pairs in items]
        help_at = next((i for i, (_, pairs) in enumerate(items) if pairs[0][0].action in ("help", "app.help")), None)
        if help_at is not None:
            budget -= widths[help_at]
        keep = set()
        for i, need in enumerate(widths):
            if i != help_at and need <= budget:
                keep.add(i)
                budget -= need
        if help_at is not None:
            keep.add(help_at)
        for i, (group, pairs) in enumerate(items):
            if i not in keep:
                continue
            if group is not None and len(pairs) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for binding, tooltip in pairs:
                        yield FooterKey(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
            else:
                binding, tooltip = pairs[0]
                yield FooterKey(
                    binding.key, self.app.get_key_display(binding), binding.description, binding.action, tooltip=tooltip
                ).data_bind(compact=Footer.compact)
        if palette is not None and self.show_command_palette:
            need = cell_len(self.app.get_key_display(palette.binding) + palette.binding.description) + 4
            if need <= budget:
                yield FooterKey(
                    palette.binding.key,
                    self.app.get_key_display(palette.binding),
                    palette.binding.description,
                    palette.binding.action,
                    classes="-command-palette",
                    tooltip=palette.binding.tooltip or palette.binding.description,
                )

    def _width(self, group: Binding.Group | None, pairs: list[tuple[Binding, str]]) -> int:
        keys = [cell_len(self.app.get_key_display(b)) for b, _ in pairs]
        if group is not None and len(pairs) > 1:
            return sum(keys) + (0 if group.compact else 2 * len(keys)) + 1 + cell_len(group.description) + 1
        return keys[0] + 1 + cell_len(pairs[0][0].description) + 1

    _laid_out_for = -1

    def on_resize(self) -> None:
        width = self.size.width  # (a resize event also comes when the content's size changes: ignore those)
        if width != self._laid_out_for and self.is_attached and self._bindings_ready:
            self._laid_out_for = width
            self.call_after_refresh(self.recompose)

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = self._shown_now(screen)
        if shown == self._shown and self._bindings_ready:
            return  # the same keys as before: nothing to lay out again
        if screen.app.app_focus:
            self._shown = shown
        super().bindings_changed(screen)

    _shown: tuple[tuple[str, str, bool], ...] = ()

    @staticmethod
    def _shown_now(screen: Screen[object]) -> tuple[tuple[str, str, bool], ...]:
        return tuple((key, a.binding.action, a.enabled) for key, a in screen.active_bindings.items() if a.binding.show)


class DistrictTree(Tree[str]):
    """The governance tree. A node's label is its name and then its figures (backlog, load, staff, most
    important first). When the line is too narrow, the figures that do not fit beside a readable name are
    left out (last first) and then the name is cut, so the tree never needs sideways scrolling; the
    detail panel shows everything about the node under the cursor."""

    NAME_CELLS = 16
    """The name keeps at least this many cells while figures are left out."""

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.parts: dict[str, tuple[Text, list[Text]]] = {}

    def describe(self, node: TreeNode[str], name: Text, figures: Sequence[Text]) -> None:
        """Label ``node`` with ``name`` and ``figures`` (most important first)."""
        assert node.data is not None
        self.parts[node.data] = (name, list(figures))
        node.set_label(self._assemble(name, list(figures)))

    @staticmethod
    def _assemble(name: Text, figures: list[Text]) -> Text:
        label = name.copy()
        for i, figure in enumerate(figures):
            label.append("  " if i == 0 else " · ")
            label.append_text(figure)
        return label

    def on_resize(self) -> None:
        self._invalidate()  # labels are fitted to the width: lay them out again

    def _room(self, node: TreeNode[str]) -> int:
        depth = 0
        parent = node.parent
        while parent is not None:
            depth += 1
            parent = parent.parent
        if not self.show_root:
            depth -= 1
        width = self.scrollable_content_region.width or self.size.width
        return max(8, width - max(0, depth) * self.guide_depth - 1)

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        parts = self.parts.get(node.data or "")
        if parts is None:
            return super().render_label(node, base_style, style)
        name, figures = parts
        icon = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) if node.allow_expand else ""
        room = self._room(node) - cell_len(icon)
        label = self._assemble(name, figures)
        while (
            figures
            and label.cell_len > room
            and room - self._assemble(Text(), figures).cell_len < min(self.NAME_CELLS, name.cell_len)
        ):
            figures = figures[:-1]
            label = self._assemble(name, figures)
        if label.cell_len > room:
            keep = max(4, room - self._assemble(Text(), figures).cell_len)
            label = self._assemble(Text(fit(name.plain, keep).rstrip(), style=name.style), figures)
        label.stylize(style)
        return Text.assemble((icon, base_style + TOGGLE_STYLE), label)
