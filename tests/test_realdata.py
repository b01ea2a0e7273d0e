"""Real request logs: import (Boston, LA, Open311, any CSV), fit a scenario fragment, replay, export."""

from __future__ import annotations

import csv
import json
import math
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.eventlog import read_events, read_metadata
from sim.realdata import RealDataError, import_log, read_trace
from sim.realdata.export import iter_cases
from sim.realdata.fit import Durations, fit_handling, fit_trace
from sim.realdata.importer import SKIP_REASONS
from sim.scenario import load_scenario, scenario_from_dict

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BOSTON = SHARED / "boston-311-2015.csv.gz"
LA = SHARED / "la-311-2017-12-27_31.csv.gz"
XES = "{http://www.xes-standard.org/}"

real_data = pytest.mark.skipif(not BOSTON.is_file() or not LA.is_file(), reason="shared/data is not available")


@pytest.fixture(scope="session")
def boston(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("boston") / "boston.parquet"
    return import_log(BOSTON, "boston", out), out


@pytest.fixture(scope="session")
def la_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("la") / "la.parquet"
    import_log(LA, "la", out)
    return out


def small_scenario(folder: Path, extends: str | None = None) -> Path:
    path = folder / "small.toml"
    head = f'extends = "{extends}"\n' if extends else ""
    path.write_text(head + 'name = "Small district"\n\n[streets.S1]\nresidents = 20000\n', encoding="utf-8")
    return path


def one_error_line(result) -> bool:
    return result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1


# --- importing the real files ----------------------------------------------------------------------------


@real_data
def test_boston_year_is_read_whole(boston):
    report, path = boston
    assert report.rows_read == 121_145
    assert report.rows_kept == 120_948
    assert report.rows_skipped == 197
    assert report.skipped_by_reason["closed before created"] == 197
    assert report.rows_read == report.rows_kept + report.rows_skipped
    assert report.period == {"start": "2015-01-01 00:20:09", "end": "2015-12-31 23:10:09"}
    assert report.statuses == {"closed": 101_075, "open": 19_873}
    trace = read_trace(path)
    assert len(trace.frame) == 120_948
    assert trace.frame["created"].is_monotonic_increasing
    assert trace.meta["rows_read"] == 121_145
    assert str(trace.extract_end) == "2016-01-12 22:22:40"


@real_data
def test_la_extract_through_the_cli(cli, tmp_path):
    out = tmp_path / "la.parquet"
    result = cli("import", str(LA), "--format", "la", "--out", str(out), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["rows_read"], report["rows_kept"], report["rows_skipped"]) == (9_999, 9_987, 12)
    assert report["skipped_by_reason"]["closed before created"] == 12
    assert report["fields_cleared"]["due before created"] == 1_696
    assert report["period"] == {"start": "2017-12-27 13:36:22", "end": "2017-12-31 23:59:58"}
    assert report["statuses"] == {"closed": 9_736, "cancelled": 246, "open": 5}
    assert report["columns"]["source_id"] == "SRNumber" and report["columns"]["department"] == "Owner"
    frame = read_trace(out).frame
    assert set(frame["category"].astype(str)) >= {"Bulky Items", "Graffiti Removal"}

    table = cli("import", str(LA), "--format", "la", "--out", str(out))
    assert table.code == 0 and "closed before created" in table.out and "9,987" in table.out


# --- every skip reason, counted ----------------------------------------------------------------------


def test_every_skip_reason_is_counted(cli, tmp_path):
    out = tmp_path / "t.parquet"
    result = cli("import", str(DATA / "malformed-boston.csv"), "--format", "boston", "--out", str(out), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["skipped_by_reason"] == {
        "malformed row": 2,
        "missing source id": 1,
        "blank created date": 1,
        "unparsable created date": 2,
        "created date out of range": 1,
        "unparsable closed date": 1,
        "closed date out of range": 1,
        "closed status without a closed date": 1,
        "closed before created": 1,
        "duplicate source id": 1,
    }
    assert set(report["skipped_by_reason"]) == set(SKIP_REASONS)
    assert report["fields_cleared"] == {
        "unparsable due date": 1,
        "due before created": 1,
        "closed date on an open case": 1,
    }
    assert (report["rows_read"], report["rows_kept"], report["rows_skipped"]) == (19, 7, 12)
    frame = read_trace(out).frame
    assert frame["source_id"].tolist() == ["1", "2", "3", "4", "5", "6", "18"]
    by_id = frame.set_index("source_id")
    assert by_id.loc["5", "status"] == "open" and pd.isna(by_id.loc["5", "closed"])
    assert pd.isna(by_id.loc["4", "due"]) and pd.isna(by_id.loc["3", "due"])
    assert by_id.loc["18", "due"] == pd.Timestamp("2015-01-11 00:00")  # a date: due by the end of that day
    assert by_id.loc["18", "category"] == "Animal Généric Request"
    assert by_id.loc["3", "category"] == "Heat - Excessive  Insufficient"

    shown = cli("import", str(DATA / "malformed-boston.csv"), "--format", "boston", "--out", str(out))
    for reason in ("malformed row", "duplicate source id", "field cleared: due before created"):
        assert reason in shown.out


def test_generic_csv_with_a_column_map(cli, tmp_path):
    out = tmp_path / "nyc.parquet"
    nyc = str(DATA / "nyc.csv")
    maps = ["--map", "source_id=Unique Key", "--map", "created=Created Date", "--map", "closed=Closed Date"]
    maps += ["--map", "department=Agency", "--map", "category=Complaint Type", "--map", "area=Borough"]
    result = cli("import", nyc, "--format", "csv", *maps, "--out", str(out), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["rows_kept"] == 3
    frame = read_trace(out).frame
    assert frame["department"].astype(str).tolist() == ["NYPD", "DSNY", "DOT"]
    assert frame["status"].astype(str).tolist() == ["closed", "open", "closed"]

    wrong_field = cli("import", nyc, "--format", "csv", "--map", "create=Created Date", "--out", str(out))
    assert one_error_line(wrong_field) and "unknown field 'create'" in wrong_field.err and "created" in wrong_field.err
    wrong_column = cli("import", nyc, "--format", "csv", "--map", "created=Created date", "--out", str(out))
    assert one_error_line(wrong_column) and "no column 'Created date'" in wrong_column.err
    assert "did you mean 'Created Date'" in wrong_column.err
    unmapped = cli("import", nyc, "--format", "csv", "--out", str(out))
    assert one_error_line(unmapped) and "--map created=COLUMN" in unmapped.err


def test_open311_json_is_read_in_local_wall_clock_time(tmp_path):
    report = import_log(DATA / "open311.json", "open311", tmp_path / "o.parquet")
    assert report.rows_read == 6 and report.rows_kept == 3
    assert report.skipped_by_reason["malformed row"] == 1  # a string where a request should be
    assert report.skipped_by_reason["missing source id"] == 1  # an object where the id should be
    assert report.skipped_by_reason["closed status without a closed date"] == 1
    frame = read_trace(tmp_path / "o.parquet").frame.set_index("source_id")
    assert frame.loc["638344", "created"] == pd.Timestamp("2010-04-14 06:37:38")  # offset -08:00 dropped
    assert frame.loc["638344", "closed"] == pd.Timestamp("2010-04-14 15:37:38")
    assert frame.loc["638344", "area"] == "94122"
    assert pd.isna(frame.loc["638349", "closed"]) and frame.loc["638349", "status"] == "open"
    assert frame.loc["638352", "created"] == pd.Timestamp("2010-04-21 23:59:59.999")


# --- bad input: one line, exit 2, nothing written -----------------------------------------------------


def test_bad_input_is_one_line_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "never.parquet"
    binary = tmp_path / "trace.csv"
    binary.write_bytes(b"PAR1\x00\x00\x15\x04binary")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("CASE_ENQUIRY_ID,OPEN_DT,CLOSED_DT,TYPE\n1,01/05/2015 09:00:00 AM,,Caf\xe9\n".encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    cases = [
        ((str(tmp_path / "missing.csv"), "--format", "boston"), "no such file"),
        ((str(tmp_path), "--format", "boston"), "not a file"),
        ((str(binary), "--format", "boston"), "binary data"),
        ((str(latin1), "--format", "boston"), "not UTF-8"),
        ((str(empty), "--format", "boston"), "empty file"),
        ((str(DATA / "nyc.csv"), "--format", "boston"), "not a Boston 311 extract"),
        ((str(DATA / "malformed-boston.csv"), "--format", "la"), "not a Los Angeles MyLA311 extract"),
        ((str(DATA / "nyc.csv"), "--format", "open311"), "not Open311 JSON"),
        ((str(garbage), "--format", "open311"), "not Open311 JSON"),
        ((str(DATA / "nyc.csv"), "--format", "nyc"), "unknown format 'nyc'"),
    ]
    for args, message in cases:
        result = cli("import", *args, "--out", str(out))
        assert one_error_line(result), (args, result.err)
        assert message in result.err, (args, result.err)
        assert "Traceback" not in result.err
    assert not out.exists()
    assert not list(tmp_path.glob(".*.part"))


def test_a_failed_import_leaves_the_old_trace_in_place(cli, tmp_path):
    out = tmp_path / "t.parquet"
    assert cli("import", str(DATA / "nyc.csv"), "--format", "csv", "--map", "created=Created Date", "--out", str(out))
    before = out.read_bytes()
    result = cli("import", str(DATA / "nyc.csv"), "--format", "boston", "--out", str(out))
    assert result.code == 2 and out.read_bytes() == before


# Text without NUL (a file holding NUL bytes is refused whole as binary, not read row by row) and
# without lone surrogates, which no UTF-8 file can hold.
cells = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "3", "", "x"]),
            st.one_of(st.sampled_from(["01/05/2015 09:00:00 AM", "01/06/2015 11:30:00 PM", "", "13/45/2015"]), cells),
            st.one_of(st.sampled_from(["", "01/05/2015 08:00:00 AM", "01/09/2015 10:00:00 AM"]), cells),
            cells,
        ),
        max_size=12,
    )
)
def test_any_rows_are_kept_or_counted(tmp_path, rows):
    """Whatever the cells hold, every row read is either kept or counted under one reason; an import that
    would keep none is an error that writes nothing."""
    path = tmp_path / "random.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "opened", "closed", "type"])
        w.writerows(rows)
    out = tmp_path / "random.parquet"
    out.unlink(missing_ok=True)
    mapping = {"source_id": "id", "created": "opened", "closed": "closed", "category": "type"}
    try:
        report = import_log(path, "csv", out, mapping=mapping)
    except RealDataError as exc:
        assert "nothing was written" in str(exc) and not out.exists()
        return
    assert report.rows_read == report.rows_kept + report.rows_skipped
    assert report.rows_kept == len(read_trace(out).frame)


