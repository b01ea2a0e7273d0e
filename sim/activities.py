"""The event log's vocabulary: what can happen to a request, and who does it.

A light module with no dependencies: the engine, its rules and the event log (``sim.eventlog``) all
speak it, and only the event log needs pyarrow.
"""

from __future__ import annotations

import struct
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


#: An event log row's fields, in order, and the type each is stored as (numpy's codes).
ROW_FIELDS: tuple[tuple[str, str], ...] = (
    ("rid", "i8"),
    ("t", "f8"),
    ("act", "i1"),
    ("post", "i4"),
    ("actor", "i1"),
    ("handler", "i4"),
    ("cat", "i2"),
    ("prio", "i1"),
    ("det", "i4"),
)
_STRUCT_CODES = {"i8": "q", "f8": "d", "i4": "i", "i2": "h", "i1": "b"}
#: A row as bytes, packed without padding in the machine's byte order: the event log's buffer is these
#: rows end to end, read back as a numpy record array of ``ROW_FIELDS`` without a conversion.
ROW_STRUCT = struct.Struct("=" + "".join(_STRUCT_CODES[kind] for _, kind in ROW_FIELDS))
pack_row = ROW_STRUCT.pack
"""``pack_row(request, time_h, activity, post, actor, handler, category, priority, detail)``: one row."""
