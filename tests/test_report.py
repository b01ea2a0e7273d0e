"""The report plots as figure objects: limits, ticks and legends, on results whose intervals run past what
their KPIs can take (a count's interval below zero, a share's above 100%), a categorical sweep key, and a
training timeline with decisions and an incident at the very end of the shift."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from sim.engine.watch import Decision, DeskRecord
from sim.experiment.kpis import BY_NAME, KPIS
from sim.experiment.report import backlog_figure, kpi_figure, pyplot, resolution_figure, sweep_figures
from sim.training.scoring import timeline_figure


@pytest.fixture(autouse=True)
def close_figures():
    yield
    pyplot().close("all")


def kpis(**given: tuple[float, float, float]) -> dict[str, Any]:
    """Every KPI without data, except ``given`` ones: name=(mean, low, high)."""
    out: dict[str, Any] = {k.name: {"mean": None, "ci": None} for k in KPIS}
    for name, (mean, lo, hi) in given.items():
        out[name] = {"mean": mean, "ci": [lo, hi]}
    return out


SUMMARY = {
    "scenarios": [
        {
            "name": "Haigang 2019 with a long name",
            "kpis": kpis(
                response_rate=(0.985, 0.96, 1.02),
                escalations_to_district=(1.0, -2.5, 4.5),
                resolution_time_mean_h=(1234.5, 900.0, 1600.0),
                abandoned_share=(0.0025, -0.001, 0.006),
            ),
        },
        {
            "name": "Haigang 2020",
            "kpis": kpis(
                response_rate=(0.95, 0.93, 0.97),
                escalations_to_district=(3.0, 0.5, 5.5),
                resolution_time_mean_h=(1500.0, 1400.0, 1600.0),
                abandoned_share=(0.001, 0.0, 0.002),
            ),
        },
    ]
}


def panels(fig: Any) -> dict[str, Any]:
    """The figure's panels by KPI name (from their titles)."""
    by_label = {f"{k.label} (": k.name for k in KPIS}
    out = {}
    for ax in fig.axes:
        title = ax.get_title()
        for prefix, name in by_label.items():
            if title.startswith(prefix):
                out[name] = ax
    return out


def legend_texts(fig_or_ax: Any) -> list[str]:
    legends = fig_or_ax.legends if hasattr(fig_or_ax, "legends") else []
    legend = fig_or_ax.get_legend() if hasattr(fig_or_ax, "get_legend") else None
    found = [*legends, *([legend] if legend else [])]
    return [t.get_text() for lg in found for t in lg.get_texts()]


