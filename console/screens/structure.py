"""Structure mode: the district as an organisation chart, with each post's load and backlog.

The tree holds more than 27,000 nodes, so it is expanded lazily: a node's children are added the first
time it is opened. Selecting a node shows its attributes and the KPIs of the requests raised anywhere
below it, from the last run (``r`` runs the scenario for a week in a worker; ``--events`` gives a log).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Static, Tree
from textual.widgets.tree import TreeNode

from console.screens.base import ModeScreen, PaletteCommand
from console.widgets import DistrictTree, KeyFooter, WorkProgress

RUN_DAYS = 7.0


class StructureScreen(ModeScreen):
    BINDINGS = [
        Binding(
            "r", "run", "Run a week", tooltip="Simulate 7 days to show each post's load and backlog", id="structure-run"
        ),
        Binding("e", "expand_offices", "Open offices", tooltip="Expand every street and town", id="structure-expand"),
    ]

    class NodeShown(Message):
        """The detail panel now shows ``node``."""

        def __init__(self, node: str, kpis: dict[str, Any] | None) -> None:
            self.node = node
            self.kpis = kpis
            super().__init__()

    class StatsReady(Message):
        """Load and backlog from a run are on the tree."""

        def __init__(self, source: str) -> None:
            self.source = source
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield self.mode_bar("structure")
        yield WorkProgress()
        with Horizontal():
            tree = DistrictTree(self.w("structure"), id="tree")
            tree.show_root = True
            yield tree
            with Vertical(id="detail"):
                yield Static(id="node-info")
                table: DataTable[str] = DataTable(id="node-kpis", cursor_type="none", zebra_stripes=True)
                yield table
                yield Static(id="run-info")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.w("structure")
        table = self.query_one("#node-kpis", DataTable)
        table.add_columns(self.w("kpi"), "")
        self.query_one("#run-info", Static).update(self._run_text())
        started = self.work.start(self.w("building the district")) if self.session.district is None else None
        self.build(started)

    # --- building the tree -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="structure", name="building the district", exit_on_error=False)
    def build(self, started: int | None = None) -> None:
        try:
            district = self.session.ensure_district()
            if self.session.stats is None and self.session.events_path is not None:
                self.session.load_stats(self.session.events_path)
        finally:
            if started is not None:
                self.app.call_from_thread(self.work.stop, started)
        self.app.call_from_thread(self._fill_root, district)

    def _fill_root(self, district: Any) -> None:
        tree = self.query_one("#tree", DistrictTree)
        tree.root.data = "district"
        tree.describe(tree.root, *self._label("district"))
        self._add_children(tree.root)
        tree.root.expand()
        tree.focus()
        self.show("district")
        self.refresh_bindings()
        self._clock()
        self.query_one("#run-info", Static).update(self._run_text())
        if self.session.stats is not None:
            self.post_message(self.StatsReady(self.session.stats_source))

    def _add_children(self, node: TreeNode[str]) -> None:
        district = self.session.district
        assert district is not None and node.data is not None
        tree = self.query_one("#tree", DistrictTree)
        for child in district.children(node.data):
            has_kids = bool(district.graph.out_degree(child))
            tree.describe(node.add(child, data=child, allow_expand=has_kids), *self._label(child))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        node = event.node
        if node.data is not None and not node.children and self.session.district is not None:
            self._add_children(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        if event.node.data is not None:
            self.show(event.node.data)

    def _label(self, node: str) -> tuple[Text, list[Text]]:
        """A node's name (with its level, which is cut first when the line is narrow) and its figures, most
        important first: backlog and load from the last run, and staff (the detail panel has them all)."""
        district = self.session.district
        assert district is not None
        a = district.graph.nodes[node]
        w = self.w
        name = Text()
        name.append(w.name(a), style="bold")
        name.append(f" {w.level(str(a['level']))}", style="dim")
        figures = []
        stats = self.session.stats
        s = stats.nodes.get(node) if stats is not None else None  # type: ignore[attr-defined]
        if s is not None:
            style = "bold red" if s.backlog_total > 50 else ("yellow" if s.backlog_total else "green")
            figures.append(Text(f"{w('backlog')} {s.backlog_total:,}", style=style))
            figures.append(Text(f"{w('load')} {_short(s.load_total)}", style="cyan"))
        if a.get("staff") is not None:
            figures.append(Text(f"{w('staff')} {a['staff']}"))
        return name, figures

    def _relabel(self, node: TreeNode[str]) -> None:
        tree = self.query_one("#tree", DistrictTree)
        if node.data is not None:
            tree.describe(node, *self._label(node.data))
        for child in node.children:
            self._relabel(child)

    # --- the detail panel --------------------------------------------------------------------------

    def show(self, node: str) -> None:
        district = self.session.district
        if district is None:
            return
        a = district.graph.nodes[node]
        w = self.w
        owner = district.owner(node)
        person = owner.person if w.lang == "zh" else owner.person_en
        title = owner.title if w.lang == "zh" else owner.title_en
        lines = [
            f"[b]{w.name(a)}[/]  [dim]{node}[/]",
            f"{w.level(str(a['level']))} · {title}: {person}",
            f"{int(a.get('residents', 0)):,} {w('residents')} · {int(a.get('households', 0)):,} {w('households')}"
            + (f" · {w('staff')} {a['staff']}" if a.get("staff") is not None else ""),
        ]
        if a.get("special"):
            lines.append(f"{a['special']} · {a.get('members', 0):,} members")
        self.query_one("#node-info", Static).update("\n".join(lines))
        self._kpis(node)

    @work(thread=True, exclusive=True, group="kpis", name="subtree KPIs", exit_on_error=False)
    def _kpis(self, node: str) -> None:
        stats = self.session.stats
        kpis = stats.subtree_kpis(node) if stats is not None else None  # type: ignore[attr-defined]
        self.app.call_from_thread(self._show_kpis, node, kpis)

    def _show_kpis(self, node: str, kpis: dict[str, Any] | None) -> None:
        table = self.query_one("#node-kpis", DataTable)
        w = self.w
        rows: list[tuple[str, str]] = []
        stats = self.session.stats
        if kpis is None or stats is None:
            rows.append((w("last_run"), w("no_run")))
        else:
            s = stats.nodes.get(node)  # type: ignore[attr-defined]
            rows += [
                (w("load"), f"{s.load_total:,}" if s else "–"),
                (w("backlog"), f"{s.backlog_total:,}" if s else "–"),
                (w("requests"), f"{kpis['requests']:,}"),
                (w("resolved"), f"{kpis['resolved']:,}"),
                (w("open"), f"{kpis['open']:,}"),
                (w("abandoned"), f"{kpis['abandoned']:,}"),
                (w("response_rate"), _pct(kpis["response_rate"])),
                (w("resolution_rate"), _pct(kpis["resolution_rate"])),
                (
                    w("resolution_time"),
                    "–" if kpis["resolution_time_mean_h"] is None else f"{kpis['resolution_time_mean_h']:.1f} h",
                ),
            ]
        keys = {str(r.key.value) for r in table.rows.values()} if table.row_count else set()
        wanted = {label for label, _ in rows}
        for key in keys - wanted:
            table.remove_row(key)
        for label, value in rows:
            if label in keys:
                table.update_cell(label, table.ordered_columns[1].key, value)
            else:
                table.add_row(label, value, key=label)
        self.post_message(self.NodeShown(node, kpis))

    def _clock(self) -> None:
        """The header says what the numbers are: the last run's period, or that there is none."""
        stats = self.session.stats
        if stats is None:
            self.sub_title = f"{self.w('structure')} · {self.w('no_run')}"
            return
        meta = stats.meta  # type: ignore[attr-defined]
        start = str(meta.get("start", ""))[:10]
        self.sub_title = f"{self.w('last_run')}: {start} + {meta.get('days', 0):g} {self.w('day_unit')}"
        logged = meta.get("scenario")
        if logged and logged != self.session.name:
            self.notify(f"{self.w('other_log')}: {logged}", severity="warning", timeout=8)

    def _run_text(self) -> str:
        w = self.w
        if self.session.stats is None:
            return f"[dim]{w('last_run')}: {w('no_run')} · r: {w('run')} {RUN_DAYS:g} {w('days')}[/]"
        return f"[dim]{w('last_run')}: {Path(self.session.stats_source).name}[/]"

    # --- actions -----------------------------------------------------------------------------------

    def action_run(self) -> None:
        self.running = True
        self.refresh_bindings()
        started = self.work.start(f"{self.w('simulating')} {RUN_DAYS:g} {self.w('days')}: {self.session.name}", 1.0)
        self._run(started)

    @work(thread=True, exclusive=True, group="structure-run", name="running the scenario", exit_on_error=False)
    def _run(self, started: int) -> None:
        last = [0.0]

        def progress(done: float) -> None:
            if done - last[0] >= 0.05 or done >= 1.0:  # at most twenty updates, however long the run
                last[0] = done
                self.app.call_from_thread(self.work.advance, done)

        try:
            path = self.session.run_for_stats(RUN_DAYS, progress)
            self.app.call_from_thread(self.work.advance, 1.0, None, self.w("reading the run's log"))
            self.session.load_stats(path)
            self.session.replay = None  # the Replay mode opens the new log next time it is shown
        finally:
            self.app.call_from_thread(self._run_ended, started)
        self.app.call_from_thread(self._stats_loaded)

    def _run_ended(self, started: int) -> None:
        self.running = False
        self.work.stop(started)
        self.refresh_bindings()

    def _stats_loaded(self) -> None:
        tree = self.query_one("#tree", Tree)
        self._relabel(tree.root)
        self._clock()
        self.query_one("#run-info", Static).update(self._run_text())
        if tree.cursor_node is not None and tree.cursor_node.data is not None:
            self.show(tree.cursor_node.data)
        self.post_message(self.StatsReady(self.session.stats_source))

    def action_expand_offices(self) -> None:
        tree = self.query_one("#tree", Tree)
        for node in tree.root.children:
            node.expand()

    def palette_commands(self) -> Iterator[PaletteCommand]:
        yield PaletteCommand("Run a week", "simulate 7 days for each post's load and backlog", "run")
        yield PaletteCommand("Open the offices", "expand every street and town", "expand_offices")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        if action in ("run", "expand_offices") and self.session.district is None:
            return self.w("still building")
        if action == "run" and self.running:
            return self.w("already running")
        return None


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"
