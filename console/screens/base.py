"""What every mode's screen shares: the session, the words of the chosen language, error notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.i18n import Words
from console.session import Session
from console.widgets import ModeBar
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
