"""``microgov compare``, ``sweep`` and ``staff``: experiments for policy teams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli.common import JsonOption, SetOption, err, out, print_json, table
from sim.cli.progress import progress_bar
from sim.experiment.errors import ExperimentError
from sim.experiment.kpis import BY_NAME, HEADLINE, KPIS
from sim.scenario import load_scenario

if TYPE_CHECKING:
    from sim.experiment.compare import Comparison

DaysOption = Annotated[
    float | None, typer.Option("--days", "-d", help="Simulated days per replication (default: clock.days).", min=0.01)
]
SeedOption = Annotated[int, typer.Option("--seed", help="Master seed; replication i uses stream i of it.", min=0)]
WarmupOption = Annotated[
    str | None,
    typer.Option("--warmup-days", help="Days left out of the KPIs, or 'auto' (MSER-5 on a pilot run's backlog)."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="Local worker processes (default: one per core).", min=1)
]
ClusterOption = Annotated[
    str | None, typer.Option("--cluster", help="Address of a Dask scheduler (tcp://host:8786) to run on.")
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Folder for results.csv, results.parquet, report.md and PNG plots.", file_okay=False
    ),
]


def _warmup(value: str | None) -> float | str | None:
    if value is None or value == "auto":
        return value
    try:
        days = float(value)
    except ValueError:
        raise ExperimentError(f"--warmup-days: expected a number of days or 'auto', found '{value}'") from None
    if days < 0:
        raise ExperimentError(f"--warmup-days: expected 0 or more days, found {value}")
    return days


def _reps(value: str, ci_width: float | None) -> int | None:
    if value == "auto":
        if ci_width is None:
            raise ExperimentError("--reps auto needs --ci-width W (the half-width to reach on the headline KPI)")
        return None
    try:
        reps = int(value)
    except ValueError:
        raise ExperimentError(f"--reps: expected a number of replications or 'auto', found '{value}'") from None
    if reps < 2:
        raise ExperimentError(f"--reps: at least 2 replications are needed for an interval, found {reps}")
    return reps


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def _ci(k: dict[str, Any], unit: str) -> str:
    if not k.get("ci") or k["ci"][0] is None:
        return ""
    lo, hi = k["ci"]
    return f"[dim]({_fmt(lo, unit)}–{_fmt(hi, unit)})[/]"


def _shown(summary: dict[str, Any]) -> list[Any]:
    """The KPIs that have data in at least one scenario (the staffing target only when one is set)."""
    return [k for k in KPIS if any(s["kpis"][k.name]["mean"] is not None for s in summary["scenarios"])]


def _pm(k: dict[str, Any], unit: str) -> str:
    """``mean ±half-width`` for a narrow table."""
    if k.get("mean") is None:
        return "–"
    mean = _fmt(k["mean"], unit)
    if not k.get("ci") or k["ci"][0] is None:
        return mean
    half = (k["ci"][1] - k["ci"][0]) / 2
    return f"{mean} [dim]±{half * 100:.1f}[/]" if unit == "share" else f"{mean} [dim]±{half:.2f}[/]"


def _diff(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:+.2f} pp"
    return f"{value:+,.2f}" if abs(value) < 1000 else f"{value:+,.0f}"


def _verdict(v: str) -> str:
    colour = {"better": "green", "worse": "red"}.get(v)
    shown = "no sig. difference" if v == "no significant difference" else v
    return f"[{colour}]{shown}[/]" if colour else shown


def print_comparison(summary: dict[str, Any]) -> None:
    names = [s["name"] for s in summary["scenarios"]]
    t = table(
        f"{summary['reps']} replications × {summary['days']:g} days, seed {summary['seed']}, warm-up "
        f"{summary['warmup_days']:g} days (means, 95% intervals)",
        "KPI",
        *names,
        wrap_first=True,
    )
    for k in _shown(summary):
        cells = []
        for s in summary["scenarios"]:
            v = s["kpis"][k.name]
            cells.append(f"{_fmt(v['mean'], k.unit)} {_ci(v, k.unit)}".strip())
        t.add_row(k.label, *cells)
    out.print(t)
    for p in summary["paired"]:
        d = table(
            f"{p['name']} against {p['vs']}: paired differences",
            "KPI",
            "difference",
            "95% CI",
            "verdict",
            wrap_first=True,
        )
        for k in _shown(summary):
            v = p["kpis"][k.name]
            ci = "–" if not v["ci"] else f"{_diff(v['ci'][0], k.unit)} to {_diff(v['ci'][1], k.unit)}"
            d.add_row(k.label, _diff(v["diff"], k.unit), ci, _verdict(v["verdict"]))
        out.print(d)
    if summary.get("warmup_auto"):
        out.print(f"[dim]warm-up chosen by {summary['warmup_auto']['method']}: {summary['warmup_days']:g} days[/]")


def _failures(summary: dict[str, Any]) -> None:
    for f in summary.get("failures", []):
        where = f"{f['scenario']}, replication {f['replication']}, after {f['attempts']} attempts"
        err.print(f"[red]failed[/]: {where}: {f['error']}")
    if summary.get("failures"):
        err.print(f"[red]{len(summary['failures'])} replication(s) failed and are left out of the results above[/]")
        raise typer.Exit(1)


def write_compare_files(folder: Path, comparison: Comparison, summary: dict[str, Any]) -> list[Path]:
    from sim.report import backlog_plot, compare_markdown, kpi_plot, resolution_plot

    c = comparison.collector
    files = [
        backlog_plot(folder / "backlog.png", {lbl: c.bands[lbl].summary() for lbl in comparison.labels}),
        resolution_plot(
            folder / "resolution_time.png",
            {lbl: c.hists[lbl] for lbl in comparison.labels if lbl in c.hists},
            {lbl: c.stats[lbl]["requests"].mean * c.stats[lbl]["requests"].n for lbl in comparison.labels},
        ),
        kpi_plot(folder / "kpis.png", summary),
    ]
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    report = folder / "report.md"
    report.write_text(compare_markdown(summary, [f.name for f in files]), encoding="utf-8")
    return [folder / "results.csv", folder / "results.parquet", report, *files]


def compare(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Two or more scenario files; the first is the baseline.")
    ],
    reps: Annotated[
        str, typer.Option("--reps", "-r", help="Replications per scenario, or 'auto' with --ci-width.")
    ] = "10",
    ci_width: Annotated[
        float | None, typer.Option("--ci-width", help="With --reps auto: the half-width to reach on --kpi.", min=0)
    ] = None,
    max_reps: Annotated[
        int, typer.Option("--max-reps", help="With --reps auto: the most replications to run.", min=2)
    ] = 200,
    headline: Annotated[str, typer.Option("--kpi", help="The headline KPI for --reps auto.")] = HEADLINE,
    days: DaysOption = None,
    seed: SeedOption = 0,
    overrides: SetOption = None,
    warmup_days: WarmupOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
    out_dir: OutOption = None,
) -> None:
    """Compare scenarios with replications and common random numbers: every KPI's mean and 95% interval
    per scenario, and each scenario's paired difference from the first with a verdict.

    [dim]Examples:
      microgov compare scenarios/haigang-2019.toml scenarios/haigang-2020.toml --reps 10 --days 14 --out out/reform
      microgov compare scenarios/haigang-2020.toml scenarios/haigang-2020.toml --set whistle.enabled=false --reps 5
      microgov compare a.toml b.toml --reps auto --ci-width 0.005 --kpi response_rate --json[/]
    """
    from sim.experiment.compare import Plan, compare_scenarios, unique_labels
    from sim.experiment.executors import executor_for

    if len(files) < 1:
        raise ExperimentError("give at least one scenario file")
    headline_kpi = BY_NAME.get(headline)
    if headline_kpi is None:
        raise ExperimentError(f"--kpi: unknown KPI '{headline}'; known: {', '.join(BY_NAME)}")
    n_reps = _reps(reps, ci_width)
    scenarios = [load_scenario(path, overrides or []) for path in files]
    labels = unique_labels([s.name for s in scenarios], [path.stem for path in files])
    loaded = list(zip(labels, scenarios, strict=True))
    plan = Plan(
        loaded,
        reps=n_reps,
        ci_width=ci_width,
        max_reps=max_reps,
        headline=headline,
        days=days,
        seed=seed,
        warmup_days=_warmup(warmup_days),
    )
    with executor_for(workers, cluster) as executor, progress_bar("replications", count=True, total=1) as update:
        comparison = compare_scenarios(plan, executor, out=out_dir, progress=lambda done, total: update(done, total))
    summary = comparison.summary()
    written = write_compare_files(out_dir, comparison, summary) if out_dir else []
    if as_json:
        print_json(summary)
    else:
        print_comparison(summary)
        if n_reps is None:
            out.print(
                f"--reps auto: {comparison.reps} replications reached the half-width {ci_width:g} on {headline}"
                if comparison.reps < max_reps
                else f"--reps auto stopped at the cap of {max_reps} replications"
            )
        for path in written:
            out.print(f"[dim]wrote {path}[/]")
    _failures(summary)


def sweep(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file.")],
    vary: Annotated[
        list[str],
        typer.Option("--vary", "-v", metavar="KEY=V1,V2,...", help="A key --set accepts and its values; repeatable."),
    ],
    reps: Annotated[int, typer.Option("--reps", "-r", help="Replications per design point.", min=2)] = 5,
    design_kind: Annotated[
        str, typer.Option("--design", help="full (every combination) or lhs (Latin hypercube).")
    ] = "full",
    samples: Annotated[int | None, typer.Option("--samples", help="Design points for --design lhs.", min=2)] = None,
    days: DaysOption = None,
    seed: SeedOption = 0,
    overrides: SetOption = None,
    warmup_days: WarmupOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
    out_dir: OutOption = None,
) -> None:
    """Run a scenario over a grid or Latin hypercube of settings, with common random numbers across
    design points; every KPI per point with its 95% interval, and a plot of each KPI against each key.

    [dim]Examples:
      microgov sweep scenarios/haigang-2020.toml --vary staffing.per_office=11,20,30,50 --reps 5 --days 14
      microgov sweep scenarios/haigang-2020.toml --vary staffing.per_office=11,60 \\
          --vary referral.delay.mean_h=1,6 --design lhs --samples 12 --out out/sweep[/]
    """
    from sim.experiment.executors import executor_for
    from sim.experiment.sweep import parse_vary, run_sweep

    varies = [parse_vary(v) for v in vary]
    with executor_for(workers, cluster) as executor, progress_bar("replications", count=True, total=1) as update:
        result = run_sweep(
            file,
            varies,
            reps=reps,
            design_kind=design_kind,
            samples=samples,
            days=days,
            seed=seed,
            warmup_days=_warmup(warmup_days),
            overrides=overrides or [],
            executor=executor,
            out=out_dir,
            progress=lambda done, total: update(done, total),
        )
    summary = result.summary()
    summary["file"] = str(file)
    written: list[Path] = []
    if out_dir:
        from sim.report import sweep_plots

        written = [
            out_dir / "results.csv",
            out_dir / "results.parquet",
            *sweep_plots(out_dir, summary["points"], result.keys),
        ]
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append(out_dir / "summary.json")
    if as_json:
        print_json(summary)
    else:
        shown = [
            "response_rate",
            "resolution_rate",
            "satisfaction_rate",
            "resolution_time_mean_h",
            "street_wait_mean_h",
        ]
        wide = out.width >= 120
        headers = {
            "response_rate": "response",
            "resolution_rate": "resolved",
            "satisfaction_rate": "satisfied",
            "resolution_time_mean_h": "time h",
            "street_wait_mean_h": "wait h",
        }
        t = table(
            f"{file}: {len(summary['points'])} design points × {summary['reps']} replications × "
            f"{summary['days']:g} days ({'means ± 95% half-widths' if wide else 'means'}; every KPI with its "
            "interval in --json and --out)",
            "#",
            *[k.rsplit(".", 1)[-1] for k in result.keys],
            *[headers[n] for n in shown],
            right_from=1 + len(result.keys),
        )
        for point in summary["points"]:
            cells = [
                _pm(point["kpis"][name], BY_NAME[name].unit)
                if wide
                else _fmt(point["kpis"][name]["mean"], BY_NAME[name].unit)
                for name in shown
            ]
            t.add_row(str(point["point"]), *[str(point["values"][k]) for k in result.keys], *cells)
        out.print(t)
        for path in written:
            out.print(f"[dim]wrote {path}[/]")
    _failures(summary)


def staff(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="PRIORITY.MEASURE<=TIME@SHARE, e.g. urgent.response<=2h@0.90.")
    ],
    pool: Annotated[int | None, typer.Option("--pool", help="Split this many staff across the offices.", min=1)] = None,
    reps: Annotated[int, typer.Option("--reps", "-r", help="Replications per simulated staffing.", min=2)] = 5,
    days: Annotated[float, typer.Option("--days", "-d", help="Simulated days per replication.", min=1)] = 14.0,
    seed: SeedOption = 0,
    overrides: SetOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
) -> None:
    """How many staff each street and town office needs to meet a service target, or how best to split
    a pool of staff across them.

    Without [bold]--pool[/]: the fewest staff per office that meets the target, from an Erlang C first
    guess confirmed by simulation (with the target's share at that number and at one fewer). With
    [bold]--pool N[/]: the split that Erlang C marginal allocation finds best, simulated beside the flat
    split and the split by population.

    Measures: response and resolution (from arrival, for requests raised in the office's area), wait
    (waiting for pickup at the office).

    [dim]Examples:
      microgov staff scenarios/haigang-2019.toml --target "all.wait<=1h@0.90"
      microgov staff scenarios/haigang-2020.toml --target "urgent.response<=2h@0.80" --pool 601[/]
    """
    from sim.experiment.executors import executor_for
    from sim.staffing import ServiceTarget, staff_answer

    goal = ServiceTarget.parse(target)
    scenario = load_scenario(file, overrides or [])
    with executor_for(workers, cluster) as executor, progress_bar("simulating", count=True, total=1) as update:
        answer = staff_answer(
            scenario,
            goal,
            pool=pool,
            reps=reps,
            days=days,
            seed=seed,
            executor=executor,
            progress=lambda step, done, total: update(done, total, description=f"staffing: {step}"),
        )
    answer.pop("rows", None)
    if as_json:
        print_json(answer)
        return
    if pool is None:
        _print_staff(answer)
    else:
        _print_pool(answer)


def _share(v: dict[str, Any] | None) -> str:
    if not v or v.get("mean") is None:
        return "–"
    return _pm(v, "share")


def _print_staff(answer: dict[str, Any]) -> None:
    t = table(
        f"Staff needed for {answer['target']} ({answer['reps']} replications × {answer['days']:g} days per staffing)",
        "office",
        "residents",
        "now",
        "Erlang C",
        "needed",
        "share there",
        "one fewer",
    )
    for o in answer["offices"]:
        needed = str(o["staff"]) if o["met"] else "[red]not reached[/]"
        t.add_row(
            o["office"],
            f"{o['residents']:,}",
            str(o["current_staff"]),
            str(o["erlang_c_guess"]),
            needed,
            _share(o["at_staff"]),
            _share(o["at_one_fewer"]),
        )
    out.print(t)
    out.print(f"district-wide at these numbers: {_share(answer['district_at_chosen'])}")
    limited = [o["office"] for o in answer["offices"] if not o["met"]]
    if limited:
        out.print(
            f"[yellow]not reached by office staff alone in {', '.join(limited)}[/]: the office already picks "
            "requests up within 15 minutes, so the rest of the chain (volunteers' hours, grids, departments) "
            "limits this target; see 'tried' in --json for the shares at each number simulated"
        )


def _print_pool(answer: dict[str, Any]) -> None:
    splits = answer["splits"]
    t = table(
        f"Splitting {answer['pool']} staff for {answer['target']} "
        f"({answer['reps']} replications × {answer['days']:g} days)",
        "office",
        "residents",
        *[s["split"] for s in splits],
    )
    for load in answer["loads"]:
        o = load["office"]
        cells = [f"{s['staff'][o]} {_share(s['offices'][o])}" for s in splits]
        t.add_row(o, f"{load['residents']:,}", *cells)
    t.add_section()
    t.add_row("district", "", *[_share(s["district"]) for s in splits])
    out.print(t)
    flat = answer["flat_is_best"]
    out.print(
        "[green]the flat split is the best of the three[/]"
        if flat
        else f"[bold]{answer['best']}[/] meets the target for more requests than the flat split"
    )
    for p in answer["paired_vs_flat"]:
        k = p["kpis"]["target_share"]
        ci = f"{_diff(k['ci'][0], 'share')} to {_diff(k['ci'][1], 'share')}" if k["ci"] else "–"
        out.print(f"  {p['name']} against flat: {_diff(k['diff'], 'share')} ({ci}) meeting the target, {k['verdict']}")


def register(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(sweep)
    app.command()(staff)
