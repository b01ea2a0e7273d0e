"""Bad input never crashes: the fuzz harness through the command, and hypothesis on every loader.

Through ``microgov`` (``tests/fuzz.py``): every corpus case (``tests/data/fuzz/corpus.toml``: inputs that
once crashed, hung or were wrongly accepted) and a batch of generated ones must exit 0 with a valid
result or exit 2 with one ``error:`` line, in bounded time, writing nothing when they fail. In process:
the loaders (scenario files, ``--set`` values, intake files, imported logs, option values) on arbitrary
input return or raise the area's own error, nothing else.

``FUZZ_EXAMPLES=N FUZZ_SEED=S pytest tests/test_fuzz.py`` runs N generated cases from seed S instead of
the fixed default batch.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import limits
from sim.cli.common import number, whole
from sim.errors import MicrogovError, ScenarioError
from sim.operations.intake import IntakeError, read_requests
from sim.realdata import RealDataError, import_log
from sim.scenario import load_scenario
from sim.scenario.loader import read_file
from tests.fuzz import Case, Outcome, classify, counts, load_corpus, run_cases
from tests.fuzz_cases import generated_cases
from tests.test_store import small_store

SETUP, CORPUS = load_corpus()
SECTIONS = {
    "intake": [c for c in CORPUS if c.name.startswith("intake")],
    "import": [c for c in CORPUS if c.name.startswith(("import", "export", "fit"))],
}
SECTIONS["scenarios and options"] = [c for c in CORPUS if not any(c in part for part in SECTIONS.values())]
GENERATED = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("FUZZ_SEED", "0"))


def _report(outcomes: list[Outcome]) -> str:
    return f"{counts(outcomes)}\n" + "\n".join(o.describe() for o in outcomes if o.kind != "clean")


@pytest.mark.slow
@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_corpus_case_ends_cleanly(section: str):
    outcomes = run_cases(SECTIONS[section], SETUP)
    assert all(o.kind == "clean" for o in outcomes), _report(outcomes)


@pytest.mark.slow
def test_generated_command_lines_end_cleanly():
    outcomes = run_cases(generated_cases(GENERATED, SEED), SETUP)
    assert len(outcomes) == GENERATED
    assert all(o.kind == "clean" for o in outcomes), _report(outcomes)


def test_the_corpus_covers_every_area():
    assert len(CORPUS) >= 70 and all(SECTIONS.values())
    assert {c.expect for c in CORPUS} == {"error", "ok", "any"}


# --- the harness's judgement, on outcomes made up for it ---------------------------------------------------


def _reply(code: int | None, out: str = "", err: str = "", tb: str | None = None) -> dict:
    return {"code": code, "out": out, "err": err, "traceback": tb}


@pytest.mark.parametrize(
    ("case", "reply", "seconds", "written", "kind"),
    [
        (Case("refused", ("run",), "error"), _reply(2, err="error: --days: bad\n"), 0.1, set(), "clean"),
        (Case("json", ("run", "--json"), "ok"), _reply(0, out='{"a": 1}'), 0.1, set(), "clean"),
        (Case("json", ("run", "--json"), "ok"), _reply(0, out="table"), 0.1, set(), "other"),
        (Case("crash", ("run",)), _reply(None, tb="Traceback...\nValueError: x"), 0.1, set(), "traceback"),
        (Case("crash", ("run",)), _reply(2, err="Traceback (most recent call last):\n"), 0.1, set(), "traceback"),
        (Case("hang", ("run",)), None, 31.0, set(), "hang"),
        (Case("killed", ("run",)), None, 1.0, set(), "abort"),
        (Case("took it", ("run",), "error"), _reply(0), 0.1, set(), "accepted"),
        (Case("exit 1", ("run",)), _reply(1, err="failed\n"), 0.1, set(), "other"),
        (Case("panel", ("run",)), _reply(2, err="╭─ Error ─╮\nerror: x\n"), 0.1, set(), "other"),
        (Case("half", ("run",), "error"), _reply(2, err="error: x\n"), 0.1, {"out/part.csv"}, "other"),
        (Case("said", ("run",), "error", message="UTF-16"), _reply(2, err="error: binary\n"), 0.1, set(), "other"),
        (Case("echo", ("run",), forbid="root:x"), _reply(2, err="error: root:x:0\n"), 0.1, set(), "other"),
    ],
)  # fmt: skip
def test_the_harness_tells_clean_from_broken(case, reply, seconds, written, kind):
    assert classify(case, reply, seconds, written, added=False).kind == kind


# --- the loaders on arbitrary input (in process: fast, many examples) ---------------------------------------

ANY_TEXT = st.text(max_size=300)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(key=st.sampled_from(["clock.days", "name", "streets.S1.residents", "categories", "injects", "x.y"]),
       value=ANY_TEXT | st.sampled_from(["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "{}",
                                         "nan", "inf", "1e999", '"\\u0000"']))  # fmt: skip
def test_a_set_value_is_taken_or_refused_with_a_scenario_error(key: str, value: str):
    try:
        load_scenario(Path(__file__).parent / "data" / "fuzz" / "tiny.toml", [f"{key}={value}"])
    except ScenarioError as exc:
        assert all(p.render() for p in exc.problems)


@SETTINGS
@given(data=st.binary(max_size=400) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_as_a_scenario_file_are_read_or_refused(tmp_path: Path, data: bytes):
    path = tmp_path / "any.toml"
    path.write_bytes(data)
    with contextlib.suppress(ScenarioError):
        read_file(path)


@pytest.fixture(scope="module")
def intake_store(tmp_path_factory):
    store = small_store(tmp_path_factory.mktemp("fuzz") / "queue.db")
    yield store
    store.close()


@SETTINGS
@given(
    name=st.sampled_from(["any.csv", "any.jsonl", "any.json"]),
    data=st.binary(max_size=300)
    | st.lists(st.dictionaries(st.sampled_from(["source_id", "created", "category", "post", "text", "origin"]),
                               st.none() | st.integers() | st.floats() | ANY_TEXT | st.lists(st.integers())),
               max_size=4).map(lambda rows: "\n".join(json.dumps(r) for r in rows).encode()),
)  # fmt: skip
def test_any_intake_file_is_read_or_refused(tmp_path: Path, intake_store, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        reading = read_requests(path, intake_store)
    except IntakeError:
        return
    assert reading.read == len(reading.records) + len(reading.bad) + reading.closed


@SETTINGS
@given(
    rows=st.lists(st.tuples(ANY_TEXT, ANY_TEXT, st.sampled_from(["Open", "Closed", "", "Not Completed"])), max_size=6),
    time_format=st.sampled_from(["iso", "%Y-%m-%d %H:%M:%S%z", "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y"]),
    tz=st.sampled_from([None, "UTC", "Asia/Shanghai"]),
)
def test_any_csv_log_is_imported_or_refused(tmp_path: Path, rows, time_format: str, tz: str | None):
    import csv

    path = tmp_path / "log.csv"
    with path.open("w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "opened", "status"])
        w.writerows(rows)
    out = tmp_path / "t.parquet"
    out.unlink(missing_ok=True)
    mapping = {"source_id": "id", "created": "opened", "status": "status"}
    try:
        report = import_log(path, "csv", out, mapping=mapping, time_format=time_format, tz=tz)
    except RealDataError:
        assert not out.exists()
        return
    assert report.rows_kept >= 1 and report.rows_read == report.rows_kept + report.rows_skipped


@settings(max_examples=200, deadline=None)
@given(text=ANY_TEXT | st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.integers().map(str))
def test_option_numbers_are_finite_and_within_their_bounds(text: str):
    days = number("days", gt=0, le=limits.MAX_DAYS)
    reps = whole("replications", ge=2, le=limits.MAX_REPS)
    try:
        value = days(text)
    except typer.BadParameter as exc:
        assert "expected days" in exc.message
    else:
        assert math.isfinite(value) and 0 < value <= limits.MAX_DAYS
    try:
        count = reps(text)
    except typer.BadParameter:
        pass
    else:
        assert 2 <= count <= limits.MAX_REPS and count == int(text)


def test_every_area_error_is_a_microgov_error():
    for error in (ScenarioError, IntakeError, RealDataError):
        assert issubclass(error, MicrogovError) and error.exit_code == 2
