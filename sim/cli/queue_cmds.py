"""``microgov queue`` and ``microgov intake``: the operators' queue store from a shell.

``queue init`` loads a scenario's district into a store, ``queue list`` and ``queue show`` read a post's
queue and a request's history, one command per action (``claim``, ``settle``, ``pass``, ...) acts at a
post, ``grant``, ``revoke`` and ``operators`` manage who may, ``verify`` and ``export-log`` are for
auditors, and ``intake`` adds requests from a file. Whoever acts is the account running the command
(never a flag or an environment variable); every read and change goes through ``sim.operations.store``, which
checks the account's grants, the post's scope and the action table, and logs the action, refused or not.
Text that came from outside (residents' words, notes, names) is printed with control characters made
visible; ``--json`` gives it as it was written.
"""

from __future__ import annotations

import datetime as dt
import inspect
import shlex
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
from sim.visible import visible

if TYPE_CHECKING:
    from sim.operations.store import Action, Operator, RequestRecord, Store

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
AccountArg = Annotated[str, typer.Argument(metavar="ACCOUNT", help="An account of this system (its login name).")]
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
    help="The operators' queue store: load a district, grant posts, list and act on a post's queue, verify the log.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _open(db: Path | None, *, check: bool = True) -> Store:
    """An existing store (a clear error if there is none at the path); its warnings go to stderr."""
    from sim.operations.store import Store, default_path

    store = Store(db if db is not None else default_path(), create=False, check=check)
    _warn(store)
    return store


def _warn(store: Store) -> None:
    for line in store.warnings:
        sys.stderr.write(f"warning: {visible(line)}\n")


def _me() -> str:
    """Who acts: the account running this command."""
    from sim.operations.identity import current_account

    return current_account()


def shown(text: object) -> str:
    """Outside text for the terminal: control characters made visible, Rich markup escaped."""
    return escape(visible(str(text)))


# --- init ---------------------------------------------------------------------------------------------


