"""Live training shifts: a shift rebuilt from its store is the shift that was played, even after a kill -9;
scoring of the trainee's decisions; the undo window; one console per shift; the training scenarios."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import sim.operations.store as store_module
import sim.training.shift as shift_module
from sim.engine.watch import Decision, DeskRecord, DeskWatch
from sim.operations.store import STATUSES, UNDO_WINDOW_S, Refused, RequestRecord, Store
from sim.policies.base import CLOSED, HELD, HUMAN
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import ScoringSpec, hours_from_start
from sim.structure import District, build_district
from sim.structure.ids import in_scope
from sim.training.scoring import ROUTING, score
from sim.training.shift import LiveShift, new_engine
from tests.conftest import ROOT, SCENARIOS

TRAINING = sorted((SCENARIOS / "training").glob("*.toml"))
DRIVER = ROOT / "tests" / "shift_driver.py"
#: A shift at 600 times real time from the second morning (the district has been at work for a day); each
#: test sets the post and the length.
FAST = [
    'training.start="day 2 08:00"',
    "training.speed=600.0",
    "training.follow_up_days=0.5",
]
WRONG_PASSES = ("pass-wrong-1", "pass-wrong-2", "pass-wrong-3")
CRASH_SETS = [
    'training.post="S2"',
    'training.start="day 1 10:00"',
    "training.hours=24.0",
    "training.speed=600.0",
    "training.desk_share=0.5",
    "training.follow_up_days=0.5",
]


# --- helpers ---------------------------------------------------------------------------------------------


class FakeClock:
    """The store's wall clock (undo windows, settles made final), moved by hand."""

    def __init__(self, start: float = 1_000_000_000.0) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(store_module, "time", types.SimpleNamespace(time=clock.time))
    return clock


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(load_scenario(SCENARIOS / "haigang-2020.toml"))


def shift_scenario(post: str, *sets: str, base: Path = SCENARIOS / "haigang-2020.toml") -> Scenario:
    return load_scenario(base, [f'training.post="{post}"', *FAST, *sets])


def everything(store: Store, source: str) -> dict[str, RequestRecord]:
    """The shift's requests in the store, by the simulation's request id."""
    return {r.source_id: r for r in store.queue("district", statuses=STATUSES, source=source)}


def last_action(store: Store, request: RequestRecord) -> store_module.Action:
    return [a for a in store.history(request.id) if a.ok][-1]


def assert_log_matches_rows(store: Store) -> None:
    """Each request's row is the state its last successful action left it in."""
    rows = store.db.execute("SELECT id FROM requests").fetchall()
    for (rid,) in rows:
        request = store.get(rid)
        assert request is not None
        last = last_action(store, request)
        logged = {k: (last.after or {}).get(k) for k in store_module.STATE_FIELDS}
        assert logged == request.state(), f"request #{rid}: row {request.state()} but log #{last.seq} {last.after}"


def assert_agrees(live: LiveShift, store: Store) -> None:
    """Every request the simulation handed to the person is in the store, in the state the engine has it:
    in their queue (open or claimed, at their post), settled within the undo window (closed by a settle
    not yet final), closed, or with someone else (away)."""
    rows = everything(store, live.shift.source)
    assert set(rows) == {str(i) for i in live.played.tracked}
    for rid, req in live.played.tracked.items():
        row = rows[str(rid)]
        last = last_action(store, row)
        if req.state == HUMAN:
            assert row.status in ("open", "claimed") and row.post == live.shift.post, (rid, row)
        elif req.state == HELD:
            assert row.status == "closed" and last.action == "settle", (rid, row, last)
        elif req.state == CLOSED:
            assert row.status == "closed" and last.action != "settle", (rid, row, last)
        else:
            assert row.status == "away", (rid, row)


def engine_state(live: LiveShift) -> dict[str, Any]:
    """What a rebuilt shift must reproduce exactly."""
    e = live.engine
    return {
        "now": e.now,
        "next_id": e.entry.next_id,
        "desk": dict(live.watch.records),
        "decisions": list(live.watch.decisions),
        "produced": live.feed.produced,
        "held": dict(live.played.held),
        "wrong": {k: (dept, back.idx) for k, (dept, back) in e.departments.misdirected.items()},
        "whistles": [(w.depts, [r.id for r in w.reqs], w.covers) for w in e.whistle.calls],
        "tracked": {
            i: (r.state, r.post.idx if r.post else -1, tuple(r.needed), r.responded, r.study, r.version)
            for i, r in live.played.tracked.items()
        },
        "metrics": (e.metrics.whistles, e.metrics.auto_escalations, e.metrics.repeat_requests, e.metrics.injected),
    }


