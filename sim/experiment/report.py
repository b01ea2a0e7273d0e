"""Report files for experiments: PNG plots (matplotlib, no screen needed) and a Markdown report.

Plots are written from the collected, already aggregated results: the backlog over time (mean with its
95% band and the range across replications), the distribution of resolution times, each KPI's mean with
its interval, and for sweeps each KPI against each varied key. Every ``*_figure`` function returns the
matplotlib figure (the tests read its limits, ticks and legend); ``*_plot`` writes it. The rules every
plot keeps: an interval or band is clipped to the values its KPI can take (``KPI.bounds``: a share lies in
0..1, times and counts are at least 0), so no axis runs below zero for a count; at most a handful of ticks
per axis, formatted for the unit (percent for shares), so labels do not overlap at the default size; a
varied key whose values are names is drawn as categories (points with intervals, no line between them);
every colour, marker and band is in a legend; and the file is cut around everything drawn.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment.kpis import BY_NAME, KPI, KPIS, show, show_diff
from sim.metrics import Histogram

MAX_TICKS = 5
"""At most this many labelled ticks on a value axis (fewer on narrow panels)."""


def with_data(groups: Sequence[dict[str, Any]], judged: bool = False) -> list[Any]:
    """The KPIs with a value in at least one scenario or design point (``judged``: only those with a
    better direction, for plots)."""
    return [
        k
        for k in KPIS
        if (not judged or k.better != "neither") and any(g["kpis"][k.name]["mean"] is not None for g in groups)
    ]


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only: no display, safe in worker threads)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Lay ``fig`` out, write it to ``path`` as every report plot is written (cut around everything drawn,
    legends and labels outside the axes included), and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight", pad_inches=0.15)
    pyplot().close(fig)
    return path


# --- axes ------------------------------------------------------------------------------------------------


def clipped(values: Any, kpi: KPI) -> np.ndarray:
    """``values`` (interval or band ends) within the values ``kpi`` can take."""
    lo, hi = kpi.bounds
    inside: np.ndarray = np.clip(np.asarray(values, dtype=float), lo, hi)
    return inside


def value_axis(axis: Any, kpi: KPI, low: float, high: float, ticks: int = MAX_TICKS) -> None:
    """Limits, ticks and tick labels for an axis showing ``kpi`` from ``low`` to ``high``: a little room
    around the data, no tick outside the KPI's range, at most ``ticks`` ticks, percent for shares and
    thousands separators for large numbers."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    bound_lo, bound_hi = kpi.bounds
    if not np.isfinite(low) or not np.isfinite(high):
        low, high = bound_lo, bound_lo + 1.0
    if high - low < 1e-9:
        pad = max(abs(high) * 0.05, 0.01 if kpi.unit == "share" else 0.5)
        low, high = low - pad, high + pad
    margin = 0.06 * (high - low)
    view = (low - margin, high + margin)
    inside = (max(low, bound_lo), min(high, bound_hi))
    locator = MaxNLocator(nbins=ticks, steps=[1, 2, 2.5, 5, 10], integer=kpi.unit == "count")
    values = [t for t in locator.tick_values(*inside) if inside[0] - 1e-9 <= t <= inside[1] + 1e-9]
    if len(values) < 2:
        values = sorted({inside[0], inside[1]})
    axis.set_ticks(values)
    axis.axes.set_xlim(*view) if axis.axis_name == "x" else axis.axes.set_ylim(*view)
    if kpi.unit == "share":
        axis.set_major_formatter(PercentFormatter(1.0, decimals=_decimals([100 * v for v in values])))
    else:
        axis.set_major_formatter(FuncFormatter(_number))


def _decimals(values: Sequence[float]) -> int:
    """The fewest decimals that write every tick exactly (0.25% needs two, 0.5% one, 5% none)."""
    for decimals in range(4):
        if all(abs(round(v, decimals) - v) < 1e-6 for v in values):
            return decimals
    return 4


def _number(x: float, _: Any = None) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.2g}" if abs(x) < 1 else f"{x:.3g}"


def _wrap(text: str, width: int = 18) -> str:
    return "\n".join(textwrap.wrap(_plain(text), width)) or _plain(text)


def _plain(text: object) -> str:
    """A label (a scenario's name, a variant's label, a value) drawn as it is written: matplotlib would
    read ``$...$`` as mathematics (and fail on what it cannot parse) and leave a legend entry that starts
    with ``_`` out."""
    shown = str(text).replace("$", r"\$")
    return f" {shown}" if shown.startswith("_") else shown


