"""The scenario schema: what a scenario file may say, with bounds, as frozen pydantic models.

A scenario is a description of one district and how it is run, the way a planning department would
write it down: how many residents each street and town serves, how grids, buildings and units are sized,
who staffs which post and when, what residents ask for and how each kind of request is handled. Every
model forbids unknown keys so a typo is an error, not a silent default. Default values live in one
commented file, ``defaults.toml`` beside this module, which every scenario implicitly extends.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from sim import limits


class Model(BaseModel):
    """Base of every scenario section: frozen and with no unknown keys.

    Scalars are strict (``staff = "50"`` is an error, not 50) and finite (TOML's ``nan`` and ``inf`` are
    errors); arrays become tuples so nothing in a loaded scenario can be changed in place.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def span(lo: int, hi: int) -> AfterValidator:
    """Metadata for an inclusive ``[low, high]`` range whose ends lie within ``lo..hi``."""

    def check(value: tuple[int, int]) -> tuple[int, int]:
        if not lo <= value[0] <= value[1] <= hi:
            raise ValueError(f"expected [low, high] with {lo:,} ≤ low ≤ high ≤ {hi:,}, found [{value[0]}, {value[1]}]")
        return value

    return AfterValidator(check)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """Text shown on terminals and in reports holds no control characters (a terminal would act on them)."""

    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            raise ValueError(f"{what} holds a control character ({ascii(found.group())[1:-1]}); remove it")
        return value

    return AfterValidator(check)


Int = Annotated[int, Strict()]
Pair = tuple[Int, Int]
Name = Annotated[str, Strict(), Field(min_length=1, max_length=80), _printable(_CONTROL, "a name")]
Text = Annotated[str, Strict(), Field(max_length=2000), _printable(_CONTROL_IN_TEXT, "a text")]
Ident = Annotated[str, Strict(), Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
OfficeId = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=24)]
Staff = Annotated[int, Strict(), Field(ge=0, le=limits.MAX_STAFF)]
Share = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
Hours = Annotated[float, Strict(), Field(gt=0.0, le=100_000.0)]
Weight = Annotated[float, Strict(), Field(ge=0.0, le=1000.0)]
Bool = Annotated[bool, Strict()]

Priority = Literal["special", "urgent", "ordinary"]
PRIORITIES: tuple[Priority, ...] = ("special", "urgent", "ordinary")

#: Post kinds, lowest first; rural posts play the part of the urban kind at the same depth.
PostKind = Literal["unit", "building", "grid", "community", "street", "department", "district"]
#: Neighbourhood levels a request can be settled at on triage, lowest first.
SettleLevel = Literal["unit", "building", "grid", "community", "street", "district"]
SETTLE_LEVELS: tuple[SettleLevel, ...] = ("unit", "building", "grid", "community", "street", "district")
EntryLevel = Literal["unit", "grid", "street"]
GridType = Literal["party_building", "comprehensive_governance", "health", "emergency_management", "urban_management"]
GRID_TYPES: tuple[GridType, ...] = (
    "party_building",
    "comprehensive_governance",
    "health",
    "emergency_management",
    "urban_management",
)


# --- the district -------------------------------------------------------------------------------------


class DistrictSpec(Model):
    """The root of the hierarchy."""

    name: Name
    name_en: Name


class DepartmentSpec(Model):
    """A district department that requests can be passed to (urban management, water, ...)."""

    name: Name
    name_en: Name
    staff: Staff


class OfficeSpec(Model):
    """A street or town office: how many residents it serves and, optionally, its own staff number."""

    residents: Annotated[int, Strict(), Field(ge=1, le=5_000_000)]
    name: Name | None = None
    name_en: Name | None = None
    staff: Staff | None = None


class UrbanSpec(Model):
    """How a street's residents are organised: communities, grids, buildings, stair units."""

    persons_per_household: Annotated[float, Strict(), Field(gt=0.5, le=10.0)]
    households_per_grid: Annotated[Pair, span(1, 5000)]
    grids_per_community: Annotated[Pair, span(1, 100)]
    households_per_unit: Annotated[Pair, span(1, 500)]
    units_per_building: Annotated[Pair, span(1, 50)]
    special_grids_per_100k: Annotated[float, Strict(), Field(ge=0.0, le=100.0)]
    special_grid_members: Annotated[Pair, span(1, 100_000)]
    community_staff: Staff
    grid_staff: Staff


