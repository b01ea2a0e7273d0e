"""Report files for experiments: PNG plots (matplotlib, no screen needed) and a Markdown report.

Plots are written from the collected, already aggregated results: the backlog over time (mean with its
95% band and the range across replications), the distribution of resolution times, each KPI's mean with
its interval, and for sweeps each KPI against each varied key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment.kpis import BY_NAME, KPIS
from sim.metrics import Histogram


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
    """Lay ``fig`` out, write it to ``path`` as every report plot is written, and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def backlog_plot(path: Path, bands: dict[str, dict[str, np.ndarray]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, band in bands.items():
        t = band["t"] / 24.0
        if not len(t):
            continue
        (line,) = ax.plot(t, band["mean"], label=label, linewidth=1.4)
        ax.fill_between(t, band["lo"], band["hi"], color=line.get_color(), alpha=0.3, linewidth=0)
        ax.fill_between(t, band["min"], band["max"], color=line.get_color(), alpha=0.1, linewidth=0)
    ax.set_xlabel("day")
    ax.set_ylabel("open requests")
    ax.set_title("Backlog over time (mean, 95% band and range across replications)")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def resolution_plot(path: Path, hists: dict[str, np.ndarray], requests: dict[str, float]) -> Path:
    """The share of all requests resolved within each time: requests still open at the end or abandoned
    count as not resolved, so a scenario that leaves more undone does not look faster than it is."""
    plt = pyplot()
    edges = Histogram.edges()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, counts in hists.items():
        total = requests.get(label) or counts.sum()
        if not total:
            continue
        keep = counts > 0
        cdf = np.cumsum(counts) / total
        ax.step(edges[keep], cdf[keep], where="post", label=f"{label} ({cdf[-1]:.1%} resolved in the run)")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time from arrival (hours, log scale)")
    ax.set_ylabel("share of all requests resolved")
    ax.set_title("Resolution time: share of all requests resolved within t (all replications)")
    for hours, text in ((1, "1 h"), (24, "1 day"), (72, "3 days"), (168, "7 days")):
        ax.axvline(hours, color="grey", alpha=0.3, linewidth=0.8)
        ax.text(hours, 0.02, text, rotation=90, alpha=0.6, fontsize=8)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def kpi_plot(path: Path, summary: dict[str, Any], names: Sequence[str] | None = None) -> Path:
    plt = pyplot()
    names = list(names or [k.name for k in with_data(summary["scenarios"], judged=True)])
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.3 * rows), squeeze=False)
    labels = [s["name"] for s in summary["scenarios"]]
    for ax, name in zip(axes.flat, names, strict=False):
        means: list[float] = []
        errs: list[list[float]] = [[], []]
        for s in summary["scenarios"]:
            k = s["kpis"][name]
            mean = k["mean"] if k["mean"] is not None else np.nan
            lo, hi = k["ci"] if k["ci"] else (mean, mean)
            means.append(mean)
            errs[0].append(mean - lo if lo is not None else 0)
            errs[1].append(hi - mean if hi is not None else 0)
        y = np.arange(len(labels))
        ax.errorbar(means, y, xerr=errs, fmt="o", capsize=4)
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        kpi = BY_NAME[name]
        ax.set_title(f"{kpi.label} ({kpi.unit})", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle("KPI means with 95% intervals")
    return save_figure(fig, path)


def sweep_plots(folder: Path, table: list[dict[str, Any]], keys: Sequence[str]) -> list[Path]:
    """For each varied key, every KPI's point means against the key's values, with 95% bands."""
    plt = pyplot()
    paths = []
    names = [k.name for k in with_data(table, judged=True)]
    for key in keys:
        cols = 3
        rows = (len(names) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows), squeeze=False)
        others = [k for k in keys if k != key]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for point in table:
            groups.setdefault(tuple(point["values"][k] for k in others), []).append(point)
        for ax, name in zip(axes.flat, names, strict=False):
            for rest, points in groups.items():
                points = sorted(points, key=lambda p: _order(p["values"][key]))
                x = [p["values"][key] for p in points]
                xs = np.arange(len(x)) if not all(isinstance(v, int | float) for v in x) else np.asarray(x, float)
                mean = np.array(
                    [p["kpis"][name]["mean"] if p["kpis"][name]["mean"] is not None else np.nan for p in points]
                )
                lo = np.array([p["kpis"][name]["ci"][0] if p["kpis"][name]["ci"] else np.nan for p in points])
                hi = np.array([p["kpis"][name]["ci"][1] if p["kpis"][name]["ci"] else np.nan for p in points])
                label = ", ".join(f"{k}={v}" for k, v in zip(others, rest, strict=True)) or None
                (line,) = ax.plot(xs, mean, marker="o", label=label)
                ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.25, linewidth=0)
                if not all(isinstance(v, int | float) for v in x):
                    ax.set_xticks(xs, [str(v) for v in x])
            ax.set_title(BY_NAME[name].label, fontsize=9)
            ax.set_xlabel(key, fontsize=8)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(names) :]:
            ax.axis("off")
        if len(groups) > 1:
            axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"KPIs against {key} (means with 95% bands)")
        paths.append(save_figure(fig, folder / f"sweep_{key.replace('.', '_')}.png"))
    return paths


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "–"
    if unit == "share":
        return f"{x:.1%}"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def _ci(k: dict[str, Any], unit: str) -> str:
    if k.get("ci") is None:
        return "–"
    lo, hi = k["ci"]
    return f"{_fmt(lo, unit)} – {_fmt(hi, unit)}"


