"""``microgov import``, ``fit`` and ``export``: real request logs in, scenario fragments and run logs out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from sim import limits
from sim.cli.common import JsonOption, out, output_path, print_json, table, whole
from sim.cli.progress import progress_bar


def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Request log: CSV (plain or .gz) or Open311 JSON.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="boston, la, open311 or csv (with --map).")
    ],
    trace_out: Annotated[Path, typer.Option("--out", "-o", metavar="TRACE", help="Trace to write (Parquet).")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="FIELD=COLUMN",
            help="Column holding a field (source_id, created, closed, due, category, department, channel, "
            "area, status); repeatable; overrides a built-in format's column.",
            show_default=False,
        ),
    ] = None,
    time_format: Annotated[
        str | None,
        typer.Option(
            "--time-format",
            help="strptime format of the timestamps, or 'iso' (default: %m/%d/%Y %I:%M:%S %p; ISO for open311).",
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            metavar="ZONE",
            help="Turn times stamped in UTC (an offset such as Z or +00:00; without one, UTC is assumed) into this "
            "zone's wall-clock time, e.g. America/New_York (default: keep the wall-clock time as written).",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter",
            metavar="CHAR",
            help="What separates a CSV's fields: ; or tab (default: a comma).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Read a real request log and write it as a trace: one row per request with source_id, created,
    closed, due, category, department, channel, area and status.

    Rows that cannot be trusted are left out and counted by reason (blank or unparsable created date,
    closed before created, duplicate id, ...); wrong fields that are not fatal are cleared and counted.

    [dim]Examples:
      microgov import ../shared/data/boston-311-2015.csv.gz --format boston --out out/boston.parquet
      microgov import ../shared/data/la-311-2017-12-27_31.csv.gz --format la --out out/la.parquet --json
      microgov import nyc.csv --format csv --map source_id="Unique Key" --map created="Created Date" \\
        --map closed="Closed Date" --map department=Agency --map category="Complaint Type" --out out/nyc.parquet
      microgov import out/week.json --format open311 --out out/week-trace.parquet[/]
    """
    from sim.realdata import import_log, parse_map
    from sim.realdata.importer import parse_delimiter, time_spec

    columns = parse_map(mapping or [])
    time_spec(time_format, tz)
    parse_delimiter(delimiter)
    output_path(trace_out, "--out", [file])
    with progress_bar(f"importing {file.name}") as update:
        report = import_log(
            file,
            fmt,
            trace_out,
            mapping=columns,
            time_format=time_format,
            tz=tz,
            delimiter=delimiter,
            progress=update,
        )
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    head = table(f"{_t(file)} ({fmt})", "rows read", "kept", "skipped", "first created", "last created")
    head.add_row(
        f"{report.rows_read:,}",
        f"{report.rows_kept:,}",
        f"{report.rows_skipped:,}",
        str(report.period["start"] or "–"),
        str(report.period["end"] or "–"),
    )
    out.print(head)
    reasons = table("Left out or changed", "reason", "rows")
    for reason, n in report.skipped_by_reason.items():
        if n:
            reasons.add_row(f"skipped: {reason}", f"{n:,}")
    for reason, n in report.fields_cleared.items():
        if n:
            reasons.add_row(f"field cleared: {reason}", f"{n:,}")
    if reasons.row_count:
        out.print(reasons)
    statuses = ", ".join(f"{n:,} {s}" for s, n in report.statuses.items())
    out.print(f"statuses: {statuses or '–'}   extract taken {report.extract_end or '–'} or later")
    for note in report.notes:
        out.print(f"[dim]{_t(note)}[/]")
    out.print(f"[dim]trace: {_t(trace_out)}; columns: {_t(_columns(report.columns))}[/]")


def _t(value: object) -> str:
    """Outside text (file names, a log's department names) for a Rich table: markup escaped, control
    characters made visible."""
    return escape(limits.visible(str(value)))


def _columns(columns: dict[str, str]) -> str:
    return ", ".join(f"{field}={col}" for field, col in columns.items())


