"""The operators' queue store and the live training shift on it, beside references measured in the same run.

(a) Operator actions through the store: 1,000 requests added to a store holding the default district
    (haigang-2020), then 1,000 claims and 1,000 passes (to the water bureau) through ``Store.act``, each
    its own transaction (the account's grants checked, the action table applied, the log row hashed onto
    the chain), in wall time and in CPU time (which leaves out the wait for the disk), against bare SQLite
    in a fresh file with the same pragmas (WAL, ``synchronous=FULL``) doing as many transactions, each one
    conditional UPDATE of a row and one INSERT into a log table; the two run in alternating blocks of 50,
    so both meet the disk in the same mood (target: an action under 10 ms).
(b) The training shift's clock: ``weekday-morning`` at 600 times real time, ``tick(0.25)`` over two
    simulated hours from the shift's start with the trainee doing nothing (each tick writes what arrived
    and what became of it in one transaction), against a bare engine (``new_engine``, same scenario and
    seed, no store) advanced over the same span in the same steps (target: the worst tick at most 100 ms,
    well within the console's 250 ms tick interval).
(c) Resume after a crash: the same shift played for two simulated hours with 20 claims and passes spread
    over them, its store closed without letting go of the shift (as a killed process leaves it) and
    ``LiveShift.resume`` timed on a new store connection, against ``LiveShift.begin`` of the same scenario
    on a fresh store, warm-up included (target: resume at most 2x begin).

Run: ``.venv/bin/python benchmarks/bench_store.py``
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from _measure import ROOT

from sim.operations.store import NewRequest, Refused, Store, load_district
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import hours_from_start
from sim.structure import build_district
from sim.training.shift import LiveShift, new_engine

DISTRICT = ROOT / "scenarios" / "haigang-2020.toml"
TRAINING = ROOT / "scenarios" / "training" / "weekday-morning.toml"
N = 1_000
POST = "S1"
DEPARTMENT = "water"
TICK_S = 0.25
SPEED = 600.0
SPAN_H = 2.0
ACTIONS = 20
CHUNK = 50


# --- (a) operator actions ------------------------------------------------------------------------------


def new_requests(grids: list[str]) -> list[NewRequest]:
    return [
        NewRequest(
            "bench",
            str(i),
            f"2020-06-02T{8 + i // 600:02d}:{i // 10 % 60:02d}:00",
            "drain_sewage",
            "urgent",
            grids[i % len(grids)],
            grids[i % len(grids)],
            "2020-06-02T20:00:00",
            "2020-06-05T08:00:00",
            "The drain in front of the building is blocked.",
        )
        for i in range(N)
    ]


def bare_db(path: Path) -> sqlite3.Connection:
    """A fresh SQLite file with the store's pragmas: N open requests and an empty log."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE requests (id INTEGER PRIMARY KEY, post TEXT NOT NULL, status TEXT NOT NULL,"
        " claimed_by TEXT, version INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, operator TEXT, action TEXT,"
        " at_wall REAL, before TEXT, after TEXT)"
    )
    db.execute("BEGIN")
    db.executemany("INSERT INTO requests (id, post, status) VALUES (?, ?, 'open')", [(i, POST) for i in range(N)])
    db.execute("COMMIT")
    return db


BARE = {
    "claim": ("UPDATE requests SET status = 'claimed', claimed_by = ?, version = version + 1"
              " WHERE id = ? AND status = 'open'", "ann"),
    "pass": ("UPDATE requests SET status = 'open', post = ?, claimed_by = NULL, version = version + 1"
             " WHERE id = ? AND status = 'claimed'", DEPARTMENT),
}  # fmt: skip


def bare_act(db: sqlite3.Connection, action: str, rid: int) -> None:
    """One transaction: a conditional UPDATE of the request's row and one INSERT into the log."""
    update, value = BARE[action]
    db.execute("BEGIN IMMEDIATE")
    changed = db.execute(update, (value, rid)).rowcount
    state = json.dumps({"post": POST, "status": "open", "claimed_by": None, "passed_to": None})
    db.execute(
        "INSERT INTO log (request_id, operator, action, at_wall, before, after) VALUES (?, ?, ?, ?, ?, ?)",
        (rid, "ann", action, time.time(), state, state if changed else None),
    )
    db.execute("COMMIT")


