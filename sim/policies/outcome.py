"""Department outcome: whether a department solves what it is given, or sends it back up for study;
and the way to and from the departments (the referral, the lead time before the outcome is known)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sim.activities import RETURNED
from sim.distributions import Transform
from sim.policies.base import AWAY, CLOSED, DEPARTMENT_O, Desk, Floor, Token
from sim.policies.triage import CategoryRule, Subject


class OutcomeRule(Protocol):
    def solved(self, req: Subject) -> bool:
        """Whether the department ``req`` is with solves it."""


class DepartmentOutcome:
    """A department solves a share of what it is given; what it cannot solve goes back up for study.

    A request that has already been studied at the district comes back with the blockers removed and
    is solved.
    """

    def __init__(self, rules: Sequence[CategoryRule]) -> None:
        self.rules = list(rules)

    def solved(self, req: Subject) -> bool:
        return req.study or req.solve_draw < self.rules[req.cat].solves


class Departments:
    """Requests with the departments: referred through the platform (after the referral delay), worked
    on, then (after the category's lead time, if any) solved or sent back up for study. A request
    needing a second department goes back to its office for the next ordinary referral."""

    def __init__(
        self,
        floor: Floor,
        outcome: OutcomeRule,
        leads: list[Transform | None],
        referral: Transform | None,
    ) -> None:
        self.floor = floor
        self.outcome = outcome
        self.leads = leads
        """Per category, the lead time after the department's work before the outcome is known."""
        self.referral = referral
        self.misdirected: dict[int, tuple[int, Desk]] = {}
        """Requests a person passed to a department that does not deal with them: that department, and
        the post it goes back to."""

    def misdirect(self, req: Token, dept: Desk, back: Desk) -> None:
        """``req`` was passed to ``dept``, which does not deal with it: it will come back to ``back``."""
        self.misdirected[req.id] = (dept.idx, back)

    def solved(self, req: Subject) -> bool:
        """Whether the department ``req`` is with solves it (the decision)."""
        return self.outcome.solved(req)

    def refer(self, req: Token, dept: Desk) -> None:
        """An ordinary referral: the department gets the request through the platform after a delay."""
        req.state = AWAY
        floor = self.floor
        if self.referral is None:
            floor.enter(req, dept)
        else:
            floor.call(self.referral(floor.z(req)), (req, dept), self._arrive)

    def _arrive(self, value: Any) -> None:
        req, post = value
        if req.state != CLOSED:
            self.floor.enter(req, post)

    def worked(self, req: Token, post: Desk, server: int) -> None:
        """Someone (handler ``server``) at department ``post`` has finished working on ``req``: a
        department that does not deal with it sends it back to who passed it."""
        wrong = self.misdirected.get(req.id)
        if wrong is not None and wrong[0] == post.idx:
            del self.misdirected[req.id]
            floor = self.floor
            det = floor.details["wrong department"]
            floor.record(req.id, floor.now, RETURNED, post.idx, post.actor, server, req.cat, req.prio, det)
            req.state = AWAY
            floor.enter(req, wrong[1], "wrong department")
            return
        lead = self.leads[req.cat]
        if lead is None:
            self._outcome(req, post)
        else:
            req.state = AWAY
            self.floor.call(lead(self.floor.z(req)), (req, post), self._lead_over)

    def _lead_over(self, value: Any) -> None:
        req, post = value
        if req.state != CLOSED:
            self._outcome(req, post)

    def _outcome(self, req: Token, post: Desk) -> None:
        floor = self.floor
        now = floor.now
        if self.outcome.solved(req):
            if req.needed and req.needed[0] == post.idx:
                req.needed.pop(0)
            if not req.needed:
                floor.close(req, post, DEPARTMENT_O, post.actor, -1)
                return
            # another department is needed: back to the office for the next ordinary referral
            det = floor.details["next department"]
            floor.record(req.id, now, RETURNED, post.idx, post.actor, -1, req.cat, req.prio, det)
            floor.enter(req, floor.posts[req.office], "next department")
            return
        req.study = True
        floor.record(req.id, now, RETURNED, post.idx, post.actor, -1, req.cat, req.prio, floor.details["study"])
        floor.enter(req, floor.posts[req.office], "returned for study")