@queue_app.command("init")
def init(
    file: ScenarioArg,
    db: DbOption = None,
    overrides: SetOption = None,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate", help="Change the district of a store that holds requests (admins; logged; never drops one)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load a scenario's district, categories and deadlines into a queue store (made if need be).

    Every node becomes a post (the district, its departments, streets and towns down to units and
    villager representatives); the scenario's request categories and deadlines are what intake checks
    records against and fills defaults from. The account that first loads a store becomes its admin,
    with the whole district. Loading the same again changes nothing; loading another district (or other
    deadlines) into a store that holds requests needs [bold]--migrate[/]: only an admin may, it is logged
    with what changed, and it is refused if a post where a request is would go.

    [dim]Examples:
      microgov queue init scenarios/haigang-2020.toml
      microgov queue init scenarios/haigang-2019.toml --db out/training.db --json
      microgov queue init scenarios/haigang-2019.toml --db out/queue.db --migrate[/]
    """
    from sim.operations.store import Store, default_path, load_district
    from sim.scenario import load_scenario
    from sim.structure import build_district

    me = _me()
    scenario = load_scenario(file, overrides or [])
    district = build_district(scenario)
    path = db if db is not None else default_path()
    with Store(path) as store:
        _warn(store)
        loaded = load_district(store, scenario, district, account=me, migrate=migrate)
        categories, deadlines = store.categories(), store.deadlines()
        requests = store.count()
        admin = store.operator(me)
    levels = Counter(str(a["level"]) for _, a in district.graph.nodes(data=True))
    data = {
        "db": str(path),
        "scenario": scenario.name,
        "posts": loaded.posts,
        "levels": dict(levels),
        "categories": categories,
        "deadlines": {p: {"response_h": r, "resolution_h": s} for p, (r, s) in deadlines.items()},
        "requests": requests,
        "changed": list(loaded.changes),
        "account": me,
        "role": admin.role if admin else None,
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
        cats.add_row(
            shown(cid), shown(c["name"]), f"[dim]{shown(c['name_en'])}[/]", c["priority"], shown(c["department"])
        )
    out.print(cats)
    dues = table("Deadlines (hours from arrival)", "priority", "response", "resolution")
    for p, (r, s) in deadlines.items():
        dues.add_row(p, f"{r:g}", f"{s:g}")
    out.print(dues)
    if loaded.changes:
        what = f"migrated ({shown('; '.join(loaded.changes))})"
    else:
        what = "already held: nothing changed" if loaded.action == "migrate" else "loaded"
    out.print(
        f"[green]ok[/] {shown(path)}: {loaded.posts:,} posts, {len(categories)} categories and the deadlines of "
        f"{shown(scenario.name)} {what}; {requests:,} requests in the store"
        + (f"; {shown(me)} is its admin" if admin is not None and admin.role == "admin" else "")
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
    from sim.operations.store import STATUSES

    if every and statuses:
        raise MicrogovError("--all and --status: give one or the other")
    wanted = STATUSES if every else tuple(statuses or ("open", "claimed"))
    me = _me()
    with _open(db) as store:
        requests = store.read_queue(me, post, statuses=wanted, raised=every)
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
    title = f"{shown(post)}: {len(requests):,} requests ({', '.join(wanted)}) at {now:%Y-%m-%d %H:%M}"
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
            shown(r.category),
            shown(r.post),
            r.status,
            shown(r.claimed_by or ""),
            _when(r.due()),
            f"[red]{_span(left)}[/]" if left < 0 else _span(left),
            shown(r.text),
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
    me = _me()
    with _open(db) as store:
        request, history = store.read_request(me, post, request_id)
        now = store.clock()
    if as_json:
        print_json({"request": _request_json(request, now), "history": [a.as_dict() for a in history]})
        return
    r = request
    claimed = f" by {shown(r.claimed_by)}" if r.claimed_by else ""
    out.print(
        f"[bold]#{r.id}[/] {shown(r.category)} ({r.priority}) at {shown(r.post)}: {r.status}{claimed}"
        + (f", {shown(r.outcome)}" if r.outcome else "")
    )
    out.print(
        f"  from {shown(r.source)} #{shown(r.source_id)}, created {_when(r.created_at)}, raised at {shown(r.origin)}"
    )
    answered = f"answered {_when(r.responded_at)}" if r.responded_at else f"{_span(_hours_left(r, now))} left"
    out.print(f"  response due {_when(r.response_due)} ({answered}), resolution due {_when(r.resolution_due)}")
    if r.summons:
        parts = [f"{d} ({shown(who)})" if who else d for d, who in r.summons.items()]
        out.print(f"  summoned: {', '.join(parts)}")
    if r.text:
        out.print(f"  {shown(r.text)}")
    out.print("[bold]History[/]")
    for a in history:
        to = f" → {shown(a.target)}" if a.target else ""
        said = f' "{shown(a.note)}"' if a.note and a.action != "arrived" else ""
        result = f"[red]refused[/]: {shown(a.reason)}" if not a.ok else shown(_changes(a))
        who = f"{shown(a.operator)} at {shown(a.post)}"
        out.print(f"  {a.seq:>5}  {a.at.replace('T', ' ')}  {who}: {a.action}{to}{said}; {result}")


def _request_json(r: RequestRecord, now: dt.datetime) -> dict[str, Any]:
    return {**r.as_dict(), "due": r.due(), "left_h": round(_hours_left(r, now), 3)}


def _hours_left(r: RequestRecord, now: dt.datetime) -> float:
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
    moved = [f"{k} {_value(before.get(k))}→{_value(after.get(k))}" for k in after if before.get(k) != after.get(k)]
    return ", ".join(moved) or "no change"


def _value(value: Any) -> str:
    if isinstance(value, dict):  # a whistle's summons: department (who took its part up)
        return "+".join(f"{k}({v})" if v else k for k, v in value.items()) or "–"
    return str(value) if value else "–"


# --- acting -------------------------------------------------------------------------------------------


def _act(
    action: str,
    request_id: int,
    post: str,
    note: str,
    db: Path | None,
    as_json: bool,
    to: str | Sequence[str] | None = None,
) -> None:
    """Carry out one action through the store, as the account running the command; a refusal is logged
    there and ends here as one line. On a store with a training shift under way, the shift's simulation
    judges it too (rebuilt here, which takes a second or two)."""
    from sim.operations.store import ENGINE_INPUTS
    from sim.training.shift import referee

    me = _me()
    with _open(db) as store:
        shift, request = store.current_shift(), store.get(request_id)
        played = shift is not None and request is not None and request.source == shift.source
        judge = referee(store) if played and action in ENGINE_INPUTS else None
        request, logged = store.act(me, post, action, request_id, note=note, to=to, referee=judge)
        now = store.clock()
    if as_json:
        print_json(_request_json(request, now))
        return
    out.print(f"[green]ok[/] {shown(_done(action, request, logged, me, store.path))}")


def _done(action: str, r: RequestRecord, a: Action, who: str, db: Path) -> str:
    from sim.operations.store import UNDO_WINDOW_S
    from sim.policies.actions import queue_command

    undo = queue_command(f"undo {r.id} --as {shlex.quote(a.post)}", db)

    n = f"#{r.id}"
    before = a.before or {}
    if a.post in (before.get("summons") or {}) and a.post != before.get("post"):
        part = f"{n}: {a.post}'s part"
        summoned = {
            "claim": f"{part} taken up by {who}",
            "release": f"{part} let go by {who}",
            "settle": f"{part} reported done by {who}; the summons ends",
            "return": f"{part} handed back to {a.target} by {who}; the summons ends",
        }
        if action in summoned:
            return summoned[action]
    return {
        "claim": f"{n} claimed by {who}",
        "release": f"{n} released by {who}; open again",
        "settle": f"{n} settled by {who} ({undo} takes it back within {UNDO_WINDOW_S:g} s)",
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
        "Claim an open request: it is yours to work on until you settle, pass, escalate or release it. A "
        "summoned department claims its part.",
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
        "Settle a request (close it), saying how; you can undo it for a few seconds. A summoned department "
        "reports its part done, which ends its summons.",
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
        "Return a request to a post directly below (by default towards where it was raised); a department "
        "returns it to the office for study; a summoned department hands its part back.",
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
        _act(action, given["request_id"], given["post"], given["note"], given["db"], given["as_json"],
             list(target) if isinstance(target, list) else target)  # fmt: skip

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("request_id", keyword, annotation=IdArg),
        inspect.Parameter("post", keyword, annotation=AsOption),
        *([inspect.Parameter("to", keyword, annotation=to, default=None)] if to is not None else []),
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


# --- accounts and grants -------------------------------------------------------------------------------

PostOption = Annotated[
    str, typer.Option("--post", metavar="POST", help="The post granted (its jurisdiction with it): S1, S1/C2, water.")
]


@queue_app.command("whoami")
def whoami(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Say which account you act as here, with its role and the posts granted to it.

    Whoever runs microgov acts as their own account on this system; nothing (no option, no environment
    variable) changes that. An admin grants posts with microgov queue grant.

    [dim]Examples:
      microgov queue whoami
      microgov queue whoami --db out/queue.db --json[/]
    """
    from sim.policies.actions import queue_command

    me = _me()
    with _open(db) as store:
        op = store.operator(me)
        path = store.path
    if as_json:
        print_json({"account": me, "db": str(path), "operator": op.as_dict() if op else None})
        return
    if op is None:
        out.print(
            f"{shown(me)} holds no grant in {shown(path)}: an admin gives one with "
            f"{shown(queue_command(f'grant {me} --post POST', path))}"
        )
        return
    out.print(f"{shown(me)} ({shown(op.name)}): {op.role} at {shown(', '.join(op.posts))} (and below)")


@queue_app.command("grant")
def grant(
    account: AccountArg,
    post: PostOption,
    db: DbOption = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="operator, supervisor or admin (default: as now; new: operator).",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The name shown for the account (default: the name the system has for it, else the account).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Grant an account a post: it may then act there and everywhere below it (admins only).

    The account is a login name on this system. A supervisor may also let go of a claim someone else
    holds at the posts granted; an admin also grants and revokes, changes the store's district and
    exports the audit log. Every grant is in the action log.

    [dim]Examples:
      microgov queue grant ann --post S1/C2
      microgov queue grant wu --post water --name "Wu Lei"
      microgov queue grant li --post S1 --role supervisor[/]
    """
    me = _me()
    with _open(db) as store:
        op = store.grant(me, account, post, role=role, name=name)
    if as_json:
        print_json(op.as_dict())
        return
    out.print(f"[green]ok[/] {_operator_line(op)}")


@queue_app.command("revoke")
def revoke(
    account: AccountArg,
    db: DbOption = None,
    post: Annotated[
        str | None,
        typer.Option(
            "--post", metavar="POST", help="The post to take away (default: all of them).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Take a post (or every post) away from an account (admins only); the last admin stays.

    [dim]Examples:
      microgov queue revoke ann --post S1/C2
      microgov queue revoke ann[/]
    """
    me = _me()
    with _open(db) as store:
        op = store.revoke(me, account, post)
    if as_json:
        print_json({"account": account, "operator": op.as_dict() if op else None})
        return
    out.print(f"[green]ok[/] {_operator_line(op)}" if op else f"[green]ok[/] {shown(account)} holds no grant any more")


@queue_app.command("operators")
def operators(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the store's accounts: display name, role and the posts granted (admins only).

    [dim]Examples:
      microgov queue operators
      microgov queue operators --db out/queue.db --json[/]
    """
    me = _me()
    with _open(db) as store:
        ops = store.operators(me)
    if as_json:
        print_json({"operators": [op.as_dict() for op in ops]})
        return
    t = table(f"{len(ops)} accounts", "account", "name", "role", "posts", right_from=9)
    for op in ops:
        t.add_row(shown(op.account), shown(op.name), op.role, shown(", ".join(op.posts)))
    out.print(t)


def _operator_line(op: Operator) -> str:
    return f"{shown(op.account)} ({shown(op.name)}) is {op.role} at {shown(', '.join(op.posts))} (and below)"


# --- auditing -----------------------------------------------------------------------------------------


@queue_app.command("verify")
def verify(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check a store's action log and tables: exit 0 with what was checked, or 1 naming the first bad row.

    Every row of the log carries a SHA-256 hash over its contents and the row before it; verify checks
    every hash, that the triggers keeping the log append-only are in place, the schema version, that
    every request is as its log says (as it arrived, and after its last action), every account's role
    and grants likewise, and the district as last loaded. Keep the head hash it prints somewhere else:
    a log rewritten from the start would have another.

    [dim]Examples:
      microgov queue verify --db out/queue.db
      microgov queue verify --db out/queue.db --json[/]
    """
    from sim.operations.store import VerifyFailed

    with _open(db, check=False) as store:
        result = store.verify()
    if as_json:
        print_json(result.as_dict())
    if not result.ok:
        where, problem = result.problems[0]
        more = len(result.problems) - 1
        tail = f" ({more} more problem{'s' if more > 1 else ''}; --json lists them)" if more else ""
        raise VerifyFailed(f"{result.path} fails verification: {where}: {problem}{tail}")
    if not as_json:
        out.print(
            f"[green]ok[/] {shown(result.path)}: {result.actions:,} actions chained (head {result.head[:16]}), "
            f"triggers in place, schema version {result.schema_version}; {result.requests:,} requests, "
            f"{result.operators:,} accounts and {result.posts:,} posts as the log says"
        )


@queue_app.command("export-log")
def export_log(
    out_file: Annotated[Path, typer.Argument(metavar="OUT.csv", help="Where to write the log (CSV).", dir_okay=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the whole action log, refusals included, to a CSV file for auditors (admins only).

    One row per action: seq, at, at_wall, sim_h, operator, post, action, request_id, target, note, ok,
    reason, before, after (JSON) and hash; text as it was written. The file is owner-only (it holds
    residents' data).

    [dim]Examples:
      microgov queue export-log --db out/queue.db out/audit.csv[/]
    """
    me = _me()
    with _open(db, check=False) as store:
        problem = store.light_check()
        written = store.export_log(me, out_file)
    if problem:
        sys.stderr.write(f"warning: the log fails its check ({visible(problem)}); exported as it is\n")
    if as_json:
        print_json({"out": str(out_file), "actions": written, "check": problem or "ok"})
        return
    out.print(f"[green]ok[/] {shown(out_file)}: {written:,} actions")


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
    from sim.operations.intake import BadRecords, listing
    from sim.operations.intake import intake as add_requests

    me = _me()
    with _open(db) as store:
        try:
            report = add_requests(store, file, fmt=fmt, post=post, source=source, skip_bad=skip_bad, account=me)
        except BadRecords as exc:
            if as_json:
                print_json(exc.as_dict())
            for line in exc.listing():
                sys.stderr.write(visible(line) + "\n")
            raise
        path = store.path
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    r = report.reading
    t = table(f"{shown(file)} ({r.format}, source {shown(r.source)})", "read", "added", "duplicates", "closed")
    t.add_column("bad", justify="right")
    t.add_row(*(f"{data[k]:,}" for k in ("read", "added", "duplicates", "closed", "bad")))
    out.print(t)
    if r.bad:
        out.print("[bold]Left out[/]")
        for line in listing(r):
            out.print(shown(line))
    if r.ignored_fields:
        out.print(f"[dim]fields ignored: {shown(', '.join(r.ignored_fields))}[/]")
    out.print(f"[dim]store: {shown(path)}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
    app.command("intake")(intake)
