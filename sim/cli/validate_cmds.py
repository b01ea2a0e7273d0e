"""``microgov validate CASE`` and ``microgov validate all``: the engine of ``run`` against queueing theory
(and Ciw), case by case or as one table."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Annotated, Any

import typer

from sim.cli.common import JsonOption, out, print_json, table
from sim.cli.progress import progress_bar

app = typer.Typer(
    help="Check the engine of `run` against queueing theory (and Ciw): nine cases, or all of them at once.",
    no_args_is_help=True,
)

RepsOption = Annotated[int, typer.Option("--reps", help="Independent replications.")]
CustomersOption = Annotated[int, typer.Option("--customers", help="Requests per replication.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Master seed; replication i uses stream i of it.")]
WarmupOption = Annotated[
    float, typer.Option("--warmup", help="Share of each replication's requests simulated but not measured.")
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="Worker processes (default: one per core).", show_default=False)
]
ArrivalOption = Annotated[float, typer.Option("--arrival-rate", help="Requests per hour.")]
ServiceOption = Annotated[float, typer.Option("--service-rate", help="Requests per hour one person handles.")]
ServersOption = Annotated[int, typer.Option("--servers", help="People on duty, around the clock.")]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at-h",
        help="Waits t (hours, comma-separated) to judge P(wait > t) at (default: ½, 1 and 2 × 1/(cμ − λ)).",
        show_default=False,
    ),
]
PeerOption = Annotated[str | None, typer.Option("--peer", help="Also run the model in another simulator: ciw.")]


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar that starts at its first update: the library forks its worker processes before
    that, and a process should not fork while a progress bar's thread runs."""
    with ExitStack() as stack:
        bar: list[Callable[..., None]] = []

        def update(done: int, total: int) -> None:
            if not bar:
                bar.append(stack.enter_context(progress_bar(description, total=total, count=True)))
            bar[0](done, total)

        yield update


def _numbers(text: str, option: str) -> list[float]:
    from sim.analysis.validation import ValidationError

    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValidationError(f"{option}: expected numbers separated by commas, found '{text}'") from None
    if not values:
        raise ValidationError(f"{option}: expected numbers separated by commas, found '{text}'")
    return values


def _run(
    case: str, reps: int, customers: int, seed: int, warmup: float, workers: int | None, as_json: bool, **params: Any
) -> None:
    from sim.analysis.validation import CASES, Settings, validate

    settings = Settings(reps=reps, customers=customers, seed=seed, warmup=warmup)
    with _progress(f"validate {case}") as update:
        result = validate(case, settings, workers=workers, progress=update, **params)
    assert case in CASES
    if as_json:
        print_json(result.to_json())
    else:
        print_case(result)
    if not result.agrees:
        raise typer.Exit(1)