def logged(store: Store) -> list[tuple[Any, ...]]:
    """The action log without its wall-clock times."""
    return [(a.seq, a.request_id, a.operator, a.action, a.sim_h, a.target, a.ok, a.after) for a in store.actions()]


def needed(request: RequestRecord) -> list[str]:
    """The departments a request needs, as its desk reads them (``needs water and housing (...)``)."""
    if not request.needs.startswith("needs "):
        return []
    return request.needs[len("needs ") :].split(" (", 1)[0].split(" and ")


def get(store: Store, request_id: int) -> RequestRecord:
    request = store.get(request_id)
    assert request is not None
    return request


def repeats_scheduled(live: LiveShift, req: Any) -> list[float]:
    """When the resident of ``req`` (the engine's request) will raise it again, if they will."""
    engine = live.engine
    return [t for t, value in engine.env.pending(engine.patience.repeat) if value is req]


def settleable(request: RequestRecord) -> bool:
    return request.needs == "can be settled here"


def wrong_department(request: RequestRecord, store: Store) -> str:
    return next(d["id"] for d in store.departments() if d["id"] not in needed(request))


# --- a shift rebuilt from its store is the shift that was played ------------------------------------------


PLAY = ("settle", "pass", "pass-wrong", "escalate", "whistle", "settle-undo", "claim", "settle-wrong")


def play(
    store: Store, wall: FakeClock, district: District, resume_at: float | None = None
) -> tuple[LiveShift, Counter]:
    """A 4-hour shift at a desk of Chongqingjie Street's office (S2) with every kind of action, each picked
    in turn and fitted to what the request needs; closed and picked up again with ``LiveShift.resume``
    once the simulated clock passes ``resume_at``."""
    scenario = shift_scenario("S2", "training.hours=4.0", "training.desk_share=0.5")
    wall.now = 1_000_000_000.0
    live = LiveShift.begin(store, scenario, "ann", scenario_path="test", district=district)
    done: Counter[str] = Counter()
    turn = 0
    while not live.at_end:
        wall.now += 2.0
        live.tick(0.5)
        if resume_at is not None and live.clock_h >= resume_at:
            resume_at = None
            live.close()
            again = LiveShift.resume(store, district=district)
            assert again is not None
            live = again
        for request in store.queue("S2", source=live.shift.source)[:3]:
            kind = PLAY[turn % len(PLAY)]
            turn += 1
            departments = needed(request)
            try:
                if kind == "settle" and settleable(request):
                    live.act("ann", "settle", request.id, note="explained the rules on the phone")
                elif kind == "settle-wrong" and departments:
                    live.act("ann", "settle", request.id, note="told them it is done")
                elif kind == "pass" and departments:
                    live.act("ann", "pass", request.id, to=departments[0])
                elif kind == "pass-wrong" and departments:
                    live.act("ann", "pass", request.id, to=wrong_department(request, store))
                elif kind == "escalate":
                    live.act("ann", "escalate", request.id)
                elif kind == "whistle" and departments:
                    live.act("ann", "whistle", request.id, to=departments)
                elif kind == "settle-undo":
                    live.act("ann", "settle", request.id, note="sent the grid worker")
                    wall.now += 3.0
                    live.act("ann", "undo", request.id)
                elif kind == "claim":
                    live.act("ann", "claim", request.id)
                else:
                    continue
            except Refused:
                done["refused"] += 1
                continue
            done[kind] += 1
    done["confirm"] = sum(1 for a in store.actions() if a.action == "confirm")
    for kind in ("back", "closed", "moved"):
        done[kind] = sum(1 for a in store.actions() if a.action == kind)
    return live, done


