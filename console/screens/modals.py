"""Modal screens: the help screen (the keys actually bound) and a one-line prompt."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static


class HelpScreen(ModalScreen[None]):
    """The keys bound where help was asked for, read from the live bindings (so it cannot drift)."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="close-help"),
    ]

    def __init__(self, under: Screen[object], title: str) -> None:
        super().__init__()
        self.under = under
        self.title_text = title

    def compose(self) -> ComposeResult:
        keys: dict[tuple[str, str], list[str]] = {}
        enabled: dict[tuple[str, str], bool] = {}

        def group(active: Any) -> int:
            """The mode's own keys first, then the console's, then moving around in widgets."""
            return 0 if active.node is self.under else (1 if active.node is self.app else 2)

        for active in sorted(self.under.active_bindings.values(), key=group):
            binding = active.binding
            if not binding.description:
                continue
            what = (binding.action, binding.tooltip or binding.description)
            shown = binding.key_display or self.app.get_key_display(binding)
            if shown not in keys.setdefault(what, []):
                keys[what].append(shown)
            enabled[what] = enabled.get(what, False) or active.enabled
        text = Text()
        for what, shown in keys.items():
            if len(text):
                text.append("\n")
            text.append(f"{', '.join(shown):>14}", style="bold")
            text.append(f"  {what[1]}")
            if not enabled[what]:
                text.append("  (not now)", style="dim")
        with Vertical(id="help-box"):
            yield Label(Text(self.title_text, style="bold"), id="help-title")
            with VerticalScroll():
                yield Static(text, id="help-keys")
            yield Label(Text("escape to close", style="dim"))


class Prompt(ModalScreen[str | None]):
    """Ask for one line of text (a time to go to, a file to open); escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-prompt")]

    def __init__(self, question: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.question)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.app.cursor_blink  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