@pytest.mark.parametrize(
    ("status", "read_as"),
    [
        ("Closed", "closed"), ("CLOSED - duplicate", "closed"), ("Case Resolved", "closed"), ("Referred Out", "closed"),
        ("Completed", "closed"), ("Cancelled", "cancelled"), ("canceled by the resident", "cancelled"),
        ("Open", "open"), ("Incomplete", "open"), ("Not Completed", "open"), ("Unresolved", "open"),
        ("Pending Closure", "open"), ("not yet closed", "open"), ("To be closed", "open"), ("Reopened", "open"),
        ("Enclosed", "open"), ("Closed - not fixed", "closed"),
    ],
)  # fmt: skip
def test_status_words_are_read_as_whole_words(tmp_path: Path, status: str, read_as: str):
    log = tmp_path / "log.csv"
    log.write_text(f"created,closed,status\n2015-01-05T09:00:00,2015-01-06T09:00:00,{status}\n", encoding="utf-8")
    import_log(log, "csv", tmp_path / "t.parquet", mapping={"created": "created", "closed": "closed",
               "status": "status"}, time_format="iso")  # fmt: skip
    assert read_trace(tmp_path / "t.parquet").frame["status"].astype(str).tolist() == [read_as]


def test_times_with_utc_offsets_keep_their_wall_clock_time_or_become_the_zones(tmp_path: Path):
    log = tmp_path / "log.csv"
    log.write_text("created\n2015-01-05 09:00:00-0500\n2015-07-05 10:00:00-0400\n2015-07-06 10:00:00+00\n",
                   encoding="utf-8")  # fmt: skip
    fmt = "%Y-%m-%d %H:%M:%S%z"
    import_log(log, "csv", tmp_path / "wall.parquet", mapping={"created": "created"}, time_format=fmt)
    wall = read_trace(tmp_path / "wall.parquet").frame["created"].astype(str).tolist()
    assert wall == ["2015-01-05 09:00:00", "2015-07-05 10:00:00", "2015-07-06 10:00:00"]
    import_log(log, "csv", tmp_path / "ny.parquet", mapping={"created": "created"}, time_format=fmt,
               tz="Asia/Shanghai")  # fmt: skip
    china = read_trace(tmp_path / "ny.parquet").frame["created"].astype(str).tolist()
    assert china == ["2015-01-05 22:00:00", "2015-07-05 22:00:00", "2015-07-06 18:00:00"]  # UTC+8
    iso = tmp_path / "iso.csv"
    iso.write_text("created\n2015-01-05T09:00:00Z\n2015-07-05 10:00:00+02:00\n2015-07-05 11:00:00\n", encoding="utf-8")
    import_log(iso, "csv", tmp_path / "iso.parquet", mapping={"created": "created"}, time_format="ISO",
               tz="America/New_York")  # fmt: skip
    ny = read_trace(tmp_path / "iso.parquet").frame["created"].astype(str).tolist()
    assert ny == ["2015-01-05 04:00:00", "2015-07-05 04:00:00", "2015-07-05 07:00:00"]  # the last read as UTC


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--time-format", "%Q"], "%Q is not a strptime directive"),
        (["--time-format", "%s"], "seconds since 1970 are not a strptime format"),
        (["--time-format", "%Y %"], "a % at the end"),
        (["--time-format", "%H:%M"], "no date in it"),
        (["--tz", "Mars/Olympus"], "no such time zone"),
        (["--delimiter", ";;"], "expected one character"),
        (["--map", "created=Closed Date"], "created is mapped already (to 'Created Date')"),
        (["--time-format", "%d.%m.%Y"], "none of the 3 rows can be kept: 3 unparsable created date (e.g. "
                                        "'01/01/2020 12:00:37 AM'); the timestamps are read as '%d.%m.%Y'"),
    ],
)  # fmt: skip
def test_import_options_are_checked_before_anything_is_written(cli, tmp_path: Path, args: list[str], needle: str):
    out = tmp_path / "t.parquet"
    result = cli("import", str(DATA / "nyc.csv"), "--format", "csv", "--map", "created=Created Date", *args,
                 "--out", str(out))  # fmt: skip
    assert one_error_line(result) and needle in result.err, result.err
    assert not out.exists()


