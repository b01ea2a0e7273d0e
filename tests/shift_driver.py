"""A console that dies: drives a training shift on a queue store until it is killed (test_shift's crash test).

Once its imports are done it prints ``starting``, begins the shift a scenario describes or resumes the
one under way in the store, prints ``ready``, then loops for ever: lets a little wall time pass
(``tick``), and acts on a random request of the post's queue (claim, settle, pass, whistle, escalate;
sometimes an undo right after a settle). After each action the store committed it prints the action's
log ``seq``, the action and the request id on one line, flushed, so that whoever kills it knows what
must have survived. When the shift is over and the queue is empty it prints ``idle`` and waits to be
killed.

    python tests/shift_driver.py DB SCENARIO [--set KEY=VALUE ...] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import threading
from collections.abc import Sequence
from typing import Any

from sim.operations.store import Refused, RequestRecord, Store
from sim.scenario import load_scenario
from sim.training.shift import LiveShift

OPERATOR = "driver"
ACTIONS = ("claim", "settle", "settle", "pass", "pass", "escalate", "whistle")
TICKS = (0.0, 0.01, 0.02, 0.05)


def choose(rng: random.Random, request: RequestRecord, departments: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """A random action on ``request`` with what it needs: a note, a department (usually the right one)."""
    action = rng.choice(ACTIONS)
    if action == "settle":
        return action, {"note": "settled on the phone"}
    if action == "pass":
        needed = [d for d in departments if d in request.needs]
        return action, {"to": needed[0] if needed and rng.random() < 0.7 else rng.choice(departments)}
    if action == "whistle":
        return action, {"to": rng.sample(list(departments), rng.randint(1, 2))}
    return action, {}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("scenario")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print("starting", flush=True)  # imports done: now the shift is begun or rebuilt
    store = Store(args.db)
    live = LiveShift.resume(store)
    if live is None:
        scenario = load_scenario(args.scenario, args.sets)
        live = LiveShift.begin(store, scenario, OPERATOR, scenario_path=args.scenario)
    print("ready", flush=True)

    rng = random.Random(args.seed)
    departments = [row["id"] for row in store.departments()]
    post, source = live.shift.post, live.shift.source
    while True:
        live.tick(rng.choice(TICKS))
        queue = store.queue(post, source=source)
        if not queue:
            if live.at_end:
                print("idle", flush=True)
                threading.Event().wait()  # nothing left to do: wait to be killed
            continue
        request = rng.choice(queue)
        action, options = choose(rng, request, departments)
        if not act(store, live, action, request.id, options):
            continue
        if action == "settle" and rng.random() < 0.3:
            act(store, live, "undo", request.id, {})  # thought better of it, within the undo window


def act(store: Store, live: LiveShift, action: str, request_id: int, options: dict[str, Any]) -> bool:
    """Do ``action``; once the store has committed it, print its seq. False if it was refused."""
    try:
        live.act(OPERATOR, action, request_id, **options)
    except Refused:
        return False
    seq = max(a.seq for a in store.history(request_id) if a.ok and a.operator == OPERATOR)
    print(seq, action, request_id, flush=True)
    return True


if __name__ == "__main__":
    main()
