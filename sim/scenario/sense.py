"""Sense checks: scenarios that validate field by field but would make a run meaningless, refused up front.

A planning office reads a proposal through before costing it: an office with nobody on duty, requests
with no department to go to, an incident scripted after the period ends, a district too large to draw
on the paper at hand. Each is one located problem, found before any district is built or run, because
a run of such a scenario still prints plausible numbers (zero staff "resolving" requests through the
neighbours, an empty warm-up window scoring 0 requests) that a policy team could act on.

Checks that need the built district (does an inject's node exist?) take a lookup of node levels, so
this module stays below the structure.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim import limits
from sim.errors import Problem, ScenarioError
from sim.scenario.schema import SETTLE_LEVELS, OfficeSpec, PostSpec, Priority, Scenario, hours_from_start

#: Memory a run needs besides its district, and per node of the graph (measured: the default district's
#: 27,499 nodes run a day in 335 MB, 139,818 nodes in 863 MB).
BASE_BYTES = 250 * 1024**2
BYTES_PER_NODE = 5 * 1024
#: The most nodes any machine is asked to build (the default district has 27,499).
MAX_NODES = 10_000_000
#: Levels a post of each kind sits at on the way up, lowest first (the settle levels minus the district).
_LEVELS = SETTLE_LEVELS[:-1]


@dataclass(frozen=True)
class Size:
    """What building and running a scenario's district takes, estimated from its figures."""

    nodes: int
    bytes: int

    def describe(self) -> str:
        return f"about {self.nodes:,} nodes, about {self.bytes / 1024**3:,.1f} GB to run"


def machine_bytes() -> int:
    """The machine's memory (physical pages), or a generous 64 GB where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 * 1024**3


def _mid(pair: tuple[int, int]) -> float:
    return (pair[0] + pair[1]) / 2


def size(scenario: Scenario) -> Size:
    """The district's node count and the memory a run of it needs, from the structure's sizing rules
    (each level splits the one above into parts of the middle of its range, as the builder does)."""
    u, r = scenario.urban, scenario.rural
    nodes = 1.0 + len(scenario.departments)
    for office in scenario.streets.values():
        households = office.residents / u.persons_per_household
        grids = households / _mid(u.households_per_grid)
        units = households / _mid(u.households_per_unit)
        buildings = units / _mid(u.units_per_building)
        specials = u.special_grids_per_100k * office.residents / 100_000
        nodes += 1 + max(1.0, grids / _mid(u.grids_per_community)) + grids + buildings + units + specials
    for office in scenario.towns.values():
        households = office.residents / r.persons_per_household
        villages = max(1.0, households / _mid(r.households_per_village))
        representatives = households / _mid(r.households_per_representative)
        members = representatives / _mid(r.representatives_per_member)
        nodes += 1 + villages + villages * _mid(r.grids_small_village) + members + representatives
    count = math.ceil(nodes)
    return Size(count, BASE_BYTES + BYTES_PER_NODE * count)


# --- who works where requests go ------------------------------------------------------------------------


def office_staff(scenario: Scenario) -> dict[str, int]:
    """Staff of each street and town office (by id), after the scenario's allocation rule."""
    offices: dict[str, OfficeSpec] = {**scenario.streets, **scenario.towns}
    rule = scenario.staffing
    out = {oid: o.staff if o.staff is not None else rule.per_office for oid, o in offices.items()}
    if rule.allocation == "by_population":
        free = [oid for oid, o in offices.items() if o.staff is None]
        fixed = sum(o.staff for o in offices.values() if o.staff is not None)
        pool = rule.pool if rule.pool is not None else rule.per_office * len(offices)
        shares = split_by_weight(pool - fixed, [offices[oid].residents for oid in free], minimum=rule.minimum)
        out.update(zip(free, shares, strict=True))
    return out