class RuralSpec(Model):
    """How a town's residents are organised: villages, grids, committee members, villager representatives."""

    persons_per_household: Annotated[float, Strict(), Field(gt=0.5, le=10.0)]
    households_per_village: Annotated[Pair, span(1, 20_000)]
    large_village_households: Annotated[int, Strict(), Field(ge=1, le=20_000)]
    grids_small_village: Annotated[Pair, span(1, 20)]
    grids_large_village: Annotated[Pair, span(1, 20)]
    households_per_representative: Annotated[Pair, span(1, 500)]
    representatives_per_member: Annotated[Pair, span(1, 50)]
    village_staff: Staff
    grid_staff: Staff


class StaffingSpec(Model):
    """Street and town office staffing, the reform's main lever.

    ``allocation = "flat"`` gives every office ``per_office`` staff; ``"by_population"`` splits ``pool``
    staff in proportion to residents (largest remainder, at least ``minimum`` each). An office that sets
    its own ``staff`` keeps it either way.
    """

    allocation: Literal["flat", "by_population"]
    per_office: Staff
    pool: Staff | None = None
    minimum: Staff = 1


# --- how requests are handled -------------------------------------------------------------------------


class Dist(Model):
    """A time distribution in hours, named by family, mean and coefficient of variation (cv).

    ``exponential`` has cv 1 by definition; ``fixed`` is always ``mean_h``.
    """

    family: Literal["lognormal", "gamma", "exponential", "fixed"]
    mean_h: Annotated[float, Strict(), Field(ge=0.0, le=100_000.0)]
    cv: Annotated[float, Strict(), Field(ge=0.0, le=20.0)] = 1.0

    @model_validator(mode="after")
    def _consistent(self) -> Dist:
        if self.family != "fixed" and self.mean_h <= 0:
            raise ValueError(f"a {self.family} distribution needs mean_h > 0, found {self.mean_h}")
        if self.family in ("lognormal", "gamma") and self.cv <= 0:
            raise ValueError(f'a {self.family} distribution needs cv > 0 (use family = "fixed" for no spread)')
        if self.family == "exponential" and self.cv != 1.0:
            raise ValueError(f"an exponential distribution has cv = 1, found {self.cv}")
        return self


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _days(value: str) -> str:
    for part in value.split(","):
        if not _DAYS_RE.match(part.strip()):
            raise ValueError(f'expected days like "mon-fri" or "sat,sun", found "{value}"')
    return value


def _hours(value: str) -> str:
    m = _HOURS_RE.match(value)
    if not m or int(m.group(1)) * 60 + int(m.group(2)) > 1440 or int(m.group(3)) * 60 + int(m.group(4)) > 1440:
        raise ValueError(f'expected hours like "08:30-17:30" (past midnight: "22:00-06:00"), found "{value}"')
    if value[:5] == value[6:]:
        raise ValueError(f'an empty shift ("{value}"); use "00:00-24:00" for all day')
    return value


class DutyBlock(Model):
    """A block of the weekly calendar: on these days, between these hours, this many staff on duty.

    ``share`` is a fraction of the post's staff (rounded, at least one while the post has staff);
    ``count`` is a fixed number. Blocks that overlap add up.
    """

    days: Annotated[str, Strict(), AfterValidator(_days)] = "mon-sun"
    hours: Annotated[str, Strict(), AfterValidator(_hours)] = "00:00-24:00"
    share: Share | None = None
    count: Staff | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DutyBlock:
        if (self.share is None) == (self.count is None):
            raise ValueError("a shift sets exactly one of share (of the post's staff) or count")
        return self