@app.command("mm1")
def mm1(
    arrival_rate: ArrivalOption = 8.0,
    service_rate: ServiceOption = 10.0,
    at_h: AtOption = None,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M/M/1: the mean wait in queue ρ/(μ − λ), P(wait > 0) = ρ, P(wait > t) = ρ·e^{−(μ−λ)t} at three t,
    and utilisation, against the engine run as one post with one person on duty.

    [dim]Example: microgov validate mm1 --arrival-rate 8 --service-rate 10 --at-h 0.25,0.5,1[/]
    """
    points = _numbers(at_h, "--at-h") if at_h is not None else None
    _run(
        "mm1",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        at_h=points,
    )


@app.command("mmc")
def mmc(
    arrival_rate: ArrivalOption = 9.35,
    service_rate: ServiceOption = 1.0,
    servers: ServersOption = 11,
    at_h: AtOption = None,
    peer: PeerOption = None,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M/M/c: Erlang C's mean wait and P(wait > 0), its tail C·e^{−(cμ−λ)t} at three t, and utilisation;
    with [bold]--peer ciw[/] the same model in Ciw beside it (the `validation` extra).

    [dim]Example: microgov validate mmc --arrival-rate 9.35 --service-rate 1 --servers 11 --peer ciw[/]
    """
    points = _numbers(at_h, "--at-h") if at_h is not None else None
    _run(
        "mmc",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        at_h=points,
        peer=peer,
    )


@app.command("mg1")
def mg1(
    arrival_rate: ArrivalOption = 7.0,
    family: Annotated[
        str, typer.Option("--family", help="Handling times: lognormal, gamma, fixed or exponential.")
    ] = "lognormal",
    mean_h: Annotated[float, typer.Option("--mean-h", help="Mean handling time, hours.")] = 0.1,
    cv: Annotated[
        float | None,
        typer.Option(
            "--cv",
            help="Coefficient of variation of handling (default 1.5; fixed 0, exponential 1).",
            show_default=False,
        ),
    ] = None,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M/G/1: the Pollaczek–Khinchine mean wait λ·E[S²]/(2(1 − ρ)), P(wait > 0) = ρ and utilisation, with
    handling times of the named family (one person on duty).

    [dim]Example: microgov validate mg1 --family gamma --mean-h 0.1 --cv 2 --arrival-rate 6[/]
    """
    _run(
        "mg1",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        family=family,
        mean_h=mean_h,
        cv=cv,
    )


@app.command("priority")
def priority(
    arrival_rates: Annotated[
        str, typer.Option("--arrival-rates", help="Requests per hour: special, urgent, ordinary (comma-separated).")
    ] = "1,2,5",
    service_rate: ServiceOption = 1.0,
    servers: ServersOption = 10,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Special, urgent and ordinary requests at one post, served in priority order without interrupting
    work in hand: Cobham's mean wait per class, and Erlang C's P(wait > 0) and utilisation for all.

    [dim]Example: microgov validate priority --arrival-rates 1,2,5 --service-rate 1 --servers 10[/]
    """
    rates = _numbers(arrival_rates, "--arrival-rates")
    _run(
        "priority",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rates=rates,
        service_rate=service_rate,
        servers=servers,
    )


@app.command("erlang-a")
def erlang_a(
    arrival_rate: ArrivalOption = 11.0,
    service_rate: ServiceOption = 1.0,
    servers: ServersOption = 10,
    patience_rate: Annotated[
        float,
        typer.Option("--patience-rate", help="θ: residents give up after an exponential patience of mean 1/θ hours."),
    ] = 1.0,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M/M/c+M (Erlang A, patience.while = "waiting"): P(give up), the mean wait of those served, P(wait > 0)
    and utilisation from the birth–death chain. Stable at any load.

    [dim]Example: microgov validate erlang-a --arrival-rate 11 --servers 10 --patience-rate 1[/]
    """
    _run(
        "erlang-a",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        patience_rate=patience_rate,
    )


@app.command("deadline")
def deadline(
    arrival_rate: ArrivalOption = 9.5,
    service_rate: ServiceOption = 1.0,
    servers: ServersOption = 10,
    deadline_h: Annotated[
        float, typer.Option("--deadline-h", help="Response deadline: a request still waiting then is escalated.")
    ] = 0.5,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M/M/c+D (Barrer) at a grid with automatic escalation: the share escalated at the response deadline,
    the mean wait of those picked up, P(wait > 0) and utilisation.

    [dim]Example: microgov validate deadline --arrival-rate 9.5 --servers 10 --deadline-h 0.5[/]
    """
    _run(
        "deadline",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        deadline_h=deadline_h,
    )


@app.command("network")
def network(
    arrival_rate: Annotated[
        float, typer.Option("--arrival-rate", help="Requests per hour in the whole street.")
    ] = 60.0,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """One street's hierarchy (units, buildings, grids, communities, the street office) with exponential
    handling, constant staff and no deadlines: each level settles half of what reaches it and sends the
    rest up. Traffic equations, then Erlang C per post: mean wait and utilisation per post kind.

    [dim]Example: microgov validate network --arrival-rate 60[/]
    """
    _run("network", reps, customers, seed, warmup, workers, as_json, arrival_rate=arrival_rate)


@app.command("arrivals")
def arrivals(
    arrival_rate: Annotated[float, typer.Option("--arrival-rate", help="Mean requests per hour over the week.")] = 20.0,
    service_rate: ServiceOption = 1.0,
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """The arrival generator with the default hour and weekday profiles, from an empty start: hourly counts
    against their Poisson means (χ²), and the number in an M(t)/M/∞ system against Eick–Massey–Whitt.
    The run lasts the whole days that bring about --customers requests.

    [dim]Example: microgov validate arrivals --arrival-rate 20 --service-rate 1[/]
    """
    _run("arrivals", reps, customers, seed, 0.0, workers, as_json, arrival_rate=arrival_rate, service_rate=service_rate)


@app.command("shifts")
def shifts(
    arrival_rate: ArrivalOption = 3.5,
    service_rate: ServiceOption = 1.0,
    servers: Annotated[
        str, typer.Option("--servers", help="People on duty in each of the day's equal shifts from midnight.")
    ] = "2,6",
    peer: Annotated[str | None, typer.Option("--peer", help="The simulator to set beside the engine: ciw.")] = "ciw",
    reps: RepsOption = 10,
    customers: CustomersOption = 200_000,
    seed: SeedOption = 0,
    warmup: WarmupOption = 0.1,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """M(t)/M/c(t) with the shift rule (people whose shift ends finish what they hold; the next shift takes
    waiting work at once): the mean wait, P(wait > 0) and utilisation against the Markov chain of that
    rule, and against Ciw's non-preemptive schedule.

    [dim]Example: microgov validate shifts --peer ciw --arrival-rate 3.5 --servers 2,6[/]
    """
    counts = _numbers(servers, "--servers")
    from sim.analysis.validation import ValidationError

    if any(c != int(c) for c in counts):
        raise ValidationError(f"--servers: expected whole numbers of people, found '{servers}'")
    _run(
        "shifts",
        reps,
        customers,
        seed,
        warmup,
        workers,
        as_json,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=[int(c) for c in counts],
        peer=peer,
    )


@app.command("all")
def all_cases(
    quick: Annotated[
        bool, typer.Option("--quick", help="10,000 requests per replication instead of 200,000 (the test suite's run).")
    ] = False,
    seed: SeedOption = 0,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every case at its defaults (10 replications of 200,000 requests each, or 10,000 with --quick),
    judged as one table: its intervals are simultaneous over every test in it. Exit status 1 if any case
    disagrees.

    [dim]Example: microgov validate all --quick[/]
    """
    from sim.analysis.validation import validate_all

    with _progress("validate all") as update:
        results = validate_all(quick, workers=workers, seed=seed, progress=update)
    if as_json:
        print_json([r.to_json() for r in results])
    else:
        print_all(results)
    if not all(r.agrees for r in results):
        raise typer.Exit(1)


# --- tables ------------------------------------------------------------------------------------------


def fmt(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}"


def _interval(ci: tuple[float, float] | list[float]) -> str:
    return f"{fmt(ci[0])} – {fmt(ci[1])}"


def _verdict(agrees: bool, rule: str) -> str:
    mark = "[green]✓[/]" if agrees else "[red]✗[/]"
    return mark if rule == "interval" else f"{mark} ±{REL_TOL_TEXT}"


REL_TOL_TEXT = "2%"


def _rows(m: Any, name: str) -> list[list[str]]:
    """A measure's row against theory and, with a peer, a row against the peer: the peer's mean in the
    expected-value column and the interval of engine − peer, which agrees when it contains 0."""
    rows = [[name, fmt(m.theory), fmt(m.sim), _interval(m.ci), _verdict(m.theory_agrees, m.rule)]]
    if m.peer is not None:
        peer = m.peer
        rows.append(
            [
                f"  vs {peer.name}",
                fmt(peer.sim),
                fmt(m.sim),
                "Δ " + _interval(peer.difference_ci),
                _verdict(peer.agrees, peer.rule),
            ]
        )
    return rows


def _keep_numbers_whole(t: Any, first: int) -> None:
    """On a narrow terminal the labels wrap; the figures (columns from ``first`` on) are never cut."""
    from rich.text import Text

    def width(column: Any) -> int:
        cells = [column.header, *column.cells]
        return max(c.cell_len if isinstance(c, Text) else Text.from_markup(str(c)).cell_len for c in cells)

    columns = t.columns
    for column in columns[: first - 1]:  # the case's name
        column.width = width(column)
    for column in columns[first:]:
        column.width = width(column)
    measure = columns[first - 1]
    measure.no_wrap = False
    measure.overflow = "fold"
    # kept whole where the terminal has room for it, beside the padding, dividers and edges
    room = out.width - sum(c.width or 0 for c in columns if c is not measure) - 3 * len(columns) + 1
    measure.width = max(8, min(room, width(measure)))


def print_case(result: Any) -> None:
    p = result.params
    head = f"{result.case}: {result.title}; {p['customers']:,} requests × {p['reps']} replications, seed {p['seed']}"
    if p["warmup"]:
        head += f", {p['warmup']:.0%} warm-up"
    t = table(
        head, "measure", result.theory_name, "engine", f"interval ({result.level:.2%})", "agrees", wrap_first=True
    )
    for m in result.measures:
        for row in _rows(m, m.label):
            t.add_row(*row)
    _keep_numbers_whole(t, first=1)
    out.print(t)
    _footer([result])
    for note in result.notes:
        out.print(f"[dim]{note}[/]")
    bad = [m.name for m in result.measures if not m.agrees]
    out.print("[green]agrees on every measure ✓[/]" if not bad else f"[red]disagrees on {', '.join(bad)} ✗[/]")


def _footer(results: list[Any]) -> None:
    first = results[0]
    peers = sorted({r.peer_name for r in results if r.peer_name})
    text = (
        f"Intervals are 95% simultaneous over the table's {first.tests} tests (Bonferroni: each at {first.level:.2%}); "
        "a measure agrees when the expected value lies inside its interval"
        + (
            f"; a 'vs {peers[0]}' row gives {peers[0]}'s mean and the Welch interval of the engine's difference "
            "from it (Δ), which agrees when it contains 0"
            if peers
            else ""
        )
        + f". ±{REL_TOL_TEXT}: a share read off the waiting-time histogram (bins 2% apart) whose interval is "
        f"narrower than its bin, judged within {REL_TOL_TEXT} of the expected value instead."
    )
    out.print(f"[dim]{text}[/]")


def print_all(results: list[Any]) -> None:
    p = results[0].params
    t = table(
        f"validate all: {p['customers']:,} requests × {p['reps']} replications per case, seed {p['seed']}",
        "case",
        "measure",
        "expected",
        "engine",
        f"interval ({results[0].level:.2%})",
        "agrees",
        right_from=2,
    )
    for r in results:
        first = True
        for m in r.measures:
            for row in _rows(m, m.name):
                t.add_row(r.case if first else "", *row)
                first = False
        t.add_section()
    _keep_numbers_whole(t, first=2)
    out.print(t)
    _footer(results)
    bad = [r.case for r in results if not r.agrees]
    seconds = sum(r.seconds for r in results)
    out.print(f"[dim]{seconds:,.0f} s of simulation in all (summed over worker processes)[/]")
    out.print(f"[green]all {len(results)} cases agree ✓[/]" if not bad else f"[red]disagree: {', '.join(bad)} ✗[/]")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="validate")
