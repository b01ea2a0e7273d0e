"""What a post does with a request it has worked on: triage's decision, carried out.

Settled on the spot (the answer and the close), passed on (to its department with a named handler, or
on a whistle when the street blows it), or sent up to the post above for its priority.
"""

from __future__ import annotations

from sim.activities import ESCALATED, PASSED, SETTLED, pack_row
from sim.policies.base import DISTRICT_K, DISTRICT_O, STREET_K, Desk, Floor, Token
from sim.policies.outcome import Departments
from sim.policies.triage import ESCALATE, PASS, SETTLE, Triage
from sim.policies.whistle import WhistleRule


class Handling:
    """Triage at the posts of the chain, bound to the floor, the whistle and the departments."""

    def __init__(self, floor: Floor, rule: Triage, whistle: WhistleRule, departments: Departments) -> None:
        self.floor = floor
        self.rule = rule
        self.whistle = whistle
        self.departments = departments

    def decide(self, req: Token, post: Desk) -> int:
        """What the post's triage does with ``req``: settle, pass or escalate (settle at the top, and
        where no department is needed)."""
        decision = self.rule.decide(req, post.level)
        if decision == ESCALATE and post.up[req.prio] is None:
            decision = SETTLE
        if decision == PASS and not req.needed:
            decision = SETTLE
        return decision

    def handle(self, req: Token, post: Desk, server: int, now: float) -> None:
        """Carry out the decision on ``req``, worked on at ``post`` by handler ``server``."""
        floor, row = self.floor, self.floor.row
        decision = self.decide(req, post)
        if decision == SETTLE:
            floor.respond(req, now)
            if row:
                row(pack_row(req.id, now, SETTLED, post.idx, post.actor, server, req.cat, req.prio, 0))
            floor.close(req, post, post.level + 1 if post.kind != DISTRICT_K else DISTRICT_O, post.actor, server)
        elif decision == PASS:
            floor.respond(req, now)
            if post.kind == STREET_K and self.whistle.blows(req, now):
                self.whistle.call(req, post, server, now)
                return
            if row:
                row(pack_row(req.id, now, PASSED, post.idx, post.actor, server, req.cat, req.prio, 0))
            self.departments.refer(req, floor.posts[req.needed[0]])
        else:
            parent = post.up[req.prio]
            assert parent is not None
            if parent.kind == DISTRICT_K:
                floor.metrics.escalations_to_district += req.counted
            det = floor.details["study"] if req.study else 0
            floor.record(req.id, now, ESCALATED, post.idx, post.actor, server, req.cat, req.prio, det)
            floor.enter(req, parent)