class PostSpec(Model):
    """One kind of post: when its people are on duty and how long they take.

    ``staff`` is used where the graph gives a post no staff of its own (volunteer unit and building
    leaders, the district command centre). ``response_delay`` is the time before a volunteer notices a
    new message, scaled per priority by ``response_delay_factor`` (an alarming message is read sooner).
    ``handling`` is the staff time a request takes here unless its category says otherwise.
    """

    on_duty: tuple[DutyBlock, ...] = Field(min_length=1)
    staff: Staff | None = None
    response_delay: Dist | None = None
    response_delay_factor: dict[Priority, Annotated[float, Strict(), Field(ge=0.0, le=10.0)]] = Field(
        default_factory=dict
    )
    handling: Dist


class PostsSpec(Model):
    """Every kind of post, lowest first. Rural posts use the urban kind at the same depth."""

    unit: PostSpec
    building: PostSpec
    grid: PostSpec
    community: PostSpec
    street: PostSpec
    department: PostSpec
    district: PostSpec


class CategorySpec(Model):
    """A kind of request (a broken street light, a lost elderly person) and how it is usually handled.

    ``settle`` gives, per level, the chance that a post there settles a request on triage (for requests
    that do not need the department); ``needs_department`` is the share that needs ``department``, which
    posts from ``refer_from`` up pass on with a named handler. A department solves ``department_solves``
    of what it gets; the rest goes back up for study.
    """

    name: Name
    name_en: Name
    share: Share
    priority: Priority
    department: Ident
    needs_department: Share
    refer_from: Literal["grid", "community", "street"] = "street"
    settle: dict[SettleLevel, Share]
    handling: dict[SettleLevel, Dist] = Field(default_factory=dict)
    department_handling: Dist
    department_lead: Dist | None = None
    department_solves: Share
    entry: dict[EntryLevel, Share] | None = None
    joint_department: Ident | None = None
    joint_share: Share = 0.0
    grid: GridType
    in_unit: Share = 0.0
    in_unit_time: Dist | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CategorySpec:
        if self.entry is not None and abs(sum(self.entry.values()) - 1.0) > 1e-6:
            raise ValueError(f"entry shares must add up to 1, found {sum(self.entry.values()):g}")
        if self.joint_share > 0 and self.joint_department is None:
            raise ValueError("joint_share is set but joint_department is not: which second department?")
        if self.joint_department is not None and self.joint_department == self.department:
            raise ValueError(f"joint_department is the same as department ('{self.department}')")
        if self.in_unit > 0 and self.in_unit_time is None:
            raise ValueError("in_unit is set but in_unit_time is not: how long do neighbours take?")
        return self


Profile24 = Annotated[tuple[Weight, ...], Field(min_length=24, max_length=24)]
Profile7 = Annotated[tuple[Weight, ...], Field(min_length=7, max_length=7)]


class ArrivalSpec(Model):
    """How often residents ask, when, and through which channel.

    Every unit's households raise requests at ``requests_per_resident_year`` per resident (the one
    number that scales the whole load), shaped by the hour-of-day and day-of-week profiles (relative
    weights, normalised), split by the categories' shares. Members of special grids raise
    ``requests_per_member_year`` each.
    """

    requests_per_resident_year: Annotated[float, Strict(), Field(ge=0.0, le=1000.0)]
    requests_per_member_year: Annotated[float, Strict(), Field(ge=0.0, le=1000.0)]
    hour_profile: Profile24
    weekday_profile: Profile7
    entry: dict[EntryLevel, Share]

    @model_validator(mode="after")
    def _shapes(self) -> ArrivalSpec:
        if not any(self.hour_profile) or not any(self.weekday_profile):
            raise ValueError("an arrival profile needs at least one weight above 0")
        total = sum(self.entry.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"arrivals.entry shares must add up to 1, found {total:g}")
        return self


class DeadlineSpec(Model):
    """Response and resolution deadlines of one priority, in hours from arrival."""

    response_h: Hours
    resolution_h: Hours


class DeadlinesSpec(Model):
    """Response and resolution deadlines per priority."""

    special: DeadlineSpec
    urgent: DeadlineSpec
    ordinary: DeadlineSpec

    @model_validator(mode="after")
    def _ordered(self) -> DeadlinesSpec:
        for name in PRIORITIES:
            spec: DeadlineSpec = getattr(self, name)
            if spec.response_h > spec.resolution_h:
                raise ValueError(
                    f"{name}: the response deadline ({spec.response_h:g} h) is after the resolution deadline "
                    f"({spec.resolution_h:g} h)"
                )
        return self


