"""Hypothesis strategies for the fuzz harness (``tests/fuzz.py``): command lines with odd option values,
odd ``--set`` values, intake records and import rows, each a :class:`tests.fuzz.Case`.

Valid values are kept small (a run of a day or two), so a case that takes long is a hang, not a long
run asked for; everything else may be as strange as hypothesis likes.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from sim.operations.intake import FIELDS
from tests.fuzz import Case, FileSpec

#: Text as a shell passes it: no NUL (argv cannot hold one), undecodable bytes as surrogate escapes.
ARG_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=16)
ODD = st.sampled_from(
    [
        "inf",
        "-inf",
        "nan",
        "NaN",
        "1e308",
        "-1e308",
        "1e-320",
        "-1",
        "-0",
        "0",
        "0.0",
        "-0.5",
        "99999999999999999999999",
        "9223372036854775808",
        "18446744073709551616",
        "0x10",
        "1_000",
        "",
        " ",
        "abc",
        "%",
        "--",
        "1e",
        "1,5",
        "٣",
        "\udcff",
        "1e-202033",
        "١٢",
    ]
)
BAD_NUMBER = (
    ODD
    | st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 <= x <= 3).map(repr)
    | st.integers().filter(lambda n: n < 0 or n > 10**6).map(str)
    | ARG_TEXT
)
SMALL = st.sampled_from(["0.5", "1", "2"])
VALUE = BAD_NUMBER | SMALL

TINY = "@tiny@"
MORE = "more staff: staffing.per_office=9"
"""A variant of the tiny scenario, so that a comparison of it has two scenarios that differ."""
#: Command lines with one option value left open (``{}``), each quick when the value is a valid one.
OPTIONS = [
    ["run", TINY, "--days", "{}"],
    ["run", TINY, "--days", "1", "--warmup-days", "{}"],
    ["run", TINY, "--days", "0.5", "--seed", "{}"],
    ["compare", TINY, "--variant", MORE, "--reps", "{}", "--days", "0.5", "--workers", "1"],
    ["compare", TINY, "--variant", MORE, "--reps", "2", "--days", "{}", "--workers", "1"],
    ["compare", TINY, "--variant", MORE, "--reps", "2", "--days", "1", "--warmup-days", "{}", "--workers", "1"],
    ["compare", TINY, "--variant", MORE, "--reps", "2", "--days", "0.5", "--seed", "{}", "--workers", "1"],
    [
        "compare",
        TINY,
        "--variant",
        MORE,
        "--reps",
        "auto",
        "--ci-width",
        "{}",
        "--max-reps",
        "3",
        "--days",
        "0.5",
        "--workers",
        "1",
    ],
    ["compare", TINY, "--variant", MORE, "--reps", "2", "--days", "0.5", "--workers", "{}"],
    ["sweep", TINY, "--vary", "staffing.per_office=8,9", "--reps", "{}", "--days", "0.5", "--workers", "1"],
    [
        "sweep",
        TINY,
        "--vary",
        "staffing.per_office=8,9",
        "--design",
        "lhs",
        "--samples",
        "{}",
        "--reps",
        "2",
        "--days",
        "0.5",
        "--workers",
        "1",
    ],
    ["sweep", TINY, "--vary", "staffing.per_office={}", "--reps", "2", "--days", "0.5", "--workers", "1"],
    ["staff", TINY, "--target", "all.wait<=1h@0.9", "--days", "{}", "--reps", "2", "--workers", "1"],
    ["staff", TINY, "--target", "{}", "--days", "1", "--reps", "2", "--workers", "1"],
    ["staff", TINY, "--target", "all.wait<=1h@0.9", "--pool", "{}", "--days", "1", "--reps", "2", "--workers", "1"],
    [
        "validate",
        "mmc",
        "--arrival-rate",
        "{}",
        "--service-rate",
        "1",
        "--servers",
        "2",
        "--customers",
        "1000",
        "--reps",
        "2",
    ],
    [
        "validate",
        "mmc",
        "--arrival-rate",
        "1",
        "--service-rate",
        "{}",
        "--servers",
        "2",
        "--customers",
        "1000",
        "--reps",
        "2",
    ],
    [
        "validate",
        "mmc",
        "--arrival-rate",
        "1",
        "--service-rate",
        "2",
        "--servers",
        "2",
        "--customers",
        "1000",
        "--reps",
        "2",
        "--warmup",
        "{}",
    ],
    [
        "import",
        "@data@/nyc.csv",
        "--format",
        "csv",
        "--map",
        "created=Created Date",
        "--time-format",
        "{}",
        "--out",
        "@case@/t.parquet",
    ],
    ["import", "@data@/nyc.csv", "--format", "{}", "--out", "@case@/t.parquet"],
    ["import", "@data@/nyc.csv", "--format", "csv", "--map", "{}", "--out", "@case@/t.parquet"],
    [
        "import",
        "@data@/nyc.csv",
        "--format",
        "csv",
        "--map",
        "created=Created Date",
        "--tz",
        "{}",
        "--out",
        "@case@/t.parquet",
    ],
    ["fit", "@shared@/nyc.parquet", "--out", "@case@/f.toml", "--residents", "{}"],
    ["fit", "@shared@/nyc.parquet", "--out", "@case@/f.toml", "--min-cases", "{}"],
    ["export", "@shared@/week.parquet", "--to", "{}", "@case@/week.out"],
    ["intake", "@data@/intake/good.csv", "--db", "@db@", "--post", "{}"],
    ["intake", "@data@/intake/good.csv", "--db", "@db@", "--source", "{}"],
    ["intake", "@data@/intake/good.csv", "--db", "@db@", "--format", "{}"],
    ["check", TINY, "--set", "{set}"],
    ["run", TINY, "--days", "0.5", "--set", "{set}"],
    ["sweep", TINY, "--vary", "{vary}", "--reps", "2", "--days", "0.5", "--workers", "1"],
    ["compare", TINY, "--variant", "{variant}", "--reps", "2", "--days", "0.5", "--workers", "1"],
    [
        "sweep",
        TINY,
        "--vary",
        "staffing.per_office=8,9",
        "--variant",
        "{variant}",
        "--reps",
        "2",
        "--days",
        "0.5",
        "--workers",
        "1",
    ],
]

#: Keys of the scenario a ``--set`` may reach, with a value's place left open.
SET_KEYS = [
    "clock.days",
    "clock.warmup_days",
    "clock.sample_h",
    "clock.start",
    "seed",
    "name",
    "description",
    "staffing.per_office",
    "staffing.pool",
    "staffing.allocation",
    "streets.S1.residents",
    "streets.S1.staff",
    "towns.T1.residents",
    "urban.households_per_grid",
    "urban.persons_per_household",
    "rural.grids_small_village",
    "arrivals.requests_per_resident_year",
    "arrivals.hour_profile",
    "arrivals.entry",
    "categories.noise.share",
    "categories.noise.handling.street.mean_h",
    "deadlines.special.response_h",
    "whistle.enabled",
    "patience.special.cv",
    "posts.street.on_duty",
    "departments.water.staff",
    "injects",
    "surges",
    "training",
    "trace.start",
    "trace.categories",
    "grids.mode",
    "escalation.path.special",
]
TOML_VALUE = (
    st.sampled_from(
        [
            "inf",
            "nan",
            "-inf",
            "1e308",
            "-1",
            "0",
            "1e-320",
            "99999999999999999999",
            "true",
            '""',
            '"x"',
            "[]",
            "{}",
            "[[]]",
            "[1, 2]",
            "[300, 200]",
            "{count = 0}",
            "[{count = 0}]",
            "2020-13-01",
            "1979-05-27T07:32:00Z",
            "9999-12-31",
            '"day 0 25:00"',
            '"\\ud800"',
            '"\\u0000"',
            "[[[[[[[[1]]]]]]]]",
        ]
    )
    | st.integers().map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | ARG_TEXT
)

VALID = {"created": "2020-06-01T08:00:00", "category": "noise", "post": "S1/C1"}
INTAKE_FIELDS = FIELDS
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2020-06-01T08:00:00",
            "9999-12-31T23:59:59",
            "0001-01-01T00:00:00",
            "2020-06-01",
            "S1",
            "S1/C1",
            "S1#x",
            "T1",
            "noise",
            "Noise",
            "closed",
            "open",
            "urgent",
            "\x00",
            "2020-06-01T08:00:00+14:00",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
TIMESTAMP = st.sampled_from(
    [
        "01/05/2015 09:00:00 AM",
        "2015-01-05T09:00:00",
        "2015-01-05T09:00:00+01:00",
        "2015-01-05 09:00:00Z",
        "13/45/2015 09:00:00 AM",
        "01/01/1900 12:00:00 AM",
        "12/31/9999 11:59:59 PM",
        "",
        " ",
        "now",
        "0",
        "2015-02-30T00:00:00",
        "01/05/2015 09:00:00 AM +0100",
    ]
) | st.text(max_size=24)
STATUS = st.sampled_from(
    [
        "Open",
        "Closed",
        "Cancelled",
        "Incomplete",
        "Not Completed",
        "Unresolved",
        "",
        "Pending Closure",
        "CLOSED - duplicate",
        "closed",
    ]
) | st.text(max_size=12)


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def option_case(draw: st.DrawFn) -> Case:
    template = draw(st.sampled_from(OPTIONS))
    key = draw(st.sampled_from(SET_KEYS))
    fill = {
        "{}": lambda: draw(VALUE),
        "{set}": lambda: f"{key}={draw(TOML_VALUE)}",
        "{vary}": lambda: f"{key}={','.join(draw(st.lists(TOML_VALUE, min_size=1, max_size=3)))}",
        "{variant}": lambda: draw(ARG_TEXT | st.just(f"{draw(ARG_TEXT)}: {key}={draw(TOML_VALUE)}")),
    }
    argv = []
    for arg in template:
        for slot, value in fill.items():
            if slot in arg:
                arg = arg.replace(slot, value())
        argv.append(arg)
    return Case(f"generated: {' '.join(argv)[:120]!r}", tuple(argv), store="@db@" in argv)


@st.composite
def intake_case(draw: st.DrawFn) -> Case:
    changes = st.dictionaries(st.sampled_from(INTAKE_FIELDS), JSON_VALUE, max_size=2)
    records = [
        {**VALID, "source_id": f"g-{i}", **change}
        for i, change in enumerate(draw(st.lists(changes, min_size=1, max_size=4)))
    ]
    if draw(st.booleans()):
        name = "records.jsonl"
        text = "".join(json.dumps(r, ensure_ascii=draw(st.booleans())) + "\n" for r in records)
    else:
        name = "records.csv"
        text = ",".join(INTAKE_FIELDS) + "\n"
        text += "".join(",".join(_csv_cell(str(r.get(f, ""))) for f in INTAKE_FIELDS) + "\n" for r in records)
    return Case(
        f"generated intake: {text[:100]!r}",
        ("intake", "@file@", "--db", "@db@"),
        files=(FileSpec(name, (text,), encoding="utf-8"),),
        store=True,
    )


@st.composite
def import_case(draw: st.DrawFn) -> Case:
    row = st.tuples(ARG_TEXT, TIMESTAMP | st.just("01/05/2015 09:00:00 AM"), TIMESTAMP | st.just(""), STATUS)
    rows = draw(st.lists(row, min_size=0, max_size=5))
    text = "id,created,closed,status\n" + "".join(",".join(_csv_cell(c) for c in row) + "\n" for row in rows)
    time_format = draw(st.sampled_from(["iso", "ISO", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S%z", None]))
    argv = [
        "import",
        "@file@",
        "--format",
        "csv",
        "--map",
        "source_id=id",
        "--map",
        "created=created",
        "--map",
        "closed=closed",
        "--map",
        "status=status",
        "--out",
        "@case@/t.parquet",
        "--json",
    ]
    if time_format:
        argv += ["--time-format", time_format]
    return Case(f"generated import: {text[:100]!r}", tuple(argv), files=(FileSpec("log.csv", (text,)),))


@st.composite
def scenario_case(draw: st.DrawFn) -> Case:
    """A scenario file extending the small one with an odd line (any key, any TOML-ish value), or odd bytes."""
    if draw(st.integers(0, 4)) == 0:
        lines = [draw(st.text(max_size=60))]
    else:
        lines = [f"{draw(st.sampled_from(SET_KEYS))} = {draw(TOML_VALUE)}" for _ in range(draw(st.integers(1, 3)))]
    text = 'extends = "@tiny@"\nname = "generated"\n' + "\n".join(lines) + "\n"
    command = draw(st.sampled_from([["check"], ["structure", "--json"], ["run", "--days", "0.5", "--json"]]))
    argv = (command[0], "@file@", *command[1:])
    return Case(f"generated scenario: {text[40:140]!r}", argv, files=(FileSpec("generated.toml", (text,)),))


CASES = option_case() | intake_case() | import_case() | scenario_case()


def generated_cases(n: int, seed: int = 0) -> list[Case]:
    """``n`` cases drawn by hypothesis (the same ``n`` and ``seed`` give the same cases)."""
    batch: list[Case] = []
    if n <= 0:
        return batch

    @hypothesis_seed(seed)
    @settings(
        max_examples=n, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck), deadline=None
    )
    @given(CASES)
    def collect(case: Case) -> None:
        batch.append(case)

    collect()
    return batch[:n]
