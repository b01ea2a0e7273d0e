"""The queue of one post, worked by one person: what Operate and Train modes share.

The open requests of the post, most urgent first (priority, then the deadline that matters now: the
response deadline until someone answers, then the resolution deadline) with a countdown coloured by
urgency; the request under the cursor in full with its whole history from the action log; and the
actions (claim, settle, pass, whistle, escalate, return down, note, undo). Actions that cannot be taken
back ask first. The keys offered on a request are those the action table allows from this desk (a
department summoned by a whistle sees the keys of its part); every read and write goes through a worker
thread; the store refuses what the table or the account's grants do not allow, and the refusal is
shown as it is logged. Text from outside (residents' words, notes, names) is shown with control
characters made visible, so that it cannot drive the terminal.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Header, Static

from console.desk import Desk, to_hours
from console.screens.base import PaletteCommand, QueueScreen
from console.screens.modals import Confirm, Pick, Prompt
from console.widgets import Field, KeyFooter, QueueRow, QueueView, WorkProgress, due_style, fit, hours
from sim.operations.store import UNDO_WINDOW_S, Action, RequestRecord
from sim.structure.ids import office_of, post_of
from sim.visible import visible

WORKABLE = ("open", "claimed")
#: The action table's name of each key's action.
KEY_ACTIONS = {
    "settle": "settle",
    "pass_on": "pass",
    "whistle": "whistle",
    "escalate": "escalate",
    "return_down": "return",
    "note": "note",
}


class DeskQueue(QueueView):
    """The post's queue: id, priority, category, where it is, its state, the countdown, the request."""

    workable: frozenset[int] = frozenset()
    """Requests still to be worked at the post (the others show no countdown)."""

    COLUMNS = (
        ("#", 5, 5),
        ("priority", 8, 8),
        ("category", 14, 10),
        ("post", 11, 6),
        ("state", 12, 9),
        ("deadline", 10, 10),
        ("request", 20, 8),
    )

    def cells(self, row: QueueRow, width: int) -> list[tuple[str, str | None]]:
        lab = self.labels
        left = row.due_h - self.clock_h
        urgency = due_style(row, self.clock_h)
        countdown = f"{lab.get('late', 'late')} {hours(-left)}" if left < 0 else f"{lab.get('in', 'in')} {hours(left)}"
        widths = self.widths(width)
        used = sum(w + 1 for name, w in widths.items() if name != "request")
        return [
            (fit(f"#{row.key}", widths["#"]), None),
            (
                fit(lab.get(row.priority, row.priority), widths["priority"]),
                f"queue--{row.priority}" if row.priority != "ordinary" else None,
            ),
            (fit(lab.get(row.category, row.category), widths["category"]), None),
            (fit(row.post, widths["post"]), None),
            (fit(row.state, widths["state"]), None),
            (fit(countdown if row.key in self.workable else "", widths["deadline"]), urgency),
            (fit(row.text, max(8, width - used - 1)), None),
        ]