def split_by_weight(total: int, weights: list[int], minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), each part at least ``minimum``."""
    if not weights:
        return []
    base = [minimum] * len(weights)
    rest = max(0, total - minimum * len(weights))
    whole = sum(weights)
    exact = [rest * w / whole for w in weights] if whole else [rest / len(weights)] * len(weights)
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [b + p for b, p in zip(base, parts, strict=True)]


def _on_duty(spec: PostSpec, staff: int) -> bool:
    """Is anyone ever on duty at a post of this kind with ``staff`` people (a fixed count, or a share of
    staff that has someone in it)?"""
    return any((s.count or 0) > 0 or ((s.share or 0.0) > 0 and staff > 0) for s in spec.on_duty)


def _used(scenario: Scenario) -> tuple[set[str], set[Priority]]:
    """The categories requests can be of (a share above 0, or scripted) and the priorities they carry."""
    cats = {cid for cid, c in scenario.categories.items() if c.share > 0} | {i.category for i in scenario.injects}
    prios: set[Priority] = {scenario.categories[c].priority for c in cats if c in scenario.categories}
    prios |= {i.priority for i in scenario.injects if i.priority is not None}
    return cats, prios


def reached_levels(scenario: Scenario) -> list[str]:
    """The neighbourhood levels requests reach: where they enter, every level above that on an escalation
    path of a priority they carry, the street (or town) office, and the district above it."""
    cats, prios = _used(scenario)
    entries = set()
    for cid in cats:
        cat = scenario.categories.get(cid)
        table = cat.entry if cat is not None and cat.entry is not None else scenario.arrivals.entry
        entries |= {level for level, share in table.items() if share > 0}
    lowest = min((_LEVELS.index(e) for e in entries), default=_LEVELS.index("street"))
    reached = {_LEVELS[i] for i in (_LEVELS.index(e) for e in entries)}
    for p in prios:
        reached |= {lv for lv in scenario.escalation.path.get(p, ()) if _LEVELS.index(lv) >= lowest}
    return [lv for lv in (*_LEVELS, "district") if lv in reached | {"street", "district"}]


def _staff_problems(scenario: Scenario) -> list[Problem]:
    problems: list[Problem] = []
    reached = reached_levels(scenario)
    u, r = scenario.urban, scenario.rural
    kinds: list[tuple[str, int, str, str]] = []  # (post kind, staff, the key that sets it, what it is)
    for level in reached:
        if level in ("unit", "building", "district"):
            spec = getattr(scenario.posts, level)
            kinds.append((level, spec.staff or 0, f"posts.{level}.staff", f"{level} posts"))
        elif level == "grid":
            if scenario.streets:
                kinds.append(("grid", u.grid_staff, "urban.grid_staff", "urban grids"))
            if scenario.towns:
                kinds.append(("grid", r.grid_staff, "rural.grid_staff", "rural grids"))
        elif level == "community":
            if scenario.streets:
                kinds.append(("community", u.community_staff, "urban.community_staff", "communities"))
            if scenario.towns:
                kinds.append(("community", r.village_staff, "rural.village_staff", "villages"))
    for kind, staff, key, what in kinds:
        spec = getattr(scenario.posts, kind)
        if not _on_duty(spec, staff):
            problems.append(_nobody(key if staff == 0 else f"posts.{kind}.on_duty", what, staff))
    idle: dict[tuple[str, int], list[str]] = {}  # (the key to change, staff) -> offices nobody works at
    for oid, staff in office_staff(scenario).items():
        section = "streets" if oid in scenario.streets else "towns"
        if not _on_duty(scenario.posts.street, staff):
            own = getattr(scenario, section)[oid].staff is not None
            key = "posts.street.on_duty" if staff else f"{section}.{oid}.staff" if own else "staffing.per_office"
            if key == "staffing.per_office" and scenario.staffing.allocation == "by_population":
                key = "staffing.pool"
            idle.setdefault((key, staff), []).append(oid)
    for (key, staff), oids in idle.items():
        what = f"offices of {', '.join(oids)}" if len(oids) > 1 else f"the office of {oids[0]}"
        problems.append(_nobody(key, what, staff, every=len(oids) > 1))
    needed: dict[str, str] = {}
    cats, _ = _used(scenario)
    for cid in sorted(cats):
        cat = scenario.categories.get(cid)
        if cat is None:
            continue
        if cat.needs_department > 0:
            needed.setdefault(cat.department, cid)
        if cat.joint_department is not None and cat.joint_share > 0:
            needed.setdefault(cat.joint_department, cid)
    for did, cid in needed.items():
        dep = scenario.departments.get(did)
        if dep is not None and not _on_duty(scenario.posts.department, dep.staff):
            key = f"departments.{did}.staff" if dep.staff == 0 else "posts.department.on_duty"
            why = "0 staff" if dep.staff == 0 else "no shift puts anyone on duty: every count and share is 0"
            problems.append(
                Problem(
                    f"nobody at the department {did} is ever on duty ({why}), but {cid} requests need it; they "
                    "would wait for ever",
                    path=key,
                )
            )
    return problems


def _nobody(key: str, what: str, staff: int, every: bool = True) -> Problem:
    why = "0 staff" if staff == 0 else "no shift puts anyone on duty: every count and share is 0"
    at = f"nobody at {'any of the ' if every else ''}{what} is ever on duty ({why})"
    return Problem(f"{at}, but requests reach {'them' if every else 'it'}; they would wait for ever", path=key)


# --- what the run is about -----------------------------------------------------------------------------


def _arrival_problems(scenario: Scenario) -> list[Problem]:
    problems = []
    if not scenario.categories:
        problems.append(Problem("no categories: residents' requests need at least one kind", path="categories"))
    elif not any(c.share > 0 for c in scenario.categories.values()) and not scenario.injects:
        problems.append(
            Problem("every category's share is 0 and nothing is scripted: no request would arrive", path="categories")
        )
    a = scenario.arrivals
    members = scenario.urban.special_grids_per_100k > 0 and a.requests_per_member_year > 0 and scenario.streets
    if a.requests_per_resident_year == 0 and not members and not scenario.injects:
        problems.append(
            Problem(
                "no request would ever arrive (0 requests per resident and per member a year, nothing scripted)",
                path="arrivals.requests_per_resident_year",
            )
        )
    return problems


def _when_problems(scenario: Scenario, days: float, source: str | None) -> list[Problem]:
    """Scripted incidents and a training shift must fall inside the run."""
    problems = []
    start = scenario.clock.start
    end_h = days * 24.0
    for i, inject in enumerate(scenario.injects):
        at = hours_from_start(inject.at, start)
        if at >= end_h:
            problems.append(
                Problem(
                    f"at {_when(inject.at)}, after the run's end ({days:g} days from {start}): it would never happen",
                    source=source,
                    path=f"injects.{i}.at",
                )
            )
    if scenario.training is not None:
        at = hours_from_start(scenario.training.start, start)
        if at >= end_h:
            problems.append(
                Problem(
                    f"the shift starts at {_when(scenario.training.start)}, after the run's end ({days:g} days "
                    f"from {start})",
                    source=source,
                    path="training.start",
                )
            )
    return problems


def _days(n: float) -> str:
    return f"{n:g} day" if n == 1 else f"{n:g} days"


def _when(at: dt.datetime | str) -> str:
    return at.isoformat(sep=" ") if isinstance(at, dt.datetime) else f'"{at}"'


def problems(scenario: Scenario) -> list[Problem]:
    """Everything that makes ``scenario`` meaningless to run, each with the dotted key to change."""
    found = _arrival_problems(scenario) + _staff_problems(scenario)
    found += _when_problems(scenario, scenario.clock.days, None)
    need = size(scenario)
    room = min(machine_bytes(), BYTES_PER_NODE * MAX_NODES + BASE_BYTES)
    if need.bytes > room:
        most = max(0, (room - BASE_BYTES) // BYTES_PER_NODE)
        found.append(
            Problem(
                f"the district is too large to build: {need.describe()} (this machine has "
                f"{machine_bytes() / 1024**3:,.0f} GB; at most about {most:,} nodes)",
                path="streets" if scenario.streets else "towns",
            )
        )
    return found


def check(scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` with every sense problem of ``scenario`` (unlocated: the loader
    locates them in its files)."""
    found = problems(scenario)
    if found:
        raise ScenarioError(found)


