"""Collecting replication results as they arrive: running statistics, paired differences, bands, rows.

Nothing here grows with the number of replications except what the caller asks to keep: the statistics
are running (Welford) accumulators, a replication's values wait only until the baseline's counterpart
arrives, and rows go straight to ``results.csv`` and ``results.parquet``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiment.errors import ExperimentError
from sim.experiment.executors import Outcome
from sim.experiment.kpis import KPIS
from sim.experiment.stats import Band, Running
from sim.metrics import Histogram

ROWS_PER_BATCH = 5000


class RowWriter:
    """``results.csv`` and ``results.parquet``: one row per scenario (or design point) × replication × KPI."""

    def __init__(self, folder: Path, columns: Sequence[str]) -> None:
        self.folder = folder
        self.created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.csv_file = (folder / "results.csv").open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise ExperimentError(f"{folder}: cannot write the results there ({exc.strerror or exc})") from None
        self.columns = [*columns, "replication", "kpi", "value"]
        self.csv = csv.writer(self.csv_file)
        self.csv.writerow(self.columns)
        self.path = folder / "results.parquet"
        self.parquet: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.buffer: list[list[Any]] = []

    def add(self, rows: list[list[Any]]) -> None:
        self.csv.writerows(rows)
        self.buffer += rows
        if len(self.buffer) >= ROWS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        cols = list(zip(*self.buffer, strict=True))
        if self.schema is None:
            self.schema = pa.schema([(name, _kind(name, col)) for name, col in zip(self.columns, cols, strict=True)])
            self.parquet = pq.ParquetWriter(self.path, self.schema)
        assert self.parquet is not None
        arrays = [
            pa.array([_cell(v, f.type) for v in col], type=f.type) for col, f in zip(cols, self.schema, strict=True)
        ]
        self.parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.buffer = []

    def close(self) -> None:
        self.flush()
        if self.parquet is not None:
            self.parquet.close()
        self.csv_file.close()

    def abort(self) -> None:
        """Close and remove what was written (and the folder, if this made it and nothing else is there)."""
        if self.parquet is not None:
            self.parquet.close()
        self.csv_file.close()
        for path in (self.folder / "results.csv", self.path):
            path.unlink(missing_ok=True)
        if self.created and not any(self.folder.iterdir()):
            self.folder.rmdir()


def _kind(name: str, col: Sequence[Any]) -> pa.DataType:
    if name == "replication":
        return pa.int64()
    numeric = all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in col)
    return pa.float64() if numeric else pa.string()


def _cell(value: Any, kind: pa.DataType) -> Any:
    if value is None or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return value
    return str(value)


class Collector:
    """Running results of an experiment over ``labels`` (scenarios or design points); the first label is
    the baseline that paired differences are taken against."""

    def __init__(
        self,
        labels: Sequence[str],
        columns: dict[str, dict[str, Any]],
        *,
        out: Path | None = None,
        keep_rows: bool = False,
        paired: bool = True,
    ) -> None:
        self.labels = list(labels)
        self.columns = columns
        self.stats = {label: {k.name: Running() for k in KPIS} for label in labels}
        self.paired = paired and len(self.labels) > 1
        self.diffs = {label: {k.name: Running() for k in KPIS} for label in self.labels[1:]}
        self.pending: dict[int, dict[str, Any]] = {}
        self.bands = {label: Band() for label in labels}
        self.hists: dict[str, np.ndarray] = {}
        self.offices: dict[str, dict[str, Running]] = {label: {} for label in labels}
        self.judged = {label: {k.name: Running() for k in KPIS if k.judged is not None} for label in labels}
        self.too_short: dict[str, list[dict[str, Any]]] = {}
        self.failures: list[dict[str, Any]] = []
        self.reps_done: dict[str, int] = dict.fromkeys(labels, 0)
        self.seconds = 0.0
        self.keep_rows = keep_rows
        self.rows: list[list[Any]] = []
        self.column_names = list(next(iter(columns.values())).keys())
        self.writer = RowWriter(out, self.column_names) if out is not None else None

    def add(self, outcome: Outcome) -> None:
        task, result = outcome.task, outcome.result
        if result is None:
            self.failures.append(
                {"scenario": task.label, "replication": task.rep, "attempts": outcome.attempts, "error": outcome.error}
            )
            return
        label = result.label
        self.reps_done[label] += 1
        self.seconds += result.seconds
        for name, value in result.kpis.items():
            if value is not None and math.isfinite(value):
                self.stats[label][name].add(value)
        for name, n in result.judged.items():
            if n is not None:
                self.judged[label][name].add(n)
        if result.too_short:
            self.too_short.setdefault(label, result.too_short)
        for office, level in result.offices.items():
            if level is not None:
                self.offices[label].setdefault(office, Running()).add(level)
        self.bands[label].add(result.backlog_t, result.backlog)
        hist = self.hists.setdefault(label, np.zeros(len(Histogram.edges()), dtype=np.int64))
        for b, c in result.hist.items():
            hist[b] += c
        base = [self.columns[label][c] for c in self.column_names]
        rows = [[*base, result.rep, name, value] for name, value in result.kpis.items()]
        rows += [[*base, result.rep, f"target:{office}", value] for office, value in result.offices.items()]
        if self.writer is not None:
            self.writer.add(rows)
        if self.keep_rows:
            self.rows += rows
        if self.paired:
            self._pair(result.rep, label, result.kpis)

    def _pair(self, rep: int, label: str, kpis: dict[str, float | None]) -> None:
        """Replication ``rep`` of ``label`` against the baseline's: a difference as soon as both are in
        (common random numbers make the pair far less noisy than two independent runs)."""
        slot = self.pending.setdefault(rep, {"base": None, "waiting": {}, "paired": 0})
        if label == self.labels[0]:
            slot["base"] = kpis
            for other, vals in slot["waiting"].items():
                self._diff(other, vals, kpis)
            slot["paired"] += len(slot["waiting"])
            slot["waiting"] = {}
        elif slot["base"] is not None:
            self._diff(label, kpis, slot["base"])
            slot["paired"] += 1
        else:
            slot["waiting"][label] = kpis
        if slot["base"] is not None and slot["paired"] == len(self.labels) - 1:
            del self.pending[rep]

    def _diff(self, label: str, kpis: dict[str, float | None], base: dict[str, float | None]) -> None:
        for name, value in kpis.items():
            ref = base.get(name)
            if value is not None and ref is not None and math.isfinite(value) and math.isfinite(ref):
                self.diffs[label][name].add(value - ref)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        """Stop collecting part-way: the rows written so far are removed, not left half-written."""
        if self.writer is not None:
            self.writer.abort()

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=[*self.column_names, "replication", "kpi", "value"])
