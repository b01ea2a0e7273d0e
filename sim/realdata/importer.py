"""The importer: real request logs (Boston, Los Angeles, Open311, any CSV) copied into one trace.

Like a records clerk transcribing another city's case files onto the office's own form, the importer
reads each source's columns, finds the same nine facts in each (source id, created, closed, due,
category, department, channel, area, status), and refuses, with a count per reason, the lines it cannot
trust: no id, no or an unreadable creation date, closed before it was opened, the same id twice. Nothing
is dropped without being counted, and fields that are wrong but not fatal (a due date before the request
was made) are cleared and counted too. Every value is untrusted text until parsed.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import gzip
import io
import json
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from sim import limits
from sim.realdata.errors import RealDataError
from sim.realdata.trace import FIELDS, write_trace

#: Timestamps of the Boston and Los Angeles extracts (and NYC's): 01/31/2015 09:05:00 PM.
US_TIME = "%m/%d/%Y %I:%M:%S %p"
ISO = "iso"
#: Creation dates outside these years are placeholders (01/01/1900) or typos, not real requests.
YEARS = limits.YEARS
#: strptime directives a ``--time-format`` may use (Python's and pandas's common set).
DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzZjUWGuV%")
#: A status is closed when one of these words is in it (whole words, any case), cancelled for the
#: second set, unless the word just before says otherwise ("Not Completed", "Pending Closure" stays open).
CLOSED_WORDS = frozenset({"closed", "close", "resolved", "completed", "complete", "referred", "done"})
CANCELLED_WORDS = frozenset({"cancelled", "canceled", "cancel", "cancellation"})
NEGATIONS = frozenset({"not", "no", "non", "never", "un", "pending", "awaiting", "to", "partially", "partly"})
#: A share of creation times at exactly hh:00:00 above this is flagged (date-only placeholders).
ON_THE_HOUR = 0.10

SKIP_REASONS = (
    "malformed row",
    "missing source id",
    "blank created date",
    "unparsable created date",
    "created date out of range",
    "unparsable closed date",
    "closed date out of range",
    "closed status without a closed date",
    "closed before created",
    "duplicate source id",
)
CLEARED = ("unparsable due date", "due before created", "closed date on an open case")


@dataclass(frozen=True)
class Format:
    """A source's layout: which column holds each field (alternative spellings allowed) and which are
    required."""

    name: str
    label: str
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    time_format: str = US_TIME


FORMATS: dict[str, Format] = {
    "boston": Format(
        "boston",
        "a Boston 311 extract",
        {
            "source_id": ("CASE_ENQUIRY_ID",),
            "created": ("OPEN_DT",),
            "closed": ("CLOSED_DT",),
            "due": ("TARGET_DT",),
            "category": ("TYPE",),
            "department": ("SUBJECT",),
            "channel": ("Source",),
            "area": ("neighborhood",),
            "status": ("CASE_STATUS",),
        },
        ("source_id", "created", "closed", "category"),
    ),
    "la": Format(
        "la",
        "a Los Angeles MyLA311 extract",
        {
            "source_id": ("SRNumber", "SR Number", "Request Number"),
            "created": ("CreatedDate",),
            "closed": ("ClosedDate",),
            "due": ("ServiceDate",),
            "category": ("RequestType",),
            "department": ("Owner",),
            "channel": ("RequestSource",),
            "area": ("NCName", "Neighborhood Council Name"),
            "status": ("Status",),
        },
        ("source_id", "created", "closed", "category"),
    ),
    "open311": Format(
        "open311",
        "Open311 GeoReport v2 service requests",
        {
            "source_id": ("service_request_id",),
            "created": ("requested_datetime",),
            "closed": ("updated_datetime",),
            "due": ("expected_datetime",),
            "category": ("service_name", "service_code"),
            "department": ("agency_responsible",),
            "channel": ("channel",),
            "area": ("zipcode", "address"),
            "status": ("status",),
        },
        ("source_id", "created"),
        ISO,
    ),
    "csv": Format("csv", "a CSV request log", {}, ("created",)),
}


@dataclass(frozen=True)
class TimeSpec:
    """How timestamps are read: ``iso`` or a strptime format, and the zone UTC-stamped times are turned
    into (None keeps the wall-clock time as written)."""

    format: str
    tz: str | None = None

    @property
    def offsets(self) -> bool:
        return self.format == ISO or "%z" in self.format or "%Z" in self.format


def time_spec(time_format: str | None, tz: str | None = None, default: str = US_TIME) -> TimeSpec:
    """Check ``--time-format`` and ``--tz`` before anything is read: ``iso`` in any case, or a strptime
    format whose every directive exists (``%Q``, ``%s`` and a stray ``%`` are refused); a zone the tz
    database knows."""
    fmt = default if time_format is None else time_format
    if fmt.strip().casefold() == ISO:
        fmt = ISO
    else:
        if not fmt.strip():
            raise RealDataError("--time-format: blank; give a strptime format such as %Y-%m-%d %H:%M:%S, or iso")
        i = 0
        while i < len(fmt):
            if fmt[i] == "%":
                if i + 1 == len(fmt):
                    raise RealDataError(f"--time-format {fmt!r}: a % at the end with no directive after it")
                if fmt[i + 1] not in DIRECTIVES:
                    hint = " (seconds since 1970 are not a strptime format)" if fmt[i + 1] == "s" else ""
                    raise RealDataError(
                        f"--time-format {fmt!r}: %{fmt[i + 1]} is not a strptime directive{hint}; use %Y %m %d %H %M "
                        "%S %p %z and the like, or iso"
                    )
                i += 2
            else:
                i += 1
        if not any(d in fmt for d in ("%Y", "%y", "%d", "%j")):
            raise RealDataError(f"--time-format {fmt!r}: no date in it (%Y, %y, %d or %j); give the whole timestamp")
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise RealDataError(
                f"--tz {limits.visible(tz)!r}: no such time zone; give a tz database name such as "
                "America/New_York or Asia/Shanghai"
            ) from None
        tz = tz.strip()
    return TimeSpec(fmt, tz)


def parse_delimiter(text: str | None) -> str:
    """``--delimiter``: one character (``tab`` or ``\\t`` for a tab); default a comma."""
    if text is None:
        return ","
    value = {"tab": "\t", "\\t": "\t"}.get(text.strip().casefold(), text)
    if len(value) != 1 or value in '\r\n"':
        raise RealDataError(f"--delimiter {limits.visible(text)!r}: expected one character such as ; or tab")
    return value


@dataclass
class ImportReport:
    """What an import read, kept and left out (and why), and the period the kept requests cover."""

    source: str
    format: str
    out: str
    columns: dict[str, str]
    rows_read: int = 0
    rows_kept: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    fields_cleared: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLEARED, 0))
    period: dict[str, str | None] = field(default_factory=lambda: {"start": None, "end": None})
    extract_end: str | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)  # the first value skipped for each reason

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped_by_reason.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "out": self.out,
            "columns": self.columns,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_skipped": self.rows_skipped,
            "skipped_by_reason": self.skipped_by_reason,
            "fields_cleared": self.fields_cleared,
            "period": self.period,
            "extract_end": self.extract_end,
            "statuses": self.statuses,
            "notes": self.notes,
        }


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """``FIELD=COLUMN`` arguments as a dict; an unknown field, or one mapped twice, is an error."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip(), column.strip()
        shown = limits.visible(item)
        if not sep or not name or not column:
            raise RealDataError(f"--map {shown}: expected FIELD=COLUMN, e.g. --map created='Created Date'")
        if name not in FIELDS:
            hint = difflib.get_close_matches(name, FIELDS, n=1)
            did = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise RealDataError(
                f"--map {shown}: unknown field '{limits.visible(name)}'{did}; fields: {', '.join(FIELDS)}"
            )
        if name in out:
            raise RealDataError(
                f"--map {shown}: {name} is mapped already (to '{limits.visible(out[name])}'); map each field once"
            )
        out[name] = column
    return out


