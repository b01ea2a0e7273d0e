"""Fitting a scenario to a trace: arrival profiles, the category mix and handling times from real logs.

An analyst calibrating a model to a city's 311 records asks three things of the ledger: when do requests
come (rates by hour of the week), what do they ask for (the mix), and how long until each is closed.
The last question has a catch, as in any follow-up study: requests still open when the extract was
taken have not finished, and dropping them would make handling look faster than it is. Their times are
right-censored: we know only that they took longer than the time they had been open. Both a lognormal
and a gamma distribution are fitted by censored maximum likelihood (closed requests contribute their
density, open ones their survival probability, sub-second closures the probability of closing within
the timestamps' one-second resolution), and the one with the lower AIC is kept. The result is written
as a scenario fragment that a scenario can ``extends``, each number commented with where it came from.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sim.errors import ScenarioError
from sim.realdata.errors import RealDataError
from sim.realdata.trace import CategoryMap, Trace, replacing
from sim.scenario import Scenario, scenario_from_dict
from sim.scenario.loader import merge

#: Timestamps are to the second; a request closed within a second is known only to have taken less.
RESOLUTION_H = 1.0 / 3600.0
#: What the scenario schema accepts for a time distribution.
MAX_MEAN_H, MAX_CV = 100_000.0, 20.0
BLANK = "(blank)"
HOURS_PER_YEAR = 365.0 * 24.0


# --- censored maximum likelihood ------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    """Created→closed times of a group of requests, in hours: observed (closed), right-censored (still
    open at the extract's end, or cancelled: known only to exceed this) and closed within a second."""

    exact: np.ndarray
    right: np.ndarray
    left: int

    @property
    def n(self) -> int:
        return len(self.exact) + len(self.right) + self.left


@dataclass(frozen=True)
class FamilyFit:
    family: str
    params: dict[str, float]
    mean_h: float
    cv: float
    median_h: float
    loglik: float
    at_bound: bool = False

    @property
    def aic(self) -> float:
        return 2.0 * len(self.params) - 2.0 * self.loglik

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: round(v, 6) for k, v in self.params.items()},
            "mean_h": round(self.mean_h, 3),
            "cv": round(self.cv, 4),
            "median_h": round(self.median_h, 3),
            "loglik": round(self.loglik, 2),
            "aic": round(self.aic, 2),
            "at_bound": self.at_bound,
        }


@dataclass(frozen=True)
class HandlingFit:
    """Both families fitted to one group, and the one AIC prefers."""

    n: int
    closed: int
    censored: int
    under_1s: int
    km_median_h: float | None
    lognormal: FamilyFit
    gamma: FamilyFit

    @property
    def best(self) -> FamilyFit:
        return self.lognormal if self.lognormal.aic <= self.gamma.aic else self.gamma

    @property
    def delta_aic(self) -> float:
        return abs(self.lognormal.aic - self.gamma.aic)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "closed": self.closed,
            "censored": self.censored,
            "closed_within_1s": self.under_1s,
            "kaplan_meier_median_h": None if self.km_median_h is None else round(self.km_median_h, 3),
            "chosen": self.best.family,
            "delta_aic": round(self.delta_aic, 2),
            "lognormal": self.lognormal.as_dict(),
            "gamma": self.gamma.as_dict(),
        }


