"""Scripted trainees: a whole training shift played headless, for a trainer calibrating a scenario.

Before trainees sit a shift, a trainer wants to know what its score measures: what a trainee who does
nothing would score, and what one who does exactly what the post's own policy does would. Two scripted
trainees play the shift through the very path a person's actions take (the queue store, the shift's
simulation, the same scoring), with no wall clock: the clock moves one simulated minute at a time.

- ``idle`` does nothing: every request stays at the desk until the shift ends.
- ``engine`` looks at its queue every simulated minute and does with each request what the engine's
  own policy at the post would do (``Engine.policy``: settle, pass to its department, whistle, escalate;
  at a department settle or return it), its settles final at once (it never takes one back).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.scenario import Scenario
from sim.shift import LiveShift, Progress, ShiftError
from sim.store import Store
from sim.training import PARTS

AUTOPILOTS = ("idle", "engine")
STEP_H = 1.0 / 60.0
"""How often the scripted trainee looks at its queue, in simulated hours."""
NOTE = "the post's own policy (autopilot)"


def play(
    store: Store,
    scenario: Scenario,
    autopilot: str,
    account: str,
    *,
    scenario_path: str | Path = "",
    trainee: str = "",
    report_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Play the shift ``scenario`` describes with the scripted trainee ``autopilot`` as ``account`` in
    ``store``, finish it and return its result (``LiveShift.finish``)."""
    if autopilot not in AUTOPILOTS:
        raise ShiftError(f"--autopilot: expected {' or '.join(AUTOPILOTS)}, found '{autopilot}'")
    live = LiveShift.begin(
        store,
        scenario,
        account,
        trainee=trainee or f"autopilot ({autopilot})",
        scenario_path=scenario_path,
        progress=progress,
    )
    try:
        turn: Callable[[LiveShift, str], None] = _engine_turn if autopilot == "engine" else _idle_turn
        start_h, end_h = live.shift.start_h, live.shift.end_h
        wall_s = STEP_H * 3600.0 / live.speed
        while True:
            turn(live, account)
            if live.at_end:
                break
            live.tick(wall_s)
            if progress is not None:
                progress(f"playing the shift ({autopilot})", (live.clock_h - start_h) / (end_h - start_h))
        return live.finish(report_dir, progress)
    finally:
        live.close()


def _idle_turn(live: LiveShift, account: str) -> None:
    return None


def _engine_turn(live: LiveShift, account: str) -> None:
    """Do with every request in the queue what the post's own policy would do now."""
    shift = live.shift
    for request in live.store.queue(shift.post, source=shift.source):
        chosen = live.policy(request)
        if chosen is None:
            continue
        action, targets = chosen
        to: str | list[str] | None = None
        if action == "pass":
            to = targets[0]
        elif action == "whistle":
            to = targets
        live.act(account, action, request.id, note=NOTE if action == "settle" else "", to=to)
    live.confirm_settles()


def parts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A finished shift's score, part by part, beside the engine policy's: each part's weight, and its
    numerator, denominator and rate for the trainee and for the engine's own policy (``None`` where a
    part had nothing to judge: it counts as full marks)."""
    mine, theirs = result["score"]["parts"], result["engine_policy"]["parts"]

    def share(part: dict[str, Any]) -> dict[str, Any]:
        return {"numerator": part["right"], "denominator": part["judged"], "rate": part["rate"]}

    return {
        name: {"weight": mine[name]["weight"], **share(mine[name]), "engine": share(theirs[name])} for name in PARTS
    }