#: Above this an import's input is refused (the Boston year is 52 MB of CSV, 8 MB gzipped).
MAX_LOG_BYTES = 4 * 1024**3


def import_log(
    path: str | Path,
    fmt: str,
    out: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    time_format: str | None = None,
    tz: str | None = None,
    delimiter: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """Read the request log at ``path`` in format ``fmt`` (``boston``, ``la``, ``open311``, ``csv``),
    normalise it and write the trace to ``out``. ``mapping`` (field → column) overrides or, for ``csv``,
    supplies the columns; ``time_format`` is a strptime format or ``iso``; ``tz`` turns UTC-stamped
    times into that zone's wall-clock time; ``delimiter`` separates a CSV's fields (default a comma).
    An import that would keep no rows is an error, and nothing is written."""
    tell = progress or (lambda done: None)
    if fmt not in FORMATS:
        raise RealDataError(f"unknown format '{limits.visible(fmt)}'; formats: {', '.join(FORMATS)}")
    spec = FORMATS[fmt]
    times = time_spec(time_format, tz, spec.time_format)
    sep = parse_delimiter(delimiter)
    src = Path(path)
    problem = limits.input_problem(src, MAX_LOG_BYTES)
    if problem:
        raise RealDataError(f"{src}: {problem}")
    if limits.same_file(Path(out), src):
        raise RealDataError(f"--out {out}: the same file as the log read; writing it would destroy the log")
    _sniff(src)
    if fmt == "open311":
        records, malformed = _read_json(src)
        # An empty array is a feed with no requests, not a feed missing its fields.
        header = _keys(records) if records else [c[0] for c in spec.columns.values()]
        columns = _resolve(spec, header, dict(mapping or {}), src)
        raw = _json_frame(records, columns)
    else:
        header = _csv_header(src, sep)
        columns = _resolve(spec, header, dict(mapping or {}), src, sep)
        tell(0.1)
        raw, malformed = _read_csv(src, columns, sep)
    tell(0.5)
    report = ImportReport(str(src), fmt, str(out), columns)
    frame = normalise(raw, times, malformed, report, open311=fmt == "open311")
    if not report.rows_kept:
        raise RealDataError(_nothing_kept(src, report, times))
    tell(0.8)
    write_trace(frame, report.as_dict(), out)
    tell(1.0)
    return report


def _nothing_kept(src: Path, report: ImportReport, times: TimeSpec) -> str:
    """Why an import kept no rows: the commonest reason, with a value that had it."""
    if not report.rows_read:
        return f"{src}: no requests in it (a header and no rows); nothing was written"
    reason, count = max(report.skipped_by_reason.items(), key=lambda kv: kv[1])
    sample = report.samples.get(reason)
    shown = f" (e.g. {limits.visible(sample)[:60]!r})" if sample is not None else ""
    hint = ""
    if reason in ("unparsable created date", "created date out of range", "unparsable closed date"):
        hint = f"; the timestamps are read as {times.format!r}: check --time-format"
    return (
        f"{src}: none of the {report.rows_read:,} rows can be kept: {count:,} {reason}{shown}{hint}; "
        "nothing was written"
    )


# --- reading -------------------------------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def _sniff(path: Path) -> None:
    """Refuse binary files (a Parquet trace, a spreadsheet, a picture) before parsing them as text."""
    try:
        with _open_binary(path) as f:
            head = f.read(8192)
    except (OSError, EOFError) as exc:
        raise RealDataError(f"{path}: cannot read ({exc})") from None
    if not head:
        raise RealDataError(f"{path}: empty file")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 8 and head.count(b"\x00") * 3 > len(head)):
        raise RealDataError(f"{path}: UTF-16 text, not UTF-8; save it as UTF-8")
    if b"\x00" in head:
        raise RealDataError(f"{path}: not a CSV or JSON text file (binary data)")


