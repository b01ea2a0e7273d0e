"""Compare mode: pick scenarios, replications and days, run them, read the KPIs, verdicts and charts.

The comparison runs on the experiment harness in a worker (the replications themselves in separate
processes), with a progress bar updated at most ten times a second; the KPI table is updated in place,
row by row, and the charts show the backlog over time and the share of requests resolved within t.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, ProgressBar, SelectionList

from console.screens.base import ModeScreen
from console.session import ConsoleError

WORKERS = 2


class CompareScreen(ModeScreen):
    BINDINGS = [Binding("ctrl+r", "run", "Run comparison", tooltip="Run the ticked scenarios", id="compare-run")]

    class Finished(Message):
        """A comparison finished; ``summary`` is what ``microgov compare --json`` prints."""

        def __init__(self, summary: dict[str, Any]) -> None:
            self.summary = summary
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.summary: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        w = self.w
        yield Header()
        yield self.mode_bar("compare")
        with Horizontal():
            with Vertical(id="compare-form"):
                yield Label(w("scenarios"))
                yield SelectionList[str](*self._choices(), id="compare-scenarios")
                yield Label(w("replications"))
                yield Input("5", id="compare-reps", type="integer")
                yield Label(w("days"))
                yield Input("7", id="compare-days", type="number")
                yield Button(w("run"), id="compare-go", variant="primary")
                yield ProgressBar(total=1, id="compare-progress", show_eta=True)
            with Vertical(id="compare-results"):
                table: DataTable[str] = DataTable(id="compare-kpis", cursor_type="row", zebra_stripes=True)
                yield table
                with Horizontal(id="compare-charts"):
                    from textual_plotext import PlotextPlot

                    yield PlotextPlot(id="chart-backlog")
                    yield PlotextPlot(id="chart-resolution")
        yield Footer(compact=True)

    def _choices(self) -> list[tuple[str, str, bool]]:
        """Scenario files beside the console's, the two default ones ticked."""
        own = self.session.scenario_path
        folder = own.parent if own is not None else Path("scenarios")
        files = sorted(p for p in folder.glob("*.toml") if "base" not in p.stem) if folder.is_dir() else []
        if own is not None and own not in files:
            files.insert(0, own)
        ticked = {f for f in files if f.stem in ("haigang-2019", "haigang-2020")} or ({own} if own else set())
        return [(f.stem, str(f), f in ticked) for f in files]

    def on_mount(self) -> None:
        self.sub_title = self.w("compare")
        for box in self.query(Input):
            box.cursor_blink = self.console.cursor_blink
        table = self.query_one("#compare-kpis", DataTable)
        table.add_column(self.w("kpi"), key="kpi")
        for plot_id in ("#chart-backlog", "#chart-resolution"):
            from textual_plotext import PlotextPlot

            self.query_one(plot_id, PlotextPlot).plt.title(
                "backlog" if plot_id.endswith("backlog") else "share resolved within t"
            )

    @on(Button.Pressed, "#compare-go")
    def action_run(self) -> None:
        if self.running:
            self.notify("a comparison is already running", severity="warning")
            return
        files = [Path(p) for p in self.query_one("#compare-scenarios", SelectionList).selected]
        try:
            reps = int(self.query_one("#compare-reps", Input).value)
            days = float(self.query_one("#compare-days", Input).value)
        except ValueError:
            self.notify("replications must be a whole number and days a number", severity="error")
            return
        if not files:
            self.notify("tick at least one scenario", severity="error")
            return
        if reps < 2 or days <= 0:
            self.notify("at least 2 replications and more than 0 days", severity="error")
            return
        self.running = True
        self.query_one("#compare-progress", ProgressBar).update(total=reps * len(files), progress=0)
        self.compare(files, reps, days)

    @work(thread=True, exclusive=True, group="compare", name="comparing scenarios", exit_on_error=False)
    def compare(self, files: list[Path], reps: int, days: float) -> None:
        from sim.experiment.compare import Plan, compare_scenarios, unique_labels
        from sim.experiment.executors import LocalPool
        from sim.scenario import load_scenario

        try:
            scenarios = [load_scenario(f) for f in files]
            labels = unique_labels([s.name for s in scenarios], [f.stem for f in files])
            plan = Plan(list(zip(labels, scenarios, strict=True)), reps=reps, days=days)
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.1 or done == total:  # at most ten screen updates a second
                    last[0] = now
                    self.app.call_from_thread(self._progress, done, total)

            with LocalPool(WORKERS, method="forkserver") as pool:
                comparison = compare_scenarios(plan, pool, progress=progress)
            summary = comparison.summary()
            bands = {lbl: comparison.collector.bands[lbl].summary() for lbl in comparison.labels}
            hists = {lbl: comparison.collector.hists.get(lbl) for lbl in comparison.labels}
            totals = {
                lbl: comparison.collector.stats[lbl]["requests"].mean * comparison.collector.stats[lbl]["requests"].n
                for lbl in comparison.labels
            }
        finally:
            self.app.call_from_thread(self._stopped)
        if summary["failures"]:
            raise ConsoleError(f"{len(summary['failures'])} replication(s) failed: {summary['failures'][0]['error']}")
        self.app.call_from_thread(self._show, summary, bands, hists, totals)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#compare-progress", ProgressBar).update(total=total, progress=done)

    def _stopped(self) -> None:
        self.running = False

    def _show(
        self, summary: dict[str, Any], bands: dict[str, Any], hists: dict[str, Any], totals: dict[str, float]
    ) -> None:
        from sim.experiment.kpis import KPIS

        self.summary = summary
        w = self.w
        table = self.query_one("#compare-kpis", DataTable)
        names = [s["name"] for s in summary["scenarios"]]
        wanted = [("kpi", w("kpi"))] + [(f"s:{n}", n) for n in names]
        wanted += [(f"d:{p['name']}", f"Δ {p['name']}") for p in summary["paired"]]
        wanted += [(f"v:{p['name']}", w("verdict")) for p in summary["paired"]]
        existing = [str(c.key.value) for c in table.ordered_columns]
        if existing != [key for key, _ in wanted]:
            table.clear(columns=True)
            for key, label in wanted:
                table.add_column(label, key=key)
        for k in KPIS:
            if all(s["kpis"][k.name]["mean"] is None for s in summary["scenarios"]):
                continue
            cells = {"kpi": k.label}
            for s in summary["scenarios"]:
                cells[f"s:{s['name']}"] = _value(s["kpis"][k.name], k.unit)
            for p in summary["paired"]:
                d = p["kpis"][k.name]
                cells[f"d:{p['name']}"] = _diff(d["diff"], k.unit)
                cells[f"v:{p['name']}"] = w("n.s.") if d["verdict"] == "no significant difference" else w(d["verdict"])
            if k.name in {str(r.value) for r in table.rows}:
                for key, value in cells.items():
                    table.update_cell(k.name, key, value)
            else:
                table.add_row(*[cells[key] for key, _ in wanted], key=k.name)
        self._charts(bands, hists, totals)
        self.post_message(self.Finished(summary))
        self.notify(f"{summary['reps']} × {summary['days']:g} {w('days')}", title=w("compare"))

    def _charts(self, bands: dict[str, Any], hists: dict[str, Any], totals: dict[str, float]) -> None:
        from textual_plotext import PlotextPlot

        from sim.metrics import Histogram

        backlog = self.query_one("#chart-backlog", PlotextPlot)
        plt = backlog.plt
        plt.clear_data()
        plt.title("backlog (open requests), mean across replications")
        plt.xlabel("day")
        for label, band in bands.items():
            if len(band["t"]):
                plt.plot(list(band["t"] / 24.0), list(band["mean"]), label=label)
        backlog.refresh()
        resolution = self.query_one("#chart-resolution", PlotextPlot)
        plt = resolution.plt
        plt.clear_data()
        plt.title("share of requests resolved within t")
        plt.xlabel("hours (log10)")
        edges = np.log10(Histogram.edges())
        for label, counts in hists.items():
            if counts is None or not totals.get(label):
                continue
            keep = counts > 0
            cdf = np.cumsum(counts) / totals[label]
            plt.plot(list(edges[keep]), list(cdf[keep]), label=label)
        resolution.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return not self.running
        return True


def _value(v: dict[str, Any], unit: str) -> str:
    if v["mean"] is None:
        return "–"
    if unit == "share":
        return f"{v['mean']:.1%}"
    return f"{v['mean']:,.2f}" if abs(v["mean"]) < 1000 else f"{v['mean']:,.0f}"


def _diff(d: float | None, unit: str) -> str:
    if d is None:
        return "–"
    return f"{d * 100:+.2f} pp" if unit == "share" else f"{d:+,.2f}"