def fit(
    trace: Annotated[Path, typer.Argument(metavar="TRACE", help="Trace written by microgov import.")],
    fragment_out: Annotated[
        Path, typer.Option("--out", "-o", metavar="FRAGMENT", help="Scenario fragment to write (TOML).")
    ],
    scenario_file: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="FILE",
            help="Scenario whose categories and \\[trace] table the fit uses (default: the built-in ones).",
        ),
    ] = None,
    residents: Annotated[
        int | None,
        typer.Option(
            "--residents",
            help="Population the trace covers: sets requests_per_resident_year.",
            parser=whole("residents", ge=1, le=10**10),
            show_default=False,
        ),
    ] = None,
    channels: Annotated[
        list[str] | None,
        typer.Option("--channel", help="Fit only requests from this channel; repeatable.", show_default=False),
    ] = None,
    min_cases: Annotated[
        int,
        typer.Option(
            "--min-cases",
            help="Fewest requests for a group's own handling-time fit.",
            parser=whole("requests", ge=2, le=10**9),
        ),
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """Fit a scenario fragment to a trace: arrival profiles by hour and weekday, the category mix, and
    handling times (lognormal and gamma by censored maximum likelihood, the lower AIC kept), with
    on-time shares against the due dates. A scenario uses it with [bold]extends[/].

    [dim]Examples:
      microgov fit out/boston.parquet --out out/boston-fit.toml --residents 650000
      microgov fit out/boston.parquet --out out/residents.toml --channel "Constituent Call" \\
        --channel "Citizens Connect App" --channel "Self Service" --json[/]
    """
    from sim.realdata import fit_trace, read_trace, write_fragment
    from sim.scenario import load_scenario, scenario_from_dict

    output_path(fragment_out, "--out", [trace, *([scenario_file] if scenario_file else [])])
    scenario = load_scenario(scenario_file) if scenario_file else scenario_from_dict({})
    with progress_bar(f"fitting {trace.name}") as update:
        result = fit_trace(
            read_trace(trace),
            scenario,
            residents=residents,
            channels=channels or (),
            min_cases=min_cases,
            out_name=fragment_out.name,
            progress=update,
        )
        write_fragment(result.fragment, fragment_out)
    data = result.data
    if as_json:
        print_json({**data, "fragment": str(fragment_out)})
        return
    _print_fit(data, fragment_out)


def _trusted(fit: dict[str, Any] | None) -> dict[str, Any] | None:
    """A fit whose estimate stopped at the edge of its range describes nothing; show none."""
    return fit if fit and not fit[fit["chosen"]]["at_bound"] else None


def _h(x: float | None) -> str:
    return "–" if x is None else (f"{x:,.1f}" if x < 1000 else f"{x:,.0f}")


def _print_fit(data: dict[str, Any], fragment: Path) -> None:
    arr = data["arrivals"]
    head = table(
        f"{_t(Path(data['trace'] or 'trace').name)}: {data['cases']:,} requests, {data['period']['start']} to "
        f"{data['period']['end']}",
        "per day",
        "per year",
        "hour x weekday R²",
        "on time",
        right_from=0,
    )
    on = data["on_time"]
    r2 = arr.get("separable_r2")
    head.add_row(
        f"{arr['per_day']:,.1f}",
        f"{arr['per_year']:,.0f}",
        "–" if r2 is None else f"{r2:.1%}",
        "–" if on["share"] is None else f"{on['share']:.1%} of {on['judged']:,}",
    )
    out.print(head)
    cats = table(
        "Scenario categories: created→closed (fitted median, Kaplan-Meier median; hours)",
        "category",
        "cases",
        "share",
        "fit",
        "median",
        "KM",
        "on time",
        wrap_first=True,
    )
    for cid, e in data["scenario_categories"].items():
        if "share" not in e:
            continue
        fit = _trusted(e.get("handling"))
        best = fit[fit["chosen"]] if fit else None
        on = e.get("on_time") or {}
        cats.add_row(
            cid,
            f"{e['cases']:,}",
            f"{e['share']:.1%}",
            fit["chosen"] if fit else "–",
            _h(best["median_h"]) if best else "–",
            _h(fit["kaplan_meier_median_h"]) if fit else "–",
            "–" if on.get("share") is None else f"{on['share']:.0%}",
        )
    out.print(cats)
    depts = table("Real departments", "department", "cases", "fit", "median", "KM", "on time", wrap_first=True)
    for name, e in data["departments"].items():
        fit = _trusted(e.get("handling"))
        best = fit[fit["chosen"]] if fit else None
        share = e["on_time"]["share"]
        depts.add_row(
            _t(name),
            f"{e['cases']:,}",
            fit["chosen"] if fit else "–",
            _h(best["median_h"]) if best else "–",
            _h(fit["kaplan_meier_median_h"]) if fit else "–",
            "–" if share is None else f"{share:.0%}",
        )
    out.print(depts)
    out.print(f'[dim]fragment: {_t(fragment)} (use it with extends = "{_t(fragment.name)}")[/]')


def export(
    events: Annotated[Path, typer.Argument(metavar="EVENTS", help="Event log written by microgov run --events.")],
    target: Annotated[str, typer.Option("--to", metavar="FORMAT", help="open311, xes or csv.")],
    dest: Annotated[Path, typer.Argument(metavar="OUT", help="File to write.")],
    as_json: JsonOption = False,
) -> None:
    """Write a run's event log as Open311 GeoReport v2 service requests (JSON), an IEEE XES log (one
    trace per request) or a CSV (case, activity, timestamp, resource and the log's other columns).

    [dim]Examples:
      microgov export out/week.parquet --to open311 out/week.json
      microgov export out/week.parquet --to xes out/week.xes
      microgov export out/week.parquet --to csv out/week.csv[/]
    """
    from sim.realdata import export_events

    output_path(dest, "OUT", [events])
    with progress_bar(f"exporting {events.name}") as update:
        summary = export_events(events, target, dest, progress=update)
    if as_json:
        print_json(summary)
        return
    extra = f" ({summary['closed']:,} closed, {summary['open']:,} open)" if "closed" in summary else ""
    out.print(
        f"[green]ok[/] {_t(dest)}: {summary['requests']:,} requests{extra}, {summary['events']:,} events as {target}"
    )


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(fit)
    app.command()(export)