def _unit(kpi: KPI) -> str:
    return {"share": "%", "h": "hours", "count": "count"}.get(kpi.unit, kpi.unit)


# --- experiments -----------------------------------------------------------------------------------------


def backlog_figure(bands: dict[str, dict[str, np.ndarray]]) -> Any:
    """Open requests over time per scenario: mean, 95% band and range across replications."""
    from matplotlib.patches import Patch

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    top = 0.0
    handles = []
    for label, band in bands.items():
        t = band["t"] / 24.0
        if not len(t):
            continue
        (line,) = ax.plot(t, band["mean"], label=_plain(label), linewidth=1.4)
        colour = line.get_color()
        lo, hi = np.maximum(band["lo"], 0.0), np.maximum(band["hi"], 0.0)  # no backlog below zero
        ax.fill_between(t, lo, hi, color=colour, alpha=0.3, linewidth=0)
        ax.fill_between(t, np.maximum(band["min"], 0.0), band["max"], color=colour, alpha=0.1, linewidth=0)
        top = max(top, float(np.nanmax(band["max"])) if len(band["max"]) else 0.0)
        handles.append(line)
    handles += [
        Patch(color="grey", alpha=0.45, label="95% band of the mean"),
        Patch(color="grey", alpha=0.15, label="range across replications"),
    ]
    ax.set_ylim(0, max(top, 1.0) * 1.05)
    ax.margins(x=0.01)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_xlabel("day")
    ax.set_ylabel("open requests")
    ax.set_title("Backlog over time (mean across replications)")
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def backlog_plot(path: Path, bands: dict[str, dict[str, np.ndarray]]) -> Path:
    return save_figure(backlog_figure(bands), path)


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_number)


def resolution_figure(hists: dict[str, np.ndarray], requests: dict[str, float]) -> Any:
    """The share of all requests resolved within each time: requests still open at the end or abandoned
    count as not resolved, so a scenario that leaves more undone does not look faster than it is."""
    from matplotlib.ticker import PercentFormatter

    plt = pyplot()
    edges = Histogram.edges()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    longest = 1.0
    for label, counts in hists.items():
        total = requests.get(label) or counts.sum()
        if not total:
            continue
        keep = counts > 0
        cdf = np.cumsum(counts) / total
        ax.step(edges[keep], cdf[keep], where="post", label=f"{_plain(label)} ({cdf[-1]:.1%} resolved in the run)")
        if keep.any():
            longest = max(longest, float(edges[keep][-1]))
    ax.set_xscale("log")
    ax.set_xlim(right=max(longest * 1.5, 2.0))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("time from arrival (hours, log scale)")
    ax.set_ylabel("share of all requests resolved")
    ax.set_title("Resolution time: share of all requests resolved within t (all replications)")
    right = ax.get_xlim()[1]
    for hours, text in ((1, "1 h"), (24, "1 day"), (72, "3 days"), (168, "7 days")):
        if hours < right:
            ax.axvline(hours, color="grey", alpha=0.3, linewidth=0.8)
            ax.text(hours * 1.05, 0.97, text, rotation=90, alpha=0.7, fontsize=8, va="top")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def resolution_plot(path: Path, hists: dict[str, np.ndarray], requests: dict[str, float]) -> Path:
    return save_figure(resolution_figure(hists, requests), path)


