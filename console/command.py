"""``microgov console`` and ``microgov train``: the terminal console, added to ``microgov`` as a plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from console.i18n import default_lang
from console.modes import MODES

DEFAULT_SCENARIO = Path("scenarios/haigang-2020.toml")

LangOption = Annotated[str | None, typer.Option("--lang", help="zh or en (default: from the locale).")]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="The queue store (default: queue.db for Operate, training.db for Train, in the user data folder).",
        dir_okay=False,
    ),
]


def _language(lang: str | None) -> str:
    from sim.errors import MicrogovError

    language = lang or default_lang()
    if language not in ("zh", "en"):
        raise MicrogovError(f"--lang: expected zh or en, found '{language}'")
    return language


def console(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Scenario file (default: scenarios/haigang-2020.toml).")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="An event log from microgov run --events, to replay.", dir_okay=False),
    ] = None,
    lang: LangOption = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="Start in operate, train, replay, compare or structure.")
    ] = None,
    post: Annotated[
        str | None, typer.Option("--as", help="Sign in at this post in Operate mode (e.g. S1, S1/C2, water).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Open the console: Operate, Train, Replay, Compare and Structure modes on one app.

    Keys: 1–5 switch modes, ? or F1 lists the keys that work, ctrl+p opens the command palette. In
    Operate and Train you act as the account you are logged in as; an admin grants it posts (microgov
    queue grant).

    [dim]Examples:
      microgov console scenarios/haigang-2020.toml
      microgov console --events out/week.parquet --lang zh
      microgov console --as S1 --db out/queue.db[/]
    """
    from sim.errors import MicrogovError

    language = _language(lang)
    if mode is not None and mode not in MODES:
        raise MicrogovError(f"--mode: expected operate, train, replay, compare or structure, found '{mode}'")
    if file is None and events is None:
        if not DEFAULT_SCENARIO.is_file():
            raise MicrogovError("give a scenario file, e.g. microgov console scenarios/haigang-2020.toml")
        file = DEFAULT_SCENARIO
    if events is not None and not events.is_file():
        raise MicrogovError(f"{events}: no such event log")
    if post is not None and mode is None:
        mode = "operate"
    desk: dict[str, Any] = {"db_path": db, "post": post}
    _run(file, events, language, mode, desk)


def train(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]", help="A training scenario (scenarios/training/); none: resume the shift under way."
        ),
    ] = None,
    post: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Play the shift at this post instead of the scenario's; its scripted incidents move to the same"
            " places under it (refused if they have none).",
        ),
    ] = None,
    trainee: Annotated[
        str | None,
        typer.Option(
            "--trainee", help="The trainee's name in the report (default: the account's name).", show_default=False
        ),
    ] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Simulated seconds per real second, 1–600.", min=1, max=600)
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a scenario value, e.g. training.hours=2.", metavar="K=V")
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
    autopilot: Annotated[
        str | None,
        typer.Option(
            "--autopilot",
            help="Play the whole shift headless with a scripted trainee and print the score: idle (does"
            " nothing) or engine (the engine's own policy at the desk). No store is kept unless --db is given.",
            metavar="idle|engine",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --autopilot: print one JSON object.")] = False,
) -> None:
    """Start a training shift in the console (or resume the one under way in the training store).

    The trainee works the post's queue while the simulation plays the rest of the district in scaled real
    time. Kill the terminal at any moment and run the same command again: the shift resumes where it was.
    At the end (or f), the score beside the engine's own policy and an after-action report.

    With --autopilot, a scripted trainee plays the whole shift without the console and the score table
    is printed: what doing nothing scores, and what the engine's own policy at the desk scores, for a
    trainer calibrating a scenario.

    [dim]Examples:
      microgov train scenarios/training/weekday-morning.toml
      microgov train scenarios/training/storm-night.toml --as S3 --trainee li --speed 30
      microgov train                      # resume the shift under way
      microgov train scenarios/training/weekday-morning.toml --autopilot idle
      microgov train scenarios/training/epidemic-surge.toml --autopilot engine --json[/]
    """
    from sim.errors import MicrogovError
    from sim.operations.store import Store
    from sim.scenario import load_scenario
    from sim.training.shift import training_spec

    if autopilot is not None:
        from sim.cli.train_cmds import run_autopilot
        from sim.training.autopilot import AUTOPILOTS

        if autopilot not in AUTOPILOTS:
            raise MicrogovError(f"--autopilot: expected idle or engine, found '{autopilot}'")
        if file is None:
            raise MicrogovError(
                "--autopilot plays a new shift: give a training scenario, e.g. microgov train"
                " scenarios/training/weekday-morning.toml --autopilot idle"
            )
        sets = list(overrides or [])
        if speed is not None:
            sets.append(f"training.speed={float(speed)}")
        run_autopilot(file, autopilot, sets, post=post, trainee=trainee or "", db=db, as_json=as_json)
        return
    if as_json:
        raise MicrogovError("--json: only with --autopilot (a shift in the console prints no table)")
    language = _language(lang)
    desk: dict[str, Any] = {"db_path": db, "trainee": trainee or ""}
    with Store(db or _training_db()) as store:
        running = store.current_shift()
        last = store.last_shift()
    scenario_file = file
    if running is not None:
        asked = (file is None or Path(running.scenario_path) == file) and (post is None or post == running.post)
        if not asked:
            raise MicrogovError(
                f"{store.path}: shift {running.id} ({running.scenario_path} at {running.post}, started "
                f"{running.started_at}) is under way; run microgov train with no FILE to resume it, or finish it"
                " in the console (f)"
            )
        scenario_file = Path(running.scenario_path) if Path(running.scenario_path).is_file() else DEFAULT_SCENARIO
    elif file is None:
        ended = ""
        if last is not None and last.result is not None:
            score = last.result.get("score", {}).get("total")
            scored = f", scored {score:.0f} / 100" if isinstance(score, int | float) else ""
            report = last.result.get("report")
            ended = f" (shift {last.id} of {last.who} at {last.post} has ended{scored}; report: {report})"
        raise MicrogovError(
            f"{store.path}: no shift is under way{ended}; give a training scenario to start one,"
            " e.g. microgov train scenarios/training/weekday-morning.toml"
        )
    else:
        sets = list(overrides or [])
        if speed is not None:
            sets.append(f"training.speed={float(speed)}")
        scenario = load_scenario(file, sets)
        training_spec(scenario, str(file))
        if post is not None:
            from sim.structure import build_district
            from sim.training.shift import play_at

            play_at(scenario, post, build_district(scenario))  # refused here, before the console opens
        desk.update(train_file=file, train_sets=sets, train_post=post)
    _run(scenario_file, None, language, "train", desk)


def _run(file: Path | None, events: Path | None, language: str, mode: str | None, desk: dict[str, Any]) -> None:
    """Open the console; at a terminal, say so first (loading the console takes a moment, and the screen
    would otherwise stay blank until it draws)."""
    import sys

    if sys.stderr.isatty():
        sys.stderr.write("microgov: starting the console…\n")
        sys.stderr.flush()
    from console.app import make_app

    make_app(file, events, language, mode=mode, desk=desk).run()


def _training_db() -> Path:
    from sim.operations.store import default_path

    return default_path("training.db")


def register(app: typer.Typer) -> None:
    app.command()(console)
    app.command()(train)