def _csv_header(path: Path, delimiter: str = ",") -> list[str]:
    try:
        with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text, delimiter=delimiter), None)
    except UnicodeDecodeError:
        raise RealDataError(f"{path}: not UTF-8 text (re-save it as UTF-8)") from None
    except (OSError, EOFError, csv.Error) as exc:
        raise RealDataError(f"{path}: cannot read as CSV ({exc})") from None
    if not header or not any(h.strip() for h in header):
        raise RealDataError(f"{path}: empty file, or no header line")
    if any("\x00" in h for h in header):
        raise RealDataError(f"{path}: not CSV text (binary data in the first line)")
    return header


def _read_csv(path: Path, columns: Mapping[str, str], delimiter: str = ",") -> tuple[pd.DataFrame, int]:
    """The mapped columns as text (blank, not missing, where empty), and how many rows had the wrong
    number of fields (counted, then left out)."""
    malformed: list[object] = []

    def bad(row: object) -> str:
        malformed.append(row)
        return "skip"

    wanted = sorted(set(columns.values()))
    stream: pa.NativeFile = pa.OSFile(str(path))
    if _is_gzip(path):
        stream = pa.CompressedInputStream(stream, "gzip")
    try:
        with stream:
            table = pcsv.read_csv(
                stream,
                read_options=pcsv.ReadOptions(use_threads=True),
                parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=bad),
                convert_options=pcsv.ConvertOptions(
                    include_columns=wanted,
                    column_types=dict.fromkeys(wanted, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        text = str(exc)
        if "UTF8" in text or "UTF-8" in text:
            raise RealDataError(f"{path}: not UTF-8 text (re-save it as UTF-8)") from None
        raise RealDataError(f"{path}: cannot read as CSV ({text.splitlines()[0] if text else exc})") from None
    data = {name: table.column(col).to_numpy(zero_copy_only=False) for name, col in columns.items()}
    return _frame(data, table.num_rows), len(malformed)


def _read_json(path: Path) -> tuple[list[dict[str, Any]], int]:
    try:
        raw = gzip.decompress(path.read_bytes()) if _is_gzip(path) else path.read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RealDataError(f"{path}: not UTF-8 text (re-save it as UTF-8)") from None
    except (OSError, EOFError) as exc:
        raise RealDataError(f"{path}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RealDataError(f"{path}: not Open311 JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("service_requests"), list):
        data = data["service_requests"]
    if not isinstance(data, list):
        raise RealDataError(f"{path}: not Open311 JSON (expected an array of service requests)")
    records = [r for r in data if isinstance(r, dict)]
    return records, len(data) - len(records)


def _keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.update(dict.fromkeys(str(k) for k in r))
    return list(seen)


def _scalar(value: Any) -> str:
    """Open311 values as text; nested objects and arrays are not a field's value."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _json_frame(records: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    data = {name: np.array([_scalar(r.get(col)) for r in records], dtype=object) for name, col in columns.items()}
    frame = _frame(data, len(records))
    # GeoReport has no closing time: a closed request's last update is when it was closed.
    closed = frame["status"].str.strip().str.casefold() == "closed"
    frame["closed"] = frame["closed"].where(closed, "")
    return frame


def _frame(data: Mapping[str, np.ndarray], rows: int) -> pd.DataFrame:
    """Every field as a text column; fields the source lacks are blank, a missing id is the row number."""
    index = pd.RangeIndex(rows)
    columns = {name: pd.Series(data.get(name, ""), index=index, dtype=object) for name in FIELDS}
    if "source_id" not in data:
        columns["source_id"] = pd.Series((np.arange(rows) + 1).astype(str), index=index, dtype=object)
    return pd.DataFrame(columns, index=index)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _resolve(
    spec: Format, header: Sequence[str], mapping: dict[str, str], path: Path, delimiter: str = ","
) -> dict[str, str]:
    """Field → column: ``mapping`` first (exact column names), then the format's columns (matched
    ignoring case, spaces and punctuation). A header that is one column holding semicolons or tabs is
    named as such: the file has another delimiter."""
    if len(header) == 1:
        for other, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            count = header[0].count(other)
            if other != delimiter and count:
                shown = "tab" if other == "\t" else other
                raise RealDataError(
                    f"{path}: the header line has no {'commas' if delimiter == ',' else repr(delimiter)} but "
                    f"{count} {name if count > 1 else name[:-1]}: fields separated by {name}? give --delimiter "
                    f"'{shown}'"
                )
    by_norm = {_norm(h): h for h in header}
    columns: dict[str, str] = {}
    for name, col in mapping.items():
        if col not in header:
            hint = difflib.get_close_matches(col, header, n=1)
            did = f" (did you mean '{limits.visible(hint[0])}'?)" if hint else ""
            shown = limits.visible(col)
            raise RealDataError(f"{path}: --map {name}={shown}: no column '{shown}' in the file{did}")
        columns[name] = col
    for name, candidates in spec.columns.items():
        if name in columns:
            continue
        for cand in candidates:
            if _norm(cand) in by_norm:
                columns[name] = by_norm[_norm(cand)]
                break
    missing = [f for f in spec.required if f not in columns]
    if missing:
        if spec.columns:
            wanted = ", ".join(spec.columns[f][0] for f in missing)
            shown = ", ".join(limits.visible(h[:40]) for h in header[:12]) + (", ..." if len(header) > 12 else "")
            raise RealDataError(
                f"{path}: not {spec.label}: no column {wanted} (found: {shown}); "
                "check --format, or map columns with --map FIELD=COLUMN"
            )
        raise RealDataError(f"{path}: --format {spec.name} needs --map {missing[0]}=COLUMN (the file's column)")
    return {f: columns[f] for f in FIELDS if f in columns}


# --- normalising -----------------------------------------------------------------------------------------

_ISO = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_HOURS_ONLY = re.compile(r"([+-]\d{2})$")


def parse_times(text: pd.Series, spec: TimeSpec | str) -> pd.Series:
    """Timestamps (milliseconds, local wall-clock time) from text; anything unreadable becomes NaT.

    A time with a UTC offset (ISO 8601's ``Z`` or ``+08:00``, or ``%z`` in a format) keeps the wall-clock
    time it was written in, so hour-of-week profiles stay in the city's local time (extracts often stamp
    local times ``+00``); with ``spec.tz`` it becomes that zone's wall-clock time instead (times without
    an offset are then read as UTC)."""
    if isinstance(spec, str):
        spec = TimeSpec(spec)
    offset: pd.Series | None = None
    if spec.format == ISO:
        parts = text.str.extract(_ISO, expand=True)
        parsed = pd.to_datetime(parts[0], format="ISO8601", errors="coerce")
        if spec.tz is not None:
            offset = _offset_minutes(parts[1])
    elif spec.offsets:
        parsed, offset = _parse_each(text, spec.format)
    else:
        parsed = pd.to_datetime(text, format=spec.format, errors="coerce")
    parsed = parsed.where(parsed.dt.year.between(1, 9999))
    if spec.tz is not None:
        utc = parsed - pd.to_timedelta(offset if offset is not None else 0.0, unit="m")
        inside = utc.dt.year.between(2, 9998)
        parsed = utc.where(inside).dt.tz_localize("UTC").dt.tz_convert(spec.tz).dt.tz_localize(None)
    # Years the timestamp type cannot hold are as unreadable as no date.
    return parsed.where(parsed.dt.year.between(1, 9999)).astype("datetime64[ms]")


def _offset_minutes(text: pd.Series) -> pd.Series:
    """``Z``, ``+08``, ``+0800`` or ``+08:00`` as minutes east of UTC (blank: 0)."""
    digits = text.fillna("").str.replace(":", "", regex=False).str.replace("Z", "+0000", regex=False)
    digits = digits.where(digits.str.len() != 3, digits + "00").where(digits != "", "+0000")
    sign = np.where(digits.str[0] == "-", -1.0, 1.0)
    hours = pd.to_numeric(digits.str[1:3], errors="coerce")
    minutes = pd.to_numeric(digits.str[3:5], errors="coerce")
    return pd.Series(sign * (hours * 60 + minutes), index=text.index)


def _parse_each(text: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """A format with ``%z``: each distinct value parsed on its own (offsets may differ from row to row),
    giving the wall-clock time as written and the offset in minutes."""
    walls: dict[str, Any] = {}
    offsets: dict[str, float] = {}
    for value in pd.unique(text):
        value = str(value)
        try:
            moment = dt.datetime.strptime(_HOURS_ONLY.sub(r"\g<1>00", value.strip()), fmt)
        except ValueError:
            walls[value], offsets[value] = pd.NaT, 0.0
            continue
        delta = moment.utcoffset()
        walls[value] = moment.replace(tzinfo=None)
        offsets[value] = delta.total_seconds() / 60 if delta is not None else 0.0
    parsed = pd.to_datetime(text.map(walls), errors="coerce")
    return parsed, text.map(offsets).astype(float)


def _status(raw: pd.Series, has_closed: pd.Series) -> np.ndarray:
    """``open``, ``closed`` or ``cancelled`` from the source's wording (whole words: "Closed", "Case
    Resolved", "Referred Out"; "Not Completed", "Incomplete", "Pending Closure" are open); blank: closed
    if it has a closing date."""
    kinds = {value: _status_word(value) for value in pd.unique(raw)}
    word = raw.map(kinds).to_numpy()
    blank = (raw == "").to_numpy()
    return np.select([blank & np.asarray(has_closed), blank], ["closed", "open"], default=word)


def _status_word(value: str) -> str:
    words = re.findall(r"[a-z]+", str(value).casefold())
    for i, w in enumerate(words):
        negated = bool(NEGATIONS & set(words[max(0, i - 2) : i]))
        if w in CANCELLED_WORDS and not negated:
            return "cancelled"
    for i, w in enumerate(words):
        if w in CLOSED_WORDS and not NEGATIONS & set(words[max(0, i - 2) : i]):
            return "closed"
    return "open"


def normalise(
    raw: pd.DataFrame, times: TimeSpec | str, malformed: int, report: ImportReport, *, open311: bool = False
) -> pd.DataFrame:
    """The trace rows of ``raw`` (text columns named by field), counting into ``report`` every row left
    out (first reason that applies, with the first value that had it) and every field cleared."""
    text = {f: raw[f].astype(str).str.strip() for f in FIELDS}
    created = parse_times(text["created"], times)
    closed = parse_times(text["closed"], times)
    due = parse_times(text["due"], times)
    n = len(raw)
    reason = np.full(n, "", dtype=object)
    shown = {
        "missing source id": "source_id",
        "duplicate source id": "source_id",
        "unparsable closed date": "closed",
        "closed date out of range": "closed",
        "closed status without a closed date": "status",
    }

    def mark(name: str, where: pd.Series | np.ndarray) -> None:
        hit = np.asarray(where, dtype=bool) & (reason == "")
        reason[hit] = name
        if hit.any() and name not in report.samples:
            report.samples[name] = str(text[shown.get(name, "created")].iloc[int(np.argmax(hit))])

    years = created.dt.year
    mark("missing source id", text["source_id"] == "")
    mark("blank created date", text["created"] == "")
    mark("unparsable created date", created.isna())
    mark("created date out of range", ~years.between(YEARS[0], YEARS[1] - 1))
    mark("unparsable closed date", (text["closed"] != "") & closed.isna())
    mark("closed date out of range", closed.notna() & ~closed.dt.year.between(YEARS[0], YEARS[1] - 1))
    status = _status(text["status"], closed.notna())
    mark("closed status without a closed date", (status != "open") & closed.isna())
    mark("closed before created", (closed < created).fillna(False))
    ok = reason == ""
    dup = pd.Series(False, index=raw.index)
    dup[ok] = text["source_id"][ok].duplicated(keep="first")
    mark("duplicate source id", dup)
    for name in SKIP_REASONS[1:]:
        report.skipped_by_reason[name] = int((reason == name).sum())
    report.skipped_by_reason["malformed row"] = malformed
    report.rows_read = n + malformed

    keep = reason == ""
    cleared = report.fields_cleared
    bad_due = (text["due"] != "") & due.isna()
    due = _end_of_day(due, report, keep)
    early_due = (due < created).fillna(False).to_numpy()
    cleared["unparsable due date"] = int((bad_due & keep).sum())
    cleared["due before created"] = int((early_due & keep).sum())
    due = due.mask(early_due)
    reopened = (status == "open") & closed.notna().to_numpy()
    cleared["closed date on an open case"] = int((reopened & keep).sum())
    closed = closed.mask(reopened)

    frame: pd.DataFrame = pd.DataFrame(
        {
            "source_id": text["source_id"],
            "created": created,
            "closed": closed,
            "due": due,
            **{f: text[f] for f in ("category", "department", "channel", "area")},
            "status": status,
        }
    )[keep]
    frame = frame.sort_values("created", kind="stable").reset_index(drop=True)
    report.rows_kept = len(frame)
    report.statuses = {str(s): int(c) for s, c in frame["status"].value_counts().items()}
    if len(frame):
        report.period = {"start": str(frame["created"].iloc[0]), "end": str(frame["created"].iloc[-1])}
        latest = frame["created"].iloc[-1]
        if frame["closed"].notna().any():
            latest = max(latest, frame["closed"].max())
        report.extract_end = str(latest)
    if open311 and n:
        report.notes.append("closed = updated_datetime of requests whose status is closed")
    _on_the_hour(frame["created"], report)
    return frame


def _on_the_hour(created: pd.Series, report: ImportReport) -> None:
    """Warn when many creation times sit exactly on the hour: dates without a time of day (a placeholder
    such as 00:00:00) would put false peaks into the hour-of-week profiles."""
    if len(created) < 20:
        return
    exact = created[created == created.dt.floor("h")]
    share = len(exact) / len(created)
    if share <= ON_THE_HOUR:
        return
    hours = exact.dt.hour.value_counts()
    top = ", ".join(f"{h:02d}:00 ({c / len(created):.0%})" for h, c in hours.head(3).items())
    report.notes.append(
        f"{share:.0%} of creation times are exactly on the hour, most at {top}: dates without a time of day? "
        "They would show as peaks in the hour-of-week profiles"
    )


def _end_of_day(due: pd.Series, report: ImportReport, keep: np.ndarray) -> pd.Series:
    """A due time of exactly 00:00:00 is a date (Los Angeles's ServiceDate): due by the end of that day."""
    midnight = (due == due.dt.normalize()).fillna(False)
    if (midnight & keep).any():
        n = int((midnight & keep).sum())
        report.notes.append(f"{n:,} due dates at exactly 00:00:00 read as due by the end of that day")
    shifted: pd.Series = due.mask(midnight, due + pd.Timedelta(days=1))
    return shifted
