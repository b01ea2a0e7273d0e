"""What every mode's screen shares: the session, the words of the chosen language, error notices, keys
that say why when they cannot be used, and a progress line for slow work.

A mode's key that cannot be used now is left off the footer (which shows what can be done now), and
pressing it shows a notice with the reason (:meth:`ModeScreen.refusal`), so no key is ever silently
ignored. Text fields give the keys back on escape (:class:`~console.widgets.Field`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import NamedTuple

from textual import events
from textual.actions import parse
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.i18n import Words
from console.modes import MODES, Host
from console.session import Session
from console.widgets import Field, ModeBar, QueueView, WorkProgress
from sim.errors import MicrogovError

REFUSAL_S = 5.0
"""How long a refusal's notice stays up (the same refusal again meanwhile adds no second copy)."""


class PaletteCommand(NamedTuple):
    """One of a mode's actions offered in the command palette."""

    title: str
    about: str
    action: str
    parameters: tuple[object, ...] = ()


class ModeScreen(Screen[None]):
    """A mode's screen. A worker that fails shows a notice; the console keeps running."""

    _refused: tuple[str, str] = ("", "")
    _refused_at = 0.0

    @property
    def console(self) -> Host:
        assert isinstance(self.app, Host)
        return self.app

    @property
    def session(self) -> Session:
        return self.console.session

    @property
    def w(self) -> Words:
        return self.session.words

    def mode_bar(self, current: str) -> ModeBar:
        return ModeBar(current, [(m, self.w(m)) for m in MODES])

    # --- keys ---------------------------------------------------------------------------------------

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Why the mode's ``action`` cannot be done now, in words for the person; ``None`` when it can."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.refusal(action, parameters) is None

    def palette_commands(self) -> Iterator[PaletteCommand]:
        """The mode's actions for the command palette, as things stand now; the app offers each one
        through :meth:`attempt`, so the palette refuses (with why) exactly as the key would."""
        yield from ()

    def attempt(self, action: str, *parameters: object) -> None:
        """Do the mode's ``action`` (from the command palette), or say why it cannot be done now."""
        reason = self.refusal(action, parameters)
        if reason:
            self.notify(reason, severity="warning", timeout=REFUSAL_S)
            return
        getattr(self, f"action_{action}")(*parameters)

    def on_key(self, event: events.Key) -> None:
        """A key bound here whose action is refused now: say why (it would otherwise do nothing)."""
        if self.app.screen is not self:
            return
        live = self.active_bindings.get(event.key)
        if live is not None and live.enabled:
            return  # someone (a widget, the mode, the app) takes it
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            _, action, parameters = parse(binding.action)
            reason = self.refusal(action, parameters)
            if reason:
                event.stop()
                now = time.monotonic()
                if self._refused != (reason, binding.description) or now - self._refused_at > REFUSAL_S:
                    self.notify(reason, title=binding.description, severity="warning", timeout=REFUSAL_S)
                    self._refused, self._refused_at = (reason, binding.description), now
                return  # the same refusal still on screen: not a second copy of it

    # --- slow work ----------------------------------------------------------------------------------

    @property
    def work(self) -> WorkProgress:
        return self.query_one(WorkProgress)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, MicrogovError) else f"{type(error).__name__}: {error}"
            self.notify(message, title=event.worker.name or "error", severity="error", timeout=10)


class QueueScreen(ModeScreen):
    """A mode with a request queue and a filter box under it: ``/`` opens the box, typing filters, enter
    goes back to the queue, escape clears it. Subclasses name the widgets."""

    QUEUE = "#queue"
    QUEUE_FILTER = "#queue-filter"
    QUEUE_HEADER = "#queue-header"

    def action_filter(self) -> None:
        box = self.query_one(self.QUEUE_FILTER, Field)
        box.remove_class("hidden")
        box.focus()

    def on_input_changed(self, event: Field.Changed) -> None:
        if f"#{event.input.id}" == self.QUEUE_FILTER:
            self.query_one(self.QUEUE, QueueView).set_filter(event.value)
            self.filtered()

    def on_input_submitted(self, event: Field.Submitted) -> None:
        if f"#{event.input.id}" == self.QUEUE_FILTER:
            self.query_one(self.QUEUE, QueueView).focus()

    def on_field_left(self, event: Field.Left) -> None:
        if f"#{event.field.id}" == self.QUEUE_FILTER:
            self.action_clear_filter()

    def action_clear_filter(self) -> None:
        box = self.query_one(self.QUEUE_FILTER, Field)
        box.value = ""
        box.add_class("hidden")
        self.query_one(self.QUEUE, QueueView).focus()

    def on_queue_view_resized(self, event: QueueView.Resized) -> None:
        self.show_queue_header()

    def show_queue_header(self) -> None:
        """The queue's column names, at the widths its columns have now."""
        from textual.widgets import Static

        self.query_one(self.QUEUE_HEADER, Static).update(self.query_one(self.QUEUE, QueueView).header())

    def filtered(self) -> None:
        """Called after the filter changed."""
