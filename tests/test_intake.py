"""Intake: request files (CSV, JSON Lines, Open311) checked record by record into the queue store."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import limits
from sim.operations.intake import BadRecords, intake, read_requests
from sim.operations.store import NewRequest, Store
from tests.test_store import ME, small_store

DATA = Path(__file__).resolve().parent / "data" / "intake"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    small_store(path).close()
    return path


@pytest.fixture
def store(db: Path):
    with Store(db, create=False) as s:
        yield s


def one_error_line(result) -> bool:
    return result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1


def by_id(requests: list[NewRequest]) -> dict[str, NewRequest]:
    return {r.source_id: r for r in requests}


# --- good files ---------------------------------------------------------------------------------------------


def test_a_good_csv_file(store: Store):
    reading = read_requests(DATA / "good.csv", store)
    assert (reading.format, reading.source, reading.closed, reading.bad) == ("csv", "good", 0, ())
    # c-2's text runs over two lines; a blank line comes before c-4
    assert [(r.line, r.request.source_id) for r in reading.records] == [(2, "c-1"), (3, "c-2"), (5, "c-3"), (7, "c-4")]
    got = by_id([r.request for r in reading.records])
    assert got["c-1"] == NewRequest(
        source="good",
        source_id="c-1",
        created_at="2020-06-01T08:30:00",
        category="street_light",
        priority="ordinary",
        origin="S1/C1/G1/B1/U1",
        post="S1/C1",
        response_due="2020-06-02T08:30:00",  # the ordinary deadlines: 24 h and 168 h
        resolution_due="2020-06-08T08:30:00",
        text="lamp out by the gate",
    )
    c2 = got["c-2"]  # by its English name; the offset dropped, the wall time kept; urgent by its category
    assert (c2.category, c2.priority, c2.created_at) == ("manhole_cover", "urgent", "2020-06-01T09:00:00")
    assert (c2.response_due, c2.resolution_due, c2.origin) == ("2020-06-01T11:00:00", "2020-06-04T09:00:00", "S1")
    assert c2.text == "cover cracked,\ncars swerving"
    c3 = got["c-3"]  # by its Chinese name, with its own priority and deadlines
    assert (c3.category, c3.priority, c3.response_due, c3.resolution_due) == (
        "street_light",
        "urgent",
        "2020-06-01T11:00:00",
        "2020-06-02T10:15:00",
    )
    c4 = got["c-4"]  # the id in capitals; Z and fractions of a second
    assert (c4.category, c4.priority, c4.created_at, c4.response_due) == (
        "lost_elderly",
        "special",
        "2020-06-01T23:59:59",
        "2020-06-02T00:29:59",
    )


def test_a_good_json_lines_file(store: Store):
    reading = read_requests(DATA / "good.jsonl", store)
    assert [(r.line, r.request.source_id) for r in reading.records] == [(1, "101"), (3, "102"), (4, "103")]
    assert reading.closed == 1 and reading.read == 4 and reading.ignored_fields == ("channel",)
    got = by_id([r.request for r in reading.records])
    assert (got["101"].category, got["101"].priority, got["101"].origin) == ("drain_sewage", "urgent", "S1/C1/G1")
    assert (got["102"].created_at, got["102"].text) == ("2020-06-02T07:30:00", "二号楼路灯不亮")
    # its own priority and resolution deadline; the response deadline from the priority
    assert (got["103"].priority, got["103"].response_due, got["103"].resolution_due) == (
        "urgent",
        "2020-06-02T10:00:00",
        "2020-06-03T08:00:00",
    )
    assert got["103"].origin == "S1/C1/G1/B1/U1" and got["103"].post == "S1"


def test_a_good_open311_file(store: Store):
    with pytest.raises(BadRecords) as bad:
        intake(store, DATA / "good-open311.json")
    assert bad.value.listing() == [
        f"{DATA / 'good-open311.json'}:14: address: '8TH AVE and JUDAH ST' is not a post of the district "
        "(give --post NODE for requests without one)"
    ]
    read_and_add = intake(store, DATA / "good-open311.json", post="S1")
    reading = read_and_add.reading
    assert [(r.line, r.request.source_id) for r in reading.records] == [(3, "7001"), (14, "7002"), (26, "7004")]
    assert (reading.closed, read_and_add.added, read_and_add.duplicates) == (1, 3, 0)
    got = by_id([r.request for r in reading.records])
    assert got["7001"] == NewRequest(
        source="good-open311",
        source_id="7001",
        created_at="2020-06-03T06:37:38",
        category="street_light",
        priority="ordinary",
        origin="S1/C1/G1/B1/U1",
        post="S1/C1/G1/B1/U1",
        response_due="2020-06-04T06:37:38",
        resolution_due="2020-06-10T06:37:38",  # expected_datetime
        text="lamp flickering",
    )
    # an unknown code with a known name; a street address, so the --post
    assert (got["7002"].category, got["7002"].post, got["7002"].origin) == ("manhole_cover", "S1", "S1")
    assert (got["7004"].post, got["7004"].text, got["7004"].resolution_due) == ("S2/C1", "", "2020-06-10T08:00:00")
    assert [r.source_id for r in store.queue("district")] == ["7002", "7001", "7004"]


def test_intake_from_the_command_line(cli, db: Path):
    result = cli("intake", str(DATA / "good.csv"), "--db", str(db), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "file": str(DATA / "good.csv"),
        "format": "csv",
        "source": "good",
        "read": 4,
        "added": 4,
        "duplicates": 0,
        "closed": 0,
        "bad": 0,
        "bad_records": [],
        "ignored_fields": [],
    }
    result = cli("intake", str(DATA / "good.jsonl"), "--db", str(db), "--source", "hotline")
    assert result.code == 0, result.err
    assert "(jsonl, source hotline)" in result.out and "fields ignored: channel" in result.out
    assert result.out.splitlines()[4].split() == ["4", "3", "0", "1", "0"]  # read added duplicates closed bad
    with Store(db, create=False) as s:
        assert s.count() == 7 and s.find("hotline", "103") is not None and s.find("good", "103") is None
        c1 = s.find("good", "c-1")
        assert c1 is not None
        arrived = s.history(c1.id)
        assert [(a.action, a.operator, a.note) for a in arrived] == [("arrived", ME, "good")]  # who ran the intake


# --- bad files: the whole file is refused, every bad record named ----------------------------------------


def test_bad_csv_records_are_listed_and_nothing_is_written(cli, db: Path):
    with Store(db, create=False) as s:
        before = (s.count(), s.last_seq())
    result = cli("intake", str(DATA / "bad.csv"), "--db", str(db))
    f = DATA / "bad.csv"
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines() == [
        f"{f}:3: created: expected an ISO 8601 date-time, found '31/02/2020'",
        f"{f}:4: category: no category 'parking' in the scenario (known: street_light, manhole_cover, drain_sewage, "
        "lost_elderly, noise, sanitation, or their names)",
        f"{f}:5: post: no post 'S9/C1' in the district",
        f"{f}:6: priority: expected special, urgent or ordinary, found 'high'",
        f"{f}:7: source_id: blank or missing (every record needs its own id)",
        f"{f}:8: expected 6 fields as in the header, found 9",
        f"{f}:10: created: expected an ISO 8601 date-time, found '2020-06-01'; post: blank or missing, and no --post "
        "was given",
        f"error: {f}: 7 of 9 records are bad; nothing was added (fix them, or add the good ones with --skip-bad)",
    ]
    with Store(db, create=False) as s:
        assert (s.count(), s.last_seq()) == before


def test_bad_json_lines_are_listed(cli, db: Path):
    f = DATA / "bad.jsonl"
    result = cli("intake", str(f), "--db", str(db), "--json")
    assert result.code == 2
    assert json.loads(result.out)["bad_records"] == [
        {"line": 2, "reason": "not valid JSON (Expecting ',' delimiter at column 89)"},
        {"line": 3, "reason": "expected a JSON object, found an array"},
        {"line": 5, "reason": "created: expected an ISO 8601 date-time, found 1591000000"},
        {"line": 6, "reason": "created: blank or missing (expected an ISO 8601 date-time)"},
        {
            "line": 7,
            "reason": "resolution_due: 2020-05-31T08:00:00 is before the request was created (2020-06-01T08:00:00)",
        },
        {
            "line": 8,
            "reason": "source_id: expected text or a whole number, found true; status: expected open or closed, "
            "found 'pending'",
        },
    ]
    assert result.err.splitlines()[-1].startswith(f"error: {f}: 6 of 7 records are bad; nothing was added")
    with Store(db, create=False) as s:
        assert s.count() == 0


def test_bad_open311_records_are_listed_by_the_line_they_start_on(store: Store):
    with pytest.raises(BadRecords) as bad:
        intake(store, DATA / "bad-open311.json")
    assert [(b.line, b.reason) for b in bad.value.reading.bad] == [
        (
            4,
            "service_code/service_name: no category '006' or 'Potholes' in the scenario (known: street_light, "
            "manhole_cover, drain_sewage, lost_elderly, noise, sanitation, or their names)",
        ),
        (6, "address: '1 MAIN ST' is not a post of the district (give --post NODE for requests without one)"),
        (8, "expected a service request (a JSON object), found the text 'not a request'"),
        (9, "requested_datetime: expected an ISO 8601 date-time, found 'yesterday'"),
    ]
    assert store.count() == 0


def test_skip_bad_adds_the_good_records_and_reports_the_rest(cli, db: Path):
    result = cli("intake", str(DATA / "bad.csv"), "--db", str(db), "--skip-bad", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["read"], report["added"], report["bad"]) == (9, 2, 7)
    assert [b["line"] for b in report["bad_records"]] == [3, 4, 5, 6, 7, 8, 10]
    with Store(db, create=False) as s:
        assert {r.source_id for r in s.queue("district")} == {"b-1", "b-9"}
    result = cli("intake", str(DATA / "bad.jsonl"), "--db", str(db), "--skip-bad")
    assert result.code == 0 and result.err == ""
    assert f"{DATA / 'bad.jsonl'}:2: not valid JSON" in result.out and "Left out" in result.out


def test_a_long_list_of_bad_records_is_cut_short(cli, db: Path, tmp_path: Path):
    f = tmp_path / "many.csv"
    f.write_text("source_id,created,category,post\n" + "".join(f"x{i},soon,noise,S1\n" for i in range(25)), "utf-8")
    result = cli("intake", str(f), "--db", str(db))
    lines = result.err.splitlines()
    assert result.code == 2 and len(lines) == 22
    assert lines[0] == f"{f}:2: created: expected an ISO 8601 date-time, found 'soon'"
    assert lines[19].startswith(f"{f}:21: ") and lines[20] == "... and 5 more"
    assert lines[21].startswith(f"error: {f}: 25 of 25 records are bad")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "the file is empty"),
        ("blank.jsonl", b"\n  \n\t\n", "the file is empty"),
        ("bom.json", b"\xef\xbb\xbf", "the file is empty"),
        ("latin1.csv", b"source_id,created,category,post\nl-1,2020-06-01T08:00:00,noise,S1\nl-2,caf\xe9", "not UTF-8"),
        ("utf16.csv", "source_id,created\n".encode("utf-16"), "UTF-16 text, not UTF-8"),
        ("image.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file, not text"),
        ("table.jsonl", b"source_id,created\nx,2020-06-01T08:00:00\n", "not JSON Lines: no line is JSON (line 1: not"),
        ("cut.json", b'[\n  {"service_request_id": "1",\n', "not valid JSON (line 3, column 1"),
        ("wrong.json", b'{"requests": []}', "expected Open311 service requests"),
        ("names.json", b'"S1"', "expected Open311 service requests (a JSON array, or an object with a"),
        ("missing-column.csv", None, "missing column category (needed: source_id, created, category, and post"),
        ("twice.csv", b"source_id,created,category,post,Post\n", "column post appears more than once"),
        ("calls.txt", b"source_id\n", "cannot tell the format from the extension '.txt'"),
    ],
)
def test_unreadable_files_are_one_clear_error(cli, db: Path, tmp_path: Path, name: str, content, message: str):
    f = DATA / name if content is None and name != "missing.csv" else tmp_path / name
    if content is not None:
        f.write_bytes(content)
    result = cli("intake", str(f), "--db", str(db))
    assert one_error_line(result), result.err
    assert result.err.startswith(f"error: {f}") and message in result.err
    if name == "latin1.csv":
        assert "byte 0xe9 on line 3" in result.err


def test_options_and_stores_that_cannot_be_used(cli, db: Path, tmp_path: Path):
    good = str(DATA / "good.csv")
    result = cli("intake", good, "--db", str(db), "--format", "xml")
    assert one_error_line(result) and "--format: expected csv, jsonl, open311, found 'xml'" in result.err
    result = cli("intake", good, "--db", str(db), "--post", "S9")
    assert one_error_line(result) and "--post: no post 'S9' in the district" in result.err
    result = cli("intake", good, "--db", str(db), "--source", "  ")
    assert one_error_line(result) and "--source: blank" in result.err
    result = cli("intake", good, "--db", str(tmp_path / "none.db"))
    hint = f"no queue store here (create one with: microgov queue init SCENARIO --db {tmp_path / 'none.db'})"
    assert one_error_line(result) and hint in result.err
    empty = tmp_path / "empty.db"
    Store(empty).close()
    result = cli("intake", good, "--db", str(empty))
    assert one_error_line(result) and "no district loaded; load one with microgov queue init SCENARIO" in result.err
    # the format as asked, whatever the extension
    copy = tmp_path / "calls.txt"
    copy.write_bytes((DATA / "good.jsonl").read_bytes())
    result = cli("intake", str(copy), "--db", str(db), "--format", "jsonl", "--json")
    assert result.code == 0 and json.loads(result.out)["added"] == 3


GOOD = {"source_id": "r-1", "created": "2020-06-01T08:00:00", "category": "noise", "post": "S1"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"post": "S1#x"}, "post: no post 'S1#x' in the district"),
        ({"post": "T1", "origin": "S1/C1"}, "origin: 'S1/C1' is neither inside T1 nor above it"),
        ({"post": "S1/C1", "origin": "S1"}, None),  # returned down from the office where it was raised
        ({"post": "water", "origin": "T1/V1"}, None),  # at a department: raised anywhere
        ({"created": "0001-01-01T08:00:00"}, "created: 0001-01-01T08:00:00 is before 1990"),
        ({"created": "2099-06-01T08:00:00"}, "created: 2099-06-01T08:00:00 is in the future"),
        ({"created": "9999-12-31T23:00:00"}, "created: 9999-12-31T23:00:00 is in the future"),
        ({"resolution_due": "2040-06-01T08:00:00"}, "resolution_due: 2040-06-01T08:00:00 is more than 11 years after"),
        ({"text": "a\x00b"}, "text: a NUL character, which is not text"),
        ({"text": "\ud800"}, "text: an unpaired surrogate"),
        ({"text": "x" * 10_001}, "text: 10,001 characters, more than the 10,000 allowed"),
        ({"source_id": "9" * 101}, "source_id: 101 characters, more than the 100 allowed"),
        ({"source_id": 10**150}, "source_id: 151 characters, more than the 100 allowed"),
    ],
)
def test_records_outside_the_limits_are_bad(store: Store, tmp_path: Path, change: dict, reason: str | None):
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps({**GOOD, **change}) + "\n", encoding="utf-8")
    reading = read_requests(path, store)
    if reason is None:
        assert reading.bad == () and len(reading.records) == 1
    else:
        assert len(reading.bad) == 1 and reason in reading.bad[0].reason, reading.bad


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("digits.jsonl", b'{"source_id": ' + b"9" * 4400 + b"}\n", "a number with more than 4,300 digits"),
        ("deep.jsonl", b"[" * 100_000 + b"\n", "arrays or objects nested more than 32 deep"),
        ("deep.json", b"[" * 40 + b"]" * 40, "arrays or objects nested more than 32 deep"),
        ("late-nul.csv", b"source_id,created,category,post\n" + b"x,2020-06-01T08:00:00,noise,S1\n" * 3000 + b"\x00",
         ":3002: a NUL byte in the text (at byte 93,032)"),
        ("passwd", b"root:x:0:0:root:/root:/bin/bash\n", "(needed: source_id, created, category, and post unless "
         "--post is given; no column intake knows); is this a CSV file"),
    ],
)  # fmt: skip
def test_files_outside_the_limits_are_one_clear_error(cli, db: Path, tmp_path: Path, name: str, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    result = cli("intake", str(f), "--db", str(db), "--format", "open311" if name.endswith(".json") else
                 "jsonl" if name.endswith(".jsonl") else "csv")  # fmt: skip
    assert one_error_line(result) and message in result.err, result.err
    assert "root:x" not in result.err


def test_pipes_devices_and_oversized_files_are_refused_unread(cli, db: Path, tmp_path: Path, monkeypatch):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    result = cli("intake", str(fifo), "--db", str(db))
    assert one_error_line(result) and "a named pipe (FIFO), not a regular file" in result.err
    result = cli("intake", "/dev/zero", "--db", str(db), "--format", "csv")
    assert one_error_line(result) and "a device or socket, not a regular file" in result.err
    monkeypatch.setattr(limits, "MAX_INTAKE_BYTES", 100)
    result = cli("intake", str(DATA / "good.csv"), "--db", str(db))
    assert one_error_line(result) and "larger than the 100 bytes allowed (split it into smaller files)" in result.err


# --- duplicates -------------------------------------------------------------------------------------------


def test_duplicates_are_skipped_and_counted(store: Store):
    first = intake(store, DATA / "twice.jsonl")
    assert (first.reading.read, first.added, first.duplicates) == (3, 2, 1)  # d-1 twice in the file
    again = intake(store, DATA / "twice.jsonl")
    assert (again.added, again.duplicates) == (0, 3)
    elsewhere = intake(store, DATA / "twice.jsonl", source="hotline")
    assert (elsewhere.added, elsewhere.duplicates) == (2, 1)
    assert store.count() == 4


def test_one_id_for_two_different_requests_is_a_bad_record(store: Store, tmp_path: Path):
    d1 = '{"source_id": "d-1", "created": "2020-06-01T08:00:00", "category": "noise", "post": "S1"}\n'
    other = '{"source_id": "d-1", "created": "2020-06-01T10:00:00", "category": "noise", "post": "S1"}\n'
    path = tmp_path / "calls.jsonl"
    path.write_text(d1 + other, encoding="utf-8")
    with pytest.raises(BadRecords) as refused:
        intake(store, path)
    assert refused.value.listing() == [
        f"{path}:2: source_id: 'd-1': line 1 has it with other content (there: created_at '2020-06-01T08:00:00'); "
        "give each request its own id"
    ]
    path.write_text(d1, encoding="utf-8")
    assert intake(store, path).added == 1
    path.write_text(other, encoding="utf-8")  # the same id again later, for another request
    with pytest.raises(BadRecords) as refused:
        intake(store, path)
    assert "the store has it with other content" in refused.value.listing()[0]
    assert store.count() == 1


# --- the loaders on any text ---------------------------------------------------------------------------------

TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85") | st.sampled_from('\n,"'),
    max_size=40,
)
ROWS = st.lists(
    st.tuples(TEXT, st.sampled_from(("noise", "Noise", "噪音扰民", "street_light"))), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_any_csv_text_is_read_back_at_the_line_it_starts_on(tmp_path: Path, store: Store, rows):
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source_id", "created", "category", "post", "text"])
    starts = []
    for i, (text, category) in enumerate(rows):
        starts.append(out.getvalue().count("\n") + 1)
        writer.writerow([f"r{i}", "2020-06-01T08:00:00", category, "S1", text])
    f = tmp_path / "any.csv"
    f.write_text(out.getvalue(), encoding="utf-8")
    reading = read_requests(f, store)
    assert reading.bad == ()
    assert [r.line for r in reading.records] == starts
    assert [r.request.text for r in reading.records] == [text.strip() for text, _ in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(indents=st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=1, max_size=6), wrapped=st.booleans())
def test_open311_requests_are_found_at_the_line_they_start_on(tmp_path: Path, store: Store, indents, wrapped):
    text, starts = ('{"service_requests":\n[\n' if wrapped else "[\n"), []
    for i, indent in enumerate(indents):
        record = {"service_request_id": i, "requested_datetime": "2020-06-01T08:00:00", "service_code": "noise"}
        text += ",\n" if i else ""
        starts.append(text.count("\n") + 1)
        text += json.dumps({**record, "address": "S1", "description": "x\ny"}, indent=indent)
    text += "\n]" + ("}" if wrapped else "")
    f = tmp_path / "any.json"
    f.write_text(text, encoding="utf-8")
    reading = read_requests(f, store)
    assert reading.bad == ()
    assert [r.line for r in reading.records] == starts
    assert [r.request.source_id for r in reading.records] == [str(i) for i in range(len(indents))]


# --- a run's export comes back in -----------------------------------------------------------------------


def test_a_runs_open311_export_comes_back_in(cli, small_world, tmp_path: Path):
    scenario, _, log = small_world
    db = tmp_path / "queue.db"
    exported = tmp_path / "week.json"
    assert cli("queue", "init", str(scenario), "--db", str(db), "--json").code == 0
    assert cli("export", str(log), "--to", "open311", str(exported), "--json").code == 0
    records = json.loads(exported.read_text(encoding="utf-8"))
    open_ids = {r["service_request_id"] for r in records if r["status"] == "open"}
    assert open_ids and len(open_ids) < len(records)
    result = cli("intake", str(exported), "--db", str(db), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["read"], report["bad"], report["duplicates"]) == (len(records), 0, 0)
    assert (report["added"], report["closed"]) == (len(open_ids), len(records) - len(open_ids))
    with Store(db, create=False) as s:
        added = {r.source_id: r for r in s.queue("district", source="week")}
    assert set(added) == open_ids
    for r in records:
        if r["status"] == "open":
            got = added[r["service_request_id"]]
            assert (got.category, got.post, got.origin) == (r["service_code"], r["address"], r["address"])
            assert got.created_at == r["requested_datetime"][:19]
            assert got.resolution_due == r["expected_datetime"][:19]
            assert r["description"] == f"{got.priority} request"
    again = json.loads(cli("intake", str(exported), "--db", str(db), "--json").out)
    assert (again["added"], again["duplicates"]) == (0, len(open_ids))
