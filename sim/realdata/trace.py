"""The trace: a real request log copied into one standard ledger, and replayed as a run's arrivals.

Cities keep their 311 records in different shapes; the importer copies each into the same ledger, one
line per request: its source id, when it was created, closed and due, its category, department,
channel, area and status. The ledger is a Parquet file whose metadata says where it came from and what
was left out. A trace-driven run reads the ledger like a dispatcher replaying a day's calls: each real
request arrives at its real time, at a household drawn in proportion to residents, as the scenario
category its real type maps to (the scenario's ``[trace]`` table).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import limits
from sim.errors import ScenarioError
from sim.realdata.errors import RealDataError
from sim.scenario import Scenario, scenario_from_dict

FIELDS = ("source_id", "created", "closed", "due", "category", "department", "channel", "area", "status")
META_KEY = b"microgov.trace"
FORMAT_VERSION = 1

SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("created", pa.timestamp("ms")),
        ("closed", pa.timestamp("ms")),
        ("due", pa.timestamp("ms")),
        ("category", pa.dictionary(pa.int32(), pa.string())),
        ("department", pa.dictionary(pa.int32(), pa.string())),
        ("channel", pa.dictionary(pa.int32(), pa.string())),
        ("area", pa.dictionary(pa.int32(), pa.string())),
        ("status", pa.dictionary(pa.int8(), pa.string())),
    ]
)


@dataclass(frozen=True)
class Trace:
    """A trace as read: one row per request (pandas), and the import's record of where it came from."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def extract_end(self) -> pd.Timestamp:
        """When the extract was taken, as far as the data tells: its latest timestamp. Requests still open
        then are right-censored there."""
        value = self.meta.get("extract_end")
        if value:
            return pd.Timestamp(value)
        stamps = [pd.Timestamp(self.frame[c].max()) for c in ("created", "closed") if c in self.frame]
        return max(s for s in stamps if pd.notna(s))


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; move it into place only if the block finishes, so a failed
    write never leaves a half-written file where a complete one is expected."""
    path = Path(path)
    if path.is_dir():
        raise RealDataError(f"{path}: is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RealDataError(f"{path}: cannot create its folder ({exc.strerror})") from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise RealDataError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_trace(frame: pd.DataFrame, meta: dict[str, Any], path: str | Path) -> None:
    """Write ``frame`` (the trace's columns) with ``meta`` to ``path``, atomically."""
    table = pa.Table.from_pandas(frame[list(FIELDS)], preserve_index=False)
    table = table.cast(pa.schema(SCHEMA, metadata=None)).replace_schema_metadata(
        {META_KEY: json.dumps({"format": FORMAT_VERSION, **meta}, default=str).encode()}
    )
    with replacing(Path(path)) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_trace(path: str | Path, columns: Sequence[str] | None = None) -> Trace:
    """Read a trace written by ``microgov import`` (all columns, or just ``columns``)."""
    p = Path(path)
    problem = limits.input_problem(p, limits.MAX_TRACE_BYTES)
    if problem:
        raise RealDataError(f"{p}: {'no such trace' if problem == 'no such file' else problem}")
    try:
        pf = pq.ParquetFile(p)
        meta = pf.schema_arrow.metadata or {}
        if META_KEY not in meta:
            raise RealDataError(f"{p}: a Parquet file, but not a trace written by microgov import")
        table = pf.read(columns=list(columns) if columns else None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RealDataError(f"{p}: not a Parquet trace ({exc})") from None
    missing = [c for c in (columns or FIELDS) if c not in table.column_names]
    if missing:
        raise RealDataError(f"{p}: trace lacks column(s) {', '.join(missing)}")
    return Trace(table.to_pandas(), json.loads(meta[META_KEY]), p)


# --- mapping real request types to scenario categories ---------------------------------------------------


def _key(name: str) -> str:
    """Real type names vary in case and spacing between years and cities."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class CategoryMap:
    """Which scenario category each real request type becomes: the scenario's ``[trace]`` table first,
    then a category's own id, name or name_en, then ``trace.default`` (empty: left out)."""

    table: dict[str, str]
    default: str
    ids: tuple[str, ...]

    @classmethod
    def of(cls, scenario: Scenario) -> CategoryMap:
        table: dict[str, str] = {}
        for cid, cat in scenario.categories.items():
            for name in (cid, cat.name, cat.name_en):
                table.setdefault(_key(name), cid)
        table.update({_key(real): cid for real, cid in scenario.trace.categories.items()})
        return cls(table, scenario.trace.default, tuple(scenario.categories))

    def category(self, real: str) -> str | None:
        return self.table.get(_key(real), self.default or None)

    def explicit(self, real: str) -> bool:
        return _key(real) in self.table

    def indices(self, reals: Sequence[str]) -> np.ndarray:
        """Index of each real type's scenario category, or -1 where it is left out."""
        index = {cid: i for i, cid in enumerate(self.ids)}
        return np.array([index.get(self.category(r) or "", -1) for r in reals], dtype=np.int64)


# --- replay --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceArrivals:
    """The requests of a trace that a run replays: hours from the run's start and category indices."""

    times_h: np.ndarray
    categories: np.ndarray
    start: dt.date
    source: str
    rows: int
    before_start: int
    after_end: int
    left_out: int
    by_category: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "start": self.start.isoformat(),
            "rows": self.rows,
            "arrivals": len(self.times_h),
            "before_start": self.before_start,
            "after_end": self.after_end,
            "unmapped_left_out": self.left_out,
            "by_category": self.by_category,
        }


def trace_arrivals(trace: str | Path | Trace, scenario: Scenario, days: float) -> tuple[Scenario, TraceArrivals]:
    """The arrivals a run of ``days`` replays from ``trace``, and ``scenario`` with its clock moved to the
    trace's start (``trace.start``, or the trace's first day), so duty calendars and weekdays line up."""
    t = trace if isinstance(trace, Trace) else read_trace(trace, columns=["created", "category"])
    created = pd.to_datetime(t.frame["created"])
    if created.isna().all():
        raise RealDataError(f"{t.path or 'trace'}: no requests to replay")
    start = scenario.trace.start or created.min().date()
    hours = ((created - pd.Timestamp(start)).dt.total_seconds() / 3600.0).to_numpy(dtype=float)
    cats = t.frame["category"].astype("category")
    mapping = CategoryMap.of(scenario)
    codes = cats.cat.codes.to_numpy()
    index = np.append(mapping.indices([str(c) for c in cats.cat.categories]), -1)[codes]
    end_h = days * 24.0
    window = (hours >= 0.0) & (hours < end_h)
    keep = window & (index >= 0)
    ids = list(scenario.categories)
    counts = np.bincount(index[keep], minlength=len(ids))
    arrivals = TraceArrivals(
        times_h=hours[keep],
        categories=index[keep],
        start=start,
        source=str(t.path or "trace"),
        rows=len(hours),
        before_start=int((hours < 0.0).sum()),
        after_end=int((hours >= end_h).sum()),
        left_out=int((window & (index < 0)).sum()),
        by_category={cid: int(n) for cid, n in zip(ids, counts, strict=True) if n},
    )
    return starting_on(scenario, start), arrivals


def starting_on(scenario: Scenario, start: dt.date) -> Scenario:
    """``scenario`` with its clock starting on ``start``, validated again (an inject may now be early)."""
    if scenario.clock.start == start:
        return scenario
    doc = scenario.model_dump(mode="python")
    doc["clock"]["start"] = start
    try:
        return scenario_from_dict(doc)
    except ScenarioError as exc:
        problems = [replace(p, source=f"with the run starting on the trace's day {start}") for p in exc.problems]
        raise ScenarioError(problems) from None