def test_a_shift_rebuilt_from_its_store_is_the_shift_played(
    tmp_path: Path, wall: FakeClock, district: District
) -> None:
    straight_store = Store(tmp_path / "straight.db")
    straight, done = play(straight_store, wall, district)
    # the shift saw every kind of action, and the simulation answered some of them
    for kind in (*PLAY, "confirm", "back", "closed"):
        assert done[kind] >= 1, (kind, done)
    assert_log_matches_rows(straight_store)
    assert_agrees(straight, straight_store)
    played = engine_state(straight)
    straight.close()

    rebuilt = LiveShift.resume(straight_store, district=district)
    assert rebuilt is not None
    assert engine_state(rebuilt) == played
    assert_agrees(rebuilt, straight_store)

    # the same shift played again, closed and resumed at 09:30: the same log and the same engine
    broken_store = Store(tmp_path / "resumed.db")
    resumed, _ = play(broken_store, wall, district, resume_at=hours_from_start("day 2 09:30", date(2020, 6, 1)))
    assert logged(broken_store) == logged(straight_store)
    assert engine_state(resumed) == played


# --- crash safety: kill -9 at random moments, over and over ----------------------------------------------


@dataclass
class Killed:
    """What a killed driver printed: whether it had got as far as starting the shift, and as having it
    ready, the committed actions (seq, action, request id), and how long rebuilding the shift took."""

    starting: bool
    ready: bool
    seqs: list[tuple[int, str, int]]
    rebuild_s: float | None