def operator_actions(folder: Path) -> dict[str, list[float]]:
    """Seconds per action through the store and per bare transaction, measured in alternating blocks of
    CHUNK so that both meet the same disk (its flush latency moves with whatever else the machine does)."""
    scenario = load_scenario(DISTRICT)
    district = build_district(scenario)
    times: dict[str, list[float]] = {"add": [], "claim": [], "pass": [], "bare": [], "cpu": [], "bare_cpu": []}
    with Store(folder / "queue.db") as store:
        load_district(store, scenario, district, account="admin")
        store.grant("admin", "ann", POST)
        grids = [node for node in district.walk() if node.startswith(POST + "/C") and node.count("/") == 2]
        start = time.perf_counter()
        ids, _ = store.add(new_requests(grids))
        times["add"].append(time.perf_counter() - start)
        db = bare_db(folder / "bare.db")
        for action in ("claim", "pass"):
            to = DEPARTMENT if action == "pass" else None
            for lo in range(0, N, CHUNK):
                for rid in ids[lo : lo + CHUNK]:
                    start, cpu = time.perf_counter(), time.process_time()
                    store.act("ann", POST, action, rid, to=to)
                    times[action].append(time.perf_counter() - start)
                    times["cpu"].append(time.process_time() - cpu)
                for rid in range(lo, min(lo + CHUNK, N)):
                    start, cpu = time.perf_counter(), time.process_time()
                    bare_act(db, action, rid)
                    times["bare"].append(time.perf_counter() - start)
                    times["bare_cpu"].append(time.process_time() - cpu)
        db.close()
        assert len(store.queue(DEPARTMENT)) == N
    return times


# --- (b) and (c) the training shift ------------------------------------------------------------------------


def training() -> Scenario:
    return load_scenario(TRAINING, [f"training.speed={SPEED}"])


def steps() -> int:
    return round(SPAN_H * 3600.0 / (SPEED * TICK_S))


def idle_shift(folder: Path) -> dict[str, float]:
    """Seconds per tick of a shift whose trainee does nothing, and the requests it wrote."""
    scenario = training()
    with Store(folder / "idle.db") as store:
        start = time.perf_counter()
        live = LiveShift.begin(store, scenario, "ann", scenario_path=TRAINING)
        begun = time.perf_counter() - start
        ticks = []
        for _ in range(steps()):
            start = time.perf_counter()
            live.tick(TICK_S)
            ticks.append(time.perf_counter() - start)
        arrived = len(store.queue(POST, source=live.shift.source))
        live.close()
    return {
        "begin_s": begun,
        "ticks": float(len(ticks)),
        "total_s": sum(ticks),
        "mean_s": statistics.fmean(ticks),
        "median_s": statistics.median(ticks),
        "worst_s": max(ticks),
        "first_s": ticks[0],
        "arrived": float(arrived),
    }


def bare_engine() -> float:
    """Seconds for a bare engine to cover the same simulated span in the same steps, with no store."""
    scenario = training()
    spec = scenario.training
    assert spec is not None
    start_h = hours_from_start(spec.start, scenario.clock.start)
    end_h = start_h + spec.hours + spec.follow_up_days * 24.0  # as the live shift's engine
    engine = new_engine(scenario, build_district(scenario), scenario.seed, end_h)
    engine.start()
    engine.advance(start_h)
    clock = start_h
    start = time.perf_counter()
    for _ in range(steps()):
        clock = min(clock + SPEED * TICK_S / 3600.0, start_h + spec.hours)  # as ``LiveShift.tick``
        engine.advance(clock)
    return time.perf_counter() - start


def act_on_queue(live: LiveShift, store: Store) -> str:
    """Pass the first request the trainee holds to its department, or else claim the first open one."""
    departments = {k: str(v.get("department") or DEPARTMENT) for k, v in store.categories().items()}
    waiting = store.queue(POST, source=live.shift.source)
    for request in waiting:
        if request.status == "claimed" and request.claimed_by == "ann":
            live.act("ann", "pass", request.id, to=departments.get(request.category, DEPARTMENT))
            return "pass"
    for request in waiting:
        if request.status == "open":
            live.act("ann", "claim", request.id)
            return "claim"
    return ""


