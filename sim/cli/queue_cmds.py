"""``microgov queue`` and ``microgov intake``: the operators' queue store from a shell.

``queue init`` loads a scenario's district into a store, ``queue list`` and ``queue show`` read a post's
queue and a request's history, one command per action (``claim``, ``settle``, ``pass``, ...) acts as an
operator at a post, and ``intake`` adds requests from a file. Every change goes through ``sim.store``,
which checks the post's scope and logs the action, refused or not.
"""

from __future__ import annotations

import datetime as dt
import inspect
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement

from sim.cli.common import JsonOption, ScenarioArg, SetOption, out, print_json, table
from sim.errors import MicrogovError

if TYPE_CHECKING:
    from sim.store import Action, Request, Store

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="The queue store (default: queue.db in microgov's data folder).",
        dir_okay=False,
        show_default=False,
    ),
]
AsOption = Annotated[
    str, typer.Option("--as", metavar="POST", help="The post you work at: a node id (S1, S1/C2, water, district).")
]
IdArg = Annotated[int, typer.Argument(metavar="ID", help="The request's number, as queue list shows it.", min=1)]
OperatorOption = Annotated[
    str | None,
    typer.Option("--operator", metavar="NAME", help="Who acts (default: your login name).", show_default=False),
]
NoteOption = Annotated[str, typer.Option("--note", metavar="TEXT", help="A note for the action log.")]
SettleNote = Annotated[str, typer.Option("--note", metavar="TEXT", help="How it was settled (needed).")]
NoteText = Annotated[str, typer.Option("--note", metavar="TEXT", help="The note (needed).")]
ToDepartment = Annotated[
    str | None, typer.Option("--to", metavar="DEPARTMENT", help="The department to pass it to.", show_default=False)
]
ToDepartments = Annotated[
    list[str] | None,
    typer.Option("--to", metavar="DEPARTMENT", help="A department to summon; repeatable.", show_default=False),
]
ToAbove = Annotated[
    str | None,
    typer.Option(
        "--to", metavar="POST", help="A post further up (default: the one directly above).", show_default=False
    ),
]
ToBelow = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="POST",
        help="A post directly below (default: the one towards where it was raised).",
        show_default=False,
    ),
]

