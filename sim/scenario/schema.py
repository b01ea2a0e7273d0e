"""The scenario schema: what a scenario file may say, with bounds, as frozen pydantic models.

A scenario is a description of one district and how it is run, the way a planning department would
write it down: how many residents each street and town serves, how grids, buildings and units are sized,
who staffs which office. Every model forbids unknown keys so a typo is an error, not a silent default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator


class Model(BaseModel):
    """Base of every scenario section: frozen and with no unknown keys.

    Scalars are strict (``staff = "50"`` is an error, not 50); arrays become tuples so nothing in a
    loaded scenario can be changed in place.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


def span(lo: int, hi: int) -> AfterValidator:
    """Metadata for an inclusive ``[low, high]`` range whose ends lie within ``lo..hi``."""

    def check(value: tuple[int, int]) -> tuple[int, int]:
        if not lo <= value[0] <= value[1] <= hi:
            raise ValueError(f"expected [low, high] with {lo:,} ≤ low ≤ high ≤ {hi:,}, found [{value[0]}, {value[1]}]")
        return value

    return AfterValidator(check)


Int = Annotated[int, Strict()]
Pair = tuple[Int, Int]
Float = Annotated[float, Strict()]
Name = Annotated[str, Strict(), Field(min_length=1, max_length=80)]
Ident = Annotated[str, Strict(), Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
OfficeId = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=24)]
Staff = Annotated[int, Strict(), Field(ge=0, le=100_000)]
Share = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]


class DistrictSpec(Model):
    """The root of the hierarchy."""

    name: Name = "海港区"
    name_en: Name = "Haigang District"


class DepartmentSpec(Model):
    """A district department that requests can be passed to (urban management, water, ...)."""

    name: Name
    name_en: Name
    staff: Staff = 40


class OfficeSpec(Model):
    """A street or town office: how many residents it serves and, optionally, its own staff number."""

    residents: Annotated[int, Strict(), Field(ge=1, le=5_000_000)]
    name: Name | None = None
    name_en: Name | None = None
    staff: Staff | None = None


class UrbanSpec(Model):
    """How a street's residents are organised: communities, grids, buildings, stair units."""

    persons_per_household: Annotated[float, Strict(), Field(gt=0.5, le=10.0)] = 2.6
    households_per_grid: Annotated[Pair, span(1, 5000)] = (300, 500)
    grids_per_community: Annotated[Pair, span(1, 100)] = (5, 12)
    households_per_unit: Annotated[Pair, span(1, 500)] = (10, 28)
    units_per_building: Annotated[Pair, span(1, 50)] = (1, 5)
    special_grids_per_100k: Annotated[float, Strict(), Field(ge=0.0, le=100.0)] = 3.5
    special_grid_members: Annotated[Pair, span(1, 100_000)] = (200, 3000)
    community_staff: Staff = 6
    grid_staff: Staff = 2


class RuralSpec(Model):
    """How a town's residents are organised: villages, grids, committee members, villager representatives."""

    persons_per_household: Annotated[float, Strict(), Field(gt=0.5, le=10.0)] = 3.0
    households_per_village: Annotated[Pair, span(1, 20_000)] = (150, 600)
    large_village_households: Annotated[int, Strict(), Field(ge=1, le=20_000)] = 400
    grids_small_village: Annotated[Pair, span(1, 20)] = (1, 2)
    grids_large_village: Annotated[Pair, span(1, 20)] = (2, 4)
    households_per_representative: Annotated[Pair, span(1, 500)] = (14, 32)
    representatives_per_member: Annotated[Pair, span(1, 50)] = (2, 4)
    village_staff: Staff = 5
    grid_staff: Staff = 1


class StaffingSpec(Model):
    """Street and town office staffing, the reform's main lever.

    ``allocation = "flat"`` gives every office ``per_office`` staff; ``"by_population"`` splits ``pool``
    staff in proportion to residents (largest remainder, at least ``minimum`` each). An office that sets
    its own ``staff`` keeps it either way.
    """

    allocation: Literal["flat", "by_population"] = "flat"
    per_office: Staff = 11
    pool: Staff | None = None
    minimum: Staff = 1


class Scenario(Model):
    """A whole scenario: the district's structure and how it is staffed.

    Streets, towns and departments are tables keyed by id (``[streets.S1]``, ``[departments.water]``);
    the ids are the node ids of the governance graph, so ``--set streets.S1.staff=51`` reads as it acts.
    """

    name: Name
    description: Annotated[str, Strict()] = ""
    seed: Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)] = 0
    district: DistrictSpec = DistrictSpec()
    departments: dict[Ident, DepartmentSpec] = Field(default_factory=dict)
    streets: dict[OfficeId, OfficeSpec] = Field(default_factory=dict)
    towns: dict[OfficeId, OfficeSpec] = Field(default_factory=dict)
    urban: UrbanSpec = UrbanSpec()
    rural: RuralSpec = RuralSpec()
    staffing: StaffingSpec = StaffingSpec()

    @model_validator(mode="after")
    def _ids_unique(self) -> Scenario:
        seen: dict[str, str] = {}
        for section in ("departments", "streets", "towns"):
            for key in getattr(self, section):
                if key in seen or key == "district":
                    raise ValueError(f"id '{key}' is used twice (in {seen.get(key, 'the district')} and {section})")
                seen[key] = section
        return self
