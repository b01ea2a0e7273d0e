"""Intake: request records from a file (CSV, JSON Lines or Open311 GeoReport v2) checked into the queue store.

Like the front desk of a service hall, it reads every form through before anything goes into the
register: each record needs its own id, a creation time, a category the district knows and a post to
go to; what the form leaves out (priority, deadlines, where it was raised) is filled in from the
scenario loaded into the store. A file either goes in whole or not at all, unless asked to take the good
records and leave the bad ones; either way every bad record is named by its line and what is wrong with
it. Records already in the store (same source and source id) are skipped, not added twice, so feeding
the same file again is harmless.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import limits
from sim.errors import MicrogovError
from sim.operations.store import PRIORITIES, SYSTEM, NewRequest, Store, iso
from sim.structure.ids import in_scope

FORMATS = ("csv", "jsonl", "open311")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "open311"}
#: The fields a CSV or JSON Lines record may carry; the first three (and ``post``, unless a default
#: post is given) are required.
FIELDS = (
    "source_id",
    "created",
    "category",
    "priority",
    "post",
    "origin",
    "text",
    "response_due",
    "resolution_due",
    "status",
)
REQUIRED = ("source_id", "created", "category")
#: Where an Open311 service request holds each field (the category: its code, else its name).
OPEN311 = {
    "source_id": ("service_request_id",),
    "created": ("requested_datetime",),
    "category": ("service_code", "service_name"),
    "text": ("description",),
    "post": ("address",),
    "resolution_due": ("expected_datetime",),
    "status": ("status",),
}
STATUSES = ("open", "closed")
#: Bad records listed in a message before the rest are only counted.
MAX_LISTED = 20
#: The longest value each field may hold, in characters (a resident's text may run to a long letter;
#: everything else is an id, a name or a time). The same in every format.
FIELD_LIMITS = {"text": 10_000, "source_id": 100}
FIELD_LIMIT = 200
#: How far in the future a creation time may lie (clocks and time zones differ by up to a day).
FUTURE = dt.timedelta(days=1)
#: A deadline at most this long after creation (the longest deadline a scenario allows).
LONGEST_DEADLINE = dt.timedelta(hours=100_000)

_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _plain(text: str) -> bool:
    """Text that is an id or a name: no control characters, no lone surrogates (undecodable bytes)."""
    return not _CONTROL.search(text)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
#: Records as read: the line each starts on, and its fields or why it cannot be read at all.
Raw = list[tuple[int, dict[str, Any] | str]]


class IntakeError(MicrogovError):
    """An intake file cannot be read as asked (missing, not UTF-8, empty, not JSON, columns missing)."""


@dataclass(frozen=True)
class BadRecord:
    """A record left out: the line it starts on and everything wrong with it."""

    line: int
    reason: str

    def render(self, file: str | Path) -> str:
        return f"{file}:{self.line}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class Record:
    """A checked record, ready for the store."""

    line: int
    request: NewRequest


@dataclass(frozen=True)
class Reading:
    """A file read through: the good records, the bad ones, and those closed already (not queued)."""

    path: Path
    format: str
    source: str
    records: tuple[Record, ...]
    bad: tuple[BadRecord, ...]
    closed: int
    ignored_fields: tuple[str, ...] = ()

    @property
    def read(self) -> int:
        return len(self.records) + len(self.bad) + self.closed


@dataclass(frozen=True)
class IntakeReport:
    """What an intake did: records read, added, skipped as duplicates or closed, and left out as bad."""

    reading: Reading
    ids: tuple[int, ...]
    duplicates: int

    @property
    def added(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[str, Any]:
        r = self.reading
        return {
            "file": str(r.path),
            "format": r.format,
            "source": r.source,
            "read": r.read,
            "added": self.added,
            "duplicates": self.duplicates,
            "closed": r.closed,
            "bad": len(r.bad),
            "bad_records": [b.as_dict() for b in r.bad],
            "ignored_fields": list(r.ignored_fields),
        }


class BadRecords(IntakeError):
    """Some records of a file are bad, so none of it was added."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        super().__init__(
            f"{reading.path}: {len(reading.bad):,} of {reading.read:,} records are bad; nothing was added "
            "(fix them, or add the good ones with --skip-bad)"
        )

    def listing(self, limit: int = MAX_LISTED) -> list[str]:
        """One ``FILE:LINE: reason`` line per bad record, the first ``limit`` of them, then how many more."""
        return listing(self.reading, limit)

    def as_dict(self) -> dict[str, Any]:
        return IntakeReport(self.reading, (), 0).as_dict()


