"""The microgov console: one Textual app, a mode per job.

Operate and Train are for operators and trainers; Replay plays a run's event log; Compare runs scenarios
side by side; Structure shows the district. ``1``–``5`` switch modes, ``?`` or F1 lists the keys that
work where you are, ctrl+p opens a command palette whose commands fit the current mode (and themes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from console.i18n import Words
from console.modes import MODES
from console.screens.base import ModeScreen
from console.screens.compare import CompareScreen
from console.screens.modals import Briefing, Confirm, HelpScreen, Pick, Prompt
from console.screens.operate import OperateScreen
from console.screens.replay import ReplayScreen
from console.screens.structure import StructureScreen
from console.screens.train import TrainScreen
from console.session import Session, prepare_workers

SCREENS: dict[str, type[Screen[Any]]] = {
    "operate": OperateScreen,
    "train": TrainScreen,
    "replay": ReplayScreen,
    "compare": CompareScreen,
    "structure": StructureScreen,
}

assert tuple(SCREENS) == MODES, "a screen for every mode, in the modes' order"


class MicrogovApp(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "microgov"
    # the layout changes below 100 columns (panes stack) and below 32 rows (charts take turns with tables)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    MODES = SCREENS  # type: ignore[assignment]
    BINDINGS = [
        *[
            Binding(str(n), f"switch_mode('{name}')", name.capitalize(), show=False, id=f"mode-{name}")
            for n, name in enumerate(MODES, start=1)
        ],
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        scenario: Path | None = None,
        events: Path | None = None,
        lang: str = "en",
        *,
        mode: str | None = None,
        cursor_blink: bool = True,
        desk: dict[str, Any] | None = None,
    ) -> None:
        prepare_workers()
        self.session = Session(Words(lang), scenario_path=scenario, events_path=events, **(desk or {}))
        self.session.load()
        self.cursor_blink = cursor_blink
        self.start_mode = mode or ("replay" if events is not None else "structure")
        super().__init__()

    def on_mount(self) -> None:
        self.title = self.session.name
        self.switch_mode(self.start_mode)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, f"{self.session.name} · {self.session.words(self.current_mode)}"))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        w = self.session.words
        for name in MODES:
            if name != self.current_mode:
                yield SystemCommand(f"{w(name)}", f"switch to the {name} mode", lambda n=name: self.switch_mode(n))
        if not isinstance(screen, ModeScreen):
            yield from super().get_system_commands(screen)
            return

        def command(title: str, about: str, action: str, *parameters: object) -> SystemCommand:
            """A mode's action from the palette: refused (with why) exactly as its key would be."""
            return SystemCommand(title, about, lambda: screen.attempt(action, *parameters))

        for title, about, action, parameters in screen.palette_commands():
            yield command(title, about, action, *parameters)
        yield from super().get_system_commands(screen)


def _translated(cls: type[Any], words: Words, **extra: Any) -> type[Any]:
    """``cls`` with its keys described in ``words``' language (the same keys, the same ids)."""

    def translated(b: Binding) -> Binding:
        group = b.group and Binding.Group(words.phrase(b.group.description), b.group.compact)
        return dataclasses.replace(b, description=words.phrase(b.description), group=group)

    bindings = [translated(b) if isinstance(b, Binding) else b for b in cls.BINDINGS]
    return type(cls.__name__, (cls,), {"BINDINGS": bindings, "__module__": cls.__module__, **extra})


def make_app(
    scenario: Path | None = None,
    events: Path | None = None,
    lang: str = "en",
    *,
    mode: str | None = None,
    cursor_blink: bool = True,
    desk: dict[str, Any] | None = None,
) -> MicrogovApp:
    """The console in ``lang``: English as declared, Chinese through translated subclasses. ``desk``
    holds the Operate and Train settings (``db_path``, ``post``, ``trainee``, ``train_file``,
    ``train_sets``, ``train_post``)."""
    words = Words(lang)
    if lang == "en":
        return MicrogovApp(scenario, events, lang, mode=mode, cursor_blink=cursor_blink, desk=desk)
    for modal in (HelpScreen, Briefing, Prompt, Confirm, Pick):
        _translated(modal, words)
    screens = {name: _translated(cls, words) for name, cls in SCREENS.items()}
    app_class = _translated(MicrogovApp, words, MODES=screens)
    app: MicrogovApp = app_class(scenario, events, lang, mode=mode, cursor_blink=cursor_blink, desk=desk)
    return app
