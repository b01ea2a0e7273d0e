"""What every mode's screen shares: the session, the words of the chosen language, error notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from console.i18n import Words
from console.session import Session
from console.widgets import ModeBar, QueueView
from sim.errors import MicrogovError

if TYPE_CHECKING:
    from console.app import MicrogovApp


class ModeScreen(Screen[None]):
    """A mode's screen. A worker that fails shows a notice; the console keeps running."""

    @property
    def console(self) -> MicrogovApp:
        from console.app import MicrogovApp

        assert isinstance(self.app, MicrogovApp)
        return self.app

    @property
    def session(self) -> Session:
        return self.console.session

    @property
    def w(self) -> Words:
        return self.session.words

    def mode_bar(self, current: str) -> ModeBar:
        from console.app import MODES

        return ModeBar(current, [(m, self.w(m)) for m in MODES])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, MicrogovError) else f"{type(error).__name__}: {error}"
            self.notify(message, title=event.worker.name or "error", severity="error", timeout=10)


class QueueScreen(ModeScreen):
    """A mode with a request queue and a filter box under it: ``/`` opens the box, typing filters, enter
    goes back to the queue, escape clears it. Subclasses name the two widgets."""

    QUEUE = "#queue"
    QUEUE_FILTER = "#queue-filter"

    def action_filter(self) -> None:
        box = self.query_one(self.QUEUE_FILTER, Input)
        box.remove_class("hidden")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if f"#{event.input.id}" == self.QUEUE_FILTER:
            self.query_one(self.QUEUE, QueueView).set_filter(event.value)
            self.filtered()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if f"#{event.input.id}" == self.QUEUE_FILTER:
            self.query_one(self.QUEUE, QueueView).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one(self.QUEUE_FILTER, Input)
        box.value = ""
        box.add_class("hidden")
        self.query_one(self.QUEUE, QueueView).focus()

    def filtered(self) -> None:
        """Called after the filter changed."""