def listing(reading: Reading, limit: int = MAX_LISTED) -> list[str]:
    """The bad records of a reading as ``FILE:LINE: reason`` lines, cut short after ``limit``."""
    lines = [b.render(reading.path) for b in reading.bad[:limit]]
    if len(reading.bad) > limit:
        lines.append(f"... and {len(reading.bad) - limit:,} more")
    return lines


def intake(
    store: Store,
    path: str | Path,
    *,
    fmt: str | None = None,
    post: str | None = None,
    source: str | None = None,
    skip_bad: bool = False,
    account: str = SYSTEM,
) -> IntakeReport:
    """Read ``path`` and add its requests to ``store`` in one transaction. Any bad record stops it with
    :class:`BadRecords` and nothing is added, unless ``skip_bad``: then the good ones are added.
    ``account`` adds them (it needs grants covering their posts; see :meth:`Store.add`)."""
    reading = read_requests(path, store, fmt=fmt, post=post, source=source)
    if reading.bad and not skip_bad:
        raise BadRecords(reading)
    ids, duplicates = store.add([r.request for r in reading.records], account=account)
    return IntakeReport(reading, tuple(ids), duplicates)


def read_requests(
    path: str | Path,
    store: Store,
    *,
    fmt: str | None = None,
    post: str | None = None,
    source: str | None = None,
) -> Reading:
    """Read and check every record of ``path`` against the district and scenario loaded in ``store``."""
    path = Path(path)
    fmt = file_format(path, fmt)
    given = source is not None
    source = path.stem if source is None else source.strip()
    if not source:
        raise IntakeError("--source: blank; a source names where the records come from")
    if not _plain(source) or len(source) > FIELD_LIMIT:
        what = f"--source {_quote(source)}" if given else f"{path}: the file's name as the source"
        raise IntakeError(
            f"{what}: a source is a name of at most {FIELD_LIMIT} characters, without control characters or "
            "bytes that are not UTF-8" + ("" if given else "; give --source NAME")
        )
    checker = _Checker(store, post, source, fmt)
    text = read_text(path)
    if fmt == "csv":
        raw, ignored = _csv_records(text, path, post is not None)
    elif fmt == "jsonl":
        raw, ignored = _jsonl_records(text, path), []
    else:
        raw, ignored = _open311_records(text, path), []
    records: list[Record] = []
    bad: list[BadRecord] = []
    closed = 0
    first: dict[str, Record] = {}
    for line, fields in raw:
        if isinstance(fields, str):
            bad.append(BadRecord(line, fields))
            continue
        try:
            request = checker.check(fields)
        except _Bad as exc:
            bad.append(BadRecord(line, "; ".join(exc.reasons)))
            continue
        if request is None:
            closed += 1
            continue
        earlier = first.setdefault(request.source_id, Record(line, request))
        differs = _differences(earlier.request, request) if earlier.line != line else ""
        if not differs:
            differs = checker.stored_differences(request)
            where = "the store has it"
        else:
            where = f"line {earlier.line} has it"
        if differs:
            bad.append(BadRecord(line, f"source_id: {_quote(request.source_id)}: {where} with {differs}"))
            continue
        records.append(Record(line, request))
    unknown = sorted(set(ignored) | checker.ignored)
    return Reading(path, fmt, source, tuple(records), tuple(bad), closed, tuple(unknown))


#: What a request is, as raised: the same source id with any of these different is another request.
_IDENTITY = ("created_at", "category", "origin", "text")