PathLevel = Literal["unit", "building", "grid", "community", "street"]


def _path(value: tuple[str, ...]) -> tuple[str, ...]:
    order = [SETTLE_LEVELS.index(v) for v in value]
    if order != sorted(set(order)):
        raise ValueError(f"levels of an escalation path go up, each once, found {list(value)}")
    if "street" not in value:
        raise ValueError(f"an escalation path ends at the street (or town) office, found {list(value)}")
    return value


class EscalationSpec(Model):
    """Where a request goes when a post sends it up, and when that happens on its own.

    ``path`` lists, per priority, the levels a request passes through on the way up (特事特办: a special
    request goes from the unit's group straight to the street's command centre); above the street is
    always the district. With ``auto``, a request still waiting unanswered at its response deadline is
    sent up the same path, and again after each further response period, up to ``auto_top``.
    """

    auto: Bool
    auto_top: Literal["grid", "community", "street"]
    path: dict[Priority, Annotated[tuple[PathLevel, ...], AfterValidator(_path)]]


class WhistleRules(Model):
    """When a street or town office blows the whistle instead of an ordinary referral."""

    multi_department: Bool
    special: Bool
    overdue_at_street_h: Annotated[float, Strict(), Field(gt=0.0, le=100_000.0)] | None


class WhistleSpec(Model):
    """街乡吹哨、部门报到: the street summons departments, who must report and stay until the matter is done.

    Summoned departments put one person each on the case ahead of anything else; each reports after
    ``travel`` and is assessed against ``report_within_min``; when all have reported they work together
    for ``joint_handling`` and solve the problem with chance ``solves``. With ``bundle``, requests of the
    same category from the same community (or street) waiting at the office are solved on the same call.
    """

    enabled: Bool
    rules: WhistleRules
    report_within_min: Annotated[float, Strict(), Field(gt=0.0, le=10_000.0)]
    travel: Dist
    joint_handling: Dist
    solves: Share
    bundle: Literal["none", "community", "street"]


class ReferralSpec(Model):
    """An ordinary referral: passing a request to a department through the platform takes ``delay``."""

    delay: Dist


class GridsSpec(Model):
    """多网合一: one comprehensive grid, or five departmental grids sharing the same workers.

    ``separate``: each grid's workers are split across the five departmental grids; a request must
    reach its category's grid and lands at a wrong one with chance ``misroute``, whose worker spends
    ``handoff_handling`` on it and hands it on after ``handoff_delay``. ``merged``: one team with all the
    workers takes everything.
    """

    mode: Literal["merged", "separate"]
    misroute: Share
    handoff_delay: Dist
    handoff_handling: Dist


