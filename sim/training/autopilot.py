"""Scripted trainees: a whole training shift played headless, for a trainer calibrating a scenario.

Before trainees sit a shift, a trainer wants to know what its score measures: what a trainee who does
nothing would score, and what one who works as the engine's own policy at the desk does would. Two
scripted trainees play the shift through the very path a person's actions take (the queue store, the
shift's simulation, the same scoring), with no wall clock: the clock moves from one simulated minute,
or one decision falling due, to the next.

- ``idle`` does nothing: every request stays at the desk until the shift ends.
- ``engine`` does with each request what the post's own policy would do with it then (``PlayedPost.own_action``:
  settle, pass to its department, whistle, escalate; at a department, settle or return it), when the
  post's staff decided it in the yardstick's run (the engine's own policy at the post, on the same seed:
  the same requests reach the desk in both runs, see ``sim.engine.watch.on_desk``). What the staff had not decided
  when the shift ended it leaves at the desk; a request the yardstick's desk never had, or had fewer
  times (it came back), it decides after the post's handling time for it (drawn from its own stream).
  Its settles are final at once (it never takes one back).

So the engine autopilot scores what the yardstick scores, less what the shift's own course changes
(a request the trainee's run handles at another time or place downstream): a trainer sees at once how
far the score of a trainee who does exactly what the policy does can stray from the yardstick's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.core import Engine
from sim.operations.store import RequestRecord, Store
from sim.scenario import Scenario
from sim.structure import District
from sim.training.scoring import PARTS, desk_decisions
from sim.training.shift import LiveShift, Progress, ShiftError, watched_desk

AUTOPILOTS = ("idle", "engine")
STEP_H = 1.0 / 60.0
"""How often a scripted trainee looks at its queue, in simulated hours."""
NOTE = "the post's own policy (autopilot)"
_STREAM = 0xA7_0910
"""Tells the engine autopilot's handling times from every other use of the shift's seed."""


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
    district: District | None = None,
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
        district=district,
        progress=progress,
    )
    try:
        desk = None
        baseline = None
        start_h, end_h = live.shift.start_h, live.shift.end_h
        if autopilot == "engine":
            baseline = live.yardstick(end_h, end_h, progress)
            desk = _EngineDesk(live, account, _schedule(baseline, end_h))
        while True:
            next_h = live.clock_h + STEP_H
            if desk is not None:
                next_h = min(next_h, desk.turn())
            if live.at_end:
                break
            live.tick(max(0.0, next_h - live.clock_h) * 3600.0 / live.speed)
            if progress is not None:
                progress(f"playing the shift ({autopilot})", (live.clock_h - start_h) / (end_h - start_h))
        return live.finish(report_dir, progress, baseline)
    finally:
        live.close()


def _schedule(baseline: Engine, end_h: float) -> dict[int, list[float]]:
    """When the post's policy decided each request of the yardstick's desk during the shift, by the
    request's key (none: it was at the desk but not decided when the shift ended)."""
    watch = watched_desk(baseline)
    times: dict[int, list[float]] = {record.key: [] for record in watch.records.values()}
    for d in desk_decisions(watch.decisions, end_h, person=False):
        times[watch.records[d.id].key].append(d.at)
    return times


class _EngineDesk:
    """The engine autopilot at the desk: when each request falls due, and deciding those that have."""

    def __init__(self, live: LiveShift, account: str, schedule: dict[int, list[float]]) -> None:
        self.live = live
        self.account = account
        self.schedule = schedule
        self.due: dict[int, float] = {}
        self.visits: dict[int, int] = {}

    def _due(self, request: RequestRecord) -> float:
        """When ``request``, just (back) in the queue, is to be decided."""
        live = self.live
        visit = self.visits[request.id] = self.visits.get(request.id, 0) + 1
        key = live.key(request)
        times = self.schedule.get(key) if key is not None else None
        if times is not None and len(times) >= visit:
            return times[visit - 1]
        if times is not None and len(times) == visit - 1 == 0:
            return math.inf  # at the yardstick's desk too, and not decided when the shift ended
        rng = np.random.default_rng([_STREAM, live.shift.seed, int(request.source_id), visit])
        return live.clock_h + live.handling_h(request, float(rng.standard_normal()))

    def turn(self) -> float:
        """Decide what has fallen due; return when the next decision falls due (``inf``: none does)."""
        live, shift = self.live, self.live.shift
        now = live.clock_h
        queue = [r for r in live.store.queue(shift.post, source=shift.source) if live.policy(r) is not None]
        self.due = {r.id: self.due[r.id] if r.id in self.due else self._due(r) for r in queue}
        for request in queue:
            if self.due[request.id] > now + 1e-9:
                continue
            chosen = live.policy(request)
            assert chosen is not None
            action, targets = chosen
            to: str | list[str] | None = targets[0] if action == "pass" else targets if action == "whistle" else None
            live.act(self.account, action, request.id, note=NOTE if action == "settle" else "", to=to)
            del self.due[request.id]
        live.confirm_settles()
        return min(self.due.values(), default=math.inf)


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