def _lognormal(d: Durations) -> FamilyFit:
    """Censored MLE of a lognormal: the observed part enters through sufficient statistics, so each
    evaluation costs only the censored values; gradients are analytic."""
    logx = np.log(d.exact)
    n_e, s1, s2 = len(logx), float(logx.sum()), float((logx * logx).sum())
    logc = np.log(np.maximum(d.right, RESOLUTION_H))
    log_res = math.log(RESOLUTION_H)

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, log_s = float(theta[0]), float(theta[1])
        s = math.exp(log_s)
        sq = (s2 - 2.0 * mu * s1 + n_e * mu * mu) / (s * s)
        ll = -n_e * (log_s + 0.5 * math.log(2.0 * math.pi)) - s1 - 0.5 * sq
        g_mu = (s1 - n_e * mu) / (s * s)
        g_ls = sq - n_e
        if len(logc):
            z = (logc - mu) / s
            log_sf = special.log_ndtr(-z)
            ll += float(log_sf.sum())
            mills = np.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - log_sf)
            g_mu += float(mills.sum()) / s
            g_ls += float((mills * z).sum())
        if d.left:
            z0 = (log_res - mu) / s
            log_cdf = float(special.log_ndtr(z0))
            ll += d.left * log_cdf
            ratio = math.exp(-0.5 * z0 * z0 - 0.5 * math.log(2.0 * math.pi) - log_cdf)
            g_mu -= d.left * ratio / s
            g_ls -= d.left * ratio * z0
        return -ll, -np.array([g_mu, g_ls])

    everything = np.concatenate([logx, logc, np.full(d.left, log_res)])
    start = np.array([everything.mean(), math.log(max(everything.std(), 0.1))])
    bounds = [(-20.0, 20.0), (-7.0, 3.0)]
    res = _minimize(nll, start, bounds, d.n)
    mu, s = float(res.x[0]), math.exp(float(res.x[1]))
    mean = math.exp(min(mu + 0.5 * s * s, 700.0))
    cv = math.sqrt(math.expm1(min(s * s, 700.0)))
    return FamilyFit(
        "lognormal", {"mu": mu, "sigma": s}, mean, cv, math.exp(mu), -float(res.fun), _at_bound(res.x, bounds)
    )