def drive_and_kill(db: Path, seed: int, *, rebuilding_for: float | None = None, actions: int = 0) -> Killed:
    """Start the driver on ``db`` and SIGKILL it: ``rebuilding_for`` seconds after it said it is starting
    the shift (while it begins or rebuilds it), or else once it has printed ``actions`` committed actions."""
    args = [sys.executable, str(DRIVER), str(db), str(SCENARIOS / "haigang-2020.toml"), "--seed", str(seed)]
    for item in CRASH_SETS:
        args += ["--set", item]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    got: list[str] = []
    starting = ready = None
    try:
        while True:
            line = lines.get(timeout=120)
            if line is None or line.strip() == "idle":
                break
            got.append(line)
            if line.strip() == "starting":
                starting = time.monotonic()
                if rebuilding_for is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=rebuilding_for)  # not expected to end: this is the time it gets
                    break
            elif line.strip() == "ready":
                ready = time.monotonic()
            elif len(got) - 2 >= actions:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        reader.join(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the driver died on its own ({proc.returncode}):\n{err}"
    while (line := lines.get()) is not None:
        got.append(line)
    seqs = []
    for line in got:
        words = line.split()
        if line.endswith("\n") and len(words) == 3:  # a line cut short by the kill is not a promise
            seqs.append((int(words[0]), words[1], int(words[2])))
    printed = {line.strip() for line in got}
    rebuild_s = ready - starting if ready is not None and starting is not None else None
    return Killed("starting" in printed, "ready" in printed, seqs, rebuild_s)


@pytest.mark.slow
def test_a_shift_survives_kill_9_at_random_moments(tmp_path: Path, district: District) -> None:
    db = tmp_path / "crash.db"
    rng = random.Random(20200602)
    printed: list[tuple[int, str, int]] = []
    rebuild_s = 1.0
    kills = while_rebuilding = 0
    # kill once it has done some work, then while it rebuilds the shift, and again; until at least six
    # kills, two or more of them while the driver was replaying the shift's log (at most ten)
    while kills < 6 or (while_rebuilding < 2 and kills < 10):
        if kills % 2 == 0:
            killed = drive_and_kill(db, kills, actions=rng.randint(5, 25))
            if killed.rebuild_s is not None:
                rebuild_s = min(rebuild_s, killed.rebuild_s)
        else:
            killed = drive_and_kill(db, kills, rebuilding_for=rng.uniform(0.3, 0.97) * rebuild_s)
            while_rebuilding += killed.starting and not killed.ready
        kills += 1
        printed += killed.seqs

        with Store(db) as store:
            # nothing committed is lost
            log = {a.seq: a for a in store.actions()}
            for seq, action, rid in printed:
                assert seq in log and log[seq].ok, f"action #{seq} ({action} on #{rid}) was printed but is gone"
                assert (log[seq].action, log[seq].request_id) == (action, rid)
            assert_log_matches_rows(store)
            assert store.verify().ok, store.verify().problems  # killed mid-write: the chain is still whole
            if store.current_shift() is None:
                continue  # killed before the shift was started: the next driver begins it
            before = store.last_seq()
            live = LiveShift.resume(store, district=district)  # the dead driver's hold is taken over
            assert live is not None
            assert_agrees(live, store)
            shift = store.current_shift()
            assert shift is not None and live.feed.produced == shift.feed_applied
            if killed.ready:
                assert store.last_seq() == before, "the rebuilt shift found something the store did not have"
            if kills % 3 == 0:  # this console plays on a moment, after the undo windows: settles become final
                later = types.SimpleNamespace(time=lambda: time.time() + 2 * UNDO_WINDOW_S)
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(store_module, "time", later)
                    live.tick(0.0)
                assert_agrees(live, store)
            live.close()

    assert while_rebuilding >= 2, "no kill landed while the driver was rebuilding the shift"
    assert len(printed) >= 15
    with Store(db) as store:
        kinds = Counter(a.action for a in store.actions() if a.ok)
        for kind in ("arrived", "claim", "settle", "confirm", "pass", "escalate"):
            assert kinds[kind], (kind, kinds)


def test_a_second_console_cannot_take_a_shift_that_is_being_played(
    tmp_path: Path, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "held.db")
    first = LiveShift.begin(store, shift_scenario("T3", "training.hours=1.0"), "ann", district=district)
    first.tick(1.0)
    # another process on this machine, alive (this test's parent), tries to pick the shift up
    monkeypatch.setattr(shift_module, "holder_id", lambda: f"{socket.gethostname()}:{os.getppid()}")
    with pytest.raises(Refused, match="being played by another console"):
        LiveShift.resume(Store(tmp_path / "held.db"), district=district)
    first.close()
    second = LiveShift.resume(Store(tmp_path / "held.db"), district=district)
    assert second is not None and second.clock_h == first.clock_h


# --- scoring ------------------------------------------------------------------------------------------------


@dataclass
class Scored:
    store: Store
    live: LiveShift
    scenario: Scenario
    district: District
    ids: dict[str, int]
    repeats_pending: list[float]
    result: dict[str, Any]
    report_dir: Path


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scored]:
    """A 6-hour shift at Liuqiao Town's office (T1) with one of each decision that scoring judges; the
    quarantine incident of the epidemic scenario is moved to the shift's first minutes."""
    base = SCENARIOS / "training" / "epidemic-surge.toml"
    scenario = shift_scenario(
        "T1",
        "training.hours=6.0",
        "training.desk_share=1.0",
        "training.follow_up_days=1.0",
        'injects.1.at="day 2 08:05"',
        'injects.1.node="T1"',
        base=base,
    )
    district = build_district(scenario)
    folder = tmp_path_factory.mktemp("scored")
    store = Store(folder / "scored.db")
    clock = FakeClock()
    ids: dict[str, int] = {}
    repeats: list[float] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_module, "time", types.SimpleNamespace(time=clock.time))
        live = LiveShift.begin(store, scenario, "ann", scenario_path=str(base), district=district)

        def first(test: Callable[[RequestRecord], bool]) -> RequestRecord | None:
            return next((r for r in store.queue("T1", source=live.shift.source) if test(r)), None)

        def once(name: str, test: Callable[[RequestRecord], bool], act: Callable[[RequestRecord], None]) -> None:
            if name not in ids and (request := first(test)) is not None:
                act(request)
                ids[name] = request.id

        while not live.at_end:
            clock.now += 1.0
            live.tick(1.0)
            once(
                "whistle",
                lambda r: r.category == "quarantine_supplies",
                lambda r: live.act("ann", "whistle", r.id, to=["health", "civil_affairs"]),
            )
            once(
                "whistle-one",
                lambda r: r.category != "quarantine_supplies" and len(needed(r)) == 1 and r.priority != "special",
                lambda r: live.act("ann", "whistle", r.id, to=needed(r)),
            )
            for name in WRONG_PASSES:  # a few, in case a referral takes longer than the shift
                once(
                    name,
                    lambda r: len(needed(r)) == 1,
                    lambda r: live.act("ann", "pass", r.id, to=wrong_department(r, store)),
                )
            once("pass", lambda r: len(needed(r)) == 1, lambda r: live.act("ann", "pass", r.id, to=needed(r)[0]))
            once("settle", settleable, lambda r: live.act("ann", "settle", r.id, note="talked to both neighbours"))
            once("escalate", settleable, lambda r: live.act("ann", "escalate", r.id))
            once(
                "settle-wrong",
                lambda r: len(needed(r)) == 1,
                lambda r: live.act("ann", "settle", r.id, note="told the resident it is fixed"),
            )
            if "settle-wrong" in ids and not repeats:
                req = live.played.tracked[int(get(store, ids["settle-wrong"]).source_id)]
                if req.state == CLOSED:  # made final on this tick: the resident will raise it again
                    repeats = repeats_scheduled(live, req)
            back = [r for name in WRONG_PASSES if name in ids and (r := get(store, ids[name])).status == "open"]
            if back and "pass-again" not in ids:
                live.act("ann", "pass", back[0].id, to=needed(back[0])[0])
                ids["pass-again"] = back[0].id
        result = live.finish(folder / "report")
    yield Scored(store, live, scenario, district, ids, repeats, result, folder / "report")
    store.close()