class PatienceSpec(Model):
    """Residents' patience: a resident whose request is still unanswered (``while = "waiting"``) or
    unresolved (``while = "unresolved"``) after their patience time abandons it to the city hotline.

    A share of abandoned requests, and of those resolved after their deadline, come back later as
    repeat requests.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    enabled: Bool
    while_: Literal["waiting", "unresolved"] = Field(alias="while")
    special: Dist
    urgent: Dist
    ordinary: Dist
    repeat_after_abandon: Share
    repeat_after_late: Share
    repeat_delay: Dist


class InUnitSpec(Model):
    """Whether neighbours settle matters among themselves (each category's ``in_unit`` share)."""

    enabled: Bool


_DAY_TIME = re.compile(r"^day\s+(\d{1,4})\s+([01]?\d|2[0-3]):([0-5]\d)$")


def _when(value: dt.datetime | str) -> dt.datetime | str:
    if isinstance(value, str) and not _DAY_TIME.match(value.strip()):
        raise ValueError(
            f'expected a date-time (2020-06-03T22:00:00) or "day N HH:MM" (day 1 is the first), found "{value}"'
        )
    return value


When = Annotated[dt.datetime | str, AfterValidator(_when)]


def hours_from_start(when: dt.datetime | str, start: dt.date) -> float:
    """A surge's or inject's time in hours from the run's start (``clock.start`` at 00:00)."""
    if isinstance(when, dt.datetime):
        return (when - dt.datetime.combine(start, dt.time())).total_seconds() / 3600.0
    m = _DAY_TIME.match(when.strip())
    assert m is not None
    return (int(m.group(1)) - 1) * 24.0 + int(m.group(2)) + int(m.group(3)) / 60.0


class SurgeSpec(Model):
    """A time window in which some categories (all, if none are named) arrive ``multiplier`` times as often."""

    name: Name
    start: When
    end: When
    multiplier: Annotated[float, Strict(), Field(ge=0.0, le=1000.0)]
    categories: tuple[Ident, ...] = ()


class InjectSpec(Model):
    """A scripted incident: one request at a set time and node, e.g. a lost elderly person at 09:30 on day 2."""

    at: When
    node: Annotated[str, Strict(), Field(min_length=1, max_length=120)]
    category: Ident
    priority: Priority | None = None
    text: Text = ""


TraceName = Annotated[str, Strict(), Field(min_length=1, max_length=200), _printable(_CONTROL, "a request type")]


class TraceSpec(Model):
    """How a real request log drives a run (``run --trace``): which scenario category each real request
    type becomes, where unlisted types go, and which day of the log is the run's first.

    A real type that is itself a category id, or a category's ``name`` or ``name_en``, needs no entry.
    With ``default = ""``, requests of unlisted types are left out of the run (and counted). ``start``
    defaults to the log's first day.
    """

    categories: dict[TraceName, Ident] = Field(default_factory=dict)
    default: Annotated[str, Strict(), Field(pattern=r"^([a-z][a-z0-9_]*)?$", max_length=40)] = ""
    start: dt.date | None = None


class ScoringSpec(Model):
    """How much each part of a training shift's score weighs (any scale: the weights are normalised)."""

    response: Weight = 3.0
    resolution: Weight = 3.0
    routing: Weight = 2.0
    whistles: Weight = 1.0
    escalations: Weight = 1.0


class TrainingSpec(Model):
    """A training shift: a trainee plays one post (all of its requests, or a desk's share of them) while
    the simulation plays the rest of the district in scaled real time, from ``start`` for ``hours``.

    The district runs from ``clock.start`` to ``start`` at full speed first, so the shift opens on a
    district already at work. After the shift the simulation runs ``follow_up_days`` more, to see what
    became of what the trainee did, and the score is set beside the engine's own policy at the same post
    on the same seed and arrivals.
    """

    post: Annotated[str, Strict(), Field(min_length=1, max_length=120)]
    start: When
    hours: Annotated[float, Strict(), Field(gt=0.0, le=24.0)] = 4.0
    speed: Annotated[float, Strict(), Field(ge=1.0, le=600.0)] = 60.0
    desk_share: Annotated[float, Strict(), Field(gt=0.0, le=1.0)] = 1.0
    follow_up_days: Annotated[float, Strict(), Field(ge=0.0, le=30.0)] = 7.0
    briefing: Text = ""
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    written_for: Annotated[str, Strict(), Field(max_length=120)] = ""
    """The post the shift was written for, when it is played at another (``train --as``, which sets it
    and moves the scripted incidents; see ``sim.training.shift.play_at``); empty: played where it was written."""


class ClockSpec(Model):
    """The simulated calendar: when the run starts, how long it lasts, what is warm-up."""

    start: dt.date
    days: Annotated[float, Strict(), Field(gt=0.0, le=limits.MAX_DAYS)]
    warmup_days: Annotated[float, Strict(), Field(ge=0.0, le=limits.MAX_DAYS)] = 0.0
    sample_h: Annotated[float, Strict(), Field(gt=0.0, le=168.0)] = 1.0


class SatisfactionSpec(Model):
    """The satisfaction model: each closed request scores between 0 and 1 (see the README)."""

    on_time: Share
    late_response_factor: Share
    half_life_deadlines: Annotated[float, Strict(), Field(gt=0.0, le=100.0)]


class Scenario(Model):
    """A whole scenario: the district's structure, its staffing, and how requests arrive and are handled.

    Streets, towns, departments and categories are tables keyed by id (``[streets.S1]``,
    ``[departments.water]``); street, town and department ids are the node ids of the governance graph,
    so ``--set streets.S1.staff=51`` reads as it acts.
    """

    name: Name
    description: Text = ""
    seed: Annotated[int, Strict(), Field(ge=0, le=limits.MAX_SEED)] = 0
    district: DistrictSpec
    departments: dict[Ident, DepartmentSpec]
    streets: dict[OfficeId, OfficeSpec] = Field(default_factory=dict)
    towns: dict[OfficeId, OfficeSpec] = Field(default_factory=dict)
    urban: UrbanSpec
    rural: RuralSpec
    staffing: StaffingSpec
    clock: ClockSpec
    arrivals: ArrivalSpec
    categories: dict[Ident, CategorySpec]
    posts: PostsSpec
    deadlines: DeadlinesSpec
    escalation: EscalationSpec
    satisfaction: SatisfactionSpec
    whistle: WhistleSpec
    referral: ReferralSpec
    grids: GridsSpec
    patience: PatienceSpec
    in_unit: InUnitSpec
    surges: tuple[SurgeSpec, ...] = ()
    injects: tuple[InjectSpec, ...] = ()
    trace: TraceSpec = Field(default_factory=TraceSpec)
    training: TrainingSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        seen: dict[str, str] = {}
        for section in ("departments", "streets", "towns"):
            for key in getattr(self, section):
                if key in seen or key == "district":
                    raise ValueError(f"id '{key}' is used twice (in {seen.get(key, 'the district')} and {section})")
                seen[key] = section
        known = ", ".join(self.departments) or "none"
        for cid, cat in self.categories.items():
            for field, dep in (("department", cat.department), ("joint_department", cat.joint_department)):
                if dep is not None and dep not in self.departments:
                    raise ValueError(f"categories.{cid}.{field}: no department '{dep}' (known: {known})")
        for i, surge in enumerate(self.surges):
            for cid in surge.categories:
                if cid not in self.categories:
                    raise ValueError(
                        f"surges.{i}.categories: no category '{cid}' (known: {', '.join(self.categories)})"
                    )
            if hours_from_start(surge.end, self.clock.start) <= hours_from_start(surge.start, self.clock.start):
                raise ValueError(f"surges.{i} ('{surge.name}'): end is not after start")
        for i, inject in enumerate(self.injects):
            if inject.category not in self.categories:
                raise ValueError(
                    f"injects.{i}.category: no category '{inject.category}' (known: {', '.join(self.categories)})"
                )
            if hours_from_start(inject.at, self.clock.start) < 0:
                raise ValueError(f"injects.{i}.at: before the run starts ({self.clock.start})")
        if self.training is not None and hours_from_start(self.training.start, self.clock.start) < 0:
            raise ValueError(f"training.start: before the run starts ({self.clock.start})")
        known_cats = ", ".join(self.categories)
        for real, cid in self.trace.categories.items():
            if cid not in self.categories:
                raise ValueError(f"trace.categories: '{real}' maps to no category '{cid}' (known: {known_cats})")
        if self.trace.default and self.trace.default not in self.categories:
            raise ValueError(f"trace.default: no category '{self.trace.default}' (known: {known_cats})")
        shares = sum(c.share for c in self.categories.values())
        if self.categories and abs(shares - 1.0) > 1e-6:
            raise ValueError(f"category shares must add up to 1, found {shares:g}")
        if self.grids.mode == "separate":
            for area in ("urban", "rural"):
                staff = getattr(self, area).grid_staff
                if staff < len(GRID_TYPES):
                    raise ValueError(
                        f'grids.mode = "separate" needs at least {len(GRID_TYPES)} workers per grid (one per '
                        f"departmental grid); {area}.grid_staff is {staff}"
                    )
        if self.clock.warmup_days >= self.clock.days:
            raise ValueError(
                f"clock.warmup_days ({self.clock.warmup_days:g}) must be shorter than clock.days ({self.clock.days:g})"
            )
        return self

    def deadline(self, priority: Priority) -> DeadlineSpec:
        spec: DeadlineSpec = getattr(self.deadlines, priority)
        return spec
