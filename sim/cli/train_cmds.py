"""The headless half of ``microgov train``: a shift played by a scripted trainee, and its score table.

The console adds the ``train`` command (it opens Train mode); with ``--autopilot`` that command plays
the whole shift here instead, without a terminal UI (see ``sim.training.autopilot``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sim.cli.common import out, print_json, table
from sim.cli.progress import progress_bar


def run_autopilot(
    file: Path,
    autopilot: str,
    sets: list[str],
    *,
    post: str | None = None,
    trainee: str = "",
    db: Path | None = None,
    as_json: bool = False,
) -> None:
    """Play the training shift ``file`` describes with the scripted trainee ``autopilot`` and print its
    score beside the engine policy's, at ``post`` if given (``--as``: see ``sim.training.shift.play_at``). The
    shift's store is ``db`` (kept, with the report beside it) or a scratch one that is removed afterwards."""
    from sim.operations.identity import current_account
    from sim.operations.store import Store
    from sim.scenario import load_scenario
    from sim.structure import build_district
    from sim.training.autopilot import play
    from sim.training.shift import play_at, training_spec

    scenario = load_scenario(file, sets)
    training_spec(scenario, str(file))
    district = build_district(scenario)
    if post is not None:
        scenario = play_at(scenario, post, district)
    account = current_account()
    with tempfile.TemporaryDirectory(prefix="microgov-train-") as scratch:
        path = db if db is not None else Path(scratch) / "training.db"
        report_dir = None if db is not None else Path(scratch) / "report"
        with Store(path) as store, progress_bar(f"{scenario.name}: autopilot {autopilot}") as update:

            def progress(label: str, fraction: float | None) -> None:
                update(fraction or 0.0, description=label)

            result = play(
                store,
                scenario,
                autopilot,
                account,
                scenario_path=file,
                trainee=trainee,
                report_dir=report_dir,
                progress=progress,
                district=district,
            )
        summary = _summary(result, scenario.name, autopilot, kept=db is not None)
    if as_json:
        print_json(summary)
        return
    _print(summary)


def _summary(result: dict[str, Any], name: str, autopilot: str, *, kept: bool) -> dict[str, Any]:
    from sim.training.autopilot import parts

    mine, theirs = result["score"], result["engine_policy"]
    return {
        "scenario": name,
        "post": result["post"],
        "autopilot": autopilot,
        "seed": result["seed"],
        "score": mine["total"],
        "engine_score": theirs["total"],
        "requests": mine["requests"],
        "engine_requests": theirs["requests"],
        "parts": parts(result),
        "report": result["report"] if kept else None,
    }


def _share(numerator: int, denominator: int, rate: float | None) -> str:
    return "–" if not denominator or rate is None else f"{numerator} of {denominator} ({100 * rate:.0f}%)"


def _print(summary: dict[str, Any]) -> None:
    autopilot = f"autopilot {summary['autopilot']}"
    title = f"{summary['scenario']} · {summary['post']} · seed {summary['seed']}"
    t = table(title, "part", "weight", autopilot, "engine policy")
    for name, part in summary["parts"].items():
        engine = part["engine"]
        t.add_row(
            name,
            f"{part['weight']:g}",
            _share(part["numerator"], part["denominator"], part["rate"]),
            _share(engine["numerator"], engine["denominator"], engine["rate"]),
        )
    t.add_row("[b]score[/]", "", f"[b]{summary['score']:.0f} / 100[/]", f"[b]{summary['engine_score']:.0f} / 100[/]")
    out.print(t)
    out.print(
        f"Requests at the desk: {summary['requests']} ({autopilot}), {summary['engine_requests']} (engine policy)."
        " A part with nothing to judge (–) counts as full marks; the score is the weighted mean."
    )
    if summary["report"]:
        out.print(f"Report: {summary['report']}")