def test_another_delimiter_is_named_and_taken(cli, tmp_path: Path):
    log = tmp_path / "log.csv"
    log.write_text("created;category\n01/05/2015 09:00:00 AM;noise\n", encoding="utf-8")
    args = ["import", str(log), "--format", "csv", "--map", "created=created", "--out", str(tmp_path / "t.parquet")]
    named = cli(*args)
    assert one_error_line(named) and "1 semicolon: fields separated by semicolons? give --delimiter ';'" in named.err
    taken = cli(*args, "--delimiter", ";", "--json")
    assert taken.code == 0 and json.loads(taken.out)["rows_kept"] == 1


def test_creation_times_on_the_hour_are_noted(tmp_path: Path):
    log = tmp_path / "log.csv"
    rows = [f"01/{d:02d}/2015 12:00:00 AM" for d in range(1, 21)] + ["01/21/2015 09:13:07 AM"] * 5
    log.write_text("created\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = import_log(log, "csv", tmp_path / "t.parquet", mapping={"created": "created"})
    assert report.notes == [
        "80% of creation times are exactly on the hour, most at 00:00 (80%): dates without a time of day? They "
        "would show as peaks in the hour-of-week profiles"
    ]


# --- fitting ----------------------------------------------------------------------------------------------


def test_censored_mle_agrees_with_scipy():
    rng = np.random.default_rng(7)
    x = rng.lognormal(2.0, 1.0, 600)
    c = rng.uniform(1.0, 40.0, 600)
    seen, censored = x[x <= c], c[x > c]
    fit = fit_handling(Durations(seen, censored, 0))
    assert fit is not None
    data = stats.CensoredData(uncensored=seen, right=censored)
    s, _, scale = stats.lognorm.fit(data, floc=0)
    assert fit.lognormal.params["sigma"] == pytest.approx(s, rel=2e-3)
    assert fit.lognormal.params["mu"] == pytest.approx(math.log(scale), abs=2e-3)
    a, _, gscale = stats.gamma.fit(data, floc=0)
    assert fit.gamma.params["shape"] == pytest.approx(a, rel=5e-3)
    assert fit.gamma.params["scale_h"] == pytest.approx(gscale, rel=5e-3)
    assert fit.best.family == "lognormal"  # the data are lognormal, and AIC says so


def test_censoring_keeps_long_cases_long():
    """Requests still open at the extract's end took longer than they have been open; dropping them
    would make handling look faster than it is."""
    rng = np.random.default_rng(3)
    x = rng.lognormal(3.0, 1.0, 4000)
    end = 25.0
    fit = fit_handling(Durations(x[x <= end], np.full(int((x > end).sum()), end), 0))
    naive = fit_handling(Durations(x[x <= end], np.empty(0), 0))
    assert fit is not None and naive is not None
    assert fit.lognormal.params["mu"] == pytest.approx(3.0, abs=0.08)
    assert naive.lognormal.params["mu"] < 2.6


@real_data
def test_fit_writes_a_fragment_a_scenario_can_extend(cli, boston, tmp_path):
    _, trace = boston
    fragment = tmp_path / "boston-fit.toml"
    result = cli("fit", str(trace), "--out", str(fragment), "--residents", "650000", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["cases"] == 120_948
    arr = data["arrivals"]
    assert len(arr["hour_of_week"]) == 168 and len(arr["hour_profile"]) == 24 and len(arr["weekday_profile"]) == 7
    assert arr["requests_per_resident_year"] == pytest.approx(120_948 / 650_000, rel=1e-3)
    handling = data["handling"]
    assert handling["censored"] == 19_873 and handling["chosen"] in ("lognormal", "gamma")
    assert handling[handling["chosen"]]["aic"] <= min(handling["lognormal"]["aic"], handling["gamma"]["aic"])
    lights = data["scenario_categories"]["street_light"]
    assert lights["types"]["Street Light Outages"] == 7_956
    assert 0 < data["categories"]["Street Light Outages"]["on_time"]["share"] < 1
    assert sum(c["share"] for c in data["scenario_categories"].values() if "share" in c) == pytest.approx(1.0)

    text = fragment.read_text(encoding="utf-8")
    assert "censored" in text and "AIC" in text and "boston-311-2015.csv.gz" in text
    doc = tomllib.loads(text)
    assert doc["categories"]["street_light"]["department_lead"]["family"] in ("lognormal", "gamma")
    scenario = small_scenario(tmp_path, extends=fragment.name)
    check = cli("check", str(scenario))
    assert check.code == 0, check.err
    loaded = load_scenario(scenario)
    assert loaded.arrivals.hour_profile == tuple(arr["hour_profile"])

    shown = cli("fit", str(trace), "--out", str(tmp_path / "again.toml"), "--min-cases", "1000000")
    assert shown.code == 0 and "Scenario categories" in shown.out and "Public Works Department" in shown.out


@real_data
def test_residents_own_requests_give_the_default_profiles(boston):
    """The defaults' arrival shape is Boston residents' own 2015 requests; the fit reproduces it."""
    _, trace = boston
    channels = ("Constituent Call", "Citizens Connect App", "Self Service")
    result = fit_trace(read_trace(trace), scenario_from_dict({}), channels=channels, min_cases=10**9)
    defaults = scenario_from_dict({}).arrivals
    assert result.data["cases"] == pytest.approx(93_489, rel=0.001)
    assert np.allclose(result.data["arrivals"]["hour_profile"], defaults.hour_profile, atol=0.021)
    assert np.allclose(result.data["arrivals"]["weekday_profile"], defaults.weekday_profile, atol=0.021)


def test_untrusted_names_cannot_write_into_the_fragment(tmp_path):
    path = tmp_path / "evil.csv"
    rows = [[str(i), f"01/{5 + i % 20:02d}/2015 09:00:00 AM", "", "x\n[streets.S9]\nresidents = 1"] for i in range(60)]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "opened", "closed", "dept"], *rows])
    mapping = {"source_id": "id", "created": "opened", "closed": "closed", "department": "dept", "category": "dept"}
    import_log(path, "csv", tmp_path / "evil.parquet", mapping=mapping)
    result = fit_trace(read_trace(tmp_path / "evil.parquet"), scenario_from_dict({}))
    assert "streets" not in tomllib.loads(result.fragment)