class DeskScreen(QueueScreen):
    """A post's queue and the actions on it. Subclasses provide the desk (``self.desk``) and what shows
    before there is one (``compose_intro``)."""

    BINDINGS = [
        Binding(
            "c", "act('claim')", "Claim", tooltip="Take the request up: it is yours, and answered", id="desk-claim"
        ),
        Binding(
            "s", "settle", "Settle", tooltip="Settle it here, with a note on how (u undoes for 10 s)", id="desk-settle"
        ),
        Binding("p", "pass_on", "Pass", tooltip="Pass it to the department that deals with it", id="desk-pass"),
        Binding(
            "w",
            "whistle",
            "Whistle",
            tooltip="Blow the whistle: summon departments at once (street, town)",
            id="desk-whistle",
        ),
        Binding("e", "escalate", "Escalate", tooltip="Send it up to the post above", id="desk-escalate"),
        Binding(
            "d",
            "return_down",
            "Down",
            tooltip="Return it to a post below (a department: back for study)",
            id="desk-return",
        ),
        Binding("n", "note", "Note", tooltip="Add a note to its history", id="desk-note"),
        Binding("u", "undo", "Undo", tooltip=f"Undo your last settle (within {UNDO_WINDOW_S:.0f} s)", id="desk-undo"),
        Binding("l", "act('release')", "Release", tooltip="Let go of a request you claimed", id="desk-release"),
        Binding("a", "toggle_all", "All", tooltip="Show passed-on and closed requests too, or not", id="desk-all"),
        Binding("slash", "filter", "Filter", key_display="/", id="desk-filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="desk-clear-filter"),
    ]
    mode = "operate"
    QUEUE = "#desk-queue"
    QUEUE_FILTER = "#desk-queue-filter"
    QUEUE_HEADER = "#desk-queue-header"
    AUTO_FOCUS = ""  # the mode keys (1-5) must reach the app until the operator picks a field (tab)

    def __init__(self) -> None:
        super().__init__()
        self.desk: Desk | None = None
        self.show_all = False
        self.requests: dict[int, RequestRecord] = {}
        self.categories: dict[str, dict[str, Any]] = {}
        self.last_settle: tuple[int, float] | None = None
        self.clock = dt.datetime.now()
        self.detail: RequestRecord | None = None
        """The request in the detail pane (its countdowns follow the clock)."""
        self.post_level = ""
        """The desk's post's level, read once in a worker (the keys' checks never wait on the store)."""

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield self.mode_bar(self.mode)
        yield Static(id="desk-status")
        yield WorkProgress()
        with ContentSwitcher(initial="desk-intro", id="desk-switcher"):
            with Vertical(id="desk-intro"):
                yield from self.compose_intro()
            with Horizontal(id="desk-main"):
                with Vertical(id="desk-queue-pane"):
                    yield Static(id="desk-queue-header")
                    yield DeskQueue(id="desk-queue")
                    yield Field(placeholder=self.w("filter"), id="desk-queue-filter", classes="hidden")
                with VerticalScroll(id="desk-detail"):
                    yield Static(id="desk-request")
                    yield Static(id="desk-history")
            yield from self.compose_extra()
        yield KeyFooter(compact=True)

    def compose_intro(self) -> ComposeResult:
        yield from ()

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.sub_title = self.w(self.mode)
        self.query_one("#desk-queue-filter", Field).cursor_blink = self.console.cursor_blink

    # --- showing a desk ------------------------------------------------------------------------------

    def open_desk(self, desk: Desk) -> None:
        """Show ``desk``'s queue (called on the UI thread once the desk is ready)."""
        self.desk = desk
        self.query_one("#desk-switcher", ContentSwitcher).current = "desk-main"
        self.query_one("#desk-queue", DeskQueue).focus()
        self.load_labels()
        self.reload()
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="desk-labels", name="reading the categories", exit_on_error=False)
    def load_labels(self) -> None:
        desk = self.desk
        assert desk is not None
        with desk.lock:
            categories = desk.store.categories()
        self.app.call_from_thread(self._set_labels, categories, desk.post_level)

    def _set_labels(self, categories: dict[str, dict[str, Any]], level: str = "") -> None:
        self.categories = categories
        self.post_level = level
        self.refresh_bindings()
        w = self.w
        labels = {k: w(k) for k in ("post", "priority", "category", "state", "deadline", "in", "late")}
        labels.update({"#": "#"})
        labels.update({p: w.priority(p) for p in ("special", "urgent", "ordinary")})
        for cid, cat in categories.items():
            labels[cid] = str(cat.get("name" if w.lang == "zh" else "name_en") or cid)
        queue = self.query_one("#desk-queue", DeskQueue)
        labels["request"] = w("request")
        queue.labels = labels
        self.show_queue_header()
        queue.refresh()

    @work(thread=True, exclusive=True, group="desk-load", name="reading the queue", exit_on_error=False)
    def reload(self) -> None:
        desk = self.desk
        if desk is None:
            return
        rows = desk.queue(self.show_all)
        now = desk.now()
        self.app.call_from_thread(self._show_rows, rows, now)

    def _show_rows(self, requests: list[RequestRecord], now: dt.datetime) -> None:
        self.requests = {r.id: r for r in requests}
        desk = self.desk
        me = desk.account if desk else ""
        rows = []
        for r in requests:
            state = (
                self.w(r.status)
                if r.status != "claimed"
                else self.w("claimed (you)" if r.claimed_by == me else "claimed")
            )
            rows.append(
                QueueRow(
                    r.id,
                    visible(r.post),
                    r.priority,
                    visible(r.category),
                    state,
                    to_hours(r.created_at),
                    to_hours(r.due()),
                    visible(r.text),
                )
            )
        queue = self.query_one("#desk-queue", DeskQueue)
        queue.workable = frozenset(r.id for r in requests if r.status in WORKABLE)
        queue.set_rows(rows)
        self.set_clock(now)
        self.show_detail(queue.current_key)
        self.refresh_bindings()

    def set_clock(self, now: dt.datetime) -> None:
        self.clock = now
        self.query_one("#desk-queue", DeskQueue).clock_h = to_hours(now)
        self.show_status()
        if self.detail is not None:
            self.query_one("#desk-request", Static).update(self.request_text(self.detail))

    def show_status(self) -> None:
        """The status line: who is where, the clock, the queue."""
        desk = self.desk
        if desk is None:
            return
        open_now = sum(1 for r in self.requests.values() if r.status in WORKABLE)
        late = sum(
            1 for r in self.requests.values() if r.status in WORKABLE and to_hours(r.due()) < to_hours(self.clock)
        )
        moment = f"{self.clock:%Y-%m-%d %H:%M}" if self.w.lang == "zh" else f"{self.clock:%a %Y-%m-%d %H:%M}"
        parts = [f"[b]{escape(visible(desk.account))}[/] @ [b]{escape(visible(desk.post))}[/]", moment]
        parts += self.status_extra()
        parts.append(f"{open_now} {self.w('open')}" + (f" · [red]{late} {self.w('overdue')}[/]" if late else ""))
        if self.show_all:
            parts.append(self.w("showing all"))
        self.query_one("#desk-status", Static).update(" · ".join(parts))

    def status_extra(self) -> list[str]:
        return []

    # --- the request under the cursor ----------------------------------------------------------------

    def on_queue_view_highlighted(self, event: QueueView.Highlighted) -> None:
        self.show_detail(event.key)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="desk-detail", name="reading the request", exit_on_error=False)
    def show_detail(self, key: int | None) -> None:
        desk = self.desk
        if desk is None or key is None:
            self.app.call_from_thread(self._render_detail, None, [])
            return
        request = desk.get(key)
        history = desk.history(key) if request is not None else []
        self.app.call_from_thread(self._render_detail, request, history)

    def _render_detail(self, request: RequestRecord | None, history: list[Action]) -> None:
        box = self.query_one("#desk-request", Static)
        log = self.query_one("#desk-history", Static)
        self.detail = request
        if request is None:
            box.update(self.idle_text())
            log.update("")
            return
        self.requests[request.id] = request
        box.update(self.request_text(request))
        w = self.w
        lines = Text(f"{w('history')}\n", style="bold")
        for a in history:
            moment = self.desk.moment(a) if self.desk is not None else a.at
            lines.append(f"{moment[11:16]}  ", style="dim")
            lines.append(fit(visible(a.operator), 10) + " ", style="cyan" if a.operator != "system" else "dim")
            lines.append(self.w(f"did {a.action}"), style="bold" if a.ok else "strike dim")
            detail = " ".join(x for x in (a.target and f"→ {a.target}", a.note) if x)
            if detail:
                lines.append(f"  {visible(detail)}")
            if not a.ok:
                lines.append(f"  refused: {visible(a.reason)}", style="red")
            lines.append("\n")
        log.update(lines)

    def request_text(self, request: RequestRecord) -> Text:
        """The request in full: priority, category, text, what it needs, where it is, its deadlines
        with countdowns on the desk's clock."""
        w = self.w
        category = self.query_one("#desk-queue", DeskQueue).labels.get(request.category, request.category)
        now_h = to_hours(self.clock)
        text = Text()
        style = {"special": "bold red", "urgent": "bold yellow"}.get(request.priority, "bold")
        text.append(f"#{request.id}  ", style="bold")
        text.append(w.priority(request.priority).upper(), style=style)
        text.append(f"  {category}\n", style="bold")
        text.append(f"{visible(request.text)}\n")
        if request.needs:
            text.append(f"{visible(request.needs)}\n", style="italic")
        state = self.w(request.status) + (f" {request.claimed_by}" if request.claimed_by else "")
        if request.passed_to:
            state += f" → {request.passed_to}"
        if request.summons:
            summoned = ", ".join(f"{d} ({who})" if who else d for d, who in request.summons.items())
            state += f" · {w('summoned')} {summoned}"
        where = f"{w('raised at')} {request.origin} · {w('now at')} {request.post} · {state}"
        text.append(f"\n{visible(where)}\n", style="dim")
        if request.outcome:
            text.append(f"{visible(request.outcome)}\n", style="green" if request.status == "closed" else "")
        for label, due, done in (
            (w("response due"), request.response_due, request.responded_at),
            (w("resolution due"), request.resolution_due, request.closed_at),
        ):
            left = to_hours(due) - now_h
            when = dt.datetime.fromisoformat(due)
            text.append(f"{label} {when:%m-%d %H:%M}  ")
            if done:
                text.append(f"({w('done')} {dt.datetime.fromisoformat(done):%m-%d %H:%M})\n", style="green")
            elif left < 0:
                text.append(f"{w('late')} {hours(-left)}\n", style="bold red")
            else:
                text.append(f"{w('in')} {hours(left)}\n", style="yellow" if left < 1 else "")
        return text

    def idle_text(self) -> Text:
        """What the detail pane shows with no request under the cursor."""
        return Text(self.w("no request"), style="dim")

    # --- actions -------------------------------------------------------------------------------------

    @property
    def current(self) -> RequestRecord | None:
        key = self.query_one("#desk-queue", DeskQueue).current_key
        return self.requests.get(key) if key is not None else None

    def no_desk(self) -> str:
        """Why the queue's keys do not work yet."""
        return self.w("sign in first")

    def palette_commands(self) -> Iterator[PaletteCommand]:
        if self.desk is not None:
            yield PaletteCommand("Show all / open only", "passed-on and closed requests too, or not", "toggle_all")
            yield PaletteCommand("Filter the queue", "show only matching requests", "filter")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        w = self.w
        if action in ("filter", "clear_filter", "toggle_all"):
            return None if self.desk is not None else self.no_desk()
        if action not in ("act", "undo", *KEY_ACTIONS):
            return None
        desk = self.desk
        if desk is None:
            return self.no_desk()
        if action == "undo":
            if self.last_settle is None:
                return w("nothing to undo")
            request_id, at = self.last_settle
            return desk.why_not_undo(request_id, time.time() - at) or None
        request = self.current
        if request is None:
            return w("no request under the cursor")
        name = str(parameters[0]) if action == "act" else KEY_ACTIONS[action]
        return visible(desk.why_not(name, request)) or None

    def do(self, action: str, request_id: int, *, note: str = "", to: Any = None, said: str = "") -> None:
        self._do(action, request_id, note, to, said)

    @work(thread=True, group="desk-act", name="acting", exit_on_error=False)
    def _do(self, action: str, request_id: int, note: str, to: Any, said: str) -> None:
        desk = self.desk
        assert desk is not None
        desk.act(action, request_id, note=note, to=to)
        if action == "settle":  # before anything else can show the settle: undo works from the start
            self.last_settle = (request_id, time.time())
        elif action == "undo":
            self.last_settle = None
        self.app.call_from_thread(self._done, action, request_id, said)

    def _done(self, action: str, request_id: int, said: str) -> None:
        if action == "settle":
            self.set_timer(UNDO_WINDOW_S + 0.1, self.refresh_bindings)
        self.notify(said or f"#{request_id}: {action}", timeout=4)
        self.reload()

    def action_act(self, action: str) -> None:
        request = self.current
        if request is not None:
            self.do(action, request.id, said=f"#{request.id}: {self.w(action)}")

    def action_settle(self) -> None:
        request = self.current
        if request is None:
            return

        def done(note: str | None) -> None:
            if note:
                self.do("settle", request.id, note=note, said=f"#{request.id} {self.w('settled')} · u {self.w('undo')}")

        self.app.push_screen(Prompt(f"{self.w('how settled')} #{request.id}", self.w("settle example")), done)

    def action_pass_on(self) -> None:
        self._ask("pass")

    def action_whistle(self) -> None:
        self._ask("whistle")

    def action_escalate(self) -> None:
        self._ask("escalate")

    def action_return_down(self) -> None:
        self._ask("return")

    def _ask(self, action: str) -> None:
        request = self.current
        if request is not None and self.desk is not None:
            self._where_to(action, request)

    @work(thread=True, group="desk-ask", name="finding where it can go", exit_on_error=False)
    def _where_to(self, action: str, request: RequestRecord) -> None:
        """Where ``action`` can send ``request``: departments to pick, the post above, the posts below."""
        desk = self.desk
        assert desk is not None
        call = self.app.call_from_thread
        if action == "return" and desk.post in request.summons and not desk.in_jurisdiction(request):
            # a summoned department hands its part back to the office that called it
            question = f"{self.w('return')} #{request.id} → {request.post}?"
            call(self._confirm, question, "return", request.id, None)
            return
        if action in ("pass", "whistle"):
            call(self._pick, action, request, [(d, f"{d}  {name}") for d, name in desk.departments()])
            return
        here = post_of(request.post)
        if action == "escalate":
            target = desk.escalate_target(request)
            if target is None:
                call(self.notify, f"#{request.id}: {self.w('nothing above')}", severity="warning")
            else:
                call(self._confirm, f"{self.w('escalate')} #{request.id} → {target}?", "escalate", request.id, target)
        elif desk.level_of(here) == "department":
            office = office_of(request.origin)
            question = f"{self.w('return')} #{request.id} → {office} ({self.w('for study')})?"
            call(self._confirm, question, "return", request.id, None)
        elif below := desk.children(here):
            call(self._pick, action, request, [(node, f"{node}  {name}") for node, name in below])
        else:
            call(self.notify, f"#{request.id}: {self.w('nothing below')}", severity="warning")

    def _pick(self, action: str, request: RequestRecord, options: list[tuple[str, str]]) -> None:
        multiple = action == "whistle"

        def picked(chosen: list[str] | None) -> None:
            if chosen:
                question = f"{self.w(action)} #{request.id} → {' + '.join(chosen)}?"
                self._confirm(question, action, request.id, chosen if multiple else chosen[0])

        title = {"pass": "pass to", "whistle": "summon", "return": "return to"}[action]
        pick = Pick(f"{self.w(title)} (#{request.id})", options, multiple=multiple, go=self.w("whistle"))
        self.app.push_screen(pick, picked)

    def _confirm(self, question: str, action: str, request_id: int, to: Any) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.do(action, request_id, to=to, said=question.rstrip("?"))

        self.app.push_screen(Confirm(question, self.w("yes"), self.w("no")), answered)

    def action_note(self) -> None:
        request = self.current
        if request is None:
            return

        def done(note: str | None) -> None:
            if note:
                self.do("note", request.id, note=note, said=f"#{request.id}: {self.w('noted')}")

        self.app.push_screen(Prompt(f"{self.w('note on')} #{request.id}", ""), done)

    def action_undo(self) -> None:
        if self.last_settle is None:
            return
        request_id, _ = self.last_settle
        self.do("undo", request_id, said=f"#{request_id}: {self.w('settle undone')}")

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.reload()
