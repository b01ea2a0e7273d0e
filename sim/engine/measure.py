"""The KPI observer: what the engine tells the metrics as requests arrive, are picked up, answered and
closed, and what the requests still open at the end count for.

Passed to the engine like Ciw's tracker: the engine calls it at each step of a request's life, and it
keeps the streaming KPIs (``sim.metrics.Metrics``) over their stated cohorts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sim.engine.network import KINDS, OUTCOME_LEVELS, Network, Post
from sim.engine.tokens import RequestToken
from sim.metrics import Metrics, Survival, bin_of
from sim.policies.base import NOTICING, STREET_K, WAITING


def metrics_for(net: Network, *, warmup_h: float, end_h: float, sample_h: float | None) -> Metrics:
    """Empty metrics shaped for ``net``: its priorities, categories, offices, departments and grids."""
    return Metrics(
        priorities=("special", "urgent", "ordinary"),
        categories=[c.name for c in net.categories],
        levels=OUTCOME_LEVELS,
        kinds=KINDS,
        offices=net.offices,
        departments=net.departments,
        grid_types=net.grid_types if net.grids and net.grids.separate else (),
        start_h=warmup_h,
        end_h=end_h,
        sample_h=sample_h or 0.0,
        deadlines={"response": net.resp_len, "resolution": net.res_len},
    )


class Measure:
    """Tells ``metrics`` what happens to the measured requests (those that arrived after the warm-up).

    What a request or a pickup feeds is looked up once: a measured request carries its cohort slices
    (``groups``: its priority's, its category's, its office's for its priority) and its office's response
    and resolution times (``office_times``); a post's pickups feed its kind's waits and, for a
    departmental grid or a tracked street office, its own (``waits``, per post and priority)."""

    def __init__(self, metrics: Metrics, satisfaction: tuple[float, float, float], posts: Sequence[Post]) -> None:
        self.m = metrics
        self.satisfaction_model = satisfaction
        self.waits = [[self._waits(post, prio) for prio in range(len(metrics.priorities))] for post in posts]

    def _waits(self, post: Post, prio: int) -> tuple[Survival, ...]:
        m = self.m
        if post.gtype >= 0:
            return (m.wait[post.kind], m.grid_wait[post.gtype])
        if post.kind == STREET_K and post.track >= 0:
            return (m.wait[post.kind], m.office_wait[post.track][prio])
        return (m.wait[post.kind],)

    def arrived(self, req: RequestToken) -> None:
        m = self.m
        respond_by = req.resp_due <= m.end_h
        resolve_by = req.res_due <= m.end_h
        track, prio = req.office_track, req.prio
        req.groups = (m.by_priority[prio], m.by_category[req.cat], m.by_office[track][prio])
        req.office_times = (m.office_response[track][prio], m.office_resolution[track][prio])
        for g in req.groups:
            g.requests += 1
            g.response_judged += respond_by
            g.resolution_judged += resolve_by

    def picked(self, req: RequestToken, post: Post, now: float) -> None:
        """The wait of a request picked up at ``post`` now."""
        queued = req.queued_at
        w = now - queued
        b = bin_of(w)
        for times in self.waits[post.idx][req.prio]:
            times.add(w, queued, b)
        if w > 0:
            self.m.waited[post.kind] += 1

    def unpicked(self, req: RequestToken, post: Post) -> None:
        """A request that left ``post``'s queue without being picked up (sent up at its deadline, given
        up on)."""
        for times in self.waits[post.idx][req.prio]:
            times.leave(req.queued_at)

    def responded(self, req: RequestToken, now: float) -> None:
        t = now - req.arrived
        b = bin_of(t)
        on_time = now <= req.resp_due <= self.m.end_h
        req.office_times[0].add(t, req.arrived, b)
        for g in req.groups:
            h = g.response
            h.counts[b] += 1
            h.n += 1
            h.total += t
            if on_time:
                g.responded_on_time += 1

    def closed(self, req: RequestToken, now: float, level: int, fixed: bool) -> None:
        m = self.m
        t = now - req.arrived
        b = bin_of(t)
        judged = req.res_due <= m.end_h
        score = self.satisfaction(req, now) if fixed and judged else 0.0
        on_time = fixed and judged and not now > req.res_due
        if fixed:
            req.office_times[1].add(t, req.arrived, b)
        else:
            req.office_times[1].leave(req.arrived)
        for g in req.groups:
            g.resolved += 1
            h = g.resolution
            h.counts[b] += 1
            h.n += 1
            h.total += t
            g.satisfaction += score
            if on_time:
                g.resolved_on_time += 1
        m.settled_at[level].add(t, b)

    def abandoned(self, req: RequestToken) -> None:
        for g in req.groups:
            g.abandoned += 1
        if req.responded < 0:
            req.office_times[0].leave(req.arrived)
        req.office_times[1].leave(req.arrived)

    def satisfaction(self, req: RequestToken, now: float) -> float:
        """The documented satisfaction model: full score on time, halving per deadline-length late,
        reduced when the response itself was late."""
        on_time, late_response, half_life = self.satisfaction_model
        score = on_time
        if now > req.res_due:
            length = req.res_due - req.arrived
            score *= 0.5 ** ((now - req.res_due) / (half_life * length))
        if req.responded > req.resp_due:
            score *= late_response
        return score

    def still_open(self, live: Iterable[RequestToken], end: float) -> None:
        """What the requests still open at the end count for: their waits so far (censored at their age),
        not yet answered or fixed (censored), and, where their resolution deadline has passed, the
        satisfaction they would score if fixed at the end (an upper bound: they can only get later)."""
        late_response = self.satisfaction_model[1]
        for req in live:
            if not req.counted:
                continue
            post = req.post
            if post is not None and req.state in (NOTICING, WAITING):
                age = end - req.queued_at
                for times in self.waits[post.idx][req.prio]:
                    times.still_open(age)
            age = end - req.arrived
            if req.responded < 0:
                req.office_times[0].still_open(age)
            req.office_times[1].still_open(age)
            if req.res_due <= end:
                score = self.satisfaction(req, end)
                if req.responded < 0 < end - req.resp_due:
                    score *= late_response
                for g in req.groups:
                    g.satisfaction += score

    def staff_hours(self, posts: Iterable[Post], start: float, end: float) -> None:
        """The person-hours on duty from ``start`` to ``end``, by post kind, office and grid type."""
        m = self.m
        seen: dict[int, float] = {}
        for post in posts:
            if post.router is not None:
                continue
            key = id(post.cal)
            if key not in seen:
                seen[key] = post.cal.staff_hours(start, end)
            hours = seen[key]
            m.available_kind[post.kind] += hours
            if post.track >= 0:
                m.available_post[post.track] += hours
            if post.gtype >= 0:
                m.available_grid[post.gtype] += hours
