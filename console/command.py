"""``microgov console``: the terminal console, added to the ``microgov`` command as a plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from console.i18n import default_lang

DEFAULT_SCENARIO = Path("scenarios/haigang-2020.toml")


def console(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Scenario file (default: scenarios/haigang-2020.toml).")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="An event log from microgov run --events, to replay.", dir_okay=False),
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en (default: from the locale).")] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="Start in operate, train, replay, compare or structure.")
    ] = None,
) -> None:
    """Open the console: Operate, Train, Replay, Compare and Structure modes on one app.

    Keys: 1–5 switch modes, ? or F1 lists the keys that work, ctrl+p opens the command palette.

    [dim]Examples:
      microgov console scenarios/haigang-2020.toml
      microgov console --events out/week.parquet --lang zh[/]
    """
    from sim.errors import MicrogovError

    language = lang or default_lang()
    if language not in ("zh", "en"):
        raise MicrogovError(f"--lang: expected zh or en, found '{language}'")
    if mode is not None and mode not in ("operate", "train", "replay", "compare", "structure"):
        raise MicrogovError(f"--mode: expected operate, train, replay, compare or structure, found '{mode}'")
    if file is None and events is None:
        if not DEFAULT_SCENARIO.is_file():
            raise MicrogovError("give a scenario file, e.g. microgov console scenarios/haigang-2020.toml")
        file = DEFAULT_SCENARIO
    if events is not None and not events.is_file():
        raise MicrogovError(f"{events}: no such event log")

    from console.app import make_app

    make_app(file, events, language, mode=mode).run()


def register(app: typer.Typer) -> None:
    app.command()(console)
