"""The event log: every state change of every request, like the audit trail of a case-handling platform.

Rows are written to Parquet in batches while the engine runs, so memory stays flat however long the run;
a batch is encoded and compressed on a thread of its own while the engine goes on (Arrow's writer releases
the interpreter's lock), one batch at a time and in order, so the file is the same as if written inline.
The first four columns carry the XES standard names (``case:concept:name`` holds the request id,
``concept:name`` the activity, ``time:timestamp``, ``org:resource`` the post's node id), so
process-mining tools (pm4py, Disco, ProM) read the file as it is; the rest are the domain's own: time in
hours, post level, actor, handler, category, priority and a detail. The reader renames the standard
columns to ``request_id``, ``activity``, ``timestamp`` and ``post``. The file's metadata holds the run's
parameters and the whole resolved scenario, so a replay can rebuild the district without the original
files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.activities import (
    ACTIVITIES,
    PASSED,
    ROW_FIELDS,
    ROW_STRUCT,
    SETTLED,
    WHISTLED,
    pack_row,
)
from sim.errors import MicrogovError

#: The activities that answer a request (its response): settled, passed to a department with a named
#: handler, or taken on by a whistle. Being sent up a level is not an answer.
ANSWERING = (SETTLED, PASSED, WHISTLED)

BATCH_ROWS = 200_000
META_KEY = b"microgov"

SCHEMA_FIELDS = [
    ("case:concept:name", pa.int64()),
    ("concept:name", pa.dictionary(pa.int8(), pa.string())),
    ("time:timestamp", pa.timestamp("ms")),
    ("org:resource", pa.dictionary(pa.int32(), pa.string())),
    ("time_h", pa.float64()),
    ("level", pa.dictionary(pa.int8(), pa.string())),
    ("actor", pa.dictionary(pa.int8(), pa.string())),
    ("handler", pa.int32()),
    ("category", pa.dictionary(pa.int16(), pa.string())),
    ("priority", pa.dictionary(pa.int8(), pa.string())),
    ("detail", pa.dictionary(pa.int32(), pa.string())),
]

#: A buffered row as numpy reads it: the fields of ``sim.activities.ROW_FIELDS``, packed as ``pack_row`` packs them.
ROW = np.dtype([(name, "=" + kind) for name, kind in ROW_FIELDS])
assert ROW.itemsize == ROW_STRUCT.size

#: Friendly names the reader gives the standard columns.
FRIENDLY = {
    "case:concept:name": "request_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "org:resource": "post",
}


class EventLogError(MicrogovError):
    """An event log cannot be written or read (missing, not Parquet, not written by microgov)."""


class EventLog:
    """Buffers rows of small integer codes and writes them to Parquet in batches.

    A row is ``(request_id, time_h, activity, post, actor, handler, category, priority, detail)``,
    packed by ``sim.activities.pack_row``; the engine appends packed rows with :attr:`append` directly
    (one call per row, no tuple kept and no conversion later, keeps a year's run fast) and calls
    :meth:`maybe_flush` from time to time.

    The file is written under a temporary name and renamed into place on :meth:`close`, so an
    interrupted run never leaves a truncated log where a complete one is expected.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        posts: Sequence[str],
        post_levels: Sequence[int],
        levels: Sequence[str],
        actors: Sequence[str],
        categories: Sequence[str],
        priorities: Sequence[str],
        start: dt.datetime,
        metadata: dict[str, Any],
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self.batch_rows = batch_rows
        self._posts = pa.array(list(posts), pa.string())
        self._post_levels = pa.array(list(post_levels), pa.int8())
        self._levels = pa.array(list(levels), pa.string())
        self._actors = pa.array(list(actors), pa.string())
        self._categories = pa.array(list(categories), pa.string())
        self._priorities = pa.array(list(priorities), pa.string())
        self._activities = pa.array(list(ACTIVITIES), pa.string())
        self._start_ms = int(start.replace(tzinfo=dt.UTC).timestamp() * 1000)
        self.details: dict[str, int] = {"": 0}
        schema = pa.schema(SCHEMA_FIELDS, metadata={META_KEY: json.dumps(metadata, default=str).encode()})
        self.schema = schema
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
                self.tmp,
                schema,
                compression="zstd",
                use_dictionary=[name for name, kind in SCHEMA_FIELDS if pa.types.is_dictionary(kind)],
                write_statistics=["case:concept:name", "time:timestamp", "time_h"],
            )
        except OSError as exc:
            raise EventLogError(f"{self.path}: cannot write the event log ({exc.strerror})") from None
        self.written = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="microgov-event-log")
        self._pending: Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        """Empty the buffer in place: ``append`` stays the same bound method for the whole run, so the
        engine and its rules may hold it (a flushed batch was copied out already)."""
        if hasattr(self, "buffer"):
            self.buffer.clear()
            return
        self.buffer: bytearray = bytearray()
        self.append = self.buffer.extend

    def detail_code(self, text: str) -> int:
        code = self.details.get(text)
        if code is None:
            code = self.details[text] = len(self.details)
        return code

    def emit(
        self, rid: int, t: float, act: int, post: int, actor: int, handler: int, cat: int, prio: int, det: int
    ) -> None:
        self.append(pack_row(rid, t, act, post, actor, handler, cat, prio, det))

    def maybe_flush(self) -> None:
        if len(self.buffer) >= self.batch_rows * ROW.itemsize:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows to the writer thread (a copy of their bytes): arranging them into
        columns, encoding, compressing and writing go on beside the run."""
        if not self.buffer or self._writer is None:
            return
        data = bytes(self.buffer)
        details = sorted(self.details, key=self.details.__getitem__)
        self._wait()
        self._pending = self._pool.submit(self._write, self._writer, data, details)
        self.written += len(data) // ROW.itemsize
        self._reset()

    def _write(self, writer: pq.ParquetWriter, data: bytes, details: list[str]) -> None:
        """One batch of packed rows as columns, written by ``writer`` (on the writer thread)."""
        packed = np.frombuffer(data, dtype=ROW)
        rows = {name: np.ascontiguousarray(packed[name]) for name, _ in ROW_FIELDS}
        t = pa.array(rows["t"])
        post = pa.array(rows["post"])
        ms = pc.add(pc.cast(pc.round(pc.multiply(t, 3_600_000.0)), pa.int64()), self._start_ms)
        columns = [
            pa.array(rows["rid"]),
            pa.DictionaryArray.from_arrays(pa.array(rows["act"]), self._activities),
            pc.cast(ms, pa.timestamp("ms")),
            pa.DictionaryArray.from_arrays(post, self._posts),
            t,
            pa.DictionaryArray.from_arrays(pc.take(self._post_levels, post), self._levels),
            pa.DictionaryArray.from_arrays(pa.array(rows["actor"]), self._actors),
            pa.array(rows["handler"]),
            pa.DictionaryArray.from_arrays(pa.array(rows["cat"]), self._categories),
            pa.DictionaryArray.from_arrays(pa.array(rows["prio"]), self._priorities),
            pa.DictionaryArray.from_arrays(pa.array(rows["det"]), pa.array(details, pa.string())),
        ]
        writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=self.schema))

    def _wait(self) -> None:
        """Let the batch being written finish (its error, if any, raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Write what is buffered and move the finished file into place (on failure, drop it and raise)."""
        if self._writer is None:
            return
        try:
            self.flush()
            self._wait()
            self._writer.close()
        except BaseException:
            self.abort()
            raise
        self._writer = None
        self._pool.shutdown()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop a log that will not be finished (the run failed)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            wait([pending])
        self._pool.shutdown()
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):  # the run has failed already: say why, not this
                writer.close()
        self.tmp.unlink(missing_ok=True)


def _open(path: str | Path) -> pq.ParquetFile:
    p = Path(path)
    if not p.is_file():
        raise EventLogError(f"{p}: no such event log")
    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise EventLogError(f"{p}: not a Parquet event log ({exc})") from None
    meta = pf.schema_arrow.metadata or {}
    if META_KEY not in meta:
        raise EventLogError(f"{p}: a Parquet file, but not an event log written by microgov run --events")
    return pf


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The run's parameters and resolved scenario, as stored in the log."""
    meta = _open(path).schema_arrow.metadata or {}
    data: dict[str, Any] = json.loads(meta[META_KEY])
    return data


def read_events(path: str | Path, columns: Sequence[str] | None = None, friendly: bool = True) -> Any:
    """The whole log as a pandas DataFrame (standard columns renamed to friendly names unless asked not to)."""
    table = _open(path).read(columns=list(columns) if columns else None)
    df = table.to_pandas()
    return df.rename(columns=FRIENDLY) if friendly else df


def iter_batches(path: str | Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The log in record batches, for logs too large to load at once."""
    yield from _open(path).iter_batches(batch_size=batch_rows)
