"""Department outcome: whether a department solves what it is given, or sends it back up for study."""

from __future__ import annotations

from collections.abc import Sequence

from sim.policies.triage import CategoryRule, Subject


class DepartmentOutcome:
    """A department solves a share of what it is given; what it cannot solve goes back up for study.

    A request that has already been studied at the district comes back with the blockers removed and
    is solved.
    """

    def __init__(self, rules: Sequence[CategoryRule]) -> None:
        self.rules = list(rules)

    def solved(self, req: Subject) -> bool:
        return req.study or req.solve_draw < self.rules[req.cat].solves
