"""Exports: a run's event log as Open311 service requests, an IEEE XES log, or a flat CSV.

Like a city publishing its case records on an open-data portal, an export writes the simulated requests
in the forms other people's tools read: Open311 GeoReport v2 (one record per request, as civic apps and
the importer read real cities' feeds), XES (one trace per request, for process-mining tools such as ProM
and pm4py) and CSV (case, activity, timestamp, resource, for spreadsheets and Disco). The event log is
ordered by time, not by request, so it is first sorted request by request in buckets of request ids
kept on disk; each bucket is then written out as it is read, so a year's log never sits in memory whole.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from sim import limits
from sim.eventlog import iter_batches, read_metadata
from sim.realdata.errors import RealDataError
from sim.realdata.trace import replacing
from sim.structure.ids import office_of

TARGETS = ("open311", "xes", "csv")
CASE = "case:concept:name"
#: Requests sorted together; a bucket holds their events (a dozen or so each) in memory at once.
CASES_PER_BUCKET = 100_000
CSV_NAMES = {"case:concept:name": "case", "concept:name": "activity", "time:timestamp": "timestamp"}
CSV_NAMES["org:resource"] = "resource"


def iter_cases(path: str | Path, cases_per_bucket: int = CASES_PER_BUCKET) -> Iterator[pa.Table]:
    """The event log in tables of whole requests, by request id, each request's events in the order they
    happened (the log's order, kept by a stable sort)."""
    with tempfile.TemporaryDirectory(prefix="microgov-export-") as tmp:
        writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        try:
            for batch in iter_batches(path):
                plain = _decoded(batch)
                bucket = pc.divide(plain.column(CASE), cases_per_bucket).to_numpy()
                for b in sorted(set(bucket.tolist())):
                    if b not in writers:
                        writers[b] = pa.ipc.new_stream(Path(tmp) / f"{b}.arrows", plain.schema)
                    writers[b].write_batch(plain.filter(pa.array(bucket == b)))
        finally:
            for w in writers.values():
                w.close()
        for b in sorted(writers):
            with pa.ipc.open_stream(Path(tmp) / f"{b}.arrows") as reader:
                table = reader.read_all()
            yield table.take(pc.sort_indices(table, sort_keys=[(CASE, "ascending")]))


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary columns as plain text, so batches with different dictionaries share one schema."""
    arrays = [pc.cast(col, pa.string()) if pa.types.is_dictionary(col.type) else col for col in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def export_events(
    path: str | Path,
    to: str,
    out: str | Path,
    *,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Write the event log at ``path`` as ``to`` (``open311``, ``xes`` or ``csv``) to ``out``, atomically;
    returns what was written. ``progress`` gets the share of events written."""
    if to not in TARGETS:
        raise RealDataError(f"unknown export format '{limits.visible(to)}'; formats: {', '.join(TARGETS)}")
    problem = limits.input_problem(Path(path), limits.MAX_TRACE_BYTES)
    if problem:
        raise RealDataError(f"{path}: {problem}")
    if limits.same_file(Path(out), Path(path)):
        raise RealDataError(f"{out}: the same file as the event log read; writing it would destroy the log")
    meta = read_metadata(path)
    total = max(pq.ParquetFile(path).metadata.num_rows, 1)
    writer = {"open311": _Open311, "xes": _Xes, "csv": _Csv}[to](meta)
    with replacing(Path(out)) as tmp, tmp.open("wb") as f:
        writer.begin(f)
        for table in iter_cases(path):
            writer.write(table)
            if progress:
                progress(writer.events / total)
        writer.end()
    return {"format": to, "out": str(out), "requests": writer.requests, "events": writer.events, **writer.extra()}


def iso(t: dt.datetime) -> str:
    """ISO 8601 local time to the millisecond (the simulated clock has no time zone)."""
    return t.isoformat(timespec="milliseconds")


class _Writer:
    """One export format: ``begin`` on the open file, ``write`` each table of whole requests, ``end``."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.doc: dict[str, Any] = meta.get("scenario_doc") or {}
        self.requests = 0
        self.events = 0
        self.text: io.TextIOWrapper | None = None

    def begin(self, f: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(f, encoding="utf-8", newline="")

    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def end(self) -> None:
        if self.text is not None:
            self.text.flush()
            self.text.detach()

    def extra(self) -> dict[str, Any]:
        return {}


class _Open311(_Writer):
    """GeoReport v2 service requests: one JSON object per request, written as an array item by item."""

    def __init__(self, meta: dict[str, Any]) -> None:
        super().__init__(meta)
        cats = self.doc.get("categories", {})
        self.names = {cid: c.get("name_en", cid) for cid, c in cats.items()}
        depts = self.doc.get("departments", {})
        self.agencies = {d: c.get("name_en", d) for d, c in depts.items()}
        deadlines = self.doc.get("deadlines", {})
        self.resolution_h = {p: float(v["resolution_h"]) for p, v in deadlines.items() if "resolution_h" in v}
        self.closed = 0
        self.first = True

    def begin(self, f: IO[bytes]) -> None:
        super().begin(f)
        assert self.text is not None
        self.text.write("[")

    def end(self) -> None:
        assert self.text is not None
        self.text.write("\n]\n" if not self.first else "]\n")
        super().end()

    def extra(self) -> dict[str, Any]:
        return {"closed": self.closed, "open": self.requests - self.closed}

    def write(self, table: pa.Table) -> None:
        assert self.text is not None
        df = table.select([CASE, "concept:name", "time:timestamp", "org:resource", "level", "category", "priority"])
        frame = df.to_pandas().rename(
            columns={CASE: "case", "concept:name": "activity", "time:timestamp": "t", "org:resource": "post"}
        )
        by_case = frame.groupby("case", sort=True)
        req = by_case[["t", "post", "category", "priority"]].first()
        req["updated"] = by_case["t"].max()
        last = by_case[["post", "level"]].last()
        req["now_post"], req["now_level"] = last["post"], last["level"]
        closing = frame[frame["activity"].isin(("resolved", "abandoned"))].groupby("case")[["activity", "level"]].last()
        req["end"], req["end_level"] = closing["activity"], closing["level"]
        req["dept"] = frame[frame["level"] == "department"].groupby("case")["post"].last()
        due = req["priority"].map(self.resolution_h)
        req["due"] = req["t"] + pd.to_timedelta(due, unit="h")
        rows = zip(req.index.tolist(), *(req[c].tolist() for c in req.columns), strict=True)
        for case, t, post, cat, prio, updated, now_post, now_level, end, end_level, dept, due_t in rows:
            done = isinstance(end, str)
            if isinstance(dept, str):
                agency = self.agencies.get(dept, dept)
            else:
                agency = end_level if done else now_level
            if done:
                notes = "abandoned to the city hotline" if end == "abandoned" else f"resolved at {end_level}"
            else:
                notes = f"open at {now_level}" + ("" if now_post == now_level else f" {now_post}")
            record = {
                "service_request_id": str(case),
                "status": "closed" if done else "open",
                "status_notes": notes,
                "service_name": self.names.get(cat, cat),
                "service_code": cat,
                "description": f"{prio} request",
                "agency_responsible": agency,
                "requested_datetime": iso(t),
                "updated_datetime": iso(updated),
                "expected_datetime": None if pd.isna(due_t) else iso(due_t),
                "address": post,
                "zipcode": office_of(str(post)),
            }
            self.text.write(("\n" if self.first else ",\n") + json.dumps(record, ensure_ascii=False))
            self.first = False
            self.requests += 1
            self.closed += done
        self.events += table.num_rows


class _Csv(_Writer):
    """Case, activity, timestamp, resource, then the log's own columns; one row per event."""

    def __init__(self, meta: dict[str, Any]) -> None:
        super().__init__(meta)
        self.sink: IO[bytes] | None = None
        self.writer: pcsv.CSVWriter | None = None

    def begin(self, f: IO[bytes]) -> None:
        self.sink = f

    def write(self, table: pa.Table) -> None:
        table = table.rename_columns([CSV_NAMES.get(n, n) for n in table.column_names])
        if self.writer is None:
            self.writer = pcsv.CSVWriter(self.sink, table.schema)
        self.writer.write_table(table)
        self.requests += len(pc.unique(table.column("case")))
        self.events += table.num_rows

    def end(self) -> None:
        if self.writer is not None:
            self.writer.close()
        elif self.sink is not None:
            self.sink.write((",".join(f'"{CSV_NAMES.get(n, n)}"' for n in _LOG_COLUMNS) + "\n").encode())


_LOG_COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "time_h",
    "level",
    "actor",
    "handler",
    "category",
    "priority",
    "detail",
)


