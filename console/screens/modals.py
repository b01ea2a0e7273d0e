"""Modal screens: the help screen (the keys actually bound), a training shift's briefing, a one-line
prompt, a confirmation, and a picker of one or several options (departments to pass to or summon, a post
to send a request down to)."""

from __future__ import annotations

from rich.text import Text
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option


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
        under = self.under
        keys: dict[tuple[str, str], list[str]] = {}
        why: dict[tuple[str, str], str | None] = {}

        def add(binding: Binding, reason: str | None) -> None:
            if not binding.description:
                return
            what = (binding.action, binding.tooltip or binding.description)
            shown = binding.key_display or self.app.get_key_display(binding)
            if shown not in keys.setdefault(what, []):
                keys[what].append(shown)
            if what not in why:
                why[what] = reason
            elif reason is None:
                why[what] = None  # usable through one of its keys: usable

        # the mode's own keys first, each with why it cannot be used now (if it cannot); then the
        # console's; then every screen's (tab, copy) and moving around in the focused widget
        refusal = getattr(under, "refusal", None)
        every_screen = {b.action for b in Screen.BINDINGS if isinstance(b, Binding)}
        own = [b for _, b in under._bindings if b.action not in every_screen]
        for binding in own:
            _, action, parameters = parse(binding.action)
            add(binding, refusal(action, parameters) if refusal else None)
        others = [a for a in under.active_bindings.values() if a.binding not in own]
        for active in sorted(others, key=lambda a: 0 if a.node is self.app else 1):
            add(active.binding, None if active.enabled else "")
        text = Text()
        for what, shown in keys.items():
            if len(text):
                text.append("\n")
            text.append(f"{', '.join(shown):>14}", style="bold")
            text.append(f"  {what[1]}")
            if why[what] is not None:
                text.append(f"  (not now{': ' + why[what] if why[what] else ''})", style="dim")
        with Vertical(id="help-box"):
            yield Label(Text(self.title_text, style="bold"), id="help-title")
            with VerticalScroll():
                yield Static(text, id="help-keys")
            yield Label(Text("escape to close", style="dim"))


class Briefing(ModalScreen[None]):
    """A training shift's briefing, to read before the shift and at any time during it (``b``)."""

    BINDINGS = [Binding("escape,enter,b,q", "dismiss", "Close", id="close-briefing")]

    def __init__(self, title: str, text: str, hint: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="briefing-box"):
            yield Label(Text(self.title_text, style="bold"), id="briefing-title")
            with VerticalScroll():
                yield Static(Text(self.text), id="briefing-text")
            yield Label(Text(self.hint, style="dim"))


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


class Confirm(ModalScreen[bool]):
    """Ask before something that cannot be taken back: ``y`` or enter goes ahead, ``n`` or escape not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Pick(ModalScreen[list[str] | None]):
    """Pick one option (enter), or with ``multiple`` tick several (space) and go ahead (``g`` or the
    button). Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-pick"),
        Binding("g", "go", "Go ahead", id="pick-go"),
    ]

    def __init__(self, question: str, options: list[tuple[str, str]], *, multiple: bool = False, go: str = "") -> None:
        super().__init__()
        self.question = question
        self.options = options
        self.multiple = multiple
        self.go = go or "Go ahead"

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Label(self.question, id="pick-question")
            if self.multiple:
                yield SelectionList[str](*[(label, value) for value, label in self.options], id="pick-list")
                yield Button(f"{self.go} (g)", id="pick-go", variant="primary")
                hint = "space ticks, g goes ahead, escape cancels"
            else:
                yield OptionList(*[Option(label, id=value) for value, label in self.options], id="pick-list")
                hint = "enter picks, escape cancels"
            yield Label(Text(hint, style="dim"))

    def on_mount(self) -> None:
        listing = self.query_one("#pick-list", OptionList)
        listing.highlighted = 0
        listing.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if not self.multiple and event.option_id is not None:
            self.dismiss([event.option_id])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_go()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.multiple if action == "go" else True

    def action_go(self) -> None:
        chosen = list(self.query_one("#pick-list", SelectionList).selected)
        if chosen:
            self.dismiss(chosen)
        else:
            self.notify("tick one or more with space first", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
