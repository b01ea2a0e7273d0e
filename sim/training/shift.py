"""A live shift: the simulation plays the district in scaled real time while a person works one post.

A training shift puts a trainee at one post (a street's command centre, a grid team, a department). The
engine plays everyone else; requests reaching the trainee's post go into the queue store instead of the
post's in-trays, the trainee acts on them through the store, and the engine carries each action out and
writes back what became of the request (the department fixed it, it came back for study, the resident
gave up). The clock is driven in ticks by whoever holds the shift (the console, a script): each tick is
one store transaction that advances the simulation and writes its consequences with the clock.

Nothing here is kept only in memory. The simulation is deterministic given its seed and the actions
taken at the simulated times they were taken, and both are in the store; so a shift whose process died
is rebuilt exactly by re-running the engine to each logged action and applying it (``LiveShift.resume``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.engine.core import Engine
from sim.engine.network import Post, build_network
from sim.engine.played import Hooks, PlayedPost, assess
from sim.engine.streams import Streams
from sim.engine.tokens import RequestToken
from sim.engine.watch import DeskWatch
from sim.errors import MicrogovError
from sim.operations.store import (
    ENGINE_INPUTS,
    Action,
    FeedEvent,
    NewRequest,
    Refused,
    RequestRecord,
    Store,
    TrainingShift,
    holder_id,
    load_district,
)
from sim.policies.base import DEPARTMENT_K, HUMAN
from sim.scenario import Scenario
from sim.scenario.schema import PRIORITIES, TrainingSpec, hours_from_start
from sim.structure import District, build_district
from sim.structure.ids import in_scope, post_of

#: How residents put each kind of request, for the text a person reads in their queue.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "street_light": (
        "The street light outside building {b} has been out for two nights.",
        "Lamp post by the gate flickers and goes dark; the path is unlit.",
        "Street lights along the lane are off again since the storm.",
    ),
    "manhole_cover": (
        "A manhole cover near building {b} is loose and rocks when cars pass.",
        "Manhole cover missing on the pavement by the bus stop.",
    ),
    "road_surface": (
        "A pothole by building {b} fills with water; a cyclist fell yesterday.",
        "Broken paving at the entrance, elderly residents trip on it.",
    ),
    "drain_sewage": (
        "The drain in front of building {b} is blocked; dirty water stands in the yard.",
        "Sewage is backing up into the basement of building {b}.",
    ),
    "neighbour_dispute": (
        "Neighbours argue over a bicycle shed built in the shared corridor.",
        "Water leaks from the flat above; the neighbours will not let anyone in.",
    ),
    "lost_elderly": (
        "An elderly man with dementia has not come home since the morning.",
        "Grandmother went to the market at seven and is not back; her phone is off.",
    ),
    "sanitation": (
        "Rubbish has not been collected from building {b} for three days.",
        "Bulky furniture dumped next to the bins blocks the fire lane.",
    ),
    "epidemic_control": (
        "A family back from out of town asks where to register and get tested.",
        "Residents ask for the disinfection schedule of the stairwells.",
    ),
    "property_management": (
        "The lift in building {b} has been out of order for a week.",
        "The management company has not fixed the entry-door lock.",
    ),
    "noise": (
        "Renovation drilling in building {b} starts before seven every day.",
        "Loud music from a shop downstairs until after midnight.",
    ),
}


#: How long a console's hold on a shift lasts without a tick (a dead console's is taken over at once).
LEASE_S = 15.0


class ShiftError(MicrogovError):
    """A shift cannot be started or resumed (not a training scenario, no such post, a broken log)."""


@dataclass(frozen=True)
class TickInfo:
    clock_h: float
    written: int
    at_end: bool


class _Feed(Hooks):
    """Collects what the engine does to the person's requests, in order, as store feed events. The
    events of a rebuilt shift that the store already has (``skip``) are counted and dropped."""

    def __init__(self, live: LiveShift, skip: int) -> None:
        self.live = live
        self.skip = skip
        self.produced = 0
        self.events: list[FeedEvent] = []
        self.seen: set[int] = set()

    def _emit(self, event: FeedEvent) -> None:
        if self.produced >= self.skip:
            self.events.append(event)
        self.produced += 1

    def handover(self, req: RequestToken, post: Post, why: str) -> None:
        live = self.live
        now = live.engine.now
        needs = assess(live.engine.net, req, post)
        if req.id in self.seen:
            self._emit(FeedEvent("arrived", str(req.id), now, post.node, why, needs=needs))
            return
        self.seen.add(req.id)
        shift = live.shift
        net = live.engine.net
        self._emit(
            FeedEvent(
                "arrived",
                str(req.id),
                now,
                post.node,
                why,
                new=NewRequest(
                    source=shift.source,
                    source_id=str(req.id),
                    created_at=shift.iso(req.arrived),
                    category=live.category_ids[req.cat],
                    priority=PRIORITIES[req.prio],
                    origin=net.posts[req.origin].node,
                    post=post.node,
                    response_due=shift.iso(req.resp_due),
                    resolution_due=shift.iso(req.res_due),
                    text=live.text(req),
                    needs=needs,
                    responded_at=shift.iso(req.responded) if req.responded >= 0 else None,
                ),
            )
        )

    def moved(self, req: RequestToken, post: Post, why: str) -> None:
        self._emit(FeedEvent("moved", str(req.id), self.live.engine.now, post.node, why))

    def closed(self, req: RequestToken, post: Post, outcome: str) -> None:
        self._emit(FeedEvent("closed", str(req.id), self.live.engine.now, post.node, outcome))


def training_spec(scenario: Scenario, source: str = "the scenario") -> TrainingSpec:
    if scenario.training is None:
        raise ShiftError(
            f"{source}: not a training scenario (it has no [training] table; see scenarios/training/ for examples)"
        )
    return scenario.training


def play_at(scenario: Scenario, post: str, district: District) -> Scenario:
    """The training shift ``scenario`` describes, played at ``post`` instead of the post it was written
    for (``train --as``). Its scripted incidents at that post or under it come to the same place
    relative to ``post`` (``S2/C2/G3/B1/U2`` becomes ``S3/C2/G3/B1/U2`` for ``--as S3``), so that they
    reach the desk played; the title names ``post`` instead, and ``training.written_for`` keeps the post
    it was written for (the briefing and the report say so). Refused, with the incident named, when an
    incident has no such place (another kind of post, or a layout without that node)."""
    from sim.structure import TIER

    spec = training_spec(scenario)
    graph = district.graph
    if post not in graph:
        raise ShiftError(f"--as: no post '{post}' in the district (e.g. S1, S1/C1, S1/C1/G1, water)")
    old = spec.post
    if post == old:
        return scenario
    injects = []
    for number, inject in enumerate(scenario.injects):
        node = post_of(inject.node)
        if not in_scope(old, node):
            injects.append(inject)  # not written for the desk: it stays where it is
            continue
        moved = post + node[len(old) :]
        level, was = graph.nodes[moved].get("level") if moved in graph else None, graph.nodes[node].get("level")
        same_kind = (level == "department") == (was == "department") and TIER.get(str(level)) == TIER.get(str(was))
        if not same_kind:
            where = f"{moved} is not in the district" if level is None else f"{moved} is a {level}, not a {was}"
            raise ShiftError(
                f"--as {post}: the scripted incident injects.{number} (at {inject.node}) has no place under {post}"
                f" ({where});"
                f" play this scenario at {old} or a post laid out like it"
            )
        injects.append(inject.model_copy(update={"node": moved}))
    name = re.sub(rf"(?<![\w/]){re.escape(old)}(?![\w/])", post, scenario.name)
    training = spec.model_copy(update={"post": post, "written_for": spec.written_for or old})
    return scenario.model_copy(
        update={
            "name": name if name != scenario.name else f"{scenario.name} (at {post})",
            "training": training,
            "injects": tuple(injects),
        }
    )


def briefing(spec: TrainingSpec, district: District) -> str:
    """What the trainee reads before the shift: the scenario's briefing, opened by the post played and,
    for a shift played at another post than it was written for, what that changes."""

    def named(node: str) -> str:
        name = district.graph.nodes[node].get("name_en") if node in district.graph else None
        return f"{node} ({name})" if name else node

    opening = f"Your post: {named(spec.post)}."
    if spec.written_for and spec.written_for != spec.post:
        opening += (
            f" This shift was written for {named(spec.written_for)}: its scripted incidents come to the same"
            f" places under {spec.post}, and where the text below speaks of {spec.written_for}, read {spec.post}."
        )
    return f"{opening}\n\n{spec.briefing.strip()}" if spec.briefing.strip() else opening


def shift_posts(engine: Engine, node: str) -> list[int]:
    """The engine's posts for ``node`` (a grid in separate mode is five departmental posts)."""
    net = engine.net
    if node not in net.index:
        raise ShiftError(f"training.post: no post '{node}' in the district (e.g. S1, S1/C1, S1/C1/G1, water)")
    base = net.posts[net.index[node]]
    return [p.idx for p in base.router] if base.router is not None else [base.idx]