queue_app = typer.Typer(
    help="The operators' queue store: load a district, list a post's queue, act on requests.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _open(db: Path | None) -> Store:
    """An existing store (a clear error if there is none at the path)."""
    from sim.store import Store, default_path

    return Store(db if db is not None else default_path(), create=False)


# --- init ---------------------------------------------------------------------------------------------


@queue_app.command("init")
def init(file: ScenarioArg, db: DbOption = None, overrides: SetOption = None, as_json: JsonOption = False) -> None:
    """Load a scenario's district, categories and deadlines into a queue store (made if need be).

    Every node becomes a post (the district, its departments, streets and towns down to units and
    villager representatives); the scenario's request categories and deadlines are what intake checks
    records against and fills defaults from. Loading again replaces the posts, categories and deadlines;
    requests and the action log stay.

    [dim]Examples:
      microgov queue init scenarios/haigang-2020.toml
      microgov queue init scenarios/haigang-2019.toml --db out/training.db --json[/]
    """
    from sim.scenario import load_scenario
    from sim.store import Store, default_path, load_district
    from sim.structure import build_district

    scenario = load_scenario(file, overrides or [])
    district = build_district(scenario)
    path = db if db is not None else default_path()
    with Store(path) as store:
        loaded = load_district(store, scenario, district)
        categories, deadlines = store.categories(), store.deadlines()
        requests = store.count()
    levels = Counter(str(a["level"]) for _, a in district.graph.nodes(data=True))
    data = {
        "db": str(path),
        "scenario": scenario.name,
        "posts": loaded,
        "levels": dict(levels),
        "categories": categories,
        "deadlines": {p: {"response_h": r, "resolution_h": s} for p, (r, s) in deadlines.items()},
        "requests": requests,
    }
    if as_json:
        print_json(data)
        return
    by_level = table(f"{escape(scenario.name)}: posts", "level", "posts")
    for level, n in levels.items():
        by_level.add_row(level, f"{n:,}")
    out.print(by_level)
    cats = table("Categories", "id", "name", "", "priority", "department", right_from=5)
    for cid, c in categories.items():
        cats.add_row(cid, escape(c["name"]), f"[dim]{escape(c['name_en'])}[/]", c["priority"], c["department"])
    out.print(cats)
    dues = table("Deadlines (hours from arrival)", "priority", "response", "resolution")
    for p, (r, s) in deadlines.items():
        dues.add_row(p, f"{r:g}", f"{s:g}")
    out.print(dues)
    out.print(
        f"[green]ok[/] {escape(str(path))}: {loaded:,} posts, {len(categories)} categories and the deadlines of "
        f"{escape(scenario.name)} loaded; {requests:,} requests in the store"
    )


# --- reading the queue --------------------------------------------------------------------------------


@queue_app.command("list")
def list_(
    post: AsOption,
    db: DbOption = None,
    every: Annotated[bool, typer.Option("--all", help="Every request the post sees, away and closed too.")] = False,
    statuses: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="open, claimed, away or closed; repeatable (default: open and claimed).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List a post's queue, most pressing first.

    The requests in the post's jurisdiction, raised in it or summoned to it, by priority, then the
    deadline that matters now (response until someone answers, then resolution). "left" is the time to
    that deadline on the store's clock (a training shift's, else the wall clock); negative is overdue.

    [dim]Examples:
      microgov queue list --as S1
      microgov queue list --as S1/C2 --status closed --json
      microgov queue list --as water --all --db out/training.db[/]
    """
    from sim.store import STATUSES

    if every and statuses:
        raise MicrogovError("--all and --status: give one or the other")
    wanted = STATUSES if every else tuple(statuses or ("open", "claimed"))
    with _open(db) as store:
        store.check_post(post)
        requests = store.queue(post, statuses=wanted, raised=every)
        now = store.clock()
    if as_json:
        print_json(
            {
                "post": post,
                "clock": now.isoformat(),
                "statuses": list(wanted),
                "requests": [_request_json(r, now) for r in requests],
            }
        )
        return
    title = f"{escape(post)}: {len(requests):,} requests ({', '.join(wanted)}) at {now:%Y-%m-%d %H:%M}"
    if not requests:
        out.print(f"{title}; none")
        return
    t = table(title, "id", "priority", "category", "post", "status", "claimed by", "due", "left", "text")
    for col in t.columns:
        # on a narrow screen the names and the text wrap; numbers, times and states never do
        col.justify = "right" if col.header in ("id", "left") else "left"
        col.no_wrap = col.header in ("id", "priority", "status", "due", "left")
        col.overflow = "fold"
    for r in requests:
        left = _hours_left(r, now)
        t.add_row(
            str(r.id),
            r.priority,
            r.category,
            escape(r.post),
            r.status,
            escape(r.claimed_by or ""),
            _when(r.due()),
            f"[red]{_span(left)}[/]" if left < 0 else _span(left),
            escape(r.text),
        )
    if out.is_terminal:
        out.print(t)
    else:
        # piped or captured: each request keeps to one line, however long, so it can be searched
        wide = Measurement.get(out, out.options.update(max_width=10_000), t).maximum
        Console(highlight=False, width=max(wide, out.width)).print(t)


@queue_app.command("show")
def show(request_id: IdArg, post: AsOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show a request and its whole history from the action log.

    Who did what, at which post and when, what it changed, and the actions that were refused and why.

    [dim]Examples:
      microgov queue show 12 --as S1
      microgov queue show 12 --as S1 --json[/]
    """
    from sim.store import in_scope

    with _open(db) as store:
        store.check_post(post)
        request = store.get(request_id)
        if request is None:
            raise MicrogovError(f"no request #{request_id}")
        if not (in_scope(post, request.post) or in_scope(post, request.origin) or post in request.summoned()):
            raise MicrogovError(f"request #{request_id} is at {request.post}, outside {post}'s jurisdiction")
        history = store.history(request_id)
        now = store.clock()
    if as_json:
        print_json({"request": _request_json(request, now), "history": [a.as_dict() for a in history]})
        return
    r = request
    claimed = f" by {escape(r.claimed_by)}" if r.claimed_by else ""
    out.print(
        f"[bold]#{r.id}[/] {r.category} ({r.priority}) at {escape(r.post)}: {r.status}{claimed}"
        + (f", {escape(r.outcome)}" if r.outcome else "")
    )
    out.print(
        f"  from {escape(r.source)} #{escape(r.source_id)}, created {_when(r.created_at)}, raised at {escape(r.origin)}"
    )
    answered = f"answered {_when(r.responded_at)}" if r.responded_at else f"{_span(_hours_left(r, now))} left"
    out.print(f"  response due {_when(r.response_due)} ({answered}), resolution due {_when(r.resolution_due)}")
    if r.summoned():
        out.print(f"  with {', '.join(r.summoned())}")
    if r.text:
        out.print(f"  {escape(r.text)}")
    out.print("[bold]History[/]")
    for a in history:
        to = f" → {escape(a.target)}" if a.target else ""
        said = f' "{escape(a.note)}"' if a.note and a.action != "arrived" else ""
        result = f"[red]refused[/]: {escape(a.reason)}" if not a.ok else escape(_changes(a))
        who = f"{escape(a.operator)} at {escape(a.post)}"
        out.print(f"  {a.seq:>5}  {a.at.replace('T', ' ')}  {who}: {a.action}{to}{said}; {result}")


def _request_json(r: Request, now: dt.datetime) -> dict[str, Any]:
    return {**r.as_dict(), "due": r.due(), "left_h": round(_hours_left(r, now), 3)}


def _hours_left(r: Request, now: dt.datetime) -> float:
    return (dt.datetime.fromisoformat(r.due()) - now).total_seconds() / 3600


def _span(hours: float) -> str:
    """Hours as a signed span: +3h20m, -45m, +2d03h."""
    sign = "-" if hours < 0 else "+"
    minutes = round(abs(hours) * 60)
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return f"{sign}{days}d{rest // 60:02d}h"
    return f"{sign}{rest // 60}h{rest % 60:02d}m" if rest >= 60 else f"{sign}{rest}m"


def _when(moment: str | None) -> str:
    return "–" if moment is None else moment[:16].replace("T", " ")


def _changes(a: Action) -> str:
    before, after = a.before or {}, a.after or {}
    if a.before is None:
        return "added"
    moved = [f"{k} {before.get(k) or '–'}→{after.get(k) or '–'}" for k in after if before.get(k) != after.get(k)]
    return ", ".join(moved) or "no change"


# --- acting -------------------------------------------------------------------------------------------


def _act(
    action: str,
    request_id: int,
    post: str,
    operator: str | None,
    note: str,
    db: Path | None,
    as_json: bool,
    to: str | Sequence[str] | None = None,
) -> None:
    """Carry out one action through the store; a refusal is logged there and ends here as one line."""
    who = _login() if operator is None else operator.strip()
    if not who:
        raise MicrogovError("--operator: blank; an operator needs a name")
    if action in ("settle", "note") and not note.strip():
        what = "how it was settled" if action == "settle" else "the note"
        raise MicrogovError(f"{action} needs --note TEXT ({what})")
    with _open(db) as store:
        request, logged = store.act(who, post, action, request_id, note=note, to=to)
        now = store.clock()
    if as_json:
        print_json(_request_json(request, now))
        return
    out.print(f"[green]ok[/] {escape(_done(action, request, logged, who))}")


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise MicrogovError("cannot tell your login name; give --operator NAME") from None


def _done(action: str, r: Request, a: Action, who: str) -> str:
    from sim.store import UNDO_WINDOW_S

    n = f"#{r.id}"
    return {
        "claim": f"{n} claimed by {who}",
        "release": f"{n} released by {who}; open again",
        "settle": f"{n} settled by {who} (microgov queue undo {r.id} takes it back within {UNDO_WINDOW_S:g} s)",
        "pass": f"{n} passed to {a.target} by {who}",
        "whistle": f"{n}: {who} blew the whistle at {a.post}, summoning {', '.join(r.summoned())}",
        "escalate": f"{n} escalated to {a.target} by {who}",
        "return": f"{n} returned to {a.target} by {who}",
        "note": f"{n}: note added by {who}",
        "undo": f"{n}: {who}'s settle undone; {r.status} again",
    }[action]


#: One command per action: what it does, an example, and its --to and --note options.
ACTION_COMMANDS: tuple[tuple[str, str, str, Any, Any], ...] = (
    (
        "claim",
        "Claim an open request: it is yours to work on until you settle, pass, escalate or release it.",
        "microgov queue claim 12 --as S1/C2",
        None,
        NoteOption,
    ),
    (
        "release",
        "Release a request you claimed: it is open again for anyone at the post.",
        "microgov queue release 12 --as S1/C2",
        None,
        NoteOption,
    ),
    (
        "settle",
        "Settle a request (close it), saying how; you can undo it for a few seconds.",
        'microgov queue settle 12 --as S1/C2 --note "lamp replaced"',
        None,
        SettleNote,
    ),
    (
        "pass",
        "Pass a request to the department responsible for it.",
        'microgov queue pass 12 --as S1 --to water --note "burst main"',
        ToDepartment,
        NoteOption,
    ),
    (
        "whistle",
        "Blow the whistle (吹哨): a street or town office summons one or more departments to a request.",
        "microgov queue whistle 12 --as S1 --to water --to transport",
        ToDepartments,
        NoteOption,
    ),
    (
        "escalate",
        "Escalate a request to the post above (or one further up).",
        'microgov queue escalate 12 --as S1/C2/G3 --to S1 --note "needs the street office"',
        ToAbove,
        NoteOption,
    ),
    (
        "return",
        "Return a request to a post directly below (by default towards where it was raised).",
        "microgov queue return 12 --as S1 --to S1/C2",
        ToBelow,
        NoteOption,
    ),
    (
        "note",
        "Add a note to a request's history without changing it.",
        'microgov queue note 12 --as S1 --note "resident called again"',
        None,
        NoteText,
    ),
    (
        "undo",
        "Undo your own settle of a request, within a few seconds of it.",
        "microgov queue undo 12 --as S1/C2",
        None,
        NoteOption,
    ),
)


def _action_command(action: str, summary: str, example: str, to: Any, note: Any) -> None:
    """Register ``microgov queue ACTION ID --as POST [--to ...] [--note ...] ...``."""

    def command(**given: Any) -> None:
        target = given.get("to")
        _act(action, given["request_id"], given["post"], given["operator"], given["note"], given["db"],
             given["as_json"], list(target) if isinstance(target, list) else target)  # fmt: skip

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("request_id", keyword, annotation=IdArg),
        inspect.Parameter("post", keyword, annotation=AsOption),
        *([inspect.Parameter("to", keyword, annotation=to, default=None)] if to is not None else []),
        inspect.Parameter("operator", keyword, annotation=OperatorOption, default=None),
        inspect.Parameter("note", keyword, annotation=note, default=""),
        inspect.Parameter("db", keyword, annotation=DbOption, default=None),
        inspect.Parameter("as_json", keyword, annotation=JsonOption, default=False),
    ]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = f"{summary}\n\n[dim]Example: {example}[/]"
    command.__name__ = action
    queue_app.command(action)(command)


