"""The reported facts of the Haigang reform, in one place, and how a built district compares with them.

Every figure a default scenario must reproduce is named here once; the CLI, the tests and the README
read them from here rather than repeating the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.structure import District

RESIDENTS = 1_000_000
RESIDENTS_PER_STREET = 100_000
LARGEST_STREET = 300_000
GROUPS_URBAN = 25_000
GROUPS_RURAL = 2_200
STAFF_BEFORE = 11
STAFF_AFTER_MIN = 50
MOVED_POSITIONS = 469
SELECTED_FROM_DEPARTMENTS = 150
DEPARTMENTS = 11
WHISTLES_FIRST_YEAR = 186
PROBLEMS_SOLVED_BY_WHISTLE = 234

#: How far a default scenario's figure may stray from the reported one.
TOLERANCE = 0.15


@dataclass(frozen=True)
class Figure:
    """One figure of a scenario beside the brief's reported value."""

    key: str
    label: str
    value: float
    brief: float | None

    @property
    def deviation(self) -> float | None:
        return None if not self.brief else self.value / self.brief - 1.0

    @property
    def within(self) -> bool | None:
        return None if self.deviation is None else abs(self.deviation) <= TOLERANCE


def structure_figures(district: District) -> list[Figure]:
    """The structural figures the brief reports, measured on ``district``."""
    g = district.graph
    streets = district.at_level("street")
    street_residents = [int(g.nodes[s]["residents"]) for s in streets]
    groups = district.group_count()
    staff = [int(g.nodes[o]["staff"]) for o in district.offices()]
    return [
        Figure("residents", "residents", int(g.nodes["district"]["residents"]), RESIDENTS),
        Figure(
            "residents_per_street",
            "residents per street (mean)",
            sum(street_residents) / len(streets) if streets else 0,
            RESIDENTS_PER_STREET,
        ),
        Figure("largest_street", "residents of the largest street", max(street_residents, default=0), LARGEST_STREET),
        Figure("groups_urban", "groups under the streets", groups["urban"], GROUPS_URBAN),
        Figure("groups_rural", "groups under the towns", groups["rural"], GROUPS_RURAL),
        Figure("departments", "departments", len(district.departments()), DEPARTMENTS),
        Figure("office_staff_min", "staff of the smallest office", min(staff, default=0), None),
        Figure("office_staff_total", "street and town staff in all", sum(staff), None),
    ]