def kpi_figure(summary: dict[str, Any], names: Sequence[str] | None = None) -> Any:
    """Each KPI's mean per scenario with its 95% interval (clipped to the KPI's range), one panel each."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    names = list(names or [k.name for k in with_data(summary["scenarios"], judged=True)])
    cols = 3
    rows = max(1, (len(names) + cols - 1) // cols)
    labels = [_wrap(s["name"]) for s in summary["scenarios"]]
    fig, axes = plt.subplots(rows, cols, figsize=(12, 0.9 + (1.1 + 0.32 * len(labels)) * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        kpi = BY_NAME[name]
        means = np.array([s["kpis"][name]["mean"] if s["kpis"][name]["mean"] is not None else np.nan
                          for s in summary["scenarios"]], dtype=float)  # fmt: skip
        ci = np.array(
            [s["kpis"][name]["ci"] if s["kpis"][name]["ci"] else (np.nan, np.nan) for s in summary["scenarios"]],
            dtype=float,
        ).reshape(-1, 2)
        ci = np.where(np.isnan(ci), means[:, None], ci)
        ci = clipped(ci, kpi)
        means = clipped(means, kpi)
        y = np.arange(len(labels))
        err = np.vstack([np.maximum(means - ci[:, 0], 0), np.maximum(ci[:, 1] - means, 0)])
        ax.errorbar(means, y, xerr=np.nan_to_num(err), fmt="o", color="C0", ecolor="C0", capsize=4)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.invert_yaxis()
        finite = ci[np.isfinite(ci)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
        value_axis(ax.xaxis, kpi, low, high, ticks=4)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(f"{kpi.label} ({_unit(kpi)})", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    legend = [
        Line2D([], [], color="C0", marker="o", linestyle="none", label="mean of the replications"),
        Line2D([], [], color="C0", marker="|", markersize=10, label="95% interval (within the KPI's range)"),
    ]
    fig.legend(handles=legend, loc="upper right", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("KPI means with 95% intervals", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def kpi_plot(path: Path, summary: dict[str, Any], names: Sequence[str] | None = None) -> Path:
    return save_figure(kpi_figure(summary, names), path)


def sweep_figures(table: list[dict[str, Any]], keys: Sequence[str]) -> list[tuple[str, Any]]:
    """For each varied key, every KPI's point means against the key's values with 95% intervals, one
    colour per series (the file and each variant, when there are variants) and combination of the other
    keys. A key whose values are numbers is an axis (lines and
    bands); one whose values are names is a set of categories (points with interval bars, side by side,
    no line between them)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = pyplot()
    figures = []
    names = [k.name for k in with_data(table, judged=True)]
    series = list(dict.fromkeys(point.get("variant") for point in table))
    for key in keys:
        cols = 3
        rows = max(1, (len(names) + cols - 1) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(12, 0.9 + 2.5 * rows), squeeze=False)
        others = [k for k in keys if k != key]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for point in table:  # one colour per series (the file, each variant) and combination of the other keys
            mine = (point.get("variant"),) if len(series) > 1 else ()
            groups.setdefault((*mine, *(point["values"][k] for k in others)), []).append(point)
        values = sorted({p["values"][key] for p in table}, key=_order)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        position = {v: (float(v) if numeric else float(i)) for i, v in enumerate(values)}
        width = 0.6 / max(1, len(groups))
        handles: list[Any] = []
        for ax, name in zip(axes.flat, names, strict=False):
            kpi = BY_NAME[name]
            low, high = np.inf, -np.inf
            for g, points in enumerate(groups.values()):
                points = sorted(points, key=lambda p: _order(p["values"][key]))
                x = np.array([position[p["values"][key]] for p in points])
                mean = np.array([_mean(p, name) for p in points])
                ci = clipped([_interval_of(p, name) for p in points], kpi).reshape(-1, 2)
                colour = f"C{g % 10}"
                if numeric:
                    ax.plot(x, clipped(mean, kpi), marker="o", color=colour)
                    ax.fill_between(x, ci[:, 0], ci[:, 1], color=colour, alpha=0.25, linewidth=0)
                else:
                    dodge = (g - (len(groups) - 1) / 2) * width
                    m = clipped(mean, kpi)
                    err = np.vstack([np.maximum(m - ci[:, 0], 0), np.maximum(ci[:, 1] - m, 0)])
                    ax.errorbar(x + dodge, m, yerr=np.nan_to_num(err), fmt="o", color=colour, capsize=3)
                finite = ci[np.isfinite(ci)]
                if finite.size:
                    low, high = min(low, float(finite.min())), max(high, float(finite.max()))
            value_axis(ax.yaxis, kpi, low, high, ticks=4)
            if numeric:
                shown = values if len(values) <= 8 else None
                if shown is not None:
                    ax.set_xticks([position[v] for v in shown], [_number(float(v)) for v in shown])
                span = max(position.values()) - min(position.values()) or 1.0
                ax.set_xlim(min(position.values()) - 0.04 * span, max(position.values()) + 0.04 * span)
            else:
                ax.set_xticks([position[v] for v in values], [_wrap(str(v), 12) for v in values])
                ax.set_xlim(-0.6, len(values) - 0.4)
            ax.tick_params(labelsize=8)
            ax.set_title(f"{kpi.label} ({_unit(kpi)})", fontsize=9)
            ax.set_xlabel(key, fontsize=8)
            ax.grid(alpha=0.3)
        for g, group in enumerate(groups):
            rest = group[1:] if len(series) > 1 else group
            parts = [str(group[0])] if len(series) > 1 else []
            parts += [f"{k}={v}" for k, v in zip(others, rest, strict=True)]
            label = _plain(", ".join(parts) or "mean")
            colour = f"C{g % 10}"
            line = Line2D([], [], color=colour, marker="o", linestyle="-", label=label)
            if not numeric:
                line = Line2D([], [], color=colour, marker="o", linestyle="none", label=label)
            handles.append(line)
        if numeric:
            handles.append(Patch(color="grey", alpha=0.35, label="95% band (within the KPI's range)"))
        else:
            handles.append(Line2D([], [], color="grey", marker="|", markersize=10, label="95% interval"))
        for ax in list(axes.flat)[len(names) :]:
            ax.axis("off")
        fig.legend(handles=handles, loc="upper right", ncol=min(4, len(handles)), fontsize=8, frameon=False)
        fig.suptitle(f"KPIs against {key}", x=0.02, ha="left")
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        figures.append((key, fig))
    return figures