def _on_chain(post: str, origin: str) -> bool:
    """Is the request's post on the way up from where it was raised (or below it, returned there)?"""
    return in_scope(post, origin) or in_scope(origin, post)


def _differences(old: NewRequest | Any, new: NewRequest) -> str:
    """How a record differs from an earlier one with the same id (blank when it is the same request)."""
    differing = [f for f in _IDENTITY if getattr(old, f) != getattr(new, f)]
    if not differing:
        return ""
    shown = ", ".join(f"{f} {_quote(str(getattr(old, f)), 30)}" for f in differing)
    return f"other content (there: {shown}); give each request its own id"


def file_format(path: Path, fmt: str | None) -> str:
    """The format asked for, or the one the file's extension names."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise IntakeError(f"--format: expected {', '.join(FORMATS)}, found '{fmt}'")
        return fmt
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise IntakeError(
            f"{path}: cannot tell the format from the extension '{path.suffix}' (.csv, .jsonl, .ndjson, .json); "
            f"give --format {'|'.join(FORMATS)}"
        )
    return found


def read_text(path: Path) -> str:
    """The file as text: a regular file of at most :data:`limits.MAX_INTAKE_BYTES` that holds something,
    UTF-8 (a byte order mark is allowed) with no NUL byte anywhere."""
    problem = limits.input_problem(path, limits.MAX_INTAKE_BYTES)
    if problem:
        split = " (split it into smaller files)" if "larger than" in problem else ""
        raise IntakeError(f"{path}: {problem}{split}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    head = data[:4096]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 8 and head.count(b"\x00") * 3 > len(head)):
        raise IntakeError(f"{path}: UTF-16 text, not UTF-8; save it as UTF-8")
    nul = data.find(b"\x00")
    if 0 <= nul < 65536:
        raise IntakeError(f"{path}: a binary file, not text (CSV, JSON Lines or Open311 JSON)")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise IntakeError(f"{path}:{line}: a NUL byte in the text (at byte {nul:,}); the file is damaged or not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IntakeError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise IntakeError(f"{path}: the file is empty")
    return text


# --- the formats: each gives (line, fields) per record, or (line, why it cannot be read) --------------


def _csv_records(text: str, path: Path, has_default_post: bool) -> tuple[Raw, list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise IntakeError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise IntakeError(f"{path}:{reader.line_num}: the header is not valid CSV ({exc})") from None
    header_line = reader.line_num
    names = [h.strip().lower() for h in header]
    twice = sorted({n for n in names if names.count(n) > 1 and n})
    if twice:
        raise IntakeError(f"{path}:{header_line}: column {', '.join(twice)} appears more than once")
    needed = [*REQUIRED, *(() if has_default_post else ("post",))]
    missing = [n for n in needed if n not in names]
    if missing:
        known = [h.strip() for h, n in zip(header, names, strict=True) if n in FIELDS]
        # only column names intake knows are shown: the first line of a file that is not a request
        # file (a password file, say) is not echoed
        found = f"found: {', '.join(known)}" if known else "no column intake knows"
        raise IntakeError(
            f"{path}:{header_line}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(needed: source_id, created, category, and post unless --post is given; {found}); is this a "
            "CSV file of requests with a header line?"
        )
    ignored = [limits.visible(h[:40]) for h, n in zip(header, names, strict=True) if n not in FIELDS and n]
    raw: Raw = []
    last = header_line
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raw.append((start, f"not valid CSV ({exc})"))
            last = reader.line_num
            continue
        last = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raw.append((start, f"expected {len(names)} fields as in the header, found {len(row)}"))
            continue
        raw.append((start, {n: v for n, v in zip(names, row, strict=True) if n in FIELDS}))
    return raw, ignored


def _jsonl_records(text: str, path: Path) -> Raw:
    raw: Raw = []
    parsed = 0
    # split on line feeds only: a JSON string may hold other line separators (U+2028) as they are
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raw.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except (ValueError, RecursionError) as exc:
            raw.append((number, f"not valid JSON here ({_json_limit(exc)})"))
            continue
        parsed += 1
        if limits.depth(value) > limits.MAX_DEPTH:
            raw.append((number, f"arrays or objects nested more than {limits.MAX_DEPTH} deep"))
            continue
        if not isinstance(value, dict):
            raw.append((number, f"expected a JSON object, found {_kind(value)}"))
            continue
        raw.append((number, {str(k).strip().lower(): v for k, v in value.items()}))
    if not parsed:
        first, reason = raw[0]
        raise IntakeError(f"{path}: not JSON Lines: no line is JSON (line {first}: {reason})")
    return raw


def _open311_records(text: str, path: Path) -> Raw:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntakeError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise IntakeError(f"{path}: not valid JSON here ({_json_limit(exc)})") from None
    if limits.depth(doc) > limits.MAX_DEPTH:
        raise IntakeError(f"{path}: arrays or objects nested more than {limits.MAX_DEPTH} deep")
    if not isinstance(doc, list) and not (isinstance(doc, dict) and isinstance(doc.get("service_requests"), list)):
        raise IntakeError(
            f"{path}: expected Open311 service requests (a JSON array, or an object with a "
            f"'service_requests' array), found {_kind(doc)}"
        )
    raw: Raw = []
    for line, value in _array_items(text):
        if not isinstance(value, dict):
            raw.append((line, f"expected a service request (a JSON object), found {_kind(value)}"))
            continue
        raw.append((line, value))
    return raw


def _json_limit(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return f"arrays or objects nested more than {limits.MAX_DEPTH} deep"
    if "digits" in str(exc):
        return "a number with more than 4,300 digits"
    return str(exc)


def _array_items(text: str) -> Iterator[tuple[int, Any]]:
    """The service requests of a valid Open311 document with the line each starts on."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if text[pos] == "{":
        pos, at = _skip(text, pos + 1), -1
        while text[pos] != "}":
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past the colon
            if key == "service_requests":
                at = pos  # the last one counts, as in json.loads
            pos = _skip(text, decoder.raw_decode(text, pos)[1])
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
        pos = at
    pos, line, counted = _skip(text, pos + 1), 1, 0
    while text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        value, pos = decoder.raw_decode(text, pos)
        yield line, value
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    match = _JSON_SPACE.match(text, pos)
    assert match is not None
    return match.end()


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"the text {_quote(value)}"
    return json.dumps(value)


def _quote(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


# --- checking one record ----------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class _Checker:
    """Checks records against the district and scenario loaded in a store and fills in their defaults."""

    def __init__(self, store: Store, post: str | None, source: str, fmt: str) -> None:
        self.categories = store.categories()
        self.deadlines = store.deadlines()
        if not store.posts_count() or not self.categories or any(p not in self.deadlines for p in PRIORITIES):
            raise IntakeError(
                f"{store.path}: no district loaded; load one with microgov queue init SCENARIO --db {store.path}"
            )
        self.store = store
        self.source = source
        self.open311 = fmt == "open311"
        self.labels = {f: f for f in FIELDS} | ({f: "/".join(k) for f, k in OPEN311.items()} if self.open311 else {})
        self.names: dict[str, str] = {}
        for cid, c in self.categories.items():
            for name in (c.get("name_en"), c.get("name"), cid):
                if isinstance(name, str) and name.strip():
                    self.names[name.strip().casefold()] = cid
        self.known_posts: dict[str, str | None] = {}  # node id -> its level, None if not a post
        self.ignored: set[str] = set()
        self.reported: set[str] = set()  # fields of the record being checked already found wrong
        if post is not None and not self.is_post(post):
            raise IntakeError(f"--post: no post '{post}' in the district of {store.meta('scenario')}")
        self.default_post = post

    def is_post(self, node: str) -> bool:
        return self.level(node) is not None

    def level(self, node: str) -> str | None:
        """The post's level, None unless ``node`` is exactly a post's id."""
        if node not in self.known_posts:
            row = self.store.post(node) if len(node) <= FIELD_LIMIT and _plain(node) else None
            self.known_posts[node] = str(row["level"]) if row is not None and row["id"] == node else None
        return self.known_posts[node]

    def stored_differences(self, request: NewRequest) -> str:
        """How ``request`` differs from the one the store holds under the same source and id, if any."""
        stored = self.store.find(request.source, request.source_id)
        return _differences(stored, request) if stored is not None else ""

    def check(self, record: dict[str, Any]) -> NewRequest | None:
        """The request a record describes, None if it is closed already; :class:`_Bad` if it is wrong."""
        problems: list[str] = []
        self.reported = set()
        values = self._open311_values(record, problems) if self.open311 else self._values(record, problems)
        status = values.get("status", "open").lower()
        if status not in STATUSES:
            problems.append(f"{self.labels['status']}: expected open or closed, found {_quote(values['status'])}")
        elif status == "closed":
            return None
        source_id = values.get("source_id")
        if source_id is None and "source_id" not in self.reported:
            problems.append(f"{self.labels['source_id']}: blank or missing (every record needs its own id)")
        created = self._time(values, "created", problems, required=True)
        category = self._category(values, problems)
        priority = self._priority(values, category, problems)
        post = self._post(values, problems)
        origin = values.get("origin", post)
        if "origin" in values and not self.is_post(values["origin"]):
            problems.append(f"origin: no post {_quote(values['origin'])} in the district")
        elif origin and post and self.level(post) not in ("department", "district") and not _on_chain(post, origin):
            problems.append(
                f"origin: {_quote(origin)} is neither inside {post} nor above it (a request is at the post "
                "where it was raised, above it, below it when returned, or at a department)"
            )
        response = self._time(values, "response_due", problems)
        resolution = self._time(values, "resolution_due", problems)
        if problems:
            raise _Bad(problems)
        assert source_id and created and category and priority and post and origin
        latest = dt.datetime.now() + FUTURE
        if not dt.datetime(limits.YEARS[0], 1, 1) <= created <= latest:
            problems.append(
                f"{self.labels['created']}: {iso(created)} is "
                + (f"before {limits.YEARS[0]}" if created.year < limits.YEARS[0] else "in the future")
                + " (a placeholder or a typo?)"
            )
        for name, due in (("response_due", response), ("resolution_due", resolution)):
            if due is not None and due < created:
                problems.append(f"{self.labels[name]}: {iso(due)} is before the request was created ({iso(created)})")
            elif due is not None and due - created > LONGEST_DEADLINE:
                problems.append(f"{self.labels[name]}: {iso(due)} is more than 11 years after the request was created")
        if response is not None and resolution is not None and response > resolution:
            problems.append(f"response_due: {iso(response)} is after resolution_due ({iso(resolution)})")
        if problems:
            raise _Bad(problems)
        response_h, resolution_h = self.deadlines[priority]
        resolution = resolution or created + dt.timedelta(hours=resolution_h)
        response = response or min(created + dt.timedelta(hours=response_h), resolution)
        return NewRequest(
            source=self.source,
            source_id=source_id,
            created_at=iso(created),
            category=category,
            priority=priority,
            origin=origin,
            post=post,
            response_due=iso(response),
            resolution_due=iso(resolution),
            text=values.get("text", ""),
        )

    def _values(self, record: dict[str, Any], problems: list[str]) -> dict[str, str]:
        """A CSV or JSON Lines record's fields as text (blank ones left out)."""
        self.ignored |= {k for k in record if k not in FIELDS}
        values = {}
        for name in FIELDS:
            text = self._text(record.get(name), name, name, problems)
            if text:
                values[name] = text
        return values

    def _open311_values(self, record: dict[str, Any], problems: list[str]) -> dict[str, str]:
        """An Open311 service request's fields under our names; the category as its code if the district
        knows it, else its name; the post from the address when that is a node id (as microgov export
        writes it), else from --post."""
        values: dict[str, str] = {}
        for name, keys in OPEN311.items():
            texts = {k: self._text(record.get(k), name, k, problems) for k in keys}
            given = {k: t for k, t in texts.items() if t}
            if not given:
                continue
            if name == "category":
                known = [t for t in given.values() if t.casefold() in self.names]
                values[name] = known[0] if known else " or ".join(_quote(t) for t in given.values())
            elif name == "post":
                values["post" if self.is_post(given["address"]) else "address"] = given["address"]
            else:
                values[name] = next(iter(given.values()))
        return values

    def _text(self, value: Any, name: str, label: str, problems: list[str]) -> str:
        """A field's value as text, stripped; a value of the wrong JSON type, too long, or holding a NUL
        or a lone surrogate (not text at all) is reported."""
        if value is None:
            return ""
        if isinstance(value, str):
            return self._clean(value.strip(), name, label, problems)
        if name == "source_id" and isinstance(value, int) and not isinstance(value, bool):
            return self._clean(str(value), name, label, problems)
        expected = {"source_id": "text or a whole number"}.get(name, "text")
        if name in ("created", "response_due", "resolution_due"):
            expected = "an ISO 8601 date-time"
        problems.append(f"{label}: expected {expected}, found {_kind(value)}")
        self.reported.add(name)
        return ""

    def _clean(self, text: str, name: str, label: str, problems: list[str]) -> str:
        most = FIELD_LIMITS.get(name, FIELD_LIMIT)
        problem = ""
        if len(text) > most:
            problem = f"{len(text):,} characters, more than the {most:,} allowed"
        elif "\x00" in text:
            problem = "a NUL character, which is not text"
        elif _SURROGATE.search(text):
            problem = "an unpaired surrogate (a broken \\uD800-\\uDFFF escape), which is not text"
        if not problem:
            return text
        problems.append(f"{label}: {problem}")
        self.reported.add(name)
        return ""

    def _time(
        self, values: dict[str, str], name: str, problems: list[str], *, required: bool = False
    ) -> dt.datetime | None:
        text = values.get(name)
        if text is None:
            if required and name not in self.reported:
                problems.append(f"{self.labels[name]}: blank or missing (expected an ISO 8601 date-time)")
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or _DATE_ONLY.fullmatch(text):
            problems.append(f"{self.labels[name]}: expected an ISO 8601 date-time, found {_quote(text)}")
            return None
        # a local wall time: the offset is dropped, the clock reading kept
        return moment.replace(tzinfo=None, microsecond=0)

    def _category(self, values: dict[str, str], problems: list[str]) -> str | None:
        text = values.get("category")
        if text is None:
            if "category" not in self.reported:
                problems.append(f"{self.labels['category']}: blank or missing")
            return None
        cid = self.names.get(text.casefold())
        if cid is None:
            shown = text if self.open311 else _quote(text)
            problems.append(
                f"{self.labels['category']}: no category {shown} in the scenario (known: "
                f"{', '.join(self.categories)}, or their names)"
            )
        return cid

    def _priority(self, values: dict[str, str], category: str | None, problems: list[str]) -> str | None:
        text = values.get("priority")
        if text is not None:
            if text.lower() not in PRIORITIES:
                problems.append(f"priority: expected special, urgent or ordinary, found {_quote(text)}")
                return None
            return text.lower()
        if category is None:
            return None
        return str(self.categories[category].get("priority", "ordinary"))

    def _post(self, values: dict[str, str], problems: list[str]) -> str | None:
        text = values.get("post")
        if text is None:
            if self.default_post is not None:
                return self.default_post
            if "address" in values:
                problems.append(
                    f"address: {_quote(values['address'])} is not a post of the district (give --post NODE for "
                    "requests without one)"
                )
            elif "post" not in self.reported:
                problems.append(f"{self.labels['post']}: blank or missing, and no --post was given")
            return None
        if not self.is_post(text):
            problems.append(f"{self.labels['post']}: no post {_quote(text)} in the district")
            return None
        return text