def _delta(x: float | None, unit: str) -> str:
    if x is None:
        return "–"
    return f"{x * 100:+.2f} pp" if unit == "share" else f"{x:+,.3f} {unit}"


def compare_markdown(summary: dict[str, Any], files: Sequence[str], title: str = "Scenario comparison") -> str:
    lines = [f"# {title}", ""]
    lines.append(
        f"{summary['reps']} replications of {summary['days']:g} days, seed {summary['seed']}, "
        f"warm-up {summary['warmup_days']:g} days; 95% t-intervals; replication i of every scenario sees the "
        "same arrivals (common random numbers)."
    )
    if summary.get("warmup_auto"):
        lines.append(f"Warm-up chosen automatically: {summary['warmup_auto']['method']}.")
    lines += ["", "## KPIs", ""]
    names = [s["name"] for s in summary["scenarios"]]
    lines.append("| KPI | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for k in with_data(summary["scenarios"]):
        cells = []
        for s in summary["scenarios"]:
            v = s["kpis"][k.name]
            cells.append(f"{_fmt(v['mean'], k.unit)} ({_ci(v, k.unit)})")
        lines.append(f"| {k.label} | " + " | ".join(cells) + " |")
    for p in summary["paired"]:
        lines += [
            "",
            f"## {p['name']} against {p['vs']} (paired differences)",
            "",
            "| KPI | difference | 95% CI | verdict |",
            "|---|---:|---:|---|",
        ]
        for k in with_data(summary["scenarios"]):
            v = p["kpis"][k.name]
            unit = "pp" if k.unit == "share" else k.unit
            diff = (
                "–"
                if v["diff"] is None
                else (f"{v['diff'] * 100:+.2f} pp" if k.unit == "share" else f"{v['diff']:+,.3f} {unit}")
            )
            ci = (
                "–"
                if v["ci"] is None
                else (
                    f"{v['ci'][0] * 100:+.2f} to {v['ci'][1] * 100:+.2f}"
                    if k.unit == "share"
                    else f"{v['ci'][0]:+,.3f} to {v['ci'][1]:+,.3f}"
                )
            )
            lines.append(f"| {k.label} | {diff} | {ci} | {v['verdict']} |")
    if summary.get("failures"):
        lines += ["", "## Failed replications", ""]
        for f in summary["failures"]:
            lines.append(f"- {f['scenario']}, replication {f['replication']} ({f['attempts']} attempts): {f['error']}")
    lines += ["", "## Plots", ""]
    for name in files:
        lines.append(f"![{name}]({name})")
    return "\n".join(lines) + "\n"