def crash_and_resume(folder: Path) -> dict[str, float]:
    """Seconds to begin a shift on a fresh store, and to resume it after a crash two simulated hours in."""
    scenario = training()
    path = folder / "played.db"
    store = Store(path)
    start = time.perf_counter()
    live = LiveShift.begin(store, scenario, "ann", scenario_path=TRAINING)
    begun = time.perf_counter() - start
    n = steps()
    done: dict[str, int] = {"claim": 0, "pass": 0, "refused": 0}
    for i in range(n):
        live.tick(TICK_S)
        due = (i + 1) * ACTIONS // n  # the actions spread evenly over the ticks
        while done["claim"] + done["pass"] < due:
            try:
                kind = act_on_queue(live, store)
            except Refused:
                done["refused"] += 1
                break
            if not kind:
                break
            done[kind] += 1
    played = (live.clock_h, live.engine.now, live.feed.produced, len(live.played.tracked))
    store.set_shift(live.shift.id, holder="elsewhere:1", held_until=0.0)  # as a killed process leaves it
    store.close()  # no live.close(): the process died here
    del live
    store = Store(path)
    start = time.perf_counter()
    resumed = LiveShift.resume(store)
    took = time.perf_counter() - start
    assert resumed is not None
    again = (resumed.clock_h, resumed.engine.now, resumed.feed.produced, len(resumed.played.tracked))
    assert again == played, (again, played)
    logged = store.last_seq()
    resumed.close()
    store.close()
    return {"begin_s": begun, "resume_s": took, "logged": float(logged), **{k: float(v) for k, v in done.items()}}


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp)
        acts = operator_actions(folder)
        idle = idle_shift(folder)
        engine = bare_engine()
        crash = crash_and_resume(folder)

    def ms(x: float) -> str:
        return f"{x * 1000:.2f} ms"

    store = acts["claim"] + acts["pass"]
    per_action = statistics.fmean(store)
    per_bare = statistics.fmean(acts["bare"])
    print(f"store: {N:,} requests added to a store of haigang-2020, then {N:,} claims and {N:,} passes")
    print(f"  adding the {N:,} in one transaction {acts['add'][0]:.2f} s")
    print(
        f"  Store.act {ms(per_action)} per action (claim {ms(statistics.fmean(acts['claim']))},"
        f" pass {ms(statistics.fmean(acts['pass']))}; median {ms(statistics.median(store))},"
        f" worst {ms(max(store))}); target ≤ 10 ms"
    )
    print(
        f"  bare SQLite with the same pragmas {ms(per_bare)} per transaction (median"
        f" {ms(statistics.median(acts['bare']))}); the store {per_action / per_bare:.1f}x"
    )
    cpu, bare_cpu = statistics.fmean(acts["cpu"]), statistics.fmean(acts["bare_cpu"])
    print(
        f"  CPU time (the disk left out): the store {ms(cpu)} per action, bare SQLite {ms(bare_cpu)}"
        f" ({cpu / bare_cpu:.1f}x)"
    )
    ticks = int(idle["ticks"])
    print(
        f"shift: weekday-morning at {SPEED:g}x, {ticks} ticks of {TICK_S:g} s over {SPAN_H:g} simulated hours,"
        f" trainee idle ({int(idle['arrived'])} requests reached the desk)"
    )
    print(
        f"  tick {ms(idle['mean_s'])} mean, {ms(idle['median_s'])} median, {ms(idle['worst_s'])} worst"
        f" (the first, at 08:00: {ms(idle['first_s'])});"
        f" {idle['total_s']:.3f} s in all, a bare engine over the same steps {engine:.3f} s"
        f" ({idle['total_s'] / engine:.1f}x); target worst ≤ 100 ms"
    )
    print(
        f"shift: resumed after a crash {SPAN_H:g} simulated hours in ({int(crash['claim'])} claims,"
        f" {int(crash['pass'])} passes, {int(crash['refused'])} refused; {int(crash['logged'])} log rows)"
    )
    print(
        f"  resume {crash['resume_s']:.2f} s, begin on a fresh store {crash['begin_s']:.2f} s"
        f" ({crash['resume_s'] / crash['begin_s']:.2f}x); target ≤ 2x"
    )
    return {
        "action_s": per_action,
        "bare_action_s": per_bare,
        "action_cpu_s": cpu,
        "bare_action_cpu_s": bare_cpu,
        "add_s": acts["add"][0],
        "tick_mean_s": idle["mean_s"],
        "tick_worst_s": idle["worst_s"],
        "ticks_total_s": idle["total_s"],
        "engine_total_s": engine,
        "resume_s": crash["resume_s"],
        "begin_s": crash["begin_s"],
    }


if __name__ == "__main__":
    main()