def test_fit_errors_are_one_line(cli, tmp_path):
    not_a_trace = cli("fit", str(DATA / "nyc.csv"), "--out", str(tmp_path / "f.toml"))
    assert one_error_line(not_a_trace) and "not a Parquet trace" in not_a_trace.err
    missing = cli("fit", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "f.toml"))
    assert one_error_line(missing) and "no such trace" in missing.err
    trace = tmp_path / "t.parquet"
    import_log(DATA / "nyc.csv", "csv", trace, mapping={"created": "Created Date"})
    nothing = cli("fit", str(trace), "--out", str(tmp_path / "f.toml"), "--channel", "Carrier Pigeon")
    assert one_error_line(nothing) and "no requests to fit" in nothing.err
    assert not (tmp_path / "f.toml").exists()


# --- trace-driven runs -------------------------------------------------------------------------------------


@real_data
def test_a_trace_drives_the_arrivals(cli, la_trace, tmp_path):
    scenario = small_scenario(tmp_path)
    events = tmp_path / "ev.parquet"
    result = cli(
        "run", str(scenario), "--trace", str(la_trace), "--days", "2", "--set", "patience.enabled=false",
        "--events", str(events), "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    k = json.loads(result.out)
    frame = read_trace(la_trace).frame
    window = frame[(frame["created"] >= "2017-12-27") & (frame["created"] < "2017-12-29")]
    assert k["trace"]["arrivals"] == len(window) == k["requests"]
    assert k["trace"]["start"] == "2017-12-27" and k["trace"]["after_end"] == len(frame) - len(window)

    log = read_events(events)
    arrived = log[log["activity"] == "arrived"]
    assert len(arrived) == len(window)
    assert sorted(arrived["timestamp"].astype("datetime64[ms]").tolist()) == sorted(window["created"].tolist())
    lights = {"Single Streetlight Issue", "Multiple Streetlight Issue"}
    types = window["category"].astype(str)
    expected = {
        "street_light": int(types.isin(lights).sum()),
        "drain_sewage": int((types == "Report Water Waste").sum()),
    }
    expected["sanitation"] = len(window) - sum(expected.values())
    got = arrived["category"].astype(str).value_counts().to_dict()
    assert {c: n for c, n in got.items() if n} == {c: n for c, n in expected.items() if n}
    assert read_metadata(events)["start"] == "2017-12-27T00:00:00"


@real_data
def test_trace_start_and_unmapped_types(cli, la_trace, tmp_path):
    scenario = small_scenario(tmp_path)
    sets = ["--set", "patience.enabled=false", "--set", "trace.start=2017-12-29", "--set", 'trace.default=""']
    result = cli("run", str(scenario), "--trace", str(la_trace), "--days", "1", *sets, "--json")
    assert result.code == 0, result.err
    t = json.loads(result.out)["trace"]
    frame = read_trace(la_trace).frame
    day = frame[(frame["created"] >= "2017-12-29") & (frame["created"] < "2017-12-30")]
    known = day["category"].astype(str).isin(
        ["Single Streetlight Issue", "Multiple Streetlight Issue", "Bulky Items", "Illegal Dumping Pickup",
         "Metal/Household Appliances", "Electronic Waste", "Dead Animal Removal", "Report Water Waste",
         "Graffiti Removal"]
    )  # fmt: skip
    assert t["before_start"] == int((frame["created"] < "2017-12-29").sum())
    assert t["arrivals"] == int(known.sum()) and t["unmapped_left_out"] == int((~known).sum())

    bad = cli("run", str(scenario), "--trace", str(tmp_path / "none.parquet"), "--days", "1")
    assert one_error_line(bad) and "no such trace" in bad.err


# --- exports and the round trip -----------------------------------------------------------------------------


def test_export_round_trip_through_open311(cli, tmp_path):
    scenario = small_scenario(tmp_path)
    events = tmp_path / "run.parquet"
    assert cli("run", str(scenario), "--days", "3", "--seed", "5", "--events", str(events), "--json").code == 0
    log = read_events(events)
    arrived = log[log["activity"] == "arrived"].set_index("request_id")

    out = tmp_path / "run.json"
    result = cli("export", str(events), "--to", "open311", str(out), "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["requests"] == len(arrived) and summary["events"] == len(log)
    records = json.loads(out.read_text(encoding="utf-8"))
    assert {r["status"] for r in records} <= {"open", "closed"}
    assert summary["closed"] == int(log["activity"].isin(["resolved", "abandoned"]).sum())

    trace = tmp_path / "back.parquet"
    back = cli("import", str(out), "--format", "open311", "--out", str(trace), "--json")
    assert back.code == 0, back.err
    assert json.loads(back.out)["rows_skipped"] == 0
    frame = read_trace(trace).frame.set_index("source_id")
    assert sorted(frame.index) == sorted(str(i) for i in arrived.index)
    names = {cid: c.name_en for cid, c in load_scenario(scenario).categories.items()}
    for rid, row in arrived.iterrows():
        got = frame.loc[str(rid)]
        assert got["created"] == pd.Timestamp(row["timestamp"])
        assert got["category"] == names[str(row["category"])]


def test_export_xes_and_csv(cli, tmp_path):
    scenario = small_scenario(tmp_path)
    events = tmp_path / "run.parquet"
    assert cli("run", str(scenario), "--days", "2", "--events", str(events)).code == 0
    log = read_events(events)

    xes = tmp_path / "run.xes"
    assert cli("export", str(events), "--to", "xes", str(xes)).code == 0
    root = ET.parse(xes).getroot()
    traces = root.findall(f"{XES}trace")
    assert len(traces) == log["request_id"].nunique()
    assert sum(len(t.findall(f"{XES}event")) for t in traces) == len(log)
    first = traces[0]
    events_of_first = log[log["request_id"] == int(first.find(f"{XES}string").get("value"))]
    names = [e.find(f"{XES}string[@key='concept:name']").get("value") for e in first.findall(f"{XES}event")]
    assert names == events_of_first["activity"].astype(str).tolist()
    assert first.find(f"{XES}event/{XES}date[@key='time:timestamp']") is not None

    buckets = list(iter_cases(events, cases_per_bucket=10))  # a year's log is sorted bucket by bucket
    assert len(buckets) > 1
    merged = pd.concat([b.to_pandas() for b in buckets], ignore_index=True)
    expected = read_events(events, friendly=False).sort_values("case:concept:name", kind="stable")
    assert merged["case:concept:name"].tolist() == expected["case:concept:name"].tolist()
    assert merged["time_h"].tolist() == expected["time_h"].tolist()

    flat = tmp_path / "run.csv"
    assert cli("export", str(events), "--to", "csv", str(flat)).code == 0
    table = pd.read_csv(flat)
    assert list(table.columns[:4]) == ["case", "activity", "timestamp", "resource"]
    assert len(table) == len(log) and table["case"].is_monotonic_increasing


def test_export_errors_are_one_line(cli, tmp_path):
    not_a_log = cli("export", str(DATA / "nyc.csv"), "--to", "xes", str(tmp_path / "x.xes"))
    assert one_error_line(not_a_log)
    scenario = small_scenario(tmp_path)
    events = tmp_path / "run.parquet"
    assert cli("run", str(scenario), "--days", "0.5", "--events", str(events)).code == 0
    unknown = cli("export", str(events), "--to", "pdf", str(tmp_path / "x.pdf"))
    assert one_error_line(unknown) and "unknown export format 'pdf'" in unknown.err
    assert not (tmp_path / "x.xes").exists() and not (tmp_path / "x.pdf").exists()