def decisions_on(scored: Scored, name: str) -> list[tuple[str, bool]]:
    sid = int(get(scored.store, scored.ids[name]).source_id)
    return [(d.kind, d.right) for d in scored.live.watch.decisions if d.id == sid and d.at < scored.live.shift.end_h]


def test_scored_shift_took_every_decision(scored: Scored) -> None:
    names = {"whistle", "whistle-one", "pass", "settle", "escalate", "settle-wrong", "pass-again", *WRONG_PASSES}
    assert set(scored.ids) == names


def test_a_wrong_pass_comes_back_wrong_department_and_counts_as_wrong_routing(scored: Scored) -> None:
    store, rid = scored.store, scored.ids["pass-again"]
    history = [(a.action, a.target, a.note) for a in store.history(rid) if a.ok]
    wrong = next(i for i, (action, _, _) in enumerate(history) if action == "pass")
    back = history.index(("back", "", "wrong department"))
    assert wrong < back and history[back + 1][0] == "pass" and history[back + 1][1] != history[wrong][1]
    for name in WRONG_PASSES:
        assert decisions_on(scored, name)[0] == ("pass", False)
    # passed on again, to the right department this time
    assert decisions_on(scored, "pass-again")[1:] == [("pass", True)]
    routing = scored.result["score"]["parts"]["routing"]
    end = scored.live.shift.end_h
    mine = [d for d in scored.live.watch.decisions if d.kind in ROUTING and d.at < end]
    decided = {d.id for d in scored.live.watch.decisions if d.at < end}
    left = [k for k, r in scored.live.watch.records.items() if k not in decided and not 0 <= r.closed < end]
    assert left  # the driver works only a few of the desk's requests: the rest count against routing
    assert routing["judged"] == len(mine) + len(left)
    assert routing["right"] == sum(d.right for d in mine) < routing["judged"]
    lesson = next(text for text in scored.result["lessons"] if "routed" in text)
    assert f"{len(left)} left at the desk" in lesson


def test_sitting_on_the_queue_scores_no_routing() -> None:
    def record(key: int, closed: float = -1.0) -> DeskRecord:
        return DeskRecord(key, 0, 2, 1.0, 25.0, 200.0, False, closed=closed)

    desk = {1: record(1, closed=2.0), 2: record(2), 3: record(3, closed=3.5), 4: record(4, closed=9.0)}
    # 1 passed right and closed; 2 never touched; 3 given up by its resident during the shift;
    # 4 untouched during the shift and closed by the post's staff after it
    decisions = [Decision(1, 1.5, "pass", True), Decision(2, 5.0, "pass", True)]  # 2's came after the end
    weights = ScoringSpec()
    routing = score(desk, decisions, weights, shift_end_h=4.0, end_h=300.0).part("routing")
    assert (routing.judged, routing.right) == (3, 1)  # 1, and 2 and 4 left at the desk
    nothing = score(desk, [], weights, shift_end_h=4.0, end_h=300.0).part("routing")
    assert (nothing.judged, nothing.right) == (2, 0)  # 2 and 4; 1 and 3 were closed during the shift