class _Xes(_Writer):
    """IEEE 1849 XES: the log's extensions, globals and classifier, then one trace per request."""

    EXTENSIONS = (
        ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
        ("Time", "time", "http://www.xes-standard.org/time.xesext"),
        ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    )

    def __init__(self, meta: dict[str, Any]) -> None:
        super().__init__(meta)
        self.gen: XMLGenerator | None = None

    def _start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        assert self.gen is not None
        self.gen.startElement(name, AttributesImpl(attrs or {}))

    def _attr(self, kind: str, key: str, value: str) -> None:
        assert self.gen is not None
        self._start(kind, {"key": key, "value": value})
        self.gen.endElement(kind)

    def begin(self, f: IO[bytes]) -> None:
        super().begin(f)
        gen = self.gen = XMLGenerator(self.text, encoding="utf-8", short_empty_elements=True)
        gen.startDocument()
        self._start(
            "log",
            {"xes.version": "1849-2016", "xes.features": "nested-attributes", "xmlns": "http://www.xes-standard.org/"},
        )
        for name, prefix, uri in self.EXTENSIONS:
            self._start("extension", {"name": name, "prefix": prefix, "uri": uri})
            gen.endElement("extension")
        self._start("global", {"scope": "trace"})
        self._attr("string", "concept:name", "__INVALID__")
        gen.endElement("global")
        self._start("global", {"scope": "event"})
        self._attr("string", "concept:name", "__INVALID__")
        self._attr("date", "time:timestamp", "1970-01-01T00:00:00.000")
        self._attr("string", "org:resource", "__INVALID__")
        gen.endElement("global")
        self._start("classifier", {"name": "Activity", "keys": "concept:name"})
        gen.endElement("classifier")
        self._attr("string", "concept:name", str(self.meta.get("scenario", "microgov run")))
        self._attr("int", "seed", str(self.meta.get("seed", -1)))
        self._attr("date", "start", str(self.meta.get("start", dt.datetime(1970, 1, 1).isoformat())))
        gen.ignorableWhitespace("\n")

    def write(self, table: pa.Table) -> None:
        gen = self.gen
        assert gen is not None
        cols = {n: table.column(n).to_pylist() for n in table.column_names}
        case_col = cols[CASE]
        current = None
        for i, case in enumerate(case_col):
            if case != current:
                if current is not None:
                    gen.endElement("trace")
                    gen.ignorableWhitespace("\n")
                current = case
                self.requests += 1
                self._start("trace", {})
                self._attr("string", "concept:name", str(case))
                self._attr("string", "category", str(cols["category"][i]))
                self._attr("string", "priority", str(cols["priority"][i]))
            self._start("event", {})
            self._attr("string", "concept:name", str(cols["concept:name"][i]))
            self._attr("date", "time:timestamp", iso(cols["time:timestamp"][i]))
            self._attr("string", "org:resource", str(cols["org:resource"][i]))
            self._attr("string", "level", str(cols["level"][i]))
            self._attr("string", "actor", str(cols["actor"][i]))
            self._attr("int", "handler", str(cols["handler"][i]))
            self._attr("float", "time_h", repr(float(cols["time_h"][i])))
            if cols["detail"][i]:
                self._attr("string", "detail", str(cols["detail"][i]))
            gen.endElement("event")
        if current is not None:
            gen.endElement("trace")
            gen.ignorableWhitespace("\n")
        self.events += table.num_rows

    def end(self) -> None:
        assert self.gen is not None
        self.gen.endElement("log")
        self.gen.ignorableWhitespace("\n")
        self.gen.endDocument()
        super().end()
