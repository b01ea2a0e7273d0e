"""Staffing: Erlang C, and answers to "how many staff does this street need?".

Erlang C is the textbook answer for a pool of people answering a stream of requests (a call centre, a
street's command centre): for Poisson arrivals at rate ``lam`` per hour, exponential handling at rate
``mu`` per hour per person and ``c`` people, it gives the chance a request has to wait, the mean wait and
the share waiting longer than a target. The engine is checked against these figures (``validation``),
and staffing answers start from them: an Erlang C first guess from each office's measured load,
confirmed and corrected by simulating the whole district; for a pool of staff, the best split across
offices (marginal allocation) beside the flat split and the split by population.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.calendars import Calendar
from sim.errors import MicrogovError
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.experiment.executors import Executor


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system with offered load ``load`` (Erlangs), by the stable
    recurrence B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that a request must wait in an M/M/c queue (1 when the queue is unstable)."""
    if servers <= 0 or load >= servers:
        return 1.0
    b = erlang_b(servers, load)
    rho = load / servers
    return b / (1.0 - rho * (1.0 - b))


@dataclass(frozen=True)
class MMC:
    """Steady-state figures of an M/M/c queue; times in hours."""

    arrival_rate: float
    service_rate: float
    servers: int

    @property
    def load(self) -> float:
        return self.arrival_rate / self.service_rate

    @property
    def utilisation(self) -> float:
        return self.load / self.servers

    @property
    def stable(self) -> bool:
        return self.utilisation < 1.0

    @property
    def p_wait(self) -> float:
        return erlang_c(self.servers, self.load)

    @property
    def wq_mean(self) -> float:
        if not self.stable:
            return math.inf
        return self.p_wait / (self.servers * self.service_rate - self.arrival_rate)

    def p_wait_longer(self, hours: float) -> float:
        """P(wait > hours): the Erlang C tail C * exp(-(c mu - lam) t)."""
        if not self.stable:
            return 1.0
        return self.p_wait * math.exp(-(self.servers * self.service_rate - self.arrival_rate) * hours)

    def service_level(self, hours: float) -> float:
        """Share of requests picked up within ``hours``."""
        return 1.0 - self.p_wait_longer(hours)


def servers_for(arrival_rate: float, service_rate: float, hours: float, share: float, limit: int = 100_000) -> int:
    """The fewest servers for which at least ``share`` of requests wait no longer than ``hours``."""
    c = max(1, math.floor(arrival_rate / service_rate) + 1)
    while c <= limit:
        if MMC(arrival_rate, service_rate, c).service_level(hours) >= share:
            return c
        c += 1
    return limit


# --- staffing answers for the district ---------------------------------------------------------------