def sweep_plots(folder: Path, table: list[dict[str, Any]], keys: Sequence[str]) -> list[Path]:
    """One file per varied key (see :func:`sweep_figures`)."""
    return [save_figure(fig, folder / f"sweep_{key.replace('.', '_')}.png") for key, fig in sweep_figures(table, keys)]


def _mean(point: dict[str, Any], name: str) -> float:
    mean = point["kpis"][name]["mean"]
    return float(mean) if mean is not None else np.nan


def _interval_of(point: dict[str, Any], name: str) -> tuple[float, float]:
    ci = point["kpis"][name]["ci"]
    if not ci or ci[0] is None or ci[1] is None:
        mean = _mean(point, name)
        return (mean, mean)
    return (float(ci[0]), float(ci[1]))


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _ci(k: dict[str, Any], unit: str) -> str:
    if k.get("ci") is None:
        return "–"
    lo, hi = k["ci"]
    return f"{show(lo, unit)} – {show(hi, unit)}"


def _cell(text: str) -> str:
    """A label as Markdown shows it in a table cell or heading (its own ``|`` would end the cell)."""
    return text.replace("\\", "\\\\").replace("|", "\\|")


def compare_markdown(summary: dict[str, Any], files: Sequence[str], title: str = "Scenario comparison") -> str:
    lines = [f"# {title}", ""]
    lines.append(
        f"{summary['reps']} replications of {summary['days']:g} days, seed {summary['seed']}, "
        f"warm-up {summary['warmup_days']:g} days; 95% t-intervals; replication i of every scenario sees the "
        "same arrivals (common random numbers)."
    )
    if summary.get("warmup_auto"):
        lines.append(f"Warm-up chosen automatically: {summary['warmup_auto']['method']}.")
    made = [s for s in summary["scenarios"] if s.get("file")]
    if made:
        lines += ["", "## Scenarios", ""]
        for s in made:
            changes = [*s.get("sets", []), *(s.get("variant") or [])]
            what = f"`{s['file']}`" + (f" with `{'; '.join(changes)}`" if changes else "")
            lines.append(f"- {_cell(s['name'])}: {what}" + (" (a variant)" if s.get("variant") else ""))
    lines += ["", "## KPIs", ""]
    names = [_cell(s["name"]) for s in summary["scenarios"]]
    lines.append("| KPI | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for k in with_data(summary["scenarios"]):
        cells = []
        for s in summary["scenarios"]:
            v = s["kpis"][k.name]
            cells.append(f"{show(v['mean'], k.unit, suffix=True)} ({_ci(v, k.unit)})")
        lines.append(f"| {k.label} | " + " | ".join(cells) + " |")
    for p in summary["paired"]:
        lines += [
            "",
            f"## {_cell(p['name'])} against {_cell(p['vs'])} (paired differences)",
            "",
            "| KPI | difference | 95% CI | verdict |",
            "|---|---:|---:|---|",
        ]
        for k in with_data(summary["scenarios"]):
            v = p["kpis"][k.name]
            diff = show_diff(v["diff"], k.unit, suffix=True)
            ci = "–" if v["ci"] is None else f"{show_diff(v['ci'][0], k.unit)} to {show_diff(v['ci'][1], k.unit)}"
            lines.append(f"| {k.label} | {diff} | {ci} | {v['verdict']} |")
    if summary.get("failures"):
        lines += ["", "## Failed replications", ""]
        for f in summary["failures"]:
            lines.append(f"- {f['scenario']}, replication {f['replication']} ({f['attempts']} attempts): {f['error']}")
    lines += ["", "## Plots", ""]
    for name in files:
        lines.append(f"![{name}]({name})")
    return "\n".join(lines) + "\n"