# --- the run asked for: its length and warm-up against the scenario --------------------------------------


def expected_requests(scenario: Scenario, start_h: float, end_h: float) -> float:
    """Requests expected to arrive between two run hours, by the arrival rate and its hour and weekday
    profiles (surges and repeats left out)."""
    a = scenario.arrivals
    residents = sum(o.residents for o in [*scenario.streets.values(), *scenario.towns.values()])
    specials = scenario.urban.special_grids_per_100k * sum(o.residents for o in scenario.streets.values()) / 1e5
    members = specials * _mid(scenario.urban.special_grid_members)
    per_hour = (residents * a.requests_per_resident_year + members * a.requests_per_member_year) / (365.0 * 24.0)
    hours = np.asarray(a.hour_profile, float)
    days = np.asarray(a.weekday_profile, float)
    shape = np.outer(days / days.mean(), hours / hours.mean()).ravel()  # 168 weights, Monday 00:00 first
    offset = scenario.clock.start.weekday() * 24
    lo, hi = math.floor(start_h), math.ceil(end_h)
    if hi - lo > 2 * 168:  # long windows: whole weeks at the mean, the rest hour by hour
        return per_hour * (end_h - start_h)
    steps = np.arange(lo, hi)
    cover = np.minimum(steps + 1, end_h) - np.maximum(steps, start_h)
    return float(per_hour * (shape[(steps + offset) % 168] * cover).sum())