def _minimize(
    nll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    bounds: Sequence[tuple[float, float]],
    n: int,
) -> optimize.OptimizeResult:
    """Minimise a negative log-likelihood with its gradient, within bounds. SLSQP on the mean per request
    (so its absolute tolerance means the same for ten requests as for a hundred thousand): unlike
    L-BFGS-B it leaves the BLAS worker threads asleep, which otherwise spin on the second core while the
    incomplete gamma function is evaluated and slow the fit several-fold on a busy machine."""

    def scaled(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = nll(theta)
        return value / n, grad / n

    res = optimize.minimize(
        scaled, start, jac=True, method="SLSQP", bounds=bounds, options={"ftol": 1e-11, "maxiter": 300}
    )
    res.fun = float(res.fun) * n
    return res


def _at_bound(x: np.ndarray, bounds: Sequence[tuple[float, float]]) -> bool:
    """An estimate stuck at its bound: the data do not pin the distribution down (most requests of the
    group never closed, or nearly all closed at once)."""
    return any(min(abs(v - lo), abs(v - hi)) < 1e-6 for v, (lo, hi) in zip(x, bounds, strict=True))


def _gamma(d: Durations) -> FamilyFit:
    """Censored MLE of a gamma (shape k, scale θ): the observed part by sufficient statistics with
    analytic gradients; the censored part through the regularised incomplete gamma function, whose
    derivative in the shape is taken by a forward difference."""
    x = d.exact
    n_e, sx, slx = len(x), float(x.sum()), float(np.log(x).sum())
    logc = np.log(np.maximum(d.right, RESOLUTION_H))
    log_res = math.log(RESOLUTION_H)
    tiny = 1e-300

    def censored(k: float, log_scale: float) -> tuple[float, float]:
        """Log-likelihood of the censored requests, and its derivative in log θ."""
        ll, g = 0.0, 0.0
        lg = float(special.gammaln(k))
        if len(logc):
            xs = np.exp(logc - log_scale)
            q = np.maximum(special.gammaincc(k, xs), tiny)
            logq = np.log(q)
            ll += float(logq.sum())
            g += float(np.exp(k * (logc - log_scale) - xs - lg - logq).sum())
        if d.left:
            x0 = math.exp(log_res - log_scale)
            logp = math.log(max(float(special.gammainc(k, x0)), tiny))
            ll += d.left * logp
            g -= d.left * math.exp(k * (log_res - log_scale) - x0 - lg - logp)
        return ll, g

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_k, log_scale = float(theta[0]), float(theta[1])
        k, scale = math.exp(log_k), math.exp(log_scale)
        ll = (k - 1.0) * slx - sx / scale - n_e * (float(special.gammaln(k)) + k * log_scale)
        g_lk = k * (slx - n_e * (float(special.digamma(k)) + log_scale))
        g_ls = sx / scale - n_e * k
        if len(logc) or d.left:
            c_ll, c_gs = censored(k, log_scale)
            step = 1e-6
            c_up, _ = censored(math.exp(log_k + step), log_scale)
            ll += c_ll
            g_lk += (c_up - c_ll) / step
            g_ls += c_gs
        return -float(ll), -np.array([g_lk, g_ls])

    pool = x if n_e >= 2 else np.concatenate([x, np.exp(logc)])
    mean, var = float(pool.mean()), float(pool.var()) or float(pool.mean()) ** 2
    k0 = min(max(mean * mean / var, 0.01), 100.0)
    start = np.array([math.log(k0), math.log(max(mean / k0, 1e-6))])
    bounds = [(-7.0, 7.0), (-15.0, 15.0)]
    res = _minimize(nll, start, bounds, d.n)
    k, scale = math.exp(float(res.x[0])), math.exp(float(res.x[1]))
    median = float(special.gammaincinv(k, 0.5)) * scale
    return FamilyFit(
        "gamma",
        {"shape": k, "scale_h": scale},
        k * scale,
        1.0 / math.sqrt(k),
        median,
        -float(res.fun),
        _at_bound(res.x, bounds),
    )


def fit_handling(d: Durations) -> HandlingFit | None:
    """Both families, or None when fewer than two requests were seen closed (nothing to fit)."""
    if len(d.exact) < 2:
        return None
    return HandlingFit(d.n, len(d.exact) + d.left, len(d.right), d.left, _km_median(d), _lognormal(d), _gamma(d))


def _km_median(d: Durations) -> float | None:
    """The Kaplan–Meier median, free of any family: what a fitted median should come close to."""
    seen = np.concatenate([d.exact, np.full(d.left, RESOLUTION_H)])
    sf = stats.ecdf(stats.CensoredData(uncensored=seen, right=d.right)).sf
    below = np.flatnonzero(sf.probabilities <= 0.5)
    return float(sf.quantiles[below[0]]) if len(below) else None


def durations(frame: pd.DataFrame, extract_end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per request: hours from created to closed (or to the extract's end), and 0 observed, 1 right-
    censored, 2 closed within a second."""
    created = frame["created"]
    closed = frame["closed"]
    status = frame["status"].astype(str).to_numpy()
    end = closed.where(closed.notna(), extract_end)
    hours = ((end - created).dt.total_seconds() / 3600.0).to_numpy(dtype=float)
    kind = np.where((status == "closed") & closed.notna().to_numpy(), 0, 1)
    kind = np.where((kind == 0) & (hours < RESOLUTION_H), 2, kind)
    return hours, kind


def _group(hours: np.ndarray, kind: np.ndarray, idx: np.ndarray) -> Durations:
    h, k = hours[idx], kind[idx]
    return Durations(h[k == 0], h[k == 1], int((k == 2).sum()))


# --- the whole fit --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """Everything fitted from one trace: the numbers (``data``, as ``fit --json`` prints them) and the
    scenario fragment (TOML text with comments)."""

    data: dict[str, Any]
    fragment: str


def _label(value: object) -> str:
    text = str(value)
    return text if text.strip() else BLANK


def _groups(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    labels = frame[column].astype(str).map(_label)
    return {str(k): np.asarray(v) for k, v in labels.groupby(labels, sort=False).indices.items()}


def _exposure(created: pd.Series) -> tuple[np.ndarray, pd.Timestamp, pd.Timestamp]:
    """Hours observed of each hour of the week (0 = Monday 00:00), from the first request's hour to the
    end of the last request's hour."""
    first = created.min().floor("h")
    last = created.max().floor("h") + pd.Timedelta(hours=1)
    hours = int((last - first) / pd.Timedelta(hours=1))
    start = first.day_of_week * 24 + first.hour
    return np.bincount((start + np.arange(hours)) % 168, minlength=168).astype(float), first, last


def _hour_of_week(created: pd.Series) -> np.ndarray:
    how: np.ndarray = (created.dt.day_of_week * 24 + created.dt.hour).to_numpy(dtype=np.int64)
    return how


def _profiles(counts: np.ndarray, exposure: np.ndarray) -> dict[str, Any]:
    """Rates by hour of the week, and the hour-of-day and weekday profiles (mean 1) the scenario takes,
    with how much of the weekly pattern their product explains."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(exposure > 0, counts / np.where(exposure > 0, exposure, 1.0), np.nan)
        grid_c, grid_e = counts.reshape(7, 24), exposure.reshape(7, 24)
        by_hour = grid_c.sum(axis=0) / grid_e.sum(axis=0)
        by_day = grid_c.sum(axis=1) / grid_e.sum(axis=1)
    out: dict[str, Any] = {"hour_of_week": [None if math.isnan(r) else round(float(r), 4) for r in rate]}
    if np.all(np.isfinite(by_hour)) and by_hour.sum() > 0:
        out["hour_profile"] = [round(float(v), 2) for v in by_hour / by_hour.mean()]
    if np.all(np.isfinite(by_day)) and by_day.sum() > 0:
        out["weekday_profile"] = [round(float(v), 2) for v in by_day / by_day.mean()]
    if "hour_profile" in out and "weekday_profile" in out:
        mean = counts.sum() / exposure.sum()
        model = mean * np.outer(np.asarray(out["weekday_profile"]), np.asarray(out["hour_profile"])).ravel()
        seen = exposure > 0
        resid = float((((rate - model) ** 2) * exposure)[seen].sum())
        total = float((((rate - mean) ** 2) * exposure)[seen].sum())
        out["separable_r2"] = round(1.0 - resid / total, 4) if total > 0 else None
    return out


def _on_time(frame: pd.DataFrame, extract_end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per request: 1 closed by its due date, 0 late (closed after it, or still open past it), -1 not
    judged (no due date, cancelled, or still open and not yet due)."""
    due, closed = frame["due"], frame["closed"]
    status = frame["status"].astype(str).to_numpy()
    judged = due.notna().to_numpy() & (status != "cancelled")
    on_time = (closed.notna() & (closed <= due)).to_numpy()
    late = ((closed.notna() & (closed > due)) | (closed.isna() & (due < extract_end))).to_numpy()
    verdict = np.where(judged & on_time, 1, np.where(judged & late, 0, -1))
    target_h = ((due - frame["created"]).dt.total_seconds() / 3600.0).to_numpy(dtype=float)
    return verdict, target_h


def _on_time_summary(verdict: np.ndarray, target_h: np.ndarray) -> dict[str, Any]:
    judged = verdict >= 0
    n = int(judged.sum())
    targets = target_h[judged]
    return {
        "judged": n,
        "on_time": int((verdict == 1).sum()),
        "share": round(float((verdict[judged] == 1).mean()), 4) if n else None,
        "target_median_h": round(float(np.median(targets)), 2) if n else None,
    }


def fit_trace(
    trace: Trace,
    scenario: Scenario,
    *,
    residents: int | None = None,
    channels: Sequence[str] = (),
    min_cases: int = 50,
    out_name: str = "fragment.toml",
    progress: Callable[[float], None] | None = None,
) -> FitResult:
    """Fit arrivals, mix, handling times and on-time shares from ``trace``; categories are mapped to
    ``scenario``'s through its ``[trace]`` table. Groups with fewer than ``min_cases`` requests get no
    handling-time fit or hour-of-week rates of their own."""
    frame = trace.frame
    if channels:
        wanted = {c.casefold() for c in channels}
        frame = frame[frame["channel"].astype(str).str.casefold().isin(wanted)]
    frame = frame[frame["created"].notna()].reset_index(drop=True)
    if frame.empty:
        raise RealDataError(f"{trace.path or 'trace'}: no requests to fit" + (" in those channels" if channels else ""))
    extract_end = trace.extract_end
    exposure, first, last = _exposure(frame["created"])
    how = _hour_of_week(frame["created"])
    hours, kind = durations(frame, extract_end)
    verdict, target_h = _on_time(frame, extract_end)
    n = len(frame)
    per_year = n / exposure.sum() * HOURS_PER_YEAR

    overall_profile = _profiles(np.bincount(how, minlength=168).astype(float), exposure)
    by_cat = _groups(frame, "category")
    by_dept = _groups(frame, "department")
    work = sum(len(idx) for idx in (*by_cat.values(), *by_dept.values())) * 2 or 1
    done = [0]

    def tell(cases: int) -> None:
        done[0] += cases
        if progress:
            progress(min(done[0] / work, 1.0))

    def group_stats(groups: Mapping[str, np.ndarray], profiles: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            tell(len(idx))
            entry: dict[str, Any] = {"cases": len(idx), "share": round(len(idx) / n, 6)}
            if len(idx) >= min_cases:
                entry["per_day"] = round(len(idx) / exposure.sum() * 24.0, 3)
                if profiles:
                    counts = np.bincount(how[idx], minlength=168).astype(float)
                    entry["hour_of_week"] = _profiles(counts, exposure)["hour_of_week"]
                fitted = fit_handling(_group(hours, kind, idx))
                entry["handling"] = fitted.as_dict() if fitted else None
            entry["on_time"] = _on_time_summary(verdict[idx], target_h[idx])
            out[name] = entry
        return out

    overall_fit = fit_handling(_group(hours, kind, np.arange(n)))
    categories = group_stats(by_cat, profiles=True)
    departments = group_stats(by_dept, profiles=False)
    mapped = _scenario_categories(scenario, by_cat, hours, kind, verdict, target_h, min_cases)
    tell(work)

    data: dict[str, Any] = {
        "trace": str(trace.path) if trace.path else None,
        "source": trace.meta.get("source"),
        "source_format": trace.meta.get("format"),
        "cases": n,
        "channels": list(channels) or None,
        "period": {"start": str(first), "end": str(last), "hours": int(exposure.sum())},
        "extract_end": str(extract_end),
        "method": {
            "handling": "censored maximum likelihood (scipy.optimize, SLSQP): closed requests by their "
            "density, open ones right-censored at the extract's end, cancelled ones at cancellation, "
            "closures within 1 s left-censored at 1 s; lognormal and gamma, the lower AIC chosen",
            "arrivals": "requests per hour of the week (0 = Monday 00:00, local time) / hours observed",
            "min_cases": min_cases,
        },
        "arrivals": {
            "per_day": round(n / exposure.sum() * 24.0, 3),
            "per_year": round(per_year, 1),
            "requests_per_resident_year": round(per_year / residents, 6) if residents else None,
            **overall_profile,
        },
        "handling": overall_fit.as_dict() if overall_fit else None,
        "on_time": _on_time_summary(verdict, target_h),
        "categories": categories,
        "departments": departments,
        "scenario_categories": mapped,
    }
    fragment = render_fragment(data, scenario, residents, out_name)
    _validate(fragment, scenario)
    return FitResult(data, fragment)


def _scenario_categories(
    scenario: Scenario,
    by_cat: Mapping[str, np.ndarray],
    hours: np.ndarray,
    kind: np.ndarray,
    verdict: np.ndarray,
    target_h: np.ndarray,
    min_cases: int,
) -> dict[str, Any]:
    """The trace seen through the scenario's categories: cases per category (real types mapped through
    ``[trace]``), shares that sum to 1 (categories the trace never mentions keep their share), and the
    handling fit of each category's pooled requests."""
    cmap = CategoryMap.of(scenario)
    members: dict[str, list[str]] = {cid: [] for cid in scenario.categories}
    left_out: list[str] = []
    for real in by_cat:
        cid = cmap.category("" if real == BLANK else real)
        (members[cid] if cid else left_out).append(real)
    counts = {cid: sum(len(by_cat[r]) for r in reals) for cid, reals in members.items()}
    seen = {cid for cid, c in counts.items() if c}
    kept_share = sum(c.share for cid, c in scenario.categories.items() if cid not in seen)
    total = sum(counts.values())
    out: dict[str, Any] = {}
    for cid, cat in scenario.categories.items():
        reals = sorted(members[cid], key=lambda r: -len(by_cat[r]))
        entry: dict[str, Any] = {"cases": counts[cid], "types": {r: len(by_cat[r]) for r in reals}}
        if cid in seen and total:
            entry["share"] = (1.0 - kept_share) * counts[cid] / total
            entry["share_from"] = "trace"
            idx = np.concatenate([by_cat[r] for r in reals])
            fitted = fit_handling(_group(hours, kind, idx)) if len(idx) >= min_cases else None
            entry["handling"] = fitted.as_dict() if fitted else None
            entry["on_time"] = _on_time_summary(verdict[idx], target_h[idx])
        else:
            entry["share"] = cat.share
            entry["share_from"] = "scenario (no requests of this category in the trace)"
        out[cid] = entry
    _round_shares(out)
    if left_out:
        out["(left out)"] = {"cases": sum(len(by_cat[r]) for r in left_out), "types": len(left_out)}
    return out


def _round_shares(cats: dict[str, Any]) -> None:
    """Six decimals, with the rounding remainder on the largest so they still sum to 1."""
    for entry in cats.values():
        entry["share"] = round(float(entry["share"]), 6)
    if not cats:
        return
    top = max(cats, key=lambda c: cats[c]["share"])
    rest = sum(e["share"] for c, e in cats.items() if c != top)
    cats[top]["share"] = round(1.0 - rest, 6)


# --- the fragment ---------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def safe(text: object, width: int = 60) -> str:
    """Untrusted text fit for a comment line: no control characters or line breaks, not too long."""
    clean = _UNSAFE.sub(" ", str(text)).strip()
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def _num(x: float) -> str:
    return repr(float(round(x, 6)))


def _dist(fit: dict[str, Any]) -> tuple[str, list[str]]:
    """The chosen family as a scenario ``Dist``. A spread wider than the schema's cv limit is narrowed
    to the limit keeping the fitted median (a huge fitted cv makes the mean meaningless; the median is
    the number the data pin down), and said so."""
    family = fit["chosen"]
    best = fit[family]
    mean, cv, median = float(best["mean_h"]), float(best["cv"]), float(best["median_h"])
    notes = []
    if cv > MAX_CV:
        notes.append(f"fitted cv {cv:,.1f} narrowed to {MAX_CV:g} (the schema's limit) keeping the median")
        cv = MAX_CV
        if family == "lognormal":
            mean = median * math.sqrt(1.0 + cv * cv)
        else:
            k = 1.0 / (cv * cv)
            mean = k * median / float(special.gammaincinv(k, 0.5))
    if mean > MAX_MEAN_H:
        notes.append(f"mean {mean:,.0f} h capped at {MAX_MEAN_H:,.0f} h")
        mean = MAX_MEAN_H
    mean = max(mean, 0.001)
    return f'{{ family = "{family}", mean_h = {_num(round(mean, 3))}, cv = {_num(round(cv, 4))} }}', notes


def _fit_comment(fit: dict[str, Any]) -> str:
    other = "gamma" if fit["chosen"] == "lognormal" else "lognormal"
    best = fit[fit["chosen"]]
    return (
        f"{fit['chosen']} (AIC {best['aic']:,.1f}) chosen over {other} (AIC {fit[other]['aic']:,.1f}); "
        f"n = {fit['n']:,} ({fit['censored']:,} still open or cancelled, right-censored; "
        f"{fit['closed_within_1s']:,} closed within 1 s); median {best['median_h']:,.1f} h"
        + (f" (Kaplan-Meier: {fit['kaplan_meier_median_h']:,.1f} h)" if fit["kaplan_meier_median_h"] else "")
    )


def _on_time_comment(on: dict[str, Any]) -> str:
    if not on["judged"]:
        return "no due dates to judge on-time closing"
    return (
        f"closed by the due date: {on['share']:.1%} of {on['judged']:,} with one "
        f"(median target {on['target_median_h']:,.1f} h)"
    )


def render_fragment(data: dict[str, Any], scenario: Scenario, residents: int | None, out_name: str) -> str:
    """The scenario fragment as commented TOML."""
    arr = data["arrivals"]
    lines = [
        f"# Scenario fragment fitted by `microgov fit` on {dt.date.today().isoformat()} from the trace "
        f"{safe(Path(data['trace']).name if data['trace'] else 'in memory', 80)}",
        f"# (source: {safe(data['source'] or 'unknown', 100)}, format {safe(data['source_format'] or '?', 20)}).",
        f"# {data['cases']:,} requests created {data['period']['start']} to {data['period']['end']} "
        f"({data['period']['hours']:,} hours); extract taken {data['extract_end']} or later.",
    ]
    if data["channels"]:
        lines.append(f"# Only requests from the channels: {', '.join(safe(c, 40) for c in data['channels'])}.")
    lines += [
        "# Handling times: censored maximum likelihood; requests still open at the extract's end are",
        "# right-censored there, cancelled ones at cancellation, closures within 1 s left-censored at 1 s.",
        "# Lognormal and gamma are both fitted; the lower AIC (2 parameters each) is kept.",
        f'# Use it from a scenario with streets or towns: extends = "{safe(out_name, 80)}"',
        "",
        "[arrivals]",
    ]
    if "hour_profile" in arr:
        lines.append("# Requests by local hour of creation / hours observed, normalised to a mean of 1.")
        lines.append(f"hour_profile = [{', '.join(_num(v) for v in arr['hour_profile'])}]")
    else:
        lines.append("# hour_profile: not every hour of the day was observed; kept from the scenario.")
    if "weekday_profile" in arr:
        lines.append("# Requests by weekday (Monday first) / hours observed, normalised to a mean of 1.")
        if arr.get("separable_r2") is not None:
            lines.append(
                f"# Hour x weekday explains {arr['separable_r2']:.1%} of the variation of the 168 hourly rates."
            )
        lines.append(f"weekday_profile = [{', '.join(_num(v) for v in arr['weekday_profile'])}]")
    else:
        lines.append("# weekday_profile: the trace covers less than every weekday; kept from the scenario.")
    if residents:
        lines.append(
            f"# {arr['per_year']:,.0f} requests a year (at the trace's rate) / {residents:,} residents (--residents)."
        )
        lines.append(f"requests_per_resident_year = {_num(arr['requests_per_resident_year'])}")
    else:
        lines.append(
            f"# requests_per_resident_year is per resident and the trace has no population: "
            f"{arr['per_year']:,.0f} requests a year"
        )
        lines.append("# at its rate; give `fit --residents N` to set it (N: the population the trace covers).")

    for cid, entry in data["scenario_categories"].items():
        if cid not in scenario.categories:
            continue
        lines += ["", f"[categories.{cid}]"]
        if entry["share_from"] == "trace":
            types = entry["types"]
            top = ", ".join(f"{safe(r, 40)} {c:,}" for r, c in list(types.items())[:4])
            more = f" and {len(types) - 4} more types" if len(types) > 4 else ""
            lines.append(f"# {entry['cases']:,} requests: {top}{more}.")
            lines.append(f"share = {_num(entry['share'])}")
            fit = entry.get("handling")
            if fit and fit[fit["chosen"]]["at_bound"]:
                lines.append(
                    "# The handling-time fit ran to the edge of its range (most requests never closed, or nearly"
                )
                lines.append("# all at once): no distribution to trust; department_lead kept from the scenario.")
            elif fit:
                dist, notes = _dist(fit)
                lines.append("# Created->closed of these requests, as the department's lead time (elapsed,")
                lines.append("# no staff time; the simulated department adds its queue and handling):")
                lines.append(f"# {_fit_comment(fit)}.")
                if notes:
                    lines.append(f"# {'; '.join(notes)}.")
                lines.append(f"# {_on_time_comment(entry['on_time'])}.")
                lines.append(f"department_lead = {dist}")
            else:
                lines.append("# Too few requests for a handling-time fit; department_lead kept from the scenario.")
        else:
            lines.append("# No requests of this category in the trace: its share is kept, the others scaled.")
            lines.append(f"share = {_num(entry['share'])}")
    left = data["scenario_categories"].get("(left out)")
    if left:
        lines += [
            "",
            f"# {left['cases']:,} requests of {left['types']} types map to no category (trace.default is empty).",
        ]

    lines += ["", "# Real departments (no scenario key: the city's departments are not the scenario's):"]
    for name, entry in data["departments"].items():
        fit = entry.get("handling")
        line = f"#   {safe(name, 50)}: {entry['cases']:,} requests"
        if fit and fit[fit["chosen"]]["at_bound"]:
            line += ", no handling-time fit (estimate at the edge of its range)"
        elif fit:
            best = fit[fit["chosen"]]
            spread = f"sigma {best['sigma']:.2f}" if fit["chosen"] == "lognormal" else f"cv {best['cv']:.2f}"
            line += f", {fit['chosen']} median {best['median_h']:,.1f} h, {spread}"
        if entry["on_time"]["judged"]:
            line += f", {entry['on_time']['share']:.0%} on time"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _validate(fragment: str, scenario: Scenario) -> None:
    """The fragment over the scenario it was fitted for must be a valid scenario."""
    try:
        data = tomllib.loads(fragment)
        scenario_from_dict(merge(scenario.model_dump(mode="python"), data))
    except (tomllib.TOMLDecodeError, ScenarioError, ValueError) as exc:
        raise RealDataError(f"the fitted fragment does not validate: {str(exc).splitlines()[0]}") from None


def write_fragment(fragment: str, path: str | Path) -> None:
    with replacing(Path(path)) as tmp:
        tmp.write_text(fragment, encoding="utf-8")
