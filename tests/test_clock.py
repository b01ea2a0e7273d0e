"""The engine's Clock carries out its calls in exactly the order SimPy would have run them as events.

The reference is a plain ``simpy.Environment`` where each call is a ``Timeout`` with the same callback;
the same schedule (calls that schedule more calls, a SimPy process beside them, ties in time, several
``run(until=...)`` steps) must give the same sequence of (time, label) and the same clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.tokens import Clock, call

DELAYS = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5])  # few values: many ties in time
PLAN = st.lists(st.lists(DELAYS, max_size=3), min_size=1, max_size=25)
"""For each call, the delays of the calls it schedules when it runs (by position in the list)."""


def play(env: simpy.Environment, schedule: Callable[[float, Any, Callable[[Any], None]], None], plan, stops):  # type: ignore[no-untyped-def]
    seen: list[tuple[float, str]] = []
    made = [0]

    def run(label: int) -> None:
        seen.append((env.now, f"call {label}"))
        for delay in plan[label % len(plan)]:
            made[0] += 1
            if made[0] < 200:
                schedule(delay, made[0], run)

    def walker():  # type: ignore[no-untyped-def]
        for step in (0.5, 0.0, 1.0, 0.25):
            yield env.timeout(step)
            seen.append((env.now, "process"))

    schedule(0.0, 0, run)
    schedule(0.5, 1, run)
    env.process(walker())
    for until in stops:
        if until > env.now:
            env.run(until=until)
            seen.append((env.now, "stop"))
    env.run()
    return seen, env.now


def simpy_schedule(env: simpy.Environment) -> Callable[[float, Any, Callable[[Any], None]], None]:
    def schedule(delay: float, value: Any, fn: Callable[[Any], None]) -> None:
        env.timeout(delay, value).callbacks.append(lambda ev: fn(ev.value))

    return schedule


@settings(max_examples=60, deadline=None)
@given(plan=PLAN, stops=st.lists(st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.0]), max_size=3).map(sorted))
def test_the_clock_runs_calls_and_events_in_the_order_simpy_would(plan, stops) -> None:  # type: ignore[no-untyped-def]
    reference = simpy.Environment(0.0)
    clock = Clock(0.0)
    expected = play(reference, simpy_schedule(reference), plan, stops)
    got = play(clock, lambda delay, value, fn: call(clock, delay, value, fn), plan, stops)
    assert got == expected


def test_run_until_stops_before_what_is_due_then_and_step_takes_one_call() -> None:
    clock = Clock(0.0)
    seen: list[float] = []
    for delay in (1.0, 2.0, 2.0, 3.0):
        call(clock, delay, delay, seen.append)
    clock.step()
    assert seen == [1.0] and clock.now == 1.0
    clock.run(until=2.0)
    assert seen == [1.0] and clock.now == 2.0  # as SimPy: what is due at 2.0 runs on the next run
    assert sorted(clock.pending(seen.append)) == [(2.0, 2.0), (2.0, 2.0), (3.0, 3.0)]
    with pytest.raises(ValueError, match="must be greater"):
        clock.run(until=1.0)
    clock.run(until=2.5)
    assert seen == [1.0, 2.0, 2.0]
    clock.run()
    assert seen == [1.0, 2.0, 2.0, 3.0] and clock.pending(seen.append) == []
    with pytest.raises(simpy.core.EmptySchedule):
        clock.step()
