"""Compare mode: pick scenarios, replications and days, run them, read the KPIs, verdicts and charts.

The scenario list holds the files beside the console's scenario that build a district; fragments (a
file meant for ``extends``, such as what ``microgov fit`` writes) are listed as skipped, with why. Under it,
variants of the base (the first ticked file) are added by key, as ``microgov compare --variant`` does: a
label and ``key=value`` changes, checked as they are typed by the same plan the run uses (the scenario
loader's own messages, a label used twice, a variant that changes nothing), enter adding it. The
comparison runs on the experiment harness in a worker (the replications themselves in separate
processes), with a labelled progress line and a count of replications; a scenario that fails does not
take the others' results with it. The KPI table shows every scenario, each one's paired difference
from the first and the verdict; its KPI column stays put while the rest scrolls sideways when the
terminal is narrow. ``f`` hides the set-up form, ``c`` shows the charts (the backlog over time and the
share of requests resolved within t) in the table's place on a short terminal, or beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, DataTable, Header, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from console.screens.base import ModeScreen, PaletteCommand
from console.widgets import Field, KeyFooter, WorkProgress

if TYPE_CHECKING:
    from sim.experiment.plan import Variant

WORKERS = 2
CHARTS_FROM_ROWS = 32
"""Terminals at least this tall show the charts under the table from the start."""


class Bounded(Validator):
    """A replications or days field: a number within what the harness accepts (the scenario's own limits
    for days), checked as it is typed, so a bad value is named before anything runs."""

    def __init__(self, what: str, *, whole: bool, low: float, high: float, low_open: bool = False) -> None:
        super().__init__()
        self.what, self.whole, self.low, self.high, self.low_open = what, whole, low, high, low_open

    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        try:
            number = int(text) if self.whole else float(text)
        except ValueError:
            kind = "a whole number" if self.whole else "a number"
            return self.failure(f"{self.what}: expected {kind}, found '{text}'")
        below = number <= self.low if self.low_open else number < self.low
        if below or not number <= self.high:  # NaN fails here too
            low = f"more than {self.low:g}" if self.low_open else f"at least {self.low:g}"
            return self.failure(f"{self.what}: {low} and at most {self.high:g}, found {text}")
        return self.success()


def limits() -> tuple[Bounded, Bounded]:
    """The fields' limits: at least 2 replications (for an interval), at most the harness's cap; days
    as a scenario's ``clock.days`` allows."""
    from annotated_types import Gt, Le

    from sim.experiment.compare import Plan
    from sim.scenario.schema import ClockSpec

    bounds = ClockSpec.model_fields["days"].metadata
    low = next(float(m.gt) for m in bounds if isinstance(m, Gt))
    high = next(float(m.le) for m in bounds if isinstance(m, Le))
    max_reps = Plan.__dataclass_fields__["max_reps"].default
    return (
        Bounded("replications", whole=True, low=2, high=float(max_reps)),  # type: ignore[arg-type]
        Bounded("days", whole=False, low=low, high=high, low_open=True),
    )


@dataclass
class Listed:
    """A scenario file in the list: its label and, if it cannot run, why."""

    path: Path
    label: str
    problem: str = ""


@dataclass
class Outcome:
    """What a comparison produced, for the table and the charts."""

    summary: dict[str, Any]
    bands: dict[str, Any]
    hists: dict[str, Any]
    totals: dict[str, float]
    skipped: list[str] = field(default_factory=list)
    """Files ticked but not run, each with why."""