_TARGET = re.compile(
    r"^\s*(special|urgent|ordinary|all)\.(response|resolution|wait)\s*<=\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*@\s*(\d*\.?\d+)\s*$"
)
_UNIT_H = {"m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0}
MAX_ROUNDS = 12


class StaffingError(MicrogovError):
    """A staffing question cannot be answered as asked (a malformed target, a pool too small)."""


@dataclass(frozen=True)
class ServiceTarget:
    """``urgent.response<=2h@0.90``: 90% of urgent requests responded to within 2 hours.

    Measures: ``response`` and ``resolution`` (from arrival), ``wait`` (waiting for pickup at the street
    or town office). The priority may be ``all``.
    """

    priority: str | None
    measure: str
    hours: float
    share: float
    text: str

    @classmethod
    def parse(cls, text: str) -> ServiceTarget:
        m = _TARGET.match(text)
        if not m:
            raise StaffingError(
                f"--target '{text}': expected PRIORITY.MEASURE<=TIME@SHARE, e.g. urgent.response<=2h@0.90 "
                "(priority: special, urgent, ordinary or all; measure: response, resolution or wait; "
                "time in m, h or d)"
            )
        share = float(m.group(5))
        if not 0 < share <= 1:
            raise StaffingError(f"--target '{text}': the share must be above 0 and at most 1, found {share:g}")
        hours = float(m.group(3)) * _UNIT_H[m.group(4)]
        if hours <= 0:
            raise StaffingError(f"--target '{text}': the time must be above 0")
        priority = None if m.group(1) == "all" else m.group(1)
        return cls(priority, m.group(2), hours, share, text.strip())


def week_profile(scenario: Scenario) -> np.ndarray:
    """Relative arrivals in each hour of the week (Monday 00:00 first), with a mean of 1."""
    hours = np.asarray(scenario.arrivals.hour_profile, float)
    days = np.asarray(scenario.arrivals.weekday_profile, float)
    weight = np.array([hours[h % 24] * days[h // 24] for h in range(168)])
    out: np.ndarray = weight / weight.mean()
    return out


def on_duty_by_hour(scenario: Scenario, staff: int) -> np.ndarray:
    """People on duty at a street or town office with ``staff`` staff, hour by hour of the week."""
    cal = Calendar.from_shifts(scenario.posts.street.on_duty, staff)
    return np.array([cal.at(h + 0.5)[0] for h in range(168)])


def psa_service_level(rates: np.ndarray, mu: float, servers: np.ndarray, hours: float) -> float:
    """Share of requests picked up within ``hours`` over a week whose arrival rate and people on duty
    change hour by hour: Erlang C in each hour as if it lasted (the pointwise stationary approximation),
    weighted by the hour's arrivals. An hour with nobody on duty, or more work than its people can
    do, counts as picking up nothing in time."""
    a = rates / mu
    c = servers.astype(int)
    b = np.ones_like(a)
    at_c = np.where(c == 0, 1.0, 0.0)
    for k in range(1, int(c.max(initial=0)) + 1):
        b = a * b / (k + a * b)
        at_c = np.where(c == k, b, at_c)
    stable = (c > 0) & (a < c)
    rho = np.where(c > 0, a / np.maximum(c, 1), 1.0)
    wait_p = np.where(stable, at_c / (1.0 - rho * (1.0 - at_c)), 1.0)
    level = np.where(stable, 1.0 - wait_p * np.exp(-(c * mu - rates) * hours), 0.0)
    total = rates.sum()
    return float((rates * level).sum() / total) if total > 0 else 1.0


@dataclass(frozen=True)
class OfficeLoad:
    office: str
    residents: int
    pickups_per_h: float


PILOT_STAFF = 200


def measure_loads(
    scenario: Scenario,
    days: float,
    seed: int,
    offices: tuple[str, ...] = (),
    progress: Callable[[float], None] | None = None,
) -> tuple[list[OfficeLoad], float]:
    """Each office's demand (requests reaching it per hour) from one pilot run in which every office has
    ``PILOT_STAFF`` staff, so that what is measured is the demand and not what a short-staffed office
    manages to pick up; and the service rate per person (per hour). With ``offices``, only those."""
    from sim.engine import simulate
    from sim.experiment.replicate import district_for

    generous = with_staff(scenario, {oid: PILOT_STAFF for oid in [*scenario.streets, *scenario.towns]})
    district = district_for(generous, offices)
    result = simulate(generous, days=days, seed=seed, district=district, progress=progress)
    m = result.metrics
    specs = {**scenario.streets, **scenario.towns}
    loads = []
    for i, office in enumerate(m.offices):
        n = sum(w.done.n + w.left + w.open.n for w in m.office_wait[i])
        loads.append(OfficeLoad(office, specs[office].residents, n / (days * 24.0)))
    return loads, 1.0 / scenario.posts.street.handling.mean_h


class ErlangWeek:
    """Erlang C over the week for every office, with each staff number's rota (cached)."""

    def __init__(self, scenario: Scenario, mu: float, hours: float) -> None:
        self.scenario = scenario
        self.mu = mu
        self.hours = hours
        self.profile = week_profile(scenario)
        self._rota: dict[int, np.ndarray] = {}
        self._levels: dict[tuple[str, int], float] = {}

    def level(self, load: OfficeLoad, staff: int) -> float:
        key = (load.office, staff)
        if key not in self._levels:
            if staff not in self._rota:
                self._rota[staff] = on_duty_by_hour(self.scenario, staff)
            rates = load.pickups_per_h * self.profile
            self._levels[key] = psa_service_level(rates, self.mu, self._rota[staff], self.hours)
        return self._levels[key]

    def guess(self, load: OfficeLoad, share: float, cap: int) -> int:
        """The fewest staff meeting ``share`` on the weekly Erlang C (a bisection: more staff never
        lower it); ``cap`` when even that many do not."""
        lo, hi = 0, cap
        if self.level(load, cap) < share:
            return cap
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.level(load, mid) >= share:
                hi = mid
            else:
                lo = mid
        return hi


MET_SURELY, MET_ON_MEAN, NOT_MET = "met with 95% confidence", "met on the mean only", "not met"


def meets(result: dict[str, Any] | None, share: float) -> bool:
    return result is not None and result.get("mean") is not None and result["mean"] >= share


def verdict_of(result: dict[str, Any] | None, share: float) -> str:
    """How sure a staffing answer is: the share's whole 95% interval at or above the target, only its
    mean, or not even that."""
    if not meets(result, share):
        return NOT_MET
    assert result is not None
    ci = result.get("ci")
    return MET_SURELY if ci and ci[0] is not None and ci[0] >= share else MET_ON_MEAN


def against_flat(paired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The splits' paired differences from the flat one in the share meeting the target, the question
    ``--pool`` asks: its verdicts control the family-wise error over the splits compared (Holm), not over
    every KPI the comparison also reports."""
    from sim.experiment.kpis import BY_NAME
    from sim.experiment.stats import holm, verdict

    shares = [p["kpis"]["target_share"] for p in paired]
    adjusted = holm([k["p_value"] if k["p_value"] is not None else 1.0 for k in shares])
    out = []
    for p, k, p_holm in zip(paired, shares, adjusted, strict=True):
        judged = dict(k, p_holm=p_holm)
        if k["ci"] is not None:
            lo, hi = k["ci"]
            judged["verdict"] = verdict(lo, hi, BY_NAME["target_share"].better, significant=p_holm <= 0.05)
        out.append({"name": p["name"], "vs": p["vs"], "kpis": {"target_share": judged}})
    return out


def with_staff(scenario: Scenario, staff: dict[str, int]) -> Scenario:
    streets = {k: v.model_copy(update={"staff": staff.get(k, v.staff)}) for k, v in scenario.streets.items()}
    towns = {k: v.model_copy(update={"staff": staff.get(k, v.staff)}) for k, v in scenario.towns.items()}
    return scenario.model_copy(update={"streets": streets, "towns": towns})


LOOKAHEAD = 40


def marginal_split(loads: Sequence[OfficeLoad], week: ErlangWeek, pool: int) -> dict[str, int]:
    """Marginal allocation: every office starts with one person, and the rest go, a block at a time,
    where the weekly Erlang C says the district's share of requests meeting the target rises most per
    person. Blocks (looking up to ``LOOKAHEAD`` people ahead) matter because the share is not concave in
    staff: a rota gains a second person on night duty only at some staff number, and one person at a
    time would see no gain until then."""
    if pool < len(loads):
        raise StaffingError(f"a pool of {pool} cannot give each of the {len(loads)} offices one person")
    staff = {load.office: 1 for load in loads}
    left = pool - len(loads)
    while left > 0:
        best: tuple[float, OfficeLoad, int] | None = None
        for load in loads:
            s = staff[load.office]
            now = week.level(load, s)
            for extra in range(1, min(LOOKAHEAD, left) + 1):
                rate = load.pickups_per_h * (week.level(load, s + extra) - now) / extra
                if best is None or rate > best[0] + 1e-12:
                    best = (rate, load, extra)
        assert best is not None
        rate, load, extra = best
        if rate <= 0:  # nobody gains any more: spread the rest evenly
            for i in range(left):
                staff[loads[i % len(loads)].office] += 1
            break
        staff[load.office] += extra
        left -= extra
    return staff


@dataclass
class OfficeSearch:
    """The search for one office's number: up from the Erlang C guess (in doubling steps) until the
    target is met, down until it is missed, then bisect until the two are one apart. An office that
    misses the target although it picks almost everything up within 15 minutes is limited elsewhere
    (volunteers' hours, grids, departments), and more office staff will not help."""

    office: str
    guess: int
    cap: int
    candidate: int = 0
    good: int | None = None  # fewest staff known to meet the target
    bad: int = 0  # most staff known to miss it (0 staff always miss)
    step: int = 1
    limited: bool = False
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.candidate = self.guess

    @property
    def active(self) -> bool:
        return not self.limited and (self.good is None or self.good - self.bad > 1)

    @property
    def answer(self) -> int:
        return self.good if self.good is not None else self.candidate

    def record(self, staff: int, result: dict[str, Any], share: float) -> None:
        self.seen[staff] = result
        if result["mean"] is not None and result["mean"] >= share:
            self.good = staff if self.good is None else min(self.good, staff)
        else:
            self.bad = max(self.bad, staff)
            pickup = result.get("pickup_15min")
            if self.good is None and staff > self.guess and pickup is not None and pickup >= 0.99:
                self.limited = True
        self.candidate = self._next()

    def _next(self) -> int:
        if self.limited:
            return self.candidate
        if self.good is None:  # still missing: go up
            nxt = min(self.cap, self.candidate + self.step)
            self.step *= 2
            if nxt == self.candidate:
                self.limited = True
            return nxt
        if self.good - self.bad <= 1:
            return self.good
        if self.bad == 0 or self.bad < self.good - 2 * self.step:  # met, nothing missed near: go down
            nxt = max(self.bad + 1, self.good - self.step)
            self.step *= 2
            return nxt
        return (self.bad + self.good + 1) // 2


class StageProgress:
    """Progress across a staffing answer's steps as one count that never goes back: the pilot run counts
    as one unit, each replication as one; the total grows as the search adds rounds. Each report names
    the step: ``progress(step, done, total)``."""

    def __init__(self, report: Callable[[str, float, float], None] | None) -> None:
        self.report = report
        self.before = 0.0

    def pilot(self, fraction: float) -> None:
        if self.report is not None:
            self.report("pilot run: each office's demand", fraction, 1.0)
        if fraction >= 1.0:
            self.before = 1.0

    def step(self, label: str) -> Callable[[int, int], None] | None:
        """A callback for one ``compare_scenarios`` call called ``label``."""
        if self.report is None:
            return None
        base = self.before
        report = self.report

        def update(done: int, total: int) -> None:
            report(label, base + done, base + total)
            if done >= total:
                self.before = base + total

        return update


def staff_answer(
    scenario: Scenario,
    target: ServiceTarget,
    *,
    pool: int | None = None,
    reps: int = 5,
    days: float = 14.0,
    seed: int = 0,
    executor: Any = None,
    progress: Callable[[str, float, float], None] | None = None,
    keep_rows: bool = False,
    offices: Sequence[str] = (),
) -> dict[str, Any]:
    """Answer a staffing question for every street and town office, or only for ``offices`` (then only
    their areas and the departments are simulated; see ``District.restricted``); see the module notes.
    ``progress`` is told each step's name and the work done of all known so far (see :class:`StageProgress`)."""
    from sim.experiment.compare import Plan, compare_scenarios
    from sim.experiment.replicate import DISTRICT_KEY, Target
    from sim.experiment.replicate import PICKUP_SUFFIX as PICKUP

    if not scenario.streets and not scenario.towns:
        raise StaffingError("the scenario has no street or town offices to staff")
    named = tuple(dict.fromkeys(offices))
    known = [*scenario.streets, *scenario.towns]
    unknown = [o for o in named if o not in known]
    if unknown:
        raise StaffingError(f"--office: no street or town office {', '.join(unknown)} (known: {', '.join(known)})")
    task_target = Target(target.priority, target.measure, target.hours)
    steps = StageProgress(progress)
    loads, mu = measure_loads(scenario, min(days, 7.0), seed, named, steps.pilot)
    steps.pilot(1.0)
    cap = max(200, 4 * max(load.residents // 1000 for load in loads))
    week = ErlangWeek(scenario, mu, target.hours)
    rows: list[list[Any]] = []

    def simulate_split(splits: list[tuple[str, dict[str, int]]], stage: str) -> Any:
        plan = Plan(
            [(label, with_staff(scenario, s)) for label, s in splits], reps=reps, days=days, seed=seed, offices=named
        )
        comparison = compare_scenarios(
            plan,
            executor,
            keep_rows=keep_rows,
            target=task_target,
            progress=steps.step(stage),
        )
        if keep_rows:
            rows.extend(comparison.collector.rows)
        return comparison

    def level(comparison: Any, label: str, office: str) -> dict[str, Any]:
        r = comparison.collector.offices[label].get(office)
        if r is None or not r.n:
            return {"mean": None, "ci": None}
        lo, hi = r.interval()
        return {"mean": r.mean, "ci": [max(0.0, lo), min(1.0, hi)]}

    base = {**scenario.streets, **scenario.towns}
    if pool is None:
        searches = {load.office: OfficeSearch(load.office, week.guess(load, target.share, cap), cap) for load in loads}
        for round_no in range(1, MAX_ROUNDS + 1):
            active = [s for s in searches.values() if s.active]
            if not active:
                break
            label = f"round {round_no}"
            step = f"search round {round_no}: {len(active)} offices"
            comparison = simulate_split([(label, {o: s.candidate for o, s in searches.items()})], step)
            for search in active:
                result = level(comparison, label, search.office)
                result["pickup_15min"] = level(comparison, label, search.office + PICKUP)["mean"]
                search.record(search.candidate, result, target.share)
        chosen = {o: s.answer for o, s in searches.items()}
        final = simulate_split([("chosen", chosen)], "all offices at the answers")
        offices_out = []
        for load in loads:
            search = searches[load.office]
            staff_now = base[load.office].staff
            at_staff = search.seen.get(search.answer)  # from the very replications the search decided on
            offices_out.append(
                {
                    "office": load.office,
                    "residents": load.residents,
                    "current_staff": staff_now if staff_now is not None else scenario.staffing.per_office,
                    "erlang_c_guess": search.guess,
                    "staff": search.good,
                    "met": search.good is not None and meets(at_staff, target.share),
                    "verdict": verdict_of(at_staff, target.share) if search.good is not None else NOT_MET,
                    "limited_elsewhere": search.good is None,
                    "at_staff": at_staff,
                    "at_one_fewer": search.seen.get(search.answer - 1),
                    "tried": {str(k): v["mean"] for k, v in sorted(search.seen.items())},
                }
            )
        return {
            "target": target.text,
            "reps": reps,
            "days": days,
            "seed": seed,
            "simulated": list(named) or "the whole district",
            "offices": offices_out,
            "district_at_chosen": level(final, "chosen", DISTRICT_KEY),
            "rows": rows,
        }

    from sim.structure import split_by_weight

    names = [load.office for load in loads]
    flat = dict(zip(names, split_by_weight(pool, [1] * len(names)), strict=True))
    by_population = dict(zip(names, split_by_weight(pool, [load.residents for load in loads]), strict=True))
    best = marginal_split(loads, week, pool)
    splits = [("flat", flat), ("by population", by_population), ("marginal allocation", best)]
    comparison = simulate_split(splits, "simulating the three splits")
    summary = comparison.summary()
    out_splits = []
    for label, split in splits:
        out_splits.append(
            {
                "split": label,
                "staff": split,
                "district": level(comparison, label, DISTRICT_KEY),
                "offices": {o: level(comparison, label, o) for o in names},
                "kpis": next(s["kpis"] for s in summary["scenarios"] if s["name"] == label),
            }
        )
    district_means = {s["split"]: s["district"]["mean"] or 0.0 for s in out_splits}
    winner = max(district_means, key=district_means.__getitem__)
    return {
        "target": target.text,
        "pool": pool,
        "reps": reps,
        "days": days,
        "seed": seed,
        "loads": [
            {"office": load.office, "residents": load.residents, "pickups_per_h": load.pickups_per_h} for load in loads
        ],
        "splits": out_splits,
        "paired_vs_flat": against_flat(summary["paired"]),
        "best": winner,
        "flat_is_best": winner == "flat",
        "rows": rows,
    }


def staff(
    file: str | Path | Scenario,
    target: str,
    *,
    pool: int | None = None,
    reps: int = 5,
    days: float = 14.0,
    seed: int = 0,
    overrides: Sequence[str] = (),
    executor: Executor | None = None,
) -> Any:
    """Answer a staffing question; one row per simulated staffing × replication × KPI (the per-office
    target shares are the rows whose KPI is ``target:<office>``). For notebooks: a pandas DataFrame in
    the shape of ``results.csv``, like :func:`sim.experiment.compare`."""
    import pandas as pd

    from sim.scenario import load_scenario

    scenario = file if isinstance(file, Scenario) else load_scenario(file, overrides)
    answer = staff_answer(
        scenario,
        ServiceTarget.parse(target),
        pool=pool,
        reps=reps,
        days=days,
        seed=seed,
        executor=executor,
        keep_rows=True,
    )
    return pd.DataFrame(answer["rows"], columns=["scenario", "replication", "kpi", "value"])


__all__ = ["MMC", "ServiceTarget", "StaffingError", "erlang_c", "servers_for", "staff", "staff_answer"]