def check_run(
    scenario: Scenario,
    days: float | None,
    warmup_days: float | None,
    *,
    days_source: str = "--days",
    warmup_source: str = "--warmup-days",
    generated: bool = True,
) -> tuple[float, float]:
    """The run's length and warm-up (given, else the scenario's), refused if they cannot judge anything:
    a warm-up as long as the run, a judged window in which no request is expected, scripted incidents
    after the end. ``generated`` is False when a trace replaces the generated arrivals."""
    run_days = scenario.clock.days if days is None else days
    warmup = scenario.clock.warmup_days if warmup_days is None else warmup_days
    src_days = f"{days_source} {days:g}" if days is not None else None
    src_warm = f"{warmup_source} {warmup_days:g}" if warmup_days is not None else src_days
    if not (math.isfinite(run_days) and 0 < run_days <= limits.MAX_DAYS):
        raise ScenarioError(
            Problem(
                f"expected a number of days > 0 and ≤ {limits.MAX_DAYS:,g}, found {run_days}",
                source=src_days,
                path="clock.days",
            )
        )
    if not (math.isfinite(warmup) and warmup >= 0):
        raise ScenarioError(
            Problem(f"expected a number of days ≥ 0, found {warmup}", source=src_warm, path="clock.warmup_days")
        )
    if warmup >= run_days:
        raise ScenarioError(
            Problem(
                f"the warm-up ({_days(warmup)}) must be shorter than the run ({_days(run_days)}): every request "
                "would be left out of the KPIs",
                source=src_warm,
            )
        )
    expected = expected_requests(scenario, warmup * 24.0, run_days * 24.0)
    scripted = sum(1 for i in scenario.injects if warmup * 24.0 <= hours_from_start(i.at, scenario.clock.start))
    if generated and expected + scripted < 1.0:
        raise ScenarioError(
            Problem(
                f"the run judges {run_days - warmup:g} days after the warm-up, in which about {expected:.2g} "
                "requests are expected: too short to judge anything; run longer",
                source=src_days or src_warm,
            )
        )
    late = _when_problems(scenario, run_days, src_days)
    if late:
        raise ScenarioError(late)
    return run_days, warmup


def node_problems(scenario: Scenario, level_of: Callable[[str], str | None]) -> list[Problem]:
    """Scripted incidents at nodes the district does not have (or at a department or the district, which
    raise no requests), and a training post that does not exist; ``level_of`` gives a node's level."""
    found = []
    for i, inject in enumerate(scenario.injects):
        level = level_of(inject.node)
        if level is None or level in ("department", "district"):
            why = "no such node in the district" if level is None else f"a {level} does not raise requests"
            found.append(
                Problem(f"'{inject.node}': {why}; use a node id such as 'S1/C1/G1/B1/U1'", path=f"injects.{i}.node")
            )
    if scenario.training is not None and level_of(scenario.training.post) is None:
        found.append(
            Problem(
                f"no post '{scenario.training.post}' in the district (e.g. S1, S1/C1, S1/C1/G1, water)",
                path="training.post",
            )
        )
    return found