class CompareScreen(ModeScreen):
    BINDINGS = [
        Binding("ctrl+r", "run", "Run comparison", tooltip="Run the ticked scenarios", id="compare-run"),
        Binding("f", "toggle_form", "Form", tooltip="Hide or show the set-up form", id="compare-form"),
        Binding("c", "toggle_charts", "Charts", tooltip="Show or hide the charts", id="compare-charts"),
        Binding("v", "add_variant", "Variant", tooltip="Add a variant of the base scenario", id="compare-variant"),
        Binding(
            "delete",
            "remove_variant",
            "Remove variant",
            tooltip="Remove the variant under the cursor",
            id="compare-remove-variant",
        ),
    ]
    AUTO_FOCUS = "#compare-scenarios"  # a list: the mode keys still reach the app until a field is picked

    class Finished(Message):
        """A comparison finished; ``summary`` is what ``microgov compare --json`` prints."""

        def __init__(self, summary: dict[str, Any]) -> None:
            self.summary = summary
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.checking = True
        self.summary: dict[str, Any] | None = None
        self.listed: list[Listed] = []
        self.progress_text = ""
        self.variants: list[Variant] = []
        self.variant_checks = 0
        self.variant_problem = ""
        """What is wrong with the variant being typed ("" when it is fine or nothing is typed)."""

    def compose(self) -> ComposeResult:
        w = self.w
        reps, days = limits()
        yield Header()
        yield self.mode_bar("compare")
        with Horizontal(id="compare-body"):
            with VerticalScroll(id="compare-form"):
                yield Label(w("scenarios"), id="compare-scenarios-label")
                yield SelectionList[str](id="compare-scenarios")
                yield Static(id="compare-skipped", classes="hidden")
                yield Label(w("variants of"), id="compare-variants-label")
                yield OptionList(id="compare-variants", classes="hidden")
                with Horizontal(classes="compare-field compare-variant-field"):
                    yield Label(w("variant label"))
                    yield Field(placeholder=w("variant label example"), id="compare-variant-label", max_length=80)
                with Horizontal(classes="compare-field compare-variant-field"):
                    yield Label(w("variant changes"))
                    yield Field(placeholder=w("variant changes example"), id="compare-variant-sets")
                yield Static(id="compare-variant-problem")
                with Horizontal(classes="compare-field"):
                    yield Label(w("replications"))
                    yield Field("5", id="compare-reps", validators=[reps], valid_empty=False)
                with Horizontal(classes="compare-field"):
                    yield Label(w("days"))
                    # 14 days judge every priority's deadlines (ordinary requests: 168 h to resolve)
                    yield Field("14", id="compare-days", validators=[days], valid_empty=False)
                yield Static(id="compare-problem")
                yield Button(w("run"), id="compare-go", variant="primary")
            with Vertical(id="compare-results"):
                yield WorkProgress()
                yield Static(id="compare-about")
                table: DataTable[str] = DataTable(id="compare-kpis", cursor_type="row", zebra_stripes=True)
                table.fixed_columns = 1
                yield table
                with Horizontal(id="compare-charts"):
                    from textual_plotext import PlotextPlot

                    yield PlotextPlot(id="chart-backlog")
                    yield PlotextPlot(id="chart-resolution")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.w("compare")
        for box in self.query(Field):
            box.cursor_blink = self.console.cursor_blink
        table = self.query_one("#compare-kpis", DataTable)
        table.add_column(self.w("kpi"), key="kpi")
        self.query_one("#compare-about", Static).update(f"[dim]{self.w('compare what')}[/]")
        self.query_one("#compare-results").set_class(self.app.size.height >= CHARTS_FROM_ROWS, "-charts")
        for plot_id, title in (("#chart-backlog", "backlog"), ("#chart-resolution", "share resolved within t")):
            from textual_plotext import PlotextPlot

            self.query_one(plot_id, PlotextPlot).plt.title(title)
        self.work.start(self.w("checking scenario files"))
        self.check_files()

    # --- the scenario files --------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        own = self.session.scenario_path
        folder = own.parent if own is not None else Path("scenarios")
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        if own is not None and own not in files:
            files.insert(0, own)
        return files

    @work(thread=True, exclusive=True, group="compare-files", name="checking scenario files", exit_on_error=False)
    def check_files(self) -> None:
        """Load every file and check it builds a district: what cannot run is listed as skipped."""
        from sim.errors import MicrogovError
        from sim.scenario import load_scenario
        from sim.structure import check_buildable

        listed = []
        try:
            for path in self._files():
                try:
                    check_buildable(load_scenario(path))
                except MicrogovError as exc:
                    listed.append(Listed(path, path.stem, str(exc).splitlines()[0]))
                    continue
                listed.append(Listed(path, path.stem))
        finally:
            self.app.call_from_thread(self._listed, listed)

    def _listed(self, listed: list[Listed]) -> None:
        self.checking = False
        self.work.stop()
        self.listed = listed
        own = self.session.scenario_path
        good = [item for item in listed if not item.problem]
        ticked = {item.path for item in good if item.path.stem in ("haigang-2019", "haigang-2020")}
        ticked = ticked or ({own} if own in {item.path for item in good} else set())
        picker = self.query_one("#compare-scenarios", SelectionList)
        picker.clear_options()
        picker.add_options(
            [
                Selection(item.label, str(item.path), item.path in ticked)
                if not item.problem
                else Selection(Text(f"{item.label} ✗", style="strike"), str(item.path), False, disabled=True)
                for item in listed
            ]
        )
        skipped = [item for item in listed if item.problem]
        note = self.query_one("#compare-skipped", Static)
        note.set_class(not skipped, "hidden")
        if skipped:
            text = Text(style="dim")
            for item in skipped:
                text.append(f"✗ {item.label}: ", style="bold")
                text.append(f"{self.w('cannot run alone')} ({item.problem.split(';')[0]})\n")
            note.update(text)
            note.tooltip = "\n".join(f"{item.path}: {item.problem}" for item in skipped)
        self._show_base()
        self.refresh_bindings()

    # --- running -------------------------------------------------------------------------------------

    def _fields(self) -> tuple[int, float] | str:
        """The replications and days typed, or what is wrong with them."""
        reps = self.query_one("#compare-reps", Field)
        days = self.query_one("#compare-days", Field)
        for box in (reps, days):
            result = box.validate(box.value)
            if result is not None and not result.is_valid:
                return result.failure_descriptions[0]
        return int(reps.value.strip()), float(days.value.strip())

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("compare-reps", "compare-days"):
            fields = self._fields()
            problem = fields if isinstance(fields, str) else ""
            self.query_one("#compare-problem", Static).update(Text(problem, style="bold red") if problem else "")
            self.refresh_bindings()
        elif event.input.id in ("compare-variant-label", "compare-variant-sets"):
            self._check_typed(add=False)

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        self._show_base()
        if any(self._typed_variant()):
            self._check_typed(add=False)
        self.refresh_bindings()

    # --- variants of the base ------------------------------------------------------------------------

    def _ticked(self) -> list[Path]:
        """The ticked files in the order they were ticked: the first is the base of the variants."""
        return [Path(p) for p in self.query_one("#compare-scenarios", SelectionList).selected]

    def _show_base(self) -> None:
        ticked = self._ticked()
        base = f" {ticked[0].stem}" if ticked else ""
        self.query_one("#compare-variants-label", Label).update(f"{self.w('variants of')}{base}")

    def _typed_variant(self) -> tuple[str, str]:
        label = self.query_one("#compare-variant-label", Field).value
        return label, self.query_one("#compare-variant-sets", Field).value

    @on(Input.Submitted, "#compare-variant-label, #compare-variant-sets")
    def _submit_variant(self, event: Input.Submitted) -> None:
        label, sets = self._typed_variant()
        if not label.strip() and not sets.strip():
            return
        if event.input.id == "compare-variant-label" and not sets.strip():
            self.query_one("#compare-variant-sets", Field).focus()  # the label first, then its changes
            return
        self._check_typed(add=True)

    def _check_typed(self, *, add: bool) -> None:
        self.variant_checks += 1
        self.check_variant(*self._typed_variant(), self._ticked(), list(self.variants), self.variant_checks, add=add)

    @work(thread=True, exclusive=True, group="compare-variant", name="checking the variant", exit_on_error=False)
    def check_variant(
        self, label: str, sets: str, files: list[Path], variants: list[Variant], check: int, *, add: bool
    ) -> None:
        """Check the typed variant as the run will (the plan of the ticked files with every variant), and
        with ``add`` add it when it is fine. Only the latest check's answer is shown."""
        from sim.errors import MicrogovError
        from sim.experiment.plan import make_variant, plan_entries, variant_label

        problem = ""
        variant: Variant | None = None
        try:
            if not label.strip():
                problem = self.w("a label first") if sets.strip() else ""
            elif not sets.strip():
                variant_label(label)
            else:
                variant = make_variant(label, sets)
                if not files:
                    raise MicrogovError(self.w("tick a scenario"))
                plan_entries(files, variants=[*variants, variant])
        except MicrogovError as exc:
            problem, variant = str(exc).splitlines()[0].removeprefix(f'--variant "{label.strip()}": '), None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._variant_checked, check, problem, variant if add else None)

    def _variant_checked(self, check: int, problem: str, added: Variant | None) -> None:
        if check != self.variant_checks:
            return  # typed on since: a later check answers
        self.variant_problem = problem
        box = self.query_one("#compare-variant-problem", Static)
        if problem:
            box.update(Text(problem, style="bold red"))
        elif any(self._typed_variant()) and added is None:
            done = all(part.strip() for part in self._typed_variant())
            box.update(Text(self.w("enter adds the variant" if done else "then its changes"), style="dim"))
        else:
            box.update("")
        if added is not None:
            self.variants.append(added)
            self._show_variants()
            self.query_one("#compare-variant-label", Field).value = ""
            self.query_one("#compare-variant-sets", Field).value = ""
            self.query_one("#compare-variant-label", Field).focus()
            box.update("")
        self.refresh_bindings()

    def _show_variants(self) -> None:
        listing = self.query_one("#compare-variants", OptionList)
        listing.clear_options()
        listing.add_options([Option(Text(str(v)), id=v.label) for v in self.variants])
        listing.set_class(not self.variants, "hidden")
        if self.variants:
            listing.highlighted = len(self.variants) - 1

    def action_add_variant(self) -> None:
        self.query_one("#compare-form").remove_class("hidden")
        self.query_one("#compare-variant-label", Field).focus()

    def action_remove_variant(self) -> None:
        listing = self.query_one("#compare-variants", OptionList)
        index = listing.highlighted
        assert index is not None  # refused otherwise
        del self.variants[index]
        self._show_variants()
        if self.variants:
            listing.highlighted = min(index, len(self.variants) - 1)
        else:
            self.query_one("#compare-variant-label", Field).focus()
        self.refresh_bindings()

    def palette_commands(self) -> Iterator[PaletteCommand]:
        yield PaletteCommand("Run comparison", "run the ticked scenarios", "run")
        yield PaletteCommand("Add a variant", "the base scenario with changes of its own, under a label", "add_variant")
        yield PaletteCommand("Remove the variant", "the one under the cursor in the variants list", "remove_variant")
        yield PaletteCommand("Hide / show the form", "more room for the results", "toggle_form")
        yield PaletteCommand("Show / hide the charts", "the backlog and the resolution times", "toggle_charts")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        w = self.w
        if action == "remove_variant":
            if not self.variants:
                return w("no variants")
            listing = self.query_one("#compare-variants", OptionList)
            if self.focused is not listing or listing.highlighted is None:
                return w("pick a variant")
            return None
        if action != "run":
            return None
        if self.running:
            return f"{w('comparison running')} {self.progress_text}".strip()
        if self.checking:
            return w("still checking files")
        fields = self._fields()
        if isinstance(fields, str):
            return fields
        if not self.query_one("#compare-scenarios", SelectionList).selected:
            return w("tick a scenario")
        if any(part.strip() for part in self._typed_variant()):
            return w("variant not added")
        return None

    @on(Button.Pressed, "#compare-go")
    def _go(self) -> None:
        reason = self.refusal("run", ())
        if reason:
            self.notify(reason, title=self.w("run"), severity="warning")
            return
        self.action_run()

    def action_run(self) -> None:
        fields = self._fields()
        assert not isinstance(fields, str)
        reps, days = fields
        files = self._ticked()
        variants = list(self.variants)
        self.running = True
        self.progress_text = ""
        self.refresh_bindings()
        count = len(files) + len(variants)
        label = f"{self.w('comparing')} {count} {self.w('scenarios')} × {reps} × {days:g} {self.w('days')}"
        self.work.start(label, total=reps * count, unit=self.w("replications"))
        if self.app.size.width < 100:  # narrow: the results need the whole width
            self.query_one("#compare-form").add_class("hidden")
        self.compare(files, variants, reps, days)

    @work(thread=True, exclusive=True, group="compare", name="comparing scenarios", exit_on_error=False)
    def compare(self, files: list[Path], variants: list[Variant], reps: int, days: float) -> None:
        from sim.errors import MicrogovError
        from sim.experiment.compare import compare_scenarios
        from sim.experiment.executors import LocalPool
        from sim.experiment.plan import build_plan
        from sim.scenario import load_scenario
        from sim.structure import check_buildable

        try:
            loaded, skipped = [], []
            for f in files:  # a file changed since it was listed: skip it, run the others
                try:
                    check_buildable(load_scenario(f))
                except MicrogovError as exc:
                    skipped.append(f"{f.name}: {str(exc).splitlines()[0]}")
                    continue
                loaded.append(f)
            if not loaded:
                raise MicrogovError(f"no ticked scenario can run ({'; '.join(skipped)})")
            if variants and loaded[0] != files[0]:  # the variants are of the base: not of another file
                raise MicrogovError(f"{self.w('the base cannot run')}: {skipped[0]}")
            plan = build_plan(loaded, variants=variants, reps=reps, days=days)
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.1 or done == total:  # at most ten screen updates a second
                    last[0] = now
                    self.app.call_from_thread(self._progress, done, total)

            with LocalPool(WORKERS, method="forkserver") as pool:
                comparison = compare_scenarios(plan, pool, progress=progress)
            outcome = outcome_of(comparison, skipped)
        finally:
            self.app.call_from_thread(self._stopped)
        self.app.call_from_thread(self.show_outcome, outcome)

    def _progress(self, done: int, total: int) -> None:
        self.progress_text = f"({done}/{total})"
        self.work.advance(done, total)

    def _stopped(self) -> None:
        self.running = False
        self.work.stop()
        self.refresh_bindings()

    # --- the results ---------------------------------------------------------------------------------

    def show_outcome(self, outcome: Outcome) -> None:
        """Fill the table and the charts; say what was skipped or failed (the rest is shown all the same)."""
        from sim.experiment.kpis import KPIS, show, show_diff

        summary = outcome.summary
        self.summary = summary
        w = self.w
        table = self.query_one("#compare-kpis", DataTable)
        names = [s["name"] for s in summary["scenarios"]]
        wanted = [("kpi", w("kpi"))] + [(f"s:{n}", n) for n in names]
        for p in summary["paired"]:
            wanted += [(f"d:{p['name']}", f"Δ {p['name']}"), (f"v:{p['name']}", w("verdict"))]
        table.clear(columns=True)
        # long names on two lines, and one space between columns instead of two: at 80 columns two
        # scenarios, the difference and the verdict fit beside the KPI names
        table.header_height = 2
        table.cell_padding = 0
        for key, label in wanted:
            table.add_column(_two_lines(label), key=key)
        for k in KPIS:
            if all(s["kpis"][k.name]["mean"] is None for s in summary["scenarios"]):
                continue
            cells: dict[str, str | Text] = {"kpi": f" {k.label}" + (" (h)" if k.unit == "h" else "")}
            for s in summary["scenarios"]:
                cells[f"s:{s['name']}"] = Text(f" {show(s['kpis'][k.name]['mean'], k.unit)}", justify="right")
            for p in summary["paired"]:
                d = p["kpis"][k.name]
                cells[f"d:{p['name']}"] = Text(f" {show_diff(d['diff'], k.unit)}", justify="right")
                cells[f"v:{p['name']}"] = Text(" ").append_text(_verdict(d["verdict"], w))
            table.add_row(*[cells[key] for key, _ in wanted], key=k.name)
            if k.judged is not None:
                judged: dict[str, str | Text] = {key: "" for key, _ in wanted}
                judged["kpi"] = Text(f"   {w('judged on')}", style="dim")
                for s in summary["scenarios"]:
                    n = s["kpis"][k.name].get("judged")
                    judged[f"s:{s['name']}"] = Text("–" if n is None else f" {n:,.0f}", style="dim", justify="right")
                table.add_row(*[judged[key] for key, _ in wanted], key=f"{k.name}:judged")
        first = names[0] if names else ""
        about = f"{summary['reps']} × {summary['days']:g} {w('days')} · Δ {w('against')} {first}, {w('verdicts, Holm')}"
        self.query_one("#compare-about", Static).update(about)
        self._charts(outcome.bands, outcome.hists, outcome.totals)
        table.focus()
        self.post_message(self.Finished(summary))
        problems = list(outcome.skipped)
        for f in summary.get("failures", []):
            problems.append(f"{f['scenario']}, {w('replication')} {f['replication']}: {f['error']}")
        from sim.metrics import too_short_lines

        cautions = [
            f"{s['name']}: {line}" for s in summary["scenarios"] for line in too_short_lines(s.get("too_short", []))
        ]
        auto = summary.get("warmup_auto") or {}
        if auto.get("warning"):
            cautions.append(auto["warning"])
        if cautions:
            self.notify("\n".join(cautions[:5]), title=w("too short to judge"), severity="warning", timeout=20)
        if problems:
            self.notify("\n".join(problems[:5]), title=w("not in the results"), severity="warning", timeout=15)
        else:
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

    # --- the layout ----------------------------------------------------------------------------------

    def action_toggle_form(self) -> None:
        form = self.query_one("#compare-form")
        form.toggle_class("hidden")
        if form.has_class("hidden") and self.focused is not None and form in self.focused.ancestors:
            self.query_one("#compare-kpis", DataTable).focus()

    def action_toggle_charts(self) -> None:
        self.query_one("#compare-results").toggle_class("-charts")


def outcome_of(comparison: Any, skipped: list[str] | None = None) -> Outcome:
    """What the screen shows of a finished comparison (``sim.experiment.compare.Comparison``)."""
    c = comparison.collector
    return Outcome(
        comparison.summary(),
        {label: c.bands[label].summary() for label in comparison.labels},
        {label: c.hists.get(label) for label in comparison.labels},
        {label: c.stats[label]["requests"].mean * c.stats[label]["requests"].n for label in comparison.labels},
        list(skipped or []),
    )


def _two_lines(label: str) -> Text:
    """A column name broken at its middle space, for a two-line header (each line after a space)."""
    if len(label) <= 10 or " " not in label:
        return Text(f" {label}")
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return Text(f" {label[:cut]}\n {label[cut + 1 :]}")


def _verdict(verdict: str | None, w: Any) -> Text:
    if verdict is None:
        return Text("–")
    style = {"better": "bold green", "worse": "bold red"}.get(verdict, "dim")
    return Text(w("n.s.") if verdict == "no significant difference" else w(verdict), style=style)