for _spec in ACTION_COMMANDS:
    _action_command(*_spec)


# --- intake -------------------------------------------------------------------------------------------


def intake(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Requests: CSV, JSON Lines or Open311 GeoReport v2 JSON.")
    ],
    db: DbOption = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="csv, jsonl or open311 (default: from the extension: .csv, .jsonl or .ndjson, .json).",
            show_default=False,
        ),
    ] = None,
    post: Annotated[
        str | None,
        typer.Option("--post", metavar="NODE", help="The post for records that name none.", show_default=False),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="NAME",
            help="Where the records come from; with each record's id it tells duplicates (default: the file's "
            "name without its extension).",
            show_default=False,
        ),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Add the good records and report the bad ones, instead of none.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add requests from a file to a queue store, all in one transaction.

    Each record needs source_id, created (ISO 8601), category (an id of the loaded scenario, or its name)
    and post (a node id, or --post); it may give priority, origin, text, response_due, resolution_due and
    status (closed records are counted, not queued). Open311 reads service_request_id,
    requested_datetime, service_code or service_name, address (when it is a node id, as microgov export
    writes it), description, expected_datetime and status. The whole file is checked first: any bad
    record and nothing is added (each is listed as FILE:LINE: reason), unless [bold]--skip-bad[/]. A record
    whose source and id are in the store already (or earlier in the file) is skipped and counted.

    [dim]Examples:
      microgov intake calls.csv --db out/queue.db
      microgov intake hotline.jsonl --post S1 --source hotline --skip-bad
      microgov intake out/week.json --db out/training.db --json[/]
    """
    from sim.intake import BadRecords, listing
    from sim.intake import intake as add_requests

    with _open(db) as store:
        try:
            report = add_requests(store, file, fmt=fmt, post=post, source=source, skip_bad=skip_bad)
        except BadRecords as exc:
            if as_json:
                print_json(exc.as_dict())
            for line in exc.listing():
                sys.stderr.write(line + "\n")
            raise
        path = store.path
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    r = report.reading
    t = table(f"{escape(str(file))} ({r.format}, source {escape(r.source)})", "read", "added", "duplicates", "closed")
    t.add_column("bad", justify="right")
    t.add_row(*(f"{data[k]:,}" for k in ("read", "added", "duplicates", "closed", "bad")))
    out.print(t)
    if r.bad:
        out.print("[bold]Left out[/]")
        for line in listing(r):
            out.print(escape(line))
    if r.ignored_fields:
        out.print(f"[dim]fields ignored: {escape(', '.join(r.ignored_fields))}[/]")
    out.print(f"[dim]store: {escape(str(path))}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
    app.command("intake")(intake)