def test_settling_what_needed_a_department_closes_it_not_fixed(scored: Scored) -> None:
    request = get(scored.store, scored.ids["settle-wrong"])
    assert request.status == "closed"
    assert request.outcome is not None and request.outcome.endswith("not fixed")
    assert [a.action for a in scored.store.history(request.id) if a.ok][-3:] == ["settle", "confirm", "closed"]
    record = scored.live.watch.records[int(request.source_id)]
    assert record.closed >= 0 and not record.fixed
    assert decisions_on(scored, "settle-wrong") == [("settle", False)]
    # the resident raises it again
    assert len(scored.repeats_pending) == 1
    # whereas what the town could settle was settled for good
    settled = get(scored.store, scored.ids["settle"])
    assert settled.outcome == "settled at T1"
    assert decisions_on(scored, "settle") == [("settle", True)]


def test_a_whistle_summoning_both_departments_a_request_needs_is_right(scored: Scored) -> None:
    request = get(scored.store, scored.ids["whistle"])
    assert request.category == "quarantine_supplies" and needed(request) == ["health", "civil_affairs"]
    whistled = [a for a in scored.store.history(request.id) if a.action == "whistle" and a.ok]
    assert [a.target for a in whistled] == ["health+civil_affairs"]
    assert decisions_on(scored, "whistle") == [("whistle", True)]
    assert request.status == "closed" and (request.outcome or "").startswith("resolved on the whistle")
    assert request.summons == {}  # closed: the summons ended
    # a whistle for a request one department deals with alone, not special, was not called for
    assert decisions_on(scored, "whistle-one") == [("whistle", False)]
    whistles = scored.result["score"]["parts"]["whistles"]
    assert whistles["judged"] >= 2 and whistles["right"] < whistles["judged"]
    lesson = next(text for text in scored.result["lessons"] if "whistle decisions" in text)
    assert "whistled that did not need it" in lesson


def test_escalating_what_the_post_could_settle_is_wrong(scored: Scored) -> None:
    request = get(scored.store, scored.ids["escalate"])
    assert [a.target for a in scored.store.history(request.id) if a.action == "escalate"] == ["district"]
    assert decisions_on(scored, "escalate") == [("escalate", False)]
    escalations = scored.result["score"]["parts"]["escalations"]
    assert escalations["judged"] == 1 and escalations["right"] == 0


