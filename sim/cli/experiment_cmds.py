"""``microgov compare``, ``sweep`` and ``staff``: experiments for policy teams."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from sim import limits
from sim.cli.common import (
    JsonOption,
    OptionError,
    SetOption,
    err,
    number,
    out,
    output_path,
    print_json,
    table,
    warn,
    whole,
)
from sim.cli.progress import progress_bar
from sim.experiment.errors import ExperimentError
from sim.experiment.kpis import BY_NAME, HEADLINE, KPIS, show, show_diff
from sim.metrics import too_short_lines
from sim.scenario import load_scenario

if TYPE_CHECKING:
    from sim.experiment.compare import Comparison

T = TypeVar("T")

#: Worker processes per core at most: more only queue for the cores and multiply memory.
WORKERS_PER_CORE = 4
DAYS = number("a number of days", gt=0, le=limits.MAX_DAYS)
REPS = whole("replications", ge=2, le=limits.MAX_REPS)

DaysOption = Annotated[
    float | None,
    typer.Option(
        "--days", "-d", help="Simulated days per replication (default: clock.days).", parser=DAYS, show_default=False
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed",
        help="Master seed; replication i uses stream i of it.",
        parser=whole("a seed", ge=0, le=limits.MAX_SEED),
    ),
]
WarmupOption = Annotated[
    str | None,
    typer.Option("--warmup-days", help="Days left out of the KPIs, or 'auto' (MSER-5 on a pilot run's backlog)."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        help="Local worker processes (default: one per core).",
        parser=lambda text: _workers(text),
        show_default=False,
    ),
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


def _workers(text: str | int) -> int:
    import os

    most = WORKERS_PER_CORE * (os.cpu_count() or 1)
    return whole(f"a number of worker processes, {WORKERS_PER_CORE} per core at most", ge=1, le=most)(text)


def _warmup(value: str | None) -> float | str | None:
    if value is None or value.strip().casefold() == "auto":
        return None if value is None else "auto"
    try:
        return number("a number of days or 'auto'", ge=0, le=limits.MAX_DAYS)(value)
    except typer.BadParameter as exc:
        raise OptionError(f"--warmup-days: {exc.message}") from None


def _reps(value: str, ci_width: float | None) -> int | None:
    if value.strip().casefold() == "auto":
        if ci_width is None:
            raise ExperimentError("--reps auto needs --ci-width W (the half-width to reach on the headline KPI)")
        return None
    try:
        return whole("a number of replications or 'auto'", ge=2, le=limits.MAX_REPS)(value)
    except typer.BadParameter as exc:
        raise OptionError(f"--reps: {exc.message}") from None


def _planned(make: Callable[[], T]) -> T:
    """``make()``, with two scenarios that are the same told how to make them differ."""
    from sim.experiment.plan import SameScenarios

    try:
        return make()
    except SameScenarios as exc:
        raise ExperimentError(
            f'{exc}; --set changes every scenario, --variant "LABEL: KEY=VALUE" adds the first file with '
            "changes of its own"
        ) from None


def _ci(k: dict[str, Any], unit: str) -> str:
    if not k.get("ci") or k["ci"][0] is None:
        return ""
    lo, hi = k["ci"]
    return f"[dim]({show(lo, unit)}–{show(hi, unit)})[/]"


def _shown(summary: dict[str, Any]) -> list[Any]:
    """The KPIs that have data in at least one scenario (the staffing target only when one is set)."""
    return [k for k in KPIS if any(s["kpis"][k.name]["mean"] is not None for s in summary["scenarios"])]


def _pm(k: dict[str, Any], unit: str) -> str:
    """``mean ±half-width`` for a narrow table."""
    if k.get("mean") is None:
        return "–"
    mean = show(k["mean"], unit)
    if not k.get("ci") or k["ci"][0] is None:
        return mean
    half = (k["ci"][1] - k["ci"][0]) / 2
    return f"{mean} [dim]±{half * 100:.1f}[/]" if unit == "share" else f"{mean} [dim]±{half:.2f}[/]"


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
        *map(escape, names),
        wrap_first=True,
    )
    for k in _shown(summary):
        cells = []
        for s in summary["scenarios"]:
            v = s["kpis"][k.name]
            judged = f" [dim]of {v['judged']:,.0f}[/]" if v.get("judged") is not None else ""
            cells.append(f"{show(v['mean'], k.unit)} {_ci(v, k.unit)}{judged}".strip())
        t.add_row(k.label, *cells)
    out.print(t)
    for s in summary["scenarios"]:
        if s.get("variant"):
            made = f"{s['file']} with {'; '.join([*s['sets'], *s['variant']])}"
            out.print(f"[dim]{escape(s['name'])}: {escape(made)}[/]")
    out.print(
        '[dim]A rate\'s "of N" is the requests it was judged on (mean per replication): those whose deadline '
        "fell inside the measured window.[/]"
    )
    for s in summary["scenarios"]:
        for line in too_short_lines(s.get("too_short", [])):
            warn(f"{escape(s['name'])}: {line}")
    for p in summary["paired"]:
        d = table(
            f"{escape(p['name'])} against {escape(p['vs'])}: paired differences",
            "KPI",
            "difference",
            "95% CI",
            "verdict",
            wrap_first=True,
        )
        for k in _shown(summary):
            v = p["kpis"][k.name]
            ci = "–" if not v["ci"] else f"{show_diff(v['ci'][0], k.unit)} to {show_diff(v['ci'][1], k.unit)}"
            d.add_row(k.label, show_diff(v["diff"], k.unit), ci, _verdict(v["verdict"]))
        out.print(d)
    if summary["paired"]:
        out.print(f"[dim]Verdicts: {summary['multiplicity']}.[/]")
    auto = summary.get("warmup_auto")
    if auto:
        out.print(f"[dim]warm-up chosen by {auto['method']}: {summary['warmup_days']:g} days[/]")
        if auto.get("warning"):
            warn(auto["warning"])


def _failures(summary: dict[str, Any]) -> None:
    for f in summary.get("failures", []):
        where = f"{escape(f['scenario'])}, replication {f['replication']}, after {f['attempts']} attempts"
        err.print(f"[red]failed[/]: {where}: {f['error']}")
    if summary.get("failures"):
        err.print(f"[red]{len(summary['failures'])} replication(s) failed and are left out of the results above[/]")
        raise typer.Exit(1)


def write_compare_files(folder: Path, comparison: Comparison, summary: dict[str, Any]) -> list[Path]:
    from sim.experiment.report import backlog_plot, compare_markdown, kpi_plot, resolution_plot

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


VariantOption = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        metavar='"LABEL: KEY=VALUE[; KEY=VALUE...]"',
        help="Add a scenario: the first file with these overrides (after --set), labelled LABEL; repeatable.",
        show_default=False,
    ),
]


def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Scenario files; the first is the baseline (one file is enough with --variant).",
        ),
    ],
    reps: Annotated[
        str, typer.Option("--reps", "-r", help="Replications per scenario, or 'auto' with --ci-width.")
    ] = "10",
    ci_width: Annotated[
        float | None,
        typer.Option(
            "--ci-width",
            help="With --reps auto: the half-width to reach on --kpi.",
            parser=number("a half-width", gt=0, le=1e9),
            show_default=False,
        ),
    ] = None,
    max_reps: Annotated[
        int, typer.Option("--max-reps", help="With --reps auto: the most replications to run.", parser=REPS)
    ] = 200,
    headline: Annotated[str, typer.Option("--kpi", help="The headline KPI for --reps auto.")] = HEADLINE,
    days: DaysOption = None,
    seed: SeedOption = 0,
    overrides: SetOption = None,
    variants: VariantOption = None,
    warmup_days: WarmupOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
    out_dir: OutOption = None,
) -> None:
    """Compare scenarios with replications and common random numbers: every KPI's mean and 95% interval
    per scenario, and each scenario's paired difference from the first with a verdict.

    [bold]--set[/] changes every scenario; [bold]--variant[/] adds one: the first file with overrides of
    its own, under its label. Two scenarios that are the same after every override are refused.

    [dim]Examples:
      microgov compare scenarios/haigang-2019.toml scenarios/haigang-2020.toml --reps 10 --days 14 --out out/reform
      microgov compare scenarios/haigang-2020.toml --variant "no whistle: whistle.enabled=false" --reps 5 --days 14
      microgov compare scenarios/haigang-2020.toml --variant "separate grids: grids.mode=\\"separate\\"" \\
          --variant "11 staff: staffing.per_office=11; streets.S1.staff=11" --reps 5 --days 14
      microgov compare scenarios/haigang-2019.toml scenarios/haigang-2020.toml --reps auto --ci-width 0.005 --json[/]
    """
    from sim.experiment.compare import compare_scenarios
    from sim.experiment.executors import executor_for
    from sim.experiment.plan import build_plan

    if len(files) < 1:
        raise ExperimentError("give at least one scenario file")
    headline_kpi = BY_NAME.get(headline)
    if headline_kpi is None:
        raise ExperimentError(f"--kpi: unknown KPI '{headline}'; known: {', '.join(BY_NAME)}")
    n_reps = _reps(reps, ci_width)
    if len(files) > limits.MAX_POINTS:
        raise OptionError(f"FILE...: at most {limits.MAX_POINTS:,} scenarios, found {len(files):,}")
    output_path(out_dir, "--out", files, folder=True)
    warmup = _warmup(warmup_days)
    plan = _planned(
        lambda: build_plan(
            files,
            overrides or [],
            variants or [],
            reps=n_reps,
            ci_width=ci_width,
            max_reps=max_reps,
            headline=headline,
            days=days,
            seed=seed,
            warmup_days=warmup,
        )
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
    reps: Annotated[int, typer.Option("--reps", "-r", help="Replications per design point.", parser=REPS)] = 5,
    design_kind: Annotated[
        str, typer.Option("--design", help="full (every combination) or lhs (Latin hypercube).")
    ] = "full",
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help="Design points for --design lhs.",
            parser=whole("design points", ge=2, le=limits.MAX_POINTS),
            show_default=False,
        ),
    ] = None,
    days: DaysOption = None,
    seed: SeedOption = 0,
    overrides: SetOption = None,
    variants: VariantOption = None,
    warmup_days: WarmupOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
    out_dir: OutOption = None,
) -> None:
    """Run a scenario over a grid or Latin hypercube of settings, with common random numbers across
    design points; every KPI per point with its 95% interval, and a plot of each KPI against each key.

    [bold]--variant[/] adds a series: the file with overrides of its own, run at every design point.

    [dim]Examples:
      microgov sweep scenarios/haigang-2020.toml --vary staffing.per_office=11,20,30,50 --reps 5 --days 14
      microgov sweep scenarios/haigang-2020.toml --vary staffing.per_office=11,60 \\
          --vary referral.delay.mean_h=1,6 --design lhs --samples 12 --out out/sweep
      microgov sweep scenarios/haigang-2020.toml --vary staffing.per_office=11,30,50 \\
          --variant "no whistle: whistle.enabled=false" --reps 3 --days 14[/]
    """
    from sim.experiment.executors import executor_for
    from sim.experiment.sweep import parse_vary, plan_sweep, run_planned

    varies = [parse_vary(v) for v in vary]
    output_path(out_dir, "--out", [file], folder=True)
    warmup = _warmup(warmup_days)
    planned = _planned(
        lambda: plan_sweep(
            file,
            varies,
            reps=reps,
            design_kind=design_kind,
            samples=samples,
            days=days,
            seed=seed,
            warmup_days=warmup,
            overrides=overrides or [],
            variants=variants or [],
        )
    )
    with executor_for(workers, cluster) as executor, progress_bar("replications", count=True, total=1) as update:
        result = run_planned(planned, executor, out=out_dir, progress=lambda done, total: update(done, total))
    summary = result.summary()
    summary["file"] = str(file)
    written: list[Path] = []
    if out_dir:
        from sim.experiment.report import sweep_plots

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
        series = [v["label"] for v in summary["variants"]] if result.variants else []
        t = table(
            f"{escape(str(file))}: {len(result.points)} design points"
            + (f" × {len(series)} series ({', '.join(map(escape, series))})" if series else "")
            + f" × {summary['reps']} replications × {summary['days']:g} days "
            f"({'means ± 95% half-widths' if wide else 'means'}; every KPI with its interval in --json and --out)",
            *(["variant"] if series else []),
            "#",
            *[k.rsplit(".", 1)[-1] for k in result.keys],
            *[headers[n] for n in shown],
            right_from=(2 if series else 1) + len(result.keys),
        )
        for point in summary["points"]:
            cells = [
                _pm(point["kpis"][name], BY_NAME[name].unit)
                if wide
                else show(point["kpis"][name]["mean"], BY_NAME[name].unit)
                for name in shown
            ]
            first = [escape(point["variant"])] if series else []
            values = [escape(str(point["values"][k])) for k in result.keys]
            t.add_row(*first, str(point["point"]), *values, *cells)
        out.print(t)
        for path in written:
            out.print(f"[dim]wrote {path}[/]")
    _failures(summary)


def staff(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="PRIORITY.MEASURE<=TIME@SHARE, e.g. urgent.response<=2h@0.90.")
    ],
    pool: Annotated[
        int | None,
        typer.Option(
            "--pool",
            help="Split this many staff across the offices.",
            parser=whole("staff", ge=1, le=limits.MAX_STAFF),
            show_default=False,
        ),
    ] = None,
    office: Annotated[
        list[str] | None,
        typer.Option(
            "--office",
            metavar="ID",
            help="Answer for this street or town office only (repeatable): only its area and the departments "
            "are simulated, the departments' staff scaled to the residents it serves.",
        ),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", "-r", help="Replications per simulated staffing.", parser=REPS)] = 5,
    days: Annotated[
        float,
        typer.Option(
            "--days",
            "-d",
            help="Simulated days per replication.",
            parser=number("a number of days", ge=1, le=limits.MAX_DAYS),
        ),
    ] = 14.0,
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
    (waiting for pickup at the office). Each number comes with the share at it and at one fewer, from the
    replications the search decided on, and a verdict: met with 95% confidence, met on the mean only, or
    not met.

    [dim]Examples:
      microgov staff scenarios/haigang-2019.toml --target "all.wait<=1h@0.90" --office S1
      microgov staff scenarios/haigang-2019.toml --target "all.wait<=1h@0.90"
      microgov staff scenarios/haigang-2020.toml --target "urgent.response<=2h@0.80" --pool 601[/]
    """
    from sim.analysis.staffing import ServiceTarget, staff_answer
    from sim.experiment.executors import executor_for
    from sim.scenario.sense import check_run

    goal = ServiceTarget.parse(target)
    scenario = load_scenario(file, overrides or [])
    check_run(scenario, days, 0.0)
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
            offices=office or (),
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
        "verdict",
    )
    for o in answer["offices"]:
        needed = str(o["staff"]) if o["staff"] is not None else "[red]not reached[/]"
        colour = {"met with 95% confidence": "green", "not met": "red"}.get(o["verdict"], "yellow")
        t.add_row(
            o["office"],
            f"{o['residents']:,}",
            str(o["current_staff"]),
            str(o["erlang_c_guess"]),
            needed,
            _share(o["at_staff"]),
            _share(o["at_one_fewer"]),
            f"[{colour}]{o['verdict']}[/]",
        )
    out.print(t)
    where = "the whole district" if answer["simulated"] == "the whole district" else ", ".join(answer["simulated"])
    out.print(f"all requests of {where} at these numbers: {_share(answer['district_at_chosen'])}")
    out.print(
        '[dim]"share there" and "one fewer" come from the replications the search decided on; the verdict '
        "says whether the whole 95% interval meets the target or only its mean.[/]"
    )
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
        ci = f"{show_diff(k['ci'][0], 'share')} to {show_diff(k['ci'][1], 'share')}" if k["ci"] else "–"
        out.print(
            f"  {p['name']} against flat: {show_diff(k['diff'], 'share')} ({ci}) meeting the target, {k['verdict']}"
        )


def register(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(sweep)
    app.command()(staff)
