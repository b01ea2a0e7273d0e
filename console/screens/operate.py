"""Operate mode: an operator signs in at a post and works its live queue in the queue store.

The operator is the account the console runs as (no name is typed: the store holds accounts to
account); signing in at a post needs a grant covering it, and a refused sign-in is logged like any
refusal. The store is a file (``--db``, default ``queue.db`` in the user data folder) that other
consoles and the ``microgov queue`` and ``microgov intake`` commands share: the queue is read again
whenever anyone logs an action, and the countdowns run on the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from console.desk import Desk
from console.screens.base import PaletteCommand
from console.screens.desk import DeskScreen
from console.widgets import Field
from sim.errors import MicrogovError
from sim.visible import visible


class OperateScreen(DeskScreen):
    BINDINGS = [
        *DeskScreen.BINDINGS,
        Binding(
            "f2",
            "init_store",
            "Set up store",
            show=False,
            tooltip="Load the scenario's district into a new store",
            id="operate-init",
        ),
    ]
    mode = "operate"

    def compose_intro(self) -> ComposeResult:
        yield Static(id="signin-what")
        yield Label(self.w("sign in as"))
        with Horizontal(id="signin-row"):
            yield Field(placeholder="S1 · S1/C2 · S1/C2/G3 · water", id="signin-post")
            yield Button(self.w("sign in"), id="signin-go", variant="primary")
        yield Static(id="signin-who")
        yield Static(id="signin-problem")
        yield Button(self.w("set up store"), id="signin-init", classes="hidden")

    def on_mount(self) -> None:
        super().on_mount()
        session = self.session
        who = escape(visible(session.account))
        self.query_one("#signin-who", Static).update(f"{self.w('you act as')} [b]{who}[/] · {self.w('granted posts')}")
        if session.post:
            self.query_one("#signin-post", Input).value = session.post
        for box in self.query(Input):
            box.cursor_blink = self.console.cursor_blink
        path = session.store_path("operate")
        self.query_one("#signin-what", Static).update(
            f"{self.w('operate what')}\n[dim]{self.w('store')}: {escape(str(path))}[/]"
        )
        self.set_interval(1.0, self._poll)
        self.probe()
        if session.post:
            self.sign_in(session.post)

    # --- signing in ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="operate-probe", name="opening the queue store", exit_on_error=False)
    def probe(self) -> None:
        """Say what the store holds before anyone signs in (no store yet, no district loaded)."""
        from sim.operations.store import Store

        path = self.session.store_path("operate")
        posts = 0
        if not path.is_file():
            message = f"{self.w('no store')}: {escape(str(path))}. {self.w('press i')}"
        else:
            with Store(path, create=False) as store:
                posts, scenario, n = store.posts_count(), store.meta("scenario"), store.count()
            message = (
                f"{escape(str(scenario))}: {posts:,} {self.w('posts')}, {n:,} {self.w('requests')}"
                if posts
                else f"{self.w('no district')} {self.w('press i')}"
            )
        self.app.call_from_thread(self._probed, message, not path.is_file() or not posts)

    def _probed(self, message: str, empty: bool) -> None:
        self.query_one("#signin-problem", Static).update(message)
        self.query_one("#signin-init", Button).set_class(not empty, "hidden")

    @on(Button.Pressed, "#signin-init")
    def _init_pressed(self) -> None:
        self.action_init_store()

    @on(Button.Pressed, "#signin-go")
    @on(Input.Submitted, "#signin-post")
    def _go(self) -> None:
        post = self.query_one("#signin-post", Input).value.strip()
        if not post:
            self.query_one("#signin-post", Input).focus()
            return
        self.sign_in(post)

    @work(thread=True, exclusive=True, group="operate-signin", name="signing in", exit_on_error=False)
    def sign_in(self, post: str) -> None:
        from sim.operations.store import Store

        path = self.session.store_path("operate")
        if not path.is_file():
            raise MicrogovError(f"{path}: {self.w('no store')}; {self.w('press i')}")
        store = Store(path)
        try:
            store.sign_in(self.session.account, post)
            desk = Desk(store, post, self.session.account)
        except MicrogovError:
            store.close()
            raise
        for warning in store.warnings:
            self.app.call_from_thread(self.notify, visible(warning), severity="warning", timeout=10)
        self.app.call_from_thread(self.open_desk, desk)

    def action_init_store(self) -> None:
        if self.desk is None:
            self.work.start(self.w("setting up the store"))
            self.init_store()

    def palette_commands(self) -> Iterator[PaletteCommand]:
        yield from super().palette_commands()
        if self.desk is None:
            yield PaletteCommand("Set up the queue store", "load this scenario's district into it", "init_store")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        if action == "init_store":
            return None if self.desk is None else self.w("signed in already")
        return super().refusal(action, parameters)

    @work(thread=True, exclusive=True, group="operate-init", name="setting up the queue store", exit_on_error=False)
    def init_store(self) -> None:
        from sim.operations.store import Store, load_district

        session = self.session
        if session.scenario is None:
            raise MicrogovError("no scenario to take the district from")
        try:
            district = session.ensure_district()
            with Store(session.store_path("operate")) as store:
                loaded = load_district(store, session.scenario, district, account=session.account)
        finally:
            self.app.call_from_thread(self.work.stop)
        self.app.call_from_thread(
            self.notify, f"{loaded.posts:,} {self.w('posts')} ({session.scenario.name})", timeout=6
        )
        self.probe()

    # --- keeping up ----------------------------------------------------------------------------------

    def _poll(self) -> None:
        if self.desk is not None and self.is_current:
            self.poll()

    @work(thread=True, exclusive=True, group="operate-poll", name="watching the store", exit_on_error=False)
    def poll(self) -> None:
        desk = self.desk
        if desk is None:
            return
        if desk.changed():
            self.reload()
        else:
            self.app.call_from_thread(self.set_clock, desk.now())

    def on_unmount(self) -> None:
        if self.desk is not None:
            self.desk.close()