def test_finish_scores_the_engine_policy_on_the_same_seed_and_writes_the_report(scored: Scored) -> None:
    result, live = scored.result, scored.live
    # the yardstick: the engine's own policy at T1, recomputed here from the seed
    spec = scored.scenario.training
    assert spec is not None
    shift = live.shift
    baseline = new_engine(scored.scenario, scored.district, shift.seed, live.follow_end_h)
    baseline.start()
    baseline.advance(shift.start_h)
    watch = baseline.watch(DeskWatch(live.posts, shift.end_h, spec.desk_share))
    baseline.advance(live.follow_end_h)
    theirs = score(watch.records, watch.decisions, spec.scoring, shift.end_h, live.follow_end_h)
    assert result["engine_policy"] == theirs.as_dict()
    assert theirs.requests > 10 and result["score"]["total"] < result["engine_policy"]["total"]
    assert 0 <= result["score"]["total"] <= 100 and not result["ended_early"]
    # the store keeps the shift as finished, with its result
    stored = scored.store.shift(shift.id)
    assert stored is not None and stored.status == "finished" and stored.finished_at
    assert stored.result == json.loads(json.dumps(result, default=str))
    assert scored.store.current_shift() is None
    # what was left in the trainee's queue went back to the post's staff
    assert not scored.store.queue("T1", source=shift.source)
    # the report and its timeline
    report = Path(result["report"])
    assert report == scored.report_dir / "report.md"
    text = report.read_text(encoding="utf-8")
    assert "# After-action report: ann at T1" in text and "![timeline](timeline.png)" in text
    assert f"**{result['score']['total']:.0f} / 100**" in text
    assert "Twelve households of Lijiatun" in text  # the scripted incident, in the incidents table
    png = Path(result["timeline"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600


def test_train_with_no_shift_under_way_points_at_the_last_report(scored: Scored, cli: Any) -> None:
    result = cli("train", "--db", str(scored.store.path))
    assert result.code == 2 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "no shift is under way" in message and f"scored {scored.result['score']['total']:.0f} / 100" in message
    assert "report.md" in message and "scenarios/training/weekday-morning.toml" in message


# --- the undo window -----------------------------------------------------------------------------------


def test_undo_works_for_ten_seconds_then_the_settle_becomes_final(
    tmp_path: Path, wall: FakeClock, district: District
) -> None:
    store = Store(tmp_path / "undo.db")
    live = LiveShift.begin(store, shift_scenario("T1", "training.hours=2.0"), "ann", district=district)
    while len(store.queue("T1", source=live.shift.source)) < 2:
        wall.now += 1.0
        live.tick(1.0)
    one, two = store.queue("T1", source=live.shift.source)[:2]
    engine_req = live.played.tracked[int(one.source_id)]

    live.act("ann", "settle", one.id, note="sorted out on the phone")
    assert engine_req.state == HELD
    wall.now += 9.5
    restored = live.act("ann", "undo", one.id)
    assert restored.status == one.status and restored.outcome is None
    assert engine_req.state == HUMAN

    live.act("ann", "settle", one.id, note="sorted out on the phone, really")
    live.act("ann", "settle", two.id, note="sorted out as well")
    wall.now += 5.0
    live.tick(0.0)  # inside the window: nothing is final yet
    assert engine_req.state == HELD and last_action(store, get(store, one.id)).action == "settle"
    wall.now += 5.5
    with pytest.raises(Refused, match="too late to undo"):
        live.act("ann", "undo", one.id)
    assert engine_req.state == HELD
    live.tick(0.0)  # the first tick after the window makes both final
    for request in (one, two):
        actions = [a.action for a in store.history(request.id) if a.ok]
        assert actions[-2:] == ["confirm", "closed"], actions
    assert engine_req.state == CLOSED
    with pytest.raises(Refused):
        live.act("ann", "undo", one.id)
    assert_agrees(live, store)
    assert_log_matches_rows(store)
    # the report judges the settle that stood, not the one taken back
    report = Path(live.finish(tmp_path / "report")["report"]).read_text(encoding="utf-8")
    rows = [line.rsplit("|", 2)[-2].strip() for line in report.splitlines() if f"| #{one.id} | settle |" in line]
    assert rows[0] == "undone" and rows[1] in ("right", "wrong") and len(rows) == 2


# --- the training scenarios ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", TRAINING, ids=[p.stem for p in TRAINING])
def test_training_scenario_plays_and_its_incidents_reach_the_desk(path: Path, tmp_path: Path) -> None:
    assert path.read_text(encoding="utf-8").startswith("#"), "a training scenario opens with what the exercise is"
    scenario = load_scenario(path, ["training.speed=600.0", "training.follow_up_days=0.1"])
    spec = scenario.training
    assert spec is not None and len(spec.briefing.split()) > 40 and scenario.injects
    store = Store(tmp_path / "smoke.db")
    live = LiveShift.begin(store, scenario, "trainee", scenario_path=str(path))
    while not live.at_end:
        live.tick(1.0)
    start_h = hours_from_start(spec.start, scenario.clock.start)
    mine = [
        i
        for i in scenario.injects
        if in_scope(spec.post, i.node) and start_h <= hours_from_start(i.at, scenario.clock.start) < live.shift.end_h
    ]
    assert len(mine) == len(scenario.injects) == 3
    handed = {live.engine.injected[i] for i in live.played.tracked if i in live.engine.injected}
    assert handed == {i.text for i in mine}
    texts = [r.text for r in everything(store, live.shift.source).values()]
    for inject in mine:
        assert any(t.endswith(f": {inject.text}") for t in texts), inject.text
    queue_now = store.queue(spec.post, source=live.shift.source)
    assert len(everything(store, live.shift.source)) >= 15 and queue_now
    request = queue_now[0]
    live.act("trainee", "claim", request.id)
    result = live.finish(tmp_path / "report")
    assert result["score"]["requests"] >= 15 and Path(result["report"]).is_file()
    finished = store.shift(live.shift.id)
    assert finished is not None and finished.status == "finished"
