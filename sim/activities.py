"""The event log's vocabulary: what can happen to a request, and who does it.

A light module with no dependencies: the engine, its rules and the event log (``sim.eventlog``) all
speak it, and only the event log needs pyarrow.
"""

from __future__ import annotations

from enum import IntEnum

ACTIVITIES = (
    "arrived",
    "queued",
    "started",
    "settled",
    "passed",
    "escalated",
    "returned",
    "resolved",
    "abandoned",
    "deadline missed",
    "whistled",
    "reported",
    "handed off",
)
(
    ARRIVED,
    QUEUED,
    STARTED,
    SETTLED,
    PASSED,
    ESCALATED,
    RETURNED,
    RESOLVED,
    ABANDONED,
    MISSED,
    WHISTLED,
    REPORTED,
    HANDED_OFF,
) = range(len(ACTIVITIES))


class Activity(IntEnum):
    """The activities as codes (the event log's ``event`` column, an index into ``ACTIVITIES``)."""

    ARRIVED = ARRIVED
    QUEUED = QUEUED
    STARTED = STARTED
    SETTLED = SETTLED
    PASSED = PASSED
    ESCALATED = ESCALATED
    RETURNED = RETURNED
    RESOLVED = RESOLVED
    ABANDONED = ABANDONED
    MISSED = MISSED
    WHISTLED = WHISTLED
    REPORTED = REPORTED
    HANDED_OFF = HANDED_OFF


#: Who acts at each graph level of a post.
ACTOR_OF_LEVEL = {
    "unit": "unit_leader",
    "representative": "representative",
    "building": "building_leader",
    "committee_member": "committee_member",
    "grid": "grid_worker",
    "community": "community_staff",
    "village": "village_staff",
    "street": "street_staff",
    "town": "town_staff",
    "department": "department_staff",
    "district": "district_staff",
}
ACTORS = ("resident", "system", *ACTOR_OF_LEVEL.values(), "neighbours")
RESIDENT, SYSTEM, NEIGHBOURS = 0, 1, len(ACTORS) - 1
