"""Triage: what a post does with a request it has in hand: settle it, pass it on, or send it up.

A group administrator triaging a message decides one of three things: settle it on the spot, pass it to
the department responsible (with a named handler), or send it up a level. The rule here makes that
decision; the engine carries it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class Verdict(IntEnum):
    """What triage decides: settle on the spot, pass to the department, or send up a level."""

    SETTLE = 0
    PASS = 1
    ESCALATE = 2


#: The decisions' values as plain ints, for the hot path.
SETTLE, PASS, ESCALATE = (int(v) for v in Verdict)

#: Level index of each neighbourhood post kind, lowest first, as in ``schema.SETTLE_LEVELS``.
UNIT, BUILDING, GRID, COMMUNITY, STREET, DISTRICT = range(6)


@dataclass(frozen=True)
class CategoryRule:
    """What triage needs to know of one category."""

    settle_by: tuple[float, ...]
    """Chance that a request has been settled by the time it has been triaged at each level (cumulative)."""
    refer_level: int
    solves: float


class Subject(Protocol):
    """What a rule may read of a request."""

    cat: int
    settle_draw: float
    solve_draw: float
    needs_department: bool
    study: bool


class Triage(Protocol):
    def decide(self, req: Subject, level: int) -> int: ...


class StandardTriage:
    """特事特办、急事急办、普件快办: settle what you can, pass what needs a department, send the rest up.

    A request that needs its department is passed on at its category's ``refer_from`` level or above
    and sent up below it; any other request is settled at a level with the category's cumulative
    chance, using one uniform drawn at arrival, so a request that skips a level (it came straight to
    the grid, or escalated automatically) is no less likely to be settled where it lands. Requests
    returned for study go up to the district, which studies them and passes them back to the department.
    """

    def __init__(self, rules: Sequence[CategoryRule]) -> None:
        self.rules = list(rules)

    def decide(self, req: Subject, level: int) -> int:
        if req.study:
            return PASS if level == DISTRICT else ESCALATE
        rule = self.rules[req.cat]
        if req.needs_department:
            return PASS if level >= rule.refer_level else ESCALATE
        return SETTLE if req.settle_draw < rule.settle_by[level] else ESCALATE


def settle_by(settle: Sequence[float]) -> tuple[float, ...]:
    """Cumulative chance of being settled by each level from per-level chances."""
    out, left = [], 1.0
    for p in settle:
        left *= 1.0 - p
        out.append(1.0 - left)
    return tuple(out)
