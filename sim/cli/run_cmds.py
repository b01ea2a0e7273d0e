"""``microgov run``: one run of a scenario, with its KPI tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sim import limits
from sim.cli.common import (
    Days,
    JsonOption,
    ScenarioArg,
    Seed,
    SetOption,
    build_checked,
    number,
    out,
    output_path,
    print_json,
    table,
    warn,
)
from sim.cli.progress import progress_bar
from sim.metrics import too_short_lines
from sim.scenario import load_scenario

#: The largest arrival or service rate ``validate mmc`` takes (a million an hour).
RATE = 1e6


def run(
    file: ScenarioArg,
    days: Days = None,
    seed: Seed = None,
    overrides: SetOption = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="Write every request's event history to this Parquet file.", dir_okay=False),
    ] = None,
    warmup_days: Annotated[
        float | None,
        typer.Option(
            "--warmup-days",
            help="Leave requests of the first days out of the KPIs (default: the scenario's clock.warmup_days).",
            parser=number("a number of days", ge=0, le=limits.MAX_DAYS),
            show_default=False,
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(
            "--trace",
            help="Replay the real arrivals of a trace (microgov import) instead of generating them; the run "
            "starts on its first day (or trace.start).",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a scenario once and report the KPIs: the three rates, resolution times, where requests were
    settled, waiting and utilisation by post.

    [dim]Examples:
      microgov run scenarios/haigang-2020.toml --days 30
      microgov run scenarios/haigang-2019.toml --set staffing.per_office=30 --json
      microgov run scenarios/haigang-2020.toml --days 7 --events out/week.parquet
      microgov run scenarios/haigang-2020.toml --days 7 --trace out/boston.parquet --set trace.start=2015-03-02[/]
    """
    from sim.engine import simulate
    from sim.scenario.sense import check_run

    output_path(events, "--events", [file, *([trace] if trace else [])])
    scenario = load_scenario(file, overrides or [])
    check_run(scenario, days, warmup_days, generated=trace is None)
    district = build_checked(scenario, file)
    with progress_bar(f"simulating {scenario.name}") as update:
        result = simulate(
            scenario,
            seed=seed,
            days=days,
            warmup_days=warmup_days,
            events=events,
            progress=update,
            trace=trace,
            district=district,
        )
    kpis = result.kpis
    if as_json:
        print_json({**kpis, "backlog": result.metrics.backlog(), "events": str(events) if events else None})
        return
    print_kpis(kpis)
    if "trace" in kpis:
        t = kpis["trace"]
        out.print(
            f"[dim]trace: {t['arrivals']:,} real arrivals from {t['start']} ({t['after_end']:,} after the run's end, "
            f"{t['before_start']:,} before its start, {t['unmapped_left_out']:,} of unmapped types left out)[/]"
        )
    if events:
        out.print(f"[dim]event log: {events} ({result.event_rows:,} rows)[/]")


def _h(x: float | None) -> str:
    return "–" if x is None else (f"{x:,.2f}" if x < 100 else f"{x:,.0f}")


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _judged(x: float | None, n: int) -> str:
    """A rate with the size of the cohort it was judged on."""
    return f"{_rate(x)} of {n:,}"


def print_kpis(k: dict[str, Any]) -> None:
    head = table(
        f"{k['scenario']}: {k['days']:g} day{'' if k['days'] == 1 else 's'}, seed {k['seed']}",
        "requests",
        "resolved",
        "open",
        "abandoned",
        right_from=0,
    )
    head.add_row(f"{k['requests']:,}", f"{k['resolved']:,}", f"{k['open']:,}", f"{k['abandoned']:,}")
    out.print(head)

    rates = table("The three rates", "rate", "value", "judged on", right_from=1)
    for name in ("response", "resolution", "satisfaction"):
        rates.add_row(name, _rate(k[f"{name}_rate"]), f"{k[f'{name}_judged']:,}")
    out.print(rates)
    out.print(
        "[dim]Judged on the requests whose deadline fell inside the measured window; requests still inside "
        "their deadline at the end count neither way.[/]"
    )
    for line in too_short_lines(k["too_short"]):
        warn(line)

    prio = table(
        "By priority (times in hours)",
        "priority",
        "requests",
        "response",
        "of",
        "resolution",
        "of",
        "mean",
        "p90",
    )
    rows = [("all", k), *list(k["by_priority"].items())]
    for name, g in rows:
        t = g["resolution_time_h"]
        prio.add_row(
            name,
            f"{g['requests']:,}",
            _rate(g["response_rate"]),
            f"{g['response_judged']:,}",
            _rate(g["resolution_rate"]),
            f"{g['resolution_judged']:,}",
            _h(t["mean"]),
            _h(t["p90"]),
        )
    out.print(prio)

    levels = table("Where requests were resolved", "level", "resolved", "share", "mean h", "p90 h")
    for lv, g in k["by_level"].items():
        t = g["resolution_time_h"]
        levels.add_row(lv, f"{g['resolved']:,}", _rate(g["share"]), _h(t["mean"]), _h(t["p90"]))
    out.print(levels)

    waits = table("Waiting for pickup (hours)", "post", "picked up", "mean", "p90", "still waiting", "≤ 1 h", "of")
    for kind, w in k["waiting_h"].items():
        within = w["within_h"]["1"]
        waits.add_row(
            kind,
            f"{w['n']:,}",
            _h(w["mean"]),
            _h(w["p90"]),
            f"{w['still_waiting']:,}",
            _rate(within["share"]),
            f"{within['judged']:,}",
        )
    out.print(waits)
    out.print(
        '[dim]Mean and p90 are of the requests picked up; "≤ 1 h" is judged on those that reached the post at '
        "least an hour before the end, the ones still waiting included.[/]"
    )

    staff = table("Staff time", "post", "utilisation", "overtime h")
    for kind, utilisation in k["utilisation"]["by_post_type"].items():
        staff.add_row(kind, _rate(utilisation), _h(k["overtime_h"]["by_post_type"][kind]))
    for office, utilisation in k["utilisation"]["by_office"].items():
        staff.add_row(office, _rate(utilisation), _h(k["overtime_h"]["by_office"][office]))
    out.print(staff)
    out.print("[dim]Utilisation is of the people on duty; what people whose shift had ended finished is overtime.[/]")
    missed = k["deadlines_missed"]
    out.print(
        f"escalations to the district: {k['escalations_to_district']:,}   automatic escalations: "
        f"{k['auto_escalations']:,}   deadlines missed: {missed['response']:,} response, "
        f"{missed['resolution']:,} resolution"
    )


def register(app: typer.Typer) -> None:
    app.command()(run)