def ticks_apart(fig: Any, axis: Any) -> bool:
    """No two tick labels of ``axis`` overlap on the drawn figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
    return not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def drawn_values(ax: Any, along: str) -> np.ndarray:
    """Every x (or y) value drawn in ``ax``: lines, error bars and bands."""
    column = 0 if along == "x" else 1
    values = [line.get_xydata()[:, column] for line in ax.get_lines()]
    for collection in ax.collections:
        for path in collection.get_paths():
            values.append(path.vertices[:, column])
        for segment in getattr(collection, "get_segments", list)():
            values.append(np.asarray(segment)[:, column])
    return np.concatenate([v for v in values if len(v)]) if values else np.zeros(0)


def test_kpi_figure_clips_intervals_to_each_kpis_range_and_keeps_ticks_readable():
    fig = kpi_figure(SUMMARY)
    by_kpi = panels(fig)
    assert set(by_kpi) == {"response_rate", "escalations_to_district", "resolution_time_mean_h", "abandoned_share"}
    for name, ax in by_kpi.items():
        lo, hi = BY_NAME[name].bounds
        ticks = ax.get_xticks()
        assert 2 <= len(ticks) <= 5, (name, ticks)
        assert ticks.min() >= lo and ticks.max() <= hi, (name, ticks)
        drawn = drawn_values(ax, "x")
        assert drawn.min() >= lo and drawn.max() <= hi, (name, drawn.min(), drawn.max())
        assert ticks_apart(fig, ax.xaxis), name
    assert by_kpi["escalations_to_district"].get_xlim()[0] > -1.0  # a little room, not an axis into negatives
    shares = [t.get_text() for t in by_kpi["response_rate"].get_xticklabels()]
    assert all(text.endswith("%") for text in shares)
    assert len(set(t.get_text() for t in by_kpi["abandoned_share"].get_xticklabels())) == len(
        by_kpi["abandoned_share"].get_xticks()
    )  # 0.25% steps are written with enough decimals to tell them apart
    assert any("," in t.get_text() for t in by_kpi["resolution_time_mean_h"].get_xticklabels())
    assert legend_texts(fig) == ["mean of the replications", "95% interval (within the KPI's range)"]
    assert "Haigang 2019 with\na long name" in [t.get_text() for t in by_kpi["response_rate"].get_yticklabels()]


def point(per_office: int, mode: str, esc: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "values": {"staffing.per_office": per_office, "grids.mode": mode},
        "kpis": kpis(escalations_to_district=esc, response_rate=(0.97, 0.9, 1.04)),
    }


SWEEP = [
    point(11, "merged", (1.0, -1.0, 3.0)),
    point(11, "separate", (2.0, -0.5, 4.5)),
    point(50, "merged", (0.5, -2.0, 3.0)),
    point(50, "separate", (1.0, 0.0, 2.0)),
]


def test_sweep_draws_a_named_key_as_categories_and_clips_bands():
    figures = dict(sweep_figures(SWEEP, ["staffing.per_office", "grids.mode"]))
    by_mode = panels(figures["grids.mode"])
    esc = by_mode["escalations_to_district"]
    assert [t.get_text() for t in esc.get_xticklabels()] == ["merged", "separate"]
    assert all(line.get_linestyle() == "None" for line in esc.get_lines() if len(line.get_xdata()) > 1)
    assert drawn_values(esc, "y").min() >= 0.0  # the intervals below zero are cut at zero
    assert min(esc.get_yticks()) >= 0.0
    assert drawn_values(by_mode["response_rate"], "y").max() <= 1.0
    assert legend_texts(figures["grids.mode"]) == ["staffing.per_office=11", "staffing.per_office=50", "95% interval"]

    by_staff = panels(figures["staffing.per_office"])
    esc = by_staff["escalations_to_district"]
    assert list(esc.get_xticks()) == [11, 50]
    assert drawn_values(esc, "y").min() >= 0.0
    assert any(line.get_linestyle() == "-" and len(line.get_xdata()) == 2 for line in esc.get_lines())
    assert legend_texts(figures["staffing.per_office"]) == [
        "grids.mode=merged",
        "grids.mode=separate",
        "95% band (within the KPI's range)",
    ]
    for fig in figures.values():
        for ax in panels(fig).values():
            assert len(ax.get_yticks()) <= 5 and ticks_apart(fig, ax.yaxis)


def test_backlog_and_resolution_figures_stay_in_range_with_a_legend_for_every_band():
    t = np.arange(0, 48, 6.0)
    band = {"t": t, "mean": t / 10, "lo": t / 10 - 2, "hi": t / 10 + 2, "min": t / 10 - 3, "max": t / 10 + 3}
    fig = backlog_figure({"2019": band, "2020": {**band, "mean": t / 20}})
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0.0 and drawn_values(ax, "y").min() >= 0.0
    assert legend_texts(ax) == ["2019", "2020", "95% band of the mean", "range across replications"]

    from sim.metrics import Histogram

    counts = np.zeros(len(Histogram.edges()))
    counts[100:200] = 1.0
    fig = resolution_figure({"2019": counts}, {"2019": 200.0})
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.02)
    assert legend_texts(ax) == ["2019 (50.0% resolved in the run)"]
    right = ax.get_xlim()[1]
    assert all(text.get_position()[0] < right for text in ax.texts)  # deadline marks inside the plot


def test_timeline_has_a_legend_for_every_colour_and_keeps_the_shift_edges_in_view():
    hours, start = 2.0, 10.0
    desk = {
        1: DeskRecord(1, 0, 0, 10.1, 10.6, 34.1, False, responded=10.2, closed=11.0),
        2: DeskRecord(2, 1, 1, 10.5, 12.5, 82.5, False, responded=11.99),
        3: DeskRecord(3, 2, 2, 11.0, 35.0, 179.0, False, responded=11.5),
        4: DeskRecord(4, 2, 1, 11.2, 11.8, 83.2, False, responded=11.95),  # answered late
    }
    decisions = [
        Decision(1, 10.2, "whistle", True),
        Decision(3, 11.5, "pass", False),
        Decision(2, 12.0, "settle", True),
    ]
    text = "Sewage is coming up through the floor drains of the ground-floor flats in building 1."
    fig = timeline_figure(desk, decisions, desk, [(11.98, text)], start, hours, {1: "#1 special lost_elderly"})
    top, bottom = fig.axes
    names = legend_texts(top)
    for wanted in (
        "special request",
        "urgent request",
        "ordinary request",
        "response deadline",
        "answered on time",
        "answered late",
        "whistle (right)",
        "passed (wrong)",
        "settled (right)",
    ):
        assert wanted in names
    assert (
        "1. at 1:58: Sewage is coming up\nthrough the floor drains of the\nground-floor flats in building 1." in names
    )
    left, right = top.get_xlim()
    assert left < 0.0 and right > hours  # a decision at the very end is drawn whole
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (note,) = top.texts
    assert note.get_text() == "1"  # the incident's number on its line, at the very end of the shift
    box, frame = note.get_window_extent(renderer), fig.bbox
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1
    assert legend_texts(bottom) == ["trainee", "engine policy"] and bottom.get_ylim()[0] == 0.0


def test_a_shift_ended_at_once_still_draws():
    fig = timeline_figure({}, [], {}, [], 10.0, 0.0, {})
    assert fig.axes[1].get_xlim()[1] > 0.0


def test_summary_intervals_are_cut_to_what_each_kpi_can_take():
    """The tables' intervals follow the same rule as the plots: a count's never runs below zero, a share
    of requests stays within 0..100%, and so does utilisation (of the people on duty: work finished
    after a shift ends is overtime, reported on its own)."""
    from sim.experiment.compare import _interval
    from sim.experiment.stats import Running

    def interval(name: str, values: list[float]) -> list[float]:
        r = Running()
        for v in values:
            r.add(v)
        return _interval(r, BY_NAME[name])["ci"]

    assert interval("escalations_to_district", [0, 0, 3])[0] == 0.0
    assert interval("response_rate", [0.97, 0.99, 1.0])[1] == 1.0
    assert interval("street_utilisation", [0.96, 0.99, 1.0])[1] == 1.0


def test_one_formatter_shows_every_kpi_the_same_way_everywhere():
    """Tables, report.md and the console take a KPI's figures from one formatter: shares as percentages
    (differences in points), other figures to two decimals up to 1,000 and whole beyond."""
    from sim.experiment.kpis import show, show_diff

    assert show(0.12345, "share") == "12.3%"
    assert show(12.345, "h") == "12.35" and show(12.345, "h", suffix=True) == "12.35 h"
    assert show(999.994, "requests") == "999.99" and show(1234.6, "requests") == "1,235"
    assert show(None, "share") == show_diff(None, "h") == "–"
    assert show_diff(-0.0123, "share") == "-1.23 pp" and show_diff(0.5, "h", suffix=True) == "+0.50 h"
    assert show_diff(-2500.4, "count") == "-2,500"
