"""The KPIs an experiment reports, declared once: name, label, unit, which way is better, how to read it.

Every experiment (compare, sweep, staffing confirmation) and every output (tables, JSON, results.csv,
plots, report.md) takes its KPIs from this list, so a KPI added here appears everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KPI:
    name: str
    label: str
    unit: str
    better: str  # "higher", "lower" or "neither"
    read: Callable[[dict[str, Any]], float | None]
    judged: Callable[[dict[str, Any]], float | None] | None = None
    """For a rate: how many requests it was judged on (its cohort), reported beside it."""

    @property
    def bounds(self) -> tuple[float, float]:
        """The values the KPI can take, for clipping intervals drawn around its mean: a rate or a share
        (utilisation included: it is of the people on duty, and work after a shift ends is overtime)
        lies in 0..1; times and counts are at least 0."""
        if self.unit == "share":
            return (0.0, 1.0)
        return (0.0, math.inf)

    def of(self, kpis: dict[str, Any]) -> float | None:
        return _read(self.read, kpis)

    def cohort(self, kpis: dict[str, Any]) -> float | None:
        return None if self.judged is None else _read(self.judged, kpis)


def show(value: float | None, unit: str, *, suffix: bool = False) -> str:
    """A KPI's value as every output shows it (tables, report.md, the console): a share as a percentage
    to a tenth, other figures to two decimals (whole numbers from 1,000 on); "–" for no value.
    ``suffix`` adds the unit of a time (" h")."""
    return _figure(value, unit, suffix, sign="")


def show_diff(value: float | None, unit: str, *, suffix: bool = False) -> str:
    """A difference of a KPI between two scenarios, signed: percentage points for a share (to a
    hundredth), otherwise as :func:`show`."""
    return _figure(value, unit, suffix, sign="+")


def _figure(value: float | None, unit: str, suffix: bool, sign: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:{sign}.2f} pp" if sign else f"{value:.1%}"
    text = f"{value:{sign},.2f}" if abs(value) < 1000 else f"{value:{sign},.0f}"
    return text + (" h" if suffix and unit == "h" else "")


def _read(fn: Callable[[dict[str, Any]], float | None], kpis: dict[str, Any]) -> float | None:
    try:
        value = fn(kpis)
    except (KeyError, TypeError, ZeroDivisionError):
        return None
    return None if value is None else float(value)


def _judged(*path: str) -> Callable[[dict[str, Any]], float]:
    def read(k: dict[str, Any]) -> float:
        for key in path:
            k = k[key]
        return float(k)  # type: ignore[arg-type]

    return read


def _share(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda k: k[key] / k["requests"]


KPIS: tuple[KPI, ...] = (
    KPI("response_rate", "response rate", "share", "higher", lambda k: k["response_rate"], _judged("response_judged")),
    KPI(
        "resolution_rate",
        "resolution rate",
        "share",
        "higher",
        lambda k: k["resolution_rate"],
        _judged("resolution_judged"),
    ),
    KPI(
        "satisfaction_rate",
        "satisfaction rate",
        "share",
        "higher",
        lambda k: k["satisfaction_rate"],
        _judged("satisfaction_judged"),
    ),
    KPI("resolution_time_mean_h", "resolution time, mean", "h", "lower", lambda k: k["resolution_time_h"]["mean"]),
    KPI("resolution_time_p90_h", "resolution time, p90", "h", "lower", lambda k: k["resolution_time_h"]["p90"]),
    KPI(
        "street_wait_mean_h",
        "wait at street/town offices, mean",
        "h",
        "lower",
        lambda k: k["waiting_h"]["street"]["mean"],
    ),
    KPI(
        "street_wait_p90_h", "wait at street/town offices, p90", "h", "lower", lambda k: k["waiting_h"]["street"]["p90"]
    ),
    KPI(
        "special_response_rate",
        "special: response rate",
        "share",
        "higher",
        lambda k: k["by_priority"]["special"]["response_rate"],
        _judged("by_priority", "special", "response_judged"),
    ),
    KPI(
        "urgent_response_rate",
        "urgent: response rate",
        "share",
        "higher",
        lambda k: k["by_priority"]["urgent"]["response_rate"],
        _judged("by_priority", "urgent", "response_judged"),
    ),
    KPI(
        "urgent_resolution_time_mean_h",
        "urgent: resolution time, mean",
        "h",
        "lower",
        lambda k: k["by_priority"]["urgent"]["resolution_time_h"]["mean"],
    ),
    KPI("abandoned_share", "abandoned to the hotline", "share", "lower", _share("abandoned_to_hotline")),
    KPI("open_share", "open at the end", "share", "lower", _share("open")),
    KPI(
        "street_utilisation",
        "street/town office utilisation",
        "share",
        "neither",
        lambda k: k["utilisation"]["by_post_type"]["street"],
    ),
    KPI(
        "department_utilisation",
        "department utilisation",
        "share",
        "neither",
        lambda k: k["utilisation"]["by_post_type"]["department"],
    ),
    KPI(
        "escalations_to_district",
        "escalations to the district",
        "count",
        "lower",
        lambda k: k["escalations_to_district"],
    ),
    KPI("whistles", "whistles", "count", "neither", lambda k: k["whistles"]),
    KPI("requests", "requests", "count", "neither", lambda k: k["requests"]),
    KPI("target_share", "share meeting the staffing target", "share", "higher", lambda k: k.get("target_share")),
)
BY_NAME = {k.name: k for k in KPIS}
HEADLINE = "response_rate"


def kpi(name: str) -> KPI:
    from sim.experiment.errors import ExperimentError

    if name not in BY_NAME:
        raise ExperimentError(f"unknown KPI '{name}'; known: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def values(kpis: dict[str, Any]) -> dict[str, float | None]:
    return {k.name: k.of(kpis) for k in KPIS}


def cohorts(kpis: dict[str, Any]) -> dict[str, float | None]:
    """How many requests each rate was judged on."""
    return {k.name: k.cohort(kpis) for k in KPIS if k.judged is not None}