Progress = Callable[[str, float | None], None]
"""Told what a slow step is doing and how far it got (a fraction, or ``None`` when it cannot say)."""

PROGRESS_STEPS = 20


def advance(engine: Engine, until: float, progress: Progress | None = None, label: str = "") -> None:
    """Simulate ``engine`` on to ``until``, telling ``progress`` how far it got in twentieths of the way
    (the same events in the same order as one step: the engine stops and starts again between them)."""
    start = engine.now
    until = min(until, engine.end_h)
    if progress is None or until <= start:
        engine.advance(until)
        return
    for step in range(1, PROGRESS_STEPS + 1):
        engine.advance(start + (until - start) * step / PROGRESS_STEPS)
        progress(label, step / PROGRESS_STEPS)


def new_engine(scenario: Scenario, district: District, seed: int, end_h: float) -> Engine:
    streams = Streams.from_seed(seed)
    net = build_network(scenario, district)
    return Engine(net, streams, end_h=end_h, sample_h=None)


class LiveShift:
    """A training shift being played: its engine, its store, and the clock between them.

    Use :meth:`begin` to start one and :meth:`resume` to pick up the one under way in a store. Every
    method is safe to call from worker threads (one lock serialises them).
    """

    def __init__(
        self,
        store: Store,
        shift: TrainingShift,
        scenario: Scenario,
        *,
        district: District | None = None,
        progress: Progress | None = None,
        observe: bool = False,
    ) -> None:
        self.store = store
        self.observing = observe
        self.shift = shift
        self.scenario = scenario
        self.spec = training_spec(scenario, shift.scenario_path)
        self.lock = threading.RLock()
        if district is None and progress is not None:
            progress("building the district", None)
        self.district = district or build_district(scenario)
        self.category_ids = list(scenario.categories)
        self.follow_end_h = shift.end_h + self.spec.follow_up_days * 24.0
        self.engine = new_engine(scenario, self.district, shift.seed, self.follow_end_h)
        self.posts = shift_posts(self.engine, shift.post)
        self.clock_h = shift.clock_h
        self.speed = shift.speed
        self.paused = shift.status == "paused"
        self.finished = shift.status == "finished"
        self.applied_seq = 0
        self._fake: Any = None
        self.feed = _Feed(self, skip=shift.feed_applied)
        self.holder = holder_id()
        if not self.finished and not observe:
            store.hold(shift.id, self.holder, LEASE_S)
        engine = self.engine
        engine.start()
        advance(engine, shift.start_h, progress, f"running the district up to {shift.when(shift.start_h):%a %H:%M}")
        self.watch = engine.watch(DeskWatch(self.posts, shift.end_h, self.spec.desk_share))
        self.played: PlayedPost = engine.play(self.posts, self.feed, self.spec.desk_share)
        if progress is not None and shift.clock_h > shift.start_h:
            progress(f"replaying the shift up to {shift.when(shift.clock_h):%H:%M}", None)
        for action in store.engine_inputs(shift):
            if action.sim_h is None or action.sim_h < engine.now - 1e-9:
                raise ShiftError(f"{store.path}: action #{action.seq} is out of order in the shift's log")
            engine.advance(action.sim_h)
            self._apply(action)
        engine.advance(shift.clock_h)
        if observe:
            self.feed.events.clear()  # the console playing the shift writes what happened; this one only judges
            return
        with store.transaction():
            self._flush()

    # --- starting and resuming ---------------------------------------------------------------------

    @classmethod
    def begin(
        cls,
        store: Store,
        scenario: Scenario,
        account: str,
        *,
        trainee: str = "",
        scenario_path: str | Path = "",
        seed: int | None = None,
        district: District | None = None,
        progress: Progress | None = None,
    ) -> LiveShift:
        """Start the training shift ``scenario`` describes, played by ``account`` at its post (a fresh
        training store makes it the store's admin; otherwise it needs a grant covering the post);
        ``trainee`` names the trainee in the report (default: the account's display name). ``progress``
        is told each slow step: building the district, loading its posts, running it up to the shift."""
        spec = training_spec(scenario, str(scenario_path) or scenario.name)
        if district is None and progress is not None:
            progress("building the district", None)
        district = district or build_district(scenario)
        if spec.post not in district.graph:
            raise ShiftError(f"training.post: no post '{spec.post}' in the district (e.g. S1, S1/C1, S1/C1/G1, water)")
        if store.current_shift() is not None:
            raise ShiftError(f"{store.path}: a shift is already under way here; finish it, or use another --db")
        # the scenario's district (its categories, deadlines) replaces another's: a logged migration
        if progress is not None and (store.meta("scenario") != scenario.name or not store.posts_count()):
            progress(f"loading the district's {district.graph.number_of_nodes():,} posts into the store", None)
        load_district(store, scenario, district, account=account, migrate=True)
        operator = store.sign_in(account, spec.post)
        start_h = hours_from_start(spec.start, scenario.clock.start)
        shift = store.start_shift(
            scenario_path=str(scenario_path),
            scenario_doc=scenario.model_dump(mode="json"),
            post=spec.post,
            operator=account,
            seed=scenario.seed if seed is None else seed,
            epoch=dt.datetime.combine(scenario.clock.start, dt.time()),
            speed=spec.speed,
            start_h=start_h,
            end_h=start_h + spec.hours,
            trainee=trainee.strip() or operator.name,
        )
        return cls(store, shift, scenario, district=district, progress=progress)

    @classmethod
    def resume(
        cls,
        store: Store,
        *,
        district: District | None = None,
        progress: Progress | None = None,
        observe: bool = False,
    ) -> LiveShift | None:
        """The shift under way in ``store``, rebuilt where it was; ``None`` if there is none. With
        ``observe``, a copy that only judges actions (see :func:`referee`): it neither takes the shift
        over from the console playing it nor writes anything."""
        shift = store.current_shift()
        if shift is None:
            return None
        try:
            scenario = Scenario.model_validate(shift.scenario_doc)
        except ValueError as exc:
            raise ShiftError(f"{store.path}: shift {shift.id}'s scenario no longer validates ({exc})") from None
        return cls(store, shift, scenario, district=district, progress=progress, observe=observe)

    @property
    def briefing(self) -> str:
        """What the trainee reads before and during the shift (:func:`briefing`)."""
        return briefing(self.spec, self.district)

    # --- the clock ---------------------------------------------------------------------------------

    @property
    def now(self) -> dt.datetime:
        return self.shift.when(self.clock_h)

    @property
    def at_end(self) -> bool:
        return self.clock_h >= self.shift.end_h - 1e-9

    def tick(self, wall_s: float) -> TickInfo:
        """Let ``wall_s`` seconds of wall time pass: make settles past their undo window final, take
        in actions other processes logged, advance the simulation by ``speed`` times that (unless
        paused; never past the shift's end) and write what happened, all in one transaction."""
        with self.lock:
            if self.finished:
                return TickInfo(self.clock_h, 0, True)
            store = self.store
            with store.transaction():
                self._check_hold()
                self._catch_up()
                for request in store.settles_to_confirm(self.shift):
                    self._confirm(request)
                clock = self.clock_h
                if not self.paused and wall_s > 0:
                    clock = min(clock + self.speed * wall_s / 3600.0, self.shift.end_h)
                    self.engine.advance(clock)
                written = self._flush(clock_h=clock, held_until=time.time() + LEASE_S)
            self.clock_h = clock
            return TickInfo(clock, written, self.at_end)

    def set_speed(self, speed: float) -> None:
        if not 1.0 <= speed <= 600.0:
            raise ShiftError(f"speed must be between 1 and 600 (times real time), found {speed:g}")
        with self.lock:
            self.store.set_shift(self.shift.id, speed=speed)
            self.speed = speed

    def pause(self, paused: bool = True) -> None:
        with self.lock:
            self.store.set_shift(self.shift.id, status="paused" if paused else "running")
            self.paused = paused

    # --- acting ------------------------------------------------------------------------------------

    def act(
        self,
        account: str,
        action: str,
        request_id: int,
        *,
        post: str | None = None,
        note: str = "",
        to: str | Sequence[str] | None = None,
    ) -> Any:
        """One action by ``account`` (at the shift's post unless ``post`` says otherwise) on a request of
        the store: judged by the store and by the simulation as it is now, then logged and carried out in
        one transaction, or refused (and the refusal logged)."""
        post = post or self.shift.post
        with self.lock:
            store = self.store
            refused: Refused | None = None
            with store.transaction():
                self._check_hold()
                self._catch_up()
                try:
                    after, logged = store.act(account, post, action, request_id, note=note, to=to, referee=self)
                except Refused as exc:
                    refused = exc
                else:
                    req = self.tracked(after) if action in ENGINE_INPUTS else None
                    if req is not None:
                        self.played.act(action, req, self._targets(action, req, logged.target))
                        self.applied_seq = logged.seq
                    self._flush()
            if refused is not None:
                raise refused
            return after

    def confirm_settles(self) -> None:
        """Make every settle final now, its undo window or not (the end of the shift; a scripted
        trainee, who never takes one back)."""
        with self.lock:
            store = self.store
            with store.transaction():
                self._catch_up()
                for request in store.settles_to_confirm(self.shift, older_than_s=-1.0):
                    self._confirm(request)
                self._flush(clock_h=self.clock_h)

    def policy(self, request: RequestRecord) -> tuple[str, list[str]] | None:
        """What the post's own policy (the engine's yardstick) would do now with ``request``: the action
        and its targets' names (see ``PlayedPost.own_action``); ``None`` unless it is in the person's queue."""
        with self.lock:
            req = self.tracked(request)
            if req is None or req.post is None or req.state != HUMAN:
                return None
            action, targets = self.played.own_action(req, req.post)
            return action, [post_of(t.node) for t in targets]

    def key(self, request: RequestRecord) -> int | None:
        """The simulation's key of ``request`` (the same request has it in the yardstick's run)."""
        with self.lock:
            req = self.tracked(request)
            return None if req is None else req.key

    def handling_h(self, request: RequestRecord, z: float) -> float:
        """How long the post's own staff take over ``request`` (hours), for the standard normal ``z``:
        its category's handling time at the played post's kind (0 if it is not in the person's queue)."""
        with self.lock:
            req = self.tracked(request)
            if req is None or req.post is None:
                return 0.0
            return float(self.engine.net.categories[req.cat].handling[req.post.kind](z))

    # --- judging actions (the store's referee) -------------------------------------------------------

    def default_target(self, request: RequestRecord, action: str) -> str | None:
        """Where the simulation sends ``request`` on ``action`` with no target given: an escalation
        follows the priority's escalation path (which may skip a level)."""
        req = self.tracked(request)
        if action == "escalate" and req is not None and req.post is not None:
            up = req.post.up[req.prio]
            return up.node if up is not None else None
        return None

    def refusal(self, request: RequestRecord, action: str, post: str, targets: Sequence[str]) -> str:
        """Why the simulation cannot carry out ``action`` on ``request`` now, or ``""`` (an observer
        first catches up with what the console playing the shift has done since)."""
        if self.observing:
            self._follow()
        req = self.tracked(request)
        if req is None:
            return f"request #{request.id} is not one the shift's simulation handed over"
        try:
            chosen = self._targets(action, req, list(targets))
        except Refused as exc:
            return str(exc)
        problem = self.played.cannot(action, req, chosen, number=request.id)
        if problem and post != self.shift.post:
            # taken at another post, the action would be the played post's in the simulation: say so
            return f"{problem} (training shift {self.shift.id} plays {self.shift.post}, which would take it)"
        return problem

    def tracked(self, request: RequestRecord) -> RequestToken | None:
        if request.source != self.shift.source:
            return None
        return self.played.tracked.get(int(request.source_id))

    def _follow(self) -> None:
        """Take an observer to where the shift is now: every action logged since, each at its simulated
        time, then the shift's clock (inside the caller's transaction, so nothing moves meanwhile)."""
        shift = self.store.current_shift()
        if shift is None or shift.id != self.shift.id:
            return
        for action in self.store.engine_inputs(shift, self.applied_seq):
            if action.sim_h is not None and action.sim_h > self.engine.now:
                self.engine.advance(action.sim_h)
            self._apply(action)
        if shift.clock_h > self.engine.now:
            self.engine.advance(shift.clock_h)
        self.clock_h = shift.clock_h
        self.feed.events.clear()

    def _targets(self, action: str, req: RequestToken, to: str | Sequence[str] | None) -> list[Post] | None:
        if action not in ("pass", "whistle", "escalate", "return") or not to:
            return None
        net = self.engine.net
        names = [to] if isinstance(to, str) else list(to)
        if action == "whistle" and len(names) == 1:
            names = names[0].split("+")
        if action == "return" and req.post is not None and req.post.kind == DEPARTMENT_K:
            return None
        try:
            return [net.posts[net.index[post_of(name)]] for name in names]
        except KeyError as exc:
            raise Refused(f"no post {exc} in the district") from None

    def _apply(self, action: Action) -> None:
        """Carry out a logged action in the engine (taking a rebuilt shift through its history)."""
        request = self.store.get(action.request_id or 0)
        req = self.played.tracked.get(int(request.source_id)) if request is not None else None
        if req is None:
            raise ShiftError(
                f"{self.store.path}: action #{action.seq} is on a request the simulation never handed over"
            )
        try:
            self.played.act(action.action, req, self._targets(action.action, req, action.target or None))
        except ValueError as exc:
            raise ShiftError(f"{self.store.path}: action #{action.seq} does not replay ({exc})") from None
        self.applied_seq = action.seq

    def _check_hold(self) -> None:
        """Stop if another console has taken the shift over (this one stalled past its lease)."""
        holder = self.store.holder_of(self.shift.id)
        if holder is not None and holder != self.holder:
            raise ShiftError(f"{self.store.path}: shift {self.shift.id} was taken over by another console ({holder})")

    def _catch_up(self) -> None:
        """Apply actions other processes logged on this shift since the last one applied."""
        for action in self.store.engine_inputs(self.shift, self.applied_seq):
            if action.action == "confirm" or action.seq <= self.applied_seq:
                continue
            self._apply(action)

    def _confirm(self, request: Any) -> None:
        req = self.played.tracked.get(int(request.source_id))
        logged = self.store.confirm(self.shift, request, self.clock_h)
        if req is not None:
            self.played.act("confirm", req)
        self.applied_seq = logged.seq

    def _flush(self, **fields: Any) -> int:
        """Write the feed's new events and the shift's row (inside the caller's transaction)."""
        written = self.store.apply_feed(self.shift, self.feed.events)
        self.feed.events.clear()
        self.store.set_shift(self.shift.id, feed_applied=self.feed.produced, **fields)
        return written

    # --- the end ---------------------------------------------------------------------------------------

    def yardstick(self, end_h: float, until_h: float, progress: Progress | None = None) -> Engine:
        """The engine's own policy playing the shift's post on the same seed and arrivals, its desk
        watched up to ``end_h`` (the end of the shift), run up to ``until_h``: the trainee's yardstick."""
        baseline = new_engine(self.scenario, self.district, self.shift.seed, self.follow_end_h)
        baseline.start()
        advance(baseline, self.shift.start_h, progress, "the engine's own policy: up to the shift")
        baseline.watch(DeskWatch(self.posts, end_h, self.spec.desk_share))
        advance(baseline, until_h, progress, "the engine's own policy: the shift")
        return baseline

    def finish(
        self, report_dir: Path | None = None, progress: Progress | None = None, baseline: Engine | None = None
    ) -> dict[str, Any]:
        """End the shift (at its end, or early): settles become final, what is left in the queue goes back
        to the post's staff, the simulation runs on ``follow_up_days`` to see what became of everything,
        the engine's own policy plays the same post on the same seed (``baseline``: its run so far, from
        :meth:`yardstick`, if one was made for a shift played to the end), both are scored, and the
        after-action report is written (``report_dir``, default ``reports/shift-N`` beside the store).
        Returns the result, which the store keeps with the shift; ``progress`` is told each step."""
        from sim.training.scoring import desk_decisions, lessons, score

        with self.lock:
            store, engine, shift = self.store, self.engine, self.shift
            if self.finished:
                done = store.shift(shift.id)
                return dict(done.result or {}) if done is not None else {}
            self.confirm_settles()
            end_h = self.clock_h
            left = store.queue(shift.post, source=shift.source)
            self.watch.until = end_h
            engine.leave()
            follow = f"following the district {self.spec.follow_up_days:g} days on"
            advance(engine, self.follow_end_h, progress, follow)
            if baseline is None or watched_desk(baseline).until != end_h or baseline.now > end_h:
                baseline = self.yardstick(end_h, shift.start_h, progress)
            advance(baseline, self.follow_end_h, progress, "the engine's own policy: the shift and after")
            if progress is not None:
                progress("scoring and writing the report", None)
            weights = self.spec.scoring
            taken = desk_decisions(self.watch.decisions, end_h, person=True)
            mine = score(self.watch.records, taken, weights, end_h, self.follow_end_h)
            yardstick = desk_decisions(watched_desk(baseline).decisions, end_h, person=False)
            theirs = score(watched_desk(baseline).records, yardstick, weights, end_h, self.follow_end_h)
            folder = report_dir or store.path.parent / "reports" / f"shift-{shift.id}"
            report = self._report(folder, mine, theirs, baseline, end_h, taken)
            result = {
                "shift": shift.id,
                "trainee": shift.who,
                "post": shift.post,
                "seed": shift.seed,
                "score": mine.as_dict(),
                "engine_policy": theirs.as_dict(),
                "report": str(report),
                "timeline": str(report.with_name("timeline.png")),
                "ended_at": shift.iso(end_h),
                "ended_early": end_h < shift.end_h - 1e-9,
                "lessons": lessons(mine, theirs, taken),
            }
            outcomes = {
                str(r.id): (r.closed, _after_shift(r)) for r in self.watch.records.values() if r.closed >= end_h
            }
            with store.transaction():
                store.hand_back(shift, left, end_h, "the shift ended: back to the post's staff on duty")
                store.record_outcomes(shift, outcomes)
                store.set_shift(shift.id, status="finished", clock_h=end_h, result=result, holder=None, held_until=0.0)
            self.finished = True
            return result

    def _report(
        self, folder: Path, mine: Any, theirs: Any, baseline: Engine, end_h: float, taken: Sequence[Any]
    ) -> Path:
        from sim.training.scoring import Briefing, write_report

        shift, engine = self.shift, self.engine
        node = self.district.graph.nodes[shift.post]
        started = dt.datetime.fromisoformat(shift.started_at)
        brief = Briefing(
            scenario=self.scenario.name,
            post=shift.post,
            post_name=str(node.get("name_en", shift.post)),
            trainee=shift.who,
            start=shift.when(shift.start_h),
            hours=end_h - shift.start_h,
            speed=self.speed,
            desk_share=self.spec.desk_share,
            follow_up_days=self.spec.follow_up_days,
            seed=shift.seed,
            wall_minutes=(dt.datetime.now() - started).total_seconds() / 60.0,
            written_for=self.spec.written_for,
        )
        verdicts: dict[tuple[int, str], list[bool]] = {}
        for d in taken:
            verdicts.setdefault((d.id, d.kind), []).append(d.right)
        actions = []
        logged = self.store.actions()
        undone = {a.target for a in logged if a.action == "undo" and a.ok}  # "#seq" of each settle taken back
        for a in logged:
            if a.operator != shift.operator or not a.ok or a.sim_h is None or a.request_id is None:
                continue
            request = self.store.get(a.request_id)
            if request is None or request.source != shift.source:
                continue
            kind = a.action
            found = verdicts.get((int(request.source_id), kind))
            if f"#{a.seq}" in undone:
                result = "undone"  # the verdict belongs to a later settle of the same request
            else:
                result = ("right" if found.pop(0) else "wrong") if found else ""
            actions.append(
                {
                    "time": f"{shift.when(a.sim_h):%H:%M}",
                    "request": a.request_id,
                    "action": kind,
                    "to": a.target,
                    "note": a.note,
                    "result": result,
                }
            )
        injects = [(i.at_h, i.text) for i in engine.net.injects if shift.start_h <= i.at_h < end_h]
        return write_report(
            folder,
            brief,
            mine,
            theirs,
            desk=self.watch.records,
            decisions=taken,
            engine_desk=watched_desk(baseline).records,
            actions=actions,
            injects=injects,
            start_h=shift.start_h,
            labels=self._labels(),
        )

    def _labels(self) -> dict[int, str]:
        """The store's name for each request the simulation handed over: ``#12 urgent drain_sewage``."""
        rows = self.store.db.execute(
            "SELECT id, source_id, priority, category FROM requests WHERE source = ?", (self.shift.source,)
        )
        return {int(r["source_id"]): f"#{r['id']} {r['priority']} {r['category']}" for r in rows}

    def close(self) -> None:
        """Let go of the shift (another console may play it on); the shift itself stays where it is."""
        with self.lock:
            if not self.finished:
                self.store.set_shift(self.shift.id, holder=None, held_until=0.0)

    # --- what the person reads ---------------------------------------------------------------------

    def text(self, req: RequestToken) -> str:
        """A resident's words for ``req``: an injected incident's own text, else a phrasing of its
        category, from a named resident (the same every time for the same request and seed)."""
        injected = self.engine.injected.get(req.id)
        if self._fake is None:
            from faker import Faker

            self._fake = Faker("zh_CN")
        self._fake.seed_instance(self.shift.seed * 1_000_003 + req.id)
        name = self._fake.name()
        if injected:
            return f"{name}: {injected}"
        pick = random.Random(self.shift.seed * 7_919 + req.id)
        category = self.category_ids[req.cat]
        options = TEMPLATES.get(category) or (f"{self.scenario.categories[category].name_en}.",)
        node = self.engine.net.posts[req.origin].node
        building = next((p[1:] for p in node.split("/") if p[:1] in "BM" and p[1:].isdigit()), "1")
        return f"{name}: {pick.choice(options).format(b=building)}"


def watched_desk(engine: Engine) -> DeskWatch:
    """The desk ``engine`` was told to watch (by ``LiveShift.yardstick``)."""
    watch = engine.watching
    assert watch is not None, "the yardstick watches the shift's desk"
    return watch


def referee(store: Store) -> LiveShift | None:
    """What judges actions on the training shift under way in ``store`` when they come from anywhere but
    the console playing it (``microgov queue``, Operate mode on a training store): a copy of the shift's
    simulation rebuilt from the store, which takes nothing over and writes nothing. ``None`` if no shift
    is under way. Build it before acting: it takes as long as resuming the shift."""
    return LiveShift.resume(store, observe=True)


def _after_shift(record: Any) -> str:
    """How a request the person passed on ended, after their shift (for their queue's history)."""
    if record.abandoned:
        return "after the shift: abandoned, the resident called the city hotline"
    return "after the shift: resolved" if record.fixed else "after the shift: closed without being fixed"
